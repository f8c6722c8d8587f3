/* The CRNN's inference-only forward: same numbers as crnn_forward, less work.
 * - Conv1 (k3, same padding) as Winograd F(2,3): four GEMMs over blocks of
 *   64 output pairs (2/3 of the multiply-adds of three shifted GEMMs), then
 *   bias + ReLU + padding mask in one pass; one sequence at a time.
 * - Conv2's input is conv1's ReLU output (~50-65% zeros on real takes): with
 *   AVX2/AVX-512 each output frame is its 3-row window's list of nonzeros
 *   times 64-column panels of the weights, bias and ReLU fused (lstm_infer.c's
 *   sparse kernel); else three shifted GEMMs.
 * - Activations are time-major [T x B x C] (the GEMMs write with a stride),
 *   so a chunk of steps of every sequence is a block of contiguous rows.
 * - The LSTM input projections (in chunks of steps), recurrence, cell update
 *   and output layer run in lstm_infer.c. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "core/isa.h"
#include "nn/crnn.h"
#include "nn/infer.h"
#include "nn/layers.h"

enum { C1 = 64, C2 = 128, KS = 3, NZR = 64 };

struct crnn_infer {
    int F, H, C, max_b, max_t;
    int isa;        /* kernel level (infer_isa_level at creation, crnn_infer_cap_isa) */
    float *w1, *b1; /* Winograd F(2,3) [4][F x C1], [C1] */
    float *u1, *m1; /* [4][WT x F], [4][WT x C1]: transformed input, products of one block of tiles */
    float *zero;    /* [F] zeros: the input outside [0, T) */
    float *w2, *b2; /* [3][C1 x C2], [C2] */
    float *w2p;     /* conv2 for the sparse kernel: [C2/64 panels][3 C1 rows: tap, channel][64] */
    int *nzo;       /* [NZR][3 C1] nonzero offsets and values of conv2's input windows */
    float *nzv;
    int nzc[64];
    float *fc_w, *fc_b;
    lstm_infer_w lw;
    float *h1, *h2, *work;
    crnn_bf16 *bf;       /* non-NULL: the bf16 path runs instead */
    crnn_front_fn front; /* non-NULL: each sequence's input rows from front(front_ctx, ...) into xb [max_t x F] */
    void *front_ctx;
    float *xb;
};

void crnn_infer_del(crnn_infer *s) {
    if (!s) return;
    crnn_bf16_del(s->bf);
    free(s->w1), free(s->b1), free(s->w2), free(s->b2), free(s->fc_w), free(s->fc_b);
    lstm_infer_free(&s->lw);
    free(s->h1), free(s->h2), free(s->work), free(s->u1), free(s->m1), free(s->zero), free(s->w2p), free(s->nzo),
        free(s->nzv);
    free(s->xb);
    free(s);
}

int crnn_infer_set_front(crnn_infer *s, crnn_front_fn fn, void *ctx) {
    if (s->bf || !(s->xb = malloc((size_t)s->max_t * s->F * sizeof *s->xb))) return -1;
    s->front = fn, s->front_ctx = ctx;
    return 0;
}

static float *dup(const float *p, size_t n) {
    float *q = malloc(n * sizeof *q);
    if (q) memcpy(q, p, n * sizeof *q);
    return q;
}

/* PyTorch [Cout x Cin x K] -> [K][Cin x Cout] */
static float *pack_conv(const float *w, int Cin, int Cout) {
    float *p = malloc((size_t)KS * Cin * Cout * sizeof *p);
    if (!p) return NULL;
    for (int k = 0; k < KS; k++)
        for (int ci = 0; ci < Cin; ci++)
            for (int co = 0; co < Cout; co++)
                p[((size_t)k * Cin + ci) * Cout + co] = w[((size_t)co * Cin + ci) * KS + k];
    return p;
}

/* Conv1 as Winograd F(2,3) (1.5x fewer multiply-adds than three shifted GEMMs):
 * outputs 2i, 2i+1 from inputs d0..d3 = x[2i-1..2i+2] and taps g0..g2 as
 *   m0 = (d0 - d2) g0, m1 = (d1 + d2)(g0 + g1 + g2)/2, m2 = (d2 - d1)(g0 - g1 + g2)/2, m3 = (d1 - d3) g2
 *   y[2i] = m0 + m1 + m2, y[2i+1] = m1 - m2 - m3
 * each m a GEMM over a block of WT tiles; [4][Cin x Cout] transformed taps here */
enum { WT = 64 };
static float *pack_conv_wino(const float *w, int Cin, int Cout) {
    float *p = malloc((size_t)4 * Cin * Cout * sizeof *p);
    if (!p) return NULL;
    size_t n = (size_t)Cin * Cout;
    for (int ci = 0; ci < Cin; ci++)
        for (int co = 0; co < Cout; co++) {
            const float *g = w + ((size_t)co * Cin + ci) * KS;
            size_t o = (size_t)ci * Cout + co;
            p[o] = g[0], p[n + o] = 0.5f * (g[0] + g[1] + g[2]), p[2 * n + o] = 0.5f * (g[0] - g[1] + g[2]);
            p[3 * n + o] = g[2];
        }
    return p;
}

