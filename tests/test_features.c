/* Mel, MFCC and LPC features against librosa 0.10's values for three seed takes (skipped without
 * ../shared), and checks that need no shared data: a tone lands in its mel band, Burg recovers a known
 * AR(2) process, MFCC is the orthonormal DCT of the dB mel, silence, bad parameters and bad input. */
#include <stdint.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/features.h"
#include "a2m/io.h"
#include "check.h"
#include "dsp/feat_internal.h"
#include "test_rand.h"

static a2m_feat_params kind(a2m_feat_kind k) {
    a2m_feat_params f = a2m_feat_default_params();
    f.kind = k;
    return f;
}

/* librosa's 667 frames of a 4 s take (the last one kept) against voice_NNN.KIND.npy; mel and MFCC by both
 * STFT paths (FFTW's transforms, and stft_lanes.c's whatever the CPU). */
static void test_reference(const char *shared) {
    static const int takes[] = {1, 150, 250};
    static const a2m_feat_kind kinds[] = {A2M_FEAT_MEL, A2M_FEAT_MFCC, A2M_FEAT_LPC, A2M_FEAT_MEL, A2M_FEAT_MFCC};
    a2m_cqt_params c = a2m_cqt_default_params();
    c.drop_last_frame = 0;
    for (int k = 0; k < 5; k++) {
        a2m_feat *e = NULL;
        CHECK(a2m_feat_new(c, kind(kinds[k]), 64000, &e) == A2M_OK, "new: %s", a2m_errmsg());
        if (kinds[k] != A2M_FEAT_LPC) CHECK((k < 3 ? stft_use_fftw(e) : stft_use_lanes(e)) == A2M_OK, "path");
        double sum = 0, worst = 0, worst_rel = 0;
        size_t count = 0;
        for (int t = 0; t < 3; t++) {
            char wav[4096], ref[4096];
            snprintf(wav, sizeof wav, "%s/data/seed/audio/voice_%03d.wav", shared, takes[t]);
            snprintf(ref, sizeof ref, "%s/data/reference/librosa_features/voice_%03d.%s.npy", shared, takes[t],
                     a2m_feat_kind_name(kinds[k]));
            a2m_array r;
            a2m_audio a;
            CHECK(a2m_npy_load(ref, &r) == A2M_OK, "%s", a2m_errmsg());
            CHECK(a2m_audio_read(wav, 16000, &a) == A2M_OK, "read %s", wav);
            size_t frames = a2m_feat_n_frames(e, a.n), dim = (size_t)a2m_feat_dim(c, kind(kinds[k]));
            CHECK(frames == 667 && r.ndim == 2 && r.shape[0] == 667 && r.shape[1] == dim, "shape %zu x %zu", frames,
                  dim);
            float *x = malloc(frames * dim * sizeof *x);
            CHECK(a2m_feat_do(e, a.samples, a.n, x) == A2M_OK, "do: %s", a2m_errmsg());
            const float *rv = r.data;
            for (size_t j = 0; j < dim; j++) { /* MFCC: relative to each coefficient's range in this take */
                float lo = rv[j], hi = rv[j];
                for (size_t i = 0; i < frames; i++) lo = fminf(lo, rv[i * dim + j]), hi = fmaxf(hi, rv[i * dim + j]);
                for (size_t i = 0; i < frames; i++) {
                    double d = fabs((double)x[i * dim + j] - rv[i * dim + j]);
                    sum += d, count++;
                    worst = fmax(worst, d), worst_rel = fmax(worst_rel, d / (hi - lo));
                }
            }
            free(x);
            a2m_audio_free(&a);
            a2m_array_free(&r);
        }
        const char *path = k == 2 ? "" : k < 3 ? " (FFTW)" : " (lanes)";
        printf("%s%s vs librosa over 3 takes: mean abs diff %.3g, max %.3g, max / coefficient range %.3g\n",
               a2m_feat_kind_name(kinds[k]), path, sum / count, worst, worst_rel);
        if (kinds[k] == A2M_FEAT_MEL)
            CHECK(sum / count <= 0.01 && worst <= 0.1, "mel %.4g / %.4g dB", sum / count, worst);
        if (kinds[k] == A2M_FEAT_MFCC) CHECK(worst_rel <= 1e-3, "mfcc %.3g of the range", worst_rel);
        if (kinds[k] == A2M_FEAT_LPC) CHECK(worst <= 1e-4, "lpc %.3g", worst);
        a2m_feat_del(e);
    }
}

