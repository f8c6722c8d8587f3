/* Transformer layers (src/nn/attention.c): LayerNorm, GELU, positional
 * encoding and multi-head self-attention with key padding and attention
 * dropout. Forward values against direct double-precision formulas, every
 * input and parameter gradient against finite differences. Loss = sum(out * R)
 * for a fixed random R, so dout = R. */
#include <stdint.h>

#include "check.h"
#include "gradcheck.h"
#include "test_rand.h"
#include "nn/attention.h"

#define N_OF(a) (sizeof(a) / sizeof *(a))

/* ------------------------------------------------------------ layernorm */
enum { LN = 6, LC = 8 };
static float l_in[LN * LC], l_out[LN * LC], l_r[LN * LC], l_w[LC], l_b[LC], l_save[2 * LN];
static double ln_loss(void *ctx) {
    (void)ctx;
    layernorm_forward(l_out, l_save, l_in, l_w, l_b, LN, LC, 1e-5f);
    return dot(l_out, l_r, N_OF(l_out));
}
static void test_layernorm(void) {
    fill(l_in, N_OF(l_in), 3), fill(l_r, N_OF(l_r), 1), fill(l_w, LC, 1), fill(l_b, LC, 1);
    ln_loss(NULL);
    double worst = 0;
    for (int n = 0; n < LN; n++) {
        double m = 0, v = 0;
        for (int c = 0; c < LC; c++) m += l_in[n * LC + c] / (double)LC;
        for (int c = 0; c < LC; c++) v += (l_in[n * LC + c] - m) * (l_in[n * LC + c] - m) / LC;
        for (int c = 0; c < LC; c++) {
            double y = (l_in[n * LC + c] - m) / sqrt(v + 1e-5) * l_w[c] + l_b[c];
            worst = fmax(worst, fabs(y - l_out[n * LC + c]));
        }
    }
    CHECK(worst < 1e-5, "layernorm values vs the formula: %g", worst);
    float din[N_OF(l_in)] = {0}, dw[LC] = {0}, db[LC] = {0};
    layernorm_backward(din, dw, db, l_r, l_in, l_w, l_save, LN, LC);
    CHECK(gradcheck("layernorm din", l_in, din, N_OF(l_in), ln_loss, NULL, 1e-3, 2e-3, 100) == 0, "ln din");
    CHECK(gradcheck("layernorm dw", l_w, dw, LC, ln_loss, NULL, 1e-3, 2e-3, 100) == 0, "ln dw");
    CHECK(gradcheck("layernorm db", l_b, db, LC, ln_loss, NULL, 1e-3, 2e-3, 100) == 0, "ln db");
}

/* ----------------------------------------------------------------- GELU */
enum { GN = 40 };
static float g_in[GN], g_out[GN], g_r[GN];
static double gelu_loss(void *ctx) {
    (void)ctx;
    gelu_forward(g_out, g_in, GN);
    return dot(g_out, g_r, GN);
}
static void test_gelu(void) {
    fill(g_in, GN, 4), fill(g_r, GN, 1);
    gelu_loss(NULL);
    /* PyTorch: gelu(1) = 0.8413447, gelu(-1) = -0.1586553 */
    float x[4] = {1.0f, -1.0f, 0.0f, 30.0f}, y[4];
    gelu_forward(y, x, 4);
    CHECK_NEAR(y[0], 0.8413447, 1e-6, "gelu(1)");
    CHECK_NEAR(y[1], -0.1586553, 1e-6, "gelu(-1)");
    CHECK(y[2] == 0.0f && y[3] == 30.0f, "gelu(0) = 0, gelu(30) = 30");
    float big[2] = {-1e30f, 1e30f}, gb[2] = {0, 0}, one[2] = {1, 1};
    gelu_backward(gb, one, big, 2);
    CHECK(gb[0] == 0.0f && gb[1] == 1.0f, "gelu' at +-1e30: %g %g", gb[0], gb[1]);
    float din[GN] = {0};
    gelu_backward(din, g_r, g_in, GN);
    CHECK(gradcheck("gelu din", g_in, din, GN, gelu_loss, NULL, 1e-3, 1e-3, 100) == 0, "gelu din");
}

