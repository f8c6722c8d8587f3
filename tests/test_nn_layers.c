/* Finite-difference gradient checks of every core layer and loss, plus
 * hand-computed forward values. Loss = sum(out * R) so dout = R. */
#include <stdint.h>

#include "check.h"
#include "gradcheck.h"
#include "test_rand.h"
#include "nn/layers.h"

/* ---- conv1d ---- */
enum { CB = 2, CT = 5, CI = 3, CO = 4, CK = 3 };
static float c_in[CB * CT * CI], c_w[CO * CI * CK], c_b[CO], c_out[CB * CT * CO], c_r[CB * CT * CO];
static float c_col[CB * CT * CI * CK];
static double conv_loss(void *ctx) {
    (void)ctx;
    conv1d_forward(c_out, c_in, c_w, c_b, c_col, CB, CT, CI, CO, CK);
    return dot(c_out, c_r, sizeof c_out / sizeof *c_out);
}
static void test_conv1d(void) {
    fill(c_in, sizeof c_in / 4, 1), fill(c_w, sizeof c_w / 4, 1), fill(c_b, CO, 1), fill(c_r, sizeof c_r / 4, 1);
    conv_loss(NULL);
    /* hand value: out[b=1,t=0,co=2] = b + sum_ci sum_k w[co,ci,k] in[t+k-1] with in[-1] = 0 */
    double ref = c_b[2];
    for (int ci = 0; ci < CI; ci++)
        for (int k = 1; k < CK; k++) ref += c_w[(2 * CI + ci) * CK + k] * c_in[(1 * CT + k - 1) * CI + ci];
    CHECK_NEAR(c_out[(1 * CT + 0) * CO + 2], ref, 1e-5, "conv1d edge value");
    float din[sizeof c_in / 4] = {0}, dw[sizeof c_w / 4] = {0}, db[CO] = {0};
    conv1d_backward(din, dw, db, c_r, c_col, c_w, CB, CT, CI, CO, CK);
    CHECK(gradcheck("conv1d din", c_in, din, sizeof c_in / 4, conv_loss, NULL, 1e-2, 1e-3, 100) == 0, "conv din");
    CHECK(gradcheck("conv1d dw", c_w, dw, sizeof c_w / 4, conv_loss, NULL, 1e-2, 1e-3, 100) == 0, "conv dw");
    CHECK(gradcheck("conv1d db", c_b, db, CO, conv_loss, NULL, 1e-2, 1e-3, 100) == 0, "conv db");
}

/* ---- relu + linear ---- */
enum { LN = 6, LI = 5, LO = 3 };
static float l_in[LN * LI], l_w[LO * LI], l_b[LO], l_out[LN * LO], l_r[LN * LO], r_out[LN * LI];
static double lin_loss(void *ctx) {
    (void)ctx;
    relu_forward(r_out, l_in, LN * LI);
    linear_forward(l_out, r_out, l_w, l_b, LN, LI, LO);
    return dot(l_out, l_r, LN * LO);
}
static void test_linear_relu(void) {
    fill(l_in, LN * LI, 1), fill(l_w, LO * LI, 1), fill(l_b, LO, 1), fill(l_r, LN * LO, 1);
    lin_loss(NULL);
    float dr[LN * LI] = {0}, din[LN * LI] = {0}, dw[LO * LI] = {0}, db[LO] = {0};
    linear_backward(dr, dw, db, l_r, r_out, l_w, LN, LI, LO);
    relu_backward(din, dr, r_out, LN * LI);
    CHECK(gradcheck("relu+linear din", l_in, din, LN * LI, lin_loss, NULL, 1e-3, 1e-3, 100) == 0, "lin din");
    CHECK(gradcheck("linear dw", l_w, dw, LO * LI, lin_loss, NULL, 1e-2, 1e-3, 100) == 0, "lin dw");
    CHECK(gradcheck("linear db", l_b, db, LO, lin_loss, NULL, 1e-2, 1e-3, 100) == 0, "lin db");
}

