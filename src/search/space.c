/* The search space: which a2m train options a study varies, over which ranges (space file, JSON). */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/fileio.h"
#include "a2m/search.h"
#include "a2m/io.h"

/* The train options a space may name, with the ranges `a2m train` accepts. kind: 'i' int, 'd' double,
 * 's' one of the words in words (stored as the word's index). */
typedef struct opt_def {
    const char *name;
    char kind;
    double lo, hi;
    size_t off;        /* field of a2m_train_params ('i': int, 'd': double) */
    const char *words; /* 's': space-separated choices */
} opt_def;

#define F(f) offsetof(a2m_train_params, f)
static const opt_def opts[] = {
    {"model", 's', 0, 0, 0, "crnn unet transformer"},
    {"hidden", 'i', 1, 4096, F(hidden), NULL},
    {"dropout", 'd', 0, 0.95, F(dropout), NULL},
    {"lr", 'd', 1e-9, 10, F(lr), NULL},
    {"batch", 'i', 1, 64, F(batch), NULL},
    {"class-weight-power", 'd', 0, 4, F(class_weight_power), NULL},
    {"loss", 's', 0, 0, 0, "ce focal"},
    {"gamma", 'd', 0, 10, F(focal_gamma), NULL},
    {"patience", 'i', 1, 100000, F(patience), NULL},
    {"plateau", 'i', 0, 100000, F(plateau), NULL},
    {"lr-schedule", 's', 0, 0, 0, "plateau cosine"},
    {"select", 's', 0, 0, 0, "f1 loss"},
    {"weight-decay", 'd', 0, 1, F(weight_decay), NULL},
    {"optimizer", 's', 0, 0, 0, "adam adamw"},
    {"clip", 'd', 0, 1e6, F(clip_norm), NULL},
    {"window", 'i', 0, 10000000, F(window), NULL},
    {"augment-gain", 'd', 0, 60, F(augment_gain_db), NULL},
    {"augment-shift", 'i', 0, 12, F(augment_shift_bins), NULL},
    {"augment-transpose", 'i', 0, 48, F(augment_transpose), NULL},
    {"augment-mask-frames", 'i', 0, 100000, F(augment_mask_frames), NULL},
    {"augment-mask-bins", 'i', 0, 10000, F(augment_mask_bins), NULL},
    {"onset-weight", 'd', 0.01, 100, F(onset_weight), NULL},
    {"label-smoothing", 'd', 0, 0.99, F(label_smoothing), NULL},
    {"ema", 'd', 0, 0.9999, F(ema), NULL},
    {"concat", 'i', 1, 64, F(concat), NULL},
};
#undef F
#define N_OPTS (sizeof opts / sizeof opts[0])

const char *a2m_search_space_names(void) {
    return "model hidden dropout lr batch class-weight-power loss gamma patience plateau lr-schedule select "
           "weight-decay "
           "optimizer clip window augment-gain augment-shift augment-transpose augment-mask-frames "
           "augment-mask-bins onset-weight label-smoothing ema concat";
}

static const opt_def *find_opt(const char *name) {
    for (size_t i = 0; i < N_OPTS; i++)
        if (!strcmp(opts[i].name, name)) return &opts[i];
    return NULL;
}

/* index of word in a space-separated list, or -1 */
static int word_index(const char *words, const char *w) {
    size_t n = strlen(w);
    int k = 0;
    for (const char *s = words; *s; k++) {
        size_t len = strcspn(s, " ");
        if (len == n && !strncmp(s, w, n)) return k;
        s += len;
        while (*s == ' ') s++;
    }
    return -1;
}

/* A choice (or fixed value) as text, checked against the option: a word of 's', a number in range. */
static int choice_text(const char *file, const opt_def *o, json_t *v, char *out) {
    if (o->kind == 's') {
        if (!json_is_string(v) || word_index(o->words, json_string_value(v)) < 0)
            return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\" is one of: %s", file, o->name, o->words);
        snprintf(out, A2M_SEARCH_NAME, "%s", json_string_value(v));
        return A2M_OK;
    }
    double x = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(x >= o->lo && x <= o->hi) || (o->kind == 'i' && x != floor(x)))
        return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": a choice must be %s in [%g, %g]", file, o->name,
                         o->kind == 'i' ? "an integer" : "a number", o->lo, o->hi);
    snprintf(out, A2M_SEARCH_NAME, "%.17g", x);
    return A2M_OK;
}

