#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "a2m/audio.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/transcribe.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "a2m/uncertainty.h"
#include "cli/inputs.h"
#include "cli/members.h"
#include "cli/models.h"
#include "cli/opts.h"
#include "cli/report.h"
#include "transcribe/fold.h"
#include "transcribe/window.h"

/* The mark that starts the help of an option acting on models with an onset class only, as the usage says */
#define ONSET_ONLY         "* "
/* A row of a duration in milliseconds: {MS_OPT("--glide", &tp->glide_ms, 0, 10000), .help = ..} */
#define MS_OPT(n, d, l, h) CLI_DBL_OPT(n, d, l, h), .meta = "MS"

static const char *usage =
    "usage: a2m transcribe [--model MODEL] INPUT... [-o OUT] [options]\n"
    "Audio (any format libsndfile reads, any rate, any length) -> MIDI.\n"
    "With one input, -o is the MIDI file (default: INPUT with .mid). An INPUT folder stands for the audio\n"
    "files under it; with several inputs or a folder, -o is a folder: files land at its top, folders are\n"
    "mirrored below it (takes/a/x.wav -> OUT/a/x.mid). Two inputs that would write one output are an error.\n"
    "INPUT '-' reads audio from standard input (a WAV stream, or raw float32 with --raw-rate).\n"
    "Options marked " ONSET_ONLY "act on models with an onset class (anypitch) only.\n";
static const char *epilog =
    "-o OUT/ (a trailing slash) is a folder even for one input; -o - writes the MIDI of one input file to\n"
    "standard output. Ctrl-C (SIGINT/SIGTERM) while reading '-' ends the input there: the notes decided are\n"
    "printed and written, and the exit code is 130/143.\n";

typedef struct tr_opts {
    a2m_transcribe_params tp;
    a2m_midi_write_params mp;
    int csv, json, probs, print, force, jobs;
    double raw_rate;
    const char *ensemble;       /* --ensemble M1,M2,... */
    int mc;                     /* --mc-dropout T */
    int seed;                   /* --seed S: the Monte-Carlo masks */
    const cli_members *members; /* with ensemble or mc: the models averaged */
} tr_opts;

/* "10" (frames) or "120ms" */
static int parse_frames_or_ms(const char *cmd, const char *opt, const char *v, int *frames, double *ms) {
    size_t n = strlen(v);
    if (n > 2 && !strcmp(v + n - 2, "ms")) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*s", (int)(n - 2), v);
        return cli_parse_double(cmd, opt, buf, 0, 1e6, ms);
    }
    *ms = -1;
    return cli_parse_int(cmd, opt, v, 0, 1000000, frames);
}

static int parse_max_gap(const char *cmd, const char *opt, const char *v, void *dst) {
    a2m_transcribe_params *tp = dst;
    return parse_frames_or_ms(cmd, opt, v, &tp->max_gap_frames, &tp->max_gap_ms);
}

static int parse_min_note(const char *cmd, const char *opt, const char *v, void *dst) {
    a2m_transcribe_params *tp = dst;
    return parse_frames_or_ms(cmd, opt, v, &tp->min_note_frames, &tp->min_note_ms);
}

/* The default of --max-gap (which 0) or --min-note (1): "Nms", "N", or the model kind's (the library's rule,
 * transcribe_params_for_model, asked for a model without and with an onset class) */
static int show_frames_or_ms(const a2m_transcribe_params *tp, int which, char *buf, size_t n) {
    double ms = which ? tp->min_note_ms : tp->max_gap_ms;
    int frames = which ? tp->min_note_frames : tp->max_gap_frames;
    if (ms >= 0) return snprintf(buf, n, "%gms", ms), 1;
    if (frames >= 0) return snprintf(buf, n, "%d", frames), 1;
    a2m_model_info plain = {.n_classes = 2, .class_notes = {-1, 60}}, onset = plain;
    onset.class_notes[1] = A2M_CLASS_ONSET;
    a2m_transcribe_params a = transcribe_params_for_model(*tp, &plain), b = transcribe_params_for_model(*tp, &onset);
    return snprintf(buf, n, "%d; models with an onset class %d", which ? a.min_note_frames : a.max_gap_frames,
                    which ? b.min_note_frames : b.max_gap_frames),
           1;
}

