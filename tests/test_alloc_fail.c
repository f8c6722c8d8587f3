/* Allocation-failure harness, as SQLite's test suite fails its Nth malloc: a library call is run once
 * counting the allocations a2m makes, then once per allocation with exactly that one failing. Each run
 * must return A2M_OK (an optional allocation, e.g. a shrinking realloc) or A2M_ERR_NOMEM, never crash,
 * leave no allocation of a2m's live after the caller's cleanup, and leave no output (or temporary) file.
 *
 * How: this binary defines malloc, calloc, realloc, aligned_alloc, strdup and free, forwarding to glibc's
 * __libc_* entry points. a2m is a static library, so its code lies in this executable's text
 * [__executable_start, etext): an allocation is counted, tracked and eligible to fail only when its return
 * address is there (a2m's own call sites, and this test's). Allocations made inside FFTW, OpenBLAS,
 * libsndfile, libsoxr, jansson, libgomp or glibc (stdio) are served and never failed: FFTW aborts on NULL
 * (fftw_malloc_plain), and a failure there would come back to a2m as that library's own error, not as a
 * NULL a2m must handle. Frees from anywhere remove a tracked pointer, so "no leak" means every pointer
 * a2m allocated during the call was freed by the call or by the caller's documented cleanup.
 *
 * ASan replaces malloc itself; its build skips this test (exit 77) and checks leaks its own way. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <execinfo.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>

#include <math.h>

#include "a2m/audio.h"
#include "a2m/baseline.h"
#include "a2m/embed.h"
#include "a2m/features.h"
#include "a2m/gen.h"
#include "a2m/metrics.h"
#include "a2m/plot.h"
#include "a2m/search.h"
#include "a2m/uncertainty.h"
#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "a2m/model.h"
#include "a2m/train.h"
#include "a2m/transcribe.h"
#include "check.h"
#include "study_check.h"
#include "nn/arch.h"
#include "nn/safetensors.h"
#include "synth_dataset.h"

#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_FAIL_SKIP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ALLOC_FAIL_SKIP 1
#endif
#endif

#ifdef ALLOC_FAIL_SKIP
int main(void) {
    printf(
        "SKIP: the allocation-failure harness replaces malloc, which AddressSanitizer owns (runs in release builds)\n");
    return 77;
}
#else

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
extern char __executable_start[], etext[];

/* ---- the interposer ---- */

enum { LIVE_SLOTS = 1 << 20 }; /* open addressing; a2m holds far fewer live blocks during these calls */
static void *live[LIVE_SLOTS];
static void *live_ra[LIVE_SLOTS]; /* where each was allocated: named in leak messages */
static void *const TOMB = (void *)1;
static long live_n;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int armed;       /* counting (and failing) allocations of a2m's code */
static long calls;      /* a2m allocations since arming */
static long fail_at;    /* 1-based allocation to fail, 0 = none */
static long failed;     /* how many were failed */
static void *failed_ra; /* the call site of the failed allocation, for messages (addr2line -f -e test_alloc_fail) */

static size_t slot_of(void *p) {
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 44) & (LIVE_SLOTS - 1);
}

static void live_add(void *p, void *ra) {
    size_t i = slot_of(p);
    while (live[i] && live[i] != TOMB) i = (i + 1) & (LIVE_SLOTS - 1);
    live[i] = p;
    live_ra[i] = ra;
    live_n++;
}

static void live_del(void *p) {
    for (size_t i = slot_of(p); live[i]; i = (i + 1) & (LIVE_SLOTS - 1))
        if (live[i] == p) {
            live[i] = TOMB;
            live_n--;
            return;
        }
}

static void live_reset(void) {
    memset(live, 0, sizeof live);
    live_n = 0;
}

static int ours(void *ra) { return (char *)ra >= __executable_start && (char *)ra < etext; }

/* 1: this allocation (from ra) fails; else counts it. */
static int should_fail(void *ra) {
    if (!armed || !ours(ra)) return 0;
    pthread_mutex_lock(&lock);
    int fail = ++calls == fail_at;
    failed += fail;
    if (fail) failed_ra = ra;
    pthread_mutex_unlock(&lock);
    return fail;
}

static void *track(void *p, void *ra) {
    if (p && armed && ours(ra)) {
        pthread_mutex_lock(&lock);
        live_add(p, ra);
        pthread_mutex_unlock(&lock);
    }
    return p;
}

/* ---- guarded blocks: a2m's allocations during a call end at an inaccessible page ----
 * AddressSanitizer never sees the failure paths (it owns malloc, so this harness is skipped there), so a read
 * or write past a block on a path taken only when an allocation fails would go unnoticed, or crash only where
 * the heap happens to end at a page (a CI machine crashed here while this one passed). Every allocation of
 * a2m's code while armed is placed at the end of its own pages, before a PROT_NONE page, and is never reused:
 * an overrun of the block's rounding slack (16 bytes, or the alignment) faults at once, and a use after free
 * faults too (freed pages go back to PROT_NONE). Fresh blocks are filled with 0xA5 (as SQLite's test malloc), so
 * reading memory never written fails the same way on every machine. */
enum { PAGE = 4096 };
static const size_t GUARD_SPAN = (size_t)1 << 38; /* 256 GB of address space reserved, touched only as used */
static char *guard_base, *guard_next;

typedef struct guard_head {
    size_t n, pages;
} guard_head; /* at the start of a block's first page */

static int guarded(const void *p) {
    return guard_base && (const char *)p >= guard_base && (const char *)p < guard_base + GUARD_SPAN;
}

static void *guard_alloc(size_t n, size_t align) {
    if (align < 16) align = 16;
    size_t body = (n + align - 1) / align * align;
    size_t pages = (body + sizeof(guard_head) + PAGE - 1) / PAGE; /* data pages; the guard page follows */
    pthread_mutex_lock(&lock);
    char *start = guard_next;
    if (!guard_base || start + (pages + 1) * PAGE > guard_base + GUARD_SPAN) start = NULL;
    else guard_next += (pages + 1) * PAGE;
    pthread_mutex_unlock(&lock);
    if (!start || mprotect(start, pages * PAGE, PROT_READ | PROT_WRITE) != 0) return NULL;
    guard_head *h = (guard_head *)(void *)start;
    h->n = n, h->pages = pages;
    char *p = start + pages * PAGE - body;
    memset(p, 0xA5, body);
    return p;
}

