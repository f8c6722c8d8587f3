/* Mel spectrogram and MFCC equal to librosa 0.10's melspectrogram / power_to_db / mfcc: frames of the
 * centred signal (n_fft/2 zeros each side: stft's default pad_mode "constant" in 0.10) times a periodic
 * Hann window, |X|^2 of their DFTs, the Slaney mel filterbank applied band by band over the few DFT bins
 * each triangle covers (2 x 1025 multiply-adds a frame instead of 128 x 1025 dense), dB with the floor at
 * the loudest value of the whole signal minus top_db, then for MFCC the orthonormal DCT-II.
 * The DFTs: two real frames a, b as one complex transform of a + ib (FFTW single precision, batched,
 * planned once per extractor, from the FFTW wisdom when it has the plan), separated by conjugate symmetry.
 * Debian's FFTW does a 2048-point r2c in 2.5 us and a 2048-point c2c in 2.1 us on this machine (Zen 4):
 * 1.1 us a frame instead of 2.5, the largest single cost of a mel take (667 frames).
 * On CPUs with AVX-512 and a power-of-two n_fft >= 256, stft_lanes.c does the frames 16 at a time instead
 * (its own transforms, 10-15% less time a take in-process); the mel sums' dB and MFCC steps are shared. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/isa.h"
#include "dsp/cqt_internal.h"
#include "dsp/feat_internal.h"

/* MFCC's DCT also in an x86-64-v4 clone (GCC, as attention.c): in-process MFCC of a take 0.87 ms instead of
 * 0.92 (min of 6 alternated processes, one take x 200; the same bits: the sums' order is the source's) */

/* GCC/clang vector extensions (as cqt.c): AVX2 in the x86-64-v3 clone of block_power, SSE pairs elsewhere.
 * v8sf holds 4 complex values (re, im interleaved); SWAP_RI swaps re and im, REV_C reverses the 4 values. */
typedef float v8sf __attribute__((vector_size(32)));
typedef float v8sf_u __attribute__((vector_size(32), aligned(4), may_alias));
#ifdef __clang__
#define SWAP_RI(v) __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6)
#define REV_C(v)   __builtin_shufflevector(v, v, 6, 7, 4, 5, 2, 3, 0, 1)
#else
typedef int v8si __attribute__((vector_size(32)));
#define SWAP_RI(v) __builtin_shuffle(v, (v8si){1, 0, 3, 2, 5, 4, 7, 6})
#define REV_C(v)   __builtin_shuffle(v, (v8si){6, 7, 4, 5, 2, 3, 0, 1})
#endif

/* librosa.hz_to_mel / mel_to_hz with htk=False (Slaney: linear below 1 kHz, logarithmic above). */
static double hz_to_mel(double f) {
    const double f_sp = 200.0 / 3, logstep = log(6.4) / 27.0;
    return f >= 1000.0 ? 15.0 + log(f / 1000.0) / logstep : f / f_sp;
}

static double mel_to_hz(double m) {
    const double f_sp = 200.0 / 3, logstep = log(6.4) / 27.0;
    return m >= 15.0 ? 1000.0 * exp(logstep * (m - 15.0)) : f_sp * m;
}

/* librosa.filters.mel(norm="slaney"): triangles between mel-spaced edges, each stored as float32 and then
 * scaled by 2 / (its upper edge - its lower edge) in double, as numpy's in-place float32 *= float64 does;
 * kept divided by 4 (exactly), the 1/4 of pair_power4. */
