/* The transformer architecture (src/nn/transformer.c): the original's trained
 * AudioTransNet state dict loads as is and gives PyTorch's logits on the
 * reference takes (both the training forward and the inference state);
 * finite-difference check of every tensor's gradient through the whole model
 * (training mode: batch statistics, dropout with a fixed seed, a padded
 * sequence); padding is exact in eval mode; BatchNorm running statistics and
 * num_batches_tracked follow PyTorch; a short training lowers the loss and
 * resumes exactly. */
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/train.h"
#include "check.h"
#include "gradcheck.h"
#include "model_check.h"
#include "synth_dataset.h"
#include "nn/arch.h"
#include "nn/attention.h"
#include "nn/layers.h"
#include "nn/mm_bf16.h"

enum { GB = 2, GT = 9, GF = 6, GC = 4, GD = 8 };
static a2m_model *gm;
static nn_buffers gbuf;
static float gx[GB * GT * GF];
static int64_t glab[GB * GT];
static int glen[GB] = {GT, 6};

static double model_loss(void *ctx) { return *(double *)ctx * model_xent(gm, &gbuf, gx, glab, glen, GB, GT, GC); }

static void test_gradient(void) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = GF, in.hidden = GD, in.n_classes = GC;
    CHECK(nn_model_create("transformer", &in, &gm) == A2M_OK, "create transformer: %s", a2m_errmsg());
    if (!gm) return;
    gm->arch->init(gm, gm->params, 5);
    /* norm affine parameters and zero-initialised biases away from 1/0 so their gradients are not special */
    for (int i = 0; i < gm->n_tensors; i++) {
        const nn_tensor *t = &gm->tensors[i];
        if (t->ndim == 1 && !t->buffer)
            for (size_t k = 0; k < t->count; k++) gm->params[t->offset + k] += 0.3f * (float)sin(3.1 * k + i);
    }
    for (size_t i = 0; i < sizeof gx / sizeof *gx; i++) gx[i] = (float)sin(1.3 * i) + 0.3f * (float)cos(0.37 * i * i);
    for (int b = 0; b < GB; b++)
        for (int t = 0; t < GT; t++) glab[b * GT + t] = t < glen[b] ? (t * 3 + b) % GC : -1;
    alloc_buffers(gm, &gbuf, GB, GT);
    gbuf.dropout = 0.2f, gbuf.seed = 99;
    float *grads = model_grads(gm, &gbuf, gx, glab, glen, GB, GT, GC);
    /* each tensor's loss scaled so its largest gradient is 1 (as test_unet.c) */
    int failed = 0, n_checked = 0;
    double worst_all = 0;
    for (int i = 0; i < gm->n_tensors; i++) {
        const nn_tensor *t = &gm->tensors[i];
        if (t->buffer) continue;
        double mx = 0, mx_all = 0;
        for (size_t k = 0; k < gm->n_params; k++) mx_all = fmax(mx_all, fabs(grads[k]));
        if (!strcmp(t->name, "conv_embedding.0.bias") || !strcmp(t->name, "conv_embedding.3.bias")) {
            /* a bias before a training-mode BatchNorm: its true gradient is 0 (rounding noise remains) */
            for (size_t k = 0; k < t->count; k++) mx = fmax(mx, fabs(grads[t->offset + k]));
            CHECK(mx < 1e-6 * mx_all, "%s: gradient %.3g, not 0", t->name, mx);
            continue;
        }
        for (size_t k = 0; k < t->count; k++) mx = fmax(mx, fabs(grads[t->offset + k]));
        CHECK(mx > 0, "%s has a gradient", t->name);
        double scale = mx > 0 ? 1.0 / mx : 1.0;
        float *g = malloc(t->count * sizeof *g);
        for (size_t k = 0; k < t->count; k++) g[k] = (float)(grads[t->offset + k] * scale);
        char what[96];
        snprintf(what, sizeof what, "transformer %s", t->name);
        double worst;
        /* with the kink test at each step: a step whose one-sided slopes disagree (a ReLU input crossed 0: the
         * feed-forward's 4d ReLUs per frame and the embedding's make that common at every step for some points)
         * is skipped; at most a quarter of the points may be all kinks */
        static const double steps[4] = {1e-2, 3e-3, 1e-3, 3e-4};
        int bad = gradcheck_steps(what, gm->params + t->offset, g, t->count, model_loss, &scale, steps, 4, 1, 2e-2, 12,
                                  &worst);
        if (worst > worst_all) worst_all = worst;
        failed += bad != 0, n_checked++;
        free(g);
    }
    printf("transformer whole-model gradient check: %d tensors, worst relative error %.3g\n", n_checked, worst_all);
    CHECK(failed == 0 && n_checked == 3 * 12 + 8, "%d of %d transformer tensors fail the gradient check", failed,
          n_checked);
    free(grads);
}

