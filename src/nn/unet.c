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

static int unet_layout(const a2m_model_info *in, nn_tensor *t, int max) {
    int H = in->hidden, F = in->n_bins, C = in->n_classes;
    int n = 0;
#define T3(nm, a, b, c)                                                                                                \
    (n < max ? (snprintf(t[n].name, sizeof t[n].name, "%s", nm), t[n].ndim = 3, t[n].shape[0] = (a),                   \
                t[n].shape[1] = (b), t[n].shape[2] = (c), t[n].buffer = 0, n++)                                        \
             : n++)
#define T2(nm, a, b)                                                                                                   \
    (n < max ? (snprintf(t[n].name, sizeof t[n].name, "%s", nm), t[n].ndim = 2, t[n].shape[0] = (a),                   \
                t[n].shape[1] = (b), t[n].buffer = 0, n++)                                                             \
             : n++)
#define T1(nm, a, buf)                                                                                                 \
    (n < max ? (snprintf(t[n].name, sizeof t[n].name, "%s", nm), t[n].ndim = 1, t[n].shape[0] = (a),                   \
                t[n].buffer = (buf), n++)                                                                              \
             : n++)
    struct {
        const char *p;
        int cin, cout;
    } conv[5] = {{"enc1", F, C1}, {"enc2", C1, C2}, {"bott", C2, C2}, {"dec2", 2 * C2, C2}, {"dec1", 2 * C1, C1}};
    char nm[64];
    for (int i = 0; i < 5; i++) {
        snprintf(nm, sizeof nm, "%s.0.weight", conv[i].p), T3(nm, conv[i].cout, conv[i].cin, KS);
        snprintf(nm, sizeof nm, "%s.1.weight", conv[i].p), T1(nm, conv[i].cout, 0);
        snprintf(nm, sizeof nm, "%s.1.bias", conv[i].p), T1(nm, conv[i].cout, 0);
        snprintf(nm, sizeof nm, "%s.1.running_mean", conv[i].p), T1(nm, conv[i].cout, 1);
        snprintf(nm, sizeof nm, "%s.1.running_var", conv[i].p), T1(nm, conv[i].cout, 1);
        if (i == 2) {
            T2("se.fc.0.weight", SEC, C2), T1("se.fc.0.bias", SEC, 0);
            T2("se.fc.2.weight", C2, SEC), T1("se.fc.2.bias", C2, 0);
            T3("up2.weight", C2, C2, 2), T1("up2.bias", C2, 0);
        }
        if (i == 3) T3("up1.weight", C2, C1, 2), T1("up1.bias", C1, 0);
    }
    const char *sfx[2] = {"", "_reverse"};
    for (int d = 0; d < 2; d++) {
        snprintf(nm, sizeof nm, "lstm.weight_ih_l0%s", sfx[d]), T2(nm, 4 * H, C1);
        snprintf(nm, sizeof nm, "lstm.weight_hh_l0%s", sfx[d]), T2(nm, 4 * H, H);
        snprintf(nm, sizeof nm, "lstm.bias_ih_l0%s", sfx[d]), T1(nm, 4 * H, 0);
        snprintf(nm, sizeof nm, "lstm.bias_hh_l0%s", sfx[d]), T1(nm, 4 * H, 0);
    }
    T2("fc.weight", C, 2 * H), T1("fc.bias", C, 0);
#undef T1
#undef T2
#undef T3
    return n <= max ? n : -1;
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

#define P(name) (params + nn_model_tensor(m, name)->offset)
#define G(name) (grads + nn_model_tensor(m, name)->offset)

static const float *pt(const a2m_model *m, const float *params, const char *prefix, const char *suffix) {
    char nm[64];
    snprintf(nm, sizeof nm, "%s%s", prefix, suffix);
    return params + nn_model_tensor(m, nm)->offset;
}
static float *gt(const a2m_model *m, float *grads, const char *prefix, const char *suffix) {
    char nm[64];
    snprintf(nm, sizeof nm, "%s%s", prefix, suffix);
    return grads + nn_model_tensor(m, nm)->offset;
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

static void lstm_bind(const a2m_model *m, const float *params, lstm_weights w[2]) {
    w[0] = (lstm_weights){P("lstm.weight_ih_l0"), P("lstm.weight_hh_l0"), P("lstm.bias_ih_l0"), P("lstm.bias_hh_l0")};
    w[1] = (lstm_weights){P("lstm.weight_ih_l0_reverse"), P("lstm.weight_hh_l0_reverse"), P("lstm.bias_ih_l0_reverse"),
                          P("lstm.bias_hh_l0_reverse")};
}

/* Conv1d (no bias) + BatchNorm1d + ReLU on level lengths len; returns nothing, keeps conv out and BN stats. */
static void conv_bn_relu(const a2m_model *m, const float *params, const char *name, float *out, float *conv_out,
                         const float *in, float *col, float *save, const int *len, int B, int T, int Cin, int Cout,
                         int training) {
    conv1d_forward(conv_out, in, pt(m, params, name, ".0.weight"), NULL, col, B, T, Cin, Cout, KS);
    batchnorm_forward(out, conv_out, pt(m, params, name, ".1.weight"), pt(m, params, name, ".1.bias"),
                      pt(m, params, name, ".1.running_mean"), pt(m, params, name, ".1.running_var"), save, len, B, T,
                      Cout, BN_EPS, training);
    relu_forward(out, out, (size_t)B * T * Cout); /* padding stays 0 */
}

/* Backward of conv_bn_relu: din += d(in) (if din), parameter gradients added. dout is the gradient of out;
 * tmp_a, tmp_b [B x T x Cout] temporaries. */
static void conv_bn_relu_backward(const a2m_model *m, const float *params, float *grads, const char *name, float *din,
                                  const float *dout, const float *out, const float *conv_out, float *col,
                                  const float *save, const int *len, float *tmp_a, float *tmp_b, int B, int T, int Cin,
                                  int Cout, int training) {
    size_t n = (size_t)B * T * Cout;
    nn_zero(tmp_a, n);
    relu_backward(tmp_a, dout, out, n);
    nn_zero(tmp_b, n);
    batchnorm_backward(tmp_b, gt(m, grads, name, ".1.weight"), gt(m, grads, name, ".1.bias"), tmp_a, conv_out,
                       pt(m, params, name, ".1.weight"), save, len, B, T, Cout, BN_EPS, training);
    conv1d_backward(din, gt(m, grads, name, ".0.weight"), NULL, tmp_b, col, pt(m, params, name, ".0.weight"), B, T, Cin,
                    Cout, KS);
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
    conv_bn_relu(m, params, "enc1", a.e1, a.e1c, a.xp, a.col_e1, sv, L0, B, Tp, F, C1, training);
    maxpool1d_forward(a.p1, a.e1, B, Tp, C1, 2);
    conv_bn_relu(m, params, "enc2", a.e2, a.e2c, a.p1, a.col_e2, sv + 2 * C2, L1, B, T1, C1, C2, training);
    maxpool1d_forward(a.p2, a.e2, B, T1, C2, 2);
    conv_bn_relu(m, params, "bott", a.bb, a.bc, a.p2, a.col_b, sv + 4 * C2, L2, B, T2, C2, C2, training);
    se_forward(a.bo, a.bb, P("se.fc.0.weight"), P("se.fc.0.bias"), P("se.fc.2.weight"), P("se.fc.2.bias"), a.se_cache,
               L2, B, T2, C2, SEC);
    /* up2 into the first half of cat2's rows: computed into d2 (free until dec2) then concatenated */
    conv_transpose1d_forward(a.d2, a.bo, P("up2.weight"), P("up2.bias"), a.col_u2, B, T2, C2, C2, 2, 2);
    mask_frames(a.d2, L1, B, T1, C2);
    concat(a.cat2, a.d2, a.e2, (size_t)B * T1, C2, C2);
    conv_bn_relu(m, params, "dec2", a.d2, a.d2c, a.cat2, a.col_d2, sv + 6 * C2, L1, B, T1, 2 * C2, C2, training);
    conv_transpose1d_forward(a.d1, a.d2, P("up1.weight"), P("up1.bias"), a.col_u1, B, T1, C2, C1, 2, 2);
    mask_frames(a.d1, L0, B, Tp, C1);
    concat(a.cat1, a.d1, a.e1, (size_t)B * Tp, C1, C1);
    conv_bn_relu(m, params, "dec1", a.d1, a.d1c, a.cat1, a.col_d1, sv + 8 * C2, L0, B, Tp, 2 * C1, C1, training);
    for (int b = 0; b < B; b++)
        memcpy(a.lin + (size_t)b * T * C1, a.d1 + (size_t)b * Tp * C1, (size_t)T * C1 * sizeof *a.lin);
    lstm_weights w[2];
    lstm_bind(m, params, w);
    bilstm_forward(a.lo, a.lin, w, lengths, a.cache, B, T, C1, H, n_threads);
    int drop = training || buf->mc;
    dropout_forward(a.lod, a.lo, a.dmask, BT * 2 * H, drop ? buf->dropout : 0.0f, buf->seed, drop);
    linear_forward(logits, a.lod, P("fc.weight"), P("fc.bias"), (int)BT, 2 * H, C);
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

    nn_zero(g.dlod, BT * 2 * H);
    linear_backward(g.dlod, G("fc.weight"), G("fc.bias"), dlogits, a.lod, P("fc.weight"), (int)BT, 2 * H, C);
    nn_zero(g.dlo, BT * 2 * H);
    dropout_backward(g.dlo, g.dlod, a.dmask, BT * 2 * H);
    lstm_weights w[2];
    lstm_bind(m, params, w);
    lstm_grads lg[2] = {{G("lstm.weight_ih_l0"), G("lstm.weight_hh_l0"), G("lstm.bias_ih_l0"), G("lstm.bias_hh_l0")},
                        {G("lstm.weight_ih_l0_reverse"), G("lstm.weight_hh_l0_reverse"), G("lstm.bias_ih_l0_reverse"),
                         G("lstm.bias_hh_l0_reverse")}};
    nn_zero(g.dlin, BT * C1);
    bilstm_backward(g.dlin, lg, g.dlo, a.lin, w, lengths, a.cache, g.ls, B, T, C1, H, n_threads);

    /* level 0: uncrop, dec1 */
    float *dd1 = g.du1; /* gradient of d1 [B x Tp x 64]; du1 is free until the split below */
    nn_zero(dd1, b0 * C1);
    for (int b = 0; b < B; b++)
        memcpy(dd1 + (size_t)b * Tp * C1, g.dlin + (size_t)b * T * C1, (size_t)T * C1 * sizeof *dd1);
    nn_zero(g.dcat1, b0 * 2 * C1);
    conv_bn_relu_backward(m, params, grads, "dec1", g.dcat1, dd1, a.d1, a.d1c, a.col_d1, sv + 8 * C2, L0, g.g0a, g.g0b,
                          B, Tp, 2 * C1, C1, training);
    nn_zero(g.de1, b0 * C1);
    split_grad(g.du1, g.de1, g.dcat1, b0, C1, C1);
    mask_frames(g.du1, L0, B, Tp, C1);
    /* up1 from d2 */
    float *dd2 = g.du2; /* gradient of d2 [B x T1 x 128]; du2 is free until its split */
    nn_zero(dd2, b1 * C2);
    conv_transpose1d_backward(dd2, G("up1.weight"), G("up1.bias"), g.du1, a.d2, P("up1.weight"), a.col_u1, B, T1, C2,
                              C1, 2, 2);
    nn_zero(g.dcat2, b1 * 2 * C2);
    conv_bn_relu_backward(m, params, grads, "dec2", g.dcat2, dd2, a.d2, a.d2c, a.col_d2, sv + 6 * C2, L1, g.g1a, g.g1b,
                          B, T1, 2 * C2, C2, training);
    nn_zero(g.de2, b1 * C2);
    split_grad(g.du2, g.de2, g.dcat2, b1, C2, C2);
    mask_frames(g.du2, L1, B, T1, C2);
    /* up2 from the SE output */
    float *dbo = g.g2a, *dbb = g.g2b, *dp2 = g.g2c;
    nn_zero(dbo, b2 * C2);
    conv_transpose1d_backward(dbo, G("up2.weight"), G("up2.bias"), g.du2, a.bo, P("up2.weight"), a.col_u2, B, T2, C2,
                              C2, 2, 2);
    nn_zero(dbb, b2 * C2);
    se_backward(dbb, G("se.fc.0.weight"), G("se.fc.0.bias"), G("se.fc.2.weight"), G("se.fc.2.bias"), dbo, a.bb,
                P("se.fc.0.weight"), P("se.fc.2.weight"), a.se_cache, g.se_scratch, L2, B, T2, C2, SEC);
    nn_zero(dp2, b2 * C2);
    /* dbo is free now: temporaries of the bottleneck's backward are dbo and g1a (>= level-2 size) */
    conv_bn_relu_backward(m, params, grads, "bott", dp2, dbb, a.bb, a.bc, a.col_b, sv + 4 * C2, L2, dbo, g.g1a, B, T2,
                          C2, C2, training);
    /* enc2 gets the skip gradient (already in de2) plus the pool's */
    maxpool1d_backward(g.de2, dp2, a.e2, B, T1, C2, 2);
    nn_zero(g.dp1, b1 * C1);
    conv_bn_relu_backward(m, params, grads, "enc2", g.dp1, g.de2, a.e2, a.e2c, a.col_e2, sv + 2 * C2, L1, g.g1a, g.g1b,
                          B, T1, C1, C2, training);
    maxpool1d_backward(g.de1, g.dp1, a.e1, B, Tp, C1, 2);
    conv_bn_relu_backward(m, params, grads, "enc1", NULL, g.de1, a.e1, a.e1c, a.col_e1, sv, L0, g.g0a, g.g0b, B, Tp, F,
                          C1, training);
}

static void unet_update_buffers(const a2m_model *m, float *params, const nn_buffers *buf, int B, int T) {
    unet_acts a;
    unet_acts_split(m, buf->acts, B, T, &a);
    int chans[5] = {C1, C2, C2, C2, C1}, level[5] = {0, 1, 2, 1, 0};
    for (int i = 0; i < 5; i++) {
        size_t n = 0;
        for (int b = 0; b < B; b++) n += (size_t)a.len[level[i] * B + b];
        batchnorm_update_running((float *)pt(m, params, bn_names[i], ".1.running_mean"),
                                 (float *)pt(m, params, bn_names[i], ".1.running_var"), a.save + (size_t)i * 2 * C2, n,
                                 chans[i], BN_MOMENTUM);
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
