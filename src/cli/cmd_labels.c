/* a2m labels: MIDI (or notes CSV) -> one class per analysis frame -> int64 .npy */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"
#include "a2m/dataset.h"

static const char *const usage = "usage: a2m labels IN.mid [--audio IN.wav | --duration S] [options] -o OUT.npy\n"
                                 "\n"
                                 "Frame classes of a MIDI file (or a notes CSV: onset_s,offset_s,midi_pitch),\n"
                                 "as int64 [n_frames]: 0 = silence, k = the k-th note of --notes. A note covers\n"
                                 "frames floor(onset*sr/hop) .. floor(offset*sr/hop)-1; later notes overwrite\n"
                                 "earlier ones. The frame count is floor(samples/hop) of the audio (as the CQT\n"
                                 "features, whose last frame is dropped) or of round(duration*sr).\n";
static const char *const epilog = "Prints the frames per class. Notes outside the class map are ignored with a\n"
                                  "warning; a MIDI without notes gives all-silence labels and a warning.\n";

typedef struct labels_args {
    const char *in, *out, *audio;
    double duration; /* the takes' length (a dataset's take_seconds) unless --audio */
    int have_duration, force;
} labels_args;

/* The options into p and a: -1, or the exit code */
static int parse_args(int argc, char **argv, a2m_label_params *p, labels_args *a) {
    const cli_option opts[] = {
        {CLI_OUTPUT_ROW(&a->out, "OUT.npy", "where to write the labels")},
        {CLI_FLAG_OPT("--force", &a->force), .help = "replace an existing OUT.npy (never an input)"},
        {CLI_STR_OPT("--audio", &a->audio), .meta = "IN.wav",
         .help = "take the length from this audio file (resampled to --sr)"},
        {CLI_DBL_OPT("--duration", &a->duration, 1e-3, 36000), .meta = "S", .given = &a->have_duration,
         .help = "length in seconds (the takes' length)"},
        {CLI_DBL_OPT("--sr", &p->sample_rate, 1000, 384000), .meta = "HZ", .help = "analysis sample rate"},
        {CLI_INT_OPT("--hop", &p->hop, 1, 1 << 20), .meta = "N", .help = "hop length in samples"},
        {CLI_CUSTOM_OPT("--notes", p, cli_opt_notes, cli_show_notes), .meta = "LIST",
         .help = "the notes of classes 1.. in order: MIDI numbers or names (C4 = 60), ranges 36-84 or C2-C6"},
        {CLI_INT_OPT("--transpose", &p->transpose, -127, 127), .meta = "N",
         .help = "semitones added to the MIDI notes before the lookup\n(e.g. 12 if the MIDI is an octave below the "
                 "class map)"},
        {.name = NULL}};
    const cli_spec spec = {"labels", usage, {{NULL, opts}}, epilog};
    int rc = cli_parse_upto(argc, argv, &spec, (const char **[]){&a->in}, 1);
    if (rc >= 0) return rc;
    if (!a->in) return cli_usage_error("labels", "missing the input MIDI file");
    if (!a->out) return cli_usage_error("labels", "missing -o OUT.npy");
    if (a->audio && a->have_duration) return cli_usage_error("labels", "give --audio or --duration, not both");
    return -1;
}

/* The labels' length in samples: the audio's, or the duration's */
static int length_of(const labels_args *a, double sr, size_t *n_samples) {
    if (!a->audio) return *n_samples = (size_t)llround(a->duration * sr), A2M_OK;
    a2m_audio au;
    int rc = a2m_audio_read(a->audio, sr, &au);
    if (!rc) *n_samples = au.n, a2m_audio_free(&au);
    return rc;
}

/* The frames per class (info: standard output, or standard error when the labels own it) */
static void print_counts(FILE *info, const char *in, const char *out, const int64_t *labels, size_t n_frames,
                         size_t n_samples, const a2m_notes *notes, const a2m_label_params *p) {
    size_t counts[A2M_MAX_CLASSES] = {0};
    for (size_t f = 0; f < n_frames; f++) counts[labels[f]]++;
    fprintf(info, "%s: %zu frame%s (%.3f s at %g Hz, hop %d), %zu note%s -> %s\n", in, n_frames, cli_s(n_frames),
            (double)n_samples / p->sample_rate, p->sample_rate, p->hop, notes->n, cli_s(notes->n), out);
    fprintf(info, "  class 0 silence: %zu\n", counts[0]);
    for (int k = 0; k < p->n_notes; k++) {
        char name[8];
        fprintf(info, "  class %d %s (%d): %zu\n", k + 1, a2m_note_name(p->notes[k], name), p->notes[k], counts[k + 1]);
    }
}

int cmd_labels(int argc, char **argv) {
    a2m_label_params p = a2m_label_default_params();
    labels_args a = {.duration = a2m_dataset_default_params().take_seconds};
    int rc = parse_args(argc, argv, &p, &a);
    if (rc >= 0) return rc;
    const char *in = a.in, *out = a.out, *audio = a.audio;
    double sr = p.sample_rate;
    int force = a.force;
    const char *ins[2] = {in, audio};
    int crc = cli_check_output("labels", &out, ins, 2, force, CLI_OUT_STDOUT);
    if (crc) return crc;
    FILE *info = strcmp(out, "/dev/stdout") ? stdout : stderr; /* -o -: the labels own standard output */

    a2m_notes notes;
    rc = a2m_notes_read_any(in, &notes);
    if (rc) return cli_lib_fail(rc);
    size_t n_samples = 0;
    if ((rc = length_of(&a, sr, &n_samples))) {
        a2m_notes_free(&notes);
        return cli_lib_fail(rc);
    }
    size_t n_frames = n_samples / (size_t)p.hop;
    if (n_frames == 0) {
        a2m_notes_free(&notes);
        return cli_fail("%s: shorter than one hop (%d samples): no frames", audio ? audio : in, p.hop);
    }
    int64_t *labels = malloc(n_frames * sizeof *labels);
    if (!labels) {
        a2m_notes_free(&notes);
        return cli_fail("%s: out of memory for %zu frames (%zu samples / hop %d)", in, n_frames, n_samples, p.hop);
    }
    size_t unmapped = 0;
    rc = a2m_labels_from_notes(notes.notes, notes.n, p, labels, n_frames, &unmapped);
    if (!rc) rc = a2m_npy_save(out, A2M_I64, 1, &n_frames, labels);
    if (rc) {
        free(labels);
        a2m_notes_free(&notes);
        return cli_lib_fail(rc);
    }
    if (notes.n == 0) cli_warn("%s: no notes: the labels are all silence", in);
    if (unmapped)
        cli_warn("%s: %zu of %zu note%s %s not in the class map (ignored)", in, unmapped, notes.n, cli_s(notes.n),
                 unmapped == 1 ? "is" : "are");

    print_counts(info, in, out, labels, n_frames, n_samples, &notes, &p);
    free(labels);
    a2m_notes_free(&notes);
    return 0;
}
