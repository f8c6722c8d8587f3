#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#endif

#include "a2m/audio.h"
#include "a2m/features.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "core/grow.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/feat_opts.h"

static const char *usage_head =
    "usage: a2m features IN.wav -o OUT.npy [options]\n"
    "       a2m features DIR -o OUTDIR [options]   (every audio file -> OUTDIR/<name>.npy)\n"
    "Frame features as librosa 0.10 computes them, float32 [frames x values]: the CQT in dB (252 bins),\n"
    "the mel spectrogram in dB (128 bands), MFCC (20) or LPC (17: a[0] = 1, Burg). docs/features.md.\n";
static const char *usage_tail =
    "-o - writes the .npy to standard output; -o OUT/ (a trailing slash, or an existing folder) writes\n"
    "OUT/<name>.npy. A folder's files share one extractor (plans and filters made once).\n";

typedef struct feat_run {
    cli_feat_opts o;
    a2m_feat *e; /* reused across files */
} feat_run;

static int one_file(const char *in, const char *out, feat_run *r) {
    float *x;
    size_t frames;
    int rc = a2m_feat_from_file(in, r->o.cqt, r->o.feat, &r->e, &x, &frames);
    if (rc) return rc;
    size_t shape[2] = {frames, (size_t)a2m_feat_dim(r->o.cqt, r->o.feat)};
    rc = a2m_npy_save(out, A2M_F32, 2, shape, x);
    free(x);
    return rc;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Output of one input file below the folder out, checked like any output; the folder is made when the
 * first file is ready, so a run that writes nothing leaves no empty folder behind. */
static int one_into_dir(const char *src, const char *name, const char *out, feat_run *p, int force) {
    char dst[8192];
    size_t ol = strlen(out);
    snprintf(dst, sizeof dst, "%s%s%.*s.npy", out, ol && out[ol - 1] == '/' ? "" : "/",
             (int)(strrchr(name, '.') ? strrchr(name, '.') - name : (ptrdiff_t)strlen(name)), name);
    const char *d = dst;
    int rc = cli_check_output("features", &d, &src, 1, force, CLI_OUT_MADE_FOLDER);
    if (rc) return rc;
    if ((rc = a2m_mkdirs(out)) || (rc = one_file(src, dst, p))) return cli_lib_fail(rc);
    return 0;
}

/* A folder's files shared by the worker threads: each takes the next file, with its own extractor. */
typedef struct dir_work {
    const char *in, *out;
    char **names;
    size_t n, next, done;
    int force, failed;
    cli_feat_opts o;
    cli_progress *bar;
    pthread_mutex_t lock;
} dir_work;

static void *dir_worker(void *arg) {
    dir_work *w = arg;
    feat_run r = {w->o, NULL};
    for (;;) {
        pthread_mutex_lock(&w->lock);
        size_t i = w->next++;
        pthread_mutex_unlock(&w->lock);
        if (i >= w->n) break;
        char src[8192];
        snprintf(src, sizeof src, "%s/%s", w->in, w->names[i]);
        int bad = one_into_dir(src, w->names[i], w->out, &r, w->force) != 0;
        pthread_mutex_lock(&w->lock);
        w->failed += bad;
        cli_progress_update(w->bar, ++w->done, w->names[i]);
        pthread_mutex_unlock(&w->lock);
    }
    a2m_feat_del(r.e);
    return NULL;
}

/* The audio files of folder in, sorted (the order files are taken and reported in). */
static char **audio_names(const char *in, size_t *n) {
    DIR *dp = opendir(in);
    char **names = NULL;
    size_t cap = 0;
    *n = 0;
    if (!dp) return NULL;
    struct dirent *de;
    while ((de = readdir(dp)))
        if (a2m_audio_is_file_name(de->d_name)) {
            if (a2m_grow(&names, &cap, *n + 1, sizeof *names, 64) || !(names[*n] = strdup(de->d_name))) break;
            (*n)++;
        }
    closedir(dp);
    if (*n > 1) qsort(names, *n, sizeof *names, cmp_names);
    return names ? names : calloc(1, sizeof *names);
}

/* DIR (or one file with -o OUT/): every audio file -> OUT/<name>.npy, by `threads` workers. */
static int features_dir(const char *in, const char *out, feat_run *p, int force, int threads) {
    if (!a2m_is_dir(in)) {
        const char *slash = strrchr(in, '/');
        return one_into_dir(in, slash ? slash + 1 : in, out, p, force);
    }
    if (a2m_path_exists(out) && !a2m_is_dir(out)) return cli_fail("%s: exists and is not a folder", out);
    int made = !a2m_path_exists(out);
    dir_work w = {.in = in, .out = out, .force = force, .o = p->o};
    if (!(w.names = audio_names(in, &w.n))) return cli_fail("%s: cannot open folder", in);
    w.bar = cli_progress_new("features", w.n);
    pthread_mutex_init(&w.lock, NULL);
    pthread_t tid[64];
    int started = 0;
    for (int t = 1; t < threads && (size_t)t < w.n; t++)
        started += pthread_create(&tid[started], NULL, dir_worker, &w) == 0;
    dir_worker(&w);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&w.lock);
    cli_progress_done(w.bar, NULL);
    for (size_t i = 0; i < w.n; i++) free(w.names[i]);
    free(w.names);
    if (made && w.failed == (int)w.n) rmdir(out); /* nothing written: no folder left (rmdir keeps a non-empty one) */
    if (w.n == 0) return cli_fail("%s: no audio files", in);
    return w.failed ? 1 : 0;
}

