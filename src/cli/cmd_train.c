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

static const char *usage =
    "usage: a2m train DATASET --split SPLIT.json -o MODEL.safetensors [options]\n"
    "Trains on the split's \"train\" takes, validates on \"val\" every epoch, keeps the best epoch.\n\n"
    "options:\n"
    "  --model ARCH               architecture: crnn, unet (U-Net over time + BiLSTM), transformer (the\n"
    "                             original's AudioTransNet: conv embedding, 3 encoder layers, 4 heads) or\n"
    "                             two-stage (a voicing crnn, silence or sung, then a pitch crnn on the sung\n"
    "                             frames) (crnn)\n"
    "  --hidden N                 LSTM hidden size; the transformer's d_model, a multiple of 8 (128)\n"
    "  --dropout P                dropout: unet before the output layer (0.25); transformer everywhere (0.1);\n"
    "                             crnn and two-stage before the output layer, none by default (what\n"
    "                             `--mc-dropout` of eval/transcribe samples)\n"
    "  --lr X                     learning rate (9.34e-4)\n"
    "  --batch N                  batch size (8)\n"
    "  --epochs N                 maximum epochs (50)\n"
    "  --seed N                   seed of initialisation and shuffling (0)\n"
    "  --class-weight-power X     class weights (N/(C*count))^X; 0 = plain cross-entropy (0.75)\n"
    "  --loss ce|focal            loss (ce); --gamma X focal gamma (2)\n"
    "  --patience N               early stopping patience in epochs (15)\n"
    "  --plateau N                ReduceLROnPlateau patience on val loss, factor 0.5 (5)\n"
    "  --select f1|loss           best epoch by val macro F1 or val loss (f1)\n"
    "  --weight-decay X --adamw   L2 (Adam) or decoupled (AdamW) weight decay (0)\n"
    "  --clip X                   gradient-norm clipping (0 = none)\n"
    "  --window FRAMES            train on windows of this many frames (0 = whole takes)\n"
    "  --augment-gain DB          random loudness change per sample, +-DB (0 = off)\n"
    "  --augment-shift BINS       random pitch shift per sample, +-BINS CQT bins (0 = off)\n"
    "  --onset-weight W           the onset class (datasets with --onset-frames) weighs W times more (1)\n"
    "  --augment-transpose N      random transposition per sample, +-N semitones, labels moved (0 = off;\n"
    "                             needs consecutive semitone classes, e.g. a dataset made with --notes 36-84)\n"
    "  --augment-mask T,F         SpecAugment: a time mask of up to T frames and a band of up to F bins per sample\n"
    "  --label-smoothing X        cross-entropy towards (1 - X) on the label and X / classes on every class (0)\n"
    "  --teacher M1[,M2...]       distillation: also learn the mean probabilities of these trained models\n"
    "  --distill W                weight of the teachers' probabilities in the target (0.5 with --teacher)\n"
    "  --ema D                    validate and keep a moving average of the weights, decay D (0 = off; e.g. 0.99)\n"
    "  --concat N                 each batch element is N shuffled takes (or windows) back to back (1)\n"
    "  --threads N                threads (1)\n"
    "  --log LOG.csv              per-epoch log: epoch,train_loss,val_loss,val_accuracy,val_f1_macro,lr,seconds\n"
    "  --checkpoint CKPT          checkpoint written every epoch (default MODEL.ckpt)\n"
    "  --force                    replace an existing model, log or checkpoint (--resume reuses the last two)\n"
    "  --resume                   continue from the checkpoint\n"
    "  --train-on LIST            splits to train on, comma-separated (train); --val-on NAME (val, or none)\n";

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