static int parse_choices(const char *file, const opt_def *o, json_t *arr, a2m_search_param *p) {
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (n == 0 || n > A2M_SEARCH_MAX_CHOICES)
        return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": \"choices\" is an array of 1 to %d values", file, o->name,
                         A2M_SEARCH_MAX_CHOICES);
    p->kind = A2M_PARAM_CHOICE, p->n_choices = (int)n;
    for (size_t k = 0; k < n; k++) {
        int rc = choice_text(file, o, json_array_get(arr, k), p->choices[k]);
        if (rc) return rc;
        for (size_t j = 0; j < k; j++)
            if (!strcmp(p->choices[j], p->choices[k]))
                return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": choice %s given twice", file, o->name, p->choices[k]);
    }
    return A2M_OK;
}

static int parse_range(const char *file, const opt_def *o, json_t *spec, int is_int, a2m_search_param *p) {
    json_t *lo = json_object_get(spec, "low"), *hi = json_object_get(spec, "high"), *st = json_object_get(spec, "step");
    json_t *lg = json_object_get(spec, "log");
    if (o->kind == 's' || (!is_int && o->kind == 'i'))
        return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\" takes %s", file, o->name,
                         o->kind == 's' ? "\"categorical\" choices" : "\"int\" values");
    if (!json_is_number(lo) || !json_is_number(hi) || (st && !json_is_number(st)) || (lg && !json_is_boolean(lg)))
        return a2m_error(A2M_ERR_FORMAT,
                         "%s: \"%s\": needs numbers \"low\", \"high\" (optional \"step\", \"log\": true)", file,
                         o->name);
    p->kind = is_int ? A2M_PARAM_INT : A2M_PARAM_FLOAT;
    p->low = json_number_value(lo), p->high = json_number_value(hi);
    p->step = st ? json_number_value(st) : is_int ? 1 : 0;
    p->log = lg && json_is_true(lg);
    if (!(p->low >= o->lo && p->high <= o->hi && p->low < p->high))
        return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": needs %g <= low < high <= %g", file, o->name, o->lo, o->hi);
    if (is_int && (p->low != floor(p->low) || p->high != floor(p->high) || p->step != floor(p->step)))
        return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": an int range has integer low, high and step", file, o->name);
    /* high - low may round below a step that fits exactly: 1e-4 .. 1e-4 + 4 stored and read back gives
     * 3.9999999999999996 (a fuzzer's find), so the step may exceed the width by the same 1e-9 the snap allows */
    if (!(p->step >= 0 && p->step <= (p->high - p->low) * (1 + 1e-9)) || (is_int && p->step < 1))
        return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": step must be in (0, high - low]", file, o->name);
    if (p->log && (p->low <= 0 || (p->step != (is_int ? 1 : 0))))
        return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": a log range needs low > 0 and no step", file, o->name);
    /* high snapped to the last step, as Optuna, but never above the high given: low + k step may round 1 ulp
     * past it (0.95 -> 0.95000000000000007, out of dropout's range when stored and read back) */
    if (p->step > 0) p->high = fmin(p->low + floor((p->high - p->low) / p->step + 1e-9) * p->step, p->high);
    return A2M_OK;
}

static int parse_param(const char *file, const char *key, json_t *spec, a2m_search_param *p) {
    const opt_def *o = find_opt(key);
    if (!o)
        return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\" is not a searchable a2m train option (%s)", file, key,
                         a2m_search_space_names());
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", key);
    if (!json_is_object(spec)) { /* a fixed value */
        p->kind = A2M_PARAM_CHOICE, p->n_choices = 1;
        return choice_text(file, o, spec, p->choices[0]);
    }
    json_t *type = json_object_get(spec, "type");
    const char *t = json_is_string(type) ? json_string_value(type) : "";
    const char *keys[] = {"type", "low", "high", "step", "log", "choices"};
    const char *k;
    json_t *v;
    json_object_foreach(spec, k, v) {
        size_t j = 0;
        while (j < 6 && strcmp(k, keys[j])) j++;
        if (j == 6) return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": unknown key \"%s\"", file, key, k);
    }
    if (!strcmp(t, "categorical")) return parse_choices(file, o, json_object_get(spec, "choices"), p);
    if (!strcmp(t, "int") || !strcmp(t, "float")) return parse_range(file, o, spec, !strcmp(t, "int"), p);
    return a2m_error(A2M_ERR_FORMAT, "%s: \"%s\": \"type\" is \"int\", \"float\" or \"categorical\"", file, key);
}

