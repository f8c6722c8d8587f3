/* Exact k nearest neighbours by GEMM in bounded tiles, re-ranked in double; uniform votes. */
#include <cblas.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/baseline.h"
#include "a2m/error.h"
#include "core/isa.h"

enum {
    QUERY_TILE = 256,  /* queries per GEMM */
    TRAIN_TILE = 4096, /* training rows per GEMM: the 256 x 4096 float distance tile is 4 MB */
    EXTRA = 8          /* candidates kept beyond k for the re-ranking in double */
};

/* one query's best candidates so far, sorted by distance (ascending), kept at most cap */
typedef struct cand {
    float *d;
    int32_t *i;
    int n, cap;
} cand;

static inline void cand_push(cand *c, float d, int32_t idx) {
    if (c->n == c->cap && !(d < c->d[c->n - 1])) return;
    int p = c->n < c->cap ? c->n++ : c->cap - 1;
    while (p > 0 && c->d[p - 1] > d) { /* equal distances keep training order (idx grows) */
        c->d[p] = c->d[p - 1], c->i[p] = c->i[p - 1];
        p--;
    }
    c->d[p] = d, c->i[p] = idx;
}

static void row_norms(const float *x, size_t n, int dim, float *out) {
    for (size_t r = 0; r < n; r++) {
        double s = 0;
        for (int j = 0; j < dim; j++) s += (double)x[r * dim + j] * x[r * dim + j];
        out[r] = (float)s;
    }
}

/* d = |q|^2 + |t|^2 - 2 g for a tile row, into the candidate list. Blocks of 64 distances are computed and
 * their minimum taken branch-free (vectorised); only a block beating the current worst candidate is walked:
 * after the first tiles almost none is (the scan was 2/3 of a 32-dimension search walking every distance). */
A2M_DISPATCH
static void scan_row(cand *c, const float *g, const float *tn, float qn, size_t t0, size_t tn_rows) {
    float worst = c->n == c->cap ? c->d[c->n - 1] : FLT_MAX, d[64];
    for (size_t j0 = 0; j0 < tn_rows; j0 += 64) {
        size_t m = tn_rows - j0 < 64 ? tn_rows - j0 : 64;
        float lo = FLT_MAX;
        for (size_t j = 0; j < m; j++) {
            d[j] = qn + tn[j0 + j] - 2.0f * g[j0 + j];
            lo = d[j] < lo ? d[j] : lo;
        }
        if (!(lo < worst)) continue;
        for (size_t j = 0; j < m; j++)
            if (d[j] < worst) {
                cand_push(c, d[j], (int32_t)(t0 + j0 + j));
                worst = c->n == c->cap ? c->d[c->n - 1] : FLT_MAX;
            }
    }
}

/* the candidates' exact distances in double, sorted (ties: training order); the first k into out */
static void rerank(cand *c, const float *train, const float *q, int dim, int k, double *dd, int32_t *out) {
    for (int a = 0; a < c->n; a++) {
        const float *t = train + (size_t)c->i[a] * dim;
        double s = 0;
        for (int j = 0; j < dim; j++) {
            double v = (double)q[j] - t[j];
            s += v * v;
        }
        dd[a] = s;
    }
    for (int a = 1; a < c->n; a++) { /* insertion sort by (distance, index): n <= k + 8 */
        double d = dd[a];
        int32_t i = c->i[a];
        int p = a;
        while (p > 0 && (dd[p - 1] > d || (dd[p - 1] == d && c->i[p - 1] > i)))
            dd[p] = dd[p - 1], c->i[p] = c->i[p - 1], p--;
        dd[p] = d, c->i[p] = i;
    }
    for (int a = 0; a < k; a++) out[a] = c->i[a];
}

