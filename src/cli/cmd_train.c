#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/train.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"

static const char *usage =
    "usage: a2m train DATASET --split SPLIT.json -o MODEL.safetensors [options]\n"
    "Trains on the split's \"train\" takes, validates on \"val\" every epoch, keeps the best epoch.\n";

/* The CLI's own defaults, where the library's params have none: a transformer's dropout (the original's), the
 * distillation weight with --teacher and the focal loss's gamma with --loss focal */
static const double transformer_dropout = 0.1, teacher_distill = 0.5, focal_gamma = 2;

typedef struct progress_ctx {
    cli_progress *bar;
    int tty;
} progress_ctx;

static int on_progress(void *user, const a2m_train_epoch *e) {
    progress_ctx *c = user;
    char extra[160];
    if (!e->done) {
        if (!c->tty) return 0;
        if (!c->bar) c->bar = cli_progress_new("epoch", e->n_batches);
        snprintf(extra, sizeof extra, "epoch %d/%d loss %.4f", e->epoch, e->epochs, e->train_loss);
        cli_progress_update(c->bar, e->batch, extra);
        return 0;
    }
    if (c->bar) {
        cli_progress_done(c->bar, NULL);
        c->bar = NULL;
    }
    fprintf(stderr, "epoch %3d/%d  train %.4f  val %.4f  acc %.4f  f1 %.4f  lr %.3g  %.1fs%s\n", e->epoch, e->epochs,
            e->train_loss, e->val_loss, e->val_accuracy, e->val_f1_macro, e->lr, e->seconds,
            e->best_epoch == e->epoch ? "  *best" : "");
    return 0;
}

