/* Spectral initialisation as umap-learn's spectral_layout / multi_component_layout: per connected component
 * the eigenvectors of the 2nd and 3rd smallest eigenvalues of the normalised Laplacian I - D^-1/2 W D^-1/2,
 * i.e. of the 2nd and 3rd largest of M = D^-1/2 W D^-1/2, found by Lanczos with full reorthogonalisation and
 * LAPACK's dstev on the tridiagonal matrix. Components are placed apart: with more than 4 of them at their
 * centroids' two principal axes (umap-learn: a spectral embedding of exp(-d^2) between centroids, which for CQT
 * frames, centroids tens of dB apart, is an identity matrix: no placement at all), else at +-unit vectors;
 * each spread over half the distance to its nearest neighbour component. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "embed/embed_internal.h"

/* LAPACK (OpenBLAS carries it) */
void dstev_(const char *jobz, const int *n, double *d, double *e, double *z, const int *ldz, double *work, int *info);
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
            const int *lwork, int *info);

/* Lanczos steps for a large component. On the 30,000 test frames the trustworthiness of the final layout was
 * 0.808 after 128 steps, 0.834 after 256, 0.832 after 400 and 0.829 after 800 (the last three within seed
 * noise; 800 cost 20 s more CPU than 256): 256. umap-learn's ARPACK keeps sqrt(n) = 173 vectors and restarts
 * to tolerance 1e-4. */
enum { LANCZOS_MAX = 256 };

/* one component as a local CSR with D^-1/2 folded into the values */
typedef struct comp {
    size_t n;
    const size_t *members; /* [n] global indices */
    size_t *rowptr;
    int32_t *col;
    double *val;
} comp;

static int find(int32_t *parent, int32_t i) {
    while (parent[i] != i) parent[i] = parent[parent[i]], i = parent[i];
    return i;
}

/* label[i] in 0..*n_comp-1, numbered by first member */
static int components(const emb_graph *g, int32_t *label, size_t *n_comp) {
    int32_t *parent = malloc(g->n * sizeof *parent);
    if (!parent) return a2m_error(A2M_ERR_NOMEM, "umap: out of memory for the components");
    for (size_t i = 0; i < g->n; i++) parent[i] = (int32_t)i;
    for (size_t i = 0; i < g->n; i++)
        for (size_t t = g->rowptr[i]; t < g->rowptr[i + 1]; t++) {
            int32_t a = find(parent, (int32_t)i), b = find(parent, g->col[t]);
            if (a != b) parent[a < b ? b : a] = a < b ? a : b;
        }
    size_t c = 0;
    for (size_t i = 0; i < g->n; i++) {
        int32_t r = find(parent, (int32_t)i);
        label[i] = r == (int32_t)i ? (int32_t)c++ : label[r];
    }
    free(parent);
    *n_comp = c;
    return A2M_OK;
}

static int comp_build(const emb_graph *g, const size_t *members, size_t n, const int32_t *local, comp *c) {
    memset(c, 0, sizeof *c);
    c->n = n, c->members = members;
    size_t nnz = 0;
    for (size_t r = 0; r < n; r++) nnz += g->rowptr[members[r] + 1] - g->rowptr[members[r]];
    double *deg = malloc(n * sizeof *deg);
    c->rowptr = malloc((n + 1) * sizeof *c->rowptr);
    c->col = malloc((nnz ? nnz : 1) * sizeof *c->col);
    c->val = malloc((nnz ? nnz : 1) * sizeof *c->val);
    if (!deg || !c->rowptr || !c->col || !c->val) {
        free(deg), free(c->rowptr), free(c->col), free(c->val);
        return a2m_error(A2M_ERR_NOMEM, "umap: out of memory for a component of %zu points", n);
    }
    for (size_t r = 0; r < n; r++) {
        deg[r] = 0;
        for (size_t t = g->rowptr[members[r]]; t < g->rowptr[members[r] + 1]; t++) deg[r] += g->val[t];
    }
    c->rowptr[0] = 0;
    for (size_t r = 0, w = 0; r < n; r++) {
        for (size_t t = g->rowptr[members[r]]; t < g->rowptr[members[r] + 1]; t++, w++) {
            int32_t q = local[g->col[t]];
            c->col[w] = q, c->val[w] = g->val[t] / sqrt(deg[r] * deg[q]);
        }
        c->rowptr[r + 1] = w;
    }
    free(deg);
    return A2M_OK;
}

static void comp_free(comp *c) { free(c->rowptr), free(c->col), free(c->val); }

static void comp_matvec(const comp *c, const double *x, double *y) {
    for (size_t r = 0; r < c->n; r++) {
        double s = 0;
        for (size_t t = c->rowptr[r]; t < c->rowptr[r + 1]; t++) s += c->val[t] * x[c->col[t]];
        y[r] = s;
    }
}

