/* CRNN inference speed on one thread, no training first (bench_train trains
 * 3 epochs before its inference figure): the runner's path (inference-only
 * when the arch has one) against the training forward, for one 4 s take
 * (666 frames), a batch of 8 takes and one 30 s sequence (5000 frames);
 * then the same with bf16 runners (A2M_PRECISION_BF16) when the CPU has
 * avx512_bf16, with their logits' distance from the fp32 runner's (on this
 * synthetic input, a sine over frames and bins, the distance is larger than
 * on real takes: tests/test_bf16.c measures those).
 *   bench_infer [MODEL] [REPS] [CASE 0-2, default all] */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "a2m/error.h"
#include "a2m/model.h"
#include "nn/arch.h"

/* A runner of batch x frames at a precision (the library's defaults otherwise). */
static a2m_runner_params runner_params(int max_batch, int max_frames, a2m_precision precision) {
    a2m_runner_params p = a2m_runner_default_params();
    p.max_batch = max_batch, p.max_frames = max_frames, p.precision = precision;
    return p;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: robust on a shared machine */
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "models/a2m-crnn.safetensors";
    int reps = argc > 2 ? atoi(argv[2]) : 20, only = argc > 3 ? atoi(argv[3]) : -1;
    openblas_set_num_threads(1);
    a2m_model *m;
    if (a2m_model_load(path, NULL, &m)) {
        fprintf(stderr, "bench_infer: %s\n", a2m_errmsg());
        return 1;
    }
    int F = m->info.n_bins, C = m->info.n_classes;
    struct {
        int B, T;
        const char *name;
    } cases[] = {{1, 666, "take"}, {8, 666, "batch8_per_take"}, {1, 5000, "seq30s"}};
    for (int ci = 0; ci < 3; ci++) {
        if (only >= 0 && ci != only) continue;
        int B = cases[ci].B, T = cases[ci].T;
        size_t n = (size_t)B * T;
        float *x = malloc(n * F * sizeof *x), *z = malloc(n * C * sizeof *z), *z2 = malloc(n * C * sizeof *z2);
        for (size_t i = 0; i < n * F; i++) x[i] = (float)sin(0.001 * i) * 1.5f;
        a2m_runner *r;
        a2m_runner_new(m, runner_params(B, T, A2M_PRECISION_FP32), &r);
        double best = 1e9;
        for (int k = 0; k < reps; k++) {
            double t0 = now();
            a2m_runner_forward(r, x, B, T, z);
            double t = now() - t0;
            best = t < best ? t : best;
        }
        nn_buffers buf = {
            .acts = malloc(m->arch->act_floats(m, B, T) * sizeof(float)), .max_batch = B, .max_frames = T};
        double best2 = 1e9;
        for (int k = 0; k < (reps + 3) / 4; k++) {
            double t0 = now();
            m->arch->forward(m, m->params, &buf, x, NULL, B, T, z2, 1, 0);
            double t = now() - t0;
            best2 = t < best2 ? t : best2;
        }
        double md = 0;
        for (size_t i = 0; i < n * C; i++) md = fmax(md, fabs(z[i] - z2[i]));
        printf("infer_%s_ms %.3f  (training forward %.3f ms; max abs logit diff %.2g)\n", cases[ci].name,
               1e3 * best / B, 1e3 * best2 / B, md);
        a2m_runner *rb;
        a2m_runner_new(m, runner_params(B, T, A2M_PRECISION_BF16), &rb);
        if (a2m_runner_precision(rb) == A2M_PRECISION_BF16) {
            double best3 = 1e9;
            for (int k = 0; k < reps; k++) {
                double t0 = now();
                a2m_runner_forward(rb, x, B, T, z2);
                double t = now() - t0;
                best3 = t < best3 ? t : best3;
            }
            double mdb = 0;
            size_t agree = 0;
            for (size_t f = 0; f < n; f++) {
                int a0 = 0, a1 = 0;
                for (int c = 0; c < C; c++) {
                    mdb = fmax(mdb, fabs(z[f * C + c] - z2[f * C + c]));
                    if (z[f * C + c] > z[f * C + a0]) a0 = c;
                    if (z2[f * C + c] > z2[f * C + a1]) a1 = c;
                }
                agree += a0 == a1;
            }
            printf("infer_%s_bf16_ms %.3f  (%.2fx fp32; synthetic input: max abs logit diff to fp32 %.3g, argmax "
                   "agreement %.2f%%)\n",
                   cases[ci].name, 1e3 * best3 / B, best / best3, mdb, 100.0 * agree / n);
        } else printf("infer_%s_bf16_ms n/a  (no avx512_bf16 on this CPU, or A2M_FORCE_FP32 set)\n", cases[ci].name);
        a2m_runner_del(rb);
        a2m_runner_del(r);
        free(buf.acts), free(x), free(z), free(z2);
    }
    a2m_model_del(m);
    return 0;
}
