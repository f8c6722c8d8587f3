#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/plot.h"
#include "core/grow.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/members.h"
#include "cli/opts.h"
#include "cli/plots.h"
#include "cli/report.h"

static const char *usage =
    "usage: a2m plot loss LOG.csv [-o OUT.png]\n"
    "       a2m plot confusion EVAL.json [-o OUT.png]\n"
    "       a2m plot reliability EVAL.json [-o OUT.png]\n"
    "       a2m plot uncertainty EVAL.json [-o OUT.png]\n"
    "       a2m plot cqt AUDIO [--labels MIDI] [-o OUT.png]\n"
    "       a2m plot pianoroll AUDIO --ref REF.mid --est EST.mid [-o OUT.png]\n"
    "       a2m plot embed EMB.npy [--labels EMB.labels.npy] [-o OUT.png]\n"
    "       a2m plot features AUDIO --kind mel|mfcc|lpc|cqt [--labels MIDI] [feature options] [-o OUT.png]\n"
    "       a2m plot distances AUDIO --kind K [--labels MIDI] [feature options] [-o OUT.png]\n"
    "features draws the features as `a2m features` computes them (LPC: its spectral envelope); distances the\n"
    "Euclidean distance between every two frames (what a nearest-neighbour classifier compares), the\n"
    "--labels classes as a strip above. The feature options are those of `a2m features --help`.\n"
    "       a2m plot search STUDY.db -o DIR   (a2m search: history and per-parameter slices; plot search --help)\n"
    "reliability draws the \"reliability\" of `a2m eval --json`: accuracy per confidence bin against the\n"
    "diagonal of perfect calibration, frames per bin below, ECE and MCE in the title. uncertainty draws\n"
    "its \"uncertainty\": per measure the CDFs over right and wrong frames, the AUROC in the title (1000 x 800).\n"
    "embed draws the points of `a2m embed` coloured by class (--labels: the .labels.npy beside EMB.npy by\n"
    "default), one scale on both axes, a legend with each class's frame count; 1000 x 760.\n"
    "PNG by default; SVG or PDF when OUT ends in .svg or .pdf (any other extension is a usage error).\n"
    "Figures are 1000 x 600 but confusion matrices, sized to their class count (740 x 600 up to 18\n"
    "classes, 1748 x 1608 for 64).\n";

/* Reads the training log CSV (header epoch,train_loss,val_loss,val_accuracy,val_f1_macro,...). */
static int read_log(const char *path, double **cols, size_t *n) {
    uint8_t *buf;
    size_t len;
    int rc = a2m_read_file(path, &buf, &len, (size_t)64 << 20);
    if (rc) return rc;
    char *text = realloc(buf, len + 1);
    if (!text) {
        free(buf);
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    text[len] = '\0';
    if (strncmp(text, "epoch,train_loss,val_loss,val_accuracy,val_f1_macro", 51) != 0) {
        free(text);
        return a2m_error(A2M_ERR_FORMAT, "%s: not an a2m training log (header epoch,train_loss,val_loss,...)", path);
    }
    size_t cap = 0;
    *n = 0;
    char *save = NULL;
    strtok_r(text, "\n", &save);
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        double v[5];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3], &v[4]) != 5) continue;
        size_t grown = cap; /* the five columns grown together */
        for (int c = 0; c < 5; c++) {
            size_t cc = cap;
            if (a2m_grow(&cols[c], &cc, *n + 1, sizeof *cols[c], 64)) {
                free(text);
                return a2m_error(A2M_ERR_NOMEM, "out of memory");
            }
            grown = cc;
        }
        cap = grown;
        for (int c = 0; c < 5; c++) cols[c][*n] = v[c];
        (*n)++;
    }
    free(text);
    if (*n == 0) return a2m_error(A2M_ERR_EMPTY, "%s: the training log has no epochs", path);
    return A2M_OK;
}

int plot_loss_file(const char *log, const char *out, a2m_plot_size size) {
    double *cols[5] = {NULL};
    size_t n = 0;
    int rc = read_log(log, cols, &n);
    if (!rc) {
        a2m_loss_curve c = {n, cols[0], cols[1], cols[2], cols[3], cols[4]};
        rc = a2m_plot_loss(out, &c, size);
    }
    for (int i = 0; i < 5; i++) free(cols[i]);
    return rc;
}

