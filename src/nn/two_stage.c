/* Two-stage model (issue 10 §3, the original project's open question): a
 * voicing CRNN (silence or sung) and a pitch CRNN (which note, given sung),
 * both the crnn architecture (crnn.c) with their tensors prefixed "voicing."
 * and "pitch.". Its outputs are log-probabilities of the one-stage classes:
 *   z_0 = log p_v(silence),  z_c = log p_v(sung) + log p_p(c)   (c >= 1)
 * so softmax(z) = [p_v(silence), p_v(sung) p_p(1), ...] sums to 1 and every
 * consumer of logits (eval, transcribe, forward) runs unchanged. Trained with
 * cross-entropy on z, the loss is -log p_v(silence) on silent frames and
 * -log p_v(sung) - log p_p(c) on sung ones: the two stages' own losses (the
 * pitch stage learns from sung frames only), as if trained apart. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/arch.h"
#include "nn/layers.h"

static const char *const prefix[2] = {"voicing.", "pitch."};

static int stage_classes(const a2m_model_info *in, int s) { return s == 0 ? 2 : in->n_classes - 1; }

static int ts_layout(const a2m_model_info *in, nn_tensor *t, int max) {
    int n = 0;
    for (int s = 0; s < 2; s++) {
        a2m_model_info si = *in;
        si.n_classes = stage_classes(in, s);
        int k = nn_arch_crnn.layout(&si, t + n, max - n);
        if (k < 0) return -1;
        for (int i = n; i < n + k; i++) {
            char name[64];
            snprintf(name, sizeof name, "%s%s", prefix[s], t[i].name);
            snprintf(t[i].name, sizeof t[i].name, "%s", name);
        }
        n += k;
    }
    return n;
}

static int ts_recognise(const char *const *names, const int (*shapes)[4], const int *ndims, int n,
                        a2m_model_info *info) {
    int c0[4], hh[4], vfc[4], pfc[4];
    if (n != 28 || !nn_find_shape(names, shapes, ndims, n, "voicing.conv.0.weight", 3, c0) ||
        !nn_find_shape(names, shapes, ndims, n, "voicing.lstm.weight_hh_l0", 2, hh) ||
        !nn_find_shape(names, shapes, ndims, n, "voicing.fc.weight", 2, vfc) ||
        !nn_find_shape(names, shapes, ndims, n, "pitch.fc.weight", 2, pfc) || vfc[0] != 2)
        return 0;
    info->n_bins = c0[1], info->hidden = hh[1], info->n_classes = pfc[0] + 1;
    return 1;
}

/* Stage s of m as a crnn model whose tensors point into m's parameter array. */
static void stage_model(const a2m_model *m, int s, a2m_model *out) {
    out->info = m->info;
    out->info.n_classes = stage_classes(&m->info, s);
    out->arch = &nn_arch_crnn;
    out->n_tensors = nn_arch_crnn.layout(&out->info, out->tensors, A2M_MAX_TENSORS);
    out->params = NULL, out->has_norm = m->has_norm, out->n_params = 0;
    int first = s == 0 ? 0 : m->n_tensors / 2;
    for (int i = 0; i < out->n_tensors; i++) {
        out->tensors[i].offset = m->tensors[first + i].offset;
        out->tensors[i].count = m->tensors[first + i].count;
        out->n_params += out->tensors[i].count;
    }
}

/* activations: voicing crnn | pitch crnn | voicing logits [BT x 2] | pitch logits [BT x (C-1)] */
static size_t ts_act_floats(const a2m_model *m, int B, int T) {
    a2m_model v, p;
    stage_model(m, 0, &v), stage_model(m, 1, &p);
    size_t BT = (size_t)B * T;
    return nn_arch_crnn.act_floats(&v, B, T) + nn_arch_crnn.act_floats(&p, B, T) + BT * (size_t)(m->info.n_classes + 1);
}

/* scratch: the larger stage's | d voicing logits [BT x 2] | d pitch logits [BT x (C-1)] */
static size_t ts_scratch_floats(const a2m_model *m, int B, int T) {
    a2m_model v, p;
    stage_model(m, 0, &v), stage_model(m, 1, &p);
    size_t a = nn_arch_crnn.scratch_floats(&v, B, T), b = nn_arch_crnn.scratch_floats(&p, B, T);
    return (a > b ? a : b) + (size_t)B * T * (size_t)(m->info.n_classes + 1);
}

/* log-softmax of one row z [n] into out [n] */
static void log_softmax_row(float *out, const float *z, int n) {
    double mx = z[0], se = 0;
    for (int c = 1; c < n; c++) mx = fmax(mx, z[c]);
    for (int c = 0; c < n; c++) se += exp(z[c] - mx);
    double lse = mx + log(se);
    for (int c = 0; c < n; c++) out[c] = (float)(z[c] - lse);
}

