/* Transformer layers: LayerNorm, GELU, sinusoidal positional encoding and
 * multi-head self-attention with key padding and attention dropout. */
#include "nn/attention.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/layers.h"

/* ------------------------------------------------------------ LayerNorm */

void layernorm_forward(float *out, float *save, const float *in, const float *w, const float *b, int N, int C,
                       float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        double s = 0, v = 0;
        for (int c = 0; c < C; c++) s += x[c];
        double mean = s / C;
        for (int c = 0; c < C; c++) v += (x[c] - mean) * (x[c] - mean);
        float m = (float)mean, rstd = (float)(1.0 / sqrt(v / C + eps));
        float *o = out + (size_t)n * C;
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * rstd * w[c] + b[c];
        save[n] = m, save[N + n] = rstd;
    }
}

void layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                        const float *save, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C, *g = dout + (size_t)n * C;
        float m = save[n], rstd = save[N + n];
        double sg = 0, sgx = 0; /* mean of dout*w and of dout*w*xhat */
        for (int c = 0; c < C; c++) {
            float xh = (x[c] - m) * rstd, gw = g[c] * w[c];
            sg += gw, sgx += gw * xh;
            if (dw) dw[c] += g[c] * xh;
            if (db) db[c] += g[c];
        }
        if (!din) continue;
        float a = (float)(sg / C), bx = (float)(sgx / C);
        float *d = din + (size_t)n * C;
        for (int c = 0; c < C; c++) d[c] += rstd * (g[c] * w[c] - a - (x[c] - m) * rstd * bx);
    }
}

/* ----------------------------------------------------------------- GELU */

void gelu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = 0.5f * in[i] * (1.0f + erff(in[i] * 0.70710678118654752f));
}

void gelu_backward(float *din, const float *dout, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = in[i];
        float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * expf(-0.5f * x * x); /* 0 for |x| large, never NaN for finite x */
        din[i] += dout[i] * (cdf + x * pdf);
    }
}

/* ------------------------------------------------- positional encoding */

/* PyTorch's float32 arithmetic: div = exp(2i * (-ln(10000) / d)), angle = t * div,
 * so a2m's own table matches a PyTorch buffer to float rounding (tests). */
static float posenc_value(int t, int c, int d) {
    float dv = expf((float)(c & ~1) * (float)(-log(10000.0) / d));
    float a = (float)t * dv;
    return (c & 1) ? cosf(a) : sinf(a);
}

void posenc_fill(float *pe, int max_len, int d) {
    for (int t = 0; t < max_len; t++)
        for (int c = 0; c < d; c++) pe[(size_t)t * d + c] = posenc_value(t, c, d);
}

void posenc_add(float *x, const float *pe, int max_len, int B, int T, int d) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *r = x + ((size_t)b * T + t) * d;
            if (t < max_len)
                for (int c = 0; c < d; c++) r[c] += pe[(size_t)t * d + c];
            else
                for (int c = 0; c < d; c++) r[c] += posenc_value(t, c, d);
        }
}

/* ------------------------------------------------------------ attention */

static inline uint64_t mix64(uint64_t z) { /* splitmix64 finaliser, as dropout_forward's */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* inverted-dropout multiplier of element idx: 0 with probability p, else 1/(1-p) */
static inline float keep_mult(uint64_t base, uint64_t idx, float p, float keep) {
    float u = (float)(mix64(base + idx * 0x9E3779B97F4A7C15ull) >> 40) * (1.0f / 16777216.0f);
    return u < p ? 0.0f : keep;
}

size_t attn_p_floats(int B, int T, int H) { return (size_t)B * H * T * T; }
size_t attn_scratch_floats(int T) { return (size_t)2 * T * T; }

static int seq_len(const int *lengths, int b, int T) {
    if (!lengths) return T;
    return lengths[b] < 0 ? 0 : lengths[b] > T ? T : lengths[b];
}

/* p [L x L] (row stride T) <- softmax of its rows */
static void softmax_block(float *p, int L, int T, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < L; i++) {
        float *r = p + (size_t)i * T, mx = r[0], s = 0;
        for (int j = 1; j < L; j++) mx = r[j] > mx ? r[j] : mx;
        for (int j = 0; j < L; j++) r[j] = nn_expf(r[j] - mx), s += r[j];
        float inv = 1.0f / s; /* s >= 1: the maximum contributes exp(0) */
        for (int j = 0; j < L; j++) r[j] *= inv;
    }
}

