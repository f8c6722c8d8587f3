/* The mixed-precision attention's softmax and dropout rows (attention.c's attn_forward_bf16 / attn_backward_bf16;
 * internal to the library, AVX-512 BF16 kernels: call only where mmbf_available()).
 *
 * A row's weights are kept for backward as bf16 (pk: the softmax p rounded, zero past the keys) with the dropout
 * as bits (mk: bit j % 32 of word j / 32 set where element j is kept), so the backward neither reads an fp32 P
 * nor hashes the mask again, and the products' operands are the kept bf16 p with the dropped elements zeroed
 * (exact: no second rounding), the 1 / (1 - p) of the kept ones the product's alpha. The masks are fp32's (the
 * same hash of (rs, j) as attention.c's dropped_row). */
#ifndef A2M_NN_ATTN_ROWS_BF16_H
#define A2M_NN_ATTN_ROWS_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "nn/mm_bf16.h"

/* 32-bit mask words of a row of L keys */
static inline int attnbf_mask_words(int L) { return (L + 31) / 32; }

/* One query row of forward: s [0, L) the scaled scores (overwritten), the softmax taken over keys [k0, k1) (0
 * elsewhere). pr [0, L even): bf16 p with the dropped elements zeroed (drop: hash rs, elements with a 24-bit hash
 * below thr dropped; !drop: all kept). pk (or NULL) [0, L even): bf16 p; mk (or NULL, drop only): the mask words. */
void attnbf_row_forward(float *s, int L, int k0, int k1, int drop, uint32_t rs, uint32_t thr, mmbf16 *pr, mmbf16 *pk,
                        uint32_t *mk);

/* One query row of backward: g [0, L) = d(dropped P) row; ds [0, L even) <- bf16 dS = scale p (g k - sum(p g k))
 * with p from pk and k = keep where mk's bit is set (0 where not; mk NULL: k = 1 everywhere). next: the next row's
 * pk to fetch into cache meanwhile, or NULL. */
void attnbf_row_backward(const float *g, const mmbf16 *pk, const uint32_t *mk, int L, float scale, float keep,
                         mmbf16 *ds, const mmbf16 *next);

/* The panels (mmbf_pack_kn's layout) of the [n x L] bf16 matrix of rows pk + i ldp with the dropped elements zeroed
 * (mk + i ldm; NULL: none dropped): the A operands of dV = Pd^T dctx and dK = dS^T Q, n query rows their K. */
void attnbf_pack_kept(mmbf16 *p, const mmbf16 *pk, size_t ldp, const uint32_t *mk, size_t ldm, int n, int L);

#endif