/* a plot of an eval report's JSON root; json_path names the file in errors */
typedef int (*json_plot_fn)(json_t *root, const char *json_path, const char *out, a2m_plot_size size);

/* loads json_path, draws it with plot, frees it */
static int plot_json_file(const char *json_path, const char *out, a2m_plot_size size, json_plot_fn plot) {
    json_t *root;
    int rc = report_load_json(json_path, &root);
    if (!rc) rc = plot(root, json_path, out, size);
    json_decref(root);
    return rc;
}

static int plot_confusion_json(json_t *root, const char *json_path, const char *out, a2m_plot_size size) {
    int rc = A2M_OK;
    json_t *conf = json_object_get(root, "confusion"), *names = json_object_get(root, "class_names");
    int n = (int)json_array_size(conf);
    if (n <= 0 || n > 64) rc = a2m_error(A2M_ERR_FORMAT, "%s: no \"confusion\" matrix", json_path);
    int64_t *counts = rc ? NULL : calloc((size_t)n * n, sizeof *counts);
    const char *nm[64];
    char fallback[64][8];
    for (int r = 0; !rc && r < n; r++) {
        json_t *row = json_array_get(conf, (size_t)r);
        if ((int)json_array_size(row) != n)
            rc = a2m_error(A2M_ERR_FORMAT, "%s: confusion matrix is not square", json_path);
        for (int c = 0; !rc && c < n; c++) counts[r * n + c] = json_integer_value(json_array_get(row, (size_t)c));
        snprintf(fallback[r], sizeof fallback[r], "%d", r);
        nm[r] = json_string_value(json_array_get(names, (size_t)r))
                    ? json_string_value(json_array_get(names, (size_t)r))
                    : fallback[r];
    }
    if (!rc && size.width == 0) size = a2m_plot_confusion_size(n); /* not given: one that fits n classes */
    if (!rc) rc = a2m_plot_confusion(out, counts, n, nm, size);
    free(counts);
    return rc;
}

/* size {0, 0}: a2m_plot_confusion_size of the matrix's class count */
int plot_confusion_file(const char *json_path, const char *out, a2m_plot_size size) {
    return plot_json_file(json_path, out, size, plot_confusion_json);
}

static int plot_reliability_json(json_t *root, const char *json_path, const char *out, a2m_plot_size size) {
    int rc = A2M_OK;
    json_t *rel = json_object_get(root, "reliability"), *bins = json_object_get(rel, "bins");
    json_t *ece = json_object_get(rel, "ece"), *mce = json_object_get(rel, "mce");
    int n = (int)json_array_size(bins);
    if (!json_is_object(rel))
        rc = a2m_error(A2M_ERR_FORMAT, "%s: no \"reliability\" (made by a2m eval --json?)", json_path);
    else if (!json_is_number(ece) || !json_is_number(mce))
        rc = a2m_error(A2M_ERR_FORMAT, "%s: \"reliability\" has no \"ece\" or \"mce\"", json_path);
    else if (n <= 0 || n > 1000) rc = a2m_error(A2M_ERR_FORMAT, "%s: \"reliability\" has no \"bins\"", json_path);
    double *conf = rc ? NULL : calloc((size_t)n, sizeof *conf), *acc = rc ? NULL : calloc((size_t)n, sizeof *acc);
    int64_t *count = rc ? NULL : calloc((size_t)n, sizeof *count), total = 0;
    if (!rc && (!conf || !acc || !count)) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    for (int b = 0; !rc && b < n; b++) {
        json_t *o = json_array_get(bins, (size_t)b), *jc = json_object_get(o, "confidence"),
               *ja = json_object_get(o, "accuracy"), *jn = json_object_get(o, "count");
        if (!json_is_number(jc) || !json_is_number(ja) || !json_is_integer(jn))
            rc = a2m_error(A2M_ERR_FORMAT, "%s: reliability bin %d lacks \"confidence\", \"accuracy\" or \"count\"",
                           json_path, b);
        else conf[b] = json_number_value(jc), acc[b] = json_number_value(ja), count[b] = json_integer_value(jn);
        if (!rc && count[b] < 0)
            rc = a2m_error(A2M_ERR_FORMAT, "%s: reliability bin %d has a negative count", json_path, b);
        total += rc ? 0 : count[b];
    }
    if (!rc && !total) rc = a2m_error(A2M_ERR_EMPTY, "%s: no frames in the reliability bins", json_path);
    if (!rc) {
        a2m_reliability_curve c = {n, conf, acc, count, json_number_value(ece), json_number_value(mce)};
        rc = a2m_plot_reliability(out, &c, size);
    }
    free(conf), free(acc), free(count);
    return rc;
}

