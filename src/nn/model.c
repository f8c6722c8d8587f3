/* Model files, the architecture table, runners. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/rand.h"
#include "nn/arch.h"
#include "a2m/uncertainty.h"
#include "nn/infer.h"
#include "nn/layers.h"
#include "nn/safetensors.h"

static const a2m_arch *const arches[] = {&nn_arch_crnn, &nn_arch_unet, &nn_arch_transformer, &nn_arch_two_stage,
                                         &nn_arch_harmonic};

int nn_find_shape(const char *const *names, const int (*shapes)[4], const int *ndims, int n, const char *want, int nd,
                  int out[4]) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0 && ndims[i] == nd) {
            memcpy(out, shapes[i], sizeof(int) * 4);
            return 1;
        }
    return 0;
}

const a2m_arch *nn_arch_find(const char *name) {
    for (size_t i = 0; i < sizeof arches / sizeof *arches; i++)
        if (strcmp(arches[i]->name, name) == 0) return arches[i];
    return NULL;
}

/* splitmix64 (core/rand.h) on the state checkpoints keep as unsigned long long */
unsigned long long nn_rng_next(nn_rng *r) {
    uint64_t s = r->s, x = a2m_splitmix64(&s);
    r->s = s;
    return x;
}
double nn_rng_uniform(nn_rng *r) { return (double)(nn_rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

a2m_model_info nn_model_default_info(void) {
    a2m_model_info in;
    memset(&in, 0, sizeof in);
    snprintf(in.arch, sizeof in.arch, "crnn");
    in.n_bins = 252, in.n_classes = 4, in.hidden = 128;
    in.class_notes[0] = -1, in.class_notes[1] = 60, in.class_notes[2] = 64, in.class_notes[3] = 67;
    in.cqt = a2m_cqt_default_params();
    in.feat = a2m_feat_default_params();
    in.norm_mean = 0.0, in.norm_std = 1.0;
    in.temperature = 1.0;
    return in;
}

void a2m_model_del(a2m_model *m) {
    if (!m) return;
    free(m->params);
    free(m);
}

const a2m_model_info *a2m_model_get_info(const a2m_model *m) { return &m->info; }

int nn_onset_class(const a2m_model_info *in) {
    for (int c = 1; c < in->n_classes && c < A2M_MAX_CLASSES; c++)
        if (in->class_notes[c] == A2M_CLASS_ONSET) return c;
    return -1;
}

/* One row of an onset-head model: softmax(z / temperature) over the classes but o, sigmoid(z[o]) at o. */
static void probs_row_head(float *p, const float *z, int C, int o, double beta) {
    double mx = -INFINITY, se = 0;
    for (int c = 0; c < C; c++)
        if (c != o) mx = fmax(mx, z[c]);
    for (int c = 0; c < C; c++)
        if (c != o) se += exp(beta * (z[c] - mx));
    for (int c = 0; c < C; c++)
        if (c != o) p[c] = (float)(exp(beta * (z[c] - mx)) / se);
    p[o] = (float)(1.0 / (1.0 + exp(-(double)z[o])));
}

void a2m_model_probs(const a2m_model_info *in, const float *logits, size_t n, float *probs) {
    int C = in->n_classes, o = in->onset_head ? nn_onset_class(in) : -1;
    if (o < 0 && in->temperature != 1.0) a2m_softmax_temperature(probs, logits, n, C, in->temperature);
    else if (o < 0) softmax_rows(probs, logits, (int)n, C);
    for (size_t i = 0; o >= 0 && i < n; i++) probs_row_head(probs + i * C, logits + i * C, C, o, 1.0 / in->temperature);
}

int a2m_model_set_temperature(a2m_model *m, double t) {
    if (!(t >= 0.01 && t <= 100)) return a2m_error(A2M_ERR_RANGE, "temperature %g outside [0.01, 100]", t);
    m->info.temperature = t;
    return A2M_OK;
}

/* The limits below are those a2m_model_load checks in a file's metadata (meta_limits, meta_class_notes): a model
 * set within them saves to a file that loads. */
int a2m_model_set_norm(a2m_model *m, double mean, double std) {
    if (!(mean >= -1000 && mean <= 1000) || !(std >= 1e-6 && std <= 1000))
        return a2m_error(A2M_ERR_RANGE,
                         "normalisation mean %g, std %g: the mean must be in [-1000, 1000], the std in "
                         "[1e-6, 1000]",
                         mean, std);
    m->info.norm_mean = mean, m->info.norm_std = std;
    m->has_norm = 1;
    return A2M_OK;
}

int a2m_model_set_classes(a2m_model *m, const int *notes, int n_notes, int transpose) {
    if (transpose < -127 || transpose > 127)
        return a2m_error(A2M_ERR_RANGE, "transpose %d outside [-127, 127]", transpose);
    if (notes && n_notes + 1 != m->info.n_classes)
        return a2m_error(A2M_ERR_SHAPE, "%d note%s given, the model has %d classes (silence + notes)", n_notes,
                         n_notes == 1 ? "" : "s", m->info.n_classes);
    for (int k = 0; notes && k < n_notes; k++)
        if (notes[k] < A2M_CLASS_ABOVE || notes[k] > 127)
            return a2m_error(A2M_ERR_RANGE, "class %d: note %d outside %d..127", k + 1, notes[k], A2M_CLASS_ABOVE);
    for (int k = 0; notes && k < n_notes; k++) m->info.class_notes[k + 1] = notes[k];
    m->info.transpose = transpose;
    return A2M_OK;
}

int a2m_model_set_summary(a2m_model *m, const char *summary) {
    size_t n = strlen(summary);
    if (n >= sizeof m->info.summary)
        return a2m_error(A2M_ERR_RANGE, "summary of %zu bytes: at most %zu", n, sizeof m->info.summary - 1);
    memcpy(m->info.summary, summary, n + 1);
    return A2M_OK;
}

const nn_tensor *nn_model_tensor(const a2m_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL; /* a bug in an arch file: every name it uses is in its layout */
}

int nn_layout_table(const nn_tensor_spec *spec, int n, nn_tensor *t, int max) {
    if (n > max) return -1;
    for (int i = 0; i < n; i++) {
        memset(&t[i], 0, sizeof t[i]);
        memcpy(t[i].name, spec[i].name, sizeof t[i].name);
        t[i].ndim = spec[i].ndim, t[i].buffer = spec[i].buffer;
        memcpy(t[i].shape, spec[i].shape, sizeof spec[i].shape);
    }
    return n;
}

void nn_bilstm_table(nn_tensor_spec *spec, int first, int In, int H) {
    for (int d = 0; d < 2; d++) {
        const char *sfx = d ? "_reverse" : "";
        nn_tensor_spec *s = spec + first + 4 * d;
        s[0] = (nn_tensor_spec){.ndim = 2, .shape = {4 * H, In}};
        s[1] = (nn_tensor_spec){.ndim = 2, .shape = {4 * H, H}};
        s[2] = (nn_tensor_spec){.ndim = 1, .shape = {4 * H}};
        s[3] = (nn_tensor_spec){.ndim = 1, .shape = {4 * H}};
        snprintf(s[0].name, sizeof s[0].name, "lstm.weight_ih_l0%s", sfx);
        snprintf(s[1].name, sizeof s[1].name, "lstm.weight_hh_l0%s", sfx);
        snprintf(s[2].name, sizeof s[2].name, "lstm.bias_ih_l0%s", sfx);
        snprintf(s[3].name, sizeof s[3].name, "lstm.bias_hh_l0%s", sfx);
    }
}

nn_bilstm_tensors nn_bilstm_bind(const a2m_model *m, const float *base, int first) {
    nn_bilstm_tensors t;
    for (int d = 0; d < 2; d++) {
        int i = first + 4 * d;
        t.w_ih[d] = nn_at(m, base, i), t.w_hh[d] = nn_at(m, base, i + 1);
        t.b_ih[d] = nn_at(m, base, i + 2), t.b_hh[d] = nn_at(m, base, i + 3);
    }
    return t;
}

void nn_bilstm_weights(const nn_bilstm_tensors *t, lstm_weights w[2]) {
    for (int d = 0; d < 2; d++) w[d] = (lstm_weights){t->w_ih[d], t->w_hh[d], t->b_ih[d], t->b_hh[d]};
}

void nn_bilstm_grads(const nn_bilstm_tensors *t, lstm_grads g[2]) {
    for (int d = 0; d < 2; d++) g[d] = (lstm_grads){t->w_ih[d], t->w_hh[d], t->b_ih[d], t->b_hh[d]};
}

int nn_model_create(const char *arch, const a2m_model_info *info, a2m_model **out) {
    *out = NULL;
    const a2m_arch *a = nn_arch_find(arch);
    if (!a) return a2m_error(A2M_ERR_ARCH, "unknown architecture '%s'", arch);
    if (info->n_bins <= 0 || info->n_classes < 2 || info->n_classes > A2M_MAX_CLASSES || info->hidden <= 0 ||
        info->hidden > 4096 || info->n_bins > 8192)
        return a2m_error(A2M_ERR_ARG, "%s: bad hyperparameters", arch);
    a2m_model *m = calloc(1, sizeof *m);
    if (!m) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    m->info = *info;
    m->has_norm = 1;
    snprintf(m->info.arch, sizeof m->info.arch, "%s", arch);
    m->arch = a;
    m->n_tensors = a->layout(&m->info, m->tensors, A2M_MAX_TENSORS);
    if (m->n_tensors < 0) { /* e.g. a transformer width its heads do not divide */
        a2m_model_del(m);
        return a2m_error(A2M_ERR_ARG, "%s: bad hyperparameters (hidden %d)", arch, info->hidden);
    }
    size_t off = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        nn_tensor *t = &m->tensors[i];
        t->count = 1;
        for (int d = 0; d < t->ndim; d++) t->count *= (size_t)t->shape[d];
        t->offset = off;
        off += t->count;
    }
    m->n_params = off;
    m->info.n_params = off;
    m->params = calloc(off ? off : 1, sizeof *m->params);
    if (!m->params) {
        a2m_model_del(m);
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    *out = m;
    return A2M_OK;
}

/* ---- metadata ---- */

static void meta_set(json_t *o, const char *k, const char *fmt, double v) {
    char b[64];
    snprintf(b, sizeof b, fmt, v);
    json_object_set_new(o, k, json_string(b));
}

int nn_model_save(const a2m_model *m, const float *params, const char *path) {
    st_out_tensor t[A2M_MAX_TENSORS];
    for (int i = 0; i < m->n_tensors; i++) {
        t[i].name = m->tensors[i].name;
        t[i].ndim = m->tensors[i].ndim;
        for (int d = 0; d < t[i].ndim; d++) t[i].shape[d] = m->tensors[i].shape[d];
        t[i].data = params + m->tensors[i].offset;
    }
    const a2m_model_info *in = &m->info;
    json_t *meta = json_object();
    json_object_set_new(meta, "format", json_string("a2m-model"));
    json_object_set_new(meta, "format_version", json_string("1"));
    json_object_set_new(meta, "arch", json_string(in->arch));
    meta_set(meta, "n_bins", "%.0f", in->n_bins);
    meta_set(meta, "n_classes", "%.0f", in->n_classes);
    meta_set(meta, "hidden", "%.0f", in->hidden);
    char notes[512] = "";
    for (int k = 1; k < in->n_classes; k++) {
        size_t l = strlen(notes);
        snprintf(notes + l, sizeof notes - l, "%s%d", k > 1 ? "," : "", in->class_notes[k]);
    }
    json_object_set_new(meta, "class_notes", json_string(notes));
    meta_set(meta, "transpose", "%.0f", in->transpose);
    meta_set(meta, "cqt.sample_rate", "%.17g", in->cqt.sample_rate);
    meta_set(meta, "cqt.hop", "%.0f", in->cqt.hop);
    meta_set(meta, "cqt.fmin", "%.17g", in->cqt.fmin);
    meta_set(meta, "cqt.n_bins", "%.0f", in->cqt.n_bins);
    meta_set(meta, "cqt.bins_per_octave", "%.0f", in->cqt.bins_per_octave);
    meta_set(meta, "cqt.ref", "%.17g", in->cqt.ref);
    meta_set(meta, "cqt.amin", "%.17g", in->cqt.amin);
    meta_set(meta, "cqt.top_db", "%.17g", in->cqt.top_db);
    meta_set(meta, "cqt.drop_last_frame", "%.0f", in->cqt.drop_last_frame);
    if (in->feat.kind != A2M_FEAT_CQT) { /* CQT models' files stay as they were (byte-identical rebuilds) */
        const a2m_feat_params *f = &in->feat;
        json_object_set_new(meta, "feat.kind", json_string(a2m_feat_kind_name(f->kind)));
        meta_set(meta, "feat.n_fft", "%.0f", f->n_fft);
        meta_set(meta, "feat.n_mels", "%.0f", f->n_mels);
        meta_set(meta, "feat.fmin", "%.17g", f->fmin);
        meta_set(meta, "feat.fmax", "%.17g", f->fmax);
        meta_set(meta, "feat.n_mfcc", "%.0f", f->n_mfcc);
        meta_set(meta, "feat.order", "%.0f", f->order);
        meta_set(meta, "feat.frame_length", "%.0f", f->frame_length);
        meta_set(meta, "feat.reflect_pad", "%.0f", f->reflect_pad);
    }
    meta_set(meta, "norm_mean", "%.17g", in->norm_mean);
    meta_set(meta, "norm_std", "%.17g", in->norm_std);
    /* written only when set, so the files of models without them keep their bytes */
    if (in->temperature != 1.0) meta_set(meta, "temperature", "%.17g", in->temperature);
    if (in->dropout > 0) meta_set(meta, "dropout", "%.17g", in->dropout);
    if (in->onset_head) meta_set(meta, "onset_head", "%.0f", in->onset_head);
    json_object_set_new(meta, "summary", json_string(in->summary));
    int rc = st_write(path, t, (size_t)m->n_tensors, meta);
    json_decref(meta);
    return rc;
}

int a2m_model_save(const a2m_model *m, const char *path) { return nn_model_save(m, m->params, path); }

/* Limits of a model file's metadata: those `a2m features` puts on the same options (cmd_features.c) and
 * nn_model_create's, so a file cannot ask for work the command line would refuse (a hop of 0 divided by
 * zero in a2m_transcribe_stream_new; a sample rate of 1e8 made a 1 s window take minutes). */
typedef struct meta_limit {
    const char *key;
    double lo, hi;
    int integer;
} meta_limit;

static const meta_limit meta_limits[] = {
    {"n_bins", 1, 4096, 1},
    {"n_classes", 2, A2M_MAX_CLASSES, 1},
    {"hidden", 1, 4096, 1},
    {"transpose", -127, 127, 1},
    {"cqt.sample_rate", 1000, 384000, 0},
    {"cqt.hop", 1, 65536, 1},
    {"cqt.fmin", 1, 20000, 0},
    {"cqt.n_bins", 2, 4096, 1},
    {"cqt.bins_per_octave", 1, 512, 1},
    {"cqt.ref", 1e-12, 1e12, 0},
    {"cqt.amin", 1e-20, 1, 0},
    {"cqt.top_db", 0, 1000, 0},
    {"cqt.drop_last_frame", 0, 1, 1},
    {"norm_mean", -1000, 1000, 0},
    {"norm_std", 1e-6, 1000, 0},
    {"feat.n_fft", 16, 65536, 1},
    {"feat.n_mels", 1, 1024, 1},
    {"feat.fmin", 0, 384000, 0},
    {"feat.fmax", 0, 384000, 0},
    {"feat.n_mfcc", 1, 1024, 1},
    {"feat.order", 1, 256, 1},
    {"feat.frame_length", 2, 65536, 1},
    {"feat.reflect_pad", 0, 1, 1},
};

/* Field k of the metadata into *v: 0 when absent (*v kept), 1 when valid, an error when malformed or out of range. */
static int meta_num(const st_file *f, const char *path, const meta_limit *l, double *v) {
    const char *s = st_meta(f, l->key);
    if (!s) return 0;
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end || !isfinite(x) || x < l->lo || x > l->hi || (l->integer && x != floor(x)))
        return a2m_error(A2M_ERR_FORMAT, "%s: metadata %s = '%.40s' is not a%s number in [%g, %g]", path, l->key, s,
                         l->integer ? "n integer" : "", l->lo, l->hi);
    *v = x;
    return 1;
}

/* feat.kind and the feat.* numbers (v, got: theirs in meta_limits order) into info->feat, checked as
 * `a2m features` checks its options. */
static int meta_feat(const st_file *f, const char *path, a2m_model_info *info, const double *v, const int *got) {
    a2m_feat_params *p = &info->feat;
    const char *kind = st_meta(f, "feat.kind");
    if (kind && a2m_feat_kind_parse(kind, &p->kind))
        return a2m_error(A2M_ERR_FORMAT, "%s: metadata feat.kind '%.20s' is not cqt, mel, mfcc or lpc", path, kind);
    int *ints[] = {&p->n_fft, &p->n_mels, NULL, NULL, &p->n_mfcc, &p->order, &p->frame_length, &p->reflect_pad};
    for (int i = 0; i < 8; i++)
        if (got[i] && ints[i]) *ints[i] = (int)v[i];
    if (got[2]) p->fmin = v[2];
    if (got[3]) p->fmax = v[3];
    if (a2m_feat_check(info->cqt, *p)) return a2m_error(A2M_ERR_FORMAT, "%s: metadata: %s", path, a2m_errmsg());
    return A2M_OK;
}

/* Every numeric field of an a2m model file's metadata, checked, into info; *has_norm: both norm fields present. */
static int meta_read_all(const st_file *f, const char *path, a2m_model_info *info, int *has_norm) {
    double v[sizeof meta_limits / sizeof *meta_limits];
    int got[sizeof meta_limits / sizeof *meta_limits];
    for (size_t i = 0; i < sizeof meta_limits / sizeof *meta_limits; i++) {
        got[i] = meta_num(f, path, &meta_limits[i], &v[i]);
        if (got[i] > 1) return got[i]; /* an error code */
    }
    int *ints[] = {&info->n_bins, &info->n_classes, &info->hidden, &info->transpose};
    for (int i = 0; i < 4; i++)
        if (got[i]) *ints[i] = (int)v[i];
    a2m_cqt_params *c = &info->cqt;
    if (got[4]) c->sample_rate = v[4];
    if (got[5]) c->hop = (int)v[5];
    if (got[6]) c->fmin = v[6];
    if (got[7]) c->n_bins = (int)v[7];
    if (got[8]) c->bins_per_octave = (int)v[8];
    if (got[9]) c->ref = v[9];
    if (got[10]) c->amin = v[10];
    if (got[11]) c->top_db = v[11];
    if (got[12]) c->drop_last_frame = (int)v[12];
    if (got[13]) info->norm_mean = v[13];
    if (got[14]) info->norm_std = v[14];
    *has_norm = got[13] && got[14];
    int rc = meta_feat(f, path, info, v + 15, got + 15);
    if (rc) return rc;
    /* a2m_cqt_new's test (top bin plus half its Hann bandwidth below Nyquist), here so the file is named */
    double fmax = a2m_cqt_bin_freq(*c, c->n_bins - 1);
    if (fmax * (1.0 + 0.5 * 1.50018310546875 * 0.019) >= c->sample_rate / 2)
        return a2m_error(A2M_ERR_FORMAT, "%s: metadata cqt: top bin %.1f Hz is above the Nyquist frequency of %.0f Hz",
                         path, fmax, c->sample_rate / 2);
    static const meta_limit opt[3] = {{"temperature", 0.01, 100, 0}, {"dropout", 0, 0.95, 0}, {"onset_head", 0, 1, 1}};
    double head = 0;
    if ((rc = meta_num(f, path, &opt[2], &head)) > 1) return rc;
    info->onset_head = (int)head;
    rc = meta_num(f, path, &opt[0], &info->temperature);
    if (rc > 1) return rc;
    if ((rc = meta_num(f, path, &opt[1], &info->dropout)) > 1) return rc;
    if (!rc && !strcmp(st_meta(f, "arch") ? st_meta(f, "arch") : "", "unet")) info->dropout = 0.25; /* unet's default */
    const char *s = st_meta(f, "summary");
    if (s) snprintf(info->summary, sizeof info->summary, "%s", s);
    return A2M_OK;
}

/* "60,64,67": exactly n_classes - 1 notes, each a MIDI note, -1 (silence) or a special class (A2M_CLASS_ONSET,
 * A2M_CLASS_BELOW, A2M_CLASS_ABOVE: the lowest of them). */
static int meta_class_notes(const char *notes, const char *path, a2m_model_info *info) {
    const char *p = notes;
    for (int k = 1; k < info->n_classes; k++) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < A2M_CLASS_ABOVE || x > 127 || (*end != ',' && *end) ||
            (k + 1 < info->n_classes) != (*end == ','))
            return a2m_error(A2M_ERR_FORMAT, "%s: metadata class_notes '%.60s' is not %d notes in %d..127", path, notes,
                             info->n_classes - 1, A2M_CLASS_ABOVE);
        info->class_notes[k] = (int)x;
        p = *end ? end + 1 : end;
    }
    return A2M_OK;
}