/* the neighbours of queries q0..q0+qn: every training tile by GEMM, then re-ranking */
static void search_tile(const float *train, const float *tnorm, size_t n_train, const float *query, const float *qnorm,
                        size_t q0, size_t qn, int dim, int k, float *g, cand *cs, double *dd, int32_t *nbr) {
    for (size_t q = 0; q < qn; q++) cs[q].n = 0;
    for (size_t t0 = 0; t0 < n_train; t0 += TRAIN_TILE) {
        size_t tr = n_train - t0 < TRAIN_TILE ? n_train - t0 : TRAIN_TILE;
        /* g [qn x tr] = Q [qn x dim] . T^T [dim x tr] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qn, (int)tr, dim, 1.0f, query + q0 * dim, dim,
                    train + t0 * dim, dim, 0.0f, g, (int)tr);
        for (size_t q = 0; q < qn; q++) scan_row(&cs[q], g + q * tr, tnorm + t0, qnorm[q0 + q], t0, tr);
    }
    for (size_t q = 0; q < qn; q++) rerank(&cs[q], train, query + (q0 + q) * dim, dim, k, dd, nbr + (q0 + q) * k);
}

int a2m_knn_search(const float *train, size_t n_train, const float *query, size_t n_query, int dim, int k,
                   int n_threads, a2m_progress_fn progress, void *user, int32_t *nbr) {
    if (k < 1 || (size_t)k > n_train)
        return a2m_error(A2M_ERR_ARG, "k = %d neighbours: must be 1..%zu (the training frames)", k, n_train);
    if (n_train > INT32_MAX) return a2m_error(A2M_ERR_RANGE, "%zu training frames: at most %d", n_train, INT32_MAX);
    if (dim < 1) return a2m_error(A2M_ERR_ARG, "frames of %d values", dim);
    int cap = k + EXTRA, nt = n_threads < 1 ? 1 : n_threads, failed = 0;
    float *tnorm = malloc(n_train * sizeof *tnorm), *qnorm = malloc((n_query ? n_query : 1) * sizeof *qnorm);
    if (!tnorm || !qnorm) {
        free(tnorm), free(qnorm);
        return a2m_error(A2M_ERR_NOMEM, "kNN: out of memory");
    }
    row_norms(train, n_train, dim, tnorm);
    row_norms(query, n_query, dim, qnorm);
    size_t n_tiles = (n_query + QUERY_TILE - 1) / QUERY_TILE, done = 0;
#pragma omp parallel num_threads(nt)
    {
        float *g = malloc((size_t)QUERY_TILE * TRAIN_TILE * sizeof *g),
              *cd = malloc((size_t)QUERY_TILE * cap * sizeof *cd);
        int32_t *ci = malloc((size_t)QUERY_TILE * cap * sizeof *ci);
        cand cs[QUERY_TILE];
        double *dd = malloc((size_t)cap * sizeof *dd);
        int ok = g && cd && ci && dd;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        for (int q = 0; ok && q < QUERY_TILE; q++) cs[q] = (cand){cd + (size_t)q * cap, ci + (size_t)q * cap, 0, cap};
#pragma omp for schedule(dynamic, 1)
        for (long ti = 0; ti < (long)n_tiles; ti++) {
            if (!ok) continue;
            size_t q0 = (size_t)ti * QUERY_TILE, qn = n_query - q0 < QUERY_TILE ? n_query - q0 : QUERY_TILE;
            search_tile(train, tnorm, n_train, query, qnorm, q0, qn, dim, k, g, cs, dd, nbr);
#pragma omp critical(a2m_knn_progress)
            {
                done += qn;
                if (progress) progress(user, done, n_query, "frames");
            }
        }
        free(g), free(cd), free(ci), free(dd);
    }
    free(tnorm), free(qnorm);
    return failed ? a2m_error(A2M_ERR_NOMEM, "kNN: out of memory for the distance tiles") : A2M_OK;
}

int a2m_knn_vote(const int32_t *nbr, size_t n_query, int k_stride, int k, const int64_t *train_labels, int n_classes,
                 int64_t *pred) {
    if (k < 1 || k > k_stride) return a2m_error(A2M_ERR_ARG, "vote of %d neighbours out of %d", k, k_stride);
    if (n_classes < 1 || n_classes > 4096) return a2m_error(A2M_ERR_ARG, "%d classes", n_classes);
    int *votes = malloc((size_t)n_classes * sizeof *votes);
    if (!votes) return a2m_error(A2M_ERR_NOMEM, "kNN: out of memory");
    for (size_t q = 0; q < n_query; q++) {
        memset(votes, 0, (size_t)n_classes * sizeof *votes);
        for (int a = 0; a < k; a++) {
            int64_t c = train_labels[nbr[q * k_stride + a]];
            if (c < 0 || c >= n_classes) {
                free(votes);
                return a2m_error(A2M_ERR_RANGE, "training frame %d: class %lld outside 0..%d", nbr[q * k_stride + a],
                                 (long long)c, n_classes - 1);
            }
            votes[c]++;
        }
        int best = 0;
        for (int c = 1; c < n_classes; c++)
            if (votes[c] > votes[best]) best = c; /* strictly more: ties stay with the smaller class */
        pred[q] = best;
    }
    free(votes);
    return A2M_OK;
}
