/* Note metrics (a2m compare) on long note lists: time and peak memory of
 * a2m_note_metrics_compute for N reference vs N estimated notes (default
 * 50,000; argv[1] overrides). Notes every 30 ms, 20 ms long, five pitches in
 * turn; the estimate is shifted by 10 ms, so each reference has 2-3 onset
 * candidates and COn needs real matching; then the same with one estimate in
 * ten left out (searches that fail: simple augmenting paths took 1.4 s there).
 * Minimum of a few runs (the machine is shared). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "a2m/error.h"
#include "a2m/metrics.h"

enum { REPEATS = 3 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best time of REPEATS runs of the three metrics; the estimates are est[i] for i % skip != 0 (skip 0: all). */
static int run(const a2m_note *ref, a2m_note *est, size_t n, size_t skip) {
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        double t = 0.03 * (double)i;
        if (skip && i % skip == 0) continue;
        est[ne++] = (a2m_note){t + 0.01, t + 0.03, 60.0 + (double)(i % 5), 100, 0};
    }
    double best = 1e30;
    a2m_note_metrics m;
    for (int r = 0; r < REPEATS; r++) {
        double t0 = now_s();
        if (a2m_note_metrics_compute(ref, n, est, ne, a2m_note_metric_default_params(), &m)) {
            fprintf(stderr, "%s\n", a2m_errmsg());
            return 1;
        }
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("note metrics, %zu vs %zu notes (3 metrics): %.1f ms, peak RSS %.1f MB (COn F1 %.4f, COnPOff F1 %.4f)\n", n,
           ne, best * 1e3, (double)ru.ru_maxrss / 1024.0, m.onset.f1, m.onset_pitch_offset.f1);
    return 0;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 50000;
    a2m_note *ref = calloc(n + 1, sizeof *ref), *est = calloc(n + 1, sizeof *est);
    if (!ref || !est) return 1;
    for (size_t i = 0; i < n; i++) {
        double t = 0.03 * (double)i;
        ref[i] = (a2m_note){t, t + 0.02, 60.0 + (double)(i % 5), 100, 0};
    }
    int rc = run(ref, est, n, 0);
    if (!rc) rc = run(ref, est, n, 10);
    free(ref), free(est);
    return rc;
}
