/* U-Net layers: dropout, BatchNorm1d, MaxPool1d, ConvTranspose1d and
 * squeeze-excitation. Each gets hand-computed forward values (PyTorch's
 * equations where they matter) and a finite-difference check of every input
 * and parameter gradient. Loss = sum(out * R) for a fixed random R, so dout = R. */
#include <stdint.h>

#include "check.h"
#include "gradcheck.h"
#include "test_rand.h"
#include "nn/layers.h"

#define N_OF(a) (sizeof(a) / sizeof *(a))

/* ------------------------------------------------------------ dropout */
enum { DN = 64 };
static float d_in[DN], d_out[DN], d_mask[DN], d_r[DN];
static double drop_loss(void *ctx) {
    (void)ctx;
    dropout_forward(d_out, d_in, d_mask, DN, 0.4f, 42, 1);
    return dot(d_out, d_r, DN);
}
static void test_dropout(void) {
    fill(d_in, DN, 1), fill(d_r, DN, 1);
    /* eval is the identity */
    dropout_forward(d_out, d_in, d_mask, DN, 0.4f, 42, 0);
    CHECK(memcmp(d_out, d_in, sizeof d_in) == 0 && d_mask[0] == 1.0f && d_mask[DN - 1] == 1.0f, "eval = identity");
    /* train: every output is 0 or in / (1 - p), the same seed gives the same mask */
    drop_loss(NULL);
    int zeros = 0, bad = 0;
    for (int i = 0; i < DN; i++) {
        if (d_out[i] == 0.0f) zeros++;
        else if (fabsf(d_out[i] - d_in[i] / 0.6f) > 1e-6f) bad++;
    }
    CHECK(bad == 0 && zeros > 0 && zeros < DN, "kept values scaled by 1/(1-p): %d bad, %d zeros", bad, zeros);
    float m2[DN], o2[DN];
    dropout_forward(o2, d_in, m2, DN, 0.4f, 42, 1);
    CHECK(memcmp(m2, d_mask, sizeof m2) == 0, "same seed, same mask");
    dropout_forward(o2, d_in, m2, DN, 0.4f, 43, 1);
    CHECK(memcmp(m2, d_mask, sizeof m2) != 0, "another seed, another mask");
    /* the drop rate is p */
    enum { BIG = 100000 };
    float *x = malloc(BIG * sizeof *x), *mk = malloc(BIG * sizeof *mk);
    for (int i = 0; i < BIG; i++) x[i] = 1.0f;
    dropout_forward(x, x, mk, BIG, 0.3f, 7, 1); /* in place */
    double kept = 0;
    for (int i = 0; i < BIG; i++) kept += x[i];
    CHECK_NEAR(kept / BIG, 1.0, 0.01, "inverted dropout keeps the mean");
    int dropped = 0;
    for (int i = 0; i < BIG; i++) dropped += mk[i] == 0.0f;
    CHECK_NEAR(dropped / (double)BIG, 0.3, 0.01, "drop rate");
    free(x), free(mk);
    /* per sequence (the transcriber's Monte-Carlo windows): sequence b's mask is that of the sequence alone with
     * seed + b x step, whatever batch it is in; step 0 is the one-seed mask over the whole batch */
    enum { SB = 3, SN = DN / 3 };
    float ms[SB * SN], os[SB * SN], m1[SN], o1[SN];
    dropout_forward_seqs(os, d_in, ms, SB, SN, 0.4f, 42, 1000003, 1);
    int seq_ok = 1;
    for (int b = 0; b < SB; b++) {
        dropout_forward(o1, d_in + b * SN, m1, SN, 0.4f, 42 + (uint64_t)b * 1000003, 1);
        seq_ok &= !memcmp(m1, ms + b * SN, sizeof m1) && !memcmp(o1, os + b * SN, sizeof o1);
    }
    CHECK(seq_ok && memcmp(ms, ms + SN, sizeof m1), "sequence b's mask: seed + b step's, the sequences' differ");
    dropout_forward_seqs(os, d_in, ms, SB, SN, 0.4f, 42, 0, 1);
    CHECK(!memcmp(ms, d_mask, SB * SN * sizeof *ms), "step 0: the one-seed mask");
    /* gradient */
    drop_loss(NULL);
    float din[DN] = {0};
    dropout_backward(din, d_r, d_mask, DN);
    CHECK(gradcheck("dropout din", d_in, din, DN, drop_loss, NULL, 1e-2, 1e-3, 100) == 0, "dropout din");
}

/* --------------------------------------------------------- batchnorm */
enum { NB = 3, NT = 4, NC = 5 };
static float n_in[NB * NT * NC], n_out[NB * NT * NC], n_r[NB * NT * NC], n_w[NC], n_b[NC], n_rm[NC], n_rv[NC],
    n_save[2 * NC];