/* The tensors of a plain state dict name its architecture (arch, when given, restricts the search). */
static int recognise_arch(const st_file *f, const char *path, const char **arch, a2m_model_info *info) {
    if (f->n > A2M_MAX_TENSORS)
        return a2m_error(A2M_ERR_ARCH, "%s: %zu tensors: more than any architecture has", path, f->n);
    const char *names[A2M_MAX_TENSORS];
    int shapes[A2M_MAX_TENSORS][4] = {{0}}, ndims[A2M_MAX_TENSORS];
    for (size_t i = 0; i < f->n; i++) {
        names[i] = f->t[i].name;
        ndims[i] = f->t[i].ndim;
        for (int d = 0; d < f->t[i].ndim && d < 4; d++) shapes[i][d] = (int)f->t[i].shape[d];
    }
    for (size_t i = 0; i < sizeof arches / sizeof *arches; i++) {
        if (*arch && strcmp(*arch, arches[i]->name) != 0) continue;
        if (arches[i]->recognise(names, (const int(*)[4])shapes, ndims, (int)f->n, info)) {
            *arch = arches[i]->name;
            for (int k = 1; k < info->n_classes && k < A2M_MAX_CLASSES; k++)
                info->class_notes[k] = k <= 3 ? (int[]){0, 60, 64, 67}[k] : 59 + k;
            return A2M_OK;
        }
    }
    return a2m_error(A2M_ERR_ARCH, "%s: tensors match no known architecture%s%s", path, *arch ? " of type " : "",
                     *arch ? *arch : " (give one with --arch)");
}

