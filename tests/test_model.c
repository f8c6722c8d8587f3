/* Model files: the original project's PyTorch CRNN reproduces its logits;
 * save/load round trip; wrong architectures and shapes are clear errors;
 * the whole CRNN's gradient passes a finite-difference check; the typed binding
 * (crnn_bind, by table index) names the same tensors as a look-up by name. */
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/model.h"
#include "check.h"
#include "model_check.h"
#include "gradcheck.h"
#include "nn/arch.h"
#include "nn/crnn.h"
#include "nn/layers.h"
#include "nn/safetensors.h"

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void test_seed_parity(const char *shared) {
    char path[4096];
    snprintf(path, sizeof path, "%s/data/reference/seed_crnn/seed_crnn.safetensors", shared);
    a2m_model *m;
    CHECK(a2m_model_load(path, NULL, &m) == A2M_OK, "load seed: %s", a2m_errmsg());
    if (!m) return;
    const a2m_model_info *in = a2m_model_get_info(m);
    CHECK(!strcmp(in->arch, "crnn") && in->hidden == 128 && in->n_bins == 252 && in->n_classes == 4, "recognised crnn");
    a2m_runner *r;
    CHECK(a2m_runner_new(m, runner_params(1, 666, A2M_PRECISION_FP32), &r) == A2M_OK, "runner");
    const char *takes[] = {"voice_001", "voice_150", "voice_250"};
    double worst = 0;
    for (int i = 0; i < 3; i++) {
        a2m_array x, y;
        snprintf(path, sizeof path, "%s/data/reference/seed_crnn/%s_input.npy", shared, takes[i]);
        CHECK(a2m_npy_load(path, &x) == A2M_OK, "input");
        snprintf(path, sizeof path, "%s/data/reference/seed_crnn/%s_logits.npy", shared, takes[i]);
        CHECK(a2m_npy_load(path, &y) == A2M_OK, "logits");
        float logits[666 * 4];
        CHECK(a2m_runner_forward(r, x.data, 1, 666, logits) == A2M_OK, "forward");
        double d = max_abs_diff(logits, y.data, 666 * 4);
        if (d > worst) worst = d;
        a2m_array_free(&x), a2m_array_free(&y);
    }
    printf("seed CRNN vs PyTorch logits: max abs error %.3g\n", worst);
    CHECK(worst <= 1e-4, "max abs error %.3g", worst);
    a2m_runner_del(r);

    /* round trip through an a2m model file with metadata */
    const char *tmp = test_tmp("model.safetensors");
    a2m_model_info info = *in;
    CHECK(nn_model_save(m, m->params, tmp) == A2M_OK, "save");
    a2m_model *m2;
    CHECK(a2m_model_load(tmp, NULL, &m2) == A2M_OK, "reload: %s", a2m_errmsg());
    if (m2) {
        CHECK(memcmp(m->params, m2->params, m->n_params * sizeof(float)) == 0, "weights identical");
        CHECK(a2m_model_get_info(m2)->class_notes[3] == 67 && a2m_model_get_info(m2)->cqt.hop == info.cqt.hop,
              "metadata");
        a2m_model_del(m2);
    }
    /* bad inputs */
    CHECK(a2m_model_load(tmp, "unet-nonexistent", &m2) == A2M_ERR_ARCH, "unknown arch: %s", a2m_errmsg());
    snprintf(path, sizeof path, "%s/data/reference/seed_crnn/voice_001_input.npy", shared);
    CHECK(a2m_model_load(path, NULL, &m2) == A2M_ERR_FORMAT, "not a model: %s", a2m_errmsg());
    CHECK(a2m_model_load("/nonexistent.safetensors", NULL, &m2) == A2M_ERR_IO, "missing");
    a2m_model_info small = nn_model_default_info();
    small.hidden = 16;
    a2m_model *ms;
    nn_model_create("crnn", &small, &ms);
    nn_model_save(ms, ms->params, tmp);
    a2m_model_del(ms);
    uint8_t *buf;
    size_t len;
    a2m_read_file(tmp, &buf, &len, 1 << 30);
    /* truncations of a valid file must fail cleanly */
    int bad = 0;
    for (size_t cut = 0; cut < len; cut += len / 50 + 1) {
        st_file f;
        if (st_parse(buf, cut, "cut", &f) == A2M_OK) bad++, st_free(&f);
    }
    CHECK(bad == 0, "%d truncated files parsed", bad);
    free(buf);
    unlink(tmp);
    a2m_model_del(m);
}

