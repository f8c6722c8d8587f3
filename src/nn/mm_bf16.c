/* Mixed-precision products of training (see mm_bf16.h). One register tile for every product: 8 rows x 32
 * columns (16 fp32 accumulators); each k pair loads one panel row (2 vectors) and broadcasts 8 pairs of A
 * for 16 vdpbf16ps, as infer_bf16.c's GEMM (221 GFLOPS on this Zen 4 core against 88-91 for fp32 FMA). */
#include "nn/mm_bf16.h"

#include <string.h>

#include "nn/infer.h"

int mmbf_available(void) { return infer_bf16_available(); }

size_t mmbf_panel_elems(int K, int N) { return (size_t)(K + 1) / 2 * 2 * (size_t)((N + 31) / 32 * 32); }

static size_t up32(size_t n) { return (n + 31) & ~(size_t)31; }

size_t mmbf_linear_scratch(int N, int Cin, int Cout) {
    size_t fwd = up32((size_t)N * (size_t)((Cin + 1) & ~1));
    size_t bwd = up32(mmbf_panel_elems(N, Cout)) + up32(mmbf_panel_elems(N, Cin)) + up32((size_t)N * ((Cout + 1) & ~1));
    return fwd > bwd ? fwd : bwd;
}

void mmbf_linear_forward(float *out, const float *in, const mmbf16 *w_nk, const float *b, int N, int Cin, int Cout,
                         mmbf16 *scr) {
    size_t ld = (size_t)((Cin + 1) & ~1);
    mmbf_rows(scr, ld, in, (size_t)Cin, N, Cin);
    mmbf_gemm(out, (size_t)Cout, (mmbf_a){scr, ld, 0}, w_nk, N, Cout, Cin, 1.0f, 0, b);
}

