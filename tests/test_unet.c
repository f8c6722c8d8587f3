/* The unet architecture: finite-difference check of every tensor's gradient
 * through the whole model (training mode: batch statistics, dropout with a
 * fixed seed, T not a multiple of 4, a padded sequence); padding is exact in
 * eval mode; BatchNorm running statistics follow PyTorch's update and are
 * left alone by the optimiser; file round trip with PyTorch tensor names;
 * a short training on synthetic data lowers the loss. */
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/train.h"
#include "check.h"
#include "model_check.h"
#include "synth_dataset.h"
#include "gradcheck.h"
#include "nn/arch.h"
#include "nn/layers.h"
#include "nn/safetensors.h"

enum { GB = 2, GT = 11, GF = 6, GC = 4 };
static a2m_model *gm;
static nn_buffers gbuf;
static float gx[GB * GT * GF];
static int64_t glab[GB * GT];
static int glen[GB] = {GT, 8};

/* ctx: the loss scale (see test_gradient) */
static double model_loss(void *ctx) { return *(double *)ctx * model_xent(gm, &gbuf, gx, glab, glen, GB, GT, GC); }

static void test_gradient(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = GF, in.hidden = 3, in.n_classes = GC;
    CHECK(nn_model_create("unet", &in, &gm) == A2M_OK, "create unet: %s", a2m_errmsg());
    if (!gm) return;
    gm->arch->init(gm, gm->params, 5);
    /* BatchNorm affine parameters away from their 1/0 init so their gradients are not special */
    for (int i = 0; i < gm->n_tensors; i++) {
        const nn_tensor *t = &gm->tensors[i];
        if (t->ndim == 1 && strstr(t->name, ".1.") && !t->buffer)
            for (size_t k = 0; k < t->count; k++) gm->params[t->offset + k] += 0.3f * (float)sin(3.1 * k + i);
    }
    for (size_t i = 0; i < sizeof gx / sizeof *gx; i++) gx[i] = (float)sin(1.7 * i) + 0.3f * (float)cos(0.37 * i * i);
    for (int b = 0; b < GB; b++)
        for (int t = 0; t < GT; t++) glab[b * GT + t] = t < glen[b] ? (t * 3 + b) % GC : -1;
    alloc_buffers(gm, &gbuf, GB, GT);
    gbuf.dropout = 0.3f, gbuf.seed = 99;
    float *grads = model_grads(gm, &gbuf, gx, glab, glen, GB, GT, GC);
    /* The checker's error is relative to max(1, |gradient|): the loss is scaled per tensor so that the
     * tensor's largest gradient is 1, making every check relative to the tensor's gradient scale
     * (the gradients here are 1e-4 .. 1e-1, which an unscaled check would barely test). */
    int failed = 0;
    double worst_all = 0;
    for (int i = 0; i < gm->n_tensors; i++) {
        const nn_tensor *t = &gm->tensors[i];
        if (t->buffer) continue; /* running statistics do not enter a training forward */
        double mx = 0;
        for (size_t k = 0; k < t->count; k++) mx = fmax(mx, fabs(grads[t->offset + k]));
        CHECK(mx > 0, "%s has a gradient", t->name);
        double scale = mx > 0 ? 1.0 / mx : 1.0;
        float *g = malloc(t->count * sizeof *g);
        for (size_t k = 0; k < t->count; k++) g[k] = (float)(grads[t->offset + k] * scale);
        char what[96];
        snprintf(what, sizeof what, "unet %s", t->name);
        double worst;
        /* steps 1e-2, 1e-3, 3e-4 without the kink test: through a whole U-Net a parameter feeds many ReLU and
         * max-pool inputs; a step can carry one of them across its kink without the one-sided slopes differing
         * enough for the kink test, and a smaller step then removes the crossing */
        static const double steps[3] = {1e-2, 1e-3, 3e-4};
        int bad = gradcheck_steps(what, gm->params + t->offset, g, t->count, model_loss, &scale, steps, 3, 0, 2e-2, 12,
                                  &worst);
        if (worst > worst_all) worst_all = worst;
        failed += bad != 0;
        free(g);
    }
    printf("unet whole-model gradient check: worst relative error %.3g over all tensors\n", worst_all);
    CHECK(failed == 0, "%d unet tensors fail the gradient check", failed);
    free(grads);
}

