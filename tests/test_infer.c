/* The inference-only CRNN forward (src/nn/crnn_infer.c, lstm_infer.c) equals
 * the training forward (max abs logit difference <= 1e-4) on random weights
 * and inputs, for several batch sizes and lengths, with and without padding;
 * unsupported shapes fall back to the training forward in runners. */
#include "a2m/error.h"
#include "a2m/model.h"
#include "check.h"
#include "model_check.h"
#include <string.h>
#include <unistd.h>
#include "nn/arch.h"
#include "nn/infer.h"

static unsigned long long rs = 88172645463325252ull;
static float frand(void) { /* uniform [-1, 1) */
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (float)((rs >> 40) / 8388608.0 - 1.0);
}

static double compare(a2m_model *m, crnn_infer *s, int B, int T, const int *lengths) {
    int F = m->info.n_bins, C = m->info.n_classes;
    size_t n = (size_t)B * T;
    float *x = malloc(n * F * sizeof *x), *z0 = malloc(n * C * sizeof *z0), *z1 = malloc(n * C * sizeof *z1);
    for (size_t i = 0; i < n * F; i++) x[i] = 2.0f * frand(); /* padding frames hold values too */
    nn_buffers buf = {.acts = malloc(m->arch->act_floats(m, B, T) * sizeof(float)), .max_batch = B, .max_frames = T};
    m->arch->forward(m, m->params, &buf, x, lengths, B, T, z0, 1, 0);
    for (size_t i = 0; i < n * C; i++) z1[i] = NAN;
    crnn_infer_forward(s, x, lengths, B, T, z1);
    double md = 0;
    for (size_t i = 0; i < n * C; i++) md = fmax(md, isnan(z1[i]) ? INFINITY : fabs((double)z0[i] - z1[i]));
    free(x), free(z0), free(z1), free(buf.acts);
    return md;
}

static void test_parity(int n_bins, int hidden, float weight_gain, int isa) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = n_bins, in.hidden = hidden;
    a2m_model *m;
    CHECK(nn_model_create("crnn", &in, &m) == A2M_OK, "create");
    m->arch->init(m, m->params, 11);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] *= weight_gain; /* saturate gates more than the init does */
    int maxB = 8, maxT = 150;
    crnn_infer *s = crnn_infer_new(m, m->params, maxB, maxT);
    CHECK(s != NULL, "inference state for hidden %d", hidden);
    if (!s) return;
    crnn_infer_cap_isa(s, isa);
    const int Bs[] = {1, 2, 3, 8}, Ts[] = {1, 2, 7, 64, 65, 150};
    double worst = 0;
    for (size_t bi = 0; bi < sizeof Bs / sizeof *Bs; bi++)
        for (size_t ti = 0; ti < sizeof Ts / sizeof *Ts; ti++) {
            int B = Bs[bi], T = Ts[ti];
            double d = compare(m, s, B, T, NULL);
            CHECK(d <= 1e-4, "B %d T %d: max abs diff %.3g", B, T, d);
            worst = fmax(worst, d);
            int len[8];
            for (int b = 0; b < B; b++) len[b] = b == 0 ? T : 1 + (int)((frand() + 1.0f) * 0.5f * T) % T;
            d = compare(m, s, B, T, len);
            CHECK(d <= 1e-4, "B %d T %d padded: max abs diff %.3g", B, T, d);
            worst = fmax(worst, d);
        }
    printf("bins %d hidden %d gain %.1f: inference vs training forward max abs logit diff %.3g\n", n_bins, hidden,
           weight_gain, worst);
    crnn_infer_del(s);
    a2m_model_del(m);
}

/* hidden % 8 != 0: no inference state; the runner uses the training forward */
static void test_fallback(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 6, in.hidden = 3;
    a2m_model *m;
    CHECK(nn_model_create("crnn", &in, &m) == A2M_OK, "create");
    m->arch->init(m, m->params, 3);
    CHECK(crnn_infer_new(m, m->params, 2, 10) == NULL, "hidden 3 unsupported");
    a2m_runner *r;
    CHECK(a2m_runner_new(m, runner_params(2, 10, A2M_PRECISION_FP32), &r) == A2M_OK, "runner");
    float x[2 * 10 * 6], z[2 * 10 * 4];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = frand();
    CHECK(a2m_runner_forward(r, x, 2, 10, z) == A2M_OK, "forward");
    int finite = 1;
    for (size_t i = 0; i < sizeof z / sizeof *z; i++) finite &= isfinite(z[i]) != 0;
    CHECK(finite, "finite logits");
    a2m_runner_del(r);
    a2m_model_del(m);
}

/* An onset-head model (train --onset-head): the file records it (metadata onset_head), a file saying so without an
 * onset class is refused naming the file, and the packed runner gives the same p(onset) = sigmoid(logit) and pitch
 * softmax as the training forward. */
