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

static const char *const LABELS_HELP =
    "usage: a2m labels IN.mid [--audio IN.wav | --duration S] [options] -o OUT.npy\n"
    "\n"
    "Frame classes of a MIDI file (or a notes CSV: onset_s,offset_s,midi_pitch),\n"
    "as int64 [n_frames]: 0 = silence, k = the k-th note of --notes. A note covers\n"
    "frames floor(onset*sr/hop) .. floor(offset*sr/hop)-1; later notes overwrite\n"
    "earlier ones. The frame count is floor(samples/hop) of the audio (as the CQT\n"
    "features, whose last frame is dropped) or of round(duration*sr).\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.npy  where to write the labels (required; - = standard output)\n"
    "  --force               replace an existing OUT.npy (never an input)\n"
    "  --audio IN.wav        take the length from this audio file (resampled to --sr)\n"
    "  --duration S          length in seconds (default 4.0, the takes' length)\n"
    "  --sr HZ               analysis sample rate (default 16000)\n"
    "  --hop N               hop length in samples (default 96)\n"
    "  --notes LIST          MIDI numbers of classes 1.. (default 60,64,67)\n"
    "  --transpose N         semitones added to the MIDI notes before the lookup\n"
    "                        (e.g. 12 if the MIDI is an octave below the class map)\n"
    "\n"
    "Prints the frames per class. Notes outside the class map are ignored with a\n"
    "warning; a MIDI without notes gives all-silence labels and a warning.\n";

/* "60,64,67" -> p->notes / p->n_notes; 0 on error (printed). */
static int parse_note_list(const char *s, a2m_label_params *p) {
    char *copy = strdup(s);
    if (!copy) return 0;
    int n = 0, ok = 1;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        if (n == A2M_MAX_CLASSES - 1) {
            cli_usage_error("labels", "--notes: at most %d classes", A2M_MAX_CLASSES - 1);
            ok = 0;
            break;
        }
        ok = cli_parse_int("labels", "--notes", tok, 0, 127, &p->notes[n++]);
    }
    free(copy);
    if (ok && n == 0) {
        cli_usage_error("labels", "--notes needs at least one MIDI number");
        ok = 0;
    }
    p->n_notes = n;
    return ok;
}

int cmd_labels(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *audio = NULL, *v = NULL;
    double duration = 4.0, sr = 16000;
    int have_duration = 0, force = 0;
    a2m_label_params p = a2m_label_default_params();
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            fputs(LABELS_HELP, stdout);
            return 0;
        } else if ((r = cli_opt(argc, argv, &i, "-o", &v)) || (r = cli_opt(argc, argv, &i, "--output", &v))) {
            if (r < 0) return 2;
            out = v;
        } else if ((r = cli_opt(argc, argv, &i, "--audio", &v))) {
            if (r < 0) return 2;
            audio = v;
        } else if ((r = cli_opt(argc, argv, &i, "--duration", &v))) {
            if (r < 0 || !cli_parse_double("labels", "--duration", v, 1e-3, 36000, &duration)) return 2;
            have_duration = 1;
        } else if ((r = cli_opt(argc, argv, &i, "--sr", &v))) {
            if (r < 0 || !cli_parse_double("labels", "--sr", v, 1000, 384000, &sr)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--hop", &v))) {
            if (r < 0 || !cli_parse_int("labels", "--hop", v, 1, 1 << 20, &p.hop)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--notes", &v))) {
            if (r < 0 || !parse_note_list(v, &p)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--transpose", &v))) {
            if (r < 0 || !cli_parse_int("labels", "--transpose", v, -127, 127, &p.transpose)) return 2;
        } else if (!strcmp(argv[i], "--force")) {
            force = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("labels", "unknown option '%s'", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else {
            return cli_usage_error("labels", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!in) return cli_usage_error("labels", "missing the input MIDI file");
    if (!out) return cli_usage_error("labels", "missing -o OUT.npy");
    if (audio && have_duration) return cli_usage_error("labels", "give --audio or --duration, not both");
    p.sample_rate = sr;
    const char *ins[2] = {in, audio};
    int crc = cli_check_output("labels", &out, ins, 2, force, CLI_OUT_STDOUT);
    if (crc) return crc;
    FILE *info = strcmp(out, "/dev/stdout") ? stdout : stderr; /* -o -: the labels own standard output */

    a2m_notes notes;
    int rc = a2m_notes_read_any(in, &notes);
    if (rc) return cli_lib_fail(rc);
    size_t n_samples;
    if (audio) {
        a2m_audio a;
        rc = a2m_audio_read(audio, sr, &a);
        if (rc) {
            a2m_notes_free(&notes);
            return cli_lib_fail(rc);
        }
        n_samples = a.n;
        a2m_audio_free(&a);
    } else {
        n_samples = (size_t)llround(duration * sr);
    }
    size_t n_frames = n_samples / (size_t)p.hop;
    if (n_frames == 0) {
        a2m_notes_free(&notes);
        return cli_fail("%s: shorter than one hop (%d samples): no frames", audio ? audio : in, p.hop);
    }
    int64_t *labels = malloc(n_frames * sizeof *labels);
    if (!labels) {
        a2m_notes_free(&notes);
        return cli_fail("out of memory");
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
    if (unmapped) cli_warn("%s: %zu of %zu note%s %s not in the class map (ignored)", in, unmapped, notes.n, cli_s(notes.n), unmapped == 1 ? "is" : "are");

    size_t counts[A2M_MAX_CLASSES] = {0};
    for (size_t f = 0; f < n_frames; f++) counts[labels[f]]++;
    fprintf(info, "%s: %zu frame%s (%.3f s at %g Hz, hop %d), %zu note%s -> %s\n", in, n_frames, cli_s(n_frames),
           (double)n_samples / sr, sr, p.hop, notes.n, cli_s(notes.n), out);
    fprintf(info, "  class 0 silence: %zu\n", counts[0]);
    for (int k = 0; k < p.n_notes; k++) {
        char name[8];
        fprintf(info, "  class %d %s (%d): %zu\n", k + 1, a2m_note_name(p.notes[k], name), p.notes[k], counts[k + 1]);
    }
    free(labels);
    a2m_notes_free(&notes);
    return 0;
}
