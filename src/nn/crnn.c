/* CRNN, exactly the original project's: Conv1d(bins->64,k3) ReLU
 * Conv1d(64->128,k3) ReLU BiLSTM(128->hidden) Linear(2*hidden->classes);
 * optionally (train --dropout P, the original had none) dropout before the
 * Linear, which Monte-Carlo dropout keeps on at inference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/arch.h"
#include "nn/infer.h"
#include "nn/layers.h"

enum { C1 = 64, C2 = 128, KS = 3 };

static int crnn_layout(const a2m_model_info *in, nn_tensor *t, int max) {
    int H = in->hidden, F = in->n_bins, C = in->n_classes;
    struct {
        const char *n;
        int nd, s0, s1, s2;
    } spec[] = {
        {"conv.0.weight", 3, C1, F, KS},
        {"conv.0.bias", 1, C1, 0, 0},
        {"conv.2.weight", 3, C2, C1, KS},
        {"conv.2.bias", 1, C2, 0, 0},
        {"lstm.weight_ih_l0", 2, 4 * H, C2, 0},
        {"lstm.weight_hh_l0", 2, 4 * H, H, 0},
        {"lstm.bias_ih_l0", 1, 4 * H, 0, 0},
        {"lstm.bias_hh_l0", 1, 4 * H, 0, 0},
        {"lstm.weight_ih_l0_reverse", 2, 4 * H, C2, 0},
        {"lstm.weight_hh_l0_reverse", 2, 4 * H, H, 0},
        {"lstm.bias_ih_l0_reverse", 1, 4 * H, 0, 0},
        {"lstm.bias_hh_l0_reverse", 1, 4 * H, 0, 0},
        {"fc.weight", 2, C, 2 * H, 0},
        {"fc.bias", 1, C, 0, 0},
    };
    int n = (int)(sizeof spec / sizeof spec[0]);
    if (n > max) return -1;
    for (int i = 0; i < n; i++) {
        snprintf(t[i].name, sizeof t[i].name, "%s", spec[i].n);
        t[i].ndim = spec[i].nd;
        t[i].shape[0] = spec[i].s0, t[i].shape[1] = spec[i].s1, t[i].shape[2] = spec[i].s2;
    }
    return n;
}

static int crnn_recognise(const char *const *names, const int (*shapes)[4], const int *ndims, int n,
                          a2m_model_info *info) {
    int c0[4], hh[4], fc[4];
    if (!nn_find_shape(names, shapes, ndims, n, "conv.0.weight", 3, c0) ||
        !nn_find_shape(names, shapes, ndims, n, "lstm.weight_hh_l0", 2, hh) ||
        !nn_find_shape(names, shapes, ndims, n, "fc.weight", 2, fc) || n != 14)
        return 0;
    info->n_bins = c0[1];
    info->hidden = hh[1];
    info->n_classes = fc[0];
    return 1;
}

/* Activation layout (floats): col1 [BT x F*3], h1 [BT x 64], col2 [BT x 64*3],
 * h2 [BT x 128], lstm cache, lstm out [BT x 2H], dropout mask and output [BT x 2H] each. */
typedef struct crnn_acts {
    float *col1, *h1, *col2, *h2, *cache, *lo, *dmask, *lod;
} crnn_acts;

static size_t crnn_act_floats(const a2m_model *m, int B, int T) {
    size_t BT = (size_t)B * T;
    int F = m->info.n_bins, H = m->info.hidden;
    return BT * F * KS + BT * C1 + BT * C1 * KS + BT * C2 + lstm_cache_floats(B, T, C2, H) + BT * 2 * H * 3;
}

static crnn_acts crnn_split(const a2m_model *m, float *a, int B, int T) {
    size_t BT = (size_t)B * T;
    int F = m->info.n_bins, H = m->info.hidden;
    crnn_acts s;
    s.col1 = a, a += BT * F * KS;
    s.h1 = a, a += BT * C1;
    s.col2 = a, a += BT * C1 * KS;
    s.h2 = a, a += BT * C2;
    s.cache = a, a += lstm_cache_floats(B, T, C2, H);
    s.lo = a, a += BT * 2 * H;
    s.dmask = a, a += BT * 2 * H;
    s.lod = a;
    return s;
}