int a2m_search_space_parse(const char *json, size_t len, const char *name, a2m_search_space *out) {
    memset(out, 0, sizeof *out);
    json_error_t e;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
    if (!root) return a2m_error(A2M_ERR_FORMAT, "%s: not JSON (line %d: %s)", name, e.line, e.text);
    int rc = json_is_object(root) && json_object_size(root) > 0
                 ? A2M_OK
                 : a2m_error(A2M_ERR_FORMAT, "%s: a space is a JSON object of parameters", name);
    const char *key;
    json_t *spec;
    json_object_foreach(root, key, spec) {
        if (rc) break;
        for (int i = 0; i < out->n && !rc; i++)
            if (!strcmp(out->p[i].name, key)) rc = a2m_error(A2M_ERR_FORMAT, "%s: \"%s\" given twice", name, key);
        if (!rc && out->n == A2M_SEARCH_MAX_PARAMS)
            rc = a2m_error(A2M_ERR_FORMAT, "%s: more than %d parameters", name, A2M_SEARCH_MAX_PARAMS);
        if (!rc) rc = parse_param(name, key, spec, &out->p[out->n++]);
    }
    json_decref(root);
    return rc;
}

static int space_parse_file(const uint8_t *buf, size_t len, const char *name, void *out) {
    return a2m_search_space_parse((const char *)buf, len, name, out);
}

int a2m_search_space_load(const char *path, a2m_search_space *out) {
    return a2m_parse_file(path, 1 << 20, space_parse_file, out);
}

void a2m_search_space_default(a2m_search_space *out) {
    static const char *def = "{\"hidden\": {\"type\": \"categorical\", \"choices\": [32, 64, 128, 256]},"
                             " \"lr\": {\"type\": \"float\", \"low\": 1e-4, \"high\": 1e-2, \"log\": true},"
                             " \"batch\": {\"type\": \"categorical\", \"choices\": [4, 8, 16, 32]},"
                             " \"dropout\": {\"type\": \"float\", \"low\": 0, \"high\": 0.5},"
                             " \"class-weight-power\": {\"type\": \"float\", \"low\": 0, \"high\": 1},"
                             " \"loss\": {\"type\": \"categorical\", \"choices\": [\"ce\", \"focal\"]},"
                             " \"label-smoothing\": {\"type\": \"float\", \"low\": 0, \"high\": 0.2}}";
    a2m_search_space_parse(def, strlen(def), "default space", out);
}

static json_t *num_json(double x) {
    return x == floor(x) && fabs(x) < 1e15 ? json_integer((json_int_t)x) : json_real(x);
}

char *a2m_search_space_json(const a2m_search_space *s) {
    json_t *root = json_object();
    for (int i = 0; root && i < s->n; i++) {
        const a2m_search_param *p = &s->p[i];
        json_t *o = json_object(), *ch = json_array();
        const opt_def *d = find_opt(p->name);
        if (p->kind == A2M_PARAM_CHOICE) {
            for (int k = 0; k < p->n_choices; k++)
                json_array_append_new(ch, d && d->kind == 's' ? json_string(p->choices[k])
                                                              : num_json(strtod(p->choices[k], NULL)));
            json_object_set_new(o, "type", json_string("categorical"));
            json_object_set_new(o, "choices", ch);
        } else {
            json_decref(ch);
            json_object_set_new(o, "type", json_string(p->kind == A2M_PARAM_INT ? "int" : "float"));
            json_object_set_new(o, "low", num_json(p->low));
            json_object_set_new(o, "high", num_json(p->high));
            if (p->step > 0) json_object_set_new(o, "step", num_json(p->step));
            if (p->log) json_object_set_new(o, "log", json_true());
        }
        json_object_set_new(root, p->name, o);
    }
    char *out = root ? json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    if (!out) a2m_error(A2M_ERR_NOMEM, "out of memory");
    return out;
}

