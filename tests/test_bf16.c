/* The opt-in bf16 inference path (A2M_PRECISION_BF16, src/nn/infer_bf16.c)
 * stays close to the exact fp32 path:
 *   - the 3 reference takes of the seed CRNN and the default model: max abs
 *     logit difference <= TOL_REL of the largest |logit|, frame argmax agreement >= 99.5%;
 *   - random weights and inputs, several batch shapes, with and without padded
 *     lengths: the same bounds, and padding frames exactly as the fp32 path
 *     leaves them (output bias only);
 *   - the precision reaches runners and transcribers; a2m_runner_new stays
 *     fp32; A2M_FORCE_FP32 forces the fp32 path.
 * Without avx512_bf16 the comparisons are skipped with a message (the
 * fallback checks still run). */
#include <stdlib.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/model.h"
#include "a2m/transcribe.h"
#include "check.h"
#include "model_check.h"
#include "nn/arch.h"
#include "nn/infer.h"

/* max abs logit difference bf16 vs fp32, relative to the largest |logit| (bf16 keeps 8 bits of mantissa, so
 * errors scale with the logits: 0.003 of the range for the seed CRNN, 0.017 for the shipped model) */
#define TOL_REL   0.03
#define MIN_AGREE 0.995 /* frame argmax agreement */

static unsigned long long rs = 0x2545F4914F6CDD1Dull;
static float frand(void) { /* uniform [-1, 1) */
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return (float)((rs >> 40) / 8388608.0 - 1.0);
}

typedef struct cmp {
    double max_abs, max_logit;
    size_t frames, agree;
} cmp;

static void compare(cmp *c, const float *z32, const float *z16, size_t frames, int C) {
    for (size_t f = 0; f < frames; f++) {
        int a0 = 0, a1 = 0;
        for (int k = 0; k < C; k++) {
            c->max_abs = fmax(c->max_abs, fabs((double)z32[f * C + k] - z16[f * C + k]));
            c->max_logit = fmax(c->max_logit, fabs((double)z32[f * C + k]));
            if (z32[f * C + k] > z32[f * C + a0]) a0 = k;
            if (z16[f * C + k] > z16[f * C + a1]) a1 = k;
        }
        c->agree += a0 == a1;
    }
    c->frames += frames;
}

static void report(const char *what, const cmp *c) {
    double agree = c->frames ? (double)c->agree / c->frames : 1;
    printf("%s: bf16 vs fp32 max abs logit diff %.4f (max |logit| %.1f), frame argmax agreement %.2f%% of %zu\n", what,
           c->max_abs, c->max_logit, 100 * agree, c->frames);
    CHECK(c->max_abs <= TOL_REL * fmax(c->max_logit, 1.0), "%s: max abs logit diff %.4f > %g x max |logit| %.2f", what,
          c->max_abs, TOL_REL, c->max_logit);
    CHECK(agree >= MIN_AGREE, "%s: argmax agreement %.4f < %g", what, agree, MIN_AGREE);
}

static void test_reference(const char *model_path, const char *shared, const char *what) {
    a2m_model *m;
    if (a2m_model_load(model_path, NULL, &m) != A2M_OK) {
        CHECK(0, "load %s: %s", model_path, a2m_errmsg());
        return;
    }
    a2m_runner *r32, *r16;
    CHECK(a2m_runner_new(m, runner_params(1, 666, A2M_PRECISION_FP32), &r32) == A2M_OK, "runner");
    CHECK(a2m_runner_new(m, runner_params(1, 666, A2M_PRECISION_BF16), &r16) == A2M_OK, "bf16 runner");
    CHECK(a2m_runner_precision(r16) == A2M_PRECISION_BF16, "bf16 runner runs bf16");
    const char *takes[] = {"voice_001", "voice_150", "voice_250"};
    cmp c = {0};
    for (int i = 0; i < 3; i++) {
        char path[4096];
        a2m_array x;
        snprintf(path, sizeof path, "%s/data/reference/seed_crnn/%s_input.npy", shared, takes[i]);
        if (a2m_npy_load(path, &x) != A2M_OK) {
            CHECK(0, "input %s", path);
            continue;
        }
        float z32[666 * 4], z16[666 * 4];
        CHECK(a2m_runner_forward(r32, x.data, 1, 666, z32) == A2M_OK, "forward");
        CHECK(a2m_runner_forward(r16, x.data, 1, 666, z16) == A2M_OK, "forward bf16");
        compare(&c, z32, z16, 666, 4);
        a2m_array_free(&x);
    }
    report(what, &c);
    a2m_runner_del(r32), a2m_runner_del(r16);
    a2m_model_del(m);
}

