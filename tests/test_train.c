/* Training on a small synthetic dataset: it learns, the same seed gives the
 * same weights, a run resumed from its checkpoint equals an uninterrupted
 * one, windows with padding train, distillation's targets are the teachers' mean,
 * and bad parameters are refused. */
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/train.h"
#include "check.h"
#include "model_check.h"
#include "synth_dataset.h"
#include "nn/arch.h"
#include "train/onset.h"
#include "train/transpose.h"

enum { TAKES = 6, FRAMES = 40, BINS = 8 };

static void make_dataset(a2m_dataset *d) { make_synth_dataset(d, TAKES, FRAMES, BINS); }

static a2m_train_params small_params(void) {
    a2m_train_params p = a2m_train_default_params();
    p.hidden = 8, p.batch = 2, p.epochs = 4, p.lr = 1e-2, p.seed = 3, p.patience = 100;
    return p;
}

/* A training option: trains, learns, changes what is learned (against `plain`); `bad` is refused. */
static void check_option(a2m_dataset *d, size_t *tr, size_t *va, const a2m_model *plain, a2m_train_params p,
                         a2m_train_params bad, const char *what) {
    a2m_model *c = NULL;
    a2m_train_result r;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, &r) == A2M_OK, "%s training: %s", what, a2m_errmsg());
    CHECK(r.best_val_accuracy > 0.5, "%s training learns (val accuracy %.3f)", what, r.best_val_accuracy);
    CHECK(c && memcmp(plain->params, c->params, plain->n_params * sizeof(float)) != 0, "%s changes what is learned",
          what);
    a2m_model_del(c);
    c = NULL;
    CHECK(a2m_train(d, tr, 4, va, 2, bad, NULL, NULL, &c, NULL) == A2M_ERR_ARG && c == NULL, "bad %s refused", what);
}

/* A host stops training from its progress callback (call `stop_at`, counting from 1; 4 train takes at batch 2 make
 * 2 batch calls and 1 epoch call an epoch): A2M_ERR_CANCELLED at once, no model, no further call; the checkpoint
 * of the last finished epoch resumes into the straight run. */
typedef struct {
    int calls, stop_at;
} stopper;
static int stop_after(void *user, const a2m_train_epoch *e) {
    (void)e;
    stopper *s = user;
    return ++s->calls >= s->stop_at;
}

static void check_cancel(a2m_dataset *d, size_t *tr, size_t *va, a2m_train_params p) {
    p.select_by_loss = 1;
    a2m_model *c = (a2m_model *)&p, *straight = NULL;
    stopper s = {0, 4}; /* epoch 2, batch 1 */
    CHECK(a2m_train(d, tr, 4, va, 2, p, stop_after, &s, &c, NULL) == A2M_ERR_CANCELLED && c == NULL,
          "stopped inside an epoch: %s", a2m_errmsg());
    CHECK(s.calls == 4 && strstr(a2m_errmsg(), "epoch 2, batch 1"), "no call after the stop (%d): %s", s.calls,
          a2m_errmsg());
    const char *ckpt = test_tmp("cancel.ckpt");
    unlink(ckpt);
    p.checkpoint_path = ckpt;
    s = (stopper){0, 6}; /* after epoch 2 */
    CHECK(a2m_train(d, tr, 4, va, 2, p, stop_after, &s, &c, NULL) == A2M_ERR_CANCELLED && s.calls == 6,
          "stopped after an epoch: %s", a2m_errmsg());
    p.resume = 1;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, NULL) == A2M_OK, "resumed after the stop: %s", a2m_errmsg());
    p.checkpoint_path = NULL, p.resume = 0;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &straight, NULL) == A2M_OK, "straight");
    CHECK(c && straight && memcmp(c->params, straight->params, c->n_params * sizeof(float)) == 0,
          "a stopped run resumed equals the straight run");
    a2m_model_del(c), a2m_model_del(straight);
    unlink(ckpt);
}

