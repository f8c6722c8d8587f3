/* The CRNN's reduced-precision inference path (A2M_PRECISION_BF16, opt-in).
 * Weights are rounded to bfloat16 once per runner; the activations that feed
 * a matrix product (both conv outputs, the LSTM's h) are rounded to bf16 as
 * they are written. The network's input is the exception: it is split into
 * hi + lo bf16 parts (x = hi + lo to ~16 bits) and conv1 runs on both with
 * the same weights. Rounding the input alone moved the reference takes'
 * logits by up to 0.03 (everything: 0.048); split, the total is 0.030, for
 * ~10% more time (conv1's K doubles). Products are summed in fp32 by
 * AVX512_BF16's vdpbf16ps (pairs of bf16 products into fp32 lanes); biases,
 * ReLU, the LSTM gate pre-activations, gate functions, cell state and the
 * output layer stay fp32.
 * - Convs: one GEMM each. The input of a sequence is kept as bf16 rows with a
 *   zero row before and after it, so the rows t-1, t, t+1 that output t
 *   needs are one contiguous stretch of 3 rows: im2col with no copy. Bias,
 *   ReLU, padding mask and the bf16 rounding are the GEMM's epilogue.
 * - LSTM input projection: the same GEMM kernel (bias in its epilogue) over
 *   chunks of steps, as in the fp32 path.
 * - Recurrence: W_hh in bf16 panels of 16 hidden units x [i f g o] (64
 *   columns, k in pairs), 128 KB a direction instead of 256 KB: the B=1 step
 *   is bound by streaming W_hh from L2, so half the bytes is most of the gain.
 * The kernels are compiled for AVX-512 with target attributes (the library is
 * built for the x86-64 baseline) and chosen at run time (infer_bf16_available). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/arch.h"
#include "nn/crnn.h"
#include "nn/infer.h"

typedef uint16_t bf16;

enum { C1 = 64, C2 = 128, UB = 16 /* hidden units per recurrence block */ };

/* round to nearest even, as vcvtne2ps2bf16 does (NaN stays NaN) */
static bf16 f2bf(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16)(u >> 16);
}

static void *amalloc(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

/* dense fp32 [K x N] (row stride N) -> panels of `width` columns:
 * [N/width][Kp/2][width][2], k pairs interleaved as vdpbf16ps reads them; rows >= K zero */
static bf16 *pack_panels(const float *src, int K, int N, int width) {
    int K2 = (K + 1) / 2;
    bf16 *p = amalloc((size_t)K2 * 2 * N * sizeof *p);
    if (!p) return NULL;
    for (int pn = 0; pn < N / width; pn++)
        for (int kk = 0; kk < K2; kk++)
            for (int c = 0; c < width; c++)
                for (int e = 0; e < 2; e++) {
                    int k = 2 * kk + e, n = pn * width + c;
                    p[(((size_t)pn * K2 + kk) * width + c) * 2 + e] = k < K ? f2bf(src[(size_t)k * N + n]) : 0;
                }
    return p;
}

/* gate column p (0..4H-1) of the bf16 layout -> row of PyTorch's [4H x .]:
 * blocks of 16 units, [i(16) f(16) g(16) o(16)] each */
static int gate_row(int p, int H) {
    int jb = p / (4 * UB), q = (p % (4 * UB)) / UB, jj = p % UB;
    return q * H + jb * UB + jj;
}

struct crnn_bf16 {
    int F, Fp, H, C, max_b, max_t, S;
    int xs, Xw;    /* input parts per frame (2: x = hi + lo, both bf16), row width xs * Fp */
    bf16 *w1, *w2; /* conv panels (32 columns): [3Xw x C1], [3C1 x C2] */
    float *b1, *b2;
    bf16 *wih[2];  /* per direction [C2 x 4H] panels (32 columns), gate columns as gate_row */
    float *bih[2]; /* b_ih + b_hh, same order */
    bf16 *whh[2];  /* per direction [H x 4H] panels of 64 columns = one block of 16 units each */
    float *fc_w, *fc_b;
    bf16 *xb, *h1b, *h2b; /* [(T+2) x Xw], [(T+2) x C1], [T x B x C2] */
    float *gates;         /* [2][S*B x 4H] */
    bf16 *hb;             /* [2 directions][2][B x H] */
    float *c, *hf;        /* [2][B x H], [B x H] */
    int *act;             /* [B] */
};

void crnn_bf16_del(crnn_bf16 *s) {
    if (!s) return;
    free(s->w1), free(s->w2), free(s->b1), free(s->b2);
    for (int d = 0; d < 2; d++) free(s->wih[d]), free(s->bih[d]), free(s->whh[d]);
    free(s->fc_w), free(s->fc_b), free(s->xb), free(s->h1b), free(s->h2b), free(s->gates), free(s->hb);
    free(s->c), free(s->hf), free(s->act);
    free(s);
}

/* ------------------------------------------------------------ kernels */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_BF16_KERNELS 1
#include <immintrin.h>
#include "nn/vexp512.h"
#define BF __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define AI inline __attribute__((always_inline))

/* detected once (pthread_once: runners made on several threads race on nothing) */
static int bf16_cpu;
static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;
static void bf16_detect(void) {
    __builtin_cpu_init();
    bf16_cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

int infer_bf16_available(void) {
    pthread_once(&bf16_once, bf16_detect);
    const char *e = getenv("A2M_FORCE_FP32");
    if (e && *e && strcmp(e, "0") != 0) return 0;
    return bf16_cpu;
}

static AI int32_t ld32(const bf16 *p) { /* a pair of bf16 as one lane */
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

BF static AI __m512bh ldbh(const bf16 *p) { return (__m512bh)_mm512_loadu_si512((const void *)p); }
BF static AI __m512bh bcast(const bf16 *p) { return (__m512bh)_mm512_set1_epi32(ld32(p)); }

/* src fp32 [n] -> dst bf16 [n], then zeros up to n_pad */
BF static void cvt_row(bf16 *dst, const float *src, int n, int n_pad) {
    int i = 0;
    for (; i + 32 <= n; i += 32)
        _mm512_storeu_si512((void *)(dst + i),
                            (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i)));
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i)));
    for (; i < n; i++) dst[i] = f2bf(src[i]);
    for (; i < n_pad; i++) dst[i] = 0;
}

