/* Mixed-precision matrix products for training (`a2m train --precision bf16`; internal to the library):
 * bf16 operands, fp32 sums (AVX512_BF16's vdpbf16ps: pairs of bf16 products added into fp32 lanes).
 * Operands are rounded to bf16 (nearest even) as they are packed; the outputs are fp32.
 *
 * Layouts (bf16 elements, k counted in pairs kk = k / 2, K2 = (K + 1) / 2, an odd K padded with a zero):
 * - B panels ("kn"): the [K x N] operand in panels of 32 columns, [ceil(N/32)][K2][32][2]: k pairs interleaved
 *   as vdpbf16ps reads them, columns past N zero. mmbf_pack_kn takes it from a row-major [K x N] matrix,
 *   mmbf_pack_nk from its transpose (row-major [N x K]: a weight [out x in] for x W^T).
 * - A rows: row-major bf16 [M x ld] (ld even, k pairs adjacent; mmbf_rows), or A packed: the panels of A^T,
 *   i.e. mmbf_pack_kn of a row-major [K x M] matrix (dW = dY^T X and the attention's P^T dctx, dS^T Q read
 *   their transposed operand this way, with no transposition pass).
 * The kernels run only where mmbf_available() (infer_bf16_available: avx512f/bw/vl/bf16 and A2M_FORCE_FP32
 * unset); elsewhere they are never called. */
#ifndef A2M_NN_MM_BF16_H
#define A2M_NN_MM_BF16_H

#include <stddef.h>
#include <stdint.h>

typedef uint16_t mmbf16;

int mmbf_available(void);

/* elements of a B panel set for [K x N] (and of A packed for M = N) */
size_t mmbf_panel_elems(int K, int N);
void mmbf_pack_kn(mmbf16 *p, const float *src, size_t ld, int K, int N);
void mmbf_pack_nk(mmbf16 *p, const float *src, size_t ld, int N, int K);
/* dst[i][0..K) = bf16(src[i][0..K)), i < M, then zeros up to an even K */
void mmbf_rows(mmbf16 *dst, size_t ldd, const float *src, size_t lds, int M, int K);

typedef struct mmbf_a {
    const mmbf16 *p;
    size_t ld; /* rows: the row stride (even); packed: 0 */
    int packed;
} mmbf_a;

/* C[M x N] = alpha A B + (beta ? C : 0) + (bias ? bias[n] : 0); A [M x K] as a, B [K x N] as panels bp. */
void mmbf_gemm(float *c, size_t ldc, mmbf_a a, const mmbf16 *bp, int M, int N, int K, float alpha, int beta,
               const float *bias);

/* A linear layer of training, y = x W^T + b with W [Cout x Cin], on N rows, its weight packed once a step as
 * w_nk (mmbf_pack_nk of W: forward) and w_kn (mmbf_pack_kn of W: backward). scr: mmbf_linear_scratch elements.
 * Backward: dw += dout^T x, din = (beta ? din : 0) + dout W (the bias's gradient is the caller's column sum). */
size_t mmbf_linear_scratch(int N, int Cin, int Cout);
void mmbf_linear_forward(float *out, const float *in, const mmbf16 *w_nk, const float *b, int N, int Cin, int Cout,
                         mmbf16 *scr);
void mmbf_linear_backward(float *din, float *dw, const float *dout, const float *in, const mmbf16 *w_kn, int N, int Cin,
                          int Cout, int beta, mmbf16 *scr);

#endif