static int n_len[NB] = {NT, NT - 1, 2};
static int n_training;
static double bn_loss(void *ctx) {
    (void)ctx;
    batchnorm_forward(n_out, n_in, n_w, n_b, n_rm, n_rv, n_save, n_len, NB, NT, NC, 1e-5f, n_training);
    return dot(n_out, n_r, N_OF(n_out));
}
static void test_batchnorm_values(void) {
    /* B=2, T=2, C=2: channel 0 holds 1,2,3,6 (mean 3, biased var 3.5), channel 1 constant 4 */
    float x[8] = {1, 4, 2, 4, 3, 4, 6, 4}, y[8], w[2] = {2.0f, 1.0f}, b[2] = {0.5f, -1.0f};
    float rm[2] = {0.0f, 0.0f}, rv[2] = {1.0f, 1.0f}, save[4];
    size_t n = batchnorm_forward(y, x, w, b, rm, rv, save, NULL, 2, 2, 2, 1e-5f, 1);
    CHECK(n == 4, "4 frames counted");
    CHECK_NEAR(save[0], 3.0, 1e-6, "batch mean");
    CHECK_NEAR(save[2], 3.5, 1e-6, "biased batch var");
    CHECK_NEAR(y[0], (1 - 3) / sqrt(3.5 + 1e-5) * 2 + 0.5, 1e-5, "normalised value");
    CHECK_NEAR(y[6], (6 - 3) / sqrt(3.5 + 1e-5) * 2 + 0.5, 1e-5, "normalised value 2");
    CHECK_NEAR(y[1], -1.0, 1e-6, "constant channel -> bias");
    /* PyTorch: running_var = (1 - m) running_var + m * var_unbiased, var_unbiased = var * n / (n - 1) */
    batchnorm_update_running(rm, rv, save, n, 2, 0.1f);
    CHECK_NEAR(rm[0], 0.3, 1e-6, "running mean = 0.9*0 + 0.1*3");
    CHECK_NEAR(rv[0], 0.9 + 0.1 * 3.5 * 4.0 / 3.0, 1e-6, "running var uses the unbiased variance");
    CHECK_NEAR(rm[1], 0.4, 1e-6, "running mean channel 1");
    CHECK_NEAR(rv[1], 0.9, 1e-6, "running var of a constant channel");
    /* eval uses the running statistics */
    batchnorm_forward(y, x, w, b, rm, rv, save, NULL, 2, 2, 2, 1e-5f, 0);
    CHECK_NEAR(y[2], (2 - 0.3) / sqrt(0.9 + 0.1 * 3.5 * 4.0 / 3.0 + 1e-5) * 2 + 0.5, 1e-5, "eval value");
    /* padding: lengths {2, 1} leave out frame (1,1): statistics of 1,2,3 only; padding outputs 0 */
    x[6] = 100.0f;
    int len[2] = {2, 1};
    n = batchnorm_forward(y, x, w, b, rm, rv, save, len, 2, 2, 2, 1e-5f, 1);
    CHECK(n == 3, "3 valid frames");
    CHECK_NEAR(save[0], 2.0, 1e-6, "mean without padding");
    CHECK_NEAR(save[2], 2.0 / 3.0, 1e-6, "var without padding");
    CHECK(y[6] == 0.0f && y[7] == 0.0f, "padding frame outputs 0");
}
static void test_batchnorm_grad(void) {
    fill(n_in, N_OF(n_in), 2), fill(n_r, N_OF(n_r), 1), fill(n_w, NC, 1), fill(n_b, NC, 1);
    for (int c = 0; c < NC; c++) n_rm[c] = 0.3f * frand(), n_rv[c] = 0.5f + 0.4f * frand();
    for (n_training = 1; n_training >= 0; n_training--) {
        bn_loss(NULL);
        float din[N_OF(n_in)] = {0}, dw[NC] = {0}, db[NC] = {0};
        batchnorm_backward(din, dw, db, n_r, n_in, n_w, n_save, n_len, NB, NT, NC, 1e-5f, n_training);
        const char *mode = n_training ? "train" : "eval";
        char what[64];
        snprintf(what, sizeof what, "batchnorm %s din", mode);
        CHECK(gradcheck(what, n_in, din, N_OF(n_in), bn_loss, NULL, 1e-3, 2e-3, 100) == 0, "%s", what);
        snprintf(what, sizeof what, "batchnorm %s dweight", mode);
        CHECK(gradcheck(what, n_w, dw, NC, bn_loss, NULL, 1e-3, 2e-3, 100) == 0, "%s", what);
        snprintf(what, sizeof what, "batchnorm %s dbias", mode);
        CHECK(gradcheck(what, n_b, db, NC, bn_loss, NULL, 1e-3, 2e-3, 100) == 0, "%s", what);
        CHECK(din[((size_t)2 * NT + 3) * NC] == 0.0f, "no gradient into padding (%s)", mode);
    }
}