/* dw = dout^T x: A packed from dout [N x Cout] (its transpose), B panels from x [N x Cin]; then din */
void mmbf_linear_backward(float *din, float *dw, const float *dout, const float *in, const mmbf16 *w_kn, int N, int Cin,
                          int Cout, int beta, mmbf16 *scr) {
    mmbf16 *dyp = scr, *xp = dyp + up32(mmbf_panel_elems(N, Cout)), *dyr = xp + up32(mmbf_panel_elems(N, Cin));
    size_t ld = (size_t)((Cout + 1) & ~1);
    mmbf_pack_kn(dyp, dout, (size_t)Cout, N, Cout);
    mmbf_pack_kn(xp, in, (size_t)Cin, N, Cin);
    mmbf_gemm(dw, (size_t)Cin, (mmbf_a){dyp, 0, 1}, xp, Cout, Cin, N, 1.0f, 1, NULL);
    mmbf_rows(dyr, ld, dout, (size_t)Cout, N, Cout);
    mmbf_gemm(din, (size_t)Cin, (mmbf_a){dyr, ld, 0}, w_kn, N, Cin, Cout, 1.0f, beta, NULL);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define BF __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define AI inline __attribute__((always_inline))

static __mmask16 lane_mask(int n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }

/* 32 floats of a row (n valid, the rest zero) as 32 bf16 */
BF static AI __m512i cvt32(const float *s, int n) {
    __m512 lo = _mm512_maskz_loadu_ps(lane_mask(n), s), hi = _mm512_maskz_loadu_ps(lane_mask(n - 16), s + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

BF static void pack_kn512(mmbf16 *p, const float *src, size_t ld, int K, int N) {
    const __m512i i0 = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6, 37,
                                        5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i i1 = _mm512_add_epi16(i0, _mm512_set1_epi16(16));
    int K2 = (K + 1) / 2;
    for (int kk = 0; kk < K2; kk++) {
        const float *r0 = src + (size_t)2 * kk * ld, *r1 = r0 + ld;
        int two = 2 * kk + 1 < K;
        for (int n0 = 0; n0 < N; n0 += 32) {
            int w = N - n0;
            __m512i a = cvt32(r0 + n0, w), b = two ? cvt32(r1 + n0, w) : _mm512_setzero_si512();
            mmbf16 *d = p + ((size_t)(n0 / 32) * K2 + kk) * 64;
            _mm512_storeu_si512((void *)d, _mm512_permutex2var_epi16(a, i0, b));
            _mm512_storeu_si512((void *)(d + 32), _mm512_permutex2var_epi16(a, i1, b));
        }
    }
}

/* r[j] lane i -> r[i] lane j (32-bit lanes): unpack 32- and 64-bit pairs, then 128-bit lane shuffles twice */
BF static AI void transpose16(__m512i r[16]) {
    __m512i t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]),
              t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
#pragma GCC unroll 4
    for (int b = 0; b < 16; b += 4) {
        r[b] = _mm512_unpacklo_epi64(t[b], t[b + 2]), r[b + 1] = _mm512_unpackhi_epi64(t[b], t[b + 2]);
        r[b + 2] = _mm512_unpacklo_epi64(t[b + 1], t[b + 3]), r[b + 3] = _mm512_unpackhi_epi64(t[b + 1], t[b + 3]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        int b = j / 4 * 8, i = j % 4;
        t[b + i] = _mm512_shuffle_i32x4(r[b + i], r[b + 4 + i], 0x88);
        t[b + 4 + i] = _mm512_shuffle_i32x4(r[b + i], r[b + 4 + i], 0xdd);
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88), r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
}

/* row n of src [N x K] is column n of B: its pairs go to lane n % 32 of each k-pair row of panel n / 32. Blocks
 * of 16 rows x 16 pairs are converted and transposed in registers (the attention's K^T and V^T panels, d_head
 * 32: one block a 16 rows); one 32-bit scatter a row's 16 pairs took 2.1% of a bf16 epoch. */
BF static void pack_nk512(mmbf16 *p, const float *src, size_t ld, int N, int K) {
    int K2 = (K + 1) / 2, Np = (N + 31) / 32 * 32;
    uint32_t *q = (uint32_t *)p;
    for (int n0 = 0; n0 < Np; n0 += 16) {
        uint32_t *col = q + (size_t)(n0 / 32) * K2 * 32 + n0 % 32;
        for (int k0 = 0; k0 < 2 * K2; k0 += 32) {
            __m512i r[16];
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                r[j] = n0 + j < N ? cvt32(src + (size_t)(n0 + j) * ld + k0, K - k0) : _mm512_setzero_si512();
            transpose16(r);
            int m = K2 - k0 / 2 < 16 ? K2 - k0 / 2 : 16;
            for (int j = 0; j < m; j++) _mm512_storeu_si512((void *)(col + (size_t)(k0 / 2 + j) * 32), r[j]);
        }
    }
}

BF static void rows512(mmbf16 *dst, size_t ldd, const float *src, size_t lds, int M, int K) {
    int Ke = (K + 1) & ~1;
    for (int i = 0; i < M; i++) {
        const float *s = src + (size_t)i * lds;
        mmbf16 *d = dst + (size_t)i * ldd;
        int k0 = 0;
        for (; k0 + 32 <= Ke; k0 += 32) _mm512_storeu_si512((void *)(d + k0), cvt32(s + k0, K - k0));
        if (k0 < Ke) {
            __m512i v = cvt32(s + k0, K - k0);
            _mm512_mask_storeu_epi16(d + k0, (__mmask32)((1ull << (Ke - k0)) - 1), v);
        }
    }
}

/* rows [0, mr) x 32 columns (the last n_valid stored); A pair (r, kk) at a[r ars + kk aks] (32-bit units) */
BF static AI void tile(const int mr, int K2, const uint32_t *a, size_t ars, size_t aks, const mmbf16 *p, float *c,
                       size_t ldc, int n_valid, float alpha, int beta, const float *bias) {
    __m512 c0[8], c1[8];
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int kk = 0; kk < K2; kk++, p += 64, a += aks) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)p);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(p + 32));
#pragma GCC unroll 8
        for (int r = 0; r < mr; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * ars]);
            c0[r] = _mm512_dpbf16_ps(c0[r], x, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], x, b1);
        }
    }
    __mmask16 m0 = lane_mask(n_valid), m1 = lane_mask(n_valid - 16);
    __m512 al = _mm512_set1_ps(alpha);
    __m512 bs0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
    __m512 bs1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < mr; r++) {
        float *d = c + (size_t)r * ldc;
        __m512 v0 = _mm512_fmadd_ps(c0[r], al, bs0), v1 = _mm512_fmadd_ps(c1[r], al, bs1);
        if (beta)
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, d)),
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, d + 16));
        _mm512_mask_storeu_ps(d, m0, v0);
        _mm512_mask_storeu_ps(d + 16, m1, v1);
    }
}

