/* Shared helpers of the a2m command line. Exit codes: 0 success,
 * 1 the work failed (bad input, I/O), 2 usage error. */
#ifndef A2M_CLI_H
#define A2M_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "a2m/midi.h"
#include "a2m/model.h"

typedef struct cli_command {
    const char *name;
    const char *summary;               /* one line for `a2m help` */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

extern const cli_command cli_commands[];
extern const size_t cli_n_commands;

/* --splits of eval, knn, linear, calibrate, embed when not given: the seed data's split */
#define CLI_SEED_SPLITS "../shared/data/seed/split.json"

/* Prints "a2m: <message>" to stderr and returns 1 (work failed). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "a2m <cmd>: <message>\nTry 'a2m <cmd> --help'." and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the library's last error ("a2m: take.wav: not an audio file") and returns 1. */
int cli_lib_fail(int rc);
/* Prints "a2m: warning: ..." to stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "s" unless n is 1: "%zu note%s", n, cli_s(n) */
static inline const char *cli_s(size_t n) { return n == 1 ? "" : "s"; }
int cli_is_help(const char *a); /* -h / --help */
/* "--" ends the options of every command: removes the first "--" from argv and turns each later
 * argument that starts with '-' (but "-", standard input) into "./-..." (the same file, never an
 * option). Returns the new argc (-1: out of memory); *owned holds the new strings for cli_free_owned. */
int cli_end_options(int argc, char **argv, char ***owned);
void cli_free_owned(char **owned);
/* Options: one table per command, parsed by cli_parse (src/cli/opts.h). */
/* Strict number parsing; print an error naming opt and return 0 on failure. */
int cli_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi, int *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);
/* --precision fp32|bf16 (out: an a2m_precision); warns when bf16 cannot run here (fp32 runs then) */
int cli_parse_precision(const char *cmd, const char *s, a2m_precision *out);
/* The same as an option table's parse and show functions (src/cli/opts.h; dst: an a2m_precision) */
int cli_opt_precision(const char *cmd, const char *name, const char *value, void *dst);
int cli_show_precision(const void *value, char *buf, size_t n);
/* "60,64,67", names "C4,E4,G4", ranges "36-84" / "C2-C6" (both ends included), mixed: "36-40,C4" -> notes in the
 * order given (a range or an octave-less name, "C", ascending); each item as a2m_note_set_parse; the count or -1 */
int cli_parse_note_list(const char *s, int *notes, int max);
/* --notes LIST as an option table's parse and show functions (dst: an a2m_label_params' notes and n_notes) */
int cli_opt_notes(const char *cmd, const char *name, const char *value, void *dst);
int cli_show_notes(const void *value, char *buf, size_t n);
/* --notes of transcribe and eval: a set of notes, unsigned char [16] (a2m_note_set_parse); shown as "all" when
 * empty, else as MIDI numbers and ranges */
int cli_opt_note_set(const char *cmd, const char *name, const char *value, void *dst);
int cli_show_note_set(const void *value, char *buf, size_t n);

/* ---- outputs ------------------------------------------------------------
 * Every command checks each output before any work (the rules of include/a2m/io.h, plus):
 * an existing file is kept unless force ("a2m: OUT: exists (use --force to replace it)", 1); an output that
 * is one of the inputs (same device and inode: through links, ./ paths, hard links) is refused even with
 * force (1); "-" is standard output when flags has CLI_OUT_STDOUT (*out becomes "/dev/stdout"), else a
 * usage error (2); CLI_OUT_FOLDER: a folder the command replaces as a whole (dataset): an existing one
 * needs force and anything else there is refused. A new file's folder must exist ("a2m: OUT: no folder DIR to
 * write it in", 1) unless CLI_OUT_MADE_FOLDER (the command makes it). inputs may hold NULLs. Returns 0 when out
 * may be written. */
enum { CLI_OUT_STDOUT = 1, CLI_OUT_FOLDER = 2, CLI_OUT_MADE_FOLDER = 4 };
int cli_check_output(const char *cmd, const char **out, const char *const *inputs, int n_inputs, int force, int flags);
/* The same checks for one output file without printing (for job threads): an a2m_error code or 0. */
int cli_output_problem(const char *out, const char *const *inputs, int n_inputs, int force);
/* After the command: flushes standard output; a write error (a full disk, /dev/full) is reported as
 * "a2m: standard output: write error: REASON" and turns a success into 1. Returns the exit code. */
int cli_finish_stdout(int rc);

/* ---- interrupts -----------------------------------------------------------
 * cli_signals_install (main, before the command): SIGINT, SIGTERM, SIGHUP and SIGPIPE remove the registered
 * temporaries (a2m_temp_cleanup) and end the process by that signal. cli_signals_graceful (the streaming
 * transcription): the first SIGINT or SIGTERM instead ends standard input (it becomes /dev/null, so the reader
 * sees the end of the stream and what was decided is finished and written); a second one ends the process.
 * cli_interrupted(): the signal received in graceful mode, or 0. */
void cli_signals_install(void);
void cli_signals_graceful(void);
int cli_interrupted(void);

/* Progress for long work: a bar with ETA on a terminal, plain log lines
 * (at most one every few seconds) otherwise. Writes to stderr. */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_new(const char *label, size_t total);
void cli_progress_update(cli_progress *p, size_t done, const char *extra);
void cli_progress_done(cli_progress *p, const char *extra);
/* Frees without printing (the work failed). */
void cli_progress_free(cli_progress *p);
/* Adapter with the library's a2m_progress_fn signature (user = cli_progress*). */
void cli_progress_cb(void *user, size_t done, size_t total, const char *what);

#endif
