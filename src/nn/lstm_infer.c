/* BiLSTM recurrence for inference. The input projections are made for chunks
 * of ~256 steps before the steps use them, skipping the zeros of the input (a
 * ReLU's output, ~60% zeros on real takes: lists of each row's nonzeros times
 * 64-column panels of W_ih that stay in L1; a GEMM without AVX2 or when
 * 4H % 64 != 0); what is left per step and direction is
 * gates = g_t + W_hh h_{t-1} and the cell update. W_hh is packed per block of
 * 8 hidden units as a [H x 32] panel holding that block's i, f, g, o rows, so
 * a step streams the matrix once, front to back, and each block's cell update
 * follows its matrix-vector product directly (no gates buffer). The forward
 * and reverse directions alternate step by step (independent chains); the
 * output layer runs as GEMMs over each chunk's hidden states (fc_chunk).
 * AVX2+FMA and AVX-512F kernels are chosen at run time (the library also
 * builds without -march flags, e.g. under the sanitizers); a scalar version is
 * the fallback. At B = 1 a step is bound by streaming W_hh (512 KB for both
 * directions at H = 128) from L2: ~3.0 ms per 666 steps on Zen 4 at ~34 B per
 * cycle, the same from L3; extra arithmetic interleaved with the stream adds
 * its own time (measured), so the other layers are made cheaper instead. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/isa.h"
#include "nn/infer.h"

int lstm_infer_col(int p, int H) {
    int jb = p / 32, q = (p % 32) / 8, jj = p % 8;
    return q * H + jb * 8 + jj;
}

int lstm_infer_pack(lstm_infer_w *p, const lstm_weights w[2], int In, int H) {
    memset(p, 0, sizeof *p);
    if (H <= 0 || H % 8 || In <= 0) return -1;
    size_t G4 = (size_t)4 * H;
    p->H = H, p->In = In;
    p->whh = aligned_alloc(64, 2 * G4 * H * sizeof *p->whh);
    p->bias = aligned_alloc(64, 2 * G4 * sizeof *p->bias);
    p->wih = malloc((size_t)In * 2 * G4 * sizeof *p->wih);
    if (G4 % INFER_PW == 0) p->wihp = aligned_alloc(64, (size_t)In * 2 * G4 * sizeof *p->wihp);
    if (!p->whh || !p->bias || !p->wih || (G4 % INFER_PW == 0 && !p->wihp)) {
        lstm_infer_free(p);
        return -1;
    }
    for (int d = 0; d < 2; d++) {
        float *W = p->whh + d * G4 * H, *b = p->bias + d * G4;
        for (int jb = 0; jb < H / 8; jb++)
            for (int k = 0; k < H; k++)
                for (int c = 0; c < 32; c++) {
                    int row = lstm_infer_col(jb * 32 + c, H);
                    W[((size_t)jb * H + k) * 32 + c] = w[d].w_hh[(size_t)row * H + k];
                }
        for (size_t pc = 0; pc < G4; pc++) {
            int row = lstm_infer_col((int)pc, H);
            b[pc] = w[d].b_ih[row] + w[d].b_hh[row];
            for (int k = 0; k < In; k++) p->wih[(size_t)k * 2 * G4 + d * G4 + pc] = w[d].w_ih[(size_t)row * In + k];
        }
    }
    if (p->wihp)
        for (int d = 0; d < 2; d++)
            for (size_t pn = 0; pn < G4 / INFER_PW; pn++)
                for (int k = 0; k < In; k++)
                    memcpy(p->wihp + ((d * G4 / INFER_PW + pn) * In + k) * INFER_PW,
                           p->wih + (size_t)k * 2 * G4 + d * G4 + pn * INFER_PW, INFER_PW * sizeof *p->wihp);
    return 0;
}

void lstm_infer_free(lstm_infer_w *p) {
    free(p->whh), free(p->bias), free(p->wih), free(p->wihp);
    p->whh = p->bias = p->wih = p->wihp = NULL;
}

/* ---------------------------------------------------------------- scalar */

static inline float sigm(float x) { return nn_sigmoidf(x); }

static void step_scalar(const float *W, const float *bias, const float *g, const float *hp, float *hn, float *c,
                        int H) {
    float a[32];
    for (int jb = 0; jb < H / 8; jb++) {
        const float *Wb = W + (size_t)jb * H * 32;
        for (int q = 0; q < 32; q++) a[q] = g[jb * 32 + q] + bias[jb * 32 + q];
        for (int k = 0; k < H; k++)
            for (int q = 0; q < 32; q++) a[q] += Wb[(size_t)k * 32 + q] * hp[k];
        for (int jj = 0; jj < 8; jj++) {
            float i = sigm(a[jj]), f = sigm(a[8 + jj]), gg = nn_tanhf(a[16 + jj]), o = sigm(a[24 + jj]);
            float cn = f * c[jb * 8 + jj] + i * gg;
            c[jb * 8 + jj] = cn;
            hn[jb * 8 + jj] = o * nn_tanhf(cn);
        }
    }
}

