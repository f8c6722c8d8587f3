/* Training and inference speed of the CRNN on the seed data.
 *   bench_train [SHARED_DIR] [--full]
 * Prints: seconds per training epoch over the 210 train takes (batch 8,
 * hidden 128, 2 threads; PyTorch 1.13 on this machine kind: ~55 s), peak
 * resident memory and its growth between epochs, ms per 4 s take through
 * the CRNN on one thread; with --full, trains with the original's recipe
 * (plain cross-entropy) to early stopping and prints test frame accuracy. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/metrics.h"
#include "a2m/model.h"
#include "a2m/train.h"

/* A runner of batch x frames at a precision (the library's defaults otherwise). */
static a2m_runner_params runner_params(int max_batch, int max_frames, a2m_precision precision) {
    a2m_runner_params p = a2m_runner_default_params();
    p.max_batch = max_batch, p.max_frames = max_frames, p.precision = precision;
    return p;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static double peak_rss_mb(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;
}
static double current_rss_mb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * 4096.0 / (1 << 20);
}

static double epoch_rss[64];
static int n_epoch_rss;
static int on_epoch(void *user, const a2m_train_epoch *e) {
    (void)user;
    if (e->done && n_epoch_rss < 64) epoch_rss[n_epoch_rss++] = current_rss_mb();
    return 0;
}

int main(int argc, char **argv) {
    openblas_set_num_threads(1); /* as a2m's main: parallel work is the library's n_threads */
    const char *shared = getenv("A2M_SHARED") ? getenv("A2M_SHARED") : "../shared";
    int full = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--full")) full = 1;
        else shared = argv[i];
    }
    char dir[4096], split[4096];
    snprintf(dir, sizeof dir, "%s/data/seed/audio", shared);
    snprintf(split, sizeof split, "%s/data/seed/split.json", shared);
    a2m_dataset d;
    double t0 = now();
    int rc = a2m_dataset_build(dir, a2m_dataset_default_params(), NULL, NULL, &d, NULL);
    if (rc) {
        fprintf(stderr, "bench_train: %s\n", a2m_errmsg());
        return 1;
    }
    printf("dataset_build_s %.2f (%zu takes)\n", now() - t0, d.n_takes);
    size_t *tr, *va, *te, ntr, nva, nte;
    if (a2m_split_load(split, "train", &d, &tr, &ntr) || a2m_split_load(split, "val", &d, &va, &nva) ||
        a2m_split_load(split, "test", &d, &te, &nte)) {
        fprintf(stderr, "bench_train: %s\n", a2m_errmsg());
        return 1;
    }
    a2m_train_params p = a2m_train_default_params();
    p.class_weight_power = 0; /* the original's recipe: plain cross-entropy */
    p.threads = 2;
    p.epochs = 3;
    a2m_model *m;
    a2m_train_result res;
    rc = a2m_train(&d, tr, ntr, NULL, 0, p, on_epoch, NULL, &m, &res);
    if (rc) {
        fprintf(stderr, "bench_train: %s\n", a2m_errmsg());
        return 1;
    }
    printf("train_epoch_s %.2f  (210 takes, batch 8, hidden 128, 2 threads; PyTorch 1.13 ~55 s: %.1fx faster; target "
           "<= 11 s)\n",
           res.seconds_per_epoch, 55.0 / res.seconds_per_epoch);
    printf("train_peak_rss_mb %.0f\n", peak_rss_mb());
    printf("train_rss_mb_after_each_epoch");
    for (int i = 0; i < n_epoch_rss; i++) printf(" %.1f", epoch_rss[i]);
    printf("  (growth epoch 2 -> %d: %.1f MB)\n", n_epoch_rss,
           n_epoch_rss > 1 ? epoch_rss[n_epoch_rss - 1] - epoch_rss[1] : 0.0);

    /* inference: one 4 s take, one thread */
    a2m_runner *r;
    a2m_runner_new(m, runner_params(1, 666, A2M_PRECISION_FP32), &r);
    float *x = malloc(666 * 252 * sizeof *x), *logits = malloc(666 * 4 * sizeof *logits);
    for (size_t i = 0; i < 666 * 252; i++) x[i] = (d.features[i] - (float)d.mean) / (float)d.std;
    double best = 1e9;
    for (int rep = 0; rep < 20; rep++) {
        t0 = now();
        a2m_runner_forward(r, x, 1, 666, logits);
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("crnn_inference_ms_per_take %.2f  (one thread; target <= 5 ms)\n", 1e3 * best);
    a2m_runner_del(r);
    a2m_model_del(m);
    free(x), free(logits);

    if (full) {
        p.epochs = 50;
        p.threads = 2;
        t0 = now();
        rc = a2m_train(&d, tr, ntr, va, nva, p, NULL, NULL, &m, &res);
        if (rc) return 1;
        size_t frames = 0;
        for (size_t i = 0; i < nte; i++) frames += d.offsets[te[i] + 1] - d.offsets[te[i]];
        int64_t *pred = malloc(frames * sizeof *pred), *truth = malloc(frames * sizeof *truth);
        a2m_model_predict_takes(m, &d, te, nte, 2, pred, NULL);
        size_t pos = 0;
        for (size_t i = 0; i < nte; i++) {
            size_t len = d.offsets[te[i] + 1] - d.offsets[te[i]];
            memcpy(truth + pos, d.labels + d.offsets[te[i]], len * sizeof *truth);
            pos += len;
        }
        a2m_frame_metrics fm;
        a2m_frame_metrics_compute(truth, pred, frames, 4, &fm);
        printf("full_training_s %.0f, best epoch %d of %d, val accuracy %.4f\n", now() - t0, res.best_epoch,
               res.epochs_run, res.best_val_accuracy);
        printf("test_frame_accuracy %.4f  macro F1 %.4f  (target >= 0.93; PyTorch 0.925-0.93)\n", fm.accuracy,
               fm.f1_macro);
        free(pred), free(truth);
        a2m_model_del(m);
    }
    free(tr), free(va), free(te);
    a2m_dataset_free(&d);
    return 0;
}
