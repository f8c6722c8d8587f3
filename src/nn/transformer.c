/* The original project's AudioTransNet. As a PyTorch module (tensor names are
 * its state dict's; d = d_model = info.hidden, 128 in the original):
 *
 *   conv_embedding = Sequential(Conv1d(bins, 64, 3, padding=1), BatchNorm1d(64), ReLU,
 *                               Conv1d(64, d, 3, padding=1), BatchNorm1d(d), ReLU)
 *   pos_encoder: x + pe[t] (sinusoidal, buffer pe [1 x 2000 x d], no scaling), Dropout(p)
 *   transformer_encoder = 3 x TransformerEncoderLayer(d, nhead 4, dim_feedforward 4d,
 *                               dropout p, ReLU, batch_first, post-norm):
 *       x = norm1(x + dropout1(self_attn(x)));  x = norm2(x + dropout2(linear2(dropout(relu(linear1(x))))))
 *   fc = Linear(d, classes)
 *
 * p = 0.1 in the original (--dropout; the attention weights are dropped with the same p).
 * Padding (past lengths[b]) is exact: the convolutions see zeros there and
 * BatchNorm statistics leave it out (as the CRNN/U-Net), and the attention
 * masks those keys (PyTorch's src_key_padding_mask), so a take gets the same
 * logits alone or padded in a batch. With --concat (takes back to back in a
 * training sequence, nn_buffers.seg) a frame attends only to its own take's
 * frames and positions count from its take's start; the convolutions still
 * see the neighbouring take's edge frames, as the CRNN's do.
 * Frames past the table's 2000 take the formula's value (PyTorch would fail). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/arch.h"
#include "nn/attention.h"
#include "nn/layers.h"
#include "nn/mm_bf16.h"

enum { C1 = 64, KS = 3, NL = 3, NH = 4, MAX_LEN = 2000 };
#define BN_EPS      1e-5f
#define LN_EPS      1e-5f
#define BN_MOMENTUM 0.1f

static const char *const layer_names[12] = {"self_attn.in_proj_weight",
                                            "self_attn.in_proj_bias",
                                            "self_attn.out_proj.weight",
                                            "self_attn.out_proj.bias",
                                            "linear1.weight",
                                            "linear1.bias",
                                            "linear2.weight",
                                            "linear2.bias",
                                            "norm1.weight",
                                            "norm1.bias",
                                            "norm2.weight",
                                            "norm2.bias"};

/* The tensor table's order (tf_layout), the index of each tensor in a2m_model.tensors. */
enum tf_tensor {
    TF_CONV0, /* each conv block seven: conv weight, bias, BatchNorm weight, bias, running_mean, running_var,
               * num_batches_tracked */
    TF_CONV3 = TF_CONV0 + 7,
    TF_PE = TF_CONV3 + 7,
    TF_LAYERS, /* NL x 12: layer_names' order */
    TF_FC_W = TF_LAYERS + NL * 12,
    TF_FC_B,
    TF_N_TENSORS
};

/* conv_embedding.k (Conv1d(cin, cout, 3)) and conv_embedding.k+1 (BatchNorm1d(cout)) from table index first */
static void conv_block_table(nn_tensor_spec *spec, int first, int k, int cin, int cout) {
    static const char *const sfx[7] = {
        "weight", "bias", "weight", "bias", "running_mean", "running_var", "num_batches_tracked"};
    for (int i = 0; i < 7; i++) {
        nn_tensor_spec *s = spec + first + i;
        *s = i == 0  ? (nn_tensor_spec){.ndim = 3, .shape = {cout, cin, KS}}
             : i < 6 ? (nn_tensor_spec){.ndim = 1, .shape = {cout}, .buffer = i >= 4}
                     : (nn_tensor_spec){.ndim = 0, .buffer = 1};
        snprintf(s->name, sizeof s->name, "conv_embedding.%d.%s", k + (i >= 2), sfx[i]);
    }
}

static int tf_layout(const a2m_model_info *in, nn_tensor *t, int max) {
    int d = in->hidden, F = in->n_bins, C = in->n_classes;
    if (d % (2 * NH) != 0) return -1; /* heads of even width */
    nn_tensor_spec spec[TF_N_TENSORS] = {
        [TF_PE] = {"pos_encoder.pe", 3, {1, MAX_LEN, d}, 1},
        [TF_FC_W] = {"fc.weight", 2, {C, d}, 0},
        [TF_FC_B] = {"fc.bias", 1, {C}, 0},
    };
    conv_block_table(spec, TF_CONV0, 0, F, C1);
    conv_block_table(spec, TF_CONV3, 3, C1, d);
    int shapes[12][2] = {{3 * d, d}, {3 * d, 0}, {d, d}, {d, 0}, {4 * d, d}, {4 * d, 0},
                         {d, 4 * d}, {d, 0},     {d, 0}, {d, 0}, {d, 0},     {d, 0}};
    for (int l = 0; l < NL; l++)
        for (int k = 0; k < 12; k++) {
            nn_tensor_spec *s = &spec[TF_LAYERS + 12 * l + k];
            *s = (nn_tensor_spec){.ndim = shapes[k][1] ? 2 : 1, .shape = {shapes[k][0], shapes[k][1]}};
            snprintf(s->name, sizeof s->name, "transformer_encoder.layers.%d.%s", l, layer_names[k]);
        }
    return nn_layout_table(spec, TF_N_TENSORS, t, max);
}

static int tf_recognise(const char *const *names, const int (*shapes)[4], const int *ndims, int n,
                        a2m_model_info *info) {
    int c0[4], ip[4], fc[4];
    if (!nn_find_shape(names, shapes, ndims, n, "conv_embedding.0.weight", 3, c0) ||
        !nn_find_shape(names, shapes, ndims, n, "transformer_encoder.layers.0.self_attn.in_proj_weight", 2, ip) ||
        !nn_find_shape(names, shapes, ndims, n, "fc.weight", 2, fc) || n != NL * 12 + 17)
        return 0;
    info->n_bins = c0[1];
    info->hidden = ip[1];
    info->n_classes = fc[0];
    return 1;
}

/* ------------------------------------------------------------ weights */