/* scratch for backward: dlo [BT x 2H], dh2 [BT x 128], dh1 [BT x 64], lstm scratch, dlod [BT x 2H] */
static size_t crnn_scratch_floats(const a2m_model *m, int B, int T) {
    size_t BT = (size_t)B * T;
    int H = m->info.hidden;
    return BT * 2 * H * 2 + BT * C2 * 2 + BT * C1 * 2 + lstm_scratch_floats(B, T, C2, H);
}

#define P(name) (params + nn_model_tensor(m, name)->offset)
#define G(name) (grads + nn_model_tensor(m, name)->offset)

static void mask_padding(float *x, const int *lengths, int B, int T, int C) {
    if (!lengths) return;
    for (int b = 0; b < B; b++)
        for (int t = lengths[b]; t < T; t++) memset(x + ((size_t)b * T + t) * C, 0, (size_t)C * sizeof *x);
}

static void lstm_bind(const a2m_model *m, const float *params, lstm_weights w[2]) {
    w[0] = (lstm_weights){P("lstm.weight_ih_l0"), P("lstm.weight_hh_l0"), P("lstm.bias_ih_l0"), P("lstm.bias_hh_l0")};
    w[1] = (lstm_weights){P("lstm.weight_ih_l0_reverse"), P("lstm.weight_hh_l0_reverse"), P("lstm.bias_ih_l0_reverse"),
                          P("lstm.bias_hh_l0_reverse")};
}

static void crnn_forward(const a2m_model *m, const float *params, nn_buffers *buf, const float *x, const int *lengths,
                         int B, int T, float *logits, int n_threads, int training) {
    int F = m->info.n_bins, H = m->info.hidden, C = m->info.n_classes;
    size_t BT = (size_t)B * T;
    crnn_acts a = crnn_split(m, buf->acts, B, T);
    conv1d_forward(a.h1, x, P("conv.0.weight"), P("conv.0.bias"), a.col1, B, T, F, C1, KS);
    relu_forward(a.h1, a.h1, BT * C1);
    mask_padding(a.h1, lengths, B, T, C1);
    conv1d_forward(a.h2, a.h1, P("conv.2.weight"), P("conv.2.bias"), a.col2, B, T, C1, C2, KS);
    relu_forward(a.h2, a.h2, BT * C2);
    mask_padding(a.h2, lengths, B, T, C2);
    lstm_weights w[2];
    lstm_bind(m, params, w);
    bilstm_forward(a.lo, a.h2, w, lengths, a.cache, B, T, C2, H, n_threads);
    const float *fc_in = a.lo;
    if ((training || buf->mc) && buf->dropout > 0) {
        dropout_forward(a.lod, a.lo, a.dmask, BT * 2 * H, buf->dropout, buf->seed, 1);
        fc_in = a.lod;
    }
    linear_forward(logits, fc_in, P("fc.weight"), P("fc.bias"), (int)BT, 2 * H, C);
}

