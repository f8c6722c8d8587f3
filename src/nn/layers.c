#include "nn/layers.h"
#include "core/isa.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void nn_zero(float *x, size_t n) { memset(x, 0, n * sizeof *x); }

int nn_argmax(const float *x, int n) {
    int a = 0;
    for (int c = 1; c < n; c++)
        if (x[c] > x[a]) a = c;
    return a;
}

/* ---------------------------------------------------------------- Conv1d */

size_t conv1d_scratch_floats(int B, int T, int Cin, int K) { return (size_t)B * T * Cin * K; }

/* col[(b*T+t)][ci*K+k] = in[b][t+k-K/2][ci] (0 outside the sequence): the
 * PyTorch weight [Cout x Cin x K] then multiplies col rows directly. */
void conv1d_im2col(float *col, const float *in, int B, int T, int Cin, int K) {
    int pad = K / 2;
    size_t ck = (size_t)Cin * K;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *row = col + ((size_t)b * T + t) * ck;
            for (int k = 0; k < K; k++) {
                int ts = t + k - pad;
                if (ts < 0 || ts >= T) {
                    for (int ci = 0; ci < Cin; ci++) row[(size_t)ci * K + k] = 0.0f;
                    continue;
                }
                const float *src = in + ((size_t)b * T + ts) * Cin;
                for (int ci = 0; ci < Cin; ci++) row[(size_t)ci * K + k] = src[ci];
            }
        }
}

void conv1d_col2im_add(float *din, const float *col, int B, int T, int Cin, int K) {
    int pad = K / 2;
    size_t ck = (size_t)Cin * K;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *row = col + ((size_t)b * T + t) * ck;
            for (int k = 0; k < K; k++) {
                int ts = t + k - pad;
                if (ts < 0 || ts >= T) continue;
                float *dst = din + ((size_t)b * T + ts) * Cin;
                for (int ci = 0; ci < Cin; ci++) dst[ci] += row[(size_t)ci * K + k];
            }
        }
}

void conv1d_forward(float *out, const float *in, const float *w, const float *b, float *col, int B, int T, int Cin,
                    int Cout, int K) {
    int N = B * T, CK = Cin * K;
    conv1d_im2col(col, in, B, T, Cin, K);
    if (b)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * Cout, b, (size_t)Cout * sizeof *out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, Cout, CK, 1.0f, col, CK, w, CK, b ? 1.0f : 0.0f, out, Cout);
}

void conv1d_backward(float *din, float *dw, float *db, const float *dout, float *col, const float *w, int B, int T,
                     int Cin, int Cout, int K) {
    int N = B * T, CK = Cin * K;
    if (dw) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Cout, CK, N, 1.0f, dout, Cout, col, CK, 1.0f, dw, CK);
    for (int n = 0; db && n < N; n++) {
        const float *d = dout + (size_t)n * Cout;
        for (int c = 0; c < Cout; c++) db[c] += d[c];
    }
    if (!din) return;
    /* dcol = dout W, reusing the im2col buffer */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, CK, Cout, 1.0f, dout, Cout, w, CK, 0.0f, col, CK);
    conv1d_col2im_add(din, col, B, T, Cin, K);
}

/* ------------------------------------------------------------------ ReLU */

void relu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward(float *din, const float *dout, const float *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (out[i] > 0.0f) din[i] += dout[i];
}

/* ---------------------------------------------------------------- Linear */

void linear_forward(float *out, const float *in, const float *w, const float *b, int N, int Cin, int Cout) {
    float beta = 0.0f;
    if (b) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * Cout, b, (size_t)Cout * sizeof *out);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, Cout, Cin, 1.0f, in, Cin, w, Cin, beta, out, Cout);
}

void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w, int N,
                     int Cin, int Cout) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Cout, Cin, N, 1.0f, dout, Cout, in, Cin, 1.0f, dw, Cin);
    if (db)
        for (int n = 0; n < N; n++)
            for (int c = 0; c < Cout; c++) db[c] += dout[(size_t)n * Cout + c];
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, Cin, Cout, 1.0f, dout, Cout, w, Cin, 1.0f, din, Cin);
}

/* ------------------------------------------------------------------ LSTM */

/* Cache layout: x_tm [T*B*In] (time-major input), then per direction
 * gates [T*B*4H] (activated i,f,g,o), c [T*B*H], h [T*B*H], state h,c [2*B*H]. */
static size_t lstm_dir_floats(int B, int T, int H) { return (size_t)T * B * 6 * H + (size_t)2 * B * H; }

size_t lstm_cache_floats(int B, int T, int In, int H) { return (size_t)T * B * In + 2 * lstm_dir_floats(B, T, H); }

