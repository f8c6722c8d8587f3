/* Transformer layers over plain float32 arrays, llm.c style (as layers.h):
 * x_forward(out, ..., in, w) / x_backward(din, dw, ..., dout, ...). Backward
 * ADDS into gradients unless a comment says otherwise; a NULL gradient
 * pointer means "not needed". Nothing here allocates. Weight layouts are
 * PyTorch's (nn.LayerNorm, nn.MultiheadAttention's packed in_proj). */
#ifndef A2M_NN_ATTENTION_H
#define A2M_NN_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

/* ---- LayerNorm over the last dimension (PyTorch nn.LayerNorm, biased variance) ----
 * out[n] = (in[n] - mean_n) * rstd_n * w + b, rstd_n = 1 / sqrt(var_n + eps).
 * save [2 x N]: mean_n, rstd_n for backward. In place allowed. */
void layernorm_forward(float *out,      /* [N x C] */
                       float *save,     /* [2 x N] */
                       const float *in, /* [N x C] */
                       const float *w,  /* [C] */
                       const float *b,  /* [C] */
                       int N, int C, float eps);
/* in is the forward's input (not overwritten in place) */
void layernorm_backward(float *din,        /* [N x C] or NULL */
                        float *dw,         /* [C] or NULL */
                        float *db,         /* [C] or NULL */
                        const float *dout, /* [N x C] */
                        const float *in,   /* [N x C] */
                        const float *w,    /* [C] */
                        const float *save, /* [2 x N] from forward */
                        int N, int C);

/* ---- GELU, exact (PyTorch's default approximate='none'): x * Phi(x) ---- */
void gelu_forward(float *out, const float *in, size_t n);
/* din += dout * (Phi(x) + x phi(x)); uses the forward input */
void gelu_backward(float *din, const float *dout, const float *in, size_t n);

/* ---- Sinusoidal positional encoding (the PyTorch tutorial's PositionalEncoding) ----
 * pe[t][2i] = sin(t * exp(-2i ln(10000) / d)), pe[t][2i+1] = cos(same); d even. */
void posenc_fill(float *pe, int max_len, int d);
/* x[b][t] += pe[t'] (the table for t' < max_len, the formula beyond; in place), t' = t, or with seg
 * ([B x T] the first frame of each frame's segment) t - seg[b][t]: positions count from each segment's
 * start. Its backward is the identity. */
void posenc_add(float *x, const float *pe, int max_len, const int *seg, int B, int T, int d);

/* ---- Multi-head scaled dot-product self-attention on packed projections ----
 * qkv [B*T x 3d] = x W_in^T + b_in (columns q | k | v, head h at h*dh,
 * dh = d / H). Per sequence b and head h, over the L = lengths[b] valid
 * frames (NULL: all T):
 *   P = softmax(Q K^T / sqrt(dh))        [L x L] (keys t >= L masked out:
 *                                         PyTorch's src_key_padding_mask)
 *   ctx[:, h*dh..] = dropout(P) V        [L x dh]
 * Query rows t >= L (padding) get ctx 0 and no gradient. Attention dropout
 * (training, p > 0) is inverted dropout with a mask hashed from (seed, b, h,
 * i, j) (p resolved to 2^-24): never stored, recomputed in backward.
 * P is kept for backward: attn_p_floats(B, T, H) floats ([B x H x T x T],
 * row stride T). scratch: attn_scratch_floats(T) floats. Queries go in blocks
 * of 64 rows, so a block's scores stay in cache from one step to the next.
 * Matrix products are OpenBLAS GEMMs (threads as the caller set them); the
 * softmax rows run on n_threads OpenMP threads. */
size_t attn_p_floats(int B, int T, int H);
size_t attn_scratch_floats(int T);
/* seg [B x T] or NULL: the first frame of each frame's segment (takes back to back): a query attends
 * to the keys of its own segment only (the others get weight 0). Backward needs nothing more: P holds
 * those zeros. */
void attn_forward(float *ctx,         /* [B*T x d] */
                  float *P,           /* attn_p_floats */
                  const float *qkv,   /* [B*T x 3d] */
                  const int *lengths, /* [B] or NULL */
                  const int *seg,     /* [B x T] or NULL */
                  float *scratch, int B, int T, int d, int H, float p_drop, uint64_t seed, int training, int n_threads);
/* dqkv is OVERWRITTEN (padding rows 0). */
void attn_backward(float *dqkv,       /* [B*T x 3d] */
                   const float *dctx, /* [B*T x d] */
                   const float *qkv,  /* [B*T x 3d] from forward */
                   const float *P,    /* from forward */
                   const int *lengths, float *scratch, int B, int T, int d, int H, float p_drop, uint64_t seed,
                   int training, int n_threads);

/* ---- Mixed precision (mm_bf16.h; call only where mmbf_available()) ----
 * attn_forward / attn_backward of ONE sequence (B = 1, L valid frames) with the four products of forward and
 * backward as bf16 operands with fp32 sums; scores, softmax, the softmax's gradient and every output stay fp32,
 * the dropout masks are fp32's. P (attn_p_floats(1, T, H) floats) keeps, from a training forward, the softmax's
 * weights rounded to bf16 and the dropout as bits (attn_rows_bf16.h): the backward's weights are those bf16 ones.
 * bscr: attn_bf16_scratch(T, d / H) bf16 elements (operands packed per head and block). */
size_t attn_bf16_scratch(int T, int dh);
void attn_forward_bf16(float *ctx, float *P, const float *qkv, int L, const int *seg, float *scratch, uint16_t *bscr,
                       int T, int d, int H, float p_drop, uint64_t seed, int training);
void attn_backward_bf16(float *dqkv, const float *dctx, const float *qkv, const float *P, int L, float *scratch,
                        uint16_t *bscr, int T, int d, int H, float p_drop, uint64_t seed);

/* ---- The encoder layer's fused elementwise steps ----
 * Inverted dropout (p resolved to 2^-24) with a 32-bit hash of (seed, i) per element: first in[i] = max(in[i], 0)
 * when relu, then out[i] = in[i] * k[i] (+ res[i] when res is not NULL), k[i] in {0, 1 / (1 - p)}. Off
 * (!training or p <= 0): out = in (+ res). out may be in. No mask is kept: backward hashes (seed, i) again. */
void tdrop_forward(float *out, float *in, const float *res, size_t n, float p, uint64_t seed, int training, int relu);
/* din[i] = dout[i] * k[i] (the k of tdrop_forward with the same p and seed in training; p <= 0: 1), 0 where gate
 * is given and gate[i] <= 0 (the ReLU's output). OVERWRITES din; din may be dout. */
void tdrop_backward(float *din, const float *dout, const float *gate, size_t n, float p, uint64_t seed);
/* db[c] += sum over rows n of d[n][c]  (d [N x C]) */
void colsum_add(float *db, const float *d, int N, int C);

#endif
