#include <dirent.h>
#include <stddef.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/features.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "core/grow.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/feat_opts.h"

static const char *usage_head =
    "usage: a2m features IN.wav -o OUT.npy [options]\n"
    "       a2m features DIR -o OUTDIR [options]   (every audio file -> OUTDIR/<name>.npy)\n"
    "Frame features as librosa 0.10 computes them, float32 [frames x values]: the CQT in dB (252 bins),\n"
    "the mel spectrogram in dB (128 bands), MFCC (20) or LPC (17: a[0] = 1, Burg). docs/features.md.\n\n"
    "options:\n";
static const char *usage_tail =
    "  --force            replace existing outputs (never an input)\n"
    "-o - writes the .npy to standard output; -o OUT/ (a trailing slash, or an existing folder) writes\n"
    "OUT/<name>.npy. A folder's files share one extractor (plans and filters made once).\n";

typedef struct feat_run {
    cli_feat_opts o;
    a2m_feat *e; /* reused across files */
} feat_run;

static int one_file(const char *in, const char *out, feat_run *r) {
    float *x;
    size_t frames;
    int rc = a2m_feat_from_file(in, r->o.cqt, r->o.feat, &r->e, &x, &frames);
    if (rc) return rc;
    size_t shape[2] = {frames, (size_t)a2m_feat_dim(r->o.cqt, r->o.feat)};
    rc = a2m_npy_save(out, A2M_F32, 2, shape, x);
    free(x);
    return rc;
}

/* Output of one input file below the folder out, checked like any output; the folder is made when the
 * first file is ready, so a run that writes nothing leaves no empty folder behind. */
static int one_into_dir(const char *src, const char *name, const char *out, feat_run *p, int force) {
    char dst[8192];
    size_t ol = strlen(out);
    snprintf(dst, sizeof dst, "%s%s%.*s.npy", out, ol && out[ol - 1] == '/' ? "" : "/",
             (int)(strrchr(name, '.') ? strrchr(name, '.') - name : (ptrdiff_t)strlen(name)), name);
    const char *d = dst;
    int rc = cli_check_output("features", &d, &src, 1, force, 0);
    if (rc) return rc;
    if ((rc = a2m_mkdirs(out)) || (rc = one_file(src, dst, p))) return cli_lib_fail(rc);
    return 0;
}

/* DIR (or one file with -o OUT/): every audio file -> OUT/<name>.npy. */
static int features_dir(const char *in, const char *out, feat_run *p, int force) {
    if (!a2m_is_dir(in)) {
        const char *slash = strrchr(in, '/');
        return one_into_dir(in, slash ? slash + 1 : in, out, p, force);
    }
    if (a2m_path_exists(out) && !a2m_is_dir(out)) return cli_fail("%s: exists and is not a folder", out);
    int made = !a2m_path_exists(out);
    DIR *dp = opendir(in);
    if (!dp) return cli_fail("%s: cannot open folder", in);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dp)))
        if (a2m_audio_is_file_name(de->d_name)) {
            if (a2m_grow(&names, &cap, n + 1, sizeof *names, 64)) break;
            names[n++] = strdup(de->d_name);
        }
    closedir(dp);
    cli_progress *bar = cli_progress_new("features", n);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char src[8192];
        snprintf(src, sizeof src, "%s/%s", in, names[i]);
        failed += one_into_dir(src, names[i], out, p, force) != 0;
        cli_progress_update(bar, i + 1, names[i]);
        free(names[i]);
    }
    free(names);
    cli_progress_done(bar, NULL);
    if (made && failed == (int)n) rmdir(out); /* nothing written: no folder left (rmdir keeps a non-empty one) */
    if (n == 0) return cli_fail("%s: no audio files", in);
    return failed ? 1 : 0;
}

int cmd_features(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *v;
    int force = 0;
    feat_run run = {cli_feat_opts_default(), NULL};
    for (int i = 1; i < argc; i++) {
        int r = 0;
        if (cli_is_help(argv[i])) {
            printf("%s%s%s", usage_head, cli_feat_usage, usage_tail);
            return 0;
        }
        if ((r = cli_opt(argc, argv, &i, "-o", &v))) out = v;
        else if ((r = cli_feat_opt(argc, argv, &i, &run.o))) (void)0;
        else if (!strcmp(argv[i], "--force")) force = r = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(argv[0], "unknown option %s", argv[i]);
        else if (!in) in = argv[i], r = 1;
        else return cli_usage_error(argv[0], "one input expected");
        if (r < 0) return 2;
    }
    if (!in || !out) return cli_usage_error(argv[0], "needs an input and -o OUTPUT");
    if (cli_feat_finish(argv[0], &run.o)) return 2;
    size_t ol = strlen(out);
    int rc;
    if (!a2m_is_dir(in) && !(ol && out[ol - 1] == '/') && !a2m_is_dir(out)) { /* else: OUT/<name>.npy */
        rc = cli_check_output(argv[0], &out, &in, 1, force, CLI_OUT_STDOUT);
        if (!rc && (rc = one_file(in, out, &run))) rc = cli_lib_fail(rc);
    } else if (!strcmp(out, "-")) rc = cli_usage_error(argv[0], "-o -: a folder input writes a folder of files");
    else rc = features_dir(in, out, &run, force);
    a2m_feat_del(run.e);
    return rc;
}