/* random weights (PyTorch's init, optionally scaled up) and inputs; B x T with padded lengths */
static void test_random(int n_bins, int hidden, float gain) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = n_bins, in.hidden = hidden;
    a2m_model *m;
    CHECK(nn_model_create("crnn", &in, &m) == A2M_OK, "create");
    m->arch->init(m, m->params, 5);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] *= gain;
    int maxB = 8, maxT = 300, C = in.n_classes;
    crnn_infer *s32 = crnn_infer_new(m, m->params, maxB, maxT);
    crnn_infer *s16 = crnn_infer_new_ex(m, m->params, maxB, maxT, A2M_PRECISION_BF16);
    CHECK(s32 && s16 && crnn_infer_precision(s16) == A2M_PRECISION_BF16, "states");
    const int Bs[] = {1, 2, 3, 5, 8}, Ts[] = {1, 2, 9, 64, 300};
    cmp c = {0};
    int pad_ok = 1;
    float *x = malloc((size_t)maxB * maxT * n_bins * sizeof *x);
    float *z32 = malloc((size_t)maxB * maxT * C * sizeof *z32), *z16 = malloc((size_t)maxB * maxT * C * sizeof *z16);
    for (size_t bi = 0; bi < sizeof Bs / sizeof *Bs; bi++)
        for (size_t ti = 0; ti < sizeof Ts / sizeof *Ts; ti++)
            for (int padded = 0; padded < 2; padded++) {
                int B = Bs[bi], T = Ts[ti], len[8];
                for (int b = 0; b < B; b++) len[b] = !padded || b == 0 ? T : 1 + (int)((frand() + 1.0f) * 0.5f * T) % T;
                /* CQT-like inputs: normalised dB, smooth over time, padding frames hold values too */
                for (size_t i = 0; i < (size_t)B * T * n_bins; i++) x[i] = 1.5f * frand();
                crnn_infer_forward(s32, x, padded ? len : NULL, B, T, z32);
                for (size_t i = 0; i < (size_t)B * T * C; i++) z16[i] = NAN;
                crnn_infer_forward(s16, x, padded ? len : NULL, B, T, z16);
                for (int b = 0; b < B; b++) {
                    compare(&c, z32 + (size_t)b * T * C, z16 + (size_t)b * T * C, (size_t)len[b], C);
                    for (int t = len[b]; t < T; t++)
                        for (int k = 0; k < C; k++)
                            pad_ok &= z16[((size_t)b * T + t) * C + k] == z32[((size_t)b * T + t) * C + k];
                }
            }
    char what[96];
    snprintf(what, sizeof what, "random bins %d hidden %d gain %.1f", n_bins, hidden, gain);
    report(what, &c);
    CHECK(pad_ok, "padding frames as the fp32 path");
    free(x), free(z32), free(z16);
    crnn_infer_del(s32), crnn_infer_del(s16);
    a2m_model_del(m);
}

/* precision plumbing that holds on any CPU */
static void test_api(int have_bf16) {
    a2m_precision p = A2M_PRECISION_BF16;
    CHECK(a2m_precision_parse("fp32", &p) == 0 && p == A2M_PRECISION_FP32, "parse fp32");
    CHECK(a2m_precision_parse("bf16", &p) == 0 && p == A2M_PRECISION_BF16, "parse bf16");
    CHECK(a2m_precision_parse("fp16", &p) == -1, "parse fp16 rejected");
    CHECK(!strcmp(a2m_precision_name(A2M_PRECISION_BF16), "bf16"), "name");
    CHECK(a2m_transcribe_default_params().precision == A2M_PRECISION_FP32, "transcribe default fp32");
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 20, in.hidden = 16;
    a2m_model *m;
    CHECK(nn_model_create("crnn", &in, &m) == A2M_OK, "create");
    m->arch->init(m, m->params, 9);
    a2m_runner *r;
    CHECK(a2m_runner_new(m, runner_params(2, 10, A2M_PRECISION_FP32), &r) == A2M_OK &&
              a2m_runner_precision(r) == A2M_PRECISION_FP32,
          "default fp32");
    a2m_runner_del(r);
    CHECK(a2m_runner_new(m, runner_params(2, 10, (a2m_precision)7), &r) == A2M_ERR_ARG, "bad precision rejected");
    CHECK(a2m_runner_new(m, runner_params(2, 10, A2M_PRECISION_BF16), &r) == A2M_OK, "bf16 runner");
    CHECK(a2m_runner_precision(r) == (have_bf16 ? A2M_PRECISION_BF16 : A2M_PRECISION_FP32), "bf16 where available");
    a2m_runner_del(r);
    char *saved = getenv("A2M_FORCE_FP32") ? strdup(getenv("A2M_FORCE_FP32")) : NULL;
    setenv("A2M_FORCE_FP32", "1", 1);
    CHECK(!a2m_precision_available(A2M_PRECISION_BF16), "forced off");
    CHECK(a2m_runner_new(m, runner_params(2, 10, A2M_PRECISION_BF16), &r) == A2M_OK &&
              a2m_runner_precision(r) == A2M_PRECISION_FP32,
          "A2M_FORCE_FP32 runs fp32");
    a2m_runner_del(r);
    if (saved) setenv("A2M_FORCE_FP32", saved, 1);
    else unsetenv("A2M_FORCE_FP32");
    free(saved);
    /* hidden not a multiple of 16: fp32 path */
    a2m_model_del(m);
    in.hidden = 24;
    CHECK(nn_model_create("crnn", &in, &m) == A2M_OK, "create");
    m->arch->init(m, m->params, 9);
    CHECK(a2m_runner_new(m, runner_params(2, 10, A2M_PRECISION_BF16), &r) == A2M_OK &&
              a2m_runner_precision(r) == A2M_PRECISION_FP32,
          "hidden 24: fp32");
    a2m_runner_del(r);
    a2m_model_del(m);
}

