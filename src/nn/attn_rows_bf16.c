/* The mixed-precision attention's softmax and dropout rows (see attn_rows_bf16.h), AVX-512 with masked tails (the
 * C rows' scalar tails, 10 of a 666-key row, took ~20% of their exp pass). Against the fp32 rows these kept for
 * backward: P as fp32 [T x T] a head (1.77 MB at T = 666: 170 MB and 42 k first-touch page faults a batch of 8,
 * the write in forward and the read in backward), the forward's fp32 dropped copy and its rounding pass (rows512),
 * and the backward's second hash of every element and the fp32 dropped copy it packed (pack_kn). */
#include "nn/attn_rows_bf16.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <math.h>

#define BF __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define AI inline __attribute__((always_inline))

static __mmask16 lanes16(int n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1); }
static __mmask32 lanes32(int n) { return n >= 32 ? (__mmask32)0xFFFFFFFFu : n <= 0 ? 0 : (__mmask32)((1u << n) - 1); }

/* layers.h's nn_expf in 16 lanes (its clamp, Cephes' polynomial and 2^n from the magic-number bits), with fused
 * multiply-adds */
BF static AI __m512 exp512(__m512 x) {
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-87.0f));
    __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic), fx = _mm512_sub_ps(t, magic);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    __m512i pb = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(magic)), _mm512_set1_epi32(127)),
        23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(pb));
}

/* the kept lanes of keys j .. j + 15 (idx: j in each lane): attention.c's dropped_row's hash of (rs ^ j) */
BF static AI __mmask16 kept16(__m512i idx, __m512i rs, __m512i thr) {
    __m512i h = _mm512_mullo_epi32(_mm512_xor_si512(rs, idx), _mm512_set1_epi32((int)0x9E3779B1u));
    h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
    h = _mm512_mullo_epi32(h, _mm512_set1_epi32((int)0x85EBCA6Bu));
    h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 13));
    h = _mm512_mullo_epi32(h, _mm512_set1_epi32((int)0xC2B2AE35u));
    h = _mm512_xor_si512(h, _mm512_srli_epi32(h, 16));
    return _mm512_cmp_epi32_mask(_mm512_srli_epi32(h, 8), thr, _MM_CMPINT_NLT); /* 24-bit: signed as dropped_row */
}

/* lanes of keys j .. j + 15 inside [k0, k1) */
BF static AI __mmask16 in_range(__m512i idx, int k0, int k1) {
    return _mm512_cmp_epi32_mask(idx, _mm512_set1_epi32(k0), _MM_CMPINT_NLT) &
           _mm512_cmp_epi32_mask(idx, _mm512_set1_epi32(k1), _MM_CMPINT_LT);
}

/* the softmax's maximum and 1 / sum over s [k0, k1), s overwritten there by exp(s - max) */
BF static float exp_pass(float *s, int k0, int k1) {
    __m512 vm = _mm512_set1_ps(-INFINITY);
    for (int j = k0; j < k1; j += 16) {
        __mmask16 m = lanes16(k1 - j);
        vm = _mm512_mask_max_ps(vm, m, vm, _mm512_maskz_loadu_ps(m, s + j));
    }
    __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vm)), s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int j = k0;
    for (; j + 32 <= k1; j += 32) {
        __m512 e0 = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + j), mx));
        __m512 e1 = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + j + 16), mx));
        _mm512_storeu_ps(s + j, e0), _mm512_storeu_ps(s + j + 16, e1);
        s0 = _mm512_add_ps(s0, e0), s1 = _mm512_add_ps(s1, e1);
    }
    for (; j < k1; j += 16) {
        __mmask16 m = lanes16(k1 - j);
        __m512 e = _mm512_maskz_mov_ps(m, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + j), mx)));
        _mm512_mask_storeu_ps(s + j, m, e);
        s0 = _mm512_add_ps(s0, e);
    }
    return 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)); /* >= 1: the maximum's exp(0) */
}

/* bf16 p of keys j .. j + 31 into pk, and with the dropped elements zeroed into pr (mk: the kept bits); full: all 32
 * inside the keys (plain loads and stores: with masks on every one, the row's stores waited ~1.3x longer) */
