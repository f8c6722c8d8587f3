/* The command line's option tables (src/cli/opts.c): the parser against a table of every value type (values,
 * ranges, choices, aliases, "--opt=VALUE", positionals, the usage errors' exit code 2, --help storing nothing), and
 * every command's --help against the library: it exits 0 listing its options, and the defaults it prints are the
 * *_default_params() values (the built a2m, $A2M_BIN). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a2m/audio.h"
#include "a2m/baseline.h"
#include "a2m/cqt.h"
#include "a2m/dataset.h"
#include "a2m/embed.h"
#include "a2m/features.h"
#include "a2m/gen.h"
#include "a2m/metrics.h"
#include "a2m/midi.h"
#include "a2m/train.h"
#include "a2m/transcribe.h"
#include "check.h"
#include "cli/cli.h"
#include "cli/opts.h"

#define T(c)   CHECK(c, "%s", "")
#define REQ(c) REQUIRE(c, "%s", "")

typedef struct vals {
    int flag, off, i, i_given, choice;
    unsigned u;
    unsigned long long ull;
    uint64_t u64;
    double d;
    const char *s;
    a2m_label_params lp;
} vals;

static vals defaults(void) {
    vals v = {.off = 1, .i = 7, .u = 3, .ull = 5, .u64 = 9, .d = 0.5, .s = "dflt", .lp = a2m_label_default_params()};
    return v;
}

/* Parses the NULL-ended args (after the command name "t") into *v: cli_parse's return, positionals in pos */
static int parse(vals *v, const char *const *args, int *n_pos, char **pos) {
    const cli_option opts[] = {
        {CLI_FLAG_OPT("--flag", &v->flag), .help = "a flag"},
        {.name = "--keep", .type = CLI_FLAG_OFF, .dst = &v->off, .help = "turns off"},
        {CLI_INT_OPT("--int", &v->i, -5, 10), .alias = "-i", .meta = "N", .given = &v->i_given, .help = "an int"},
        {CLI_UINT_OPT("--uint", &v->u, 0, 100), .meta = "N", .help = "unsigned"},
        {CLI_ULL_OPT("--ull", &v->ull, 0, 2147483647), .meta = "N", .help = "unsigned long long"},
        {CLI_U64_OPT("--u64", &v->u64, 0, 1000), .meta = "N", .help = "uint64_t"},
        {CLI_DBL_OPT("--dbl", &v->d, -1, 1), .meta = "X", .help = "a number\nover two lines"},
        {CLI_STR_OPT("--str", &v->s), .meta = "S", .help = "text"},
        {CLI_CHOICE_OPT("--choice", &v->choice, "ab|cd|ef"), .help = "one of three"},
        {CLI_CUSTOM_OPT("--notes", &v->lp, cli_opt_notes, cli_show_notes), .meta = "LIST", .help = "notes"},
        {.name = NULL}};
    const cli_spec spec = {"t", "usage: a2m t [options] ARG...\n", {{NULL, opts}}, "after\n"};
    char *argv[32];
    int argc = 0;
    argv[argc++] = "t";
    for (int k = 0; args[k]; k++) argv[argc++] = (char *)args[k];
    argv[argc] = NULL;
    int rc = cli_parse(argc, argv, &spec, n_pos);
    for (int k = 0; rc < 0 && k < *n_pos; k++) pos[k] = argv[1 + k];
    return rc;
}