/* The sequences of a batch run on n_threads threads with gradients summed in sequence order: 1 and 2 threads
 * give the same logits and gradients to the bit (training mode: dropout and a padded sequence). */
static void test_threads(void) {
    if (!gm) return;
    float *p0 = malloc(gm->n_params * sizeof *p0), *g[2], lg[2][GB * GT * GC], dl[GB * GT * GC];
    memcpy(p0, gm->params, gm->n_params * sizeof *p0);
    for (int k = 0; k < 2; k++) {
        memcpy(gm->params, p0, gm->n_params * sizeof *p0); /* the forward moves the running statistics */
        g[k] = calloc(gm->n_params, sizeof *g[k]);
        gm->arch->forward(gm, gm->params, &gbuf, gx, glen, GB, GT, lg[k], k + 1, 1);
        softmax_xent_forward_backward(dl, lg[k], glab, NULL, 0, GB * GT, GC, NULL);
        gm->arch->backward(gm, gm->params, g[k], &gbuf, gx, glen, dl, GB, GT, k + 1);
    }
    CHECK(!memcmp(lg[0], lg[1], sizeof lg[0]), "logits the same on 1 and 2 threads");
    CHECK(!memcmp(g[0], g[1], gm->n_params * sizeof *g[0]), "gradients the same on 1 and 2 threads");
    double mx = 0;
    for (size_t k = 0; k < gm->n_params; k++) mx = fmax(mx, fabs(g[0][k]));
    CHECK(mx > 0, "gradients not all 0");
    memcpy(gm->params, p0, gm->n_params * sizeof *p0);
    free(p0), free(g[0]), free(g[1]);
}

/* eval mode: a take alone gives the same logits as padded in a batch with a longer one */
static void test_padding_exact(void) {
    if (!gm) return;
    for (int i = 0; i < gm->n_tensors; i++) {
        const nn_tensor *t = &gm->tensors[i];
        if (t->buffer && strstr(t->name, "running"))
            for (size_t k = 0; k < t->count; k++)
                gm->params[t->offset + k] =
                    strstr(t->name, "var") ? 0.5f + 0.4f * (float)sin(k + 1.0) : 0.1f * (float)cos(k * 1.3);
    }
    int L = glen[1];
    float batch[GB * GT * GC], alone[GT * GC];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, GB, GT, batch, 1, 0);
    nn_buffers b1;
    alloc_buffers(gm, &b1, 1, L);
    gm->arch->forward(gm, gm->params, &b1, gx + GT * GF, NULL, 1, L, alone, 1, 0);
    double d = 0;
    for (int k = 0; k < L * GC; k++) d = fmax(d, fabs(alone[k] - batch[GT * GC + k]));
    CHECK(d < 1e-5, "padded sequence differs from the same take alone by %.3g", d);
    /* the runner (inference state, one attention buffer for all layers) gives the training forward's numbers */
    a2m_runner *r;
    CHECK(a2m_runner_new(gm, runner_params(GB, GT, A2M_PRECISION_FP32), &r) == A2M_OK, "runner");
    float full[GB * GT * GC];
    int lens_full[GB] = {GT, GT};
    gm->arch->forward(gm, gm->params, &gbuf, gx, lens_full, GB, GT, batch, 1, 0);
    a2m_runner_forward(r, gx, GB, GT, full);
    d = 0;
    for (int k = 0; k < GB * GT * GC; k++) d = fmax(d, fabs(full[k] - batch[k]));
    CHECK(d < 1e-6, "runner vs training forward: %.3g", d);
    a2m_runner_del(r);
    /* hidden states (a2m embed): the last layer's output, which fc maps to the logits */
    int dim = 0;
    float hid[GT * GD];
    CHECK(a2m_model_hidden(gm, gx, GT, 1, hid, &dim) == A2M_OK && dim == GD, "hidden states: %s", a2m_errmsg());
    const nn_tensor *fw = nn_model_tensor(gm, "fc.weight"), *fb = nn_model_tensor(gm, "fc.bias");
    d = 0;
    for (int t = 0; t < GT; t++)
        for (int c = 0; c < GC; c++) {
            double z = gm->params[fb->offset + c];
            for (int k = 0; k < GD; k++) z += (double)hid[t * GD + k] * gm->params[fw->offset + c * GD + k];
            d = fmax(d, fabs(z - batch[t * GC + c]));
        }
    CHECK(d < 1e-5, "fc(hidden) = logits: %.3g", d);
    free(b1.acts), free(b1.scratch);
}