/* ------------------------------------------------------------------ AVX2 */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_KERNELS 1
#include <immintrin.h>
#include "nn/vexp512.h"
#define TGT __attribute__((target("avx2,fma")))

/* exp with Cephes' polynomial: relative error ~2e-7 over [-87, 88] */
TGT static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}
TGT static inline __m256 sigm8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}
/* tanh x = 2 sigmoid(2x) - 1 (absolute error ~1e-7) */
TGT static inline __m256 tanh8(__m256 x) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 s = _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(one, exp8(_mm256_mul_ps(x, _mm256_set1_ps(-2.0f)))));
    return _mm256_sub_ps(s, one);
}

TGT static inline void cell8(__m256 ai, __m256 af, __m256 ag, __m256 ao, float *c, float *hn) {
    __m256 i = sigm8(ai), f = sigm8(af), g = tanh8(ag), o = sigm8(ao);
    __m256 cn = _mm256_fmadd_ps(f, _mm256_loadu_ps(c), _mm256_mul_ps(i, g));
    _mm256_storeu_ps(c, cn);
    _mm256_storeu_ps(hn, _mm256_mul_ps(o, tanh8(cn)));
}

/* block jb of one sequence: even and odd k in separate accumulators (8 independent FMA chains) */
TGT static inline void blk1_avx2(const float *w, const float *bb, const float *gb, const float *hp, float *c, float *hn,
                                 int H) {
    __m256 a0 = _mm256_add_ps(_mm256_loadu_ps(gb), _mm256_load_ps(bb));
    __m256 a1 = _mm256_add_ps(_mm256_loadu_ps(gb + 8), _mm256_load_ps(bb + 8));
    __m256 a2 = _mm256_add_ps(_mm256_loadu_ps(gb + 16), _mm256_load_ps(bb + 16));
    __m256 a3 = _mm256_add_ps(_mm256_loadu_ps(gb + 24), _mm256_load_ps(bb + 24));
    __m256 e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0;
    for (int k = 0; k < H; k += 2, w += 64) {
        __m256 h0 = _mm256_broadcast_ss(hp + k), h1 = _mm256_broadcast_ss(hp + k + 1);
        a0 = _mm256_fmadd_ps(_mm256_load_ps(w), h0, a0);
        a1 = _mm256_fmadd_ps(_mm256_load_ps(w + 8), h0, a1);
        a2 = _mm256_fmadd_ps(_mm256_load_ps(w + 16), h0, a2);
        a3 = _mm256_fmadd_ps(_mm256_load_ps(w + 24), h0, a3);
        e0 = _mm256_fmadd_ps(_mm256_load_ps(w + 32), h1, e0);
        e1 = _mm256_fmadd_ps(_mm256_load_ps(w + 40), h1, e1);
        e2 = _mm256_fmadd_ps(_mm256_load_ps(w + 48), h1, e2);
        e3 = _mm256_fmadd_ps(_mm256_load_ps(w + 56), h1, e3);
    }
    cell8(_mm256_add_ps(a0, e0), _mm256_add_ps(a1, e1), _mm256_add_ps(a2, e2), _mm256_add_ps(a3, e3), c, hn);
}

/* block jb of two sequences sharing each panel load */
TGT static inline void blk2_avx2(const float *w, const float *bb, const float *g0, const float *g1, const float *hp0,
                                 const float *hp1, float *c0, float *c1, float *hn0, float *hn1, int H) {
    __m256 b0 = _mm256_load_ps(bb), b1 = _mm256_load_ps(bb + 8), b2 = _mm256_load_ps(bb + 16),
           b3 = _mm256_load_ps(bb + 24);
    __m256 a0 = _mm256_add_ps(_mm256_loadu_ps(g0), b0), a1 = _mm256_add_ps(_mm256_loadu_ps(g0 + 8), b1);
    __m256 a2 = _mm256_add_ps(_mm256_loadu_ps(g0 + 16), b2), a3 = _mm256_add_ps(_mm256_loadu_ps(g0 + 24), b3);
    __m256 e0 = _mm256_add_ps(_mm256_loadu_ps(g1), b0), e1 = _mm256_add_ps(_mm256_loadu_ps(g1 + 8), b1);
    __m256 e2 = _mm256_add_ps(_mm256_loadu_ps(g1 + 16), b2), e3 = _mm256_add_ps(_mm256_loadu_ps(g1 + 24), b3);
    for (int k = 0; k < H; k++, w += 32) {
        __m256 h0 = _mm256_broadcast_ss(hp0 + k), h1 = _mm256_broadcast_ss(hp1 + k);
        __m256 w0 = _mm256_load_ps(w), w1 = _mm256_load_ps(w + 8), w2 = _mm256_load_ps(w + 16),
               w3 = _mm256_load_ps(w + 24);
        a0 = _mm256_fmadd_ps(w0, h0, a0), e0 = _mm256_fmadd_ps(w0, h1, e0);
        a1 = _mm256_fmadd_ps(w1, h0, a1), e1 = _mm256_fmadd_ps(w1, h1, e1);
        a2 = _mm256_fmadd_ps(w2, h0, a2), e2 = _mm256_fmadd_ps(w2, h1, e2);
        a3 = _mm256_fmadd_ps(w3, h0, a3), e3 = _mm256_fmadd_ps(w3, h1, e3);
    }
    cell8(a0, a1, a2, a3, c0, hn0);
    cell8(e0, e1, e2, e3, c1, hn1);
}

