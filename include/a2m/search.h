/* Hyperparameter search (`a2m search`, docs/search.md): a search space over a2m train's options, TPE and
 * random samplers, the median pruner, and a study database (SQLite or PostgreSQL) shared by workers. */
#ifndef A2M_SEARCH_H
#define A2M_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "a2m/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define A2M_SEARCH_MAX_PARAMS  32
#define A2M_SEARCH_MAX_CHOICES 16
#define A2M_SEARCH_NAME        32

typedef enum { A2M_PARAM_INT = 0, A2M_PARAM_FLOAT = 1, A2M_PARAM_CHOICE = 2 } a2m_param_kind;

/* One searched (or fixed) a2m train option. A value in "internal" form is the number itself for int/float
 * and the index of the choice for categorical; a fixed value is a categorical with one choice. */
typedef struct a2m_search_param {
    char name[A2M_SEARCH_NAME]; /* the train option without "--": "lr", "class-weight-power", "loss" */
    a2m_param_kind kind;
    int log;                /* int/float: sampled uniformly in log space */
    double low, high, step; /* int/float: inclusive range; step 0 = continuous (float only) */
    int n_choices;
    char choices[A2M_SEARCH_MAX_CHOICES][A2M_SEARCH_NAME]; /* categorical: as the train option's text */
} a2m_search_param;

typedef struct a2m_search_space {
    int n;
    a2m_search_param p[A2M_SEARCH_MAX_PARAMS];
} a2m_search_space;

/* The space file (JSON object, docs/search.md):
 *   {"hidden": {"type": "int", "low": 32, "high": 256, "step": 32},
 *    "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": true},
 *    "loss": {"type": "categorical", "choices": ["ce", "focal"]},
 *    "class-weight-power": 0}
 * Every name must be an a2m train option a2m_search_space_names() lists, every value inside that option's
 * range. name is used in error messages (the file). */
int a2m_search_space_parse(const char *json, size_t len, const char *name, a2m_search_space *out);
int a2m_search_space_load(const char *path, a2m_search_space *out);
/* The default space: the original's hidden, lr (log), batch, plus dropout, class-weight-power, loss,
 * label-smoothing. */
void a2m_search_space_default(a2m_search_space *out);
/* Canonical JSON of a space (caller frees): stored in the study so workers and --show agree on it. */
char *a2m_search_space_json(const a2m_search_space *s);
/* The searchable options, space-separated (for help texts). */
const char *a2m_search_space_names(void);

/* Sets p's fields from the internal values of every parameter (values[i] for s->p[i]). */
int a2m_search_apply(const a2m_search_space *s, const double *values, a2m_train_params *p);
/* One value as text ("0.000934", "128", "focal"). */
void a2m_search_format_value(const a2m_search_param *p, double v, char *buf, size_t n);
/* The `a2m train` options that reproduce values ("--hidden 128 --lr 0.000934 --batch 8 --loss focal"). */
void a2m_search_train_args(const a2m_search_space *s, const double *values, char *buf, size_t n);

/* ---- samplers and pruner ---------------------------------------------------------------------------- */
typedef enum {
    A2M_TRIAL_RUNNING = 0,
    A2M_TRIAL_COMPLETE = 1,
    A2M_TRIAL_PRUNED = 2,
    A2M_TRIAL_FAILED = 3
} a2m_trial_state;
const char *a2m_trial_state_name(int state);

typedef struct a2m_search_trial {
    int number;                           /* 0, 1, ... in the study */
    int state;                            /* a2m_trial_state */
    double value;                         /* objective of a complete trial (NaN otherwise) */
    double params[A2M_SEARCH_MAX_PARAMS]; /* internal values, NaN = absent */
    int n_steps;                          /* intermediate values: steps[k] is step k + 1 (epoch k + 1), NaN = missing */
    double *steps;
    double started, finished; /* unix seconds (0 = not yet) */
} a2m_search_trial;

typedef enum { A2M_SAMPLER_TPE = 0, A2M_SAMPLER_RANDOM = 1 } a2m_sampler_kind;

