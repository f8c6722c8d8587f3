/* A melody's scale from the frame probabilities (see key.h). */
#include "transcribe/key.h"

#include <string.h>

#include "a2m/midi.h"

static const int major_scale[12] = {1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1};

void transcribe_key_init(transcribe_key *k) { memset(k, 0, sizeof *k); }

/* Each frame's pitch classes' probabilities added in class order, as ever; the classes' pitch classes looked up
 * once a call, not an integer division per class and frame (0.55% of a 60 s transcription, perf). */
void transcribe_key_add(transcribe_key *k, const float *probs, size_t n, int C, const int *class_notes) {
    int pc[A2M_MAX_CLASSES], m = 0, cls[A2M_MAX_CLASSES];
    for (int c = 0; c < C && c < A2M_MAX_CLASSES; c++)
        if (class_notes[c] >= 0) cls[m] = c, pc[m++] = class_notes[c] % 12;
    for (size_t f = 0; f < n; f++) {
        const float *q = probs + f * (size_t)C;
        for (int i = 0; i < m; i++) k->mass[pc[i]] += q[cls[i]];
    }
}

int transcribe_key_tonic(const transcribe_key *k, double *share) {
    double total = 0, best = -1;
    int tonic = 0;
    for (int pc = 0; pc < 12; pc++) total += k->mass[pc];
    for (int t = 0; t < 12; t++) {
        double m = 0;
        for (int pc = 0; pc < 12; pc++) m += major_scale[(pc - t + 12) % 12] ? k->mass[pc] : 0;
        if (m > best) best = m, tonic = t;
    }
    if (share) *share = total > 0 ? best / total : 0;
    return tonic;
}

void transcribe_key_logprior(int tonic, double weight, const int *class_notes, int C, float *prior) {
    for (int c = 0; c < C; c++)
        prior[c] = class_notes[c] >= 0 && !major_scale[(class_notes[c] % 12 - tonic + 12) % 12] ? (float)-weight : 0.0f;
}