static int show_max_gap(const void *v, char *buf, size_t n) { return show_frames_or_ms(v, 0, buf, n); }
static int show_min_note(const void *v, char *buf, size_t n) { return show_frames_or_ms(v, 1, buf, n); }

/* "auto", "off" or a tuning in cents */
static int parse_tuning(const char *cmd, const char *opt, const char *v, void *dst) {
    a2m_transcribe_params *tp = dst;
    if (!strcmp(v, "auto") || !strcmp(v, "off")) {
        tp->tuning = v[0] == 'a' ? A2M_TUNING_AUTO : A2M_TUNING_OFF;
        return 1;
    }
    tp->tuning = A2M_TUNING_FIXED;
    return cli_parse_double(cmd, opt, v, -50, 50, &tp->tuning_cents);
}

static int show_tuning(const void *v, char *buf, size_t n) {
    const a2m_transcribe_params *tp = v;
    if (tp->tuning == A2M_TUNING_FIXED) snprintf(buf, n, "%g", tp->tuning_cents);
    else snprintf(buf, n, "%s", tp->tuning == A2M_TUNING_AUTO ? "auto" : "off");
    return 1;
}

static void out_name(char *dst, size_t n, const char *base, const char *ext) { snprintf(dst, n, "%s%s", base, ext); }

static int write_notes_csv(const char *path, const a2m_transcription *r, int force) {
    a2m_atomic_file f;
    int rc = a2m_atomic_open(&f, path, force);
    if (rc) return rc;
    fputs("onset_s,offset_s,midi_pitch,note,confidence,confidence_var,out_of_range\n", f.fp);
    for (size_t i = 0; i < r->n_notes; i++) {
        char nm[8];
        const a2m_transcribed_note *t = &r->notes[i];
        fprintf(f.fp, "%.6f,%.6f,%d,%s,%.4f,%.6f,%d\n", t->note.onset, t->note.offset, (int)t->note.pitch,
                a2m_note_name((int)t->note.pitch, nm), t->confidence, t->confidence_var, t->out_of_range);
    }
    return a2m_atomic_commit(&f);
}

/* the mean of each uncertainty measure over a note's frames */
static json_t *note_uncertainty(const a2m_transcribed_note *t, const float *measures, size_t n_frames) {
    double s[A2M_UNC_MEASURES] = {0};
    size_t k = 0;
    for (size_t f = t->first_frame; f < t->first_frame + t->n_frames && f < n_frames; f++, k++)
        for (int q = 0; q < A2M_UNC_MEASURES; q++) s[q] += measures[f * A2M_UNC_MEASURES + q];
    json_t *o = json_object();
    for (int q = 0; q < A2M_UNC_MEASURES; q++)
        json_object_set_new(o, a2m_unc_measure_name(q), json_real(k ? s[q] / (double)k : 0));
    return o;
}

/* --notes as a JSON list of MIDI numbers, null when every note is allowed */
static json_t *allowed_notes_json(const unsigned char set[16]) {
    int notes[128], count = a2m_note_set_list(set, notes);
    if (!count) return json_null();
    json_t *a = json_array();
    for (int i = 0; i < count; i++) json_array_append_new(a, json_integer(notes[i]));
    return a;
}

static const char *model_path; /* an input too: no output may be it */

static int write_notes_json(const char *path, const char *input, const a2m_transcription *r, const float *measures,
                            const tr_opts *opt) { /* check_outputs has refused an existing file */
    json_t *arr = json_array();
    for (size_t i = 0; i < r->n_notes; i++) {
        char nm[8];
        const a2m_transcribed_note *t = &r->notes[i];
        json_array_append_new(arr, json_pack("{s:f,s:f,s:i,s:s,s:f,s:f,s:i}", "onset", t->note.onset, "offset",
                                             t->note.offset, "pitch", (int)t->note.pitch, "name",
                                             a2m_note_name((int)t->note.pitch, nm), "confidence", t->confidence,
                                             "confidence_var", t->confidence_var, "out_of_range", t->out_of_range));
        json_object_set_new(json_array_get(arr, i), "cents", isnan(t->cents) ? json_null() : json_real(t->cents));
        if (measures)
            json_object_set_new(json_array_get(arr, i), "uncertainty", note_uncertainty(t, measures, r->n_frames));
    }
    json_t *o = json_pack("{s:s,s:s,s:o,s:f,s:I,s:f,s:o}", "input", input, "model",
                          opt->ensemble ? opt->ensemble
                          : model_path  ? model_path
                                        : "",
                          "allowed_notes", allowed_notes_json(opt->tp.notes), "frame_seconds", r->frame_seconds,
                          "frames", (json_int_t)r->n_frames, "tuning_cents", r->tuning_cents, "notes", arr);
    int rc = report_write_json(path, o);
    json_decref(o);
    return rc;
}