/* src fp32 [n] -> hi + lo, both bf16 (x - hi rounded again: ~16 bits of mantissa), zeros up to n_pad */
BF static void cvt_row_split(bf16 *hi, bf16 *lo, const float *src, int n, int n_pad) {
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(src + i);
        __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
        __m512 back = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        _mm256_storeu_si256((__m256i *)(hi + i), h);
        _mm256_storeu_si256((__m256i *)(lo + i), (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(v, back)));
    }
    for (; i < n; i++) {
        hi[i] = f2bf(src[i]);
        uint32_t u = (uint32_t)hi[i] << 16;
        float back;
        memcpy(&back, &u, sizeof back);
        lo[i] = f2bf(src[i] - back);
    }
    for (; i < n_pad; i++) hi[i] = lo[i] = 0;
}

/* ---- GEMM: C[M x N] = A[M x 2 K2] (bf16, row stride lda) B (panels of 32 columns), N % 32 == 0 ---- */
typedef struct gemm_out {
    void *c;
    size_t ldc;        /* elements */
    int bf16_out;      /* 1: C is bf16, else fp32 */
    const float *bias; /* [N] or NULL */
    int relu;
    int valid; /* rows >= valid are written as zeros */
} gemm_out;

enum { MR = 8 };

BF static AI void gemm_tile(const int mr, int K2, const bf16 *A, size_t lda, const bf16 *P, int m0, int n0,
                            const gemm_out *o) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int kk = 0; kk < K2; kk++, P += 64) {
        __m512bh b0 = ldbh(P), b1 = ldbh(P + 32);
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            __m512bh a = bcast(A + r * lda + 2 * kk);
            c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
        }
    }
    __m512 bias0 = o->bias ? _mm512_loadu_ps(o->bias + n0) : _mm512_setzero_ps();
    __m512 bias1 = o->bias ? _mm512_loadu_ps(o->bias + n0 + 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        int row = m0 + r;
        __m512 v0 = _mm512_add_ps(c0[r], bias0), v1 = _mm512_add_ps(c1[r], bias1);
        if (o->relu) v0 = _mm512_max_ps(v0, _mm512_setzero_ps()), v1 = _mm512_max_ps(v1, _mm512_setzero_ps());
        if (row >= o->valid) v0 = v1 = _mm512_setzero_ps();
        if (o->bf16_out) {
            bf16 *d = (bf16 *)o->c + (size_t)row * o->ldc + n0;
            _mm512_storeu_si512((void *)d, (__m512i)_mm512_cvtne2ps_pbh(v1, v0));
        } else {
            float *d = (float *)o->c + (size_t)row * o->ldc + n0;
            _mm512_storeu_ps(d, v0);
            _mm512_storeu_ps(d + 16, v1);
        }
    }
}