/* The onset head's targets: two takes, classes 0 silence, 1..3 pitches, 4 onset. */
static void test_onset_targets(void) {
    int64_t labels[] = {0, 4, 4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 3, 3, 0, /* take 0: two notes, legato */
                        4, 4, 1, 1, 1, 0, 4, 4, 4, 0}; /* take 1: one at frame 0, a short one at its end */
    size_t offsets[] = {0, 15, 25};
    a2m_dataset d;
    memset(&d, 0, sizeof d);
    d.n_takes = 2, d.offsets = offsets, d.total_frames = 25, d.labels = labels;
    int64_t lab[25];
    float tgt[25];
    train_onset_head_targets(&d, 4, lab, tgt);
    const int64_t want_lab[25] = {0, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 0, 1, 1, 1, 1, 1, 0, -1, -1, -1, 0};
    const float want_t[25] = {0.5f, 1, 1, 1, 0.5f, 0,    0, 0.5f, 1, 1, 1, 0.5f, 0,
                              0,    0, 1, 1, 1,    0.5f, 0, 0.5f, 1, 1, 1, 0.5f};
    int same_lab = 1, same_t = 1;
    for (int f = 0; f < 25; f++) same_lab &= lab[f] == want_lab[f], same_t &= tgt[f] == want_t[f];
    CHECK(same_lab, "onset frames keep their note's pitch (masked before silence)");
    CHECK(same_t, "targets 0.5 1 1 1 0.5 around each start, none before a take's first frame");
}

/* Distillation's targets from teacher files: the mean of running the teachers directly; a missing file, a
 * teacher of other classes and no teacher are errors (the first two naming the file). */
static void check_teachers(const a2m_dataset *d, const a2m_model *t1, const a2m_model *t2) {
    const char *p1 = test_tmp("teacher1.safetensors"), *p2 = test_tmp("teacher2.safetensors");
    REQUIRE(a2m_model_save(t1, p1) == A2M_OK && a2m_model_save(t2, p2) == A2M_OK, "save: %s", a2m_errmsg());
    size_t n = d->total_frames * (size_t)t1->info.n_classes, all[TAKES];
    for (size_t i = 0; i < TAKES; i++) all[i] = i;
    float *q1 = malloc(n * sizeof *q1), *q2 = malloc(n * sizeof *q2), *got = NULL;
    REQUIRE(q1 && q2, "out of memory");
    CHECK(a2m_model_predict_takes(t1, d, all, TAKES, 1, NULL, q1) == A2M_OK, "teacher 1 directly");
    CHECK(a2m_model_predict_takes(t2, d, all, TAKES, 1, NULL, q2) == A2M_OK, "teacher 2 directly");
    const char *both[2] = {p1, p2};
    CHECK(a2m_train_teacher_targets(d, both, 2, 2, &got) == A2M_OK && got, "targets: %s", a2m_errmsg());
    double worst = 0, apart = 0;
    for (size_t k = 0; got && k < n; k++) {
        worst = fmax(worst, fabs(got[k] - 0.5 * ((double)q1[k] + q2[k])));
        apart = fmax(apart, fabs((double)q1[k] - q2[k]));
    }
    CHECK(worst <= 1e-6 && apart > 0.01, "the teachers' mean (max error %.2g; teachers %.3g apart)", worst, apart);
    free(got), got = NULL;
    const char *missing[2] = {p1, test_tmp("no-such-teacher.safetensors")};
    CHECK(a2m_train_teacher_targets(d, missing, 2, 1, &got) == A2M_ERR_IO && !got &&
              strstr(a2m_errmsg(), "no-such-teacher"),
          "a missing teacher: %s", a2m_errmsg());
    a2m_model_info other = t1->info;
    other.n_classes = t1->info.n_classes + 1;
    a2m_model *wide = NULL;
    REQUIRE(nn_model_create("crnn", &other, &wide) == A2M_OK, "create: %s", a2m_errmsg());
    CHECK(a2m_model_save(wide, p2) == A2M_OK, "save");
    CHECK(a2m_train_teacher_targets(d, both, 2, 1, &got) == A2M_ERR_SHAPE && !got && strstr(a2m_errmsg(), p2),
          "a teacher of other classes: %s", a2m_errmsg());
    CHECK(a2m_train_teacher_targets(d, both, 0, 1, &got) == A2M_ERR_ARG && !got, "no teacher");
    a2m_model_del(wide);
    free(q1), free(q2);
    unlink(p1), unlink(p2);
}