/* ---------------------------------------------------- positional encoding */
static void test_posenc(void) {
    enum { ML = 50, D = 8 };
    static float pe[ML * D];
    posenc_fill(pe, ML, D);
    double worst = 0;
    for (int t = 0; t < ML; t++)
        for (int c = 0; c < D; c++) {
            double a = t * exp(-(c & ~1) * log(10000.0) / D);
            worst = fmax(worst, fabs(pe[t * D + c] - ((c & 1) ? cos(a) : sin(a))));
        }
    CHECK(worst < 1e-5, "pe vs the formula: %g", worst);
    CHECK(pe[0] == 0.0f && pe[1] == 1.0f, "pe[0] = (sin 0, cos 0)");
    /* rows past max_len come from the formula: a table of 20 rows gives the same as one of 50 */
    float x[2 * 30 * D] = {0}, y[2 * 30 * D] = {0};
    posenc_add(x, pe, ML, NULL, 2, 30, D);
    posenc_add(y, pe, 20, NULL, 2, 30, D);
    float diff = 0;
    for (size_t i = 0; i < N_OF(x); i++) diff = fmaxf(diff, fabsf(x[i] - y[i]));
    CHECK(diff < 1e-6f, "rows past the table: %g", diff);
    CHECK(x[30 * D + 5 * D + 3] == pe[5 * D + 3], "every sequence gets pe[t]");
}

/* ------------------------------------------------------------ attention */
enum { AB = 2, AT = 5, AD = 8, AH = 2 };
static float a_qkv[AB * AT * 3 * AD], a_ctx[AB * AT * AD], a_r[AB * AT * AD];
static float a_p[AB * AH * AT * AT], *a_scr;
static int a_len[AB] = {AT, 3};
static const int *a_lens, *a_seg;
/* sequence 0: two segments, frames 0-1 and 2-4; sequence 1: one */
static const int a_segs[AB * AT] = {0, 0, 2, 2, 2, 0, 0, 0, 0, 0};
static float a_drop;
static double attn_loss(void *ctx) {
    (void)ctx;
    attn_forward(a_ctx, a_p, a_qkv, a_lens, a_seg, a_scr, AB, AT, AD, AH, a_drop, 99, 1, 1);
    return dot(a_ctx, a_r, N_OF(a_ctx));
}

/* ctx of (b, query i) by the definition, in double, no dropout */
static void attn_reference(double *out, int b, int i, int L) {
    int dh = AD / AH;
    for (int h = 0; h < AH; h++) {
        double s[AT], mx = -1e300, z = 0;
        const float *q = a_qkv + ((size_t)b * AT + i) * 3 * AD + h * dh;
        for (int j = 0; j < L; j++) {
            const float *k = a_qkv + ((size_t)b * AT + j) * 3 * AD + AD + h * dh;
            s[j] = 0;
            for (int c = 0; c < dh; c++) s[j] += (double)q[c] * k[c] / sqrt(dh);
            mx = fmax(mx, s[j]);
        }
        for (int j = 0; j < L; j++) s[j] = exp(s[j] - mx), z += s[j];
        for (int c = 0; c < dh; c++) {
            out[h * dh + c] = 0;
            for (int j = 0; j < L; j++)
                out[h * dh + c] += s[j] / z * a_qkv[((size_t)b * AT + j) * 3 * AD + 2 * AD + h * dh + c];
        }
    }
}

