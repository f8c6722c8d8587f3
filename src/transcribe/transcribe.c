/* Transcription of a whole recording: window mode runs the streaming pass
 * (stream.c) over it, so a file and the same audio streamed give the same
 * result; whole-sequence mode runs one feature pass (CQT, or the mel, MFCC or
 * LPC a model was trained on: those always run so) and one forward pass. */
#include "a2m/transcribe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/cqt.h"
#include "a2m/features.h"
#include "a2m/error.h"
#include "a2m/uncertainty.h"
#include "nn/arch.h"
#include "nn/layers.h"
#include "transcribe/flux.h"
#include "transcribe/fold.h"
#include "transcribe/intonation.h"
#include "transcribe/key.h"
#include "transcribe/range.h"
#include "transcribe/split.h"
#include "transcribe/tuning.h"
#include "transcribe/window.h"

a2m_transcribe_params a2m_transcribe_default_params(void) {
    a2m_transcribe_params p = {6.0,   4.0,  4,     -1,  -1,    -1,   -1,   A2M_PRECISION_FP32, 0.6, 0.6,
                               10.0,  2.0,  180.0, 0.0, 250.0, 15.0, 0,    A2M_TUNING_AUTO,    0.0, 2.0,
                               120.0, 20.0, 0.0,   0,   -1.0,  15.0, 0.03, {0.06, 2.0, 0.6},   0,   {0}};
    return p;
}

a2m_transcribe_params transcribe_params_for_model(a2m_transcribe_params p, const a2m_model_info *in) {
    int any_pitch = transcribe_onset_class(in->class_notes, in->n_classes) >= 0;
    if (p.max_gap_frames < 0) p.max_gap_frames = any_pitch ? 10 : 5;
    if (p.min_note_frames < 0) p.min_note_frames = any_pitch ? 18 : 10;
    return p;
}

a2m_note_rules a2m_note_rules_from_params(a2m_transcribe_params p, double frame_s) {
    a2m_note_rules r;
    r.max_gap = transcribe_frames_from_ms(p.max_gap_ms, p.max_gap_frames, frame_s);
    r.min_note = transcribe_frames_from_ms(p.min_note_ms, p.min_note_frames, frame_s);
    r.onset_threshold = p.onset_threshold;
    r.min_voicing = p.min_voicing;
    r.pitch_cost = p.pitch_cost;
    r.voicing_cost = p.voicing_cost;
    r.glide = transcribe_frames_from_ms(p.glide_ms, 0, frame_s);
    r.dip_depth = p.dip_depth;
    r.delay_s = p.delay_ms / 1000.0;
    r.legato = transcribe_frames_from_ms(p.legato_ms, 0, frame_s);
    r.onset_snap = transcribe_frames_from_ms(p.onset_snap_ms, 0, frame_s);
    r.class_logprior = NULL;
    r.onset_sigmoid = 0;
    r.onset_gap = p.onset_gap_ms < 0 ? 0 : transcribe_frames_from_ms(p.onset_gap_ms, 0, frame_s);
    r.range_evidence = NULL;
    r.sung_pitch = NULL;
    r.range_min_db = p.range_min_db;
    r.flux_weight = p.onset_flux;
    r.onset_flux = NULL;
    r.split = p.split;
    return r;
}

struct a2m_transcriber {
    const a2m_model *m; /* the first member's: the front end, classes and decoder of all */
    a2m_transcribe_params p;
    transcribe_member *mb; /* the members (window.h) */
    int n_mb;
    int unc;                       /* made by a2m_transcriber_new_members: the predictive measures */
    a2m_transcribe_stream *stream; /* window mode */
    /* whole-recording mode: kept between calls, grown when a longer recording comes */
    a2m_feat *whole_cqt;
    a2m_runner **whole_runner; /* [n_mb]: a member's own, or NULL (it runs on member mb[i].runner's) */
    size_t whole_samples, whole_frames;
    float *whole_feat, *whole_logits;
    float *whole_xn;     /* [whole_frames x n_bins]: a member's normalised features (several members) */
    float *whole_flux;   /* [whole_frames]: the onset snap's spectral flux (flux.h), models with an onset class */
    double tuning_cents; /* the last recording's, one-sequence mode */
    int whole_range;     /* models with below/above classes on the CQT: the evidence for such notes (range.h) */
    transcribe_range range;
    float *whole_ev;      /* [whole_frames x TRANSCRIBE_RANGE_VALUES] */
    float *whole_sung;    /* [whole_frames] each frame's sung pitch (intonation.h), CQT models */
    transcribe_fold fold; /* the notes the user allows (fold.h) */
};

static void whole_runners_del(a2m_transcriber *t) {
    for (int i = 0; t->whole_runner && i < t->n_mb; i++) a2m_runner_del(t->whole_runner[i]), t->whole_runner[i] = NULL;
}

void a2m_transcriber_del(a2m_transcriber *t) {
    if (!t) return;
    a2m_transcribe_stream_del(t->stream);
    a2m_feat_del(t->whole_cqt);
    whole_runners_del(t);
    free(t->whole_runner), free(t->mb);
    free(t->whole_feat), free(t->whole_logits), free(t->whole_ev), free(t->whole_sung), free(t->whole_flux);
    free(t->whole_xn);
    free(t);
}