/* ----------------------------------------------------------- maxpool */
enum { MB = 2, MT = 7, MC = 3, MK = 2 };
static float m_in[MB * MT * MC], m_out[MB * (MT / MK) * MC], m_r[MB * (MT / MK) * MC];
static double pool_loss(void *ctx) {
    (void)ctx;
    maxpool1d_forward(m_out, m_in, MB, MT, MC, MK);
    return dot(m_out, m_r, N_OF(m_out));
}
static void test_maxpool(void) {
    /* hand values: one channel, T = 5: [1 3 | 2 2 | 9] -> [3, 2]; the tie sends the gradient to the first 2 */
    float x[5] = {1, 3, 2, 2, 9}, y[2], dy[2] = {10, 20}, dx[5] = {0};
    maxpool1d_forward(y, x, 1, 5, 1, 2);
    CHECK(y[0] == 3.0f && y[1] == 2.0f, "maxpool values %g %g", y[0], y[1]);
    maxpool1d_backward(dx, dy, x, 1, 5, 1, 2);
    CHECK(dx[0] == 0 && dx[1] == 10 && dx[2] == 20 && dx[3] == 0 && dx[4] == 0,
          "argmax routing, first of a tie, tail frame ignored");
    /* kernel 3 */
    float x3[6] = {5, -1, 4, 0, 7, 7}, y3[2];
    maxpool1d_forward(y3, x3, 1, 6, 1, 3);
    CHECK(y3[0] == 5.0f && y3[1] == 7.0f, "kernel 3 values");
    fill(m_in, N_OF(m_in), 1), fill(m_r, N_OF(m_r), 1);
    pool_loss(NULL);
    float din[N_OF(m_in)] = {0};
    maxpool1d_backward(din, m_r, m_in, MB, MT, MC, MK);
    CHECK(gradcheck("maxpool din", m_in, din, N_OF(m_in), pool_loss, NULL, 1e-3, 1e-3, 100) == 0, "maxpool din");
}

/* ---------------------------------------------------- conv transpose */
enum { UB = 2, UT = 3, UI = 3, UO = 4, UKMAX = 3 };
static int u_k, u_s;
static float u_in[UB * UT * UI], u_w[UI * UO * UKMAX], u_b[UO], u_r[UB * 16 * UO], u_out[UB * 16 * UO];
static float u_col[UB * UT * UO * UKMAX];
static double convt_loss(void *ctx) {
    (void)ctx;
    conv_transpose1d_forward(u_out, u_in, u_w, u_b, u_col, UB, UT, UI, UO, u_k, u_s);
    int To = conv_transpose1d_out_len(UT, u_k, u_s);
    return dot(u_out, u_r, (size_t)UB * To * UO);
}
static void test_conv_transpose(void) {
    fill(u_in, N_OF(u_in), 1), fill(u_w, N_OF(u_w), 1), fill(u_b, UO, 1), fill(u_r, N_OF(u_r), 1);
    int cfg[2][2] = {{2, 2}, {3, 2}}; /* the U-Net's k2 s2, and an overlapping k3 s2 */
    for (int v = 0; v < 2; v++) {
        u_k = cfg[v][0], u_s = cfg[v][1];
        int To = conv_transpose1d_out_len(UT, u_k, u_s);
        CHECK(To == (v == 0 ? 6 : 7), "output length %d", To);
        convt_loss(NULL);
        /* PyTorch: out[b, co, t*stride + k] += sum_ci in[b, ci, t] * w[ci, co, k], plus bias[co] */
        int b = 1, co = 2, tout = 2;
        double ref = u_b[co];
        for (int t = 0; t < UT; t++)
            for (int k = 0; k < u_k; k++)
                if (t * u_s + k == tout)
                    for (int ci = 0; ci < UI; ci++) ref += u_in[(b * UT + t) * UI + ci] * u_w[(ci * UO + co) * u_k + k];
        CHECK_NEAR(u_out[(b * To + tout) * UO + co], ref, 1e-5, "conv transpose value");
        if (v == 0) { /* k2 s2: frame 2t+1 is in[t] . w[:, co, 1] alone */
            double r2 = u_b[co];
            for (int ci = 0; ci < UI; ci++) r2 += u_in[(b * UT + 1) * UI + ci] * u_w[(ci * UO + co) * 2 + 1];
            CHECK_NEAR(u_out[(b * To + 3) * UO + co], r2, 1e-5, "k2 s2 odd frame");
        }
        float din[N_OF(u_in)] = {0}, dw[N_OF(u_w)] = {0}, db[UO] = {0};
        conv_transpose1d_backward(din, dw, db, u_r, u_in, u_w, u_col, UB, UT, UI, UO, u_k, u_s);
        char what[64];
        snprintf(what, sizeof what, "convT k%d s%d din", u_k, u_s);
        CHECK(gradcheck(what, u_in, din, N_OF(u_in), convt_loss, NULL, 1e-2, 1e-3, 100) == 0, "%s", what);
        snprintf(what, sizeof what, "convT k%d s%d dw", u_k, u_s);
        CHECK(gradcheck(what, u_w, dw, (size_t)UI * UO * u_k, convt_loss, NULL, 1e-2, 1e-3, 100) == 0, "%s", what);
        snprintf(what, sizeof what, "convT k%d s%d db", u_k, u_s);
        CHECK(gradcheck(what, u_b, db, UO, convt_loss, NULL, 1e-2, 1e-3, 100) == 0, "%s", what);
    }
}

