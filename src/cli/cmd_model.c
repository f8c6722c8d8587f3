/* Model commands: forward (debug/parity), import (PyTorch state dict -> a2m model), info. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/model.h"
#include "a2m/train.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/opts.h"
#include "cli/report.h"
#include "nn/arch.h"

/* Normalised features have a mean near 0: even an all-silent take is (-80 - -41.05) / 15.36 = -2.5;
 * raw CQT dB have a mean near the model's norm_mean (-41 for the seed data). --raw-db normalises them. */
static int check_normalised(const char *feat, float *x, size_t n, const a2m_model_info *in, int raw_db) {
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += x[i], sq += (double)x[i] * x[i];
    double mean = sum / (double)n, sd = sqrt(fmax(0, sq / (double)n - mean * mean));
    if (raw_db) {
        for (size_t i = 0; i < n; i++) x[i] = (float)((x[i] - in->norm_mean) / in->norm_std);
        return A2M_OK;
    }
    if (fabs(mean) > 5)
        return a2m_error(A2M_ERR_RANGE,
                         "%s: looks like raw dB (mean %.1f, std %.1f), not normalised features: add --raw-db "
                         "to normalise with the model's mean %.4f and std %.4f",
                         feat, mean, sd, in->norm_mean, in->norm_std);
    return A2M_OK;
}

static const char *forward_usage =
    "usage: a2m forward MODEL FEATURES.npy -o LOGITS.npy [--arch ARCH] [--precision fp32|bf16] [--raw-db] [--force]\n"
    "Runs MODEL on normalised features [frames x bins], (dB - mean) / std with the model's mean and std\n"
    "(a2m info shows them); writes logits [frames x classes]. Input with a mean beyond +-5 is raw dB\n"
    "(a2m features): refused, or normalised here with --raw-db.\n";

int cmd_forward(int argc, char **argv) {
    const char *model = NULL, *feat = NULL, *out = NULL, *arch = NULL;
    int force = 0, raw_db = 0;
    a2m_precision prec = A2M_PRECISION_FP32;
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &out), .meta = "LOGITS.npy", .help = "the logits (- = standard output)", .required = 1},
        {CLI_CUSTOM_OPT("--precision", &prec, cli_opt_precision, cli_show_precision), .meta = "P",
         .help = "fp32 matches PyTorch to ~1e-5; bf16 (CPUs with avx512_bf16): logits within 0.015 of fp32\n"
                 "for models/a2m-crnn.safetensors (0.028 for the seed CRNN)"},
        {CLI_STR_OPT("--arch", &arch), .meta = "ARCH", .help = "the architecture (not given: from the file)"},
        {CLI_FLAG_OPT("--raw-db", &raw_db),
         .help = "the features are raw dB: normalise them with the model's mean and std"},
        {CLI_FLAG_OPT("--force", &force), .help = "replace an existing LOGITS.npy"},
        {.name = NULL}};
    const cli_spec spec = {"forward", forward_usage, {{NULL, opts}}, NULL};
    const char **pos[] = {&model, &feat};
    int crc = cli_parse_req(argc, argv, &spec, pos, 2, 2, "MODEL, FEATURES.npy and -o LOGITS.npy");
    if (crc >= 0) return crc;
    if ((crc = cli_check_output(argv[0], &out, (const char *[]){model, feat}, 2, force, CLI_OUT_STDOUT))) return crc;
    a2m_model *m;
    int rc = a2m_model_load(model, arch, &m);
    if (rc) return cli_lib_fail(rc);
    a2m_array x;
    rc = a2m_npy_load_f32(feat, &x);
    const a2m_model_info *in = a2m_model_get_info(m);
    if (!rc && (x.ndim != 2 || x.shape[1] != (size_t)in->n_bins || x.shape[0] == 0 || x.shape[0] > 100000000))
        rc = a2m_error(A2M_ERR_SHAPE, "%s: expected [frames x %d] features", feat, in->n_bins);
    for (size_t i = 0; !rc && i < a2m_array_count(&x); i++)
        if (!isfinite(((float *)x.data)[i])) rc = a2m_error(A2M_ERR_NONFINITE, "%s: NaN or infinity in features", feat);
    if (!rc) rc = check_normalised(feat, x.data, a2m_array_count(&x), in, raw_db);
    a2m_runner *r = NULL;
    float *logits = NULL;
    a2m_runner_params rp = a2m_runner_default_params();
    rp.max_frames = (int)x.shape[0], rp.precision = prec;
    if (!rc) rc = a2m_runner_new(m, rp, &r);
    if (!rc && !(logits = malloc(x.shape[0] * in->n_classes * sizeof *logits)))
        rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (!rc) rc = a2m_runner_forward(r, x.data, 1, (int)x.shape[0], logits);
    if (!rc) {
        size_t shape[2] = {x.shape[0], (size_t)in->n_classes};
        rc = a2m_npy_save(out, A2M_F32, 2, shape, logits);
    }
    free(logits);
    a2m_runner_del(r);
    a2m_array_free(&x);
    a2m_model_del(m);
    return rc ? cli_lib_fail(rc) : 0;
}