static int mel_bank(a2m_feat *e) {
    const int M = e->f.n_mels, nf = e->nf;
    const double sr = e->c.sample_rate, f_hi = e->f.fmax > 0 ? e->f.fmax : sr / 2;
    double *edge = malloc((size_t)(M + 2) * sizeof *edge);
    float *w = malloc((size_t)M * nf * sizeof *w);
    e->mel_start = malloc((size_t)M * sizeof *e->mel_start), e->mel_len = malloc((size_t)M * sizeof *e->mel_len);
    e->mel_off = malloc((size_t)M * sizeof *e->mel_off);
    if (!edge || !w || !e->mel_start || !e->mel_len || !e->mel_off) {
        free(edge), free(w);
        return A2M_ERR_NOMEM;
    }
    double lo = hz_to_mel(e->f.fmin), hi = hz_to_mel(f_hi), step = (hi - lo) / (M + 1);
    for (int i = 0; i < M + 2; i++) edge[i] = mel_to_hz(i == M + 1 ? hi : lo + i * step); /* np.linspace */
    const double bin_hz = 1.0 / (e->n_fft * (1.0 / sr));                                  /* np.fft.rfftfreq's step */
    size_t at = 0;
    for (int m = 0; m < M; m++) {
        double d0 = edge[m + 1] - edge[m], d1 = edge[m + 2] - edge[m + 1], enorm = 2.0 / (edge[m + 2] - edge[m]);
        int first = -1, last = -1;
        /* v > 0 only strictly between edge[m] and edge[m + 2]: the bins there and one more each side (the loop
         * over all nf bins for every band was 0.6% of a 45-take run) */
        double j_lo = floor(edge[m] / bin_hz) - 1, j_hi = ceil(edge[m + 2] / bin_hz) + 1;
        int j0 = j_lo > 0 ? (int)j_lo : 0, j1 = j_hi < nf - 1 ? (int)j_hi : nf - 1;
        for (int j = j0; j <= j1; j++) {
            double fj = (double)j * bin_hz;
            float v = (float)fmax(0.0, fmin((fj - edge[m]) / d0, (edge[m + 2] - fj) / d1));
            if (v > 0 && first < 0) first = j;
            if (v > 0) last = j;
            if (first >= 0) w[at + (size_t)(j - first)] = 0.25f * (float)((double)v * enorm);
        }
        e->mel_start[m] = first < 0 ? 0 : first, e->mel_len[m] = first < 0 ? 0 : last - first + 1;
        e->mel_off[m] = at;
        at += (size_t)e->mel_len[m];
    }
    free(edge);
    float *w2 = realloc(w, (at ? at : 1) * sizeof *w);
    e->mel_w = w2 ? w2 : w;
    return A2M_OK;
}

/* The FFTW path's buffers and plan (where stft_lanes.c's path is not used, or stft_use_fftw). */
static int fftw_prepare(a2m_feat *e) {
    const int n = e->n_fft;
    e->frames = fftwf_alloc_complex((size_t)FFT_PAIRS * n);
    e->spec = fftwf_alloc_complex((size_t)FFT_PAIRS * n);
    e->spow = malloc((size_t)STFT_BLOCK * e->nf * sizeof *e->spow);
    e->mel_tile = malloc((size_t)STFT_BLOCK * e->f.n_mels * sizeof *e->mel_tile);
    if (!e->frames || !e->spec || !e->spow || !e->mel_tile) return A2M_ERR_NOMEM;
    e->plan = dsp_plan_c2c_many(n, FFT_PAIRS, e->frames, e->spec);
    return e->plan ? A2M_OK : A2M_ERR_INTERNAL;
}

int stft_use_fftw(a2m_feat *e) {
    e->lanes = 0;
    return e->plan ? A2M_OK : fftw_prepare(e);
}

int stft_use_lanes(a2m_feat *e) {
    int rc = e->lanes ? A2M_OK : lanes_prepare(e, 1);
    return rc ? rc : e->lanes ? A2M_OK : A2M_ERR_ARG;
}

int stft_prepare(a2m_feat *e) {
    const int n = e->n_fft, M = e->f.n_mels;
    e->window = malloc((size_t)n * sizeof *e->window);
    e->power = malloc((e->max_frames ? e->max_frames : 1) * (size_t)M * sizeof *e->power);
    if (!e->window || !e->power) return A2M_ERR_NOMEM;
    for (int i = 0; i < n; i++) e->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / n)); /* periodic Hann */
    int rc = mel_bank(e);
    if (rc) return rc;
    if (e->f.kind == A2M_FEAT_MFCC) {
        const int K = e->f.n_mfcc;
        e->db = malloc((e->max_frames ? e->max_frames : 1) * (size_t)M * sizeof *e->db);
        const int Kp = (K + 7) / 8 * 8;
        e->dct = calloc((size_t)Kp * M, sizeof *e->dct);
        if (!e->db || !e->dct) return A2M_ERR_NOMEM;
        for (int k = 0; k < K; k++) /* scipy.fftpack.dct(type=2, norm="ortho") */
            for (int i = 0; i < M; i++)
                e->dct[(size_t)i * Kp + k] =
                    (float)(cos(M_PI * k * (2 * i + 1) / (2.0 * M)) * sqrt((k ? 2.0 : 1.0) / M));
    }
    if ((rc = lanes_prepare(e, 0))) return rc;
    return e->lanes ? A2M_OK : fftw_prepare(e);
}

