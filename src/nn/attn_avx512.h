/* AVX-512 kernels for the attention of heads 32 wide (attention.c's fast path; internal to the library).
 * Each product of attn_forward/attn_backward for one block of query rows is one call here, with no packing
 * of its operands (OpenBLAS packed both operands of every call: 17% of a training epoch went to its copy
 * routines). The products keep fp32 and only the order of the sums differs from the BLAS path.
 * attn512_available(): the CPU has AVX-512F (checked once) and A2M_NO_AVX512 is unset or "0". */
#ifndef A2M_NN_ATTN_AVX512_H
#define A2M_NN_ATTN_AVX512_H

#include <stddef.h>
#include <stdint.h>

enum { ATTN512_DH = 32 }; /* the head width these kernels take */

int attn512_available(void);

/* kt[c][j] = k[j][c], c < 32, j < L; zeros for L <= j < attn512_pad(L) (row stride attn512_pad(L)) */
int attn512_pad(int L);
void attn512_transpose(float *kt, const float *k, size_t ldk, int L);

/* s[i][j] = scale * sum_c q[i][c] kt[c][j]  (i < n, j < L; s row stride lds, q row stride ldq) */
void attn512_scores(float *s, size_t lds, const float *q, size_t ldq, const float *kt, int n, int L, float scale);

/* c[i][0..32) = (beta ? c[i] : 0) + sum_{k < K} a[i ai + k ak] b[k][0..32)  (i < n; b row stride ldb) */
void attn512_accum(float *c, size_t ldc, const float *a, size_t ai, size_t ak, const float *b, size_t ldb, int n, int K,
                   int beta);

#endif
