/* U-Net over time on the CQT frames, then BiLSTM + dropout + Linear. As a
 * PyTorch module (tensor names are its state dict's):
 *
 *   enc1 = Sequential(Conv1d(bins, 64, 3, padding=1, bias=False), BatchNorm1d(64), ReLU)     T
 *   pool -> enc2 = Sequential(Conv1d(64, 128, 3, 1, bias=False), BatchNorm1d(128), ReLU)      T/2
 *   pool -> bott = Sequential(Conv1d(128, 128, 3, 1, bias=False), BatchNorm1d(128), ReLU)     T/4
 *           se   = squeeze-excitation: fc = Sequential(Linear(128, 16), ReLU, Linear(16, 128), Sigmoid)
 *   up2  = ConvTranspose1d(128, 128, 2, stride=2)                                              T/2
 *   dec2 = Sequential(Conv1d(256, 128, 3, 1, bias=False), BatchNorm1d(128), ReLU)  on cat([up2, enc2])
 *   up1  = ConvTranspose1d(128, 64, 2, stride=2)                                               T
 *   dec1 = Sequential(Conv1d(128, 64, 3, 1, bias=False), BatchNorm1d(64), ReLU)    on cat([up1, enc1])
 *   lstm = LSTM(64, hidden, bidirectional=True, batch_first=True); Dropout; fc = Linear(2*hidden, classes)
 *
 * Pools are MaxPool1d(2). T is padded with zero frames to a multiple of 4 and
 * the output cropped back. Padding (past T, or past lengths[b] in a batch) is
 * treated exactly: at every level the frames past the sequence are held at 0
 * (so convolutions see the same zeros as at a sequence's end) and BatchNorm
 * statistics leave them out; level lengths are ceil(L/2), ceil(L/4). A take
 * therefore gets the same logits alone or padded in a batch, in eval mode.
 * BatchNorm: momentum 0.1, eps 1e-5; running_mean / running_var are buffer
 * tensors in the file (num_batches_tracked is not stored; PyTorch fills it in
 * on load_state_dict of a state dict without it). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/arch.h"
#include "nn/layers.h"

enum { C1 = 64, C2 = 128, KS = 3, SE_R = 8, SEC = C2 / SE_R };
#define BN_EPS      1e-5f
#define BN_MOMENTUM 0.1f

static const char *const bn_names[5] = {"enc1", "enc2", "bott", "dec2", "dec1"};

/* The tensor table's order (unet_layout), the index of each tensor in a2m_model.tensors. */
enum unet_tensor {
    UNET_ENC1, /* each conv block five: conv weight, BatchNorm weight, bias, running_mean, running_var */
    UNET_ENC2 = UNET_ENC1 + 5,
    UNET_BOTT = UNET_ENC2 + 5,
    UNET_SE0_W = UNET_BOTT + 5,
    UNET_SE0_B,
    UNET_SE2_W,
    UNET_SE2_B,
    UNET_UP2_W,
    UNET_UP2_B,
    UNET_DEC2,
    UNET_UP1_W = UNET_DEC2 + 5,
    UNET_UP1_B,
    UNET_DEC1,
    UNET_LSTM = UNET_DEC1 + 5, /* eight: nn_bilstm_bind's order */
    UNET_FC_W = UNET_LSTM + 8,
    UNET_FC_B,
    UNET_N_TENSORS
};

/* Conv1d(cin, cout, 3, bias=False) + BatchNorm1d(cout) named prefix.0 and prefix.1, from table index first */
static void block_table(nn_tensor_spec *spec, int first, const char *prefix, int cin, int cout) {
    static const char *const sfx[5] = {"0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var"};
    for (int k = 0; k < 5; k++) {
        nn_tensor_spec *s = spec + first + k;
        *s = k ? (nn_tensor_spec){.ndim = 1, .shape = {cout}, .buffer = k >= 3}
               : (nn_tensor_spec){.ndim = 3, .shape = {cout, cin, KS}};
        snprintf(s->name, sizeof s->name, "%s.%s", prefix, sfx[k]);
    }
}

