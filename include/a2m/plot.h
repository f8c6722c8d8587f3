/* Pictures with cairo: PNG, SVG or PDF chosen by the output's extension,
 * written to a temporary file and renamed. */
#ifndef A2M_PLOT_H
#define A2M_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "a2m/cqt.h"
#include "a2m/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_plot_size {
    int width, height; /* pixels (points for SVG/PDF) */
} a2m_plot_size;

/* "png", "svg" or "pdf" from the name's extension (any case; no extension: "png"); NULL for any
 * other extension: the a2m_plot_* functions refuse those (A2M_ERR_UNSUPPORTED) rather than write
 * PNG bytes to x.jpg. */
const char *a2m_plot_format(const char *path);

/* Training log columns epoch,train_loss,val_loss,val_accuracy,val_f1_macro,... */
typedef struct a2m_loss_curve {
    size_t n;
    const double *epoch, *train_loss, *val_loss, *val_accuracy, *val_f1;
} a2m_loss_curve;
int a2m_plot_loss(const char *path, const a2m_loss_curve *c, a2m_plot_size size);

/* Confusion heatmap: counts [n x n] (rows = reference), class names, n from 1 to A2M_MAX_CLASSES.
 * The label font, the cell text (count and %, % alone, none) and vertical column labels follow
 * the cell size; the matrix is centred. a2m_plot_confusion_size(n): a figure size that fits n
 * classes (740 x 600 up to 18 classes, then 22 px more a class, at most 1840 x 1700). */
int a2m_plot_confusion(const char *path, const int64_t *counts, int n, const char *const *names, a2m_plot_size size);
a2m_plot_size a2m_plot_confusion_size(int n);

/* Reliability diagram: n_bins equal confidence bins over (0, 1] with each
 * bin's mean confidence, accuracy and frame count (a2m_reliability's bins);
 * ece and mce go into the title. Upper panel: accuracy bars, the gap to the
 * bin's mean confidence, the diagonal of perfect calibration; lower panel:
 * share of frames per bin with the counts. */
typedef struct a2m_reliability_curve {
    int n_bins;
    const double *confidence, *accuracy; /* [n_bins], in [0, 1] */
    const int64_t *count;                /* [n_bins] */
    double ece, mce;
} a2m_reliability_curve;
int a2m_plot_reliability(const char *path, const a2m_reliability_curve *c, a2m_plot_size size);

/* CQT image (dB [frames x bins]) with optional frame labels (classes -> MIDI notes,
 * drawn as bands at the note's frequency) and two optional note layers
 * (reference, estimate) drawn as translucent rectangles. */
typedef struct a2m_cqt_overlay {
    const int64_t *labels;  /* [frames] or NULL */
    const int *class_notes; /* class -> MIDI, [0] = silence */
    const a2m_note *ref;    /* or NULL */
    size_t n_ref;
    const a2m_note *est; /* or NULL */
    size_t n_est;
    double note_transpose; /* semitones added to drawn notes (the seed singer: -12) */
} a2m_cqt_overlay;
int a2m_plot_cqt(const char *path, const float *db, size_t frames, a2m_cqt_params p, const a2m_cqt_overlay *ov,
                 const char *title, a2m_plot_size size);

/* Scatter of a 2-D embedding xy [n x 2] (a2m embed), coloured by codes [n] (EMB.labels.npy: a MIDI note, -1
 * silence, -2 onset, -3 below range, -4 above range; any other value "class N"), at most A2M_EMBED_MAX_CLASSES
 * distinct; both axes on one scale; a legend with each class's count; title may be NULL. */
#define A2M_EMBED_MAX_CLASSES 64
int a2m_plot_embed(const char *path, const float *xy, const int64_t *codes, size_t n, const char *title,
                   a2m_plot_size size);
/* "silence", "C4 (60)", "onset", "below range", "above range", "class N" */
const char *a2m_embed_label_name(int64_t code, char *buf, size_t n);
/* A matrix as an image: values [n_x x n_y] (column t, row k at values[t * n_y + k]; row 0 at the bottom), the
 * x axis from 0 to x_max (seconds), rows named at the given tick positions, an optional class per column drawn
 * as a strip of colours above the image (silence left blank), and a colour bar from the clip_percent-th to the
 * (100 - clip_percent)-th percentile of the values (0: min to max), so one extreme row (MFCC 0) does not
 * wash out the rest. */
typedef struct a2m_heatmap {
    const float *values;
    size_t n_x;
    int n_y;
    double x_max;
    const char *x_label, *y_label, *unit;
    int n_yticks;
    const double *ytick_pos; /* row positions (fractional) */
    const char *const *ytick_text;
    const int64_t *labels; /* [n_x] classes or NULL */
    double clip_percent;
} a2m_heatmap;
int a2m_plot_heatmap(const char *path, const a2m_heatmap *h, const char *title, a2m_plot_size size);
/* Uncertainty: for each measure (max probability, entropy, variance, mutual information; up to 4 panels)
 * the empirical CDFs of the measure over right and wrong frames (`a2m eval --json` "uncertainty"), the
 * AUROC of detecting a wrong frame in the panel's title. */
typedef struct a2m_cdf_panel {
    const char *name;
    int n;                           /* points, >= 2 */
    const double *x, *right, *wrong; /* [n]: x increasing, CDFs in [0, 1] */
    double auroc;                    /* NaN: not shown */
} a2m_cdf_panel;
int a2m_plot_uncertainty(const char *path, const a2m_cdf_panel *panels, int n_panels, const char *title,
                         a2m_plot_size size);
/* A scatter figure (a2m plot search: optimisation history and per-parameter slices): points (x, y) coloured by
 * their order (dark first, yellow last) or, with hollow[i], drawn as rings (pruned trials); an optional
 * line (line_y through the points' x in order: the best so far); a log10 x axis, or categories (x = index,
 * ticks named). Points with a non-finite y are left out. */
typedef struct a2m_scatter_plot {
    const char *title, *xlabel, *ylabel;
    size_t n;
    const double *x, *y;
    const int *hollow;    /* or NULL */
    const double *line_y; /* or NULL */
    int log_x;
    int n_categories;
    const char *const *categories;
} a2m_scatter_plot;
int a2m_plot_scatter(const char *path, const a2m_scatter_plot *p, a2m_plot_size size);

#ifdef __cplusplus
}
#endif
#endif
