/* MIDI notes -> frame classes, as the original project built its training
 * targets: a note covers frames floor(onset*sr/hop) .. floor(offset*sr/hop)-1,
 * notes are painted in onset order so a later note overwrites an earlier one.
 * Bit-exact with the reference labels for all 300 takes (see test_labels). */
#include "a2m/error.h"
#include "a2m/midi.h"

#include <math.h>
#include <string.h>

a2m_label_params a2m_label_default_params(void) { /* transpose 0, no onset or range classes */
    return (a2m_label_params){.sample_rate = 16000, .hop = 96, .n_notes = 3, .notes = {60, 64, 67}};
}

int a2m_label_n_classes(const a2m_label_params *p) {
    return p->n_notes + 1 + (p->onset_frames > 0) + 2 * (p->range_classes != 0);
}

/* Class of a MIDI pitch (1..n_notes), 0 if it is not in the map; with range classes, a pitch under the map's
 * lowest note is "below" and one over its highest "above" (the last two classes). */
static int class_of(double pitch, const a2m_label_params *p) {
    int lo = 0, hi = 0;
    for (int k = 0; k < p->n_notes; k++) {
        if (pitch == (double)p->notes[k]) return k + 1;
        if (p->notes[k] < p->notes[lo]) lo = k;
        if (p->notes[k] > p->notes[hi]) hi = k;
    }
    if (!p->range_classes || p->n_notes == 0) return 0;
    int n = a2m_label_n_classes(p);
    return pitch < p->notes[lo] ? n - 2 : pitch > p->notes[hi] ? n - 1 : 0;
}

/* floor(position) clamped to [0, n_frames]. */
static size_t frame_clamped(double position, size_t n_frames) {
    double f = floor(position);
    if (!(f > 0)) return 0; /* also NaN */
    if (f >= (double)n_frames) return n_frames;
    return (size_t)f;
}

/* The onset class on the first onset_frames frames of every mapped note (after all pitches are painted, so a
 * legato note's onset is not overwritten by the note before it). */
static void paint_onsets(const a2m_note *notes, size_t n, const a2m_label_params *p, int64_t *labels, size_t n_frames) {
    for (size_t i = 0; i < n; i++) {
        if (!class_of(notes[i].pitch + p->transpose, p)) continue;
        size_t start = frame_clamped(notes[i].onset * p->sample_rate / p->hop, n_frames);
        size_t end = frame_clamped(notes[i].offset * p->sample_rate / p->hop, n_frames);
        for (size_t f = start; f < end && f < start + (size_t)p->onset_frames; f++) labels[f] = p->n_notes + 1;
    }
}

int a2m_labels_from_notes(const a2m_note *notes, size_t n, a2m_label_params p, int64_t *labels, size_t n_frames,
                          size_t *n_unmapped) {
    if (n_unmapped) *n_unmapped = 0;
    if (!(p.sample_rate > 0) || p.hop <= 0 || p.n_notes < 0 ||
        p.n_notes > A2M_MAX_CLASSES - 1 - (p.onset_frames > 0) - 2 * (p.range_classes != 0) || p.onset_frames < 0 ||
        p.onset_frames > 1000)
        return a2m_error(A2M_ERR_ARG, "labels: bad parameters (sr %g, hop %d, %d notes)", p.sample_rate, p.hop,
                         p.n_notes);
    memset(labels, 0, n_frames * sizeof *labels);
    for (size_t i = 0; i < n; i++) {
        int cls = class_of(notes[i].pitch + p.transpose, &p);
        if (!cls) {
            if (n_unmapped) (*n_unmapped)++;
            continue;
        }
        /* t*sr/hop evaluated as (t*sr)/hop, the original's arithmetic order */
        size_t start = frame_clamped(notes[i].onset * p.sample_rate / p.hop, n_frames);
        size_t end = frame_clamped(notes[i].offset * p.sample_rate / p.hop, n_frames);
        for (size_t f = start; f < end; f++) labels[f] = cls;
    }
    if (p.onset_frames > 0) paint_onsets(notes, n, &p, labels, n_frames);
    return A2M_OK;
}