static void test_attention_values(void) {
    fill(a_qkv, N_OF(a_qkv), 1.5f), fill(a_r, N_OF(a_r), 1);
    a_lens = a_len, a_drop = 0;
    attn_loss(NULL);
    double worst = 0, pad = 0;
    for (int b = 0; b < AB; b++)
        for (int i = 0; i < AT; i++) {
            double ref[AD];
            if (i >= a_len[b]) {
                for (int c = 0; c < AD; c++) pad = fmax(pad, fabs(a_ctx[((size_t)b * AT + i) * AD + c]));
                continue;
            }
            attn_reference(ref, b, i, a_len[b]);
            for (int c = 0; c < AD; c++) worst = fmax(worst, fabs(ref[c] - a_ctx[((size_t)b * AT + i) * AD + c]));
        }
    CHECK(worst < 1e-6, "attention vs the definition (keys past the length masked): %g", worst);
    CHECK(pad == 0, "padding queries output 0");
    /* a take alone gives what it gives padded in a batch */
    float ctx1[3 * AD], p1[AH * 3 * 3], qkv1[3 * 3 * AD], *s1 = malloc(attn_scratch_floats(3) * sizeof *s1);
    memcpy(qkv1, a_qkv + (size_t)AT * 3 * AD, sizeof qkv1);
    attn_forward(ctx1, p1, qkv1, NULL, NULL, s1, 1, 3, AD, AH, 0, 0, 0, 1);
    free(s1);
    float d = 0;
    for (int i = 0; i < 3 * AD; i++) d = fmaxf(d, fabsf(ctx1[i] - a_ctx[(size_t)AT * AD + i]));
    CHECK(d < 1e-6f, "alone vs padded: %g", d);
    /* dropout: eval ignores it; training drops about p of the weights, deterministically per seed */
    attn_forward(a_ctx, a_p, a_qkv, NULL, NULL, a_scr, AB, AT, AD, AH, 0.5f, 5, 0, 1);
    float e0 = a_ctx[7];
    attn_forward(a_ctx, a_p, a_qkv, NULL, NULL, a_scr, AB, AT, AD, AH, 0.0f, 5, 1, 1);
    CHECK(a_ctx[7] == e0, "eval mode = no dropout");
    float t1[N_OF(a_ctx)], t2[N_OF(a_ctx)];
    attn_forward(t1, a_p, a_qkv, NULL, NULL, a_scr, AB, AT, AD, AH, 0.5f, 5, 1, 1);
    attn_forward(t2, a_p, a_qkv, NULL, NULL, a_scr, AB, AT, AD, AH, 0.5f, 5, 1, 1);
    CHECK(memcmp(t1, t2, sizeof t1) == 0 && t1[7] != e0, "training dropout: deterministic per seed, not the identity");
}

/* segments: each attends within itself, as if alone; positions restart at each segment */
static void test_attention_segments(void) {
    fill(a_qkv, N_OF(a_qkv), 1.5f);
    a_lens = NULL, a_seg = a_segs, a_drop = 0;
    attn_loss(NULL);
    float alone[3 * AD], p1[AH * 9], *s1 = malloc(attn_scratch_floats(3) * sizeof *s1);
    double d = 0;
    for (int part = 0; part < 2; part++) { /* frames 0-1, then 2-4 of sequence 0 */
        int t0 = part ? 2 : 0, n = part ? 3 : 2;
        attn_forward(alone, p1, a_qkv + (size_t)t0 * 3 * AD, NULL, NULL, s1, 1, n, AD, AH, 0, 0, 0, 1);
        for (int i = 0; i < n * AD; i++) d = fmax(d, fabs(alone[i] - a_ctx[(size_t)t0 * AD + i]));
    }
    CHECK(d < 1e-6, "segments attend as if alone: %g", d);
    free(s1);
    enum { D = 4 };
    float pe[10 * D], x[2 * 5 * D] = {0};
    posenc_fill(pe, 10, D);
    posenc_add(x, pe, 10, a_segs, 2, 5, D);
    CHECK(x[2 * D + 1] == pe[1] && x[4 * D + 2] == pe[2 * D + 2] && x[(5 + 4) * D] == pe[4 * D],
          "positions count from each segment's start");
    a_seg = NULL;
}