/* rows in blocks of MR (A block stays in L1), each against every panel (from L2) */
BF static void gemm_bf16(int M, int N, int K2, const bf16 *A, size_t lda, const bf16 *Bp, const gemm_out *o) {
    for (int m0 = 0; m0 < M; m0 += MR) {
        const bf16 *a = A + (size_t)m0 * lda;
        for (int n0 = 0; n0 < N; n0 += 32) {
            const bf16 *p = Bp + (size_t)n0 * 2 * K2;
            switch (M - m0 < MR ? M - m0 : MR) {
            case 8: gemm_tile(8, K2, a, lda, p, m0, n0, o); break;
            case 7: gemm_tile(7, K2, a, lda, p, m0, n0, o); break;
            case 6: gemm_tile(6, K2, a, lda, p, m0, n0, o); break;
            case 5: gemm_tile(5, K2, a, lda, p, m0, n0, o); break;
            case 4: gemm_tile(4, K2, a, lda, p, m0, n0, o); break;
            case 3: gemm_tile(3, K2, a, lda, p, m0, n0, o); break;
            case 2: gemm_tile(2, K2, a, lda, p, m0, n0, o); break;
            default: gemm_tile(1, K2, a, lda, p, m0, n0, o); break;
            }
        }
    }
}

/* ---- gate functions, fp32 (the AVX2 versions of lstm_infer.c on 16 lanes) ---- */
BF static AI __m512 sigm16(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, nn_exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}
BF static AI __m512 tanh16(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 s =
        _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(one, nn_exp16(_mm512_mul_ps(x, _mm512_set1_ps(-2.0f)))));
    return _mm512_sub_ps(s, one);
}

/* ---- recurrence: one block of 16 units for NS sequences sharing each panel load ----
 * a = g + W h_prev (the panel: K2 = H/2 k pairs x 64 columns), k pairs split
 * over SPLIT accumulator sets (independent dependency chains), then the cell:
 * c = f c + i g, h = o tanh c; h goes out as fp32 (output layer) and bf16 (next step). */
BF static AI void rblk(const int NS, const int SPLIT, const bf16 *w, int K2, const float *const *g,
                       const bf16 *const *hp, float *const *c, float *const *hf, bf16 *const *hn) {
    __m512 a[4][4][2];
#pragma GCC unroll 4
    for (int n = 0; n < NS; n++)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
#pragma GCC unroll 2
            for (int s = 0; s < SPLIT; s++) a[n][q][s] = _mm512_setzero_ps();
    for (int kk = 0; kk < K2; kk += SPLIT) {
#pragma GCC unroll 2
        for (int s = 0; s < SPLIT; s++) {
            const bf16 *wk = w + (size_t)(kk + s) * 128;
            __m512bh w0 = ldbh(wk), w1 = ldbh(wk + 32), w2 = ldbh(wk + 64), w3 = ldbh(wk + 96);
#pragma GCC unroll 4
            for (int n = 0; n < NS; n++) {
                __m512bh h = bcast(hp[n] + 2 * (kk + s));
                a[n][0][s] = _mm512_dpbf16_ps(a[n][0][s], h, w0);
                a[n][1][s] = _mm512_dpbf16_ps(a[n][1][s], h, w1);
                a[n][2][s] = _mm512_dpbf16_ps(a[n][2][s], h, w2);
                a[n][3][s] = _mm512_dpbf16_ps(a[n][3][s], h, w3);
            }
        }
    }
#pragma GCC unroll 4
    for (int n = 0; n < NS; n++) {
        __m512 v[4];
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            v[q] = _mm512_add_ps(a[n][q][0], _mm512_loadu_ps(g[n] + 16 * q));
            if (SPLIT > 1) v[q] = _mm512_add_ps(v[q], a[n][q][1]);
        }
        __m512 i = sigm16(v[0]), f = sigm16(v[1]), gg = tanh16(v[2]), o = sigm16(v[3]);
        __m512 cn = _mm512_fmadd_ps(f, _mm512_loadu_ps(c[n]), _mm512_mul_ps(i, gg));
        _mm512_storeu_ps(c[n], cn);
        __m512 h = _mm512_mul_ps(o, tanh16(cn));
        _mm512_storeu_ps(hf[n], h);
        _mm256_storeu_si256((__m256i *)(void *)hn[n], (__m256i)_mm512_cvtneps_pbh(h));
    }
}

