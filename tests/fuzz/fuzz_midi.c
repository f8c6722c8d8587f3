/* libFuzzer target: the SMF reader on arbitrary bytes, then everything that
 * consumes its notes (labels, writer, reader again). */
#include <stdint.h>
#include <stdlib.h>

#include "a2m/midi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    a2m_notes notes;
    if (a2m_midi_parse(data, size, "fuzz.mid", &notes) != 0) return 0;
    int64_t labels[700];
    a2m_labels_from_notes(notes.notes, notes.n, a2m_label_default_params(), labels, 700, NULL);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (a2m_midi_encode(notes.notes, notes.n, a2m_midi_write_default_params(), &buf, &len) == 0) {
        a2m_notes again;
        if (a2m_midi_parse(buf, len, "fuzz-encoded.mid", &again) != 0 || again.n != notes.n) abort();
        a2m_notes_free(&again);
        free(buf);
    }
    a2m_notes_free(&notes);
    return 0;
}
