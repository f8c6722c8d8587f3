/* Mini-batch training with validation, early stopping, ReduceLROnPlateau,
 * best-epoch weights, CSV log and atomic per-epoch checkpoints. */
#include "a2m/train.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/metrics.h"
#include "a2m/uncertainty.h"
#include "core/grow.h"
#include "nn/arch.h"
#include "nn/layers.h"
#include "nn/safetensors.h"
#include "train/onset.h"
#include "train/transpose.h"

a2m_train_params a2m_train_default_params(void) {
    a2m_train_params p;
    memset(&p, 0, sizeof p);
    p.arch = "crnn";
    p.hidden = 128;
    p.lr = 9.34e-4;
    p.batch = 8;
    p.epochs = 50;
    p.class_weight_power = 0.75;
    p.onset_weight = 1;
    p.patience = 15;
    p.plateau = 5;
    p.plateau_factor = 0.5;
    p.threads = 1;
    p.dropout = -1; /* the architecture's default: unet and transformer 0.25 (the CLI gives the transformer the
                     * original's 0.1), crnn and two-stage none */
    p.concat = 1;
    return p;
}

typedef struct sample {
    size_t take, start;
    int len;
} sample;

/* Buffers for one batch shape [B x T]. */
typedef struct batch_buf {
    nn_buffers nn;
    float *x, *logits, *dlogits;
    float *soft;            /* [B x T x C] distillation targets, or NULL */
    float *onset;           /* [B x T] onset-head targets (0 where onset_src is NULL) */
    const float *onset_src; /* [total_frames] the dataset's onset-head targets, or NULL */
    int64_t *labels;
    int *lengths;
    int *seg; /* [B x T] first frame of each frame's take (concatenated takes) */
    int B, T;
    unsigned long long mc_seed; /* Monte-Carlo dropout (nn.mc): masks of the batch at take i0 from mc_seed + i0 */
} batch_buf;

static void batch_free(batch_buf *b) {
    free(b->nn.acts), free(b->nn.scratch), free(b->x), free(b->logits), free(b->dlogits), free(b->labels),
        free(b->lengths);
    free(b->seg);
    free(b->soft), free(b->onset);
    memset(b, 0, sizeof *b);
}

static int batch_alloc(batch_buf *b, const a2m_model *m, int B, int T, int with_backward, int with_soft) {
    memset(b, 0, sizeof *b);
    size_t BT = (size_t)B * T;
    b->B = B, b->T = T;
    b->nn.acts = malloc(m->arch->act_floats(m, B, T) * sizeof(float));
    b->nn.scratch = with_backward ? malloc(m->arch->scratch_floats(m, B, T) * sizeof(float)) : NULL;
    b->x = malloc(BT * m->info.n_bins * sizeof(float));
    b->logits = malloc(BT * m->info.n_classes * sizeof(float));
    b->dlogits = malloc(BT * m->info.n_classes * sizeof(float));
    b->labels = malloc(BT * sizeof(int64_t));
    b->lengths = malloc((size_t)B * sizeof(int));
    b->seg = malloc(BT * sizeof(int));
    b->onset = calloc(BT, sizeof(float));
    b->soft = with_soft ? malloc(BT * m->info.n_classes * sizeof(float)) : NULL;
    if (!b->nn.acts || (with_backward && !b->nn.scratch) || !b->x || !b->logits || !b->dlogits || !b->labels ||
        !b->lengths || !b->seg || !b->onset || (with_soft && !b->soft)) {
        batch_free(b);
        return a2m_error(A2M_ERR_NOMEM, "training: out of memory for batch %dx%d", B, T);
    }
    return A2M_OK;
}

/* Fills x (normalised, zero padded), labels (-1 on padding) and lengths; returns T used. */
/* Training-time augmentation of one sample in place, in the dB domain before
 * normalisation: a loudness change (dB offset, floored like the CQT's
 * 80 dB range) and a small pitch/tuning shift (whole bins, edge repeated). */
static void augment(float *x, int len, int F, double gain_db, int shift) {
    float g = (float)gain_db;
    for (size_t k = 0; k < (size_t)len * F; k++) x[k] += g;
    if (!shift) return;
    for (int t = 0; t < len; t++) {
        float *row = x + (size_t)t * F;
        if (shift > 0) {
            for (int k = F - 1; k >= shift; k--) row[k] = row[k - shift];
        } else {
            for (int k = 0; k < F + shift; k++) row[k] = row[k - shift];
        }
    }
}

/* Pitch classes 1..n_notes of a label map, when they are consecutive semitones (else 0): what transposition needs. */
static int semitone_classes(const a2m_label_params *lp) {
    for (int k = 1; k < lp->n_notes; k++)
        if (lp->notes[k] != lp->notes[k - 1] + 1) return 0;
    return lp->n_notes;
}

/* Fills x (normalised, zero padded), labels (-1 on padding) and lengths from nb batch elements, element i
 * being samples s[i*group .. i*group+group) back to back (the last element may have fewer: n_s in all);
 * returns the T used. */
/* SpecAugment-style masking of one normalised sample in place: one run of up to max_t frames and one band of
 * up to max_f bins set to 0 (the dataset mean), lengths and positions uniform; labels are kept, so the
 * network learns to bridge what it cannot see from context. */
static void mask_sample(float *x, int len, int F, int max_t, int max_f, nn_rng *rng) {
    if (max_t > 0 && len > 0) {
        int w = (int)(nn_rng_next(rng) % (unsigned long long)(max_t + 1)),
            t0 = (int)(nn_rng_next(rng) % (unsigned long long)len);
        for (int t = t0; t < t0 + w && t < len; t++) memset(x + (size_t)t * F, 0, (size_t)F * sizeof *x);
    }
    if (max_f > 0) {
        int w = (int)(nn_rng_next(rng) % (unsigned long long)(max_f + 1)),
            f0 = (int)(nn_rng_next(rng) % (unsigned long long)F);
        for (int t = 0; t < len; t++)
            for (int f = f0; f < f0 + w && f < F; f++) x[(size_t)t * F + f] = 0.0f;
    }
}

