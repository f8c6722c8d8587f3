/* Transcription: frames -> notes rules, window mode vs whole-sequence mode on
 * the long recording (>= 99% of frames agree), notes against Prueba.mid with
 * the original project's CRNN, bad inputs. */
#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/metrics.h"
#include "a2m/transcribe.h"
#include "check.h"
#include "nn/arch.h"

static void test_rules(void) {
    /* 0 0 1x12 0x3 1x12 0 2x4 0 3x11 : gap of 3 filled, 4-frame note dropped */
    int cls[48];
    int n = 0;
    for (int i = 0; i < 2; i++) cls[n++] = 0;
    for (int i = 0; i < 12; i++) cls[n++] = 1;
    for (int i = 0; i < 3; i++) cls[n++] = 0;
    for (int i = 0; i < 12; i++) cls[n++] = 1;
    cls[n++] = 0;
    for (int i = 0; i < 4; i++) cls[n++] = 2;
    cls[n++] = 0;
    for (int i = 0; i < 11; i++) cls[n++] = 3;
    int notes_map[4] = {-1, 60, 64, 67};
    a2m_transcribed_note *notes;
    size_t nn;
    CHECK(a2m_frames_to_notes(cls, NULL, (size_t)n, 4, notes_map, 0.006, (a2m_note_rules){5, 10, 0.3, 0.6}, &notes, &nn) == A2M_OK, "rules");
    CHECK(nn == 2, "two notes (%zu)", nn);
    if (nn == 2) {
        CHECK(notes[0].note.pitch == 60 && notes[0].first_frame == 2 && notes[0].n_frames == 27, "gap filled: %zu+%zu",
              notes[0].first_frame, notes[0].n_frames);
        CHECK_NEAR(notes[0].note.onset, 0.012, 1e-12, "onset seconds");
        CHECK(notes[1].note.pitch == 67 && notes[1].n_frames == 11, "last note kept");
    }
    free(notes);
}