/* one step of one direction for the na sequences act[] (gate inputs g rows of ldg, bias included) */
BF static void step_bf16(const bf16 *W, const float *g, size_t ldg, const bf16 *hp, bf16 *hn, float *c, float *hf,
                         const int *act, int na, int H) {
    int K2 = H / 2;
    for (int jb = 0; jb < H / UB; jb++) {
        const bf16 *w = W + (size_t)jb * K2 * 128;
        size_t o = (size_t)jb * 4 * UB, u = (size_t)jb * UB;
        int i = 0;
        for (; i + 4 <= na; i += 4) {
            size_t b0 = (size_t)act[i], b1 = (size_t)act[i + 1], b2 = (size_t)act[i + 2], b3 = (size_t)act[i + 3];
            const float *gs[4] = {g + b0 * ldg + o, g + b1 * ldg + o, g + b2 * ldg + o, g + b3 * ldg + o};
            const bf16 *hs[4] = {hp + b0 * H, hp + b1 * H, hp + b2 * H, hp + b3 * H};
            float *cs[4] = {c + b0 * H + u, c + b1 * H + u, c + b2 * H + u, c + b3 * H + u};
            float *fs[4] = {hf + b0 * H + u, hf + b1 * H + u, hf + b2 * H + u, hf + b3 * H + u};
            bf16 *ns[4] = {hn + b0 * H + u, hn + b1 * H + u, hn + b2 * H + u, hn + b3 * H + u};
            rblk(4, 1, w, K2, gs, hs, cs, fs, ns);
        }
        for (; i + 2 <= na; i += 2) {
            size_t b0 = (size_t)act[i], b1 = (size_t)act[i + 1];
            const float *gs[2] = {g + b0 * ldg + o, g + b1 * ldg + o};
            const bf16 *hs[2] = {hp + b0 * H, hp + b1 * H};
            float *cs[2] = {c + b0 * H + u, c + b1 * H + u};
            float *fs[2] = {hf + b0 * H + u, hf + b1 * H + u};
            bf16 *ns[2] = {hn + b0 * H + u, hn + b1 * H + u};
            rblk(2, 2, w, K2, gs, hs, cs, fs, ns);
        }
        if (i < na) {
            size_t b0 = (size_t)act[i];
            const float *gs[1] = {g + b0 * ldg + o};
            const bf16 *hs[1] = {hp + b0 * H};
            float *cs[1] = {c + b0 * H + u};
            float *fs[1] = {hf + b0 * H + u};
            bf16 *ns[1] = {hn + b0 * H + u};
            rblk(1, 2, w, K2, gs, hs, cs, fs, ns);
        }
    }
}

/* z[cl] += fc_w[cl][0..H) . h, H % 16 == 0 */
BF static void fc_add16(float *z, const float *fc_w, size_t ldw, const float *h, int H, int C) {
    for (int cl = 0; cl < C; cl++) {
        const float *w = fc_w + (size_t)cl * ldw;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;
        int j = 0;
        for (; j + 32 <= H; j += 32) {
            s0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + j), _mm512_loadu_ps(h + j), s0);
            s1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + j + 16), _mm512_loadu_ps(h + j + 16), s1);
        }
        if (j < H) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + j), _mm512_loadu_ps(h + j), s0);
        z[cl] += _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    }
}

/* input projections are made for chunks of steps, about this many rows per GEMM */
enum { CHUNK_ROWS = 64 };
static int chunk_steps(int B) { return B >= CHUNK_ROWS ? 1 : CHUNK_ROWS / B; }