static size_t tr[4] = {0, 1, 2, 3}, va[2] = {4, 5}; /* the train and val takes of the synthetic dataset */

/* The same seed gives the same weights, and 4 epochs learn the synthetic task: that model is the plain one the
 * options below are compared against. */
static a2m_model *test_same_seed(a2m_dataset *d) {
    a2m_train_params p = small_params();
    a2m_model *a, *b;
    a2m_train_result ra, rb;
    REQUIRE(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &a, &ra) == A2M_OK, "train: %s", a2m_errmsg());
    REQUIRE(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &b, &rb) == A2M_OK, "train again");
    CHECK(a->n_params == b->n_params && memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0,
          "same seed, same weights");
    CHECK(ra.best_val_accuracy > 0.5, "learns the synthetic task (val accuracy %.3f)", ra.best_val_accuracy);
    a2m_model_del(b);
    return a;
}

static void test_longer_run(a2m_dataset *d) {
    a2m_train_params p = small_params();
    p.epochs = 25;
    a2m_model *long_run;
    a2m_train_result rl;
    REQUIRE(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &long_run, &rl) == A2M_OK, "longer run");
    CHECK(rl.best_val_accuracy >= 0.9, "25 epochs reach %.3f val accuracy", rl.best_val_accuracy);
    a2m_model_del(long_run);
}

/* distillation's targets from teacher files: the plain model a and one of another seed */
static void test_teacher_targets(a2m_dataset *d, const a2m_model *a) {
    a2m_train_params p = small_params();
    p.seed = 7;
    a2m_model *c;
    REQUIRE(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, NULL) == A2M_OK, "another seed");
    check_teachers(d, a, c);
    a2m_model_del(c);
}

/* resume: 2 epochs, then 2 more from the checkpoint == 4 straight; the log has a line per epoch */
static void test_resume_log(a2m_dataset *d) {
    const char *ckpt = test_tmp("train.ckpt"), *log = test_tmp("train.csv");
    check_resume(d, tr, va, small_params(), ckpt, log, "plain");
    FILE *f = fopen(log, "r");
    int lines = 0;
    char buf[256];
    while (f && fgets(buf, sizeof buf, f)) lines++;
    if (f) fclose(f);
    CHECK(lines == 5, "log has a header and 4 epochs (%d lines)", lines);
    unlink(log);
    unlink(ckpt);
}

/* windows shorter than a take, with a padded last window */
static void test_windowed_focal(a2m_dataset *d) {
    a2m_train_params p = small_params();
    p.window = 15;
    p.focal_gamma = 2;
    p.adamw = 1, p.weight_decay = 0.01, p.clip_norm = 1.0;
    a2m_model *c;
    a2m_train_result r;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, &r) == A2M_OK && isfinite(r.best_val_loss),
          "windowed focal training");
    a2m_model_del(c);
}

/* A training option (p) that learns, repeats (two runs, the same weights) and changes what is learned (against
 * the plain model a) */
static void check_repeats(a2m_dataset *d, const a2m_model *a, a2m_train_params p, const char *what) {
    a2m_model *c, *c2 = NULL;
    a2m_train_result r;
    REQUIRE(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, &r) == A2M_OK, "%s training: %s", what, a2m_errmsg());
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c2, NULL) == A2M_OK, "%s again", what);
    CHECK(c2 && memcmp(c->params, c2->params, c->n_params * sizeof(float)) == 0, "%s runs repeat", what);
    CHECK(a->n_params == c->n_params && memcmp(a->params, c->params, a->n_params * sizeof(float)) != 0,
          "%s changes what is learned", what);
    CHECK(r.best_val_accuracy > 0.5, "%s training learns (val accuracy %.3f)", what, r.best_val_accuracy);
    a2m_model_del(c), a2m_model_del(c2);
}

/* concatenated samples: 3 windows back to back per batch element (the last element shorter); concat 0 refused */
static void test_concat(a2m_dataset *d, const a2m_model *a) {
    a2m_train_params p = small_params();
    p.window = 15, p.concat = 3;
    check_repeats(d, a, p, "concatenated");
    p.concat = 0;
    a2m_model *c;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, NULL) == A2M_ERR_ARG && c == NULL, "concat 0 refused");
}

