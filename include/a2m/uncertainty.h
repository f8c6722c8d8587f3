/* Predictive uncertainty of frame classifiers: measures from S samples of the
 * class probabilities (Monte-Carlo dropout passes or ensemble members; Gal &
 * Ghahramani 2016, Lakshminarayanan et al. 2017), how well each measure
 * detects a wrong frame (AUROC as scikit-learn's roc_auc_score, empirical
 * CDFs for right and wrong frames), and temperature scaling (Guo et al. 2017)
 * fitted by minimising the negative log-likelihood. */
#ifndef A2M_UNCERTAINTY_H
#define A2M_UNCERTAINTY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Per-frame measures, in this order in every [n x A2M_UNC_MEASURES] array:
 *  MAXPROB   max_c pbar_c, pbar the mean of the samples (high = confident)
 *  ENTROPY   predictive entropy H[pbar] = -sum_c pbar_c ln pbar_c (nats)
 *  VARIANCE  variance over the samples of p(c*), c* = argmax pbar (population variance, numpy's var)
 *  MUTUAL    mutual information H[pbar] - mean_s H[p_s] (the epistemic part; 0 for one sample) */
enum { A2M_UNC_MAXPROB, A2M_UNC_ENTROPY, A2M_UNC_VARIANCE, A2M_UNC_MUTUAL, A2M_UNC_MEASURES };
/* "max_probability", "entropy", "variance", "mutual_information" */
const char *a2m_unc_measure_name(int k);
/* +1 when a larger value means less confident (entropy, variance, MI), -1 for MAXPROB */
int a2m_unc_measure_sign(int k);

/* Sums over samples of n frames x C classes, accumulated one sample at a time. */
typedef struct a2m_predictive {
    size_t n;
    int C, S;
    double *sum, *sum2; /* [n x C] sums of p and p^2 */
    double *ent;        /* [n] sum of the samples' entropies */
} a2m_predictive;

int a2m_predictive_init(a2m_predictive *p, size_t n, int C);
void a2m_predictive_free(a2m_predictive *p);
/* One sample: probs [n x C]. Non-finite or negative values are A2M_ERR_NONFINITE / A2M_ERR_RANGE. */
int a2m_predictive_add(a2m_predictive *p, const float *probs);
/* mean [n x C] (or NULL), measures [n x A2M_UNC_MEASURES] (or NULL); needs >= 1 sample. */
int a2m_predictive_finish(const a2m_predictive *p, float *mean, float *measures);

/* *auc = the area under the ROC curve of score for detecting positive[i] != 0, as
 * sklearn.metrics.roc_auc_score (ties count one half); NaN when one of the
 * two groups is empty. A2M_ERR_NOMEM when its sort buffer cannot be had (a
 * NaN then would read as "one group empty"). */
int a2m_auroc(const double *score, const unsigned char *positive, size_t n, double *auc);

/* Empirical CDFs of values for the frames with group 0 and group 1 on a
 * common grid x[0..K-1] from the smallest to the largest value (K >= 2):
 * cdf0[k] = share of group-0 values <= x[k]. An empty group gives all 0. */
int a2m_ecdf_pair(const double *values, const unsigned char *group, size_t n, int K, double *x, double *cdf0,
                  double *cdf1);

/* The temperature T > 0 minimising the mean negative log-likelihood of
 * softmax(logits / T) for the labels (logits [n x C]; labels in 0..C-1), and
 * that NLL before (T = 1) and after. The NLL is convex in 1/T: golden-section
 * search over 1/T in [0.01, 100] to a relative 1e-7. n = 0 is an error. */
int a2m_fit_temperature(const float *logits, const int64_t *labels, size_t n, int C, double *temperature,
                        double *nll_before, double *nll_after);

/* The mean negative log-likelihood of softmax(logits / T) for the labels (checked as the fit checks them: 0 when
 * they are not valid). */
double a2m_nll_temperature(const float *logits, const int64_t *labels, size_t n, int C, double temperature);

/* probs [n x C] = softmax(logits / T) (T = 1: the plain softmax), in double internally. */
void a2m_softmax_temperature(float *probs, const float *logits, size_t n, int C, double temperature);

#ifdef __cplusplus
}
#endif
#endif
