#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/metrics.h"
#include "a2m/midi.h"
#include "a2m/transcribe.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/members.h"
#include "cli/plots.h"
#include "cli/report.h"

static const char *usage =
    "usage: a2m report MODEL DATASET -o DIR [--split NAME] [--splits SPLIT.json] [--log LOG.csv]\n"
    "                  [--audio-dir DIR] [--transpose N] [--force]\n"
    "Writes DIR/eval.json, DIR/confusion.png, DIR/reliability.png, DIR/loss.png (with --log); for the\n"
    "split's first take and for the take with the lowest accuracy DIR/<take>.cqt.png (CQT + frame labels)\n"
    "and DIR/<take>.pianoroll.png (reference vs transcription); and DIR/README.md linking them, with the\n"
    "calibration (ECE, MCE) and a table of the five takes with the lowest accuracy. Audio and MIDI of the\n"
    "takes come from --audio-dir. An existing DIR needs --force.\n"
    "--transpose N is added to the MIDI notes drawn over the take figures: the seed singer\n"
    "sings an octave below the written notes; give 0 for a pitch-true dataset. Each pictured take is\n"
    "transcribed by MODEL into DIR/<take>.transcribed.mid (the orange notes of its piano roll). A take\n"
    "whose audio or MIDI is not in --audio-dir gets no figures: a warning names the missing file and\n"
    "README.md says which takes were left out.\n";

/* Indices into per_take of the (up to) five takes with the lowest accuracy (a2m_worst_takes); *frames, *correct:
 * totals over the takes with frames. */
static int worst_takes(json_t *per_take, size_t order[5], double *frames, double *correct) {
    size_t n = json_array_size(per_take);
    double *acc = malloc((n + 1) * sizeof *acc);
    if (!acc) return 0;
    *frames = *correct = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(per_take, i), *a = json_object_get(t, "accuracy");
        double len = (double)json_integer_value(json_object_get(t, "frames"));
        acc[i] = json_is_number(a) ? json_number_value(a) : NAN;
        if (json_is_number(a)) *frames += len, *correct += len * acc[i];
    }
    int shown = (int)a2m_worst_takes(acc, n, 5, order);
    free(acc);
    return shown;
}

/* DIR/<take>.transcribed.mid: the take transcribed by m as `a2m transcribe` does with its defaults (the notes
 * outside the model's range left out). */
static int transcribe_take(const a2m_model *m, const char *wav, const char *est) {
    a2m_transcribe_params tp = a2m_transcribe_default_params();
    tp.notes_only = 1;
    a2m_transcriber *t = NULL;
    int rc = a2m_transcriber_new(m, tp, &t);
    a2m_transcription r;
    if (!rc && !(rc = a2m_transcriber_run_file(t, wav, &r))) {
        a2m_note *notes = malloc((r.n_notes + 1) * sizeof *notes);
        size_t k = 0;
        for (size_t i = 0; notes && i < r.n_notes; i++)
            if (!r.notes[i].out_of_range) notes[k++] = r.notes[i].note;
        rc = notes ? a2m_midi_write(est, notes, k, a2m_midi_write_default_params())
                   : a2m_error(A2M_ERR_NOMEM, "out of memory");
        free(notes);
        a2m_transcription_free(&r);
    }
    a2m_transcriber_del(t);
    return rc;
}

static void write_worst_takes(FILE *fp, json_t *per_take, double split_accuracy) {
    size_t order[5];
    double frames, correct;
    int shown = worst_takes(per_take, order, &frames, &correct);
    if (!shown) return;
    fprintf(fp,
            "\n## Takes with the lowest accuracy\n\nSplit accuracy %.4f.\n\n| take | frames | accuracy | split "
            "accuracy without it |\n"
            "|---|---|---|---|\n",
            split_accuracy);
    for (int k = 0; k < shown; k++) {
        json_t *t = json_array_get(per_take, order[k]);
        const char *name = json_string_value(json_object_get(t, "name"));
        double len = (double)json_integer_value(json_object_get(t, "frames")),
               a = json_number_value(json_object_get(t, "accuracy"));
        fprintf(fp, "| %s | %.0f | %.4f |", name ? name : "?", len, a);
        if (frames > len) fprintf(fp, " %.4f |\n", (correct - a * len) / (frames - len));
        else fprintf(fp, " - |\n");
    }
}

