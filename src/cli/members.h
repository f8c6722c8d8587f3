/* The models a prediction averages: one model, an ensemble (--ensemble M1,M2,...), each possibly run as
 * Monte-Carlo dropout passes (--mc-dropout T); the per-frame uncertainty of that average, as eval prints
 * it and writes it into --json. */
#ifndef A2M_CLI_MEMBERS_H
#define A2M_CLI_MEMBERS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "a2m/dataset.h"
#include "a2m/model.h"
#include "a2m/plot.h"

#define CLI_MAX_MEMBERS 32

typedef struct cli_members {
    a2m_model *m[CLI_MAX_MEMBERS];
    const char *path[CLI_MAX_MEMBERS]; /* as given, or owned[i]: a shipped model's file */
    char *owned[CLI_MAX_MEMBERS];
    int n;
    int mc; /* Monte-Carlo passes per model; 0: one deterministic pass */
    unsigned long long seed;
    char list[4096];
} cli_members;

/* model (one file) or list ("M1,M2,...": files or shipped names, cli_model_path); every model must run on audio
 * and share the first one's classes; with mc, each must have dropout. Failures are reported (one line) and return
 * the exit code. */
int cli_members_load(cli_members *e, const char *cmd, const char *model, const char *list, int mc,
                     unsigned long long seed);
void cli_members_free(cli_members *e);
/* 0 when every class the dataset ds_path holds (a frame of it) is one of the model's classes, else an a2m_error
 * naming both (a 4-class model on a dataset of 53 classes failed in the metrics, naming neither) */
int cli_model_classes_cover(const a2m_model *m, const char *model_path, const a2m_dataset *d, const char *ds_path);
/* Mean probabilities probs [frames x C] and measures [frames x A2M_UNC_MEASURES] (or NULL) over every model
 * and pass for dataset takes idx (frames their total). */
int cli_members_predict(const cli_members *e, const a2m_dataset *d, const size_t *idx, size_t n, size_t frames,
                        int threads, float *probs, float *measures);
/* "uncertainty" of eval --json: per measure AUROC of detecting a wrong frame, means, CDFs (K points). */
json_t *cli_uncertainty_json(const cli_members *e, const int64_t *truth, const int64_t *pred, const float *measures,
                             size_t n, int K);
void cli_uncertainty_print(FILE *out, const json_t *u);
/* `a2m plot uncertainty EVAL.json` */
int plot_uncertainty_file(const char *json_path, const char *out, a2m_plot_size size);

#endif