int a2m_model_check_for_audio(const a2m_model *m, const char *path) {
    if (!m->has_norm)
        return a2m_error(
            A2M_ERR_FORMAT,
            "%s: no normalisation (norm_mean/norm_std): a PyTorch state dict; convert it with `a2m import`", path);
    int dim = a2m_feat_dim(m->info.cqt, m->info.feat);
    if (m->info.n_bins != dim) /* the features would hand the network frames of the wrong width */
        return a2m_error(A2M_ERR_FORMAT, "%s: metadata n_bins %d differs from the %d values of its %s features%s", path,
                         m->info.n_bins, dim, a2m_feat_kind_name(m->info.feat.kind),
                         m->info.feat.kind == A2M_FEAT_CQT ? " (cqt.n_bins)" : "");
    return A2M_OK;
}

int a2m_model_check_features(const a2m_model *m, a2m_cqt_params c, a2m_feat_params f, const char *path) {
    const a2m_cqt_params *mc = &m->info.cqt;
    const a2m_feat_params *mf = &m->info.feat;
    const char *what = NULL;
    if (f.kind != mf->kind) what = "kind";
    else if (c.sample_rate != mc->sample_rate || c.hop != mc->hop) what = "sample rate or hop";
    else if (c.drop_last_frame != mc->drop_last_frame) what = "last-frame drop";
    else if (f.kind != A2M_FEAT_LPC && (c.ref != mc->ref || c.amin != mc->amin || c.top_db != mc->top_db))
        what = "dB step";
    else if (f.kind == A2M_FEAT_CQT &&
             (c.fmin != mc->fmin || c.n_bins != mc->n_bins || c.bins_per_octave != mc->bins_per_octave))
        what = "CQT bins";
    else if ((f.kind == A2M_FEAT_MEL || f.kind == A2M_FEAT_MFCC) &&
             (f.n_fft != mf->n_fft || f.n_mels != mf->n_mels || f.fmin != mf->fmin || f.fmax != mf->fmax ||
              f.reflect_pad != mf->reflect_pad || (f.kind == A2M_FEAT_MFCC && f.n_mfcc != mf->n_mfcc)))
        what = "mel parameters";
    else if (f.kind == A2M_FEAT_LPC && (f.order != mf->order || f.frame_length != mf->frame_length))
        what = "LPC parameters";
    if (!what) return A2M_OK;
    return a2m_error(A2M_ERR_FORMAT, "%s: trained on %s features; these %s features differ in %s", path,
                     a2m_feat_kind_name(mf->kind), a2m_feat_kind_name(f.kind), what);
}