/* w -= V[0..j] (V[0..j]^T w), twice when the first pass removed most of w (Kahan: "twice is enough");
 * returns |w| */
static double reorthogonalise(const double *V, int j, size_t n, double *w, double *h) {
    double before = cblas_dnrm2((int)n, w, 1), after = before;
    for (int pass = 0; pass < 2; pass++) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, j, (int)n, 1.0, V, (int)n, w, 1, 0.0, h, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, j, (int)n, -1.0, V, (int)n, h, 1, 1.0, w, 1);
        after = cblas_dnrm2((int)n, w, 1);
        if (after > 0.7 * before) break;
        before = after;
    }
    return after;
}

/* the Lanczos basis V [m x n] and tridiagonal (alpha, beta) from v0 = ones; a breakdown (an invariant
 * subspace) continues from a random vector with beta 0 */
static void lanczos_basis(const comp *c, int m, uint64_t *seed, double *V, double *alpha, double *beta, double *w,
                          double *h) {
    size_t n = c->n;
    for (size_t r = 0; r < n; r++) V[r] = 1 / sqrt((double)n);
    for (int j = 0; j < m; j++) {
        double *v = V + (size_t)j * n;
        comp_matvec(c, v, w);
        alpha[j] = cblas_ddot((int)n, w, 1, v, 1);
        double nw = reorthogonalise(V, j + 1, n, w, h);
        if (j + 1 == m) break;
        beta[j] = nw;
        if (nw < 1e-10) { /* breakdown */
            beta[j] = 0;
            for (size_t r = 0; r < n; r++) w[r] = a2m_uniform53(seed) - 0.5;
            nw = reorthogonalise(V, j + 1, n, w, h);
        }
        for (size_t r = 0; r < n; r++) v[n + r] = w[r] / nw;
    }
}

/* out [n x 2]: the Ritz vectors of the 2nd and 3rd largest eigenvalues of M */
static int lanczos_layout(const comp *c, uint64_t *seed, double *out) {
    size_t n = c->n;
    int m = n < LANCZOS_MAX ? (int)n : LANCZOS_MAX, info = 0;
    double *V = malloc((size_t)m * n * sizeof *V), *w = malloc(n * sizeof *w), *h = malloc((size_t)m * sizeof *h);
    double *T = malloc((size_t)m * (m + 4) * sizeof *T);
    if (!V || !w || !h || !T) {
        free(V), free(w), free(h), free(T);
        return a2m_error(A2M_ERR_NOMEM, "umap: out of memory for the eigenvectors of %zu points", n);
    }
    double *alpha = T + (size_t)m * m, *beta = alpha + m, *work = beta + m; /* work: 2m - 2 */
    lanczos_basis(c, m, seed, V, alpha, beta, w, h);
    dstev_("V", &m, alpha, beta, T, &m, work, &info); /* ascending eigenvalues, vectors in T's columns */
    for (int q = 0; q < 2 && !info; q++) {
        const double *z = T + (size_t)(m - 2 - q) * m; /* column-major: column m-2-q */
        cblas_dgemv(CblasRowMajor, CblasTrans, m, (int)n, 1.0, V, (int)n, z, 1, 0.0, w, 1);
        for (size_t r = 0; r < n; r++) out[2 * r + q] = w[r];
    }
    free(V), free(w), free(h), free(T);
    return info ? a2m_error(A2M_ERR_INTERNAL, "umap: LAPACK dstev failed (%d)", info) : A2M_OK;
}

/* centroids' two principal axes, scaled to max |.| = 1 (c > 4 components) */
static int meta_pca(const float *x, size_t dim, const int32_t *label, size_t n, size_t c, double *meta) {
    double *cen = calloc(c * dim, sizeof *cen), *cov = calloc(dim * dim, sizeof *cov), *ev = malloc(dim * sizeof *ev);
    size_t *count = calloc(c, sizeof *count);
    int lwork = (int)(3 * dim), info = 0, d = (int)dim;
    double *work = malloc((size_t)lwork * sizeof *work);
    int rc = (!cen || !cov || !ev || !count || !work) ? a2m_error(A2M_ERR_NOMEM, "umap: out of memory") : A2M_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        count[label[i]]++;
        for (size_t t = 0; t < dim; t++) cen[label[i] * dim + t] += x[i * dim + t];
    }
    for (size_t q = 0; q < c && !rc; q++)
        for (size_t t = 0; t < dim; t++) cen[q * dim + t] /= (double)count[q];
    for (size_t t = 0; t < dim && !rc; t++) { /* centre the centroids */
        double s = 0;
        for (size_t q = 0; q < c; q++) s += cen[q * dim + t];
        for (size_t q = 0; q < c; q++) cen[q * dim + t] -= s / (double)c;
    }
    if (!rc) {
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, d, (int)c, 1.0, cen, d, 0.0, cov, d);
        dsyev_("V", "U", &d, cov, &d, ev, work, &lwork, &info); /* ascending: the last two columns */
        if (info) rc = a2m_error(A2M_ERR_INTERNAL, "umap: LAPACK dsyev failed (%d)", info);
    }
    double mx = 0;
    for (size_t q = 0; q < c && !rc; q++)
        for (int a = 0; a < 2; a++) {
            meta[2 * q + a] = cblas_ddot(d, cen + q * dim, 1, cov + (size_t)(d - 1 - a) * dim, 1);
            mx = fabs(meta[2 * q + a]) > mx ? fabs(meta[2 * q + a]) : mx;
        }
    for (size_t t = 0; t < 2 * c && !rc; t++) meta[t] = mx > 0 ? meta[t] / mx : 0;
    free(cen), free(cov), free(ev), free(count), free(work);
    return rc;
}