/* Every output of one input, checked before any is written (nothing half-written when one exists): none
 * may be the input or the model, an existing one needs --force, devices and FIFOs are written through. */
static int check_outputs(const char *input, const char *midi_path, const tr_opts *o) {
    char base[PATH_MAX], p[PATH_MAX + 16];
    snprintf(base, sizeof base, "%s", midi_path);
    char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
    if (dot && (!slash || dot > slash)) *dot = '\0';
    const char *exts[5] = {NULL, o->csv ? ".csv" : NULL, o->json ? ".json" : NULL, o->probs ? ".probs.npy" : NULL,
                           o->probs && o->members ? ".uncertainty.npy" : NULL};
    const char *ins[2] = {input, model_path};
    int rc = A2M_OK;
    for (int i = 0; i < 5 && !rc; i++) {
        if (i == 0) snprintf(p, sizeof p, "%s", midi_path);
        else if (exts[i]) out_name(p, sizeof p, base, exts[i]);
        else continue;
        rc = cli_output_problem(p, ins, 2, o->force);
    }
    return rc;
}

static int write_outputs(const char *input, const char *midi_path, const a2m_transcription *r, const float *measures,
                         const tr_opts *o) {
    char base[PATH_MAX], p[PATH_MAX + 16];
    snprintf(base, sizeof base, "%s", midi_path);
    char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
    if (dot && (!slash || dot > slash)) *dot = '\0';
    int rc = check_outputs(input, midi_path, o);
    if (rc) return rc;
    a2m_note *notes = malloc((r->n_notes + 1) * sizeof *notes);
    if (!notes) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < r->n_notes; i++)
        if (!r->notes[i].out_of_range) notes[k++] = r->notes[i].note;
    rc = a2m_midi_write(midi_path, notes, k, o->mp);
    free(notes);
    if (!rc && o->csv) out_name(p, sizeof p, base, ".csv"), rc = write_notes_csv(p, r, 1);
    if (!rc && o->json) out_name(p, sizeof p, base, ".json"), rc = write_notes_json(p, input, r, measures, o);
    if (!rc && o->probs) {
        out_name(p, sizeof p, base, ".probs.npy");
        size_t shape[2] = {r->n_frames, (size_t)r->n_classes};
        rc = a2m_npy_save(p, A2M_F32, 2, shape, r->probs);
    }
    if (!rc && o->probs && measures) {
        out_name(p, sizeof p, base, ".uncertainty.npy");
        size_t shape[2] = {r->n_frames, A2M_UNC_MEASURES};
        rc = a2m_npy_save(p, A2M_F32, 2, shape, measures);
    }
    return rc;
}

static void print_notes(FILE *out, const char *input, const a2m_transcription *r) {
    fprintf(out, "# %s: %zu note%s\n", input, r->n_notes, cli_s(r->n_notes));
    for (size_t i = 0; i < r->n_notes; i++) {
        char nm[8];
        const a2m_transcribed_note *t = &r->notes[i];
        fprintf(out, "%8.3f %8.3f  %-4s (%d)  confidence %.2f%s\n", t->note.onset, t->note.offset,
                a2m_note_name((int)t->note.pitch, nm), (int)t->note.pitch, t->confidence,
                t->out_of_range < 0   ? "  below the model's range"
                : t->out_of_range > 0 ? "  above the model's range"
                                      : "");
    }
}

/* Notes the model says are sung below or above its range are left out of the MIDI and said, never folded into
 * the range (nor into another octave). */