static void test_parser(void) {
    vals v = defaults();
    char *pos[32];
    int n;
    const char *a1[] = {"x",          "--flag", "--keep",  "--int",       "-5", "--uint=100", "--ull",
                        "2147483647", "--u64",  "1000",    "--dbl=-0.25", "-",  "--str",      "--not-an-option",
                        "--choice",   "cd",     "--notes", "36-38,60",    "y",  NULL};
    T(parse(&v, a1, &n, pos) == -1);
    T(v.flag == 1 && v.off == 0 && v.i == -5 && v.i_given && v.u == 100 && v.ull == 2147483647ULL && v.u64 == 1000);
    T(v.d == -0.25 && !strcmp(v.s, "--not-an-option") && v.choice == 1);
    T(v.lp.n_notes == 4 && v.lp.notes[0] == 36 && v.lp.notes[2] == 38 && v.lp.notes[3] == 60);
    T(n == 3 && !strcmp(pos[0], "x") && !strcmp(pos[1], "-") && !strcmp(pos[2], "y")); /* in order, "-" too */
    v = defaults();
    T(parse(&v, (const char *[]){"-i", "3", NULL}, &n, pos) == -1 && v.i == 3 && n == 0); /* the alias */
    T(parse(&v, (const char *[]){"-i=4", NULL}, &n, pos) == -1 && v.i == 4);
    /* usage errors: exit code 2 */
    const char *bad[][3] = {{"--bogus", NULL},  {"--int", NULL},    {"--int", "11"},     {"--int", "1.5"},
                            {"--int", ""},      {"--uint", "-1"},   {"--dbl", "1.01"},   {"--dbl", "nan"},
                            {"--dbl", "inf"},   {"--choice", "a"},  {"--choice", "abc"}, {"--notes", "60,x"},
                            {"--notes", "128"}, {"--flag=1", NULL}, {"--u64", "1001"},   {"--intx", "1"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        v = defaults();
        T(parse(&v, bad[k], &n, pos) == 2);
    }
    /* --help anywhere prints the help and stores nothing; an option's value "-h" is no request for help */
    v = defaults();
    fflush(stdout);
    FILE *saved = stdout;
    stdout = tmpfile();
    int rc = parse(&v, (const char *[]){"--int", "9", "--help", NULL}, &n, pos);
    rewind(stdout);
    char buf[8192];
    size_t len = fread(buf, 1, sizeof buf - 1, stdout);
    buf[len] = '\0';
    fclose(stdout);
    stdout = saved;
    T(rc == 0 && v.i == 7 && !v.i_given);
    T(strstr(buf, "usage: a2m t [options] ARG...\n\noptions:\n") != NULL);
    T(strstr(buf, "  -i, --int N           an int [integer -5..10, default 7]\n") != NULL);
    T(strstr(buf,
             "  --dbl X               a number\n                        over two lines [number -1..1, default 0.5]\n"));
    T(strstr(buf, "  --choice ab|cd|ef     one of three [default ab]\n") != NULL);
    T(strstr(buf, "  --notes LIST          notes [default 60,64,67]\n") != NULL);
    T(strstr(buf, "  --str S               text [default dflt]\n") != NULL);
    T(strstr(buf, "  --flag                a flag\n") != NULL);
    T(strstr(buf, "\nafter\n") != NULL);
    v = defaults();
    T(parse(&v, (const char *[]){"--str", "-h", NULL}, &n, pos) == -1 && !strcmp(v.s, "-h"));
}

/* --notes of transcribe and eval: a set shown as cli_show_notes shows a list ("all" when empty); a parse error is a
 * usage error (0 from the parse function) and leaves the set empty */
static void test_note_set_option(void) {
    unsigned char set[16] = {0};
    char buf[256];
    T(cli_show_note_set(set, buf, sizeof buf) && !strcmp(buf, "all"));
    T(cli_opt_note_set("t", "--notes", "C3-G3,60,D4,127", set) == 1);
    cli_show_note_set(set, buf, sizeof buf);
    CHECK(!strcmp(buf, "48-55,60,62,127"), "shown: %s", buf);
    T(cli_opt_note_set("t", "--notes", "C3,Z", set) == 0 && set[48 / 8] == 0);
}

/* --notes of dataset and labels: an ordered class list, names as transcribe's set reads them; each item's notes
 * ascending, the items in the order given; what the set refuses, and an empty item, refused */
static void test_note_list(void) {
    int notes[64];
    T(cli_parse_note_list("G3,C3,E3", notes, 64) == 3 && notes[0] == 55 && notes[1] == 48 && notes[2] == 52);
    T(cli_parse_note_list("C2-C6", notes, 64) == 49 && notes[0] == 36 && notes[48] == 84);
    T(cli_parse_note_list("36-38,Bb4,60", notes, 64) == 5 && notes[2] == 38 && notes[3] == 70 && notes[4] == 60);
    T(cli_parse_note_list("C", notes, 64) == 11 && notes[0] == 0 && notes[10] == 120);
    T(cli_parse_note_list("36-84", notes, 48) == -1); /* 49 notes, room for 48 */
    T(cli_parse_note_list("60,C4,D4", notes, 2) == -1 && cli_parse_note_list("60,C4", notes, 2) == 2);
    char longest[80];
    memset(longest, '0', sizeof longest - 3), memcpy(longest + sizeof longest - 3, "60", 3); /* 000...060: 79 bytes */
    T(cli_parse_note_list(longest, notes, 64) == -1); /* an item longer than any note's text */
    const char *bad[] = {"", ",60", "60,", "60,,64", "84-36", "128", "H3", "C3-", "x"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        CHECK(cli_parse_note_list(bad[k], notes, 64) == -1, "'%s'", bad[k]);
}

/* cli_parse_pos: the positionals into their variables (NULL where not given), more than it takes refused (2) */
static void test_parse_pos(void) {
    int i = 0;
    const cli_option opts[] = {{CLI_INT_OPT("--int", &i, 0, 9), .help = "an int"}, {.name = NULL}};
    const cli_spec spec = {"t", NULL, {{NULL, opts}}, NULL};
    const char *a = "old", *b = "old";
    char *argv1[] = {"t", "x", "--int", "3", NULL};
    T(cli_parse_pos(4, argv1, &spec, (const char **[]){&a, &b}, 2) == -1);
    T(a && !strcmp(a, "x") && b == NULL && i == 3);
    char *argv2[] = {"t", "x", "y", "z", NULL};
    T(cli_parse_pos(4, argv2, &spec, (const char **[]){&a, &b}, 2) == 2);
    char *argv3[] = {"t", "-", "y", NULL};
    T(cli_parse_pos(3, argv3, &spec, (const char **[]){&a, &b}, 2) == -1 && !strcmp(a, "-") && !strcmp(b, "y"));
    char *argv4[] = {"t", "--int", "10", NULL};
    T(cli_parse_pos(3, argv4, &spec, (const char **[]){&a}, 1) == 2); /* cli_parse's own errors pass through */
}

/* cli_parse_upto: as cli_parse_pos, but the first argument beyond max_pos is named in the usage error */
static void test_parse_upto(void) {
    const cli_option opts[] = {{CLI_FLAG_OPT("--f", &(int){0}), .help = "a flag"}, {.name = NULL}};
    const cli_spec spec = {"t", NULL, {{NULL, opts}}, NULL};
    const char *a = "old";
    char err[512];
    T(cli_parse_upto(3, (char *[]){"t", "--f", "x", NULL}, &spec, (const char **[]){&a}, 1) == -1 && !strcmp(a, "x"));
    T(cli_parse_upto(2, (char *[]){"t", "--f", NULL}, &spec, (const char **[]){&a}, 1) == -1 && a == NULL);
    T(cli_parse_upto(2, (char *[]){"t", "--f", NULL}, &spec, NULL, 0) == -1);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    REQ(tmp && saved >= 0);
    fflush(stderr), dup2(fileno(tmp), 2);
    int rc1 = cli_parse_upto(4, (char *[]){"t", "x", "--f", "y", NULL}, &spec, (const char **[]){&a}, 1);
    int rc0 = cli_parse_upto(2, (char *[]){"t", "z", NULL}, &spec, NULL, 0);
    fflush(stderr), dup2(saved, 2), close(saved);
    rewind(tmp);
    err[fread(err, 1, sizeof err - 1, tmp)] = '\0';
    fclose(tmp);
    T(rc1 == 2 && rc0 == 2);
    T(!strcmp(err, "a2m t: unexpected argument 'y'\nTry 'a2m t --help'.\n"
                   "a2m t: unexpected argument 'z'\nTry 'a2m t --help'.\n"));
}

/* cli_parse_req with argv's arguments (NULL-terminated) on a table of -o (required) and --int; its stderr into err */
static int parse_req(char **argv, const char **a, const char **b, const char **o, char *err, size_t n) {
    int i = 0, argc = 0;
    const cli_option opts[] = {{CLI_STR_OPT("-o", o), .meta = "OUT", .help = "out", .required = 1},
                               {CLI_INT_OPT("--int", &i, 0, 9), .help = "an int"},
                               {.name = NULL}};
    const cli_spec spec = {"t", "usage: t A [B] -o OUT\n", {{NULL, opts}}, NULL};
    while (argv[argc]) argc++;
    *a = *b = *o = NULL;
    FILE *tmp = tmpfile();
    int saved = dup(2);
    if (!tmp || saved < 0) return 99;
    fflush(stderr), dup2(fileno(tmp), 2);
    int rc = cli_parse_req(argc, argv, &spec, (const char **[]){a, b}, 2, 1, "A and -o OUT");
    fflush(stderr), dup2(saved, 2), close(saved);
    rewind(tmp);
    size_t got = fread(err, 1, n - 1, tmp);
    err[got] = '\0';
    fclose(tmp);
    return rc;
}

/* cli_parse_req: the first n_req positionals and the .required rows, one missing is "needs WHAT" (2); --help and
 * cli_parse_pos's errors come first; optional positionals beyond n_req may be absent */
static void test_parse_req(void) {
    const char *a, *b, *o;
    char err[512];
    T(parse_req((char *[]){"t", "x", "-o", "y", NULL}, &a, &b, &o, err, sizeof err) == -1);
    T(a && !strcmp(a, "x") && !b && o && !strcmp(o, "y") && !err[0]);
    T(parse_req((char *[]){"t", "-o", "y", "x", "z", NULL}, &a, &b, &o, err, sizeof err) == -1 && b && !strcmp(b, "z"));
    const char *needs = "a2m t: needs A and -o OUT\nTry 'a2m t --help'.\n";
    T(parse_req((char *[]){"t", "x", NULL}, &a, &b, &o, err, sizeof err) == 2 && !strcmp(err, needs)); /* no -o */
    T(parse_req((char *[]){"t", "-o", "y", NULL}, &a, &b, &o, err, sizeof err) == 2 && !strcmp(err, needs));
    T(parse_req((char *[]){"t", NULL}, &a, &b, &o, err, sizeof err) == 2 && !strcmp(err, needs));
    T(parse_req((char *[]){"t", "x", "y", "z", NULL}, &a, &b, &o, err, sizeof err) == 2 && strstr(err, "too many"));
    T(parse_req((char *[]){"t", "--int", "10", NULL}, &a, &b, &o, err, sizeof err) == 2 && strstr(err, "--int"));
    T(parse_req((char *[]){"t", "--help", NULL}, &a, &b, &o, err, sizeof err) == 0 && !err[0]); /* help, no -o */
}

/* ---- every command's help against the library --------------------------------------------------------------- */

static char *run_out(const char *cmd) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *s = malloc(cap);
    for (size_t r; s && (r = fread(s + len, 1, cap - 1 - len, p)) > 0;) {
        len += r;
        if (len + 1 == cap) {
            char *g = realloc(s, cap *= 2);
            if (!g) break;
            s = g;
        }
    }
    pclose(p);
    if (s) s[len] = '\0';
    return s;
}

/* The default printed for option opt in help ("" when none): the text after "default " up to ']' */
static void shown_default(const char *help, const char *opt, char *out, size_t n) {
    out[0] = '\0';
    char key[64];
    snprintf(key, sizeof key, "%s ", opt);
    for (const char *line = help; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *name = line + 2;
        if (strncmp(line, "  -", 3)) continue;
        if (!strncmp(name, "-o, ", 4)) name += 4;
        if (strncmp(name, key, strlen(key)) && !(strncmp(name, opt, strlen(opt)) == 0 && name[strlen(opt)] == '\n'))
            continue;
        const char *end = line; /* the option's block: up to the next option line or a blank line */
        while ((end = strchr(end + 1, '\n')) && end[1] == ' ' && end[2] == ' ' && end[3] == ' ') {}
        const char *d = strstr(line, "default ");
        if (!d || (end && d > end)) return;
        d += 8;
        size_t k = strcspn(d, "]");
        snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), d);
        return;
    }
}

