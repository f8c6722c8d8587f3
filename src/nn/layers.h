/* Core layers over plain float32 arrays, batch-first [B x T x C], llm.c style:
 * x_forward(out, in, w, ...) / x_backward(din, dw, dout, in, w, ...).
 * Backward ADDS into gradients (zero them with nn_zero); a NULL gradient
 * pointer means "not needed" (e.g. din of the first layer). Scratch buffers
 * are passed in, so nothing here allocates. Weight layouts are PyTorch's. */
#ifndef A2M_NN_LAYERS_H
#define A2M_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

void nn_zero(float *x, size_t n);
/* Index of the largest of x[0..n) (the first of equals); 0 when n <= 0. Frame predictions of training, the
 * baselines and eval: one rule for ties. */
int nn_argmax(const float *x, int n);

/* ---- Activations: finite for every finite input, in every build ----
 * Plain C without libm calls, so loops over them vectorise at -O3 without
 * -ffast-math (which made 1/(1+expf(-x)) NaN for x <= -100 in release builds
 * and diverged training at --lr 0.01). NaN inputs give NaN. */

/* exp(x) with the argument clamped to [-87, 88] (results 1.6e-38 .. 1.65e38),
 * Cephes' polynomial: relative error < 2e-7 of expf inside that range
 * (tests/test_numerics.c). 2^n is built from the bits of x/ln2 + 1.5*2^23,
 * whose low mantissa bits hold round(x/ln2): no float-to-int conversion. */
static inline float nn_expf(float x) {
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    float t = x * 1.44269504088896341f + magic, fx = t - magic;
    x = x - fx * 0.693359375f;
    x = x - fx * -2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * x + 1.3981999507e-3f;
    y = y * x + 8.3334519073e-3f;
    y = y * x + 4.1665795894e-2f;
    y = y * x + 1.6666665459e-1f;
    y = y * x + 5.0000001201e-1f;
    y = y * (x * x) + (x + 1.0f);
    uint32_t tb, mb, pb;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&mb, &magic, sizeof mb);
    pb = (tb - mb + 127u) << 23; /* 2^n, n in [-126, 127] */
    float p2;
    memcpy(&p2, &pb, sizeof p2);
    return y * p2;
}

/* 1 / (1 + e^-x): in [6e-39, 1] for every finite x */
static inline float nn_sigmoidf(float x) { return 1.0f / (1.0f + nn_expf(-x)); }

/* tanh, Cephes' tanhf: x + x^3 P(x^2) for |x| <= 0.625, else 1 - 2 / (e^2|x| + 1)
 * with the sign of x; both computed and one selected, so loops vectorise. */
static inline float nn_tanhf(float x) {
    float a = x < 0.0f ? -x : x;
    float big = 1.0f - 2.0f / (nn_expf(2.0f * a) + 1.0f);
    big = x < 0.0f ? -big : big;
    float z = a > 0.625f ? 0.0f : x * x; /* no overflow in the branch not taken */
    float small =
        ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
         3.33332819422e-1f) *
            z * x +
        x;
    return a > 0.625f ? big : small;
}

/* ---- Conv1d, kernel K (odd), stride 1, "same" zero padding K/2 ---- */
/* scratch: conv1d_scratch_floats() floats (the im2col matrix) */
size_t conv1d_scratch_floats(int B, int T, int Cin, int K);
void conv1d_forward(float *out,      /* [B x T x Cout] */
                    const float *in, /* [B x T x Cin] */
                    const float *w,  /* [Cout x Cin x K] */
                    const float *b,  /* [Cout] or NULL (no bias, as before a BatchNorm) */
                    float *col,      /* scratch [B*T x Cin*K], left holding im2col(in) */
                    int B, int T, int Cin, int Cout, int K);
/* col must still hold im2col(in) from the forward pass; it is overwritten. */
void conv1d_backward(float *din,        /* [B x T x Cin] or NULL */
                     float *dw,         /* [Cout x Cin x K] or NULL */
                     float *db,         /* [Cout] or NULL */
                     const float *dout, /* [B x T x Cout] */
                     float *col,        /* scratch from forward [B*T x Cin*K] */
                     const float *w,    /* [Cout x Cin x K] */
                     int B, int T, int Cin, int Cout, int K);
/* the two halves of the product's operand: col [B*T x Cin*K] from in, and din += col2im(col) (the Transformer's
 * mixed-precision convolutions use them around the bf16 products) */
void conv1d_im2col(float *col, const float *in, int B, int T, int Cin, int K);
void conv1d_col2im_add(float *din, const float *col, int B, int T, int Cin, int K);

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
void bilstm_forward(float *out,                                  /* [B x T x 2H] */
                    const float *in,                             /* [B x T x I] */
                    const lstm_weights w[2], const int *lengths, /* [B] or NULL */
                    float *cache,                                /* lstm_cache_floats() */
                    int B, int T, int In, int H, int n_threads);
