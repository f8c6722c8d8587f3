/* What `a2m knn` and `a2m linear` share: a dataset's splits as frame matrices, timing, and the report
 * (eval's frame metrics and JSON, plus the baseline's own fields). */
#ifndef A2M_CLI_BASELINE_H
#define A2M_CLI_BASELINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "a2m/baseline.h"
#include "a2m/dataset.h"

enum { BL_TRAIN, BL_VAL, BL_EVAL };

typedef struct bl_data {
    a2m_dataset d;
    int loaded, dim, n_classes;
    int class_notes[A2M_MAX_CLASSES];
    float *x[3]; /* train, val, the scored split: [n x dim] */
    int64_t *y[3];
    size_t n[3], takes[3];
    const char *split_name[3];
} bl_data;

/* Loads DATASET, checks --features KIND against what it holds, gathers train/val/eval splits with context
 * frames (val may be empty: n[BL_VAL] = 0 when SPLIT.json has no "val"). Prints the failure; returns 0 or
 * an exit code. */
int bl_load(const char *ds, const char *splits, const char *eval_split, const char *kind, int context, bl_data *b);
/* Fits the frame map on the training frames and applies it to all three (the matrices are replaced). */
int bl_map(bl_data *b, int standardise, int pca, int n_threads, a2m_frame_map *m);
void bl_free(bl_data *b);

double bl_now(void); /* monotonic seconds */

/* After parsing: one DATASET (into *ds), --features a known kind, the --json file (unless "-") a new output or
 * --force. Prints the failure; returns 0 or an exit code. */
int bl_check_args(const char *cmd, char **argv, int n_pos, const char *kind, const char *splits, int force,
                  const char **ds, const char **json);

/* Metrics of pred against the scored split, printed (unless json is "-") and, with json, written with
 * extra's fields added (extra is consumed). Returns 0 or an exit code. */
int bl_report(const bl_data *b, const char *title, const int64_t *pred, const char *json, json_t *extra);

#endif
