/* Mel spectrogram and MFCC equal to librosa 0.10's melspectrogram / power_to_db / mfcc: frames of the
 * centred signal (n_fft/2 zeros each side: stft's default pad_mode "constant" in 0.10) times a periodic
 * Hann window, |X|^2 of their DFTs, the Slaney mel filterbank applied band by band over the few DFT bins
 * each triangle covers (2 x 1025 multiply-adds a frame instead of 128 x 1025 dense), dB with the floor at
 * the loudest value of the whole signal minus top_db, then for MFCC the orthonormal DCT-II.
 * The DFTs: two real frames a, b as one complex transform of a + ib (FFTW single precision, batched,
 * planned once per extractor, from the FFTW wisdom when it has the plan), separated by conjugate symmetry.
 * Debian's FFTW does a 2048-point r2c in 2.5 us and a 2048-point c2c in 2.1 us on this machine (Zen 4):
 * 1.1 us a frame instead of 2.5, the largest single cost of a mel take (667 frames). */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/isa.h"
#include "dsp/cqt_internal.h"
#include "dsp/feat_internal.h"

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
 * scaled by 2 / (its upper edge - its lower edge) in double, as numpy's in-place float32 *= float64 does. */
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
        for (int j = 0; j < nf; j++) {
            double fj = (double)j * bin_hz;
            float v = (float)fmax(0.0, fmin((fj - edge[m]) / d0, (edge[m + 2] - fj) / d1));
            if (v > 0 && first < 0) first = j;
            if (v > 0) last = j;
            if (first >= 0) w[at + (size_t)(j - first)] = (float)((double)v * enorm);
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

int stft_prepare(a2m_feat *e) {
    const int n = e->n_fft, nf = e->nf, M = e->f.n_mels;
    e->window = malloc((size_t)n * sizeof *e->window);
    e->frames = fftwf_alloc_complex((size_t)STFT_BLOCK / 2 * n);
    e->spec = fftwf_alloc_complex((size_t)STFT_BLOCK / 2 * n);
    e->spow = malloc((size_t)STFT_BLOCK * nf * sizeof *e->spow);
    e->power = malloc((e->max_frames ? e->max_frames : 1) * (size_t)M * sizeof *e->power);
    if (!e->window || !e->frames || !e->spec || !e->spow || !e->power) return A2M_ERR_NOMEM;
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
    e->plan = dsp_plan_c2c_many(n, STFT_BLOCK / 2, e->frames, e->spec);
    return e->plan ? A2M_OK : A2M_ERR_INTERNAL;
}

void stft_free(a2m_feat *e) {
    dsp_plan_destroy(e->plan);
    fftwf_free(e->frames), fftwf_free(e->spec);
    free(e->window), free(e->spow), free(e->power), free(e->db), free(e->dct);
    free(e->mel_start), free(e->mel_len), free(e->mel_off), free(e->mel_w);
}

/* |A[k]|^2, |B[k]|^2 for k in [k0, k1) of the pair whose DFT is Z [n complex] into out[k * STFT_BLOCK + 0, 1]:
 * with s = Z[k] + Z[n-k], d = Z[k] - Z[n-k], |A|^2 = (s.re^2 + d.im^2) / 4 and |B|^2 = (s.im^2 + d.re^2) / 4,
 * for 4 bins at once: s*s + SWAP_RI(d*d) is (|A|^2, |B|^2) interleaved, the layout of out. */
static inline void pair_power(const float *Z, int n, int k0, int k1, float *out) {
    int k = k0;
    if (k == 0) { /* Z[n - 0] is Z[0]: A[0] = Re Z[0], B[0] = Im Z[0] */
        out[0] = 0.25f * ((2 * Z[0]) * (2 * Z[0])), out[1] = 0.25f * ((2 * Z[1]) * (2 * Z[1]));
        k = 1;
    }
    for (; k + 4 <= k1; k += 4) {
        v8sf f = *(const v8sf_u *)(Z + 2 * k), r = REV_C(*(const v8sf_u *)(Z + 2 * (n - k - 3)));
        v8sf s = f + r, d = f - r,
             v = (v8sf){0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f} * (s * s + SWAP_RI(d * d));
        for (int j = 0; j < 4; j++)
            out[(size_t)(k + j) * STFT_BLOCK] = v[2 * j], out[(size_t)(k + j) * STFT_BLOCK + 1] = v[2 * j + 1];
    }
    for (; k < k1; k++) {
        const float *f = Z + 2 * k, *r = Z + 2 * (n - k);
        float sr = f[0] + r[0], si = f[1] + r[1], dr = f[0] - r[0], di = f[1] - r[1];
        out[(size_t)k * STFT_BLOCK] = 0.25f * (sr * sr + di * di),
                        out[(size_t)k * STFT_BLOCK + 1] = 0.25f * (si * si + dr * dr);
    }
}

/* |X|^2 of nb (<= STFT_BLOCK) windowed frames, the first starting at s, into e->spow [nf x STFT_BLOCK].
 * Z = DFT(a + ib) gives A[k] = (Z[k] + conj Z[n-k]) / 2 and B[k] = (Z[k] - conj Z[n-k]) / 2i. */
A2M_DISPATCH static void block_power(a2m_feat *e, const float *s, size_t nb) {
    const int n = e->n_fft, nf = e->nf, hop = e->c.hop;
    const size_t pairs = (nb + 1) / 2;
    for (size_t p = 0; p < STFT_BLOCK / 2; p++) {
        float *z = (float *)(e->frames + p * (size_t)n);
        const float *a = s + 2 * p * (size_t)hop, *b = a + hop;
        if (p >= pairs) memset(z, 0, 2 * (size_t)n * sizeof *z);
        else if (2 * p + 1 < nb)
            for (int i = 0; i < n; i++) z[2 * i] = a[i] * e->window[i], z[2 * i + 1] = b[i] * e->window[i];
        else
            for (int i = 0; i < n; i++) z[2 * i] = a[i] * e->window[i], z[2 * i + 1] = 0.0f;
    }
    fftwf_execute(e->plan);
    /* bins in tiles of 16, every pair within a tile: the tile's rows of spow (2 KB) stay in L1 (bin-major
     * stores straight across all 131 KB of spow per pair missed L1 at every store: 3x slower). */
    for (int k0 = 0; k0 < nf; k0 += 16) {
        int k1 = nf - k0 < 16 ? nf : k0 + 16;
        for (size_t p = 0; p < pairs; p++)
            pair_power((const float *)(e->spec + p * (size_t)n), n, k0, k1, e->spow + 2 * p);
    }
}

/* Mel power of nb frames from e->spow into rows of out [nb x n_mels]; each band sums its bins for all the
 * block's frames at once (vectors across frames). */
A2M_DISPATCH static void block_mel(const a2m_feat *e, size_t nb, float *out) {
    const int M = e->f.n_mels;
    for (int m = 0; m < M; m++) {
        const float *w = e->mel_w + e->mel_off[m];
        float acc[STFT_BLOCK] = {0};
        for (int j = 0; j < e->mel_len[m]; j++) {
            const float *q = e->spow + (size_t)(e->mel_start[m] + j) * STFT_BLOCK;
            for (int b = 0; b < STFT_BLOCK; b++) acc[b] += w[j] * q[b];
        }
        for (size_t b = 0; b < nb; b++) out[b * (size_t)M + (size_t)m] = acc[b];
    }
}

/* DCT-II of the dB mel frames: out [frames x n_mfcc], the coefficients of a frame summed together in float
 * vectors (rows padded to 8: 24 for 20 coefficients). Float sums of 128 terms: within 1e-6 of each
 * coefficient's range of the double ones (measured on the librosa references; the target is 1e-3). */
A2M_DISPATCH static void mfcc_of_db(const a2m_feat *e, const float *db, size_t frames, float *out) {
    const int M = e->f.n_mels, K = e->f.n_mfcc, Kp = (K + 7) / 8 * 8;
    float acc[1024]; /* n_mfcc <= n_mels <= 1024 (a2m_feat_check) */
    for (size_t t = 0; t < frames; t++) {
        const float *x = db + t * (size_t)M;
        for (int k0 = 0; k0 < Kp; k0 += 8) { /* 8 coefficients in one register over all the bands */
            v8sf a = {0};
            for (int i = 0; i < M; i++) a += *(const v8sf_u *)(e->dct + (size_t)i * Kp + k0) * x[i];
            *(v8sf_u *)(acc + k0) = a;
        }
        memcpy(out + t * (size_t)K, acc, (size_t)K * sizeof *out);
    }
}

int stft_features(a2m_feat *e, size_t n, size_t all, size_t keep, float *out) {
    (void)n;
    const int M = e->f.n_mels;
    for (size_t t0 = 0; t0 < all; t0 += STFT_BLOCK) {
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
