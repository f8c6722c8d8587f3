/* a2m plot search STUDY.db -o DIR: the optimisation history and one slice per searched parameter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/plot.h"
#include "a2m/search.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"

static const char *usage =
    "usage: a2m plot search STUDY.db -o DIR [--storage URL --study NAME] [--force] [--width W --height H]\n"
    "Writes DIR/history.png (each trial's value, pruned trials as rings at their last epoch's value, the best\n"
    "so far as a line) and DIR/slice_<param>.png per searched parameter (value against the parameter, colour:\n"
    "trial order). An existing DIR needs --force.\n";

/* the value a trial is drawn at: complete -> its value; pruned -> its last intermediate value */
static double drawn_value(const a2m_search_trial *t, int *hollow) {
    *hollow = t->state == A2M_TRIAL_PRUNED;
    if (t->state == A2M_TRIAL_COMPLETE) return t->value;
    for (int k = t->n_steps - 1; *hollow && k >= 0; k--)
        if (!isnan(t->steps[k])) return t->steps[k];
    return NAN;
}

static int draw_all(const char *dir, const a2m_study_info *in, const a2m_search_trial *t, size_t n,
                    a2m_plot_size size) {
    double *x = malloc((3 * n + 1) * sizeof *x), *y = x ? x + n : NULL, *best = x ? x + 2 * n : NULL;
    int *hollow = malloc((n + 1) * sizeof *hollow), maximize = !strcmp(in->objective, "val_f1");
    if (!x || !hollow) return free(x), free(hollow), a2m_error(A2M_ERR_NOMEM, "out of memory");
    double b = NAN;
    for (size_t i = 0; i < n; i++) {
        x[i] = t[i].number, y[i] = drawn_value(&t[i], &hollow[i]);
        if (t[i].state == A2M_TRIAL_COMPLETE && !isnan(t[i].value) &&
            (isnan(b) || (maximize ? t[i].value > b : t[i].value < b)))
            b = t[i].value;
        best[i] = b;
    }
    char path[4200], title[128];
    snprintf(path, sizeof path, "%s/history.png", dir);
    snprintf(title, sizeof title, "optimisation history (%s, %s)", in->objective,
             maximize ? "higher is better" : "lower is better");
    a2m_scatter_plot p = {title, "trial", in->objective, n, x, y, hollow, best, 0, 0, NULL};
    int rc = a2m_plot_scatter(path, &p, size);
    for (int k = 0; !rc && k < in->space.n; k++) {
        const a2m_search_param *sp = &in->space.p[k];
        if (sp->kind == A2M_PARAM_CHOICE && sp->n_choices == 1) continue; /* fixed */
        const char *cats[A2M_SEARCH_MAX_CHOICES];
        for (int c = 0; c < sp->n_choices; c++) cats[c] = sp->choices[c];
        for (size_t i = 0; i < n; i++) x[i] = t[i].params[k];
        snprintf(path, sizeof path, "%s/slice_%s.png", dir, sp->name);
        snprintf(title, sizeof title, "slice: %s", sp->name);
        a2m_scatter_plot s = {title, sp->name, in->objective, n,       x,
                              y,     hollow,   NULL,          sp->log, sp->kind == A2M_PARAM_CHOICE ? sp->n_choices : 0,
                              cats};
        rc = a2m_plot_scatter(path, &s, size);
    }
    free(x), free(hollow);
    return rc;
}

int cmd_plot_search(int argc, char **argv) {
    const char *study = NULL, *out = NULL, *storage = NULL, *name = NULL;
    a2m_plot_size size = {1000, 600};
    int force = 0, n_pos;
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &out), .meta = "DIR", .help = "the pictures' folder"},
        {CLI_STR_OPT("--storage", &storage), .meta = "URL", .help = "a PostgreSQL server; --study names the study"},
        {CLI_STR_OPT("--study", &name), .meta = "NAME", .help = "the study's name with --storage"},
        {CLI_INT_OPT("--width", &size.width, 200, 10000), .meta = "W", .help = "picture width"},
        {CLI_INT_OPT("--height", &size.height, 200, 10000), .meta = "H", .help = "picture height"},
        {CLI_FLAG_OPT("--force", &force), .help = "replace an existing DIR"},
        {.name = NULL}};
    const cli_spec spec = {"plot search", usage, {{NULL, opts}}, NULL};
    int rc = cli_parse(argc - 1, argv + 1, &spec, &n_pos); /* argv[1] is "search" */
    if (rc >= 0) return rc;
    if (n_pos > 1) return cli_usage_error(argv[0], "one study expected");
    study = n_pos ? argv[2] : NULL;
    if (storage && !name) name = study;
    if (!(storage ? name : study) || !out)
        return cli_usage_error(argv[0], "plot search needs STUDY.db (or --storage URL --study NAME) and -o DIR");
    if ((rc = cli_check_output(argv[0], &out, (const char *[]){storage ? NULL : study}, 1, force, CLI_OUT_FOLDER)))
        return rc;
    a2m_study_info in;
    a2m_search_trial *t;
    size_t n;
    rc = a2m_study_read(storage ? storage : study, storage ? name : "default", &in, &t, &n);
    if (rc) return cli_lib_fail(rc);
    size_t drawable = 0;
    for (size_t i = 0; i < n; i++) {
        int h;
        drawable += !isnan(drawn_value(&t[i], &h));
    }
    if (!drawable) rc = a2m_error(A2M_ERR_EMPTY, "%s: no finished trial to draw", storage ? name : study);
    if (!rc) rc = a2m_mkdirs(out); /* made only when figures go in it */
    if (!rc) rc = draw_all(out, &in, t, n, size);
    a2m_search_trials_free(t, n);
    if (rc) return cli_lib_fail(rc);
    fprintf(stderr, "%s/history.png and slices\n", out);
    return 0;
}