void bilstm_backward(float *din,                                                      /* [B x T x I] or NULL */
                     const lstm_grads g[2], const float *dout,                        /* [B x T x 2H] */
                     const float *in,                                                 /* [B x T x I] */
                     const lstm_weights w[2], const int *lengths, const float *cache, /* from forward */
                     float *scratch,                                                  /* lstm_scratch_floats() */
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
/* The same with label smoothing (PyTorch's label_smoothing) and, for distillation, soft targets: the target
 * is q = (1 - alpha) ((1 - eps) on y, eps / C on every class) + alpha soft[n] (soft [N x C] rows summing to 1,
 * or NULL with alpha 0), l_i = -sum_c q_c log p_c, dl/dz = p - q; eps = alpha = 0 is the function above. Focal
 * loss (gamma > 0) does not combine with them (eps and soft are ignored there). */
double softmax_xent_smooth_forward_backward(float *dlogits, const float *logits, const int64_t *labels,
                                            const float *class_w, double gamma, double eps, const float *soft,
                                            double alpha, int N, int C, double *weight_sum);
void softmax_rows(float *p, const float *logits, int N, int C);
/* An onset head beside a pitch softmax (train --onset-head): column `onset` of each row is its own logit, the
 * others one softmax. loss = softmax_xent_smooth over the C - 1 other columns (labels never `onset`; eps spread over
 * C - 1 classes; class_w [C] or NULL; the label of a column above `onset` is that column's index) + bce_w * the mean
 * over unmasked rows of the binary cross-entropy of sigmoid(z_onset) against target[n] in [0, 1], positives
 * weighted pos_w: -(pos_w t log s + (1 - t) log(1 - s)), d/dz = s (pos_w t + 1 - t) - pos_w t.
 * dlogits [N x C] or NULL (overwritten; masked rows 0); *weight_sum the softmax's sum of weights. */
double softmax_onset_xent_forward_backward(float *dlogits,        /* [N x C] or NULL */
                                           const float *logits,   /* [N x C] */
                                           const int64_t *labels, /* [N], < 0 = masked */
                                           const float *target,   /* [N] onset targets in [0, 1] */
                                           const float *class_w, double eps, int onset, double pos_w, double bce_w,
                                           int N, int C, double *weight_sum);

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

/* ---- Dropout, inverted (PyTorch nn.Dropout) ----
 * training: mask[i] = 0 with probability p, else 1/(1-p); out = in * mask.
 * The mask comes from a counter-based hash of (seed, i), so a seed gives the
 * same mask every call (and any thread split gives the same mask).
 * eval (training == 0) or p == 0: out = in, mask filled with 1. In place allowed. */
void dropout_forward(float *out,      /* [n] */
                     const float *in, /* [n] */
                     float *mask,     /* [n] written, kept for backward */
                     size_t n, float p, uint64_t seed, int training);
/* Dropout over B sequences of n values each: step 0, dropout_forward over all B x n with seed; else sequence b's
 * masks from seed + b x step, as dropout_forward of that sequence alone with that seed (the transcriber's Monte-Carlo
 * passes: a window's masks whatever batch it runs in). */
void dropout_forward_seqs(float *out, const float *in, float *mask, int B, size_t n, float p, uint64_t seed,
                          uint64_t step, int training);
/* din += dout * mask */
void dropout_backward(float *din, const float *dout, const float *mask, size_t n);

/* ---- BatchNorm1d over the channels of [B x T x C] (PyTorch semantics) ----
 * training: statistics of the batch over the valid frames (B*T, or
 * sum(lengths)): mean_c, biased var_c; y = (x - mean) / sqrt(var + eps) * w + b.
 * eval: the same with running_mean / running_var.
 * lengths[b] (or NULL = all T): frames t >= lengths[b] are padding: excluded
 * from the statistics, output 0, no gradient.
 * save [2*C] receives the mean and (biased) variance used, for backward.
 * Running statistics are updated separately (batchnorm_update_running), so
 * the forward pass only reads parameters. Returns the number of frames counted. */
size_t batchnorm_forward(float *out,                /* [B x T x C] (in place allowed) */
                         const float *in,           /* [B x T x C] */
                         const float *weight,       /* [C] */
                         const float *bias,         /* [C] */
                         const float *running_mean, /* [C] (read in eval) */
                         const float *running_var,  /* [C] (read in eval) */
                         float *save,               /* [2*C] mean, biased var used */
                         const int *lengths,        /* [B] or NULL */
                         int B, int T, int C, float eps, int training);
/* PyTorch's running update from a training batch of n frames:
 *   running_mean = (1 - momentum) * running_mean + momentum * mean
 *   running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)
 * (the unbiased variance; n == 1 uses var as is). momentum 0.1 is PyTorch's default. */
void batchnorm_update_running(float *running_mean, /* [C] */
                              float *running_var,  /* [C] */
                              const float *save,   /* [2*C] from a training forward */
                              size_t n, int C, float momentum);
/* training: full gradient through the batch statistics; eval: statistics are constants.
 * in must be the forward's input (so not overwritten in place). */
void batchnorm_backward(float *din,          /* [B x T x C] or NULL */
                        float *dweight,      /* [C] or NULL */
                        float *dbias,        /* [C] or NULL */
                        const float *dout,   /* [B x T x C] */
                        const float *in,     /* [B x T x C] */
                        const float *weight, /* [C] */
                        const float *save,   /* [2*C] from forward */
                        const int *lengths,  /* [B] or NULL */
                        int B, int T, int C, float eps, int training);
/* The two on channels [c_lo, c_hi) only (the rest of out, din, save, dweight, dbias untouched): every channel's
 * numbers are those of the whole call's, so threads may share a batch by channel ranges. */
size_t batchnorm_forward_channels(float *out, const float *in, const float *weight, const float *bias,
                                  const float *running_mean, const float *running_var, float *save, const int *lengths,
                                  int B, int T, int C, float eps, int training, int c_lo, int c_hi);
void batchnorm_backward_channels(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                                 const float *weight, const float *save, const int *lengths, int B, int T, int C,
                                 float eps, int training, int c_lo, int c_hi);

/* ---- MaxPool1d over time, kernel K = stride K, no padding (PyTorch: Tout = T / K, floor) ----
 * Ties: the first maximum wins (its input frame gets the gradient). */
void maxpool1d_forward(float *out,      /* [B x T/K x C] */
                       const float *in, /* [B x T x C] */
                       int B, int T, int C, int K);
/* Recomputes the argmax from in: din[argmax] += dout. Frames past (T/K)*K get nothing. */
void maxpool1d_backward(float *din,        /* [B x T x C] */
                        const float *dout, /* [B x T/K x C] */
                        const float *in,   /* [B x T x C] */
                        int B, int T, int C, int K);

/* ---- ConvTranspose1d over time, no padding, Tout = (T - 1) * stride + K ----
 * PyTorch weight layout [Cin x Cout x K]:
 *   out[b, t*stride + k, co] += bias[co] + sum_ci in[b, t, ci] * w[ci, co, k]
 * (K == stride == 2 doubles the length without overlap, the U-Net upsampling).
 * One GEMM: col[BT x Cout*K] = in[BT x Cin] . w[Cin x Cout*K], then scattered. */
size_t conv_transpose1d_scratch_floats(int B, int T, int Cout, int K);
static inline int conv_transpose1d_out_len(int T, int K, int stride) { return (T - 1) * stride + K; }
void conv_transpose1d_forward(float *out,      /* [B x Tout x Cout] */
                              const float *in, /* [B x T x Cin] */
                              const float *w,  /* [Cin x Cout x K] */
                              const float *b,  /* [Cout] or NULL */
                              float *col,      /* scratch [B*T x Cout*K] */
                              int B, int T, int Cin, int Cout, int K, int stride);
void conv_transpose1d_backward(float *din,        /* [B x T x Cin] or NULL */
                               float *dw,         /* [Cin x Cout x K] */
                               float *db,         /* [Cout] or NULL */
                               const float *dout, /* [B x Tout x Cout] */
                               const float *in,   /* [B x T x Cin] */
                               const float *w,    /* [Cin x Cout x K] */
                               float *col,        /* scratch [B*T x Cout*K] */
                               int B, int T, int Cin, int Cout, int K, int stride);

/* ---- Squeeze-excitation over channels ----
 *   z[b] = mean over valid t of in[b, t, :]          [B x C]
 *   h = relu(z W1^T + b1)                            [B x Cr]   (W1 [Cr x C])
 *   s = sigmoid(h W2^T + b2)                         [B x C]    (W2 [C x Cr])
 *   out[b, t, c] = in[b, t, c] * s[b, c]
 * lengths[b] (or NULL = all T): the mean is over t < lengths[b]; padding
 * frames output 0 and get no gradient. */
size_t se_cache_floats(int B, int C, int Cr); /* z, h, s */
size_t se_scratch_floats(int B, int C, int Cr);
void se_forward(float *out,      /* [B x T x C] (not in place: backward needs in) */
                const float *in, /* [B x T x C] */
                const float *w1, /* [Cr x C] */
                const float *b1, /* [Cr] */
                const float *w2, /* [C x Cr] */
                const float *b2, /* [C] */
                float *cache,    /* se_cache_floats(): z [B x C], h [B x Cr], s [B x C] */
                const int *lengths, int B, int T, int C, int Cr);
void se_backward(float *din,                                           /* [B x T x C] or NULL */
                 float *dw1,                                           /* [Cr x C] */
                 float *db1,                                           /* [Cr] */
                 float *dw2,                                           /* [C x Cr] */
                 float *db2,                                           /* [C] */
                 const float *dout,                                    /* [B x T x C] */
                 const float *in,                                      /* [B x T x C] */
                 const float *w1, const float *w2, const float *cache, /* from forward */
                 float *scratch,                                       /* se_scratch_floats() */
                 const int *lengths, int B, int T, int C, int Cr);

#endif
