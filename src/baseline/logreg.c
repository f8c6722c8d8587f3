/* Multinomial logistic regression on frames: one linear layer and softmax cross-entropy
 * (src/nn/layers.c's forward/backward pairs), trained by mini-batch Adam. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/baseline.h"
#include "a2m/error.h"
#include "nn/arch.h"
#include "nn/layers.h"

a2m_logreg_params a2m_logreg_default_params(void) {
    /* on the seed CQT (standardised), lr 0.01 and batch 256 reach their best validation accuracy in 10-30 epochs */
    return (a2m_logreg_params){.epochs = 30, .batch = 256, .lr = 0.01, .l2 = 1e-4, .seed = 0, .n_threads = 1};
}

void a2m_logreg_free(a2m_logreg *m) {
    free(m->w), free(m->b);
    memset(m, 0, sizeof *m);
}

/* loss = mean_i -log softmax(W x_i + b)[y_i] + l2/2 |W|^2
 * forward:  logits [n x C] = x [n x D] W^T [D x C] + b
 * backward: dlogits = (p - onehot(y)) / n;  dW = dlogits^T x + l2 W;  db = sum_i dlogits_i */
double a2m_logreg_loss(const a2m_logreg *m, const float *x, const int64_t *y, int n, double l2, float *dw, float *db,
                       float *logits) {
    int D = m->dim, C = m->n_classes;
    linear_forward(logits, x, m->w, m->b, n, D, C);
    double wsum = 0;
    double loss = softmax_xent_forward_backward(dw ? logits : NULL, logits, y, NULL, 0.0, n, C, &wsum);
    double reg = 0;
    for (size_t i = 0; i < (size_t)C * D; i++) reg += (double)m->w[i] * m->w[i];
    if (dw) {
        nn_zero(dw, (size_t)C * D);
        nn_zero(db, (size_t)C);
        linear_backward(NULL, dw, db, logits, x, m->w, n, D, C);
        for (size_t i = 0; i < (size_t)C * D; i++) dw[i] += (float)(l2 * m->w[i]);
    }
    return loss + 0.5 * l2 * reg;
}

static int check_labels(const int64_t *y, size_t n, int C, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= C)
            return a2m_error(A2M_ERR_RANGE, "%s frame %zu: class %lld outside 0..%d", what, i, (long long)y[i], C - 1);
    return A2M_OK;
}

int a2m_logreg_predict(const a2m_logreg *m, const float *x, size_t n, int64_t *pred, float *probs) {
    int D = m->dim, C = m->n_classes;
    const size_t chunk = 4096;
    float *lg = malloc(chunk * (size_t)C * sizeof *lg);
    if (!lg) return a2m_error(A2M_ERR_NOMEM, "logistic regression: out of memory");
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t rows = n - r0 < chunk ? n - r0 : chunk;
        linear_forward(lg, x + r0 * D, m->w, m->b, (int)rows, D, C);
        for (size_t r = 0; r < rows; r++) pred[r0 + r] = nn_argmax(lg + r * C, C);
        if (probs) softmax_rows(probs + r0 * C, lg, (int)rows, C);
    }
    free(lg);
    return A2M_OK;
}

/* A2M_OK and *acc, or the prediction's A2M_ERR_NOMEM (it was read as an accuracy of -1: the epoch silently lost) */
static int accuracy_of(const a2m_logreg *m, const float *x, const int64_t *y, size_t n, int64_t *pred, double *acc) {
    int rc = a2m_logreg_predict(m, x, n, pred, NULL);
    if (rc) return rc;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += pred[i] == y[i];
    *acc = n ? (double)ok / (double)n : 0;
    return A2M_OK;
}

/* one epoch of Adam steps over a shuffled order, the rate annealed by a cosine from p.lr at the first step to 0
 * after the last (tests/test_baseline_seed.c's objective after 30 epochs: at a constant 0.01 23% above its
 * optimum, annealed 20%; annealed from 0.05, 4%);
 * returns the mean batch loss */
