/* Whether a p(onset) peak inside a decoded note starts a new note: the split score. Internal to the library.
 *
 * p(onset) alone sits between the two kinds of error at a note's inner peaks (docs/anypitch.md "Onset errors":
 * missed repeated notes median 0.15, same-pitch splits 0.32, the threshold 0.3). Other evidence at a peak tells
 * them apart a little: the sound's rise (the spectral flux, flux.h), the pitch distribution moving (a
 * Jensen-Shannon divergence between the mean pitch probabilities of the 5 frames before and after: a legato step
 * the path smoothed over), and the note's own class dipping (a re-articulation). Fitted as a logistic regression
 * on singreal's inner peaks (AUC alone: p(onset) 0.86, flux 0.80, divergence 0.74, dip 0.78), then the weights
 * chosen on a grid by the decoded notes' COn (scripts/fit-onset-split.sh). */
#ifndef A2M_TRANSCRIBE_SPLIT_H
#define A2M_TRANSCRIBE_SPLIT_H

#include <stddef.h>

#include "a2m/transcribe.h"

#define TRANSCRIBE_SPLIT_REACH 2 /* frames either side of the peak where the flux and the divergence are read */
#define TRANSCRIBE_SPLIT_SIDE  5 /* frames of each side's mean pitch distribution (30 ms) */

/* Jensen-Shannon divergence (nats) between the mean over frames [f - SIDE, f) and over [f, f + SIDE) (each cut to
 * [lo, hi)) of the pitch classes' probabilities (classes c with class_notes[c] >= 0), each mean normalised. */
double transcribe_pitch_divergence(const float *probs, int C, const int *class_notes, size_t f, size_t lo, size_t hi);
/* The split score of a p(onset) peak at frame f of a note of class cls over frames [start, end): p(onset) at f
 * + w.flux x the largest flux within REACH frames (flux NULL: none) + w.pitch x the largest divergence there
 * + w.dip x (the mean p(cls) over the note - its least over f-4..f+2). */
double transcribe_split_score(const float *probs, int C, int onset, const int *class_notes, int cls, const float *flux,
                              a2m_split_weights w, size_t f, size_t start, size_t end);

#endif
