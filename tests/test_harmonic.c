/* The harmonic CRNN (nn/harmonic.c): whole-model and front-end gradient checks, the front is equivariant to a
 * pitch shift (input moved by a semitone's 3 bins: its output moved by one position, bit for bit), the packed
 * inference equals the training forward (padding included), and a trained model learns, saves and loads with
 * the same logits. */
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/train.h"
#include "check.h"
#include "gradcheck.h"
#include "model_check.h"
#include "nn/arch.h"
#include "nn/layers.h"
#include "synth_dataset.h"

/* The whole-model check's fixture: two sequences of 5 frames (the second 3 long), labels with ignored frames, the
 * loss times `scale` (1, or so the tensor under test has gradients of order 1: gradcheck's tolerance is relative to
 * max(1, |g|), and the front's gradients, ~1e-2, would pass at twice their value) */
enum { GB = 2, GT = 5, GF = 9, GC = 4 };
typedef struct harm_fixture {
    a2m_model *m;
    nn_buffers buf;
    float x[GB * GT * GF];
    double scale;
} harm_fixture;
static const int64_t fixture_labels[GB * GT] = {1, 0, 3, 2, 1, 2, 3, 0, -1, -1};
static const int fixture_lengths[GB] = {5, 3};

static double fixture_loss(void *ctx) {
    harm_fixture *f = ctx;
    return f->scale * model_xent(f->m, &f->buf, f->x, fixture_labels, fixture_lengths, GB, GT, GC);
}

static int check_scaled(harm_fixture *f, const char *what, const nn_tensor *t, const float *grads, size_t max_checks) {
    double big = 0;
    for (size_t i = 0; i < t->count; i++) big = fmax(big, fabs(grads[t->offset + i]));
    f->scale = big > 0 ? 1 / big : 1;
    float *g = malloc(t->count * sizeof *g);
    for (size_t i = 0; i < t->count; i++) g[i] = (float)(grads[t->offset + i] * f->scale);
    /* each front weight feeds every bin of every frame: a step of 1e-2 can carry some max-pool winner across its kink,
     * so smaller steps too (a point passes at one; a wrong gradient fails at all) */
    static const double steps[] = {1e-2, 3e-3, 1e-3, 3e-4};
    double worst; /* 3e-2: the right gradients pass within 0.02 at some step, wrong ones (twice the bias, a tap off
                   * by one) fail by 0.5-1.7 at every step */
    int failures = gradcheck_steps(what, f->m->params + t->offset, g, t->count, fixture_loss, f, steps, 4, 0, 3e-2,
                                   max_checks, &worst);
    free(g);
    f->scale = 1;
    return failures;
}

/* 9 bins of a 3-bin-a-octave CQT: the stack's shifts -3, 0, 3, 5, 6, 7 reach past both ends */
static void check_gradient(void) {
    static harm_fixture f = {.scale = 1};
    a2m_model_info in = nn_model_default_info();
    in.n_bins = GF, in.hidden = 3, in.cqt.bins_per_octave = 3;
    CHECK(nn_model_create("harmonic", &in, &f.m) == A2M_OK, "create: %s", a2m_errmsg());
    if (!f.m) return;
    f.m->arch->init(f.m, f.m->params, 7);
    for (int i = 0; i < GB * GT * GF; i++) f.x[i] = (float)(cos(0.9 * i) - 0.3 * sin(0.05 * i * i));
    alloc_buffers(f.m, &f.buf, GB, GT);
    float *grads = model_grads(f.m, &f.buf, f.x, fixture_labels, fixture_lengths, GB, GT, GC);
    CHECK(gradcheck("harmonic, every tensor", f.m->params, grads, f.m->n_params, fixture_loss, &f, 1e-2, 2e-2, 600) ==
              0,
          "whole-model gradient");
    const nn_tensor *hw = nn_model_tensor(f.m, "harm.weight"), *hb = nn_model_tensor(f.m, "harm.bias");
    CHECK(hw && hb && hw->count == 8 * 6 * 3 && hb->count == 8, "the front's tensors");
    if (hw && hb) {
        double g2 = 0;
        for (size_t i = 0; i < hw->count; i++) g2 += (double)grads[hw->offset + i] * grads[hw->offset + i];
        CHECK(g2 > 0, "the front gets a gradient");
        CHECK(check_scaled(&f, "harm.weight", hw, grads, 200) == 0, "harm.weight gradient");
        CHECK(check_scaled(&f, "harm.bias", hb, grads, 8) == 0, "harm.bias gradient");
    }
    free(grads), free(f.buf.acts), free(f.buf.scratch);
    a2m_model_del(f.m);
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

/* the synthetic task over 12 bins: 5 takes trained on, takes 0 and 3 validated */
static void check_training(void) {
    a2m_dataset d;
    make_synth_dataset(&d, 7, 40, 12);
    size_t takes[7] = {1, 2, 4, 5, 6, 0, 3};
    a2m_model_del(check_train_save_load(&d, takes, 5, takes + 5, 2, takes, 7, synth_task_params("harmonic"), 0.9, 4,
                                        "harmonic.safetensors"));
    a2m_dataset_free(&d);
}

int main(void) {
    check_gradient();
    check_equivariance();
    check_inference();
    check_training();
    return test_done("test_harmonic");
}