static double train_epoch(a2m_logreg *m, const float *x, const int64_t *y, size_t n, a2m_logreg_params p, size_t *order,
                          nn_rng *rng, float *xb, int64_t *yb, float *grad, float *mom, float *vel, float *lg,
                          long *step) {
    const double pi = 3.14159265358979323846;
    long total = (long)p.epochs * (long)((n + (size_t)p.batch - 1) / (size_t)p.batch);
    int D = m->dim, C = m->n_classes;
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)(nn_rng_next(rng) % (unsigned long long)(i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    adam_params ap = adam_default_params();
    ap.lr = p.lr, ap.weight_decay = 0; /* the L2 term is in the loss's gradient */
    size_t nw = (size_t)C * D, nb = 0;
    double sum = 0;
    for (size_t b0 = 0; b0 < n; b0 += (size_t)p.batch, nb++) {
        int rows = (int)(n - b0 < (size_t)p.batch ? n - b0 : (size_t)p.batch);
        for (int r = 0; r < rows; r++) {
            memcpy(xb + (size_t)r * D, x + order[b0 + r] * D, (size_t)D * sizeof *xb);
            yb[r] = y[order[b0 + r]];
        }
        sum += a2m_logreg_loss(m, xb, yb, rows, p.l2, grad, grad + nw, lg);
        ap.lr = p.lr * 0.5 * (1.0 + cos(pi * (double)*step / (double)total));
        ++*step;
        adam_update(m->w, grad, mom, vel, nw, ap, *step);
        adam_update(m->b, grad + nw, mom + nw, vel + nw, (size_t)C, ap, *step);
    }
    return nb ? sum / (double)nb : 0;
}

int a2m_logreg_train(const float *x, const int64_t *y, size_t n, const float *xv, const int64_t *yv, size_t nv, int dim,
                     int C, a2m_logreg_params p, a2m_logreg_epoch_fn cb, void *user, a2m_logreg *out, int *best_epoch) {
    memset(out, 0, sizeof *out);
    if (n < 1) return a2m_error(A2M_ERR_EMPTY, "no training frames");
    if (dim < 1 || C < 2 || C > A2M_MAX_CLASSES)
        return a2m_error(A2M_ERR_ARG, "%d values per frame, %d classes", dim, C);
    if (p.epochs < 1 || p.batch < 1 || !(p.lr > 0) || !(p.l2 >= 0))
        return a2m_error(A2M_ERR_ARG, "logistic regression: epochs, batch and lr must be positive, l2 >= 0");
    int rc = check_labels(y, n, C, "training");
    if (!rc && xv) rc = check_labels(yv, nv, C, "validation");
    if (rc) return rc;
    size_t nw = (size_t)C * dim, np = nw + (size_t)C, bs = (size_t)p.batch;
    a2m_logreg m = {dim, C, calloc(nw, sizeof(float)), calloc((size_t)C, sizeof(float))};
    float *best = malloc(np * sizeof *best), *grad = malloc(np * sizeof *grad), *mom = calloc(np, sizeof *mom),
          *vel = calloc(np, sizeof *vel), *xb = malloc(bs * dim * sizeof *xb), *lg = malloc(bs * C * sizeof *lg);
    int64_t *yb = malloc(bs * sizeof *yb), *pv = malloc((nv ? nv : 1) * sizeof *pv);
    size_t *order = malloc(n * sizeof *order);
    if (!m.w || !m.b || !best || !grad || !mom || !vel || !xb || !lg || !yb || !pv || !order)
        rc = a2m_error(A2M_ERR_NOMEM, "logistic regression: out of memory");
    for (size_t i = 0; !rc && i < n; i++) order[i] = i;
    nn_rng rng = {p.seed * 0x9E3779B97F4A7C15ull + 1};
    double best_acc = -1;
    long step = 0;
    *best_epoch = 0;
    for (int e = 1; !rc && e <= p.epochs; e++) {
        double loss = train_epoch(&m, x, y, n, p, order, &rng, xb, yb, grad, mom, vel, lg, &step);
        double acc = 0;
        if (!isfinite(loss)) rc = a2m_error(A2M_ERR_NONFINITE, "logistic regression: loss not finite at epoch %d", e);
        if (!rc && xv) rc = accuracy_of(&m, xv, yv, nv, pv, &acc);
        if (!rc && (!xv || acc > best_acc)) {
            best_acc = acc, *best_epoch = e;
            memcpy(best, m.w, nw * sizeof *best);
            memcpy(best + nw, m.b, (size_t)C * sizeof *best);
        }
        if (!rc && cb) cb(user, e, p.epochs, loss, acc);
    }
    if (!rc) {
        memcpy(m.w, best, nw * sizeof *best);
        memcpy(m.b, best + nw, (size_t)C * sizeof *best);
        *out = m;
    } else a2m_logreg_free(&m);
    free(best), free(grad), free(mom), free(vel), free(xb), free(lg), free(yb), free(pv), free(order);
    return rc;
}
