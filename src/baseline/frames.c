/* Frame matrices for the classical baselines: context stacking, centring/standardising and PCA. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/baseline.h"
#include "a2m/error.h"

/* LAPACK (OpenBLAS carries it): the eigenvalues il..iu (ascending) of a symmetric matrix and their vectors */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
                    const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
                    double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
                    const int *liwork, int *info, size_t, size_t, size_t);

int a2m_frames_gather(const a2m_dataset *d, const size_t *takes, size_t n_takes, int context, float **x, int64_t **y,
                      size_t *n, int *dim) {
    *x = NULL, *y = NULL, *n = 0;
    if (context < 0 || context > 100) return a2m_error(A2M_ERR_ARG, "context %d frames: must be 0..100", context);
    int B = d->n_bins, D = B * (2 * context + 1);
    size_t rows = 0;
    for (size_t i = 0; i < n_takes; i++) {
        if (takes[i] >= d->n_takes) return a2m_error(A2M_ERR_RANGE, "take %zu of %zu", takes[i], d->n_takes);
        rows += d->offsets[takes[i] + 1] - d->offsets[takes[i]];
    }
    float *xs = malloc((rows ? rows : 1) * (size_t)D * sizeof *xs);
    int64_t *ys = malloc((rows ? rows : 1) * sizeof *ys);
    if (!xs || !ys) {
        free(xs), free(ys);
        return a2m_error(A2M_ERR_NOMEM, "frames: out of memory (%zu x %d floats)", rows, D);
    }
    size_t r = 0;
    for (size_t i = 0; i < n_takes; i++) {
        size_t a = d->offsets[takes[i]], len = d->offsets[takes[i] + 1] - a;
        for (size_t t = 0; t < len; t++, r++) {
            ys[r] = d->labels[a + t];
            for (int c = -context; c <= context; c++) {
                long s = (long)t + c;
                s = s < 0 ? 0 : s >= (long)len ? (long)len - 1 : s; /* the take's edge frame repeats */
                memcpy(xs + r * D + (size_t)(c + context) * B, d->features + (a + (size_t)s) * B,
                       (size_t)B * sizeof *xs);
            }
        }
    }
    *x = xs, *y = ys, *n = rows, *dim = D;
    return A2M_OK;
}

void a2m_frame_map_free(a2m_frame_map *m) {
    free(m->mean), free(m->scale), free(m->w);
    memset(m, 0, sizeof *m);
}

/* column means and (standardise) standard deviations, in double over all rows */
static void column_stats(const float *x, size_t n, int D, int standardise, float *mean, float *scale, double *acc) {
    double *s = acc, *s2 = acc + D;
    memset(acc, 0, 2 * (size_t)D * sizeof *acc);
    for (size_t r = 0; r < n; r++)
        for (int j = 0; j < D; j++) s[j] += x[r * D + j];
    for (int j = 0; j < D; j++) mean[j] = (float)(s[j] / (double)n);
    for (size_t r = 0; r < n; r++)
        for (int j = 0; j < D; j++) {
            double v = x[r * D + j] - (double)mean[j];
            s2[j] += v * v;
        }
    for (int j = 0; j < D; j++) {
        double sd = sqrt(s2[j] / (double)n); /* population std, as StandardScaler */
        scale[j] = standardise && sd > 1e-12 ? (float)sd : 1.0f;
    }
}

/* covariance (upper triangle of cov [D x D], row-major) of the mapped rows, chunk by chunk: each chunk's
 * X^T X in float by SYRK (chunks of 1024 rows, so a float sum never spans more), summed in double */
static int covariance(const a2m_frame_map *m, const float *x, size_t n, double *cov) {
    int D = m->dim;
    const size_t chunk = 1024;
    float *c = malloc(chunk * (size_t)D * sizeof *c), *g = malloc((size_t)D * D * sizeof *g);
    if (!c || !g) {
        free(c), free(g);
        return a2m_error(A2M_ERR_NOMEM, "PCA: out of memory (%d x %d covariance)", D, D);
    }
    memset(cov, 0, (size_t)D * D * sizeof *cov);
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t rows = n - r0 < chunk ? n - r0 : chunk;
        for (size_t r = 0; r < rows; r++)
            for (int j = 0; j < D; j++) c[r * D + j] = (x[(r0 + r) * D + j] - m->mean[j]) / m->scale[j];
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, D, (int)rows, 1.0f, c, D, 0.0f, g, D);
        for (int i = 0; i < D; i++)
            for (int j = i; j < D; j++) cov[(size_t)i * D + j] += g[(size_t)i * D + j];
    }
    free(c), free(g);
    return A2M_OK;
}

