/* libFuzzer target: the command line's option parser (src/cli/opts.c) on arbitrary arguments: the bytes split at
 * NULs into argv, parsed against a table of every value type; a parse that succeeds leaves every value in its
 * range and the positionals among the arguments (cli_parse, then cli_parse_upto on a copy). Messages go to
 * /dev/null (the FILE streams only: the sanitizers' reports still reach file descriptor 2). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    stdout = fopen("/dev/null", "w");
    stderr = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *buf = malloc(size + 1), *argv[258];
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 0;
    argv[argc++] = "fuzz";
    for (char *p = buf; p < buf + size && argc < 257; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;
    char *argv2[258]; /* a second parse's own copy: cli_parse moves the positionals to the front of its argv */
    memcpy(argv2, argv, (size_t)(argc + 1) * sizeof *argv);
    int flag = 0, off = 1, i = 0, choice = 0, given = 0;
    unsigned u = 0;
    unsigned long long ull = 0;
    uint64_t u64 = 0;
    double d = 0;
    const char *s = NULL;
    a2m_label_params lp = a2m_label_default_params();
    unsigned char set[16] = {0};
    const cli_option opts[] = {
        {CLI_FLAG_OPT("--flag", &flag), .help = "f"},
        {.name = "--keep", .type = CLI_FLAG_OFF, .dst = &off, .help = "k"},
        {CLI_INT_OPT("--int", &i, -5, 10), .alias = "-i", .given = &given, .meta = "N", .help = "i"},
        {CLI_UINT_OPT("--uint", &u, 0, 100), .meta = "N", .help = "u"},
        {CLI_ULL_OPT("--ull", &ull, 0, 2147483647), .meta = "N", .help = "l"},
        {CLI_U64_OPT("--u64", &u64, 0, 1000), .meta = "N", .help = "6"},
        {CLI_DBL_OPT("--dbl", &d, -1, 1), .meta = "X", .help = "d\nd"},
        {CLI_STR_OPT("--str", &s), .meta = "S", .help = "s"},
        {CLI_CHOICE_OPT("--choice", &choice, "ab|cd|ef"), .help = "c"},
        {CLI_CUSTOM_OPT("--notes", &lp, cli_opt_notes, cli_show_notes), .meta = "LIST", .help = "n"},
        {CLI_CUSTOM_OPT("--note-set", set, cli_opt_note_set, cli_show_note_set), .meta = "LIST", .help = "s"},
        {.name = NULL}};
    const cli_spec spec = {"fuzz", "usage\n", {{NULL, opts}}, NULL};
    int n_pos, rc = cli_parse(argc, argv, &spec, &n_pos);
    if (rc == -1) {
        if (i < -5 || i > 10 || u > 100 || ull > 2147483647ULL || u64 > 1000 || !(d >= -1 && d <= 1) || choice < 0 ||
            choice > 2 || lp.n_notes < 1 || lp.n_notes > A2M_MAX_CLASSES - 1 || n_pos < 0 || n_pos >= argc)
            abort();
        for (int k = 0; k < lp.n_notes; k++)
            if (lp.notes[k] < 0 || lp.notes[k] > 127) abort();
    } else if (rc != 0 && rc != 2) abort();
    /* cli_parse_upto: one positional at most, NULL or one of the arguments, a second one a usage error */
    const char *first = "unset";
    rc = cli_parse_upto(argc, argv2, &spec, (const char **[]){&first}, 1);
    if (rc == -1 && first && !(first >= buf && first <= buf + size)) abort();
    if (rc != -1 && rc != 0 && rc != 2) abort();
    free(buf);
    return 0;
}