/* one step of one direction for the na sequences act[]: each [H x 32] panel
 * is loaded from L2 once and reused from L1 for every sequence */
/* one sequence with AVX-512 (same panels; a zmm holds a block's [i f] or [g o]
 * for one k): half the FMA instructions, four k apart (8 chains) */
#define TGT512C __attribute__((target("avx512f,avx2,fma")))
TGT512C static inline __m256 hi256(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}
/* the cell on a block's [i f] and [g o] pre-activations: sigmoid of both
 * halves of each at once, tanh g = 2 sigmoid(2g) - 1 */
TGT512C static inline void cell16(__m512 aif, __m512 ago, float *c, float *hn) {
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 ns = _mm512_setr_ps(-2, -2, -2, -2, -2, -2, -2, -2, -1, -1, -1, -1, -1, -1, -1, -1);
    __m512 sif = _mm512_div_ps(one, _mm512_add_ps(one, nn_exp16(_mm512_sub_ps(_mm512_setzero_ps(), aif))));
    __m512 sgo = _mm512_div_ps(one, _mm512_add_ps(one, nn_exp16(_mm512_mul_ps(ago, ns))));
    __m256 i = _mm512_castps512_ps256(sif), f = hi256(sif), o = hi256(sgo);
    __m256 g = _mm256_fmsub_ps(_mm256_set1_ps(2.0f), _mm512_castps512_ps256(sgo), _mm256_set1_ps(1.0f));
    __m256 cn = _mm256_fmadd_ps(f, _mm256_loadu_ps(c), _mm256_mul_ps(i, g));
    _mm256_storeu_ps(c, cn);
    _mm256_storeu_ps(hn, _mm256_mul_ps(o, tanh8(cn)));
}

TGT512C static void step1_avx512(const float *W, const float *bias, const float *g, const float *hp, float *hn,
                                 float *c, int H) {
    for (int jb = 0; jb < H / 8; jb++) {
        const float *w = W + (size_t)jb * H * 32, *bb = bias + jb * 32, *gb = g + jb * 32;
        __m512 a0 = _mm512_add_ps(_mm512_loadu_ps(gb), _mm512_load_ps(bb));
        __m512 a1 = _mm512_add_ps(_mm512_loadu_ps(gb + 16), _mm512_load_ps(bb + 16));
        __m512 b0 = _mm512_setzero_ps(), b1 = b0, c0 = b0, c1 = b0, d0 = b0, d1 = b0;
        int k = 0;
        for (; k + 4 <= H; k += 4, w += 128) {
            __m512 h0 = _mm512_set1_ps(hp[k]), h1 = _mm512_set1_ps(hp[k + 1]);
            __m512 h2 = _mm512_set1_ps(hp[k + 2]), h3 = _mm512_set1_ps(hp[k + 3]);
            a0 = _mm512_fmadd_ps(_mm512_load_ps(w), h0, a0);
            a1 = _mm512_fmadd_ps(_mm512_load_ps(w + 16), h0, a1);
            b0 = _mm512_fmadd_ps(_mm512_load_ps(w + 32), h1, b0);
            b1 = _mm512_fmadd_ps(_mm512_load_ps(w + 48), h1, b1);
            c0 = _mm512_fmadd_ps(_mm512_load_ps(w + 64), h2, c0);
            c1 = _mm512_fmadd_ps(_mm512_load_ps(w + 80), h2, c1);
            d0 = _mm512_fmadd_ps(_mm512_load_ps(w + 96), h3, d0);
            d1 = _mm512_fmadd_ps(_mm512_load_ps(w + 112), h3, d1);
        }
        for (; k < H; k++, w += 32) {
            __m512 h0 = _mm512_set1_ps(hp[k]);
            a0 = _mm512_fmadd_ps(_mm512_load_ps(w), h0, a0);
            a1 = _mm512_fmadd_ps(_mm512_load_ps(w + 16), h0, a1);
        }
        a0 = _mm512_add_ps(_mm512_add_ps(a0, b0), _mm512_add_ps(c0, d0));
        a1 = _mm512_add_ps(_mm512_add_ps(a1, b1), _mm512_add_ps(c1, d1));
        cell16(a0, a1, c + jb * 8, hn + jb * 8);
    }
}