/* whole-model gradient: loss = CE(logits) through the CRNN */
static a2m_model *gm;
static nn_buffers gbuf;
static float gx[2 * 5 * 6];
static int64_t glab[2 * 5] = {0, 1, 2, 3, -1, 3, 2, 1, 0, 0};
static int glen[2] = {5, 4};
static double model_loss(void *ctx) {
    (void)ctx;
    float logits[2 * 5 * 4];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, 2, 5, logits, 1, 1);
    int64_t lab[10];
    memcpy(lab, glab, sizeof lab);
    lab[9] = -1; /* padding frame of sequence 2 */
    return softmax_xent_forward_backward(NULL, logits, lab, NULL, 0, 10, 4, NULL);
}

static void test_model_gradient(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 6, in.hidden = 3;
    CHECK(nn_model_create("crnn", &in, &gm) == A2M_OK, "create");
    gm->arch->init(gm, gm->params, 7);
    for (size_t i = 0; i < sizeof gx / sizeof *gx; i++) gx[i] = (float)sin(1.7 * i);
    gbuf.acts = malloc(gm->arch->act_floats(gm, 2, 5) * sizeof(float));
    gbuf.scratch = malloc(gm->arch->scratch_floats(gm, 2, 5) * sizeof(float));
    float logits[40], dlogits[40];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, 2, 5, logits, 1, 1);
    int64_t lab[10];
    memcpy(lab, glab, sizeof lab);
    lab[9] = -1;
    softmax_xent_forward_backward(dlogits, logits, lab, NULL, 0, 10, 4, NULL);
    float *grads = calloc(gm->n_params, sizeof *grads);
    gm->arch->backward(gm, gm->params, grads, &gbuf, gx, glen, dlogits, 2, 5, 1);
    CHECK(gradcheck("crnn all parameters", gm->params, grads, gm->n_params, model_loss, NULL, 1e-2, 2e-2, 400) == 0,
          "crnn gradient");
    free(grads), free(gbuf.acts), free(gbuf.scratch);
    a2m_model_del(gm);
}

/* PyTorch state dicts carry BatchNorm's int64 step counter: skipped; other int64 tensors are refused. */
static void test_counter_tensor(void) {
    static const char *cases[3][2] = {
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}",
         "ok"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"steps\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}",
         "unsupported"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,20]}}",
         "format"}};
    for (int c = 0; c < 3; c++) {
        size_t hl = strlen(cases[c][0]), len = 8 + hl + 16;
        uint8_t *buf = calloc(len + 8, 1);
        for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
        memcpy(buf + 8, cases[c][0], hl);
        float w[2] = {1.5f, -2.0f};
        memcpy(buf + 8 + hl, w, sizeof w);
        int64_t steps = 1234;
        memcpy(buf + 8 + hl + 8, &steps, sizeof steps);
        st_file f;
        int rc = st_parse(buf, len, "counter", &f);
        if (c == 0) {
            CHECK(rc == A2M_OK && f.n == 1 && f.t[0].count == 2 && f.t[0].data[1] == -2.0f,
                  "num_batches_tracked skipped: %s", rc ? a2m_errmsg() : "");
            if (!rc) st_free(&f);
        } else {
            CHECK(rc == (c == 1 ? A2M_ERR_UNSUPPORTED : A2M_ERR_FORMAT), "%s int64 tensor refused: %d", cases[c][1],
                  rc);
        }
        free(buf);
    }
}