/* The parameters (or their gradients: the same offsets) as typed pointers, llm.c's ParameterTensors. */
enum { IN_W, IN_B, OUT_W, OUT_B, L1_W, L1_B, L2_W, L2_B, N1_W, N1_B, N2_W, N2_B }; /* layer_names order */
typedef struct tf_layer_w {
    float *p[12];
} tf_layer_w;
typedef struct tf_bn_w {
    float *w, *b, *rm, *rv, *nbt;
} tf_bn_w;
typedef struct tf_weights {
    float *c0_w, *c0_b, *c3_w, *c3_b;
    tf_bn_w bn[2];
    float *pe;
    tf_layer_w layer[NL];
    float *fc_w, *fc_b;
} tf_weights;

static tf_weights tf_bind(const a2m_model *m, const float *base) {
    tf_weights w;
    for (int i = 0; i < 2; i++) {
        int k = i ? TF_CONV3 : TF_CONV0;
        float **f[7] = {i ? &w.c3_w : &w.c0_w, i ? &w.c3_b : &w.c0_b, &w.bn[i].w,  &w.bn[i].b,
                        &w.bn[i].rm,           &w.bn[i].rv,           &w.bn[i].nbt};
        for (int j = 0; j < 7; j++) *f[j] = nn_at(m, base, k + j);
    }
    w.pe = nn_at(m, base, TF_PE);
    for (int l = 0; l < NL; l++)
        for (int k = 0; k < 12; k++) w.layer[l].p[k] = nn_at(m, base, TF_LAYERS + 12 * l + k);
    w.fc_w = nn_at(m, base, TF_FC_W), w.fc_b = nn_at(m, base, TF_FC_B);
    return w;
}

/* ---------------------------------------------------------- activations */

/* Kept from forward for backward, per encoder layer (BT = B*T rows). */
typedef struct tf_layer_acts {
    float *qkv;     /* [BT x 3d] */
    float *P;       /* attn_p_floats(B, T, NH) attention weights */
    float *ctx;     /* [BT x d] heads concatenated */
    float *x1;      /* [BT x d] x + dropout1(out_proj(ctx)) = norm1's input */
    float *s1, *y1; /* [B x 2 x T] norm1 mean/rstd of each sequence's frames, [BT x d] its output */
    float *f1;      /* [BT x 4d] linear1(y1), then in place dropout(relu(.)): backward's ReLU gate is that output
                     * (> 0 where relu > 0 and kept; a dropped element's gradient is 0 either way), so one buffer,
                     * not two (33 MB and 8 k first-touch page faults less a batch of 8; the dropouts keep no mask:
                     * tdrop_backward hashes again) */
    float *x2;      /* [BT x d] norm2's input */
    float *s2;      /* [B x 2 x T] norm2 mean/rstd */
} tf_layer_acts;

typedef struct tf_acts {
    int *len;              /* [B] valid frames (ints stored in the float buffer) */
    float *col1, *c1, *h1; /* [BT x 3F] im2col, [BT x 64] conv out, BN + ReLU out */
    float *col2, *c2, *h2; /* [BT x 192], [BT x d], [BT x d] */
    float *xm;             /* [BT x F] the input with padding frames zeroed (when there is padding) */
    float *bn_save;        /* [2 x 64 + 2 x d] BatchNorm mean, var of both */
    float *X[NL + 1];      /* [BT x d] each layer's input; X[NL] feeds fc */
    float *ascr;           /* [B x attn_scratch_floats(T)] one a sequence */
    tf_layer_acts L[NL];
    mmbf16 *wpk;    /* --precision bf16: the encoder's linear weights packed (tf_pack_weights), once a step */
    mmbf16 *bscr;   /* [B x bstride] each sequence's bf16 operands */
    size_t bstride; /* bf_seq_elems */
} tf_acts;

/* The encoder's four linear layers (IN_W, OUT_W, L1_W, L2_W) as (Cout, Cin), and their bf16 packings. */
enum { NLIN = 4 };
static const int lin_w[NLIN] = {IN_W, OUT_W, L1_W, L2_W};
static void lin_shape(int k, int d, int *cout, int *cin) {
    static const int sh[NLIN][2] = {{3, 1}, {1, 1}, {4, 1}, {1, 4}};
    *cout = sh[k][0] * d, *cin = sh[k][1] * d;
}
typedef struct tf_bfw {
    const mmbf16 *nk[NLIN], *kn[NLIN]; /* forward's W^T panels, backward's W panels */
} tf_bfw;

static size_t up32(size_t n) { return (n + 31) & ~(size_t)31; }

static size_t layer_wpk_elems(int d) {
    size_t n = 0;
    for (int k = 0; k < NLIN; k++) {
        int co, ci;
        lin_shape(k, d, &co, &ci);
        n += up32(mmbf_panel_elems(ci, co)) + up32(mmbf_panel_elems(co, ci));
    }
    return n;
}

/* The embedding's convolutions in mixed precision: im2col's [T x Cin K] times W^T [Cin K x Cout] as a linear
 * layer's product, but for the first's forward: the raw features rounded to bf16 there took the step's loss
 * from 4e-5 to 2.1e-4 relative to fp32's and the first BatchNorm's bias gradient from 2% to 9.6% (the test's
 * limit 10%); in fp32 they stay at 7.7e-5 and 3.9%. The second's W^T (forward) and W (its input's gradient)
 * are packed after the layers' in wpk. */
typedef struct tf_bfc {
    const mmbf16 *nk3, *kn3;
} tf_bfc;

static size_t wpk_elems(int d) {
    return NL * layer_wpk_elems(d) + up32(mmbf_panel_elems(C1 * KS, d)) + up32(mmbf_panel_elems(d, C1 * KS));
}

/* a sequence's scratch of conv_seq_bwd_bf16: dout's panels, then im2col's panels or dout's rows */
static size_t conv_bf_scratch(int T, int Cin, int Cout) {
    size_t rows = (size_t)T * (size_t)((Cout + 1) & ~1), cols = mmbf_panel_elems(T, Cin * KS);
    return up32(mmbf_panel_elems(T, Cout)) + up32(rows > cols ? rows : cols);
}