/* cell8 of two sequences on zmm, lane for lane the same operations (so the same bits; half the instructions: the
 * cell was a third of the four-sequence step): [i f] and [g o] pre-activations of each, then both new cells' tanh
 * in one zmm. Lanes of o take 1 / (1 + exp(-o)) as sigm8 does (-o as o * -1: exp gives the same for +-0), those of
 * g 2 / (1 + exp(-2 g)) - 1 as tanh8; nn_exp16 equals exp8 per lane (2^n by scalef or by the exponent bits: exact). */
TGT512C static inline __m512 tanh16(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 s =
        _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(one, nn_exp16(_mm512_mul_ps(x, _mm512_set1_ps(-2.0f)))));
    return _mm512_sub_ps(s, one);
}
TGT512C static inline __m512 sigm16(__m512 x) {
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, nn_exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}
TGT512C static inline __m512 tanh_sigm16(__m512 ago) { /* [tanh g, sigmoid o] */
    __m512 one = _mm512_set1_ps(1.0f);
    __m512 ns = _mm512_setr_ps(-2, -2, -2, -2, -2, -2, -2, -2, -1, -1, -1, -1, -1, -1, -1, -1);
    __m512 num = _mm512_setr_ps(2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1);
    __m512 sub = _mm512_setr_ps(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_sub_ps(_mm512_div_ps(num, _mm512_add_ps(one, nn_exp16(_mm512_mul_ps(ago, ns)))), sub);
}
/* always inlined: with blk2_avx512 its second caller, GCC made it a call (2% of a 30 s transcription) */
#define INLINE512 TGT512C static inline __attribute__((always_inline))
INLINE512 void cell8x2(__m512 aif0, __m512 ago0, __m512 aif1, __m512 ago1, float *c0, float *c1, float *hn0,
                       float *hn1) {
    __m512 if0 = sigm16(aif0), go0 = tanh_sigm16(ago0), if1 = sigm16(aif1), go1 = tanh_sigm16(ago1);
    __m256 cn0 = _mm256_fmadd_ps(hi256(if0), _mm256_loadu_ps(c0),
                                 _mm256_mul_ps(_mm512_castps512_ps256(if0), _mm512_castps512_ps256(go0)));
    __m256 cn1 = _mm256_fmadd_ps(hi256(if1), _mm256_loadu_ps(c1),
                                 _mm256_mul_ps(_mm512_castps512_ps256(if1), _mm512_castps512_ps256(go1)));
    _mm256_storeu_ps(c0, cn0);
    _mm256_storeu_ps(c1, cn1);
    __m512 t = tanh16(
        _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(cn0)), _mm256_castps_pd(cn1), 1)));
    _mm256_storeu_ps(hn0, _mm256_mul_ps(hi256(go0), _mm512_castps512_ps256(t)));
    _mm256_storeu_ps(hn1, _mm256_mul_ps(hi256(go1), hi256(t)));
}

/* block jb of four sequences with AVX-512: a zmm holds the block's [i f] or [g o] for one k, the panel is loaded
 * once per k for all four (blk2_avx2 loads it once per pair: the loads, not the multiply-adds, bound that loop on
 * Zen 4). Lane for lane the same multiply-adds in the same order as blk2_avx2, and the same cell: the same bits. */
TGT512C static inline void blk4_avx512(const float *w, const float *bb, const float *const g[4],
                                       const float *const hp[4], float *const c[4], float *const hn[4], int H) {
    __m512 b0 = _mm512_load_ps(bb), b1 = _mm512_load_ps(bb + 16), a[4][2];
    for (int s = 0; s < 4; s++)
        a[s][0] = _mm512_add_ps(_mm512_loadu_ps(g[s]), b0), a[s][1] = _mm512_add_ps(_mm512_loadu_ps(g[s] + 16), b1);
    const float *h0 = hp[0], *h1 = hp[1], *h2 = hp[2], *h3 = hp[3];
    for (int k = 0; k < H; k++, w += 32) {
        __m512 w0 = _mm512_load_ps(w), w1 = _mm512_load_ps(w + 16);
        __m512 x0 = _mm512_set1_ps(h0[k]), x1 = _mm512_set1_ps(h1[k]), x2 = _mm512_set1_ps(h2[k]),
               x3 = _mm512_set1_ps(h3[k]);
        a[0][0] = _mm512_fmadd_ps(w0, x0, a[0][0]), a[0][1] = _mm512_fmadd_ps(w1, x0, a[0][1]);
        a[1][0] = _mm512_fmadd_ps(w0, x1, a[1][0]), a[1][1] = _mm512_fmadd_ps(w1, x1, a[1][1]);
        a[2][0] = _mm512_fmadd_ps(w0, x2, a[2][0]), a[2][1] = _mm512_fmadd_ps(w1, x2, a[2][1]);
        a[3][0] = _mm512_fmadd_ps(w0, x3, a[3][0]), a[3][1] = _mm512_fmadd_ps(w1, x3, a[3][1]);
    }
    cell8x2(a[0][0], a[0][1], a[1][0], a[1][1], c[0], c[1], hn[0], hn[1]);
    cell8x2(a[2][0], a[2][1], a[3][0], a[3][1], c[2], c[3], hn[2], hn[3]);
}