/* a transcriber asked for bf16 gives the same notes as fp32 on Prueba (window and whole-sequence mode) */
static void test_transcribe(const char *model_path, const char *shared) {
    a2m_model *m;
    if (a2m_model_load(model_path, NULL, &m) != A2M_OK) {
        CHECK(0, "load %s", model_path);
        return;
    }
    char wav[4096];
    snprintf(wav, sizeof wav, "%s/data/seed/long/Prueba.wav", shared);
    for (int mode = 0; mode < 2; mode++) {
        a2m_transcribe_params p = a2m_transcribe_default_params();
        if (mode) p.window_s = 0;
        a2m_transcriber *t32, *t16;
        a2m_transcription r32, r16;
        CHECK(a2m_transcriber_new(m, p, &t32) == A2M_OK, "transcriber");
        p.precision = A2M_PRECISION_BF16;
        CHECK(a2m_transcriber_new(m, p, &t16) == A2M_OK, "bf16 transcriber");
        CHECK(a2m_transcriber_run_file(t32, wav, &r32) == A2M_OK, "transcribe");
        CHECK(a2m_transcriber_run_file(t16, wav, &r16) == A2M_OK, "transcribe bf16");
        size_t agree = 0, same_notes = r32.n_notes == r16.n_notes;
        double pd = 0;
        for (size_t f = 0; f < r32.n_frames && f < r16.n_frames; f++) {
            agree += r32.classes[f] == r16.classes[f];
            for (int k = 0; k < r32.n_classes; k++)
                pd = fmax(pd, fabs((double)r32.probs[f * r32.n_classes + k] - r16.probs[f * r16.n_classes + k]));
        }
        for (size_t i = 0; same_notes && i < r32.n_notes; i++)
            same_notes = r32.notes[i].note.pitch == r16.notes[i].note.pitch &&
                         fabs(r32.notes[i].note.onset - r16.notes[i].note.onset) < 0.05 &&
                         fabs(r32.notes[i].note.offset - r16.notes[i].note.offset) < 0.05;
        printf("Prueba %s: %zu vs %zu notes%s, classes agree on %.2f%% of %zu frames, max prob diff %.4f\n",
               mode ? "whole" : "windows", r32.n_notes, r16.n_notes, same_notes ? " (same within 50 ms)" : "",
               100.0 * agree / r32.n_frames, r32.n_frames, pd);
        CHECK(r32.n_frames == r16.n_frames && r32.n_notes > 10, "frames and notes");
        CHECK(same_notes, "the same notes (pitch, onset and offset within 50 ms)");
        CHECK(agree >= MIN_AGREE * r32.n_frames, "classes agree");
        a2m_transcription_free(&r32), a2m_transcription_free(&r16);
        a2m_transcriber_del(t32), a2m_transcriber_del(t16);
    }
    a2m_model_del(m);
}

int main(void) {
    int have = a2m_precision_available(A2M_PRECISION_BF16);
    test_api(have);
    if (!have) {
        printf("SKIP bf16 comparisons: no avx512_bf16 on this CPU or A2M_FORCE_FP32 set (runners asked for bf16 run "
               "fp32)\n");
        return test_done("test_bf16");
    }
    test_random(252, 128, 1.0f);
    test_random(252, 128, 3.0f);
    test_random(20, 16, 2.0f);
    test_random(33, 32, 1.0f); /* odd number of bins: padded to even */
    const char *shared = test_shared_dir();
    const char *src = getenv("A2M_SOURCE") ? getenv("A2M_SOURCE") : ".";
    char model[4096];
    snprintf(model, sizeof model, "%s/models/a2m-crnn.safetensors", src);
    if (shared) {
        char seed[4096];
        snprintf(seed, sizeof seed, "%s/data/reference/seed_crnn/seed_crnn.safetensors", shared);
        test_reference(seed, shared, "seed CRNN, 3 reference takes");
        test_reference(model, shared, "default model, 3 reference takes");
        test_transcribe(model, shared);
    }
    return test_done("test_bf16");
}