crnn_infer *crnn_infer_new(const a2m_model *m, const float *params, int max_batch, int max_frames) {
    return crnn_infer_new_ex(m, params, max_batch, max_frames, A2M_PRECISION_FP32);
}

void crnn_infer_cap_isa(crnn_infer *s, int level) {
    if (level < s->isa) s->isa = level < 0 ? 0 : level;
}

int crnn_infer_precision(const crnn_infer *s) { return s->bf ? A2M_PRECISION_BF16 : A2M_PRECISION_FP32; }

crnn_infer *crnn_infer_new_ex(const a2m_model *m, const float *params, int max_batch, int max_frames, int precision) {
    int F = m->info.n_bins, H = m->info.hidden, C = m->info.n_classes;
    if (H % 8 || max_batch <= 0 || max_frames <= 0) return NULL;
    crnn_infer *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (precision == A2M_PRECISION_BF16 && (s->bf = crnn_bf16_new(m, params, max_batch, max_frames))) return s;
    s->F = F, s->H = H, s->C = C, s->max_b = max_batch, s->max_t = max_frames, s->isa = infer_isa_level();
    crnn_tensors wt = crnn_bind(m, params);
    s->w1 = pack_conv_wino(wt.conv0_w, F, C1);
    s->u1 = malloc((size_t)4 * WT * F * sizeof *s->u1);
    s->m1 = malloc((size_t)4 * WT * C1 * sizeof *s->m1);
    s->zero = calloc((size_t)F, sizeof *s->zero);
    s->b1 = dup(wt.conv0_b, C1);
    s->w2 = pack_conv(wt.conv2_w, C1, C2);
    s->w2p = aligned_alloc(64, (size_t)KS * C1 * C2 * sizeof *s->w2p);
    s->nzo = malloc((size_t)NZR * KS * C1 * sizeof *s->nzo);
    s->nzv = malloc((size_t)NZR * KS * C1 * sizeof *s->nzv);
    if (s->w2 && s->w2p)
        for (int pn = 0; pn < C2 / INFER_PW; pn++)
            for (int k = 0; k < KS * C1; k++)
                memcpy(s->w2p + ((size_t)pn * KS * C1 + k) * INFER_PW, s->w2 + (size_t)k * C2 + pn * INFER_PW,
                       INFER_PW * sizeof *s->w2p);
    s->b2 = dup(wt.conv2_b, C2);
    s->fc_w = dup(wt.fc_w, (size_t)C * 2 * H);
    s->fc_b = dup(wt.fc_b, (size_t)C);
    lstm_weights w[2];
    nn_bilstm_weights(&wt.lstm, w);
    size_t BT = (size_t)max_batch * max_frames;
    s->h1 = malloc(BT * C1 * sizeof *s->h1);
    s->h2 = malloc(BT * C2 * sizeof *s->h2);
    s->work = malloc(lstm_infer_work_floats(max_batch, C2, H) * sizeof *s->work);
    if (!s->w1 || !s->u1 || !s->m1 || !s->zero || !s->w2p || !s->nzo || !s->nzv || !s->b1 || !s->w2 || !s->b2 ||
        !s->fc_w || !s->fc_b || !s->h1 || !s->h2 || !s->work || lstm_infer_pack(&s->lw, w, C2, H)) {
        crnn_infer_del(s);
        return NULL;
    }
    return s;
}

/* out[t] = sum_k in[t+k-1] W_k over t in [0, T) (zero outside), rows strided */
static void conv3(float *out, size_t ldo, const float *in, size_t ldi, const float *w, int T, int Cin, int Cout) {
    size_t wk = (size_t)Cin * Cout;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, Cout, Cin, 1.0f, in, (int)ldi, w + wk, Cout, 0.0f, out,
                (int)ldo);
    if (T < 2) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T - 1, Cout, Cin, 1.0f, in, (int)ldi, w, Cout, 1.0f,
                out + ldo, (int)ldo);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T - 1, Cout, Cin, 1.0f, in + ldi, (int)ldi, w + 2 * wk, Cout,
                1.0f, out, (int)ldo);
}