static int unet_layout(const a2m_model_info *in, nn_tensor *t, int max) {
    int H = in->hidden, F = in->n_bins, C = in->n_classes;
    nn_tensor_spec spec[UNET_N_TENSORS] = {
        [UNET_SE0_W] = {"se.fc.0.weight", 2, {SEC, C2}, 0}, [UNET_SE0_B] = {"se.fc.0.bias", 1, {SEC}, 0},
        [UNET_SE2_W] = {"se.fc.2.weight", 2, {C2, SEC}, 0}, [UNET_SE2_B] = {"se.fc.2.bias", 1, {C2}, 0},
        [UNET_UP2_W] = {"up2.weight", 3, {C2, C2, 2}, 0},   [UNET_UP2_B] = {"up2.bias", 1, {C2}, 0},
        [UNET_UP1_W] = {"up1.weight", 3, {C2, C1, 2}, 0},   [UNET_UP1_B] = {"up1.bias", 1, {C1}, 0},
        [UNET_FC_W] = {"fc.weight", 2, {C, 2 * H}, 0},      [UNET_FC_B] = {"fc.bias", 1, {C}, 0},
    };
    block_table(spec, UNET_ENC1, "enc1", F, C1);
    block_table(spec, UNET_ENC2, "enc2", C1, C2);
    block_table(spec, UNET_BOTT, "bott", C2, C2);
    block_table(spec, UNET_DEC2, "dec2", 2 * C2, C2);
    block_table(spec, UNET_DEC1, "dec1", 2 * C1, C1);
    nn_bilstm_table(spec, UNET_LSTM, C1, H);
    return nn_layout_table(spec, UNET_N_TENSORS, t, max);
}

static int unet_recognise(const char *const *names, const int (*shapes)[4], const int *ndims, int n,
                          a2m_model_info *info) {
    int c0[4], hh[4], fc[4], up[4];
    if (!nn_find_shape(names, shapes, ndims, n, "enc1.0.weight", 3, c0) ||
        !nn_find_shape(names, shapes, ndims, n, "up2.weight", 3, up) ||
        !nn_find_shape(names, shapes, ndims, n, "lstm.weight_hh_l0", 2, hh) ||
        !nn_find_shape(names, shapes, ndims, n, "fc.weight", 2, fc))
        return 0;
    info->n_bins = c0[1];
    info->hidden = hh[1];
    info->n_classes = fc[0];
    return 1;
}

/* ------------------------------------------------------------ buffers */

static int pad4(int T) { return (T + 3) / 4 * 4; }

/* Activations kept from forward for backward. Shapes with Tp = pad4(T), T1 = Tp/2, T2 = Tp/4. */
typedef struct unet_acts {
    int *len;        /* [3 x B] valid frames at levels 0, 1, 2 (ints stored in the float buffer) */
    float *xp;       /* [B x Tp x F] padded input */
    float *col_e1;   /* [B*Tp x F*3] */
    float *e1c;      /* [B x Tp x 64] conv out = BN in */
    float *e1;       /* [B x Tp x 64] BN + ReLU out */
    float *p1;       /* [B x T1 x 64] */
    float *col_e2;   /* [B*T1 x 64*3] */
    float *e2c, *e2; /* [B x T1 x 128] */
    float *p2;       /* [B x T2 x 128] */
    float *col_b;    /* [B*T2 x 128*3] */
    float *bc, *bb;  /* [B x T2 x 128] conv out, BN + ReLU out */
    float *se_cache; /* se_cache_floats(B, 128, 16) */
    float *bo;       /* [B x T2 x 128] SE out */
    float *col_u2;   /* [B*T2 x 128*2] */
    float *cat2;     /* [B x T1 x 256] cat(up2, enc2) */
    float *col_d2;   /* [B*T1 x 256*3] */
    float *d2c, *d2; /* [B x T1 x 128] */
    float *col_u1;   /* [B*T1 x 64*2] */
    float *cat1;     /* [B x Tp x 128] cat(up1, enc1) */
    float *col_d1;   /* [B*Tp x 128*3] */
    float *d1c, *d1; /* [B x Tp x 64] */
    float *lin;      /* [B x T x 64] d1 cropped to T */
    float *cache;    /* lstm_cache_floats(B, T, 64, H) */
    float *lo;       /* [B x T x 2H] LSTM out */
    float *dmask;    /* [B x T x 2H] dropout mask */
    float *lod;      /* [B x T x 2H] dropout out */
    float *save;     /* [5 x 2 x 128] BatchNorm mean, var of enc1, enc2, bott, dec2, dec1 */
} unet_acts;

