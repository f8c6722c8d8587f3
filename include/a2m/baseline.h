/* Classical frame classifiers, the baselines the CRNN is measured against:
 * an exact k-nearest-neighbour classifier (scikit-learn's KNeighborsClassifier:
 * Euclidean distance, uniform votes, vote ties to the smallest class index) and
 * multinomial logistic regression, over a dataset's frames, optionally with
 * context frames stacked and PCA-reduced (see docs/features.md). */
#ifndef A2M_BASELINE_H
#define A2M_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "a2m/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- frame matrices ---- */

/* The frames of takes[0..n_takes) of d, row t = [x(t-C) .. x(t) .. x(t+C)] (C = context; frames beyond a
 * take's ends repeat its first/last frame, so no row mixes two takes): *x [n x dim], *y [n] (both malloc'd),
 * dim = d->n_bins * (2C + 1). */
int a2m_frames_gather(const a2m_dataset *d, const size_t *takes, size_t n_takes, int context, float **x, int64_t **y,
                      size_t *n, int *dim);

/* An affine map fitted on training frames, applied to every split: out = ((x - mean) / scale) W, where
 * scale is 1 (Euclidean geometry kept, as kNN wants) or each column's standard deviation (standardise, as
 * a linear model wants; a constant column gets 1), and W [dim x out_dim] holds the leading principal axes
 * of the centred (scaled) training frames (PCA, scikit-learn's PCA up to each axis' sign) or is the
 * identity (out_dim = dim, no PCA). */
typedef struct a2m_frame_map {
    int dim, out_dim;
    float *mean, *scale; /* [dim] */
    float *w;            /* [dim x out_dim] or NULL (identity) */
    double explained;    /* share of the variance the kept axes explain (1 without PCA) */
} a2m_frame_map;

/* standardise 0/1; pca 0 = none, else the number of axes (<= dim). Rows are read in chunks: the
 * covariance costs dim^2 doubles beyond the input. */
int a2m_frame_map_fit(const float *x, size_t n, int dim, int standardise, int pca, int n_threads, a2m_frame_map *m);
/* out [n x m->out_dim] (may be x itself when there is no PCA) */
int a2m_frame_map_apply(const a2m_frame_map *m, const float *x, size_t n, float *out, int n_threads);
void a2m_frame_map_free(a2m_frame_map *m);

/* ---- k nearest neighbours ---- */

/* For each query row the indices of its k nearest training rows (squared Euclidean distance; equal
 * distances in training order), nearest first: nbr [n_query x k]. Exact: distances by GEMM
 * (|q|^2 + |t|^2 - 2 q.t, float) in tiles of 256 queries x 4096 training rows, so memory stays
 * n_threads x 4 MB whatever n_train is; the k + 8 best of a query are then re-ranked by distances
 * recomputed in double, so GEMM's rounding (worst where |x| is large: centre the data first) cannot
 * reorder them. Query tiles run on n_threads OpenMP threads, each calling cblas_sgemm (run OpenBLAS
 * single-threaded: OPENBLAS_NUM_THREADS=1, as the CLI sets it). progress may be NULL. */
int a2m_knn_search(const float *train, size_t n_train, const float *query, size_t n_query, int dim, int k,
                   int n_threads, a2m_progress_fn progress, void *user, int32_t *nbr);
/* Uniform votes of the first k of each row's k_stride neighbours; the most voted class, ties to the
 * smallest class index (scikit-learn: scipy's mode). Labels outside 0..n_classes-1 are A2M_ERR_RANGE. */
int a2m_knn_vote(const int32_t *nbr, size_t n_query, int k_stride, int k, const int64_t *train_labels, int n_classes,
                 int64_t *pred);

/* ---- multinomial logistic regression ---- */

typedef struct a2m_logreg {
    int dim, n_classes;
    float *w; /* [n_classes x dim] */
    float *b; /* [n_classes] */
} a2m_logreg;

typedef struct a2m_logreg_params {
    int epochs;    /* 30 */
    int batch;     /* 256 frames */
    double lr;     /* 0.01 (Adam, betas 0.9/0.999) */
    double l2;     /* 1e-4: loss += l2/2 |W|^2 (the bias is not decayed) */
    uint64_t seed; /* 0: the shuffle of each epoch */
    int n_threads; /* 1 */
} a2m_logreg_params;
a2m_logreg_params a2m_logreg_default_params(void);

/* Mean softmax cross-entropy of the rows + l2/2 |W|^2. dw [C x dim], db [C] (NULL: loss only) are
 * overwritten with the gradient; logits [n x C] is scratch. */
double a2m_logreg_loss(const a2m_logreg *m, const float *x, const int64_t *y, int n, double l2, float *dw, float *db,
                       float *logits);

/* Called after each epoch: epoch (1-based), mean training loss, validation accuracy. */
typedef void (*a2m_logreg_epoch_fn)(void *user, int epoch, int epochs, double loss, double val_accuracy);
/* Mini-batch Adam from zero weights; the epoch with the best validation accuracy is kept (xv NULL:
 * the last). Labels outside 0..n_classes-1 are A2M_ERR_RANGE. */
int a2m_logreg_train(const float *x, const int64_t *y, size_t n, const float *xv, const int64_t *yv, size_t nv, int dim,
                     int n_classes, a2m_logreg_params p, a2m_logreg_epoch_fn cb, void *user, a2m_logreg *out,
                     int *best_epoch);
/* pred [n]; probs [n x C] or NULL */
int a2m_logreg_predict(const a2m_logreg *m, const float *x, size_t n, int64_t *pred, float *probs);
void a2m_logreg_free(a2m_logreg *m);

#ifdef __cplusplus
}
#endif
#endif
