/* The feature options shared by `a2m features` and `a2m dataset` (--kind and each kind's parameters). */
#ifndef A2M_CLI_FEAT_OPTS_H
#define A2M_CLI_FEAT_OPTS_H

#include "a2m/features.h"

typedef struct cli_feat_opts {
    a2m_cqt_params cqt;
    a2m_feat_params feat;
    double fmin;             /* --fmin as given (<0: not given): the CQT's lowest bin or the mel bank's lower edge */
    int bins_given, bpo_given;
} cli_feat_opts;

extern const char cli_feat_usage[];

cli_feat_opts cli_feat_opts_default(void);
/* 1: argv[*i] was a feature option (consumed, with its value); 0: not one; -1: a usage error was printed. */
int cli_feat_opt(int argc, char **argv, int *i, cli_feat_opts *o);
/* After the options: --fmin to its kind, --bpo without --bins keeps 7 octaves, the whole checked.
 * 0 or 2 (a usage error printed). */
int cli_feat_finish(const char *cmd, cli_feat_opts *o);

#endif
