/* Frame errors split into pitch and voicing (onset/offset/missed/extra) errors: the one-stage vs two-stage
 * comparison of issue 10 (docs/two-stage.md). */
#include "a2m/metrics.h"

/* kind of frame i: 0 right or pitch error, 1 reference sung heard silent, 2 reference silent heard sung */
static int voicing_kind(const int64_t *truth, const int64_t *pred, size_t i) {
    if ((truth[i] == 0) == (pred[i] == 0)) return 0;
    return truth[i] != 0 ? 1 : 2;
}

void a2m_error_split_add(const int64_t *truth, const int64_t *pred, size_t n, a2m_error_split *out) {
    out->frames += n;
    for (size_t i = 0; i < n;) {
        int k = voicing_kind(truth, pred, i);
        if (k == 0) {
            if (truth[i] != pred[i]) out->pitch++, out->errors++;
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && voicing_kind(truth, pred, j) == k && truth[j] == truth[i]) j++;
        size_t len = j - i;
        out->errors += len;
        if (k == 1) { /* a reference note (or part of it) heard silent */
            int at_start = i == 0 || truth[i - 1] != truth[i], at_end = j == n || truth[j] != truth[i];
            if (at_start && !at_end) out->onset += len;
            else if (at_end && !at_start) out->offset += len;
            else out->missed += len;
        } else { /* sung where the reference is silent */
            int after_note = i > 0 && truth[i - 1] != 0, before_note = j < n && truth[j] != 0;
            if (after_note) out->offset += len;
            else if (before_note) out->onset += len;
            else out->extra += len;
        }
        i = j;
    }
}
