#include <jansson.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/metrics.h"
#include "a2m/midi.h"
#include "core/grow.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/report.h"

static const char *usage =
    "usage: a2m compare REF EST [--json] [--onset-tolerance S] [--pitch-tolerance CENTS]\n"
    "                           [--offset-ratio R] [--offset-min S] [--transpose-ref N] [--list]\n"
    "       a2m compare REF_DIR EST_DIR [--csv PER_FILE.csv [--force]] [--skip-missing] [--json] [tolerances]\n"
    "       a2m compare --frames REF.npy EST.npy [--classes N] [--json]\n"
    "Note metrics as mir_eval.transcription (COnPOff, COnP, COn: precision, recall, F1, average overlap)\n"
    "of two MIDI files or notes CSVs (onset_s,offset_s,midi_pitch); or frame metrics as scikit-learn\n"
    "of two integer label sequences.\n"
    "Two folders: their files x.mid, x.midi or x.csv (not below subfolders) are paired by base name x\n"
    "(when a folder holds several of one x, .mid is taken, then .midi, then .csv); prints each file's\n"
    "F1s and the mean over files of precision, recall and F1. A reference with no estimate is a failed\n"
    "transcription: it counts as 0 in the mean (--skip-missing leaves it out); an estimate with no\n"
    "reference is ignored with a warning. --csv writes one row per file (an existing file is kept\n"
    "unless --force); --json prints {\"files\", \"mean\", \"n_files\", \"missing\"}. The tolerances\n"
    "apply to every pair. --transpose-ref N adds N semitones to the reference's pitches (Prueba.mid is\n"
    "written an octave above the singing: --transpose-ref -12).\n";

typedef struct compare_opts {
    int json, frames, classes, list, skip_missing, force;
    int transpose_ref; /* semitones added to the reference's pitches (a MIDI written an octave off the singing) */
    const char *csv;
    a2m_note_metric_params p;
} compare_opts;

static const char *metric_names[3] = {"COnPOff", "COnP", "COn"};

static const a2m_prf *metric(const a2m_note_metrics *m, int k) {
    return k == 0 ? &m->onset_pitch_offset : k == 1 ? &m->onset_pitch : &m->onset;
}

static json_t *prf_json(const a2m_prf *p) {
    return json_pack("{s:f,s:f,s:f,s:f}", "precision", p->precision, "recall", p->recall, "f1", p->f1,
                     "average_overlap", p->average_overlap);
}

static int load_labels(const char *path, int64_t **v, size_t *n) {
    a2m_array a;
    int rc = a2m_npy_load(path, &a);
    if (rc) return rc;
    if (a.ndim != 1 || (a.dtype != A2M_I64 && a.dtype != A2M_I32 && a.dtype != A2M_U8 && a.dtype != A2M_I16)) {
        a2m_array_free(&a);
        return a2m_error(A2M_ERR_SHAPE, "%s: expected a 1-D integer label array", path);
    }
    *n = a.shape[0];
    *v = malloc((*n + 1) * sizeof **v);
    for (size_t i = 0; *v && i < *n; i++)
        (*v)[i] = a.dtype == A2M_I64   ? ((int64_t *)a.data)[i]
                  : a.dtype == A2M_I32 ? ((int32_t *)a.data)[i]
                  : a.dtype == A2M_I16 ? ((int16_t *)a.data)[i]
                                       : ((uint8_t *)a.data)[i];
    a2m_array_free(&a);
    return *v ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "out of memory");
}

/* Every label of path's v[n] a class 0..classes-1, or an error naming the file (a label of 2^63 - 1 made the class
 * count overflow; the metrics' own message named no file) */
static int check_labels(const char *path, const int64_t *v, size_t n, int classes) {
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] >= classes)
            return a2m_error(A2M_ERR_RANGE, "%s: label %lld at frame %zu is outside 0..%d%s", path, (long long)v[i], i,
                             classes - 1, classes < A2M_MAX_CLASSES ? " (--classes)" : "");
    return A2M_OK;
}