BF static AI void out32(const float *s, int j, int L, int k0, int k1, int full, __m512 inv, int drop, __m512i rs,
                        __m512i thr, mmbf16 *pr, mmbf16 *pk, uint32_t *mk) {
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    __m512i i0 = _mm512_add_epi32(lane, _mm512_set1_epi32(j)), i1 = _mm512_add_epi32(i0, _mm512_set1_epi32(16));
    __m512 p0, p1;
    if (full) {
        p0 = _mm512_mul_ps(_mm512_loadu_ps(s + j), inv), p1 = _mm512_mul_ps(_mm512_loadu_ps(s + j + 16), inv);
    } else {
        __mmask16 r0 = in_range(i0, k0, k1), r1 = in_range(i1, k0, k1);
        p0 = _mm512_maskz_mul_ps(r0, _mm512_maskz_loadu_ps(r0, s + j), inv);
        p1 = _mm512_maskz_mul_ps(r1, _mm512_maskz_loadu_ps(r1, s + j + 16), inv);
    }
    __m512i b = (__m512i)_mm512_cvtne2ps_pbh(p1, p0);
    __mmask32 st = lanes32(((L + 1) & ~1) - j); /* the even width's last column: 0 */
    if (pk && full) _mm512_storeu_si512((void *)(pk + j), b);
    else if (pk) _mm512_mask_storeu_epi16(pk + j, st, b);
    if (drop) {
        __mmask32 kept = (__mmask32)kept16(i0, rs, thr) | (__mmask32)kept16(i1, rs, thr) << 16;
        b = _mm512_maskz_mov_epi16(kept, b);
        if (mk) mk[j / 32] = (uint32_t)(kept & lanes32(L - j));
    }
    if (full) _mm512_storeu_si512((void *)(pr + j), b);
    else _mm512_mask_storeu_epi16(pr + j, st, b);
}

BF static void row_forward512(float *s, int L, int k0, int k1, int drop, uint32_t rs, uint32_t thr, mmbf16 *pr,
                              mmbf16 *pk, uint32_t *mk) {
    __m512 inv = _mm512_set1_ps(exp_pass(s, k0, k1));
    const __m512i vrs = _mm512_set1_epi32((int)rs), vthr = _mm512_set1_epi32((int)thr);
    int j = 0;
    if (k0 == 0 && k1 == L)
        for (; j + 32 <= L; j += 32) out32(s, j, L, k0, k1, 1, inv, drop, vrs, vthr, pr, pk, mk);
    for (; j < L; j += 32) out32(s, j, L, k0, k1, 0, inv, drop, vrs, vthr, pr, pk, mk);
}

/* p of keys j .. j + 15 (m: those below L, all 16: a plain load) from the kept bf16 row */
BF static AI __m512 kept_p16(const mmbf16 *pk, int j, __mmask16 m) {
    __m256i h = m == 0xFFFF ? _mm256_loadu_si256((const __m256i *)(pk + j)) : _mm256_maskz_loadu_epi16(m, pk + j);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* g k of keys j .. j + 15 */
BF static AI __m512 kept_g16(const float *g, const uint32_t *mk, int j, __mmask16 m, __m512 keep) {
    __mmask16 km = mk ? (__mmask16)(mk[j / 32] >> (j % 32)) & m : m;
    __m512 v = m == 0xFFFF ? _mm512_loadu_ps(g + j) : _mm512_maskz_loadu_ps(m, g + j);
    return _mm512_maskz_mul_ps(km, v, keep);
}

/* Two passes that read the row, the second writing dS in bf16 only (the operand of dQ = dS K, and by
 * attnbf_pack_kept of dK = dS^T Q: no fp32 dS, no rounding pass over it). The first pass's store of g k made each
 * next load of the row wait (2664-byte rows: the stores and loads straddle cache lines), ~1.5x the row's time.
 * next: the next row's pk (or NULL), fetched ahead while this one's second pass reads from L1. */
BF static void row_backward512(const float *g, const mmbf16 *pk, const uint32_t *mk, int L, float scale, float keep,
                               mmbf16 *ds, const mmbf16 *next) {
    __m512 acc = _mm512_setzero_ps(), kv = _mm512_set1_ps(keep);
    for (int j = 0; j < L; j += 16) {
        __mmask16 m = lanes16(L - j);
        acc = _mm512_fmadd_ps(kept_p16(pk, j, m), kept_g16(g, mk, j, m, kv), acc);
    }
    __m512 sv = _mm512_set1_ps(_mm512_reduce_add_ps(acc)), sc = _mm512_set1_ps(scale);
    int Le = (L + 1) & ~1;
    for (int j = 0; j < L; j += 32) {
        __mmask16 m0 = lanes16(L - j), m1 = lanes16(L - j - 16);
        if (next) _mm_prefetch((const char *)(next + j), _MM_HINT_T0);
        __m512 d0 =
            _mm512_mul_ps(_mm512_mul_ps(sc, kept_p16(pk, j, m0)), _mm512_sub_ps(kept_g16(g, mk, j, m0, kv), sv));
        __m512 d1 = _mm512_mul_ps(_mm512_mul_ps(sc, kept_p16(pk, j + 16, m1)),
                                  _mm512_sub_ps(kept_g16(g, mk, j + 16, m1, kv), sv));
        __m512i b = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_mov_ps(m1, d1), _mm512_maskz_mov_ps(m0, d0));
        if (j + 32 <= L) _mm512_storeu_si512((void *)(ds + j), b);
        else _mm512_mask_storeu_epi16(ds + j, lanes32(Le - j), b); /* 0 past L, the even width's too */
    }
}