#define TAKE(field, nfl) (a->field = base ? (void *)(base + off) : NULL, off += (nfl))

static size_t unet_acts_split(const a2m_model *m, float *base, int B, int T, unet_acts *a) {
    int F = m->info.n_bins, H = m->info.hidden, Tp = pad4(T), T1 = Tp / 2, T2 = Tp / 4;
    size_t b0 = (size_t)B * Tp, b1 = (size_t)B * T1, b2 = (size_t)B * T2, bt = (size_t)B * T, off = 0;
    TAKE(len, 3 * (size_t)B);
    TAKE(xp, b0 * F);
    TAKE(col_e1, b0 * F * KS);
    TAKE(e1c, b0 * C1), TAKE(e1, b0 * C1);
    TAKE(p1, b1 * C1);
    TAKE(col_e2, b1 * C1 * KS);
    TAKE(e2c, b1 * C2), TAKE(e2, b1 * C2);
    TAKE(p2, b2 * C2);
    TAKE(col_b, b2 * C2 * KS);
    TAKE(bc, b2 * C2), TAKE(bb, b2 * C2);
    TAKE(se_cache, se_cache_floats(B, C2, SEC));
    TAKE(bo, b2 * C2);
    TAKE(col_u2, conv_transpose1d_scratch_floats(B, T2, C2, 2));
    TAKE(cat2, b1 * 2 * C2);
    TAKE(col_d2, b1 * 2 * C2 * KS);
    TAKE(d2c, b1 * C2), TAKE(d2, b1 * C2);
    TAKE(col_u1, conv_transpose1d_scratch_floats(B, T1, C1, 2));
    TAKE(cat1, b0 * 2 * C1);
    TAKE(col_d1, b0 * 2 * C1 * KS);
    TAKE(d1c, b0 * C1), TAKE(d1, b0 * C1);
    TAKE(lin, bt * C1);
    TAKE(cache, lstm_cache_floats(B, T, C1, H));
    TAKE(lo, bt * 2 * H), TAKE(dmask, bt * 2 * H), TAKE(lod, bt * 2 * H);
    TAKE(save, 5 * 2 * (size_t)C2);
    return off;
}

static size_t unet_act_floats(const a2m_model *m, int B, int T) {
    unet_acts a;
    return unet_acts_split(m, NULL, B, T, &a);
}

/* Backward scratch: gradients of the activations. */
typedef struct unet_grads {
    float *dlod, *dlo;      /* [B x T x 2H] */
    float *dlin;            /* [B x T x 64] */
    float *ls;              /* lstm_scratch_floats */
    float *g0a, *g0b;       /* [B x Tp x 64] level-0 temporaries */
    float *dcat1;           /* [B x Tp x 128] */
    float *du1, *de1;       /* [B x Tp x 64] */
    float *g1a, *g1b;       /* [B x T1 x 128] level-1 temporaries */
    float *dcat2;           /* [B x T1 x 256] */
    float *du2, *de2;       /* [B x T1 x 128] */
    float *dp1;             /* [B x T1 x 64] */
    float *g2a, *g2b, *g2c; /* [B x T2 x 128] level-2 temporaries */
    float *se_scratch;      /* se_scratch_floats */
} unet_grads;