static char *help_of(const char *bin, const char *cmd) {
    char line[4200];
    snprintf(line, sizeof line, "'%s' %s --help 2>&1", bin, cmd);
    return run_out(line);
}

/* opt's default in cmd's help is expect (as %.6g for numbers) */
static void check_default(const char *help, const char *cmd, const char *opt, const char *expect) {
    char got[256];
    shown_default(help, opt, got, sizeof got);
    char next = got[strlen(expect)]; /* after the value: its end, or words ("; the transformer 0.1", " at 16000 Hz") */
    if (strncmp(got, expect, strlen(expect)) != 0 || isalnum((unsigned char)next) || next == '.' || next == ',') {
        fprintf(stderr, "a2m %s --help: %s shows default '%s', the library's is '%s'\n", cmd, opt, got, expect);
        check_failed++;
    }
}

/* a number's default, as the help prints it */
static void def_d(const char *help, const char *cmd, const char *opt, double x) {
    char e[64];
    snprintf(e, sizeof e, "%.6g", x);
    check_default(help, cmd, opt, e);
}
#define DEF_D(help, cmd, opt, x) def_d(help, cmd, opt, (double)(x))

static void check_transcribe(const char *bin) {
    char *h = help_of(bin, "transcribe");
    a2m_transcribe_params p = a2m_transcribe_default_params();
    a2m_midi_write_params m = a2m_midi_write_default_params();
    REQ(h != NULL);
    DEF_D(h, "transcribe", "--window", p.window_s), DEF_D(h, "transcribe", "--hop", p.hop_s);
    DEF_D(h, "transcribe", "--onset-threshold", p.onset_threshold),
        DEF_D(h, "transcribe", "--min-voicing", p.min_voicing);
    DEF_D(h, "transcribe", "--pitch-cost", p.pitch_cost), DEF_D(h, "transcribe", "--glide", p.glide_ms);
    DEF_D(h, "transcribe", "--legato", p.legato_ms), DEF_D(h, "transcribe", "--delay", p.delay_ms);
    DEF_D(h, "transcribe", "--key-weight", p.key_weight), DEF_D(h, "transcribe", "--onset-snap", p.onset_snap_ms);
    DEF_D(h, "transcribe", "--dip", p.dip_depth), DEF_D(h, "transcribe", "--tempo", m.tempo_bpm);
    DEF_D(h, "transcribe", "--ticks-per-beat", m.ticks_per_beat), DEF_D(h, "transcribe", "--program", m.program);
    check_default(h, "transcribe", "--precision", a2m_precision_name(p.precision));
    check_default(h, "transcribe", "--tuning", p.tuning == A2M_TUNING_AUTO ? "auto" : "off");
    free(h);
}

