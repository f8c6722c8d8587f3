/* Exact k nearest neighbours by GEMM in bounded tiles, re-ranked in double (core/knn.h). */
#include "core/knn.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <omp.h>
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

/* (d, idx) ranks before entry p of c: by distance, then index, so a list is the same in whatever order its
 * candidates come (the self-search merges them from threads) */
static inline int cand_before(const cand *c, int p, float d, int32_t idx) {
    return d < c->d[p] || (d == c->d[p] && idx < c->i[p]);
}

static inline void cand_push(cand *c, float d, int32_t idx) {
    if (c->n == c->cap && !cand_before(c, c->n - 1, d, idx)) return;
    int p = c->n < c->cap ? c->n++ : c->cap - 1;
    while (p > 0 && cand_before(c, p - 1, d, idx)) {
        c->d[p] = c->d[p - 1], c->i[p] = c->i[p - 1];
        p--;
    }
    c->d[p] = d, c->i[p] = idx;
}

/* n lists of capacity cap over one allocation each of distances and indices; NULL when out of memory */
static cand *cand_lists(size_t n, int cap) {
    cand *c = malloc((n ? n : 1) * sizeof *c);
    float *d = malloc((n ? n : 1) * cap * sizeof *d);
    int32_t *i = malloc((n ? n : 1) * cap * sizeof *i);
    if (!c || !d || !i) {
        free(c), free(d), free(i);
        return NULL;
    }
    for (size_t r = 0; r < (n ? n : 1); r++) c[r] = (cand){d + r * cap, i + r * cap, 0, cap};
    return c;
}
static void cand_lists_free(cand *c) {
    if (c) free(c[0].d), free(c[0].i);
    free(c);
}

static void row_norms(const float *x, size_t n, int dim, float *out) {
    for (size_t r = 0; r < n; r++) {
        double s = 0;
        for (int j = 0; j < dim; j++) s += (double)x[r * dim + j] * x[r * dim + j];
        out[r] = (float)s;
    }
}

/* d = |q|^2 + |t|^2 - 2 g for a tile row, into the candidate list.
 * Blocks of 64 distances are computed and their minimum taken branch-free (vectorised); only a block beating
 * the current worst candidate is walked: after the first tiles almost none is (the scan was 2/3 of a
 * 32-dimension search walking every distance). */
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
        for (size_t q = 0; q < qn; q++) scan_row(&cs[q], g + q * tr, J->dnorm + t0, J->qnorm[q0 + q], t0, tr);
    }
    for (size_t q = 0; q < qn; q++) {
        size_t row = (q0 + q) * (size_t)J->ld;
        rerank(&cs[q], J->data, J->query + (q0 + q) * dim, dim, J->k, dd, J->nbr + row, J->dist ? J->dist + row : NULL);
    }
}

/* ---- the data against itself: distances are symmetric, so only the tiles (a, b) with a <= b are computed,
 * each feeding its rows and its columns: half the GEMM of the cross search (40,000 frames of 252 values, a2m
 * embed --epochs 1, one thread: 14.9 s user with every tile, 12.1 s with half) */

enum { SELF_B = 1024 }; /* 1024 x 1024 tiles: 4 MB a thread */

typedef struct knn_self {
    const knn_job *J;
    cand *g;           /* [n] every point's candidates */
    omp_lock_t *locks; /* one a block of g */
    size_t n_blocks, done;
} knn_self;

/* tile g [na x nb] of blocks a0, b0 (a0 <= b0) into local lists: lr for the rows, lc for the columns (a0 < b0;
 * on the diagonal the rows see every pair) */
static void self_pair(const float *norm, size_t a0, int na, size_t b0, int nb, const float *g, cand *lr, cand *lc) {
    for (int r = 0; r < na; r++) lr[r].n = 0;
    for (int c = 0; c < nb; c++) lc[c].n = 0;
    for (int r = 0; r < na; r++) {
        const float *t = g + (size_t)r * nb, *nc = norm + b0;
        float nr = norm[a0 + r];
        cand *cr = &lr[r];
        for (int c = 0; c < nb; c++) {
            float v = nr + nc[c] - 2.0f * t[c];
            if (a0 == b0 && c == r) continue;
            if (cr->n < cr->cap || v <= cr->d[cr->cap - 1]) cand_push(cr, v, (int32_t)(b0 + c));
            if (a0 == b0) continue;
            cand *cc = &lc[c];
            if (cc->n < cc->cap || v <= cc->d[cc->cap - 1]) cand_push(cc, v, (int32_t)(a0 + r));
        }
    }
}