/* block jb of two sequences with AVX-512: blk4_avx512 for a pair, lane for lane blk2_avx2's multiply-adds and cell
 * (the same bits) in half the instructions; a step of two or three sequences (a batch's tail of windows) was
 * blk2_avx2's, 6% of a 30 s transcription */
TGT512C static inline void blk2_avx512(const float *w, const float *bb, const float *g0, const float *g1,
                                       const float *hp0, const float *hp1, float *c0, float *c1, float *hn0, float *hn1,
                                       int H) {
    __m512 b0 = _mm512_load_ps(bb), b1 = _mm512_load_ps(bb + 16);
    __m512 a0 = _mm512_add_ps(_mm512_loadu_ps(g0), b0), a1 = _mm512_add_ps(_mm512_loadu_ps(g0 + 16), b1);
    __m512 e0 = _mm512_add_ps(_mm512_loadu_ps(g1), b0), e1 = _mm512_add_ps(_mm512_loadu_ps(g1 + 16), b1);
    for (int k = 0; k < H; k++, w += 32) {
        __m512 w0 = _mm512_load_ps(w), w1 = _mm512_load_ps(w + 16);
        __m512 x0 = _mm512_set1_ps(hp0[k]), x1 = _mm512_set1_ps(hp1[k]);
        a0 = _mm512_fmadd_ps(w0, x0, a0), a1 = _mm512_fmadd_ps(w1, x0, a1);
        e0 = _mm512_fmadd_ps(w0, x1, e0), e1 = _mm512_fmadd_ps(w1, x1, e1);
    }
    cell8x2(a0, a1, e0, e1, c0, c1, hn0, hn1);
}

/* Sequences act[i..na) of one 8-unit block jb (w, bb; gates at column o, cell and hidden at o8): two at a time,
 * then the last alone. The tail of both steps, so a sequence's numbers do not depend on the kernel level. */
TGT static void pairs_avx2(const float *w, const float *bb, const float *g, size_t ldg, size_t o, size_t o8,
                           const float *hp, float *hn, float *c, const int *act, int i, int na, int H) {
    for (; i + 2 <= na; i += 2) {
        size_t b0 = (size_t)act[i], b1 = (size_t)act[i + 1];
        blk2_avx2(w, bb, g + b0 * ldg + o, g + b1 * ldg + o, hp + b0 * H, hp + b1 * H, c + b0 * H + o8, c + b1 * H + o8,
                  hn + b0 * H + o8, hn + b1 * H + o8, H);
    }
    if (i < na) {
        size_t b0 = (size_t)act[i];
        blk1_avx2(w, bb, g + b0 * ldg + o, hp + b0 * H, c + b0 * H + o8, hn + b0 * H + o8, H);
    }
}

/* one step of one direction for the na sequences act[] (na >= 2) with AVX-512: fours, then pairs, then blk1_avx2 for
 * the last, as step_avx2 would (so a sequence's numbers do not depend on the kernel level 1 or 2) */
TGT512C static void step_avx512(const float *W, const float *bias, const float *g, size_t ldg, const float *hp,
                                float *hn, float *c, const int *act, int na, int H) {
    for (int jb = 0; jb < H / 8; jb++) {
        const float *w = W + (size_t)jb * H * 32, *bb = bias + jb * 32;
        size_t o = (size_t)jb * 32, o8 = (size_t)jb * 8;
        int i = 0;
        for (; i + 4 <= na; i += 4) {
            const float *gs[4], *hs[4];
            float *cs[4], *hns[4];
            for (int q = 0; q < 4; q++) {
                size_t b = (size_t)act[i + q];
                gs[q] = g + b * ldg + o, hs[q] = hp + b * H, cs[q] = c + b * H + o8, hns[q] = hn + b * H + o8;
            }
            blk4_avx512(w, bb, gs, hs, cs, hns, H);
        }
        for (; i + 2 <= na; i += 2) {
            size_t b0 = (size_t)act[i], b1 = (size_t)act[i + 1];
            blk2_avx512(w, bb, g + b0 * ldg + o, g + b1 * ldg + o, hp + b0 * H, hp + b1 * H, c + b0 * H + o8,
                        c + b1 * H + o8, hn + b0 * H + o8, hn + b1 * H + o8, H);
        }
        pairs_avx2(w, bb, g, ldg, o, o8, hp, hn, c, act, i, na, H); /* the last one alone, if any */
    }
}