void stft_free(a2m_feat *e) {
    dsp_plan_destroy(e->plan);
    fftwf_free(e->frames), fftwf_free(e->spec);
    free(e->window), free(e->spow), free(e->mel_tile), free(e->power), free(e->db), free(e->dct);
    free(e->mel_start), free(e->mel_len), free(e->mel_off), free(e->mel_w);
    lanes_free(e);
}

/* 64-bit lanes (a complex value, or the (|A|^2, |B|^2) of one bin) for the 4 x 4 transposes below. */
typedef long long v4di __attribute__((vector_size(32)));
#ifdef __clang__
#define SHUF2(a, b, ...)  __builtin_shufflevector(a, b, __VA_ARGS__)
#define SHUF2F(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF2(a, b, ...)  __builtin_shuffle(a, b, (v4di){__VA_ARGS__})
#define SHUF2F(a, b, ...) __builtin_shuffle(a, b, (v8si){__VA_ARGS__})
#endif

/* 4 (|A[k+j]|^2, |B[k+j]|^2) for j = 0..3 of the pair whose DFT is Z [n complex], 1 <= k, k + 3 <= n - 1:
 * with s = Z[k] + Z[n-k], d = Z[k] - Z[n-k], |A|^2 = (s.re^2 + d.im^2) / 4 and |B|^2 = (s.im^2 + d.re^2) / 4;
 * s * s + SWAP_RI(d * d) is both, interleaved, times 4: the 1/4 is in the mel weights (a power of two, so
 * w/4 * 4p rounds as w * p: the same bits). */
static inline __attribute__((always_inline)) void pair_power4(const float *Z, int n, int k, v4di *out) {
    v8sf f = *(const v8sf_u *)(Z + 2 * k), r = REV_C(*(const v8sf_u *)(Z + 2 * (n - k - 3)));
    v8sf s = f + r, d = f - r;
    *out = (v4di)(s * s + SWAP_RI(d * d));
}

/* The same (times 4) for one bin k (0 <= k < nf) into out[0, 1]: Z[n - 0] is Z[0]. */
static inline void pair_power1(const float *Z, int n, int k, float *out) {
    const float *f = Z + 2 * k, *r = Z + 2 * (k ? n - k : 0);
    float sr = f[0] + r[0], si = f[1] + r[1], dr = f[0] - r[0], di = f[1] - r[1];
    out[0] = sr * sr + di * di, out[1] = si * si + dr * dr;
}

/* Where spow holds 4|X[k]|^2 of the frames of pair p: each FFTW execution's 8 frames have their own part, bin
 * after bin, so its stores fill whole cache lines one after the other (rows of all 32 frames, each line
 * written a quarter at a time by 4 executions, cost 7% more of block_power's time). */
static inline float *spow_at(const a2m_feat *e, int k, size_t p) {
    return e->spow + (p / FFT_PAIRS * (size_t)e->nf + (size_t)k) * 2 * FFT_PAIRS + 2 * (p % FFT_PAIRS);
}

/* Rows k..k+3 of spow for the frames of pairs p..p+3 (8 floats a row), their DFTs at Z (n complex apart): the
 * four pairs' pair_power4 vectors transposed as 4 x 4 64-bit lanes, so each row is one store, not four. */
static inline __attribute__((always_inline)) void four_pairs(const a2m_feat *e, const float *Z, size_t p, int k) {
    const int n = e->n_fft;
    v4di v0, v1, v2, v3;
    pair_power4(Z, n, k, &v0), pair_power4(Z + 2 * n, n, k, &v1);
    pair_power4(Z + 4 * n, n, k, &v2), pair_power4(Z + 6 * n, n, k, &v3);
    v4di lo01 = SHUF2(v0, v1, 0, 4, 2, 6), hi01 = SHUF2(v0, v1, 1, 5, 3, 7);
    v4di lo23 = SHUF2(v2, v3, 0, 4, 2, 6), hi23 = SHUF2(v2, v3, 1, 5, 3, 7);
    float *row = spow_at(e, k, p);
    *(v8sf_u *)row = (v8sf)SHUF2(lo01, lo23, 0, 1, 4, 5);
    *(v8sf_u *)(row + 8) = (v8sf)SHUF2(hi01, hi23, 0, 1, 4, 5);
    *(v8sf_u *)(row + 16) = (v8sf)SHUF2(lo01, lo23, 2, 3, 6, 7);
    *(v8sf_u *)(row + 24) = (v8sf)SHUF2(hi01, hi23, 2, 3, 6, 7);
}

