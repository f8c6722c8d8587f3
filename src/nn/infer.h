/* Inference-only forward passes (no gradients, nothing kept for backward).
 * Weights are repacked once per runner into layouts the kernels stream
 * (src/nn/crnn_infer.c, src/nn/lstm_infer.c); the numbers equal the training
 * forward (crnn_forward) to float rounding (tests/test_infer.c). */
#ifndef A2M_NN_INFER_H
#define A2M_NN_INFER_H

#include <stddef.h>

#include "nn/arch.h"
#include "nn/layers.h"

/* ---- sparse-input kernels (lstm_infer.c): rows with many zeros (ReLU outputs)
 * times a column panel of INFER_PW columns, W [K][INFER_PW] ---- */
enum { INFER_PW = 64 };
/* 0 scalar, 1 AVX2+FMA, 2 AVX-512F: what this CPU runs, at most $A2M_ISA when set (0, 1 or 2) */
int infer_isa_level(void);
/* offsets base + k * INFER_PW and values of x[0..n)'s nonzeros (NaN counts as
 * nonzero) written to off, val (room for n); returns their count */
int infer_nonzeros(const float *x, int n, int base, int *off, float *val, int isa);
/* out[r][0..INFER_PW) = init + sum_j val[r][j] * wp[off[r][j] ..], then max(., 0) if relu;
 * row r's list at off/val + r * ldnz, cnt[r] entries; init [INFER_PW] or NULL (zeros) */
void infer_sparse_panel(const float *wp, const int *off, const float *val, const int *cnt, size_t ldnz, int nr,
                        float *out, size_t ldo, const float *init, int relu, int isa);

/* ---- BiLSTM recurrence on precomputed input projections ----
 * Gate order inside a direction's 4H columns is blocked: for each block of 8
 * hidden units jb, 32 columns [i(8) f(8) g(8) o(8)]; H % 8 == 0. */
typedef struct lstm_infer_w {
    int In, H;
    float *whh;  /* per direction [H/8 blocks][H k][32]: whh[d][jb][k][q*8+jj] = w_hh[q*H + jb*8 + jj][k] */
    float *bias; /* per direction [4H] blocked: b_ih + b_hh */
    float *wih;  /* [In x 8H]: row k = w_ih[.][k] of the forward then the reverse direction, blocked */
    float *wihp; /* NULL, or when 4H % 64 == 0 the same in column panels for the sparse projection:
                   * [2 directions][4H/64 panels][In][64], panel p = blocked columns p*64.. */
} lstm_infer_w;

/* Row of PyTorch's gate-major [4H x .] weights at blocked position p (0..4H-1). */
int lstm_infer_col(int p, int H);
/* Packs both directions' weights; 0 on success, -1 out of memory or H % 8 != 0. */
int lstm_infer_pack(lstm_infer_w *p, const lstm_weights w[2], int In, int H);
void lstm_infer_free(lstm_infer_w *p);

/* Both directions over T steps; the input projections are made in chunks of
 * steps (~256 rows, about L2-sized) just before the steps use them. The input
 * is a ReLU's output (about 60% zeros on real takes): with AVX2 or AVX-512 the
 * projection skips each row's zeros (lists of its nonzeros, column panels of
 * W_ih kept in L1), else it is a GEMM.
 *   x      [T x B x In] time-major input
 *   lengths [B] or NULL: frames t >= lengths[b] are padding (output 0, state
 *          untouched; the reverse direction starts at lengths[b]-1)
 *   fc_w [C x 2H], fc_b [C]: the output layer (GEMMs per chunk of steps): logits [B x T x C]
 *   work: lstm_infer_work_floats(B, In, H) floats */
size_t lstm_infer_work_floats(int B, int In, int H);
/* isa: kernels up to this level (0 scalar, 1 AVX2+FMA, 2 AVX-512F), capped at infer_isa_level() */
void bilstm_infer(const lstm_infer_w *p, const float *x, const int *lengths, const float *fc_w, const float *fc_b,
                  float *logits, float *work, int B, int T, int C, int isa);

/* ---- the CRNN ---- */
typedef struct crnn_infer crnn_infer;
/* NULL if out of memory or the shapes are not supported (H % 8 != 0): use the training forward then. */
crnn_infer *crnn_infer_new(const a2m_model *m, const float *params, int max_batch, int max_frames);
/* precision A2M_PRECISION_BF16: the bf16 path when available and the shapes
 * allow it (H % 16 == 0, 64/128 conv channels), else the fp32 path. */
crnn_infer *crnn_infer_new_ex(const a2m_model *m, const float *params, int max_batch, int max_frames, int precision);
int crnn_infer_precision(const crnn_infer *s); /* the a2m_precision it runs */
/* Kernels up to this level from now on (0 scalar, 1 AVX2+FMA, 2 AVX-512F; made with infer_isa_level()): tests. */
void crnn_infer_cap_isa(crnn_infer *s, int level);
void crnn_infer_del(crnn_infer *s);
/* x [B x T x n_bins] -> logits [B x T x n_classes]; lengths [B] or NULL; B, T within the maxima. */
void crnn_infer_forward(crnn_infer *s, const float *x, const int *lengths, int B, int T, float *logits);
/* A front end before the fp32 path's first convolution (harmonic.c): fn(ctx, x, b, T, len, out) writes sequence b's
 * T input rows [T x n_bins] into out, from crnn_infer_forward's x (then the front's input, any layout fn reads).
 * One sequence's rows at a time: max_frames x n_bins floats, not the whole batch's. 0, or -1 if out of memory or
 * the state runs the bf16 path (which takes the crnn's input whole). */
typedef void (*crnn_front_fn)(void *ctx, const float *x, int b, int T, int len, float *out);
int crnn_infer_set_front(crnn_infer *s, crnn_front_fn fn, void *ctx);

/* ---- bf16 kernels (src/nn/infer_bf16.c): AVX512_BF16, chosen at run time ---- */
/* CPU has avx512f/bw/vl/bf16 and A2M_FORCE_FP32 is not set */
int infer_bf16_available(void);
typedef struct crnn_bf16 crnn_bf16;
/* NULL if unavailable, out of memory or shapes it does not handle */
crnn_bf16 *crnn_bf16_new(const a2m_model *m, const float *params, int max_batch, int max_frames);
void crnn_bf16_del(crnn_bf16 *s);
void crnn_bf16_forward(crnn_bf16 *s, const float *x, const int *lengths, int B, int T, float *logits);

#endif