/* SpecAugment masks: still learns, repeats, and changes what is learned */
static void test_masks(a2m_dataset *d, const a2m_model *a) {
    a2m_train_params p = small_params();
    p.augment_mask_frames = 6, p.augment_mask_bins = 2;
    check_repeats(d, a, p, "masked");
}

/* label smoothing and the weights' moving average: learn, change the weights, bad values refused; a run with the
 * moving average resumes into the straight run */
static void test_smoothing_ema(a2m_dataset *d, const a2m_model *a) {
    a2m_train_params good = small_params(), bad = small_params();
    good.label_smoothing = 0.2, bad.label_smoothing = 1.0;
    check_option(d, tr, va, a, good, bad, "label smoothing");
    good = small_params(), bad = small_params();
    good.ema = 0.9, bad.ema = 1.0;
    check_option(d, tr, va, a, good, bad, "ema");
    const char *ckpt = test_tmp("train.ckpt");
    check_resume(d, tr, va, good, ckpt, NULL, "ema");
    unlink(ckpt);
}

/* distillation: the first model's probabilities as soft targets; a weight without targets is refused */
static void test_distillation(a2m_dataset *d, const a2m_model *a) {
    size_t all[TAKES];
    for (size_t i = 0; i < TAKES; i++) all[i] = i;
    float *soft = malloc(d->total_frames * (size_t)a->info.n_classes * sizeof *soft);
    REQUIRE(soft && a2m_model_predict_takes(a, d, all, TAKES, 1, NULL, soft) == A2M_OK, "teacher probabilities");
    a2m_train_params good = small_params(), bad = small_params();
    good.soft_targets = soft, good.distill = 0.5, bad.distill = 0.5;
    check_option(d, tr, va, a, good, bad, "distillation");
    free(soft);
}

/* Every batch's step size as the progress callback sees it (after the step). */
typedef struct {
    double lr[16];
    int n;
} lr_trace;
static int trace_lr(void *user, const a2m_train_epoch *e) {
    lr_trace *t = user;
    if (!e->done && t->n < 16) t->lr[t->n++] = e->lr;
    return 0;
}

/* Cosine annealing: step k (0-based) of the run's 8 (4 epochs x 2 batches) at lr (1 + cos(pi k / 8)) / 2, whatever
 * the validation loss does; learns, changes what is learned, a bad value refused; stopped after epoch 2 and
 * resumed, it equals the straight run; a resume with other --epochs (another schedule) is refused. */
static void test_cosine(a2m_dataset *d, const a2m_model *a) {
    a2m_train_params good = small_params(), bad = small_params();
    good.lr_cosine = 1, bad.lr_cosine = 2;
    check_option(d, tr, va, a, good, bad, "cosine schedule");
    lr_trace t = {{0}, 0};
    a2m_model *c = NULL;
    REQUIRE(a2m_train(d, tr, 4, va, 2, good, trace_lr, &t, &c, NULL) == A2M_OK, "cosine traced");
    CHECK(t.n == 8, "8 steps traced (%d)", t.n);
    double worst = 0;
    for (int k = 0; k < t.n; k++) worst = fmax(worst, fabs(t.lr[k] - good.lr * 0.5 * (1 + cos(acos(-1.0) * k / 8))));
    CHECK(worst < 1e-15 && t.lr[7] < 0.04 * good.lr, "step sizes as the formula (worst %.3g, last %.4g)", worst,
          t.lr[7]);
    a2m_model_del(c);
    check_cancel(d, tr, va, good);
    const char *ckpt = test_tmp("cosine.ckpt");
    unlink(ckpt);
    good.epochs = 2, good.checkpoint_path = ckpt;
    REQUIRE(a2m_train(d, tr, 4, va, 2, good, NULL, NULL, &c, NULL) == A2M_OK, "cosine, 2 epochs");
    a2m_model_del(c);
    c = NULL;
    good.epochs = 4, good.resume = 1;
    CHECK(a2m_train(d, tr, 4, va, 2, good, NULL, NULL, &c, NULL) == A2M_ERR_ARG && c == NULL &&
              strstr(a2m_errmsg(), "--epochs"),
          "a cosine run resumed with other --epochs refused: %s", a2m_errmsg());
    unlink(ckpt);
}