/* the leading `k` eigenvectors of the covariance as the columns of m->w (largest first) */
static int principal_axes(a2m_frame_map *m, double *cov, size_t n, int k) {
    int D = m->dim, il = D - k + 1, iu = D, found = 0, info = 0, lwork = -1, liwork = -1, iwq = 1;
    double vl = 0, vu = 0, abstol = 0, wq = 1; /* the workspace query's answers (1: no query ran) */
    double *ev = malloc((size_t)D * sizeof *ev), *z = malloc((size_t)D * k * sizeof *z);
    int *supp = malloc(2 * (size_t)D * sizeof *supp);
    double total = 0;
    for (int i = 0; i < D; i++) total += cov[(size_t)i * D + i];
    /* cov is row-major upper = column-major lower */
    if (ev && z && supp)
        dsyevr_("V", "I", "L", &D, cov, &D, &vl, &vu, &il, &iu, &abstol, &found, ev, z, &D, supp, &wq, &lwork, &iwq,
                &liwork, &info, 1, 1, 1);
    lwork = (int)wq, liwork = iwq;
    double *work = malloc((size_t)(lwork > 1 ? lwork : 1) * sizeof *work);
    int *iwork = malloc((size_t)(liwork > 1 ? liwork : 1) * sizeof *iwork);
    int rc = A2M_OK;
    if (!ev || !z || !supp || !work || !iwork) rc = a2m_error(A2M_ERR_NOMEM, "PCA: out of memory");
    else {
        dsyevr_("V", "I", "L", &D, cov, &D, &vl, &vu, &il, &iu, &abstol, &found, ev, z, &D, supp, work, &lwork, iwork,
                &liwork, &info, 1, 1, 1);
        if (info || found != k) rc = a2m_error(A2M_ERR_INTERNAL, "PCA: LAPACK dsyevr failed (info %d)", info);
    }
    if (!rc) {
        double kept = 0;
        for (int a = 0; a < k; a++) { /* z column a holds eigenvalue ev[a], ascending: axis k-1-a */
            kept += ev[a];
            for (int j = 0; j < D; j++) m->w[(size_t)j * k + (k - 1 - a)] = (float)z[(size_t)a * D + j];
        }
        m->explained = total > 0 ? kept / total : 1.0;
    }
    (void)n;
    free(ev), free(z), free(supp), free(work), free(iwork);
    return rc;
}

int a2m_frame_map_fit(const float *x, size_t n, int dim, int standardise, int pca, int n_threads, a2m_frame_map *m) {
    (void)n_threads;
    memset(m, 0, sizeof *m);
    if (dim < 1 || n < 1) return a2m_error(A2M_ERR_EMPTY, "no training frames to fit on");
    if (pca < 0 || pca > dim) return a2m_error(A2M_ERR_ARG, "PCA to %d axes: must be 1..%d (the frame size)", pca, dim);
    m->dim = dim, m->out_dim = pca ? pca : dim, m->explained = 1.0;
    m->mean = malloc((size_t)dim * sizeof *m->mean);
    m->scale = malloc((size_t)dim * sizeof *m->scale);
    double *acc = malloc((pca ? (size_t)dim * dim : 2 * (size_t)dim) * sizeof *acc);
    if (pca) m->w = malloc((size_t)dim * pca * sizeof *m->w);
    int rc = A2M_OK;
    if (!m->mean || !m->scale || !acc || (pca && !m->w)) rc = a2m_error(A2M_ERR_NOMEM, "frame map: out of memory");
    if (!rc) column_stats(x, n, dim, standardise, m->mean, m->scale, acc);
    if (!rc && pca) rc = covariance(m, x, n, acc);
    if (!rc && pca) rc = principal_axes(m, acc, n, pca);
    free(acc);
    if (rc) a2m_frame_map_free(m);
    return rc;
}

int a2m_frame_map_apply(const a2m_frame_map *m, const float *x, size_t n, float *out, int n_threads) {
    int D = m->dim, K = m->out_dim;
    if (!m->w) {
        for (size_t r = 0; r < n; r++)
            for (int j = 0; j < D; j++) out[r * D + j] = (x[r * D + j] - m->mean[j]) / m->scale[j];
        return A2M_OK;
    }
    const size_t chunk = 1024;
    int rc = A2M_OK;
    int nt = n_threads < 1 ? 1 : n_threads;
#pragma omp parallel num_threads(nt)
    {
        float *c = malloc(chunk * (size_t)D * sizeof *c);
        if (!c) {
#pragma omp atomic write
            rc = A2M_ERR_NOMEM;
        }
#pragma omp for schedule(dynamic, 1)
        for (long ci = 0; ci < (long)((n + chunk - 1) / chunk); ci++) {
            if (!c) continue;
            size_t r0 = (size_t)ci * chunk, rows = n - r0 < chunk ? n - r0 : chunk;
            for (size_t r = 0; r < rows; r++)
                for (int j = 0; j < D; j++) c[r * D + j] = (x[(r0 + r) * D + j] - m->mean[j]) / m->scale[j];
            /* out rows [rows x K] = c [rows x D] . w [D x K] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, K, D, 1.0f, c, D, m->w, K, 0.0f,
                        out + r0 * K, K);
        }
        free(c);
    }
    return rc ? a2m_error(rc, "frame map: out of memory") : A2M_OK;
}
