/* The harmonic CRNN (nn/harmonic.c): whole-model and front-end gradient checks, the front is equivariant to a
 * pitch shift (input moved by a semitone's 3 bins: its output moved by one position, bit for bit), the packed
 * inference equals the training forward (padding included), and a trained model learns, saves and loads with
 * the same logits. */
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/train.h"
#include "check.h"
#include "gradcheck.h"
#include "nn/arch.h"
#include "nn/layers.h"
#include "synth_dataset.h"

enum { GB = 2, GT = 5, GF = 9, GC = 4 };
static a2m_model *gm;
static nn_buffers gbuf;
static float gx[GB * GT * GF];
static int64_t glab[GB * GT] = {0, 1, 2, 3, -1, 3, 2, 1, 0, -1};
static int glen[GB] = {5, 4};

static double model_loss(void *ctx) {
    (void)ctx;
    float logits[GB * GT * GC];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, GB, GT, logits, 1, 1);
    return softmax_xent_forward_backward(NULL, logits, glab, NULL, 0, GB * GT, GC, NULL);
}

/* the loss scaled so the tensor under test has gradients of order 1 (gradcheck's tolerance is relative to
 * max(1, |g|): the front's gradients, ~1e-2, would pass at twice their value) */
static double g_scale = 1;
static double scaled_loss(void *ctx) { return g_scale * model_loss(ctx); }

static int check_scaled(const char *what, const nn_tensor *t, const float *grads, size_t max_checks) {
    double big = 0;
    for (size_t i = 0; i < t->count; i++) big = fmax(big, fabs(grads[t->offset + i]));
    g_scale = big > 0 ? 1 / big : 1;
    float *g = malloc(t->count * sizeof *g);
    for (size_t i = 0; i < t->count; i++) g[i] = (float)(grads[t->offset + i] * g_scale);
    /* each front weight feeds every bin of every frame: a step of 1e-2 can carry some max-pool winner across its kink,
     * so smaller steps too (a point passes at one; a wrong gradient fails at all) */
    static const double steps[] = {1e-2, 3e-3, 1e-3, 3e-4};
    double worst;
    int failures = gradcheck_steps(what, gm->params + t->offset, g, t->count, scaled_loss, NULL, steps, 4, 0, 2e-2,
                                   max_checks, &worst);
    free(g);
    return failures;
}

static const nn_tensor *tensor(const a2m_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

/* 9 bins of a 3-bin-a-octave CQT: the stack's shifts -3, 0, 3, 5, 6, 7 reach past both ends */
static void check_gradient(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = GF, in.hidden = 3, in.cqt.bins_per_octave = 3;
    CHECK(nn_model_create("harmonic", &in, &gm) == A2M_OK, "create: %s", a2m_errmsg());
    if (!gm) return;
    gm->arch->init(gm, gm->params, 7);
    for (size_t i = 0; i < sizeof gx / sizeof *gx; i++) gx[i] = (float)sin(1.7 * i) + 0.2f * (float)cos(0.3 * i * i);
    gbuf = (nn_buffers){0};
    gbuf.acts = malloc(gm->arch->act_floats(gm, GB, GT) * sizeof(float));
    gbuf.scratch = malloc(gm->arch->scratch_floats(gm, GB, GT) * sizeof(float));
    float logits[GB * GT * GC], dlogits[GB * GT * GC];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, GB, GT, logits, 1, 1);
    softmax_xent_forward_backward(dlogits, logits, glab, NULL, 0, GB * GT, GC, NULL);
    float *grads = calloc(gm->n_params, sizeof *grads);
    gm->arch->backward(gm, gm->params, grads, &gbuf, gx, glen, dlogits, GB, GT, 1);
    CHECK(gradcheck("harmonic, every tensor", gm->params, grads, gm->n_params, model_loss, NULL, 1e-2, 2e-2, 600) == 0,
          "whole-model gradient");
    const nn_tensor *hw = tensor(gm, "harm.weight"), *hb = tensor(gm, "harm.bias");
    CHECK(hw && hb && hw->count == 8 * 6 * 3 && hb->count == 8, "the front's tensors");
    if (hw && hb) {
        double g2 = 0;
        for (size_t i = 0; i < hw->count; i++) g2 += (double)grads[hw->offset + i] * grads[hw->offset + i];
        CHECK(g2 > 0, "the front gets a gradient");
        CHECK(check_scaled("harm.weight", hw, grads, 200) == 0, "harm.weight gradient");
        CHECK(check_scaled("harm.bias", hb, grads, 8) == 0, "harm.bias gradient");
    }
    free(grads), free(gbuf.acts), free(gbuf.scratch);
    a2m_model_del(gm);
    gm = NULL;
}

/* the front's output (the first B*T*8*84 floats of the activations) for one frame x [252] */
static void front_out(a2m_model *m, const float *x, float *u) {
    nn_buffers b = {0};
    b.acts = malloc(m->arch->act_floats(m, 1, 1) * sizeof(float));
    float logits[64];
    m->arch->forward(m, m->params, &b, x, NULL, 1, 1, logits, 1, 0);
    memcpy(u, b.acts, 8 * 84 * sizeof *u);
    free(b.acts);
}