TGT static void step_avx2(const float *W, const float *bias, const float *g, size_t ldg, const float *hp, float *hn,
                          float *c, const int *act, int na, int H) {
    for (int jb = 0; jb < H / 8; jb++) {
        const float *w = W + (size_t)jb * H * 32, *bb = bias + jb * 32;
        size_t o = (size_t)jb * 32, o8 = (size_t)jb * 8;
        int i = 0;
        pairs_avx2(w, bb, g, ldg, o, o8, hp, hn, c, act, i, na, H);
    }
}

/* infer_sparse_panel with AVX2 */
TGT static void proj_panel_avx2(const float *wp, const int *off, const float *val, const int *cnt, size_t ldnz, int nr,
                                float *out, size_t ldo, const float *init, int relu) {
    for (int r = 0; r < nr; r++, out += ldo) {
        const int *o = off + (size_t)r * ldnz;
        const float *v = val + (size_t)r * ldnz;
        __m256 a[8];
        for (int q = 0; q < 8; q++) a[q] = init ? _mm256_loadu_ps(init + 8 * q) : _mm256_setzero_ps();
        for (int j = 0; j < cnt[r]; j++) {
            __m256 x = _mm256_broadcast_ss(v + j);
            const float *w = wp + o[j];
            for (int q = 0; q < 8; q++) a[q] = _mm256_fmadd_ps(_mm256_load_ps(w + 8 * q), x, a[q]);
        }
        if (relu)
            for (int q = 0; q < 8; q++) a[q] = _mm256_max_ps(a[q], _mm256_setzero_ps());
        for (int q = 0; q < 8; q++) _mm256_storeu_ps(out + 8 * q, a[q]);
    }
}

#define TGT512 __attribute__((target("avx512f")))
/* the same with 4 zmm accumulators, even and odd nonzeros apart (8 chains) */
TGT512 static void proj_panel_avx512(const float *wp, const int *off, const float *val, const int *cnt, size_t ldnz,
                                     int nr, float *out, size_t ldo, const float *init, int relu) {
    for (int r = 0; r < nr; r++, out += ldo) {
        const int *o = off + (size_t)r * ldnz;
        const float *v = val + (size_t)r * ldnz;
        int n = cnt[r], j = 0;
        __m512 e0 = _mm512_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, a0 = e0, a1 = e0, a2 = e0, a3 = e0;
        if (init)
            a0 = _mm512_loadu_ps(init), a1 = _mm512_loadu_ps(init + 16), a2 = _mm512_loadu_ps(init + 32),
            a3 = _mm512_loadu_ps(init + 48);
        for (; j + 2 <= n; j += 2) {
            __m512 x0 = _mm512_set1_ps(v[j]), x1 = _mm512_set1_ps(v[j + 1]);
            const float *w0 = wp + o[j], *w1 = wp + o[j + 1];
            a0 = _mm512_fmadd_ps(_mm512_load_ps(w0), x0, a0);
            a1 = _mm512_fmadd_ps(_mm512_load_ps(w0 + 16), x0, a1);
            a2 = _mm512_fmadd_ps(_mm512_load_ps(w0 + 32), x0, a2);
            a3 = _mm512_fmadd_ps(_mm512_load_ps(w0 + 48), x0, a3);
            e0 = _mm512_fmadd_ps(_mm512_load_ps(w1), x1, e0);
            e1 = _mm512_fmadd_ps(_mm512_load_ps(w1 + 16), x1, e1);
            e2 = _mm512_fmadd_ps(_mm512_load_ps(w1 + 32), x1, e2);
            e3 = _mm512_fmadd_ps(_mm512_load_ps(w1 + 48), x1, e3);
        }
        if (j < n) {
            __m512 x0 = _mm512_set1_ps(v[j]);
            const float *w0 = wp + o[j];
            a0 = _mm512_fmadd_ps(_mm512_load_ps(w0), x0, a0);
            a1 = _mm512_fmadd_ps(_mm512_load_ps(w0 + 16), x0, a1);
            a2 = _mm512_fmadd_ps(_mm512_load_ps(w0 + 32), x0, a2);
            a3 = _mm512_fmadd_ps(_mm512_load_ps(w0 + 48), x0, a3);
        }
        a0 = _mm512_add_ps(a0, e0), a1 = _mm512_add_ps(a1, e1), a2 = _mm512_add_ps(a2, e2), a3 = _mm512_add_ps(a3, e3);
        if (relu) {
            __m512 z = _mm512_setzero_ps();
            a0 = _mm512_max_ps(a0, z), a1 = _mm512_max_ps(a1, z), a2 = _mm512_max_ps(a2, z), a3 = _mm512_max_ps(a3, z);
        }
        _mm512_storeu_ps(out, a0);
        _mm512_storeu_ps(out + 16, a1);
        _mm512_storeu_ps(out + 32, a2);
        _mm512_storeu_ps(out + 48, a3);
    }
}