/* p - start = pages * PAGE - body lies in [sizeof head, PAGE + sizeof head): the head is on p's page or the one
 * before */
static guard_head *guard_head_of(void *p) {
    char *page = (char *)((uintptr_t)p & ~(uintptr_t)(PAGE - 1));
    return (guard_head *)(void *)((char *)p - page >= (ptrdiff_t)sizeof(guard_head) ? page : page - PAGE);
}

/* back to PROT_NONE, its memory released: a later touch faults */
static void guard_free(void *p) {
    guard_head *h = guard_head_of(p);
    mmap(h, h->pages * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

static void guard_init(void) {
    void *r = mmap(NULL, GUARD_SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r != MAP_FAILED) guard_base = guard_next = r;
}

/* an allocation a2m makes during a call: guarded; any other: glibc's */
static void *get(size_t n, size_t align, void *ra) {
    if (armed && ours(ra) && guard_base) return guard_alloc(n ? n : 1, align);
    return align > 16 ? __libc_memalign(align, n) : __libc_malloc(n);
}

void *malloc(size_t n) {
    void *ra = __builtin_return_address(0);
    return should_fail(ra) ? NULL : track(get(n, 16, ra), ra);
}

void *calloc(size_t n, size_t m) {
    void *ra = __builtin_return_address(0);
    if (should_fail(ra)) return NULL;
    if (m && n > SIZE_MAX / m) return NULL;
    void *p = get(n * m, 16, ra);
    if (p) memset(p, 0, n * m);
    return track(p, ra);
}

void *aligned_alloc(size_t a, size_t n) {
    void *ra = __builtin_return_address(0);
    return should_fail(ra) ? NULL : track(get(n, a, ra), ra);
}

void free(void *p) {
    if (!p) return;
    if (armed) {
        pthread_mutex_lock(&lock);
        live_del(p);
        pthread_mutex_unlock(&lock);
    }
    if (guarded(p)) guard_free(p);
    else __libc_free(p);
}

void *realloc(void *p, size_t n) {
    void *ra = __builtin_return_address(0);
    if (should_fail(ra)) return NULL;
    void *q;
    if ((p && guarded(p)) || (armed && ours(ra) && guard_base)) { /* moved into a fresh guarded block */
        if (!n && p) {
            free(p);
            return NULL;
        }
        q = get(n, 16, ra);
        if (q && p) {
            size_t old = guarded(p) ? guard_head_of(p)->n : malloc_usable_size(p);
            memcpy(q, p, old < n ? old : n);
            if (guarded(p)) guard_free(p);
            else __libc_free(p);
        }
    } else q = __libc_realloc(p, n);
    if (q && armed) {
        pthread_mutex_lock(&lock);
        if (p) live_del(p);
        if (ours(ra)) live_add(q, ra);
        pthread_mutex_unlock(&lock);
    }
    return q;
}

char *strdup(const char *s) {
    void *ra = __builtin_return_address(0);
    if (should_fail(ra)) return NULL;
    size_t n = strlen(s) + 1;
    char *p = get(n, 16, ra);
    if (p) memcpy(p, s, n);
    return track(p, ra);
}

/* ---- a crash names the case and the failed allocation (stdout is a pipe under ctest: lost at a crash) ---- */
static const char *current_case = "set-up";
static long current_k;

static void put(const char *s) {
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

static void put_num(long v) {
    char b[24], *e = b + sizeof b;
    *--e = 0;
    unsigned long u = v < 0 ? 0 : (unsigned long)v;
    do *--e = (char)('0' + u % 10);
    while ((u /= 10));
    put(e);
}

static void on_crash(int sig) {
    put("test_alloc_fail: signal "), put_num(sig), put(" in case "), put(current_case), put(" with allocation ");
    put_num(current_k), put(" failed (site offset "), put_num((long)((char *)failed_ra - __executable_start));
    put("; addr2line -f -e test_alloc_fail 0x<offset in hex>)\n");
    void *frames[32];
    int n = backtrace(frames, 32);
    backtrace_symbols_fd(frames, n, 2);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void crash_reporter_init(void) {
    void *warm[1];
    backtrace(warm, 1); /* loads libgcc's unwinder now, not inside the handler */
    signal(SIGSEGV, on_crash), signal(SIGBUS, on_crash), signal(SIGABRT, on_crash), signal(SIGFPE, on_crash);
    signal(SIGILL, on_crash);
}

/* ---- running a call under injection ---- */

typedef int (*case_fn)(void *ctx); /* runs the call and its caller's cleanup; returns the call's code */

static char tmpdir[256];

/* Files in tmpdir/out (the only place the cases write outputs): must be none after a failed call. */
static int out_files(void) {
    char d[300];
    snprintf(d, sizeof d, "%s/out", tmpdir);
    DIR *dp = opendir(d);
    if (!dp) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dp)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(dp);
    return n;
}

static void clear_out(void) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/out/'* '%s/out/'.[!.]*", tmpdir, tmpdir);
    if (out_files() && system(cmd) != 0) fprintf(stderr, "cannot clear %s/out\n", tmpdir);
}

/* The failed call site as an offset into this executable (for addr2line). */
static void *site(void) { return (void *)((char *)failed_ra - __executable_start); }

/* Where a block still live was allocated (offset, as site()). */
static void *leaked_site(void) {
    for (size_t i = 0; i < LIVE_SLOTS; i++)
        if (live[i] && live[i] != TOMB) return (void *)((char *)live_ra[i] - __executable_start);
    return NULL;
}

static int run_once(case_fn fn, void *ctx, long fail, long *n_calls, long *leaked) {
    current_k = fail;
    clear_out();
    live_reset();
    calls = 0, failed = 0, fail_at = fail;
    armed = 1;
    int rc = fn(ctx);
    armed = 0;
    *n_calls = calls;
    *leaked = live_n;
    return rc;
}

/* Every allocation of the call failed in turn (every `stride`-th past the first 400, to bound the time).
 * A2M_ALLOC_ONLY=study runs the cases whose name holds "study"; A2M_ALLOC_VERBOSE=1 names the optional ones. */
static void harness(const char *what, case_fn fn, void *ctx) {
    const char *only = getenv("A2M_ALLOC_ONLY"); /* a case's name or part of it: that case alone (debugging) */
    if (only && !strstr(what, only)) return;
    current_case = what;
    long n, leaked;
    int rc = run_once(fn, ctx, 0, &n, &leaked);
    CHECK(rc == A2M_OK, "%s: the call itself fails: %s", what, a2m_errmsg());
    CHECK(leaked == 0, "%s: %ld blocks live after a successful call", what, leaked);
    long stride = n > 400 ? (n - 400) / 400 + 1 : 1, tried = 0, nomem = 0, ok = 0, other = 0, leaks = 0, outputs = 0;
    for (long k = 1; k <= n; k += k <= 400 ? 1 : stride) {
        long nk;
        rc = run_once(fn, ctx, k, &nk, &leaked);
        tried++;
        if (rc == A2M_ERR_NOMEM) nomem++;
        else if (rc == A2M_OK) {
            ok++;
            if (getenv("A2M_ALLOC_VERBOSE"))
                fprintf(stderr, "%s: allocation %ld (at %p) failed: ok\n", what, k, site());
        } else {
            other++;
            if (other <= 3)
                fprintf(stderr, "%s: allocation %ld (at %p) failed: code %d (%s)\n", what, k, site(), rc, a2m_errmsg());
        }
        if (leaked) {
            leaks++;
            if (leaks <= 3)
                fprintf(stderr, "%s: allocation %ld (at %p) failed: %ld blocks leaked, one allocated at %p\n", what, k,
                        site(), leaked, leaked_site());
        }
        if (rc && out_files()) {
            outputs++;
            if (outputs <= 3) fprintf(stderr, "%s: allocation %ld failed: an output was left\n", what, k);
        }
    }
    clear_out();
    printf("%-24s %5ld allocations, %4ld failed in turn: %ld A2M_ERR_NOMEM, %ld ok (optional), %ld other codes, "
           "%ld leaks, %ld outputs left\n",
           what, n, tried, nomem, ok, other, leaks, outputs);
    CHECK(n > 0, "%s: no allocation seen (the interposer is not working)", what);
    CHECK(other == 0, "%s: %ld failures gave a code other than A2M_ERR_NOMEM", what, other);
    CHECK(leaks == 0, "%s: %ld failures leaked", what, leaks);
    CHECK(outputs == 0, "%s: %ld failures left an output", what, outputs);
    CHECK(nomem > 0, "%s: no failure reached the caller as A2M_ERR_NOMEM", what);
}

/* ---- the cases ---- */

typedef struct ctx {
    char model[512], wav[512], data[512], out[600], saved_ds[600];
    a2m_model *m;
    a2m_model *m2; /* the seed model again, with a dropout to sample: an ensemble's second member */
    a2m_dataset ds;
    float *x;
    size_t n;
} ctx;

static int case_model_load(void *p) {
    ctx *c = p;
    a2m_model *m;
    int rc = a2m_model_load(c->model, NULL, &m);
    a2m_model_del(m);
    return rc;
}

static int case_dataset_build(void *p) {
    ctx *c = p;
    a2m_dataset d;
    char *warn = NULL;
    a2m_dataset_params dp = a2m_dataset_default_params();
    int rc = a2m_dataset_build(c->data, dp, NULL, NULL, &d, &warn);
    if (!rc) rc = a2m_dataset_save(&d, c->out);
    free(warn);
    a2m_dataset_free(&d);
    return rc;
}

static int case_train(void *p) {
    ctx *c = p;
    a2m_train_params tp = a2m_train_default_params();
    tp.hidden = 8, tp.epochs = 1, tp.batch = 2;
    char ckpt[700];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", c->out);
    tp.checkpoint_path = ckpt; /* written after the epoch: a failure before it leaves none, one after it a whole one */
    size_t tr[3] = {0, 1, 2}, va[1] = {3};
    a2m_model *m = NULL;
    a2m_train_result res;
    int rc = a2m_train(&c->ds, tr, 3, va, 1, tp, NULL, NULL, &m, &res);
    if (!rc) rc = a2m_model_save(m, c->out);
    remove(ckpt);
    a2m_model_del(m);
    return rc;
}

static int case_stream(void *p) {
    ctx *c = p;
    a2m_transcribe_stream *s;
    int rc = a2m_transcribe_stream_new(c->m, a2m_transcribe_default_params(), 0, &s);
    if (rc) return rc;
    const a2m_transcribed_note *notes;
    size_t nn, total = 0;
    for (size_t i = 0; i < c->n && !rc; i += 16000) {
        rc = a2m_transcribe_stream_push(s, c->x + i, c->n - i < 16000 ? c->n - i : 16000, &notes, &nn);
        total += nn;
    }
    if (!rc) rc = a2m_transcribe_stream_finish(s, &notes, &nn);
    a2m_transcribe_stream_del(s);
    (void)total;
    return rc;
}

static int case_transcribe_file(void *p) {
    ctx *c = p;
    a2m_transcriber *t;
    int rc = a2m_transcriber_new(c->m, a2m_transcribe_default_params(), &t);
    if (rc) return rc;
    a2m_transcription r;
    memset(&r, 0, sizeof r);
    rc = a2m_transcriber_run_file(t, c->wav, &r);
    if (!rc) {
        a2m_note *notes = malloc((r.n_notes + 1) * sizeof *notes);
        for (size_t i = 0; notes && i < r.n_notes; i++) notes[i] = r.notes[i].note;
        rc = notes ? a2m_midi_write(c->out, notes, r.n_notes, a2m_midi_write_default_params()) : A2M_ERR_NOMEM;
        free(notes);
    }
    a2m_transcription_free(&r);
    a2m_transcriber_del(t);
    return rc;
}

/* an ensemble (a2m_transcriber_new_members): two models, window mode with two Monte-Carlo passes each (4 members on
 * 2 runners, the frames' uncertainty kept) from the file, or one sequence of the two models from the samples */
static int case_members(ctx *c, int window) {
    const a2m_model *models[2] = {c->m, c->m2};
    a2m_transcribe_params tp = a2m_transcribe_default_params();
    if (window) tp.mc_passes = 2, tp.mc_dropout = 0.25;
    else tp.window_s = 0;
    a2m_transcriber *t;
    int rc = a2m_transcriber_new_members(models, 2, tp, &t);
    if (rc) return rc;
    a2m_transcription r;
    memset(&r, 0, sizeof r);
    rc = window ? a2m_transcriber_run_file(t, c->wav, &r) : a2m_transcriber_run(t, c->x, c->n, &r);
    if (!rc && (!r.uncertainty || !r.probs)) rc = A2M_ERR_ARG; /* the frames and their uncertainty are kept */
    a2m_transcription_free(&r);
    a2m_transcriber_del(t);
    return rc;
}
static int case_members_window(void *p) { return case_members(p, 1); }
static int case_members_whole(void *p) { return case_members(p, 0); }

static int case_audio_read(void *p) {
    ctx *c = p;
    a2m_audio a;
    int rc = a2m_audio_read(c->wav, 22050, &a); /* resampled, as for a model at another rate */
    a2m_audio_free(&a);
    return rc;
}

static int case_midi_read(void *p) {
    ctx *c = p;
    char mid[600];
    snprintf(mid, sizeof mid, "%s/midi_001.mid", c->data);
    a2m_notes n;
    int rc = a2m_midi_read(mid, &n);
    if (!rc) a2m_notes_free(&n);
    return rc;
}

static int case_features(void *p) {
    ctx *c = p;
    float *db = NULL;
    size_t nf = 0;
    int rc = a2m_cqt_db_from_file(c->wav, a2m_cqt_default_params(), &db, &nf);
    if (!rc) rc = a2m_npy_save(c->out, A2M_F32, 2, (size_t[]){nf, 252}, db);
    free(db);
    return rc;
}

static int case_dataset_load(void *p) {
    ctx *c = p;
    a2m_dataset d;
    int rc = a2m_dataset_load(c->saved_ds, &d);
    if (!rc) a2m_dataset_free(&d);
    return rc;
}

/* ---- every other public entry point that allocates (tiny inputs: each case a fraction of a second) ---- */

typedef struct ctx2 {
    ctx *c;
    a2m_model *anypitch, *tiny; /* tiny: a model made here (transformer, two-stage) */
    float x[2 * 9 * 6];         /* tiny model input */
    float x300[300 * 8];        /* UMAP input */
    const char *arch;
    a2m_feat_kind kind;
    a2m_dataset ds; /* synthetic, 6 bins */
    char npy[600], db[600], space[600], csv[600];
} ctx2;

static int case_feat(void *p) {
    ctx2 *c = p;
    a2m_feat_params f = a2m_feat_default_params();
    f.kind = c->kind;
    a2m_feat *e = NULL;
    float *out = NULL;
    size_t nf = 0;
    int rc = a2m_feat_from_file(c->c->wav, a2m_cqt_default_params(), f, &e, &out, &nf);
    free(out);
    a2m_feat_del(e);
    return rc;
}

/* a runner on a tiny model: fp32, then Monte-Carlo dropout */
static int case_runner(void *p) {
    ctx2 *c = p;
    float logits[2 * 9 * 4];
    a2m_runner_params rp = a2m_runner_default_params();
    rp.max_batch = 2, rp.max_frames = 9;
    int rc = A2M_OK;
    for (int mc = 0; mc < 2 && !rc; mc++) {
        rp.mc_dropout = mc ? 0.3 : 0, rp.mc_seed = 5;
        a2m_runner *r = NULL;
        rc = a2m_runner_new(c->tiny, rp, &r);
        if (!rc) rc = a2m_runner_forward(r, c->x, 2, 9, logits);
        a2m_runner_del(r);
    }
    return rc;
}

/* a2m_model_logits_takes with MC dropout, a2m_model_predict_takes, a2m_model_hidden (tiny two-stage/crnn) */
static int case_model_takes(void *p) {
    ctx2 *c = p;
    size_t idx[2] = {0, 2};
    float logits[2 * 24 * 4];
    int64_t pred[2 * 24];
    int rc = a2m_model_logits_takes(c->tiny, &c->ds, idx, 2, 1, 0.3, 7, logits);
    if (!rc) rc = a2m_model_predict_takes(c->tiny, &c->ds, idx, 2, 1, pred, logits);
    return rc;
}

static int case_midi_write(void *p) {
    ctx2 *c = p;
    a2m_note n[3] = {{0.5, 1.0, 60, 90, 0}, {1.0, 1.5, 62, 90, 0}, {2.0, 2.25, 64, 90, 0}};
    uint8_t *buf = NULL;
    size_t len;
    int rc = a2m_midi_encode(n, 3, a2m_midi_write_default_params(), &buf, &len);
    free(buf);
    if (!rc) rc = a2m_midi_write(c->c->out, n, 3, a2m_midi_write_default_params());
    return rc;
}

static int case_npy_load(void *p) {
    ctx2 *c = p;
    a2m_array a;
    int rc = a2m_npy_load(c->npy, &a);
    if (!rc) a2m_array_free(&a);
    if (!rc) rc = a2m_npy_load_f32(c->npy, &a);
    if (!rc) a2m_array_free(&a);
    return rc;
}

static int case_st_parse(void *p) {
    ctx2 *c = p;
    uint8_t *buf;
    size_t len;
    int rc = a2m_read_file(c->c->model, &buf, &len, (size_t)1 << 26);
    if (rc) return rc;
    st_file f;
    rc = st_parse(buf, len, c->c->model, &f);
    if (!rc) st_free(&f);
    free(buf);
    return rc;
}

static int case_metrics(void *p) {
    (void)p;
    int64_t y[12] = {0, 1, 1, 2, 2, 2, 0, 3, 3, 0, 1, 1}, z[12] = {0, 1, 2, 2, 2, 0, 0, 3, 1, 0, 1, 0};
    a2m_frame_metrics fm;
    int rc = a2m_frame_metrics_compute(y, z, 12, 4, &fm);
    a2m_note ref[3] = {{0.5, 1.0, 60, 90, 0}, {1.0, 1.5, 62, 90, 0}, {2.0, 2.5, 64, 90, 0}};
    a2m_note est[2] = {{0.52, 1.1, 60, 90, 0}, {2.3, 2.5, 65, 90, 0}};
    a2m_note_metrics nm;
    if (!rc) rc = a2m_note_metrics_compute(ref, 3, est, 2, a2m_note_metric_default_params(), &nm);
    float probs[12 * 4];
    for (int i = 0; i < 48; i++) probs[i] = (float)((i * 7) % 5 + 1) / 10.0f;
    a2m_reliability rel;
    if (!rc) rc = a2m_reliability_compute(y, probs, 12, 4, &rel);
    return rc;
}

/* kNN over frames: gather, standardise + PCA, search, vote */
static int case_knn(void *p) {
    ctx2 *c = p;
    size_t tr[2] = {0, 1}, te[1] = {2};
    float *x = NULL, *q = NULL;
    int64_t *y = NULL, *yq = NULL, pred[24];
    size_t n = 0, nq = 0;
    int dim, dimq;
    int32_t nbr[24 * 3];
    a2m_frame_map m;
    memset(&m, 0, sizeof m);
    int rc = a2m_frames_gather(&c->ds, tr, 2, 1, &x, &y, &n, &dim);
    if (!rc) rc = a2m_frames_gather(&c->ds, te, 1, 1, &q, &yq, &nq, &dimq);
    if (!rc) rc = a2m_frame_map_fit(x, n, dim, 1, 4, 1, &m);
    float *xm = rc ? NULL : malloc(n * 4 * sizeof *xm), *qm = rc ? NULL : malloc(nq * 4 * sizeof *qm);
    if (!rc && (!xm || !qm)) rc = A2M_ERR_NOMEM;
    if (!rc) rc = a2m_frame_map_apply(&m, x, n, xm, 1);
    if (!rc) rc = a2m_frame_map_apply(&m, q, nq, qm, 1);
    if (!rc) rc = a2m_knn_search(xm, n, qm, nq, 4, 3, 1, NULL, NULL, nbr);
    if (!rc) rc = a2m_knn_vote(nbr, nq, 3, 3, y, 4, pred);
    free(x), free(y), free(q), free(yq), free(xm), free(qm);
    a2m_frame_map_free(&m);
    return rc;
}

static int case_logreg(void *p) {
    ctx2 *c = p;
    a2m_logreg_params lp = a2m_logreg_default_params();
    lp.epochs = 2, lp.batch = 16;
    const float *x = c->ds.features;
    const int64_t *y = c->ds.labels;
    a2m_logreg m;
    memset(&m, 0, sizeof m);
    int best;
    int rc = a2m_logreg_train(x, y, 48, x + 48 * 6, y + 48, 24, 6, 4, lp, NULL, NULL, &m, &best);
    int64_t pred[24];
    float probs[24 * 4];
    if (!rc) rc = a2m_logreg_predict(&m, x, 24, pred, probs);
    a2m_logreg_free(&m);
    return rc;
}

/* UMAP of 300 points (3 clusters in 8 dimensions), then the trustworthiness of the embedding */
static int case_umap(void *p) {
    ctx2 *c = p;
    a2m_umap_params up = a2m_umap_default_params();
    up.n_epochs = 20;
    float emb[300 * 2];
    double tw;
    int rc = a2m_umap(c->x300, 300, 8, up, NULL, NULL, emb);
    if (!rc) rc = a2m_trustworthiness(c->x300, 300, 8, emb, 2, 5, 1, &tw);
    return rc;
}

/* Monte-Carlo passes / ensemble members into a predictive distribution, its measures, calibration */
static int case_uncertainty(void *p) {
    ctx2 *c = p;
    enum { N = 48, C = 4 };
    float probs[N * C], mean[N * C], meas[N * A2M_UNC_MEASURES];
    a2m_predictive pd;
    memset(&pd, 0, sizeof pd);
    int rc = a2m_predictive_init(&pd, N, C);
    for (int s = 0; s < 3 && !rc; s++) {
        for (int i = 0; i < N * C; i++) probs[i] = 0.1f + 0.2f * (float)((i * (s + 3)) % 4) / 3.0f;
        rc = a2m_predictive_add(&pd, probs);
    }
    if (!rc) rc = a2m_predictive_finish(&pd, mean, meas);
    a2m_predictive_free(&pd);
    double v[N], x[8], c0[8], c1[8], t, b, a;
    unsigned char wrong[N];
    for (int i = 0; i < N; i++)
        v[i] = meas[i * A2M_UNC_MEASURES + A2M_UNC_ENTROPY], wrong[i] = (unsigned char)(i % 3 == 0);
    if (!rc) rc = a2m_ecdf_pair(v, wrong, N, 8, x, c0, c1);
    if (!rc) rc = a2m_auroc(v, wrong, N, &a);
    if (!rc) rc = a2m_fit_temperature(c->ds.features, c->ds.labels, N, C, &t, &b, &a);
    return rc;
}

static int case_space_parse(void *p) {
    ctx2 *c = p;
    static const char js[] = "{\"lr\": {\"type\": \"float\", \"low\": 1e-4, \"high\": 1e-2, \"log\": true}, "
                             "\"hidden\": {\"type\": \"int\", \"low\": 32, \"high\": 128, \"step\": 32}, "
                             "\"loss\": {\"type\": \"categorical\", \"choices\": [\"ce\", \"focal\"]}, "
                             "\"class-weight-power\": 0}";
    a2m_search_space s;
    int rc = a2m_search_space_parse(js, sizeof js - 1, "space.json", &s);
    if (!rc) rc = a2m_search_space_load(c->space, &s);
    return rc;
}

/* a study in a fresh SQLite file: two trials asked, reported, told; the trials read back */
static int case_study(void *p) {
    ctx2 *c = p;
    test_study_fresh(c->db);
    a2m_study_info want = test_study_want();
    int rc = a2m_search_space_load(c->space, &want.space);
    a2m_study *st = NULL;
    a2m_study_info in;
    if (!rc) rc = a2m_study_new(c->db, "default", &want, &st, &in);
    if (rc) return rc;
    double v[A2M_SEARCH_MAX_PARAMS];
    int num, prune;
    for (int t = 0; t < 3 && !rc; t++) {
        rc = a2m_study_next_trial(st, 10, 60, "w", a2m_tpe_default_params(), &num, v);
        if (!rc) rc = a2m_study_report(st, num, 1, 0.5 - 0.1 * t, a2m_median_default_params(), &prune);
        if (!rc) rc = a2m_study_finish(st, num, A2M_TRIAL_COMPLETE, 0.5 - 0.1 * t, 0);
    }
    a2m_search_trial *tr = NULL;
    size_t n = 0;
    if (!rc) rc = a2m_study_trials(st, &tr, &n);
    if (!rc) a2m_search_trials_free(tr, n);
    a2m_study_del(st);
    if (!rc) { /* --show's way in */
        rc = a2m_study_new_existing(c->db, "default", &st, &in);
        a2m_study_del(st);
    }
    return rc;
}

/* the renderers without an external library: random melody, additive voice with a performance, augmentation */
static int case_gen(void *p) {
    (void)p;
    a2m_melody_params mp = a2m_melody_default_params();
    mp.seconds = 2;
    a2m_note *notes = NULL;
    size_t n = 0, nx = 0;
    int rc = a2m_melody_random(mp, 3, &notes, &n);
    a2m_voice_params vp = a2m_voice_default_params();
    vp.consonants = 0.5;
    a2m_perf perf = a2m_perf_random(4);
    float *x = NULL;
    if (!rc) rc = a2m_voice_render(notes, n, &perf, vp, &x, &nx);
    a2m_augment_info info;
    if (!rc) rc = a2m_augment(x, nx, vp.rate, 1.0, 5, &info);
    if (!rc) rc = a2m_reverb(x, nx, vp.rate, 0.4, 5, 6);
    for (int k = 0; k < A2M_NOISE_KINDS_ && !rc; k++) rc = a2m_add_noise(x, nx, vp.rate, (a2m_noise_kind)k, 20, 7);
    a2m_synth_params sp = a2m_synth_default_params();
    sp.duration_s = 2.0;
    float *y = NULL;
    size_t ny;
    if (!rc) rc = a2m_synth_render(notes, n, sp, &y, &ny);
    free(y), free(x), free(notes);
    return rc;
}

int a2m_cairo_load(void); /* src/plot/cairo_dl.h, without cairo's headers */

static int case_plot(void *p) {
    ctx2 *c = p;
    double ep[3] = {1, 2, 3}, tl[3] = {1.2, 0.9, 0.7}, vl[3] = {1.3, 1.0, 0.9}, va[3] = {0.5, 0.6, 0.7};
    double vf[3] = {0.4, 0.5, 0.6};
    a2m_loss_curve lc = {3, ep, tl, vl, va, vf};
    a2m_plot_size sz = {480, 360};
    char path[700];
    snprintf(path, sizeof path, "%s.png", c->c->out);
    int rc = a2m_plot_loss(path, &lc, sz);
    if (!rc) remove(path); /* only the last call's output may remain */
    int64_t counts[16] = {5, 1, 0, 0, 1, 6, 1, 0, 0, 2, 7, 1, 0, 0, 1, 8};
    const char *names[4] = {"rest", "C4", "E4", "G4"};
    snprintf(path, sizeof path, "%s.svg", c->c->out);
    if (!rc) rc = a2m_plot_confusion(path, counts, 4, names, sz);
    if (!rc) remove(path);
    double conf[2] = {0.4, 0.8}, acc[2] = {0.5, 0.7};
    int64_t cnt[2] = {10, 30}, codes[40];
    a2m_reliability_curve rc2 = {2, conf, acc, cnt, 0.05, 0.1};
    if (!rc) rc = a2m_plot_reliability(path, &rc2, sz);
    if (!rc) remove(path);
    for (int i = 0; i < 40; i++) codes[i] = i % 4 ? 59 + i % 4 : -1;
    if (!rc) rc = a2m_plot_embed(path, c->x300, codes, 40, "embedding", sz);
    if (!rc) remove(path);
    float db[20 * 84];
    for (int i = 0; i < 20 * 84; i++) db[i] = (float)(-80 + (i * 13) % 80);
    a2m_cqt_params cp = a2m_cqt_default_params();
    cp.n_bins = 84;
    int64_t labels[20] = {0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 3, 3, 3, 3, 0, 0, 1, 1, 0, 0};
    int class_notes[4] = {-1, 60, 64, 67};
    a2m_note ref[2] = {{0.01, 0.05, 60, 90, 0}, {0.06, 0.1, 67, 90, 0}};
    a2m_cqt_overlay ov = {labels, class_notes, ref, 2, ref, 1, 0};
    if (!rc) rc = a2m_plot_cqt(path, db, 20, cp, &ov, "cqt", sz);
    return rc;
}

/* the any-pitch model's decoder (tuning estimate, key prior, dip split, onset snap, range notes) on a recording
 * streamed from its file, every frame kept, the whole transcription taken out (a2m_transcriber_run_file runs this
 * same stream: its case above, with the seed model) */
static int case_stream_run(void *p) {
    ctx2 *c = p;
    a2m_transcribe_params tp = a2m_transcribe_default_params();
    tp.key_weight = 1.0, tp.dip_depth = 0.15; /* both off by default: their paths run only when asked */
    a2m_audio_stream *in = NULL;
    a2m_transcribe_stream *s = NULL;
    a2m_transcription r;
    memset(&r, 0, sizeof r);
    int rc = a2m_audio_stream_new_file(c->c->wav, 16000, &in);
    if (!rc) rc = a2m_transcribe_stream_new(c->anypitch, tp, 1, &s);
    if (!rc) rc = a2m_transcribe_stream_run(s, in, NULL, 0, c->c->wav, NULL, NULL, &r);
    a2m_transcription_free(&r);
    a2m_transcribe_stream_del(s);
    a2m_audio_stream_del(in);
    return rc;
}

/* notes from a CSV file, then frame labels with onset and range classes */
static int case_notes_labels(void *p) {
    ctx2 *c = p;
    a2m_notes n;
    int rc = a2m_notes_read_any(c->csv, &n);
    if (rc) return rc;
    a2m_label_params lp = a2m_label_default_params();
    lp.onset_frames = 3, lp.range_classes = 1;
    int64_t labels[400];
    size_t unmapped;
    rc = a2m_labels_from_notes(n.notes, n.n, lp, labels, 400, &unmapped);
    a2m_notes_free(&n);
    return rc;
}

/* a tiny transformer, two-stage or harmonic model trained for an epoch and saved */
static int case_train_arch(void *p) {
    ctx2 *c = p;
    a2m_train_params tp = a2m_train_default_params();
    tp.arch = c->arch, tp.hidden = 8, tp.epochs = 1, tp.batch = 2;
    size_t tr[2] = {0, 1}, va[1] = {2};
    a2m_model *m = NULL;
    a2m_train_result res;
    int rc = a2m_train(&c->ds, tr, 2, va, 1, tp, NULL, NULL, &m, &res);
    if (!rc) rc = a2m_model_save(m, c->c->out);
    a2m_model_del(m);
    return rc;
}

/* a2m_train_teacher_targets of two teachers (the tiny crnn, saved in tmpdir) */
static int case_teacher_targets(void *p) {
    ctx2 *c = p;
    char path[700];
    snprintf(path, sizeof path, "%s/teacher.safetensors", tmpdir);
    const char *teachers[2] = {path, path};
    float *soft = NULL;
    int rc = a2m_train_teacher_targets(&c->ds, teachers, 2, 1, &soft);
    free(soft);
    return rc;
}

static int make_tiny(const char *arch, a2m_model **m) {
    a2m_model_info in = nn_model_default_info();
    in.n_bins = 6, in.hidden = 8, in.n_classes = 4, in.dropout = 0.25;
    int rc = nn_model_create(arch, &in, m);
    if (!rc) (*m)->arch->init(*m, (*m)->params, 5);
    return rc;
}

static void fixtures2(ctx2 *c) {
    for (size_t i = 0; i < sizeof c->x / sizeof *c->x; i++) c->x[i] = (float)sin(1.7 * i);
    for (int i = 0; i < 300; i++)
        for (int d = 0; d < 8; d++) c->x300[i * 8 + d] = (float)(3 * (i % 3 == d % 3) + 0.3 * sin(0.37 * i * (d + 1)));
    make_synth_dataset(&c->ds, 3, 24, 6);
    snprintf(c->npy, sizeof c->npy, "%s/x.npy", tmpdir);
    snprintf(c->db, sizeof c->db, "%s/study.db", tmpdir);
    snprintf(c->space, sizeof c->space, "%s/space.json", tmpdir);
    snprintf(c->csv, sizeof c->csv, "%s/notes.csv", tmpdir);
    FILE *g = fopen(c->csv, "w");
    CHECK(g && fputs("onset_s,offset_s,midi_pitch\n0.5,1.0,60\n1.0,1.5,64\n1.6,2.0,30\n2.0,2.2,90\n", g) >= 0 &&
              fclose(g) == 0,
          "csv file");
    CHECK(a2m_npy_save(c->npy, A2M_F32, 2, (size_t[]){50, 8}, c->x300) == A2M_OK, "npy: %s", a2m_errmsg());
    FILE *f = fopen(c->space, "w");
    CHECK(f &&
              fputs("{\"lr\": {\"type\": \"float\", \"low\": 1e-4, \"high\": 1e-2, \"log\": true}, \"batch\": "
                    "{\"type\": \"categorical\", \"choices\": [4, 8]}}",
                    f) >= 0 &&
              fclose(f) == 0,
          "space file");
}

static void more_cases(ctx *c0) {
    static ctx2 c;
    c.c = c0;
    fixtures2(&c);
    char path[600];
    const char *src = getenv("A2M_SOURCE");
    snprintf(path, sizeof path, "%s/models/a2m-anypitch.safetensors", src ? src : ".");
    CHECK(a2m_model_load(path, NULL, &c.anypitch) == A2M_OK, "any-pitch model: %s", a2m_errmsg());
    if (c.anypitch) harness("anypitch stream_run keep_frames", case_stream_run, &c);
    a2m_model_del(c.anypitch);
    static const a2m_feat_kind kinds[3] = {A2M_FEAT_MEL, A2M_FEAT_MFCC, A2M_FEAT_LPC};
    static const char *const kind_names[3] = {"a2m_feat_from_file mel", "a2m_feat_from_file mfcc",
                                              "a2m_feat_from_file lpc"};
    for (int k = 0; k < 3; k++) c.kind = kinds[k], harness(kind_names[k], case_feat, &c);
    static const char *const archs[4] = {"transformer", "two-stage", "crnn", "harmonic"};
    static const char *const runner_names[4] = {"runner transformer", "runner two-stage", "runner crnn",
                                                "runner harmonic"};
    for (int a = 0; a < 4; a++) {
        CHECK(make_tiny(archs[a], &c.tiny) == A2M_OK, "tiny %s: %s", archs[a], a2m_errmsg());
        if (c.tiny) harness(runner_names[a], case_runner, &c);
        if (c.tiny && a == 1) harness("model_logits_takes mc", case_model_takes, &c);
        if (c.tiny && a == 2) {
            char path[700];
            snprintf(path, sizeof path, "%s/teacher.safetensors", tmpdir);
            CHECK(a2m_model_save(c.tiny, path) == A2M_OK, "teacher: %s", a2m_errmsg());
            harness("a2m_train_teacher_targets", case_teacher_targets, &c);
        }
        a2m_model_del(c.tiny);
        c.tiny = NULL;
    }
    harness("a2m_midi_encode+write", case_midi_write, &c);
    harness("a2m_npy_load", case_npy_load, &c);
    harness("notes csv+labels", case_notes_labels, &c);
    static const char *const train_names[4] = {"a2m_train transformer", "a2m_train two-stage", NULL,
                                               "a2m_train harmonic"};
    for (int a = 0; a < 4; a++) {
        if (!train_names[a]) continue; /* the crnn's training paths: the cases above */
        c.arch = archs[a];
        harness(train_names[a], case_train_arch, &c);
    }
    harness("st_parse", case_st_parse, &c);
    harness("metrics", case_metrics, &c);
    harness("knn", case_knn, &c);
    harness("logreg", case_logreg, &c);
    harness("a2m_umap+trustworthiness", case_umap, &c);
    harness("uncertainty+calibration", case_uncertainty, &c);
    harness("a2m_search_space_parse", case_space_parse, &c);
    harness("a2m_study", case_study, &c);
    harness("gen renderers", case_gen, &c);
    if (a2m_cairo_load() == A2M_OK) harness("a2m_plot", case_plot, &c);
    else printf("plots skipped: %s\n", a2m_errmsg());
    a2m_dataset_free(&c.ds);
}

/* ---- fixtures ---- */

static int write_take(const char *dir, int i, const a2m_note *notes, size_t n) {
    a2m_synth_params sp = a2m_synth_default_params();
    sp.duration_s = 4.0, sp.seed = (unsigned)i + 1;
    float *x;
    size_t nx;
    int rc = a2m_synth_render(notes, n, sp, &x, &nx);
    if (rc) return rc;
    char path[600];
    snprintf(path, sizeof path, "%s/voice_%03d.wav", dir, i);
    rc = a2m_audio_write_wav(path, x, nx, sp.rate);
    free(x);
    snprintf(path, sizeof path, "%s/midi_%03d.mid", dir, i);
    return rc ? rc : a2m_midi_write(path, notes, n, a2m_midi_write_default_params());
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    guard_init();
    crash_reporter_init();
    const char *src = getenv("A2M_SOURCE");
    ctx c;
    memset(&c, 0, sizeof c);
    snprintf(c.model, sizeof c.model, "%s/models/a2m-crnn.safetensors", src ? src : ".");
    if (!a2m_path_exists(c.model)) {
        printf("SKIP: %s not found (set A2M_SOURCE)\n", c.model);
        return 77;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/a2m_alloc_fail_%d", (int)getpid());
    snprintf(c.data, sizeof c.data, "%s/data", tmpdir);
    snprintf(c.out, sizeof c.out, "%s/out/result", tmpdir);
    char outdir[300];
    snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
    CHECK(a2m_mkdirs(c.data) == A2M_OK && a2m_mkdirs(outdir) == A2M_OK, "mkdirs: %s", a2m_errmsg());
    a2m_note a[2] = {{0.5, 1.5, 60, 100, 0}, {2.0, 3.2, 64, 100, 0}}, b[1] = {{1.0, 3.0, 67, 100, 0}};
    CHECK(write_take(c.data, 1, a, 2) == A2M_OK && write_take(c.data, 2, b, 1) == A2M_OK, "fixtures: %s", a2m_errmsg());
    snprintf(c.wav, sizeof c.wav, "%s/voice_001.wav", c.data);

    /* the allocation counter must see a2m's allocations and only those */
    long n, leaked;
    CHECK(run_once(case_model_load, &c, 0, &n, &leaked) == A2M_OK && n >= 2 && leaked == 0,
          "model load: %ld allocations, %ld leaked: %s", n, leaked, a2m_errmsg());

    /* the CQT kernel cache (process-wide, as FFTW's wisdom) keeps the default parameters' kernels from their
     * first CQT on: made here, before any count; later CQTs take copies (their allocations do fail in turn) */
    a2m_cqt *warm = NULL;
    CHECK(a2m_cqt_new(a2m_cqt_default_params(), 16000, &warm) == A2M_OK, "cqt: %s", a2m_errmsg());
    a2m_cqt_del(warm);

    harness("a2m_model_load", case_model_load, &c);
    harness("a2m_audio_read", case_audio_read, &c);
    harness("a2m_midi_read", case_midi_read, &c);
    harness("a2m_features+npy_save", case_features, &c);
    harness("a2m_dataset_build+save", case_dataset_build, &c);
    snprintf(c.saved_ds, sizeof c.saved_ds, "%s/ds", tmpdir);
    a2m_dataset built;
    char *warn = NULL;
    CHECK(a2m_dataset_build(c.data, a2m_dataset_default_params(), NULL, NULL, &built, &warn) == A2M_OK &&
              a2m_dataset_save(&built, c.saved_ds) == A2M_OK,
          "dataset: %s", a2m_errmsg());
    a2m_dataset_free(&built);
    free(warn);
    harness("a2m_dataset_load", case_dataset_load, &c);
    make_synth_dataset(&c.ds, 4, 48, 8);
    harness("a2m_train+model_save", case_train, &c);
    a2m_dataset_free(&c.ds);
    CHECK(a2m_model_load(c.model, NULL, &c.m) == A2M_OK, "model: %s", a2m_errmsg());
    CHECK(a2m_model_load(c.model, NULL, &c.m2) == A2M_OK, "model: %s", a2m_errmsg());
    if (c.m2) c.m2->info.dropout = 0.25;
    a2m_audio au;
    CHECK(a2m_audio_read(c.wav, 16000, &au) == A2M_OK, "audio: %s", a2m_errmsg());
    c.x = au.samples, c.n = au.n;
    if (c.m && c.x) {
        harness("a2m_transcribe_stream push/finish", case_stream, &c);
        harness("a2m_transcriber_run_file+midi", case_transcribe_file, &c);
    }
    if (c.m && c.m2 && c.x) {
        harness("a2m_transcriber_new_members window mc", case_members_window, &c);
        harness("a2m_transcriber_new_members whole", case_members_whole, &c);
    }
    a2m_audio_free(&au);
    a2m_model_del(c.m);
    a2m_model_del(c.m2);
    more_cases(&c);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0, "cleanup");
    printf("test_alloc_fail: %d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}
#endif