static void check_equivariance(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 252, in.hidden = 4;
    a2m_model *m = NULL;
    CHECK(nn_model_create("harmonic", &in, &m) == A2M_OK, "create 252 bins");
    if (!m) return;
    m->arch->init(m, m->params, 3);
    float x[252] = {0}, xs[252] = {0}, u[8 * 84], us[8 * 84];
    for (int f = 40; f < 160; f++) x[f] = (float)sin(0.37 * f) + (f % 36 == 4 ? 2.0f : 0.0f); /* zero near both ends */
    for (int f = 3; f < 252; f++) xs[f] = x[f - 3];                                           /* a semitone up */
    front_out(m, x, u), front_out(m, xs, us);
    int same = 1, nonzero = 0;
    for (int k = 0; k < 8; k++)
        for (int p = 0; p + 1 < 84; p++) {
            same &= us[k * 84 + p + 1] == u[k * 84 + p];
            nonzero += u[k * 84 + p] > 0;
        }
    CHECK(same && nonzero > 100, "a semitone up moves the front's output one position (%d active)", nonzero);
    a2m_model_del(m);
}

static void check_inference(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 252, in.hidden = 16, in.n_classes = 6;
    a2m_model *m = NULL;
    CHECK(nn_model_create("harmonic", &in, &m) == A2M_OK, "create");
    if (!m) return;
    m->arch->init(m, m->params, 5);
    enum { B = 3, T = 37 };
    int len[B] = {37, 20, 1};
    float *x = malloc((size_t)B * T * 252 * sizeof *x), *z0 = malloc(B * T * 6 * sizeof *z0),
          *z1 = malloc(B * T * 6 * sizeof *z1);
    for (int i = 0; i < B * T * 252; i++) x[i] = (float)sin(0.013 * i * (i % 7 + 1));
    nn_buffers b = {0};
    b.acts = malloc(m->arch->act_floats(m, B, T) * sizeof(float));
    m->arch->forward(m, m->params, &b, x, len, B, T, z0, 1, 0);
    /* fp32: the front one sequence at a time before the crnn's packed convolution; bf16 (where the CPU has it): the
     * batch's front output whole, then the crnn's bf16 path */
    for (int precision = A2M_PRECISION_FP32; precision <= A2M_PRECISION_BF16; precision++) {
        void *s = m->arch->infer_new(m, m->params, B, T, precision);
        CHECK(s != NULL, "packed inference state");
        if (!s) continue;
        int runs = m->arch->infer_precision(s);
        for (int i = 0; i < B * T * 6; i++) z1[i] = NAN;
        m->arch->infer_forward(s, x, len, B, T, z1);
        double worst = 0;
        for (int bi = 0; bi < B; bi++)
            for (int t = 0; t < len[bi]; t++)
                for (int c = 0; c < 6; c++) {
                    size_t i = ((size_t)bi * T + t) * 6 + c;
                    worst = fmax(worst, isnan(z1[i]) ? INFINITY : fabs((double)z0[i] - z1[i]));
                }
        if (precision == A2M_PRECISION_FP32 || runs == A2M_PRECISION_BF16)
            CHECK(worst <= (runs == A2M_PRECISION_BF16 ? 0.05 : 1e-4),
                  "packed inference (%s) = training forward (max "
                  "|diff| %.3g)",
                  runs == A2M_PRECISION_BF16 ? "bf16" : "fp32", worst);
        else printf("test_harmonic: no bf16 on this CPU, the fp32 path checked only\n");
        m->arch->infer_del(s);
    }
    free(x), free(z0), free(z1), free(b.acts);
    a2m_model_del(m);
}

static void check_training(void) {
    a2m_dataset d;
    make_synth_dataset(&d, 6, 40, 12);
    size_t tr[4] = {0, 1, 2, 3}, va[2] = {4, 5}, all[6] = {0, 1, 2, 3, 4, 5};
    a2m_train_params p = a2m_train_default_params();
    p.hidden = 8, p.batch = 2, p.epochs = 20, p.lr = 1e-2, p.seed = 3, p.patience = 100;
    p.arch = "harmonic";
    a2m_model *m = NULL;
    a2m_train_result r;
    CHECK(a2m_train(&d, tr, 4, va, 2, p, NULL, NULL, &m, &r) == A2M_OK, "harmonic trains: %s", a2m_errmsg());
    CHECK(r.best_val_accuracy >= 0.9, "harmonic learns the synthetic task (val accuracy %.3f)", r.best_val_accuracy);
    const char *path = test_tmp("harmonic.safetensors");
    CHECK(m && a2m_model_save(m, path) == A2M_OK, "save");
    a2m_model *back = NULL;
    CHECK(a2m_model_load(path, NULL, &back) == A2M_OK && !strcmp(a2m_model_get_info(back)->arch, "harmonic"),
          "load: %s", a2m_errmsg());
    size_t n = d.total_frames;
    float *z1 = malloc(n * 4 * sizeof *z1), *z2 = malloc(n * 4 * sizeof *z2);
    if (m && back) {
        a2m_model_logits_takes(m, &d, all, 6, 1, 0, 0, z1);
        a2m_model_logits_takes(back, &d, all, 6, 1, 0, 0, z2);
        CHECK(!memcmp(z1, z2, n * 4 * sizeof *z1), "a reloaded harmonic model gives the same logits");
    }
    a2m_model_del(back), a2m_model_del(m);
    free(z1), free(z2);
    unlink(path);
    a2m_dataset_free(&d);
}

int main(void) {
    check_gradient();
    check_equivariance();
    check_inference();
    check_training();
    return test_done("test_harmonic");
}
