/* Transposition as training augmentation: a sample's labels and its distillation targets moved together. */
#include "train/transpose.h"

#include <string.h>

#include "a2m/midi.h"

/* The transposition drawn within what keeps every label true (transpose.h). */
int train_transpose_labels(int64_t *lab, int len, int n_pitch, int below, int max, nn_rng *rng) {
    int64_t lo = n_pitch + 1, hi = 0;
    int has_below = 0, has_above = 0;
    for (int t = 0; t < len; t++) {
        if (lab[t] >= 1 && lab[t] <= n_pitch) lo = lab[t] < lo ? lab[t] : lo, hi = lab[t] > hi ? lab[t] : hi;
        has_below |= below > 0 && lab[t] == below, has_above |= below > 0 && lab[t] == below + 1;
    }
    int down = hi ? (int)(1 - lo) : -max, up = hi ? (int)(n_pitch - hi) : max; /* allowed range */
    if (has_below) up = up < 0 ? up : 0; /* a note below the range may not be moved up into it */
    if (has_above) down = down > 0 ? down : 0;
    down = down < -max ? -max : down, up = up > max ? max : up;
    if (up < down) return 0;
    int s = down + (int)(nn_rng_next(rng) % (unsigned long long)(up - down + 1));
    for (int t = 0; t < len && s; t++)
        if (lab[t] >= 1 && lab[t] <= n_pitch) lab[t] += s;
    return s;
}

/* The teachers saw the take untransposed: their targets move as its labels did (transpose.h). */
void train_transpose_soft(float *soft, int len, int C, int n_pitch, int below, int s) {
    float row[A2M_MAX_CLASSES];
    for (int t = 0; t < len && s; t++) {
        float *q = soft + (size_t)t * C;
        memcpy(row, q, (size_t)C * sizeof *row);
        for (int k = 1; k <= n_pitch; k++) q[k] = 0;
        for (int k = 1; k <= n_pitch; k++) {
            int to = k + s;
            if (to < 1) to = below > 0 ? below : 1;
            else if (to > n_pitch) to = below > 0 ? below + 1 : n_pitch;
            q[to] += row[k];
        }
    }
}