static void test_bad_params(a2m_dataset *d) {
    a2m_model *c;
    a2m_train_params p = small_params();
    p.batch = 0;
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, NULL) == A2M_ERR_ARG && c == NULL, "batch 0 refused");
    p = small_params();
    p.arch = "nonesuch";
    CHECK(a2m_train(d, tr, 4, va, 2, p, NULL, NULL, &c, NULL) == A2M_ERR_ARCH, "unknown arch refused");
    CHECK(a2m_train(d, tr, 0, va, 2, small_params(), NULL, NULL, &c, NULL) == A2M_ERR_EMPTY, "no training takes");
}

/* Transposition moves a sample's labels and its distillation targets together: 3 frames of classes silence, pitches
 * 1..5, onset, below, above (C 9), transposed by +2 then -3: each pitch's mass lands 2 up (4 and 5 beyond the range
 * on "above"), then 3 down (on "below" past the first); silence and onset stay, every row still sums to 1. Without
 * range classes the edge pitch keeps what leaves. The labels' draw keeps a note inside 1..5. */
static void test_transpose_soft(void) {
    enum { C = 9, NP = 5, BELOW = 7 };
    float q[3 * C] = {0.1f, 0.2f, 0.3f, 0, 0.4f, 0, 0, 0, 0, /* */ 0, 0, 0,    0,   0,
                      0.5f, 0.5f, 0,    0, 0.7f, 0, 0, 0, 0, 0,       0, 0.1f, 0.2f};
    train_transpose_soft(q, 3, C, NP, BELOW, 2);
    const float up[3 * C] = {0.1f, 0,    0, 0.2f, 0.3f, 0, 0, 0, 0.4f, /* */ 0, 0, 0,    0,   0,
                             0,    0.5f, 0, 0.5f, 0.7f, 0, 0, 0, 0,    0,       0, 0.1f, 0.2f};
    double worst = 0;
    for (int k = 0; k < 3 * C; k++) worst = fmax(worst, fabs(q[k] - up[k]));
    CHECK(worst < 1e-7, "soft targets transposed +2 (max error %.2g)", worst);
    train_transpose_soft(q, 3, C, NP, BELOW, -3);
    CHECK(fabs(q[BELOW] - 0.2f) < 1e-7 && fabs(q[1] - 0.3f) < 1e-7 && fabs(q[8] - 0.4f) < 1e-7,
          "then -3: C and D below the range, E on pitch 1, the above mass stays (%g %g %g)", q[BELOW], q[1], q[8]);
    for (int t = 0; t < 3; t++) {
        double sum = 0;
        for (int k = 0; k < C; k++) sum += q[t * C + k];
        CHECK(fabs(sum - 1) < 1e-6, "row %d sums to 1 (%g)", t, sum);
    }
    float e[C] = {0, 0.5f, 0.5f, 0, 0, 0, 0, 0, 0};
    train_transpose_soft(e, 1, 7, NP, 0, -1);
    CHECK(fabs(e[1] - 1) < 1e-7, "no range classes: the edge pitch keeps what leaves (%g)", e[1]);
    int64_t lab[4] = {0, 2, 6, 3};
    nn_rng rng = {12345};
    int st = train_transpose_labels(lab, 4, NP, BELOW, 12, &rng);
    CHECK(st >= -1 && st <= 2 && lab[1] == 2 + st && lab[2] == 6 && lab[3] == 3 + st,
          "labels moved by the drawn %d, onset kept", st);
}

int main(void) {
    test_onset_targets();
    test_transpose_soft();
    a2m_dataset d;
    make_dataset(&d);
    a2m_model *a = test_same_seed(&d);
    test_longer_run(&d);
    test_teacher_targets(&d, a);
    test_resume_log(&d);
    test_windowed_focal(&d);
    test_concat(&d, a);
    test_masks(&d, a);
    test_smoothing_ema(&d, a);
    test_distillation(&d, a);
    check_cancel(&d, tr, va, small_params());
    test_cosine(&d, a);
    test_bad_params(&d);
    a2m_model_del(a);
    a2m_dataset_free(&d);
    return test_done("test_train");
}