/* A 1 kHz tone: the loudest mel band is the one whose triangle peaks nearest 1 kHz (Slaney: 1 kHz = 15 mel;
 * 128 bands to 8 kHz have 129 equal mel steps, band b peaks at step b + 1). MFCC 0 is sqrt(1/128) x the
 * sum of the dB mel frame. */
static void test_tone(void) {
    const size_t n = 16000;
    float *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * (float)sin(2 * M_PI * 1000.0 * i / 16000.0);
    a2m_cqt_params c = a2m_cqt_default_params();
    a2m_feat *mel = NULL, *mf = NULL;
    CHECK(a2m_feat_new(c, kind(A2M_FEAT_MEL), n, &mel) == A2M_OK, "%s", a2m_errmsg());
    CHECK(a2m_feat_new(c, kind(A2M_FEAT_MFCC), n, &mf) == A2M_OK, "%s", a2m_errmsg());
    size_t frames = a2m_feat_n_frames(mel, n);
    CHECK(frames == n / 96, "%zu frames (1 + n/hop, last dropped)", frames);
    float *m = malloc(frames * 128 * sizeof *m), *cc = malloc(frames * 20 * sizeof *cc);
    CHECK(a2m_feat_do(mel, y, n, m) == A2M_OK && a2m_feat_do(mf, y, n, cc) == A2M_OK, "%s", a2m_errmsg());
    const float *row = m + 80 * 128;
    int best = 0;
    for (int b = 1; b < 128; b++) best = row[b] > row[best] ? b : best;
    double mel_top = 15.0 + log(8000.0 / 1000.0) / (log(6.4) / 27.0), centre = 15.0 * 129.0 / mel_top - 1.0;
    CHECK(fabs(best - centre) <= 1.0, "1 kHz in band %d, expected %.1f", best, centre);
    double s = 0;
    for (int b = 0; b < 128; b++) s += row[b];
    CHECK_NEAR(cc[80 * 20], s / sqrt(128.0), 1e-3 * fabs(s / sqrt(128.0)), "mfcc 0 = sum / sqrt(n_mels)");
    free(y), free(m), free(cc);
    a2m_feat_del(mel), a2m_feat_del(mf);
}

/* y[t] = 1.6 y[t-1] - 0.8 y[t-2] + noise: order-2 Burg gives a = [1, -1.6, 0.8] within the estimate's
 * spread (1024 samples: ~0.03); silence gives [1, 0, 0]. */
static void test_lpc_ar2(void) {
    const size_t n = 8192;
    float *y = calloc(n, sizeof *y);
    for (size_t t = 2; t < n; t++) y[t] = 1.6f * y[t - 1] - 0.8f * y[t - 2] + 0.05f * frand();
    a2m_cqt_params c = a2m_cqt_default_params();
    a2m_feat_params f = kind(A2M_FEAT_LPC);
    f.order = 2;
    a2m_feat *e = NULL;
    CHECK(a2m_feat_new(c, f, n, &e) == A2M_OK, "%s", a2m_errmsg());
    size_t frames = a2m_feat_n_frames(e, n);
    float *a = malloc(frames * 3 * sizeof *a);
    CHECK(a2m_feat_do(e, y, n, a) == A2M_OK, "%s", a2m_errmsg());
    const float *mid = a + (frames / 2) * 3;
    CHECK(mid[0] == 1.0f, "a[0] = 1");
    CHECK_NEAR(mid[1], -1.6, 0.06, "a[1]");
    CHECK_NEAR(mid[2], 0.8, 0.06, "a[2]");
    memset(y, 0, n * sizeof *y);
    CHECK(a2m_feat_do(e, y, n, a) == A2M_OK, "%s", a2m_errmsg());
    CHECK(a[0] == 1.0f && a[1] == 0.0f && a[2] == 0.0f, "silence: %g %g %g", a[0], a[1], a[2]);
    free(y), free(a);
    a2m_feat_del(e);
}