static int run_frames(const char *ref, const char *est, compare_opts *o) {
    int64_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int rc = load_labels(ref, &a, &na);
    if (!rc) rc = load_labels(est, &b, &nb);
    if (!rc && na != nb) rc = a2m_error(A2M_ERR_SHAPE, "%s has %zu frames, %s has %zu", ref, na, est, nb);
    int limit = o->classes ? o->classes : A2M_MAX_CLASSES;
    if (!rc && !(rc = check_labels(ref, a, na, limit)) && !(rc = check_labels(est, b, nb, limit)) && !o->classes) {
        int64_t mx = 0;
        for (size_t i = 0; i < na; i++) mx = a[i] > mx ? a[i] : mx, mx = b[i] > mx ? b[i] : mx;
        o->classes = (int)mx + 1;
    }
    a2m_frame_metrics fm;
    if (!rc) rc = a2m_frame_metrics_compute(a, b, na, o->classes, &fm);
    if (!rc) {
        if (o->json) {
            json_t *j = report_frame_metrics_json(&fm, NULL);
            report_write_json("-", j);
            json_decref(j);
        } else report_print_frame_metrics(stdout, &fm, NULL);
    }
    free(a), free(b);
    return rc ? cli_lib_fail(rc) : 0;
}

static void print_pair(const char *ref, const a2m_notes *r, const char *est, const a2m_notes *e,
                       const a2m_note_metrics *nm, int list) {
    printf("reference %s: %zu note%s; estimate %s: %zu note%s\n", ref, r->n, cli_s(r->n), est, e->n, cli_s(e->n));
    for (size_t i = 0; list && i < (r->n > e->n ? r->n : e->n); i++) {
        char a[64] = "", b[64] = "";
        if (i < r->n)
            snprintf(a, sizeof a, "%8.3f %8.3f %5.1f", r->notes[i].onset, r->notes[i].offset, r->notes[i].pitch);
        if (i < e->n)
            snprintf(b, sizeof b, "%8.3f %8.3f %5.1f", e->notes[i].onset, e->notes[i].offset, e->notes[i].pitch);
        printf("  ref %-26s   est %s\n", a, b);
    }
    printf("%-8s %9s %9s %9s %9s\n", "", "precision", "recall", "f1", "overlap");
    for (int k = 0; k < 3; k++) {
        const a2m_prf *m = metric(nm, k);
        printf("%-8s %9.4f %9.4f %9.4f %9.4f\n", metric_names[k], m->precision, m->recall, m->f1, m->average_overlap);
    }
}

/* The reference's notes, moved by --transpose-ref. */
static int read_ref(const char *path, const compare_opts *o, a2m_notes *r) {
    int rc = a2m_notes_read_any(path, r);
    for (size_t i = 0; !rc && i < r->n; i++) r->notes[i].pitch += o->transpose_ref;
    return rc;
}

static int run_pair(const char *ref, const char *est, const compare_opts *o) {
    a2m_notes r, e;
    int rc = read_ref(ref, o, &r);
    if (rc) return cli_lib_fail(rc);
    rc = a2m_notes_read_any(est, &e);
    if (rc) {
        a2m_notes_free(&r);
        return cli_lib_fail(rc);
    }
    a2m_note_metrics nm;
    rc = a2m_note_metrics_compute(r.notes, r.n, e.notes, e.n, o->p, &nm);
    if (!rc && o->json) {
        json_t *j = json_pack("{s:o,s:o,s:o}", "COnPOff", prf_json(&nm.onset_pitch_offset), "COnP",
                              prf_json(&nm.onset_pitch), "COn", prf_json(&nm.onset));
        report_write_json("-", j);
        json_decref(j);
    } else if (!rc) print_pair(ref, &r, est, &e, &nm, o->list);
    a2m_notes_free(&r), a2m_notes_free(&e);
    return rc ? cli_lib_fail(rc) : 0;
}

/* ---- two folders ------------------------------------------------------ */

/* A note file of a folder: x.mid, x.midi or x.csv (rank 0, 1, 2: the preferred one of one base x is the lowest). */
typedef struct note_file {
    char *base, *path;
    int rank;
} note_file;

