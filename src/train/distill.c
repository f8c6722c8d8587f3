/* Distillation's soft targets: the mean of teacher models' class probabilities over a dataset's frames. */
#include <stdlib.h>

#include "a2m/error.h"
#include "a2m/midi.h"
#include "a2m/model.h"
#include "a2m/train.h"

/* Adds teacher `path`'s probabilities of every frame of d into sum [total_frames x C]; probs is scratch of that
 * size, pred [total_frames], all the indices of d's takes. */
static int add_teacher(const char *path, const a2m_dataset *d, const size_t *all, int n_threads, int64_t *pred,
                       float *probs, float *sum) {
    a2m_model *t = NULL;
    int rc = a2m_model_load(path, NULL, &t);
    if (rc) return rc;
    const a2m_model_info *ti = a2m_model_get_info(t);
    int C = a2m_label_n_classes(&d->labels_p);
    if (ti->n_bins != d->n_bins || ti->n_classes != C)
        rc = a2m_error(A2M_ERR_SHAPE, "%s: teacher has %d bins and %d classes, the dataset %d and %d", path, ti->n_bins,
                       ti->n_classes, d->n_bins, C);
    if (!rc) rc = a2m_model_check_features(t, d->cqt, d->feat, path);
    if (!rc) rc = a2m_model_predict_takes(t, d, all, d->n_takes, n_threads, pred, probs);
    if (rc) a2m_error_prefix(rc, path);
    for (size_t k = 0, n = d->total_frames * (size_t)C; !rc && k < n; k++) sum[k] += probs[k];
    a2m_model_del(t);
    return rc;
}

int a2m_train_teacher_targets(const a2m_dataset *d, const char *const *teachers, int n_teachers, int n_threads,
                              float **out) {
    *out = NULL;
    if (n_teachers <= 0) return a2m_error(A2M_ERR_ARG, "distillation: no teacher model given");
    size_t count = d->total_frames * (size_t)a2m_label_n_classes(&d->labels_p);
    size_t *all = malloc((d->n_takes + 1) * sizeof *all);
    int64_t *pred = malloc((d->total_frames + 1) * sizeof *pred);
    float *probs = malloc((count + 1) * sizeof *probs), *sum = calloc(count + 1, sizeof *sum);
    int rc = all && pred && probs && sum ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < d->n_takes; i++) all[i] = i;
    for (int i = 0; !rc && i < n_teachers; i++) rc = add_teacher(teachers[i], d, all, n_threads, pred, probs, sum);
    for (size_t k = 0; !rc && k < count; k++) sum[k] /= (float)n_teachers;
    free(all), free(pred), free(probs);
    if (rc) free(sum);
    else *out = sum;
    return rc;
}