/* a sequence's bf16 scratch: the largest of the attention's, the linear layers' and the convolutions' */
static size_t bf_seq_elems(int T, int d, int F) {
    size_t n = attn_bf16_scratch(T, d / NH);
    size_t c[3] = {mmbf_linear_scratch(T, C1 * KS, d), conv_bf_scratch(T, C1, d), conv_bf_scratch(T, F, C1)};
    for (int k = 0; k < NLIN + 3; k++) {
        int co, ci;
        if (k < NLIN) lin_shape(k, d, &co, &ci);
        size_t l = k < NLIN ? mmbf_linear_scratch(T, ci, co) : c[k - NLIN];
        n = l > n ? l : n;
    }
    return up32(n);
}

/* where layer l's packings are in wpk */
static tf_bfw tf_packed(const mmbf16 *wpk, int d, int l) {
    tf_bfw o;
    const mmbf16 *at = wpk + (size_t)l * layer_wpk_elems(d);
    for (int k = 0; k < NLIN; k++) {
        int co, ci;
        lin_shape(k, d, &co, &ci);
        o.nk[k] = at, o.kn[k] = at + up32(mmbf_panel_elems(ci, co));
        at = o.kn[k] + up32(mmbf_panel_elems(co, ci));
    }
    return o;
}

/* packs layer l's weights into wpk (the backward's kn only when training) */
static tf_bfw tf_pack_weights(mmbf16 *wpk, const tf_layer_w *w, int d, int l, int training) {
    tf_bfw o = tf_packed(wpk, d, l);
    for (int k = 0; k < NLIN; k++) {
        int co, ci;
        lin_shape(k, d, &co, &ci);
        mmbf_pack_nk(wpk + (o.nk[k] - wpk), w->p[lin_w[k]], (size_t)ci, co, ci);
        if (training) mmbf_pack_kn(wpk + (o.kn[k] - wpk), w->p[lin_w[k]], (size_t)ci, co, ci);
    }
    return o;
}

/* where the second convolution's packings are in wpk */
static tf_bfc tf_conv_packed(const mmbf16 *wpk, int d) {
    const mmbf16 *at = wpk + NL * layer_wpk_elems(d);
    return (tf_bfc){at, at + up32(mmbf_panel_elems(C1 * KS, d))};
}

/* packs the second convolution's weight c3_w [d x C1 KS] into wpk (W only when training) */
static tf_bfc tf_pack_conv(mmbf16 *wpk, const float *c3_w, int d, int training) {
    tf_bfc o = tf_conv_packed(wpk, d);
    mmbf_pack_nk(wpk + (o.nk3 - wpk), c3_w, (size_t)C1 * KS, d, C1 * KS);
    if (training) mmbf_pack_kn(wpk + (o.kn3 - wpk), c3_w, (size_t)C1 * KS, d, C1 * KS);
    return o;
}

#define TAKE(ptr, nfl) ((ptr) = base ? (void *)(base + off) : NULL, off += (nfl))

/* shared_p: every layer uses one attention-weight buffer (inference keeps nothing for backward) */
static size_t tf_acts_split(const a2m_model *m, float *base, int B, int T, int shared_p, tf_acts *a) {
    int F = m->info.n_bins, d = m->info.hidden;
    size_t BT = (size_t)B * T, off = 0;
    TAKE(a->len, (size_t)B);
    TAKE(a->col1, BT * F * KS), TAKE(a->c1, BT * C1), TAKE(a->h1, BT * C1);
    TAKE(a->col2, BT * C1 * KS), TAKE(a->c2, BT * d), TAKE(a->h2, BT * d);
    TAKE(a->xm, BT * F);
    TAKE(a->bn_save, 2 * (size_t)C1 + 2 * (size_t)d);
    for (int l = 0; l <= NL; l++) TAKE(a->X[l], BT * d);
    TAKE(a->ascr, (size_t)B * attn_scratch_floats(T));
    a->wpk = a->bscr = NULL, a->bstride = bf_seq_elems(T, d, F);
    if (!shared_p) { /* training buffers: room for bf16 operands (half a float each) */
        float *wp, *bs;
        TAKE(wp, wpk_elems(d) / 2 + 16), TAKE(bs, (size_t)B * a->bstride / 2 + 16);
        a->wpk = wp ? (mmbf16 *)wp : NULL, a->bscr = bs ? (mmbf16 *)bs : NULL;
    }
    for (int l = 0; l < NL; l++) {
        tf_layer_acts *L = &a->L[l];
        TAKE(L->qkv, BT * 3 * d);
        if (!shared_p || l == 0) TAKE(L->P, attn_p_floats(B, T, NH));
        else L->P = a->L[0].P;
        TAKE(L->ctx, BT * d), TAKE(L->x1, BT * d);
        TAKE(L->s1, 2 * BT), TAKE(L->y1, BT * d);
        TAKE(L->f1, BT * 4 * d);
        TAKE(L->x2, BT * d), TAKE(L->s2, 2 * BT);
    }
    return off;
}

static size_t tf_act_floats(const a2m_model *m, int B, int T) {
    tf_acts a;
    return tf_acts_split(m, NULL, B, T, 0, &a);
}

/* The encoder's and fc's parameters: one range at the end of the parameter vector (tf_layout's order). */
static size_t tail_start(const a2m_model *m) { return m->tensors[TF_LAYERS].offset; }

/* Backward scratch: gradients of the activations. */
typedef struct tf_grads {
    float *dXa, *dXb;       /* [BT x d] gradient of a layer's output / input */
    float *dx2, *dy1, *dx1; /* [BT x d] */
    float *dproj, *dctx;    /* [BT x d] */
    float *df1;             /* [BT x 4d] */
    float *dqkv;            /* [BT x 3d] */
    float *dh1, *dc1;       /* [BT x 64] */
    float *gseq; /* [B x (n_params - tail_start)] each sequence's encoder and fc gradients (at least the size of
                  * a convolution's weight: conv_backward_bf16's per sequence) */
} tf_grads;

/* gseq's floats a sequence: the encoder's and fc's gradients, or a convolution's weight gradient */
static size_t gseq_stride(const a2m_model *m) {
    size_t tn = m->n_params - tail_start(m), nc0 = (size_t)C1 * m->info.n_bins * KS,
           nc3 = (size_t)m->info.hidden * C1 * KS;
    tn = tn > nc0 ? tn : nc0;
    return tn > nc3 ? tn : nc3;
}

