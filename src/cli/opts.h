/* Command-line options from one table per command: each option's name (and alias), value type, range,
 * destination and help, parsed by cli_parse, which also prints the help with the defaults read from the
 * destinations before any option is applied: a command fills its params from the library's *_default_params()
 * and points the table at them, so the help shows the library's real defaults, never a second literal.
 *
 *   a2m_train_params p = a2m_train_default_params();
 *   const cli_option opts[] = {
 *       {CLI_INT_OPT("--hidden", &p.hidden, 1, 4096), .meta = "N", .help = "LSTM hidden size"},
 *       {CLI_FLAG_OPT("--force", &force), .help = "replace an existing model"},
 *       {.name = NULL}};
 *   const cli_spec spec = {"train", usage, {{NULL, opts}}, NULL};
 *   int n_pos, rc = cli_parse(argc, argv, &spec, &n_pos);
 *   if (rc >= 0) return rc;     // 0: --help printed; 2: a usage error printed
 *   // the positional arguments are argv[1 .. n_pos]
 *
 * Errors (exit code 2, "a2m CMD: ..." on stderr): "unknown option '--x'", "option --x needs a value",
 * "--x expects a whole number from LO to HI, got 'V'", "--x expects a number from LO to HI, got 'V'",
 * "--x expects a, b or c, got 'V'". "--opt VALUE" and "--opt=VALUE" are both accepted. */
#ifndef A2M_CLI_OPTS_H
#define A2M_CLI_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_opt_type {
    CLI_FLAG,     /* no value: *(int *)dst = 1 */
    CLI_FLAG_OFF, /* no value: *(int *)dst = 0 (--keep-last-frame turns drop_last_frame off) */
    CLI_INT,      /* int, lo..hi */
    CLI_UINT,     /* unsigned, lo..hi */
    CLI_ULL,      /* unsigned long long, lo..hi */
    CLI_U64,      /* uint64_t, lo..hi */
    CLI_DOUBLE,   /* double, lo..hi */
    CLI_STR,      /* const char *: a path, a name, a list the command splits */
    CLI_CHOICE,   /* int: the index of the value in choices "a|b|c" */
    CLI_CUSTOM,   /* parse(cmd, name, value, dst); show(def or dst) gives the default as text */
} cli_opt_type;

typedef struct cli_option {
    const char *name;  /* "--hop" (or "-o") */
    const char *alias; /* a second name: "-o" for "--output"; NULL */
    cli_opt_type type;
    void *dst;
    double lo, hi;       /* CLI_INT, CLI_UINT, CLI_ULL, CLI_DOUBLE: the accepted range */
    const char *choices; /* CLI_CHOICE: "ce|focal" */
    const char *meta;    /* the value's name in the help: "N", "HZ", "MODEL" */
    const char *help;    /* what it does, without the default (lines split with '\n') */
    int *given;          /* set to 1 when the option is given; NULL: not kept */
    const void *def;     /* the default shown, of dst's type, when dst does not hold it (a "not given" sentinel) */
    int nodef;           /* 1: show no default (dst's value before parsing is no default to speak of) */
    int required;        /* CLI_STR: 1 when the command cannot run without it (cli_parse_req); not in the help */
    /* CLI_CUSTOM: returns 1, or 0 after printing the error (cli_usage_error or the cli_parse_* messages) */
    int (*parse)(const char *cmd, const char *name, const char *value, void *dst);
    /* CLI_CUSTOM, or any type whose default needs words: the default as text into buf (0: none to show) */
    int (*show)(const void *value, char *buf, size_t n);
} cli_option;

/* Table rows: {CLI_INT_OPT(name, &field, lo, hi), .meta = .., .help = ..}; _Generic refuses a wrong pointer. */
#define CLI_INT_OPT(n, d, l, h) .name = (n), .type = CLI_INT, .dst = _Generic((d), int * : (d)), .lo = (l), .hi = (h)
#define CLI_UINT_OPT(n, d, l, h)                                                                                       \
    .name = (n), .type = CLI_UINT, .dst = _Generic((d), unsigned * : (d)), .lo = (l), .hi = (h)
#define CLI_ULL_OPT(n, d, l, h)                                                                                        \
    .name = (n), .type = CLI_ULL, .dst = _Generic((d), unsigned long long * : (d)), .lo = (l), .hi = (h)
