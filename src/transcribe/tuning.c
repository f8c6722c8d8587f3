/* A recording's tuning from the CQT (see tuning.h for the reason and the measured numbers). */
#include "transcribe/tuning.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/finite.h"
#include "core/isa.h"

enum { TUNING_MASK_BINS = 4096 };

void transcribe_tuning_init(transcribe_tuning *t, int bins_per_octave) {
    t->re = t->im = 0;
    t->bins_per_semitone = bins_per_octave > 0 && bins_per_octave % 12 == 0 ? bins_per_octave / 12 : 0;
}

/* dB of bin k: 10 log10 of the power, or the value itself (float: this runs on every peak of every frame) */
static float db_of(const float *row, int k, int is_db) {
    return is_db ? row[k] : 4.3429448f * logf(row[k] > 1e-30f ? row[k] : 1e-30f);
}

/* The loudest bin's power (core/finite.h), in this file's ISA clones (it runs on every frame). */
A2M_DISPATCH static float max_power(const float *row, int n) { return a2m_max_nonneg(row, (size_t)n); }

/* peak[k] = 1 where bin k (0 < k < F-1) is above thr and a local maximum, in one loop that vectorises (branches on
 * every bin were ~2% of a 60 s transcription, perf); bins 0 and F-1 are never peaks. */
A2M_DISPATCH static void peak_mask(const float *restrict row, int F, float thr, unsigned char *restrict peak) {
    peak[0] = peak[F - 1] = 0;
    for (int k = 1; k + 1 < F; k++) peak[k] = (row[k] > thr) & (row[k] > row[k - 1]) & (row[k] >= row[k + 1]);
}

/* Peaks within 6 dB of the frame's loudest bin (a factor 10^0.6 in power), in bin order; peak [F] scratch for
 * peak_mask, or NULL. */
static void add_frame(transcribe_tuning *t, const float *row, int F, int is_db, unsigned char *peak) {
    int top = 0;
    if (is_db) {
        for (int k = 1; k < F; k++)
            if (row[k] > row[top]) top = k;
    }
    float mx = is_db ? row[top] : max_power(row, F);
    float thr = is_db ? mx - 6.0f : mx * 0.25118864f, turn = 2.0f * (float)M_PI / t->bins_per_semitone;
    if (peak) peak_mask(row, F, thr, peak);
    double re = 0, im = 0;
    for (int k = 1; k + 1 < F; k++) {
        if (peak ? !peak[k] : !(row[k] > thr && row[k] > row[k - 1] && row[k] >= row[k + 1])) continue;
        float y0 = db_of(row, k - 1, is_db), y1 = db_of(row, k, is_db), y2 = db_of(row, k + 1, is_db);
        float den = y0 - 2 * y1 + y2,
              pos = (float)(k % t->bins_per_semitone) + (den != 0 ? 0.5f * (y0 - y2) / den : 0.0f);
        float w = is_db ? expf(0.11512925f * y1) : sqrtf(row[k]); /* amplitude */
        re += w * cosf(turn * pos), im += w * sinf(turn * pos);
    }
    t->re += re, t->im += im;
}

void transcribe_tuning_add(transcribe_tuning *t, const float *frames, size_t n, int F, int is_db) {
    if (!t->bins_per_semitone || F < 3) return;
    unsigned char peak[TUNING_MASK_BINS]; /* the CQT's bins are at most 4096; more go without the mask */
    for (size_t i = 0; i < n; i++) add_frame(t, frames + i * (size_t)F, F, is_db, F <= TUNING_MASK_BINS ? peak : NULL);
}

double transcribe_tuning_bins(const transcribe_tuning *t) {
    if (!t->bins_per_semitone || (t->re == 0 && t->im == 0)) return 0;
    return atan2(t->im, t->re) * t->bins_per_semitone / (2 * M_PI);
}

/* Interior bins (k + i0 and k + i0 + 1 both inside) in one loop that vectorises; edge bins clamp. */
void transcribe_tuning_shift(float *db, size_t n, int F, double bins, float *scratch) {
    if (bins == 0 || F < 2) return;
    int i0 = (int)floor(bins);
    float a = (float)(bins - i0);
    int lo = i0 < 0 ? -i0 : 0, hi = F - 1 - i0 < F ? F - 1 - i0 : F; /* k in [lo, hi): both neighbours inside */
    if (lo > F) lo = F;
    if (hi < lo) hi = lo;
    for (size_t f = 0; f < n; f++) {
        float *row = db + f * (size_t)F;
        memcpy(scratch, row, (size_t)F * sizeof *scratch);
        for (int k = 0; k < lo; k++) {
            int j = k + i0, j1 = j + 1;
            float y0 = scratch[j < 0 ? 0 : j], y1 = scratch[j1 < 0 ? 0 : j1];
            row[k] = y0 + a * (y1 - y0);
        }
        for (int k = lo; k < hi; k++) row[k] = scratch[k + i0] + a * (scratch[k + i0 + 1] - scratch[k + i0]);
        for (int k = hi; k < F; k++) {
            int j = k + i0, j1 = j + 1;
            float y0 = scratch[j >= F ? F - 1 : j], y1 = scratch[j1 >= F ? F - 1 : j1];
            row[k] = y0 + a * (y1 - y0);
        }
    }
}