int a2m_model_load(const char *path, const char *arch, a2m_model **out) {
    *out = NULL;
    st_file f;
    int rc = st_read(path, &f);
    if (rc) return rc;
    a2m_model_info info = nn_model_default_info();
    const char *meta_arch = st_meta(&f, "arch");
    if (!arch) arch = meta_arch;
    int has_norm = 0;
    if (meta_arch) rc = meta_read_all(&f, path, &info, &has_norm); /* an a2m model file */
    else rc = recognise_arch(&f, path, &arch, &info);
    if (!rc && !arch) rc = a2m_error(A2M_ERR_ARCH, "%s: no architecture in the file's metadata", path);
    if (rc) {
        st_free(&f);
        return rc;
    }
    const char *notes = st_meta(&f, "class_notes");
    if (notes && (rc = meta_class_notes(notes, path, &info))) {
        st_free(&f);
        return rc;
    }
    if (info.onset_head && nn_onset_class(&info) < 0) {
        st_free(&f);
        return a2m_error(A2M_ERR_FORMAT, "%s: metadata onset_head = 1 but class_notes has no onset class (%d)", path,
                         A2M_CLASS_ONSET);
    }
    a2m_model *m;
    rc = nn_model_create(arch, &info, &m);
    if (rc) {
        st_free(&f);
        return a2m_error_prefix(rc, path);
    }
    for (int i = 0; i < m->n_tensors && !rc; i++) {
        const nn_tensor *t = &m->tensors[i];
        const st_tensor *s = st_find(&f, t->name);
        if (!s) {
            rc = a2m_error(A2M_ERR_ARCH, "%s: tensor %s of architecture %s is missing", path, t->name, arch);
            break;
        }
        int same = s->ndim == t->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = s->shape[d] == t->shape[d];
        if (!same) {
            rc = a2m_error(A2M_ERR_SHAPE, "%s: tensor %s has the wrong shape for %s (hidden %d, %d bins, %d classes)",
                           path, t->name, arch, info.hidden, info.n_bins, info.n_classes);
            break;
        }
        memcpy(m->params + t->offset, s->data, t->count * sizeof(float));
    }
    if (!rc && (size_t)m->n_tensors != f.n)
        rc = a2m_error(A2M_ERR_ARCH, "%s: extra tensors for architecture %s", path, arch);
    for (size_t i = 0; i < m->n_params && !rc; i++)
        if (!isfinite(m->params[i])) rc = a2m_error(A2M_ERR_NONFINITE, "%s: NaN or infinite weight", path);
    st_free(&f);
    if (rc) {
        a2m_model_del(m);
        return rc;
    }
    m->has_norm = has_norm;
    *out = m;
    return A2M_OK;
}

