/* Metrics with the reference libraries' definitions: frame metrics as
 * scikit-learn (confusion_matrix, accuracy_score, balanced_accuracy_score,
 * precision_recall_fscore_support with zero_division=0) and note metrics as
 * mir_eval.transcription (precision_recall_f1_overlap). */
#ifndef A2M_METRICS_H
#define A2M_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "a2m/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_frame_metrics {
    int n_classes;
    int64_t confusion[A2M_MAX_CLASSES][A2M_MAX_CLASSES]; /* [true][pred] */
    double precision[A2M_MAX_CLASSES], recall[A2M_MAX_CLASSES], f1[A2M_MAX_CLASSES];
    int64_t support[A2M_MAX_CLASSES];
    double accuracy, balanced_accuracy, f1_macro, f1_weighted;
    size_t n;
} a2m_frame_metrics;

/* Classes are 0..n_classes-1; labels outside that range are an error. */
int a2m_frame_metrics_compute(const int64_t *y_true, const int64_t *y_pred, size_t n, int n_classes,
                              a2m_frame_metrics *out);

typedef struct a2m_note_metric_params {
    double onset_tolerance;      /* 0.05 s */
    double pitch_tolerance;      /* 50 cents */
    double offset_ratio;         /* 0.2 */
    double offset_min_tolerance; /* 0.05 s */
} a2m_note_metric_params;
a2m_note_metric_params a2m_note_metric_default_params(void);

typedef struct a2m_prf {
    double precision, recall, f1, average_overlap;
} a2m_prf;

typedef struct a2m_note_metrics {
    a2m_prf onset_pitch_offset; /* COnPOff */
    a2m_prf onset_pitch;        /* COnP */
    a2m_prf onset;              /* COn */
} a2m_note_metrics;

int a2m_note_metrics_compute(const a2m_note *ref, size_t n_ref, const a2m_note *est, size_t n_est,
                             a2m_note_metric_params p, a2m_note_metrics *out);

#ifdef __cplusplus
}
#endif
#endif
