/* Minimal test harness: CHECK(...) counts failures, test_done() prints
 * "N passed, N failed" and returns the exit code (77 = skipped for CTest). */
#ifndef A2M_TEST_CHECK_H
#define A2M_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            check_passed++;                                                                                            \
        } else {                                                                                                       \
            check_failed++;                                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fputc('\n', stderr);                                                                                       \
        }                                                                                                              \
    } while (0)

/* A set-up step the rest of the test needs (a model loaded, a file made): on failure it counts and reports as
 * CHECK, then stops the test (exit 1) instead of going on to dereference what failed. */
#define REQUIRE(cond, ...)                                                                                             \
    do { /* cond once, through CHECK: it is often the set-up call itself */                                            \
        int failed_before_ = check_failed;                                                                             \
        CHECK(cond, __VA_ARGS__);                                                                                      \
        if (check_failed != failed_before_) {                                                                          \
            fprintf(stderr, "stopped: a set-up step failed (%d passed, %d failed)\n", check_passed, check_failed);     \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_NEAR(a, b, tol, what)                                                                                    \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s: %.9g vs %.9g (tol %g)", what, (double)(a), (double)(b),       \
          (double)(tol))

/* Folder with the shared data (../shared), from $A2M_SHARED; NULL + message if missing. */
static inline const char *test_shared_dir(void) {
    const char *d = getenv("A2M_SHARED");
    if (!d) d = "../shared";
    static char probe[4096];
    snprintf(probe, sizeof probe, "%s/data/seed/split.json", d);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        fprintf(stderr, "SKIP: shared data not found at %s (set A2M_SHARED)\n", d);
        return NULL;
    }
    fclose(f);
    return d;
}

#include <unistd.h>

/* A temporary path unique to this test process ("/tmp/a2m_test_<pid>_<name>"), so test runs that overlap
 * (two builds tested at once) do not share files. Eight live at a time. */
static inline const char *test_tmp(const char *name) {
    static char buf[8][256];
    static int next;
    char *b = buf[next++ % 8];
    snprintf(b, sizeof buf[0], "/tmp/a2m_test_%ld_%s", (long)getpid(), name);
    return b;
}

static inline int test_done(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