static void warn_out_of_range(const a2m_model *m, const char *input, const a2m_transcription *r) {
    const a2m_model_info *in = a2m_model_get_info(m);
    size_t below = 0, above = 0;
    double first = -1;
    for (size_t i = 0; i < r->n_notes; i++) {
        below += r->notes[i].out_of_range<0, above += r->notes[i].out_of_range> 0;
        if (r->notes[i].out_of_range && first < 0) first = r->notes[i].note.onset;
    }
    int lo = 127, hi = 0;
    for (int c = 0; c < in->n_classes; c++)
        if (in->class_notes[c] >= 0)
            lo = in->class_notes[c] < lo ? in->class_notes[c] : lo,
            hi = in->class_notes[c] > hi ? in->class_notes[c] : hi;
    if (below + above)
        cli_warn("%s: %zu note%s below and %zu above the model's range (MIDI %d-%d), the first at %.2f s: left out "
                 "of the MIDI (in --csv/--json with out_of_range)",
                 input, below, cli_s(below), above, lo, hi, first);
}

static void print_stream_notes(void *user, const a2m_transcribed_note *n, size_t k) {
    (void)user;
    for (size_t i = 0; i < k; i++) {
        if (n[i].out_of_range)
            cli_warn("<stdin>: a note %s the model's range at %.2f-%.2f s", n[i].out_of_range < 0 ? "below" : "above",
                     n[i].note.onset, n[i].note.offset);
        else printf("%.6f,%.6f,%d,%.4f\n", n[i].note.onset, n[i].note.offset, (int)n[i].note.pitch, n[i].confidence);
    }
    if (k) fflush(stdout);
}

/* The transcriber of the options: one model, or with --ensemble / --mc-dropout the members (every model, each
 * --mc-dropout passes), whose mean probabilities are decoded as one model's and whose predictive uncertainty comes
 * with the frames (a2m_transcription.uncertainty). */
static int transcriber_for(const a2m_model *m, const tr_opts *o, a2m_transcriber **t) {
    if (!o->members) return a2m_transcriber_new(m, o->tp, t);
    return a2m_transcriber_new_members((const a2m_model *const *)o->members->m, o->members->n, o->tp, t);
}

/* stdin: windows run as the audio arrives and each note is printed as a CSV line
 * (onset_s,offset_s,midi_pitch,confidence) the moment it is decided; with -o the
 * files are written at the end. --window 0 needs the whole recording first. */
static int transcribe_stdin(const a2m_model *m, const char *out, const tr_opts *o) {
    const char *name = "<stdin>";
    double rate = a2m_model_get_info(m)->cqt.sample_rate;
    int crc = out ? check_outputs(name, out, o) : A2M_OK;
    if (crc) return crc;
    /* Ctrl-C (SIGINT/SIGTERM) ends the input instead of the process: what was decided is written */
    cli_signals_graceful();
    if (!(o->tp.window_s > 0)) {
        a2m_audio a;
        int rc = a2m_audio_read_stream(stdin, name, o->raw_rate, rate, &a);
        if (rc) return rc;
        a2m_transcriber *t;
        rc = transcriber_for(m, o, &t);
        a2m_transcription r;
        if (!rc) rc = a2m_transcriber_run(t, a.samples, a.n, &r);
        if (!rc) {
            print_stream_notes(NULL, r.notes, r.n_notes);
            if (out) rc = write_outputs(name, out, &r, r.uncertainty, o);
            a2m_transcription_free(&r);
        }
        a2m_transcriber_del(t);
        a2m_audio_free(&a);
        return rc;
    }
    a2m_audio_stream *in = NULL;
    a2m_transcribe_stream *st = NULL;
    int rc = a2m_audio_stream_new(stdin, name, o->raw_rate, rate, &in);
    if (!rc && o->members)
        rc = a2m_transcribe_stream_new_members((const a2m_model *const *)o->members->m, o->members->n, o->tp,
                                               out != NULL, &st);
    else if (!rc) rc = a2m_transcribe_stream_new(m, o->tp, out != NULL, &st);
    a2m_transcription r;
    if (!rc) rc = a2m_transcribe_stream_run(st, in, NULL, 0, name, print_stream_notes, NULL, out ? &r : NULL);
    if (!rc && out) {
        rc = write_outputs(name, out, &r, r.uncertainty, o);
        a2m_transcription_free(&r);
    }
    a2m_transcribe_stream_del(st);
    a2m_audio_stream_del(in);
    return rc;
}

/* -o: "-" is standard output for one input file and the MIDI alone; with several inputs or a folder input
 * OUT is a folder (a MIDI-like name is a mistake, not a folder to make). */
