/* Mel spectrogram and MFCC equal to librosa 0.10's melspectrogram / power_to_db / mfcc: frames of the
 * centred signal (n_fft/2 zeros each side: stft's default pad_mode "constant" in 0.10) times a periodic
 * Hann window, batched FFTW single precision r2c transforms (planned once per extractor, from the FFTW
 * wisdom when it has the plan), |X|^2, the Slaney mel filterbank applied band by band over the few DFT
 * bins each triangle covers (2 x 1025 multiply-adds a frame instead of 128 x 1025 dense), dB with the
 * floor at the loudest value of the whole signal minus top_db, then for MFCC the orthonormal DCT-II. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/isa.h"
#include "dsp/cqt_internal.h"
#include "dsp/feat_internal.h"

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
    const double bin_hz = 1.0 / (e->n_fft * (1.0 / sr)); /* np.fft.rfftfreq's step */
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
    e->frames = fftwf_alloc_real((size_t)STFT_BLOCK * n);
    e->spec = fftwf_alloc_complex((size_t)STFT_BLOCK * nf);
    e->spow = malloc((size_t)STFT_BLOCK * nf * sizeof *e->spow);
    e->power = malloc((e->max_frames ? e->max_frames : 1) * (size_t)M * sizeof *e->power);
    if (!e->window || !e->frames || !e->spec || !e->spow || !e->power) return A2M_ERR_NOMEM;
    for (int i = 0; i < n; i++) e->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / n)); /* periodic Hann */
    int rc = mel_bank(e);
    if (rc) return rc;
    if (e->f.kind == A2M_FEAT_MFCC) {
        const int K = e->f.n_mfcc;
        e->db = malloc((e->max_frames ? e->max_frames : 1) * (size_t)M * sizeof *e->db);
        e->dct = malloc((size_t)K * M * sizeof *e->dct);
        if (!e->db || !e->dct) return A2M_ERR_NOMEM;
        for (int k = 0; k < K; k++) /* scipy.fftpack.dct(type=2, norm="ortho") */
            for (int i = 0; i < M; i++)
                e->dct[(size_t)k * M + i] = cos(M_PI * k * (2 * i + 1) / (2.0 * M)) * sqrt((k ? 2.0 : 1.0) / M);
    }
    e->plan = dsp_plan_r2c_many(n, STFT_BLOCK, e->frames, e->spec);
    return e->plan ? A2M_OK : A2M_ERR_INTERNAL;
}

void stft_free(a2m_feat *e) {
    dsp_plan_destroy(e->plan);
    fftwf_free(e->frames), fftwf_free(e->spec);
    free(e->window), free(e->spow), free(e->power), free(e->db), free(e->dct);
    free(e->mel_start), free(e->mel_len), free(e->mel_off), free(e->mel_w);
}

/* |X|^2 of nb (<= STFT_BLOCK) windowed frames, the first starting at s, into e->spow [nb x nf]. */
A2M_DISPATCH static void block_power(a2m_feat *e, const float *s, size_t nb) {
    const int n = e->n_fft, nf = e->nf, hop = e->c.hop;
    for (size_t b = 0; b < nb; b++) {
        const float *x = s + b * (size_t)hop;
        float *fr = e->frames + b * (size_t)n;
        for (int i = 0; i < n; i++) fr[i] = x[i] * e->window[i];
    }
    if (nb < STFT_BLOCK) memset(e->frames + nb * (size_t)n, 0, (STFT_BLOCK - nb) * (size_t)n * sizeof *e->frames);
    fftwf_execute(e->plan);
    for (size_t b = 0; b < nb; b++) {
        const float *X = (const float *)(e->spec + b * (size_t)nf);
        float *p = e->spow + b * (size_t)nf;
        for (int j = 0; j < nf; j++) p[j] = X[2 * j] * X[2 * j] + X[2 * j + 1] * X[2 * j + 1];
    }
}

/* Mel power of nb frames from e->spow into rows of out [nb x n_mels]. */
static void block_mel(const a2m_feat *e, size_t nb, float *out) {
    const int M = e->f.n_mels, nf = e->nf;
    for (size_t b = 0; b < nb; b++) {
        const float *p = e->spow + b * (size_t)nf;
        for (int m = 0; m < M; m++) {
            const float *w = e->mel_w + e->mel_off[m], *q = p + e->mel_start[m];
            float acc = 0.0f;
            for (int j = 0; j < e->mel_len[m]; j++) acc += w[j] * q[j];
            out[b * (size_t)M + (size_t)m] = acc;
        }
    }
}

/* DCT-II rows of the dB mel frames: out [frames x n_mfcc]. */
static void mfcc_of_db(const a2m_feat *e, const float *db, size_t frames, float *out) {
    const int M = e->f.n_mels, K = e->f.n_mfcc;
    for (size_t t = 0; t < frames; t++) {
        const float *x = db + t * (size_t)M;
        for (int k = 0; k < K; k++) {
            const double *d = e->dct + (size_t)k * M;
            double acc = 0.0;
            for (int i = 0; i < M; i++) acc += d[i] * x[i];
            out[t * (size_t)K + (size_t)k] = (float)acc;
        }
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
