/* Predictive uncertainty: measures from samples of class probabilities, their
 * AUROC for detecting wrong frames, empirical CDFs, temperature scaling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/uncertainty.h"
#include "eval/predictive.h"

static const char *const measure_names[A2M_UNC_MEASURES] = {"max_probability", "entropy", "variance",
                                                            "mutual_information"};

const char *a2m_unc_measure_name(int k) { return k >= 0 && k < A2M_UNC_MEASURES ? measure_names[k] : "?"; }

int a2m_unc_measure_sign(int k) { return k == A2M_UNC_MAXPROB ? -1 : 1; }

int a2m_predictive_init(a2m_predictive *p, size_t n, int C) {
    memset(p, 0, sizeof *p);
    if (C < 1) return a2m_error(A2M_ERR_ARG, "predictive: %d classes", C);
    p->n = n, p->C = C;
    p->sum = calloc(n * (size_t)C + 1, sizeof *p->sum);
    p->sum2 = calloc(n * (size_t)C + 1, sizeof *p->sum2);
    p->ent = calloc(n + 1, sizeof *p->ent);
    if (!p->sum || !p->sum2 || !p->ent) {
        a2m_predictive_free(p);
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    return A2M_OK;
}

void a2m_predictive_free(a2m_predictive *p) {
    free(p->sum), free(p->sum2), free(p->ent);
    memset(p, 0, sizeof *p);
}

int a2m_predictive_add(a2m_predictive *p, const float *probs) {
    size_t nc = p->n * (size_t)p->C;
    for (size_t i = 0; i < nc; i++) {
        if (!isfinite(probs[i]))
            return a2m_error(A2M_ERR_NONFINITE, "predictive: probability not finite at frame %zu", i / (size_t)p->C);
        if (probs[i] < 0)
            return a2m_error(A2M_ERR_RANGE, "predictive: negative probability at frame %zu", i / (size_t)p->C);
    }
    for (size_t f = 0; f < p->n; f++)
        predictive_frame_add(p->sum + f * (size_t)p->C, p->sum2 + f * (size_t)p->C, p->ent + f,
                             probs + f * (size_t)p->C, p->C);
    p->S++;
    return A2M_OK;
}

void predictive_frame_add(double *sum, double *sum2, double *ent, const float *q, int C) {
    double h = 0;
    for (int c = 0; c < C; c++) {
        double v = q[c];
        sum[c] += v, sum2[c] += v * v;
        if (v > 0) h -= v * log(v);
    }
    *ent += h;
}

void predictive_frame_finish(const double *s, const double *s2, double ent, int samples, int C, float *mean,
                             float *measures) {
    double S = samples, h = 0;
    int top = 0;
    for (int c = 0; c < C; c++) {
        double m = s[c] / S;
        if (mean) mean[c] = (float)m;
        if (m > s[top] / S) top = c;
        if (m > 0) h -= m * log(m);
    }
    if (!measures) return;
    double mt = s[top] / S, var = s2[top] / S - mt * mt, mi = h - ent / S;
    measures[A2M_UNC_MAXPROB] = (float)mt;
    measures[A2M_UNC_ENTROPY] = (float)h;
    /* E[p^2] - E[p]^2 of values in [0, 1] loses at most ~1e-16 absolute: clamped at 0, as is the MI */
    measures[A2M_UNC_VARIANCE] = (float)(var > 0 ? var : 0);
    measures[A2M_UNC_MUTUAL] = (float)(mi > 0 ? mi : 0);
}

int a2m_predictive_finish(const a2m_predictive *p, float *mean, float *measures) {
    if (p->S < 1) return a2m_error(A2M_ERR_ARG, "predictive: no samples");
    size_t C = (size_t)p->C;
    for (size_t f = 0; f < p->n; f++)
        predictive_frame_finish(p->sum + f * C, p->sum2 + f * C, p->ent[f], p->S, p->C, mean ? mean + f * C : NULL,
                                measures ? measures + f * A2M_UNC_MEASURES : NULL);
    return A2M_OK;
}

typedef struct scored {
    double s;
    unsigned char pos;
} scored;

static int by_score(const void *a, const void *b) {
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return x < y ? -1 : x > y;
}

/* Mann-Whitney: (sum of the positives' ranks - n+(n+ + 1)/2) / (n+ n-), tied scores sharing their mean rank,
 * which is roc_auc_score's trapezoid area exactly. */