static int transcriber_make(const a2m_model *const *models, int n, a2m_transcribe_params p, int unc,
                            a2m_transcriber **out) {
    *out = NULL;
    if (p.window_s < 0 || p.batch <= 0 || p.batch > 256 || (p.window_s > 0 && !(p.hop_s > 0 && p.hop_s <= p.window_s)))
        return a2m_error(A2M_ERR_ARG, "transcribe: bad window parameters");
    if (!(p.tuning_cents >= -50 && p.tuning_cents <= 50) || !(p.key_weight >= 0) || !(p.onset_snap_ms >= 0) ||
        !(p.onset_flux >= 0) || !(p.split.flux >= 0 && p.split.pitch >= 0 && p.split.dip >= 0))
        return a2m_error(A2M_ERR_ARG,
                         "transcribe: tuning %g cents outside -50..50, or a negative key, snap, flux or split weight",
                         p.tuning_cents);
    a2m_transcriber *t = calloc(1, sizeof *t);
    if (!t) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    int rc = transcribe_members(models, n, p, &t->mb, &t->n_mb);
    if (!rc && !(t->whole_runner = calloc((size_t)t->n_mb, sizeof *t->whole_runner)))
        rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    if (rc) {
        a2m_transcriber_del(t);
        return rc;
    }
    const a2m_model *m = t->m = models[0];
    t->unc = unc;
    if (a2m_model_get_info(m)->feat.kind != A2M_FEAT_CQT) p.window_s = 0; /* no streaming front end but the CQT's */
    t->p = p = transcribe_params_for_model(p, a2m_model_get_info(m));
    const a2m_model_info *in = a2m_model_get_info(m);
    t->whole_range = p.range_min_db > 0 && in->feat.kind == A2M_FEAT_CQT &&
                     !transcribe_range_init(&t->range, in->cqt, in->class_notes, in->n_classes);
    rc = transcribe_fold_init(&t->fold, p.notes, in->class_notes, in->n_classes);
    if (!rc && p.window_s > 0) rc = transcribe_stream_members(models, n, p, 1, unc, &t->stream);
    if (rc) a2m_transcriber_del(t);
    else *out = t;
    return rc;
}

int a2m_transcriber_new(const a2m_model *m, a2m_transcribe_params p, a2m_transcriber **out) {
    return transcriber_make(&m, 1, p, 0, out);
}

int a2m_transcriber_new_members(const a2m_model *const *models, int n, a2m_transcribe_params p, a2m_transcriber **out) {
    *out = NULL;
    if (!models || n < 1) return a2m_error(A2M_ERR_ARG, "transcribe: no model");
    return transcriber_make(models, n, p, 1, out);
}

void a2m_transcription_free(a2m_transcription *r) {
    if (!r) return;
    free(r->probs), free(r->classes), free(r->notes), free(r->uncertainty);
    memset(r, 0, sizeof *r);
}

/* One sequence: the recording's tuning from all its frames (the stream's estimate once it has them all). */
static int tune_whole(a2m_transcriber *t, size_t frames) {
    const a2m_model_info *in = a2m_model_get_info(t->m);
    a2m_tuning_mode mode = transcribe_onset_class(in->class_notes, in->n_classes) >= 0 ? t->p.tuning : A2M_TUNING_OFF;
    if (mode == A2M_TUNING_OFF || in->feat.kind != A2M_FEAT_CQT) return A2M_OK; /* a shift along CQT bins */
    transcribe_tuning tune;
    transcribe_tuning_init(&tune, in->cqt.bins_per_octave);
    double bins = mode == A2M_TUNING_FIXED ? t->p.tuning_cents / 100.0 * tune.bins_per_semitone : 0;
    if (mode == A2M_TUNING_AUTO) {
        transcribe_tuning_add(&tune, t->whole_feat, frames, in->n_bins, 1);
        bins = transcribe_tuning_bins(&tune);
    }
    float *row = malloc((size_t)in->n_bins * sizeof *row);
    if (!row) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    transcribe_tuning_shift(t->whole_feat, frames, in->n_bins, bins, row);
    free(row);
    t->tuning_cents = tune.bins_per_semitone ? bins * 100.0 / tune.bins_per_semitone : 0;
    return A2M_OK;
}

/* One sequence: the spectral flux of the CQT frames in dB (flux.h; the stream's reads the power frames). */
static int flux_whole(a2m_transcriber *t, size_t frames) {
    transcribe_flux fl;
    int rc = transcribe_flux_init(&fl, a2m_model_get_info(t->m)->n_bins);
    if (!rc) transcribe_flux_add(&fl, t->whole_feat, frames, 0, 0, 0, t->whole_flux);
    transcribe_flux_free(&fl);
    return rc;
}

/* The extractor for n samples: kept, remade only for a longer recording. */
static int whole_features(a2m_transcriber *t, size_t n) {
    if (n <= t->whole_samples) return A2M_OK;
    const a2m_model_info *in = a2m_model_get_info(t->m);
    a2m_feat_del(t->whole_cqt);
    t->whole_cqt = NULL, t->whole_samples = 0;
    int rc = a2m_feat_new(in->cqt, in->feat, n, &t->whole_cqt);
    if (!rc) t->whole_samples = n;
    return rc;
}

/* One sequence: the features of the whole recording, one forward pass. The feature
 * plans and the runner are kept for the next recording (remade only when a
 * longer one comes: FFT planning and weight packing cost milliseconds). */
/* One sequence: the members' runners and the buffers for `frames` frames, remade when a longer recording comes. */
static int whole_buffers(a2m_transcriber *t, size_t frames) {
    if (frames <= t->whole_frames) return A2M_OK;
    const a2m_model_info *in = a2m_model_get_info(t->m);
    whole_runners_del(t);
    free(t->whole_feat), free(t->whole_logits), free(t->whole_ev), free(t->whole_sung), free(t->whole_flux);
    free(t->whole_xn);
    t->whole_feat = t->whole_logits = t->whole_ev = t->whole_sung = t->whole_flux = t->whole_xn = NULL;
    t->whole_frames = 0;
    int rc = A2M_OK;
    for (int i = 0; i < t->n_mb && !rc; i++)
        if (t->mb[i].runner == i)
            rc = a2m_runner_new(t->mb[i].m, transcribe_runner_params(t->p, &t->mb[i], 1, (int)frames),
                                &t->whole_runner[i]);
    if (rc) return rc;
    t->whole_feat = malloc(frames * in->n_bins * sizeof *t->whole_feat);
    t->whole_logits = malloc(frames * in->n_classes * sizeof *t->whole_logits);
    t->whole_ev = t->whole_range ? malloc(frames * TRANSCRIBE_RANGE_VALUES * sizeof *t->whole_ev) : NULL;
    int cqt = in->feat.kind == A2M_FEAT_CQT, several = t->n_mb > 1;
    t->whole_sung = cqt ? malloc(frames * sizeof *t->whole_sung) : NULL;
    t->whole_flux = cqt ? malloc(frames * sizeof *t->whole_flux) : NULL;
    t->whole_xn = several ? malloc(frames * in->n_bins * sizeof *t->whole_xn) : NULL;
    if (!t->whole_feat || !t->whole_logits || (t->whole_range && !t->whole_ev) ||
        (cqt && (!t->whole_sung || !t->whole_flux)) || (several && !t->whole_xn))
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    t->whole_frames = frames;
    return A2M_OK;
}