/* ---- BiLSTM with a padded sequence ---- */
enum { SB = 2, ST = 4, SI = 3, SH = 2 };
static float s_in[SB * ST * SI], s_out[SB * ST * 2 * SH], s_r[SB * ST * 2 * SH];
static float s_par[2][4 * SH * SI + 4 * SH * SH + 8 * SH];
static int s_len[SB] = {ST, ST - 1};
static float *s_cache;
static lstm_weights s_w[2];
static void lstm_bind(float *par, lstm_weights *w) {
    w->w_ih = par, w->w_hh = par + 4 * SH * SI, w->b_ih = par + 4 * SH * SI + 4 * SH * SH, w->b_hh = w->b_ih + 4 * SH;
}
static double lstm_loss(void *ctx) {
    int threads = ctx ? *(int *)ctx : 1;
    bilstm_forward(s_out, s_in, s_w, s_len, s_cache, SB, ST, SI, SH, threads);
    return dot(s_out, s_r, sizeof s_out / 4);
}
static void test_lstm(int threads) {
    s_cache = malloc(lstm_cache_floats(SB, ST, SI, SH) * sizeof(float));
    float *scratch = malloc(lstm_scratch_floats(SB, ST, SI, SH) * sizeof(float));
    for (int d = 0; d < 2; d++) fill(s_par[d], sizeof s_par[d] / 4, 0.7f), lstm_bind(s_par[d], &s_w[d]);
    fill(s_in, sizeof s_in / 4, 1), fill(s_r, sizeof s_r / 4, 1);
    lstm_loss(&threads);
    /* hand value: single forward step at t=0 from zero state */
    {
        const float *x = s_in, *wi = s_w[0].w_ih;
        float pre[4 * SH];
        for (int j = 0; j < 4 * SH; j++) {
            pre[j] = s_w[0].b_ih[j] + s_w[0].b_hh[j];
            for (int i = 0; i < SI; i++) pre[j] += wi[j * SI + i] * x[i];
        }
        for (int j = 0; j < SH; j++) {
            float ig = 1 / (1 + expf(-pre[j])), gg = tanhf(pre[2 * SH + j]), og = 1 / (1 + expf(-pre[3 * SH + j]));
            CHECK_NEAR(s_out[j], og * tanhf(ig * gg), 1e-6, "lstm first step");
        }
    }
    CHECK(s_out[(1 * ST + ST - 1) * 2 * SH] == 0.0f && s_out[(1 * ST + ST - 1) * 2 * SH + SH] == 0.0f,
          "padding frame outputs 0");
    float din[sizeof s_in / 4] = {0}, dpar[2][sizeof s_par[0] / 4] = {{0}};
    lstm_grads g[2];
    for (int d = 0; d < 2; d++) {
        float *p = dpar[d];
        g[d].w_ih = p, g[d].w_hh = p + 4 * SH * SI, g[d].b_ih = p + 4 * SH * SI + 4 * SH * SH,
        g[d].b_hh = g[d].b_ih + 4 * SH;
    }
    bilstm_backward(din, g, s_r, s_in, s_w, s_len, s_cache, scratch, SB, ST, SI, SH, threads);
    CHECK(gradcheck("bilstm din", s_in, din, sizeof s_in / 4, lstm_loss, &threads, 1e-2, 2e-3, 100) == 0, "lstm din");
    for (int d = 0; d < 2; d++)
        CHECK(gradcheck(d ? "bilstm dparams reverse" : "bilstm dparams forward", s_par[d], dpar[d], sizeof s_par[d] / 4,
                        lstm_loss, &threads, 1e-2, 2e-3, 200) == 0,
              "lstm params dir %d", d);
    free(s_cache);
    free(scratch);
}

