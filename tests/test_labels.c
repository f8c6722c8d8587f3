/* Frame labels: bit-exact with the original project's labels for all 300
 * takes, parameter handling, and a synthesized take labelled from its MIDI. */
#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "check.h"
#include "pitch_check.h"

enum { TAKE_FRAMES = 666 }; /* 4.0 s at 16 kHz, hop 96, last frame dropped */

static void test_reference_labels(const char *shared) {
    a2m_label_params p = a2m_label_default_params();
    int matched = 0, compared = 0;
    for (int k = 1; k <= 300; k++) {
        char mid[4096], ref[4096];
        snprintf(mid, sizeof mid, "%s/data/seed/audio/midi_%03d.mid", shared, k);
        snprintf(ref, sizeof ref, "%s/data/reference/labels/voice_%03d.npy", shared, k);
        a2m_notes notes;
        a2m_array want;
        int rc = a2m_midi_read(mid, &notes);
        CHECK(rc == A2M_OK, "%s", a2m_errmsg());
        if (rc) continue;
        rc = a2m_npy_load(ref, &want);
        CHECK(rc == A2M_OK, "%s", a2m_errmsg());
        if (rc) {
            a2m_notes_free(&notes);
            continue;
        }
        CHECK(want.dtype == A2M_I64 && want.ndim == 1 && want.shape[0] == TAKE_FRAMES, "take %d: shape", k);
        int64_t got[TAKE_FRAMES];
        size_t unmapped = 99;
        CHECK(a2m_labels_from_notes(notes.notes, notes.n, p, got, TAKE_FRAMES, &unmapped) == A2M_OK, "labels");
        CHECK(unmapped == 0, "take %d: %zu notes outside {60,64,67}", k, unmapped);
        compared++;
        int same = memcmp(got, want.data, sizeof got) == 0;
        matched += same;
        CHECK(same, "take %d: labels differ from the reference", k);
        a2m_notes_free(&notes);
        a2m_array_free(&want);
    }
    printf("labels: %d/%d takes bit-exact with the reference\n", matched, compared);
    CHECK(compared == 300 && matched == 300, "all 300 takes");
}

static void test_params(void) {
    a2m_note notes[] = {
        {0.0, 1.0, 60, 100, 0},  /* frames 0..166 */
        {0.5, 0.75, 64, 100, 0}, /* overwrites frames 83..124 */
        {0.9, 9.0, 67, 100, 0},  /* runs past the end: clamped */
        {0.2, 0.3, 61, 100, 0},  /* not in the map */
    };
    a2m_label_params p = a2m_label_default_params();
    int64_t lab[200];
    size_t unmapped = 0;
    CHECK(a2m_labels_from_notes(notes, 4, p, lab, 200, &unmapped) == A2M_OK, "labels");
    CHECK(unmapped == 1, "one unmapped note, got %zu", unmapped);
    CHECK(lab[0] == 1 && lab[82] == 1 && lab[83] == 2 && lab[124] == 2 && lab[125] == 1, "overwrite order");
    CHECK(lab[149] == 1 && lab[150] == 3 && lab[199] == 3, "clamped tail");

    /* transpose: sung an octave lower, mapped by +12 */
    a2m_note low[] = {{0.0, 0.5, 48, 90, 0}};
    p.transpose = 12;
    CHECK(a2m_labels_from_notes(low, 1, p, lab, 200, &unmapped) == A2M_OK && unmapped == 0 && lab[10] == 1,
          "transpose +12 maps 48 to class 1");
    /* a custom class list */
    p = a2m_label_default_params();
    p.n_notes = 2;
    p.notes[0] = 48;
    p.notes[1] = 60;
    CHECK(a2m_labels_from_notes(notes, 4, p, lab, 200, &unmapped) == A2M_OK && unmapped == 3 && lab[0] == 2,
          "custom map");
    /* bad parameters */
    p.hop = 0;
    CHECK(a2m_labels_from_notes(notes, 4, p, lab, 200, NULL) == A2M_ERR_ARG, "hop 0 rejected");
    p = a2m_label_default_params();
    p.n_notes = A2M_MAX_CLASSES;
    CHECK(a2m_labels_from_notes(notes, 4, p, lab, 200, NULL) == A2M_ERR_ARG, "too many classes rejected");
    /* no notes: all silence */
    p = a2m_label_default_params();
    lab[5] = 7;
    CHECK(a2m_labels_from_notes(NULL, 0, p, lab, 200, NULL) == A2M_OK && lab[5] == 0, "empty -> silence");
}

/* Renders takes with the synthesizer and checks the audio against the labels
 * of its own MIDI: labelled frames sound at the labelled pitch, frames far
 * from every note are digital silence. */