static void test_attention_grad(void) {
    const int *lens[3] = {NULL, a_len, NULL};
    float drops[2] = {0.0f, 0.3f};
    for (int li = 0; li < 3; li++)
        for (int di = 0; di < 2; di++) {
            a_lens = lens[li], a_drop = drops[di], a_seg = li == 2 ? a_segs : NULL;
            attn_loss(NULL);
            float dqkv[N_OF(a_qkv)];
            attn_backward(dqkv, a_r, a_qkv, a_p, a_lens, a_scr, AB, AT, AD, AH, a_drop, 99, 1, 1);
            char what[64];
            snprintf(what, sizeof what, "attention dqkv (%s, dropout %g)",
                     li == 2 ? "segments"
                     : li    ? "padded"
                             : "full",
                     (double)a_drop);
            CHECK(gradcheck(what, a_qkv, dqkv, N_OF(a_qkv), attn_loss, NULL, 1e-3, 2e-3, 400) == 0, "%s", what);
            if (li == 1) { /* padding rows of sequence 1 get no gradient and influence nothing */
                float m = 0;
                for (int i = 3; i < AT; i++)
                    for (int c = 0; c < 3 * AD; c++) m = fmaxf(m, fabsf(dqkv[((size_t)AT + i) * 3 * AD + c]));
                CHECK(m == 0, "no gradient into padding");
            }
        }
}

/* T past the 64-query blocks: two blocks and a padded third sequence; values and gradients. Heads 4 wide (the
 * OpenBLAS path) and 32 wide (the AVX-512 kernels where the CPU has them, T = 70 not a multiple of their 16
 * lanes nor of their 6- and 8-row tiles). */
enum { LB = 2, LT = 70 };
static int LD, LH;
static float *lg_qkv, *lg_ctx, *lg_r, *lg_p, *lg_s;
static int lg_len[LB] = {LT, 67};
static double long_loss(void *ctx) {
    (void)ctx;
    attn_forward(lg_ctx, lg_p, lg_qkv, lg_len, NULL, lg_s, LB, LT, LD, LH, 0.2f, 7, 1, 1);
    return dot(lg_ctx, lg_r, (size_t)LB * LT * LD);
}
static void test_attention_blocks(int d, int heads) {
    LD = d, LH = heads;
    size_t nq = (size_t)LB * LT * 3 * LD, nc = (size_t)LB * LT * LD;
    lg_qkv = malloc(nq * sizeof *lg_qkv), lg_ctx = malloc(nc * sizeof *lg_ctx), lg_r = malloc(nc * sizeof *lg_r);
    lg_p = malloc(attn_p_floats(LB, LT, LH) * sizeof *lg_p), lg_s = malloc(attn_scratch_floats(LT) * sizeof *lg_s);
    float *dq = malloc(nq * sizeof *dq);
    fill(lg_qkv, nq, 1.5f), fill(lg_r, nc, 1);
    /* dropout off: the definition */
    attn_forward(lg_ctx, lg_p, lg_qkv, lg_len, NULL, lg_s, LB, LT, LD, LH, 0.0f, 7, 1, 2);
    double worst = 0;
    int dh = LD / LH;
    double *sc = malloc(LT * sizeof *sc);
    for (int b = 0; b < LB; b++)
        for (int i = 0; i < lg_len[b]; i += 3)
            for (int h = 0; h < LH; h++) {
                double mx = -1e300, z = 0;
                const float *q = lg_qkv + ((size_t)b * LT + i) * 3 * LD + h * dh;
                for (int j = 0; j < lg_len[b]; j++) {
                    sc[j] = 0;
                    for (int c = 0; c < dh; c++)
                        sc[j] += (double)q[c] * lg_qkv[((size_t)b * LT + j) * 3 * LD + LD + h * dh + c] / sqrt(dh);
                    mx = fmax(mx, sc[j]);
                }
                for (int j = 0; j < lg_len[b]; j++) sc[j] = exp(sc[j] - mx), z += sc[j];
                for (int c = 0; c < dh; c++) {
                    double o = 0;
                    for (int j = 0; j < lg_len[b]; j++)
                        o += sc[j] / z * lg_qkv[((size_t)b * LT + j) * 3 * LD + 2 * LD + h * dh + c];
                    worst = fmax(worst, fabs(o - lg_ctx[((size_t)b * LT + i) * LD + h * dh + c]));
                }
            }
    free(sc);
    CHECK(worst < 1e-6, "attention over 64-query blocks vs the definition (heads %d wide): %g", dh, worst);
    /* 2 threads give the same numbers as 1 (rows are split between threads, each row computed alike) */
    float *c2 = malloc(nc * sizeof *c2), *dq2 = malloc(nq * sizeof *dq2);
    attn_forward(c2, lg_p, lg_qkv, lg_len, NULL, lg_s, LB, LT, LD, LH, 0.2f, 7, 1, 2);
    attn_backward(dq2, lg_r, lg_qkv, lg_p, lg_len, lg_s, LB, LT, LD, LH, 0.2f, 7, 1, 2);
    long_loss(NULL);
    attn_backward(dq, lg_r, lg_qkv, lg_p, lg_len, lg_s, LB, LT, LD, LH, 0.2f, 7, 1, 1);
    CHECK(memcmp(c2, lg_ctx, nc * sizeof *c2) == 0 && memcmp(dq2, dq, nq * sizeof *dq) == 0, "2 threads = 1 thread");
    /* the portable path (OpenBLAS) gives the same within float rounding (the AVX-512 kernels sum in another order) */
    setenv("A2M_NO_AVX512", "1", 1);
    attn_forward(c2, lg_p, lg_qkv, lg_len, NULL, lg_s, LB, LT, LD, LH, 0.2f, 7, 1, 1);
    attn_backward(dq2, lg_r, lg_qkv, lg_p, lg_len, lg_s, LB, LT, LD, LH, 0.2f, 7, 1, 1);
    unsetenv("A2M_NO_AVX512");
    float dc = 0, dd = 0;
    for (size_t i = 0; i < nc; i++) dc = fmaxf(dc, fabsf(c2[i] - lg_ctx[i]));
    for (size_t i = 0; i < nq; i++) dd = fmaxf(dd, fabsf(dq2[i] - dq[i]));
    CHECK(dc < 1e-5f && dd < 1e-5f, "heads %d wide: portable path vs this CPU's: ctx %g, dqkv %g", dh, dc, dd);
    long_loss(NULL); /* lg_p back to this path's */
    free(c2), free(dq2);
    char what[80];
    snprintf(what, sizeof what, "attention dqkv (heads %d wide, 2 blocks, padded, dropout 0.2)", dh);
    CHECK(gradcheck(what, lg_qkv, dq, nq, long_loss, NULL, 1e-3, 2e-3, 300) == 0, "%s", what);
    free(dq), free(lg_qkv), free(lg_ctx), free(lg_r), free(lg_p), free(lg_s);
}

