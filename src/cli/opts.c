#include "cli/opts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int takes_value(const cli_option *o) { return o->type != CLI_FLAG && o->type != CLI_FLAG_OFF; }

/* The option argv names ("--hop", "--hop=2", an alias), *value set to the text after '=' (else NULL). */
static const cli_option *find(const cli_spec *s, const char *arg, const char **value) {
    for (int g = 0; g < CLI_MAX_GROUPS && s->groups[g].opts; g++)
        for (const cli_option *o = s->groups[g].opts; o->name; o++) {
            const char *names[2] = {o->name, o->alias};
            for (int k = 0; k < 2 && names[k]; k++) {
                size_t n = strlen(names[k]);
                if (strncmp(arg, names[k], n) != 0) continue;
                if (arg[n] == '\0') return *value = NULL, o;
                if (arg[n] == '=' && takes_value(o)) return *value = arg + n + 1, o;
            }
        }
    return NULL;
}

/* Strict whole numbers (as cli_parse_int, for every integer width) */
static int parse_whole(const char *cmd, const cli_option *o, const char *v, long long *out) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || (double)x < o->lo || (double)x > o->hi) {
        fprintf(stderr, "a2m %s: %s expects a whole number from %.0f to %.0f, got '%s'\n", cmd, o->name, o->lo, o->hi,
                v);
        return 0;
    }
    *out = x;
    return 1;
}

/* The index of v in "a|b|c", or -1 */
static int choice_index(const char *choices, const char *v) {
    int k = 0;
    for (const char *c = choices;; k++) {
        const char *bar = strchr(c, '|');
        size_t n = bar ? (size_t)(bar - c) : strlen(c);
        if (strlen(v) == n && !strncmp(c, v, n)) return k;
        if (!bar) return -1;
        c = bar + 1;
    }
}

/* "a|b|c" -> "a, b or c" */
static void choice_list(const char *choices, char *buf, size_t n) {
    size_t k = 0;
    for (const char *c = choices; *c && k + 5 < n; c++) {
        if (*c != '|') buf[k++] = *c;
        else if (strchr(c + 1, '|')) buf[k++] = ',', buf[k++] = ' ';
        else memcpy(buf + k, " or ", 4), k += 4;
    }
    buf[k] = '\0';
}

/* The k-th choice of "a|b|c" into buf */
static void choice_name(const char *choices, int k, char *buf, size_t n) {
    const char *c = choices;
    for (int i = 0; i < k && c; i++) c = strchr(c, '|'), c = c ? c + 1 : NULL;
    if (!c) c = "?";
    const char *bar = strchr(c, '|');
    snprintf(buf, n, "%.*s", (int)(bar ? (size_t)(bar - c) : strlen(c)), c);
}

/* Stores value v of option o; 1, or 0 after printing the error */
static int store(const char *cmd, const cli_option *o, const char *v) {
    long long w;
    switch (o->type) {
    case CLI_FLAG: *(int *)o->dst = 1; return 1;
    case CLI_FLAG_OFF: *(int *)o->dst = 0; return 1;
    case CLI_INT: return parse_whole(cmd, o, v, &w) ? (*(int *)o->dst = (int)w, 1) : 0;
    case CLI_UINT: return parse_whole(cmd, o, v, &w) ? (*(unsigned *)o->dst = (unsigned)w, 1) : 0;
    case CLI_ULL: return parse_whole(cmd, o, v, &w) ? (*(unsigned long long *)o->dst = (unsigned long long)w, 1) : 0;
    case CLI_U64: return parse_whole(cmd, o, v, &w) ? (*(uint64_t *)o->dst = (uint64_t)w, 1) : 0;
    case CLI_DOUBLE: return cli_parse_double(cmd, o->name, v, o->lo, o->hi, o->dst);
    case CLI_STR: *(const char **)o->dst = v; return 1;
    case CLI_CHOICE: {
        int k = choice_index(o->choices, v);
        if (k >= 0) return *(int *)o->dst = k, 1;
        char list[256];
        choice_list(o->choices, list, sizeof list);
        cli_usage_error(cmd, "%s expects %s, got '%s'", o->name, list, v);
        return 0;
    }
    case CLI_CUSTOM: return o->parse(cmd, o->name, v, o->dst);
    }
    return 0;
}

/* -h/--help among the arguments (an option's value, as in "--model -h", is no request for help) */
static int wants_help(int argc, char **argv, const cli_spec *s) {
    for (int i = 1; i < argc; i++) {
        const char *v;
        const cli_option *o = find(s, argv[i], &v);
        if (cli_is_help(argv[i])) return 1;
        if (o && takes_value(o) && !v) i++;
    }
    return 0;
}

int cli_parse(int argc, char **argv, const cli_spec *s, int *n_pos) {
    *n_pos = 0;
    if (wants_help(argc, argv, s)) { /* before anything is stored: the destinations hold the defaults */
        cli_print_help(stdout, s);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (a[0] != '-' || !a[1]) {
            argv[1 + (*n_pos)++] = argv[i];
            continue;
        }
        const cli_option *o = find(s, a, &v);
        if (!o) return cli_usage_error(s->cmd, "unknown option '%s'", a);
        if (takes_value(o) && !v) {
            if (i + 1 >= argc) return cli_usage_error(s->cmd, "option %s needs a value", a);
            v = argv[++i];
        }
        if (!store(s->cmd, o, v)) return 2;
        if (o->given) *o->given = 1;
    }
    return -1;
}

