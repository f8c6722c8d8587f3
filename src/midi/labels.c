/* MIDI notes -> one class per frame, as the original project computed them. */
#include <math.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/midi.h"

a2m_label_params a2m_label_default_params(void) {
    a2m_label_params p;
    memset(&p, 0, sizeof p);
    p.sample_rate = 16000;
    p.hop = 96;
    p.n_notes = 3;
    p.notes[0] = 60, p.notes[1] = 64, p.notes[2] = 67;
    p.transpose = 0;
    return p;
}

int a2m_labels_from_notes(const a2m_note *notes, size_t n, a2m_label_params p, int64_t *labels, size_t n_frames,
                          size_t *n_unmapped) {
    if (p.hop <= 0 || !(p.sample_rate > 0) || p.n_notes < 0 || p.n_notes >= A2M_MAX_CLASSES)
        return a2m_error(A2M_ERR_ARG, "labels: bad parameters");
    memset(labels, 0, n_frames * sizeof *labels);
    size_t unmapped = 0;
    for (size_t i = 0; i < n; i++) {
        int pitch = (int)lround(notes[i].pitch) + p.transpose;
        int cls = 0;
        for (int k = 0; k < p.n_notes; k++)
            if (p.notes[k] == pitch) cls = k + 1;
        if (!cls) {
            unmapped++;
            continue;
        }
        /* frame of time t is floor(t * sr / hop), as int() in Python */
        double s = floor(notes[i].onset * p.sample_rate / p.hop), e = floor(notes[i].offset * p.sample_rate / p.hop);
        if (s < 0) s = 0;
        if (e > (double)n_frames) e = (double)n_frames;
        for (size_t f = (size_t)s; (double)f < e; f++) labels[f] = cls;
    }
    if (n_unmapped) *n_unmapped = unmapped;
    return A2M_OK;
}
