/* The two-stage architecture (voicing crnn + pitch crnn, nn/two_stage.c) and the crnn's optional dropout:
 * whole-model gradient checks (with and without dropout), the two-stage probabilities are p_v(silence) and
 * p_v(sung) p_p(c), training learns, a saved two-stage model loads with the same logits, and Monte-Carlo
 * dropout passes (a2m_model_logits_takes) repeat for a seed and differ between seeds. */
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/train.h"
#include "check.h"
#include "gradcheck.h"
#include "model_check.h"
#include "nn/arch.h"
#include "nn/layers.h"
#include "synth_dataset.h"

enum { GB = 2, GT = 5, GF = 6, GC = 4 };
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

static void check_gradient(const char *arch, float dropout) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = GF, in.hidden = 3;
    CHECK(nn_model_create(arch, &in, &gm) == A2M_OK, "create %s: %s", arch, a2m_errmsg());
    if (!gm) return;
    gm->arch->init(gm, gm->params, 7);
    for (size_t i = 0; i < sizeof gx / sizeof *gx; i++) gx[i] = (float)sin(1.7 * i) + 0.2f * (float)cos(0.3 * i * i);
    gbuf = (nn_buffers){0};
    gbuf.acts = malloc(gm->arch->act_floats(gm, GB, GT) * sizeof(float));
    gbuf.scratch = malloc(gm->arch->scratch_floats(gm, GB, GT) * sizeof(float));
    gbuf.dropout = dropout, gbuf.seed = 11;
    float logits[GB * GT * GC], dlogits[GB * GT * GC];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, GB, GT, logits, 1, 1);
    softmax_xent_forward_backward(dlogits, logits, glab, NULL, 0, GB * GT, GC, NULL);
    float *grads = calloc(gm->n_params, sizeof *grads);
    gm->arch->backward(gm, gm->params, grads, &gbuf, gx, glen, dlogits, GB, GT, 1);
    char what[64];
    snprintf(what, sizeof what, "%s dropout %.1f", arch, dropout);
    CHECK(gradcheck(what, gm->params, grads, gm->n_params, model_loss, NULL, 1e-2, 2e-2, 600) == 0, "%s gradient",
          what);
    if (!strcmp(arch, "two-stage")) {
        /* softmax of the outputs = [p_v(0), p_v(1) p_p(1..C-1)]: the outputs are log-probabilities */
        double worst = 0;
        for (int i = 0; i < GB * GT; i++) {
            double s = 0;
            for (int c = 0; c < GC; c++) s += exp(logits[i * GC + c]);
            worst = fmax(worst, fabs(s - 1));
        }
        CHECK(worst < 1e-5, "two-stage outputs are log-probabilities (|sum p - 1| %.2g)", worst);
    }
    free(grads), free(gbuf.acts), free(gbuf.scratch);
    a2m_model_del(gm);
    gm = NULL;
}

static void check_training(void) {
    a2m_dataset d;
    make_synth_dataset(&d, 6, 40, 8);
    size_t tr[4] = {0, 1, 2, 3}, va[2] = {4, 5}, all[6] = {0, 1, 2, 3, 4, 5};
    a2m_train_params p = synth_task_params("two-stage");
    a2m_model_del(check_train_save_load(&d, tr, 4, va, 2, all, 6, p, 0.9, 4, "two_stage.safetensors"));
    size_t n = d.total_frames;
    float *z1 = malloc(n * 4 * sizeof *z1), *z2 = malloc(n * 4 * sizeof *z2), *z3 = malloc(n * 4 * sizeof *z3);
    a2m_model *m;
    a2m_train_result r;

    /* crnn with dropout: trains, stores its dropout; Monte-Carlo passes repeat per seed, differ between seeds */
    p.arch = "crnn", p.dropout = 0.3, p.epochs = 8;
    m = NULL;
    CHECK(a2m_train(&d, tr, 4, va, 2, p, NULL, NULL, &m, &r) == A2M_OK && r.best_val_accuracy > 0.5,
          "crnn with dropout learns (%.3f)", r.best_val_accuracy);
    CHECK(m && a2m_model_get_info(m)->dropout == 0.3, "dropout kept in the model info");
    if (m) {
        a2m_model_logits_takes(m, &d, all, 6, 1, 0.3, 5, z1);
        a2m_model_logits_takes(m, &d, all, 6, 1, 0.3, 5, z2);
        a2m_model_logits_takes(m, &d, all, 6, 1, 0.3, 6, z3);
        CHECK(!memcmp(z1, z2, n * 4 * sizeof *z1), "one seed, one Monte-Carlo pass");
        CHECK(memcmp(z1, z3, n * 4 * sizeof *z1) != 0, "another seed, another pass");
        int64_t *pred = malloc(n * sizeof *pred);
        float *probs = malloc(n * 4 * sizeof *probs);
        a2m_model_predict_takes(m, &d, all, 6, 1, pred, probs);
        a2m_model_logits_takes(m, &d, all, 6, 1, 0, 5, z1);
        softmax_rows(z2, z1, (int)n, 4);
        double worst = 0;
        for (size_t i = 0; i < n * 4; i++) worst = fmax(worst, fabs(z2[i] - probs[i]));
        CHECK(worst == 0, "no dropout: the logits are the prediction's (%.2g)", worst);
        CHECK(a2m_model_logits_takes(m, &d, all, 6, 1, 1.0, 5, z1) == A2M_ERR_ARG, "dropout 1 refused");
        free(pred), free(probs);
    }
    a2m_model_del(m);
    free(z1), free(z2), free(z3);
    a2m_dataset_free(&d);
}

int main(void) {
    check_gradient("crnn", 0.3f);
    check_gradient("two-stage", 0.0f);
    check_gradient("two-stage", 0.3f);
    check_training();
    return test_done("test_two_stage");
}