/* The share of attention weights dropout zeroes is p (one head of 200 x 200 weights, all 1/200). */
static void test_attention_drop_rate(void) {
    enum { T = 200, D = 2 };
    float *qkv = calloc((size_t)T * 3 * D, sizeof *qkv), *ctx = malloc((size_t)T * D * sizeof *ctx);
    float *p = malloc(attn_p_floats(1, T, 1) * sizeof *p), *s = malloc(attn_scratch_floats(T) * sizeof *s);
    for (int t = 0; t < T; t++) qkv[t * 3 * D + 2 * D] = 1.0f; /* V = 1: ctx = sum of the kept weights */
    attn_forward(ctx, p, qkv, NULL, NULL, s, 1, T, D, 1, 0.3f, 11, 1, 1);
    double mean = 0;
    for (int t = 0; t < T; t++) mean += ctx[t * D] / T;
    /* ctx = (kept / T) / (1 - p): its mean over rows is 1 within sampling noise (40000 weights: sd 0.003) */
    CHECK(fabs(mean - 1.0) < 0.015, "inverted attention dropout keeps the mean: %g", mean);
    free(qkv), free(ctx), free(p), free(s);
}

int main(void) {
    a_scr = malloc(attn_scratch_floats(AT) * sizeof *a_scr);
    test_attention_blocks(8, 2);
    test_attention_blocks(64, 2);
    test_attention_drop_rate();
    test_layernorm();
    test_gelu();
    test_posenc();
    test_attention_values();
    test_attention_segments();
    test_attention_grad();
    free(a_scr);
    return test_done("test_nn_layers3");
}