/* nonzeros() with AVX-512 compresses (register forms: the memory forms are slow on Zen 4) */
TGT512 static int nonzeros_avx512(const float *x, int In, int base, int *off, float *val) {
    int n = 0, k = 0;
    __m512i idx =
        _mm512_add_epi32(_mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(INFER_PW)),
                         _mm512_set1_epi32(base));
    for (; k + 16 <= In; k += 16) { /* n <= k: the 16-wide stores stay within the row */
        __m512 v = _mm512_loadu_ps(x + k);
        __mmask16 m = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        _mm512_storeu_ps(val + n, _mm512_maskz_compress_ps(m, v));
        _mm512_storeu_si512(off + n, _mm512_maskz_compress_epi32(m, idx));
        n += __builtin_popcount(m);
        idx = _mm512_add_epi32(idx, _mm512_set1_epi32(16 * INFER_PW));
    }
    for (; k < In; k++) {
        off[n] = base + k * INFER_PW, val[n] = x[k];
        n += x[k] != 0.0f;
    }
    return n;
}

/* 0 scalar, 1 AVX2+FMA, 2 AVX-512F too: detected once (pthread_once: no data race between runners made on
 * several threads), then capped by $A2M_ISA (0, 1 or 2; tests and users comparing kernel levels). */
static int isa_detected;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static void isa_detect(void) {
    __builtin_cpu_init();
    isa_detected = !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 0
                   : __builtin_cpu_supports("avx512f")                                ? 2
                                                                                      : 1;
}
static int isa_level(void) {
    pthread_once(&isa_once, isa_detect);
    const char *cap = getenv("A2M_ISA");
    int level = isa_detected;
    if (cap && *cap >= '0' && *cap <= '2' && cap[1] == '\0' && *cap - '0' < level) level = *cap - '0';
    return level;
}
#else
static int isa_level(void) { return 0; }
#endif

/* -------------------------------------------------------------- driver */

/* input projections are made for chunks of steps, about this many rows per GEMM */
enum { CHUNK_ROWS = 256 };

static int chunk_steps(int B) { return B >= CHUNK_ROWS ? 1 : CHUNK_ROWS / B; }

size_t lstm_infer_work_floats(int B, int In, int H) {
    size_t rows = (size_t)chunk_steps(B) * B;
    return (size_t)6 * B * H + 2 * rows * 4 * H + (size_t)B + 2 * rows * (2 * (size_t)In + 1) + 2 * rows * H + 16;
}

int infer_nonzeros(const float *x, int n, int base, int *off, float *val, int isa) {
#ifdef HAVE_X86_KERNELS
    if (isa == 2) return nonzeros_avx512(x, n, base, off, val);
#endif
    (void)isa;
    int c = 0;
    for (int k = 0; k < n; k++) {
        off[c] = base + k * INFER_PW, val[c] = x[k];
        c += x[k] != 0.0f;
    }
    return c;
}

void infer_sparse_panel(const float *wp, const int *off, const float *val, const int *cnt, size_t ldnz, int nr,
                        float *out, size_t ldo, const float *init, int relu, int isa) {
#ifdef HAVE_X86_KERNELS
    if (isa == 2) {
        proj_panel_avx512(wp, off, val, cnt, ldnz, nr, out, ldo, init, relu);
        return;
    }
    if (isa == 1) {
        proj_panel_avx2(wp, off, val, cnt, ldnz, nr, out, ldo, init, relu);
        return;
    }
#endif
    for (int r = 0; r < nr; r++, out += ldo) {
        const int *o = off + (size_t)r * ldnz;
        const float *v = val + (size_t)r * ldnz;
        for (int c = 0; c < INFER_PW; c++) out[c] = init ? init[c] : 0.0f;
        for (int j = 0; j < cnt[r]; j++)
            for (int c = 0; c < INFER_PW; c++) out[c] += v[j] * wp[o[j] + c];
        if (relu)
            for (int c = 0; c < INFER_PW; c++) out[c] = out[c] > 0.0f ? out[c] : 0.0f;
    }
}

int infer_isa_level(void) { return isa_level(); }

/* g [rows x 4H] = x [rows x In] times direction d's W_ih^T (blocked columns);
 * off, val [rows x In], cnt [rows]: scratch */
static void project(const lstm_infer_w *p, int d, const float *x, int rows, float *g, int *off, float *val, int *cnt,
                    int isa) {
    int In = p->In, G4 = 4 * p->H;
#ifdef HAVE_X86_KERNELS
    if (isa && p->wihp) {
        for (int r = 0; r < rows; r++)
            cnt[r] = infer_nonzeros(x + (size_t)r * In, In, 0, off + (size_t)r * In, val + (size_t)r * In, isa);
        for (int pn = 0; pn < G4 / INFER_PW; pn++) {
            const float *wp = p->wihp + ((size_t)d * G4 / INFER_PW + pn) * In * INFER_PW;
            infer_sparse_panel(wp, off, val, cnt, (size_t)In, rows, g + pn * INFER_PW, (size_t)G4, NULL, 0, isa);
        }
        return;
    }
#else
    (void)off, (void)val, (void)cnt, (void)isa;
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, G4, In, 1.0f, x, In, p->wih + (size_t)d * G4, 2 * G4,
                0.0f, g, G4);
}