/* ------------------------------------------------- squeeze-excitation */
enum { EB = 2, ET = 4, EC = 6, ER = 3 };
static float e_in[EB * ET * EC], e_out[EB * ET * EC], e_r[EB * ET * EC], e_w1[ER * EC], e_b1[ER], e_w2[EC * ER],
    e_b2[EC], e_cache[EB * (2 * EC + ER)];
static int e_len[EB] = {ET, ET - 1};
static double se_loss(void *ctx) {
    (void)ctx;
    se_forward(e_out, e_in, e_w1, e_b1, e_w2, e_b2, e_cache, e_len, EB, ET, EC, ER);
    return dot(e_out, e_r, N_OF(e_out));
}
static void test_se(void) {
    fill(e_in, N_OF(e_in), 1), fill(e_r, N_OF(e_r), 1), fill(e_w1, N_OF(e_w1), 1), fill(e_b1, ER, 0.5f);
    fill(e_w2, N_OF(e_w2), 1), fill(e_b2, EC, 0.5f);
    se_loss(NULL);
    /* hand value for sequence 1 (3 valid frames), frame 2, channel 4 */
    {
        int b = 1, L = ET - 1;
        double z[EC], h[ER];
        for (int c = 0; c < EC; c++) {
            z[c] = 0;
            for (int t = 0; t < L; t++) z[c] += e_in[(b * ET + t) * EC + c];
            z[c] /= L;
        }
        for (int j = 0; j < ER; j++) {
            h[j] = e_b1[j];
            for (int c = 0; c < EC; c++) h[j] += e_w1[j * EC + c] * z[c];
            h[j] = h[j] > 0 ? h[j] : 0;
        }
        double a = e_b2[4];
        for (int j = 0; j < ER; j++) a += e_w2[4 * ER + j] * h[j];
        double s = 1 / (1 + exp(-a));
        CHECK_NEAR(e_out[(b * ET + 2) * EC + 4], e_in[(b * ET + 2) * EC + 4] * s, 1e-6, "se value");
        CHECK(e_out[(b * ET + 3) * EC + 4] == 0.0f, "se padding outputs 0");
    }
    float din[N_OF(e_in)] = {0}, dw1[N_OF(e_w1)] = {0}, db1[ER] = {0}, dw2[N_OF(e_w2)] = {0}, db2[EC] = {0};
    float scratch[EB * (2 * EC + ER)];
    CHECK(se_cache_floats(EB, EC, ER) == N_OF(e_cache) && se_scratch_floats(EB, EC, ER) == N_OF(scratch), "sizes");
    se_backward(din, dw1, db1, dw2, db2, e_r, e_in, e_w1, e_w2, e_cache, scratch, e_len, EB, ET, EC, ER);
    CHECK(gradcheck("se din", e_in, din, N_OF(e_in), se_loss, NULL, 1e-2, 1e-3, 100) == 0, "se din");
    CHECK(gradcheck("se dw1", e_w1, dw1, N_OF(e_w1), se_loss, NULL, 1e-2, 1e-3, 100) == 0, "se dw1");
    CHECK(gradcheck("se db1", e_b1, db1, ER, se_loss, NULL, 1e-2, 1e-3, 100) == 0, "se db1");
    CHECK(gradcheck("se dw2", e_w2, dw2, N_OF(e_w2), se_loss, NULL, 1e-2, 1e-3, 100) == 0, "se dw2");
    CHECK(gradcheck("se db2", e_b2, db2, EC, se_loss, NULL, 1e-2, 1e-3, 100) == 0, "se db2");
    CHECK(din[(1 * ET + 3) * EC] == 0.0f, "no gradient into padding");
}

int main(void) {
    rng_state = 987654321u; /* the values the hand checks were written for */
    test_dropout();
    test_batchnorm_values();
    test_batchnorm_grad();
    test_maxpool();
    test_conv_transpose();
    test_se();
    return test_done("test_nn_layers2");
}