size_t lstm_scratch_floats(int B, int T, int In, int H) {
    return 2 * ((size_t)T * B * 4 * H + (size_t)T * B * In + (size_t)2 * B * H);
}

A2M_DISPATCH
static void lstm_dir_forward(float *out, const float *x_tm, const lstm_weights *w, const int *lengths, float *dc, int d,
                             int B, int T, int In, int H) {
    int G4 = 4 * H;
    size_t TB = (size_t)T * B;
    float *gates = dc, *c = gates + TB * G4, *h = c + TB * H, *hs = h + TB * H, *cs = hs + (size_t)B * H;
    /* input projections of every step at once, plus both biases */
    for (size_t r = 0; r < TB; r++)
        for (int j = 0; j < G4; j++) gates[r * G4 + j] = w->b_ih[j] + w->b_hh[j];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)TB, G4, In, 1.0f, x_tm, In, w->w_ih, In, 1.0f, gates, G4);
    memset(hs, 0, (size_t)2 * B * H * sizeof *hs);
    for (int s = 0; s < T; s++) {
        int t = d == 0 ? s : T - 1 - s;
        float *g = gates + (size_t)t * B * G4;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G4, H, 1.0f, hs, H, w->w_hh, H, 1.0f, g, G4);
        for (int b = 0; b < B; b++) {
            float *gb = g + (size_t)b * G4;
            float *cb = c + ((size_t)t * B + b) * H, *hb = h + ((size_t)t * B + b) * H;
            float *hsb = hs + (size_t)b * H, *csb = cs + (size_t)b * H;
            float *ob = out + ((size_t)b * T + t) * 2 * H + (size_t)d * H;
            if (lengths && t >= lengths[b]) { /* padding: state untouched, output 0 */
                memset(cb, 0, (size_t)H * sizeof *cb);
                memset(hb, 0, (size_t)H * sizeof *hb);
                memset(ob, 0, (size_t)H * sizeof *ob);
                continue;
            }
            /* activations as whole-vector loops so they vectorise (layers.h: no libm, no -ffast-math) */
            for (int j = 0; j < 2 * H; j++) gb[j] = nn_sigmoidf(gb[j]);
            for (int j = 2 * H; j < 3 * H; j++) gb[j] = nn_tanhf(gb[j]);
            for (int j = 3 * H; j < 4 * H; j++) gb[j] = nn_sigmoidf(gb[j]);
            for (int j = 0; j < H; j++) cb[j] = csb[j] = gb[H + j] * csb[j] + gb[j] * gb[2 * H + j];
            for (int j = 0; j < H; j++) hb[j] = hsb[j] = ob[j] = gb[3 * H + j] * nn_tanhf(cb[j]);
        }
    }
}

void bilstm_forward(float *out, const float *in, const lstm_weights w[2], const int *lengths, float *cache, int B,
                    int T, int In, int H, int n_threads) {
    float *x_tm = cache;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            memcpy(x_tm + ((size_t)t * B + b) * In, in + ((size_t)b * T + t) * In, (size_t)In * sizeof *x_tm);
    float *dir_cache = cache + (size_t)T * B * In;
    size_t per_dir = lstm_dir_floats(B, T, H);
#pragma omp parallel for num_threads(n_threads > 1 ? 2 : 1) schedule(static, 1)
    for (int d = 0; d < 2; d++) lstm_dir_forward(out, x_tm, &w[d], lengths, dir_cache + d * per_dir, d, B, T, In, H);
}