/* The mean class probabilities of the teacher models (comma-separated paths) for every frame of d. */
static int teacher_targets(const char *list, const a2m_dataset *d, int threads, float **out) {
    *out = NULL;
    size_t *all = malloc((d->n_takes + 1) * sizeof *all);
    int64_t *pred = malloc((d->total_frames + 1) * sizeof *pred);
    float *probs = NULL, *sum = NULL;
    int rc = all && pred ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < d->n_takes; i++) all[i] = i;
    char paths[4096];
    snprintf(paths, sizeof paths, "%s", list);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(paths, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save), n++) {
        a2m_model *t;
        if ((rc = a2m_model_load(tok, NULL, &t))) break;
        const a2m_model_info *ti = a2m_model_get_info(t);
        int C = d->labels_p.n_notes + 1;
        if (ti->n_bins != d->n_bins || ti->n_classes != C)
            rc = a2m_error(A2M_ERR_SHAPE, "%s: teacher has %d bins and %d classes, the dataset %d and %d", tok,
                           ti->n_bins, ti->n_classes, d->n_bins, C);
        if (!rc) rc = a2m_model_check_features(t, d->cqt, d->feat, tok);
        size_t count = d->total_frames * (size_t)C;
        if (!rc && !sum) {
            sum = calloc(count + 1, sizeof *sum), probs = malloc((count + 1) * sizeof *probs);
            if (!sum || !probs) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
        }
        if (!rc) rc = a2m_model_predict_takes(t, d, all, d->n_takes, threads, pred, probs);
        if (rc) a2m_error_prefix(rc, tok);
        for (size_t k = 0; !rc && k < count; k++) sum[k] += probs[k];
        a2m_model_del(t);
    }
    if (!rc && n == 0) rc = a2m_error(A2M_ERR_ARG, "--teacher: no model given");
    for (size_t k = 0; !rc && k < d->total_frames * (size_t)(d->labels_p.n_notes + 1); k++) sum[k] /= (float)n;
    free(all), free(pred), free(probs);
    if (rc) free(sum);
    else *out = sum, fprintf(stderr, "a2m train: distilling from %d teacher%s\n", n, n == 1 ? "" : "s");
    return rc;
}

#define NUM_OPT(flag, parse) \
    else if ((r = cli_opt(argc, argv, &i, flag, &v))) { if (r < 0 || !(parse)) return 2; }

/* The model, log and checkpoint: none may be an input; existing ones need --force (the log and checkpoint
 * of a --resume are continued). */
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