/* One sequence: every member's network over the features (whole_feat, normalised in place for one member, else a
 * copy per member and whole_feat by the first's model at the end, as one model reads them: the sung pitch does);
 * probs [frames x C] their mean, measures (or NULL) their predictive measures. */
static int whole_members(a2m_transcriber *t, size_t frames, float *probs, float *measures) {
    const a2m_model_info *in0 = a2m_model_get_info(t->m);
    size_t nf = frames * (size_t)in0->n_bins;
    a2m_predictive acc = {0};
    int several = t->n_mb > 1, mean = several || measures;
    int rc = mean ? a2m_predictive_init(&acc, frames, in0->n_classes) : A2M_OK;
    for (int i = 0; i < t->n_mb && !rc; i++) {
        const a2m_model_info *in = a2m_model_get_info(t->mb[i].m);
        float *x = several ? t->whole_xn : t->whole_feat;
        if (several) memcpy(x, t->whole_feat, nf * sizeof *x);
        transcribe_normalise(x, nf, in->norm_mean, in->norm_std);
        a2m_runner *r = t->whole_runner[t->mb[i].runner];
        if (t->mb[i].dropout > 0) nn_runner_mc_seek(r, t->mb[i].seed, 0); /* every recording: the pass's masks */
        rc = a2m_runner_forward(r, x, 1, (int)frames, t->whole_logits);
        if (!rc) a2m_model_probs(in, t->whole_logits, frames, probs);
        if (!rc && mean) rc = a2m_predictive_add(&acc, probs);
    }
    if (!rc && several) transcribe_normalise(t->whole_feat, nf, in0->norm_mean, in0->norm_std);
    if (!rc && mean) rc = a2m_predictive_finish(&acc, probs, measures);
    a2m_predictive_free(&acc);
    return rc;
}

static int probs_whole(a2m_transcriber *t, const float *x, size_t n, float *probs, float *measures, size_t frames) {
    const a2m_model_info *in = a2m_model_get_info(t->m);
    int rc = whole_features(t, n);
    if (!rc) rc = whole_buffers(t, frames);
    if (rc) return rc;
    rc = a2m_feat_do(t->whole_cqt, x, n, t->whole_feat);
    if (!rc && in->feat.kind == A2M_FEAT_CQT) rc = flux_whole(t, frames);
    for (size_t f = 0; !rc && t->whole_range && f < frames; f++)              /* the dB rows, before the tuning shift */
        transcribe_range_frame(&t->range, t->whole_feat + f * in->n_bins, -1, /* no probabilities yet: no fold check */
                               t->whole_ev + f * TRANSCRIBE_RANGE_VALUES);
    if (!rc) rc = tune_whole(t, frames);
    if (!rc) rc = whole_members(t, frames, probs, measures);
    for (size_t f = 0; !rc && f < frames; f++)
        transcribe_fold_frame(&t->fold, probs + f * in->n_classes, in->n_classes);
    return rc;
}

/* One sequence: each frame's sung pitch from the features the network read (shifted by the tuning, normalised:
 * a peak's interpolated position is the same), the shift added back. */
static void whole_sung_pitch(const a2m_transcriber *t, const a2m_transcription *out) {
    const a2m_model_info *in = a2m_model_get_info(t->m);
    for (size_t f = 0; t->whole_sung && f < out->n_frames; f++) {
        int c = out->classes[f], p = c > 0 ? in->class_notes[c] : -1;
        t->whole_sung[f] = p >= 0 ? transcribe_sung_pitch(in->cqt, t->whole_feat + f * in->n_bins, 0, p, 0.0) +
                                        (float)(t->tuning_cents / 100.0)
                                  : NAN;
    }
}