static size_t unet_grads_split(const a2m_model *m, float *base, int B, int T, unet_grads *a) {
    int H = m->info.hidden, Tp = pad4(T), T1 = Tp / 2, T2 = Tp / 4;
    size_t b0 = (size_t)B * Tp, b1 = (size_t)B * T1, b2 = (size_t)B * T2, bt = (size_t)B * T, off = 0;
    TAKE(dlod, bt * 2 * H), TAKE(dlo, bt * 2 * H);
    TAKE(dlin, bt * C1);
    TAKE(ls, lstm_scratch_floats(B, T, C1, H));
    TAKE(g0a, b0 * C1), TAKE(g0b, b0 * C1);
    TAKE(dcat1, b0 * 2 * C1);
    TAKE(du1, b0 * C1), TAKE(de1, b0 * C1);
    TAKE(g1a, b1 * C2), TAKE(g1b, b1 * C2);
    TAKE(dcat2, b1 * 2 * C2);
    TAKE(du2, b1 * C2), TAKE(de2, b1 * C2);
    TAKE(dp1, b1 * C1);
    TAKE(g2a, b2 * C2), TAKE(g2b, b2 * C2), TAKE(g2c, b2 * C2);
    TAKE(se_scratch, se_scratch_floats(B, C2, SEC));
    return off;
}
#undef TAKE

static size_t unet_scratch_floats(const a2m_model *m, int B, int T) {
    unet_grads g;
    return unet_grads_split(m, NULL, B, T, &g);
}

/* A conv block's tensors (block_table) */
typedef struct unet_block {
    float *conv_w;           /* [cout x cin x 3] */
    float *bn_w, *bn_b;      /* [cout] */
    float *bn_mean, *bn_var; /* [cout] running statistics (buffers) */
} unet_block;

/* The parameters (or their gradients: the same offsets) as typed pointers, llm.c's ParameterTensors. */
typedef struct unet_tensors {
    unet_block blk[5];      /* enc1, enc2, bott, dec2, dec1 (bn_names' order) */
    float *se0_w, *se0_b;   /* [16 x 128], [16] */
    float *se2_w, *se2_b;   /* [128 x 16], [128] */
    float *up2_w, *up2_b;   /* [128 x 128 x 2], [128] */
    float *up1_w, *up1_b;   /* [128 x 64 x 2], [64] */
    nn_bilstm_tensors lstm; /* 64 inputs, H hidden */
    float *fc_w, *fc_b;     /* [C x 2H], [C] */
} unet_tensors;
enum { ENC1, ENC2, BOTT, DEC2, DEC1 };

static unet_tensors unet_bind(const a2m_model *m, const float *base) {
    static const int first[5] = {UNET_ENC1, UNET_ENC2, UNET_BOTT, UNET_DEC2, UNET_DEC1};
    unet_tensors w;
    for (int i = 0; i < 5; i++) {
        int k = first[i];
        w.blk[i] = (unet_block){nn_at(m, base, k), nn_at(m, base, k + 1), nn_at(m, base, k + 2), nn_at(m, base, k + 3),
                                nn_at(m, base, k + 4)};
    }
    w.se0_w = nn_at(m, base, UNET_SE0_W), w.se0_b = nn_at(m, base, UNET_SE0_B);
    w.se2_w = nn_at(m, base, UNET_SE2_W), w.se2_b = nn_at(m, base, UNET_SE2_B);
    w.up2_w = nn_at(m, base, UNET_UP2_W), w.up2_b = nn_at(m, base, UNET_UP2_B);
    w.up1_w = nn_at(m, base, UNET_UP1_W), w.up1_b = nn_at(m, base, UNET_UP1_B);
    w.lstm = nn_bilstm_bind(m, base, UNET_LSTM);
    w.fc_w = nn_at(m, base, UNET_FC_W), w.fc_b = nn_at(m, base, UNET_FC_B);
    return w;
}

