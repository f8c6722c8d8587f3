#include <dirent.h>
#include <stddef.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/dataset.h"
#include "a2m/error.h"
#include "a2m/io.h"
#include "cli/cli.h"
#include "cli/commands.h"

static const char *usage =
    "usage: a2m features IN.wav -o OUT.npy [options]\n"
    "       a2m features DIR -o OUTDIR [options]   (every audio file -> OUTDIR/<name>.npy)\n"
    "CQT in dB as librosa 0.10 computes it, float32 [frames x bins].\n\n"
    "options:\n"
    "  --sr HZ            analysis rate (default 16000; audio is resampled with soxr HQ)\n"
    "  --hop N            hop in samples (96)\n"
    "  --fmin HZ          lowest bin (32.7032 = C1)\n"
    "  --bins N           number of bins (252)\n"
    "  --bpo N            bins per octave (36)\n"
    "  --ref X            dB reference amplitude (1.0)\n"
    "  --amin X           amplitude floor (1e-5)\n"
    "  --top-db X         dynamic range below the maximum (80; 0 = none)\n"
    "  --keep-last-frame  keep the last frame (the dataset convention drops it)\n"
    "  --force            replace existing outputs (never an input)\n"
    "-o - writes the .npy to standard output; -o OUT/ (a trailing slash, or an existing folder) writes\n"
    "OUT/<name>.npy.\n";

static int one_file(const char *in, const char *out, a2m_cqt_params p) {
    float *db;
    size_t frames;
    int rc = a2m_features_from_file(in, p, &db, &frames);
    if (rc) return rc;
    size_t shape[2] = {frames, (size_t)p.n_bins};
    rc = a2m_npy_save(out, A2M_F32, 2, shape, db);
    free(db);
    return rc;
}

static int is_audio_name(const char *f) {
    const char *e = strrchr(f, '.');
    return e && (!strcasecmp(e, ".wav") || !strcasecmp(e, ".flac") || !strcasecmp(e, ".ogg") || !strcasecmp(e, ".aiff"));
}

/* Output of one input file below the folder out, checked like any output; the folder is made when the
 * first file is ready, so a run that writes nothing leaves no empty folder behind. */
static int one_into_dir(const char *src, const char *name, const char *out, a2m_cqt_params p, int force) {
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
static int features_dir(const char *in, const char *out, a2m_cqt_params p, int force) {
    if (!a2m_is_dir(in)) {
        const char *slash = strrchr(in, '/');
        return one_into_dir(in, slash ? slash + 1 : in, out, p, force);
    }
    if (a2m_path_exists(out) && !a2m_is_dir(out)) return cli_fail("%s: exists and is not a folder", out);
    int made = !a2m_path_exists(out);
    DIR *dp = opendir(in);
    if (!dp) return cli_fail("%s: cannot open folder", in);
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dp)))
        if (is_audio_name(de->d_name)) {
            char **nn = realloc(names, (n + 1) * sizeof *nn);
            if (!nn) break;
            names = nn;
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
    a2m_cqt_params p = a2m_cqt_default_params();
    for (int i = 1; i < argc; i++) {
        int r = 0;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        }
        if ((r = cli_opt(argc, argv, &i, "-o", &v))) out = v;
        else if ((r = cli_opt(argc, argv, &i, "--sr", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--sr", v, 1000, 384000, &p.sample_rate) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--hop", &v))) r = r < 0 ? r : cli_parse_int(argv[0], "--hop", v, 1, 65536, &p.hop) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--fmin", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--fmin", v, 1, 20000, &p.fmin) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--bins", &v))) r = r < 0 ? r : cli_parse_int(argv[0], "--bins", v, 2, 4096, &p.n_bins) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--bpo", &v))) r = r < 0 ? r : cli_parse_int(argv[0], "--bpo", v, 1, 512, &p.bins_per_octave) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--ref", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--ref", v, 1e-12, 1e12, &p.ref) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--amin", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--amin", v, 1e-20, 1, &p.amin) ? 1 : -1;
        else if ((r = cli_opt(argc, argv, &i, "--top-db", &v))) r = r < 0 ? r : cli_parse_double(argv[0], "--top-db", v, 0, 1000, &p.top_db) ? 1 : -1;
        else if (!strcmp(argv[i], "--keep-last-frame")) p.drop_last_frame = 0, r = 1;
        else if (!strcmp(argv[i], "--force")) force = r = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(argv[0], "unknown option %s", argv[i]);
        else if (!in) in = argv[i], r = 1;
        else return cli_usage_error(argv[0], "one input expected");
        if (r < 0) return 2;
    }
    if (!in || !out) return cli_usage_error(argv[0], "needs an input and -o OUTPUT");
    size_t ol = strlen(out);
    if (!a2m_is_dir(in) && !(ol && out[ol - 1] == '/') && !a2m_is_dir(out)) { /* else: OUT/<name>.npy */
        int rc = cli_check_output(argv[0], &out, &in, 1, force, CLI_OUT_STDOUT);
        if (rc) return rc;
        rc = one_file(in, out, p);
        return rc ? cli_lib_fail(rc) : 0;
    }
    if (!strcmp(out, "-")) return cli_usage_error(argv[0], "-o -: a folder input writes a folder of files");
    return features_dir(in, out, p, force);
}
