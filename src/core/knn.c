/* Exact k nearest neighbours by GEMM in bounded tiles, re-ranked in double (core/knn.h). */
#include "core/knn.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/isa.h"

enum {
    QUERY_TILE = 256,  /* queries per GEMM */
    TRAIN_TILE = 4096, /* data rows per GEMM: the 256 x 4096 float distance tile is 4 MB */
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
    while (p > 0 && c->d[p - 1] > d) { /* equal distances keep data order (idx grows) */
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

/* d = |q|^2 + |t|^2 - 2 g for a tile row, into the candidate list (data row `self` left out; SIZE_MAX: none).
 * Blocks of 64 distances are computed and their minimum taken branch-free (vectorised); only a block beating
 * the current worst candidate is walked: after the first tiles almost none is (the scan was 2/3 of a
 * 32-dimension search walking every distance). */
A2M_DISPATCH
static void scan_row(cand *c, const float *g, const float *tn, float qn, size_t t0, size_t tn_rows, size_t self) {
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
            if (d[j] < worst && t0 + j0 + j != self) {
                cand_push(c, d[j], (int32_t)(t0 + j0 + j));
                worst = c->n == c->cap ? c->d[c->n - 1] : FLT_MAX;
            }
    }
}

/* the candidates' exact distances in double, sorted (ties: data order); the first k into out (and dist) */
static void rerank(cand *c, const float *data, const float *q, int dim, int k, double *dd, int32_t *out, float *dist) {
    for (int a = 0; a < c->n; a++) {
        const float *t = data + (size_t)c->i[a] * dim;
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
    for (int a = 0; dist && a < k; a++) dist[a] = (float)sqrt(dd[a]);
}

typedef struct knn_job {
    const float *data, *dnorm, *query, *qnorm;
    size_t n_data;
    int dim, k, exclude_self, ld;
    int32_t *nbr;
    float *dist;
} knn_job;

/* the neighbours of queries q0..q0+qn: every data tile by GEMM, then re-ranking */
static void search_tile(const knn_job *J, size_t q0, size_t qn, float *g, cand *cs, double *dd) {
    int dim = J->dim;
    for (size_t q = 0; q < qn; q++) cs[q].n = 0;
    for (size_t t0 = 0; t0 < J->n_data; t0 += TRAIN_TILE) {
        size_t tr = J->n_data - t0 < TRAIN_TILE ? J->n_data - t0 : TRAIN_TILE;
        /* g [qn x tr] = Q [qn x dim] . T^T [dim x tr] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qn, (int)tr, dim, 1.0f, J->query + q0 * dim, dim,
                    J->data + t0 * dim, dim, 0.0f, g, (int)tr);
        for (size_t q = 0; q < qn; q++)
            scan_row(&cs[q], g + q * tr, J->dnorm + t0, J->qnorm[q0 + q], t0, tr, J->exclude_self ? q0 + q : SIZE_MAX);
    }
    for (size_t q = 0; q < qn; q++) {
        size_t row = (q0 + q) * (size_t)J->ld;
        rerank(&cs[q], J->data, J->query + (q0 + q) * dim, dim, J->k, dd, J->nbr + row, J->dist ? J->dist + row : NULL);
    }
}

int knn_tiled(const float *data, size_t n_data, const float *query, size_t n_query, int dim, int k, int exclude_self,
              int n_threads, a2m_progress_fn progress, void *user, const char *what, int32_t *nbr, float *dist,
              int ld) {
    int cap = k + EXTRA, nt = n_threads < 1 ? 1 : n_threads, failed = 0;
    float *dnorm = malloc((n_data ? n_data : 1) * sizeof *dnorm), *qnorm = NULL;
    if (!exclude_self) qnorm = malloc((n_query ? n_query : 1) * sizeof *qnorm);
    if (!dnorm || (!exclude_self && !qnorm)) {
        free(dnorm), free(qnorm);
        return a2m_error(A2M_ERR_NOMEM, "kNN: out of memory");
    }
    row_norms(data, n_data, dim, dnorm);
    if (!exclude_self) row_norms(query, n_query, dim, qnorm);
    knn_job J = {data, dnorm, query, exclude_self ? dnorm : qnorm, n_data, dim, k, exclude_self, ld, nbr, dist};
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
            search_tile(&J, q0, qn, g, cs, dd);
#pragma omp critical(a2m_knn_progress)
            {
                done += qn;
                if (progress) progress(user, done, n_query, what);
            }
        }
        free(g), free(cd), free(ci), free(dd);
    }
    free(dnorm), free(qnorm);
    return failed ? a2m_error(A2M_ERR_NOMEM, "kNN: out of memory for the distance tiles") : A2M_OK;
}
