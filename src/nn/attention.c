/* Transformer layers: LayerNorm, GELU, sinusoidal positional encoding and
 * multi-head self-attention with key padding and attention dropout. */
#include "nn/attention.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/isa.h"
#include "nn/attn_avx512.h"
#include "nn/attn_rows_bf16.h"
#include "nn/layers.h"
#include "nn/mm_bf16.h"

/* The rows' loops (and the layer norms', the fused dropouts') also get an AVX-512 clone (x86-64-v4, 512-bit
 * vectors; GCC only): the forward's softmax + dropout row went from 14% to 10% of attn_forward + attn_backward's
 * time (perf, one thread). */

/* ------------------------------------------------------------ LayerNorm */

/* Sums in double as before, now in vectors (omp simd reductions: lanes summed at the end): the layer norms were
 * 3.7% of a bf16 training epoch as scalar loops. */
/* Dispatched bodies are static (core/isa.h: clang names an external function's ifunc NAME.ifunc, so the fuzz build,
 * clang's, did not link); the entry points below call them. */
A2M_DISPATCH_V4 static void layernorm_forward_rows(float *out, float *save, const float *in, const float *w,
                                                   const float *b, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C;
        double s = 0, v = 0;
#pragma omp simd reduction(+ : s)
        for (int c = 0; c < C; c++) s += x[c];
        double mean = s / C;
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) v += (x[c] - mean) * (x[c] - mean);
        float m = (float)mean, rstd = (float)(1.0 / sqrt(v / C + eps));
        float *o = out + (size_t)n * C;
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * rstd * w[c] + b[c];
        save[n] = m, save[N + n] = rstd;
    }
}

A2M_DISPATCH_V4 static void layernorm_backward_rows(float *din, float *dw, float *db, const float *dout,
                                                    const float *in, const float *w, const float *save, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C, *g = dout + (size_t)n * C;
        float m = save[n], rstd = save[N + n];
        double sg = 0, sgx = 0; /* mean of dout*w and of dout*w*xhat */
#pragma omp simd reduction(+ : sg, sgx)
        for (int c = 0; c < C; c++) {
            float xh = (x[c] - m) * rstd, gw = g[c] * w[c];
            sg += gw, sgx += gw * xh;
        }
        if (dw)
#pragma omp simd
            for (int c = 0; c < C; c++) dw[c] += g[c] * ((x[c] - m) * rstd);
        if (db)
#pragma omp simd
            for (int c = 0; c < C; c++) db[c] += g[c];
        if (!din) continue;
        float a = (float)(sg / C), bx = (float)(sgx / C);
        float *d = din + (size_t)n * C;
#pragma omp simd
        for (int c = 0; c < C; c++) d[c] += rstd * (g[c] * w[c] - a - (x[c] - m) * rstd * bx);
    }
}

void layernorm_forward(float *out, float *save, const float *in, const float *w, const float *b, int N, int C,
                       float eps) {
    layernorm_forward_rows(out, save, in, w, b, N, C, eps);
}

void layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                        const float *save, int N, int C) {
    layernorm_backward_rows(din, dw, db, dout, in, w, save, N, C);
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

void posenc_add(float *x, const float *pe, int max_len, const int *seg, int B, int T, int d) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *r = x + ((size_t)b * T + t) * d;
            int u = seg ? t - seg[(size_t)b * T + t] : t;
            if (u < max_len)
                for (int c = 0; c < d; c++) r[c] += pe[(size_t)u * d + c];
            else
                for (int c = 0; c < d; c++) r[c] += posenc_value(u, c, d);
        }
}

/* ------------------------------------------------------------ attention */

