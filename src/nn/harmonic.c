/* Harmonic CRNN: a front end shared along the frequency axis, then the CRNN (crnn.c) on its output.
 *
 *   stack  s_h[f] = x[f + round(bpo log2 h)] for h in 1/2, 1, 2, 3, 4, 5 (0 outside the bins): each bin sees the
 *          bins where its note's sub-octave and first harmonics sit (basic-pitch's harmonic stacking)
 *   harm   z_k[f] = b_k + sum_h sum_j w[k][h][j] s_h[f + j - 1]   (Conv1d(6, 8, 3, padding=1) along frequency,
 *          the same weights at every bin: a pitch moved is the same pattern moved)
 *   pool   u_k[p] = ReLU(max(z_k[3p], z_k[3p+1], z_k[3p+2]))      (a semitone of 36-bin CQT per output)
 *   crnn   on u [T x 8*ceil(F/3)] (frames past a sequence's length held at 0, as the crnn's own input there)
 *
 * Tensors: the crnn's fourteen (conv.0.weight's inputs are 8*ceil(F/3)), then harm.weight [8 x 6 x 3], harm.bias [8].
 * The crnn part is run as a crnn model whose tensors point into this model's parameters (as two_stage.c's stages),
 * by its training forward and backward and by its packed inference (crnn_infer.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/isa.h"
#include "nn/arch.h"
#include "nn/crnn.h"
#include "nn/infer.h"
#include "nn/layers.h"

enum { HK = 8, NH = 6, HKS = 3, POOL = 3, VL = 16, N_CRNN = CRNN_N_TENSORS, HARM_W = N_CRNN, HARM_B, HARM_N_TENSORS };
static const double harmonics[NH] = {0.5, 1, 2, 3, 4, 5};

static int n_pooled(int F) { return (F + POOL - 1) / POOL; }

/* The stack's shifts in bins and the padding either side a frame needs for them and the kernel's reach; the
 * convolution runs over Fp >= F bins, whole blocks of VL (the bins past F are computed and never read). */
typedef struct harm_geom {
    int F, Fp, NP, shift[NH], pad_lo, pad_hi;
} harm_geom;

static harm_geom geom(const a2m_model_info *in) {
    harm_geom g = {.F = in->n_bins, .Fp = (in->n_bins + VL - 1) / VL * VL, .NP = n_pooled(in->n_bins)};
    int bpo = in->cqt.bins_per_octave > 0 ? in->cqt.bins_per_octave : 36;
    for (int h = 0; h < NH; h++) {
        g.shift[h] = (int)lround(bpo * log2(harmonics[h]));
        if (1 - g.shift[h] > g.pad_lo) g.pad_lo = 1 - g.shift[h];
        if (g.shift[h] + 1 > g.pad_hi) g.pad_hi = g.shift[h] + 1;
    }
    g.pad_hi += g.Fp - g.F;
    return g;
}

static int harm_layout(const a2m_model_info *in, nn_tensor *t, int max) {
    a2m_model_info si = *in;
    si.n_bins = HK * n_pooled(in->n_bins);
    int n = nn_arch_crnn.layout(&si, t, max);
    if (n != N_CRNN) return -1;
    nn_tensor_spec spec[2] = {{"harm.weight", 3, {HK, NH, HKS}, 0}, {"harm.bias", 1, {HK}, 0}};
    int k = nn_layout_table(spec, 2, t + n, max - n);
    return k < 0 ? -1 : n + k;
}

static int harm_recognise(const char *const *names, const int (*shapes)[4], const int *ndims, int n,
                          a2m_model_info *info) {
    int hw[4], c0[4], hh[4], fc[4];
    if (n != HARM_N_TENSORS || !nn_find_shape(names, shapes, ndims, n, "harm.weight", 3, hw) ||
        !nn_find_shape(names, shapes, ndims, n, "conv.0.weight", 3, c0) ||
        !nn_find_shape(names, shapes, ndims, n, "lstm.weight_hh_l0", 2, hh) ||
        !nn_find_shape(names, shapes, ndims, n, "fc.weight", 2, fc) || hw[0] != HK || hw[1] != NH || c0[1] % HK)
        return 0;
    info->n_bins = c0[1] / HK * POOL; /* the bins a state dict's shapes allow; a2m's files say theirs */
    info->hidden = hh[1];
    info->n_classes = fc[0];
    return 1;
}

