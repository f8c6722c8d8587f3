/* Frame labels: bit-exact with the original project's labels for all 300
 * takes, parameter handling, and a synthesized take labelled from its MIDI. */
#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "check.h"

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
        {0.0, 1.0, 60, 100, 0},   /* frames 0..166 */
        {0.5, 0.75, 64, 100, 0},  /* overwrites frames 83..124 */
        {0.9, 9.0, 67, 100, 0},   /* runs past the end: clamped */
        {0.2, 0.3, 61, 100, 0},   /* not in the map */
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

int main(void) {
    test_params();
    const char *shared = test_shared_dir();
    if (!shared) return 77;
    test_reference_labels(shared);
    return test_done("test_labels");
}
