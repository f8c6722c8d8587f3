/* Calibration of frame probabilities: reliability diagram bins, expected and
 * maximum calibration error (Guo et al. 2017), per-class confidence vs
 * precision and the spread of the predicted class's probability. */
#include <math.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/metrics.h"

/* bin ((m-1)/B, m/B] -> m-1; the product of a float's value by B is exact in double */
static int bin_of(double conf) {
    int b = (int)ceil(conf * A2M_RELIABILITY_BINS) - 1;
    return b < 0 ? 0 : b >= A2M_RELIABILITY_BINS ? A2M_RELIABILITY_BINS - 1 : b;
}

int a2m_reliability_compute(const int64_t *y_true, const float *probs, size_t n, int n_classes, a2m_reliability *out) {
    memset(out, 0, sizeof *out);
    if (n_classes < 1 || n_classes > A2M_MAX_CLASSES)
        return a2m_error(A2M_ERR_ARG, "reliability: %d classes", n_classes);
    if (n && (!y_true || !probs)) return a2m_error(A2M_ERR_ARG, "reliability: no labels or probabilities");
    out->n_classes = n_classes;
    out->n = n;
    int C = n_classes;
    /* first pass: checks, predictions, sums */
    double bin_conf[A2M_RELIABILITY_BINS] = {0};
    int64_t bin_correct[A2M_RELIABILITY_BINS] = {0}, class_correct[A2M_MAX_CLASSES] = {0}, correct = 0;
    double conf_sum = 0, entropy_sum = 0, class_conf[A2M_MAX_CLASSES] = {0};
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)C;
        if (y_true[i] < 0 || y_true[i] >= C)
            return a2m_error(A2M_ERR_RANGE, "reliability: reference class %lld outside 0..%d at frame %zu",
                             (long long)y_true[i], C - 1, i);
        int top = 0;
        double h = 0;
        for (int c = 0; c < C; c++) {
            if (!isfinite(p[c]))
                return a2m_error(A2M_ERR_NONFINITE, "reliability: probability of class %d is not finite at frame %zu",
                                 c, i);
            if (p[c] < 0)
                return a2m_error(A2M_ERR_RANGE, "reliability: negative probability of class %d at frame %zu", c, i);
            if (p[c] > p[top]) top = c;
            if (p[c] > 0) h -= (double)p[c] * log((double)p[c]);
        }
        double conf = p[top];
        int ok = y_true[i] == top, b = bin_of(conf);
        bin_conf[b] += conf, out->bin_count[b]++, bin_correct[b] += ok;
        conf_sum += conf, entropy_sum += h, correct += ok;
        out->pred_count[top]++, class_conf[top] += conf, class_correct[top] += ok;
    }
    if (!n) return A2M_OK;
    double N = (double)n;
    for (int b = 0; b < A2M_RELIABILITY_BINS; b++) {
        if (!out->bin_count[b]) continue;
        double nb = (double)out->bin_count[b];
        out->bin_confidence[b] = bin_conf[b] / nb;
        out->bin_accuracy[b] = (double)bin_correct[b] / nb;
        double gap = fabs(out->bin_accuracy[b] - out->bin_confidence[b]);
        out->ece += nb / N * gap;
        if (gap > out->mce) out->mce = gap;
    }
    out->mean_confidence = conf_sum / N;
    out->accuracy = (double)correct / N;
    out->mean_entropy = entropy_sum / N;
    for (int c = 0; c < C; c++) {
        if (!out->pred_count[c]) continue;
        double k = (double)out->pred_count[c];
        out->class_confidence[c] = out->class_prob_mean[c] = class_conf[c] / k;
        out->class_precision[c] = (double)class_correct[c] / k;
    }
    /* second pass: variance about the mean (two passes: no cancellation) */
    double ss[A2M_MAX_CLASSES] = {0};
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)C;
        int top = 0;
        for (int c = 1; c < C; c++)
            if (p[c] > p[top]) top = c;
        double d = p[top] - out->class_prob_mean[top];
        ss[top] += d * d;
    }
    for (int c = 0; c < C; c++)
        if (out->pred_count[c]) out->class_prob_variance[c] = ss[c] / (double)out->pred_count[c];
    return A2M_OK;
}