BF static void bilstm_bf16(crnn_bf16 *s, const int *lengths, int B, int T, float *logits) {
    int H = s->H, G4 = 4 * H, C = s->C, S = s->S;
    size_t BH = (size_t)B * H;
    memset(s->hb, 0, 4 * BH * sizeof *s->hb);
    memset(s->c, 0, 2 * BH * sizeof *s->c);
    for (size_t i = 0; i < (size_t)B * T; i++) memcpy(logits + i * C, s->fc_b, (size_t)C * sizeof *logits);
    float *gf = s->gates, *gr = s->gates + (size_t)S * B * G4;
    int cur[2] = {0, 0};
    for (int s0 = 0; s0 < T; s0 += S) {
        int n = T - s0 < S ? T - s0 : S, r0 = T - s0 - n; /* forward frames s0.., reverse frames r0.. */
        gemm_out of = {gf, (size_t)G4, 0, s->bih[0], 0, n * B}, orv = {gr, (size_t)G4, 0, s->bih[1], 0, n * B};
        gemm_bf16(n * B, G4, C2 / 2, s->h2b + (size_t)s0 * B * C2, C2, s->wih[0], &of);
        gemm_bf16(n * B, G4, C2 / 2, s->h2b + (size_t)r0 * B * C2, C2, s->wih[1], &orv);
        for (int st = s0; st < s0 + n; st++)
            for (int d = 0; d < 2; d++) {
                int t = d == 0 ? st : T - 1 - st;
                bf16 *hp = s->hb + (size_t)(2 * d + cur[d]) * BH, *hn = s->hb + (size_t)(2 * d + 1 - cur[d]) * BH;
                float *cd = s->c + (size_t)d * BH;
                const float *gt = d == 0 ? gf + (size_t)(t - s0) * B * G4 : gr + (size_t)(t - r0) * B * G4;
                int na = 0;
                for (int b = 0; b < B; b++) {
                    if (!lengths || t < lengths[b]) s->act[na++] = b;
                    else memcpy(hn + (size_t)b * H, hp + (size_t)b * H, (size_t)H * sizeof *hn);
                }
                step_bf16(s->whh[d], gt, (size_t)G4, hp, hn, cd, s->hf, s->act, na, H);
                for (int k = 0; k < na; k++) {
                    size_t b = (size_t)s->act[k];
                    fc_add16(logits + (b * T + t) * C, s->fc_w + (size_t)d * H, (size_t)2 * H, s->hf + b * H, H, C);
                }
                cur[d] = 1 - cur[d];
            }
    }
}

BF static void forward_bf16(crnn_bf16 *s, const float *x, const int *lengths, int B, int T, float *logits) {
    int F = s->F, Fp = s->Fp, Xw = s->Xw;
    for (int b = 0; b < B; b++) {
        int len = lengths ? lengths[b] : T;
        /* zero rows around the sequence: conv padding, and the im2col view stays in bounds */
        memset(s->xb, 0, (size_t)Xw * sizeof *s->xb);
        memset(s->xb + (size_t)(T + 1) * Xw, 0, (size_t)Xw * sizeof *s->xb);
        for (int t = 0; t < T; t++) {
            bf16 *row = s->xb + (size_t)(t + 1) * Xw;
            const float *xr = x + ((size_t)b * T + t) * F;
            if (s->xs == 2) cvt_row_split(row, row + Fp, xr, F, Fp);
            else cvt_row(row, xr, F, Fp);
        }
        memset(s->h1b, 0, C1 * sizeof *s->h1b);
        memset(s->h1b + (size_t)(T + 1) * C1, 0, C1 * sizeof *s->h1b);
        gemm_out o1 = {s->h1b + C1, C1, 1, s->b1, 1, len};
        gemm_bf16(T, C1, 3 * Xw / 2, s->xb, (size_t)Xw, s->w1, &o1);
        gemm_out o2 = {s->h2b + (size_t)b * C2, (size_t)B * C2, 1, s->b2, 1, len};
        gemm_bf16(T, C2, 3 * C1 / 2, s->h1b, C1, s->w2, &o2);
    }
    bilstm_bf16(s, lengths, B, T, logits);
}

void crnn_bf16_forward(crnn_bf16 *s, const float *x, const int *lengths, int B, int T, float *logits) {
    forward_bf16(s, x, lengths, B, T, logits);
}

#else
int infer_bf16_available(void) { return 0; }
void crnn_bf16_forward(crnn_bf16 *s, const float *x, const int *lengths, int B, int T, float *logits) {
    (void)s, (void)x, (void)lengths, (void)B, (void)T, (void)logits;
}
enum { CHUNK_ROWS = 64 };
static int chunk_steps(int B) { return B >= CHUNK_ROWS ? 1 : CHUNK_ROWS / B; }
#endif

/* -------------------------------------------------------------- packing */

