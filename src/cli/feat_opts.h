/* The feature options shared by `a2m features` and `a2m dataset` (--kind and each kind's parameters). */
#ifndef A2M_CLI_FEAT_OPTS_H
#define A2M_CLI_FEAT_OPTS_H

#include "a2m/features.h"
#include "cli/opts.h"

typedef struct cli_feat_opts {
    a2m_cqt_params cqt;
    a2m_feat_params feat;
    double fmin; /* --fmin as given (<0: not given): the CQT's lowest bin or the mel bank's lower edge */
    int bins_given, bpo_given;
} cli_feat_opts;

#define CLI_FEAT_N_OPTS 17

cli_feat_opts cli_feat_opts_default(void);
/* The options' table (for a cli_spec group) into opts[CLI_FEAT_N_OPTS + 1], pointing into o. */
void cli_feat_options(cli_feat_opts *o, cli_option *opts);
/* After the options: --fmin to its kind, --bpo without --bins keeps 7 octaves, the whole checked.
 * 0 or 2 (a usage error printed). */
int cli_feat_finish(const char *cmd, cli_feat_opts *o);

#endif
