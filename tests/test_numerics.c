/* Every activation is finite for every finite input, in every build (the
 * release build once compiled layers.c with -ffast-math, where
 * 1/(1+expf(-x)) was NaN for x <= -100 and training diverged at --lr 0.01):
 *   - nn_expf / nn_sigmoidf / nn_tanhf at 0, denormals, +-1e-4 .. +-1e30,
 *     +-FLT_MAX, +-inf: finite, in range, and within 3e-7 (relative) of libm
 *     on a dense sweep; NaN stays NaN; the AVX-512 nn_exp16 (vexp512.h) and
 *     the sigmoid/tanh the LSTM kernels build on it, at the same values;
 *   - the loops that use them: softmax_rows and the cross-entropy on logits
 *     of +-FLT_MAX, the training BiLSTM forward/backward and the inference
 *     BiLSTM (every kernel level) on pre-activations of +-1e30 and +-FLT_MAX;
 *   - a whole CRNN (training forward, fp32 inference at every kernel level,
 *     bf16 where the CPU has it) on inputs 1e4 times the training scale;
 *   - the CQT's dB of powers 0, denormal, FLT_MAX and inf. */
#include <float.h>
#include <stdint.h>

#include "a2m/cqt.h"
#include "a2m/error.h"
#include "a2m/model.h"
#include "check.h"
#include "nn/arch.h"
#include "nn/infer.h"
#include "nn/layers.h"

#define N_OF(a) (sizeof(a) / sizeof *(a))

static const float extremes[] = {0.0f,   -0.0f,  1e-45f, -1e-45f, 1e-30f,   -1e-30f,  1e-4f,
                                 -1e-4f, 0.5f,   -0.5f,  0.625f,  -0.625f,  1.0f,     -1.0f,
                                 10.0f,  -10.0f, 88.0f,  -88.0f,  100.0f,   -100.0f,  1e4f,
                                 -1e4f,  1e30f,  -1e30f, FLT_MAX, -FLT_MAX, INFINITY, -INFINITY};

static unsigned long long rs = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* uniform [-1, 1) */
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (float)((rs >> 40) / 8388608.0 - 1.0);
}

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

static void test_scalar_extremes(void) {
    for (size_t i = 0; i < N_OF(extremes); i++) {
        float x = extremes[i], e = nn_expf(x), s = nn_sigmoidf(x), t = nn_tanhf(x);
        CHECK(isfinite(e) && e > 0.0f, "exp(%g) = %g", x, e);
        CHECK(isfinite(s) && s >= 0.0f && s <= 1.0f, "sigmoid(%g) = %g", x, s);
        CHECK(isfinite(t) && t >= -1.0f && t <= 1.0f, "tanh(%g) = %g", x, t);
    }
    CHECK(nn_sigmoidf(-FLT_MAX) < 1e-37f && nn_sigmoidf(FLT_MAX) == 1.0f, "sigmoid saturates: %g %g",
          nn_sigmoidf(-FLT_MAX), nn_sigmoidf(FLT_MAX));
    CHECK(nn_tanhf(-1e30f) == -1.0f && nn_tanhf(1e30f) == 1.0f, "tanh saturates: %g %g", nn_tanhf(-1e30f),
          nn_tanhf(1e30f));
    CHECK(nn_tanhf(-0.0f) == 0.0f && nn_tanhf(1e-30f) == 1e-30f, "tanh of tiny x is x");
    CHECK(isnan(nn_expf(NAN)) && isnan(nn_sigmoidf(NAN)) && isnan(nn_tanhf(NAN)), "NaN stays NaN");
}

/* relative error against double libm on a dense sweep (exp inside its unclamped range) */
static void test_accuracy(void) {
    double we = 0, ws = 0, wt = 0;
    for (int i = -870000; i <= 880000; i++) {
        float x = (float)i * 1e-4f;
        double e = exp((double)x), s = 1.0 / (1.0 + exp(-(double)x)), t = tanh((double)x);
        we = fmax(we, fabs(nn_expf(x) - e) / e);
        ws = fmax(ws, fabs(nn_sigmoidf(x) - s) / s);
        if (x != 0.0f) wt = fmax(wt, fabs(nn_tanhf(x) - t) / fabs(t));
    }
    printf("max relative error over [-87, 88] step 1e-4: exp %.3g, sigmoid %.3g, tanh %.3g\n", we, ws, wt);
    CHECK(we < 3e-7 && ws < 3e-7 && wt < 3e-7, "relative errors %.3g %.3g %.3g >= 3e-7", we, ws, wt);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "nn/vexp512.h"
/* the AVX-512 exp of the fp32 and bf16 LSTM kernels, and their sigmoid and tanh built on it */
__attribute__((target("avx512f"))) static void exp16_extremes(float *e, float *s, float *t, const float *x) {
    __m512 v = _mm512_loadu_ps(x), one = _mm512_set1_ps(1.0f);
    _mm512_storeu_ps(e, nn_exp16(v));
    _mm512_storeu_ps(s, _mm512_div_ps(one, _mm512_add_ps(one, nn_exp16(_mm512_sub_ps(_mm512_setzero_ps(), v)))));
    __m512 e2 = nn_exp16(_mm512_mul_ps(v, _mm512_set1_ps(-2.0f)));
    _mm512_storeu_ps(t, _mm512_sub_ps(_mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(one, e2)), one));
}
static void test_exp16(void) {
    if (!__builtin_cpu_supports("avx512f")) {
        printf("no avx512f: nn_exp16 not checked\n");
        return;
    }
    for (size_t i0 = 0; i0 < N_OF(extremes); i0 += 16) {
        float x[16], e[16], s[16], t[16];
        for (int k = 0; k < 16; k++) x[k] = extremes[(i0 + k) % N_OF(extremes)];
        exp16_extremes(e, s, t, x);
        for (int k = 0; k < 16; k++)
            CHECK(isfinite(e[k]) && e[k] > 0 && s[k] >= 0 && s[k] <= 1 && t[k] >= -1 && t[k] <= 1,
                  "AVX-512 exp/sigmoid/tanh(%g) = %g %g %g", x[k], e[k], s[k], t[k]);
    }
}
#else
static void test_exp16(void) {}
#endif