int a2m_transcriber_run(a2m_transcriber *t, const float *x, size_t n, a2m_transcription *out) {
    memset(out, 0, sizeof *out);
    const a2m_model_info *in = a2m_model_get_info(t->m);
    int hop = in->cqt.hop, C = in->n_classes;
    if (n == 0) return a2m_error(A2M_ERR_EMPTY, "transcribe: no samples");
    size_t frames = n / (size_t)hop + (in->cqt.drop_last_frame ? 0 : 1);
    if (in->feat.kind != A2M_FEAT_CQT) { /* LPC frames need more than half a frame of samples */
        int rc = (double)n > A2M_WHOLE_MAX_SECONDS * in->cqt.sample_rate ? A2M_OK : whole_features(t, n);
        if (rc) return rc;
        frames = t->whole_cqt ? a2m_feat_n_frames(t->whole_cqt, n) : frames;
    }
    if (frames == 0) return a2m_error(A2M_ERR_RANGE, "transcribe: shorter than one frame (%d samples)", hop);
    if (t->p.window_s > 0) return a2m_transcribe_stream_run(t->stream, NULL, x, n, NULL, NULL, NULL, out);
    /* one sequence: ~1.3 KB of features and activations per frame (3 GB for an hour, measured) */
    if ((double)n > A2M_WHOLE_MAX_SECONDS * in->cqt.sample_rate)
        return a2m_error(A2M_ERR_RANGE,
                         "%.0f s is too long for one sequence (--window 0 holds it all in memory): at most "
                         "%.0f s; windows (the default) take any length",
                         n / in->cqt.sample_rate, A2M_WHOLE_MAX_SECONDS);
    out->probs = malloc(frames * C * sizeof *out->probs);
    out->classes = malloc(frames * sizeof *out->classes);
    out->uncertainty = t->unc ? malloc(frames * A2M_UNC_MEASURES * sizeof *out->uncertainty) : NULL;
    if (!out->probs || !out->classes || (t->unc && !out->uncertainty)) {
        a2m_transcription_free(out);
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    out->n_frames = frames, out->n_classes = C, out->frame_seconds = hop / in->cqt.sample_rate;
    int rc = probs_whole(t, x, n, out->probs, out->uncertainty, frames);
    out->tuning_cents = t->tuning_cents;
    if (!rc) {
        int onset = transcribe_onset_class(in->class_notes, C);
        for (size_t f = 0; f < frames; f++) out->classes[f] = transcribe_frame_class(out->probs + f * C, C, onset);
        a2m_note_rules rules = a2m_note_rules_from_params(t->p, out->frame_seconds);
        rules.onset_sigmoid = in->onset_head;
        rules.range_evidence = t->whole_range ? t->whole_ev : NULL;
        rules.sung_pitch = t->whole_sung;
        whole_sung_pitch(t, out);
        rules.onset_flux = in->feat.kind == A2M_FEAT_CQT ? t->whole_flux : NULL;
        float *prior = onset >= 0 && t->p.key_weight > 0 ? malloc((size_t)C * sizeof *prior) : NULL;
        if (prior) { /* the scale of the whole recording (the stream's, once it has every frame) */
            transcribe_key key;
            double share;
            transcribe_key_init(&key);
            transcribe_key_add(&key, out->probs, frames, C, in->class_notes);
            transcribe_key_logprior(transcribe_key_tonic(&key, &share), t->p.key_weight, in->class_notes, C, prior);
            rules.class_logprior = prior;
        }
        rc = onset >= 0 && t->p.key_weight > 0 && !prior
                 ? a2m_error(A2M_ERR_NOMEM, "out of memory")
                 : a2m_frames_to_notes(out->classes, out->probs, frames, C, in->class_notes, out->frame_seconds, rules,
                                       &out->notes, &out->n_notes);
        free(prior);
    }
    if (rc) a2m_transcription_free(out);
    return rc;
}

int a2m_transcriber_run_file(a2m_transcriber *t, const char *path, a2m_transcription *out) {
    memset(out, 0, sizeof *out);
    double rate = a2m_model_get_info(t->m)->cqt.sample_rate;
    int rc;
    if (t->p.window_s > 0) { /* read as a stream: memory does not grow with the file */
        a2m_audio_stream *in;
        if ((rc = a2m_audio_stream_new_file(path, rate, &in))) return rc;
        rc = a2m_transcribe_stream_run(t->stream, in, NULL, 0, path, NULL, NULL, out);
        a2m_audio_stream_del(in);
        return rc;
    }
    a2m_audio a;
    rc = a2m_audio_read(path, rate, &a);
    if (rc) return rc;
    rc = a2m_transcriber_run(t, a.samples, a.n, out);
    if (rc) a2m_error_prefix(rc, path);
    a2m_audio_free(&a);
    return rc;
}

/* ---- post-processing ---- */

typedef struct run {
    size_t start, len;
    int cls;
} run;

static size_t runs_of(const int *c, size_t n, run *r) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && c[j] == c[i]) j++;
        r[k++] = (run){i, j - i, c[i]};
        i = j;
    }
    return k;
}

/* silence runs shorter than max_gap between two runs of one note become that note */
static void fill_gaps(int *c, size_t n, run *r, int max_gap) {
    size_t k = runs_of(c, n, r);
    for (size_t i = 1; i + 1 < k; i++)
        if (r[i].cls == 0 && r[i].len < (size_t)max_gap && r[i - 1].cls == r[i + 1].cls && r[i - 1].cls != 0)
            for (size_t f = r[i].start; f < r[i].start + r[i].len; f++) c[f] = r[i - 1].cls;
}

/* The pitch run next to run i in direction d (+1/-1) in a legato line: the adjacent run, or the one beyond a
 * silence shorter than max_gap; -1 if there is none. */
static long legato_neighbour(const run *r, size_t k, size_t i, int d, int max_gap) {
    long j = (long)i + d;
    if (j < 0 || j >= (long)k) return -1;
    if (r[j].cls != 0) return j;
    if (r[j].len >= (size_t)max_gap || j + d < 0 || j + d >= (long)k) return -1;
    return r[j + d].cls != 0 ? j + d : -1;
}

/* Pitch runs shorter than glide frames in a legato line take the class of the next pitch run (a scoop into a
 * note) or else of the previous one (a slide at a phrase end), with the silence gap between; repeated until
 * nothing changes, so a glide over several semitones (55 54 53 -> 52) joins the note it reaches. */
static void join_glides(int *c, size_t n, run *r, int glide, int max_gap) {
    for (int changed = 1; changed && glide > 0;) {
        changed = 0;
        size_t k = runs_of(c, n, r);
        for (size_t i = 0; i < k && !changed; i++) {
            if (r[i].cls == 0 || r[i].len >= (size_t)glide) continue;
            long j = legato_neighbour(r, k, i, +1, max_gap);
            if (j < 0) j = legato_neighbour(r, k, i, -1, max_gap);
            if (j < 0) continue;
            size_t a = j > (long)i ? r[i].start : r[j].start + r[j].len,
                   b = j > (long)i ? r[j].start : r[i].start + r[i].len;
            for (size_t f = a; f < b; f++) c[f] = r[j].cls;
            changed = 1; /* runs changed: recount */
        }
    }
}