static inline uint64_t mix64(uint64_t z) { /* splitmix64 finaliser, as dropout_forward's */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Rows are processed in blocks of RB queries: a block's scores [RB x L] stay in L2 between the GEMM
 * that makes them, the softmax, the dropout and the GEMM that uses them (a whole head's [T x T] at
 * T = 666 is 1.8 MB and went to memory between each). */
enum { RB = 64 };

/* fp32: P [H x T x T]; bf16: the kept bf16 P [H x T x T2] and the mask words [H x T x W] (attn_bf_kept), which fit
 * in the same floats but at T = 1 */
size_t attn_p_floats(int B, int T, int H) { return (size_t)B * H * T * (T > 1 ? T : 2); }
/* two blocks of rows, then one head's K^T (forward) or V^T (backward) for the AVX-512 kernels */
size_t attn_scratch_floats(int T) { return (size_t)2 * RB * T + (size_t)ATTN512_DH * attn512_pad(T); }

static int seq_len(const int *lengths, int b, int T) {
    if (!lengths) return T;
    return lengths[b] < 0 ? 0 : lengths[b] > T ? T : lengths[b];
}

/* The dropout hash of a row: 32 bits from (seed's base, row). */
static uint32_t row_seed(uint64_t base, uint64_t row) {
    return (uint32_t)(mix64(base + row * 0xD1B54A32D192ED03ull) >> 32);
}

/* y[j] = a[j] * (inverted-dropout multiplier of element j of the row with hash rs), j in [0, L): a 32-bit
 * murmur3 finaliser of (rs ^ j) per element, u = its top 24 bits, dropped when u < p 2^24; 32-bit
 * arithmetic vectorises (a 64-bit hash per element was 23% of a training epoch). y may be a. */
A2M_DISPATCH_V4 static void dropped_row(float *y, const float *a, uint32_t rs, int L, uint32_t thr, float keep) {
#pragma omp simd
    for (int j = 0; j < L; j++) {
        uint32_t h = (rs ^ (uint32_t)j) * 0x9E3779B1u;
        h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
        float k = (int32_t)(h >> 8) < (int32_t)thr ? 0.0f : keep; /* 24-bit values: a signed compare vectorises */
        y[j] = a[j] * k;
    }
}

/* r[0..L) <- softmax(r) */
A2M_DISPATCH_V4 static void softmax_row(float *r, int L) {
    float mx = r[0], s = 0;
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < L; j++) mx = r[j] > mx ? r[j] : mx;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < L; j++) r[j] = nn_expf(r[j] - mx), s += r[j];
    float inv = 1.0f / s; /* s >= 1: the maximum contributes exp(0) */
#pragma omp simd
    for (int j = 0; j < L; j++) r[j] *= inv;
}

/* softmax_row, and pd[0..L) <- dropped_row(r) in its last pass (one pass less over the row) */
A2M_DISPATCH_V4 static void softmax_drop_row(float *r, float *pd, int L, uint32_t rs, uint32_t thr, float keep) {
    float mx = r[0], s = 0;
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < L; j++) mx = r[j] > mx ? r[j] : mx;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < L; j++) r[j] = nn_expf(r[j] - mx), s += r[j];
    float inv = 1.0f / s;
#pragma omp simd
    for (int j = 0; j < L; j++) {
        uint32_t h = (rs ^ (uint32_t)j) * 0x9E3779B1u;
        h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
        float k = (int32_t)(h >> 8) < (int32_t)thr ? 0.0f : keep;
        r[j] *= inv;
        pd[j] = r[j] * k;
    }
}

/* g <- scale * r * (g - s), s = sum(r * g) (computed here when have_s is 0) */
A2M_DISPATCH_V4 static void softmax_grad_row(float *g, const float *r, int L, float scale, int have_s, float s) {
    if (!have_s) {
        s = 0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < L; j++) s += r[j] * g[j];
    }
#pragma omp simd
    for (int j = 0; j < L; j++) g[j] = scale * r[j] * (g[j] - s);
}

/* dropped_row of p into pd and of g in place with one hash per element (the same mask), returning
 * sum(p * g) of the masked g for the softmax's gradient: one pass where there were three. */
A2M_DISPATCH_V4 static float dropped_pair(float *pd, const float *p, float *g, uint32_t rs, int L, uint32_t thr,
                                          float keep) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < L; j++) {
        uint32_t h = (rs ^ (uint32_t)j) * 0x9E3779B1u;
        h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
        float k = (int32_t)(h >> 8) < (int32_t)thr ? 0.0f : keep;
        float gj = g[j] * k;
        pd[j] = p[j] * k, g[j] = gj, s += p[j] * gj;
    }
    return s;
}

typedef struct drop_cfg {
    int on;
    uint64_t base;
    uint32_t thr;
    float keep;
} drop_cfg;

