/* The same short training gives the same losses in every build: a CRNN
 * trained at --lr 0.01 for 6 epochs on a synthetic dataset whose features are
 * 40x the normalised scale (so LSTM gate pre-activations pass -100, where the
 * -ffast-math sigmoid of release builds was NaN and training "diverged"),
 * one thread, per-epoch train and val losses compared with
 * tests/numerics_builds.ref (written by the release build) within 1e-4
 * relative. The release and the ASan+UBSan builds both run this test, so they
 * must agree with each other. The losses agree bit for bit between -O0 and
 * -O3 here (no reassociation anywhere). OpenBLAS picks its kernels by CPU model,
 * or as $OPENBLAS_CORETYPE says, and at lr 0.01 the training amplifies their
 * last-bit differences (a machine whose environment sets OPENBLAS_CORETYPE=
 * Haswell ended 1.9% away from the SkylakeX kernels that wrote the file), so the
 * test runs itself again with OPENBLAS_CORETYPE=SkylakeX on any CPU with AVX-512
 * (then 2e-9 apart); without AVX-512 it checks finiteness and learning only. Regenerate the file
 * after a deliberate change of training numerics:
 * A2M_WRITE_REF=tests/numerics_builds.ref test_numerics_builds */
#include <stdlib.h>
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/train.h"
#include "check.h"
#include "synth_dataset.h"

enum { TAKES = 8, FRAMES = 48, BINS = 12, EPOCHS = 6 };
#define REL_TOL 1e-4

typedef struct losses {
    int n;
    double train[EPOCHS], val[EPOCHS];
} losses;

static int on_epoch(void *user, const a2m_train_epoch *e) {
    losses *l = user;
    if (e->done && l->n < EPOCHS) l->train[l->n] = e->train_loss, l->val[l->n] = e->val_loss, l->n++;
    return 0;
}

static int train(losses *l) {
    a2m_dataset d;
    make_synth_dataset(&d, TAKES, FRAMES, BINS);
    for (size_t i = 0; i < d.total_frames * BINS; i++) d.features[i] *= 40.0f;
    a2m_train_params p = a2m_train_default_params();
    p.hidden = 16, p.batch = 2, p.epochs = EPOCHS, p.lr = 0.01, p.seed = 7, p.patience = 100, p.threads = 1;
    size_t tr[6] = {0, 1, 2, 3, 4, 5}, va[2] = {6, 7};
    a2m_model *m = NULL;
    memset(l, 0, sizeof *l);
    int rc = a2m_train(&d, tr, 6, va, 2, p, on_epoch, l, &m, NULL);
    CHECK(rc == A2M_OK, "training: %s", a2m_errmsg());
    a2m_model_del(m);
    a2m_dataset_free(&d);
    return rc;
}

static int write_ref(const char *path, const losses *l) {
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    fprintf(f, "epoch,train_loss,val_loss\n");
    for (int i = 0; i < l->n; i++) fprintf(f, "%d,%.9g,%.9g\n", i + 1, l->train[i], l->val[i]);
    return fclose(f) != 0;
}

static int read_ref(const char *path, losses *l) {
    memset(l, 0, sizeof *l);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    char line[256];
    if (!fgets(line, sizeof line, f)) l->n = -1;
    int e;
    while (l->n >= 0 && l->n < EPOCHS && fscanf(f, "%d,%lf,%lf", &e, &l->train[l->n], &l->val[l->n]) == 3) l->n++;
    fclose(f);
    return l->n != EPOCHS;
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-12); }

/* Runs this program again with OpenBLAS's kernels pinned to SkylakeX's (read by OpenBLAS when it loads, before
 * main) where the CPU has what they need; returns 0 when the kernels are pinned, 1 when they cannot be. */
static int pin_blas_kernels(char **argv) {
    const char *core = getenv("OPENBLAS_CORETYPE");
    if (core && !strcmp(core, "SkylakeX")) return 0;
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")))
        return 1;
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1); /* also over a setting of the machine's (one sets Haswell) */
    execv("/proc/self/exe", argv);
    return 1; /* exec failed: run with the kernels OpenBLAS chose */
}

int main(int argc, char **argv) {
    (void)argc;
    int unpinned = pin_blas_kernels(argv);
    losses got, ref;
    if (train(&got)) return test_done("test_numerics_builds");
    CHECK(got.n == EPOCHS, "%d epochs reported", got.n);
    for (int i = 0; i < got.n; i++)
        CHECK(isfinite(got.train[i]) && isfinite(got.val[i]), "epoch %d losses finite: %g %g", i + 1, got.train[i],
              got.val[i]);
    CHECK(got.n == EPOCHS && got.train[EPOCHS - 1] < 0.5 * got.train[0], "learns: train loss %g -> %g", got.train[0],
          got.train[EPOCHS - 1]);
    const char *out = getenv("A2M_WRITE_REF");
    if (out) {
        CHECK(write_ref(out, &got) == 0, "write %s", out);
        return test_done("test_numerics_builds");
    }
    if (unpinned) {
        printf("no AVX-512: OpenBLAS's kernels not pinned to SkylakeX, the losses not compared with the file\n");
        return test_done("test_numerics_builds");
    }
    const char *src = getenv("A2M_SOURCE");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/numerics_builds.ref", src ? src : ".");
    int unreadable = read_ref(path, &ref);
    CHECK(!unreadable, "reference %s readable with %d epochs (A2M_SOURCE set?)", path, EPOCHS);
    if (unreadable) return test_done("test_numerics_builds");
    double worst = 0;
    for (int i = 0; i < EPOCHS && i < got.n; i++) {
        double dt = rel(got.train[i], ref.train[i]), dv = rel(got.val[i], ref.val[i]);
        CHECK(dt <= REL_TOL && dv <= REL_TOL, "epoch %d: train %.9g vs %.9g, val %.9g vs %.9g", i + 1, got.train[i],
              ref.train[i], got.val[i], ref.val[i]);
        worst = fmax(worst, fmax(dt, dv));
    }
    printf("per-epoch losses vs %s: max relative difference %.3g (tolerance %g)\n", path, worst, REL_TOL);
    return test_done("test_numerics_builds");
}