int plot_reliability_file(const char *json_path, const char *out, a2m_plot_size size) {
    return plot_json_file(json_path, out, size, plot_reliability_json);
}

int plot_cqt_file(const char *audio, const char *labels_midi, const char *ref, const char *est, const int *notes,
                  int n_notes, double transpose, const char *out, a2m_plot_size size) {
    a2m_cqt_params p = a2m_cqt_default_params();
    float *db;
    size_t frames;
    int rc = a2m_cqt_db_from_file(audio, p, &db, &frames);
    if (rc) return rc;
    a2m_cqt_overlay ov = {0};
    ov.note_transpose = transpose;
    int64_t *labels = NULL;
    int class_notes[A2M_MAX_CLASSES] = {-1};
    a2m_notes lm = {0}, rn = {0}, en = {0};
    if (labels_midi) {
        rc = a2m_notes_read_any(labels_midi, &lm);
        a2m_label_params lp = a2m_label_default_params();
        if (n_notes > 0) {
            lp.n_notes = n_notes;
            memcpy(lp.notes, notes, (size_t)n_notes * sizeof *notes);
        }
        for (int k = 0; k < lp.n_notes; k++) class_notes[k + 1] = lp.notes[k];
        if (!rc && !(labels = malloc(frames * sizeof *labels))) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
        if (!rc) rc = a2m_labels_from_notes(lm.notes, lm.n, lp, labels, frames, NULL);
        ov.labels = labels, ov.class_notes = class_notes;
    }
    if (!rc && ref && !(rc = a2m_notes_read_any(ref, &rn))) ov.ref = rn.notes, ov.n_ref = rn.n;
    if (!rc && est && !(rc = a2m_notes_read_any(est, &en))) ov.est = en.notes, ov.n_est = en.n;
    if (!rc) {
        const char *base = strrchr(audio, '/') ? strrchr(audio, '/') + 1 : audio;
        char title[512];
        snprintf(title, sizeof title, "%s%s", base,
                 ref           ? ": reference vs transcription"
                 : labels_midi ? ": CQT + frame labels"
                               : ": CQT");
        rc = a2m_plot_cqt(out, db, frames, p, &ov, title, size);
    }
    free(db), free(labels);
    a2m_notes_free(&lm), a2m_notes_free(&rn), a2m_notes_free(&en);
    return rc;
}

typedef struct plot_args {
    const char *in, *out, *labels, *ref, *est;
    a2m_plot_size size;
    a2m_label_params lp; /* --notes */
    int notes_given, transpose, force, sized;
    cli_feat_opts fo;
} plot_args;

/* argv[0] is the picture's kind: -1, or the exit code */
static int parse_args(int argc, char **argv, plot_args *a) {
    cli_option feat[CLI_FEAT_N_OPTS + 1];
    cli_feat_options(&a->fo, feat);
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &a->out), .meta = "OUT",
         .help = "the picture (default: the input's name with .KIND.png;\n- = standard output)"},
        {CLI_STR_OPT("--labels", &a->labels), .meta = "FILE",
         .help = "cqt, features, distances: the MIDI of the frame labels; embed: EMB.labels.npy\n(default: the one "
                 "beside EMB.npy)"},
        {CLI_STR_OPT("--ref", &a->ref), .meta = "REF.mid", .help = "pianoroll: the reference notes"},
        {CLI_STR_OPT("--est", &a->est), .meta = "EST.mid", .help = "pianoroll: the transcription's notes"},
        {CLI_INT_OPT("--width", &a->size.width, 200, 10000), .meta = "W", .given = &a->sized, .help = "picture width"},
        {CLI_INT_OPT("--height", &a->size.height, 200, 10000), .meta = "H", .given = &a->sized,
         .help = "picture height"},
        {CLI_CUSTOM_OPT("--notes", &a->lp, cli_opt_notes, cli_show_notes), .meta = "LIST", .given = &a->notes_given,
         .help = "classes of --labels"},
        {CLI_INT_OPT("--transpose", &a->transpose, -48, 48), .meta = "N",
         .help = "semitones added to drawn notes (-12 draws the seed data's MIDI where the\nsinger sings it)"},
        {CLI_FLAG_OPT("--force", &a->force), .help = "replace an existing OUT"},
        {.name = NULL}};
    const cli_spec spec = {"plot", usage, {{NULL, opts}, {"features and distances (as `a2m features`):", feat}}, NULL};
    int rc = cli_parse_pos(argc, argv, &spec, (const char **[]){&a->in}, 1);
    if (rc >= 0) return rc;
    return -1;
}