/* m's crnn part as a crnn model over the front's output, its tensors pointing into m's parameters */
static void crnn_part(const a2m_model *m, a2m_model *out) {
    out->info = m->info;
    out->info.n_bins = HK * n_pooled(m->info.n_bins);
    out->arch = &nn_arch_crnn;
    out->n_tensors = N_CRNN, out->params = NULL, out->has_norm = m->has_norm, out->n_params = 0;
    for (int i = 0; i < N_CRNN; i++) out->tensors[i] = m->tensors[i], out->n_params += m->tensors[i].count;
}

/* ---- the front: one frame at a time ---- */

/* x [F] into the padded row xp [pad_lo + F + pad_hi] (pad_hi reaching Fp's blocks) */
static void pad_frame(const harm_geom *g, float *xp, const float *x) {
    memset(xp, 0, (size_t)g->pad_lo * sizeof *xp);
    memcpy(xp + g->pad_lo, x, (size_t)g->F * sizeof *xp);
    memset(xp + g->pad_lo + g->F, 0, (size_t)g->pad_hi * sizeof *xp);
}

/* the harmonic convolution of one padded frame: z [HK x Fp]. A block of VL bins of all HK channels at once, in
 * registers (the eighteen shifted rows loaded once for the eight channels); each z sums its taps in (h, j) order,
 * so every clone gives the same bits. 60 s: 42 ms as eight passes over each z row (perf, the v4 clone) */
typedef float harm_vec __attribute__((vector_size(VL * sizeof(float))));
A2M_DISPATCH_V4 static void harm_conv(const harm_geom *g, const float *w, const float *b, const float *xp, float *z) {
    for (int f0 = 0; f0 < g->Fp; f0 += VL) {
        harm_vec acc[HK];
        for (int k = 0; k < HK; k++)
            for (int i = 0; i < VL; i++) acc[k][i] = b[k];
        for (int h = 0; h < NH; h++)
            for (int j = 0; j < HKS; j++) {
                harm_vec x;
                memcpy(&x, xp + g->pad_lo + g->shift[h] + j - 1 + f0, sizeof x);
                for (int k = 0; k < HK; k++) acc[k] += w[(k * NH + h) * HKS + j] * x;
            }
        for (int k = 0; k < HK; k++) memcpy(z + (size_t)k * g->Fp + f0, &acc[k], sizeof acc[k]);
    }
}

/* u [HK x NP] = ReLU(max over each pool of z), branch-free so it vectorises (a pool past F is cut short) */
A2M_DISPATCH_V4 static void pool_relu(const harm_geom *g, const float *z, float *u) {
    int full = g->F / POOL;
    for (int k = 0; k < HK; k++) {
        const float *zk = z + (size_t)k * g->Fp;
        float *uk = u + k * g->NP;
        for (int p = 0; p < full; p++) {
            float a = zk[POOL * p], b = zk[POOL * p + 1], c = zk[POOL * p + 2];
            float m = a > b ? a : b;
            m = m > c ? m : c;
            uk[p] = m > 0 ? m : 0;
        }
        if (full < g->NP) {
            float m = zk[POOL * full];
            for (int i = POOL * full + 1; i < g->F; i++) m = zk[i] > m ? zk[i] : m;
            uk[full] = m > 0 ? m : 0;
        }
    }
}

/* arg [HK x NP]: the offset in its pool of each pool's first largest z (training's backward routes through it) */
static void pool_arg(const harm_geom *g, const float *z, float *arg) {
    for (int k = 0; k < HK; k++)
        for (int p = 0; p < g->NP; p++) {
            const float *zp = z + (size_t)k * g->Fp + p * POOL;
            int n = g->F - p * POOL < POOL ? g->F - p * POOL : POOL, best = 0;
            for (int i = 1; i < n; i++)
                if (zp[i] > zp[best]) best = i;
            arg[k * g->NP + p] = (float)best;
        }
}