A2M_DISPATCH
static void lstm_dir_backward(float *dx_tm, const lstm_grads *g, const float *dout, const float *x_tm,
                              const lstm_weights *w, const int *lengths, const float *dc, float *dG, float *dh,
                              float *dcn, int d, int B, int T, int In, int H) {
    int G4 = 4 * H;
    size_t TB = (size_t)T * B;
    const float *gates = dc, *c = gates + TB * G4, *h = c + TB * H;
    memset(dh, 0, (size_t)B * H * sizeof *dh);
    memset(dcn, 0, (size_t)B * H * sizeof *dcn);
    for (int s = T - 1; s >= 0; s--) {
        int t = d == 0 ? s : T - 1 - s;
        int tp = d == 0 ? t - 1 : t + 1; /* the step processed just before t */
        float *dg = dG + (size_t)t * B * G4;
        for (int b = 0; b < B; b++) {
            float *dgb = dg + (size_t)b * G4;
            if (lengths && t >= lengths[b]) {
                memset(dgb, 0, (size_t)G4 * sizeof *dgb);
                memset(dcn + (size_t)b * H, 0, (size_t)H * sizeof *dcn);
                continue;
            }
            const float *gb = gates + ((size_t)t * B + b) * G4;
            const float *cb = c + ((size_t)t * B + b) * H;
            const float *cp = (tp >= 0 && tp < T) ? c + ((size_t)tp * B + b) * H : NULL;
            const float *db_out = dout + ((size_t)b * T + t) * 2 * H + (size_t)d * H;
            float *dhb = dh + (size_t)b * H, *dcb = dcn + (size_t)b * H;
            for (int j = 0; j < H; j++) {
                float ig = gb[j], fg = gb[H + j], gg = gb[2 * H + j], og = gb[3 * H + j];
                float tc = nn_tanhf(cb[j]);
                float dhj = db_out[j] + dhb[j];
                float dcj = dcb[j] + dhj * og * (1.0f - tc * tc);
                float cprev = cp ? cp[j] : 0.0f;
                dgb[j] = dcj * gg * ig * (1.0f - ig);
                dgb[H + j] = dcj * cprev * fg * (1.0f - fg);
                dgb[2 * H + j] = dcj * ig * (1.0f - gg * gg);
                dgb[3 * H + j] = dhj * tc * og * (1.0f - og);
                dcb[j] = dcj * fg;
            }
        }
        /* gradient into the previous step's h */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G4, 1.0f, dg, G4, w->w_hh, H, 0.0f, dh, H);
    }
    /* weight gradients for all steps at once */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G4, In, (int)TB, 1.0f, dG, G4, x_tm, In, 1.0f, g->w_ih, In);
    if (T > 1) {
        size_t rows = (size_t)(T - 1) * B;
        const float *dg_from = d == 0 ? dG + (size_t)B * G4 : dG; /* steps with a previous h */
        const float *h_prev = d == 0 ? h : h + (size_t)B * H;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G4, H, (int)rows, 1.0f, dg_from, G4, h_prev, H, 1.0f,
                    g->w_hh, H);
    }
    for (size_t r = 0; r < TB; r++)
        for (int j = 0; j < G4; j++) {
            g->b_ih[j] += dG[r * G4 + j];
            g->b_hh[j] += dG[r * G4 + j];
        }
    if (dx_tm)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)TB, In, G4, 1.0f, dG, G4, w->w_ih, In, 0.0f, dx_tm,
                    In);
}

void bilstm_backward(float *din, const lstm_grads g[2], const float *dout, const float *in, const lstm_weights w[2],
                     const int *lengths, const float *cache, float *scratch, int B, int T, int In, int H,
                     int n_threads) {
    (void)in;
    const float *x_tm = cache;
    const float *dir_cache = cache + (size_t)T * B * In;
    size_t per_dir = lstm_dir_floats(B, T, H);
    size_t TB = (size_t)T * B;
    size_t per_scratch = TB * 4 * H + TB * In + (size_t)2 * B * H;
#pragma omp parallel for num_threads(n_threads > 1 ? 2 : 1) schedule(static, 1)
    for (int d = 0; d < 2; d++) {
        float *s = scratch + d * per_scratch;
        float *dG = s, *dx = dG + TB * 4 * H, *dh = dx + TB * In, *dcn = dh + (size_t)B * H;
        lstm_dir_backward(din ? dx : NULL, &g[d], dout, x_tm, &w[d], lengths, dir_cache + d * per_dir, dG, dh, dcn, d,
                          B, T, In, H);
    }
    if (!din) return;
    const float *dx0 = scratch + TB * 4 * H, *dx1 = scratch + per_scratch + TB * 4 * H;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float *dst = din + ((size_t)b * T + t) * In;
            const float *a0 = dx0 + ((size_t)t * B + b) * In, *a1 = dx1 + ((size_t)t * B + b) * In;
            for (int i = 0; i < In; i++) dst[i] += a0[i] + a1[i];
        }
}

/* ------------------------------------------------------------------ Loss */

/* q = exp(z - max z) of one row, in vectors */
static inline void softmax_exp_row(float *q, const float *z, int C) {
    float m = z[0];
    for (int c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
    for (int c = 0; c < C; c++) q[c] = nn_expf(z[c] - m); /* z - m may be -inf: clamped */
}

/* Rows in fours: each row's exponentials vectorise apart from its sum, and the four sums (each row's in class
 * order, in double, as one row at a time) are four dependency chains instead of one: a row's sum was
 * latency-bound, and softmax 2.3% of a 30 s transcription (the any-pitch model's 7000 rows of 53 classes). */
A2M_DISPATCH static void softmax_rows_body(float *p, const float *logits, int N, int C) {
    for (int n = 0; n < N; n += 4) {
        int rows = N - n < 4 ? N - n : 4;
        float *q = p + (size_t)n * C;
        double s[4] = {0, 0, 0, 0};
        for (int r = 0; r < rows; r++) softmax_exp_row(q + (size_t)r * C, logits + (size_t)(n + r) * C, C);
        if (rows == 4)
            for (int c = 0; c < C; c++)
                for (int r = 0; r < 4; r++) s[r] += q[(size_t)r * C + c];
        else
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < C; c++) s[r] += q[(size_t)r * C + c];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < C; c++) q[(size_t)r * C + c] = (float)(q[(size_t)r * C + c] / s[r]);
    }
}