/* DIR/<take>.cqt.png and DIR/<take>.pianoroll.png; *made = 0 when the take's audio or MIDI is missing. */
static int take_figures(const a2m_model *model, const char *take, const char *audio_dir, const char *dir, int transpose,
                        a2m_plot_size size, int *made) {
    char wav[4096], mid[4096], cqt[4096], roll[4096], est[4096];
    snprintf(wav, sizeof wav, "%s/%s.wav", audio_dir, take);
    if (!a2m_dataset_midi_partner(audio_dir, take, mid, sizeof mid))
        snprintf(mid, sizeof mid, "%s/midi_%s.mid", audio_dir,
                 strncmp(take, "voice_", 6) ? take : take + 6); /* named when missing */
    snprintf(cqt, sizeof cqt, "%s/%s.cqt.png", dir, take);
    snprintf(roll, sizeof roll, "%s/%s.pianoroll.png", dir, take);
    snprintf(est, sizeof est, "%s/%s.transcribed.mid", dir, take);
    *made = 0;
    if (!a2m_path_exists(wav) || !a2m_path_exists(mid)) { /* outside the project: said, not silent */
        cli_warn("report: %s: not found: take %s gets no CQT and piano-roll figures (see --audio-dir)",
                 a2m_path_exists(wav) ? mid : wav, take);
        return A2M_OK;
    }
    int rc = plot_cqt_file(wav, mid, NULL, NULL, NULL, 0, transpose, cqt, size);
    if (!rc) rc = transcribe_take(model, wav, est);
    if (!rc) rc = plot_cqt_file(wav, NULL, mid, est, NULL, 0, transpose, roll, size);
    *made = !rc;
    return rc;
}

typedef struct report_args {
    const char *model, *ds, *dir, *split, *splits, *log, *audio_dir;
    int transpose, force;
} report_args;

/* The options into a: -1, or the exit code */
static int parse_args(int argc, char **argv, report_args *a) {
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &a->dir), .meta = "DIR", .help = "the report's folder", .required = 1},
        {CLI_STR_OPT("--split", &a->split), .meta = "NAME", .help = "the split evaluated"},
        {CLI_SPLITS_ROW(&a->splits)},
        {CLI_STR_OPT("--log", &a->log), .meta = "LOG.csv", .help = "the training log (a2m train --log): DIR/loss.png"},
        {CLI_STR_OPT("--audio-dir", &a->audio_dir), .meta = "DIR", .help = "the takes' audio and MIDI"},
        {CLI_INT_OPT("--transpose", &a->transpose, -48, 48), .meta = "N",
         .help = "semitones added to the MIDI notes drawn"},
        {CLI_FLAG_OPT("--force", &a->force), .help = "replace an existing DIR's files"},
        {.name = NULL}};
    const cli_spec spec = {"report", usage, {{NULL, opts}}, NULL};
    return cli_parse_req(argc, argv, &spec, (const char **[]){&a->model, &a->ds}, 2, 2, "MODEL, DATASET and -o DIR");
}

/* DIR/README.md: the metrics, the figures, the worst takes, and which takes have no figures */
static int write_readme(const char *md, const report_args *a, json_t *ev, const char *take, int have_take,
                        const char *worst, int have_worst, const char *left_out) {
    const char *model = a->model, *ds = a->ds, *split = a->split, *log = a->log, *audio_dir = a->audio_dir;
    a2m_atomic_file f;
    int rc = a2m_atomic_open(&f, md, 1);
    if (!rc) {
        fprintf(f.fp, "# a2m report\n\nModel `%s` on dataset `%s`, split `%s`.\n\n", model, ds, split);
        fprintf(f.fp, "| metric | value |\n|---|---|\n");
        const char *keys[] = {"accuracy", "balanced_accuracy", "f1_macro", "f1_weighted"};
        for (int k = 0; k < 4; k++)
            fprintf(f.fp, "| %s | %.4f |\n", keys[k], json_real_value(json_object_get(ev, keys[k])));
        fprintf(f.fp, "\nAll metrics: [eval.json](eval.json).\n\n## Confusion matrix\n\n![confusion](confusion.png)\n");
        json_t *rj = json_object_get(ev, "reliability");
        fprintf(f.fp,
                "\n## Calibration\n\nExpected calibration error %.4f, maximum %.4f, mean confidence %.4f "
                "(frames binned by their top probability):\n\n![reliability](reliability.png)\n",
                json_number_value(json_object_get(rj, "ece")), json_number_value(json_object_get(rj, "mce")),
                json_number_value(json_object_get(rj, "mean_confidence")));
        write_worst_takes(f.fp, json_object_get(ev, "per_take"), json_number_value(json_object_get(ev, "accuracy")));
        if (log) fprintf(f.fp, "\n## Training\n\n![loss](loss.png)\n");
        if (have_take)
            fprintf(f.fp,
                    "\n## Take %s\n\nCQT with the frame labels over it:\n\n![cqt](%s.cqt.png)\n\n"
                    "Reference (white) vs transcription (orange):\n\n![pianoroll](%s.pianoroll.png)\n",
                    take, take, take);
        if (have_worst > 0)
            fprintf(f.fp,
                    "\n## Take %s (the lowest accuracy)\n\nCQT with the frame labels over it:\n\n![cqt](%s.cqt.png)\n\n"
                    "Reference (white) vs transcription (orange):\n\n![pianoroll](%s.pianoroll.png)\n",
                    worst, worst, worst);
        if (left_out[0])
            fprintf(f.fp, "\nTake figures left out: the audio or MIDI of %s is not in `%s` (`--audio-dir`).\n",
                    left_out, audio_dir);
        rc = a2m_atomic_commit(&f);
    }
    return rc;
}