/* Distillation's targets from --teacher M1[,M2...] (a2m_train_teacher_targets). */
static int teacher_targets(const char *list, const a2m_dataset *d, int threads, float **out) {
    char paths[4096], *save = NULL;
    const char *tok[64];
    int n = 0;
    snprintf(paths, sizeof paths, "%s", list);
    for (char *t = strtok_r(paths, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (n < 64) tok[n++] = t;
        else return a2m_error(A2M_ERR_ARG, "--teacher: more than 64 models");
    int rc = a2m_train_teacher_targets(d, tok, n, threads, out);
    if (!rc) fprintf(stderr, "a2m train: distilling from %d teacher%s\n", n, n == 1 ? "" : "s");
    return rc;
}

/* The model, log and checkpoint: none may be an input; existing ones need --force (the log and checkpoint
 * of a --resume are continued); a folder that is not there is said now (cli_check_output), not after the first
 * epoch. */
static int check_outputs(const char *cmd, const char *out, const char *log, const char *ckpt, const char *ds,
                         const char *split, int force, int resume) {
    char f[3][4200];
    const char *files[] = {"features.npy", "labels.npy", "index.json"};
    for (int i = 0; i < 3; i++) snprintf(f[i], sizeof f[i], "%s/%s", ds, files[i]);
    const char *ins[] = {ds, split, f[0], f[1], f[2]};
    int rc = cli_check_output(cmd, &out, ins, 5, force, 0);
    if (!rc && log) rc = cli_check_output(cmd, &log, ins, 5, force || resume, 0);
    if (!rc) rc = cli_check_output(cmd, &ckpt, ins, 5, force || resume, 0);
    return rc;
}

/* --augment-mask T,F */
static int parse_mask(const char *cmd, const char *name, const char *v, void *dst) {
    a2m_train_params *p = dst;
    int t, f;
    char tail;
    if (sscanf(v, "%d,%d%c", &t, &f, &tail) != 2 || t < 0 || f < 0 || t > 100000 || f > 10000)
        return cli_usage_error(cmd, "%s takes FRAMES,BINS (e.g. 40,24), got '%s'", name, v), 0;
    p->augment_mask_frames = t, p->augment_mask_bins = f;
    return 1;
}

static int show_mask(const void *v, char *buf, size_t n) {
    const a2m_train_params *p = v;
    return snprintf(buf, n, "%d,%d", p->augment_mask_frames, p->augment_mask_bins), 1;
}

/* -1: the library's per-architecture default (a2m_train), but the transformer's, which the CLI sets */
static int show_dropout(const void *v, char *buf, size_t n) {
    double d = *(const double *)v;
    if (d < 0) return snprintf(buf, n, "the architecture's; the transformer %g", transformer_dropout), 1;
    return snprintf(buf, n, "%g; the transformer %g", d, transformer_dropout), 1;
}

static int show_gamma(const void *v, char *buf, size_t n) {
    return snprintf(buf, n, "%g; with --loss focal %g", *(const double *)v, focal_gamma), 1;
}

typedef struct train_args {
    const char *ds, *split, *out, *ckpt, *train_on, *val_on, *teachers, *init;
    int force, arch_set, hidden_set;
    int loss;                                          /* --loss: 0 ce, 1 focal */
    int distill_set, dropout_set, gamma_set, loss_set; /* given: the defaults that follow other options stand back */
} train_args;

/* The positional argument and the required options, then the defaults that follow other options (--teacher's
 * distillation weight, the transformer's dropout, focal's gamma) into p: -1, or 2 after a usage error. */
static int follow_options(int n_pos, char **argv, a2m_train_params *p, train_args *a) {
    const char *cmd = argv[0];
    if (n_pos > 1) return cli_usage_error(cmd, "one dataset expected");
    a->ds = n_pos ? argv[1] : NULL;
    if (!a->ds || !a->split || !a->out) return cli_usage_error(cmd, "needs DATASET, --split SPLIT.json and -o MODEL");
    if (a->distill_set && !a->teachers) return cli_usage_error(cmd, "--distill needs --teacher");
    if (a->teachers && !a->distill_set) p->distill = teacher_distill;
    if (!a->dropout_set && !strcmp(p->arch, "transformer")) p->dropout = transformer_dropout;
    if (a->loss_set && a->loss == 0) p->focal_gamma = 0; /* ce */
    else if (a->loss_set && !a->gamma_set && p->focal_gamma == 0) p->focal_gamma = focal_gamma;
    return -1;
}

/* The options into p and a (the library's defaults where not given): -1, or the exit code. Most of it is train's
 * option table, one row per option, which reads best whole: over 80 lines for that reason. */
static int parse_args(int argc, char **argv, a2m_train_params *p, train_args *a) {
    a->loss = p->focal_gamma > 0;
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &a->out), .meta = "MODEL", .help = "the trained model (.safetensors)"},
        {CLI_STR_OPT("--split", &a->split), .meta = "SPLIT.json", .help = "the split file (names of takes per split)"},
        {CLI_STR_OPT("--model", &p->arch), .meta = "ARCH", .given = &a->arch_set,
         .help = "architecture: crnn, unet (U-Net over time + BiLSTM), transformer (the\n"
                 "original's AudioTransNet: conv embedding, 3 encoder layers, 4 heads) or\n"
                 "two-stage (a voicing crnn, silence or sung, then a pitch crnn on the sung frames) or\n"
                 "harmonic (harmonic stacking and a convolution shared along frequency, then a crnn)"},
        {CLI_INT_OPT("--hidden", &p->hidden, 1, 4096), .meta = "N", .given = &a->hidden_set,
         .help = "LSTM hidden size; the transformer's d_model, a multiple of 8"},
        {CLI_DBL_OPT("--dropout", &p->dropout, 0, 0.95), .meta = "P", .given = &a->dropout_set, .show = show_dropout,
         .help = "dropout: unet before the output layer (0.25); crnn and two-stage before the output\n"
                 "layer, none by default (what `--mc-dropout` of eval/transcribe samples); the\n"
                 "transformer everywhere"},
        {CLI_DBL_OPT("--lr", &p->lr, 1e-9, 10), .meta = "X", .help = "learning rate"},
        {CLI_INT_OPT("--batch", &p->batch, 1, 64), .meta = "N", .help = "batch size"},
        {CLI_INT_OPT("--epochs", &p->epochs, 1, 100000), .meta = "N", .help = "maximum epochs"},
        {CLI_ULL_OPT("--seed", &p->seed, 0, 2147483647), .meta = "N", .help = "seed of initialisation and shuffling"},
        {CLI_DBL_OPT("--class-weight-power", &p->class_weight_power, 0, 4), .meta = "X",
         .help = "class weights (N/(C*count))^X; 0 = plain cross-entropy"},
        {CLI_CHOICE_OPT("--loss", &a->loss, "ce|focal"), .given = &a->loss_set, .help = "loss: cross-entropy or focal"},
        {CLI_DBL_OPT("--gamma", &p->focal_gamma, 0, 10), .meta = "X", .given = &a->gamma_set, .show = show_gamma,
         .help = "focal gamma"},
        {CLI_INT_OPT("--patience", &p->patience, 1, 100000), .meta = "N", .help = "early stopping patience in epochs"},
        {CLI_INT_OPT("--plateau", &p->plateau, 0, 100000), .meta = "N",
         .help = "ReduceLROnPlateau patience on val loss, factor 0.5"},
        {CLI_CHOICE_OPT("--lr-schedule", &p->lr_cosine, "plateau|cosine"),
         .help = "the step size: ReduceLROnPlateau (--plateau), or cosine annealing from --lr to 0 over the --epochs, "
                 "every batch"},
        {CLI_CHOICE_OPT("--select", &p->select_by_loss, "f1|loss"), .help = "best epoch by val macro F1 or val loss"},
        {CLI_DBL_OPT("--weight-decay", &p->weight_decay, 0, 1), .meta = "X",
         .help = "L2 (Adam) or, with --adamw, decoupled weight decay"},
        {CLI_FLAG_OPT("--adamw", &p->adamw), .help = "AdamW: decoupled weight decay"},
        {CLI_DBL_OPT("--clip", &p->clip_norm, 0, 1e6), .meta = "X", .help = "gradient-norm clipping (0 = none)"},
        {CLI_INT_OPT("--window", &p->window, 0, 10000000), .meta = "FRAMES",
         .help = "train on windows of this many frames (0 = whole takes)"},
        {CLI_DBL_OPT("--augment-gain", &p->augment_gain_db, 0, 60), .meta = "DB",
         .help = "random loudness change per sample, +-DB (0 = off)"},
        {CLI_INT_OPT("--augment-shift", &p->augment_shift_bins, 0, 12), .meta = "BINS",
         .help = "random pitch shift per sample, +-BINS CQT bins (0 = off)"},
        {CLI_DBL_OPT("--onset-weight", &p->onset_weight, 0.01, 100), .meta = "W",
         .help = "the onset class (datasets with --onset-frames) weighs W times more"},
        {CLI_FLAG_OPT("--onset-head", &p->onset_head),
         .help = "the onset class as a head of its own: a sigmoid and binary cross-entropy on a window\n"
                 "around each note start (positives weighted --onset-weight), the pitch softmax keeping\n"
                 "the note on onset frames (datasets with --onset-frames)"},
        {CLI_INT_OPT("--augment-transpose", &p->augment_transpose, 0, 48), .meta = "N",
         .help = "random transposition per sample, +-N semitones, labels moved (0 = off;\n"
                 "needs consecutive semitone classes, e.g. a dataset made with --notes 36-84)"},
        {CLI_CUSTOM_OPT("--augment-mask", p, parse_mask, show_mask), .meta = "T,F",
         .help = "SpecAugment: a time mask of up to T frames and a band of up to F bins per sample"},
        {CLI_DBL_OPT("--label-smoothing", &p->label_smoothing, 0, 0.99), .meta = "X",
         .help = "cross-entropy towards (1 - X) on the label and X / classes on every class"},
        {CLI_STR_OPT("--init", &a->init), .meta = "MODEL",
         .help = "fine-tuning: start from this model's weights and\n"
                 "normalisation (its architecture and hidden size unless --model/--hidden say otherwise)"},
        {CLI_STR_OPT("--teacher", &a->teachers), .meta = "M1[,M2...]",
         .help = "distillation: also learn the mean probabilities of these trained models"},
        {CLI_DBL_OPT("--distill", &p->distill, 0, 1), .meta = "W", .given = &a->distill_set, .def = &teacher_distill,
         .help = "weight of the teachers' probabilities in the target (with --teacher)"},
        {CLI_DBL_OPT("--ema", &p->ema, 0, 0.9999), .meta = "D",
         .help = "validate and keep a moving average of the weights, decay D (0 = off; e.g. 0.99)"},
        {CLI_INT_OPT("--concat", &p->concat, 1, 64), .meta = "N",
         .help = "each batch element is N shuffled takes (or windows) back to back"},
        {CLI_THREADS_ROW(&p->threads)},
        {CLI_CUSTOM_OPT("--precision", &p->precision, cli_opt_precision, cli_show_precision), .meta = "P",
         .help = "fp32, or bf16: the transformer's matrix products with bf16 operands and fp32 sums\n"
                 "(weights, Adam, softmax, norms, loss stay fp32; epochs ~1.5x faster). Needs a CPU with\n"
                 "avx512_bf16, else a note and fp32; other models train in fp32"},
        {CLI_STR_OPT("--log", &p->log_path), .meta = "LOG.csv",
         .help = "per-epoch log: epoch,train_loss,val_loss,val_accuracy,val_f1_macro,lr,seconds"},
        {CLI_STR_OPT("--checkpoint", &a->ckpt), .meta = "CKPT",
         .help = "checkpoint written every epoch (default MODEL.ckpt)"},
        {CLI_FLAG_OPT("--force", &a->force),
         .help = "replace an existing model, log or checkpoint (--resume reuses the last two)"},
        {CLI_FLAG_OPT("--resume", &p->resume), .help = "continue from the checkpoint"},
        {CLI_STR_OPT("--train-on", &a->train_on), .meta = "LIST", .help = "splits to train on, comma-separated"},
        {CLI_STR_OPT("--val-on", &a->val_on), .meta = "NAME", .help = "the split to validate on, or none"},
        {.name = NULL}};
    const cli_spec spec = {"train", usage, {{NULL, opts}}, NULL};
    int n_pos, rc = cli_parse(argc, argv, &spec, &n_pos);
    if (rc >= 0) return rc;
    return follow_options(n_pos, argv, p, a);
}

