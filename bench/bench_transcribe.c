/* End-to-end transcription speed on one thread: read file, resample, CQT,
 * network, notes, write MIDI, for a 30 s recording (Prueba.wav's 24 s plus
 * its first 6 s, written as a 22.05 kHz WAV so the resampler is exercised).
 * The original pipeline (librosa + PyTorch): ~24x real time on this machine.
 * Then the same with bf16 runners (when the CPU has avx512_bf16), Prueba's
 * note scores for both, and how many of Prueba's frames bf16 classifies as fp32 does.
 *   bench_transcribe [SHARED_DIR] [MODEL] */
#include <cblas.h>
#include <math.h>
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
    int have_bf16 = a2m_precision_available(A2M_PRECISION_BF16);
    for (int prec = 0; prec < 2; prec++) {
        if (prec && !have_bf16) {
            printf("transcribe_30s_*_bf16_s n/a  (no avx512_bf16 on this CPU, or A2M_FORCE_FP32 set)\n");
            break;
        }
        for (int mode = 0; mode < 2; mode++) {
            a2m_transcribe_params p = a2m_transcribe_default_params();
            if (mode) p.window_s = 0;
            p.precision = prec ? A2M_PRECISION_BF16 : A2M_PRECISION_FP32;
            a2m_transcriber *t;
            a2m_transcriber_new(m, p, &t);
            double best = 1e9;
            for (int rep = 0; rep < 5; rep++) {
                double t0 = now();
                a2m_transcription r;
                if (a2m_transcriber_run_file(t, wav, &r)) return 1;
                a2m_note *notes = malloc((r.n_notes + 1) * sizeof *notes);
                for (size_t i = 0; i < r.n_notes; i++) notes[i] = r.notes[i].note;
                a2m_midi_write(mid, notes, r.n_notes, a2m_midi_write_default_params());
                free(notes);
                a2m_transcription_free(&r);
                double el = now() - t0;
                best = el < best ? el : best;
            }
            printf("transcribe_30s_%s%s_s %.4f  (%.0fx real time on one thread; target >= 500x; original ~24x)\n",
                   mode ? "whole" : "windows", prec ? "_bf16" : "", best, 30.0 / best);
            a2m_transcriber_del(t);
        }
    }
    /* accuracy on Prueba (window mode), and how bf16's frames compare with fp32's */
    a2m_notes ref;
    a2m_midi_read(ref_path, &ref);
    a2m_transcription r32 = {0};
    for (int prec = 0; prec < (have_bf16 ? 2 : 1); prec++) {
        a2m_transcribe_params p = a2m_transcribe_default_params();
        p.precision = prec ? A2M_PRECISION_BF16 : A2M_PRECISION_FP32;
        a2m_transcriber *t;
        a2m_transcriber_new(m, p, &t);
        a2m_transcription r;
        a2m_transcriber_run_file(t, path, &r);
        a2m_note *est = malloc((r.n_notes + 1) * sizeof *est);
        for (size_t i = 0; i < r.n_notes; i++) est[i] = r.notes[i].note;
        a2m_note_metrics nm;
        a2m_note_metrics_compute(ref.notes, ref.n, est, r.n_notes, a2m_note_metric_default_params(), &nm);
        printf("prueba%s_COnP_f1 %.3f  prueba%s_COnPOff_f1 %.3f  (targets 0.90 / 0.85; original 0.83 / 0.78)\n",
               prec ? "_bf16" : "", nm.onset_pitch.f1, prec ? "_bf16" : "", nm.onset_pitch_offset.f1);
        free(est);
        if (prec) {
            size_t agree = 0, agree_raw = 0, n = r.n_frames < r32.n_frames ? r.n_frames : r32.n_frames;
            double pd = 0;
            int C = r.n_classes;
            for (size_t f = 0; f < n; f++) {
                int a0 = 0, a1 = 0;
                for (int c = 0; c < C; c++) {
                    pd = fmax(pd, fabs((double)r.probs[f * C + c] - r32.probs[f * C + c]));
                    if (r32.probs[f * C + c] > r32.probs[f * C + a0]) a0 = c;
                    if (r.probs[f * C + c] > r.probs[f * C + a1]) a1 = c;
                }
                agree_raw += a0 == a1;
                agree += r.classes[f] == r32.classes[f];
            }
            printf("prueba_bf16_frame_agreement %.4f  (argmax before post-processing %.4f of %zu frames; max prob diff "
                   "%.3g; "
                   "%zu notes vs %zu fp32)\n",
                   (double)agree / n, (double)agree_raw / n, n, pd, r.n_notes, r32.n_notes);
            a2m_transcription_free(&r);
        } else r32 = r;
        a2m_transcriber_del(t);
    }
    a2m_transcription_free(&r32);
    a2m_notes_free(&ref);
    a2m_model_del(m);
    a2m_audio_free(&a);
    free(x);
    unlink(wav), unlink(mid);
    return 0;
}