static const char *import_usage =
    "usage: a2m import STATE_DICT.safetensors --mean M --std S -o MODEL.safetensors\n"
    "         [--arch crnn|unet|transformer|two-stage|harmonic] [--notes LIST] [--transpose N] [--force]\n"
    "Makes a self-contained a2m model (with feature parameters, normalisation and class map\n"
    "in its metadata) from a plain PyTorch state dict saved as safetensors; the architecture is\n"
    "recognised from the tensor names (the original's CRNN and AudioTransNet, a2m's U-Net, two-stage\n"
    "and harmonic CRNN).\n";

int cmd_import(int argc, char **argv) {
    const char *in_path = NULL, *out = NULL, *arch = NULL;
    double mean = 0, std = 1;
    int force = 0, transpose = 0, have_mean = 0, have_std = 0, have_notes = 0, n_pos;
    a2m_label_params lp = a2m_label_default_params();
    const cli_option opts[] = {
        {CLI_STR_OPT("-o", &out), .meta = "MODEL", .help = "the a2m model"},
        {CLI_DBL_OPT("--mean", &mean, -1000, 1000), .meta = "M", .given = &have_mean, .nodef = 1,
         .help = "the dataset's global mean (dB; required)"},
        {CLI_DBL_OPT("--std", &std, 1e-9, 1000), .meta = "S", .given = &have_std, .nodef = 1,
         .help = "the dataset's global standard deviation (dB; required)"},
        {CLI_STR_OPT("--arch", &arch), .meta = "ARCH",
         .help = "crnn, unet, transformer, two-stage or harmonic (not given: from the tensor names)"},
        {CLI_CUSTOM_OPT("--notes", &lp, cli_opt_notes, cli_show_notes), .meta = "LIST", .given = &have_notes,
         .nodef = 1, .help = "MIDI notes of classes 1.. (not given: the recognised model's class map)"},
        {CLI_INT_OPT("--transpose", &transpose, -48, 48), .meta = "N",
         .help = "semitones the dataset's MIDI was shifted by"},
        {CLI_FLAG_OPT("--force", &force), .help = "replace an existing MODEL"},
        {.name = NULL}};
    const cli_spec spec = {"import", import_usage, {{NULL, opts}}, NULL};
    int crc = cli_parse(argc, argv, &spec, &n_pos);
    if (crc >= 0) return crc;
    if (n_pos > 1) return cli_usage_error(argv[0], "too many arguments");
    in_path = n_pos ? argv[1] : NULL;
    int *notes = lp.notes, n_notes = have_notes ? lp.n_notes : -1;
    if (!in_path || !out) return cli_usage_error(argv[0], "needs STATE_DICT and -o MODEL");
    if (!have_mean || !have_std)
        return cli_usage_error(argv[0], "needs --mean and --std (the dataset's global normalisation)");
    if ((crc = cli_check_output(argv[0], &out, &in_path, 1, force, CLI_OUT_STDOUT))) return crc;
    a2m_model *m;
    int rc = a2m_model_load(in_path, arch, &m);
    if (rc) return cli_lib_fail(rc);
    char summary[sizeof a2m_model_get_info(m)->summary]; /* a long path cut, as the summary always was */
    snprintf(summary, sizeof summary, "imported from %s", in_path);
    rc = a2m_model_set_norm(m, mean, std);
    if (!rc) rc = a2m_model_set_classes(m, n_notes >= 0 ? notes : NULL, n_notes, transpose);
    if (!rc) rc = a2m_model_set_summary(m, summary);
    if (rc) {
        a2m_model_del(m);
        return cli_lib_fail(a2m_error_prefix(rc, in_path));
    }
    rc = a2m_model_save(m, out);
    a2m_model_del(m);
    return rc ? cli_lib_fail(rc) : 0;
}

