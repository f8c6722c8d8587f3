/* AVX-512 products of the attention of 32-wide heads (see attn_avx512.h). Register tiles:
 * - scores: 6 query rows x 64 keys (24 accumulators), K^T's panel of 64 keys (8 KB) in L1 while the rows of
 *   a block pass over it; each step loads 4 key vectors and broadcasts 6 query values for 24 FMAs.
 * - accum: 8 output rows x 32 (16 accumulators): each step loads one row of b (2 vectors) and broadcasts
 *   8 values of a (any strides: P V, dS K, and the transposed P^T dctx, dS^T Q) for 16 FMAs.
 * Alone: 88-91 GFLOPS on a 666-frame head (one Zen 4 core, fp32 FMA peak ~108). In attn_forward + attn_backward
 * of a 666-frame sequence, 4 heads (one thread, CPU time, min of 40 on a loaded machine): 11.3 ms vs 13.4 ms
 * with OpenBLAS 0.3.21 (the softmax and dropout rows alike in both). */
#include "nn/attn_avx512.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int attn512_pad(int L) { return (L + 15) & ~15; }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define K5 __attribute__((target("avx512f")))
#define AI inline __attribute__((always_inline))

static int avx512_cpu;
static pthread_once_t avx512_once = PTHREAD_ONCE_INIT;
static void avx512_detect(void) {
    __builtin_cpu_init();
    avx512_cpu = __builtin_cpu_supports("avx512f");
}

int attn512_available(void) {
    pthread_once(&avx512_once, avx512_detect);
    const char *e = getenv("A2M_NO_AVX512");
    if (e && *e && strcmp(e, "0") != 0) return 0;
    return avx512_cpu;
}

void attn512_transpose(float *kt, const float *k, size_t ldk, int L) {
    int Lp = attn512_pad(L);
    for (int c = 0; c < ATTN512_DH; c++) {
        float *r = kt + (size_t)c * Lp;
        for (int j = 0; j < L; j++) r[j] = k[(size_t)j * ldk + c];
        for (int j = L; j < Lp; j++) r[j] = 0.0f;
    }
}

/* rows [0, nr) x vectors [0, nv) of keys from j0; the last vector stored under mask last */
K5 static AI void s_tile(const int nr, const int nv, float *s, size_t lds, const float *q, size_t ldq, const float *kt,
                         int Lp, __mmask16 last, float scale) {
    __m512 acc[6][4];
#pragma GCC unroll 6
    for (int r = 0; r < nr; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    for (int c = 0; c < ATTN512_DH; c++) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) b[v] = _mm512_loadu_ps(kt + (size_t)c * Lp + 16 * v);
#pragma GCC unroll 6
        for (int r = 0; r < nr; r++) {
            __m512 a = _mm512_set1_ps(q[(size_t)r * ldq + c]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
        }
    }
    __m512 sc = _mm512_set1_ps(scale);
#pragma GCC unroll 6
    for (int r = 0; r < nr; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < nv - 1; v++) _mm512_storeu_ps(s + (size_t)r * lds + 16 * v, _mm512_mul_ps(acc[r][v], sc));
        _mm512_mask_storeu_ps(s + (size_t)r * lds + 16 * (nv - 1), last, _mm512_mul_ps(acc[r][nv - 1], sc));
    }
}

K5 static AI void s_tile_v(const int nr, int nv, float *s, size_t lds, const float *q, size_t ldq, const float *kt,
                           int Lp, __mmask16 last, float scale) {
    switch (nv) {
    case 4: s_tile(nr, 4, s, lds, q, ldq, kt, Lp, last, scale); break;
    case 3: s_tile(nr, 3, s, lds, q, ldq, kt, Lp, last, scale); break;
    case 2: s_tile(nr, 2, s, lds, q, ldq, kt, Lp, last, scale); break;
    default: s_tile(nr, 1, s, lds, q, ldq, kt, Lp, last, scale); break;
    }
}