/* lp[c] = log p(state c) of one frame q: state 0 silence, else pitch class c; the onset class's mass is shared among
 * the pitches in proportion (an onset frame is a sung frame of some pitch), unless it is an onset head's sigmoid
 * (pitch_sum 0: the softmax already gives onset frames their pitch). Every state of the frame at once (the sums
 * vectorise; libm's logf after them); lp[onset] is log 1. */
static void states_logp(const float *q, int C, int onset, float pitch_sum, float *lp) {
    float qo = q[onset]; /* onset >= 0: viterbi_classes runs for models with an onset class */
    lp[0] = q[0] > 1e-6f ? q[0] : 1e-6f;
    for (int c = 1; c < C; c++) { /* without branches, so it vectorises */
        float v = pitch_sum > 0 ? q[c] + qo * q[c] / pitch_sum : q[c];
        lp[c] = v > 1e-6f ? v : 1e-6f;
    }
    lp[onset] = 1.0f;
    for (int c = 0; c < C; c++) lp[c] = logf(lp[c]);
}

/* The most likely class path (Viterbi) of frames [0, n): staying costs nothing, a change of pitch pitch_cost, a
 * change between silence and a pitch voicing_cost. O(n C) with the best and second-best pitch of the previous
 * frame; back pointers [n x C] (the onset class is never a state). */