int main(void) {
    test_rules();
    const char *shared = test_shared_dir();
    if (!shared) return test_done("test_transcribe");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/reference/seed_crnn/seed_crnn.safetensors", shared);
    a2m_model *m;
    CHECK(a2m_model_load(path, NULL, &m) == A2M_OK, "seed model");
    snprintf(path, sizeof path, "%s/data/reference/librosa_cqt/cqt_mean_std.npy", shared);
    a2m_array ms;
    CHECK(a2m_npy_load(path, &ms) == A2M_OK && ms.dtype == A2M_F64, "mean/std");
    m->info.norm_mean = ((double *)ms.data)[0], m->info.norm_std = ((double *)ms.data)[1];
    a2m_array_free(&ms);

    /* window vs whole sequence with the shipped default model */
    const char *src = getenv("A2M_SOURCE") ? getenv("A2M_SOURCE") : ".";
    char model_path[4096];
    snprintf(model_path, sizeof model_path, "%s/models/a2m-crnn.safetensors", src);
    a2m_model *dm = NULL;
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);
    a2m_transcribe_params p = a2m_transcribe_default_params();
    if (a2m_model_load(model_path, NULL, &dm) == A2M_OK) {
        a2m_transcriber *dw, *df;
        a2m_transcribe_params pw = p, pf = p;
        pf.window_s = 0;
        a2m_transcription aw, af;
        CHECK(a2m_transcriber_new(dm, pw, &dw) == A2M_OK && a2m_transcriber_new(dm, pf, &df) == A2M_OK, "transcribers");
        CHECK(a2m_transcribe_file(dw, path, &aw) == A2M_OK && a2m_transcribe_file(df, path, &af) == A2M_OK, "both modes");
        CHECK(aw.n_frames == af.n_frames && aw.n_frames == 4000, "24 s = 4000 frames (%zu)", aw.n_frames);
        size_t same = 0;
        for (size_t f = 0; f < aw.n_frames; f++) {
            const float *a = aw.probs + f * 4, *b = af.probs + f * 4;
            int ia = 0, ib = 0;
            for (int c = 1; c < 4; c++) ia = a[c] > a[ia] ? c : ia, ib = b[c] > b[ib] ? c : ib;
            same += ia == ib;
        }
        double agree = (double)same / (double)aw.n_frames;
        printf("default model: window vs whole-sequence argmax agreement %.4f\n", agree);
        CHECK(agree >= 0.99, "agreement %.4f", agree);
        a2m_notes pref;
        char mid[4096];
        snprintf(mid, sizeof mid, "%s/data/seed/long/Prueba.mid", shared);
        CHECK(a2m_midi_read(mid, &pref) == A2M_OK, "Prueba.mid");
        a2m_note est[256];
        size_t ne = aw.n_notes < 256 ? aw.n_notes : 256;
        for (size_t i = 0; i < ne; i++) est[i] = aw.notes[i].note;
        a2m_note_metrics dmm;
        a2m_note_metrics_compute(pref.notes, pref.n, est, ne, a2m_note_metric_default_params(), &dmm);
        printf("default model on Prueba: COnP F1 %.3f, COnPOff F1 %.3f\n", dmm.onset_pitch.f1, dmm.onset_pitch_offset.f1);
        CHECK(dmm.onset_pitch.f1 >= 0.90 && dmm.onset_pitch_offset.f1 >= 0.85, "Prueba targets");
        a2m_notes_free(&pref);
        a2m_transcription_free(&aw), a2m_transcription_free(&af);
        a2m_transcriber_del(dw), a2m_transcriber_del(df);
        a2m_model_free(dm);
    } else {
        CHECK(0, "default model %s: %s", model_path, a2m_errmsg());
    }

    /* the original project's model with consistent features */
    a2m_transcriber *tw;
    CHECK(a2m_transcriber_new(m, p, &tw) == A2M_OK, "window transcriber");
    a2m_transcription rw;
    CHECK(a2m_transcribe_file(tw, path, &rw) == A2M_OK, "window mode: %s", a2m_errmsg());
    a2m_notes ref;
    snprintf(path, sizeof path, "%s/data/seed/long/Prueba.mid", shared);
    CHECK(a2m_midi_read(path, &ref) == A2M_OK, "Prueba.mid");
    a2m_note est[256];
    size_t ne = rw.n_notes < 256 ? rw.n_notes : 256;
    for (size_t i = 0; i < ne; i++) est[i] = rw.notes[i].note;
    a2m_note_metrics nm;
    a2m_note_metrics_compute(ref.notes, ref.n, est, ne, a2m_note_metric_default_params(), &nm);
    printf("seed CRNN on Prueba (windows): COnP F1 %.3f, COnPOff F1 %.3f\n", nm.onset_pitch.f1, nm.onset_pitch_offset.f1);
    CHECK(nm.onset_pitch.f1 >= 0.8, "the original's model with consistent features reaches ~0.83 COnP (%.3f)", nm.onset_pitch.f1);
    for (size_t i = 0; i < rw.n_notes; i++)
        CHECK(rw.notes[i].confidence > 0 && rw.notes[i].confidence <= 1 && rw.notes[i].confidence_var >= 0, "confidence");
    a2m_notes_free(&ref);

    /* bad inputs */
    a2m_transcription r;
    float x[50] = {0};
    CHECK(a2m_transcribe_samples(tw, x, 0, &r) == A2M_ERR_EMPTY, "no samples");
    CHECK(a2m_transcribe_samples(tw, x, 50, &r) == A2M_ERR_RANGE, "shorter than a frame");
    CHECK(a2m_transcribe_file(tw, "/nonexistent.wav", &r) == A2M_ERR_IO, "missing file");
    CHECK(strstr(a2m_errmsg(), "/nonexistent.wav") != NULL, "message names the file");
    x[3] = NAN;
    float y[20000] = {0};
    y[100] = NAN;
    CHECK(a2m_transcribe_samples(tw, y, 20000, &r) == A2M_ERR_NONFINITE, "NaN samples: %s", a2m_errmsg());
    a2m_transcription_free(&rw);
    a2m_transcriber_del(tw);
    a2m_model_free(m);
    return test_done("test_transcribe");
}
