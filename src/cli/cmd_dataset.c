#include <stdlib.h>
#include <string.h>

#include "a2m/dataset.h"
#include "a2m/error.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/feat_opts.h"

/* "60,64,67" or ranges "36-84" (both ends included), mixed: "36-40,60" -> notes; returns count or -1 */
int cli_parse_note_list(const char *s, int *notes, int max) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10), last = v;
        if (end == p || v < 0 || v > 127) return -1;
        p = end;
        if (*p == '-') {
            last = strtol(p + 1, &end, 10);
            if (end == p + 1 || last < v || last > 127) return -1;
            p = end;
        }
        for (long k = v; k <= last; k++) {
            if (n == max) return -1;
            notes[n++] = (int)k;
        }
        if (*p == ',') p++;
        else if (*p) return -1;
    }
    return n > 0 ? n : -1;
}

static const char *usage =
    "usage: a2m dataset DIR -o DATASET [options]\n"
    "Pairs DIR/voice_N.wav with DIR/midi_N.mid (and x.wav with x.mid), computes features (CQT dB by default;\n"
    "--kind mel|mfcc|lpc, kept in the dataset and in the models trained on it) and frame labels, one global\n"
    "mean/std, and writes the dataset folder DATASET (index.json + features.npy + labels.npy).\n\n"
    "options:\n"
    "  --notes LIST          MIDI notes of classes 1.. (default 60,64,67; ranges: 36-84; 0 is silence)\n"
    "  --onset-frames N      one more class, \"onset\", on the first N frames of every note (default 0 = none;\n"
    "                        the any-pitch model uses 3)\n"
    "  --range-classes       two more classes, \"below\" and \"above\", for notes outside the --notes range\n"
    "                        (otherwise they are left out): a model then reports them instead of folding them in\n"
    "  --transpose N         semitones added to the MIDI before the class lookup (default 0)\n"
    "  --take-seconds S      every take cut/padded to S seconds (default 4; 0 = keep lengths)\n"
    "  --expect-frames N     frames each take must have (default 666 at 16 kHz, hop 96; else 0 = no check)\n"
    "  --force               replace an existing DATASET folder (never the input folder)\n"
    "features (as `a2m features`; the labels follow --sr and --hop):\n";

int cmd_dataset(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *v;
    a2m_dataset_params p = a2m_dataset_default_params();
    cli_feat_opts fo = cli_feat_opts_default();
    int expect = -1, force = 0;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            fputs(cli_feat_usage, stdout);
            return 0;
        } else if ((r = cli_feat_opt(argc, argv, &i, &fo))) {
            if (r < 0) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "-o", &v))) {
            if (r < 0) return 2;
            out = v;
        } else if ((r = cli_opt(argc, argv, &i, "--notes", &v))) {
            if (r < 0) return 2;
            p.labels.n_notes = cli_parse_note_list(v, p.labels.notes, A2M_MAX_CLASSES - 1);
            if (p.labels.n_notes < 0) return cli_usage_error(argv[0], "--notes expects MIDI numbers like 60,64,67");
        } else if ((r = cli_opt(argc, argv, &i, "--transpose", &v))) {
            if (r < 0 || !cli_parse_int(argv[0], "--transpose", v, -48, 48, &p.labels.transpose)) return 2;
        } else if (!strcmp(argv[i], "--range-classes")) {
            p.labels.range_classes = 1;
        } else if ((r = cli_opt(argc, argv, &i, "--onset-frames", &v))) {
            if (r < 0 || !cli_parse_int(argv[0], "--onset-frames", v, 0, 100, &p.labels.onset_frames)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--take-seconds", &v))) {
            if (r < 0 || !cli_parse_double(argv[0], "--take-seconds", v, 0, 3600, &p.take_seconds)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--expect-frames", &v))) {
            if (r < 0 || !cli_parse_int(argv[0], "--expect-frames", v, 0, 100000000, &expect)) return 2;
        } else if (!strcmp(argv[i], "--force")) {
            force = 1;
        } else if (argv[i][0] == '-') {
            return cli_usage_error(argv[0], "unknown option %s", argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return cli_usage_error(argv[0], "one input folder expected");
        }
    }
    if (!dir || !out) return cli_usage_error(argv[0], "needs DIR and -o DATASET");
    if (a2m_label_n_classes(&p.labels) > A2M_MAX_CLASSES)
        return cli_usage_error(argv[0], "%d classes with --onset-frames/--range-classes: at most %d", a2m_label_n_classes(&p.labels), A2M_MAX_CLASSES);
    if (cli_feat_finish(argv[0], &fo)) return 2;
    p.cqt = fo.cqt, p.feat = fo.feat;
    p.labels.sample_rate = p.cqt.sample_rate, p.labels.hop = p.cqt.hop;
    if (expect < 0) /* 666: 4 s at 16 kHz, hop 96, the last frame dropped */
        expect = p.cqt.sample_rate == 16000 && p.cqt.hop == 96 && p.cqt.drop_last_frame ? 666 : 0;
    p.expect_frames = (size_t)expect;
    if (p.take_seconds == 0) p.expect_frames = 0;
    int crc = cli_check_output(argv[0], &out, &dir, 1, force, CLI_OUT_FOLDER);
    if (crc) return crc;
    a2m_dataset d;
    char *warnings = NULL;
    cli_progress *bar = cli_progress_new("dataset", 1);
    int rc = a2m_dataset_build(dir, p, cli_progress_cb, bar, &d, &warnings);
    if (rc) cli_progress_free(bar);
    else cli_progress_done(bar, NULL);
    if (warnings) {
        char *save = NULL;
        for (char *line = strtok_r(warnings, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) cli_warn("%s", line);
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