/* TPE as Optuna's TPESampler defaults (independent, univariate Parzen estimators per parameter). */
typedef struct a2m_tpe_params {
    int n_startup_trials;    /* 10: random until this many complete or pruned trials */
    int n_ei_candidates;     /* 24 */
    double prior_weight;     /* 1 */
    int consider_magic_clip; /* 1 */
    int consider_endpoints;  /* 0 */
} a2m_tpe_params;
a2m_tpe_params a2m_tpe_default_params(void);

/* Draws values[s->n] for a new trial from the history (complete and pruned trials count; others are
 * ignored). maximize: the objective is to be maximised. rng: the generator state (advanced). */
int a2m_search_sample(const a2m_search_space *s, const a2m_search_trial *trials, size_t n, int maximize,
                      a2m_sampler_kind kind, a2m_tpe_params tp, uint64_t *rng, double *values);

/* Median pruner, Optuna's MedianPruner with a warm-up (docs/search.md: why 6). */
typedef struct a2m_median_params {
    int n_startup_trials; /* 5: no pruning before this many complete trials */
    int n_warmup_steps;   /* 6 (Optuna's default: 0): no pruning at steps (epochs) <= this */
} a2m_median_params;
a2m_median_params a2m_median_default_params(void);
/* *prune = 1 when the trial whose intermediate values are mine[0..step-1] should stop at step (1-based): its
 * best value so far is worse than the median of the complete trials' values at that step; else 0. A2M_OK, or
 * A2M_ERR_NOMEM (the median's buffer: a silent "keep" would hide it). */
int a2m_search_median_prune(const a2m_search_trial *trials, size_t n, const double *mine, int step, int maximize,
                            a2m_median_params mp, int *prune);

/* ---- the study database ----------------------------------------------------------------------------- */
typedef struct a2m_study a2m_study;

typedef struct a2m_study_info {
    char objective[16]; /* "val_loss" (minimised) or "val_f1" (maximised) */
    char sampler[16];   /* "tpe" or "random" */
    char pruner[16];    /* "median" or "none" */
    long long seed;
    int epochs;
    char dataset[1024], splits[1024];
    a2m_search_space space;
} a2m_study_info;

/* Opens (creating the schema and the study when absent) a study: target is a SQLite file or a
 * "postgresql://" / "postgres://" URL (then name is the study's name in that database; SQLite files hold one
 * study). When the study exists and want is not NULL, its objective and space must be want's. info receives
 * the stored settings. */
int a2m_study_new(const char *target, const char *name, const a2m_study_info *want, a2m_study **out,
                  a2m_study_info *info);
/* Opens an existing study (--show, plot); a missing file is an error, nothing is created. */
int a2m_study_new_existing(const char *target, const char *name, a2m_study **out, a2m_study_info *info);
void a2m_study_del(a2m_study *st);

/* In one transaction: running trials whose heartbeat is older than stale_s seconds become failed; when the
 * study has n_trials counted trials (every trial but failed ones to be or already re-run) *number = -1;
 * else a new running trial takes the parameters of a failed trial to re-run, or sampled ones. */
int a2m_study_next_trial(a2m_study *st, int n_trials, double stale_s, const char *worker, a2m_tpe_params tp,
                         int *number, double *values);
/* Records an intermediate value (and the heartbeat); *prune = the median pruner's decision (0 without
 * pruner). A trial no longer running (marked failed by another worker) returns A2M_ERR_RANGE. */
int a2m_study_report(a2m_study *st, int number, int step, double value, a2m_median_params mp, int *prune);
int a2m_study_heartbeat(a2m_study *st, int number);
/* Ends a running trial: complete (value), pruned or failed (retry 1: may be re-run, interrupted or killed). */
int a2m_study_finish(a2m_study *st, int number, int state, double value, int retry);
/* Every trial in number order (caller frees with a2m_search_trials_free). */
int a2m_study_trials(a2m_study *st, a2m_search_trial **trials, size_t *n);
void a2m_search_trials_free(a2m_search_trial *trials, size_t n);
/* An existing study read whole and closed again (what --show and plot search need): its info and every trial. */
int a2m_study_read(const char *target, const char *name, a2m_study_info *info, a2m_search_trial **trials, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