static size_t tf_grads_split(const a2m_model *m, float *base, int B, int T, tf_grads *g) {
    int d = m->info.hidden;
    size_t BT = (size_t)B * T, off = 0;
    TAKE(g->dXa, BT * d), TAKE(g->dXb, BT * d);
    TAKE(g->dx2, BT * d), TAKE(g->dy1, BT * d), TAKE(g->dx1, BT * d);
    TAKE(g->dproj, BT * d), TAKE(g->dctx, BT * d);
    TAKE(g->df1, BT * 4 * d);
    TAKE(g->dqkv, BT * 3 * d);
    TAKE(g->dh1, BT * C1), TAKE(g->dc1, BT * C1);
    TAKE(g->gseq, (size_t)B * gseq_stride(m));
    return off;
}
#undef TAKE

static size_t tf_scratch_floats(const a2m_model *m, int B, int T) {
    tf_grads g;
    return tf_grads_split(m, NULL, B, T, &g);
}

static void mask_padding(float *x, const int *len, int B, int T, int C) {
    for (int b = 0; b < B; b++)
        if (len[b] < T) memset(x + ((size_t)b * T + len[b]) * C, 0, (size_t)(T - len[b]) * C * sizeof *x);
}

/* the seed of dropout k (0..4) of layer l (l = NL: the positional encoding's) in sequence b of a batch */
static unsigned long long drop_seed(unsigned long long seed, int l, int k, int b) {
    return seed + 0x9E3779B97F4A7C15ull * (unsigned long long)(l * 5 + k + 1) +
           0xD1B54A32D192ED03ull * (unsigned long long)(b + 1);
}

/* ------------------------------------------------------- one sequence */

/* Every step of the encoder works on one sequence at a time: sequence b's rows (b T ..) of each batch-wide
 * buffer. The sequences of a batch then run on n_threads OpenMP threads with no barrier from the positional
 * encoding to the logits (one GEMM a thread, BLAS on one thread as main() sets it; threads inside the small
 * products and the softmax rows spent minutes in hand-offs on a loaded machine), and every n_threads gives
 * the same numbers: masks hash the sequence's number, parameter gradients are summed in sequence order.
 * Sequences are handed out one at a time (schedule dynamic): a thread the system preempts for a while no
 * longer holds its fixed half of the batch while the other waits at the barrier. */
static tf_layer_acts layer_rows(const tf_layer_acts *L, int b, int T, int d) {
    size_t r = (size_t)b * T, nd = r * d;
    return (tf_layer_acts){.qkv = L->qkv + 3 * nd,
                           .P = L->P + (size_t)b * attn_p_floats(1, T, NH),
                           .ctx = L->ctx + nd,
                           .x1 = L->x1 + nd,
                           .s1 = L->s1 + 2 * r,
                           .y1 = L->y1 + nd,
                           .f1 = L->f1 + 4 * nd,
                           .x2 = L->x2 + nd,
                           .s2 = L->s2 + 2 * r};
}

static tf_grads grads_rows(const tf_grads *s, int b, int T, int d) {
    size_t nd = (size_t)b * T * d;
    tf_grads v = *s;
    v.dXa += nd, v.dXb += nd, v.dx2 += nd, v.dy1 += nd, v.dx1 += nd, v.dproj += nd, v.dctx += nd;
    v.df1 += 4 * nd, v.dqkv += 3 * nd;
    return v;
}

/* ------------------------------------------------------------- forward */

/* Linear layer k (0..3: in_proj, out_proj, linear1, linear2) of a layer, fp32 or (bs: the sequence's bf16
 * scratch) mixed precision. */
static void lin_fwd(int k, float *out, const float *in, const tf_layer_w *w, const tf_bfw *bw, mmbf16 *bs, int T,
                    int d) {
    int co, ci;
    lin_shape(k, d, &co, &ci);
    if (bs) mmbf_linear_forward(out, in, bw->nk[k], w->p[lin_w[k] + 1], T, ci, co, bs);
    else linear_forward(out, in, w->p[lin_w[k]], w->p[lin_w[k] + 1], T, ci, co);
}

/* One post-norm encoder layer on one sequence of T frames: xin [T x d] -> xout [T x d]. */
static void layer_forward(const tf_layer_w *w, const tf_bfw *bw, mmbf16 *bs, const tf_layer_acts *L, float *ascr,
                          const float *xin, float *xout, const int *len, const int *seg, int T, int d, float p,
                          unsigned long long seed, int l, int b, int training) {
    size_t nd = (size_t)T * d, nf = nd * 4;
    lin_fwd(0, L->qkv, xin, w, bw, bs, T, d);
    if (bs)
        attn_forward_bf16(L->ctx, L->P, L->qkv, *len, seg, ascr, bs, T, d, NH, p, drop_seed(seed, l, 0, b), training);
    else attn_forward(L->ctx, L->P, L->qkv, len, seg, ascr, 1, T, d, NH, p, drop_seed(seed, l, 0, b), training, 1);
    lin_fwd(1, L->x1, L->ctx, w, bw, bs, T, d);
    tdrop_forward(L->x1, L->x1, xin, nd, p, drop_seed(seed, l, 1, b), training, 0); /* xin + dropout1 */
    layernorm_forward(L->y1, L->s1, L->x1, w->p[N1_W], w->p[N1_B], T, d, LN_EPS);
    lin_fwd(2, L->f1, L->y1, w, bw, bs, T, d);
    tdrop_forward(L->f1, L->f1, NULL, nf, p, drop_seed(seed, l, 2, b), training, 1); /* relu, dropout */
    lin_fwd(3, L->x2, L->f1, w, bw, bs, T, d);
    tdrop_forward(L->x2, L->x2, L->y1, nd, p, drop_seed(seed, l, 3, b), training, 0); /* y1 + dropout2 */
    layernorm_forward(xout, L->s2, L->x2, w->p[N2_W], w->p[N2_B], T, d, LN_EPS);
}