void softmax_rows(float *p, const float *logits, int N, int C) { softmax_rows_body(p, logits, N, C); }

double softmax_xent_forward_backward(float *dlogits, const float *logits, const int64_t *labels, const float *class_w,
                                     double gamma, int N, int C, double *weight_sum) {
    return softmax_xent_smooth_forward_backward(dlogits, logits, labels, class_w, gamma, 0.0, NULL, 0.0, N, C,
                                                weight_sum);
}

double softmax_xent_smooth_forward_backward(float *dlogits, const float *logits, const int64_t *labels,
                                            const float *class_w, double gamma, double eps, const float *soft,
                                            double alpha, int N, int C, double *weight_sum) {
    if (!soft) alpha = 0.0;
    double loss = 0, wsum = 0;
    for (int n = 0; n < N; n++) {
        int64_t y = labels[n];
        if (y < 0 || y >= C) continue;
        wsum += class_w ? class_w[y] : 1.0;
    }
    if (weight_sum) *weight_sum = wsum;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * C;
        float *dz = dlogits ? dlogits + (size_t)n * C : NULL;
        int64_t y = labels[n];
        if (y < 0 || y >= C || wsum <= 0) {
            if (dz) memset(dz, 0, (size_t)C * sizeof *dz);
            continue;
        }
        double m = z[0];
        for (int c = 1; c < C; c++) m = z[c] > m ? z[c] : m;
        double s = 0;
        for (int c = 0; c < C; c++) s += exp(z[c] - m);
        double logp = z[y] - m - log(s);
        double p = exp(logp);
        double wy = (class_w ? class_w[y] : 1.0) / wsum;
        double dl_dp_times_p; /* p * dL/dp, so dL/dz_j = that * (delta_jy - p_j) */
        if (gamma == 0.0 && (eps > 0.0 || alpha > 0.0)) {
            /* target q (smoothed label, mixed with the soft target): loss -sum q_c log p_c, gradient w (p_c - q_c) */
            double lsum = 0;
            for (int c = 0; c < C; c++) {
                double q = (1.0 - alpha) * ((c == y ? 1.0 - eps : 0.0) + eps / C) +
                           (alpha > 0.0 ? alpha * soft[(size_t)n * C + c] : 0.0);
                lsum += q * (z[c] - m - log(s));
                if (dz) dz[c] = (float)(wy * (exp(z[c] - m) / s - q));
            }
            loss += -wy * lsum;
            continue;
        }
        if (gamma == 0.0) {
            loss += -wy * logp;
            dl_dp_times_p = -wy;
        } else {
            double q = 1.0 - p;
            double qg = pow(q, gamma);
            loss += -wy * qg * logp;
            /* d/dp [-(1-p)^g log p] = g (1-p)^(g-1) log p - (1-p)^g / p */
            double qg1 = q > 0 ? pow(q, gamma - 1.0) : 0.0;
            dl_dp_times_p = wy * (gamma * qg1 * logp * p - qg);
        }
        if (dz)
            for (int c = 0; c < C; c++) {
                double pc = exp(z[c] - m) / s;
                dz[c] = (float)(dl_dp_times_p * ((c == y ? 1.0 : 0.0) - pc));
            }
    }
    return loss;
}

/* -log sigmoid(z), stable for either sign */
static double log1p_exp_neg(double z) { return z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z)); }

/* The softmax part of one row of softmax_onset_xent: classes c != onset, target (1 - eps) on y + eps / (C - 1);
 * returns -sum q log p, writes w (p - q) into dz (dz[onset] left). */
static double onset_row_softmax(float *dz, const float *z, int64_t y, int onset, double eps, double w, int C) {
    double m = -INFINITY, s = 0, lsum = 0;
    for (int c = 0; c < C; c++)
        if (c != onset) m = z[c] > m ? z[c] : m;
    for (int c = 0; c < C; c++)
        if (c != onset) s += exp(z[c] - m);
    double ls = log(s);
    for (int c = 0; c < C; c++) {
        if (c == onset) continue;
        double q = (c == y ? 1.0 - eps : 0.0) + eps / (C - 1);
        lsum += q * (z[c] - m - ls);
        if (dz) dz[c] = (float)(w * (exp(z[c] - m - ls) - q));
    }
    return -lsum;
}