static void test_synth_matches_labels(const char *shared) {
    static const int takes[] = {1, 2, 50, 150, 250};
    const a2m_label_params lp = a2m_label_default_params();
    int notes_checked = 0;
    for (size_t k = 0; k < sizeof takes / sizeof takes[0]; k++) {
        char mid[4096];
        snprintf(mid, sizeof mid, "%s/data/seed/audio/midi_%03d.mid", shared, takes[k]);
        a2m_notes notes;
        if (a2m_midi_read(mid, &notes) != A2M_OK) {
            CHECK(0, "%s", a2m_errmsg());
            continue;
        }
        a2m_synth_params sp = a2m_synth_default_params();
        sp.duration_s = 4.0;
        float *y = NULL;
        size_t n = 0;
        CHECK(a2m_synth_render(notes.notes, notes.n, sp, &y, &n) == A2M_OK && n == 64000, "render take %d", takes[k]);
        size_t n_frames = n / (size_t)lp.hop;
        CHECK(n_frames == TAKE_FRAMES, "frames from the audio length: %zu", n_frames);
        int64_t lab[TAKE_FRAMES];
        a2m_labels_from_notes(notes.notes, notes.n, lp, lab, TAKE_FRAMES, NULL);
        for (size_t i = 0; i < notes.n; i++) {
            const a2m_note *nt = &notes.notes[i];
            double mid_t = 0.5 * (nt->onset + fmin(nt->offset, 4.0));
            if (fmin(nt->offset, 4.0) - nt->onset < 0.2) continue;
            size_t at = (size_t)(mid_t * 16000);
            double f0 = test_f0_autocorr(y + at - 800, 1600, 16000, 150, 600);
            int cls = (int)lab[(size_t)(mid_t * 16000 / lp.hop)];
            double want = cls ? lp.notes[cls - 1] : -1;
            CHECK(fabs(test_hz_to_midi(f0) - want) < 0.5, "take %d note at %.2f s: %.1f Hz, label class %d", takes[k],
                  mid_t, f0, cls);
            notes_checked++;
        }
        int quiet_bad = 0;
        for (size_t f = 0; f < n_frames; f++) {
            double t0 = (double)f * lp.hop / 16000, t1 = (double)(f + 1) * lp.hop / 16000;
            int near_note = 0;
            for (size_t i = 0; i < notes.n; i++)
                if (t1 > notes.notes[i].onset && t0 < notes.notes[i].offset + sp.release_s) near_note = 1;
            if (near_note) continue;
            double e = 0;
            for (size_t j = f * (size_t)lp.hop; j < (f + 1) * (size_t)lp.hop; j++) e += fabs(y[j]);
            if (e != 0 || lab[f] != 0) quiet_bad++;
        }
        CHECK(quiet_bad == 0, "take %d: %d frames away from notes are not silent", takes[k], quiet_bad);
        free(y);
        a2m_notes_free(&notes);
    }
    CHECK(notes_checked >= 10, "only %d notes checked", notes_checked);
}

/* Any-pitch label maps: a range of semitones, the onset class on a note's first frames (also after a legato
 * step), and below/above classes for notes outside the range. Frames of 0.1 s (sr 1000, hop 100). */
static void test_onset_and_range_classes(void) {
    a2m_label_params p = a2m_label_default_params();
    p.sample_rate = 1000, p.hop = 100, p.n_notes = 3, p.notes[0] = 60, p.notes[1] = 61, p.notes[2] = 62;
    p.onset_frames = 2, p.range_classes = 1;
    CHECK(a2m_label_n_classes(&p) == 7, "silence + 3 notes + onset + below + above = 7 (%d)", a2m_label_n_classes(&p));
    a2m_note n[4] = {{0.2, 0.6, 61, 100, 0}, {0.6, 0.9, 62, 100, 0}, {1.0, 1.3, 48, 100, 0}, {1.3, 1.6, 90, 100, 0}};
    int64_t lab[17];
    size_t unmapped = 9;
    CHECK(a2m_labels_from_notes(n, 4, p, lab, 17, &unmapped) == A2M_OK && unmapped == 0, "labels (%zu unmapped)",
          unmapped);
    const int64_t want[17] = {0, 0, 4, 4, 2, 2, 4, 4, 3, 0, 4, 4, 5, 4, 4, 6, 0};
    int same = 1;
    for (int f = 0; f < 17; f++) same &= lab[f] == want[f];
    CHECK(same, "onsets on the first 2 frames of each note, 48 below, 90 above: %lld %lld %lld %lld %lld %lld",
          (long long)lab[6], (long long)lab[8], (long long)lab[10], (long long)lab[12], (long long)lab[13],
          (long long)lab[15]);
    p.range_classes = 0;
    CHECK(a2m_labels_from_notes(n, 4, p, lab, 17, &unmapped) == A2M_OK && unmapped == 2 && lab[12] == 0,
          "without range classes the outside notes are left out (%zu)", unmapped);
}

int main(void) {
    test_onset_and_range_classes();
    test_params();
    const char *shared = test_shared_dir();
    if (!shared) return 77;
    test_reference_labels(shared);
    test_synth_matches_labels(shared);
    return test_done("test_labels");
}