/* Zeroes frames t >= len[b] of x [B x T x C]. */
static void mask_frames(float *x, const int *len, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        if (len[b] < T) memset(x + ((size_t)b * T + len[b]) * C, 0, (size_t)(T - len[b]) * C * sizeof *x);
}

/* out [B x T x (Ca+Cb)] = cat(a [B x T x Ca], b [B x T x Cb]) over channels */
static void concat(float *out, const float *a, const float *b, size_t rows, int Ca, int Cb) {
    for (size_t r = 0; r < rows; r++) {
        memcpy(out + r * (Ca + Cb), a + r * Ca, (size_t)Ca * sizeof *out);
        memcpy(out + r * (Ca + Cb) + Ca, b + r * Cb, (size_t)Cb * sizeof *out);
    }
}
/* da = d[:, :Ca] (overwrites), db += d[:, Ca:] */
static void split_grad(float *da, float *db, const float *d, size_t rows, int Ca, int Cb) {
    for (size_t r = 0; r < rows; r++) {
        memcpy(da + r * Ca, d + r * (Ca + Cb), (size_t)Ca * sizeof *da);
        const float *s = d + r * (Ca + Cb) + Ca;
        float *o = db + r * Cb;
        for (int c = 0; c < Cb; c++) o[c] += s[c];
    }
}

/* Conv1d (no bias) + BatchNorm1d + ReLU of block w on level lengths len; keeps conv out and BN stats. */
static void conv_bn_relu(const unet_block *w, float *out, float *conv_out, const float *in, float *col, float *save,
                         const int *len, int B, int T, int Cin, int Cout, int training) {
    conv1d_forward(conv_out, in, w->conv_w, NULL, col, B, T, Cin, Cout, KS);
    batchnorm_forward(out, conv_out, w->bn_w, w->bn_b, w->bn_mean, w->bn_var, save, len, B, T, Cout, BN_EPS, training);
    relu_forward(out, out, (size_t)B * T * Cout); /* padding stays 0 */
}

/* Backward of conv_bn_relu: din += d(in) (if din), parameter gradients added into g. dout is the gradient of out;
 * tmp_a, tmp_b [B x T x Cout] temporaries. */
static void conv_bn_relu_backward(const unet_block *w, const unet_block *g, float *din, const float *dout,
                                  const float *out, const float *conv_out, float *col, const float *save,
                                  const int *len, float *tmp_a, float *tmp_b, int B, int T, int Cin, int Cout,
                                  int training) {
    size_t n = (size_t)B * T * Cout;
    nn_zero(tmp_a, n);
    relu_backward(tmp_a, dout, out, n);
    nn_zero(tmp_b, n);
    batchnorm_backward(tmp_b, g->bn_w, g->bn_b, tmp_a, conv_out, w->bn_w, save, len, B, T, Cout, BN_EPS, training);
    conv1d_backward(din, g->conv_w, NULL, tmp_b, col, w->conv_w, B, T, Cin, Cout, KS);
}