/* The output layer for one direction's hidden states of a chunk of steps: logits[b][t] += fc_w_d h_d[t][b] for the
 * frames base..base+n of each sequence that are not padding, one GEMM per sequence (hs [n x B x H] time-major, the
 * rows of sequence b B*H apart). Fused into the steps it was 7% of a 60 s transcription (53 short dot products and
 * their horizontal sums per step); as GEMMs over the chunk, ~1%. */
static void fc_chunk(const float *hs, const int *lengths, const float *fc_w_d, float *logits, int B, int T, int H,
                     int C, int base, int n) {
    for (int b = 0; b < B; b++) {
        int m = (lengths ? lengths[b] : T) - base;
        if (m > n) m = n;
        if (m <= 0) continue;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, C, H, 1.0f, hs + (size_t)b * H, B * H, fc_w_d, 2 * H,
                    1.0f, logits + ((size_t)b * T + base) * C, C);
    }
}

A2M_DISPATCH
static void bilstm_infer_body(const lstm_infer_w *p, const float *x, const int *lengths, const float *fc_w,
                              const float *fc_b, float *logits, float *work, int B, int T, int C, int isa) {
    int H = p->H, In = p->In, G4 = 4 * H, avx = isa > 0, S = chunk_steps(B);
    size_t BH = (size_t)B * H, rows = (size_t)S * B;
    float *h = work, *c = work + 4 * BH, *gf = work + 6 * BH, *gr = gf + rows * G4;
    int *act = (int *)(gr + rows * G4), *off = act + B, *cnt = off + 2 * rows * In;
    float *val = (float *)(cnt + 2 * rows), *hsf = val + 2 * rows * In, *hsr = hsf + rows * H;
    (void)avx;
    memset(work, 0, 6 * BH * sizeof *work);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) memcpy(logits + ((size_t)b * T + t) * C, fc_b, (size_t)C * sizeof *logits);
    int cur[2] = {0, 0};
    for (int s0 = 0; s0 < T; s0 += S) {
        int n = T - s0 < S ? T - s0 : S, r0 = T - s0 - n; /* forward frames s0.., reverse frames r0.. */
        project(p, 0, x + (size_t)s0 * B * In, n * B, gf, off, val, cnt, isa);
        project(p, 1, x + (size_t)r0 * B * In, n * B, gr, off + rows * In, val + rows * In, cnt + rows, isa);
        for (int s = s0; s < s0 + n; s++)
            for (int d = 0; d < 2; d++) {
                int t = d == 0 ? s : T - 1 - s;
                const float *W = p->whh + (size_t)d * G4 * H, *bias = p->bias + (size_t)d * G4;
                float *hp = h + (size_t)(2 * d + cur[d]) * BH, *hn = h + (size_t)(2 * d + 1 - cur[d]) * BH;
                float *cd = c + (size_t)d * BH;
                const float *gt = d == 0 ? gf + (size_t)(t - s0) * B * G4 : gr + (size_t)(t - r0) * B * G4;
                int na = 0;
                for (int b = 0; b < B; b++) {
                    if (!lengths || t < lengths[b]) act[na++] = b;
                    else memcpy(hn + (size_t)b * H, hp + (size_t)b * H, (size_t)H * sizeof *hn);
                }
#ifdef HAVE_X86_KERNELS
                if (avx) {
                    if (isa == 2 && na == 1) {
                        size_t b0 = (size_t)act[0];
                        step1_avx512(W, bias, gt + b0 * G4, hp + b0 * H, hn + b0 * H, cd + b0 * H, H);
                    } else if (isa == 2) step_avx512(W, bias, gt, (size_t)G4, hp, hn, cd, act, na, H);
                    else step_avx2(W, bias, gt, (size_t)G4, hp, hn, cd, act, na, H);
                    na = 0;
                }
#endif
                for (int i = 0; i < na; i++) {
                    size_t b0 = (size_t)act[i];
                    step_scalar(W, bias, gt + b0 * G4, hp + b0 * H, hn + b0 * H, cd + b0 * H, H);
                }
                memcpy((d == 0 ? hsf + (size_t)(t - s0) * BH : hsr + (size_t)(t - r0) * BH), hn, BH * sizeof *hn);
                cur[d] = 1 - cur[d];
            }
        fc_chunk(hsf, lengths, fc_w, logits, B, T, H, C, s0, n);
        fc_chunk(hsr, lengths, fc_w + H, logits, B, T, H, C, r0, n);
    }
}

void bilstm_infer(const lstm_infer_w *p, const float *x, const int *lengths, const float *fc_w, const float *fc_b,
                  float *logits, float *work, int B, int T, int C, int isa) {
    int level = infer_isa_level();
    bilstm_infer_body(p, x, lengths, fc_w, fc_b, logits, work, B, T, C, isa < level ? isa : level);
}
