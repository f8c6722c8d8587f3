/* A small synthetic dataset for training tests: takes x frames x bins where
 * class c (0..3, in runs of 8 frames) lights bin 2c above uniform noise. */
#ifndef A2M_TEST_SYNTH_DATASET_H
#define A2M_TEST_SYNTH_DATASET_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/dataset.h"

static inline void make_synth_dataset(a2m_dataset *d, int takes, int frames, int bins) {
    memset(d, 0, sizeof *d);
    d->n_takes = (size_t)takes;
    d->names = calloc((size_t)takes, sizeof *d->names);
    d->offsets = calloc((size_t)takes + 1, sizeof *d->offsets);
    d->features = malloc((size_t)takes * frames * bins * sizeof(float));
    d->labels = malloc((size_t)takes * frames * sizeof(int64_t));
    unsigned s = 1;
    for (int t = 0; t < takes; t++) {
        char name[16];
        snprintf(name, sizeof name, "take%d", t);
        d->names[t] = strdup(name);
        d->offsets[t + 1] = (size_t)(t + 1) * frames;
        for (int f = 0; f < frames; f++) {
            int cls = ((f + 7 * t) / 8) % 4;
            d->labels[(size_t)t * frames + f] = cls;
            for (int b = 0; b < bins; b++) {
                s = s * 1103515245u + 12345u;
                float noise = (float)((s >> 16) & 0x7fff) / 32768.0f - 0.5f;
                d->features[((size_t)t * frames + f) * bins + b] = (b == 2 * cls ? 3.0f : 0.0f) + noise;
            }
        }
    }
    d->total_frames = (size_t)takes * frames;
    d->n_bins = bins;
    d->mean = 0.3, d->std = 1.0;
    d->cqt = a2m_cqt_default_params();
    d->labels_p = a2m_label_default_params();
}

#endif
