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

#endif