static void check_train(const char *bin) {
    char *h = help_of(bin, "train");
    a2m_train_params p = a2m_train_default_params();
    REQ(h != NULL);
    DEF_D(h, "train", "--hidden", p.hidden), DEF_D(h, "train", "--lr", p.lr), DEF_D(h, "train", "--batch", p.batch);
    DEF_D(h, "train", "--epochs", p.epochs), DEF_D(h, "train", "--seed", p.seed);
    DEF_D(h, "train", "--class-weight-power", p.class_weight_power), DEF_D(h, "train", "--patience", p.patience);
    DEF_D(h, "train", "--plateau", p.plateau), DEF_D(h, "train", "--weight-decay", p.weight_decay);
    DEF_D(h, "train", "--clip", p.clip_norm), DEF_D(h, "train", "--window", p.window);
    DEF_D(h, "train", "--augment-gain", p.augment_gain_db), DEF_D(h, "train", "--augment-shift", p.augment_shift_bins);
    DEF_D(h, "train", "--onset-weight", p.onset_weight), DEF_D(h, "train", "--augment-transpose", p.augment_transpose);
    DEF_D(h, "train", "--label-smoothing", p.label_smoothing), DEF_D(h, "train", "--ema", p.ema);
    DEF_D(h, "train", "--concat", p.concat), DEF_D(h, "train", "--threads", p.threads);
    DEF_D(h, "train", "--gamma", p.focal_gamma);
    check_default(h, "train", "--model", p.arch);
    check_default(h, "train", "--select", p.select_by_loss ? "loss" : "f1");
    free(h);
}