static int check_out_arg(const char *cmd, const char **out, const char **inputs, int n_in, const tr_opts *o) {
    if (!*out) return 0;
    int many = n_in > 1 || (strcmp(inputs[0], "-") && a2m_is_dir(inputs[0]));
    if (!strcmp(*out, "-")) {
        if (many || !strcmp(inputs[0], "-") || o->csv || o->json || o->probs || o->print)
            return cli_usage_error(
                cmd, "-o - (the MIDI on standard output) needs one input file and no --csv/--json/--probs/--print");
        *out = "/dev/stdout";
        return 0;
    }
    const char *dot = strrchr(*out, '.');
    if (many && dot && !strchr(dot, '/') && (!strcasecmp(dot, ".mid") || !strcasecmp(dot, ".midi")))
        return cli_usage_error(cmd, "-o %s: several inputs write a folder of MIDI files: give -o FOLDER/", *out);
    a2m_output_kind kind = A2M_OUTPUT_NEW;
    if (!many && (o->csv || o->json || o->probs) && !a2m_output_kind_of(*out, &kind) && kind == A2M_OUTPUT_STREAM)
        return cli_usage_error(cmd, "-o %s: --csv/--json/--probs are named after -o: give a file name",
                               *out); /* not /dev/null.csv */
    return 0;
}

/* The options into o (the library's defaults where not given), the inputs to argv[1 .. *n_in]: -1, or the exit
 * code (0 after --help, 2 after a usage error). Over 80 lines: most of it is transcribe's option table, one row an
 * option in the order --help lists them (as train's parse_args); the checks after it are six lines. */
