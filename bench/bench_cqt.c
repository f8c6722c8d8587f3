/* CQT speed on one thread: ms per 4 s take over the seed folder (one a2m_cqt
 * reused) and ms per second of audio for a 60 s recording. librosa 0.10 on
 * this machine kind: ~50 ms per take, 7-8 ms per second of audio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "a2m/audio.h"
#include "a2m/cqt.h"
#include "a2m/error.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double cpu_now(void) { /* this thread's CPU time: on a shared machine wall time also counts waiting */
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    const char *shared = argc > 1 ? argv[1] : getenv("A2M_SHARED") ? getenv("A2M_SHARED") : "../shared";
    int n_takes = 300;
    a2m_audio *takes = calloc(n_takes, sizeof *takes);
    double t0 = now();
    int loaded = 0;
    for (int i = 0; i < n_takes; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/data/seed/audio/voice_%03d.wav", shared, i + 1);
        if (a2m_audio_read(p, 16000, &takes[loaded]) == A2M_OK) loaded++;
    }
    double t_read = now() - t0;
    if (!loaded) {
        fprintf(stderr, "bench_cqt: no takes under %s/data/seed/audio\n", shared);
        return 1;
    }
    a2m_cqt *c;
    t0 = now();
    if (a2m_cqt_new(a2m_cqt_default_params(), 64000, &c)) return 1;
    double t_setup = now() - t0;
    float *db = malloc(a2m_cqt_n_frames(c, 64000) * 252 * sizeof *db);
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        t0 = now();
        for (int i = 0; i < loaded; i++) a2m_cqt_db(c, takes[i].samples, takes[i].n, db);
        double t = (now() - t0) / loaded;
        if (t < best) best = t;
    }
    double t_remake = 1e9; /* kernels again, the FFT plans now known to FFTW (as with a warm wisdom cache) */
    for (int rep = 0; rep < 10; rep++) {
        a2m_cqt *again;
        t0 = cpu_now();
        if (a2m_cqt_new(a2m_cqt_default_params(), 64000, &again)) return 1;
        double t = cpu_now() - t0;
        a2m_cqt_del(again);
        t_remake = t < t_remake ? t : t_remake;
    }
    printf("cqt_setup_ms %.2f (first), %.2f (plans known: kernels only, CPU ms)\n", 1e3 * t_setup, 1e3 * t_remake);
    printf("audio_read_ms_per_take %.3f\n", 1e3 * t_read / loaded);
    printf("cqt_ms_per_take %.3f  (librosa ~50 ms: %.0fx faster; target <= 5 ms)\n", 1e3 * best, 0.050 / best);
    a2m_cqt_del(c);

    /* 60 s recording: 15 takes back to back */
    size_t n = 60 * 16000;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = takes[(i / 64000) % loaded].samples[i % 64000];
    if (a2m_cqt_new(a2m_cqt_default_params(), n, &c)) return 1;
    float *dbl = malloc(a2m_cqt_n_frames(c, n) * 252 * sizeof *dbl);
    best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        t0 = now();
        a2m_cqt_db(c, x, n, dbl);
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("cqt_ms_per_audio_second %.3f  (librosa ~7.5 ms: %.0fx faster; target <= 0.8 ms)\n", 1e3 * best / 60,
           0.0075 / (best / 60));
    a2m_cqt_del(c);

    /* the same 60 s through the streaming CQT, in 0.1 s pieces, pulling as it goes (power frames, no dB) */
    a2m_cqt_stream *st;
    if (a2m_cqt_stream_new(a2m_cqt_default_params(), &st)) return 1;
    best = 1e9;
    size_t frames = 0;
    for (int rep = 0; rep < 3; rep++) {
        a2m_cqt_stream_reset(st);
        frames = 0;
        t0 = now();
        for (size_t i = 0; i < n; i += 1600) {
            a2m_cqt_stream_push(st, x + i, n - i < 1600 ? n - i : 1600);
            frames += a2m_cqt_stream_pull(st, dbl + frames * 252, a2m_cqt_stream_ready(st));
        }
        a2m_cqt_stream_finish(st);
        frames += a2m_cqt_stream_pull(st, dbl + frames * 252, a2m_cqt_stream_ready(st));
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("cqt_stream_ms_per_audio_second %.3f  (0.1 s pieces, %zu frames; the one-shot transform's frames bit for "
           "bit)\n",
           1e3 * best / 60, frames);
    a2m_cqt_stream_del(st);
    for (int i = 0; i < loaded; i++) a2m_audio_free(&takes[i]);
    free(takes), free(x), free(db), free(dbl);
    return 0;
}