/* ---- runners ---- */

struct a2m_runner {
    const a2m_model *m;
    nn_buffers buf; /* the training forward's buffers, when there is no inference path */
    void *infer;    /* the arch's inference-only state */
    int n_threads;
    unsigned long long mc_seed, mc_calls; /* Monte-Carlo dropout runners: call k's masks from (mc_seed, k) */
};

const char *a2m_precision_name(a2m_precision p) { return p == A2M_PRECISION_BF16 ? "bf16" : "fp32"; }

int a2m_precision_parse(const char *s, a2m_precision *p) {
    if (!s) return -1;
    if (!strcmp(s, "fp32")) *p = A2M_PRECISION_FP32;
    else if (!strcmp(s, "bf16")) *p = A2M_PRECISION_BF16;
    else return -1;
    return 0;
}

int a2m_precision_available(a2m_precision p) {
    if (p == A2M_PRECISION_FP32) return 1;
    return p == A2M_PRECISION_BF16 && infer_bf16_available();
}

a2m_runner_params a2m_runner_default_params(void) {
    a2m_runner_params p = {.max_batch = 1, .max_frames = 666, .precision = A2M_PRECISION_FP32, .n_threads = 1};
    return p;
}

a2m_precision a2m_runner_precision(const a2m_runner *r) {
    return r->infer && r->m->arch->infer_precision ? (a2m_precision)r->m->arch->infer_precision(r->infer)
                                                   : A2M_PRECISION_FP32;
}