#define CLI_U64_OPT(n, d, l, h)                                                                                        \
    .name = (n), .type = CLI_U64, .dst = _Generic((d), uint64_t * : (d)), .lo = (l), .hi = (h)
#define CLI_DBL_OPT(n, d, l, h)                                                                                        \
    .name = (n), .type = CLI_DOUBLE, .dst = _Generic((d), double * : (d)), .lo = (l), .hi = (h)
#define CLI_STR_OPT(n, d)          .name = (n), .type = CLI_STR, .dst = _Generic((d), const char ** : (d))
#define CLI_FLAG_OPT(n, d)         .name = (n), .type = CLI_FLAG, .dst = _Generic((d), int * : (d))
#define CLI_CHOICE_OPT(n, d, c)    .name = (n), .type = CLI_CHOICE, .dst = _Generic((d), int * : (d)), .choices = (c)
#define CLI_CUSTOM_OPT(n, d, p, s) .name = (n), .type = CLI_CUSTOM, .dst = (d), .parse = (p), .show = (s)

/* The -o/--output row of a command that writes one file, "-" for standard output (the command refuses no -o):
 * {CLI_OUTPUT_ROW(&out, "OUT.wav", "where to write the audio")}. */
#define CLI_OUTPUT_ROW(d, m, what)                                                                                     \
    CLI_STR_OPT("--output", d), .alias = "-o", .meta = (m), .help = what " (required; - = standard output)"
/* Rows several commands share word for word: {CLI_SPLITS_ROW(&splits)}, {CLI_THREADS_ROW(&threads)}. */
#define CLI_SPLITS_ROW(d)  CLI_STR_OPT("--splits", d), .meta = "SPLIT.json", .help = "the split file"
#define CLI_THREADS_ROW(d) CLI_INT_OPT("--threads", d, 1, 256), .meta = "N", .help = "threads"

/* One group of options, printed under its title (NULL: "options:"); a table ends with {.name = NULL}. */
typedef struct cli_group {
    const char *title;
    const cli_option *opts;
} cli_group;

#define CLI_MAX_GROUPS 4
typedef struct cli_spec {
    const char *cmd;   /* "transcribe" or "plot loss": the name in messages */
    const char *usage; /* the help's text before the options (usage lines and what the command does) */
    cli_group groups[CLI_MAX_GROUPS];
    const char *epilog; /* the help's text after the options (NULL: none) */
} cli_spec;

/* Parses argv[1..argc-1] against the spec. -h/--help anywhere prints the help (nothing applied) and returns 0;
 * a usage error is printed and returns 2; otherwise returns -1 with the values stored, and the positional
 * arguments moved to argv[1 .. *n_pos] in their order ("-" is positional: standard input/output). */
int cli_parse(int argc, char **argv, const cli_spec *spec, int *n_pos);
/* cli_parse, then the positional arguments into *pos[0 .. max_pos-1] (NULL where not given); more than max_pos
 * is the usage error "too many arguments" (2). Returns as cli_parse:
 *   if ((rc = cli_parse_pos(argc, argv, &spec, (const char **[]){&model, &ds}, 2)) >= 0) return rc; */
int cli_parse_pos(int argc, char **argv, const cli_spec *spec, const char **const *pos, int max_pos);
/* cli_parse_pos, but the first argument beyond max_pos is named: the usage error "unexpected argument 'X'" (2) */
int cli_parse_upto(int argc, char **argv, const cli_spec *spec, const char **const *pos, int max_pos);
/* cli_parse_pos, then what the command cannot run without: the first n_req positional arguments and every CLI_STR
 * row marked .required = 1; one missing is the usage error "needs WHAT" (2), WHAT naming them all:
 *   int rc = cli_parse_req(argc, argv, &spec, (const char **[]){&model, &ds}, 2, 2, "MODEL, DATASET and -o OUT"); */
int cli_parse_req(int argc, char **argv, const cli_spec *spec, const char **const *pos, int max_pos, int n_req,
                  const char *what);
/* The help (usage, every option with its value type, range and default, epilog) to out. */
void cli_print_help(FILE *out, const cli_spec *spec);
/* The default of one option as cli_print_help shows it ("" when none): for tests and the help. */
void cli_opt_default(const cli_option *o, char *buf, size_t n);

#endif