/* the front over B x T frames: u [BT x HK*NP], arg as pool_relu's; frames past lengths[b] are 0.
 * work: work_floats() */
static void front_forward(const harm_geom *g, const float *w, const float *b, const float *x, const int *lengths, int B,
                          int T, float *u, float *arg, float *work) {
    size_t D = (size_t)HK * g->NP;
    float *xp = work, *z = work + g->pad_lo + g->F + g->pad_hi;
    for (int bi = 0; bi < B; bi++)
        for (int t = 0; t < T; t++) {
            size_t r = (size_t)bi * T + t;
            if (lengths && t >= lengths[bi]) {
                memset(u + r * D, 0, D * sizeof *u);
                if (arg) memset(arg + r * D, 0, D * sizeof *arg);
                continue;
            }
            pad_frame(g, xp, x + r * g->F);
            harm_conv(g, w, b, xp, z);
            pool_relu(g, z, u + r * D);
            if (arg) pool_arg(g, z, arg + r * D);
        }
}

/* dw, db += the front's gradients from du [BT x HK*NP] (through the pools' winners where u > 0) */
static void front_backward(const harm_geom *g, float *dw, float *db, const float *du, const float *u, const float *arg,
                           const float *x, int B, int T, float *xp) {
    size_t D = (size_t)HK * g->NP;
    for (size_t r = 0; r < (size_t)B * T; r++) {
        pad_frame(g, xp, x + r * g->F);
        for (int k = 0; k < HK; k++)
            for (int p = 0; p < g->NP; p++) {
                size_t i = r * D + (size_t)k * g->NP + p;
                if (!(u[i] > 0) || du[i] == 0) continue;
                int f = p * POOL + (int)arg[i];
                db[k] += du[i];
                for (int h = 0; h < NH; h++)
                    for (int j = 0; j < HKS; j++)
                        dw[(k * NH + h) * HKS + j] += du[i] * xp[g->pad_lo + f + g->shift[h] + j - 1];
            }
    }
}

/* ---- the architecture ---- */

static size_t work_floats(const harm_geom *g) { return (size_t)g->pad_lo + g->F + g->pad_hi + (size_t)HK * g->Fp; }

/* activations: u [BT x D] | arg [BT x D] | one frame's work | the crnn's (inference forwards get no scratch);
 * scratch: the crnn's | du [BT x D] */
static size_t harm_act_floats(const a2m_model *m, int B, int T) {
    a2m_model c;
    crnn_part(m, &c);
    harm_geom g = geom(&m->info);
    return (size_t)B * T * c.info.n_bins * 2 + work_floats(&g) + nn_arch_crnn.act_floats(&c, B, T);
}

static size_t harm_scratch_floats(const a2m_model *m, int B, int T) {
    a2m_model c;
    crnn_part(m, &c);
    return nn_arch_crnn.scratch_floats(&c, B, T) + (size_t)B * T * c.info.n_bins;
}

static void harm_forward(const a2m_model *m, const float *params, nn_buffers *buf, const float *x, const int *lengths,
                         int B, int T, float *logits, int n_threads, int training) {
    a2m_model c;
    crnn_part(m, &c);
    harm_geom g = geom(&m->info);
    size_t BTD = (size_t)B * T * c.info.n_bins;
    float *u = buf->acts, *arg = u + BTD, *work = arg + BTD;
    /* the pools' winners only where a backward follows */
    front_forward(&g, nn_at(m, params, HARM_W), nn_at(m, params, HARM_B), x, lengths, B, T, u, training ? arg : NULL,
                  work);
    nn_buffers cb = *buf;
    cb.acts = work + work_floats(&g);
    nn_arch_crnn.forward(&c, params, &cb, u, lengths, B, T, logits, n_threads, training);
}