/* eval mode: a take alone gives the same logits as padded in a batch with a longer one */
static void test_padding_exact(void) {
    if (!gm) return;
    /* running statistics away from 0/1 so eval mode is not the identity */
    for (int i = 0; i < gm->n_tensors; i++) {
        const nn_tensor *t = &gm->tensors[i];
        if (t->buffer)
            for (size_t k = 0; k < t->count; k++)
                gm->params[t->offset + k] =
                    strstr(t->name, "var") ? 0.5f + 0.4f * (float)sin(k + 1.0) : 0.1f * (float)cos(k * 1.3);
    }
    float batch[GB * GT * GC], alone[8 * GC];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, GB, GT, batch, 1, 0);
    nn_buffers b1;
    alloc_buffers(gm, &b1, 1, 8);
    int len8 = 8;
    gm->arch->forward(gm, gm->params, &b1, gx + GT * GF, &len8, 1, 8, alone, 1, 0);
    double d = 0;
    for (int k = 0; k < 8 * GC; k++) d = fmax(d, fabs(alone[k] - batch[GT * GC + k]));
    CHECK(d < 1e-5, "padded sequence differs from the same take alone by %.3g", d);
    /* and with lengths NULL (T = 8, a multiple of 4: no internal padding) */
    gm->arch->forward(gm, gm->params, &b1, gx + GT * GF, NULL, 1, 8, alone, 1, 0);
    d = 0;
    for (int k = 0; k < 8 * GC; k++) d = fmax(d, fabs(alone[k] - batch[GT * GC + k]));
    CHECK(d < 1e-5, "lengths NULL differs by %.3g", d);
    free(b1.acts), free(b1.scratch);
}

/* one training forward + update_buffers: running = 0.9 * running + 0.1 * batch statistic */
static void test_running_stats(void) {
    if (!gm) return;
    const nn_tensor *rm = nn_model_tensor(gm, "enc1.1.running_mean"), *rv = nn_model_tensor(gm, "enc1.1.running_var");
    CHECK(rm && rv && rm->buffer && rv->buffer && !nn_model_tensor(gm, "enc1.1.weight")->buffer, "buffer flags");
    if (!rm || !rv) return;
    for (size_t k = 0; k < rm->count; k++) gm->params[rm->offset + k] = 0.0f, gm->params[rv->offset + k] = 1.0f;
    float logits[GB * GT * GC];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, GB, GT, logits, 1, 1);
    gm->arch->update_buffers(gm, gm->params, &gbuf, GB, GT);
    /* recompute enc1's batch statistics of channel 5 by hand: conv (no bias) over the valid frames */
    const float *w = gm->params + nn_model_tensor(gm, "enc1.0.weight")->offset;
    int c = 5, n = 0;
    double s = 0, q = 0, vals[GB * GT];
    for (int b = 0; b < GB; b++)
        for (int t = 0; t < glen[b]; t++) {
            double y = 0;
            for (int ci = 0; ci < GF; ci++)
                for (int k = 0; k < 3; k++) {
                    int ts = t + k - 1;
                    if (ts >= 0 && ts < glen[b]) y += w[(c * GF + ci) * 3 + k] * gx[(b * GT + ts) * GF + ci];
                }
            vals[n++] = y, s += y;
        }
    double mean = s / n;
    for (int i = 0; i < n; i++) q += (vals[i] - mean) * (vals[i] - mean);
    CHECK_NEAR(gm->params[rm->offset + c], 0.1 * mean, 1e-5, "running mean after one step");
    CHECK_NEAR(gm->params[rv->offset + c], 0.9 + 0.1 * q / (n - 1), 1e-5, "running var (unbiased) after one step");
}

static void test_file_round_trip(void) {
    if (!gm) return;
    const char *tmp = test_tmp("unet.safetensors");
    CHECK(nn_model_save(gm, gm->params, tmp) == A2M_OK, "save");
    st_file f;
    CHECK(st_read(tmp, &f) == A2M_OK, "read back");
    const st_tensor *t = st_find(&f, "enc1.1.running_var");
    CHECK(t && t->count == 64, "running_var saved as a tensor");
    CHECK(st_find(&f, "enc1.0.weight") && st_find(&f, "up2.weight") && st_find(&f, "se.fc.0.weight") &&
              st_find(&f, "dec1.1.running_mean") && st_find(&f, "lstm.weight_hh_l0_reverse") && st_find(&f, "fc.bias"),
          "PyTorch-style names");
    const st_tensor *up = st_find(&f, "up1.weight");
    CHECK(up && up->ndim == 3 && up->shape[0] == 128 && up->shape[1] == 64 && up->shape[2] == 2,
          "ConvTranspose1d weight [Cin x Cout x K]");
    /* the same tensors without metadata: recognised as unet */
    st_out_tensor out[A2M_MAX_TENSORS];
    for (size_t i = 0; i < f.n; i++) {
        out[i].name = f.t[i].name, out[i].ndim = f.t[i].ndim, out[i].data = f.t[i].data;
        for (int d = 0; d < f.t[i].ndim; d++) out[i].shape[d] = f.t[i].shape[d];
    }
    const char *plain = test_tmp("unet_plain.safetensors");
    CHECK(st_write(plain, out, f.n, NULL) == A2M_OK, "plain state dict");
    st_free(&f);
    a2m_model *m2;
    CHECK(a2m_model_load(tmp, NULL, &m2) == A2M_OK, "load: %s", a2m_errmsg());
    if (m2) {
        CHECK(!strcmp(a2m_model_get_info(m2)->arch, "unet") && m2->n_params == gm->n_params &&
                  memcmp(m2->params, gm->params, gm->n_params * sizeof(float)) == 0,
              "identical after the round trip");
        a2m_model_del(m2);
    }
    CHECK(a2m_model_load(plain, NULL, &m2) == A2M_OK, "plain load: %s", a2m_errmsg());
    if (m2) {
        const a2m_model_info *i2 = a2m_model_get_info(m2);
        CHECK(!strcmp(i2->arch, "unet") && i2->n_bins == GF && i2->hidden == 3 && i2->n_classes == GC, "recognised");
        a2m_model_del(m2);
    }
    unlink(tmp), unlink(plain);
}

