/* Exact k-nearest neighbours by GEMM tiles: |q - d|^2 = |q|^2 + |d|^2 - 2 q.d, the products from cblas_sgemm
 * over a 256 x 2048 tile at a time (memory bounded for any n), candidates kept per row in float and ranked at
 * the end by exact double distances. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/embed.h"
#include "a2m/error.h"
#include "embed/embed_internal.h"

int emb_points_new(const float *x, size_t n, size_t dim, emb_points *out) {
    memset(out, 0, sizeof *out);
    double *mean = calloc(dim ? dim : 1, sizeof *mean);
    out->xc = malloc(n * dim * sizeof *out->xc);
    out->norm = malloc((n ? n : 1) * sizeof *out->norm);
    if (!mean || !out->xc || !out->norm) {
        free(mean), emb_points_free(out);
        return a2m_error(A2M_ERR_NOMEM, "embed: out of memory for %zu x %zu points", n, dim);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++) {
            float v = x[i * dim + j];
            if (!isfinite(v)) {
                free(mean), emb_points_free(out);
                return a2m_error(A2M_ERR_NONFINITE, "embed: value %zu of point %zu is not finite", j, i);
            }
            mean[j] += v;
        }
    for (size_t j = 0; j < dim; j++) mean[j] /= (double)(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < dim; j++) {
            float c = (float)(x[i * dim + j] - mean[j]);
            out->xc[i * dim + j] = c;
            s += (double)c * c;
        }
        out->norm[i] = (float)s;
    }
    free(mean);
    out->n = n, out->dim = dim;
    return A2M_OK;
}

void emb_points_free(emb_points *p) {
    free(p->xc), free(p->norm);
    p->xc = NULL, p->norm = NULL;
}

/* tile [nq x nd] = -2 Q D^T: the caller adds |q|^2 + |d|^2 as it reads (one pass over the tile, not two) */
void emb_tile(const emb_points *p, size_t q0, int nq, size_t d0, int nd, float *tile) {
    int dim = (int)p->dim;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nd, dim, -2.0f, p->xc + q0 * p->dim, dim,
                p->xc + d0 * p->dim, dim, 0.0f, tile, nd);
}

double emb_dist2(const emb_points *p, size_t i, size_t j) {
    const float *a = p->xc + i * p->dim, *b = p->xc + j * p->dim;
    double s = 0;
    for (size_t t = 0; t < p->dim; t++) {
        double d = (double)a[t] - b[t];
        s += d * d;
    }
    return s;
}

typedef struct cand {
    double d;
    int32_t j;
} cand;

static int cand_less(double d, int32_t j, cand c) { return d < c.d || (d == c.d && j < c.j); }

/* inserts (d, j) into the ascending list c[0..*m) of capacity cap (>= 1) */
static void cand_insert(cand *c, int *m, int cap, double d, int32_t j) {
    int pos;
    if (*m < cap) pos = (*m)++;
    else if (cand_less(d, j, c[cap - 1])) pos = cap - 1;
    else return;
    while (pos > 0 && cand_less(d, j, c[pos - 1])) c[pos] = c[pos - 1], pos--;
    c[pos] = (cand){d, j};
}

/* Tiles of 1024 x 1024 points (4 MB of floats a thread); distances are symmetric, so only tiles (a, b) with
 * a <= b are computed, each giving candidates to its rows and to its columns: half the GEMM. */
enum { KNN_B = 1024 };

static int cand_room(const cand *c, int m, int cap, float v) { return m < cap || v <= c[cap - 1].d; }

/* candidates of tile (a, b) into local lists: lr [na x cap] for the rows (points a0..), lc [nb x cap] for the
 * columns (points b0..; unused on the diagonal, where the rows see every pair) */
static void knn_pair(const emb_points *p, size_t a0, int na, size_t b0, int nb, const float *tile, cand *lr, int *mr,
                     cand *lc, int *mc, int cap) {
    memset(mr, 0, (size_t)na * sizeof *mr), memset(mc, 0, (size_t)nb * sizeof *mc);
    for (int r = 0; r < na; r++) {
        const float *t = tile + (size_t)r * nb, *nc = p->norm + b0, nr = p->norm[a0 + r];
        cand *cr = lr + (size_t)r * cap;
        for (int c = 0; c < nb; c++) {
            float v = t[c] + nr + nc[c];
            v = v > 0 ? v : 0; /* fmaxf is a libm call at -O2 (4% of a run) */
            if (a0 == b0) {
                if (c != r && cand_room(cr, mr[r], cap, v)) cand_insert(cr, &mr[r], cap, v, (int32_t)(b0 + c));
                continue;
            }
            if (cand_room(cr, mr[r], cap, v)) cand_insert(cr, &mr[r], cap, v, (int32_t)(b0 + c));
            cand *cc = lc + (size_t)c * cap;
            if (cand_room(cc, mc[c], cap, v)) cand_insert(cc, &mc[c], cap, v, (int32_t)(a0 + r));
        }
    }
}

/* local lists of n points from first into the global ones (the caller holds that block's lock) */
static void knn_merge(cand *gc, int *gm, size_t first, int n, const cand *lc, const int *lm, int cap) {
    for (int i = 0; i < n; i++)
        for (int t = 0; t < lm[i]; t++) {
            const cand *x = lc + (size_t)i * cap + t;
            cand_insert(gc + (first + i) * cap, &gm[first + i], cap, x->d, x->j);
        }
}