static void test_onset_head(void) {
    enum { F = 20, C = 6, B = 2, T = 40 };
    a2m_model_info in = nn_model_default_info();
    in.n_bins = F, in.hidden = 16, in.n_classes = C, in.onset_head = 1;
    const int notes[C] = {-1, 60, 61, 62, A2M_CLASS_ONSET, A2M_CLASS_BELOW};
    memcpy(in.class_notes, notes, sizeof notes);
    a2m_model *m0, *m;
    CHECK(nn_model_create("crnn", &in, &m0) == A2M_OK, "create");
    m0->arch->init(m0, m0->params, 5);
    for (size_t i = 0; i < m0->n_params; i++) m0->params[i] *= 3.0f;
    const char *tmp = test_tmp("onset_head.safetensors");
    CHECK(nn_model_save(m0, m0->params, tmp) == A2M_OK, "save");
    CHECK(a2m_model_load(tmp, NULL, &m) == A2M_OK, "load: %s", a2m_errmsg());
    CHECK(m->info.onset_head == 1 && nn_onset_class(&m->info) == 4, "onset head read back (%d)", m->info.onset_head);
    float x[B * T * F], z0[B * T * C], z1[B * T * C], p0[B * T * C], p1[B * T * C];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = 2.0f * frand();
    nn_buffers buf = {.acts = malloc(m->arch->act_floats(m, B, T) * sizeof(float)), .max_batch = B, .max_frames = T};
    m->arch->forward(m, m->params, &buf, x, NULL, B, T, z0, 1, 0);
    a2m_runner *r;
    crnn_infer *probe = crnn_infer_new(m, m->params, B, T); /* the runner's packed path exists for this shape */
    CHECK(a2m_runner_new(m, runner_params(B, T, A2M_PRECISION_FP32), &r) == A2M_OK && probe != NULL, "packed runner");
    crnn_infer_del(probe);
    CHECK(a2m_runner_forward(r, x, B, T, z1) == A2M_OK, "runner forward");
    a2m_model_probs(&m->info, z0, (size_t)B * T, p0);
    a2m_model_probs(&m->info, z1, (size_t)B * T, p1);
    double d_on = 0, d_sig = 0, d_sum = 0, lo = 1, hi = 0;
    for (int i = 0; i < B * T; i++) {
        double s = 0, sg = 1.0 / (1.0 + exp(-(double)z0[i * C + 4]));
        for (int c = 0; c < C; c++) s += c == 4 ? 0 : p1[i * C + c];
        d_on = fmax(d_on, fabs((double)p0[i * C + 4] - p1[i * C + 4]));
        d_sig = fmax(d_sig, fabs(p0[i * C + 4] - sg)), d_sum = fmax(d_sum, fabs(s - 1));
        lo = fmin(lo, p0[i * C + 4]), hi = fmax(hi, p0[i * C + 4]);
    }
    printf("onset head: packed vs training forward p(onset) max diff %.3g (p(onset) %.3f..%.3f)\n", d_on, lo, hi);
    CHECK(d_on <= 1e-5, "p(onset) of the packed runner vs the training forward: %.3g", d_on);
    CHECK(d_sig <= 1e-6 && d_sum <= 1e-5, "p(onset) is the sigmoid (%.3g), the other classes sum to 1 (%.3g)", d_sig,
          d_sum);
    CHECK(hi - lo > 0.2, "p(onset) varies over frames (%.3f..%.3f)", lo, hi);
    a2m_runner_del(r);
    free(buf.acts);
    a2m_model_del(m);
    /* onset_head = 1 without an onset class: refused, naming the file */
    m0->info.class_notes[4] = 63;
    CHECK(nn_model_save(m0, m0->params, tmp) == A2M_OK, "save");
    CHECK(a2m_model_load(tmp, NULL, &m) == A2M_ERR_FORMAT && strstr(a2m_errmsg(), tmp) &&
              strstr(a2m_errmsg(), "onset_head"),
          "no onset class refused: %s", a2m_errmsg());
    /* without the key (every older model file): no onset head */
    m0->info.onset_head = 0, m0->info.class_notes[4] = A2M_CLASS_ONSET;
    CHECK(nn_model_save(m0, m0->params, tmp) == A2M_OK, "save");
    CHECK(a2m_model_load(tmp, NULL, &m) == A2M_OK && m->info.onset_head == 0, "no key: no onset head");
    a2m_model_del(m);
    a2m_model_del(m0);
    unlink(tmp);
}

int main(void) {
    test_onset_head();
    test_parity(252, 128, 1.0f, 2);
    test_parity(252, 128, 4.0f, 2);
    test_parity(20, 16, 3.0f, 2);
    test_parity(20, 24, 3.0f, 2);              /* 4H % 64 != 0: the projection is a GEMM */
    for (int level = 1; level >= 0; level--) { /* the AVX2 and scalar kernels too */
        printf("kernels up to level %d (0 scalar, 1 AVX2)\n", level);
        test_parity(252, 128, 4.0f, level);
        test_parity(20, 16, 3.0f, level);
    }
    test_fallback();
    /* $A2M_ISA caps the kernel level runners are made with (0 scalar, 1 AVX2, 2 AVX-512); anything else is ignored */
    int native = infer_isa_level();
    setenv("A2M_ISA", "0", 1);
    CHECK(infer_isa_level() == 0, "A2M_ISA=0: level %d", infer_isa_level());
    setenv("A2M_ISA", "7", 1);
    CHECK(infer_isa_level() == native, "A2M_ISA=7 ignored: level %d", infer_isa_level());
    unsetenv("A2M_ISA");
    return test_done("test_infer");
}