static void unet_forward(const a2m_model *m, const float *params, nn_buffers *buf, const float *x, const int *lengths,
                         int B, int T, float *logits, int n_threads, int training) {
    int F = m->info.n_bins, H = m->info.hidden, C = m->info.n_classes;
    int Tp = pad4(T), T1 = Tp / 2, T2 = Tp / 4;
    size_t BT = (size_t)B * T;
    unet_acts a;
    unet_acts_split(m, buf->acts, B, T, &a);
    int *L0 = a.len, *L1 = L0 + B, *L2 = L1 + B;
    for (int b = 0; b < B; b++) {
        L0[b] = lengths ? (lengths[b] < 0 ? 0 : lengths[b] > T ? T : lengths[b]) : T;
        L1[b] = (L0[b] + 1) / 2, L2[b] = (L1[b] + 1) / 2;
    }
    nn_zero(a.xp, (size_t)B * Tp * F);
    for (int b = 0; b < B; b++)
        memcpy(a.xp + (size_t)b * Tp * F, x + (size_t)b * T * F, (size_t)L0[b] * F * sizeof *a.xp);
    float *sv = a.save;
    unet_tensors p = unet_bind(m, params);
    conv_bn_relu(&p.blk[ENC1], a.e1, a.e1c, a.xp, a.col_e1, sv, L0, B, Tp, F, C1, training);
    maxpool1d_forward(a.p1, a.e1, B, Tp, C1, 2);
    conv_bn_relu(&p.blk[ENC2], a.e2, a.e2c, a.p1, a.col_e2, sv + 2 * C2, L1, B, T1, C1, C2, training);
    maxpool1d_forward(a.p2, a.e2, B, T1, C2, 2);
    conv_bn_relu(&p.blk[BOTT], a.bb, a.bc, a.p2, a.col_b, sv + 4 * C2, L2, B, T2, C2, C2, training);
    se_forward(a.bo, a.bb, p.se0_w, p.se0_b, p.se2_w, p.se2_b, a.se_cache, L2, B, T2, C2, SEC);
    /* up2 into the first half of cat2's rows: computed into d2 (free until dec2) then concatenated */
    conv_transpose1d_forward(a.d2, a.bo, p.up2_w, p.up2_b, a.col_u2, B, T2, C2, C2, 2, 2);
    mask_frames(a.d2, L1, B, T1, C2);
    concat(a.cat2, a.d2, a.e2, (size_t)B * T1, C2, C2);
    conv_bn_relu(&p.blk[DEC2], a.d2, a.d2c, a.cat2, a.col_d2, sv + 6 * C2, L1, B, T1, 2 * C2, C2, training);
    conv_transpose1d_forward(a.d1, a.d2, p.up1_w, p.up1_b, a.col_u1, B, T1, C2, C1, 2, 2);
    mask_frames(a.d1, L0, B, Tp, C1);
    concat(a.cat1, a.d1, a.e1, (size_t)B * Tp, C1, C1);
    conv_bn_relu(&p.blk[DEC1], a.d1, a.d1c, a.cat1, a.col_d1, sv + 8 * C2, L0, B, Tp, 2 * C1, C1, training);
    for (int b = 0; b < B; b++)
        memcpy(a.lin + (size_t)b * T * C1, a.d1 + (size_t)b * Tp * C1, (size_t)T * C1 * sizeof *a.lin);
    lstm_weights w[2];
    nn_bilstm_weights(&p.lstm, w);
    bilstm_forward(a.lo, a.lin, w, lengths, a.cache, B, T, C1, H, n_threads);
    int drop = training || buf->mc;
    dropout_forward_seqs(a.lod, a.lo, a.dmask, B, (size_t)T * 2 * H, drop ? buf->dropout : 0.0f, buf->seed,
                         buf->seq_step, drop);
    linear_forward(logits, a.lod, p.fc_w, p.fc_b, (int)BT, 2 * H, C);
}

/* A decoder level's backward (after a training forward): conv-BN-ReLU block w (gradients into g) over the
 * concatenation [up, skip] (2C channels in, C out) from dd, the gradient of its output d [B x Tn x C]; the input's
 * gradient (dcat, [B x Tn x 2C]) splits into the up path's du (frames past L zeroed) and the skip's de. dd may be
 * du's memory. */
static void dec_backward(const unet_block *w, const unet_block *g, float *du, float *de, float *dcat, const float *dd,
                         const float *d, const float *dc, float *col, const float *save, const int *L, float *tmp_a,
                         float *tmp_b, int B, int Tn, int C) {
    size_t rows = (size_t)B * Tn;
    nn_zero(dcat, rows * 2 * C);
    conv_bn_relu_backward(w, g, dcat, dd, d, dc, col, save, L, tmp_a, tmp_b, B, Tn, 2 * C, C, 1);
    nn_zero(de, rows * C);
    split_grad(du, de, dcat, rows, C, C);
    mask_frames(du, L, B, Tn, C);
}

