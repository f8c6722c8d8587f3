#include "cli/report.h"

#include <string.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"

void report_class_name(const int *class_notes, int c, char *buf, size_t n) {
    if (!class_notes) snprintf(buf, n, "%d", c);
    else if (c == 0 || class_notes[c] < 0) snprintf(buf, n, "silence");
    else {
        char nm[8];
        snprintf(buf, n, "%s (%d)", a2m_note_name(class_notes[c], nm), class_notes[c]);
    }
}

void report_print_frame_metrics(FILE *out, const a2m_frame_metrics *fm, const int *class_notes) {
    int C = fm->n_classes;
    char name[32];
    fprintf(out, "%14s %9s %9s %9s %9s\n\n", "", "precision", "recall", "f1-score", "support");
    double mp = 0, mr = 0, wp = 0, wr = 0;
    int present = 0;
    for (int c = 0; c < C; c++) {
        report_class_name(class_notes, c, name, sizeof name);
        fprintf(out, "%14s %9.4f %9.4f %9.4f %9lld\n", name, fm->precision[c], fm->recall[c], fm->f1[c],
                (long long)fm->support[c]);
        int64_t pc = 0;
        for (int k = 0; k < C; k++) pc += fm->confusion[k][c];
        if (fm->support[c] || pc) present++, mp += fm->precision[c], mr += fm->recall[c];
        wp += fm->precision[c] * (double)fm->support[c], wr += fm->recall[c] * (double)fm->support[c];
    }
    double n = (double)fm->n;
    fprintf(out, "\n%14s %9s %9s %9.4f %9zu\n", "accuracy", "", "", fm->accuracy, fm->n);
    fprintf(out, "%14s %9.4f %9.4f %9.4f %9zu\n", "macro avg", present ? mp / present : 0, present ? mr / present : 0,
            fm->f1_macro, fm->n);
    fprintf(out, "%14s %9.4f %9.4f %9.4f %9zu\n", "weighted avg", n ? wp / n : 0, n ? wr / n : 0, fm->f1_weighted, fm->n);
    fprintf(out, "\nbalanced accuracy %.4f\n\nconfusion matrix (rows: reference, columns: predicted)\n%14s", fm->balanced_accuracy, "");
    for (int c = 0; c < C; c++) {
        report_class_name(class_notes, c, name, sizeof name);
        fprintf(out, " %12s", name);
    }
    fputc('\n', out);
    for (int r = 0; r < C; r++) {
        report_class_name(class_notes, r, name, sizeof name);
        fprintf(out, "%14s", name);
        for (int c = 0; c < C; c++)
            fprintf(out, " %6lld %4.1f%%", (long long)fm->confusion[r][c],
                    fm->support[r] ? 100.0 * (double)fm->confusion[r][c] / (double)fm->support[r] : 0.0);
        fputc('\n', out);
    }
    /* most common confusions, largest first */
    fprintf(out, "\nmost common confusions:\n");
    int shown = 0;
    int64_t last = INT64_MAX;
    while (shown < 6) {
        int64_t best = 0;
        int br = -1;
        for (int r = 0; r < C; r++)
            for (int c = 0; c < C; c++)
                if (r != c && fm->confusion[r][c] > best && fm->confusion[r][c] < last) best = fm->confusion[r][c], br = r;
        if (br < 0) break;
        for (int r = 0; r < C; r++)
            for (int c = 0; c < C; c++)
                if (r != c && fm->confusion[r][c] == best && shown < 6) {
                    char a[32], b[32];
                    report_class_name(class_notes, r, a, sizeof a);
                    report_class_name(class_notes, c, b, sizeof b);
                    fprintf(out, "  %s predicted as %s: %lld frames\n", a, b, (long long)best);
                    shown++;
                }
        last = best;
    }
    if (!shown) fprintf(out, "  none\n");
}

json_t *report_frame_metrics_json(const a2m_frame_metrics *fm, const int *class_notes) {
    int C = fm->n_classes;
    json_t *conf = json_array(), *per = json_array(), *names = json_array();
    for (int r = 0; r < C; r++) {
        json_t *row = json_array();
        for (int c = 0; c < C; c++) json_array_append_new(row, json_integer(fm->confusion[r][c]));
        json_array_append_new(conf, row);
        json_array_append_new(per, json_pack("{s:f,s:f,s:f,s:I}", "precision", fm->precision[r], "recall", fm->recall[r],
                                             "f1", fm->f1[r], "support", (json_int_t)fm->support[r]));
        char name[32];
        report_class_name(class_notes, r, name, sizeof name);
        json_array_append_new(names, json_string(name));
    }
    return json_pack("{s:f,s:f,s:f,s:f,s:o,s:o,s:o}", "accuracy", fm->accuracy, "balanced_accuracy", fm->balanced_accuracy,
                     "f1_macro", fm->f1_macro, "f1_weighted", fm->f1_weighted, "confusion", conf, "per_class", per,
                     "class_names", names);
}

int report_write_json(const char *path, json_t *o) {
    if (!strcmp(path, "-")) {
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        fputc('\n', stdout);
        return A2M_OK;
    }
    a2m_atomic_file f;
    int rc = a2m_atomic_open(&f, path, 1);
    if (rc) return rc;
    json_dumpf(o, f.fp, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    fputc('\n', f.fp);
    return a2m_atomic_commit(&f);
}