static void test_running_stats(void) {
    if (!gm) return;
    const nn_tensor *rm = nn_model_tensor(gm, "conv_embedding.4.running_mean"),
                    *nb = nn_model_tensor(gm, "conv_embedding.4.num_batches_tracked");
    CHECK(rm && nb && rm->buffer && nb->buffer && nb->ndim == 0 && nb->count == 1, "buffer flags");
    CHECK(nn_model_tensor(gm, "pos_encoder.pe")->buffer && !nn_model_tensor(gm, "fc.weight")->buffer, "pe is a buffer");
    float before = gm->params[rm->offset], n0 = gm->params[nb->offset];
    float logits[GB * GT * GC];
    gm->arch->forward(gm, gm->params, &gbuf, gx, glen, GB, GT, logits, 1, 1);
    gm->arch->update_buffers(gm, gm->params, &gbuf, GB, GT);
    CHECK(gm->params[nb->offset] == n0 + 1.0f, "num_batches_tracked counts batches");
    CHECK(gm->params[rm->offset] != before, "running mean moved");
}

/* The original's trained model (PyTorch state dict) on the reference takes: logits within 1e-4. */
static void test_reference(void) {
    const char *shared = test_shared_dir();
    if (!shared) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/data/reference/seed_transformer/seed_transformer.safetensors", shared);
    a2m_model *m;
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "SKIP reference: %s missing\n", path);
        return;
    }
    CHECK(a2m_model_load(path, NULL, &m) == A2M_OK, "load: %s", a2m_errmsg());
    if (!m) return;
    const a2m_model_info *in = a2m_model_get_info(m);
    CHECK(!strcmp(in->arch, "transformer") && in->hidden == 128 && in->n_bins == 252 && in->n_classes == 4,
          "recognised from the tensor names");
    /* a2m's own table equals PyTorch's buffer to float rounding */
    const nn_tensor *pt = nn_model_tensor(m, "pos_encoder.pe");
    float *pe = malloc(pt->count * sizeof *pe);
    posenc_fill(pe, 2000, 128);
    double dpe = 0;
    for (size_t k = 0; k < pt->count; k++) dpe = fmax(dpe, fabs(pe[k] - m->params[pt->offset + k]));
    /* float32 angles t * div as PyTorch computes them: an ulp of exp's div moves the angle at t = 1999 by
     * ~1e-4 (measured 1.2e-4; the same table in double differs by 1.15e-4) */
    printf("positional encoding vs PyTorch's buffer: max abs diff %.3g\n", dpe);
    CHECK(dpe < 2e-4, "pe table vs PyTorch's: %.3g", dpe);
    free(pe);
    const char *takes[3] = {"voice_001", "voice_150", "voice_250"};
    a2m_runner *r = NULL;
    CHECK(a2m_runner_new(m, runner_params(1, 666, A2M_PRECISION_FP32), &r) == A2M_OK, "runner");
    nn_buffers b;
    alloc_buffers(m, &b, 1, 666);
    double worst = 0, worst_train = 0;
    for (int i = 0; i < 3 && r; i++) {
        a2m_array x, y;
        snprintf(path, sizeof path, "%s/data/reference/seed_transformer/%s_input.npy", shared, takes[i]);
        CHECK(a2m_npy_load(path, &x) == A2M_OK, "%s", a2m_errmsg());
        snprintf(path, sizeof path, "%s/data/reference/seed_transformer/%s_logits.npy", shared, takes[i]);
        CHECK(a2m_npy_load(path, &y) == A2M_OK, "%s", a2m_errmsg());
        const float *ref = y.data;
        if (x.dtype == A2M_F32 && y.dtype == A2M_F32 && a2m_array_count(&x) == 666 * 252 &&
            a2m_array_count(&y) == 666 * 4) {
            float z[666 * 4];
            a2m_runner_forward(r, x.data, 1, 666, z);
            for (int k = 0; k < 666 * 4; k++) worst = fmax(worst, fabs(z[k] - ref[k]));
            m->arch->forward(m, m->params, &b, x.data, NULL, 1, 666, z, 1, 0);
            for (int k = 0; k < 666 * 4; k++) worst_train = fmax(worst_train, fabs(z[k] - ref[k]));
        }
        a2m_array_free(&x), a2m_array_free(&y);
    }
    printf("seed transformer vs PyTorch, 3 takes: max abs logit error %.3g (inference), %.3g (training forward)\n",
           worst, worst_train);
    CHECK(worst < 1e-4 && worst_train < 1e-4, "logits within 1e-4 of PyTorch's: %.3g, %.3g", worst, worst_train);
    a2m_runner_del(r);
    free(b.acts), free(b.scratch);
    a2m_model_del(m);
}