/* 4|X|^2 of nb (<= STFT_BLOCK) windowed frames, the first starting at s, into e->spow, by
 * FFT_PAIRS pairs at a time (windowed, transformed and taken apart while their 128 KB are in L2).
 * Z = DFT(a + ib) gives A[k] = (Z[k] + conj Z[n-k]) / 2 and B[k] = (Z[k] - conj Z[n-k]) / 2i. */
A2M_DISPATCH static void block_power(a2m_feat *e, const float *s, size_t nb) {
    const int n = e->n_fft, nf = e->nf, hop = e->c.hop;
    const size_t pairs = (nb + 1) / 2;
    const int kv = 1 + (nf - 1) / 4 * 4; /* bins [1, kv) in vectors; bin 0 and the rest one by one */
    for (size_t p0 = 0; p0 < STFT_BLOCK / 2; p0 += FFT_PAIRS) {
        for (size_t p = p0; p < p0 + FFT_PAIRS; p++) {
            float *z = (float *)(e->frames + (p - p0) * (size_t)n);
            const float *a = s + 2 * p * (size_t)hop, *b = a + hop;
            if (p >= pairs) memset(z, 0, 2 * (size_t)n * sizeof *z);
            else if (2 * p + 1 < nb)
                for (int i = 0; i < n; i++) z[2 * i] = a[i] * e->window[i], z[2 * i + 1] = b[i] * e->window[i];
            else
                for (int i = 0; i < n; i++) z[2 * i] = a[i] * e->window[i], z[2 * i + 1] = 0.0f;
        }
        fftwf_execute(e->plan);
        for (int k = 1; k < kv; k += 4) four_pairs(e, (const float *)e->spec, p0, k);
        for (size_t p = p0; p < p0 + FFT_PAIRS; p++) {
            const float *Z = (const float *)(e->spec + (p - p0) * (size_t)n);
            pair_power1(Z, n, 0, spow_at(e, 0, p));
            for (int k = kv; k < nf; k++) pair_power1(Z, n, k, spow_at(e, k, p));
        }
    }
}