/* ---- smoke training ---- */
enum { TAKES = 6, FRAMES = 42, BINS = 8 };
static void make_dataset(a2m_dataset *d) { make_synth_dataset(d, TAKES, FRAMES, BINS); }

static void test_training(void) {
    a2m_dataset d;
    make_dataset(&d);
    size_t tr[4] = {0, 1, 2, 3}, va[2] = {4, 5};
    a2m_train_params p = a2m_train_default_params();
    p.arch = "unet", p.hidden = 8, p.batch = 2, p.epochs = 6, p.lr = 3e-3, p.seed = 1, p.patience = 100;
    p.window = 15; /* windows of 15 frames (not a multiple of 4) and a padded last one */
    a2m_model *m = NULL, *m2 = NULL;
    a2m_train_result r;
    CHECK(a2m_train(&d, tr, 4, va, 2, p, on_epoch, NULL, &m, &r) == A2M_OK, "unet trains: %s", a2m_errmsg());
    if (m) {
        printf("unet smoke training: train loss %.4f -> %.4f, best val accuracy %.3f\n", epoch_loss[0], epoch_loss[5],
               r.best_val_accuracy);
        CHECK(epoch_loss[5] < 0.7 * epoch_loss[0], "loss decreases: %.4f -> %.4f", epoch_loss[0], epoch_loss[5]);
        CHECK(r.best_val_accuracy > 0.5, "learns the synthetic task (val accuracy %.3f)", r.best_val_accuracy);
        const nn_tensor *rv = nn_model_tensor(m, "dec1.1.running_var");
        int moved = 0;
        for (size_t k = 0; k < rv->count; k++) moved += m->params[rv->offset + k] != 1.0f;
        CHECK(moved > 0, "running statistics were updated in training");
        /* the same seed gives the same weights (dropout masks and shuffles are seeded) */
        CHECK(a2m_train(&d, tr, 4, va, 2, p, NULL, NULL, &m2, NULL) == A2M_OK, "again");
        CHECK(m2 && memcmp(m->params, m2->params, m->n_params * sizeof(float)) == 0, "same seed, same weights");
        /* predictions use eval mode: deterministic, and equal to a runner's forward on a whole take */
        int64_t pred[FRAMES];
        size_t idx = 4;
        CHECK(a2m_model_predict_takes(m, &d, &idx, 1, 1, pred, NULL) == A2M_OK, "predict");
        a2m_runner *run;
        CHECK(a2m_runner_new(m, runner_params(1, FRAMES, A2M_PRECISION_FP32), &run) == A2M_OK, "runner");
        float x[FRAMES * BINS], logits[FRAMES * 4];
        for (int k = 0; k < FRAMES * BINS; k++) x[k] = (float)((d.features[4 * FRAMES * BINS + k] - d.mean) / d.std);
        a2m_runner_forward(run, x, 1, FRAMES, logits);
        int same = 0;
        for (int t = 0; t < FRAMES; t++) {
            int a = 0;
            for (int c = 1; c < 4; c++)
                if (logits[t * 4 + c] > logits[t * 4 + a]) a = c;
            same += a == pred[t];
        }
        CHECK(same == FRAMES, "runner and predict_takes agree on %d/%d frames", same, FRAMES);
        a2m_runner_del(run);
    }
    /* resume: 2 epochs, then 2 more from the checkpoint == 4 straight (running statistics and dropout masks
     * included) */
    check_resume(&d, tr, va, p, test_tmp("unet.ckpt"), NULL, "unet");
    p.dropout = 1.0;
    a2m_model *bad;
    CHECK(a2m_train(&d, tr, 4, va, 2, p, NULL, NULL, &bad, NULL) == A2M_ERR_ARG, "dropout 1 refused");
    a2m_model_del(m), a2m_model_del(m2);
    a2m_dataset_free(&d);
}

int main(void) {
    test_gradient();
    test_padding_exact();
    test_running_stats();
    test_file_round_trip();
    test_training();
    if (gm) free(gbuf.acts), free(gbuf.scratch), a2m_model_del(gm);
    return test_done("test_unet");
}