static int parse_args(int argc, char **argv, tr_opts *o, const char **model, const char **out, int *n_in) {
    a2m_transcribe_params *tp = &o->tp;
    const cli_option opts[] = {
        {CLI_STR_OPT("--model", model), .meta = "M",
         .help = "a model file, or a shipped model: anypitch (any melody, MIDI 36-84; the default,\n"
                 "unless $A2M_MODEL names a file) or seed (the seed project's C/E/G)"},
        {CLI_STR_OPT("-o", out), .meta = "OUT", .help = "the MIDI file, or the folder of several inputs' MIDI files"},
        {CLI_DBL_OPT("--window", &tp->window_s, 0, A2M_WHOLE_MAX_SECONDS), .meta = "S",
         .help = "window length in seconds (1.5 training takes); 0 = one sequence (models on\n"
                 "mel, MFCC or LPC features always run so, up to 900 s; `-` needs a CQT model)"},
        {CLI_DBL_OPT("--hop", &tp->hop_s, 0.01, 3600), .meta = "S",
         .help = "window step in seconds; overlapping windows are blended"},
        {CLI_CUSTOM_OPT("--max-gap", tp, parse_max_gap, show_max_gap), .meta = "N[ms]",
         .help = "fill silence gaps shorter than N frames or N ms"},
        {CLI_CUSTOM_OPT("--min-note", tp, parse_min_note, show_min_note), .meta = "N[ms]",
         .help = "drop notes shorter than N frames or N ms"},
        {CLI_DBL_OPT("--onset-threshold", &tp->onset_threshold, 0, 1), .meta = "P",
         .help = ONSET_ONLY "split a note where p(onset) peaks and its split score (p(onset) + the\n"
                            "--split-* weights' evidence) reaches P"},
        {CLI_DBL_OPT("--min-voicing", &tp->min_voicing, 0, 1), .meta = "P",
         .help = ONSET_ONLY "drop notes whose mean p(sung) is below P"},
        {CLI_DBL_OPT("--pitch-cost", &tp->pitch_cost, 0, 1000), .meta = "N",
         .help = ONSET_ONLY "a pitch change in the smoothed path costs N nats"},
        {MS_OPT("--glide", &tp->glide_ms, 0, 10000),
         .help = ONSET_ONLY "shorter pitch runs in a legato line join the note they lead to"},
        {MS_OPT("--legato", &tp->legato_ms, 0, 10000),
         .help = ONSET_ONLY "a silence shorter than MS between two notes is no rest: the first note ends\n"
                            "where the next begins"},
        {MS_OPT("--delay", &tp->delay_ms, -1000, 1000),
         .help = ONSET_ONLY "added to every note's onset and offset (annotation conventions differ:\n"
                            "singreal's onsets are ~40 ms after the sound's)"},
        {CLI_DBL_OPT("--key-weight", &tp->key_weight, 0, 100), .meta = "N",
         .help = ONSET_ONLY "a pitch outside the melody's major scale (estimated from the whole recording)\n"
                            "costs N nats a frame in the smoothed path; 0 = off"},
        {MS_OPT("--onset-gap", &tp->onset_gap_ms, -1, 10000),
         .help = ONSET_ONLY "a p(onset) peak whose split score reaches twice --onset-threshold may split a\n"
                            "note MS from its ends and the previous split; -1 = --min-note, as any split"},
        {MS_OPT("--onset-snap", &tp->onset_snap_ms, 0, 1000),
         .help = ONSET_ONLY "a note's onset moves to the peak of p(onset) + --onset-flux x the spectral flux\n"
                            "within MS, when p(onset) reaches 0.1 there; 0 = off"},
        {CLI_DBL_OPT("--onset-flux", &tp->onset_flux, 0, 100), .meta = "W",
         .help = ONSET_ONLY "the onset snap's weight of the sound's spectral flux (mean rise in dB over 12 ms)\n"
                            "beside p(onset); 0 = p(onset) only"},
        {CLI_DBL_OPT("--split-flux", &tp->split.flux, 0, 100), .meta = "W",
         .help = ONSET_ONLY "the split score's weight of the spectral flux (dB, the largest within 12 ms)"},
        {CLI_DBL_OPT("--split-pitch", &tp->split.pitch, 0, 100), .meta = "W",
         .help = ONSET_ONLY "the split score's weight of the pitch distribution's change (Jensen-Shannon\n"
                            "divergence, nats, of the 30 ms before and after)"},
        {CLI_DBL_OPT("--split-dip", &tp->split.dip, 0, 100), .meta = "W",
         .help = ONSET_ONLY "the split score's weight of the note's own class dipping there (mean p(class)\n"
                            "over the note - its least within 25 ms); all three 0: p(onset) alone"},
        {CLI_CUSTOM_OPT("--notes", tp->notes, cli_opt_note_set, cli_show_note_set), .meta = "LIST",
         .help = "the notes the melody may have: MIDI numbers, names (C4 = 60, F#3, Bb2), ranges\n"
                 "(48-55, C3-G3) or names without an octave for every octave (C,D,E,F,G,A,B: C major);\n"
                 "each frame's other pitches count as the nearest allowed one (a C sung as C# is a C)"},
        {CLI_CUSTOM_OPT("--tuning", tp, parse_tuning, show_tuning), .meta = "T",
         .help = ONSET_ONLY "auto (estimate the recording's tuning from the spectrum, shift it onto the\n"
                            "semitone grid), off, or the tuning in cents (-50..50, + = sharp)"},
        {CLI_DBL_OPT("--dip", &tp->dip_depth, 0, 1), .meta = "D",
         .help = ONSET_ONLY "split a note where p(silence) rises D above its surroundings; 0 = off"},
        {CLI_DBL_OPT("--range-evidence", &tp->range_min_db, 0, 100), .meta = "DB",
         .help = "a note the model places below or above its range is kept only where the\n"
                 "spectrum has a peak out there DB above its half octave (noise and hum make\n"
                 "the network say so too), and takes that peak's pitch; 0 = off"},
        {CLI_STR_OPT("--ensemble", &o->ensemble), .meta = "M1,M2,...",
         .help = "the mean of several models' frame probabilities (instead of --model):\n"
                 "files or the shipped names (anypitch, anypitch-b, seed); anypitch,anypitch-b:\n"
                 "two draws of one recipe (singreal cross-validated COn 0.831, one 0.808), 0.6x the speed"},
        {CLI_INT_OPT("--mc-dropout", &o->mc, 1, 1000), .meta = "T", .nodef = 1,
         .help = "Monte-Carlo dropout: the mean of T passes with the network's dropout kept on\n"
                 "(models trained with --dropout). With --ensemble or --mc-dropout, --json gives\n"
                 "each note the mean over its frames of the predictive uncertainty (max_probability,\n"
                 "entropy, variance of p(class), mutual_information) and --probs also writes\n"
                 ".uncertainty.npy [frames x those 4]"},
        {CLI_INT_OPT("--seed", &o->seed, 0, 2147483647), .meta = "S", .help = "the Monte-Carlo dropout masks"},
        {CLI_CUSTOM_OPT("--precision", &tp->precision, cli_opt_precision, cli_show_precision), .meta = "P",
         .help = "fp32 (exact) or bf16 (about 2x faster network on CPUs with avx512_bf16;\n"
                 "logits within 0.015 of fp32 for models/a2m-crnn.safetensors (0.028 for the\n"
                 "seed CRNN); elsewhere fp32 runs)"},
        {CLI_FLAG_OPT("--csv", &o->csv),
         .help = "also write notes (onset, offset, pitch, name, confidence mean/variance)"},
        {CLI_FLAG_OPT("--json", &o->json), .help = "also write the notes as JSON"},
        {CLI_FLAG_OPT("--probs", &o->probs), .help = "also write frame probabilities .npy [frames x classes]"},
        {CLI_FLAG_OPT("--print", &o->print), .help = "print the notes to standard output"},
        {CLI_DBL_OPT("--tempo", &o->mp.tempo_bpm, 1, 1000), .meta = "BPM", .help = "MIDI tempo"},
        {CLI_INT_OPT("--ticks-per-beat", &o->mp.ticks_per_beat, 1, 32767), .meta = "N", .help = "MIDI resolution"},
        {CLI_INT_OPT("--program", &o->mp.program, 0, 127), .meta = "P", .help = "MIDI program (instrument)"},
        {CLI_INT_OPT("--jobs", &o->jobs, 1, 256), .meta = "N", .help = "inputs transcribed in parallel"},
        {CLI_DBL_OPT("--raw-rate", &o->raw_rate, 1000, 768000), .meta = "HZ", .nodef = 1,
         .help = "standard input is raw float32 mono at this rate"},
        {CLI_FLAG_OPT("--force", &o->force), .help = "replace existing outputs (never an input or the model)"},
        {.name = NULL}};
    const cli_spec spec = {"transcribe", usage, {{NULL, opts}}, epilog};
    int rc = cli_parse(argc, argv, &spec, n_in);
    if (rc >= 0) return rc;
    const char **inputs = (const char **)argv + 1;
    if (*n_in == 0) return cli_usage_error(argv[0], "needs at least one input");
    if ((rc = check_out_arg(argv[0], out, inputs, *n_in, o))) return rc;
    if (o->ensemble && *model) return cli_usage_error(argv[0], "--ensemble replaces --model");
    return -1;
}

