/* a2m synth: MIDI / notes CSV / inline notes -> voice-like WAV (and MIDI) */
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char *const SYNTH_HELP =
    "usage: a2m synth IN.mid -o OUT.wav [options]\n"
    "       a2m synth --notes \"60:0.5-1.5,64:2-3\" -o OUT.wav [--write-midi OUT.mid] [options]\n"
    "\n"
    "Renders notes with a voice-like tone (harmonics under a sung-vowel formant\n"
    "envelope, vibrato, breath noise, attack and release) as a mono 16-bit WAV,\n"
    "normalized to --gain peak. The same input and --seed give the same samples.\n"
    "IN may be a MIDI file or a notes CSV (onset_s,offset_s,midi_pitch).\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.wav  where to write the audio (required; - = standard output)\n"
    "  --force               replace existing outputs (never the input)\n"
    "  --notes LIST          inline notes PITCH:ONSET-OFFSET[,...] (MIDI number, seconds)\n"
    "  --write-midi OUT.mid  also write the (transposed) notes as a MIDI file\n"
    "  --sr HZ               sample rate (default 16000)\n"
    "  --transpose N         semitones added to every note (default 0; may be fractional)\n"
    "  --duration S          total length in seconds (default: last offset + release)\n"
    "  --seed N              noise and vibrato seed (default 1)\n"
    "  --gain G              peak level 0..1 (default 0.5)\n"
    "  --vibrato-cents C     vibrato depth (default 30)\n"
    "  --breath B            breath noise level relative to the tone (default 0.02)\n";

/* "60:0.5-1.5,64:2-3" -> notes (malloc'd); 0 on error (printed). */
static int parse_inline_notes(const char *s, a2m_note **out, size_t *n_out) {
    size_t cap = 1;
    for (const char *c = s; *c; c++) cap += *c == ',';
    a2m_note *notes = calloc(cap, sizeof *notes);
    char *copy = strdup(s);
    if (!notes || !copy) {
        free(notes);
        free(copy);
        cli_fail("out of memory");
        return 0;
    }
    size_t n = 0;
    int ok = 1;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        double pitch, on, off;
        char tail;
        /* a leading space is allowed after the comma */
        if (sscanf(tok, " %lf : %lf - %lf %c", &pitch, &on, &off, &tail) != 3 || !(pitch >= 0 && pitch <= 127) ||
            !(on >= 0) || !(off > on) || off > 36000) {
            cli_usage_error("synth", "--notes: '%s' is not PITCH:ONSET-OFFSET (0 <= onset < offset seconds)", tok);
            ok = 0;
            break;
        }
        notes[n++] = (a2m_note){on, off, pitch, 100, 0};
    }
    free(copy);
    if (ok && n == 0) {
        cli_usage_error("synth", "--notes: no notes given");
        ok = 0;
    }
    if (!ok) {
        free(notes);
        return 0;
    }
    *out = notes;
    *n_out = n;
    return 1;
}

int cmd_synth(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *inline_notes = NULL, *midi_out = NULL, *v = NULL;
    int force = 0;
    a2m_synth_params p = a2m_synth_default_params();
    for (int i = 1; i < argc; i++) {
        int r, seed = 0;
        if (cli_is_help(argv[i])) {
            fputs(SYNTH_HELP, stdout);
            return 0;
        } else if ((r = cli_opt(argc, argv, &i, "-o", &v)) || (r = cli_opt(argc, argv, &i, "--output", &v))) {
            if (r < 0) return 2;
            out = v;
        } else if ((r = cli_opt(argc, argv, &i, "--notes", &v))) {
            if (r < 0) return 2;
            inline_notes = v;
        } else if ((r = cli_opt(argc, argv, &i, "--write-midi", &v))) {
            if (r < 0) return 2;
            midi_out = v;
        } else if ((r = cli_opt(argc, argv, &i, "--sr", &v))) {
            if (r < 0 || !cli_parse_int("synth", "--sr", v, 1000, 384000, &p.rate)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--transpose", &v))) {
            if (r < 0 || !cli_parse_double("synth", "--transpose", v, -48, 48, &p.transpose)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--duration", &v))) {
            if (r < 0 || !cli_parse_double("synth", "--duration", v, 1e-3, 3600, &p.duration_s)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--seed", &v))) {
            if (r < 0 || !cli_parse_int("synth", "--seed", v, 0, 2147483647, &seed)) return 2;
            p.seed = (unsigned)seed;
        } else if ((r = cli_opt(argc, argv, &i, "--gain", &v))) {
            if (r < 0 || !cli_parse_double("synth", "--gain", v, 1e-3, 1, &p.gain)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--vibrato-cents", &v))) {
            if (r < 0 || !cli_parse_double("synth", "--vibrato-cents", v, 0, 200, &p.vibrato_cents)) return 2;
        } else if ((r = cli_opt(argc, argv, &i, "--breath", &v))) {
            if (r < 0 || !cli_parse_double("synth", "--breath", v, 0, 1, &p.breath)) return 2;
        } else if (!strcmp(argv[i], "--force")) {
            force = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error("synth", "unknown option '%s'", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else {
            return cli_usage_error("synth", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!in && !inline_notes) return cli_usage_error("synth", "give an input MIDI file or --notes");
    if (in && inline_notes) return cli_usage_error("synth", "give an input MIDI file or --notes, not both");
    if (!out) return cli_usage_error("synth", "missing -o OUT.wav");
    a2m_output_kind was = A2M_OUTPUT_NEW;
    int crc = cli_check_output("synth", &out, &in, 1, force, CLI_OUT_STDOUT);
    if (!crc && midi_out) crc = cli_check_output("synth", &midi_out, (const char *[]){in, out}, 2, force, CLI_OUT_STDOUT);
    if (crc) return crc;
    a2m_output_kind_of(out, &was);
    FILE *info = strcmp(out, "/dev/stdout") && strcmp(midi_out ? midi_out : "", "/dev/stdout") ? stdout : stderr;

    a2m_notes notes = {0};
    if (inline_notes) {
        if (!parse_inline_notes(inline_notes, &notes.notes, &notes.n)) return 2;
    } else {
        int rc = a2m_notes_read_any(in, &notes);
        if (rc) return cli_lib_fail(rc);
        if (notes.n == 0 && p.duration_s <= 0) {
            a2m_notes_free(&notes);
            return cli_fail("%s: no notes to render (give --duration for silence)", in);
        }
    }
    float *y = NULL;
    size_t n = 0;
    int rc = a2m_synth_render(notes.notes, notes.n, p, &y, &n);
    if (rc) {
        a2m_notes_free(&notes);
        return cli_fail("%s: %s", in ? in : "--notes", a2m_errmsg()); /* name the input */
    }
    rc = a2m_audio_write_wav(out, y, n, p.rate);
    free(y);
    if (!rc && midi_out) {
        /* the MIDI describes the audio: transposed notes */
        for (size_t i = 0; i < notes.n; i++) notes.notes[i].pitch += p.transpose;
        rc = a2m_midi_write(midi_out, notes.notes, notes.n, a2m_midi_write_default_params());
        if (rc && was == A2M_OUTPUT_NEW) remove(out); /* all outputs or none (what was there before is gone) */
    }
    if (rc) {
        a2m_notes_free(&notes);
        return cli_lib_fail(rc);
    }
    fprintf(info, "%s: %zu note%s, %.3f s at %d Hz%s%s\n", out, notes.n, cli_s(notes.n), (double)n / p.rate, p.rate,
           midi_out ? ", MIDI: " : "", midi_out ? midi_out : "");
    a2m_notes_free(&notes);
    return 0;
}