/* ---- losses ---- */
enum { XN = 5, XC = 4 };
static float x_logits[XN * XC], x_w[XC] = {1.0f, 2.0f, 0.5f, 1.5f};
static int64_t x_lab[XN] = {0, 3, -1, 2, 1};
static double x_gamma, x_eps, x_alpha;
static float x_soft[XN * XC];
static double xent_loss(void *ctx) {
    return softmax_xent_smooth_forward_backward(NULL, x_logits, x_lab, ctx ? x_w : NULL, x_gamma, x_eps,
                                                x_alpha > 0 ? x_soft : NULL, x_alpha, XN, XC, NULL);
}
static void test_losses(void) {
    fill(x_logits, XN * XC, 2);
    for (int n = 0; n < XN; n++) { /* soft targets: a softmax of random numbers per row */
        double s = 0;
        for (int c = 0; c < XC; c++) s += (x_soft[n * XC + c] = expf(2 * frand()));
        for (int c = 0; c < XC; c++) x_soft[n * XC + c] /= (float)s;
    }
    for (int variant = 0; variant < 7; variant++) {
        x_gamma = variant == 2 ? 2.0 : 0.0;
        x_eps = variant == 3 || variant == 4 || variant == 6 ? 0.1 : 0.0;
        x_alpha = variant >= 5 ? 0.6 : 0.0;
        void *ctx = variant == 1 || variant == 2 || variant == 4 || variant == 6 ? x_w : NULL;
        float dz[XN * XC];
        softmax_xent_smooth_forward_backward(dz, x_logits, x_lab, ctx ? x_w : NULL, x_gamma, x_eps,
                                             x_alpha > 0 ? x_soft : NULL, x_alpha, XN, XC, NULL);
        const char *names[] = {"xent",
                               "weighted xent",
                               "focal",
                               "smoothed xent",
                               "weighted smoothed xent",
                               "soft-target xent",
                               "weighted smoothed soft-target xent"};
        CHECK(gradcheck(names[variant], x_logits, dz, XN * XC, xent_loss, ctx, 1e-3, 1e-3, 100) == 0, "%s",
              names[variant]);
        CHECK(dz[2 * XC] == 0 && dz[2 * XC + 3] == 0, "masked row has no gradient");
    }
    /* hand value with smoothing eps: mean over rows of logsumexp - (1 - eps) z_y - eps/C sum_c z_c */
    x_gamma = 0, x_eps = 0.1, x_alpha = 0;
    double sref = 0;
    for (int n = 0; n < XN; n++) {
        if (x_lab[n] < 0) continue;
        const float *z = x_logits + n * XC;
        double lse = 0, zs = 0;
        for (int c = 0; c < XC; c++) lse += exp(z[c]), zs += z[c];
        sref += log(lse) - 0.9 * z[x_lab[n]] - 0.1 / XC * zs;
    }
    CHECK_NEAR(xent_loss(NULL), sref / 4, 1e-9, "smoothed cross-entropy hand value");
    /* hand value with soft targets and alpha 1: mean over rows of logsumexp - sum_c soft_c z_c (labels only mask) */
    x_eps = 0, x_alpha = 1.0;
    sref = 0;
    for (int n = 0; n < XN; n++) {
        if (x_lab[n] < 0) continue;
        const float *z = x_logits + n * XC;
        double lse = 0, zs = 0;
        for (int c = 0; c < XC; c++) lse += exp(z[c]), zs += x_soft[n * XC + c] * z[c];
        sref += log(lse) - zs;
    }
    CHECK_NEAR(xent_loss(NULL), sref / 4, 1e-6, "soft-target cross-entropy hand value");
    x_alpha = 0;
    x_eps = 0;
    /* hand value: unweighted CE = mean over unmasked rows of logsumexp - z_y */
    x_gamma = 0;
    double ref = 0;
    int cnt = 0;
    for (int n = 0; n < XN; n++) {
        if (x_lab[n] < 0) continue;
        double s = 0;
        for (int c = 0; c < XC; c++) s += exp(x_logits[n * XC + c]);
        ref += log(s) - x_logits[n * XC + x_lab[n]];
        cnt++;
    }
    CHECK_NEAR(xent_loss(NULL), ref / cnt, 1e-6, "cross-entropy value");
}

/* ---- the onset head's loss: a softmax over every column but one, a sigmoid BCE on that one ---- */
enum { ON = 6, OC = 5, OO = 2 };
static float o_logits[ON * OC], o_t[ON] = {0.0f, 1.0f, 0.5f, 0.0f, 1.0f, 1.0f},
                                o_w[OC] = {1.0f, 2.0f, 1.0f, 0.5f, 1.5f};