/* soft: distillation targets of the dataset's frames [total_frames x C] (copied when the batch has room), or NULL */
static int fill_batch_grouped(batch_buf *b, const a2m_dataset *d, const sample *s, int nb, int group, size_t n_s,
                              double mean, double std, const float *soft, int C) {
    int T = 0, F = d->n_bins;
    for (int i = 0; i < nb; i++) {
        int len = 0;
        for (size_t j = (size_t)i * group; j < (size_t)(i + 1) * group && j < n_s; j++) len += s[j].len;
        T = len > T ? len : T;
    }
    float inv = (float)(1.0 / std), mu = (float)mean;
    for (int i = 0; i < nb; i++) {
        float *dst = b->x + (size_t)i * T * F;
        int64_t *lab = b->labels + (size_t)i * T;
        int t0 = 0;
        for (size_t j = (size_t)i * group; j < (size_t)(i + 1) * group && j < n_s; j++) {
            const float *src = d->features + (d->offsets[s[j].take] + s[j].start) * F;
            const int64_t *sl = d->labels + d->offsets[s[j].take] + s[j].start;
            for (size_t k = 0; k < (size_t)s[j].len * F; k++) dst[(size_t)t0 * F + k] = (src[k] - mu) * inv;
            memcpy(lab + t0, sl, (size_t)s[j].len * sizeof *lab);
            if (b->onset_src)
                memcpy(b->onset + (size_t)i * T + t0, b->onset_src + d->offsets[s[j].take] + s[j].start,
                       (size_t)s[j].len * sizeof *b->onset);
            if (soft && b->soft)
                memcpy(b->soft + ((size_t)i * T + t0) * C, soft + (d->offsets[s[j].take] + s[j].start) * C,
                       (size_t)s[j].len * C * sizeof *b->soft);
            for (int t = t0; t < t0 + s[j].len; t++) b->seg[(size_t)i * T + t] = t0;
            t0 += s[j].len;
        }
        for (int t = t0; t < T; t++) b->seg[(size_t)i * T + t] = t0;
        memset(dst + (size_t)t0 * F, 0, (size_t)(T - t0) * F * sizeof *dst);
        for (int t = t0; t < T; t++) lab[t] = -1, b->onset[(size_t)i * T + t] = 0;
        b->lengths[i] = t0;
    }
    return T;
}

static int fill_batch(batch_buf *b, const a2m_dataset *d, const sample *s, int nb, double mean, double std) {
    return fill_batch_grouped(b, d, s, nb, 1, (size_t)nb, mean, std, NULL, 0);
}

/* skip: a column that is not a class of the softmax (an onset head), or -1 */
static void argmax_rows(const float *logits, int64_t *pred, size_t n, int C, int skip) {
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * C;
        int a = skip == 0 ? 1 : 0;
        if (skip < 0) a = nn_argmax(z, C);
        for (int c = a + 1; skip >= 0 && c < C; c++)
            if (c != skip && z[c] > z[a]) a = c;
        pred[i] = a;
    }
}

/* Drops the frames whose truth is masked (< 0: an onset head's note too short to have a pitch) from truth and
 * pred [n]; returns the frames kept. */
static size_t drop_masked(int64_t *truth, int64_t *pred, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (truth[i] >= 0) truth[k] = truth[i], pred[k++] = pred[i];
    return k;
}

/* Whole-take evaluation: loss, predictions for every frame of the takes. */
static int evaluate(const a2m_model *m, const float *params, const a2m_dataset *d, const size_t *idx, size_t n,
                    const float *class_w, double gamma, double onset_w, batch_buf *b, int threads, double *loss,
                    int64_t *pred, int64_t *truth, float *probs, float *logits) {
    double lsum = 0, wsum = 0;
    size_t pos = 0;
    int C = m->info.n_classes, head = m->info.onset_head ? nn_onset_class(&m->info) : -1;
    for (size_t i0 = 0; i0 < n; i0 += (size_t)b->B) {
        int nb = (int)(n - i0 < (size_t)b->B ? n - i0 : (size_t)b->B);
        sample s[64];
        for (int i = 0; i < nb; i++) {
            size_t t = idx[i0 + i];
            s[i] = (sample){t, 0, (int)(d->offsets[t + 1] - d->offsets[t])};
            if (s[i].len > b->T)
                return a2m_error(A2M_ERR_RANGE, "take %s longer than the evaluation buffer", d->names[t]);
        }
        int T = fill_batch(b, d, s, nb, m->info.norm_mean, m->info.norm_std);
        if (b->nn.mc) b->nn.seed = (b->mc_seed + i0) * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
        m->arch->forward(m, params, &b->nn, b->x, b->lengths, nb, T, b->logits, threads, 0);
        double ws;
        double l = head >= 0
                       ? softmax_onset_xent_forward_backward(NULL, b->logits, b->labels, b->onset, class_w, 0.0, head,
                                                             onset_w, 1.0, nb * T, C, &ws)
                       : softmax_xent_forward_backward(NULL, b->logits, b->labels, class_w, gamma, nb * T, C, &ws);
        lsum += l * ws, wsum += ws;
        for (int i = 0; i < nb; i++) {
            const float *z = b->logits + (size_t)i * T * C;
            if (pred) argmax_rows(z, pred + pos, (size_t)s[i].len, C, head);
            if (truth) memcpy(truth + pos, b->labels + (size_t)i * T, (size_t)s[i].len * sizeof *truth);
            if (probs) a2m_model_probs(&m->info, z, (size_t)s[i].len, probs + pos * C);
            if (logits) memcpy(logits + pos * C, z, (size_t)s[i].len * C * sizeof *logits);
            pos += (size_t)s[i].len;
        }
    }
    if (loss) *loss = wsum > 0 ? lsum / wsum : 0;
    return A2M_OK;
}

/* A batch buffer for evaluating takes idx[0..n) of d with m (8 takes a call, the longest take's length). */
static int takes_batch(const a2m_model *m, const a2m_dataset *d, const size_t *idx, size_t n, batch_buf *b) {
    int maxT = 1;
    for (size_t i = 0; i < n; i++) {
        int len = (int)(d->offsets[idx[i] + 1] - d->offsets[idx[i]]);
        maxT = len > maxT ? len : maxT;
    }
    if (d->n_bins != m->info.n_bins)
        return a2m_error(A2M_ERR_SHAPE, "dataset has %d bins, the model expects %d", d->n_bins, m->info.n_bins);
    return batch_alloc(b, m, 8, maxT, 0, 0);
}

int a2m_model_predict_takes(const a2m_model *m, const a2m_dataset *d, const size_t *idx, size_t n, int threads,
                            int64_t *pred, float *probs) {
    batch_buf b;
    int rc = takes_batch(m, d, idx, n, &b);
    if (rc) return rc;
    rc = evaluate(m, m->params, d, idx, n, NULL, 0, 1, &b, threads, NULL, pred, NULL, probs, NULL);
    batch_free(&b);
    return rc;
}

int a2m_model_logits_takes(const a2m_model *m, const a2m_dataset *d, const size_t *idx, size_t n, int threads,
                           double mc_dropout, unsigned long long seed, float *logits) {
    if (!(mc_dropout >= 0 && mc_dropout < 1))
        return a2m_error(A2M_ERR_ARG, "Monte-Carlo dropout %g outside [0, 1)", mc_dropout);
    batch_buf b;
    int rc = takes_batch(m, d, idx, n, &b);
    if (rc) return rc;
    b.nn.mc = mc_dropout > 0, b.nn.dropout = (float)mc_dropout, b.mc_seed = seed;
    rc = evaluate(m, m->params, d, idx, n, NULL, 0, 1, &b, threads, NULL, NULL, NULL, NULL, logits);
    batch_free(&b);
    return rc;
}

/* Adam over the trained tensors only: buffers (BatchNorm running statistics)
 * are left to the architecture's update_buffers. Tensors are contiguous in
 * layout order, so runs of trained tensors are single updates. */