static int runner_check_params(a2m_runner_params p) {
    if (p.max_batch <= 0 || p.max_frames <= 0)
        return a2m_error(A2M_ERR_ARG, "runner: bad batch shape %dx%d", p.max_batch, p.max_frames);
    if (p.precision != A2M_PRECISION_FP32 && p.precision != A2M_PRECISION_BF16)
        return a2m_error(A2M_ERR_ARG, "runner: unknown precision %d", (int)p.precision);
    if (p.n_threads < 1) return a2m_error(A2M_ERR_ARG, "runner: %d threads", p.n_threads);
    if (p.mc_dropout != 0 && !(p.mc_dropout > 0 && p.mc_dropout < 1))
        return a2m_error(A2M_ERR_ARG, "runner: Monte-Carlo dropout %g outside (0, 1)", p.mc_dropout);
    return A2M_OK;
}

int a2m_runner_new(const a2m_model *m, a2m_runner_params p, a2m_runner **out) {
    *out = NULL;
    int rc = runner_check_params(p);
    if (rc) return rc;
    a2m_runner *r = calloc(1, sizeof *r);
    if (!r) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    r->m = m, r->n_threads = p.n_threads;
    r->buf.max_batch = p.max_batch, r->buf.max_frames = p.max_frames;
    if (p.mc_dropout > 0) { /* the training forward, dropout on: no inference path has dropout */
        r->mc_seed = p.mc_seed;
        r->buf.mc = 1, r->buf.dropout = (float)p.mc_dropout;
    } else if (m->arch->infer_new) {
        r->infer = m->arch->infer_new(m, m->params, p.max_batch, p.max_frames, (int)p.precision);
    }
    if (!r->infer) r->buf.acts = malloc(m->arch->act_floats(m, p.max_batch, p.max_frames) * sizeof(float));
    if (!r->infer && !r->buf.acts) {
        a2m_runner_del(r);
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    *out = r;
    return A2M_OK;
}

void a2m_runner_del(a2m_runner *r) {
    if (!r) return;
    if (r->infer) r->m->arch->infer_del(r->infer);
    free(r->buf.acts);
    free(r->buf.scratch);
    free(r);
}

/* a Monte-Carlo runner's call k draws masks from seed (mc_seed x golden + k) x this + 1 */
#define MC_SEED_MUL 0xBF58476D1CE4E5B9ull

void nn_runner_mc_seek(a2m_runner *r, unsigned long long seed, unsigned long long calls) {
    r->mc_seed = seed, r->mc_calls = calls;
    r->buf.seq_step = MC_SEED_MUL; /* call k's seed (below) + b x this = call k + b's */
}

int a2m_runner_forward(a2m_runner *r, const float *x, int B, int T, float *logits) {
    if (B <= 0 || T <= 0 || B > r->buf.max_batch || T > r->buf.max_frames)
        return a2m_error(A2M_ERR_ARG, "forward: batch %dx%d exceeds the runner's %dx%d", B, T, r->buf.max_batch,
                         r->buf.max_frames);
    if (r->infer) {
        r->m->arch->infer_forward(r->infer, x, NULL, B, T, logits);
        return A2M_OK;
    }
    /* activations are laid out for (B, T): reuse the buffer sized for the maximum */
    if (r->buf.mc) r->buf.seed = (r->mc_seed * 0x9E3779B97F4A7C15ull + r->mc_calls++) * MC_SEED_MUL + 1;
    r->m->arch->forward(r->m, r->m->params, &r->buf, x, NULL, B, T, logits, r->n_threads, 0);
    return A2M_OK;
}

int a2m_model_hidden(const a2m_model *m, const float *x, int T, int n_threads, float *out, int *dim) {
    if (!m->arch->hidden) return a2m_error(A2M_ERR_UNSUPPORTED, "%s models: no hidden states to read", m->info.arch);
    *dim = m->arch->hidden(m, NULL, NULL, T, NULL, n_threads);
    if (!out) return A2M_OK;
    if (T <= 0) return a2m_error(A2M_ERR_ARG, "hidden states: %d frames", T);
    nn_buffers buf = {0};
    buf.max_batch = 1, buf.max_frames = T;
    buf.acts = malloc(m->arch->act_floats(m, 1, T) * sizeof(float));
    int d = buf.acts ? m->arch->hidden(m, &buf, x, T, out, n_threads) : -1;
    free(buf.acts);
    return d < 0 ? a2m_error(A2M_ERR_NOMEM, "hidden states: out of memory for %d frames", T) : A2M_OK;
}
