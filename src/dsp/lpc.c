/* Linear prediction coefficients equal to librosa.lpc (Burg's method, librosa.core.audio.__lpc) of every
 * frame of frame_length samples, hop apart, of the signal reflect-padded by frame_length/2 on both sides.
 * In double, as the references in ../shared were made: they equal this after rounding to float32 (3 takes x
 * 667 frames), while the same recursion in float32 (librosa on float32 audio) is up to 2e-3 away. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/isa.h"
#include "dsp/feat_internal.h"

int lpc_prepare(a2m_feat *e) {
    e->fwd = malloc((size_t)e->f.frame_length * sizeof *e->fwd);
    e->bwd = malloc((size_t)e->f.frame_length * sizeof *e->bwd);
    return e->fwd && e->bwd ? A2M_OK : A2M_ERR_NOMEM;
}

void lpc_free(a2m_feat *e) { free(e->fwd), free(e->bwd); }

/* Burg's recursion on one frame x[0..len): a[0..order] (a[0] = 1). f and b are the forward and backward
 * prediction errors, shortened by one sample per order; den their energy, updated by the recurrence
 * librosa uses. The reflection coefficient divides by den + FLT_MIN (librosa's tiny(float32)), so a
 * silent frame gives a = [1, 0, ...]. */
typedef double v4df __attribute__((vector_size(32)));
typedef double v4df_u __attribute__((vector_size(32), aligned(8), may_alias));

/* sum of x[t] y[t] over t < n in four interleaved partial sums (the sequential sum's latency chain made
 * the whole recursion 3x slower); the order differs from librosa's by rounding only (~1e-16 relative). */
static inline double dot4(const double *x, const double *y, int n) {
    v4df acc = {0, 0, 0, 0};
    int t = 0;
    for (; t + 4 <= n; t += 4) acc += *(const v4df_u *)(x + t) * *(const v4df_u *)(y + t);
    double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; t < n; t++) s += x[t] * y[t];
    return s;
}

A2M_DISPATCH static void burg(const float *x, int len, int order, double *f, double *b, double *a) {
    double prev[257];
    int m = len - 1;
    for (int i = 0; i < m; i++) f[i] = x[i + 1], b[i] = x[i];
    double den = dot4(f, f, m) + dot4(b, b, m), dot = dot4(b, f, m);
    memset(a, 0, (size_t)(order + 1) * sizeof *a);
    a[0] = 1.0;
    for (int i = 0; i < order; i++) {
        const double k = -2.0 * dot / (den + (double)FLT_MIN);
        memcpy(prev, a, (size_t)(i + 2) * sizeof *a);
        for (int j = 1; j <= i + 1; j++) a[j] = prev[j] + k * prev[i - j + 1];
        for (int t = 0; t < m; t++) {
            const double ft = f[t];
            f[t] = ft + k * b[t];
            b[t] = b[t] + k * ft;
        }
        den = (1.0 - k * k) * den - b[m - 1] * b[m - 1] - f[0] * f[0];
        f++, m--; /* the forward errors lose their first sample, the backward ones their last */
        dot = dot4(b, f, m);
    }
}

void lpc_features(a2m_feat *e, size_t keep, float *out) {
    const int L = e->f.frame_length, P = e->f.order;
    double a[257];
    for (size_t t = 0; t < keep; t++) {
        burg(e->padded + t * (size_t)e->c.hop, L, P, e->fwd, e->bwd, a);
        for (int j = 0; j <= P; j++) out[t * (size_t)(P + 1) + (size_t)j] = (float)a[j];
    }
}

void a2m_lpc_envelope_db(const float *a, size_t frames, int order, int n_freqs, float *out) {
    for (size_t t = 0; t < frames; t++) {
        const float *c = a + t * (size_t)(order + 1);
        for (int i = 0; i < n_freqs; i++) {
            double w = M_PI * i / (n_freqs > 1 ? n_freqs - 1 : 1), re = 0, im = 0;
            for (int k = 0; k <= order; k++) re += c[k] * cos(w * k), im -= c[k] * sin(w * k);
            out[t * (size_t)n_freqs + (size_t)i] = (float)(-10.0 * log10(fmax(re * re + im * im, 1e-20)));
        }
    }
}