static drop_cfg drop_make(float p_drop, uint64_t seed, int training) {
    drop_cfg c = {training && p_drop > 0.0f, mix64(seed + 0x9E3779B97F4A7C15ull), 0, 1.0f};
    if (c.on) c.thr = (uint32_t)((double)p_drop * 16777216.0 + 0.5), c.keep = 1.0f / (1.0f - p_drop);
    return c;
}

/* The keys [*k0, *k1) query q of a sequence of L valid frames attends to: its segment's, or all. */
static void key_range(const int *sg, int q, int L, int *k0, int *k1) {
    if (!sg) {
        *k0 = 0, *k1 = L;
        return;
    }
    int s = sg[q], e = q + 1;
    while (e < L && sg[e] == s) e++;
    *k0 = s < 0 ? 0 : s > q ? q : s, *k1 = e;
}

/* Forward of query rows [i0, i0 + n) of head block blk: p rows softmaxed in place over their keys (0
 * elsewhere), pd (stride T) their dropped copy when dropout is on. sg: the sequence's [T] segment starts. */
static void rows_forward(float *p, float *pd, int n, int L, int T, size_t blk, int i0, const int *sg, drop_cfg dc,
                         int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < n; i++) {
        float *r = p + (size_t)i * T;
        int k0, k1;
        key_range(sg, i0 + i, L, &k0, &k1);
        if (dc.on && k0 == 0 && k1 == L) {
            softmax_drop_row(r, pd + (size_t)i * T, L, row_seed(dc.base, (uint64_t)blk * T + (uint64_t)(i0 + i)),
                             dc.thr, dc.keep);
            continue;
        }
        softmax_row(r + k0, k1 - k0);
        if (k0 > 0) memset(r, 0, (size_t)k0 * sizeof *r);
        if (k1 < L) memset(r + k1, 0, (size_t)(L - k1) * sizeof *r);
        if (dc.on)
            dropped_row(pd + (size_t)i * T, p + (size_t)i * T,
                        row_seed(dc.base, (uint64_t)blk * T + (uint64_t)(i0 + i)), L, dc.thr, dc.keep);
    }
}

/* The forward's two products for query rows [i0, i0 + n) of one head: S = Q K^T / sqrt(dh) into p, and
 * ctx_h = (dropped) P V, by the AVX-512 kernels (kt: K^T, fast) or OpenBLAS. */
static void block_scores(float *p, const float *q, const float *k, const float *kt, int n, int L, int T, int dh, int ld,
                         float scale, int fast) {
    if (fast) attn512_scores(p, T, q, ld, kt, n, L, scale);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L, dh, scale, q, ld, k, ld, 0.0f, p, T);
}

static void block_context(float *c, int ldc, const float *pd, const float *v, int n, int L, int T, int dh, int ld,
                          int fast) {
    if (fast) attn512_accum(c, ldc, pd, T, 1, v, ld, n, L, 0);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, L, 1.0f, pd, T, v, ld, 0.0f, c, ldc);
}

void attn_forward(float *ctx, float *P, const float *qkv, const int *lengths, const int *seg, float *scratch, int B,
                  int T, int d, int H, float p_drop, uint64_t seed, int training, int n_threads) {
    int dh = d / H, ld = 3 * d, fast = dh == ATTN512_DH && attn512_available();
    float scale = 1.0f / sqrtf((float)dh), *kt = scratch + (size_t)2 * RB * T;
    drop_cfg dc = drop_make(p_drop, seed, training);
    for (int b = 0; b < B; b++) {
        int L = seq_len(lengths, b, T);
        float *cb = ctx + (size_t)b * T * d;
        if (L < T) memset(cb + (size_t)L * d, 0, (size_t)(T - L) * d * sizeof *cb);
        for (int h = 0; h < H; h++) {
            size_t blk = (size_t)b * H + h;
            const float *q = qkv + (size_t)b * T * ld + h * dh, *k = q + d, *v = q + 2 * d;
            if (fast) attn512_transpose(kt, k, ld, L);
            for (int i0 = 0; i0 < L; i0 += RB) {
                int n = L - i0 < RB ? L - i0 : RB;
                float *p = P + blk * T * T + (size_t)i0 * T;
                block_scores(p, q + (size_t)i0 * ld, k, kt, n, L, T, dh, ld, scale, fast);
                rows_forward(p, scratch, n, L, T, blk, i0, seg ? seg + (size_t)b * T : NULL, dc, n_threads);
                block_context(cb + (size_t)i0 * d + h * dh, d, dc.on ? scratch : p, v, n, L, T, dh, ld, fast);
            }
        }
    }
}