/* Parameters that cannot be computed and input that cannot be used are errors, never a crash. */
static void test_bad(void) {
    a2m_cqt_params c = a2m_cqt_default_params();
    a2m_feat_params f = kind(A2M_FEAT_MFCC);
    a2m_feat *e = NULL;
    f.n_mfcc = 200;
    CHECK(a2m_feat_new(c, f, 1000, &e) == A2M_ERR_ARG && !e, "n_mfcc > n_mels");
    f = kind(A2M_FEAT_MEL), f.fmax = 9000;
    CHECK(a2m_feat_new(c, f, 1000, &e) == A2M_ERR_ARG && strstr(a2m_errmsg(), "fmax"), "fmax above Nyquist");
    f = kind(A2M_FEAT_MEL), f.fmin = 5000, f.fmax = 4000;
    CHECK(a2m_feat_check(c, f) == A2M_ERR_ARG, "fmin above fmax");
    f = kind(A2M_FEAT_LPC), f.order = 0;
    CHECK(a2m_feat_check(c, f) == A2M_ERR_ARG, "order 0");
    f.order = 16, f.frame_length = 17;
    CHECK(a2m_feat_check(c, f) == A2M_ERR_ARG, "frame shorter than order + 2");
    f = kind(A2M_FEAT_MEL), f.n_fft = 8;
    CHECK(a2m_feat_check(c, f) == A2M_ERR_ARG, "n_fft 8");
    CHECK(a2m_feat_kind_parse("MEL", &f.kind) == -1 && a2m_feat_kind_parse("lpc", &f.kind) == 0 &&
              f.kind == A2M_FEAT_LPC && !strcmp(a2m_feat_kind_name(A2M_FEAT_MFCC), "mfcc"),
          "kind names");
    CHECK(a2m_feat_new(c, kind(A2M_FEAT_LPC), 4000, &e) == A2M_OK, "%s", a2m_errmsg());
    float y[4001] = {0};
    float out[64 * 17];
    CHECK(a2m_feat_n_frames(e, 512) == 0, "lpc: 512 samples cannot be reflected by 512");
    CHECK(a2m_feat_do(e, y, 512, out) == A2M_ERR_RANGE, "too short");
    CHECK(a2m_feat_do(e, y, 4001, out) == A2M_ERR_RANGE, "longer than prepared");
    y[10] = NAN;
    CHECK(a2m_feat_do(e, y, 1000, out) == A2M_ERR_NONFINITE, "NaN sample");
    a2m_feat_del(e);
    a2m_feat_del(NULL);
}

/* stft_lanes.c against the FFTW path (each forced, whatever the CPU) on noise with a tone: n_fft 256 to 8192,
 * hops, band counts that are not multiples of 16 and frame counts that are not; the largest difference in dB
 * (mel) or of a coefficient's range (MFCC). A wrong twiddle or untangling moves bands by decibels. */