int cmd_train(int argc, char **argv) {
    const char *ds = NULL, *split = NULL, *out = NULL, *v, *ckpt = NULL, *train_on = "train", *val_on = "val";
    const char *teachers = NULL;
    int distill_set = 0, force = 0, dropout_set = 0;
    a2m_train_params p = a2m_train_default_params();
    int seed = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if ((r = cli_opt(argc, argv, &i, "-o", &v))) { if (r < 0) return 2; out = v; }
        else if ((r = cli_opt(argc, argv, &i, "--split", &v))) { if (r < 0) return 2; split = v; }
        else if ((r = cli_opt(argc, argv, &i, "--model", &v))) { if (r < 0) return 2; p.arch = v; }
        else if ((r = cli_opt(argc, argv, &i, "--log", &v))) { if (r < 0) return 2; p.log_path = v; }
        else if ((r = cli_opt(argc, argv, &i, "--train-on", &v))) { if (r < 0) return 2; train_on = v; }
        else if ((r = cli_opt(argc, argv, &i, "--val-on", &v))) { if (r < 0) return 2; val_on = v; }
        else if ((r = cli_opt(argc, argv, &i, "--checkpoint", &v))) { if (r < 0) return 2; ckpt = v; }
        else if ((r = cli_opt(argc, argv, &i, "--teacher", &v))) { if (r < 0) return 2; teachers = v; }
        else if ((r = cli_opt(argc, argv, &i, "--distill", &v))) {
            if (r < 0 || !cli_parse_double(argv[0], "--distill", v, 0, 1, &p.distill)) return 2;
            distill_set = 1;
        }
        else if ((r = cli_opt(argc, argv, &i, "--loss", &v))) {
            if (r < 0) return 2;
            if (!strcmp(v, "focal")) { if (p.focal_gamma == 0) p.focal_gamma = 2; }
            else if (!strcmp(v, "ce")) p.focal_gamma = 0;
            else return cli_usage_error(argv[0], "--loss is ce or focal");
        } else if ((r = cli_opt(argc, argv, &i, "--select", &v))) {
            if (r < 0) return 2;
            if (!strcmp(v, "loss")) p.select_by_loss = 1;
            else if (!strcmp(v, "f1")) p.select_by_loss = 0;
            else return cli_usage_error(argv[0], "--select is f1 or loss");
        }
        NUM_OPT("--hidden", cli_parse_int(argv[0], "--hidden", v, 1, 4096, &p.hidden))
        NUM_OPT("--lr", cli_parse_double(argv[0], "--lr", v, 1e-9, 10, &p.lr))
        else if ((r = cli_opt(argc, argv, &i, "--dropout", &v))) {
            if (r < 0 || !cli_parse_double(argv[0], "--dropout", v, 0, 0.95, &p.dropout)) return 2;
            dropout_set = 1;
        }
        NUM_OPT("--batch", cli_parse_int(argv[0], "--batch", v, 1, 64, &p.batch))
        NUM_OPT("--epochs", cli_parse_int(argv[0], "--epochs", v, 1, 100000, &p.epochs))
        NUM_OPT("--seed", cli_parse_int(argv[0], "--seed", v, 0, 2147483647, &seed))
        NUM_OPT("--class-weight-power", cli_parse_double(argv[0], "--class-weight-power", v, 0, 4, &p.class_weight_power))
        NUM_OPT("--onset-weight", cli_parse_double(argv[0], "--onset-weight", v, 0.01, 100, &p.onset_weight))
        NUM_OPT("--gamma", cli_parse_double(argv[0], "--gamma", v, 0, 10, &p.focal_gamma))
        NUM_OPT("--patience", cli_parse_int(argv[0], "--patience", v, 1, 100000, &p.patience))
        NUM_OPT("--plateau", cli_parse_int(argv[0], "--plateau", v, 0, 100000, &p.plateau))
        NUM_OPT("--weight-decay", cli_parse_double(argv[0], "--weight-decay", v, 0, 1, &p.weight_decay))
        NUM_OPT("--clip", cli_parse_double(argv[0], "--clip", v, 0, 1e6, &p.clip_norm))
        NUM_OPT("--augment-gain", cli_parse_double(argv[0], "--augment-gain", v, 0, 60, &p.augment_gain_db))
        NUM_OPT("--augment-shift", cli_parse_int(argv[0], "--augment-shift", v, 0, 12, &p.augment_shift_bins))
        NUM_OPT("--augment-transpose", cli_parse_int(argv[0], "--augment-transpose", v, 0, 48, &p.augment_transpose))
        else if ((r = cli_opt(argc, argv, &i, "--augment-mask", &v))) {
            if (r < 0 || sscanf(v, "%d,%d", &p.augment_mask_frames, &p.augment_mask_bins) != 2 ||
                p.augment_mask_frames < 0 || p.augment_mask_bins < 0 || p.augment_mask_frames > 100000 || p.augment_mask_bins > 10000)
                return cli_usage_error(argv[0], "--augment-mask takes FRAMES,BINS (e.g. 40,24), got '%s'", v ? v : "");
        }
        NUM_OPT("--label-smoothing", cli_parse_double(argv[0], "--label-smoothing", v, 0, 0.99, &p.label_smoothing))
        NUM_OPT("--ema", cli_parse_double(argv[0], "--ema", v, 0, 0.9999, &p.ema))
        NUM_OPT("--concat", cli_parse_int(argv[0], "--concat", v, 1, 64, &p.concat))
        NUM_OPT("--window", cli_parse_int(argv[0], "--window", v, 0, 10000000, &p.window))
        NUM_OPT("--threads", cli_parse_int(argv[0], "--threads", v, 1, 256, &p.threads))
        else if (!strcmp(argv[i], "--adamw")) p.adamw = 1;
        else if (!strcmp(argv[i], "--resume")) p.resume = 1;
        else if (!strcmp(argv[i], "--force")) force = 1;
        else if (argv[i][0] == '-') return cli_usage_error(argv[0], "unknown option %s", argv[i]);
        else if (!ds) ds = argv[i];
        else return cli_usage_error(argv[0], "one dataset expected");
    }
    if (!ds || !split || !out) return cli_usage_error(argv[0], "needs DATASET, --split SPLIT.json and -o MODEL");
    if (distill_set && !teachers) return cli_usage_error(argv[0], "--distill needs --teacher");
    if (teachers && !distill_set) p.distill = 0.5;
    if (!dropout_set && !strcmp(p.arch, "transformer")) p.dropout = 0.1; /* the original's */
    p.seed = (unsigned long long)seed;
    int rc;
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
    rc = a2m_dataset_load(ds, &d);
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
    if (teachers && (rc = teacher_targets(teachers, &d, p.threads, &soft))) {
        a2m_dataset_free(&d);
        free(tr), free(va);
        return cli_lib_fail(rc);
    }
    p.soft_targets = soft;
    fprintf(stderr, "a2m train: %zu train take%s, %zu val take%s, %s hidden %d, %d thread%s\n", ntr, cli_s(ntr), nva,
            cli_s(nva), p.arch, p.hidden, p.threads, cli_s((size_t)p.threads));
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
    a2m_model_del(m);
    a2m_dataset_free(&d);
    free(tr), free(va), free(soft);
    return rc ? cli_lib_fail(rc) : 0;
}