BF static void gemm512(float *c, size_t ldc, mmbf_a a, const mmbf16 *bp, int M, int N, int K, float alpha, int beta,
                       const float *bias) {
    int K2 = (K + 1) / 2;
    const uint32_t *a32 = (const uint32_t *)a.p;
    size_t ars = a.packed ? 1 : a.ld / 2, aks = a.packed ? 32 : 1;
    for (int m0 = 0; m0 < M; m0 += 8) {
        const uint32_t *am = a.packed ? a32 + (size_t)(m0 / 32) * K2 * 32 + m0 % 32 : a32 + (size_t)m0 * ars;
        float *cm = c + (size_t)m0 * ldc;
        for (int n0 = 0; n0 < N; n0 += 32) {
            const mmbf16 *p = bp + (size_t)(n0 / 32) * K2 * 64;
            const float *bn = bias ? bias + n0 : NULL;
            int nv = N - n0;
            switch (M - m0 < 8 ? M - m0 : 8) {
            case 8: tile(8, K2, am, ars, aks, p, cm + n0, ldc, nv, alpha, beta, bn); break;
            case 7: tile(7, K2, am, ars, aks, p, cm + n0, ldc, nv, alpha, beta, bn); break;
            case 6: tile(6, K2, am, ars, aks, p, cm + n0, ldc, nv, alpha, beta, bn); break;
            case 5: tile(5, K2, am, ars, aks, p, cm + n0, ldc, nv, alpha, beta, bn); break;
            case 4: tile(4, K2, am, ars, aks, p, cm + n0, ldc, nv, alpha, beta, bn); break;
            case 3: tile(3, K2, am, ars, aks, p, cm + n0, ldc, nv, alpha, beta, bn); break;
            case 2: tile(2, K2, am, ars, aks, p, cm + n0, ldc, nv, alpha, beta, bn); break;
            default: tile(1, K2, am, ars, aks, p, cm + n0, ldc, nv, alpha, beta, bn); break;
            }
        }
    }
}

void mmbf_pack_kn(mmbf16 *p, const float *src, size_t ld, int K, int N) { pack_kn512(p, src, ld, K, N); }
void mmbf_pack_nk(mmbf16 *p, const float *src, size_t ld, int N, int K) { pack_nk512(p, src, ld, N, K); }
void mmbf_rows(mmbf16 *dst, size_t ldd, const float *src, size_t lds, int M, int K) {
    rows512(dst, ldd, src, lds, M, K);
}
void mmbf_gemm(float *c, size_t ldc, mmbf_a a, const mmbf16 *bp, int M, int N, int K, float alpha, int beta,
               const float *bias) {
    gemm512(c, ldc, a, bp, M, N, K, alpha, beta, bias);
}

#else /* no x86-64: mmbf_available() is 0, never called */
void mmbf_pack_kn(mmbf16 *p, const float *src, size_t ld, int K, int N) {
    (void)p, (void)src, (void)ld, (void)K, (void)N;
}
void mmbf_pack_nk(mmbf16 *p, const float *src, size_t ld, int N, int K) {
    (void)p, (void)src, (void)ld, (void)N, (void)K;
}
void mmbf_rows(mmbf16 *dst, size_t ldd, const float *src, size_t lds, int M, int K) {
    (void)dst, (void)ldd, (void)src, (void)lds, (void)M, (void)K;
}
void mmbf_gemm(float *c, size_t ldc, mmbf_a a, const mmbf16 *bp, int M, int N, int K, float alpha, int beta,
               const float *bias) {
    (void)c, (void)ldc, (void)a, (void)bp, (void)M, (void)N, (void)K, (void)alpha, (void)beta, (void)bias;
}
#endif