double softmax_onset_xent_forward_backward(float *dlogits, const float *logits, const int64_t *labels,
                                           const float *target, const float *class_w, double eps, int onset,
                                           double pos_w, double bce_w, int N, int C, double *weight_sum) {
    double wsum = 0, loss = 0, bce = 0;
    int nv = 0;
    for (int n = 0; n < N; n++) {
        int64_t y = labels[n];
        if (y < 0 || y >= C || y == onset) continue;
        wsum += class_w ? class_w[y] : 1.0;
        nv++;
    }
    if (weight_sum) *weight_sum = wsum;
    for (int n = 0; n < N; n++) {
        const float *z = logits + (size_t)n * C;
        float *dz = dlogits ? dlogits + (size_t)n * C : NULL;
        int64_t y = labels[n];
        if (y < 0 || y >= C || y == onset || wsum <= 0) {
            if (dz) memset(dz, 0, (size_t)C * sizeof *dz);
            continue;
        }
        double wy = (class_w ? class_w[y] : 1.0) / wsum;
        loss += wy * onset_row_softmax(dz, z, y, onset, eps, wy, C);
        double t = target[n], zo = z[onset], sg = 1.0 / (1.0 + exp(-zo));
        bce += pos_w * t * log1p_exp_neg(zo) + (1.0 - t) * log1p_exp_neg(-zo);
        if (dz) dz[onset] = (float)(bce_w / nv * (sg * (pos_w * t + 1.0 - t) - pos_w * t));
    }
    return loss + (nv ? bce_w * bce / nv : 0.0);
}

/* ------------------------------------------------------------- Optimiser */

adam_params adam_default_params(void) {
    adam_params p = {1e-3, 0.9, 0.999, 1e-8, 0.0, 0};
    return p;
}

A2M_DISPATCH
static void adam_update_body(float *param, const float *grad, float *m, float *v, size_t n, adam_params p, long step) {
    double bc1 = 1.0 - pow(p.beta1, (double)step), bc2 = 1.0 - pow(p.beta2, (double)step);
    float step_size = (float)(p.lr / bc1);
    float sqrt_bc2 = (float)sqrt(bc2);
    float b1 = (float)p.beta1, b2 = (float)p.beta2, eps = (float)p.eps, wd = (float)p.weight_decay;
    float decay = p.decoupled ? (float)(1.0 - p.lr * p.weight_decay) : 1.0f;
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        if (!p.decoupled && wd != 0.0f) g += wd * param[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        param[i] = param[i] * decay - step_size * m[i] / (sqrtf(v[i]) / sqrt_bc2 + eps);
    }
}

void adam_update(float *param, const float *grad, float *m, float *v, size_t n, adam_params p, long step) {
    adam_update_body(param, grad, m, v, n, p, step);
}

double clip_grad_norm(float *grad, size_t n, double max_norm) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)grad[i] * grad[i];
    double norm = sqrt(s);
    if (max_norm > 0 && norm > max_norm) {
        float k = (float)(max_norm / (norm + 1e-6));
        for (size_t i = 0; i < n; i++) grad[i] *= k;
    }
    return norm;
}

/* ---------------------------------------------------------------- Dropout */

