#include "cli/feat_opts.h"

#include <stdio.h>
#include <string.h>

#include "a2m/error.h"
#include "cli/cli.h"

cli_feat_opts cli_feat_opts_default(void) {
    cli_feat_opts o = {a2m_cqt_default_params(), a2m_feat_default_params(), -1.0, 0, 0};
    return o;
}

static int parse_kind(const char *cmd, const char *name, const char *v, void *dst) {
    if (!a2m_feat_kind_parse(v, dst)) return 1;
    return cli_usage_error(cmd, "%s expects cqt, mel, mfcc or lpc, got '%s'", name, v), 0;
}

static int show_kind(const void *v, char *buf, size_t n) {
    return snprintf(buf, n, "%s", a2m_feat_kind_name(*(const a2m_feat_kind *)v)), 1;
}

/* --fmin's two defaults (v: the cli_feat_opts) */
static int show_fmin(const void *v, char *buf, size_t n) {
    const cli_feat_opts *o = v;
    return snprintf(buf, n, "cqt %.6g (C1); mel/mfcc %g", o->cqt.fmin, o->feat.fmin), 1;
}

static int show_fmax(const void *v, char *buf, size_t n) {
    double f = *(const double *)v;
    return f > 0 ? snprintf(buf, n, "%g", f) : snprintf(buf, n, "sample rate / 2"), 1;
}

void cli_feat_options(cli_feat_opts *o, cli_option *opts) {
    a2m_cqt_params *p = &o->cqt;
    a2m_feat_params *f = &o->feat;
    const cli_option t[CLI_FEAT_N_OPTS + 1] = {
        {CLI_CUSTOM_OPT("--kind", &f->kind, parse_kind, show_kind), .meta = "K", .help = "cqt, mel, mfcc or lpc"},
        {CLI_DBL_OPT("--sr", &p->sample_rate, 1000, 384000), .meta = "HZ",
         .help = "analysis rate (audio is resampled with soxr HQ)"},
        {CLI_INT_OPT("--hop", &p->hop, 1, 65536), .meta = "N", .help = "hop in samples"},
        {CLI_DBL_OPT("--fmin", &o->fmin, 0, 20000), .meta = "HZ", .def = o, .show = show_fmin,
         .help = "cqt: lowest bin; mel/mfcc: lowest mel band edge"},
        {CLI_INT_OPT("--bins", &p->n_bins, 2, 4096), .meta = "N", .given = &o->bins_given,
         .help = "cqt: number of bins (with --bpo alone, 7 octaves)"},
        {CLI_INT_OPT("--bpo", &p->bins_per_octave, 1, 512), .meta = "N", .given = &o->bpo_given,
         .help = "cqt: bins per octave (12 or 24 for coarser pitch)"},
        {CLI_INT_OPT("--n-fft", &f->n_fft, 16, 65536), .meta = "N", .help = "mel/mfcc: FFT size"},
        {CLI_INT_OPT("--n-mels", &f->n_mels, 1, 1024), .meta = "N", .help = "mel/mfcc: mel bands"},
        {CLI_DBL_OPT("--fmax", &f->fmax, 1, 384000), .meta = "HZ", .show = show_fmax,
         .help = "mel/mfcc: highest mel band edge"},
        {CLI_CHOICE_OPT("--pad", &f->reflect_pad, "constant|reflect"),
         .help = "mel/mfcc: centring pad (constant = zeros, librosa 0.10's default)"},
        {CLI_INT_OPT("--n-mfcc", &f->n_mfcc, 1, 1024), .meta = "N", .help = "mfcc: coefficients"},
        {CLI_INT_OPT("--order", &f->order, 1, 256), .meta = "N",
         .help = "lpc: prediction order (order + 1 values a frame, a[0] = 1)"},
        {CLI_INT_OPT("--frame-length", &f->frame_length, 2, 65536), .meta = "N", .help = "lpc: samples per frame"},
        {CLI_DBL_OPT("--ref", &p->ref, 1e-12, 1e12), .meta = "X", .help = "dB reference amplitude"},
        {CLI_DBL_OPT("--amin", &p->amin, 1e-20, 1), .meta = "X",
         .help = "amplitude floor (a power floor of its square)"},
        {CLI_DBL_OPT("--top-db", &p->top_db, 0, 1000), .meta = "X",
         .help = "dynamic range below the maximum (0 = none)"},
        {.name = "--keep-last-frame",
         .type = CLI_FLAG_OFF,
         .dst = &p->drop_last_frame,
         .help = "keep the last frame (the dataset convention drops it)"},
        {.name = NULL}};
    memcpy(opts, t, sizeof t);
}

int cli_feat_finish(const char *cmd, cli_feat_opts *o) {
    if (o->feat.kind == A2M_FEAT_CQT) {
        if (o->fmin >= 0) {
            if (o->fmin < 1) return cli_usage_error(cmd, "--fmin of the CQT must be at least 1 Hz");
            o->cqt.fmin = o->fmin;
        }
        if (o->bpo_given && !o->bins_given) o->cqt.n_bins = 7 * o->cqt.bins_per_octave; /* 36 -> 252 */
    } else if (o->fmin >= 0) o->feat.fmin = o->fmin;
    if (a2m_feat_check(o->cqt, o->feat)) return cli_usage_error(cmd, "%s", a2m_errmsg());
    return 0;
}