static void unet_backward(const a2m_model *m, const float *params, float *grads, nn_buffers *buf, const float *x,
                          const int *lengths, const float *dlogits, int B, int T, int n_threads) {
    (void)x;
    int F = m->info.n_bins, H = m->info.hidden, C = m->info.n_classes;
    int Tp = pad4(T), T1 = Tp / 2, T2 = Tp / 4;
    size_t BT = (size_t)B * T, b0 = (size_t)B * Tp, b1 = (size_t)B * T1, b2 = (size_t)B * T2;
    const int training = 1; /* backward follows a training forward */
    unet_acts a;
    unet_acts_split(m, buf->acts, B, T, &a);
    unet_grads g;
    unet_grads_split(m, buf->scratch, B, T, &g);
    const int *L0 = a.len, *L1 = L0 + B, *L2 = L1 + B;
    const float *sv = a.save;
    unet_tensors p = unet_bind(m, params), gw = unet_bind(m, grads);

    nn_zero(g.dlod, BT * 2 * H);
    linear_backward(g.dlod, gw.fc_w, gw.fc_b, dlogits, a.lod, p.fc_w, (int)BT, 2 * H, C);
    nn_zero(g.dlo, BT * 2 * H);
    dropout_backward(g.dlo, g.dlod, a.dmask, BT * 2 * H);
    lstm_weights w[2];
    lstm_grads lg[2];
    nn_bilstm_weights(&p.lstm, w);
    nn_bilstm_grads(&gw.lstm, lg);
    nn_zero(g.dlin, BT * C1);
    bilstm_backward(g.dlin, lg, g.dlo, a.lin, w, lengths, a.cache, g.ls, B, T, C1, H, n_threads);

    /* level 0: uncrop, dec1 */
    float *dd1 = g.du1; /* gradient of d1 [B x Tp x 64]; du1 is free until the split below */
    nn_zero(dd1, b0 * C1);
    for (int b = 0; b < B; b++)
        memcpy(dd1 + (size_t)b * Tp * C1, g.dlin + (size_t)b * T * C1, (size_t)T * C1 * sizeof *dd1);
    dec_backward(&p.blk[DEC1], &gw.blk[DEC1], g.du1, g.de1, g.dcat1, dd1, a.d1, a.d1c, a.col_d1, sv + 8 * C2, L0, g.g0a,
                 g.g0b, B, Tp, C1);
    /* up1 from d2 */
    float *dd2 = g.du2; /* gradient of d2 [B x T1 x 128]; du2 is free until its split */
    nn_zero(dd2, b1 * C2);
    conv_transpose1d_backward(dd2, gw.up1_w, gw.up1_b, g.du1, a.d2, p.up1_w, a.col_u1, B, T1, C2, C1, 2, 2);
    dec_backward(&p.blk[DEC2], &gw.blk[DEC2], g.du2, g.de2, g.dcat2, dd2, a.d2, a.d2c, a.col_d2, sv + 6 * C2, L1, g.g1a,
                 g.g1b, B, T1, C2);
    /* up2 from the SE output */
    float *dbo = g.g2a, *dbb = g.g2b, *dp2 = g.g2c;
    nn_zero(dbo, b2 * C2);
    conv_transpose1d_backward(dbo, gw.up2_w, gw.up2_b, g.du2, a.bo, p.up2_w, a.col_u2, B, T2, C2, C2, 2, 2);
    nn_zero(dbb, b2 * C2);
    se_backward(dbb, gw.se0_w, gw.se0_b, gw.se2_w, gw.se2_b, dbo, a.bb, p.se0_w, p.se2_w, a.se_cache, g.se_scratch, L2,
                B, T2, C2, SEC);
    nn_zero(dp2, b2 * C2);
    /* dbo is free now: temporaries of the bottleneck's backward are dbo and g1a (>= level-2 size) */
    conv_bn_relu_backward(&p.blk[BOTT], &gw.blk[BOTT], dp2, dbb, a.bb, a.bc, a.col_b, sv + 4 * C2, L2, dbo, g.g1a, B,
                          T2, C2, C2, training);
    /* enc2 gets the skip gradient (already in de2) plus the pool's */
    maxpool1d_backward(g.de2, dp2, a.e2, B, T1, C2, 2);
    nn_zero(g.dp1, b1 * C1);
    conv_bn_relu_backward(&p.blk[ENC2], &gw.blk[ENC2], g.dp1, g.de2, a.e2, a.e2c, a.col_e2, sv + 2 * C2, L1, g.g1a,
                          g.g1b, B, T1, C1, C2, training);
    maxpool1d_backward(g.de1, g.dp1, a.e1, B, Tp, C1, 2);
    conv_bn_relu_backward(&p.blk[ENC1], &gw.blk[ENC1], NULL, g.de1, a.e1, a.e1c, a.col_e1, sv, L0, g.g0a, g.g0b, B, Tp,
                          F, C1, training);
}