static int report_run(const char *cmd, report_args a);

int cmd_report(int argc, char **argv) {
    /* --transpose -12: the seed singer sings an octave below the written notes */
    report_args a = {
        .split = "test", .splits = CLI_SEED_SPLITS, .audio_dir = "../shared/data/seed/audio", .transpose = -12};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    /* DIR is the report's own folder: an existing one (an older report) is replaced file by file with --force */
    if ((rc = cli_check_output(argv[0], &a.dir, (const char *[]){a.model, a.ds, a.splits, a.log}, 4, a.force,
                               CLI_OUT_FOLDER)))
        return rc;
    /* a folder this run makes is a temporary until the report is whole: a failure (a split file that does not
     * parse, a model that does not load) or an interrupt removes it and what went in (it was left empty) */
    int made = !a2m_path_exists(a.dir);
    if (made && (rc = a2m_mkdirs(a.dir))) return cli_lib_fail(rc);
    if (made) a2m_temp_register(a.dir);
    int ec = report_run(argv[0], a);
    if (made && ec) a2m_temp_cleanup();
    if (made) a2m_temp_forget(a.dir);
    return ec;
}

/* The report into the existing folder a.dir: the exit code */
static int report_run(const char *cmd, report_args a) {
    const char *model = a.model, *ds = a.ds, *dir = a.dir, *split = a.split, *splits = a.splits, *log = a.log,
               *audio_dir = a.audio_dir;
    int transpose = a.transpose, rc = A2M_OK;
    char eval_json[4096], conf[4096], rel[4096], loss[4096], md[4096];
    snprintf(eval_json, sizeof eval_json, "%s/eval.json", dir);
    snprintf(conf, sizeof conf, "%s/confusion.png", dir);
    snprintf(rel, sizeof rel, "%s/reliability.png", dir);
    snprintf(loss, sizeof loss, "%s/loss.png", dir);
    cli_members mem; /* the model, for the takes' transcriptions */
    int ec = cli_eval_json(model, ds, split, splits, eval_json);
    if (!ec && (ec = cli_members_load(&mem, cmd, model, NULL, 0, 0))) cli_members_free(&mem);
    if (ec) return ec;
    a2m_plot_size size = {1000, 600};
    if (!rc) rc = plot_confusion_file(eval_json, conf, (a2m_plot_size){0, 0}); /* sized by the class count */
    if (!rc) rc = plot_reliability_file(eval_json, rel, size);
    if (!rc && log) rc = plot_loss_file(log, loss, size);
    /* first take of the split */
    char take[256] = "";
    json_error_t err;
    json_t *sp = rc ? NULL : json_load_file(splits, 0, &err);
    if (sp && json_string_value(json_array_get(json_object_get(sp, split), 0)))
        snprintf(take, sizeof take, "%s", json_string_value(json_array_get(json_object_get(sp, split), 0)));
    if (sp) json_decref(sp);
    json_t *ev = rc ? NULL : json_load_file(eval_json, 0, &err);
    int have_take = 0, have_worst = 0;
    if (!rc && take[0]) rc = take_figures(mem.m[0], take, audio_dir, dir, transpose, size, &have_take);
    /* and the take with the lowest accuracy, where the trouble shows */
    char worst[256] = "";
    size_t order[5];
    double wf, wc;
    json_t *per_take = json_object_get(ev, "per_take");
    if (!rc && worst_takes(per_take, order, &wf, &wc) &&
        json_string_value(json_object_get(json_array_get(per_take, order[0]), "name"))) {
        snprintf(worst, sizeof worst, "%s",
                 json_string_value(json_object_get(json_array_get(per_take, order[0]), "name")));
        if (strcmp(worst, take) != 0 && !strchr(worst, '/'))
            rc = take_figures(mem.m[0], worst, audio_dir, dir, transpose, size, &have_worst);
        else have_worst = -1; /* no figures of its own */
    }
    char left_out[600] = ""; /* takes whose figures could not be made, for README.md */
    if (take[0] && !have_take) snprintf(left_out, sizeof left_out, "%s", take);
    if (worst[0] && !have_worst)
        snprintf(left_out + strlen(left_out), sizeof left_out - strlen(left_out), "%s%s", left_out[0] ? " and " : "",
                 worst);
    if (!rc) {
        snprintf(md, sizeof md, "%s/README.md", dir);
        rc = write_readme(md, &a, ev, take, have_take, worst, have_worst, left_out);
    }
    if (ev) json_decref(ev);
    cli_members_free(&mem);
    if (rc) return cli_lib_fail(rc);
    printf("%s/README.md\n", dir);
    return 0;
}