/* 8 x 8 transpose: rows r[0..7] (8 floats each) into columns c[0..7] (c[j][i] = r[i][j]). */
static inline __attribute__((always_inline)) void transpose8(const v8sf r[8], v8sf c[8]) {
    v8sf t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = SHUF2F(r[2 * i], r[2 * i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[2 * i + 1] = SHUF2F(r[2 * i], r[2 * i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 2; i++)
        for (int h = 0; h < 2; h++) {
            u[4 * i + 2 * h] = SHUF2F(t[4 * i + h], t[4 * i + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[4 * i + 2 * h + 1] = SHUF2F(t[4 * i + h], t[4 * i + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int j = 0; j < 4; j++) {
        c[j] = SHUF2F(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        c[j + 4] = SHUF2F(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/* Mel power of nb frames from e->spow into rows of out [nb x n_mels]: each band sums its bins for all the
 * block's frames at once (4 vectors across frames, kept in registers), into a band-major tile, which is
 * then transposed 8 x 8 into the frame-major rows (scalar stores of each band's 32 frames across 32 rows
 * were 3/4 of this function's time). */
A2M_DISPATCH static void block_mel(const a2m_feat *e, size_t nb, float *out) {
    const int M = e->f.n_mels;
    float *tile = e->mel_tile; /* [n_mels x STFT_BLOCK] */
    for (int m = 0; m < M; m++) {
        const float *w = e->mel_w + e->mel_off[m], *q = e->spow + (size_t)e->mel_start[m] * 8;
        const size_t part = (size_t)e->nf * 8; /* the next 8 frames' part of spow */
        v8sf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int j = 0; j < e->mel_len[m]; j++, q += 8) {
            a0 += w[j] * *(const v8sf_u *)q, a1 += w[j] * *(const v8sf_u *)(q + part);
            a2 += w[j] * *(const v8sf_u *)(q + 2 * part), a3 += w[j] * *(const v8sf_u *)(q + 3 * part);
        }
        float *d = tile + (size_t)m * STFT_BLOCK;
        *(v8sf_u *)d = a0, *(v8sf_u *)(d + 8) = a1, *(v8sf_u *)(d + 16) = a2, *(v8sf_u *)(d + 24) = a3;
    }
    const int M8 = M / 8 * 8;
    for (size_t b0 = 0; b0 < nb; b0 += 8)
        for (int m0 = 0; m0 < M8; m0 += 8) {
            v8sf r[8], c[8];
            for (int i = 0; i < 8; i++) r[i] = *(const v8sf_u *)(tile + (size_t)(m0 + i) * STFT_BLOCK + b0);
            transpose8(r, c);
            for (size_t j = 0; j < 8 && b0 + j < nb; j++) *(v8sf_u *)(out + (b0 + j) * (size_t)M + m0) = c[j];
        }
    for (int m = M8; m < M; m++)
        for (size_t b = 0; b < nb; b++) out[b * (size_t)M + (size_t)m] = tile[(size_t)m * STFT_BLOCK + b];
}

/* DCT-II of the dB mel frames: out [frames x n_mfcc], 4 frames at a time, the coefficients of a frame summed
 * in float vectors of 8 (rows of the DCT padded to 8: 24 for 20 coefficients), 3 such vectors a pass: 12
 * independent sums in registers (one vector's chain of 128 dependent additions took 3x as long).
 * Float sums of 128 terms: within 1e-6 of each coefficient's range of the double ones (measured on the
 * librosa references; the target is 1e-3). */
A2M_DISPATCH_V4 static void mfcc_of_db(const a2m_feat *e, const float *db, size_t frames, float *out) {
    const int M = e->f.n_mels, K = e->f.n_mfcc, Kp = (K + 7) / 8 * 8;
    float acc[4][1024]; /* n_mfcc <= n_mels <= 1024 (a2m_feat_check) */
    for (size_t t = 0; t < frames; t += 4) {
        const float *x[4];
        for (size_t f = 0; f < 4; f++) x[f] = db + (t + f < frames ? t + f : t) * (size_t)M;
        for (int k0 = 0; k0 < Kp; k0 += 24) { /* 3 groups of 8 coefficients (fewer at the end) */
            const int g = Kp - k0 < 24 ? (Kp - k0) / 8 : 3;
            v8sf a[4][3] = {{{0}}};
            for (int i = 0; i < M; i++) {
                const float *dc = e->dct + (size_t)i * Kp + k0;
                v8sf d0 = *(const v8sf_u *)dc, d1 = g > 1 ? (v8sf) * (const v8sf_u *)(dc + 8) : d0,
                     d2 = g > 2 ? (v8sf) * (const v8sf_u *)(dc + 16) : d0;
                for (int f = 0; f < 4; f++) a[f][0] += d0 * x[f][i], a[f][1] += d1 * x[f][i], a[f][2] += d2 * x[f][i];
            }
            for (int f = 0; f < 4; f++)
                for (int j = 0; j < g; j++) *(v8sf_u *)(acc[f] + k0 + 8 * j) = a[f][j];
        }
        for (size_t f = 0; f < 4 && t + f < frames; f++)
            memcpy(out + (t + f) * (size_t)K, acc[f], (size_t)K * sizeof *out);
    }
}

int stft_features(a2m_feat *e, size_t n, size_t all, size_t keep, float *out) {
    (void)n;
    const int M = e->f.n_mels;
    for (size_t t0 = 0; e->lanes && t0 < all; t0 += LANES)
        lanes_block(e, e->padded + t0 * (size_t)e->c.hop, all - t0 < LANES ? (int)(all - t0) : LANES,
                    e->power + t0 * (size_t)M);
    for (size_t t0 = 0; !e->lanes && t0 < all; t0 += STFT_BLOCK) {
        size_t nb = all - t0 < STFT_BLOCK ? all - t0 : STFT_BLOCK;
        block_power(e, e->padded + t0 * (size_t)e->c.hop, nb);
        block_mel(e, nb, e->power + t0 * (size_t)M);
    }
    a2m_cqt_params p = e->c; /* power_to_db(ref, amin^2, top_db): the CQT's dB step over n_mels columns */
    p.n_bins = M;
    if (e->f.kind == A2M_FEAT_MEL) {
        a2m_cqt_power_db(p, e->power, all, keep, out);
        return A2M_OK;
    }
    a2m_cqt_power_db(p, e->power, all, all, e->db);
    mfcc_of_db(e, e->db, keep, out);
    return A2M_OK;
}

double a2m_mel_band_of_hz(a2m_cqt_params c, a2m_feat_params f, double hz) {
    double f_hi = f.fmax > 0 ? f.fmax : c.sample_rate / 2, lo = hz_to_mel(f.fmin);
    double step = (hz_to_mel(f_hi) - lo) / (f.n_mels + 1);
    return (hz_to_mel(hz) - lo) / step - 1.0;
}
