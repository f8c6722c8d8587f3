/* Helpers the model and training tests share (each was copied into several test files): runner parameters,
 * training buffers for an architecture, and the resume check (a run stopped at its checkpoint and resumed
 * equals the straight run). Include after check.h. */
#ifndef A2M_TEST_MODEL_CHECK_H
#define A2M_TEST_MODEL_CHECK_H

#include <unistd.h>

#include "a2m/error.h"
#include "a2m/model.h"
#include "a2m/train.h"
#include "check.h"
#include "nn/arch.h"
#include "nn/layers.h"

/* A runner of batch x frames at a precision (the library's defaults otherwise). */
static inline a2m_runner_params runner_params(int max_batch, int max_frames, a2m_precision precision) {
    a2m_runner_params p = a2m_runner_default_params();
    p.max_batch = max_batch, p.max_frames = max_frames, p.precision = precision;
    return p;
}

/* Activations and scratch for m's training forward at B x T (freed by the caller) */
static inline void alloc_buffers(const a2m_model *m, nn_buffers *b, int B, int T) {
    memset(b, 0, sizeof *b);
    b->acts = malloc(m->arch->act_floats(m, B, T) * sizeof(float));
    b->scratch = malloc(m->arch->scratch_floats(m, B, T) * sizeof(float));
    b->max_batch = B, b->max_frames = T;
}

/* The summed cross-entropy at x (B x T, lengths len; labels lab, -1 = padding; C classes) through m's training
 * forward on b: the loss of the whole-model gradient checks */
static inline double model_xent(const a2m_model *m, nn_buffers *b, const float *x, const int64_t *lab, const int *len,
                                int B, int T, int C) {
    float *logits = malloc((size_t)B * T * C * sizeof *logits);
    m->arch->forward(m, m->params, b, x, len, B, T, logits, 1, 1);
    double loss = softmax_xent_forward_backward(NULL, logits, lab, NULL, 0, B * T, C, NULL);
    free(logits);
    return loss;
}

/* The analytic gradient of the summed cross-entropy at x (B x T, lengths len; labels lab, -1 = padding; C
 * classes) through m's training forward and backward on b, in a new array of m's n_params */
static inline float *model_grads(const a2m_model *m, nn_buffers *b, const float *x, const int64_t *lab, const int *len,
                                 int B, int T, int C) {
    float *logits = malloc((size_t)B * T * C * sizeof *logits), *dlogits = malloc((size_t)B * T * C * sizeof *dlogits);
    float *grads = calloc(m->n_params, sizeof *grads);
    m->arch->forward(m, m->params, b, x, len, B, T, logits, 1, 1);
    softmax_xent_forward_backward(dlogits, logits, lab, NULL, 0, B * T, C, NULL);
    m->arch->backward(m, m->params, grads, b, x, len, dlogits, B, T, 1);
    free(logits), free(dlogits);
    return grads;
}

/* A training progress callback keeping each finished epoch's train loss (the first 16) */
static double epoch_loss[16];
static inline int on_epoch(void *user, const a2m_train_epoch *e) {
    (void)user;
    if (e->done && e->epoch <= 16) epoch_loss[e->epoch - 1] = e->train_loss;
    return 0;
}

/* 2 epochs, then 2 more from the checkpoint == 4 straight (selected by loss: no early stop involved); the
 * train takes tr[0..3], val va[0..1]; log (or NULL) is the resumed run's log. The checkpoint is removed. */
static inline void check_resume(a2m_dataset *d, size_t *tr, size_t *va, a2m_train_params p, const char *ckpt,
                                const char *log, const char *what) {
    unlink(ckpt);
    p.select_by_loss = 1, p.epochs = 4;
    a2m_model *straight = NULL, *c = NULL;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &straight, NULL) == A2M_OK, "%s straight", what);
    p.checkpoint_path = ckpt, p.log_path = log, p.epochs = 2;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, NULL) == A2M_OK, "%s first half", what);
    a2m_model_del(c);
    p.epochs = 4, p.resume = 1;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, NULL) == A2M_OK, "%s resumed: %s", what, a2m_errmsg());
    CHECK(c && straight && memcmp(c->params, straight->params, c->n_params * sizeof(float)) == 0,
          "%s: resumed run equals the straight run", what);
    a2m_model_del(c), a2m_model_del(straight);
    unlink(ckpt);
}

/* The training options of the synthetic-task tests (synth_dataset.h): small and quick, and they learn it */
static inline a2m_train_params synth_task_params(const char *arch) {
    a2m_train_params p = a2m_train_default_params();
    p.arch = arch, p.hidden = 8, p.batch = 2, p.epochs = 20, p.lr = 1e-2, p.seed = 3, p.patience = 100;
    return p;
}

/* Trains p.arch on d (takes tr, validated on va), checks it learns (best validation accuracy >= min_acc), saves it
 * as test_tmp(file), loads it back as that architecture and checks the reloaded model's logits over the takes all
 * [n_all] equal the trained one's (classes n_classes). Returns the trained model (the caller frees it), or NULL. */
static inline a2m_model *check_train_save_load(a2m_dataset *d, size_t *tr, size_t n_tr, size_t *va, size_t n_va,
                                               size_t *all, size_t n_all, a2m_train_params p, double min_acc,
                                               int n_classes, const char *file) {
    a2m_model *m = NULL;
    a2m_train_result r;
    CHECK(a2m_train(d, tr, n_tr, va, n_va, p, NULL, NULL, &m, &r) == A2M_OK, "%s trains: %s", p.arch, a2m_errmsg());
    CHECK(r.best_val_accuracy >= min_acc, "%s learns the synthetic task (val accuracy %.3f)", p.arch,
          r.best_val_accuracy);
    const char *path = test_tmp(file);
    CHECK(m && a2m_model_save(m, path) == A2M_OK, "save %s", p.arch);
    a2m_model *back = NULL;
    CHECK(a2m_model_load(path, NULL, &back) == A2M_OK && !strcmp(a2m_model_get_info(back)->arch, p.arch), "load %s: %s",
          p.arch, a2m_errmsg());
    size_t n = d->total_frames * (size_t)n_classes;
    float *z1 = malloc(n * sizeof *z1), *z2 = malloc(n * sizeof *z2);
    if (m && back) {
        a2m_model_logits_takes(m, d, all, n_all, 1, 0, 0, z1);
        a2m_model_logits_takes(back, d, all, n_all, 1, 0, 0, z2);
        CHECK(!memcmp(z1, z2, n * sizeof *z1), "a reloaded %s model gives the same logits", p.arch);
    }
    free(z1), free(z2);
    a2m_model_del(back);
    unlink(path);
    return m;
}

#endif