static cli_members mem; /* with --ensemble / --mc-dropout: the models averaged (the first is the model) */

static void free_models(const tr_opts *o, a2m_model *m) {
    if (o->members) cli_members_free(&mem);
    else a2m_model_del(m);
}

/* The model (or the models averaged) into *m; 0 or the exit code (the error printed) */
static int load_models(const char *cmd, const char *model, tr_opts *o, a2m_model **m) {
    static char mbuf[PATH_MAX]; /* model_path outlives this call */
    model = cli_model_path(model, mbuf, sizeof mbuf);
    int rc;
    if (o->ensemble || o->mc) {
        if ((rc = cli_members_load(&mem, cmd, model, o->ensemble, o->mc, (unsigned)o->seed))) {
            cli_members_free(&mem);
            return rc;
        }
        o->members = &mem, *m = mem.m[0], model = mem.path[0];
    } else {
        rc = a2m_model_load(model, NULL, m);
        if (!rc && (rc = a2m_model_check_for_audio(*m, model))) a2m_model_del(*m);
        if (rc) return cli_lib_fail(rc);
    }
    model_path = model;
    transcribe_fold fold; /* --notes the model cannot say: before any input is read */
    const a2m_model_info *in = a2m_model_get_info(*m);
    if (transcribe_fold_init(&fold, o->tp.notes, in->class_notes, in->n_classes)) {
        free_models(o, *m);
        return cli_fail("%s: --notes: %s", model, a2m_errmsg());
    }
    return 0;
}

/* The MIDI's folder (outputs mirroring a folder tree) */
static int make_out_dir(const char *midi) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", midi);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) return *slash = '\0', a2m_mkdirs(dir);
    return 0;
}