/* ---- mixed precision (--precision bf16) ---- */

/* relative L2 distance of b from a over n values */
static double rel_l2(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t k = 0; k < n; k++) num += (double)(a[k] - b[k]) * (a[k] - b[k]), den += (double)a[k] * a[k];
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* mmbf_gemm in its three operand forms against double sums of the same bf16-rounded operands: only the
 * order of the fp32 sums differs (odd K and N, a row tile past a 32-row panel, beta, alpha and a bias) */
static float bf_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    u += 0x7fffu + ((u >> 16) & 1u), u &= 0xffff0000u;
    memcpy(&x, &u, sizeof x);
    return x;
}

static void test_bf16_gemm(void) {
    enum { M = 45, N = 37, K = 67 };
    if (!mmbf_available()) {
        printf("bf16 products: no avx512_bf16 on this CPU (or A2M_FORCE_FP32), kernel test skipped\n");
        return;
    }
    float *a = malloc(M * K * sizeof *a), *at = malloc(K * M * sizeof *at), *b = malloc(K * N * sizeof *b);
    float *bt = malloc(N * K * sizeof *bt), c[M * N], bias[N];
    mmbf16 *ar = malloc(M * (K + 1) * sizeof *ar), *ap = malloc(mmbf_panel_elems(K, M) * sizeof *ap);
    mmbf16 *bp = malloc(mmbf_panel_elems(K, N) * sizeof *bp), *bq = malloc(mmbf_panel_elems(K, N) * sizeof *bq);
    for (int i = 0; i < M * K; i++) a[i] = (float)sin(0.7 * i + 0.1), at[(i % K) * M + i / K] = a[i];
    for (int i = 0; i < K * N; i++) b[i] = (float)cos(1.3 * i), bt[(i % N) * K + i / N] = b[i];
    for (int n = 0; n < N; n++) bias[n] = 0.1f * n;
    mmbf_rows(ar, K + 1, a, K, M, K), mmbf_pack_kn(ap, at, M, K, M);
    mmbf_pack_kn(bp, b, N, K, N), mmbf_pack_nk(bq, bt, K, N, K);
    /* the same panels from B and from B^T (pack_nk transposes 16 x 16 blocks: K2 34 and N 37 end inside one) */
    CHECK(!memcmp(bp, bq, mmbf_panel_elems(K, N) * sizeof *bp), "mmbf_pack_nk(B^T) == mmbf_pack_kn(B), bitwise");
    for (int form = 0; form < 3; form++) {
        mmbf_a A = form == 1 ? (mmbf_a){ap, 0, 1} : (mmbf_a){ar, K + 1, 0};
        for (int i = 0; i < M * N; i++) c[i] = 1.0f;
        mmbf_gemm(c, N, A, form == 2 ? bq : bp, M, N, K, 0.5f, form != 0, form == 0 ? bias : NULL);
        double worst = 0;
        for (int i = 0; i < M; i++)
            for (int n = 0; n < N; n++) {
                double r = form != 0 ? 1.0 : bias[n], s = 0;
                for (int k = 0; k < K; k++) s += (double)bf_round(a[i * K + k]) * bf_round(b[k * N + n]);
                worst = fmax(worst, fabs(c[i * N + n] - (r + 0.5 * s)));
            }
        CHECK(worst < 2e-5, "bf16 product form %d: worst error %.3g against the same bf16 operands", form, worst);
    }
    free(a), free(at), free(b), free(bt), free(ar), free(ap), free(bp), free(bq);
}

