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

/* tile [nq x nd] = -2 Q D^T, then + |q|^2 + |d|^2 */
void emb_tile(const emb_points *p, size_t q0, int nq, size_t d0, int nd, float *tile) {
    int dim = (int)p->dim;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nd, dim, -2.0f, p->xc + q0 * p->dim, dim,
                p->xc + d0 * p->dim, dim, 0.0f, tile, nd);
    for (int r = 0; r < nq; r++) {
        float nr = p->norm[q0 + r], *t = tile + (size_t)r * nd;
        const float *nc = p->norm + d0;
        for (int c = 0; c < nd; c++) {
            float v = t[c] + nr + nc[c];
            t[c] = v > 0 ? v : 0;
        }
    }
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

/* float candidates of rows q0..q0+nq over every database tile */
static void knn_block(const emb_points *p, size_t q0, int nq, float *tile, cand *c, int *m, int cap) {
    for (size_t d0 = 0; d0 < p->n; d0 += EMB_TILE_D) {
        int nd = (int)(p->n - d0 < EMB_TILE_D ? p->n - d0 : EMB_TILE_D);
        emb_tile(p, q0, nq, d0, nd, tile);
        for (int r = 0; r < nq; r++) {
            cand *cr = c + (size_t)r * cap;
            const float *t = tile + (size_t)r * nd;
            for (int k = 0; k < nd; k++) {
                size_t j = d0 + (size_t)k;
                if (j == q0 + (size_t)r) continue;
                if (m[r] == cap && t[k] > cr[cap - 1].d) continue;
                cand_insert(cr, &m[r], cap, t[k], (int32_t)j);
            }
        }
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

int a2m_knn_exact(const float *x, size_t n, size_t dim, int k, int n_threads, a2m_progress_fn progress, void *user,
                  int32_t *idx, float *dist) {
    if (k < 1 || k > 64 || (size_t)k > n || n > INT32_MAX || dim < 1)
        return a2m_error(A2M_ERR_ARG, "knn: %d neighbours of %zu points of dimension %zu", k, n, dim);
    emb_points p;
    int rc = emb_points_new(x, n, dim, &p);
    if (rc) return rc;
    /* 4 spare candidates: float ranks may swap neighbours whose squared distances differ by rounding */
    int cap = k - 1 + 4, nth = n_threads > 1 ? n_threads : 1, failed = 0;
    size_t n_blocks = (n + EMB_TILE_Q - 1) / EMB_TILE_Q, done = 0;
#pragma omp parallel num_threads(nth)
    {
        float *tile = malloc((size_t)EMB_TILE_Q * EMB_TILE_D * sizeof *tile);
        cand *c = malloc((size_t)EMB_TILE_Q * cap * sizeof *c);
        int *m = malloc(EMB_TILE_Q * sizeof *m);
        if (!tile || !c || !m) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < n_blocks; b++) {
            if (!tile || !c || !m) continue;
            size_t q0 = b * EMB_TILE_Q;
            int nq = (int)(n - q0 < EMB_TILE_Q ? n - q0 : EMB_TILE_Q);
            memset(m, 0, EMB_TILE_Q * sizeof *m);
            knn_block(&p, q0, nq, tile, c, m, cap);
            for (int r = 0; r < nq; r++)
                knn_finish(&p, q0 + r, c + (size_t)r * cap, m[r], k, idx + (q0 + r) * k, dist + (q0 + r) * k);
            size_t now;
#pragma omp atomic capture
            now = ++done;
            if (progress && omp_get_thread_num() == 0) progress(user, now, n_blocks, "neighbours");
        }
        free(tile), free(c), free(m);
    }
    emb_points_free(&p);
    if (failed) return a2m_error(A2M_ERR_NOMEM, "knn: out of memory for the distance tiles");
    if (progress) progress(user, n_blocks, n_blocks, "neighbours");
    return A2M_OK;
}