/* the candidates of row i re-ranked by exact distances; row i first */
static void knn_finish(const emb_points *p, size_t i, cand *c, int m, int k, int32_t *idx, float *dist) {
    cand best[64];
    int nb = 0;
    for (int t = 0; t < m && k > 1; t++) cand_insert(best, &nb, k - 1, emb_dist2(p, i, (size_t)c[t].j), c[t].j);
    idx[0] = (int32_t)i, dist[0] = 0;
    for (int t = 0; t < k - 1; t++) {
        idx[1 + t] = t < nb ? best[t].j : -1;
        dist[1 + t] = t < nb ? (float)sqrt(best[t].d) : INFINITY;
    }
}

typedef struct knn_run {
    const emb_points *p;
    cand *gc;          /* [n x cap] candidates of every point, ascending */
    int *gm;           /* [n] their count */
    omp_lock_t *locks; /* one a block */
    size_t n_blocks, done;
    int cap;
} knn_run;

/* the tiles (a, b), a <= b, shared among nth threads; each merges its candidates under the blocks' locks */
static int knn_tiles(knn_run *R, int nth, a2m_progress_fn progress, void *user) {
    size_t nb = R->n_blocks, n_pairs = nb * (nb + 1) / 2, n = R->p->n;
    int failed = 0, cap = R->cap;
#pragma omp parallel num_threads(nth)
    {
        float *tile = malloc((size_t)KNN_B * KNN_B * sizeof *tile);
        cand *lr = malloc((size_t)KNN_B * cap * sizeof *lr), *lc = malloc((size_t)KNN_B * cap * sizeof *lc);
        int *mr = malloc(KNN_B * sizeof *mr), *mc = malloc(KNN_B * sizeof *mc);
        int ok = tile && lr && lc && mr && mc;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < n_pairs; q++) {
            if (!ok) continue;
            size_t a = 0, rest = q; /* q -> (a, b): row a holds nb - a pairs */
            while (rest >= nb - a) rest -= nb - a, a++;
            size_t b = a + rest, a0 = a * KNN_B, b0 = b * KNN_B;
            int na = (int)(n - a0 < KNN_B ? n - a0 : KNN_B), nbb = (int)(n - b0 < KNN_B ? n - b0 : KNN_B);
            emb_tile(R->p, a0, na, b0, nbb, tile);
            knn_pair(R->p, a0, na, b0, nbb, tile, lr, mr, lc, mc, cap);
            omp_set_lock(&R->locks[a]);
            knn_merge(R->gc, R->gm, a0, na, lr, mr, cap);
            omp_unset_lock(&R->locks[a]);
            if (a != b) {
                omp_set_lock(&R->locks[b]);
                knn_merge(R->gc, R->gm, b0, nbb, lc, mc, cap);
                omp_unset_lock(&R->locks[b]);
            }
            size_t now;
#pragma omp atomic capture
            now = ++R->done;
            if (progress && omp_get_thread_num() == 0 && now < n_pairs) progress(user, now, n_pairs, "neighbours");
        }
        free(tile), free(lr), free(lc), free(mr), free(mc);
    }
    if (progress && !failed) progress(user, n_pairs, n_pairs, "neighbours");
    return failed ? a2m_error(A2M_ERR_NOMEM, "knn: out of memory for the distance tiles") : A2M_OK;
}

int a2m_knn_exact(const float *x, size_t n, size_t dim, int k, int n_threads, a2m_progress_fn progress, void *user,
                  int32_t *idx, float *dist) {
    if (k < 1 || k > 64 || (size_t)k > n || n > INT32_MAX || dim < 1)
        return a2m_error(A2M_ERR_ARG, "knn: %d neighbours of %zu points of dimension %zu", k, n, dim);
    emb_points p;
    int rc = emb_points_new(x, n, dim, &p);
    if (rc) return rc;
    /* 4 spare candidates: float ranks may swap neighbours whose squared distances differ by rounding */
    knn_run R = {&p, NULL, NULL, NULL, (n + KNN_B - 1) / KNN_B, 0, k - 1 + 4};
    R.gc = malloc(n * R.cap * sizeof *R.gc), R.gm = calloc(n, sizeof *R.gm),
    R.locks = malloc(R.n_blocks * sizeof *R.locks);
    int nth = n_threads > 1 ? n_threads : 1;
    if (!R.gc || !R.gm || !R.locks) rc = a2m_error(A2M_ERR_NOMEM, "knn: out of memory for %zu points", n);
    for (size_t b = 0; b < R.n_blocks && !rc; b++) omp_init_lock(&R.locks[b]);
    if (!rc) rc = knn_tiles(&R, nth, progress, user);
    if (!rc) {
#pragma omp parallel for num_threads(nth) schedule(static)
        for (size_t i = 0; i < n; i++) knn_finish(&p, i, R.gc + i * R.cap, R.gm[i], k, idx + i * k, dist + i * k);
    }
    for (size_t b = 0; b < R.n_blocks && R.locks && R.gc && R.gm; b++) omp_destroy_lock(&R.locks[b]);
    free(R.gc), free(R.gm), free(R.locks);
    emb_points_free(&p);
    return rc;
}
