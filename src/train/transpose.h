/* Transposition as training augmentation (train --augment-transpose): a sample's labels and its distillation
 * targets moved by the same number of semitones. */
#ifndef A2M_TRAIN_TRANSPOSE_H
#define A2M_TRAIN_TRANSPOSE_H

#include <stdint.h>

#include "nn/arch.h"

/* Draws a transposition in [-max, max] semitones that keeps the pitch labels of one sample inside 1..n_pitch,
 * moves them, and returns it (0 when none fits). Silence, onset, below/above (class `below` and the next, or
 * below 0: none) and padding labels stay; a sample with a note below the range is only moved down, one above
 * only up, so those labels stay true. */
int train_transpose_labels(int64_t *lab, int len, int n_pitch, int below, int max, nn_rng *rng);

/* Moves the distillation targets of one sample [len x C] by s semitones, as train_transpose_labels moved its labels
 * (the teachers saw the take untransposed): pitch class k's probability goes to k + s; what leaves the range goes
 * to the below/above class (class `below` and the next), or stays on the edge pitch where the model has none. */
void train_transpose_soft(float *soft, int len, int C, int n_pitch, int below, int s);

#endif
