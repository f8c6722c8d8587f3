/* a2m synth: MIDI / notes CSV / inline notes -> voice-like WAV (and MIDI) */
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/midi.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"

static const char *const usage =
    "usage: a2m synth IN.mid -o OUT.wav [options]\n"
    "       a2m synth --notes \"60:0.5-1.5,64:2-3\" -o OUT.wav [--write-midi OUT.mid] [options]\n"
    "\n"
    "Renders notes with a voice-like tone (harmonics under a sung-vowel formant\n"
    "envelope, vibrato, breath noise, attack and release) as a mono 16-bit WAV,\n"
    "normalized to --gain peak. The same input and --seed give the same samples.\n"
    "IN may be a MIDI file or a notes CSV (onset_s,offset_s,midi_pitch).\n";

static int show_duration(const void *v, char *buf, size_t n) {
    double d = *(const double *)v;
    return d > 0 ? snprintf(buf, n, "%g", d) : snprintf(buf, n, "last offset + release"), 1;
}

typedef struct synth_args {
    a2m_synth_params p;
    const char *in, *out, *inline_notes, *midi_out;
    int force;
} synth_args;

/* The options into a (a->p holding the library's defaults): -1, or the exit code */
static int parse_args(int argc, char **argv, synth_args *a) {
    a2m_synth_params *p = &a->p;
    const cli_option opts[] = {
        {CLI_OUTPUT_ROW(&a->out, "OUT.wav", "where to write the audio")},
        {CLI_FLAG_OPT("--force", &a->force), .help = "replace existing outputs (never the input)"},
        {CLI_STR_OPT("--notes", &a->inline_notes), .meta = "LIST",
         .help = "inline notes PITCH:ONSET-OFFSET[,...] (MIDI number, seconds)"},
        {CLI_STR_OPT("--write-midi", &a->midi_out), .meta = "OUT.mid",
         .help = "also write the (transposed) notes as a MIDI file"},
        {CLI_INT_OPT("--sr", &p->rate, 1000, 384000), .meta = "HZ", .help = "sample rate"},
        {CLI_DBL_OPT("--transpose", &p->transpose, -48, 48), .meta = "N",
         .help = "semitones added to every note (may be fractional)"},
        {CLI_DBL_OPT("--duration", &p->duration_s, 1e-3, 3600), .meta = "S", .show = show_duration,
         .help = "total length in seconds"},
        {CLI_UINT_OPT("--seed", &p->seed, 0, 2147483647), .meta = "N", .help = "noise and vibrato seed"},
        {CLI_DBL_OPT("--gain", &p->gain, 1e-3, 1), .meta = "G", .help = "peak level"},
        {CLI_DBL_OPT("--vibrato-cents", &p->vibrato_cents, 0, 200), .meta = "C", .help = "vibrato depth"},
        {CLI_DBL_OPT("--breath", &p->breath, 0, 1), .meta = "B", .help = "breath noise level relative to the tone"},
        {.name = NULL}};
    const cli_spec spec = {"synth", usage, {{NULL, opts}}, NULL};
    int rc = cli_parse_upto(argc, argv, &spec, (const char **[]){&a->in}, 1);
    if (rc >= 0) return rc;
    if (!a->in && !a->inline_notes) return cli_usage_error("synth", "give an input MIDI file or --notes");
    if (a->in && a->inline_notes) return cli_usage_error("synth", "give an input MIDI file or --notes, not both");
    if (!a->out) return cli_usage_error("synth", "missing -o OUT.wav");
    return -1;
}

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
    synth_args a = {.p = a2m_synth_default_params()};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    const a2m_synth_params p = a.p;
    const char *in = a.in, *out = a.out, *inline_notes = a.inline_notes, *midi_out = a.midi_out;
    int force = a.force;
    a2m_output_kind was = A2M_OUTPUT_NEW;
    int crc = cli_check_output("synth", &out, &in, 1, force, CLI_OUT_STDOUT);
    if (!crc && midi_out)
        crc = cli_check_output("synth", &midi_out, (const char *[]){in, out}, 2, force, CLI_OUT_STDOUT);
    if (crc) return crc;
    a2m_output_kind_of(out, &was);
    FILE *info = strcmp(out, "/dev/stdout") && strcmp(midi_out ? midi_out : "", "/dev/stdout") ? stdout : stderr;

    a2m_notes notes = {0};
    if (inline_notes) {
        if (!parse_inline_notes(inline_notes, &notes.notes, &notes.n)) return 2;
    } else {
        rc = a2m_notes_read_any(in, &notes);
        if (rc) return cli_lib_fail(rc);
        if (notes.n == 0 && p.duration_s <= 0) {
            a2m_notes_free(&notes);
            return cli_fail("%s: no notes to render (give --duration for silence)", in);
        }
    }
    float *y = NULL;
    size_t n = 0;
    rc = a2m_synth_render(notes.notes, notes.n, p, &y, &n);
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