static void test_softmax_xent(void) {
    enum { N = 4, C = 4 };
    const float z[N * C] = {FLT_MAX, -FLT_MAX, 0.0f,    1e30f, -FLT_MAX, -FLT_MAX, -FLT_MAX, -1e30f,
                            1e-45f,  0.0f,     -1e-45f, 88.0f, -100.0f,  100.0f,   -1e4f,    1e4f};
    const int64_t y[N] = {1, 3, 0, 2};
    float p[N * C], dz[N * C];
    softmax_rows(p, z, N, C);
    CHECK(all_finite(p, N * C), "softmax finite");
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += p[n * C + c];
        CHECK(fabs(s - 1.0) < 1e-6, "row %d sums to %.9g", n, s);
    }
    CHECK(p[0] == 1.0f && p[7] == 1.0f && p[15] == 1.0f, "the largest logit takes it all: %g %g %g", p[0], p[7], p[15]);
    double w;
    double loss = softmax_xent_smooth_forward_backward(dz, z, y, NULL, 0.0, 0.1, NULL, 0.0, N, C, &w);
    CHECK(isfinite(loss) && all_finite(dz, N * C), "smoothed cross-entropy finite: %g", loss);
    loss = softmax_xent_forward_backward(dz, z, y, NULL, 2.0, N, C, &w);
    CHECK(isfinite(loss) && all_finite(dz, N * C), "focal loss finite: %g", loss);
}

/* one input feature, so x * w_ih reaches +-FLT_MAX without summing to inf */
enum { LB = 2, LT = 5, LH = 16 };
static float lw[2][4 * LH * LH + 4 * LH * 1 + 8 * LH];
static void test_lstm_extremes(void) {
    lstm_weights w[2];
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < N_OF(lw[d]); i++) lw[d][i] = frand();
        float *p = lw[d];
        w[d] = (lstm_weights){p, p + 4 * LH, p + 4 * LH + 4 * LH * LH, p + 4 * LH + 4 * LH * LH + 4 * LH};
    }
    for (int i = 0; i < 4 * LH; i++) /* w_ih in {-1, 1}: pre-activations of exactly +-x */
        lw[0][i] = lw[0][i] < 0 ? -1.0f : 1.0f, lw[1][i] = lw[1][i] < 0 ? -1.0f : 1.0f;
    const float xs[LB * LT] = {1e30f, -1e30f, FLT_MAX, -FLT_MAX, 100.0f, -100.0f, 0.0f, 1e-45f, -88.0f, 88.0f};
    float out[LB * LT * 2 * LH], dout[LB * LT * 2 * LH], din[LB * LT];
    float *cache = malloc(lstm_cache_floats(LB, LT, 1, LH) * sizeof *cache);
    float *scratch = malloc(lstm_scratch_floats(LB, LT, 1, LH) * sizeof *scratch);
    static float gmem[2][N_OF(lw[0])];
    lstm_grads g[2];
    for (int d = 0; d < 2; d++) {
        float *p = gmem[d];
        g[d] = (lstm_grads){p, p + 4 * LH, p + 4 * LH + 4 * LH * LH, p + 4 * LH + 4 * LH * LH + 4 * LH};
    }
    bilstm_forward(out, xs, w, NULL, cache, LB, LT, 1, LH, 1);
    float hmax = 0;
    for (size_t i = 0; i < N_OF(out); i++) hmax = fmaxf(hmax, fabsf(out[i]));
    CHECK(all_finite(out, N_OF(out)) && hmax <= 1.0f, "training BiLSTM output finite, |h| <= 1: %g", hmax);
    for (size_t i = 0; i < N_OF(dout); i++) dout[i] = frand();
    memset(din, 0, sizeof din);
    bilstm_backward(din, g, dout, xs, w, NULL, cache, scratch, LB, LT, 1, LH, 1);
    CHECK(all_finite(din, N_OF(din)) && all_finite(gmem[0], N_OF(gmem[0])) && all_finite(gmem[1], N_OF(gmem[1])),
          "training BiLSTM gradients finite");
    /* the inference recurrence with the output layer fused, every kernel level */
    lstm_infer_w pk;
    CHECK(lstm_infer_pack(&pk, w, 1, LH) == 0, "pack");
    float fc_w[4 * 2 * LH], fc_b[4], xt[LT * LB], z[3][LB * LT * 4];
    for (size_t i = 0; i < N_OF(fc_w); i++) fc_w[i] = frand();
    for (int i = 0; i < 4; i++) fc_b[i] = frand();
    for (int b = 0; b < LB; b++)
        for (int t = 0; t < LT; t++) xt[t * LB + b] = xs[b * LT + t];
    float *work = malloc(lstm_infer_work_floats(LB, 1, LH) * sizeof *work);
    for (int level = 0; level <= 2; level++) {
        bilstm_infer(&pk, xt, NULL, fc_w, fc_b, z[level], work, LB, LT, 4, level);
        CHECK(all_finite(z[level], N_OF(z[level])), "inference BiLSTM logits finite at kernel level %d", level);
    }
    double md = 0;
    for (size_t i = 0; i < N_OF(z[0]); i++) md = fmax(md, fmax(fabs(z[0][i] - z[1][i]), fabs(z[0][i] - z[2][i])));
    CHECK(md < 1e-4, "kernel levels agree on saturated gates: %g", md);
    lstm_infer_free(&pk);
    free(work), free(cache), free(scratch);
}