/* Backward of query rows [i0, i0 + n): pd = dropout(P) rows (when on), ds (given d dropout(P)) <- dS. */
static void rows_backward(float *ds, float *pd, const float *p, int n, int L, int T, size_t blk, int i0, float scale,
                          drop_cfg dc, int n_threads) {
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int i = 0; i < n; i++) {
        float *g = ds + (size_t)i * T, s = 0;
        if (dc.on) {
            uint32_t rs = row_seed(dc.base, (uint64_t)blk * T + (uint64_t)(i0 + i));
            s = dropped_pair(pd + (size_t)i * T, p + (size_t)i * T, g, rs, L, dc.thr, dc.keep);
        }
        softmax_grad_row(g, p + (size_t)i * T, L, scale, dc.on, s);
    }
}

/* The backward's four products for query rows [i0, i0 + n) of one head (q, k, v, dq, dk, dv at the head's
 * columns of row 0; vt: V^T for the fast path): ds = dctx_h V^T first (step 0), then (step 1, after the
 * softmax's gradient) dV += Pd^T dctx_h, dQ = dS K, dK += dS^T Q. */
static void block_grads(int step, float *ds, const float *pd, const float *dc_h, const float *q, const float *k,
                        const float *v, const float *vt, float *dq, float *dk, float *dv, int i0, int n, int L, int T,
                        int d, int dh, int ld, int fast) {
    const float *qi = q + (size_t)i0 * ld;
    float *dqi = dq + (size_t)i0 * ld;
    if (step == 0 && fast) attn512_scores(ds, T, dc_h, d, vt, n, L, 1.0f);
    else if (step == 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, L, dh, 1.0f, dc_h, d, v, ld, 0.0f, ds, T);
    else if (fast) {
        attn512_accum(dv, ld, pd, 1, T, dc_h, d, L, n, 1);
        attn512_accum(dqi, ld, ds, T, 1, k, ld, n, L, 0);
        attn512_accum(dk, ld, ds, 1, T, qi, ld, L, n, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, dh, n, 1.0f, pd, T, dc_h, d, 1.0f, dv, ld);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, L, 1.0f, ds, T, k, ld, 0.0f, dqi, ld);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, dh, n, 1.0f, ds, T, qi, ld, 1.0f, dk, ld);
    }
}

void attn_backward(float *dqkv, const float *dctx, const float *qkv, const float *P, const int *lengths, float *scratch,
                   int B, int T, int d, int H, float p_drop, uint64_t seed, int training, int n_threads) {
    int dh = d / H, ld = 3 * d, fast = dh == ATTN512_DH && attn512_available();
    float scale = 1.0f / sqrtf((float)dh);
    drop_cfg dc = drop_make(p_drop, seed, training);
    float *pd = scratch, *ds = scratch + (size_t)RB * T, *vt = scratch + (size_t)2 * RB * T;
    memset(dqkv, 0, (size_t)B * T * ld * sizeof *dqkv);
    for (int b = 0; b < B; b++) {
        int L = seq_len(lengths, b, T);
        for (int h = 0; h < H; h++) {
            size_t blk = (size_t)b * H + h, row0 = (size_t)b * T * ld + (size_t)h * dh;
            const float *q = qkv + row0, *k = q + d, *v = q + 2 * d;
            float *dq = dqkv + row0, *dk = dq + d, *dv = dq + 2 * d;
            if (fast) attn512_transpose(vt, v, ld, L);
            for (int i0 = 0; i0 < L; i0 += RB) {
                int n = L - i0 < RB ? L - i0 : RB;
                const float *p = P + blk * T * T + (size_t)i0 * T;
                const float *dc_h = dctx + ((size_t)b * T + i0) * d + h * dh;
                /* d dropout(P) = dctx_h V^T [n x L], then through the mask and the softmax */
                block_grads(0, ds, NULL, dc_h, q, k, v, vt, dq, dk, dv, i0, n, L, T, d, dh, ld, fast);
                rows_backward(ds, pd, p, n, L, T, blk, i0, scale, dc, n_threads);
                block_grads(1, ds, dc.on ? pd : p, dc_h, q, k, v, vt, dq, dk, dv, i0, n, L, T, d, dh, ld, fast);
            }
        }
    }
}

