/* The streaming CQT against the one-shot CQT: the same power frames bit for
 * bit, however the signal is cut into pieces (1 sample to all of it), for
 * lengths around the block and octave boundaries and for a real recording;
 * frames handed out before the end never change; bad input. */
#include <stdint.h>

#include "a2m/audio.h"
#include "a2m/cqt.h"
#include "a2m/error.h"
#include "check.h"
#include "test_rand.h"

/* Streams x in pieces of sizes drawn from [1, max_piece] (pulling after each), returns frames pulled. */
static size_t stream_all(a2m_cqt_stream *s, const float *x, size_t n, size_t max_piece, float *power, size_t cap,
                         size_t *pulled_before_end) {
    a2m_cqt_stream_reset(s);
    size_t got = 0;
    for (size_t i = 0; i < n;) {
        rng_state = rng_state * 1664525u + 1013904223u;
        size_t k = 1 + (rng_state >> 8) % max_piece;
        if (k > n - i) k = n - i;
        CHECK(a2m_cqt_stream_push(s, x + i, k) == A2M_OK, "push: %s", a2m_errmsg());
        got += a2m_cqt_stream_pull(s, power + got * 252, cap - got);
        i += k;
    }
    *pulled_before_end = got;
    CHECK(a2m_cqt_stream_finish(s) == A2M_OK, "finish: %s", a2m_errmsg());
    got += a2m_cqt_stream_pull(s, power + got * 252, cap - got);
    CHECK(a2m_cqt_stream_ready(s) == 0, "nothing left after pulling");
    return got;
}

/* one-shot power = magnitude^2 recomputed from the stream's power: compare magnitudes, as sqrtf is exact-rounded */
static size_t count_diff(const float *power, const float *mag, size_t count, double *worst_rel) {
    size_t diff = 0;
    *worst_rel = 0;
    for (size_t i = 0; i < count; i++) {
        float m = sqrtf(power[i]);
        if (m != mag[i]) {
            diff++;
            double r = fabs((double)m - mag[i]) / (fabs((double)mag[i]) + 1e-30);
            if (r > *worst_rel) *worst_rel = r;
        }
    }
    return diff;
}

static void compare(a2m_cqt_stream *s, const float *x, size_t n, const char *what) {
    a2m_cqt *c;
    CHECK(a2m_cqt_new(a2m_cqt_default_params(), n, &c) == A2M_OK, "new: %s", a2m_errmsg());
    size_t frames = a2m_cqt_n_frames(c, n);
    float *mag = malloc(frames * 252 * sizeof *mag), *power = malloc((frames + 1) * 252 * sizeof *power);
    CHECK(a2m_cqt_magnitude(c, x, n, mag) == A2M_OK, "one-shot: %s", a2m_errmsg());
    static const size_t pieces[] = {1, 97, 1000, 16000, (size_t)-1};
    for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++) {
        size_t max_piece = pieces[p] == (size_t)-1 ? n : pieces[p], before = 0;
        if (max_piece == 1 && n > 40000) continue; /* sample by sample: only the short signals */
        size_t got = stream_all(s, x, n, max_piece, power, frames + 1, &before);
        CHECK(got == frames, "%s, pieces <= %zu: %zu frames, one-shot %zu", what, max_piece, got, frames);
        double worst;
        size_t d = count_diff(power, mag, (got < frames ? got : frames) * 252, &worst);
        CHECK(d == 0, "%s, pieces <= %zu: %zu of %zu values differ (worst relative %.3g)", what, max_piece, d,
              frames * 252, worst);
        /* frames come out while the signal arrives: all but the last 4.2 s at most (the lowest octave's kernels
         * reach ~1 s ahead, the five halvers delay it by ~1.7 s more) */
        if (n >= 64000 && max_piece < n)
            CHECK(before + 700 >= frames, "%s: only %zu of %zu frames before the end", what, before, frames);
    }
    free(mag), free(power);
    a2m_cqt_del(c);
}

int main(void) {
    a2m_cqt_stream *s;
    CHECK(a2m_cqt_stream_new(a2m_cqt_default_params(), &s) == A2M_OK, "new: %s", a2m_errmsg());
    /* noise plus a glide, at lengths around 32-frame blocks and odd halvings */
    static const size_t lens[] = {1, 95, 96, 1000, 3071, 9601, 31999, 64000, 64001, 100003};
    size_t nmax = 100003;
    float *x = malloc(nmax * sizeof *x);
    for (size_t i = 0; i < nmax; i++)
        x[i] = 0.3f * frand() + 0.5f * sinf((float)(2 * M_PI * (110.0 + 0.004 * i) * i / 16000.0));
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        char what[64];
        snprintf(what, sizeof what, "%zu samples", lens[i]);
        compare(s, x, lens[i], what);
    }
    /* a real recording: Prueba at 16 kHz (24 s) */
    const char *shared = test_shared_dir();
    if (shared) {
        char path[4096];
        snprintf(path, sizeof path, "%s/data/seed/long/Prueba.wav", shared);
        a2m_audio a;
        CHECK(a2m_audio_read(path, 16000, &a) == A2M_OK, "read %s", path);
        compare(s, a.samples, a.n, "Prueba.wav");
        a2m_audio_free(&a);
    }
    /* bad input: NaN, empty, push after finish */
    a2m_cqt_stream_reset(s);
    x[10] = NAN;
    CHECK(a2m_cqt_stream_push(s, x, 100) == A2M_ERR_NONFINITE, "NaN rejected");
    a2m_cqt_stream_reset(s);
    CHECK(a2m_cqt_stream_finish(s) == A2M_ERR_EMPTY, "empty signal rejected");
    a2m_cqt_stream_reset(s);
    CHECK(a2m_cqt_stream_push(s, x, 5) == A2M_OK && a2m_cqt_stream_finish(s) == A2M_OK, "short signal");
    CHECK(a2m_cqt_stream_push(s, x, 5) == A2M_ERR_ARG, "push after finish rejected");
    a2m_cqt_stream_del(s);
    a2m_cqt_stream_del(NULL);
    free(x);
    return test_done("test_cqt_stream");
}
