#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/metrics.h"
#include "a2m/midi.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/report.h"

static const char *usage =
    "usage: a2m compare REF EST [--json] [--onset-tolerance S] [--pitch-tolerance CENTS]\n"
    "                           [--offset-ratio R] [--offset-min S] [--list]\n"
    "       a2m compare --frames REF.npy EST.npy [--classes N] [--json]\n"
    "Note metrics as mir_eval.transcription (COnPOff, COnP, COn: precision, recall, F1, average overlap)\n"
    "of two MIDI files or notes CSVs (onset_s,offset_s,midi_pitch); or frame metrics as scikit-learn\n"
    "of two integer label sequences.\n";

static json_t *prf_json(const a2m_prf *p) {
    return json_pack("{s:f,s:f,s:f,s:f}", "precision", p->precision, "recall", p->recall, "f1", p->f1, "average_overlap",
                     p->average_overlap);
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
        (*v)[i] = a.dtype == A2M_I64 ? ((int64_t *)a.data)[i] : a.dtype == A2M_I32 ? ((int32_t *)a.data)[i]
                  : a.dtype == A2M_I16 ? ((int16_t *)a.data)[i] : ((uint8_t *)a.data)[i];
    a2m_array_free(&a);
    return *v ? A2M_OK : a2m_error(A2M_ERR_NOMEM, "out of memory");
}

int cmd_compare(int argc, char **argv) {
    const char *ref = NULL, *est = NULL, *v;
    int json = 0, frames = 0, classes = 0, list = 0;
    a2m_note_metric_params p = a2m_note_metric_default_params();
    for (int i = 1; i < argc; i++) {
        int r = 0;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--json")) json = r = 1;
        else if (!strcmp(argv[i], "--list")) list = r = 1;
        else if (!strcmp(argv[i], "--frames")) frames = r = 1;
        else if ((r = cli_opt(argc, argv, &i, "--classes", &v))) r = r < 0 ? r : cli_parse_int(argv[0], "--classes", v, 1, A2M_MAX_CLASSES, &classes) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--onset-tolerance", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--onset-tolerance", v, 0, 10, &p.onset_tolerance) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--pitch-tolerance", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--pitch-tolerance", v, 0, 1200, &p.pitch_tolerance) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--offset-ratio", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--offset-ratio", v, 0, 10, &p.offset_ratio) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--offset-min", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--offset-min", v, 0, 10, &p.offset_min_tolerance) ? 1 : -1;
        else if (argv[i][0] == '-') return cli_usage_error(argv[0], "unknown option %s", argv[i]);
        else if (!ref) ref = argv[i], r = 1;
        else if (!est) est = argv[i], r = 1;
        else return cli_usage_error(argv[0], "two inputs expected");
        if (r < 0) return 2;
    }
    if (!ref || !est) return cli_usage_error(argv[0], "needs REF and EST");
    if (frames) {
        int64_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        int rc = load_labels(ref, &a, &na);
        if (!rc) rc = load_labels(est, &b, &nb);
        if (!rc && na != nb) rc = a2m_error(A2M_ERR_SHAPE, "%s has %zu frames, %s has %zu", ref, na, est, nb);
        if (!rc && !classes) {
            int64_t mx = 0;
            for (size_t i = 0; i < na; i++) mx = a[i] > mx ? a[i] : mx, mx = b[i] > mx ? b[i] : mx;
            classes = (int)(mx + 1 > A2M_MAX_CLASSES ? A2M_MAX_CLASSES : mx + 1);
        }
        a2m_frame_metrics fm;
        if (!rc) rc = a2m_frame_metrics_compute(a, b, na, classes, &fm);
        if (!rc) {
            if (json) {
                json_t *o = report_frame_metrics_json(&fm, NULL);
                report_write_json("-", o);
                json_decref(o);
            } else report_print_frame_metrics(stdout, &fm, NULL);
        }
        free(a), free(b);
        return rc ? cli_lib_fail(rc) : 0;
    }
    a2m_notes r, e;
    int rc = a2m_notes_read_any(ref, &r);
    if (rc) return cli_lib_fail(rc);
    rc = a2m_notes_read_any(est, &e);
    if (rc) {
        a2m_notes_free(&r);
        return cli_lib_fail(rc);
    }
    a2m_note_metrics nm;
    rc = a2m_note_metrics_compute(r.notes, r.n, e.notes, e.n, p, &nm);
    if (!rc) {
        if (json) {
            json_t *o = json_pack("{s:o,s:o,s:o}", "COnPOff", prf_json(&nm.onset_pitch_offset), "COnP", prf_json(&nm.onset_pitch),
                                  "COn", prf_json(&nm.onset));
            report_write_json("-", o);
            json_decref(o);
        } else {
            printf("reference %s: %zu note%s; estimate %s: %zu note%s\n", ref, r.n, cli_s(r.n), est, e.n, cli_s(e.n));
            for (size_t i = 0; list && i < (r.n > e.n ? r.n : e.n); i++) {
                char a[64] = "", b[64] = "";
                if (i < r.n) snprintf(a, sizeof a, "%8.3f %8.3f %5.1f", r.notes[i].onset, r.notes[i].offset, r.notes[i].pitch);
                if (i < e.n) snprintf(b, sizeof b, "%8.3f %8.3f %5.1f", e.notes[i].onset, e.notes[i].offset, e.notes[i].pitch);
                printf("  ref %-26s   est %s\n", a, b);
            }
            printf("%-8s %9s %9s %9s %9s\n", "", "precision", "recall", "f1", "overlap");
            const a2m_prf *rows[3] = {&nm.onset_pitch_offset, &nm.onset_pitch, &nm.onset};
            const char *names[3] = {"COnPOff", "COnP", "COn"};
            for (int k = 0; k < 3; k++)
                printf("%-8s %9.4f %9.4f %9.4f %9.4f\n", names[k], rows[k]->precision, rows[k]->recall, rows[k]->f1,
                       rows[k]->average_overlap);
        }
    }
    a2m_notes_free(&r), a2m_notes_free(&e);
    return rc ? cli_lib_fail(rc) : 0;
}
