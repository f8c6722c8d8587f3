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

/* The takes with the lowest accuracy: indices into accuracy[0..n) of up to k of them, lowest first, the first of
 * equals first; a NaN accuracy (a take without frames) is never listed. Returns how many were written to order.
 * What `a2m eval` prints and `a2m report` tabulates. */
size_t a2m_worst_takes(const double *accuracy, size_t n, size_t k, size_t *order);

/* Calibration of a classifier's probabilities (Guo et al. 2017, "On
 * Calibration of Modern Neural Networks"). The prediction of a frame is its
 * most probable class (the first one on ties) and its confidence that top
 * probability. Frames are binned by confidence into A2M_RELIABILITY_BINS equal
 * bins ((m-1)/B, m/B] (confidence 0 joins the first bin, above 1 the last). */
#define A2M_RELIABILITY_BINS 10

typedef struct a2m_reliability {
    int n_classes;
    size_t n; /* frames */
    /* per confidence bin; 0 where the bin is empty */
    double bin_confidence[A2M_RELIABILITY_BINS]; /* mean confidence */
    double bin_accuracy[A2M_RELIABILITY_BINS];   /* share of correct predictions */
    int64_t bin_count[A2M_RELIABILITY_BINS];
    double ece;             /* expected calibration error: sum_b n_b/N |acc_b - conf_b| */
    double mce;             /* maximum calibration error: max over non-empty bins |acc_b - conf_b| */
    double mean_confidence; /* mean top probability over all frames */
    double accuracy;        /* share of frames whose most probable class is the reference */
    double mean_entropy;    /* mean predictive entropy -sum_c p_c ln p_c (nats; p = 0 adds 0) */
    /* per class c, over the frames predicted as c (0 when none is). Since the
     * prediction is the most probable class, p(c) is those frames' top
     * probability: prob_mean equals mean_confidence by construction;
     * prob_variance (population variance, as numpy's var) is the spread. */
    int64_t pred_count[A2M_MAX_CLASSES];
    double class_confidence[A2M_MAX_CLASSES];    /* mean top probability */
    double class_precision[A2M_MAX_CLASSES];     /* correct / predicted */
    double class_prob_mean[A2M_MAX_CLASSES];     /* mean of p(c) */
    double class_prob_variance[A2M_MAX_CLASSES]; /* variance of p(c) */
} a2m_reliability;

/* probs [n x n_classes] (rows need not sum to 1: softmax output in float
 * rounding is fine). NaN or infinite probabilities are A2M_ERR_NONFINITE,
 * negative ones and reference classes outside 0..n_classes-1 A2M_ERR_RANGE;
 * the message names the frame. n = 0 gives all zeros. */
int a2m_reliability_compute(const int64_t *y_true, const float *probs, size_t n, int n_classes, a2m_reliability *out);

/* Frame errors split into pitch and voicing errors (class 0 is silence, every other class sung). Runs of
 * frames with one kind of voicing error and one reference class are classified whole:
 *  pitch   reference and prediction sung, another class;
 *  onset   at a reference note's start: sung too early (reference silent up to a note) or heard silent
 *          over a note's first frames (a late onset);
 *  offset  at a note's end: sung on after it (also a silence between two notes bridged) or silent over its
 *          last frames (an early offset);
 *  missed  reference sung, heard silent over the whole note or inside it (touching neither end);
 *  extra   reference silent, heard sung, touching no reference note.
 * A note's ends are where the reference class changes (a legato step ends one note and starts the next). */
typedef struct a2m_error_split {
    size_t frames, errors, pitch, onset, offset, missed, extra;
} a2m_error_split;
/* One take (runs do not cross takes); adds into *out (zero it first). */
void a2m_error_split_add(const int64_t *truth, const int64_t *pred, size_t n, a2m_error_split *out);

#ifdef __cplusplus
}
#endif
#endif