int cmd_info(int argc, char **argv) {
    const char *arch = NULL;
    const cli_option opts[] = {
        {CLI_STR_OPT("--arch", &arch), .meta = "ARCH", .help = "the architecture (not given: from the file)"},
        {.name = NULL}};
    const cli_spec spec = {"info",
                           "usage: a2m info MODEL.safetensors\nPrints a model's architecture, size, classes, features "
                           "and normalisation.\n",
                           {{NULL, opts}},
                           NULL};
    int n_pos, rc = cli_parse(argc, argv, &spec, &n_pos);
    if (rc >= 0) return rc;
    if (n_pos != 1) return cli_usage_error(argv[0], "needs one MODEL");
    a2m_model *m;
    rc = a2m_model_load(argv[1], arch, &m);
    if (rc) return cli_lib_fail(rc);
    const a2m_model_info *in = a2m_model_get_info(m);
    printf("model         %s\narchitecture  %s (hidden %d)\nparameters    %zu\ninput         %d bins\nclasses       "
           "%d: silence",
           argv[1], in->arch, in->hidden, in->n_params, in->n_bins, in->n_classes);
    for (int k = 1; k < in->n_classes; k++) {
        char nm[32];
        report_class_name(in->class_notes, k, nm, sizeof nm); /* onset and range classes by name, not "? (-2)" */
        printf(", %s", nm);
    }
    const a2m_feat_params *f = &in->feat;
    printf("\ntranspose     %d\n", in->transpose);
    if (f->kind == A2M_FEAT_CQT)
        printf("features      CQT sr %g, hop %d, fmin %.4f, %d bins, %d per octave, ref %g, amin %g, top_db %g%s\n",
               in->cqt.sample_rate, in->cqt.hop, in->cqt.fmin, in->cqt.n_bins, in->cqt.bins_per_octave, in->cqt.ref,
               in->cqt.amin, in->cqt.top_db, in->cqt.drop_last_frame ? ", last frame dropped" : "");
    else if (f->kind == A2M_FEAT_LPC)
        printf("features      LPC sr %g, hop %d, order %d, frame %d%s\n", in->cqt.sample_rate, in->cqt.hop, f->order,
               f->frame_length, in->cqt.drop_last_frame ? ", last frame dropped" : "");
    else {
        printf("features      %s sr %g, hop %d, n_fft %d, %d mels %g-%g Hz", f->kind == A2M_FEAT_MEL ? "mel" : "MFCC",
               in->cqt.sample_rate, in->cqt.hop, f->n_fft, f->n_mels, f->fmin,
               f->fmax > 0 ? f->fmax : in->cqt.sample_rate / 2);
        if (f->kind == A2M_FEAT_MFCC) printf(", %d coefficients", f->n_mfcc);
        printf(", top_db %g%s\n", in->cqt.top_db, in->cqt.drop_last_frame ? ", last frame dropped" : "");
    }
    printf("normalisation (dB - %.6f) / %.6f\n", in->norm_mean, in->norm_std);
    if (in->summary[0]) printf("summary       %s\n", in->summary);
    a2m_model_del(m);
    return 0;
}