/* conv1 (Winograd, see pack_conv_wino): out[t] over t in [0, T), rows strided */
A2M_DISPATCH
static void conv3_wino(crnn_infer *s, float *out, size_t ldo, const float *in, size_t ldi, int T, int Cin, int Cout) {
    size_t nu = (size_t)WT * Cin, nm = (size_t)WT * Cout, nw = (size_t)Cin * Cout;
    int nt = (T + 1) / 2;
    for (int i0 = 0; i0 < nt; i0 += WT) {
        int n = nt - i0 < WT ? nt - i0 : WT;
        for (int i = 0; i < n; i++) {
            int t = 2 * (i0 + i);
            const float *restrict d0 = t >= 1 ? in + (size_t)(t - 1) * ldi : s->zero;
            const float *restrict d1 = in + (size_t)t * ldi;
            const float *restrict d2 = t + 1 < T ? in + (size_t)(t + 1) * ldi : s->zero;
            const float *restrict d3 = t + 2 < T ? in + (size_t)(t + 2) * ldi : s->zero;
            float *restrict u0 = s->u1 + (size_t)i * Cin, *restrict u1 = u0 + nu, *restrict u2 = u1 + nu,
                            *restrict u3 = u2 + nu;
#pragma omp simd
            for (int c = 0; c < Cin; c++)
                u0[c] = d0[c] - d2[c], u1[c] = d1[c] + d2[c], u2[c] = d2[c] - d1[c], u3[c] = d1[c] - d3[c];
        }
        for (int j = 0; j < 4; j++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, Cout, Cin, 1.0f, s->u1 + j * nu, Cin,
                        s->w1 + j * nw, Cout, 0.0f, s->m1 + j * nm, Cout);
        for (int i = 0; i < n; i++) {
            int t = 2 * (i0 + i);
            const float *restrict m0 = s->m1 + (size_t)i * Cout, *restrict m1 = m0 + nm, *restrict m2 = m1 + nm,
                                  *restrict m3 = m2 + nm;
            float *restrict y0 = out + (size_t)t * ldo, *restrict y1 = y0 + ldo;
#pragma omp simd
            for (int c = 0; c < Cout; c++) y0[c] = m0[c] + m1[c] + m2[c];
            if (t + 1 < T)
#pragma omp simd
                for (int c = 0; c < Cout; c++) y1[c] = m1[c] - m2[c] - m3[c];
        }
    }
}

/* row = max(row + bias, 0) for t < len, 0 after */
A2M_DISPATCH static void bias_relu_mask(float *out, size_t ldo, const float *bias, int T, int len, int Cout) {
    for (int t = 0; t < T; t++) {
        float *r = out + (size_t)t * ldo;
        if (t >= len) {
            memset(r, 0, (size_t)Cout * sizeof *r);
            continue;
        }
#pragma omp simd
        for (int c = 0; c < Cout; c++) {
            float v = r[c] + bias[c];
            r[c] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* conv2 + bias + ReLU with the sparse kernel (its input, a ReLU's output, is
 * mostly zeros): each output frame's window of 3 input rows as one list of
 * nonzeros over the [3 C1] rows of the panels; frames >= len are zeros */
static void conv2_sparse(crnn_infer *s, float *out, size_t ldo, const float *in, size_t ldi, int T, int len, int isa) {
    size_t ld = (size_t)KS * C1;
    for (int t0 = 0; t0 < len; t0 += NZR) {
        int n = len - t0 < NZR ? len - t0 : NZR;
        for (int i = 0; i < n; i++) {
            int t = t0 + i, c = 0;
            int *o = s->nzo + i * ld;
            float *v = s->nzv + i * ld;
            for (int k = 0; k < KS; k++) {
                int tt = t + k - 1;
                if (tt >= 0 && tt < T)
                    c += infer_nonzeros(in + (size_t)tt * ldi, C1, k * C1 * INFER_PW, o + c, v + c, isa);
            }
            s->nzc[i] = c;
        }
        for (int pn = 0; pn < C2 / INFER_PW; pn++)
            infer_sparse_panel(s->w2p + (size_t)pn * ld * INFER_PW, s->nzo, s->nzv, s->nzc, ld, n,
                               out + (size_t)t0 * ldo + pn * INFER_PW, ldo, s->b2 + pn * INFER_PW, 1, isa);
    }
    for (int t = len; t < T; t++) memset(out + (size_t)t * ldo, 0, C2 * sizeof *out);
}

void crnn_infer_forward(crnn_infer *s, const float *x, const int *lengths, int B, int T, float *logits) {
    if (s->bf) {
        crnn_bf16_forward(s->bf, x, lengths, B, T, logits);
        return;
    }
    int F = s->F, C = s->C, isa = s->isa;
    for (int b = 0; b < B; b++) {
        int len = lengths ? lengths[b] : T;
        float *h1 = s->h1 + (size_t)b * C1, *h2 = s->h2 + (size_t)b * C2;
        const float *xb = x + (size_t)b * T * F;
        if (s->front) {
            s->front(s->front_ctx, x, b, T, len, s->xb);
            xb = s->xb;
        }
        conv3_wino(s, h1, (size_t)B * C1, xb, (size_t)F, T, F, C1);
        bias_relu_mask(h1, (size_t)B * C1, s->b1, T, len, C1);
        if (isa) conv2_sparse(s, h2, (size_t)B * C2, h1, (size_t)B * C1, T, len, isa);
        else {
            conv3(h2, (size_t)B * C2, h1, (size_t)B * C1, s->w2, T, C1, C2);
            bias_relu_mask(h2, (size_t)B * C2, s->b2, T, len, C2);
        }
    }
    bilstm_infer(&s->lw, s->h2, lengths, s->fc_w, s->fc_b, logits, s->work, B, T, C, isa);
}