static void check_features(const char *bin, const char *cmd) {
    char *h = help_of(bin, cmd);
    a2m_cqt_params c = a2m_cqt_default_params();
    a2m_feat_params f = a2m_feat_default_params();
    REQ(h != NULL);
    DEF_D(h, cmd, "--sr", c.sample_rate), DEF_D(h, cmd, "--hop", c.hop), DEF_D(h, cmd, "--bins", c.n_bins);
    DEF_D(h, cmd, "--bpo", c.bins_per_octave), DEF_D(h, cmd, "--ref", c.ref), DEF_D(h, cmd, "--amin", c.amin);
    DEF_D(h, cmd, "--top-db", c.top_db), DEF_D(h, cmd, "--n-fft", f.n_fft), DEF_D(h, cmd, "--n-mels", f.n_mels);
    DEF_D(h, cmd, "--n-mfcc", f.n_mfcc), DEF_D(h, cmd, "--order", f.order),
        DEF_D(h, cmd, "--frame-length", f.frame_length);
    check_default(h, cmd, "--kind", a2m_feat_kind_name(f.kind));
    char e[64];
    snprintf(e, sizeof e, "cqt %.6g", c.fmin);
    check_default(h, cmd, "--fmin", e);
    free(h);
}

static void check_data_commands(const char *bin) {
    a2m_dataset_params d = a2m_dataset_default_params();
    a2m_label_params l = a2m_label_default_params();
    char *h = help_of(bin, "dataset"), notes[64] = "";
    REQ(h != NULL);
    DEF_D(h, "dataset", "--take-seconds", d.take_seconds), DEF_D(h, "dataset", "--expect-frames", d.expect_frames);
    DEF_D(h, "dataset", "--onset-frames", d.labels.onset_frames),
        DEF_D(h, "dataset", "--transpose", d.labels.transpose);
    for (int k = 0; k < l.n_notes; k++)
        snprintf(notes + strlen(notes), sizeof notes - strlen(notes), "%s%d", k ? "," : "", l.notes[k]);
    check_default(h, "dataset", "--notes", notes);
    free(h);
    REQ((h = help_of(bin, "labels")) != NULL);
    DEF_D(h, "labels", "--sr", l.sample_rate), DEF_D(h, "labels", "--hop", l.hop),
        DEF_D(h, "labels", "--duration", d.take_seconds);
    check_default(h, "labels", "--notes", notes);
    free(h);
    a2m_synth_params s = a2m_synth_default_params();
    REQ((h = help_of(bin, "synth")) != NULL);
    DEF_D(h, "synth", "--sr", s.rate), DEF_D(h, "synth", "--seed", s.seed), DEF_D(h, "synth", "--gain", s.gain);
    DEF_D(h, "synth", "--vibrato-cents", s.vibrato_cents), DEF_D(h, "synth", "--breath", s.breath);
    DEF_D(h, "synth", "--transpose", s.transpose);
    free(h);
    a2m_melody_params m = a2m_melody_default_params();
    REQ((h = help_of(bin, "gendata")) != NULL);
    DEF_D(h, "gendata", "--seconds", m.seconds);
    char range[32];
    snprintf(range, sizeof range, "%d..%d", m.lo, m.hi);
    check_default(h, "gendata", "--pitches", range);
    free(h);
}

