#include <stdlib.h>
#include <string.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/feat_opts.h"

static const char *usage =
    "usage: a2m dataset DIR -o DATASET [options]\n"
    "Pairs DIR/voice_N.wav with DIR/midi_N.mid (and x.wav with x.mid), computes features (CQT dB by default;\n"
    "--kind mel|mfcc|lpc, kept in the dataset and in the models trained on it) and frame labels, one global\n"
    "mean/std, and writes the dataset folder DATASET (index.json + features.npy + labels.npy).\n";

/* --expect-frames: the library's default holds for the default rate, hop and last frame; other features: none */
static int show_expect(const void *v, char *buf, size_t n) {
    a2m_cqt_params c = a2m_cqt_default_params();
    return snprintf(buf, n, "%zu at %g Hz, hop %d; else 0 = no check", *(const size_t *)v, c.sample_rate, c.hop), 1;
}

static int parse_expect(const char *cmd, const char *name, const char *v, void *dst) {
    int e;
    if (!cli_parse_int(cmd, name, v, 0, 100000000, &e)) return 0;
    *(size_t *)dst = (size_t)e;
    return 1;
}

int cmd_dataset(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    a2m_dataset_params p = a2m_dataset_default_params();
    cli_feat_opts fo = cli_feat_opts_default();
    int expect_given = 0, force = 0, n_pos;
    cli_option feat[CLI_FEAT_N_OPTS + 1];
    cli_feat_options(&fo, feat);
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &out), .meta = "DATASET", .help = "the dataset folder"},
        {CLI_CUSTOM_OPT("--notes", &p.labels, cli_opt_notes, cli_show_notes), .meta = "LIST",
         .help = "the notes of classes 1.. in order: MIDI numbers or names (C4 = 60), ranges 36-84 or\n"
                 "C2-C6; 0 is silence"},
        {CLI_INT_OPT("--onset-frames", &p.labels.onset_frames, 0, 100), .meta = "N",
         .help = "one more class, \"onset\", on the first N frames of every note (0 = none;\n"
                 "the any-pitch model uses 4)"},
        {CLI_FLAG_OPT("--range-classes", &p.labels.range_classes),
         .help = "two more classes, \"below\" and \"above\", for notes outside the --notes range\n"
                 "(otherwise they are left out): a model then reports them instead of folding them in"},
        {CLI_INT_OPT("--transpose", &p.labels.transpose, -48, 48), .meta = "N",
         .help = "semitones added to the MIDI before the class lookup"},
        {CLI_DBL_OPT("--take-seconds", &p.take_seconds, 0, 3600), .meta = "S",
         .help = "every take cut/padded to S seconds (0 = keep lengths)"},
        {CLI_CUSTOM_OPT("--expect-frames", &p.expect_frames, parse_expect, show_expect), .meta = "N",
         .given = &expect_given, .help = "frames each take must have"},
        {CLI_FLAG_OPT("--force", &force), .help = "replace an existing DATASET folder (never the input folder)"},
        {.name = NULL}};
    const cli_spec spec = {"dataset",
                           usage,
                           {{NULL, opts}, {"features (as `a2m features`; the labels follow --sr and --hop):", feat}},
                           NULL};
    int rc = cli_parse(argc, argv, &spec, &n_pos);
    if (rc >= 0) return rc;
    if (n_pos > 1) return cli_usage_error(argv[0], "one input folder expected");
    dir = n_pos ? argv[1] : NULL;
    if (!dir || !out) return cli_usage_error(argv[0], "needs DIR and -o DATASET");
    if (a2m_label_n_classes(&p.labels) > A2M_MAX_CLASSES)
        return cli_usage_error(argv[0], "%d classes with --onset-frames/--range-classes: at most %d",
                               a2m_label_n_classes(&p.labels), A2M_MAX_CLASSES);
    if (cli_feat_finish(argv[0], &fo)) return 2;
    p.cqt = fo.cqt, p.feat = fo.feat;
    p.labels.sample_rate = p.cqt.sample_rate, p.labels.hop = p.cqt.hop;
    a2m_cqt_params c = a2m_cqt_default_params(); /* the library's expect_frames is that of its default features */
    if (!expect_given &&
        !(p.cqt.sample_rate == c.sample_rate && p.cqt.hop == c.hop && p.cqt.drop_last_frame == c.drop_last_frame))
        p.expect_frames = 0;
    if (p.take_seconds == 0) p.expect_frames = 0;
    if ((rc = cli_check_output(argv[0], &out, &dir, 1, force, CLI_OUT_FOLDER))) return rc;
    a2m_dataset d;
    char *warnings = NULL;
    cli_progress *bar = cli_progress_new("dataset", 1);
    rc = a2m_dataset_build(dir, p, cli_progress_cb, bar, &d, &warnings);
    if (rc) cli_progress_free(bar);
    else cli_progress_done(bar, NULL);
    if (warnings) {
        char *save = NULL;
        for (char *line = strtok_r(warnings, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            cli_warn("%s", line);
        free(warnings);
    }
    if (rc) return cli_lib_fail(rc);
    rc = a2m_dataset_save(&d, out);
    if (rc) {
        a2m_dataset_free(&d);
        return cli_lib_fail(rc);
    }
    int db = d.feat.kind == A2M_FEAT_CQT || d.feat.kind == A2M_FEAT_MEL;
    printf("%s: %zu take%s, %zu frame%s x %d bins%s%s, mean %.4f%s, std %.4f%s\n", out, d.n_takes, cli_s(d.n_takes),
           d.total_frames, cli_s(d.total_frames), d.n_bins, d.feat.kind ? " of " : "",
           d.feat.kind ? a2m_feat_kind_name(d.feat.kind) : "", d.mean, db ? " dB" : "", d.std, db ? " dB" : "");
    printf("class counts:");
    for (int k = 0; k < a2m_label_n_classes(&d.labels_p); k++) printf(" %d=%lld", k, (long long)d.class_counts[k]);
    printf("\n");
    a2m_dataset_free(&d);
    return 0;
}
