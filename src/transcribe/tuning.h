/* A recording's tuning, from the CQT alone. Internal to the library.
 *
 * Amateurs sing a whole recording off the written notes: on singreal's 18 files the median note sits
 * between -56 and +66 cents from its MIDI pitch (10 files beyond 15 cents). The any-pitch network is
 * trained to be deaf to +-33 cents (+-1 bin, so that intonation does not change the class), so a singer
 * half a semitone flat sits between two classes and every other note comes out a semitone off.
 * The estimate: in every frame, the spectral peaks within 6 dB of the frame's loudest bin, each at its
 * parabola-interpolated position; their offsets from the semitone grid (fmin's tuning) as angles on a
 * circle of one semitone, summed weighted by amplitude (loud frames dominate, silence adds nothing); the
 * tuning is the sum's angle. The features are then shifted by that fraction of a semitone before the
 * network. Measured on singreal against each note's own peak offset (the reference notes' pitch known):
 * notes more than 50 cents from the grid 18.4% as recorded, 13.0% after the shift. */
#ifndef A2M_TRANSCRIBE_TUNING_H
#define A2M_TRANSCRIBE_TUNING_H

#include <stddef.h>

typedef struct transcribe_tuning {
    double re, im;         /* the weighted sum of peak offsets on the unit circle */
    int bins_per_semitone; /* 0: the CQT's bins per octave are not a multiple of 12 (tuning off) */
} transcribe_tuning;

void transcribe_tuning_init(transcribe_tuning *t, int bins_per_octave);
/* Adds n frames [n x F] of power (is_db 0: |C|^2, non-negative and finite, as the CQT gives) or dB (is_db 1). */
void transcribe_tuning_add(transcribe_tuning *t, const float *frames, size_t n, int F, int is_db);
/* The estimate in bins, in (-bins_per_semitone/2, bins_per_semitone/2]; 0 before any peak. */
double transcribe_tuning_bins(const transcribe_tuning *t);
/* Shifts dB frames [n x F] by `bins` along frequency (linear interpolation): out[k] = in[k + bins], the
 * edge bins repeated beyond the range. */
void transcribe_tuning_shift(float *db, size_t n, int F, double bins, float *scratch /* [F] */);

#endif