static void unet_update_buffers(const a2m_model *m, float *params, const nn_buffers *buf, int B, int T) {
    unet_acts a;
    unet_acts_split(m, buf->acts, B, T, &a);
    unet_tensors p = unet_bind(m, params);
    int chans[5] = {C1, C2, C2, C2, C1}, level[5] = {0, 1, 2, 1, 0};
    for (int i = 0; i < 5; i++) {
        size_t n = 0;
        for (int b = 0; b < B; b++) n += (size_t)a.len[level[i] * B + b];
        batchnorm_update_running(p.blk[i].bn_mean, p.blk[i].bn_var, a.save + (size_t)i * 2 * C2, n, chans[i],
                                 BN_MOMENTUM);
    }
}

/* PyTorch defaults: conv, conv-transpose and linear weights and biases
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = size(1) * kernel (for
 * ConvTranspose1d's [Cin x Cout x K] that is Cout*K, as PyTorch computes it);
 * LSTM U(-1/sqrt(H), 1/sqrt(H)); BatchNorm weight 1, bias 0, running mean 0, var 1. */
static void unet_init(const a2m_model *m, float *params, unsigned long long seed) {
    nn_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor *t = &m->tensors[i];
        float *p = params + t->offset;
        const char *dot = strrchr(t->name, '.');
        int is_bn = 0;
        for (int k = 0; k < 5; k++)
            if (!strncmp(t->name, bn_names[k], 4) && !strncmp(t->name + 4, ".1.", 3)) is_bn = 1;
        if (is_bn) {
            float v = !strcmp(dot, ".weight") || !strcmp(dot, ".running_var") ? 1.0f : 0.0f;
            for (size_t k = 0; k < t->count; k++) p[k] = v;
            continue;
        }
        double bound;
        if (!strncmp(t->name, "lstm.", 5)) {
            bound = 1.0 / sqrt(m->info.hidden);
        } else {
            const nn_tensor *wt = t;
            if (!strcmp(dot, ".bias")) { /* the bias takes its weight's fan_in */
                char wn[64];
                snprintf(wn, sizeof wn, "%.*sweight", (int)(dot - t->name + 1), t->name);
                wt = nn_model_tensor(m, wn);
            }
            size_t fan_in = 1;
            for (int d = 1; d < wt->ndim; d++) fan_in *= (size_t)wt->shape[d];
            bound = 1.0 / sqrt((double)fan_in);
        }
        for (size_t k = 0; k < t->count; k++) p[k] = (float)((2 * nn_rng_uniform(&r) - 1) * bound);
    }
}

const a2m_arch nn_arch_unet = {
    "unet",
    unet_layout,
    unet_recognise,
    unet_act_floats,
    unet_scratch_floats,
    unet_forward,
    unet_backward,
    unet_init,
    unet_update_buffers,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};
