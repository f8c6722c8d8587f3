/* The notes a user allows (`a2m transcribe --notes`, a2m_transcribe_params.notes): each frame's probability of a
 * pitch outside them goes to the nearest allowed pitch (half to each of two equally near), before anything reads
 * the frame. Internal to the library.
 *
 * Why: an any-pitch model reports the pitch sung, and an amateur's note a semitone off is then the wrong note. A
 * user who knows the melody's notes (a song's scale, an exercise's three notes) can say so, and a C sung as C#
 * is read as the C it meant, as a model trained on those notes alone would (the seed's three-class model: Prueba
 * COnP 0.944, where the sung pitch allows at most 0.889: docs/anypitch.md). */
#ifndef A2M_TRANSCRIBE_FOLD_H
#define A2M_TRANSCRIBE_FOLD_H

#include "a2m/midi.h"

typedef struct transcribe_fold {
    int on;                       /* 0: every pitch allowed, frames untouched */
    int to[A2M_MAX_CLASSES][2];   /* where class c's probability goes (to[c][0] == c: allowed, or not a pitch) */
    float share[A2M_MAX_CLASSES]; /* the part of it that goes to to[c][0] (1, or 0.5 between two equally near) */
    const int *class_notes;       /* the model's (argmax models: which frames are sung) */
    int argmax_voicing;           /* a model without an onset class: a frame is sung when a pitch class is its
                                   * argmax, so a frame that is not keeps its probabilities (the fold moves pitch,
                                   * never voicing: summed, the pitches' mass outweighed silence between notes) */
} transcribe_fold;

/* From the allowed set (a2m_transcribe_params.notes: bit n of byte n / 8 allows MIDI note n; all clear: every
 * note) and the model's classes (class_notes [C], < 0: silence, onset, below and above the range: untouched).
 * A2M_ERR_ARG when a set is given but none of its notes is one of the model's. */
int transcribe_fold_init(transcribe_fold *f, const unsigned char *allowed, const int *class_notes, int C);
/* class_notes must outlive f (the model's). */
/* One frame's probabilities q [C], in place; their sum is kept, and whether the frame is sung (window.h's
 * transcribe_frame_class: p(silence) < 0.5 with an onset class, else a pitch class the argmax). */
void transcribe_fold_frame(const transcribe_fold *f, float *q, int C);

#endif
