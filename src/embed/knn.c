/* The points of an embedding's input centred (emb_points, also trust.c's), and UMAP's exact neighbour lists:
 * core/knn.c's search (GEMM tiles, re-ranked in double) of the centred points against themselves. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/embed.h"
#include "a2m/error.h"
#include "core/knn.h"
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

int a2m_knn_exact(const float *x, size_t n, size_t dim, int k, int n_threads, a2m_progress_fn progress, void *user,
                  int32_t *idx, float *dist) {
    if (k < 1 || k > 64 || (size_t)k > n || n > INT32_MAX || dim < 1 || dim > INT32_MAX)
        return a2m_error(A2M_ERR_ARG, "knn: %d neighbours of %zu points of dimension %zu", k, n, dim);
    emb_points p;
    int rc = emb_points_new(x, n, dim, &p);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) idx[i * k] = (int32_t)i, dist[i * k] = 0; /* the point itself first */
    if (k > 1) /* the others: the data against itself, each point left out of its own list */
        rc = knn_tiled(p.xc, n, p.xc, n, (int)dim, k - 1, 1, n_threads, progress, user, "neighbours", idx + 1, dist + 1,
                       k);
    else if (progress) progress(user, n, n, "neighbours");
    emb_points_free(&p);
    return rc;
}