/* mm_bf16.c's pack_kn512 from bf16 rows: the pairs of rows (2 kk, 2 kk + 1) interleaved, 32 columns a panel */
BF static void pack_kept512(mmbf16 *p, const mmbf16 *pk, size_t ldp, const uint32_t *mk, size_t ldm, int n, int L) {
    const __m512i x0 = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6, 37,
                                        5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i x1 = _mm512_add_epi16(x0, _mm512_set1_epi16(16));
    int K2 = (n + 1) / 2;
    for (int kk = 0; kk < K2; kk++) {
        const mmbf16 *r0 = pk + (size_t)2 * kk * ldp, *r1 = r0 + ldp;
        const uint32_t *m0 = mk ? mk + (size_t)2 * kk * ldm : NULL, *m1 = m0 ? m0 + ldm : NULL;
        int two = 2 * kk + 1 < n;
        for (int j = 0; j < L; j += 32) {
            __mmask32 w = lanes32(L - j);
            __m512i a = _mm512_maskz_loadu_epi16(m0 ? w & m0[j / 32] : w, r0 + j);
            __m512i b = two ? _mm512_maskz_loadu_epi16(m1 ? w & m1[j / 32] : w, r1 + j) : _mm512_setzero_si512();
            mmbf16 *d = p + ((size_t)(j / 32) * K2 + kk) * 64;
            _mm512_storeu_si512((void *)d, _mm512_permutex2var_epi16(a, x0, b));
            _mm512_storeu_si512((void *)(d + 32), _mm512_permutex2var_epi16(a, x1, b));
        }
    }
}

void attnbf_row_forward(float *s, int L, int k0, int k1, int drop, uint32_t rs, uint32_t thr, mmbf16 *pr, mmbf16 *pk,
                        uint32_t *mk) {
    row_forward512(s, L, k0, k1, drop, rs, thr, pr, pk, mk);
}
void attnbf_row_backward(const float *g, const mmbf16 *pk, const uint32_t *mk, int L, float scale, float keep,
                         mmbf16 *ds, const mmbf16 *next) {
    row_backward512(g, pk, mk, L, scale, keep, ds, next);
}
void attnbf_pack_kept(mmbf16 *p, const mmbf16 *pk, size_t ldp, const uint32_t *mk, size_t ldm, int n, int L) {
    pack_kept512(p, pk, ldp, mk, ldm, n, L);
}

#else /* no x86-64: mmbf_available() is 0, never called */
void attnbf_row_forward(float *s, int L, int k0, int k1, int drop, uint32_t rs, uint32_t thr, mmbf16 *pr, mmbf16 *pk,
                        uint32_t *mk) {
    (void)s, (void)L, (void)k0, (void)k1, (void)drop, (void)rs, (void)thr, (void)pr, (void)pk, (void)mk;
}
void attnbf_row_backward(const float *g, const mmbf16 *pk, const uint32_t *mk, int L, float scale, float keep,
                         mmbf16 *ds, const mmbf16 *next) {
    (void)g, (void)pk, (void)mk, (void)L, (void)scale, (void)keep, (void)ds, (void)next;
}
void attnbf_pack_kept(mmbf16 *p, const mmbf16 *pk, size_t ldp, const uint32_t *mk, size_t ldm, int n, int L) {
    (void)p, (void)pk, (void)ldp, (void)mk, (void)ldm, (void)n, (void)L;
}
#endif