static inline uint64_t mix64(uint64_t z) { /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void dropout_forward(float *out, const float *in, float *mask, size_t n, float p, uint64_t seed, int training) {
    if (!training || p <= 0.0f) {
        for (size_t i = 0; i < n; i++) mask[i] = 1.0f, out[i] = in[i];
        return;
    }
    float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    uint64_t base = mix64(seed + 0x9E3779B97F4A7C15ull);
    for (size_t i = 0; i < n; i++) {
        /* u uniform in [0, 1) from the top 24 bits of a hash of (seed, i) */
        float u = (float)(mix64(base + (uint64_t)i * 0x9E3779B97F4A7C15ull) >> 40) * (1.0f / 16777216.0f);
        mask[i] = u < p ? 0.0f : keep;
        out[i] = in[i] * mask[i];
    }
}

void dropout_forward_seqs(float *out, const float *in, float *mask, int B, size_t n, float p, uint64_t seed,
                          uint64_t step, int training) {
    if (!step) {
        dropout_forward(out, in, mask, (size_t)B * n, p, seed, training);
        return;
    }
    for (int b = 0; b < B; b++)
        dropout_forward(out + (size_t)b * n, in + (size_t)b * n, mask + (size_t)b * n, n, p, seed + (uint64_t)b * step,
                        training);
}

void dropout_backward(float *din, const float *dout, const float *mask, size_t n) {
    for (size_t i = 0; i < n; i++) din[i] += dout[i] * mask[i];
}

/* ------------------------------------------------------------- BatchNorm */

/* Valid frames of sequence b. */
static inline int valid_len(const int *lengths, int b, int T) {
    if (!lengths) return T;
    return lengths[b] < 0 ? 0 : lengths[b] > T ? T : lengths[b];
}

enum { BN_BLOCK = 64 }; /* channels per pass: per-channel sums in double without allocating */

size_t batchnorm_forward(float *out, const float *in, const float *weight, const float *bias, const float *running_mean,
                         const float *running_var, float *save, const int *lengths, int B, int T, int C, float eps,
                         int training) {
    return batchnorm_forward_channels(out, in, weight, bias, running_mean, running_var, save, lengths, B, T, C, eps,
                                      training, 0, C);
}

size_t batchnorm_forward_channels(float *out, const float *in, const float *weight, const float *bias,
                                  const float *running_mean, const float *running_var, float *save, const int *lengths,
                                  int B, int T, int C, float eps, int training, int c_lo, int c_hi) {
    float *mean = save, *var = save + C;
    size_t n = 0, nh = (size_t)(c_hi - c_lo);
    for (int b = 0; b < B; b++) n += (size_t)valid_len(lengths, b, T);
    if (training) {
        for (int c0 = c_lo; c0 < c_hi; c0 += BN_BLOCK) {
            int nc = c_hi - c0 < BN_BLOCK ? c_hi - c0 : BN_BLOCK;
            double s[BN_BLOCK] = {0}, q[BN_BLOCK] = {0};
            for (int b = 0; b < B; b++)
                for (int t = 0, L = valid_len(lengths, b, T); t < L; t++) {
                    const float *x = in + ((size_t)b * T + t) * C + c0;
                    for (int c = 0; c < nc; c++) s[c] += x[c];
                }
            for (int c = 0; c < nc; c++) s[c] = n ? s[c] / (double)n : 0.0;
            for (int b = 0; b < B; b++) /* two-pass variance */
                for (int t = 0, L = valid_len(lengths, b, T); t < L; t++) {
                    const float *x = in + ((size_t)b * T + t) * C + c0;
                    for (int c = 0; c < nc; c++) {
                        double d = x[c] - s[c];
                        q[c] += d * d;
                    }
                }
            for (int c = 0; c < nc; c++) mean[c0 + c] = (float)s[c], var[c0 + c] = n ? (float)(q[c] / (double)n) : 0.0f;
        }
    } else {
        memcpy(mean + c_lo, running_mean + c_lo, nh * sizeof *mean);
        memcpy(var + c_lo, running_var + c_lo, nh * sizeof *var);
    }
    for (int b = 0; b < B; b++) {
        int L = valid_len(lengths, b, T);
        for (int t = 0; t < T; t++) {
            const float *x = in + ((size_t)b * T + t) * C;
            float *y = out + ((size_t)b * T + t) * C;
            if (t >= L) {
                memset(y + c_lo, 0, nh * sizeof *y);
                continue;
            }
            for (int c = c_lo; c < c_hi; c++) y[c] = (x[c] - mean[c]) / sqrtf(var[c] + eps) * weight[c] + bias[c];
        }
    }
    return n;
}

void batchnorm_update_running(float *running_mean, float *running_var, const float *save, size_t n, int C,
                              float momentum) {
    double unbias = n > 1 ? (double)n / (double)(n - 1) : 1.0;
    for (int c = 0; c < C; c++) {
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * save[c];
        running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * save[C + c] * unbias);
    }
}

void batchnorm_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                        const float *weight, const float *save, const int *lengths, int B, int T, int C, float eps,
                        int training) {
    batchnorm_backward_channels(din, dweight, dbias, dout, in, weight, save, lengths, B, T, C, eps, training, 0, C);
}