/* umap-learn: more than 2 dim components -> component_layout, else +-unit vectors */
static int meta_layout(const float *x, size_t dim, const int32_t *label, size_t n, size_t c, double *meta) {
    if (c > 4) return meta_pca(x, dim, label, n, c, meta);
    static const double unit[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    for (size_t q = 0; q < c; q++) meta[2 * q] = unit[q][0], meta[2 * q + 1] = unit[q][1];
    return A2M_OK;
}

/* half the distance from component q's place to the nearest other place (1 when there is none) */
static double data_range(const double *meta, size_t c, size_t q) {
    double best = INFINITY;
    for (size_t o = 0; o < c; o++) {
        double d = hypot(meta[2 * o] - meta[2 * q], meta[2 * o + 1] - meta[2 * q + 1]);
        if (d > 0 && d < best) best = d;
    }
    return isinf(best) ? 1.0 : best / 2;
}

/* one component's points into init: Lanczos layout scaled to its range, or random when it has < 4 points */
static int place_component(const emb_graph *g, const size_t *members, size_t nc, const int32_t *local,
                           const double *centre, double range, int alone, uint64_t *seed, double *init) {
    if (nc < 4) {
        for (size_t r = 0; r < nc; r++)
            for (int a = 0; a < 2; a++) init[2 * members[r] + a] = centre[a] + range * (2 * a2m_uniform53(seed) - 1);
        return A2M_OK;
    }
    comp cg;
    double *lay = malloc(nc * 2 * sizeof *lay), mx = 0;
    int rc = lay ? comp_build(g, members, nc, local, &cg) : a2m_error(A2M_ERR_NOMEM, "umap: out of memory");
    if (rc) return free(lay), rc;
    rc = lanczos_layout(&cg, seed, lay);
    comp_free(&cg);
    for (size_t t = 0; t < 2 * nc; t++) mx = fabs(lay[t]) > mx ? fabs(lay[t]) : mx;
    double scale = alone || mx == 0 ? 1 : range / mx; /* one component: spectral_layout, unscaled */
    for (size_t r = 0; r < nc && !rc; r++)
        for (int a = 0; a < 2; a++) init[2 * members[r] + a] = centre[a] + scale * lay[2 * r + a];
    free(lay);
    return rc;
}

int emb_spectral_init(const emb_graph *g, const float *x, size_t dim, uint64_t rng_seed, double *init) {
    size_t n = g->n, c = 0;
    int32_t *label = malloc(n * sizeof *label), *local = malloc(n * sizeof *local);
    size_t *order = malloc(n * sizeof *order), *start = NULL;
    double *meta = NULL;
    int rc = (!label || !local || !order) ? a2m_error(A2M_ERR_NOMEM, "umap: out of memory") : components(g, label, &c);
    if (!rc) {
        start = calloc(c + 1, sizeof *start), meta = malloc(2 * c * sizeof *meta);
        if (!start || !meta) rc = a2m_error(A2M_ERR_NOMEM, "umap: out of memory for %zu components", c);
    }
    if (!rc) rc = c > 1 ? meta_layout(x, dim, label, n, c, meta) : (meta[0] = meta[1] = 0, A2M_OK);
    if (!rc) { /* members of each component, in index order (a counting sort) */
        for (size_t i = 0; i < n; i++) start[label[i] + 1]++;
        for (size_t q = 0; q < c; q++) start[q + 1] += start[q];
        for (size_t i = 0; i < n; i++) local[i] = (int32_t)(start[label[i]]++);
        for (size_t i = 0; i < n; i++) order[local[i]] = i;
        for (size_t q = c; q > 0; q--) start[q] = start[q - 1];
        start[0] = 0;
        for (size_t i = 0; i < n; i++) local[i] -= (int32_t)start[label[i]];
    }
    uint64_t seed = rng_seed;
    for (size_t q = 0; q < c && !rc; q++)
        rc = place_component(g, order + start[q], start[q + 1] - start[q], local, meta + 2 * q,
                             c > 1 ? data_range(meta, c, q) : 1, c == 1, &seed, init);
    free(label), free(local), free(order), free(start), free(meta);
    return rc;
}