K5 static void scores512(float *s, size_t lds, const float *q, size_t ldq, const float *kt, int n, int L, float scale) {
    int Lp = attn512_pad(L);
    for (int j0 = 0; j0 < L; j0 += 64) {
        int w = L - j0 < 64 ? L - j0 : 64, nv = (w + 15) / 16, rem = w - 16 * (nv - 1);
        __mmask16 last = (__mmask16)(rem == 16 ? 0xFFFF : (1u << rem) - 1);
        const float *ktj = kt + j0;
        for (int i0 = 0; i0 < n; i0 += 6) {
            float *si = s + (size_t)i0 * lds + j0;
            const float *qi = q + (size_t)i0 * ldq;
            switch (n - i0 < 6 ? n - i0 : 6) {
            case 6: s_tile_v(6, nv, si, lds, qi, ldq, ktj, Lp, last, scale); break;
            case 5: s_tile_v(5, nv, si, lds, qi, ldq, ktj, Lp, last, scale); break;
            case 4: s_tile_v(4, nv, si, lds, qi, ldq, ktj, Lp, last, scale); break;
            case 3: s_tile_v(3, nv, si, lds, qi, ldq, ktj, Lp, last, scale); break;
            case 2: s_tile_v(2, nv, si, lds, qi, ldq, ktj, Lp, last, scale); break;
            default: s_tile_v(1, nv, si, lds, qi, ldq, ktj, Lp, last, scale); break;
            }
        }
    }
}

void attn512_scores(float *s, size_t lds, const float *q, size_t ldq, const float *kt, int n, int L, float scale) {
    scores512(s, lds, q, ldq, kt, n, L, scale);
}

K5 static AI void a_tile(const int nr, float *c, size_t ldc, const float *a, size_t ai, size_t ak, const float *b,
                         size_t ldb, int K, int beta) {
    __m512 c0[8], c1[8];
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        __m512 b0 = _mm512_loadu_ps(b + (size_t)k * ldb), b1 = _mm512_loadu_ps(b + (size_t)k * ldb + 16);
        const float *ak_ = a + (size_t)k * ak;
#pragma GCC unroll 8
        for (int r = 0; r < nr; r++) {
            __m512 x = _mm512_set1_ps(ak_[(size_t)r * ai]);
            c0[r] = _mm512_fmadd_ps(x, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(x, b1, c1[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < nr; r++) {
        float *d = c + (size_t)r * ldc;
        if (beta)
            c0[r] = _mm512_add_ps(c0[r], _mm512_loadu_ps(d)), c1[r] = _mm512_add_ps(c1[r], _mm512_loadu_ps(d + 16));
        _mm512_storeu_ps(d, c0[r]);
        _mm512_storeu_ps(d + 16, c1[r]);
    }
}

K5 static void accum512(float *c, size_t ldc, const float *a, size_t ai, size_t ak, const float *b, size_t ldb, int n,
                        int K, int beta) {
    for (int i0 = 0; i0 < n; i0 += 8) {
        float *ci = c + (size_t)i0 * ldc;
        const float *a0 = a + (size_t)i0 * ai;
        switch (n - i0 < 8 ? n - i0 : 8) {
        case 8: a_tile(8, ci, ldc, a0, ai, ak, b, ldb, K, beta); break;
        case 7: a_tile(7, ci, ldc, a0, ai, ak, b, ldb, K, beta); break;
        case 6: a_tile(6, ci, ldc, a0, ai, ak, b, ldb, K, beta); break;
        case 5: a_tile(5, ci, ldc, a0, ai, ak, b, ldb, K, beta); break;
        case 4: a_tile(4, ci, ldc, a0, ai, ak, b, ldb, K, beta); break;
        case 3: a_tile(3, ci, ldc, a0, ai, ak, b, ldb, K, beta); break;
        case 2: a_tile(2, ci, ldc, a0, ai, ak, b, ldb, K, beta); break;
        default: a_tile(1, ci, ldc, a0, ai, ak, b, ldb, K, beta); break;
        }
    }
}

void attn512_accum(float *c, size_t ldc, const float *a, size_t ai, size_t ak, const float *b, size_t ldb, int n, int K,
                   int beta) {
    accum512(c, ldc, a, ai, ak, b, ldb, n, K, beta);
}

#else /* no x86-64: never available, never called */
int attn512_available(void) { return 0; }
void attn512_transpose(float *kt, const float *k, size_t ldk, int L) { (void)kt, (void)k, (void)ldk, (void)L; }
void attn512_scores(float *s, size_t lds, const float *q, size_t ldq, const float *kt, int n, int L, float scale) {
    (void)s, (void)lds, (void)q, (void)ldq, (void)kt, (void)n, (void)L, (void)scale;
}
void attn512_accum(float *c, size_t ldc, const float *a, size_t ai, size_t ak, const float *b, size_t ldb, int n, int K,
                   int beta) {
    (void)c, (void)ldc, (void)a, (void)ai, (void)ak, (void)b, (void)ldb, (void)n, (void)K, (void)beta;
}
#endif