/* Sequence b from the embedding's output h2 to its logits [T x C]: positional encoding, encoder layers, fc. */
static void seq_forward(const tf_weights *w, const tf_bfw *bw, const tf_acts *a, const int *seg, int b, int T, int d,
                        int C, float *logits, float p, unsigned long long seed, int training) {
    size_t r = (size_t)b * T;
    const int *sg = seg ? seg + r : NULL;
    float *x0 = a->X[0] + r * d, *ascr = a->ascr + (size_t)b * attn_scratch_floats(T);
    memcpy(x0, a->h2 + r * d, (size_t)T * d * sizeof *x0);
    posenc_add(x0, w->pe, MAX_LEN, sg, 1, T, d);
    tdrop_forward(x0, x0, NULL, (size_t)T * d, p, drop_seed(seed, NL, 0, b), training, 0);
    mmbf16 *bs = bw ? a->bscr + (size_t)b * a->bstride : NULL;
    for (int l = 0; l < NL; l++) {
        tf_layer_acts L = layer_rows(&a->L[l], b, T, d);
        layer_forward(&w->layer[l], bw ? &bw[l] : NULL, bs, &L, ascr, a->X[l] + r * d, a->X[l + 1] + r * d, &a->len[b],
                      sg, T, d, p, seed, l, b, training);
    }
    linear_forward(logits + r * C, a->X[NL] + r * d, w->fc_w, w->fc_b, T, d, C);
}

/* One sequence's convolution, fp32 or (bs: its bf16 scratch) mixed precision with W^T packed as w_nk. */
static void conv_fwd(float *out, const float *in, const float *w, const float *bias, const mmbf16 *w_nk, float *col,
                     mmbf16 *bs, int T, int Cin, int Cout) {
    if (!bs) {
        conv1d_forward(out, in, w, bias, col, 1, T, Cin, Cout, KS);
        return;
    }
    conv1d_im2col(col, in, 1, T, Cin, KS);
    mmbf_linear_forward(out, col, w_nk, bias, T, Cin * KS, Cout, bs);
}

/* h = relu(BatchNorm(c)) [B T x C] on nt threads by channel ranges (each channel's numbers those of one call over
 * all: batchnorm_forward_channels; the ReLU as relu_forward's, padding stays 0). One thread, the embedding's
 * BatchNorms, ReLUs and their backward were ~0.14 s of an epoch's critical path on 2 threads (thread CPU clocks). */
static void bn_relu_forward(float *h, const float *c, const tf_bn_w *bn, float *save, const int *len, int B, int T,
                            int C, int training, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int i = 0; i < nt; i++) {
        int lo = C * i / nt, hi = C * (i + 1) / nt;
        batchnorm_forward_channels(h, c, bn->w, bn->b, bn->rm, bn->rv, save, len, B, T, C, BN_EPS, training, lo, hi);
        for (size_t r = 0; r < (size_t)B * T; r++) {
            float *y = h + r * C;
            for (int k = lo; k < hi; k++) y[k] = y[k] > 0.0f ? y[k] : 0.0f;
        }
    }
}

/* conv_embedding (sequences in parallel, BatchNorm over the batch), then each sequence's seq_forward; bf: the
 * encoder's products in mixed precision (a's bf16 buffers). */
static void tf_run(const a2m_model *m, const float *params, tf_acts *a, const float *x, const int *lengths,
                   const int *seg, int B, int T, float *logits, float p, unsigned long long seed, int n_threads,
                   int training, int bf) {
    int F = m->info.n_bins, d = m->info.hidden, C = m->info.n_classes, BT = B * T;
    int nt = n_threads < 1 ? 1 : n_threads > B ? B : n_threads;
    tf_weights w = tf_bind(m, params);
    int padded = 0;
    for (int b = 0; b < B; b++) {
        a->len[b] = lengths ? (lengths[b] < 0 ? 0 : lengths[b] > T ? T : lengths[b]) : T;
        padded |= a->len[b] < T;
    }
    if (padded) { /* the first convolution sees zeros past a sequence's end, as at the end of a take alone */
        memcpy(a->xm, x, (size_t)BT * F * sizeof *x);
        mask_padding(a->xm, a->len, B, T, F);
        x = a->xm;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int b = 0; b < B; b++)
        conv1d_forward(a->c1 + (size_t)b * T * C1, x + (size_t)b * T * F, w.c0_w, w.c0_b,
                       a->col1 + (size_t)b * T * F * KS, 1, T, F, C1, KS);
    bn_relu_forward(a->h1, a->c1, &w.bn[0], a->bn_save, a->len, B, T, C1, training, nt);
    tf_bfc bc = bf ? tf_pack_conv(a->wpk, w.c3_w, d, training) : (tf_bfc){NULL, NULL};
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int b = 0; b < B; b++)
        conv_fwd(a->c2 + (size_t)b * T * d, a->h1 + (size_t)b * T * C1, w.c3_w, w.c3_b, bc.nk3,
                 a->col2 + (size_t)b * T * C1 * KS, bf ? a->bscr + b * a->bstride : NULL, T, C1, d);
    bn_relu_forward(a->h2, a->c2, &w.bn[1], a->bn_save + 2 * C1, a->len, B, T, d, training, nt);
    tf_bfw bw[NL];
    for (int l = 0; bf && l < NL; l++) bw[l] = tf_pack_weights(a->wpk, &w.layer[l], d, l, training);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int b = 0; b < B; b++) seq_forward(&w, bf ? bw : NULL, a, seg, b, T, d, C, logits, p, seed, training);
}

/* --precision bf16 where the CPU has it (else fp32: the CLI says so) */
static int tf_bf(const nn_buffers *buf) { return buf->precision == A2M_PRECISION_BF16 && mmbf_available(); }

static void tf_forward(const a2m_model *m, const float *params, nn_buffers *buf, const float *x, const int *lengths,
                       int B, int T, float *logits, int n_threads, int training) {
    tf_acts a;
    tf_acts_split(m, buf->acts, B, T, 0, &a);
    tf_run(m, params, &a, x, lengths, training ? buf->seg : NULL, B, T, logits, training ? buf->dropout : 0.0f,
           buf->seed, n_threads, training, tf_bf(buf));
}

/* ------------------------------------------------------------ backward */

/* linear_backward with din = beta din + dout W (beta 0: overwritten, no zeroing pass) */
static void lin_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int N,
                         int Cin, int Cout, float beta) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Cout, Cin, N, 1.0f, dout, Cout, in, Cin, 1.0f, dw, Cin);
    colsum_add(db, dout, N, Cout);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, Cin, Cout, 1.0f, dout, Cout, w, Cin, beta, din, Cin);
}