/* A training step (d_model 64, dropout on, a padded sequence) in bf16 against fp32: the same masks, so the loss
 * and every tensor's gradient differ by the operands' rounding only. Measured: loss 1.8e-5 relative (7.7e-5
 * before the attention kept bf16 P, 4.1e-5 before the embedding's second convolution went bf16); gradients
 * (relative L2 per tensor) 0.3-1% near the output, growing layer by layer down to the embedding's 2-4%, the worst
 * the linear1 weights at 3.0-4.7% (the ReLU gate after them, and a sum over frames that cancels) */
static void test_bf16_step(void) {
    enum { B = 2, T = 70, F = 12, C = 4 };
    a2m_model_info in = nn_model_default_info();
    in.n_bins = F, in.hidden = 64, in.n_classes = C;
    a2m_model *m = NULL;
    CHECK(nn_model_create("transformer", &in, &m) == A2M_OK, "create transformer: %s", a2m_errmsg());
    if (!m) return;
    m->arch->init(m, m->params, 3);
    static float x[B * T * F];
    static int64_t lab[B * T];
    int len[B] = {T, 53};
    for (size_t i = 0; i < B * T * F; i++) x[i] = (float)sin(0.9 * i) + 0.5f * (float)cos(0.11 * i * i);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) lab[b * T + t] = t < len[b] ? (t / 7 + b) % C : -1;
    nn_buffers nb;
    alloc_buffers(m, &nb, B, T);
    nb.dropout = 0.1f, nb.seed = 7;
    float *p0 = malloc(m->n_params * sizeof *p0);
    memcpy(p0, m->params, m->n_params * sizeof *p0);
    double loss[2];
    float *g[2];
    for (int k = 0; k < 2; k++) {
        memcpy(m->params, p0, m->n_params * sizeof *p0);
        nb.precision = k ? A2M_PRECISION_BF16 : A2M_PRECISION_FP32;
        loss[k] = model_xent(m, &nb, x, lab, len, B, T, C);
        memcpy(m->params, p0, m->n_params * sizeof *p0);
        g[k] = model_grads(m, &nb, x, lab, len, B, T, C);
    }
    double dl = fabs(loss[1] - loss[0]) / loss[0], worst = 0;
    const char *wn = "";
    for (int i = 0; i < m->n_tensors; i++) {
        const nn_tensor *t = &m->tensors[i];
        if (t->buffer || strstr(t->name, "conv_embedding.0.bias") || strstr(t->name, "conv_embedding.3.bias")) continue;
        double e = rel_l2(g[0] + t->offset, g[1] + t->offset, t->count);
        if (e > worst) worst = e, wn = t->name;
    }
    printf("bf16 training step vs fp32: loss %.6f / %.6f (%.2g relative), worst gradient %.3g relative (%s)%s\n",
           loss[0], loss[1], dl, worst, wn, mmbf_available() ? "" : " [no avx512_bf16: both fp32]");
    CHECK(dl < 1e-3, "bf16 step loss within 1e-3 of fp32's (%.3g)", dl);
    CHECK(worst < 0.1, "bf16 step gradients within 0.1 (relative L2) of fp32's: %s %.3g", wn, worst);
    if (mmbf_available()) CHECK(worst > 0, "the bf16 products ran (gradients differ from fp32's)");
    memcpy(m->params, p0, m->n_params * sizeof *p0);
    free(p0), free(g[0]), free(g[1]), free(nb.acts), free(nb.scratch);
    a2m_model_del(m);
}