/* cli_parse_pos and cli_parse_upto: an argument beyond max_pos named in the error, or not */
static int parse_pos(int argc, char **argv, const cli_spec *spec, const char **const *pos, int max_pos, int named) {
    int n_pos, rc = cli_parse(argc, argv, spec, &n_pos);
    if (rc >= 0) return rc;
    if (n_pos > max_pos && named) return cli_usage_error(spec->cmd, "unexpected argument '%s'", argv[1 + max_pos]);
    if (n_pos > max_pos) return cli_usage_error(spec->cmd, "too many arguments");
    for (int i = 0; i < max_pos; i++) *pos[i] = i < n_pos ? argv[1 + i] : NULL;
    return -1;
}

int cli_parse_pos(int argc, char **argv, const cli_spec *spec, const char **const *pos, int max_pos) {
    return parse_pos(argc, argv, spec, pos, max_pos, 0);
}

int cli_parse_upto(int argc, char **argv, const cli_spec *spec, const char **const *pos, int max_pos) {
    return parse_pos(argc, argv, spec, pos, max_pos, 1);
}

int cli_parse_req(int argc, char **argv, const cli_spec *spec, const char **const *pos, int max_pos, int n_req,
                  const char *what) {
    int rc = cli_parse_pos(argc, argv, spec, pos, max_pos), missing = 0;
    if (rc >= 0) return rc;
    for (int i = 0; i < n_req && i < max_pos; i++) missing |= !*pos[i];
    for (int g = 0; g < CLI_MAX_GROUPS && spec->groups[g].opts; g++)
        for (const cli_option *o = spec->groups[g].opts; o->name; o++)
            missing |= o->required && o->type == CLI_STR && !*(const char *const *)o->dst;
    return missing ? cli_usage_error(spec->cmd, "needs %s", what) : -1;
}

void cli_opt_default(const cli_option *o, char *buf, size_t n) {
    const void *d = o->def ? o->def : o->dst;
    buf[0] = '\0';
    if (o->nodef) return;
    if (o->show) {
        if (!o->show(d, buf, n)) buf[0] = '\0';
        return;
    }
    switch (o->type) {
    case CLI_FLAG:
    case CLI_FLAG_OFF: break;
    case CLI_INT: snprintf(buf, n, "%d", *(const int *)d); break;
    case CLI_UINT: snprintf(buf, n, "%u", *(const unsigned *)d); break;
    case CLI_ULL: snprintf(buf, n, "%llu", *(const unsigned long long *)d); break;
    case CLI_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)d); break;
    case CLI_DOUBLE: snprintf(buf, n, "%.6g", *(const double *)d); break;
    case CLI_STR: snprintf(buf, n, "%s", *(const char *const *)d ? *(const char *const *)d : ""); break;
    case CLI_CHOICE: choice_name(o->choices, *(const int *)d, buf, n); break;
    case CLI_CUSTOM: break;
    }
}

/* " [integer 1..4096, default 128]": the value's type and range, and the default */
static void opt_tail(const cli_option *o, char *buf, size_t n) {
    char def[256], kind[320] = "";
    cli_opt_default(o, def, sizeof def);
    switch (o->type) {
    case CLI_INT:
    case CLI_UINT:
    case CLI_ULL:
    case CLI_U64: snprintf(kind, sizeof kind, "integer %.0f..%.0f", o->lo, o->hi); break;
    case CLI_DOUBLE: snprintf(kind, sizeof kind, "number %g..%g", o->lo, o->hi); break;
    case CLI_CHOICE:
        if (o->meta) snprintf(kind, sizeof kind, "%s", o->choices);
        break;
    default: break;
    }
    if (kind[0] && def[0]) snprintf(buf, n, " [%s, default %s]", kind, def);
    else if (kind[0] || def[0]) snprintf(buf, n, " [%s%s%s]", kind, def[0] ? "default " : "", def);
    else buf[0] = '\0';
}

enum { HELP_COL = 24, HELP_WIDTH = 118 };

static void print_opt(FILE *out, const cli_option *o) {
    char left[128], tail[600];
    const char *meta = o->meta ? o->meta : o->type == CLI_CHOICE ? o->choices : NULL;
    snprintf(left, sizeof left, "  %s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "", o->name,
             meta ? " " : "", meta ? meta : "");
    int col = fprintf(out, "%s", left);
    if (col > HELP_COL - 2) fprintf(out, "\n"), col = 0;
    opt_tail(o, tail, sizeof tail);
    const char *h = o->help ? o->help : "";
    for (;;) { /* each line of the help under the column; the tail after the last one (or below it) */
        const char *nl = strchr(h, '\n');
        int len = nl ? (int)(nl - h) : (int)strlen(h);
        fprintf(out, "%*s%.*s", HELP_COL - col, "", len, h);
        col = HELP_COL + len;
        if (!nl || !nl[1]) break;
        fputc('\n', out), col = 0, h = nl + 1;
    }
    if (tail[0] && col + (int)strlen(tail) > HELP_WIDTH) fprintf(out, "\n%*s%s", HELP_COL, "", tail + 1);
    else fputs(tail, out);
    fputc('\n', out);
}

void cli_print_help(FILE *out, const cli_spec *s) {
    if (s->usage) fputs(s->usage, out);
    for (int g = 0; g < CLI_MAX_GROUPS && s->groups[g].opts; g++) {
        fprintf(out, "%s%s\n", s->usage || g ? "\n" : "", s->groups[g].title ? s->groups[g].title : "options:");
        for (const cli_option *o = s->groups[g].opts; o->name; o++) print_opt(out, o);
    }
    if (s->epilog) fprintf(out, "\n%s", s->epilog);
}