static void check_other_commands(const char *bin) {
    a2m_logreg_params lr = a2m_logreg_default_params();
    char *h = help_of(bin, "linear");
    REQ(h != NULL);
    DEF_D(h, "linear", "--epochs", lr.epochs), DEF_D(h, "linear", "--batch", lr.batch),
        DEF_D(h, "linear", "--lr", lr.lr);
    DEF_D(h, "linear", "--l2", lr.l2), DEF_D(h, "linear", "--seed", lr.seed),
        DEF_D(h, "linear", "--threads", lr.n_threads);
    free(h);
    a2m_umap_params u = a2m_umap_default_params();
    REQ((h = help_of(bin, "embed")) != NULL);
    DEF_D(h, "embed", "--n-neighbors", u.n_neighbors), DEF_D(h, "embed", "--min-dist", u.min_dist);
    DEF_D(h, "embed", "--epochs", u.n_epochs), DEF_D(h, "embed", "--seed", u.seed),
        DEF_D(h, "embed", "--threads", u.n_threads);
    check_default(h, "embed", "--init", u.spectral_init ? "spectral" : "random");
    free(h);
    a2m_note_metric_params c = a2m_note_metric_default_params();
    REQ((h = help_of(bin, "compare")) != NULL);
    DEF_D(h, "compare", "--onset-tolerance", c.onset_tolerance),
        DEF_D(h, "compare", "--pitch-tolerance", c.pitch_tolerance);
    DEF_D(h, "compare", "--offset-ratio", c.offset_ratio), DEF_D(h, "compare", "--offset-min", c.offset_min_tolerance);
    free(h);
}