/* pd [L x L] = p * dropout mask of block (b, h) */
static void dropped_block(float *pd, const float *p, int L, int T, uint64_t base, size_t block, float p_drop,
                          int n_threads) {
    float keep = 1.0f / (1.0f - p_drop);
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < L; i++) {
        uint64_t row = ((uint64_t)block * T + (uint64_t)i) * T;
        for (int j = 0; j < L; j++)
            pd[(size_t)i * T + j] = p[(size_t)i * T + j] * keep_mult(base, row + (uint64_t)j, p_drop, keep);
    }
}

void attn_forward(float *ctx, float *P, const float *qkv, const int *lengths, float *scratch, int B, int T, int d,
                  int H, float p_drop, uint64_t seed, int training, int n_threads) {
    int dh = d / H, ld = 3 * d;
    float scale = 1.0f / sqrtf((float)dh);
    int drop = training && p_drop > 0.0f;
    uint64_t base = mix64(seed + 0x9E3779B97F4A7C15ull);
    for (int b = 0; b < B; b++) {
        int L = seq_len(lengths, b, T);
        float *cb = ctx + (size_t)b * T * d;
        if (L < T) memset(cb + (size_t)L * d, 0, (size_t)(T - L) * d * sizeof *cb);
        if (L == 0) continue;
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * ld + h * dh, *k = q + d, *v = q + 2 * d;
            float *p = P + (size_t)(b * H + h) * T * T;
            /* S = Q K^T / sqrt(dh) [L x L] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, dh, scale, q, ld, k, ld, 0.0f, p, T);
            softmax_block(p, L, T, n_threads);
            const float *pv = p;
            if (drop) dropped_block(scratch, p, L, T, base, (size_t)b * H + h, p_drop, n_threads), pv = scratch;
            /* ctx_h = P V [L x dh] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, dh, L, 1.0f, pv, T, v, ld, 0.0f, cb + h * dh, d);
        }
    }
}

/* ds [L x L] <- scale * P * (dP - rowsum(P * dP)), dP = dPd * mask (dPd given in ds) */
static void softmax_block_backward(float *ds, const float *p, int L, int T, float scale, int drop, uint64_t base,
                                   size_t block, float p_drop, int n_threads) {
    float keep = drop ? 1.0f / (1.0f - p_drop) : 1.0f;
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < L; i++) {
        float *g = ds + (size_t)i * T;
        const float *r = p + (size_t)i * T;
        uint64_t row = ((uint64_t)block * T + (uint64_t)i) * T;
        if (drop)
            for (int j = 0; j < L; j++) g[j] *= keep_mult(base, row + (uint64_t)j, p_drop, keep);
        float s = 0;
        for (int j = 0; j < L; j++) s += r[j] * g[j];
        for (int j = 0; j < L; j++) g[j] = scale * r[j] * (g[j] - s);
    }
}

void attn_backward(float *dqkv, const float *dctx, const float *qkv, const float *P, const int *lengths,
                   float *scratch, int B, int T, int d, int H, float p_drop, uint64_t seed, int training,
                   int n_threads) {
    int dh = d / H, ld = 3 * d;
    float scale = 1.0f / sqrtf((float)dh);
    int drop = training && p_drop > 0.0f;
    uint64_t base = mix64(seed + 0x9E3779B97F4A7C15ull);
    float *pd = scratch, *ds = scratch + (size_t)T * T;
    memset(dqkv, 0, (size_t)B * T * ld * sizeof *dqkv);
    for (int b = 0; b < B; b++) {
        int L = seq_len(lengths, b, T);
        if (L == 0) continue;
        for (int h = 0; h < H; h++) {
            size_t blk = (size_t)b * H + h, row0 = (size_t)b * T * ld + (size_t)h * dh;
            const float *q = qkv + row0, *k = q + d, *v = q + 2 * d, *p = P + blk * T * T, *pv = p;
            const float *dc = dctx + (size_t)b * T * d + h * dh;
            float *dq = dqkv + row0, *dk = dq + d, *dv = dq + 2 * d;
            if (drop) dropped_block(pd, p, L, T, base, blk, p_drop, n_threads), pv = pd;
            /* dV = dropout(P)^T dctx_h [L x dh] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, dh, L, 1.0f, pv, T, dc, d, 0.0f, dv, ld);
            /* d dropout(P) = dctx_h V^T [L x L], then through the mask and the softmax */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, dh, 1.0f, dc, d, v, ld, 0.0f, ds, T);
            softmax_block_backward(ds, p, L, T, scale, drop, base, blk, p_drop, n_threads);
            /* dQ = dS K, dK = dS^T Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, dh, L, 1.0f, ds, T, k, ld, 0.0f, dq, ld);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, dh, L, 1.0f, ds, T, q, ld, 0.0f, dk, ld);
        }
    }
}