/* local lists of n points from first into the global ones, under that block's lock */
static void self_merge(knn_self *S, size_t block, size_t first, int n, const cand *l) {
    omp_set_lock(&S->locks[block]);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < l[i].n; t++) cand_push(&S->g[first + i], l[i].d[t], l[i].i[t]);
    omp_unset_lock(&S->locks[block]);
}

/* the tiles (a, b), a <= b, shared among nth threads */
static int self_tiles(knn_self *S, int nth, a2m_progress_fn progress, void *user, const char *what) {
    const knn_job *J = S->J;
    size_t nb = S->n_blocks, n_pairs = nb * (nb + 1) / 2, n = J->n_data;
    int failed = 0, cap = S->g[0].cap;
#pragma omp parallel num_threads(nth)
    {
        float *tile = malloc((size_t)SELF_B * SELF_B * sizeof *tile);
        cand *lr = cand_lists(SELF_B, cap), *lc = cand_lists(SELF_B, cap);
        int ok = tile && lr && lc;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < n_pairs; q++) {
            if (!ok) continue;
            size_t a = 0, rest = q; /* q -> (a, b): row a holds nb - a pairs */
            while (rest >= nb - a) rest -= nb - a, a++;
            size_t b = a + rest, a0 = a * SELF_B, b0 = b * SELF_B;
            int na = (int)(n - a0 < SELF_B ? n - a0 : SELF_B), nbb = (int)(n - b0 < SELF_B ? n - b0 : SELF_B);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, na, nbb, J->dim, 1.0f, J->data + a0 * J->dim, J->dim,
                        J->data + b0 * J->dim, J->dim, 0.0f, tile, nbb);
            self_pair(J->dnorm, a0, na, b0, nbb, tile, lr, lc);
            self_merge(S, a, a0, na, lr);
            if (a != b) self_merge(S, b, b0, nbb, lc);
#pragma omp critical(a2m_knn_progress)
            if (progress) progress(user, ++S->done, n_pairs, what);
        }
        free(tile), cand_lists_free(lr), cand_lists_free(lc);
    }
    return failed ? a2m_error(A2M_ERR_NOMEM, "kNN: out of memory for the distance tiles") : A2M_OK;
}

static int knn_self_search(const knn_job *J, int nth, a2m_progress_fn progress, void *user, const char *what) {
    size_t n = J->n_data;
    knn_self S = {J, cand_lists(n, J->k + EXTRA), NULL, (n + SELF_B - 1) / SELF_B, 0};
    S.locks = malloc((S.n_blocks ? S.n_blocks : 1) * sizeof *S.locks);
    double *dd = malloc((size_t)(J->k + EXTRA) * nth * sizeof *dd);
    int rc = S.g && S.locks && dd ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "kNN: out of memory for %zu points", n);
    for (size_t b = 0; !rc && b < S.n_blocks; b++) omp_init_lock(&S.locks[b]);
    if (!rc) rc = self_tiles(&S, nth, progress, user, what);
    if (!rc) {
#pragma omp parallel for num_threads(nth) schedule(static)
        for (size_t i = 0; i < n; i++)
            rerank(&S.g[i], J->data, J->data + i * J->dim, J->dim, J->k,
                   dd + (size_t)omp_get_thread_num() * (J->k + EXTRA), J->nbr + i * J->ld,
                   J->dist ? J->dist + i * J->ld : NULL);
    }
    for (size_t b = 0; S.g && S.locks && dd && b < S.n_blocks; b++) omp_destroy_lock(&S.locks[b]);
    cand_lists_free(S.g), free(S.locks), free(dd);
    return rc;
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
    if (exclude_self) {
        int rc = knn_self_search(&J, nt, progress, user, what);
        free(dnorm);
        return rc;
    }
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