static void crnn_backward(const a2m_model *m, const float *params, float *grads, nn_buffers *buf, const float *x,
                          const int *lengths, const float *dlogits, int B, int T, int n_threads) {
    (void)x;
    int F = m->info.n_bins, H = m->info.hidden, C = m->info.n_classes;
    size_t BT = (size_t)B * T;
    crnn_acts a = crnn_split(m, buf->acts, B, T);
    float *dlo = buf->scratch, *dh2 = dlo + BT * 2 * H, *dp2 = dh2 + BT * C2, *dh1 = dp2 + BT * C2,
          *dp1 = dh1 + BT * C1;
    float *ls = dp1 + BT * C1, *dlod = ls + lstm_scratch_floats(B, T, C2, H);
    nn_zero(dlo, BT * 2 * H);
    if (buf->dropout > 0) { /* the training forward dropped a.lo into a.lod */
        nn_zero(dlod, BT * 2 * H);
        linear_backward(dlod, G("fc.weight"), G("fc.bias"), dlogits, a.lod, P("fc.weight"), (int)BT, 2 * H, C);
        dropout_backward(dlo, dlod, a.dmask, BT * 2 * H);
    } else {
        linear_backward(dlo, G("fc.weight"), G("fc.bias"), dlogits, a.lo, P("fc.weight"), (int)BT, 2 * H, C);
    }
    lstm_weights w[2];
    lstm_bind(m, params, w);
    lstm_grads g[2] = {{G("lstm.weight_ih_l0"), G("lstm.weight_hh_l0"), G("lstm.bias_ih_l0"), G("lstm.bias_hh_l0")},
                       {G("lstm.weight_ih_l0_reverse"), G("lstm.weight_hh_l0_reverse"), G("lstm.bias_ih_l0_reverse"),
                        G("lstm.bias_hh_l0_reverse")}};
    nn_zero(dh2, BT * C2);
    bilstm_backward(dh2, g, dlo, a.h2, w, lengths, a.cache, ls, B, T, C2, H, n_threads);
    mask_padding(dh2, lengths, B, T, C2);
    nn_zero(dp2, BT * C2);
    relu_backward(dp2, dh2, a.h2, BT * C2);
    nn_zero(dh1, BT * C1);
    conv1d_backward(dh1, G("conv.2.weight"), G("conv.2.bias"), dp2, a.col2, P("conv.2.weight"), B, T, C1, C2, KS);
    mask_padding(dh1, lengths, B, T, C1);
    nn_zero(dp1, BT * C1);
    relu_backward(dp1, dh1, a.h1, BT * C1);
    conv1d_backward(NULL, G("conv.0.weight"), G("conv.0.bias"), dp1, a.col1, P("conv.0.weight"), B, T, F, C1, KS);
}

/* PyTorch defaults: conv/linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * (kaiming_uniform with a = sqrt(5)), LSTM everything U(-1/sqrt(H), 1/sqrt(H)). */
static void crnn_init(const a2m_model *m, float *params, unsigned long long seed) {
    nn_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor *t = &m->tensors[i];
        double bound;
        if (strncmp(t->name, "lstm.", 5) == 0) bound = 1.0 / sqrt(m->info.hidden);
        else if (strncmp(t->name, "conv.0", 6) == 0) bound = 1.0 / sqrt(m->info.n_bins * KS);
        else if (strncmp(t->name, "conv.2", 6) == 0) bound = 1.0 / sqrt(C1 * KS);
        else bound = 1.0 / sqrt(2 * m->info.hidden);
        for (size_t k = 0; k < t->count; k++) params[t->offset + k] = (float)((2 * nn_rng_uniform(&r) - 1) * bound);
    }
}

static void *crnn_infer_new_v(const a2m_model *m, const float *params, int max_batch, int max_frames, int precision) {
    return crnn_infer_new_ex(m, params, max_batch, max_frames, precision);
}
static void crnn_infer_forward_v(void *s, const float *x, const int *lengths, int B, int T, float *logits) {
    crnn_infer_forward(s, x, lengths, B, T, logits);
}
static void crnn_infer_del_v(void *s) { crnn_infer_del(s); }
static int crnn_infer_precision_v(const void *s) { return crnn_infer_precision(s); }

/* the BiLSTM output lo [T x 2H] of a forward over one sequence */
static int crnn_hidden(const a2m_model *m, nn_buffers *buf, const float *x, int T, float *out, int n_threads) {
    int H2 = 2 * m->info.hidden;
    if (!out) return H2;
    float *logits = malloc((size_t)T * m->info.n_classes * sizeof *logits);
    if (!logits) return -1;
    crnn_forward(m, m->params, buf, x, NULL, 1, T, logits, n_threads, 0);
    memcpy(out, crnn_split(m, buf->acts, 1, T).lo, (size_t)T * H2 * sizeof *out);
    free(logits);
    return H2;
}

const a2m_arch nn_arch_crnn = {
    "crnn",           crnn_layout, crnn_recognise, crnn_act_floats,  crnn_scratch_floats,    crnn_forward,
    crnn_backward,    crnn_init,   NULL,           crnn_infer_new_v, crnn_infer_precision_v, crnn_infer_forward_v,
    crnn_infer_del_v, crnn_hidden,
};