static int viterbi_classes(const float *probs, size_t n, int C, int onset, const a2m_note_rules *r, int *classes) {
    float *v = malloc(3 * (size_t)C * sizeof *v);
    int *back = malloc((n ? n : 1) * (size_t)C * sizeof *back);
    if (!v || !back) {
        free(v), free(back);
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    float *prev = v, *cur = v + C, *lp = v + 2 * C, pc = (float)r->pitch_cost, vc = (float)r->voicing_cost;
    for (size_t f = 0; f < n; f++) {
        const float *q = probs + f * C;
        float ps = 0;
        for (int c = 1; c < C && !r->onset_sigmoid; c++) ps += c == onset ? 0 : q[c];
        /* best and second-best pitch of the previous frame, their scores kept beside them (read back through the
         * index, each compare waited for a load: this loop was a third of the decoder's time, perf annotate) */
        int b1 = -1, b2 = -1;
        float v1 = 0, v2 = 0;
        for (int c = 1; f > 0 && c < C; c++) {
            if (c == onset) continue;
            float x = prev[c];
            if (b1 < 0 || x > v1) b2 = b1, v2 = v1, b1 = c, v1 = x;
            else if (b2 < 0 || x > v2) b2 = c, v2 = x;
        }
        states_logp(q, C, onset, ps, lp);
        int *bk = back + f * C;
        for (int c = 0; c < C; c++) {
            if (c == onset) continue;
            float e = lp[c] + (r->class_logprior ? r->class_logprior[c] : 0.0f), best = 0;
            int from = c;
            if (f > 0) {
                best = prev[c];
                int other = c == 0 ? b1 : (b1 == c ? b2 : b1); /* best state of another class */
                float oc = c == 0 ? vc : pc;
                if (other >= 0 && prev[other] - oc > best) best = prev[other] - oc, from = other;
                if (c != 0 && prev[0] - vc > best) best = prev[0] - vc, from = 0;
            }
            cur[c] = best + e, bk[c] = from;
        }
        if (onset >= 0) cur[onset] = -INFINITY;
        float *t = prev;
        prev = cur, cur = t;
    }
    int s = 0;
    for (int c = 1; c < C; c++)
        if (c != onset && prev[c] > prev[s]) s = c;
    for (size_t f = n; f-- > 0;) {
        classes[f] = s;
        s = back[f * C + s];
    }
    free(v), free(back);
    return A2M_OK;
}

/* Where a note of frames [start, start + len) is split: frames where p(onset) peaks (a local maximum over +-2
 * frames) at or above the threshold, at least min_note frames from the note's ends and from the previous cut.
 * The cut is one frame before the peak: onset targets cover a note's first frames. Returns the number of cuts. */
/* 1 if v[f * C + c] is the largest over frames f-2..f+2 inside [start, end). */
static int local_peak(const float *probs, int C, int c, size_t f, size_t start, size_t end) {
    for (size_t g = f - 2; g <= f + 2; g++)
        if (g != f && g >= start && g < end && probs[g * C + c] > probs[f * C + c]) return 0;
    return 1;
}

/* How far p(silence) at f rises above the higher of its minima over the 12 frames on either side (inside
 * [start, end)): a dip in the singing between two notes of one pitch (a breath, a consonant). */
static float voicing_dip(const float *probs, int C, size_t f, size_t start, size_t end) {
    float l = 1, r = 1;
    for (size_t g = f > start + 12 ? f - 12 : start; g < f; g++) l = fminf(l, probs[g * C]);
    for (size_t g = f + 1; g < end && g <= f + 12; g++) r = fminf(r, probs[g * C]);
    return probs[f * C] - fmaxf(l, r);
}

/* Whether frame f of a note [start, end) is at least gap frames from its ends and from the previous cut `last`. */
static int cut_room(size_t f, size_t start, size_t end, size_t last, size_t gap) {
    return f > start + gap && f + gap < end && f - 1 - last >= gap && f - 1 >= last;
}

/* p(onset) must reach this at a peak for the split score (split.h) to be read there */
#define SPLIT_MIN_ONSET 0.05f

/* Whether the split score has any weight beside p(onset)'s (all 0: the rule is p(onset) alone) */
static int split_weighted(a2m_split_weights w) { return w.flux > 0 || w.pitch > 0 || w.dip > 0; }

/* The split score of a p(onset) peak at f (a local maximum) of a note of class cls over [start, end): p(onset)
 * alone when every weight is 0, else split.h's score; -1 where p(onset) is too low for the score to be read. */
static double split_score_at(const float *probs, int C, int onset, const int *class_notes, int cls, size_t f,
                             size_t start, size_t end, const a2m_note_rules *r) {
    a2m_split_weights w = r->split;
    float o = probs[f * C + onset];
    if (!split_weighted(w)) return o;
    if (o < fminf(SPLIT_MIN_ONSET, (float)r->onset_threshold)) return -1;
    const float *flux = w.flux > 0 ? r->onset_flux : NULL;
    return transcribe_split_score(probs, C, onset, class_notes, cls, flux, w, f, start, end);
}

static size_t onset_cuts(const float *probs, int C, int onset, const int *class_notes, const run *run_i,
                         const a2m_note_rules *r, size_t *cuts, size_t max) {
    size_t start = run_i->start, end = start + run_i->len, k = 0, mn = r->min_note > 1 ? (size_t)r->min_note : 1,
           last = start;
    /* a peak whose split score reaches twice the threshold may be onset_gap from the ends and the previous cut (a
     * quick repeated note); p(onset) alone can reach 0.95 at most. The bar is on the score, not on p(onset): with
     * the split score's threshold 0.6, p(onset) >= 1.2 would never pass (the gap would do nothing). */
    int weighted = split_weighted(r->split);
    size_t near = r->onset_gap > 0 && (size_t)r->onset_gap < mn ? (size_t)r->onset_gap : mn;
    double strong = weighted ? 2 * r->onset_threshold : fmin(2 * r->onset_threshold, 0.95);
    for (size_t f = start + near + 1; f + near < end && k < max; f++) {
        int room = cut_room(f, start, end, last, mn);
        if (!room && !cut_room(f, start, end, last, near)) continue;
        if (local_peak(probs, C, onset, f, start, end) &&
            split_score_at(probs, C, onset, class_notes, run_i->cls, f, start, end, r) >=
                (room ? r->onset_threshold : strong)) {
            cuts[k++] = last = f - 1; /* onset targets cover a note's first frames: the cut is just before */
        } else if (room && r->dip_depth > 0 && probs[f * C] >= 0.25f && local_peak(probs, C, 0, f, start, end) &&
                   voicing_dip(probs, C, f, start, end) >= r->dip_depth) {
            cuts[k++] = last = f;
        }
    }
    return k;
}

/* The out-of-range direction of class cls: -1 below the model's range, +1 above, 0 a class of the range. */
static int range_dir(const int *class_notes, int cls) {
    return class_notes[cls] == A2M_CLASS_BELOW ? -1 : class_notes[cls] == A2M_CLASS_ABOVE ? 1 : 0;
}

/* Whether the spectrum supports an out-of-range run [start, start + len) in direction dir: the mean prominence
 * of its measured frames' peaks out there (range.h) reaches min_db. */
static int range_supported(const float *ev, size_t start, size_t len, int dir, double min_db) {
    double s = 0;
    size_t k = 0;
    for (size_t f = start; f < start + len; f++) {
        float v = ev[f * TRANSCRIBE_RANGE_VALUES + (dir > 0 ? 0 : 2)];
        if (!isnan(v)) s += v, k++;
    }
    return k > 0 && s / (double)k >= min_db;
}

/* The most common MIDI note of the region's peaks over frames [start, start + len), or -1. */
static int range_pitch(const float *ev, size_t start, size_t len, int dir) {
    int count[128] = {0}, best = -1;
    for (size_t f = start; f < start + len; f++) {
        float v = ev[f * TRANSCRIBE_RANGE_VALUES + (dir > 0 ? 1 : 3)];
        if (!(v >= 0 && v < 128)) continue; /* NaN: not measured */
        int m = (int)v;
        if (++count[m] > (best < 0 ? 0 : count[best])) best = m;
    }
    return best;
}

/* Where an out-of-range run [start, start + len) changes pitch: frames where the spectrum's peak out there moves
 * to another semitone and stays there (unmeasured frames aside) for min_len frames, min_len after the previous
 * cut. The network's onsets are not used there: they cut a synthetic voice's held notes beyond the range in 2-3. */
static size_t range_cuts(const float *ev, int dir, size_t start, size_t len, size_t min_len, size_t *cuts, size_t max) {
    size_t k = 0, last = start, cand = 0, seen = 0;
    int cur = -1, cand_p = -1;
    for (size_t f = start; f < start + len && k < max; f++) {
        float v = ev[f * TRANSCRIBE_RANGE_VALUES + (dir > 0 ? 1 : 3)];
        int p = v >= 0 && v < 128 ? (int)v : -1;
        if (p < 0) continue;
        if (cur < 0 || p == cur) {
            cur = cur < 0 ? p : cur, cand_p = -1;
            continue;
        }
        if (p != cand_p) cand_p = p, cand = f, seen = 0;
        if (++seen >= min_len) {
            if (cand - last >= min_len && start + len - cand >= min_len) cuts[k++] = last = cand;
            cur = p, cand_p = -1;
        }
    }
    return k;
}

/* A run of a pitch P in the range's top octave without a peak at P itself (mean prominence there under this, dB)
 * but with a supported one out there an octave or octaves up is a note beyond the range folded in: a pure tone
 * at MIDI 90 came out as F#5 (78), where a sung F#5 has its fundamental 15-25 dB over its half octave. */
#define RANGE_NO_PEAK_DB 6.0

static void unfold_top_octave(int *classes, size_t n, run *r, const int *class_notes, int C,
                              const a2m_note_rules *rules) {
    int above = -1;
    for (int c = 0; c < C; c++) above = class_notes[c] == A2M_CLASS_ABOVE ? c : above;
    size_t k = above < 0 ? 0 : runs_of(classes, n, r);
    for (size_t i = 0; i < k; i++) {
        int p = r[i].cls ? class_notes[r[i].cls] : -1;
        if (p < 0) continue;
        double own = 0, up = 0;
        size_t ko = 0, ku = 0;
        for (size_t f = r[i].start; f < r[i].start + r[i].len; f++) {
            const float *e = rules->range_evidence + f * TRANSCRIBE_RANGE_VALUES;
            if (e[5] == p && !isnan(e[4])) own += e[4], ko++;
            if (!isnan(e[0])) up += e[0], ku++;
        }
        int m = ko && ku ? range_pitch(rules->range_evidence, r[i].start, r[i].len, 1) : -1;
        if (m > p && (m - p) % 12 == 0 && own / (double)ko < RANGE_NO_PEAK_DB && up / (double)ku >= rules->range_min_db)
            for (size_t f = r[i].start; f < r[i].start + r[i].len; f++) classes[f] = above;
    }
}

/* Out-of-range runs the spectrum does not support become silence (noise, hum: see range.h). A run of a pitch
 * class next to a supported out-of-range run (or a silence shorter than the legato rule's away) whose peak is
 * that pitch's octave (or octaves) joins it: the network folds the start of a note beyond its range into the
 * range (a synthetic voice's F#6 began as 0.44 s of F#5). */
static void check_out_of_range(int *classes, size_t n, run *r, const int *class_notes, int C,
                               const a2m_note_rules *rules) {
    unfold_top_octave(classes, n, r, class_notes, C, rules);
    size_t k = runs_of(classes, n, r);
    for (size_t i = 0; i < k; i++) {
        int dir = r[i].cls ? range_dir(class_notes, r[i].cls) : 0;
        if (dir && !range_supported(rules->range_evidence, r[i].start, r[i].len, dir, rules->range_min_db))
            for (size_t f = r[i].start; f < r[i].start + r[i].len; f++) classes[f] = 0;
    }
    /* a silence shorter than the legato rule's between two runs of one out-of-range class is filled: where such
     * a line changes pitch is range_cuts' to say (the spectrum's), not the network's */
    k = runs_of(classes, n, r);
    for (size_t i = 1; i + 1 < k; i++)
        if (r[i].cls == 0 && r[i].len < (size_t)rules->legato && r[i - 1].cls == r[i + 1].cls &&
            range_dir(class_notes, r[i - 1].cls))
            for (size_t f = r[i].start; f < r[i].start + r[i].len; f++) classes[f] = r[i - 1].cls;
    k = runs_of(classes, n, r);
    for (size_t i = 0; i < k; i++) {
        int dir = r[i].cls ? range_dir(class_notes, r[i].cls) : 0;
        if (!dir) continue;
        int pitch = range_pitch(rules->range_evidence, r[i].start, r[i].len, dir);
        for (int side = -1; pitch >= 0 && side <= 1; side += 2) {
            long j = legato_neighbour(r, k, i, side, rules->legato > 1 ? rules->legato : 1);
            if (j < 0 || range_dir(class_notes, r[j].cls)) continue;
            int d = pitch - class_notes[r[j].cls];
            size_t a = j < (long)i ? r[j].start : r[i].start + r[i].len,
                   b = j < (long)i ? r[i].start : r[j].start + r[j].len;
            if (d != 0 && d % 12 == 0) /* with the silence between */
                for (size_t f = a; f < b; f++) classes[f] = r[i].cls;
        }
    }
}

/* One note over frames [start, start + len) of class cls, with its confidence (mean and variance of p(cls)); an
 * out-of-range note's pitch from the spectrum's peaks (ev, or NULL: the range's edge note, one step outside). */
static a2m_transcribed_note make_note(const float *probs, int C, const int *class_notes, const float *ev,
                                      const float *sung, double frame_s, double delay_s, size_t start, size_t len,
                                      int cls) {
    double s = 0, s2 = 0;
    for (size_t f = start; f < start + len; f++) {
        double q = probs ? probs[f * C + cls] : 1.0;
        s += q, s2 += q * q;
    }
    double mean = s / len;
    a2m_transcribed_note t;
    t.out_of_range = range_dir(class_notes, cls);
    int pitch = class_notes[cls];
    if (t.out_of_range && ev) pitch = range_pitch(ev, start, len, t.out_of_range);
    if (t.out_of_range && pitch < 0) { /* the range's edge note, one step outside */
        int lo = 127, hi = 0;
        for (int c = 0; c < C; c++)
            if (class_notes[c] >= 0)
                lo = class_notes[c] < lo ? class_notes[c] : lo, hi = class_notes[c] > hi ? class_notes[c] : hi;
        pitch = t.out_of_range < 0 ? lo - 1 : hi + 1;
    }
    t.note = (a2m_note){start * frame_s + delay_s, (start + len) * frame_s + delay_s, pitch, 100, 0};
    t.cents = sung && !t.out_of_range ? transcribe_note_cents(sung, start, len, pitch) : NAN;
    t.cls = cls;
    t.first_frame = start, t.n_frames = len;
    t.confidence = mean;
    t.confidence_var = fmax(0.0, s2 / len - mean * mean);
    return t;
}

/* Mean p(sung) = 1 - p(silence) over frames [start, start + len). */
/* p(onset) must reach this at a peak for an onset to move to it */
#define SNAP_MIN_ONSET 0.1f

/* The frame in [lo, hi) with the largest p(onset) + flux_weight x flux (f0 unless another is larger), or f0 when
 * p(onset) reaches SNAP_MIN_ONSET nowhere there. */
static size_t snap_target(const float *probs, int C, int onset, const a2m_note_rules *rules, size_t f0, size_t lo,
                          size_t hi) {
    const float *flux = rules->flux_weight > 0 ? rules->onset_flux : NULL;
    float w = (float)rules->flux_weight, top = 0, best_s = -INFINITY;
    size_t best = f0;
    for (size_t f = lo; f < hi; f++) {
        float o = probs[f * (size_t)C + onset], sc = o + (flux ? w * flux[f] : 0.0f);
        top = o > top ? o : top;
        if (sc > best_s || (sc == best_s && f == f0)) best_s = sc, best = f;
    }
    return top >= SNAP_MIN_ONSET ? best : f0;
}

/* Each note's onset moves to the strongest p(onset) (+ the weighted flux) within rules->onset_snap frames, staying
 * after the previous note's onset and before its own end; the previous note ends there if it reached or passed
 * that frame (legato). */
static void snap_onsets(a2m_transcribed_note *out, size_t m, const float *probs, size_t n, int C, int onset,
                        const a2m_note_rules *rules, double frame_s) {
    size_t R = rules->onset_snap > 0 ? (size_t)rules->onset_snap : 0,
           mn = rules->min_note > 1 ? (size_t)rules->min_note : 1;
    for (size_t i = 0; R && i < m; i++) {
        /* the note and the one before keep min_note frames (a snap to a p(onset) peak near a note's end or just after
         * the previous onset made 21 of 612 singreal notes shorter than that, 7 shorter than 50 ms) */
        size_t f0 = out[i].first_frame, end = f0 + out[i].n_frames, top = end >= f0 + 1 + mn ? end - mn + 1 : f0 + 1;
        size_t lo = f0 > R ? f0 - R : 0, hi = f0 + R + 1 < top ? f0 + R + 1 : top;
        if (i > 0 && lo < out[i - 1].first_frame + mn) lo = out[i - 1].first_frame + mn;
        if (hi > n) hi = n;
        size_t best = snap_target(probs, C, onset, rules, f0, lo, hi);
        if (best == f0) continue;
        out[i].first_frame = best, out[i].n_frames = end - best;
        out[i].note.onset = best * frame_s + rules->delay_s;
        if (i > 0) {
            size_t pend = out[i - 1].first_frame + out[i - 1].n_frames;
            if (pend >= f0 || pend > best) { /* contiguous before (legato), or overlapping now */
                out[i - 1].n_frames = best - out[i - 1].first_frame;
                out[i - 1].note.offset = out[i].note.onset;
            }
        }
    }
}

static double mean_voicing(const float *probs, int C, size_t start, size_t len) {
    double s = 0;
    for (size_t f = start; f < start + len; f++) s += 1.0 - probs[f * C];
    return s / len;
}

int a2m_frames_to_notes(int *classes, const float *probs, size_t n, int C, const int *class_notes, double frame_s,
                        a2m_note_rules rules, a2m_transcribed_note **notes, size_t *n_notes) {
    *notes = NULL;
    *n_notes = 0;
    int max_gap = rules.max_gap, min_note = rules.min_note;
    int onset = probs ? transcribe_onset_class(class_notes, C) : -1;
    if (onset >= 0 && rules.pitch_cost > 0) {
        int rc = viterbi_classes(probs, n, C, onset, &rules, classes);
        if (rc) return rc;
    }
    run *r = malloc((n + 1) * sizeof *r);
    if (!r) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    fill_gaps(classes, n, r, max_gap);
    /* a short run of another note inside a note is a wobble of that note; other short runs are dropped */
    size_t k = runs_of(classes, n, r);
    for (size_t i = 0; i < k; i++) {
        if (r[i].cls == 0 || r[i].len >= (size_t)min_note) continue;
        int to = (i > 0 && i + 1 < k && r[i - 1].cls == r[i + 1].cls) ? r[i - 1].cls : 0;
        for (size_t f = r[i].start; f < r[i].start + r[i].len; f++) classes[f] = to;
    }
    fill_gaps(classes, n, r, max_gap);
    if (onset >= 0) join_glides(classes, n, r, rules.glide, max_gap);
    k = runs_of(classes, n, r);
    for (size_t i = 0; i < k; i++)
        if (r[i].cls != 0 && (r[i].len < (size_t)min_note ||
                              (onset >= 0 && mean_voicing(probs, C, r[i].start, r[i].len) < rules.min_voicing)))
            for (size_t f = r[i].start; f < r[i].start + r[i].len; f++) classes[f] = 0;
    const float *ev = rules.range_evidence && rules.range_min_db > 0 ? rules.range_evidence : NULL;
    if (ev) check_out_of_range(classes, n, r, class_notes, C, &rules);
    k = runs_of(classes, n, r);
    /* every onset (or range) cut adds a note; a cut needs min_note (or onset_gap) frames on each side: at most
     * len / that */
    size_t cap = k + 1;
    int cutting = onset >= 0 || ev;
    for (size_t i = 0; cutting && i < k; i++)
        if (r[i].cls != 0)
            cap += r[i].len / (size_t)(rules.onset_gap > 0 ? rules.onset_gap : min_note > 1 ? min_note : 1);
    a2m_transcribed_note *out = malloc(cap * sizeof *out);
    size_t *cuts = cutting ? malloc((n + 1) * sizeof *cuts) : NULL;
    if (!out || (cutting && !cuts)) {
        free(r), free(out), free(cuts);
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (r[i].cls == 0) continue;
        int dir = range_dir(class_notes, r[i].cls);
        size_t mn = min_note > 1 ? (size_t)min_note : 1,
               nc = dir && ev    ? range_cuts(ev, dir, r[i].start, r[i].len, mn, cuts, n + 1)
                    : onset >= 0 ? onset_cuts(probs, C, onset, class_notes, &r[i], &rules, cuts, n + 1)
                                 : 0;
        size_t s0 = r[i].start;
        for (size_t c = 0; c <= nc; c++) {
            size_t e = c < nc ? cuts[c] : r[i].start + r[i].len;
            out[m++] = make_note(probs, C, class_notes, ev, rules.sung_pitch, frame_s, onset >= 0 ? rules.delay_s : 0,
                                 s0, e - s0, r[i].cls);
            s0 = e;
        }
    }
    free(r), free(cuts);
    for (size_t i = 0; onset >= 0 && i + 1 < m; i++) { /* legato: a short silence is not a rest */
        size_t end = out[i].first_frame + out[i].n_frames;
        if (out[i + 1].first_frame - end < (size_t)rules.legato) {
            out[i].n_frames = out[i + 1].first_frame - out[i].first_frame;
            out[i].note.offset = out[i + 1].note.onset;
        }
    }
    if (onset >= 0) snap_onsets(out, m, probs, n, C, onset, &rules, frame_s);
    *notes = out;
    *n_notes = m;
    return A2M_OK;
}