int cmd_plot(int argc, char **argv) {
    if (argc < 2) return fputs(usage, stderr), 2;
    if (!strcmp(argv[1], "search")) return cmd_plot_search(argc, argv); /* -o is a folder */
    plot_args a = {.size = {1000, 600}, .lp = a2m_label_default_params(), .fo = cli_feat_opts_default()};
    const char *kind = argv[1];
    int shift = !cli_is_help(kind), rc = parse_args(argc - shift, argv + shift, &a); /* "a2m plot --help" too */
    if (rc >= 0) return rc;
    const char *in = a.in, *out = a.out, *labels = a.labels, *ref = a.ref, *est = a.est;
    a2m_plot_size size = a.size;
    int *notes = a.lp.notes, n_notes = a.notes_given ? a.lp.n_notes : 0, transpose = a.transpose, force = a.force,
        sized = a.sized;
    cli_feat_opts fo = a.fo;
    if (!in) return cli_usage_error(argv[0], "%s needs an input", kind);
    if (cli_feat_finish(argv[0], &fo)) return 2;
    if (out && !a2m_plot_format(out))
        return cli_usage_error(argv[0], "-o %s: unknown picture format '%s' (png, svg or pdf)", out,
                               strrchr(out, '.') + 1);
    char def[4096];
    if (!out) {
        snprintf(def, sizeof def, "%s", in);
        char *dot = strrchr(def, '.'), *slash = strrchr(def, '/');
        if (dot && (!slash || dot > slash)) *dot = '\0';
        size_t l = strlen(def);
        snprintf(def + l, sizeof def - l, ".%s.png", kind);
        out = def;
    }
    if ((rc = cli_check_output(argv[0], &out, (const char *[]){in, labels, ref, est}, 4, force, CLI_OUT_STDOUT)))
        return rc;
    if (!strcmp(kind, "loss")) rc = plot_loss_file(in, out, size);
    else if (!strcmp(kind, "confusion")) rc = plot_confusion_file(in, out, sized ? size : (a2m_plot_size){0, 0});
    else if (!strcmp(kind, "reliability")) rc = plot_reliability_file(in, out, size);
    else if (!strcmp(kind, "uncertainty"))
        rc = plot_uncertainty_file(in, out, sized ? size : (a2m_plot_size){1000, 800});
    else if (!strcmp(kind, "cqt")) rc = plot_cqt_file(in, labels, NULL, NULL, notes, n_notes, transpose, out, size);
    else if (!strcmp(kind, "pianoroll")) {
        if (!ref || !est) return cli_usage_error(argv[0], "pianoroll needs --ref and --est");
        rc = plot_cqt_file(in, NULL, ref, est, notes, n_notes, transpose, out, size);
    } else if (!strcmp(kind, "embed")) rc = plot_embed_file(in, labels, out, sized ? size : (a2m_plot_size){1000, 760});
    else if (!strcmp(kind, "features") || !strcmp(kind, "distances"))
        rc = plot_features_file(in, labels, notes, n_notes, &fo, kind[0] == 'd', out, size);
    else
        return cli_usage_error(argv[0],
                               "unknown picture '%s' (loss, confusion, reliability, uncertainty, cqt, pianoroll, "
                               "embed, features, distances, search)",
                               kind);
    if (rc) return cli_lib_fail(rc);
    fprintf(stderr, "%s\n", out);
    return 0;
}