/* cmd's --help exits 0 and lists options as the printer does (a command's help and its parser are one table: every
 * option listed is one the parser takes). cmd: "transcribe" or "plot search". */
static void check_help_exits(const char *bin, const char *cmd) {
    char run[4400];
    snprintf(run, sizeof run, "'%s' %s --help 2>&1; echo \"exit $?\"", bin, cmd);
    char *out = run_out(run);
    if (!out || !strstr(out, "\noptions:\n  -") || !strstr(out, "\nexit 0")) {
        fprintf(stderr, "a2m %s --help: not a help with options, or not exit 0: %s\n", cmd, out ? out : "");
        check_failed++;
    }
    free(out);
}

static void test_commands(void) {
    const char *bin = getenv("A2M_BIN");
    if (!bin || access(bin, X_OK)) {
        printf("skip: the commands' --help (A2M_BIN not set or not there)\n");
        return;
    }
    check_transcribe(bin), check_train(bin), check_features(bin, "features"), check_features(bin, "dataset");
    check_data_commands(bin), check_other_commands(bin);
    char *h, line[4200];
    snprintf(line, sizeof line, "'%s' help", bin);
    REQ((h = run_out(line)) != NULL);
    int n = 0;
    for (const char *l = strstr(h, "commands:\n"); l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char name[32];
        if (l[0] != ' ' || l[1] != ' ' || l[2] == ' ' || sscanf(l + 2, "%31s", name) != 1) continue;
        check_help_exits(bin, name), n++;
    }
    check_help_exits(bin, "plot search");
    T(n >= 20);
    free(h);
}

int main(void) {
    test_note_list();
    test_parser();
    test_parse_pos();
    test_note_set_option();
    test_parse_upto();
    test_parse_req();
    test_commands();
    return test_done("test_cli_opts");
}