/* a CRNN on inputs 1e4 times the training scale (features normalised to ~N(0,1)) */
static void test_crnn_scaled_inputs(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 20, in.hidden = 16;
    a2m_model *m;
    CHECK(nn_model_create("crnn", &in, &m) == A2M_OK, "create");
    m->arch->init(m, m->params, 5);
    enum { B = 2, T = 40 };
    int F = in.n_bins, C = m->info.n_classes;
    float *x = malloc((size_t)B * T * F * sizeof *x), z[B * T * 8], p[B * T * 8];
    for (int i = 0; i < B * T * F; i++) x[i] = 1e4f * frand();
    nn_buffers buf = {.acts = malloc(m->arch->act_floats(m, B, T) * sizeof(float)), .max_batch = B, .max_frames = T};
    m->arch->forward(m, m->params, &buf, x, NULL, B, T, z, 1, 0);
    softmax_rows(p, z, B * T, C);
    CHECK(all_finite(z, (size_t)B * T * C) && all_finite(p, (size_t)B * T * C), "training forward finite");
    for (int level = 2; level >= 0; level--) {
        crnn_infer *s = crnn_infer_new(m, m->params, B, T);
        CHECK(s != NULL, "inference state");
        if (!s) break;
        crnn_infer_cap_isa(s, level);
        crnn_infer_forward(s, x, NULL, B, T, z);
        CHECK(all_finite(z, (size_t)B * T * C), "fp32 inference finite at kernel level %d", level);
        crnn_infer_del(s);
    }
    crnn_infer *s = crnn_infer_new_ex(m, m->params, B, T, A2M_PRECISION_BF16);
    if (s && crnn_infer_precision(s) == A2M_PRECISION_BF16) {
        crnn_infer_forward(s, x, NULL, B, T, z);
        CHECK(all_finite(z, (size_t)B * T * C), "bf16 inference finite");
    } else {
        printf("bf16 path not available on this CPU: not checked\n");
    }
    crnn_infer_del(s);
    free(x), free(buf.acts);
    a2m_model_del(m);
}

static void test_cqt_db(void) {
    a2m_cqt_params p = a2m_cqt_default_params();
    p.n_bins = 3;
    const float pw[6] = {0.0f, 1e-45f, 1.0f, FLT_MAX, INFINITY, 1e-20f};
    float db[6];
    a2m_cqt_power_db(p, pw, 2, 2, db);
    CHECK(all_finite(db, 6), "dB finite: %g %g %g %g %g %g", db[0], db[1], db[2], db[3], db[4], db[5]);
    CHECK(fabsf(db[3] - 385.3f) < 0.1f && fabsf(db[4] - db[3]) < 0.1f && fabsf(db[0] - (db[3] - 80.0f)) < 1e-3f,
          "FLT_MAX: %g dB, inf like it, floor 80 dB below: %g", db[3], db[0]);
    p.top_db = 0; /* no floor: amin 1e-5 -> -100 dB */
    a2m_cqt_power_db(p, pw, 2, 2, db);
    CHECK(all_finite(db, 6) && fabsf(db[0] + 100.0f) < 1e-3f && fabsf(db[1] + 100.0f) < 1e-3f, "no floor: %g %g", db[0],
          db[1]);
}

int main(void) {
    test_scalar_extremes();
    test_accuracy();
    test_exp16();
    test_softmax_xent();
    test_lstm_extremes();
    test_crnn_scaled_inputs();
    test_cqt_db();
    return test_done("test_numerics");
}