static void test_lanes(void) {
    static const int nfft[] = {256, 512, 1024, 2048, 4096, 8192}, hop[] = {64, 160, 96, 96, 512, 333};
    static const int mels[] = {40, 64, 100, 128, 128, 200};
    const size_t n = 20011;
    float *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) y[i] = 0.3f * (float)sin(2 * M_PI * 440.0 * i / 16000.0) + 0.05f * frand();
    double worst_db = 0, worst_rel = 0;
    for (int t = 0; t < 12; t++) {
        a2m_cqt_params c = a2m_cqt_default_params();
        a2m_feat_params f = kind(t % 2 ? A2M_FEAT_MFCC : A2M_FEAT_MEL);
        f.n_fft = nfft[t / 2], f.n_mels = mels[t / 2], c.hop = hop[t / 2];
        a2m_feat *e[2] = {NULL, NULL};
        CHECK(a2m_feat_new(c, f, n, &e[0]) == A2M_OK && a2m_feat_new(c, f, n, &e[1]) == A2M_OK, "%s", a2m_errmsg());
        CHECK(stft_use_fftw(e[0]) == A2M_OK && stft_use_lanes(e[1]) == A2M_OK, "n_fft %d: both paths", f.n_fft);
        size_t frames = a2m_feat_n_frames(e[0], n), dim = (size_t)a2m_feat_dim(c, f);
        float *a = malloc(frames * dim * sizeof *a), *b = malloc(frames * dim * sizeof *b);
        CHECK(a2m_feat_do(e[0], y, n, a) == A2M_OK && a2m_feat_do(e[1], y, n, b) == A2M_OK, "%s", a2m_errmsg());
        for (size_t j = 0; j < dim; j++) {
            float lo = a[j], hi = a[j];
            for (size_t i = 0; i < frames; i++) lo = fminf(lo, a[i * dim + j]), hi = fmaxf(hi, a[i * dim + j]);
            for (size_t i = 0; i < frames; i++) {
                double d = fabs((double)a[i * dim + j] - b[i * dim + j]);
                if (t % 2) worst_rel = fmax(worst_rel, d / (hi - lo));
                else worst_db = fmax(worst_db, d);
            }
        }
        free(a), free(b);
        a2m_feat_del(e[0]), a2m_feat_del(e[1]);
    }
    printf("lanes vs FFTW, n_fft 256-8192: mel max %.3g dB, mfcc max %.3g of a coefficient's range\n", worst_db,
           worst_rel);
    CHECK(worst_db <= 1e-3 && worst_rel <= 1e-5, "lanes: %.3g dB, %.3g", worst_db, worst_rel);
    a2m_feat_params f = kind(A2M_FEAT_MEL); /* not a power of two, or too short: the FFTW path only */
    f.n_fft = 1000;
    a2m_feat *e = NULL;
    CHECK(a2m_feat_new(a2m_cqt_default_params(), f, n, &e) == A2M_OK && !e->lanes && stft_use_lanes(e) == A2M_ERR_ARG &&
              !e->lanes,
          "n_fft 1000: FFTW");
    a2m_feat_del(e);
    free(y);
}

/* The CQT through a2m_feat is a2m_cqt_db, for 12 bins per octave too. */
static void test_cqt_kind(void) {
    a2m_cqt_params c = a2m_cqt_default_params();
    c.bins_per_octave = 12, c.n_bins = 84;
    const size_t n = 8000;
    float *y = malloc(n * sizeof *y), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) y[i] = (float)sin(2 * M_PI * 220.0 * i / 16000.0);
    a2m_feat *e = NULL;
    a2m_cqt *q = NULL;
    CHECK(a2m_feat_new(c, kind(A2M_FEAT_CQT), n, &e) == A2M_OK && a2m_cqt_new(c, n, &q) == A2M_OK, "%s", a2m_errmsg());
    CHECK(a2m_feat_dim(c, kind(A2M_FEAT_CQT)) == 84 && a2m_feat_n_frames(e, n) == a2m_cqt_n_frames(q, n), "shape");
    CHECK(a2m_feat_do(e, y, n, a) == A2M_OK && a2m_cqt_db(q, y, n, b) == A2M_OK, "%s", a2m_errmsg());
    CHECK(!memcmp(a, b, a2m_feat_n_frames(e, n) * 84 * sizeof *a), "same bits");
    free(y), free(a), free(b);
    a2m_feat_del(e), a2m_cqt_del(q);
}

int main(void) {
    test_tone();
    test_lpc_ar2();
    test_bad();
    test_cqt_kind();
    test_lanes();
    const char *shared = test_shared_dir();
    if (shared) test_reference(shared);
    int rc = test_done("test_features");
    return rc ? rc : shared ? 0 : 77;
}