static void harm_backward(const a2m_model *m, const float *params, float *grads, nn_buffers *buf, const float *x,
                          const int *lengths, const float *dlogits, int B, int T, int n_threads) {
    a2m_model c;
    crnn_part(m, &c);
    harm_geom g = geom(&m->info);
    size_t BTD = (size_t)B * T * c.info.n_bins;
    float *u = buf->acts, *arg = u + BTD, *xp = arg + BTD;
    float *du = buf->scratch + nn_arch_crnn.scratch_floats(&c, B, T);
    nn_zero(du, BTD);
    nn_buffers cb = *buf;
    cb.acts = xp + work_floats(&g), cb.dx = du;
    nn_arch_crnn.backward(&c, params, grads, &cb, u, lengths, dlogits, B, T, n_threads);
    front_backward(&g, nn_at(m, grads, HARM_W), nn_at(m, grads, HARM_B), du, u, arg, x, B, T, xp);
}

/* the crnn's initialisation (crnn.c), then PyTorch's Conv1d default for the front: U(+-1/sqrt(6 x 3)) */
static void harm_init(const a2m_model *m, float *params, unsigned long long seed) {
    a2m_model c;
    crnn_part(m, &c);
    nn_arch_crnn.init(&c, params, seed);
    nn_rng r = {seed * 0xBF58476D1CE4E5B9ull + 3};
    double bound = 1.0 / sqrt(NH * HKS);
    for (int i = HARM_W; i <= HARM_B; i++)
        for (size_t k = 0; k < m->tensors[i].count; k++)
            params[m->tensors[i].offset + k] = (float)((2 * nn_rng_uniform(&r) - 1) * bound);
}

/* ---- inference: the front, then the crnn's packed runner ---- */

typedef struct harm_infer {
    harm_geom g;
    int in_bins; /* the front's input bins a frame (the CQT's) */
    float w[HK * NH * HKS], b[HK];
    float *u;    /* the bf16 path only: [max_b x max_t x D], the whole batch's front output */
    float *work; /* one frame's work */
    crnn_infer *crnn;
} harm_infer;

static void harm_infer_del(void *state) {
    harm_infer *s = state;
    if (!s) return;
    crnn_infer_del(s->crnn);
    free(s->u), free(s->work), free(s);
}

/* crnn_front_fn: sequence b's front output (the fp32 path: one sequence's rows, not the batch's) */
static void harm_front_seq(void *ctx, const float *x, int b, int T, int len, float *out) {
    harm_infer *s = ctx;
    front_forward(&s->g, s->w, s->b, x + (size_t)b * T * s->in_bins, &len, 1, T, out, NULL, s->work);
}

static void *harm_infer_new(const a2m_model *m, const float *params, int max_batch, int max_frames, int precision) {
    a2m_model c;
    crnn_part(m, &c);
    harm_infer *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->g = geom(&m->info), s->in_bins = m->info.n_bins;
    memcpy(s->w, nn_at(m, params, HARM_W), sizeof s->w);
    memcpy(s->b, nn_at(m, params, HARM_B), sizeof s->b);
    s->work = malloc(work_floats(&s->g) * sizeof *s->work);
    s->crnn = crnn_infer_new_ex(&c, params, max_batch, max_frames, precision);
    int ok = s->work && s->crnn;
    if (ok && crnn_infer_precision(s->crnn) == A2M_PRECISION_BF16)
        ok = (s->u = malloc((size_t)max_batch * max_frames * c.info.n_bins * sizeof *s->u)) != NULL;
    else if (ok) ok = crnn_infer_set_front(s->crnn, harm_front_seq, s) == 0;
    if (!ok) {
        harm_infer_del(s);
        return NULL;
    }
    return s;
}

static int harm_infer_precision(const void *state) { return crnn_infer_precision(((const harm_infer *)state)->crnn); }

static void harm_infer_forward(void *state, const float *x, const int *lengths, int B, int T, float *logits) {
    harm_infer *s = state;
    if (s->u) front_forward(&s->g, s->w, s->b, x, lengths, B, T, s->u, NULL, s->work);
    crnn_infer_forward(s->crnn, s->u ? s->u : x, lengths, B, T, logits);
}

const a2m_arch nn_arch_harmonic = {
    "harmonic", harm_layout, harm_recognise, harm_act_floats,      harm_scratch_floats, harm_forward,   harm_backward,
    harm_init,  NULL,        harm_infer_new, harm_infer_precision, harm_infer_forward,  harm_infer_del, NULL,
};