void batchnorm_backward_channels(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                                 const float *weight, const float *save, const int *lengths, int B, int T, int C,
                                 float eps, int training, int c_lo, int c_hi) {
    const float *mean = save, *var = save + C;
    size_t n = 0;
    for (int b = 0; b < B; b++) n += (size_t)valid_len(lengths, b, T);
    for (int c0 = c_lo; c0 < c_hi; c0 += BN_BLOCK) {
        int nc = c_hi - c0 < BN_BLOCK ? c_hi - c0 : BN_BLOCK;
        double sdy[BN_BLOCK] = {0}, sdyx[BN_BLOCK] = {0};
        float inv[BN_BLOCK];
        for (int c = 0; c < nc; c++) inv[c] = 1.0f / sqrtf(var[c0 + c] + eps);
        for (int b = 0; b < B; b++)
            for (int t = 0, L = valid_len(lengths, b, T); t < L; t++) {
                size_t r = ((size_t)b * T + t) * C + c0;
                for (int c = 0; c < nc; c++) {
                    double xh = (in[r + c] - mean[c0 + c]) * inv[c];
                    sdy[c] += dout[r + c];
                    sdyx[c] += dout[r + c] * xh;
                }
            }
        for (int c = 0; c < nc; c++) {
            if (dweight) dweight[c0 + c] += (float)sdyx[c];
            if (dbias) dbias[c0 + c] += (float)sdy[c];
        }
        if (!din) continue;
        /* training: dx = w * inv * (dy - mean(dy) - xhat * mean(dy * xhat)) over the batch */
        float a[BN_BLOCK], m1[BN_BLOCK], m2[BN_BLOCK];
        for (int c = 0; c < nc; c++) {
            a[c] = weight[c0 + c] * inv[c];
            m1[c] = training && n ? (float)(sdy[c] / (double)n) : 0.0f;
            m2[c] = training && n ? (float)(sdyx[c] / (double)n) : 0.0f;
        }
        for (int b = 0; b < B; b++)
            for (int t = 0, L = valid_len(lengths, b, T); t < L; t++) {
                size_t r = ((size_t)b * T + t) * C + c0;
                for (int c = 0; c < nc; c++) {
                    float xh = (in[r + c] - mean[c0 + c]) * inv[c];
                    din[r + c] += a[c] * (dout[r + c] - m1[c] - xh * m2[c]);
                }
            }
    }
}

/* --------------------------------------------------------------- MaxPool */

void maxpool1d_forward(float *out, const float *in, int B, int T, int C, int K) {
    int To = T / K;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < To; j++) {
            float *y = out + ((size_t)b * To + j) * C;
            const float *x = in + ((size_t)b * T + (size_t)j * K) * C;
            memcpy(y, x, (size_t)C * sizeof *y);
            for (int k = 1; k < K; k++)
                for (int c = 0; c < C; c++)
                    if (x[(size_t)k * C + c] > y[c]) y[c] = x[(size_t)k * C + c]; /* strict: ties keep the first */
        }
}

void maxpool1d_backward(float *din, const float *dout, const float *in, int B, int T, int C, int K) {
    int To = T / K;
    for (int b = 0; b < B; b++)
        for (int j = 0; j < To; j++) {
            const float *dy = dout + ((size_t)b * To + j) * C;
            const float *x = in + ((size_t)b * T + (size_t)j * K) * C;
            float *dx = din + ((size_t)b * T + (size_t)j * K) * C;
            for (int c = 0; c < C; c++) {
                int a = 0;
                for (int k = 1; k < K; k++)
                    if (x[(size_t)k * C + c] > x[(size_t)a * C + c]) a = k;
                dx[(size_t)a * C + c] += dy[c];
            }
        }
}

/* ------------------------------------------------------- ConvTranspose1d */

size_t conv_transpose1d_scratch_floats(int B, int T, int Cout, int K) { return (size_t)B * T * Cout * K; }

void conv_transpose1d_forward(float *out, const float *in, const float *w, const float *b, float *col, int B, int T,
                              int Cin, int Cout, int K, int stride) {
    int N = B * T, CK = Cout * K, To = conv_transpose1d_out_len(T, K, stride);
    /* col[bt][co*K + k] = sum_ci in[bt][ci] w[ci][co][k] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, CK, Cin, 1.0f, in, Cin, w, CK, 0.0f, col, CK);
    for (int bb = 0; bb < B; bb++) {
        float *ob = out + (size_t)bb * To * Cout;
        for (int t = 0; t < To; t++) {
            if (b) memcpy(ob + (size_t)t * Cout, b, (size_t)Cout * sizeof *ob);
            else memset(ob + (size_t)t * Cout, 0, (size_t)Cout * sizeof *ob);
        }
        for (int t = 0; t < T; t++) {
            const float *row = col + ((size_t)bb * T + t) * CK;
            for (int k = 0; k < K; k++) {
                float *y = ob + ((size_t)t * stride + k) * Cout;
                for (int co = 0; co < Cout; co++) y[co] += row[(size_t)co * K + k];
            }
        }
    }
}

void conv_transpose1d_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                               float *col, int B, int T, int Cin, int Cout, int K, int stride) {
    int N = B * T, CK = Cout * K, To = conv_transpose1d_out_len(T, K, stride);
    /* dcol[bt][co*K + k] = dout[b][t*stride + k][co] */
    for (int bb = 0; bb < B; bb++)
        for (int t = 0; t < T; t++) {
            float *row = col + ((size_t)bb * T + t) * CK;
            for (int k = 0; k < K; k++) {
                const float *dy = dout + ((size_t)bb * To + (size_t)t * stride + k) * Cout;
                for (int co = 0; co < Cout; co++) row[(size_t)co * K + k] = dy[co];
            }
        }
    if (db)
        for (size_t r = 0; r < (size_t)B * To; r++)
            for (int co = 0; co < Cout; co++) db[co] += dout[r * Cout + co];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Cin, CK, N, 1.0f, in, Cin, col, CK, 1.0f, dw, CK);
    if (din) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, Cin, CK, 1.0f, col, CK, w, CK, 1.0f, din, Cin);
}