/* One input file with the thread's transcribers t: written, printed and said; an a2m_error code or 0 */
static int transcribe_one(const a2m_model *m, a2m_transcriber **t, const char *path, const char *midi, int n_in,
                          const tr_opts *o) {
    a2m_transcription r;
    int rc = *t ? A2M_OK : transcriber_for(m, o, t), have = 0;
    if (!rc) rc = a2m_transcriber_run_file(*t, path, &r), have = !rc;
    if (!rc) rc = make_out_dir(midi);
    if (!rc) {
        rc = write_outputs(path, midi, &r, r.uncertainty, o);
#pragma omp critical
        {
            if (o->print) print_notes(stdout, path, &r);
            warn_out_of_range(m, path, &r);
            if (!rc && n_in == 1 && !o->print)
                fprintf(stderr, "%s: %zu note%s -> %s\n", path, r.n_notes, cli_s(r.n_notes), midi);
        }
    }
    if (have) a2m_transcription_free(&r);
    return rc;
}

/* Every input (in parallel with --jobs): one transcriber per thread (with --ensemble / --mc-dropout: of all the
 * members), kept across its inputs (CQT plans and packed weights are made once). The number of inputs that failed. */
static int transcribe_all(const a2m_model *m, const cli_inputs *ins, const tr_opts *o) {
    int n_in = ins->n, failed = 0;
    cli_progress *bar = n_in > 1 ? cli_progress_new("transcribe", (size_t)n_in) : NULL;
    size_t done = 0;
    a2m_transcriber **per_thread = calloc((size_t)o->jobs, sizeof *per_thread);
    if (!per_thread) n_in = 0, failed = 1, cli_fail("out of memory");
#pragma omp parallel for num_threads(o->jobs) schedule(dynamic, 1) reduction(+ : failed)
    for (int i = 0; i < n_in; i++) {
        int lrc = transcribe_one(m, &per_thread[omp_get_thread_num()], ins->paths[i], ins->midis[i], n_in, o);
#pragma omp critical
        {
            if (lrc) cli_lib_fail(lrc);
            cli_progress_update(bar, ++done, ins->paths[i]);
        }
        failed += lrc != 0;
    }
    for (int j = 0; per_thread && j < o->jobs; j++) a2m_transcriber_del(per_thread[j]);
    free(per_thread);
    if (bar) cli_progress_done(bar, NULL);
    return failed;
}

/* Standard input: the exit code (128 + the signal when Ctrl-C ended the input) */
static int stdin_exit(const a2m_model *m, const char *out, const tr_opts *o) {
    int rc = transcribe_stdin(m, out, o);
    if (rc) return cli_lib_fail(rc);
    if (!cli_interrupted()) return 0;
    fprintf(stderr, "a2m: interrupted: the input ended there%s\n", out ? "; the notes decided were written" : "");
    return 128 + cli_interrupted(); /* 130 (SIGINT), 143 (SIGTERM): stopped, its outputs complete */
}

int cmd_transcribe(int argc, char **argv) {
    tr_opts o = {
        a2m_transcribe_default_params(), a2m_midi_write_default_params(), 0, 0, 0, 0, 0, 1, 0, NULL, 0, 0, NULL};
    const char *model = NULL, *out = NULL;
    int n_in, rc = parse_args(argc, argv, &o, &model, &out, &n_in);
    if (rc >= 0) return rc;
    const char **inputs = (const char **)argv + 1;
    a2m_model *m = NULL;
    if ((rc = load_models(argv[0], model, &o, &m))) return rc;
    /* frames are kept only to be written (--probs, an ensemble's per-note uncertainty in --json): memory stays flat
     * over long files */
    o.tp.notes_only = !o.probs && !(o.members && o.json);
    o.tp.mc_passes = o.mc, o.tp.mc_seed = (unsigned)o.seed; /* each model's own dropout (mc_dropout 0) */
    if (n_in == 1 && !strcmp(inputs[0], "-")) {
        rc = stdin_exit(m, out, &o);
        free_models(&o, m);
        return rc;
    }
    cli_inputs ins;
    if ((rc = cli_inputs_expand(inputs, n_in, out, &ins))) {
        free_models(&o, m);
        return cli_lib_fail(rc);
    }
    int failed = transcribe_all(m, &ins, &o);
    free_models(&o, m);
    cli_inputs_free(&ins);
    return failed ? 1 : 0;
}