/* --init MODEL: the model fine-tuning starts from; its architecture and hidden size unless given. */
static int load_init(const char *path, const train_args *a, a2m_train_params *p, a2m_model **out) {
    int rc = a2m_model_load(path, NULL, out);
    if (!rc) rc = a2m_model_check_for_audio(*out, path);
    if (rc) return rc;
    const a2m_model_info *info = a2m_model_get_info(*out);
    if (!a->arch_set) p->arch = info->arch;
    if (!a->hidden_set) p->hidden = info->hidden;
    p->init = *out;
    fprintf(stderr, "a2m train: starting from %s\n", path);
    return A2M_OK;
}

int cmd_train(int argc, char **argv) {
    a2m_train_params p = a2m_train_default_params();
    train_args a = {.train_on = "train", .val_on = "val"};
    int rc = parse_args(argc, argv, &p, &a);
    if (rc >= 0) return rc;
    const char *ds = a.ds, *split = a.split, *out = a.out, *ckpt = a.ckpt, *train_on = a.train_on, *val_on = a.val_on;
    const char *teachers = a.teachers;
    int force = a.force;
    char ckpt_default[4096];
    if (!ckpt) {
        snprintf(ckpt_default, sizeof ckpt_default, "%s.ckpt", out);
        ckpt = ckpt_default;
    }
    p.checkpoint_path = ckpt;
    if (p.resume && !force && !a2m_path_exists(ckpt) && a2m_path_exists(out)) /* it once restarted at epoch 1 */
        return cli_fail("%s: --resume, but no checkpoint %s: already finished? use --force to start over", out, ckpt);
    if ((rc = check_outputs(argv[0], out, p.log_path, ckpt, ds, split, force, p.resume))) return rc;
    a2m_dataset d;
    rc = a2m_dataset_load_threads(ds, p.threads, &d);
    if (rc) return cli_lib_fail(rc);
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0;
    char names[256];
    snprintf(names, sizeof names, "%s", train_on);
    char *save = NULL;
    for (char *tok = strtok_r(names, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        size_t *part = NULL, np = 0;
        rc = a2m_split_load(split, tok, &d, &part, &np);
        size_t *grown = rc ? NULL : realloc(tr, (ntr + np + 1) * sizeof *tr);
        if (!rc && !grown) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
        if (!rc) memcpy(grown + ntr, part, np * sizeof *part), tr = grown, ntr += np;
        free(part);
    }
    if (!rc && strcmp(val_on, "none") != 0) rc = a2m_split_load(split, val_on, &d, &va, &nva);
    if (rc) {
        a2m_dataset_free(&d);
        free(tr);
        return cli_lib_fail(rc);
    }
    float *soft = NULL;
    a2m_model *init = NULL;
    if (teachers) rc = teacher_targets(teachers, &d, p.threads, &soft);
    if (!rc && a.init) rc = load_init(a.init, &a, &p, &init);
    if (!rc && a.init) rc = a2m_train_check_init(&d, &p, a.init);
    if (rc) {
        a2m_model_del(init);
        a2m_dataset_free(&d);
        free(tr), free(va), free(soft);
        return cli_lib_fail(rc);
    }
    p.soft_targets = soft;
    fprintf(stderr, "a2m train: %zu train take%s, %zu val take%s, %s hidden %d, %d thread%s%s\n", ntr, cli_s(ntr), nva,
            cli_s(nva), p.arch, p.hidden, p.threads, cli_s((size_t)p.threads),
            p.precision == A2M_PRECISION_BF16 && a2m_precision_available(p.precision) && !strcmp(p.arch, "transformer")
                ? ", bf16 products"
                : "");
    progress_ctx pc = {NULL, isatty(fileno(stderr))};
    a2m_model *m = NULL;
    a2m_train_result res;
    rc = a2m_train(&d, tr, ntr, va, nva, p, on_progress, &pc, &m, &res);
    if (pc.bar) cli_progress_done(pc.bar, NULL);
    if (!rc) rc = a2m_model_save(m, out);
    if (!rc) {
        printf("%s: best epoch %d of %d, val accuracy %.4f, val macro F1 %.4f, %.2f s/epoch\n", out, res.best_epoch,
               res.epochs_run, res.best_val_accuracy, res.best_val_f1, res.seconds_per_epoch);
        struct stat st; /* the finished model supersedes the checkpoint; a device, FIFO or link given as one stays */
        if (lstat(ckpt, &st) == 0 && S_ISREG(st.st_mode)) unlink(ckpt);
    }
    a2m_model_del(m), a2m_model_del(init);
    a2m_dataset_free(&d);
    free(tr), free(va), free(soft);
    return rc ? cli_lib_fail(rc) : 0;
}
