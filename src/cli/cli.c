#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "a2m/error.h"
#include "a2m/io.h"

/* One line to stderr: the prefix, the message, a newline */
static void say(const char *prefix, const char *fmt, va_list ap) {
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say("a2m: ", fmt, ap);
    va_end(ap);
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "a2m %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'a2m %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}

int cli_lib_fail(int rc) {
    const char *d = a2m_errmsg();
    if (d && d[0]) fprintf(stderr, "a2m: %s\n", d);
    else fprintf(stderr, "a2m: %s\n", a2m_strerror(rc));
    return 1;
}

void cli_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say("a2m: warning: ", fmt, ap);
    va_end(ap);
}

int cli_is_help(const char *a) { return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0; }

int cli_end_options(int argc, char **argv, char ***owned) {
    *owned = NULL;
    int k = 1;
    while (k < argc && strcmp(argv[k], "--") != 0) k++;
    if (k >= argc) return argc;
    /* "./-x" names the same file as "-x" and cannot be taken for an option; "-" (stdin) stays */
    char **kept = calloc((size_t)argc + 1, sizeof *kept);
    if (!kept) return -1;
    int n = 0;
    for (int j = k + 1; j < argc; j++) {
        if (argv[j][0] == '-' && argv[j][1]) {
            size_t len = strlen(argv[j]);
            if (!(kept[n] = malloc(len + 3))) return *owned = kept, -1;
            memcpy(kept[n], "./", 2), memcpy(kept[n] + 2, argv[j], len + 1);
            argv[j] = kept[n++];
        }
        argv[j - 1] = argv[j];
    }
    argv[argc - 1] = NULL;
    *owned = kept;
    return argc - 1;
}

void cli_free_owned(char **owned) {
    for (size_t i = 0; owned && owned[i]; i++) free(owned[i]);
    free(owned);
}

int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "a2m %s: %s expects a whole number from %ld to %ld, got '%s'\n", cmd, opt, lo, hi, s);
        return 0;
    }
    *out = (int)v;
    return 1;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "a2m %s: %s expects a number from %g to %g, got '%s'\n", cmd, opt, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_precision(const char *cmd, const char *s, a2m_precision *out) {
    a2m_precision p;
    if (a2m_precision_parse(s, &p)) {
        fprintf(stderr, "a2m %s: --precision expects fp32 or bf16, got '%s'\n", cmd, s);
        return 0;
    }
    if (!a2m_precision_available(p))
        cli_warn("%s: %s needs a CPU with avx512_bf16 (and A2M_FORCE_FP32 unset); running fp32", cmd,
                 a2m_precision_name(p));
    *out = p;
    return 1;
}

int cli_opt_precision(const char *cmd, const char *name, const char *value, void *dst) {
    (void)name;
    return cli_parse_precision(cmd, value, dst);
}

int cli_show_precision(const void *value, char *buf, size_t n) {
    snprintf(buf, n, "%s", a2m_precision_name(*(const a2m_precision *)value));
    return 1;
}

/* "60,64,67" or ranges "36-84" (both ends included), mixed: "36-40,60" -> notes; returns count or -1 */
int cli_parse_note_list(const char *s, int *notes, int max) {
    int n = 0;
    for (const char *p = s; *p;) { /* each item as a2m_note_set_parse reads it, its notes in ascending order */
        size_t len = strcspn(p, ",");
        char item[64];
        unsigned char set[16];
        int in_item[128];
        if (len == 0 || len >= sizeof item) return -1;
        memcpy(item, p, len), item[len] = '\0';
        if (a2m_note_set_parse(item, set) != A2M_OK) return -1;
        int m = a2m_note_set_list(set, in_item);
        if (m > max - n) return -1;
        memcpy(notes + n, in_item, (size_t)m * sizeof *notes), n += m;
        p += len;
        if (*p == ',' && !*++p) return -1; /* a trailing comma */
    }
    return n > 0 ? n : -1;
}

int cli_opt_notes(const char *cmd, const char *name, const char *v, void *dst) {
    a2m_label_params *l = dst;
    if ((l->n_notes = cli_parse_note_list(v, l->notes, A2M_MAX_CLASSES - 1)) > 0) return 1;
    return cli_usage_error(cmd, "%s expects notes like 60,64,67, C4,E4,G4 or 36-84", name), 0;
}

/* notes [n] as "60,64,67", a run of 3 or more consecutive notes as "36-84" */
static void show_note_runs(const int *notes, int count, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && k + 16 < n;) {
        int j = i;
        while (j + 1 < count && notes[j + 1] == notes[j] + 1) j++;
        if (j - i >= 2) k += (size_t)snprintf(buf + k, n - k, "%s%d-%d", i ? "," : "", notes[i], notes[j]), i = j + 1;
        else k += (size_t)snprintf(buf + k, n - k, "%s%d", i ? "," : "", notes[i]), i++;
    }
}

int cli_show_notes(const void *v, char *buf, size_t n) {
    const a2m_label_params *l = v;
    show_note_runs(l->notes, l->n_notes, buf, n);
    return 1;
}

/* a set of notes (unsigned char [16]): a2m_note_set_parse's text */
int cli_opt_note_set(const char *cmd, const char *opt, const char *v, void *dst) {
    if (a2m_note_set_parse(v, dst) == A2M_OK) return 1;
    return cli_usage_error(cmd, "%s: %s", opt, a2m_errmsg()), 0;
}

/* "all", or the MIDI notes allowed as cli_show_notes shows a list */
int cli_show_note_set(const void *v, char *buf, size_t n) {
    const unsigned char *set = v;
    int notes[128], count = a2m_note_set_list(set, notes);
    if (count) show_note_runs(notes, count, buf, n);
    else snprintf(buf, n, "all");
    return 1;
}