/* ------------------------------------------------- mixed precision */

/* n elements from *at, in steps of 32 (64 bytes) */
static mmbf16 *carve(mmbf16 **at, size_t n) {
    mmbf16 *p = *at;
    *at += (n + 31) & ~(size_t)31;
    return p;
}

/* The operands of one head: forward Q rows, K^T and V panels, one block's dropped P rows; backward V^T and K
 * panels, then per block dctx_h rows and panels, (dropped) P^T panels, dS rows and dS^T panels, Q panels. */
typedef struct attn_bfbuf {
    mmbf16 *qr, *kp, *vp, *pr;                       /* forward */
    mmbf16 *vp2, *kp2, *dr, *dp, *pp, *sr, *sp, *qp; /* backward */
} attn_bfbuf;

static size_t attn_bf_split(mmbf16 *base, int T, int dh, attn_bfbuf *o) {
    mmbf16 *at = base;
    size_t T2 = (size_t)(T + 1) & ~(size_t)1;
    o->qr = carve(&at, (size_t)T * dh), o->kp = carve(&at, mmbf_panel_elems(dh, T));
    o->vp = carve(&at, mmbf_panel_elems(T, dh)), o->pr = carve(&at, RB * T2);
    size_t fwd = (size_t)(at - base);
    at = base;
    o->vp2 = carve(&at, mmbf_panel_elems(dh, T)), o->kp2 = carve(&at, mmbf_panel_elems(T, dh));
    o->dr = carve(&at, (size_t)RB * dh), o->dp = carve(&at, mmbf_panel_elems(RB, dh));
    o->pp = carve(&at, mmbf_panel_elems(RB, T)), o->sr = carve(&at, RB * T2);
    o->sp = carve(&at, mmbf_panel_elems(RB, T)), o->qp = carve(&at, mmbf_panel_elems(RB, dh));
    size_t bwd = (size_t)(at - base);
    return fwd > bwd ? fwd : bwd;
}

size_t attn_bf16_scratch(int T, int dh) {
    attn_bfbuf o;
    return attn_bf_split(NULL, T, dh, &o);
}

/* where a sequence's kept bf16 P rows of head h ([T x T2]) and their dropout mask words ([T x W]) are in its P */
static mmbf16 *kept_p(const float *P, int T, int h) { return (mmbf16 *)P + (size_t)h * T * ((T + 1) & ~1); }
static uint32_t *kept_mask(const float *P, int T, int H, int h) {
    return (uint32_t *)kept_p(P, T, H) + (size_t)h * T * attnbf_mask_words(T);
}

/* The rows of a block are attn_rows_bf16.c's: the softmax's bf16 P kept (training) with its dropout bits, and the
 * context's operand, P with the dropped elements zeroed, times 1 / (1 - p) as the product's alpha. */
void attn_forward_bf16(float *ctx, float *P, const float *qkv, int L, const int *seg, float *scratch, uint16_t *bscr,
                       int T, int d, int H, float p_drop, uint64_t seed, int training) {
    int dh = d / H, ld = 3 * d, T2 = (T + 1) & ~1, W = attnbf_mask_words(T);
    float scale = 1.0f / sqrtf((float)dh);
    drop_cfg dc = drop_make(p_drop, seed, training);
    attn_bfbuf o;
    attn_bf_split(bscr, T, dh, &o);
    if (L < T) memset(ctx + (size_t)L * d, 0, (size_t)(T - L) * d * sizeof *ctx);
    for (int h = 0; h < H; h++) {
        const float *q = qkv + h * dh, *k = q + d, *v = q + 2 * d;
        mmbf16 *pk = training ? kept_p(P, T, h) : NULL;
        uint32_t *mk = dc.on ? kept_mask(P, T, H, h) : NULL;
        mmbf_rows(o.qr, (size_t)dh, q, (size_t)ld, L, dh);
        mmbf_pack_nk(o.kp, k, (size_t)ld, L, dh);
        mmbf_pack_kn(o.vp, v, (size_t)ld, L, dh);
        for (int i0 = 0; i0 < L; i0 += RB) {
            int n = L - i0 < RB ? L - i0 : RB;
            mmbf_gemm(scratch, (size_t)T, (mmbf_a){o.qr + (size_t)i0 * dh, (size_t)dh, 0}, o.kp, n, L, dh, scale, 0,
                      NULL);
            for (int i = 0; i < n; i++) {
                int k0, k1, r = i0 + i;
                key_range(seg, r, L, &k0, &k1);
                attnbf_row_forward(scratch + (size_t)i * T, L, k0, k1, dc.on,
                                   dc.on ? row_seed(dc.base, (uint64_t)h * T + (uint64_t)r) : 0, dc.thr,
                                   o.pr + (size_t)i * T2, pk ? pk + (size_t)r * T2 : NULL,
                                   mk ? mk + (size_t)r * W : NULL);
            }
            mmbf_gemm(ctx + (size_t)i0 * d + h * dh, (size_t)d, (mmbf_a){o.pr, (size_t)T2, 0}, o.vp, n, dh, L, dc.keep,
                      0, NULL);
        }
    }
}