/* lin_backward of linear layer k (0..3) of a layer, fp32 or (bs) mixed precision */
static void lin_bwd(int k, float *din, const tf_layer_w *g, const float *dout, const float *in, const tf_layer_w *w,
                    const tf_bfw *bw, mmbf16 *bs, int T, int d, float beta) {
    int co, ci;
    lin_shape(k, d, &co, &ci);
    if (!bs) {
        lin_backward(din, g->p[lin_w[k]], g->p[lin_w[k] + 1], dout, in, w->p[lin_w[k]], T, ci, co, beta);
        return;
    }
    colsum_add(g->p[lin_w[k] + 1], dout, T, co);
    mmbf_linear_backward(din, g->p[lin_w[k]], dout, in, bw->kn[k], T, ci, co, beta != 0.0f, bs);
}

/* One layer of one sequence: dxin = d(xin) from dxout (overwritten); parameter gradients added into g. */
static void layer_backward(const tf_layer_w *w, const tf_layer_w *g, const tf_bfw *bw, mmbf16 *bs,
                           const tf_layer_acts *L, float *ascr, const float *xin, const float *dxout, float *dxin,
                           const tf_grads *s, const int *len, int T, int d, float p, unsigned long long seed, int l,
                           int b) {
    size_t nd = (size_t)T * d, nf = nd * 4;
    /* xout = norm2(x2), x2 = y1 + dropout2(linear2(f1)), f1 = dropout(relu(linear1(y1))) */
    nn_zero(s->dx2, nd);
    layernorm_backward(s->dx2, g->p[N2_W], g->p[N2_B], dxout, L->x2, w->p[N2_W], L->s2, T, d);
    tdrop_backward(s->dproj, s->dx2, NULL, nd, p, drop_seed(seed, l, 3, b));
    lin_bwd(3, s->df1, g, s->dproj, L->f1, w, bw, bs, T, d, 0.0f);
    tdrop_backward(s->df1, s->df1, L->f1, nf, p, drop_seed(seed, l, 2, b));
    memcpy(s->dy1, s->dx2, nd * sizeof *s->dy1);
    lin_bwd(2, s->dy1, g, s->df1, L->y1, w, bw, bs, T, d, 1.0f);
    /* y1 = norm1(x1), x1 = xin + dropout1(out_proj(ctx)) */
    nn_zero(s->dx1, nd);
    layernorm_backward(s->dx1, g->p[N1_W], g->p[N1_B], s->dy1, L->x1, w->p[N1_W], L->s1, T, d);
    tdrop_backward(s->dproj, s->dx1, NULL, nd, p, drop_seed(seed, l, 1, b));
    lin_bwd(1, s->dctx, g, s->dproj, L->ctx, w, bw, bs, T, d, 0.0f);
    if (bs) attn_backward_bf16(s->dqkv, s->dctx, L->qkv, L->P, *len, ascr, bs, T, d, NH, p, drop_seed(seed, l, 0, b));
    else attn_backward(s->dqkv, s->dctx, L->qkv, L->P, len, ascr, 1, T, d, NH, p, drop_seed(seed, l, 0, b), 1, 1);
    memcpy(dxin, s->dx1, nd * sizeof *dxin);
    lin_bwd(0, dxin, g, s->dqkv, xin, w, bw, bs, T, d, 1.0f);
}

/* g's encoder and fc pointers moved from the range starting at from to the one starting at to */
static tf_weights tail_moved(const tf_weights *g, const float *from, float *to) {
    tf_weights v = *g;
    for (int l = 0; l < NL; l++)
        for (int k = 0; k < 12; k++) v.layer[l].p[k] = to + (g->layer[l].p[k] - from);
    v.fc_w = to + (g->fc_w - from), v.fc_b = to + (g->fc_b - from);
    return v;
}

/* Sequence b from dlogits to d(h2) (in s->dx2's rows): fc and the layers' gradients into gb (its own). */
static void seq_backward(const tf_weights *w, const tf_weights *gb, const tf_bfw *bw, const tf_acts *a,
                         const tf_grads *s, const float *dlogits, int b, int T, int d, int C, float p,
                         unsigned long long seed) {
    size_t r = (size_t)b * T, nd = (size_t)T * d;
    tf_grads sb = grads_rows(s, b, T, d);
    float *ascr = a->ascr + (size_t)b * attn_scratch_floats(T);
    lin_backward(sb.dXa, gb->fc_w, gb->fc_b, dlogits + r * C, a->X[NL] + r * d, w->fc_w, T, d, C, 0.0f);
    float *dout = sb.dXa, *din = sb.dXb;
    for (int l = NL - 1; l >= 0; l--) {
        tf_layer_acts L = layer_rows(&a->L[l], b, T, d);
        layer_backward(&w->layer[l], &gb->layer[l], bw ? &bw[l] : NULL, bw ? a->bscr + (size_t)b * a->bstride : NULL,
                       &L, ascr, a->X[l] + r * d, dout, din, &sb, &a->len[b], T, d, p, seed, l, b);
        float *t = dout;
        dout = din, din = t;
    }
    tdrop_backward(sb.dx2, dout, NULL, nd, p, drop_seed(seed, NL, 0, b)); /* X0 = dropout(h2 + pe) */
}

/* conv1d_backward of the embedding's convolutions on nt threads: dW in 4 column ranges (the same 4 for every nt,
 * so every nt gives the same numbers), then each sequence's d(input). One thread each, they were ~1 GFLOP a
 * batch of 8 that the other core waited for. col is overwritten, as conv1d_backward does. */
static void conv_backward_par(float *din, float *dw, float *db, const float *dout, float *col, const float *w, int B,
                              int T, int Cin, int Cout, int nt) {
    enum { NCH = 4 };
    int CK = Cin * KS;
    colsum_add(db, dout, B * T, Cout);
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
        for (int c = 0; c < NCH; c++) {
            int c0 = CK * c / NCH, c1 = CK * (c + 1) / NCH;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Cout, c1 - c0, B * T, 1.0f, dout, Cout, col + c0, CK,
                        1.0f, dw + c0, CK);
        }