/* out [N x C] from voicing logits zv [N x 2] and pitch logits zp [N x (C-1)] (see the top of the file) */
static void combine_forward(float *out, const float *zv, const float *zp, size_t N, int C) {
    float lv[2], lp[A2M_MAX_CLASSES];
    for (size_t i = 0; i < N; i++) {
        log_softmax_row(lv, zv + 2 * i, 2);
        log_softmax_row(lp, zp + (size_t)(C - 1) * i, C - 1);
        float *o = out + (size_t)C * i;
        o[0] = lv[0];
        for (int c = 1; c < C; c++) o[c] = lv[1] + lp[c - 1];
    }
}

/* dzv [N x 2], dzp [N x (C-1)] (written) from dout [N x C]: through z_c = lv + lp, then log-softmax's
 * backward d z = d l - softmax(z) sum(d l) */
static void combine_backward(float *dzv, float *dzp, const float *dout, const float *zv, const float *zp, size_t N,
                             int C) {
    float sv[2], sp[A2M_MAX_CLASSES];
    for (size_t i = 0; i < N; i++) {
        const float *d = dout + (size_t)C * i;
        softmax_rows(sv, zv + 2 * i, 1, 2);
        softmax_rows(sp, zp + (size_t)(C - 1) * i, 1, C - 1);
        double dl1 = 0, dsum_p = 0;
        for (int c = 1; c < C; c++) dl1 += d[c], dsum_p += d[c];
        double dsum_v = d[0] + dl1;
        dzv[2 * i] = (float)(d[0] - sv[0] * dsum_v);
        dzv[2 * i + 1] = (float)(dl1 - sv[1] * dsum_v);
        for (int c = 1; c < C; c++) dzp[(size_t)(C - 1) * i + c - 1] = (float)(d[c] - sp[c - 1] * dsum_p);
    }
}

/* the stages' buffers inside buf; the pitch stage's dropout masks from another seed */
static void stage_buffers(const a2m_model *v, const a2m_model *p, const nn_buffers *buf, int B, int T, nn_buffers *bv,
                          nn_buffers *bp, float **zv, float **zp) {
    *bv = *buf, *bp = *buf;
    bp->acts = buf->acts + nn_arch_crnn.act_floats(v, B, T);
    bp->seed = buf->seed * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull;
    bp->seq_step = buf->seq_step * 0xD1B54A32D192ED03ull; /* sequence b's: (seed + b step) x that + the same */
    *zv = bp->acts + nn_arch_crnn.act_floats(p, B, T);
    *zp = *zv + (size_t)B * T * 2;
}

static void ts_forward(const a2m_model *m, const float *params, nn_buffers *buf, const float *x, const int *lengths,
                       int B, int T, float *logits, int n_threads, int training) {
    a2m_model v, p;
    stage_model(m, 0, &v), stage_model(m, 1, &p);
    nn_buffers bv, bp;
    float *zv, *zp;
    stage_buffers(&v, &p, buf, B, T, &bv, &bp, &zv, &zp);
    nn_arch_crnn.forward(&v, params, &bv, x, lengths, B, T, zv, n_threads, training);
    nn_arch_crnn.forward(&p, params, &bp, x, lengths, B, T, zp, n_threads, training);
    combine_forward(logits, zv, zp, (size_t)B * T, m->info.n_classes);
}

static void ts_backward(const a2m_model *m, const float *params, float *grads, nn_buffers *buf, const float *x,
                        const int *lengths, const float *dlogits, int B, int T, int n_threads) {
    a2m_model v, p;
    stage_model(m, 0, &v), stage_model(m, 1, &p);
    nn_buffers bv, bp;
    float *zv, *zp;
    stage_buffers(&v, &p, buf, B, T, &bv, &bp, &zv, &zp);
    size_t BT = (size_t)B * T, sa = nn_arch_crnn.scratch_floats(&v, B, T), sb = nn_arch_crnn.scratch_floats(&p, B, T);
    float *dzv = buf->scratch + (sa > sb ? sa : sb), *dzp = dzv + BT * 2;
    combine_backward(dzv, dzp, dlogits, zv, zp, BT, m->info.n_classes);
    nn_arch_crnn.backward(&v, params, grads, &bv, x, lengths, dzv, B, T, n_threads);
    nn_arch_crnn.backward(&p, params, grads, &bp, x, lengths, dzp, B, T, n_threads);
}

static void ts_init(const a2m_model *m, float *params, unsigned long long seed) {
    a2m_model v, p;
    stage_model(m, 0, &v), stage_model(m, 1, &p);
    nn_arch_crnn.init(&v, params, seed);
    nn_arch_crnn.init(&p, params, seed * 0x2545F4914F6CDD1Dull + 1);
}

const a2m_arch nn_arch_two_stage = {
    "two-stage", ts_layout,   ts_recognise, ts_act_floats, ts_scratch_floats,
    ts_forward,  ts_backward, ts_init,      NULL,          NULL,
    NULL,        NULL,        NULL,         NULL,
};