/* ------------------------------------------------- Squeeze-excitation */

/* out[c] = sum over the L valid frames of sequence b of a[b,t,c] (times w[b,t,c] when w is given), divided by
 * div; summed in double, BN_BLOCK channels at a time, so nothing is allocated. a, w: [B x T x C]. */
static void channel_time_sum(float *out, const float *a, const float *w, int b, int L, int T, int C, double div) {
    for (int c0 = 0; c0 < C; c0 += BN_BLOCK) {
        int nc = C - c0 < BN_BLOCK ? C - c0 : BN_BLOCK;
        double acc[BN_BLOCK] = {0};
        for (int t = 0; t < L; t++) {
            size_t r = ((size_t)b * T + t) * C + c0;
            if (w)
                for (int c = 0; c < nc; c++) acc[c] += (double)a[r + c] * w[r + c];
            else
                for (int c = 0; c < nc; c++) acc[c] += a[r + c];
        }
        for (int c = 0; c < nc; c++) out[c0 + c] = (float)(acc[c] / div);
    }
}

size_t se_cache_floats(int B, int C, int Cr) { return (size_t)B * (2 * C + Cr); }
size_t se_scratch_floats(int B, int C, int Cr) { return (size_t)B * (2 * C + Cr); }

void se_forward(float *out, const float *in, const float *w1, const float *b1, const float *w2, const float *b2,
                float *cache, const int *lengths, int B, int T, int C, int Cr) {
    float *z = cache, *h = z + (size_t)B * C, *s = h + (size_t)B * Cr;
    for (int b = 0; b < B; b++) {
        int L = valid_len(lengths, b, T);
        channel_time_sum(z + (size_t)b * C, in, NULL, b, L, T, C, L ? L : 1);
    }
    linear_forward(h, z, w1, b1, B, C, Cr);
    relu_forward(h, h, (size_t)B * Cr);
    linear_forward(s, h, w2, b2, B, Cr, C);
    for (size_t i = 0; i < (size_t)B * C; i++) s[i] = nn_sigmoidf(s[i]);
    for (int b = 0; b < B; b++) {
        int L = valid_len(lengths, b, T);
        const float *sb = s + (size_t)b * C;
        for (int t = 0; t < T; t++) {
            const float *x = in + ((size_t)b * T + t) * C;
            float *y = out + ((size_t)b * T + t) * C;
            if (t >= L) memset(y, 0, (size_t)C * sizeof *y);
            else
                for (int c = 0; c < C; c++) y[c] = x[c] * sb[c];
        }
    }
}

void se_backward(float *din, float *dw1, float *db1, float *dw2, float *db2, const float *dout, const float *in,
                 const float *w1, const float *w2, const float *cache, float *scratch, const int *lengths, int B, int T,
                 int C, int Cr) {
    const float *z = cache, *h = z + (size_t)B * C, *s = h + (size_t)B * Cr;
    float *ds = scratch, *dh = ds + (size_t)B * C, *dz = dh + (size_t)B * Cr;
    /* ds = sum_t dout * in, then through the sigmoid */
    for (int b = 0; b < B; b++) {
        channel_time_sum(ds + (size_t)b * C, dout, in, b, valid_len(lengths, b, T), T, C, 1);
        for (int c = 0; c < C; c++) {
            float sv = s[(size_t)b * C + c];
            ds[(size_t)b * C + c] *= sv * (1.0f - sv);
        }
    }
    nn_zero(dh, (size_t)B * Cr);
    linear_backward(dh, dw2, db2, ds, h, w2, B, Cr, C);
    for (size_t i = 0; i < (size_t)B * Cr; i++)
        if (!(h[i] > 0.0f)) dh[i] = 0.0f;
    nn_zero(dz, (size_t)B * C);
    linear_backward(din ? dz : NULL, dw1, db1, dh, z, w1, B, C, Cr);
    if (!din) return;
    for (int b = 0; b < B; b++) {
        int L = valid_len(lengths, b, T);
        const float *sb = s + (size_t)b * C, *dzb = dz + (size_t)b * C;
        float invL = L ? 1.0f / (float)L : 0.0f;
        for (int t = 0; t < L; t++) {
            size_t r = ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) din[r + c] += dout[r + c] * sb[c] + dzb[c] * invL;
        }
    }
}
