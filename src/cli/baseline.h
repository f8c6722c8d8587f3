/* What `a2m knn` and `a2m linear` share: a dataset's splits as frame matrices, timing, and the report
 * (eval's frame metrics and JSON, plus the baseline's own fields). */
#ifndef A2M_CLI_BASELINE_H
#define A2M_CLI_BASELINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "a2m/baseline.h"
#include "a2m/dataset.h"
#include "cli/cli.h"
#include "cli/opts.h"

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

/* The command line knn and linear share: DATASET and the options of BL_OPTION_ROWS */
typedef struct bl_args {
    const char *ds, *splits, *split, *kind, *json;
    int context, pca, force;
} bl_args;
#define BL_ARGS_DEFAULT ((bl_args){NULL, CLI_SEED_SPLITS, "test", NULL, NULL, 0, 0, 0})

/* The rows knn's and linear's option tables start with (a: their bl_args; threads: where --threads goes) */
#define BL_OPTION_ROWS(a, threads)                                                                                     \
    {CLI_SPLITS_ROW(&(a)->splits)}, {CLI_STR_OPT("--split", &(a)->split), .meta = "NAME", .help = "the split scored"}, \
        {CLI_STR_OPT("--features", &(a)->kind), .meta = "KIND",                                                        \
         .help = "the kind of features the dataset must hold (cqt, mel, mfcc, lpc)"},                                  \
        {CLI_INT_OPT("--context", &(a)->context, 0, 100), .meta = "C",                                                 \
         .help = "stack C frames each side (within a take)"},                                                          \
        {CLI_INT_OPT("--pca", &(a)->pca, 1, 100000), .meta = "D", .nodef = 1,                                          \
         .help = "keep the D leading principal axes of the training frames"},                                          \
        {CLI_THREADS_ROW(threads)},                                                                                    \
        {CLI_STR_OPT("--json", &(a)->json), .meta = "FILE",                                                            \
         .help = "also write the metrics as JSON (- = standard output alone)"},                                        \
    {                                                                                                                  \
        CLI_FLAG_OPT("--force", &(a)->force), .help = "replace an existing --json file"                                \
    }

/* cli_parse, then the checks: one DATASET (into a->ds), --features a known kind, the --json file (unless "-") a
 * new output or --force. Prints the failure; returns 0 to go on, -1 after --help, or an exit code. */
int bl_parse(int argc, char **argv, const cli_spec *spec, bl_args *a);

/* Metrics of pred against the scored split, printed (unless json is "-") and, with json, written with
 * extra's fields added (extra is consumed). Returns 0 or an exit code. */
int bl_report(const bl_data *b, const char *title, const int64_t *pred, const char *json, json_t *extra);

#endif