#pragma omp for schedule(static)
        for (int b = 0; b < (din ? B : 0); b++)
            conv1d_backward(din + (size_t)b * T * Cin, NULL, NULL, dout + (size_t)b * T * Cout,
                            col + (size_t)b * T * CK, w, 1, T, Cin, Cout, KS);
    }
}

/* One sequence's share of a mixed-precision convolution's backward: gw = dout^T col (overwritten), and din +=
 * col2im(dout W) when din (col overwritten by dout W, as conv1d_backward's). bs: conv_bf_scratch elements. */
static void conv_seq_bwd_bf16(float *din, float *gw, const float *dout, float *col, const mmbf16 *w_kn, int T, int Cin,
                              int Cout, mmbf16 *bs) {
    int CK = Cin * KS;
    size_t ld = (size_t)((Cout + 1) & ~1);
    mmbf16 *dyp = bs, *xp = bs + up32(mmbf_panel_elems(T, Cout));
    mmbf_pack_kn(dyp, dout, (size_t)Cout, T, Cout);
    mmbf_pack_kn(xp, col, (size_t)CK, T, CK);
    mmbf_gemm(gw, (size_t)CK, (mmbf_a){dyp, 0, 1}, xp, Cout, CK, T, 1.0f, 0, NULL);
    if (!din) return;
    mmbf_rows(xp, ld, dout, (size_t)Cout, T, Cout);
    mmbf_gemm(col, (size_t)CK, (mmbf_a){xp, ld, 0}, w_kn, T, CK, Cout, 1.0f, 0, NULL);
    conv1d_col2im_add(din, col, 1, T, Cin, KS);
}

/* conv_backward_par in mixed precision: each sequence's weight gradient apart (gseq's rows, gstride apart), then
 * summed in sequence order, so every nt gives the same numbers. */
static void conv_backward_bf16(float *din, float *dw, float *db, const float *dout, float *col, const mmbf16 *w_kn,
                               const tf_acts *a, float *gseq, size_t gstride, int B, int T, int Cin, int Cout, int nt) {
    size_t nw = (size_t)Cout * Cin * KS;
    colsum_add(db, dout, B * T, Cout);
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < B; b++)
            conv_seq_bwd_bf16(din ? din + (size_t)b * T * Cin : NULL, gseq + b * gstride, dout + (size_t)b * T * Cout,
                              col + (size_t)b * T * Cin * KS, w_kn, T, Cin, Cout, a->bscr + b * a->bstride);
#pragma omp for schedule(static)
        for (size_t i = 0; i < nw; i++) {
            float acc = 0.0f;
            for (int b = 0; b < B; b++) acc += gseq[b * gstride + i];
            dw[i] += acc;
        }
    }
}

/* din = d(BatchNorm input) [B T x C] (overwritten) from dy = d(ReLU output) through the ReLU of output h (gate: d
 * its input, scratch) and the BatchNorm of input c, by element ranges, then channel ranges, on nt threads. din may
 * be dy (read into gate first). */
static void relu_bn_backward(float *din, float *gate, const float *dy, const float *h, const float *c, const tf_bn_w *w,
                             const tf_bn_w *g, const float *save, const int *len, int B, int T, int C, int nt) {
    size_t n = (size_t)B * T * C;
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(static)
        for (int i = 0; i < nt; i++) {
            size_t lo = n * i / nt, hi = n * (i + 1) / nt;
            tdrop_backward(gate + lo, dy + lo, h + lo, hi - lo, 0.0f, 0);
            nn_zero(din + lo, hi - lo);
        }
#pragma omp for schedule(static)
        for (int i = 0; i < nt; i++)
            batchnorm_backward_channels(din, g->w, g->b, gate, c, w->w, save, len, B, T, C, BN_EPS, 1, C * i / nt,
                                        C * (i + 1) / nt);
    }
}

/* The encoder of each sequence (in parallel, gradients apart), their gradients summed in sequence order, then
 * the embedding (BatchNorm over the batch). */
static void tf_backward(const a2m_model *m, const float *params, float *grads, nn_buffers *buf, const float *x,
                        const int *lengths, const float *dlogits, int B, int T, int n_threads) {
    (void)x, (void)lengths; /* the forward kept both (a.len) */
    int F = m->info.n_bins, d = m->info.hidden, C = m->info.n_classes, BT = B * T;
    int nt = n_threads < 1 ? 1 : n_threads > B ? B : n_threads;
    size_t t0 = tail_start(m), tn = m->n_params - t0;
    float p = buf->dropout;
    tf_acts a;
    tf_acts_split(m, buf->acts, B, T, 0, &a);
    tf_grads s;
    tf_grads_split(m, buf->scratch, B, T, &s);
    tf_weights w = tf_bind(m, params), g = tf_bind(m, grads);
    tf_bfw bw[NL]; /* the forward packed them in a.wpk: the same layout, pointers only */
    int bf = tf_bf(buf);
    for (int l = 0; bf && l < NL; l++) bw[l] = tf_packed(a.wpk, d, l);
#pragma omp parallel num_threads(nt)
    {
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < B; b++) {
            float *gs = s.gseq + (size_t)b * tn;
            nn_zero(gs, tn);
            tf_weights gb = tail_moved(&g, grads + t0, gs);
            seq_backward(&w, &gb, bf ? bw : NULL, &a, &s, dlogits, b, T, d, C, p, buf->seed);
        }
#pragma omp for schedule(static)
        for (size_t i = 0; i < tn; i++) {
            float acc = 0.0f;
            for (int b = 0; b < B; b++) acc += s.gseq[(size_t)b * tn + i];
            grads[t0 + i] += acc;
        }
    }
    /* d(h2) in s.dx2: through ReLU, BatchNorm, conv 3, ReLU, BatchNorm, conv 0 */
    mask_padding(s.dx2, a.len, B, T, d);
    relu_bn_backward(s.dx1, s.dy1, s.dx2, a.h2, a.c2, &w.bn[1], &g.bn[1], a.bn_save + 2 * C1, a.len, B, T, d, nt);
    nn_zero(s.dh1, (size_t)BT * C1);
    size_t gst = gseq_stride(m);
    tf_bfc bc = bf ? tf_conv_packed(a.wpk, d) : (tf_bfc){NULL, NULL};
    if (bf) conv_backward_bf16(s.dh1, g.c3_w, g.c3_b, s.dx1, a.col2, bc.kn3, &a, s.gseq, gst, B, T, C1, d, nt);
    else conv_backward_par(s.dh1, g.c3_w, g.c3_b, s.dx1, a.col2, w.c3_w, B, T, C1, d, nt);
    mask_padding(s.dh1, a.len, B, T, C1);
    relu_bn_backward(s.dh1, s.dc1, s.dh1, a.h1, a.c1, &w.bn[0], &g.bn[0], a.bn_save, a.len, B, T, C1, nt);
    if (bf) conv_backward_bf16(NULL, g.c0_w, g.c0_b, s.dh1, a.col1, NULL, &a, s.gseq, gst, B, T, F, C1, nt);
    else conv_backward_par(NULL, g.c0_w, g.c0_b, s.dh1, a.col1, w.c0_w, B, T, F, C1, nt);
}