static int64_t o_lab[ON] = {0, 4, -1, 3, 1, OO}; /* -1 and the onset column itself are masked */
static double o_eps;
static double onset_loss(void *ctx) {
    return softmax_onset_xent_forward_backward(NULL, o_logits, o_lab, o_t, ctx ? o_w : NULL, o_eps, OO, 3.0, 0.7, ON,
                                               OC, NULL);
}
static void test_onset_loss(void) {
    fill(o_logits, ON * OC, 2);
    for (int variant = 0; variant < 3; variant++) {
        o_eps = variant == 2 ? 0.1 : 0.0;
        void *ctx = variant >= 1 ? o_w : NULL;
        float dz[ON * OC];
        softmax_onset_xent_forward_backward(dz, o_logits, o_lab, o_t, ctx ? o_w : NULL, o_eps, OO, 3.0, 0.7, ON, OC,
                                            NULL);
        const char *names[] = {"onset-head xent", "weighted onset-head xent", "weighted smoothed onset-head xent"};
        CHECK(gradcheck(names[variant], o_logits, dz, ON * OC, onset_loss, ctx, 1e-3, 1e-3, 100) == 0, "%s",
              names[variant]);
        int masked = 1;
        for (int c = 0; c < OC; c++) masked &= dz[2 * OC + c] == 0 && dz[5 * OC + c] == 0;
        CHECK(masked, "masked rows (label -1 or the onset column) have no gradient");
    }
    /* hand value, unweighted, no smoothing: mean over the 4 rows of logsumexp_{c != 2} - z_y, plus 0.7 times the
     * mean of -(3 t log s + (1 - t) log(1 - s)) with s = sigmoid(z_2) */
    o_eps = 0;
    double ce = 0, bce = 0;
    for (int n = 0; n < ON; n++) {
        if (o_lab[n] < 0 || o_lab[n] == OO) continue;
        const float *z = o_logits + n * OC;
        double se = 0, sg = 1 / (1 + exp(-(double)z[OO]));
        for (int c = 0; c < OC; c++) se += c == OO ? 0 : exp(z[c]);
        ce += log(se) - z[o_lab[n]];
        bce += -(3 * o_t[n] * log(sg) + (1 - o_t[n]) * log(1 - sg));
    }
    CHECK_NEAR(onset_loss(NULL), ce / 4 + 0.7 * bce / 4, 1e-6, "onset-head loss hand value");
}

static void test_adam(void) {
    float p[2] = {1.0f, -2.0f}, g[2] = {0.5f, -0.25f}, m[2] = {0}, v[2] = {0};
    adam_params ap = adam_default_params();
    ap.lr = 0.1;
    adam_update(p, g, m, v, 2, ap, 1);
    /* first Adam step moves each parameter by lr * sign(g) (up to eps) */
    CHECK_NEAR(p[0], 0.9, 1e-6, "adam step 1");
    CHECK_NEAR(p[1], -1.9, 1e-6, "adam step 1 neg");
    ap.decoupled = 1, ap.weight_decay = 0.1;
    float q[1] = {1.0f}, gz[1] = {0.0f}, mq[1] = {0}, vq[1] = {0};
    adam_update(q, gz, mq, vq, 1, ap, 1);
    CHECK_NEAR(q[0], 1.0 - 0.1 * 0.1, 1e-6, "adamw decoupled decay");
    float gr[2] = {3.0f, 4.0f};
    CHECK_NEAR(clip_grad_norm(gr, 2, 1.0), 5.0, 1e-9, "grad norm");
    CHECK_NEAR(sqrt(gr[0] * gr[0] + gr[1] * gr[1]), 1.0, 1e-5, "clipped norm");
}

int main(void) {
    test_conv1d();
    test_linear_relu();
    test_lstm(1);
    test_lstm(2);
    test_losses();
    test_onset_loss();
    test_adam();
    return test_done("test_nn_layers");
}