/* A folder's files go to as many threads as the machine has cores unless --threads says otherwise: each file is
 * independent, so the outputs are the same bytes for any count (tests/test_cli_features.sh). */
static int cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

static int show_threads(const void *v, char *buf, size_t n) {
    (void)v;
    return snprintf(buf, n, "the machine's cores, %d here", cores()), 1;
}

int cmd_features(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    int force = 0, threads = 0, n_pos; /* 0: cores() */
    feat_run run = {cli_feat_opts_default(), NULL};
    cli_option feat[CLI_FEAT_N_OPTS + 1];
    cli_feat_options(&run.o, feat);
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &out), .meta = "OUT", .help = "the .npy file, or a folder (OUT/ or an existing one)"},
        {CLI_INT_OPT("--threads", &threads, 1, 64), .meta = "N", .show = show_threads,
         .help = "files of a folder at once: N extractors, one a thread"},
        {CLI_FLAG_OPT("--force", &force), .help = "replace existing outputs (never an input)"},
        {.name = NULL}};
    const cli_spec spec = {"features", usage_head, {{NULL, opts}, {"features:", feat}}, usage_tail};
    int rc = cli_parse(argc, argv, &spec, &n_pos);
    if (rc >= 0) return rc;
    if (n_pos > 1) return cli_usage_error(argv[0], "one input expected");
    in = n_pos ? argv[1] : NULL;
    if (!in || !out) return cli_usage_error(argv[0], "needs an input and -o OUTPUT");
    if (cli_feat_finish(argv[0], &run.o)) return 2;
    size_t ol = strlen(out);
    if (!a2m_is_dir(in) && !(ol && out[ol - 1] == '/') && !a2m_is_dir(out)) { /* else: OUT/<name>.npy */
        rc = cli_check_output(argv[0], &out, &in, 1, force, CLI_OUT_STDOUT);
        if (!rc && (rc = one_file(in, out, &run))) rc = cli_lib_fail(rc);
    } else if (!strcmp(out, "-")) rc = cli_usage_error(argv[0], "-o -: a folder input writes a folder of files");
    else {
        /* a take's buffers are reused from the heap across files: main's heap settings (src/cli/main.c) */
        rc = features_dir(in, out, &run, force, threads ? threads : cores());
    }
    a2m_feat_del(run.e);
    return rc;
}