/* The bf16 attention of one sequence (attn_rows_bf16.c's rows: bf16 P kept with its dropout bits) against fp32's:
 * padding (L < T, an odd L), two segments (a row's keys a range: the concatenated takes), dropout on and off.
 * The same masks, so ctx and dqkv differ by the operands' rounding only; a mask that differed (a dropped element
 * of ten) or an unscaled kept one (1 / (1 - p)) puts them ~10% apart (ctx 0.1 with the kept ones unscaled).
 * Measured: ctx 1.1e-3 relative (dropout) / 1.0e-3 (none), dqkv 3.9e-3. */
static void test_bf16_attention(void) {
    enum { T = 100, L = 91, D = 64, H = 2 };
    if (!mmbf_available()) return;
    float *qkv = malloc((size_t)T * 3 * D * sizeof *qkv), *dctx = malloc((size_t)T * D * sizeof *dctx);
    float *ctx[2], *dq[2], *P = malloc(attn_p_floats(1, T, H) * sizeof *P);
    float *scr = malloc(attn_scratch_floats(T) * sizeof *scr);
    uint16_t *bs = malloc(attn_bf16_scratch(T, D / H) * sizeof *bs);
    int seg[T], len = L;
    for (int t = 0; t < T; t++) seg[t] = t < 40 ? 0 : 40;
    for (int i = 0; i < T * 3 * D; i++) qkv[i] = 1.5f * (float)sin(0.37 * i + 0.2 * (i % 7));
    for (int i = 0; i < T * D; i++) dctx[i] = (float)cos(0.23 * i);
    for (int k = 0; k < 2; k++)
        ctx[k] = malloc((size_t)T * D * sizeof(float)), dq[k] = malloc((size_t)T * 3 * D * sizeof(float));
    for (int train = 1; train >= 0; train--) {
        attn_forward(ctx[0], P, qkv, &len, seg, scr, 1, T, D, H, 0.1f, 9, train, 1);
        if (train) attn_backward(dq[0], dctx, qkv, P, &len, scr, 1, T, D, H, 0.1f, 9, 1, 1);
        attn_forward_bf16(ctx[1], P, qkv, L, seg, scr, bs, T, D, H, 0.1f, 9, train);
        if (train) attn_backward_bf16(dq[1], dctx, qkv, P, L, scr, bs, T, D, H, 0.1f, 9);
        double ec = rel_l2(ctx[0], ctx[1], (size_t)T * D), eq = train ? rel_l2(dq[0], dq[1], (size_t)T * 3 * D) : 0;
        printf("bf16 attention vs fp32 (%s): ctx %.2g, dqkv %.2g relative\n", train ? "dropout" : "no dropout", ec, eq);
        CHECK(ec < 1e-2 && ec > 0, "bf16 attention ctx within 1e-2 of fp32's (%.3g, %s)", ec, train ? "train" : "eval");
        if (train) CHECK(eq < 2e-2 && eq > 0, "bf16 attention dqkv within 2e-2 of fp32's (%.3g)", eq);
        double pad = 0;
        for (int i = L * D; i < T * D; i++) pad += fabs(ctx[1][i]);
        for (int i = L * 3 * D; train && i < T * 3 * D; i++) pad += fabs(dq[1][i]);
        CHECK(pad == 0, "bf16 attention: padding rows 0 (%g)", pad);
    }
    for (int k = 0; k < 2; k++) free(ctx[k]), free(dq[k]);
    free(qkv), free(dctx), free(P), free(scr), free(bs);
}

/* ---- smoke training ---- */
enum { TAKES = 6, FRAMES = 42, BINS = 8 };