/* crnn_bind's pointers are the named tensors' (parameters and, at the same offsets, gradients). */
static void test_crnn_bind(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 6, in.hidden = 8, in.n_classes = 5;
    a2m_model *m = NULL;
    REQUIRE(nn_model_create("crnn", &in, &m) == A2M_OK, "create: %s", a2m_errmsg());
    float *grads = calloc(m->n_params, sizeof *grads);
    REQUIRE(grads, "out of memory");
    crnn_tensors w = crnn_bind(m, m->params), g = crnn_bind(m, grads);
    struct {
        const float *p;
        const char *name;
    } want[] = {{w.conv0_w, "conv.0.weight"},
                {w.conv0_b, "conv.0.bias"},
                {w.conv2_w, "conv.2.weight"},
                {w.conv2_b, "conv.2.bias"},
                {w.lstm.w_ih[0], "lstm.weight_ih_l0"},
                {w.lstm.b_hh[0], "lstm.bias_hh_l0"},
                {w.lstm.w_hh[1], "lstm.weight_hh_l0_reverse"},
                {w.lstm.b_ih[1], "lstm.bias_ih_l0_reverse"},
                {w.fc_w, "fc.weight"},
                {w.fc_b, "fc.bias"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK(want[i].p == m->params + nn_model_tensor(m, want[i].name)->offset, "crnn_bind %s", want[i].name);
    CHECK(g.fc_b - grads == w.fc_b - m->params && g.lstm.b_hh[1] - grads == w.lstm.b_hh[1] - m->params,
          "gradients at the parameters' offsets");
    CHECK(m->n_tensors == CRNN_N_TENSORS, "table of %d tensors", m->n_tensors);
    free(grads);
    a2m_model_del(m);
}

/* What import sets (a2m_model_set_norm / _classes / _summary): good values land and survive a save and load,
 * bad ones are refused with the model unchanged; a state dict (shared data) can run on audio once normalised. */
static void test_import_info(const char *shared) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 6, in.hidden = 8, in.n_classes = 4;
    a2m_model *m = NULL;
    REQUIRE(nn_model_create("crnn", &in, &m) == A2M_OK, "create: %s", a2m_errmsg());
    const int notes[3] = {48, 50, A2M_CLASS_ONSET};
    CHECK(a2m_model_set_norm(m, -41.5, 15.25) == A2M_OK, "norm: %s", a2m_errmsg());
    CHECK(a2m_model_set_classes(m, notes, 3, -12) == A2M_OK, "classes: %s", a2m_errmsg());
    CHECK(a2m_model_set_summary(m, "imported from x") == A2M_OK, "summary: %s", a2m_errmsg());
    const double bad_norm[][2] = {{NAN, 1}, {0, NAN}, {INFINITY, 1}, {0, 0}, {0, -1}, {1001, 1}, {0, 1e-7}};
    for (size_t i = 0; i < sizeof bad_norm / sizeof *bad_norm; i++)
        CHECK(a2m_model_set_norm(m, bad_norm[i][0], bad_norm[i][1]) == A2M_ERR_RANGE, "norm %g, %g refused",
              bad_norm[i][0], bad_norm[i][1]);
    const int far[3] = {48, 128, 52};
    CHECK(a2m_model_set_classes(m, notes, 2, 0) == A2M_ERR_SHAPE && strstr(a2m_errmsg(), "4 classes"),
          "2 notes for 4 classes: %s", a2m_errmsg());
    CHECK(a2m_model_set_classes(m, far, 3, 0) == A2M_ERR_RANGE, "note 128 refused");
    CHECK(a2m_model_set_classes(m, NULL, 0, 200) == A2M_ERR_RANGE, "transpose 200 refused");
    char longer[1100];
    memset(longer, 'x', sizeof longer - 1), longer[sizeof longer - 1] = 0;
    CHECK(a2m_model_set_summary(m, longer) == A2M_ERR_RANGE, "a summary over 1023 bytes refused");
    const char *tmp = test_tmp("import.safetensors");
    CHECK(a2m_model_save(m, tmp) == A2M_OK, "save: %s", a2m_errmsg());
    a2m_model_del(m);
    REQUIRE(a2m_model_load(tmp, NULL, &m) == A2M_OK, "reload: %s", a2m_errmsg());
    const a2m_model_info *got = a2m_model_get_info(m);
    CHECK(got->norm_mean == -41.5 && got->norm_std == 15.25 && got->transpose == -12 && got->class_notes[1] == 48 &&
              got->class_notes[3] == A2M_CLASS_ONSET && !strcmp(got->summary, "imported from x"),
          "set values kept through a refused change, a save and a load");
    CHECK(a2m_model_set_classes(m, NULL, -1, 3) == A2M_OK && got->transpose == 3 && got->class_notes[2] == 50,
          "notes NULL keeps the classes");
    a2m_model_del(m);
    unlink(tmp);
    if (!shared) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/data/reference/seed_crnn/seed_crnn.safetensors", shared);
    REQUIRE(a2m_model_load(path, NULL, &m) == A2M_OK, "load seed: %s", a2m_errmsg());
    CHECK(a2m_model_check_for_audio(m, path) == A2M_ERR_FORMAT, "a state dict has no normalisation");
    CHECK(a2m_model_set_norm(m, -41.0, 15.4) == A2M_OK && a2m_model_check_for_audio(m, path) == A2M_OK,
          "normalised, it runs on audio: %s", a2m_errmsg());
    a2m_model_del(m);
}

int main(void) {
    test_crnn_bind();
    test_counter_tensor();
    test_model_gradient();
    const char *shared = test_shared_dir();
    if (shared) test_seed_parity(shared);
    test_import_info(shared);
    return test_done("test_model");
}