/* block rows [i0, i0 + n) of head h: dV += Pd^T dctx_h (Pd: the kept P rows pk with their masks mk, the dropout's
 * 1 / (1 - p) as alpha), dQ = dS K, dK += dS^T Q (dS: the block's bf16 rows in o->sr); the first block (i0 0)
 * writes dV and dK (every row below L) instead of adding to them */
static void block_grads_bf16(const attn_bfbuf *o, const mmbf16 *pk, const uint32_t *mk, float keep, const float *dc_h,
                             const float *q, float *dq, float *dk, float *dv, int i0, int n, int L, int T, int d,
                             int dh, int ld) {
    int T2 = (T + 1) & ~1;
    attnbf_pack_kept(o->pp, pk, (size_t)T2, mk, (size_t)attnbf_mask_words(T), n, L);
    mmbf_pack_kn(o->dp, dc_h, (size_t)d, n, dh);
    mmbf_gemm(dv, (size_t)ld, (mmbf_a){o->pp, 0, 1}, o->dp, L, dh, n, keep, i0 > 0, NULL);
    mmbf_gemm(dq + (size_t)i0 * ld, (size_t)ld, (mmbf_a){o->sr, (size_t)T2, 0}, o->kp2, n, dh, L, 1.0f, 0, NULL);
    attnbf_pack_kept(o->sp, o->sr, (size_t)T2, NULL, 0, n, L);
    mmbf_pack_kn(o->qp, q + (size_t)i0 * ld, (size_t)ld, n, dh);
    mmbf_gemm(dk, (size_t)ld, (mmbf_a){o->sp, 0, 1}, o->qp, L, dh, n, 1.0f, i0 > 0, NULL);
}

void attn_backward_bf16(float *dqkv, const float *dctx, const float *qkv, const float *P, int L, float *scratch,
                        uint16_t *bscr, int T, int d, int H, float p_drop, uint64_t seed) {
    int dh = d / H, ld = 3 * d, T2 = (T + 1) & ~1, W = attnbf_mask_words(T);
    float scale = 1.0f / sqrtf((float)dh), *ds = scratch;
    drop_cfg dc = drop_make(p_drop, seed, 1);
    attn_bfbuf o;
    attn_bf_split(bscr, T, dh, &o);
    if (L < T) memset(dqkv + (size_t)L * ld, 0, (size_t)(T - L) * ld * sizeof *dqkv); /* the rest: every block's */
    for (int h = 0; h < H; h++) {
        const float *q = qkv + h * dh, *k = q + d, *v = q + 2 * d;
        float *dq = dqkv + h * dh, *dk = dq + d, *dv = dq + 2 * d;
        const mmbf16 *pk = kept_p(P, T, h);
        const uint32_t *mk = dc.on ? kept_mask(P, T, H, h) : NULL;
        mmbf_pack_nk(o.vp2, v, (size_t)ld, L, dh);
        mmbf_pack_kn(o.kp2, k, (size_t)ld, L, dh);
        for (int i0 = 0; i0 < L; i0 += RB) {
            int n = L - i0 < RB ? L - i0 : RB;
            const float *dc_h = dctx + (size_t)i0 * d + h * dh;
            const mmbf16 *pb = pk + (size_t)i0 * T2;
            const uint32_t *mb = mk ? mk + (size_t)i0 * W : NULL;
            mmbf_rows(o.dr, (size_t)dh, dc_h, (size_t)d, n, dh);
            mmbf_gemm(ds, (size_t)T, (mmbf_a){o.dr, (size_t)dh, 0}, o.vp2, n, L, dh, 1.0f, 0, NULL);
            for (int i = 0; i < n; i++)
                attnbf_row_backward(ds + (size_t)i * T, pb + (size_t)i * T2, mb ? mb + (size_t)i * W : NULL, L, scale,
                                    dc.keep, o.sr + (size_t)i * T2, i + 1 < n ? pb + (size_t)(i + 1) * T2 : NULL);
            block_grads_bf16(&o, pb, mb, dc.keep, dc_h, q, dq, dk, dv, i0, n, L, T, d, dh, ld);
        }
    }
}

