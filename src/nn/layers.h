/* Core layers over plain float32 arrays, batch-first [B x T x C], llm.c style:
 * x_forward(out, in, w, ...) / x_backward(din, dw, dout, in, w, ...).
 * Backward ADDS into gradients (zero them with nn_zero); a NULL gradient
 * pointer means "not needed" (e.g. din of the first layer). Scratch buffers
 * are passed in, so nothing here allocates. Weight layouts are PyTorch's. */
#ifndef A2M_NN_LAYERS_H
#define A2M_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

void nn_zero(float *x, size_t n);

/* ---- Conv1d, kernel K (odd), stride 1, "same" zero padding K/2 ---- */
/* scratch: conv1d_scratch_floats() floats (the im2col matrix) */
size_t conv1d_scratch_floats(int B, int T, int Cin, int K);
void conv1d_forward(float *out,       /* [B x T x Cout] */
                    const float *in,  /* [B x T x Cin] */
                    const float *w,   /* [Cout x Cin x K] */
                    const float *b,   /* [Cout] */
                    float *col,       /* scratch [B*T x Cin*K], left holding im2col(in) */
                    int B, int T, int Cin, int Cout, int K);
/* col must still hold im2col(in) from the forward pass; it is overwritten. */
void conv1d_backward(float *din,        /* [B x T x Cin] or NULL */
                     float *dw,         /* [Cout x Cin x K] */
                     float *db,         /* [Cout] */
                     const float *dout, /* [B x T x Cout] */
                     float *col,        /* scratch from forward [B*T x Cin*K] */
                     const float *w,    /* [Cout x Cin x K] */
                     int B, int T, int Cin, int Cout, int K);

/* ---- ReLU (in place allowed) ---- */
void relu_forward(float *out, const float *in, size_t n);
/* din += dout * (out > 0); uses the forward output */
void relu_backward(float *din, const float *dout, const float *out, size_t n);

/* ---- Linear: out = in W^T + b over rows ---- */
void linear_forward(float *out,      /* [N x Cout] */
                    const float *in, /* [N x Cin] */
                    const float *w,  /* [Cout x Cin] */
                    const float *b,  /* [Cout] or NULL */
                    int N, int Cin, int Cout);
void linear_backward(float *din,        /* [N x Cin] or NULL */
                     float *dw,         /* [Cout x Cin] */
                     float *db,         /* [Cout] or NULL */
                     const float *dout, /* [N x Cout] */
                     const float *in,   /* [N x Cin] */
                     const float *w,    /* [Cout x Cin] */
                     int N, int Cin, int Cout);

/* ---- Bidirectional single-layer LSTM (PyTorch equations, gates i,f,g,o) ----
 * Per direction d (0 forward, 1 reverse) the weights are
 *   w_ih [4H x I], w_hh [4H x H], b_ih [4H], b_hh [4H].
 * Output [B x T x 2H]: forward h in [0,H), reverse h in [H,2H).
 * lengths[b] (or NULL = all T): frames t >= lengths[b] are padding: their
 * output is 0 and they do not touch the state (the reverse direction starts
 * at lengths[b]-1). */
typedef struct lstm_weights {
    const float *w_ih, *w_hh, *b_ih, *b_hh;
} lstm_weights;
typedef struct lstm_grads {
    float *w_ih, *w_hh, *b_ih, *b_hh;
} lstm_grads;

/* Floats the forward pass keeps for backward (per direction sets, both directions). */
size_t lstm_cache_floats(int B, int T, int In, int H);
/* Floats of scratch for backward. */
size_t lstm_scratch_floats(int B, int T, int In, int H);
void bilstm_forward(float *out,          /* [B x T x 2H] */
                    const float *in,     /* [B x T x I] */
                    const lstm_weights w[2],
                    const int *lengths,  /* [B] or NULL */
                    float *cache,        /* lstm_cache_floats() */
                    int B, int T, int In, int H, int n_threads);
void bilstm_backward(float *din,          /* [B x T x I] or NULL */
                     const lstm_grads g[2],
                     const float *dout,   /* [B x T x 2H] */
                     const float *in,     /* [B x T x I] */
                     const lstm_weights w[2],
                     const int *lengths,
                     const float *cache,  /* from forward */
                     float *scratch,      /* lstm_scratch_floats() */
                     int B, int T, int In, int H, int n_threads);

/* ---- Softmax cross-entropy over rows, PyTorch semantics ----
 * loss = sum_i w[y_i] * l_i / sum_i w[y_i] over rows with y_i >= 0 (y_i < 0 is
 * masked out); l_i = -log p_i[y] (gamma == 0) or focal -(1-p)^gamma log p.
 * class_w NULL = all ones. Writes dlogits (overwrites; masked rows get 0)
 * scaled by dloss_scale / sum w. Returns the loss (0 if no row counts). */
double softmax_xent_forward_backward(float *dlogits,        /* [N x C] or NULL */
                                     const float *logits,   /* [N x C] */
                                     const int64_t *labels, /* [N], < 0 = masked */
                                     const float *class_w,  /* [C] or NULL */
                                     double gamma, int N, int C, double *weight_sum);
void softmax_rows(float *p, const float *logits, int N, int C);

/* ---- Optimisers over one flat parameter array ---- */
typedef struct adam_params {
    double lr, beta1, beta2, eps, weight_decay;
    int decoupled; /* 1 = AdamW, 0 = Adam with L2 added to the gradient */
} adam_params;
adam_params adam_default_params(void);
/* step counts from 1 */
void adam_update(float *param, const float *grad, float *m, float *v, size_t n, adam_params p, long step);
/* Scales grad so its L2 norm is at most max_norm; returns the norm before. */
double clip_grad_norm(float *grad, size_t n, double max_norm);

#endif
