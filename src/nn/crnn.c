/* CRNN, exactly the original project's: Conv1d(bins->64,k3) ReLU
 * Conv1d(64->128,k3) ReLU BiLSTM(128->hidden) Linear(2*hidden->classes);
 * optionally (train --dropout P, the original had none) dropout before the
 * Linear, which Monte-Carlo dropout keeps on at inference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/arch.h"
#include "nn/crnn.h"
#include "nn/infer.h"
#include "nn/layers.h"

enum { C1 = 64, C2 = 128, KS = 3 };

static int crnn_layout(const a2m_model_info *in, nn_tensor *t, int max) {
    int H = in->hidden, F = in->n_bins, C = in->n_classes;
    nn_tensor_spec spec[CRNN_N_TENSORS] = {
        [CRNN_CONV0_W] = {"conv.0.weight", 3, {C1, F, KS}, 0},  [CRNN_CONV0_B] = {"conv.0.bias", 1, {C1}, 0},
        [CRNN_CONV2_W] = {"conv.2.weight", 3, {C2, C1, KS}, 0}, [CRNN_CONV2_B] = {"conv.2.bias", 1, {C2}, 0},
        [CRNN_FC_W] = {"fc.weight", 2, {C, 2 * H}, 0},          [CRNN_FC_B] = {"fc.bias", 1, {C}, 0},
    };
    nn_bilstm_table(spec, CRNN_LSTM, C2, H);
    return nn_layout_table(spec, CRNN_N_TENSORS, t, max);
}

crnn_tensors crnn_bind(const a2m_model *m, const float *base) {
    return (crnn_tensors){
        .conv0_w = nn_at(m, base, CRNN_CONV0_W),
        .conv0_b = nn_at(m, base, CRNN_CONV0_B),
        .conv2_w = nn_at(m, base, CRNN_CONV2_W),
        .conv2_b = nn_at(m, base, CRNN_CONV2_B),
        .lstm = nn_bilstm_bind(m, base, CRNN_LSTM),
        .fc_w = nn_at(m, base, CRNN_FC_W),
        .fc_b = nn_at(m, base, CRNN_FC_B),
    };
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

static void mask_padding(float *x, const int *lengths, int B, int T, int C) {
    if (!lengths) return;
    for (int b = 0; b < B; b++)
        for (int t = lengths[b]; t < T; t++) memset(x + ((size_t)b * T + t) * C, 0, (size_t)C * sizeof *x);
}

static void crnn_forward(const a2m_model *m, const float *params, nn_buffers *buf, const float *x, const int *lengths,
                         int B, int T, float *logits, int n_threads, int training) {
    int F = m->info.n_bins, H = m->info.hidden, C = m->info.n_classes;
    size_t BT = (size_t)B * T;
    crnn_acts a = crnn_split(m, buf->acts, B, T);
    crnn_tensors p = crnn_bind(m, params);
    conv1d_forward(a.h1, x, p.conv0_w, p.conv0_b, a.col1, B, T, F, C1, KS);
    relu_forward(a.h1, a.h1, BT * C1);
    mask_padding(a.h1, lengths, B, T, C1);
    conv1d_forward(a.h2, a.h1, p.conv2_w, p.conv2_b, a.col2, B, T, C1, C2, KS);
    relu_forward(a.h2, a.h2, BT * C2);
    mask_padding(a.h2, lengths, B, T, C2);
    lstm_weights w[2];
    nn_bilstm_weights(&p.lstm, w);
    bilstm_forward(a.lo, a.h2, w, lengths, a.cache, B, T, C2, H, n_threads);
    const float *fc_in = a.lo;
    if ((training || buf->mc) && buf->dropout > 0) {
        dropout_forward_seqs(a.lod, a.lo, a.dmask, B, (size_t)T * 2 * H, buf->dropout, buf->seed, buf->seq_step, 1);
        fc_in = a.lod;
    }
    linear_forward(logits, fc_in, p.fc_w, p.fc_b, (int)BT, 2 * H, C);
}

static void crnn_backward(const a2m_model *m, const float *params, float *grads, nn_buffers *buf, const float *x,
                          const int *lengths, const float *dlogits, int B, int T, int n_threads) {
    (void)x;
    int F = m->info.n_bins, H = m->info.hidden, C = m->info.n_classes;
    size_t BT = (size_t)B * T;
    crnn_acts a = crnn_split(m, buf->acts, B, T);
    crnn_tensors p = crnn_bind(m, params), g = crnn_bind(m, grads);
    float *dlo = buf->scratch, *dh2 = dlo + BT * 2 * H, *dp2 = dh2 + BT * C2, *dh1 = dp2 + BT * C2,
          *dp1 = dh1 + BT * C1;
    float *ls = dp1 + BT * C1, *dlod = ls + lstm_scratch_floats(B, T, C2, H);
    nn_zero(dlo, BT * 2 * H);
    if (buf->dropout > 0) { /* the training forward dropped a.lo into a.lod */
        nn_zero(dlod, BT * 2 * H);
        linear_backward(dlod, g.fc_w, g.fc_b, dlogits, a.lod, p.fc_w, (int)BT, 2 * H, C);
        dropout_backward(dlo, dlod, a.dmask, BT * 2 * H);
    } else {
        linear_backward(dlo, g.fc_w, g.fc_b, dlogits, a.lo, p.fc_w, (int)BT, 2 * H, C);
    }
    lstm_weights w[2];
    lstm_grads lg[2];
    nn_bilstm_weights(&p.lstm, w);
    nn_bilstm_grads(&g.lstm, lg);
    nn_zero(dh2, BT * C2);
    bilstm_backward(dh2, lg, dlo, a.h2, w, lengths, a.cache, ls, B, T, C2, H, n_threads);
    mask_padding(dh2, lengths, B, T, C2);
    nn_zero(dp2, BT * C2);
    relu_backward(dp2, dh2, a.h2, BT * C2);
    nn_zero(dh1, BT * C1);
    conv1d_backward(dh1, g.conv2_w, g.conv2_b, dp2, a.col2, p.conv2_w, B, T, C1, C2, KS);
    mask_padding(dh1, lengths, B, T, C1);
    nn_zero(dp1, BT * C1);
    relu_backward(dp1, dh1, a.h1, BT * C1);
    conv1d_backward(buf->dx, g.conv0_w, g.conv0_b, dp1, a.col1, p.conv0_w, B, T, F, C1, KS);
}

/* PyTorch defaults: conv/linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * (kaiming_uniform with a = sqrt(5)), LSTM everything U(-1/sqrt(H), 1/sqrt(H)). */
static void crnn_init(const a2m_model *m, float *params, unsigned long long seed) {
    nn_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor *t = &m->tensors[i];
        double bound;
        if (i >= CRNN_LSTM && i < CRNN_FC_W) bound = 1.0 / sqrt(m->info.hidden);
        else if (i < CRNN_CONV2_W) bound = 1.0 / sqrt(m->info.n_bins * KS);
        else if (i < CRNN_LSTM) bound = 1.0 / sqrt(C1 * KS);
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