/* ------------------------------------------- the encoder's fused steps */

/* One 32-bit murmur3 finaliser of (rs ^ i) per element (as dropped_row): 32-bit arithmetic vectorises, where
 * dropout_forward's 64-bit hash per element was 5% of a training epoch and its mask pass plus the separate
 * ReLU, residual add and their backward passes another 12%. The backward hashes again instead of reading a
 * stored fp32 mask: 57 MB less to write and read back a batch of 8 (the Transformer's four dropouts), and
 * ~14 k fewer page faults. */
static inline float tdrop_k(uint32_t rs, uint32_t i, uint32_t thr, float keep) {
    uint32_t h = (rs ^ i) * 0x9E3779B1u;
    h ^= h >> 16, h *= 0x85EBCA6Bu, h ^= h >> 13, h *= 0xC2B2AE35u, h ^= h >> 16;
    return (int32_t)(h >> 8) < (int32_t)thr ? 0.0f : keep;
}

A2M_DISPATCH_V4 static void tdrop_kernel(float *out, float *in, const float *res, size_t n, uint32_t rs, uint32_t thr,
                                         float keep, int relu) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float k = tdrop_k(rs, (uint32_t)i, thr, keep);
        float x = relu && in[i] < 0.0f ? 0.0f : in[i];
        in[i] = x;
        out[i] = res ? x * k + res[i] : x * k;
    }
}

A2M_DISPATCH_V4 static void tdrop_off(float *out, float *in, const float *res, size_t n, int relu) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float x = relu && in[i] < 0.0f ? 0.0f : in[i];
        in[i] = x;
        out[i] = res ? x + res[i] : x;
    }
}

void tdrop_forward(float *out, float *in, const float *res, size_t n, float p, uint64_t seed, int training, int relu) {
    drop_cfg c = drop_make(p, seed, training);
    if (c.on) tdrop_kernel(out, in, res, n, (uint32_t)(c.base >> 32), c.thr, c.keep, relu);
    else tdrop_off(out, in, res, n, relu);
}

A2M_DISPATCH_V4 static void tdrop_bwd_kernel(float *din, const float *dout, const float *gate, size_t n, uint32_t rs,
                                             uint32_t thr, float keep) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float g = dout[i] * tdrop_k(rs, (uint32_t)i, thr, keep);
        din[i] = gate && !(gate[i] > 0.0f) ? 0.0f : g;
    }
}

A2M_DISPATCH_V4 static void tdrop_bwd_off(float *din, const float *dout, const float *gate, size_t n) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) din[i] = gate && !(gate[i] > 0.0f) ? 0.0f : dout[i];
}

void tdrop_backward(float *din, const float *dout, const float *gate, size_t n, float p, uint64_t seed) {
    drop_cfg c = drop_make(p, seed, 1);
    if (c.on) tdrop_bwd_kernel(din, dout, gate, n, (uint32_t)(c.base >> 32), c.thr, c.keep);
    else tdrop_bwd_off(din, dout, gate, n);
}

A2M_DISPATCH_V4 static void colsum_kernel(float *db, const float *d, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *r = d + (size_t)n * C;
#pragma omp simd
        for (int c = 0; c < C; c++) db[c] += r[c];
    }
}

void colsum_add(float *db, const float *d, int N, int C) { colsum_kernel(db, d, N, C); }