crnn_bf16 *crnn_bf16_new(const a2m_model *m, const float *params, int max_batch, int max_frames) {
    int F = m->info.n_bins, H = m->info.hidden, C = m->info.n_classes, G4 = 4 * H;
    if (!infer_bf16_available() || H % UB || max_batch <= 0 || max_frames <= 0) return NULL;
    crnn_bf16 *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    int Fp = F + (F & 1), xs = 2, Xw = xs * Fp;
    s->F = F, s->Fp = Fp, s->xs = xs, s->Xw = Xw, s->H = H, s->C = C, s->max_b = max_batch, s->max_t = max_frames;
    s->S = chunk_steps(max_batch);
    size_t tmp_n = (size_t)3 * Xw * C1;
    if (tmp_n < (size_t)3 * C1 * C2) tmp_n = (size_t)3 * C1 * C2;
    if (tmp_n < (size_t)(C2 > H ? C2 : H) * G4) tmp_n = (size_t)(C2 > H ? C2 : H) * G4;
    float *tmp = calloc(tmp_n, sizeof *tmp);
    int ok = tmp != NULL;
    crnn_tensors wt = crnn_bind(m, params);
    /* convs: dense [3 Cin' x Cout] with k = tap * Cin' + ci (tap 0 = frame t-1), Cin' = Cin rounded up to even */
    if (ok) {
        const float *w = wt.conv0_w; /* [C1 x F x 3] */
        for (int k = 0; k < 3; k++)
            for (int ci = 0; ci < F; ci++)
                for (int co = 0; co < C1; co++)
                    for (int part = 0; part < xs; part++)
                        tmp[((size_t)k * Xw + part * Fp + ci) * C1 + co] = w[((size_t)co * F + ci) * 3 + k];
        ok = (s->w1 = pack_panels(tmp, 3 * Xw, C1, 32)) != NULL;
    }
    if (ok) {
        const float *w = wt.conv2_w; /* [C2 x C1 x 3] */
        for (int k = 0; k < 3; k++)
            for (int ci = 0; ci < C1; ci++)
                for (int co = 0; co < C2; co++)
                    tmp[((size_t)k * C1 + ci) * C2 + co] = w[((size_t)co * C1 + ci) * 3 + k];
        ok = (s->w2 = pack_panels(tmp, 3 * C1, C2, 32)) != NULL;
    }
    for (int d = 0; d < 2 && ok; d++) {
        const float *wih = wt.lstm.w_ih[d], *whh = wt.lstm.w_hh[d], *bi = wt.lstm.b_ih[d], *bh = wt.lstm.b_hh[d];
        for (int k = 0; k < C2; k++)
            for (int p = 0; p < G4; p++) tmp[(size_t)k * G4 + p] = wih[(size_t)gate_row(p, H) * C2 + k];
        ok = (s->wih[d] = pack_panels(tmp, C2, G4, 32)) != NULL;
        for (int k = 0; ok && k < H; k++)
            for (int p = 0; p < G4; p++) tmp[(size_t)k * G4 + p] = whh[(size_t)gate_row(p, H) * H + k];
        ok = ok && (s->whh[d] = pack_panels(tmp, H, G4, 4 * UB)) != NULL;
        ok = ok && (s->bih[d] = amalloc((size_t)G4 * sizeof(float))) != NULL;
        for (int p = 0; ok && p < G4; p++) s->bih[d][p] = bi[gate_row(p, H)] + bh[gate_row(p, H)];
    }
    free(tmp);
    size_t BT = (size_t)max_batch * max_frames, BH = (size_t)max_batch * H;
    if (ok) {
        s->b1 = amalloc(C1 * sizeof(float)), s->b2 = amalloc(C2 * sizeof(float));
        s->fc_w = amalloc((size_t)C * 2 * H * sizeof(float)), s->fc_b = amalloc((size_t)C * sizeof(float));
        s->xb = amalloc(((size_t)max_frames + 2) * Xw * sizeof(bf16));
        s->h1b = amalloc(((size_t)max_frames + 2) * C1 * sizeof(bf16));
        s->h2b = amalloc(BT * C2 * sizeof(bf16));
        s->gates = amalloc((size_t)2 * s->S * max_batch * G4 * sizeof(float));
        s->hb = amalloc(4 * BH * sizeof(bf16));
        s->c = amalloc(2 * BH * sizeof(float)), s->hf = amalloc(BH * sizeof(float));
        s->act = malloc((size_t)max_batch * sizeof(int));
        ok = s->b1 && s->b2 && s->fc_w && s->fc_b && s->xb && s->h1b && s->h2b && s->gates && s->hb && s->c && s->hf &&
             s->act;
    }
    if (!ok) {
        crnn_bf16_del(s);
        return NULL;
    }
    memcpy(s->b1, wt.conv0_b, C1 * sizeof(float));
    memcpy(s->b2, wt.conv2_b, C2 * sizeof(float));
    memcpy(s->fc_w, wt.fc_w, (size_t)C * 2 * H * sizeof(float));
    memcpy(s->fc_b, wt.fc_b, (size_t)C * sizeof(float));
    return s;
}
