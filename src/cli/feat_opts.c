#include "cli/feat_opts.h"

#include <stdio.h>
#include <string.h>

#include "a2m/error.h"
#include "cli/cli.h"

const char cli_feat_usage[] =
    "  --kind K           cqt (default), mel, mfcc or lpc\n"
    "  --sr HZ            analysis rate (default 16000; audio is resampled with soxr HQ)\n"
    "  --hop N            hop in samples (96)\n"
    "  --fmin HZ          cqt: lowest bin (32.7032 = C1); mel/mfcc: lowest mel band edge (0)\n"
    "  --bins N           cqt: number of bins (252; with --bpo alone, 7 octaves)\n"
    "  --bpo N            cqt: bins per octave (36; 12 or 24 for coarser pitch)\n"
    "  --n-fft N          mel/mfcc: FFT size (2048)\n"
    "  --n-mels N         mel/mfcc: mel bands (128)\n"
    "  --fmax HZ          mel/mfcc: highest mel band edge (sample rate / 2)\n"
    "  --pad constant|reflect  mel/mfcc: centring pad (constant = zeros, librosa 0.10's default)\n"
    "  --n-mfcc N         mfcc: coefficients (20)\n"
    "  --order N          lpc: prediction order (16: 17 values a frame, a[0] = 1)\n"
    "  --frame-length N   lpc: samples per frame (1024)\n"
    "  --ref X            dB reference amplitude (1.0)\n"
    "  --amin X           amplitude floor (1e-5; a power floor of 1e-10)\n"
    "  --top-db X         dynamic range below the maximum (80; 0 = none)\n"
    "  --keep-last-frame  keep the last frame (the dataset convention drops it)\n";

cli_feat_opts cli_feat_opts_default(void) {
    cli_feat_opts o = {a2m_cqt_default_params(), a2m_feat_default_params(), -1.0, 0, 0};
    return o;
}

static int num_opt(int argc, char **argv, int *i, const char *name, double lo, double hi, double *d, int *n) {
    const char *v;
    int r = cli_opt(argc, argv, i, name, &v);
    if (r <= 0) return r;
    if (d) return cli_parse_double(argv[0], name, v, lo, hi, d) ? 1 : -1;
    return cli_parse_int(argv[0], name, v, (long)lo, (long)hi, n) ? 1 : -1;
}

int cli_feat_opt(int argc, char **argv, int *i, cli_feat_opts *o) {
    a2m_cqt_params *p = &o->cqt;
    a2m_feat_params *f = &o->feat;
    const char *v;
    int r;
    if ((r = cli_opt(argc, argv, i, "--kind", &v))) {
        if (r > 0 && a2m_feat_kind_parse(v, &f->kind))
            return cli_usage_error(argv[0], "--kind expects cqt, mel, mfcc or lpc, got '%s'", v), -1;
        return r;
    }
    if ((r = cli_opt(argc, argv, i, "--pad", &v))) {
        if (r > 0 && strcmp(v, "constant") && strcmp(v, "reflect"))
            return cli_usage_error(argv[0], "--pad expects constant or reflect, got '%s'", v), -1;
        if (r > 0) f->reflect_pad = !strcmp(v, "reflect");
        return r;
    }
    if (!strcmp(argv[*i], "--keep-last-frame")) return p->drop_last_frame = 0, 1;
    if ((r = num_opt(argc, argv, i, "--bins", 2, 4096, NULL, &p->n_bins))) return o->bins_given = 1, r;
    if ((r = num_opt(argc, argv, i, "--bpo", 1, 512, NULL, &p->bins_per_octave))) return o->bpo_given = 1, r;
    if ((r = num_opt(argc, argv, i, "--sr", 1000, 384000, &p->sample_rate, NULL))) return r;
    if ((r = num_opt(argc, argv, i, "--hop", 1, 65536, NULL, &p->hop))) return r;
    if ((r = num_opt(argc, argv, i, "--fmin", 0, 20000, &o->fmin, NULL))) return r;
    if ((r = num_opt(argc, argv, i, "--ref", 1e-12, 1e12, &p->ref, NULL))) return r;
    if ((r = num_opt(argc, argv, i, "--amin", 1e-20, 1, &p->amin, NULL))) return r;
    if ((r = num_opt(argc, argv, i, "--top-db", 0, 1000, &p->top_db, NULL))) return r;
    if ((r = num_opt(argc, argv, i, "--n-fft", 16, 65536, NULL, &f->n_fft))) return r;
    if ((r = num_opt(argc, argv, i, "--n-mels", 1, 1024, NULL, &f->n_mels))) return r;
    if ((r = num_opt(argc, argv, i, "--fmax", 1, 384000, &f->fmax, NULL))) return r;
    if ((r = num_opt(argc, argv, i, "--n-mfcc", 1, 1024, NULL, &f->n_mfcc))) return r;
    if ((r = num_opt(argc, argv, i, "--order", 1, 256, NULL, &f->order))) return r;
    if ((r = num_opt(argc, argv, i, "--frame-length", 2, 65536, NULL, &f->frame_length))) return r;
    return 0;
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