static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* A new output's folder must be there (unless the command makes it: CLI_OUT_MADE_FOLDER), said before the work
 * (features, synth, labels, compare --csv, eval --json ... wrote "cannot write" after it; train said it before
 * its first epoch on its own). */
static int check_folder(const char *out) {
    const char *slash = strrchr(out, '/');
    char dir[4200];
    if (!slash || slash == out || (size_t)(slash - out) >= sizeof dir) return A2M_OK;
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
    return a2m_is_dir(dir) ? A2M_OK : a2m_error(A2M_ERR_IO, "%s: no folder %s to write it in", out, dir);
}

int cli_output_problem(const char *out, const char *const *inputs, int n_inputs, int force) {
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] && strcmp(inputs[i], "-") && same_file(out, inputs[i]))
            return a2m_error(A2M_ERR_ARG, "%s: is the input %s (refused, even with --force)", out, inputs[i]);
    a2m_output_kind kind;
    int rc = a2m_output_kind_of(out, &kind);
    if (!rc && kind == A2M_OUTPUT_FILE && !force)
        rc = a2m_error(A2M_ERR_EXISTS, "%s: exists (use --force to replace it)", out);
    return rc;
}

int cli_check_output(const char *cmd, const char **out, const char *const *inputs, int n_inputs, int force, int flags) {
    if (!strcmp(*out, "-")) {
        if (!(flags & CLI_OUT_STDOUT))
            return cli_usage_error(cmd, "'-' (standard output) is not possible for this output");
        *out = "/dev/stdout";
    }
    if (!(flags & CLI_OUT_FOLDER)) {
        int rc = cli_output_problem(*out, inputs, n_inputs, force);
        if (!rc && !(flags & CLI_OUT_MADE_FOLDER) && !a2m_path_exists(*out)) rc = check_folder(*out);
        return rc ? cli_lib_fail(rc) : 0;
    }
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] && same_file(*out, inputs[i]))
            return cli_fail("%s: is the input %s (refused, even with --force)", *out, inputs[i]);
    struct stat st, ls;
    int there = lstat(*out, &ls) == 0;
    if (there && (S_ISLNK(ls.st_mode) || stat(*out, &st) != 0 || !S_ISDIR(st.st_mode)))
        return cli_fail("%s: exists and is not a folder (refused)", *out);
    if (there && !force) return cli_fail("%s: exists (use --force to replace it)", *out);
    return 0;
}

int cli_finish_stdout(int rc) {
    int bad = ferror(stdout), e = 0;
    errno = 0;
    if (fflush(stdout) != 0) bad = 1, e = errno;
    if (!bad) return rc;
    if (e) fprintf(stderr, "a2m: standard output: write error: %s\n", strerror(e));
    else fprintf(stderr, "a2m: standard output: write error\n");
    return rc ? rc : 1;
}

static volatile sig_atomic_t graceful, interrupted;

static void on_signal(int sig) {
    if (graceful && !interrupted && (sig == SIGINT || sig == SIGTERM)) {
        int e = errno, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        interrupted = sig;
        if (fd >= 0) dup2(fd, STDIN_FILENO), close(fd); /* the reader's next read (or restarted read) ends */
        errno = e;
        return;
    }
    a2m_temp_cleanup();
    signal(sig, SIG_DFL);
    raise(sig); /* delivered when the handler returns: the exit status says which signal */
}

void cli_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    /* SIGPIPE too: `a2m synth -o - | head -c 4` ends in it while a temporary is being copied out */
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (int i = 0; i < 4; i++) {
        struct sigaction old;
        /* a signal ignored by the parent (nohup, a background job without job control) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

void cli_signals_graceful(void) { graceful = 1; }
int cli_interrupted(void) { return interrupted; }

struct cli_progress {
    char label[64];
    size_t total;
    int tty;
    double start, last;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

cli_progress *cli_progress_new(const char *label, size_t total) {
    cli_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->tty = isatty(fileno(stderr));
    p->start = p->last = now_s();
    return p;
}

static void fmt_time(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 360000) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, ((int)s / 60) % 60, (int)s % 60);
    else snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

void cli_progress_update(cli_progress *p, size_t done, const char *extra) {
    if (!p) return;
    double t = now_s();
    int final = done >= p->total;
    if (!final && t - p->last < (p->tty ? 0.1 : 5.0)) return;
    p->last = t;
    double el = t - p->start;
    double eta = done ? el * (double)(p->total - (done > p->total ? p->total : done)) / (double)done : -1;
    char e1[32], e2[32];
    fmt_time(e1, sizeof e1, el);
    fmt_time(e2, sizeof e2, eta);
    double frac = p->total ? (double)done / (double)p->total : 1.0;
    if (frac > 1) frac = 1;
    if (p->tty) {
        char bar[31];
        int w = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < w ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K%s [%s] %zu/%zu %3.0f%% %s<%s %s", p->label, bar, done, p->total, 100 * frac, e1, e2,
                extra ? extra : "");
    } else {
        fprintf(stderr, "%s: %zu/%zu (%.0f%%) elapsed %s eta %s %s\n", p->label, done, p->total, 100 * frac, e1, e2,
                extra ? extra : "");
    }
    fflush(stderr);
}

void cli_progress_done(cli_progress *p, const char *extra) {
    if (!p) return;
    p->last = 0;
    cli_progress_update(p, p->total, extra);
    if (p->tty) fputc('\n', stderr);
    free(p);
}

void cli_progress_free(cli_progress *p) {
    if (p && p->tty) fputs("\r\033[K", stderr);
    free(p);
}

void cli_progress_cb(void *user, size_t done, size_t total, const char *what) {
    cli_progress *p = user;
    if (!p) return;
    p->total = total;
    cli_progress_update(p, done, what);
}
