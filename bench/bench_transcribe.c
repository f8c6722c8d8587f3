/* End-to-end transcription speed on one thread: read file, resample, CQT,
 * network, notes, write MIDI, for a 30 s recording (Prueba.wav's 24 s plus
 * its first 6 s, written as a 22.05 kHz WAV so the resampler is exercised).
 * The original pipeline (librosa + PyTorch): ~24x real time on this machine.
 *   bench_transcribe [SHARED_DIR] [MODEL] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/metrics.h"
#include "a2m/transcribe.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    const char *shared = argc > 1 ? argv[1] : getenv("A2M_SHARED") ? getenv("A2M_SHARED") : "../shared";
    const char *model = argc > 2 ? argv[2] : "models/a2m-crnn.safetensors";
    openblas_set_num_threads(1);
    char path[4096], ref_path[4096];
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);
    snprintf(ref_path, sizeof ref_path, "%s/data/seed/long/Prueba.mid", shared);
    a2m_audio a;
    if (a2m_audio_read(path, 22050, &a)) {
        fprintf(stderr, "bench_transcribe: %s\n", a2m_errmsg());
        return 1;
    }
    size_t n30 = 30 * 22050;
    float *x = malloc(n30 * sizeof *x);
    for (size_t i = 0; i < n30; i++) x[i] = a.samples[i % a.n];
    const char *wav = "/tmp/a2m_bench_30s.wav", *mid = "/tmp/a2m_bench_30s.mid";
    a2m_audio_write_wav(wav, x, n30, 22050);
    a2m_model *m;
    if (a2m_model_load(model, NULL, &m)) {
        fprintf(stderr, "bench_transcribe: %s\n", a2m_errmsg());
        return 1;
    }
    for (int mode = 0; mode < 2; mode++) {
        a2m_transcribe_params p = a2m_transcribe_default_params();
        if (mode) p.window_s = 0;
        a2m_transcriber *t;
        a2m_transcriber_new(m, p, &t);
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now();
            a2m_transcription r;
            if (a2m_transcribe_file(t, wav, &r)) return 1;
            a2m_note *notes = malloc((r.n_notes + 1) * sizeof *notes);
            for (size_t i = 0; i < r.n_notes; i++) notes[i] = r.notes[i].note;
            a2m_midi_write(mid, notes, r.n_notes, a2m_midi_write_default_params());
            free(notes);
            a2m_transcription_free(&r);
            double el = now() - t0;
            best = el < best ? el : best;
        }
        printf("transcribe_30s_%s_s %.4f  (%.0fx real time on one thread; target >= 500x; original ~24x)\n",
               mode ? "whole" : "windows", best, 30.0 / best);
        a2m_transcriber_del(t);
    }
    /* accuracy on Prueba */
    a2m_transcriber *t;
    a2m_transcriber_new(m, a2m_transcribe_default_params(), &t);
    a2m_transcription r;
    a2m_transcribe_file(t, path, &r);
    a2m_notes ref;
    a2m_midi_read(ref_path, &ref);
    a2m_note *est = malloc((r.n_notes + 1) * sizeof *est);
    for (size_t i = 0; i < r.n_notes; i++) est[i] = r.notes[i].note;
    a2m_note_metrics nm;
    a2m_note_metrics_compute(ref.notes, ref.n, est, r.n_notes, a2m_note_metric_default_params(), &nm);
    printf("prueba_COnP_f1 %.3f  prueba_COnPOff_f1 %.3f  (targets 0.90 / 0.85; original 0.83 / 0.78)\n", nm.onset_pitch.f1,
           nm.onset_pitch_offset.f1);
    free(est);
    a2m_notes_free(&ref);
    a2m_transcription_free(&r);
    a2m_transcriber_del(t);
    a2m_model_free(m);
    a2m_audio_free(&a);
    free(x);
    unlink(wav), unlink(mid);
    return 0;
}