static void test_training(void) {
    a2m_dataset d;
    make_synth_dataset(&d, TAKES, FRAMES, BINS);
    size_t tr[4] = {0, 1, 2, 3}, va[2] = {4, 5};
    a2m_train_params p = a2m_train_default_params();
    p.arch = "transformer", p.hidden = 16, p.batch = 2, p.epochs = 6, p.lr = 3e-3, p.seed = 1, p.patience = 100;
    p.dropout = 0.1, p.window = 15, p.clip_norm = 1.0;
    a2m_model *m = NULL;
    a2m_train_result r;
    CHECK(a2m_train(&d, tr, 4, va, 2, p, on_epoch, NULL, &m, &r) == A2M_OK, "transformer trains: %s", a2m_errmsg());
    if (m) {
        printf("transformer smoke training: train loss %.4f -> %.4f, best val accuracy %.3f\n", epoch_loss[0],
               epoch_loss[5], r.best_val_accuracy);
        CHECK(epoch_loss[5] < 0.7 * epoch_loss[0], "loss decreases: %.4f -> %.4f", epoch_loss[0], epoch_loss[5]);
        CHECK(r.best_val_accuracy > 0.5, "learns the synthetic task (val accuracy %.3f)", r.best_val_accuracy);
    }
    /* resume: 2 epochs, then 2 more from the checkpoint == 4 straight */
    check_resume(&d, tr, va, p, test_tmp("transformer.ckpt"), NULL, "transformer");
    a2m_model_del(m);
    /* --concat 2: two windows back to back per sequence, attending within each (nn_buffers.seg) */
    a2m_train_params cc = p;
    cc.concat = 2, cc.epochs = 6;
    a2m_model *c = NULL;
    memset(epoch_loss, 0, sizeof epoch_loss);
    CHECK(a2m_train(&d, tr, 4, va, 2, cc, on_epoch, NULL, &c, &r) == A2M_OK, "concat 2: %s", a2m_errmsg());
    CHECK(c && epoch_loss[5] < 0.7 * epoch_loss[0] && r.best_val_accuracy > 0.5, "concat 2 learns: %.4f -> %.4f, %.3f",
          epoch_loss[0], epoch_loss[5], r.best_val_accuracy);
    a2m_model_del(c);
    /* --precision bf16: the same recipe lands in the same band (6 epochs: loss and val accuracy) */
    a2m_train_params pb = cc;
    pb.precision = A2M_PRECISION_BF16;
    double l32 = epoch_loss[5];
    a2m_train_result r32 = r;
    memset(epoch_loss, 0, sizeof epoch_loss);
    CHECK(a2m_train(&d, tr, 4, va, 2, pb, on_epoch, NULL, &c, &r) == A2M_OK, "bf16 trains: %s", a2m_errmsg());
    printf("bf16 training (concat 2): loss %.4f (fp32 %.4f), best val accuracy %.3f (fp32 %.3f)\n", epoch_loss[5], l32,
           r.best_val_accuracy, r32.best_val_accuracy);
    CHECK(c && fabs(epoch_loss[5] - l32) < 0.1 * l32 && fabs(r.best_val_accuracy - r32.best_val_accuracy) < 0.05,
          "bf16 in fp32's band: loss %.4f vs %.4f, val accuracy %.3f vs %.3f", epoch_loss[5], l32, r.best_val_accuracy,
          r32.best_val_accuracy);
    a2m_model_del(c);
    /* a width the 4 heads do not divide into even parts is refused */
    p.hidden = 12;
    CHECK(a2m_train(&d, tr, 4, va, 2, p, NULL, NULL, &m, NULL) == A2M_ERR_ARG, "hidden 12 refused");
    a2m_dataset_free(&d);
}

int main(void) {
    test_gradient();
    test_threads();
    test_padding_exact();
    test_running_stats();
    test_reference();
    test_training();
    test_bf16_gemm();
    test_bf16_step();
    test_bf16_attention();
    if (gm) free(gbuf.acts), free(gbuf.scratch), a2m_model_del(gm);
    return test_done("test_transformer");
}