/* The shortest text that reads back as v (a reproduced trial trains with exactly its value). */
static void shortest(double v, char *buf, size_t n) {
    for (int prec = 4; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void a2m_search_format_value(const a2m_search_param *p, double v, char *buf, size_t n) {
    if (isnan(v)) snprintf(buf, n, "-");
    else if (p->kind == A2M_PARAM_CHOICE)
        snprintf(buf, n, "%s", p->choices[(int)v >= 0 && (int)v < p->n_choices ? (int)v : 0]);
    else if (p->kind == A2M_PARAM_INT) snprintf(buf, n, "%.0f", v);
    else shortest(v, buf, n);
}

/* Sets one option from its text. */
static int set_opt(a2m_train_params *p, const opt_def *o, const char *text, int *focal) {
    if (o->kind == 's') {
        int k = word_index(o->words, text);
        static const char *archs[] = {"crnn", "unet", "transformer"};
        if (!strcmp(o->name, "model")) p->arch = archs[k >= 0 && k < 3 ? k : 0];
        else if (!strcmp(o->name, "loss")) *focal = k;
        else if (!strcmp(o->name, "select")) p->select_by_loss = k;
        else if (!strcmp(o->name, "lr-schedule")) p->lr_cosine = k;
        else p->adamw = k;
        return k >= 0 ? A2M_OK : a2m_error(A2M_ERR_ARG, "search: %s: no choice %s", o->name, text);
    }
    double x = strtod(text, NULL);
    if (!(x >= o->lo && x <= o->hi)) return a2m_error(A2M_ERR_ARG, "search: %s %s out of range", o->name, text);
    if (o->kind == 'i') *(int *)((char *)p + o->off) = (int)lround(x);
    else *(double *)((char *)p + o->off) = x;
    return A2M_OK;
}

int a2m_search_apply(const a2m_search_space *s, const double *values, a2m_train_params *p) {
    int focal = -1, rc = A2M_OK;
    double gamma_before = p->focal_gamma;
    for (int i = 0; i < s->n && !rc; i++) {
        const opt_def *o = find_opt(s->p[i].name);
        char text[64];
        a2m_search_format_value(&s->p[i], values[i], text, sizeof text);
        if (s->p[i].kind != A2M_PARAM_CHOICE) snprintf(text, sizeof text, "%.17g", values[i]);
        rc = o ? set_opt(p, o, text, &focal) : a2m_error(A2M_ERR_ARG, "search: unknown option %s", s->p[i].name);
    }
    int dropout_set = 0;
    for (int i = 0; i < s->n; i++) dropout_set |= !strcmp(s->p[i].name, "dropout");
    if (!dropout_set && !strcmp(p->arch, "transformer")) p->dropout = 0.1; /* as `a2m train --model transformer` */
    /* as `a2m train --loss`: ce is gamma 0; focal keeps a --gamma given, else 2 */
    if (focal == 0) p->focal_gamma = 0;
    else if (focal == 1 && p->focal_gamma == 0) p->focal_gamma = gamma_before > 0 ? gamma_before : 2;
    return rc;
}

void a2m_search_train_args(const a2m_search_space *s, const double *values, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    int focal = 1, mask_f = -1, mask_b = -1;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->p[i].name, "loss"))
            focal = (int)values[i] < s->p[i].n_choices && !strcmp(s->p[i].choices[(int)values[i]], "focal");
    for (int i = 0; i < s->n && used < n; i++) {
        const a2m_search_param *p = &s->p[i];
        char v[64];
        a2m_search_format_value(p, values[i], v, sizeof v);
        int w = 0;
        if (!strcmp(p->name, "gamma") && !focal) continue;
        if (!strcmp(p->name, "augment-mask-frames")) mask_f = atoi(v);
        else if (!strcmp(p->name, "augment-mask-bins")) mask_b = atoi(v);
        else if (!strcmp(p->name, "optimizer"))
            w = !strcmp(v, "adamw") ? snprintf(buf + used, n - used, "%s--adamw", used ? " " : "") : 0;
        else w = snprintf(buf + used, n - used, "%s--%s %s", used ? " " : "", p->name, v);
        used += w > 0 ? (size_t)w : 0;
    }
    if ((mask_f >= 0 || mask_b >= 0) && used < n)
        snprintf(buf + used, n - used, "%s--augment-mask %d,%d", used ? " " : "", mask_f > 0 ? mask_f : 0,
                 mask_b > 0 ? mask_b : 0);
}
