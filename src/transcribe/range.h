/* Evidence from the spectrum for notes the model places outside its range. The network's below/above classes
 * also fire on broadband noise and hum (white noise at -20 dBFS: a dozen "above the range" notes with
 * confidence 0.6-0.8), so such a note is kept only where the CQT shows a pitch there: a bin in the region
 * (MIDI below the lowest class, or above the highest) standing out of its octave. Measured on the CQT dB
 * (this project's seed takes and singreal: a peak 17-27 dB above its +-half-octave mean; white, pink and
 * hum-with-noise recordings: 8.6 dB median, 11.5 dB at the 90th percentile). The peak's bin also gives the
 * note's pitch instead of the range's edge. */
#ifndef A2M_TRANSCRIBE_RANGE_H
#define A2M_TRANSCRIBE_RANGE_H

#include <stddef.h>

#include "a2m/cqt.h"

/* Values per frame: prominence of the strongest peak above the range (dB, NaN when not computed), its MIDI
 * note, then the same below the range, then for a frame whose most likely pitch P is in the range's top octave
 * (where a note beyond the range folds in) the prominence at P itself (its semitone's bins) and P, else NaN. */
#define TRANSCRIBE_RANGE_VALUES   6
/* CQTs of more bins are not checked (the shipped models have 252) */
#define TRANSCRIBE_RANGE_MAX_BINS 1024

typedef struct transcribe_range {
    int above0, above1;              /* bins [above0, above1) lie above the range (above0 == above1: none) */
    int below0, below1;              /* bins [below0, below1) lie below it */
    int n_bins, half;                /* half: the comparison window's half-width in bins (half an octave) */
    double midi0, bins_per_semitone; /* MIDI note of bin 0 */
    int hi;                          /* the range's highest note */
} transcribe_range;

/* The regions of a CQT for a model whose pitch classes span MIDI lo..hi; 0, or -1 when the model has no
 * below/above class (nothing to check). */
int transcribe_range_init(transcribe_range *r, a2m_cqt_params cq, const int *class_notes, int n_classes);
/* Whether a frame with probabilities probs is worth measuring: p(below) + p(above) of at least 0.02, or its most
 * likely pitch in the range's top octave (*top: that pitch, else -1). */
int transcribe_range_wants(const transcribe_range *r, const float *probs, const int *class_notes, int n_classes,
                           int *top);
/* One frame's values (TRANSCRIBE_RANGE_VALUES) from its dB row [n_bins]; top: as transcribe_range_wants gives. */
void transcribe_range_frame(const transcribe_range *r, const float *db, int top, float *ev);
/* The same from a power row |C|^2 (the streaming CQT's): dB of the bins needed only, into scratch [n_bins]. */
void transcribe_range_frame_power(const transcribe_range *r, const float *power, int top, float *scratch, float *ev);
/* Marks a frame as not computed (no out-of-range probability to check). */
void transcribe_range_none(float *ev);

#endif