static void optimiser_step(const a2m_model *m, const float *grads, float *am, float *av, adam_params ap, long step) {
    int i = 0;
    while (i < m->n_tensors) {
        if (m->tensors[i].buffer) {
            i++;
            continue;
        }
        size_t s = m->tensors[i].offset, e = s;
        for (; i < m->n_tensors && !m->tensors[i].buffer; i++) e = m->tensors[i].offset + m->tensors[i].count;
        adam_update(m->params + s, grads + s, am + s, av + s, e - s, ap, step);
    }
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Training state saved in checkpoints. */
typedef struct train_state {
    int epoch; /* epochs completed */
    long step;
    double lr;
    nn_rng rng;
    double best_metric, plateau_best;
    int best_epoch, bad_epochs, plateau_bad;
    char *log; /* CSV rows so far */
} train_state;

/* A row of the log kept in checkpoints (a row it could not keep was dropped silently: now A2M_ERR_NOMEM). */
static int log_append(train_state *s, const char *row) {
    size_t a = s->log ? strlen(s->log) : 0, b = strlen(row);
    char *n = realloc(s->log, a + b + 1);
    if (!n) return a2m_error(A2M_ERR_NOMEM, "training log: out of memory");
    memcpy(n + a, row, b + 1);
    s->log = n;
    return A2M_OK;
}

static int write_log(const char *path, const char *rows) {
    a2m_atomic_file f;
    int rc = a2m_atomic_open(&f, path, 1);
    if (rc) return rc;
    fputs("epoch,train_loss,val_loss,val_accuracy,val_f1_macro,lr,seconds\n", f.fp);
    if (rows) fputs(rows, f.fp);
    return a2m_atomic_commit(&f);
}

/* The options a checkpoint's numbers depend on, "--lr=0.000934;--batch=8;...": recorded in the checkpoint, so a
 * --resume with other values is refused instead of silently keeping the checkpoint's and recording the new
 * ones in the model's summary. --epochs, --patience and --threads may change on resume. */
static void train_recipe(const a2m_train_params *p, char *buf, size_t n) {
    snprintf(buf, n,
             "--model=%s;--hidden=%d;--lr=%.17g;--batch=%d;--seed=%llu;--class-weight-power=%.17g;--gamma=%.17g;"
             "--label-smoothing=%.17g;--window=%d;--concat=%d;--weight-decay=%.17g;--adamw=%d;--clip=%.17g;"
             "--augment-gain=%.17g;--augment-shift=%d;--augment-transpose=%d;--augment-mask=%d,%d;--ema=%.17g;"
             "--distill=%.17g;--dropout=%.17g;--plateau=%d;--select=%s;--onset-weight=%.17g;",
             p->arch, p->hidden, p->lr, p->batch, p->seed, p->class_weight_power, p->focal_gamma, p->label_smoothing,
             p->window, p->concat, p->weight_decay, p->adamw, p->clip_norm, p->augment_gain_db, p->augment_shift_bins,
             p->augment_transpose, p->augment_mask_frames, p->augment_mask_bins, p->ema,
             p->soft_targets ? p->distill : 0.0, p->dropout, p->plateau, p->select_by_loss ? "loss" : "f1",
             p->onset_weight);
    size_t l = strlen(buf);
    if (p->lr_cosine) /* only when set, as below; the schedule's length is the run's, so --epochs too */
        snprintf(buf + l, n - l, "--lr-schedule=cosine;--epochs=%d;", p->epochs);
    l = strlen(buf);
    if (p->onset_head) snprintf(buf + l, n - l, "--onset-head=1;"); /* only when set: older checkpoints still resume */
    l = strlen(buf);
    if (p->precision == A2M_PRECISION_BF16) snprintf(buf + l, n - l, "--precision=bf16;");
}

/* The value of entry "key=" (kl bytes with the '=') of a recipe, up to its ';' (NULL if absent). */
static const char *recipe_value(const char *recipe, const char *key, size_t kl) {
    for (const char *e = recipe; e && *e; e = strchr(e, ';') ? strchr(e, ';') + 1 : NULL)
        if (strncmp(e, key, kl) == 0) return e + kl;
    return NULL;
}

/* A recipe value of n bytes for messages: numbers as their shortest exact form (0.000934, not
 * 0.00093400000000000004). */
static void recipe_show(const char *v, size_t n, char out[64]) {
    snprintf(out, 64, "%.*s", (int)n, v);
    char *end;
    double x = strtod(out, &end);
    for (int prec = 6; *end == '\0' && end != out && prec <= 17; prec++) {
        char b[64];
        snprintf(b, sizeof b, "%.*g", prec, x);
        if (strtod(b, NULL) == x) {
            snprintf(out, 64, "%s", b);
            break;
        }
    }
}

/* Refuses a resume whose recipe differs from the checkpoint's, listing each differing option. */
static int recipe_check(const char *path, const char *saved, const a2m_train_params *p) {
    char now[1024], diff[1024] = "";
    train_recipe(p, now, sizeof now);
    for (const char *a = now; *a;) {
        const char *eq = strchr(a, '='), *end = strchr(a, ';');
        size_t kl = (size_t)(eq - a) + 1, vl = (size_t)(end - eq) - 1;
        const char *fv = recipe_value(saved, a, kl), *fe = fv ? strchr(fv, ';') : NULL;
        if (!fe || (size_t)(fe - fv) != vl || strncmp(fv, eq + 1, vl) != 0) {
            char now_v[64], was_v[64];
            recipe_show(eq + 1, vl, now_v);
            if (fe) recipe_show(fv, (size_t)(fe - fv), was_v);
            else snprintf(was_v, sizeof was_v, "missing");
            size_t l = strlen(diff);
            snprintf(diff + l, sizeof diff - l, "%s%.*s %s (checkpoint: %s)", l ? ", " : "", (int)(kl - 1), a, now_v,
                     was_v);
        }
        a = end + 1;
    }
    if (!diff[0]) return A2M_OK;
    return a2m_error(
        A2M_ERR_ARG,
        "%s: --resume with options that differ from the checkpoint's: %s; resume with its options or start over", path,
        diff);
}

/* opt: grads | adam m | adam v | best | the weights' moving average (when with_ema) */
static int save_checkpoint(const char *path, const a2m_model *m, const float *opt, int with_ema, const train_state *s,
                           const a2m_train_params *p) {
    int64_t n = (int64_t)m->n_params;
    st_out_tensor t[5] = {{"params", 1, {n}, m->params},
                          {"adam_m", 1, {n}, opt + n},
                          {"adam_v", 1, {n}, opt + 2 * n},
                          {"best", 1, {n}, opt + 3 * n},
                          {"ema", 1, {n}, opt + 4 * n}};
    json_t *meta = json_object();
    if (!meta) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    char b[64], recipe[1024];
#define META(k, fmt, v) (snprintf(b, sizeof b, fmt, v), json_object_set_new(meta, k, json_string(b)))
    META("epoch", "%d", s->epoch);
    META("step", "%ld", s->step);
    META("lr", "%.17g", s->lr);
    META("rng", "%llu", s->rng.s);
    META("best_metric", "%.17g", s->best_metric);
    META("plateau_best", "%.17g", s->plateau_best);
    META("best_epoch", "%d", s->best_epoch);
    META("bad_epochs", "%d", s->bad_epochs);
    META("plateau_bad", "%d", s->plateau_bad);
    META("n_params", "%lld", (long long)n);
#undef META
    train_recipe(p, recipe, sizeof recipe);
    json_object_set_new(meta, "recipe", json_string(recipe));
    json_object_set_new(meta, "log", json_string(s->log ? s->log : ""));
    int rc = st_write(path, t, with_ema ? 5 : 4, meta);
    json_decref(meta);
    return rc;
}

/* Checkpoint key k as a number in [lo, hi]: missing or unparsable is an error naming the checkpoint. */
static int ck_num(const st_file *f, const char *path, const char *k, double lo, double hi, double *v) {
    const char *s = st_meta(f, k);
    char *end = NULL;
    double x = s ? strtod(s, &end) : NAN;
    if (!s || end == s || *end || isnan(x) || x < lo || x > hi)
        return a2m_error(A2M_ERR_FORMAT, "%s: checkpoint key \"%s\" is %s", path, k,
                         s ? "not a valid number" : "missing");
    *v = x;
    return A2M_OK;
}

static int load_checkpoint(const char *path, a2m_model *m, float *opt, int with_ema, train_state *s,
                           const a2m_train_params *p) {
    st_file f;
    int rc = st_read(path, &f);
    if (rc) return rc;
    const char *names[5] = {"params", "adam_m", "adam_v", "best", "ema"};
    float *dst[5] = {m->params, opt + m->n_params, opt + 2 * m->n_params, opt + 3 * m->n_params, opt + 4 * m->n_params};
    for (int i = 0; i < 4 + with_ema && !rc; i++) {
        const st_tensor *t = st_find(&f, names[i]);
        if (!t || t->count != m->n_params)
            rc = a2m_error(A2M_ERR_SHAPE, "%s: checkpoint does not fit this model", path);
        else memcpy(dst[i], t->data, t->count * sizeof(float));
    }
    const char *recipe = st_meta(&f, "recipe"), *rng = st_meta(&f, "rng"), *log = st_meta(&f, "log");
    if (!rc && recipe) rc = recipe_check(path, recipe, p); /* checkpoints of older a2m versions have none */
    double v[9];
    const char *keys[9] = {"epoch",      "step",       "lr",          "best_metric", "plateau_best",
                           "best_epoch", "bad_epochs", "plateau_bad", "n_params"};
    const double lo[9] = {0, 0, 0, -INFINITY, -INFINITY, 0, 0, 0, (double)m->n_params};
    const double hi[9] = {1e9, 1e18, 1e6, INFINITY, INFINITY, 1e9, 1e9, 1e9, (double)m->n_params};
    for (int i = 0; i < 9 && !rc; i++) rc = ck_num(&f, path, keys[i], lo[i], hi[i], &v[i]);
    char *end = NULL;
    unsigned long long r = rng ? strtoull(rng, &end, 10) : 0;
    if (!rc && (!rng || end == rng || *end))
        rc =
            a2m_error(A2M_ERR_FORMAT, "%s: checkpoint key \"rng\" is %s", path, rng ? "not a valid number" : "missing");
    if (!rc && !log) rc = a2m_error(A2M_ERR_FORMAT, "%s: checkpoint key \"log\" is missing", path);
    char *log_copy = rc ? NULL : strdup(log);
    if (!rc && !log_copy) rc = a2m_error(A2M_ERR_NOMEM, "%s: out of memory", path);
    if (!rc) {
        s->epoch = (int)v[0], s->step = (long)v[1], s->lr = v[2], s->best_metric = v[3], s->plateau_best = v[4];
        s->best_epoch = (int)v[5], s->bad_epochs = (int)v[6], s->plateau_bad = (int)v[7], s->rng.s = r;
        free(s->log);
        s->log = log_copy;
    }
    st_free(&f);
    return rc;
}

/* Everything one training run owns: the model, the optimiser's buffers, the samples, the batches and the state a
 * checkpoint keeps. The epoch loop (a2m_train) reads as llm.c's: augment; forward; zero_grad; backward; update. */
typedef struct trainer {
    const a2m_dataset *d;
    const size_t *train_idx, *val_idx;
    size_t n_train, n_val;
    a2m_train_params p;
    a2m_train_progress_fn progress;
    void *user;
    a2m_train_epoch ep; /* what progress is shown (kept across calls: a batch's keeps the last val) */
    a2m_model *m;
    size_t np;  /* parameters */
    int C;      /* classes */
    float *opt; /* grads | adam m | adam v | best | ema (when p.ema > 0): one allocation */
    float *grads, *am, *av, *best, *ema;
    const float *validated;      /* the weights validated and kept: the average (ema), or the weights */
    sample *samples, *canonical; /* this epoch's order; the order every epoch shuffles from */
    size_t n_samples;
    int maxT; /* the longest sample */
    float class_w[A2M_MAX_CLASSES];
    const float *cw;                             /* class_w, or NULL for plain cross-entropy */
    int n_pitch, bins_per_semitone, below_class; /* what transposition needs (semitone_classes, transpose_labels) */
    batch_buf tb, vb;       /* training [batch x maxT*concat], validation [batch x longest val take] */
    int vb_shared;          /* vb is tb's buffers (validation takes no longer than tb's): vb not freed */
    int64_t *vpred, *vtrue; /* [frames of the val takes] */
    a2m_dataset head_d;     /* an onset head's: the dataset with head_lab as its labels (d points here) */
    int64_t *head_lab;      /* [total frames] onset frames given their note's pitch (train_onset_head_targets) */
    float *head_tgt;        /* [total frames] the onset head's targets */
    size_t n_val_frames;
    adam_params ap;
    train_state st;
    double t_total; /* seconds of the epochs run in this call */
    int epochs_run;
    /* the best weights' validation when this call made it (not across --resume): summarise's, without a second
     * pass over the val takes (one validation a run fewer; deterministic, so the same numbers) */
    int best_known;
    double best_vloss;
    a2m_frame_metrics best_fm;
} trainer;

/* The parameters' ranges; dropout -1 becomes the architecture's default. */
static int check_params(a2m_train_params *p, size_t n_train) {
    if (n_train == 0) return a2m_error(A2M_ERR_EMPTY, "training: no training takes");
    if (p->dropout < 0 && p->dropout != -1) return a2m_error(A2M_ERR_ARG, "training: bad parameters");
    if (p->dropout == -1)
        p->dropout = p->arch && (!strcmp(p->arch, "unet") || !strcmp(p->arch, "transformer")) ? 0.25 : 0.0;
    if (p->batch <= 0 || p->batch > 64 || p->epochs <= 0 || !(p->lr > 0) || p->threads <= 0 || p->window < 0 ||
        !(p->dropout >= 0 && p->dropout < 1) || p->concat < 1 || p->concat > 64 ||
        !(p->label_smoothing >= 0 && p->label_smoothing < 1) || !(p->ema >= 0 && p->ema < 1) ||
        !(p->distill >= 0 && p->distill <= 1) || (p->distill > 0 && !p->soft_targets) ||
        !(p->onset_weight > 0 && p->onset_weight <= 100) || (p->lr_cosine != 0 && p->lr_cosine != 1))
        return a2m_error(A2M_ERR_ARG, "training: bad parameters");
    if (p->onset_head && (p->focal_gamma > 0 || p->soft_targets))
        return a2m_error(A2M_ERR_ARG, "training: an onset head combines with neither focal loss nor distillation");
    return A2M_OK;
}

/* Augmentation the dataset's features and classes allow: transposition needs semitone classes and whole
 * semitones of CQT bins; shifts and gains only make sense on CQT (gain also on mel) dB values. */
static int check_augmentation(const a2m_dataset *d, const a2m_train_params *p) {
    if (p->onset_head && d->labels_p.onset_frames <= 0)
        return a2m_error(A2M_ERR_ARG,
                         "training: an onset head needs a dataset made with --onset-frames (its note starts)");
    if (p->augment_transpose > 0 && (!semitone_classes(&d->labels_p) || d->cqt.bins_per_octave % 12))
        return a2m_error(A2M_ERR_ARG, "training: --augment-transpose needs classes of consecutive semitones "
                                      "(e.g. --notes 36-84) and a CQT with a multiple of 12 bins per octave");
    if (d->feat.kind != A2M_FEAT_CQT && (p->augment_transpose > 0 || p->augment_shift_bins > 0 ||
                                         (d->feat.kind != A2M_FEAT_MEL && p->augment_gain_db > 0)))
        return a2m_error(A2M_ERR_ARG, "training: %s features: pitch augmentation shifts CQT bins%s",
                         a2m_feat_kind_name(d->feat.kind),
                         d->feat.kind != A2M_FEAT_MEL ? " and gain adds dB to every value (CQT and mel only)"
                                                      : " (CQT only)");
    return A2M_OK;
}

/* The new model's metadata from the dataset: features, normalisation, classes (what each class means). */
static a2m_model_info model_info(const a2m_dataset *d, const a2m_train_params *p) {
    a2m_model_info info = nn_model_default_info();
    const a2m_label_params *lp = &d->labels_p;
    int C = a2m_label_n_classes(lp);
    info.n_bins = d->n_bins;
    info.n_classes = C;
    info.hidden = p->hidden;
    info.class_notes[0] = -1;
    for (int k = 0; k < lp->n_notes; k++) info.class_notes[k + 1] = lp->notes[k];
    if (lp->onset_frames > 0) info.class_notes[lp->n_notes + 1] = A2M_CLASS_ONSET;
    if (lp->range_classes) info.class_notes[C - 2] = A2M_CLASS_BELOW, info.class_notes[C - 1] = A2M_CLASS_ABOVE;
    info.transpose = lp->transpose;
    info.cqt = d->cqt;
    info.feat = d->feat;
    info.norm_mean = d->mean, info.norm_std = d->std;
    info.dropout = p->dropout;
    info.onset_head = p->onset_head != 0;
    return info;
}

/* What of p->init differs from the model training would create (architecture, hidden size, onset head, classes,
 * features), or NULL. */
static const char *init_mismatch(const a2m_model_info *m, const a2m_model_info *info, const char *arch) {
    if (strcmp(m->arch, arch)) return "architecture";
    if (m->hidden != info->hidden) return "hidden size";
    if (m->onset_head != info->onset_head) return "onset head";
    if (m->n_classes != info->n_classes ||
        memcmp(m->class_notes, info->class_notes, (size_t)m->n_classes * sizeof *m->class_notes))
        return "classes";
    if (m->n_bins != info->n_bins || m->feat.kind != info->feat.kind ||
        m->cqt.bins_per_octave != info->cqt.bins_per_octave || m->cqt.hop != info->cqt.hop ||
        m->cqt.sample_rate != info->cqt.sample_rate || m->cqt.fmin != info->cqt.fmin)
        return "features";
    return NULL;
}

int a2m_train_check_init(const a2m_dataset *d, const a2m_train_params *p, const char *path) {
    if (!p->init) return A2M_OK;
    a2m_model_info info = model_info(d, p);
    const char *what = init_mismatch(&p->init->info, &info, p->arch);
    if (what) return a2m_error(A2M_ERR_ARG, "%s: its %s differs from the dataset's and the options'", path, what);
    return A2M_OK;
}

/* The training samples: whole takes, or windows of p.window frames; canonical keeps their first order. */
static int make_samples(trainer *tr) {
    size_t cap = 0;
    for (size_t i = 0; i < tr->n_train; i++) {
        size_t t = tr->train_idx[i], len = tr->d->offsets[t + 1] - tr->d->offsets[t];
        size_t w = tr->p.window > 0 ? (size_t)tr->p.window : len;
        for (size_t s0 = 0; s0 < len; s0 += w) {
            if (a2m_grow(&tr->samples, &cap, tr->n_samples + 1, sizeof *tr->samples, 256))
                return a2m_error(A2M_ERR_NOMEM, "training: out of memory");
            int l = (int)(len - s0 < w ? len - s0 : w);
            tr->samples[tr->n_samples++] = (sample){t, s0, l};
            tr->maxT = l > tr->maxT ? l : tr->maxT;
        }
    }
    if (!tr->n_samples) return a2m_error(A2M_ERR_EMPTY, "training: the training takes have no frames");
    tr->canonical = malloc(tr->n_samples * sizeof *tr->canonical);
    if (!tr->canonical) return a2m_error(A2M_ERR_NOMEM, "training: out of memory");
    memcpy(tr->canonical, tr->samples, tr->n_samples * sizeof *tr->canonical);
    return A2M_OK;
}

/* Class weights (N / (C count_c))^power from the training frames, the onset class times onset_weight. */
static void class_weights(trainer *tr) {
    const a2m_dataset *d = tr->d;
    const a2m_train_params *p = &tr->p;
    double counts[A2M_MAX_CLASSES] = {0}, total = 0;
    for (size_t i = 0; i < tr->n_train; i++)
        for (size_t f = d->offsets[tr->train_idx[i]]; f < d->offsets[tr->train_idx[i] + 1]; f++)
            if (d->labels[f] >= 0 && d->labels[f] < tr->C) counts[d->labels[f]]++, total++;
    for (int c = 0; c < tr->C; c++)
        tr->class_w[c] = p->class_weight_power == 0 || counts[c] == 0
                             ? 1.0f
                             : (float)pow(total / (tr->C * counts[c]), p->class_weight_power);
    if (d->labels_p.onset_frames > 0 && !p->onset_head) tr->class_w[d->labels_p.n_notes + 1] *= (float)p->onset_weight;
    tr->cw = p->class_weight_power == 0 && p->onset_weight == 1 ? NULL : tr->class_w;
}

/* The optimiser's buffers, the samples and the batches of a created model. */
static int trainer_alloc(trainer *tr) {
    size_t np = tr->np = tr->m->n_params;
    int with_ema = tr->p.ema > 0;
    tr->opt = calloc((4 + (size_t)with_ema) * np, sizeof *tr->opt);
    if (!tr->opt) return a2m_error(A2M_ERR_NOMEM, "training: out of memory");
    tr->grads = tr->opt, tr->am = tr->opt + np, tr->av = tr->opt + 2 * np, tr->best = tr->opt + 3 * np;
    tr->ema = with_ema ? tr->opt + 4 * np : NULL;
    tr->validated = with_ema ? tr->ema : tr->m->params;
    int rc = make_samples(tr);
    if (rc) return rc;
    int maxV = 1;
    for (size_t i = 0; i < tr->n_val; i++) {
        size_t l = tr->d->offsets[tr->val_idx[i] + 1] - tr->d->offsets[tr->val_idx[i]];
        maxV = (int)l > maxV ? (int)l : maxV;
        tr->n_val_frames += l;
    }
    if ((rc = batch_alloc(&tr->tb, tr->m, tr->p.batch, tr->maxT * tr->p.concat, 1, tr->p.soft_targets != NULL)))
        return rc;
    /* Validation runs between epochs in the training batch's buffers when they are long enough: the Transformer's
     * are ~370 MB at batch 8, and first writes to a second set were ~90 k page faults (~0.2 s of CPU time) of a
     * one-epoch run, its release at the end ~0.05 s more (perf). A forward reads nothing it did not write. */
    tr->vb_shared = tr->n_val && maxV <= tr->tb.T;
    if (tr->vb_shared) {
        tr->vb = tr->tb;
        tr->vb.nn.scratch = NULL, tr->vb.soft = NULL;
    } else if (tr->n_val && (rc = batch_alloc(&tr->vb, tr->m, tr->p.batch, maxV, 0, 0))) {
        return rc;
    }
    tr->tb.onset_src = tr->vb.onset_src = tr->head_tgt;
    tr->vpred = malloc((tr->n_val_frames + 1) * sizeof *tr->vpred);
    tr->vtrue = malloc((tr->n_val_frames + 1) * sizeof *tr->vtrue);
    if (!tr->vpred || !tr->vtrue) return a2m_error(A2M_ERR_NOMEM, "training: out of memory");
    return A2M_OK;
}

/* Initial weights (their copies as the best and the average), or the checkpoint's when resuming. */
static int trainer_start(trainer *tr) {
    const a2m_train_params *p = &tr->p;
    tr->st = (train_state){
        0, 0, p->lr, {p->seed * 0x2545F4914F6CDD1Dull + 12345}, p->select_by_loss ? INFINITY : -INFINITY, INFINITY, 0,
        0, 0, NULL};
    tr->m->arch->init(tr->m, tr->m->params, p->seed);
    if (p->init) memcpy(tr->m->params, p->init->params, tr->np * sizeof *tr->m->params);
    memcpy(tr->best, tr->m->params, tr->np * sizeof *tr->best);
    if (tr->ema) memcpy(tr->ema, tr->m->params, tr->np * sizeof *tr->ema);
    tr->ap = adam_default_params();
    tr->ap.weight_decay = p->weight_decay, tr->ap.decoupled = p->adamw;
    tr->ep.epochs = p->epochs;
    if (p->resume && p->checkpoint_path && a2m_path_exists(p->checkpoint_path))
        return load_checkpoint(p->checkpoint_path, tr->m, tr->opt, tr->ema != NULL, &tr->st, p);
    return A2M_OK;
}

static void trainer_free(trainer *tr) {
    if (!tr->vb_shared) batch_free(&tr->vb);
    batch_free(&tr->tb);
    free(tr->opt), free(tr->samples), free(tr->canonical), free(tr->vpred), free(tr->vtrue), free(tr->st.log);
    free(tr->head_lab), free(tr->head_tgt);
}

/* Each epoch shuffles the canonical order (so a resumed run shuffles as an uninterrupted one): Fisher-Yates with
 * our own RNG. */
static void shuffle_samples(trainer *tr) {
    memcpy(tr->samples, tr->canonical, tr->n_samples * sizeof *tr->samples);
    for (size_t i = tr->n_samples - 1; i > 0; i--) {
        size_t j = (size_t)(nn_rng_next(&tr->st.rng) % (i + 1));
        sample tmp = tr->samples[i];
        tr->samples[i] = tr->samples[j], tr->samples[j] = tmp;
    }
}

/* Random gain, bin shift and transposition (labels moved), then SpecAugment masks, of the nb elements of the
 * training batch [nb x T], in this order of draws from the run's RNG. */
static void augment_batch(trainer *tr, int nb, int T) {
    const a2m_train_params *p = &tr->p;
    batch_buf *b = &tr->tb;
    int F = tr->d->n_bins;
    for (int i = 0; p->augment_gain_db > 0 || p->augment_shift_bins > 0 || p->augment_transpose > 0 ? i < nb : 0; i++) {
        double gdb = p->augment_gain_db * (2 * nn_rng_uniform(&tr->st.rng) - 1);
        int sh = p->augment_shift_bins
                     ? (int)(nn_rng_next(&tr->st.rng) % (2 * p->augment_shift_bins + 1)) - p->augment_shift_bins
                     : 0;
        if (p->augment_transpose > 0) {
            int st = train_transpose_labels(b->labels + (size_t)i * T, b->lengths[i], tr->n_pitch, tr->below_class,
                                            p->augment_transpose, &tr->st.rng);
            if (b->soft)
                train_transpose_soft(b->soft + (size_t)i * T * tr->C, b->lengths[i], tr->C, tr->n_pitch,
                                     tr->below_class, st);
            sh += tr->bins_per_semitone * st;
        }
        sh = sh >= F ? F - 1 : sh <= -F ? 1 - F : sh;
        augment(b->x + (size_t)i * T * F, b->lengths[i], F, gdb / tr->m->info.norm_std, sh);
    }
    for (int i = 0; p->augment_mask_frames > 0 || p->augment_mask_bins > 0 ? i < nb : 0; i++)
        mask_sample(b->x + (size_t)i * T * F, b->lengths[i], F, p->augment_mask_frames, p->augment_mask_bins,
                    &tr->st.rng);
}

/* Forward and loss of the training batch [nb x T]: the mean loss (weight *ws), dlogits filled. Dropout masks
 * are deterministic per (seed, step), so a resumed run draws the same. */
static double forward_loss(trainer *tr, int nb, int T, double *ws) {
    const a2m_train_params *p = &tr->p;
    batch_buf *b = &tr->tb;
    b->nn.dropout = (float)p->dropout;
    b->nn.seed = (p->seed + 1) * 0xD1B54A32D192ED03ull + (unsigned long long)tr->st.step;
    b->nn.seg = p->concat > 1 ? b->seg : NULL;
    b->nn.precision = p->precision;
    tr->m->arch->forward(tr->m, tr->m->params, &b->nn, b->x, b->lengths, nb, T, b->logits, p->threads, 1);
    if (p->onset_head)
        return softmax_onset_xent_forward_backward(b->dlogits, b->logits, b->labels, b->onset, tr->cw,
                                                   p->label_smoothing, tr->d->labels_p.n_notes + 1, p->onset_weight,
                                                   1.0, nb * T, tr->C, ws);
    return softmax_xent_smooth_forward_backward(b->dlogits, b->logits, b->labels, tr->cw, p->focal_gamma,
                                                p->label_smoothing, b->soft, p->distill, nb * T, tr->C, ws);
}

/* Gradients of the training batch's loss (zeroed first), and the BatchNorm running statistics. */
static void backward(trainer *tr, int nb, int T) {
    batch_buf *b = &tr->tb;
    nn_zero(tr->grads, tr->np);
    tr->m->arch->backward(tr->m, tr->m->params, tr->grads, &b->nn, b->x, b->lengths, b->dlogits, nb, T, tr->p.threads);
    if (tr->m->arch->update_buffers) tr->m->arch->update_buffers(tr->m, tr->m->params, &b->nn, nb, T);
}

/* Clipping, one Adam step, and the weights' moving average w_ema = d w_ema + (1 - d) w (d warmed up). */
static void update(trainer *tr) {
    if (tr->p.clip_norm > 0) clip_grad_norm(tr->grads, tr->np, tr->p.clip_norm);
    optimiser_step(tr->m, tr->grads, tr->am, tr->av, tr->ap, ++tr->st.step);
    if (!tr->ema) return;
    float dk = (float)fmin(tr->p.ema, (1.0 + (double)tr->st.step) / (10.0 + (double)tr->st.step)), wk = 1.0f - dk;
    for (size_t i = 0; i < tr->np; i++) tr->ema[i] = dk * tr->ema[i] + wk * tr->m->params[i];
}

/* Cosine annealing's step size for the next step (its 0-based number: st.step) of the run's epochs x n_batches;
 * the plateau schedule keeps the epoch's lr. */
static void schedule_step(trainer *tr, size_t n_batches) {
    if (!tr->p.lr_cosine) return;
    double s = (double)tr->st.step, total = (double)tr->p.epochs * (double)n_batches;
    tr->st.lr = tr->p.lr * 0.5 * (1.0 + cos(acos(-1.0) * fmin(s / total, 1.0)));
    tr->ap.lr = tr->st.lr;
}

/* The caller's progress callback after batch bi of epoch e (0-based); A2M_ERR_CANCELLED when it says stop. */
static int report_batch(trainer *tr, int e, size_t bi, size_t n_batches, double train_loss) {
    if (!tr->progress) return A2M_OK;
    a2m_train_epoch *ep = &tr->ep;
    ep->epoch = e + 1, ep->batch = bi + 1, ep->n_batches = n_batches, ep->train_loss = train_loss;
    ep->lr = tr->st.lr, ep->done = 0;
    if (tr->progress(tr->user, ep))
        return a2m_error(A2M_ERR_CANCELLED, "training: stopped by the caller (epoch %d, batch %zu)", e + 1, bi + 1);
    return A2M_OK;
}

/* One pass over the shuffled samples, a batch element being p.concat samples back to back; *train_loss: the
 * weighted mean of the batches' losses. */
static int train_epoch(trainer *tr, int e, double *train_loss) {
    size_t per_batch = (size_t)tr->p.batch * (size_t)tr->p.concat;
    size_t n_batches = (tr->n_samples + per_batch - 1) / per_batch;
    double loss_sum = 0, w_sum = 0;
    shuffle_samples(tr);
    tr->ap.lr = tr->st.lr;
    for (size_t bi = 0; bi < n_batches; bi++) {
        size_t first = bi * per_batch, n_s = tr->n_samples - first < per_batch ? tr->n_samples - first : per_batch;
        int nb = (int)((n_s + (size_t)tr->p.concat - 1) / (size_t)tr->p.concat);
        int T = fill_batch_grouped(&tr->tb, tr->d, tr->samples + first, nb, tr->p.concat, n_s, tr->m->info.norm_mean,
                                   tr->m->info.norm_std, tr->p.soft_targets, tr->C);
        augment_batch(tr, nb, T);
        double ws, l = forward_loss(tr, nb, T, &ws);
        backward(tr, nb, T);
        schedule_step(tr, n_batches);
        update(tr);
        loss_sum += l * ws, w_sum += ws;
        int rc = report_batch(tr, e, bi, n_batches, loss_sum / w_sum);
        if (rc) return rc;
    }
    *train_loss = loss_sum / w_sum;
    for (size_t i = 0; i < tr->np; i++)
        if (!isfinite(tr->m->params[i]))
            return a2m_error(A2M_ERR_NONFINITE, "training diverged at epoch %d (NaN weights): lower --lr", e + 1);
    return A2M_OK;
}

/* Loss and frame metrics of weights w on the validation takes (zeros without any). */
static int validate(trainer *tr, const float *w, double *vloss, a2m_frame_metrics *fm) {
    *vloss = 0;
    memset(fm, 0, sizeof *fm);
    if (!tr->n_val) return A2M_OK;
    tr->vb.nn.precision = tr->p.precision; /* validation at the training's precision */
    int rc = evaluate(tr->m, w, tr->d, tr->val_idx, tr->n_val, tr->cw, tr->p.focal_gamma, tr->p.onset_weight, &tr->vb,
                      tr->p.threads, vloss, tr->vpred, tr->vtrue, NULL, NULL);
    return rc ? rc
              : a2m_frame_metrics_compute(tr->vtrue, tr->vpred, drop_masked(tr->vtrue, tr->vpred, tr->n_val_frames),
                                          tr->C, fm);
}

/* Keeps the validated weights when the selected metric improved (always without validation takes), counts the
 * epochs without improvement, and steps ReduceLROnPlateau (mode min on val loss, relative threshold 1e-4). */
static void select_and_schedule(trainer *tr, int e, double vloss, const a2m_frame_metrics *fm) {
    train_state *st = &tr->st;
    double metric = tr->p.select_by_loss ? vloss : fm->f1_macro;
    int better = tr->p.select_by_loss ? metric < st->best_metric : metric > st->best_metric;
    if (better || !tr->n_val) {
        st->best_metric = metric, st->best_epoch = e + 1, st->bad_epochs = 0;
        memcpy(tr->best, tr->validated, tr->np * sizeof *tr->best);
        tr->best_known = 1, tr->best_vloss = vloss, tr->best_fm = *fm;
    } else {
        st->bad_epochs++;
    }
    if (tr->p.lr_cosine) return;
    if (vloss < st->plateau_best * (1 - 1e-4)) st->plateau_best = vloss, st->plateau_bad = 0;
    else if (++st->plateau_bad > tr->p.plateau) st->lr *= tr->p.plateau_factor, st->plateau_bad = 0;
}

/* The epoch's log row (in the checkpoint and the CSV), the checkpoint, and the caller's progress callback. */
static int end_epoch(trainer *tr, int e, double train_loss, double vloss, const a2m_frame_metrics *fm, double seconds) {
    const a2m_train_params *p = &tr->p;
    char row[256];
    snprintf(row, sizeof row, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f\n", e + 1, train_loss, vloss, fm->accuracy,
             fm->f1_macro, tr->st.lr, seconds);
    int rc = log_append(&tr->st, row);
    if (rc) return rc;
    select_and_schedule(tr, e, vloss, fm);
    tr->st.epoch = e + 1;
    if (p->log_path && (rc = write_log(p->log_path, tr->st.log))) return rc;
    if (p->checkpoint_path && (rc = save_checkpoint(p->checkpoint_path, tr->m, tr->opt, tr->ema != NULL, &tr->st, p)))
        return rc;
    if (!tr->progress) return A2M_OK;
    a2m_train_epoch *ep = &tr->ep;
    ep->epoch = e + 1, ep->train_loss = train_loss, ep->val_loss = vloss, ep->val_accuracy = fm->accuracy;
    ep->val_f1_macro = fm->f1_macro, ep->lr = tr->st.lr, ep->seconds = seconds, ep->done = 1,
    ep->best_epoch = tr->st.best_epoch;
    if (tr->progress(tr->user, ep))
        return a2m_error(A2M_ERR_CANCELLED, "training: stopped by the caller after epoch %d", e + 1);
    return A2M_OK;
}

/* The best weights back into the model, with their validation (once more where a resumed run kept them) for the
 * model's summary and the result. */
static int summarise(trainer *tr, a2m_train_result *result) {
    const a2m_train_params *p = &tr->p;
    memcpy(tr->m->params, tr->best, tr->np * sizeof *tr->best);
    double bl = tr->best_vloss;
    a2m_frame_metrics fm = tr->best_fm;
    int rc = tr->best_known ? A2M_OK : validate(tr, tr->m->params, &bl, &fm);
    if (rc) return rc;
    char drop[32] = "";
    if (!strcmp(p->arch, "unet") || !strcmp(p->arch, "transformer") || p->dropout > 0)
        snprintf(drop, sizeof drop, ", dropout %g", p->dropout);
    snprintf(
        tr->m->info.summary, sizeof tr->m->info.summary,
        "a2m train: %s hidden %d, lr %g, batch %d, seed %llu, class-weight-power %g, focal gamma %g, window %d, concat "
        "%d, augment %g dB %d bins transpose %d, masks %d frames %d bins, label smoothing %g, onset weight %g%s, ema "
        "%g, distill %g%s%s; "
        "%d epochs run, best epoch %d: val loss %.4f, val accuracy %.4f, val macro F1 %.4f; %zu train / %zu val takes",
        p->arch, p->hidden, p->lr, p->batch, p->seed, p->class_weight_power, p->focal_gamma, p->window, p->concat,
        p->augment_gain_db, p->augment_shift_bins, p->augment_transpose, p->augment_mask_frames, p->augment_mask_bins,
        p->label_smoothing, p->onset_weight, p->onset_head ? " (onset head)" : "", p->ema,
        p->soft_targets ? p->distill : 0.0, drop, p->lr_cosine ? ", lr cosine" : "", tr->st.epoch, tr->st.best_epoch,
        bl, fm.accuracy, fm.f1_macro, tr->n_train, tr->n_val);
    if (result) {
        result->epochs_run = tr->st.epoch, result->best_epoch = tr->st.best_epoch;
        result->best_val_loss = bl, result->best_val_f1 = fm.f1_macro, result->best_val_accuracy = fm.accuracy;
        result->seconds_per_epoch = tr->epochs_run ? tr->t_total / tr->epochs_run : 0;
    }
    return A2M_OK;
}

void train_onset_head_targets(const a2m_dataset *d, int oc, int64_t *lab, float *tgt) {
    static const float win[5] = {0.5f, 1, 1, 1, 0.5f};
    for (size_t k = 0; k < d->n_takes; k++) {
        size_t a = d->offsets[k], e = d->offsets[k + 1];
        for (size_t f = a; f < e; f++) lab[f] = d->labels[f], tgt[f] = 0;
        for (size_t f = a; f < e;) {
            if (d->labels[f] != oc) {
                f++;
                continue;
            }
            size_t g = f;
            while (g < e && d->labels[g] == oc) g++;
            int64_t y = g < e && d->labels[g] > 0 ? d->labels[g] : -1;
            for (size_t h = f; h < g; h++) lab[h] = y;
            for (int j = -1; j <= 3; j++)
                if ((j >= 0 || f > a) && f + j < e && tgt[f + j] < win[j + 1]) tgt[f + j] = win[j + 1];
            f = g;
        }
    }
}

/* An onset head's labels and targets (train_onset_head_targets); the trainer reads the dataset through head_d. */
static int onset_head_data(trainer *tr) {
    const a2m_dataset *d = tr->d;
    size_t total = d->offsets[d->n_takes];
    tr->head_lab = malloc((total + 1) * sizeof *tr->head_lab),
    tr->head_tgt = malloc((total + 1) * sizeof *tr->head_tgt);
    if (!tr->head_lab || !tr->head_tgt)
        return a2m_error(A2M_ERR_NOMEM, "training: out of memory for the onset head's targets");
    train_onset_head_targets(d, d->labels_p.n_notes + 1, tr->head_lab, tr->head_tgt);
    tr->head_d = *d, tr->head_d.labels = tr->head_lab, tr->d = &tr->head_d;
    return A2M_OK;
}

/* Until p.epochs, or p.patience epochs without improvement: train; validate; keep the best; schedule; log. */
static int train_epochs(trainer *tr) {
    int rc = A2M_OK;
    for (int e = tr->st.epoch; e < tr->p.epochs && !rc; e++) {
        double t0 = now_s(), train_loss, vloss;
        a2m_frame_metrics fm;
        if ((rc = train_epoch(tr, e, &train_loss))) break;
        if ((rc = validate(tr, tr->validated, &vloss, &fm))) break;
        double seconds = now_s() - t0;
        tr->t_total += seconds, tr->epochs_run++;
        if ((rc = end_epoch(tr, e, train_loss, vloss, &fm, seconds))) break;
        if (tr->n_val && tr->st.bad_epochs >= tr->p.patience) break;
    }
    return rc;
}

int a2m_train(const a2m_dataset *d, const size_t *train_idx, size_t n_train, const size_t *val_idx, size_t n_val,
              a2m_train_params p, a2m_train_progress_fn progress, void *user, a2m_model **out,
              a2m_train_result *result) {
    *out = NULL;
    int rc = check_params(&p, n_train);
    if (!rc) rc = check_augmentation(d, &p);
    if (rc) return rc;
    trainer tr = {.d = d,
                  .train_idx = train_idx,
                  .val_idx = val_idx,
                  .n_train = n_train,
                  .n_val = n_val,
                  .p = p,
                  .progress = progress,
                  .user = user,
                  .maxT = 1};
    a2m_model_info info = model_info(d, &p);
    if (p.init && (rc = a2m_train_check_init(d, &p, "the initial model"))) return rc;
    if (p.init) info.norm_mean = p.init->info.norm_mean, info.norm_std = p.init->info.norm_std; /* what it learnt */
    if ((rc = nn_model_create(p.arch, &info, &tr.m))) return rc;
    tr.C = info.n_classes;
    tr.n_pitch = semitone_classes(&d->labels_p), tr.bins_per_semitone = d->cqt.bins_per_octave / 12;
    tr.below_class = d->labels_p.range_classes ? tr.C - 2 : 0;
    if (p.onset_head) rc = onset_head_data(&tr);
    if (!rc) class_weights(&tr);
    if (!rc) rc = trainer_alloc(&tr);
    if (!rc) rc = trainer_start(&tr);
    if (!rc) rc = train_epochs(&tr);
    if (!rc) rc = summarise(&tr, result);
    if (!rc) *out = tr.m;
    else a2m_model_del(tr.m);
    trainer_free(&tr);
    return rc;
}
