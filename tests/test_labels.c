/* MIDI -> frame labels must be bit-exact with the original project's labels
 * for all 300 seed takes. */
#include <stdint.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "check.h"

int main(void) {
    const char *shared = test_shared_dir();
    if (!shared) return 77;
    int matched = 0, total = 0;
    a2m_label_params lp = a2m_label_default_params();
    for (int i = 1; i <= 300; i++) {
        char mid[4096], ref[4096];
        snprintf(mid, sizeof mid, "%s/data/seed/audio/midi_%03d.mid", shared, i);
        snprintf(ref, sizeof ref, "%s/data/reference/labels/voice_%03d.npy", shared, i);
        a2m_notes notes;
        a2m_array r;
        if (a2m_midi_read(mid, &notes) || a2m_npy_load(ref, &r)) {
            CHECK(0, "read take %d: %s", i, a2m_errmsg());
            continue;
        }
        total++;
        int64_t labels[666];
        CHECK(r.dtype == A2M_I64 && r.shape[0] == 666, "reference shape");
        a2m_labels_from_notes(notes.notes, notes.n, lp, labels, 666, NULL);
        if (memcmp(labels, r.data, sizeof labels) == 0) matched++;
        else if (total - matched <= 3) {
            for (int f = 0; f < 666; f++)
                if (labels[f] != ((int64_t *)r.data)[f]) {
                    fprintf(stderr, "take %d frame %d: %ld vs %ld\n", i, f, (long)labels[f], (long)((int64_t *)r.data)[f]);
                    break;
                }
        }
        a2m_notes_free(&notes);
        a2m_array_free(&r);
    }
    printf("labels bit-exact: %d / %d takes\n", matched, total);
    CHECK(matched == 300, "%d of 300 takes bit-exact", matched);
    return test_done("test_labels");
}
