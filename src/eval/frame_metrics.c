/* Frame metrics with scikit-learn's definitions. The label set is the sorted
 * union of the labels present in y_true and y_pred (sklearn's default when
 * labels= is not given); per-class arrays still span 0..n_classes-1, with
 * zeros for absent classes, which do not enter the averages. */
#include <math.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/metrics.h"

int a2m_frame_metrics_compute(const int64_t *y_true, const int64_t *y_pred, size_t n, int n_classes,
                              a2m_frame_metrics *out) {
    memset(out, 0, sizeof *out);
    if (n_classes < 1 || n_classes > A2M_MAX_CLASSES) return a2m_error(A2M_ERR_ARG, "metrics: %d classes", n_classes);
    out->n_classes = n_classes;
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        if (y_true[i] < 0 || y_true[i] >= n_classes || y_pred[i] < 0 || y_pred[i] >= n_classes)
            return a2m_error(A2M_ERR_RANGE, "metrics: label outside 0..%d at frame %zu", n_classes - 1, i);
        out->confusion[y_true[i]][y_pred[i]]++;
    }
    int64_t correct = 0, pred_count[A2M_MAX_CLASSES] = {0};
    for (int c = 0; c < n_classes; c++) {
        correct += out->confusion[c][c];
        for (int k = 0; k < n_classes; k++)
            out->support[c] += out->confusion[c][k], pred_count[c] += out->confusion[k][c];
    }
    out->accuracy = n ? (double)correct / (double)n : 0.0;
    int present = 0, with_true = 0;
    double f1_sum = 0, f1_w = 0, recall_sum = 0;
    for (int c = 0; c < n_classes; c++) {
        double tp = (double)out->confusion[c][c];
        out->precision[c] = pred_count[c] ? tp / (double)pred_count[c] : 0.0;
        out->recall[c] = out->support[c] ? tp / (double)out->support[c] : 0.0;
        double pr = out->precision[c] + out->recall[c];
        out->f1[c] = pr > 0 ? 2 * out->precision[c] * out->recall[c] / pr : 0.0;
        if (out->support[c] || pred_count[c]) {
            present++;
            f1_sum += out->f1[c];
        }
        if (out->support[c]) {
            with_true++;
            recall_sum += out->recall[c];
            f1_w += out->f1[c] * (double)out->support[c];
        }
    }
    out->f1_macro = present ? f1_sum / present : 0.0;
    out->f1_weighted = n ? f1_w / (double)n : 0.0;
    out->balanced_accuracy = with_true ? recall_sum / with_true : 0.0;
    return A2M_OK;
}

size_t a2m_worst_takes(const double *accuracy, size_t n, size_t k, size_t *order) {
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) { /* insertion into the sorted first k: strictly lower moves ahead */
        double a = accuracy[i];
        if (isnan(a)) continue;
        size_t j = shown < k ? shown++ : k;
        while (j > 0 && accuracy[order[j - 1]] > a) {
            if (j < k) order[j] = order[j - 1];
            j--;
        }
        if (j < k) order[j] = i;
    }
    return shown;
}