typedef struct note_dir {
    note_file *f;
    size_t n;
} note_dir;

static int note_rank(const char *name, size_t *base_len) {
    static const char *ext[3] = {".mid", ".midi", ".csv"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || name[0] == '.') return -1;
    for (int k = 0; k < 3; k++)
        if (!strcasecmp(dot, ext[k])) {
            *base_len = (size_t)(dot - name);
            return k;
        }
    return -1;
}

static void note_dir_free(note_dir *d) {
    for (size_t i = 0; i < d->n; i++) free(d->f[i].base), free(d->f[i].path);
    free(d->f);
    d->f = NULL, d->n = 0;
}

static int by_base_then_rank(const void *a, const void *b) {
    const note_file *x = a, *y = b;
    int c = strcmp(x->base, y->base);
    return c ? c : x->rank - y->rank;
}

/* Adds dir/name when it is a regular file (through links) with a note file extension. */
static int note_dir_add(note_dir *d, size_t *cap, const char *dir, const char *name) {
    size_t blen;
    int rank = note_rank(name, &blen);
    char path[PATH_MAX];
    size_t dl = strlen(dir);
    struct stat st;
    if (rank < 0 ||
        snprintf(path, sizeof path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name) >= (int)sizeof path ||
        stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return A2M_OK;
    if (a2m_grow(&d->f, cap, d->n + 1, sizeof *d->f, 64)) return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", dir);
    note_file *f = &d->f[d->n];
    *f = (note_file){strndup(name, blen), strdup(path), rank};
    if (!f->base || !f->path) {
        free(f->base), free(f->path);
        return a2m_error(A2M_ERR_NOMEM, "%s: out of memory", dir);
    }
    d->n++;
    return A2M_OK;
}

/* The note files of dir (not below its subfolders; hidden ones skipped), one per base name, by base name. */
static int note_dir_list(const char *dir, note_dir *d) {
    *d = (note_dir){0};
    DIR *dp = opendir(dir);
    if (!dp) return a2m_error(A2M_ERR_IO, "%s: cannot open the folder", dir);
    size_t cap = 0;
    int rc = A2M_OK;
    for (struct dirent *e; !rc && (e = readdir(dp));) rc = note_dir_add(d, &cap, dir, e->d_name);
    closedir(dp);
    if (rc) {
        note_dir_free(d);
        return rc;
    }
    if (d->n > 1) qsort(d->f, d->n, sizeof *d->f, by_base_then_rank);
    size_t kept = 0; /* the preferred file of each base: the first of its run */
    for (size_t i = 0; i < d->n; i++) {
        if (kept && !strcmp(d->f[kept - 1].base, d->f[i].base)) {
            free(d->f[i].base), free(d->f[i].path);
            continue;
        }
        d->f[kept++] = d->f[i];
    }
    d->n = kept;
    return A2M_OK;
}

/* The file of base name `base` (bases are sorted and unique after note_dir_list), or NULL. */
static const note_file *note_dir_find(const note_dir *d, const char *base) {
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->f[mid].base, base);
        if (c == 0) return &d->f[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* One reference file: its estimate (NULL: missing) and scores. */
typedef struct file_score {
    const note_file *ref, *est;
    size_t n_ref, n_est;
    a2m_note_metrics m;
} file_score;

typedef struct folder_run {
    const char *ref_dir, *est_dir;
    note_dir refs, ests;
    file_score *s; /* [refs.n] */
    size_t n_files, n_missing;
    a2m_prf mean[3];
} folder_run;

/* In the mean, the JSON "files" and the --csv rows: a missing estimate counts as 0 unless --skip-missing. */
static int counted(const file_score *s, const compare_opts *o) { return s->est || !o->skip_missing; }

static int score_file(file_score *s, const compare_opts *o) {
    a2m_notes r, e = {0};
    int rc = read_ref(s->ref->path, o, &r);
    if (rc) return rc;
    if (s->est) rc = a2m_notes_read_any(s->est->path, &e);
    if (!rc) rc = a2m_note_metrics_compute(r.notes, r.n, e.notes, e.n, o->p, &s->m);
    s->n_ref = r.n, s->n_est = e.n;
    a2m_notes_free(&r);
    if (s->est) a2m_notes_free(&e);
    return rc;
}

/* Scores every reference (a missing estimate scores 0) and the means over the counted files. */
static int score_folders(folder_run *f, const compare_opts *o) {
    f->s = calloc(f->refs.n + 1, sizeof *f->s);
    if (!f->s) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < f->refs.n; i++) {
        file_score *s = &f->s[i];
        s->ref = &f->refs.f[i];
        s->est = note_dir_find(&f->ests, s->ref->base);
        f->n_missing += !s->est;
        int rc = score_file(s, o);
        if (rc) return rc;
        if (!counted(s, o)) continue;
        f->n_files++;
        for (int k = 0; k < 3; k++) {
            f->mean[k].precision += metric(&s->m, k)->precision;
            f->mean[k].recall += metric(&s->m, k)->recall;
            f->mean[k].f1 += metric(&s->m, k)->f1;
        }
    }
    if (!f->n_files) return a2m_error(A2M_ERR_ARG, "%s: no reference has an estimate in %s", f->ref_dir, f->est_dir);
    for (int k = 0; k < 3; k++) {
        f->mean[k].precision /= (double)f->n_files;
        f->mean[k].recall /= (double)f->n_files;
        f->mean[k].f1 /= (double)f->n_files;
    }
    return A2M_OK;
}

static void print_folders(const folder_run *f, const compare_opts *o) {
    int w = 4;
    for (size_t i = 0; i < f->refs.n; i++) w = (int)strlen(f->refs.f[i].base) > w ? (int)strlen(f->refs.f[i].base) : w;
    printf("reference %s: %zu file%s; estimate %s: %zu paired, %zu missing\n", f->ref_dir, f->refs.n, cli_s(f->refs.n),
           f->est_dir, f->refs.n - f->n_missing, f->n_missing);
    printf("%-*s %6s %6s %9s %9s %9s\n", w, "file", "ref", "est", "COnPOff", "COnP", "COn");
    for (size_t i = 0; i < f->refs.n; i++) {
        const file_score *s = &f->s[i];
        char est[32] = "-";
        if (s->est) snprintf(est, sizeof est, "%zu", s->n_est);
        printf("%-*s %6zu %6s %9.4f %9.4f %9.4f%s\n", w, s->ref->base, s->n_ref, est, s->m.onset_pitch_offset.f1,
               s->m.onset_pitch.f1, s->m.onset.f1,
               s->est            ? ""
               : o->skip_missing ? "  missing (left out)"
                                 : "  missing (counts as 0)");
    }
    char label[64];
    int lw = snprintf(label, sizeof label, "mean over %zu file%s", f->n_files, cli_s(f->n_files));
    printf("%s %9s %9s %9s\n", label, "precision", "recall", "f1");
    for (int k = 0; k < 3; k++)
        printf("%-*s %9.4f %9.4f %9.4f\n", lw, metric_names[k], f->mean[k].precision, f->mean[k].recall, f->mean[k].f1);
}

static json_t *folders_json(const folder_run *f, const compare_opts *o) {
    json_t *files = json_array(), *missing = json_array(), *mean = json_object();
    for (size_t i = 0; i < f->refs.n; i++) {
        const file_score *s = &f->s[i];
        if (!s->est) json_array_append_new(missing, json_string(s->ref->base));
        if (!counted(s, o)) continue;
        json_t *e = json_pack("{s:s,s:s,s:o,s:I,s:I}", "name", s->ref->base, "reference", s->ref->path, "estimate",
                              s->est ? json_string(s->est->path) : json_null(), "ref_notes", (json_int_t)s->n_ref,
                              "est_notes", (json_int_t)s->n_est);
        for (int k = 0; k < 3; k++) json_object_set_new(e, metric_names[k], prf_json(metric(&s->m, k)));
        json_array_append_new(files, e);
    }
    for (int k = 0; k < 3; k++)
        json_object_set_new(mean, metric_names[k],
                            json_pack("{s:f,s:f,s:f}", "precision", f->mean[k].precision, "recall", f->mean[k].recall,
                                      "f1", f->mean[k].f1));
    return json_pack("{s:o,s:o,s:I,s:o}", "files", files, "mean", mean, "n_files", (json_int_t)f->n_files, "missing",
                     missing);
}

/* A CSV field: quoted (with "" for ") when it holds a comma, quote or line break. */
static void csv_field(FILE *fp, const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static int write_csv(const folder_run *f, const compare_opts *o) {
    a2m_atomic_file af;
    int rc = a2m_atomic_open(&af, o->csv, 1);
    if (rc) return rc;
    fputs("name,ref_notes,est_notes", af.fp);
    for (int k = 0; k < 3; k++)
        fprintf(af.fp, ",%s_precision,%s_recall,%s_f1", metric_names[k], metric_names[k], metric_names[k]);
    fputs(",missing\n", af.fp);
    for (size_t i = 0; i < f->refs.n; i++) {
        const file_score *s = &f->s[i];
        if (!counted(s, o)) continue;
        csv_field(af.fp, s->ref->base);
        fprintf(af.fp, ",%zu,%zu", s->n_ref, s->n_est);
        for (int k = 0; k < 3; k++) {
            const a2m_prf *m = metric(&s->m, k);
            fprintf(af.fp, ",%.6f,%.6f,%.6f", m->precision, m->recall, m->f1);
        }
        fprintf(af.fp, ",%d\n", !s->est);
    }
    return a2m_atomic_commit(&af);
}

static void warn_unpaired(const folder_run *f, const compare_opts *o) {
    for (size_t i = 0; i < f->ests.n; i++)
        if (!note_dir_find(&f->refs, f->ests.f[i].base))
            cli_warn("%s: no reference %s.* in %s (ignored)", f->ests.f[i].path, f->ests.f[i].base, f->ref_dir);
    for (size_t i = 0; i < f->refs.n; i++)
        if (!f->s[i].est)
            cli_warn("%s: no estimate %s.* in %s (%s)", f->refs.f[i].path, f->refs.f[i].base, f->est_dir,
                     o->skip_missing ? "left out" : "counts as 0; --skip-missing leaves it out");
}

/* The --csv output is checked before any work: not one of the inputs, kept unless --force. */
static int check_csv(folder_run *f, const compare_opts *o, const char *cmd) {
    if (!strcmp(o->csv, "-")) return cli_usage_error(cmd, "--csv -: the table goes to standard output; name a file");
    size_t n = f->refs.n + f->ests.n;
    const char **inputs = malloc((n + 1) * sizeof *inputs);
    if (!inputs) return cli_fail("out of memory");
    for (size_t i = 0; i < f->refs.n; i++) inputs[i] = f->refs.f[i].path;
    for (size_t i = 0; i < f->ests.n; i++) inputs[f->refs.n + i] = f->ests.f[i].path;
    const char *out = o->csv;
    int rc = cli_check_output(cmd, &out, inputs, (int)n, o->force, 0);
    free(inputs);
    return rc;
}

static int run_folders(const char *ref_dir, const char *est_dir, const compare_opts *o, const char *cmd) {
    folder_run f = {.ref_dir = ref_dir, .est_dir = est_dir};
    int rc = note_dir_list(ref_dir, &f.refs), exit_code = 0;
    if (!rc) rc = note_dir_list(est_dir, &f.ests);
    if (!rc && !f.refs.n) rc = a2m_error(A2M_ERR_ARG, "%s: no .mid, .midi or .csv files", ref_dir);
    if (rc) exit_code = cli_lib_fail(rc);
    if (!exit_code && o->csv) exit_code = check_csv(&f, o, cmd);
    if (!exit_code && (rc = score_folders(&f, o))) exit_code = cli_lib_fail(rc);
    if (!exit_code) {
        warn_unpaired(&f, o);
        if (o->csv && (rc = write_csv(&f, o))) exit_code = cli_lib_fail(rc);
    }
    if (!exit_code && o->json) {
        json_t *j = folders_json(&f, o);
        report_write_json("-", j);
        json_decref(j);
    } else if (!exit_code) print_folders(&f, o);
    note_dir_free(&f.refs), note_dir_free(&f.ests), free(f.s);
    return exit_code;
}

/* ---- options ---------------------------------------------------------- */

/* A folder, or a path written as one (ending in '/'). */
static int is_folder_arg(const char *path) {
    size_t n = strlen(path);
    return a2m_is_dir(path) || (n && path[n - 1] == '/');
}

int cmd_compare(int argc, char **argv) {
    const char *ref = NULL, *est = NULL;
    compare_opts o = {.p = a2m_note_metric_default_params()};
    const cli_option opts[] = {
        {CLI_FLAG_OPT("--json", &o.json), .help = "print the metrics as JSON"},
        {CLI_FLAG_OPT("--list", &o.list), .help = "two files: also list every note and what it matched"},
        {CLI_FLAG_OPT("--frames", &o.frames), .help = "frame metrics of two label files (.npy)"},
        {CLI_INT_OPT("--classes", &o.classes, 1, A2M_MAX_CLASSES), .meta = "N", .nodef = 1,
         .help = "--frames: the class count (not given: the largest label + 1)"},
        {CLI_DBL_OPT("--onset-tolerance", &o.p.onset_tolerance, 0, 10), .meta = "S",
         .help = "onset tolerance in seconds"},
        {CLI_DBL_OPT("--pitch-tolerance", &o.p.pitch_tolerance, 0, 1200), .meta = "CENTS", .help = "pitch tolerance"},
        {CLI_DBL_OPT("--offset-ratio", &o.p.offset_ratio, 0, 10), .meta = "R",
         .help = "offset tolerance as a ratio of the reference note's length"},
        {CLI_DBL_OPT("--offset-min", &o.p.offset_min_tolerance, 0, 10), .meta = "S",
         .help = "the least offset tolerance in seconds"},
        {CLI_INT_OPT("--transpose-ref", &o.transpose_ref, -48, 48), .meta = "N",
         .help = "semitones added to the reference's pitches"},
        {CLI_STR_OPT("--csv", &o.csv), .meta = "PER_FILE.csv", .help = "two folders: one row per file"},
        {CLI_FLAG_OPT("--skip-missing", &o.skip_missing),
         .help = "two folders: leave out references without an estimate"},
        {CLI_FLAG_OPT("--force", &o.force), .help = "replace an existing --csv file"},
        {.name = NULL}};
    const cli_spec spec = {"compare", usage, {{NULL, opts}}, NULL};
    int n_pos, rc = cli_parse(argc, argv, &spec, &n_pos);
    if (rc >= 0) return rc;
    if (n_pos > 2) return cli_usage_error(argv[0], "two inputs expected");
    ref = n_pos > 0 ? argv[1] : NULL, est = n_pos > 1 ? argv[2] : NULL;
    if (!ref || !est) return cli_usage_error(argv[0], "needs REF and EST");
    /* a folder beside a missing path is two folders, one of them missing (exit 1 naming it, not a usage error) */
    int dirs = is_folder_arg(ref) + is_folder_arg(est);
    if (dirs == 1 && (!a2m_path_exists(ref) || !a2m_path_exists(est))) dirs = 2;
    if (dirs == 1)
        return cli_usage_error(argv[0], "REF and EST must both be folders or both be files (%s, %s)", ref, est);
    if (dirs == 2 && o.frames) return cli_usage_error(argv[0], "--frames compares two label files, not folders");
    if (dirs == 0 && (o.csv || o.skip_missing || o.force))
        return cli_usage_error(argv[0], "--csv, --skip-missing and --force are for two folders");
    if (dirs == 2 && o.list) return cli_usage_error(argv[0], "--list is for two files");
    if (dirs == 2) return run_folders(ref, est, &o, argv[0]);
    return o.frames ? run_frames(ref, est, &o) : run_pair(ref, est, &o);
}
