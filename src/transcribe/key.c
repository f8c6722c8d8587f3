/* A melody's scale from the frame probabilities (see key.h). */
#include "transcribe/key.h"

#include <string.h>

static const int major_scale[12] = {1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1};

void transcribe_key_init(transcribe_key *k) { memset(k, 0, sizeof *k); }

void transcribe_key_add(transcribe_key *k, const float *probs, size_t n, int C, const int *class_notes) {
    for (size_t f = 0; f < n; f++)
        for (int c = 0; c < C; c++)
            if (class_notes[c] >= 0) k->mass[class_notes[c] % 12] += probs[f * (size_t)C + c];
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
    *share = total > 0 ? best / total : 0;
    return tonic;
}

void transcribe_key_logprior(int tonic, double weight, const int *class_notes, int C, float *prior) {
    for (int c = 0; c < C; c++)
        prior[c] = class_notes[c] >= 0 && !major_scale[(class_notes[c] % 12 - tonic + 12) % 12] ? (float)-weight : 0.0f;
}