int a2m_auroc(const double *score, const unsigned char *positive, size_t n, double *auc) {
    *auc = NAN;
    scored *v = malloc((n + 1) * sizeof *v);
    if (!v) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    double npos = 0;
    for (size_t i = 0; i < n; i++) v[i] = (scored){score[i], positive[i] != 0}, npos += v[i].pos;
    double nneg = (double)n - npos;
    if (npos == 0 || nneg == 0) {
        free(v);
        return A2M_OK;
    }
    qsort(v, n, sizeof *v, by_score);
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double k = 0;
        while (j < n && v[j].s == v[i].s) k += v[j++].pos;
        rank_sum += k * (0.5 * (double)(i + 1 + j)); /* ranks i+1..j, mean (i+1+j)/2 */
        i = j;
    }
    free(v);
    *auc = (rank_sum - npos * (npos + 1) / 2) / (npos * nneg);
    return A2M_OK;
}

static int by_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* number of values of sorted v[0..n) <= x */
static size_t count_le(const double *v, size_t n, double x) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int a2m_ecdf_pair(const double *values, const unsigned char *group, size_t n, int K, double *x, double *cdf0,
                  double *cdf1) {
    if (K < 2) return a2m_error(A2M_ERR_ARG, "ecdf: %d grid points", K);
    double *v = malloc((n + 1) * sizeof *v);
    if (!v) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    size_t n1 = 0;
    for (size_t i = 0; i < n; i++)
        if (group[i]) v[n1++] = values[i];
    size_t n0 = 0;
    for (size_t i = 0; i < n; i++)
        if (!group[i]) v[n1 + n0++] = values[i];
    double lo = n ? values[0] : 0, hi = lo;
    for (size_t i = 0; i < n; i++) lo = fmin(lo, values[i]), hi = fmax(hi, values[i]);
    qsort(v, n1, sizeof *v, by_double);
    qsort(v + n1, n0, sizeof *v, by_double);
    for (int k = 0; k < K; k++) {
        x[k] = k == K - 1 ? hi : lo + (hi - lo) * k / (K - 1);
        cdf1[k] = n1 ? (double)count_le(v, n1, x[k]) / (double)n1 : 0;
        cdf0[k] = n0 ? (double)count_le(v + n1, n0, x[k]) / (double)n0 : 0;
    }
    free(v);
    return A2M_OK;
}

/* mean NLL of softmax(beta * z) for the labels; log-sum-exp about each row's max */
static double nll_at(const float *logits, const int64_t *labels, size_t n, int C, double beta) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * (size_t)C;
        double mx = z[0];
        for (int c = 1; c < C; c++) mx = fmax(mx, z[c]);
        double se = 0;
        for (int c = 0; c < C; c++) se += exp(beta * (z[c] - mx));
        sum += log(se) - beta * (z[labels[i]] - mx);
    }
    return sum / (double)n;
}

int a2m_fit_temperature(const float *logits, const int64_t *labels, size_t n, int C, double *temperature,
                        double *nll_before, double *nll_after) {
    if (!n || C < 2) return a2m_error(A2M_ERR_ARG, "temperature: no frames to fit on");
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= C)
            return a2m_error(A2M_ERR_RANGE, "temperature: reference class %lld outside 0..%d at frame %zu",
                             (long long)labels[i], C - 1, i);
        for (int c = 0; c < C; c++)
            if (!isfinite(logits[i * (size_t)C + c]))
                return a2m_error(A2M_ERR_NONFINITE, "temperature: logit not finite at frame %zu", i);
    }
    /* golden section on log(beta): the NLL is convex in beta, hence unimodal in log(beta) */
    const double g = 0.6180339887498949;
    double a = log(0.01), b = log(100.0);
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = nll_at(logits, labels, n, C, exp(x1)), f2 = nll_at(logits, labels, n, C, exp(x2));
    while (b - a > 1e-7) {
        if (f1 <= f2) b = x2, x2 = x1, f2 = f1, x1 = b - g * (b - a), f1 = nll_at(logits, labels, n, C, exp(x1));
        else a = x1, x1 = x2, f1 = f2, x2 = a + g * (b - a), f2 = nll_at(logits, labels, n, C, exp(x2));
    }
    double beta = exp(0.5 * (a + b));
    *temperature = 1.0 / beta;
    if (nll_before) *nll_before = nll_at(logits, labels, n, C, 1.0);
    if (nll_after) *nll_after = nll_at(logits, labels, n, C, beta);
    return A2M_OK;
}

double a2m_nll_temperature(const float *logits, const int64_t *labels, size_t n, int C, double temperature) {
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= C) return 0;
    return n && temperature > 0 ? nll_at(logits, labels, n, C, 1.0 / temperature) : 0;
}

void a2m_softmax_temperature(float *probs, const float *logits, size_t n, int C, double temperature) {
    double beta = 1.0 / temperature;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * (size_t)C;
        float *p = probs + i * (size_t)C;
        double mx = z[0], se = 0;
        for (int c = 1; c < C; c++) mx = fmax(mx, z[c]);
        for (int c = 0; c < C; c++) se += exp(beta * (z[c] - mx));
        for (int c = 0; c < C; c++) p[c] = (float)(exp(beta * (z[c] - mx)) / se);
    }
}
