#include "cli/report.h"

#include <math.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"

void report_class_name(const int *class_notes, int c, char *buf, size_t n) {
    if (!class_notes) snprintf(buf, n, "%d", c);
    else if (class_notes[c] == A2M_CLASS_ONSET) snprintf(buf, n, "onset");
    else if (class_notes[c] == A2M_CLASS_BELOW) snprintf(buf, n, "below range");
    else if (class_notes[c] == A2M_CLASS_ABOVE) snprintf(buf, n, "above range");
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
    fprintf(out, "%14s %9.4f %9.4f %9.4f %9zu\n", "weighted avg", n ? wp / n : 0, n ? wr / n : 0, fm->f1_weighted,
            fm->n);
    fprintf(out, "\nbalanced accuracy %.4f\n\nconfusion matrix (rows: reference, columns: predicted)\n%14s",
            fm->balanced_accuracy, "");
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
                if (r != c && fm->confusion[r][c] > best && fm->confusion[r][c] < last)
                    best = fm->confusion[r][c], br = r;
        if (br < 0) break;
        for (int r = 0; r < C; r++)
            for (int c = 0; c < C; c++)
                if (r != c && fm->confusion[r][c] == best && shown < 6) {
                    char a[32], b[32];
                    report_class_name(class_notes, r, a, sizeof a);
                    report_class_name(class_notes, c, b, sizeof b);
                    fprintf(out, "  %s predicted as %s: %lld frame%s\n", a, b, (long long)best, best == 1 ? "" : "s");
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
        json_array_append_new(per, json_pack("{s:f,s:f,s:f,s:I}", "precision", fm->precision[r], "recall",
                                             fm->recall[r], "f1", fm->f1[r], "support", (json_int_t)fm->support[r]));
        char name[32];
        report_class_name(class_notes, r, name, sizeof name);
        json_array_append_new(names, json_string(name));
    }
    return json_pack("{s:f,s:f,s:f,s:f,s:o,s:o,s:o}", "accuracy", fm->accuracy, "balanced_accuracy",
                     fm->balanced_accuracy, "f1_macro", fm->f1_macro, "f1_weighted", fm->f1_weighted, "confusion", conf,
                     "per_class", per, "class_names", names);
}

void report_print_reliability(FILE *out, const a2m_reliability *r, const int *class_notes) {
    fprintf(out, "\nreliability (frames binned by their top probability; Guo et al. 2017):\n");
    int worst = -1;
    for (int b = 0; b < A2M_RELIABILITY_BINS; b++)
        if (r->bin_count[b] && (worst < 0 || fabs(r->bin_accuracy[b] - r->bin_confidence[b]) >
                                                 fabs(r->bin_accuracy[worst] - r->bin_confidence[worst])))
            worst = b;
    fprintf(out, "ECE %.4f  MCE %.4f", r->ece, r->mce);
    if (worst >= 0)
        fprintf(out, " (bin (%.1f, %.1f], %lld frame%s)", (double)worst / A2M_RELIABILITY_BINS,
                (double)(worst + 1) / A2M_RELIABILITY_BINS, (long long)r->bin_count[worst],
                r->bin_count[worst] == 1 ? "" : "s");
    fprintf(out, "  mean confidence %.4f  accuracy %.4f  mean entropy %.4f nats\n", r->mean_confidence, r->accuracy,
            r->mean_entropy);
    fprintf(out, "gap = accuracy - confidence (negative: overconfident)\n\n");
    fprintf(out, "%14s %9s %9s %9s %9s\n", "confidence", "frames", "mean conf", "accuracy", "gap");
    for (int b = 0; b < A2M_RELIABILITY_BINS; b++) {
        char bin[32];
        snprintf(bin, sizeof bin, "(%.1f, %.1f]", (double)b / A2M_RELIABILITY_BINS,
                 (double)(b + 1) / A2M_RELIABILITY_BINS);
        if (!r->bin_count[b]) fprintf(out, "%14s %9d %9s %9s %9s\n", bin, 0, "-", "-", "-");
        else
            fprintf(out, "%14s %9lld %9.4f %9.4f %+9.4f\n", bin, (long long)r->bin_count[b], r->bin_confidence[b],
                    r->bin_accuracy[b], r->bin_accuracy[b] - r->bin_confidence[b]);
    }
    fprintf(out, "\nper predicted class: mean top probability vs precision, variance of p(class)\n");
    fprintf(out, "%14s %9s %10s %9s %9s %13s\n", "", "predicted", "confidence", "precision", "gap", "p(c) variance");
    char name[32];
    for (int c = 0; c < r->n_classes; c++) {
        report_class_name(class_notes, c, name, sizeof name);
        fprintf(out, "%14s %9lld %10.4f %9.4f %+9.4f %13.6f\n", name, (long long)r->pred_count[c],
                r->class_confidence[c], r->class_precision[c], r->class_precision[c] - r->class_confidence[c],
                r->class_prob_variance[c]);
    }
}

json_t *report_reliability_json(const a2m_reliability *r) {
    json_t *bins = json_array(), *per = json_array();
    for (int b = 0; b < A2M_RELIABILITY_BINS; b++)
        json_array_append_new(bins, json_pack("{s:f,s:f,s:I}", "confidence", r->bin_confidence[b], "accuracy",
                                              r->bin_accuracy[b], "count", (json_int_t)r->bin_count[b]));
    for (int c = 0; c < r->n_classes; c++)
        json_array_append_new(per,
                              json_pack("{s:f,s:f,s:f,s:f,s:I}", "mean_confidence", r->class_confidence[c], "precision",
                                        r->class_precision[c], "prob_mean", r->class_prob_mean[c], "prob_variance",
                                        r->class_prob_variance[c], "count", (json_int_t)r->pred_count[c]));
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:o,s:o}", "ece", r->ece, "mce", r->mce, "mean_confidence",
                     r->mean_confidence, "accuracy", r->accuracy, "mean_entropy", r->mean_entropy, "bins", bins,
                     "per_class", per);
}

int report_load_json(const char *path, json_t **root) {
    json_error_t err;
    *root = json_load_file(path, 0, &err);
    return *root ? A2M_OK : a2m_error(A2M_ERR_FORMAT, "%s: not JSON (%s)", path, err.text);
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