static void tf_update_buffers(const a2m_model *m, float *params, const nn_buffers *buf, int B, int T) {
    tf_acts a;
    tf_acts_split(m, buf->acts, B, T, 0, &a);
    tf_weights w = tf_bind(m, params);
    size_t n = 0;
    for (int b = 0; b < B; b++) n += (size_t)a.len[b];
    int chans[2] = {C1, m->info.hidden};
    for (int i = 0; i < 2; i++) {
        batchnorm_update_running(w.bn[i].rm, w.bn[i].rv, a.bn_save + (size_t)i * 2 * C1, n, chans[i], BN_MOMENTUM);
        *w.bn[i].nbt += 1.0f;
    }
}

/* PyTorch's defaults: Conv1d/Linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm and
 * LayerNorm weight 1, bias 0 (running mean 0, var 1); MultiheadAttention in_proj_weight xavier_uniform
 * (bound sqrt(6 / (d + 3d))), in_proj_bias and out_proj.bias 0; pe the sinusoid table. */
static void tf_init(const a2m_model *m, float *params, unsigned long long seed) {
    nn_rng r = {seed * 0x9E3779B97F4A7C15ull + 1};
    int d = m->info.hidden;
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor *t = &m->tensors[i];
        float *p = params + t->offset;
        const char *nm = t->name, *dot = strrchr(nm, '.');
        int bn = !strncmp(nm, "conv_embedding.1.", 17) || !strncmp(nm, "conv_embedding.4.", 17);
        double bound = 0, one = 0;
        if (!strcmp(nm, "pos_encoder.pe")) {
            posenc_fill(p, MAX_LEN, d);
            continue;
        } else if (bn || strstr(nm, ".norm")) {
            one = !strcmp(dot, ".weight") || !strcmp(dot, ".running_var");
        } else if (strstr(nm, "in_proj_weight")) {
            bound = sqrt(6.0 / (d + 3.0 * d));
        } else if (strstr(nm, "in_proj_bias") || strstr(nm, "out_proj.bias")) {
            bound = 0;
        } else {
            const nn_tensor *wt = t;
            if (!strcmp(dot, ".bias")) { /* the bias takes its weight's fan_in */
                char wn[64];
                snprintf(wn, sizeof wn, "%.*sweight", (int)(dot - nm + 1), nm);
                wt = nn_model_tensor(m, wn);
            }
            size_t fan_in = 1;
            for (int k = 1; k < wt->ndim; k++) fan_in *= (size_t)wt->shape[k];
            bound = 1.0 / sqrt((double)fan_in);
        }
        for (size_t k = 0; k < t->count; k++)
            p[k] = bound > 0 ? (float)((2 * nn_rng_uniform(&r) - 1) * bound) : (float)one;
    }
}

/* ---------------------------------------------------------- inference */

/* Inference state: the forward's buffers with one attention-weight buffer for all layers. */
typedef struct tf_infer {
    const a2m_model *m;
    const float *params;
    float *acts;
    int max_batch, max_frames;
} tf_infer;

static void *tf_infer_new(const a2m_model *m, const float *params, int max_batch, int max_frames, int precision) {
    (void)precision; /* fp32 only */
    tf_infer *s = calloc(1, sizeof *s);
    tf_acts a;
    if (s) s->acts = malloc(tf_acts_split(m, NULL, max_batch, max_frames, 1, &a) * sizeof(float));
    if (!s || !s->acts) {
        if (s) free(s);
        return NULL;
    }
    s->m = m, s->params = params, s->max_batch = max_batch, s->max_frames = max_frames;
    return s;
}

static int tf_infer_precision(const void *s) {
    (void)s;
    return A2M_PRECISION_FP32;
}

static void tf_infer_forward(void *state, const float *x, const int *lengths, int B, int T, float *logits) {
    tf_infer *s = state;
    tf_acts a;
    tf_acts_split(s->m, s->acts, B, T, 1, &a);
    tf_run(s->m, s->params, &a, x, lengths, NULL, B, T, logits, 0.0f, 0, 1, 0, 0);
}

static void tf_infer_del(void *state) {
    tf_infer *s = state;
    if (!s) return;
    free(s->acts);
    free(s);
}

/* the features fc reads: the last encoder layer's output [T x d] */
static int tf_hidden(const a2m_model *m, nn_buffers *buf, const float *x, int T, float *out, int n_threads) {
    int d = m->info.hidden;
    if (!out) return d;
    float *logits = malloc((size_t)T * m->info.n_classes * sizeof *logits);
    if (!logits) return -1;
    tf_acts a;
    tf_acts_split(m, buf->acts, 1, T, 0, &a);
    tf_run(m, m->params, &a, x, NULL, NULL, 1, T, logits, 0.0f, 0, n_threads, 0, 0);
    memcpy(out, a.X[NL], (size_t)T * d * sizeof *out);
    free(logits);
    return d;
}

const a2m_arch nn_arch_transformer = {
    "transformer", tf_layout,         tf_recognise, tf_act_floats,      tf_scratch_floats, tf_forward,   tf_backward,
    tf_init,       tf_update_buffers, tf_infer_new, tf_infer_precision, tf_infer_forward,  tf_infer_del, tf_hidden,
};
