/* Windowed transcription, fed in pieces. It serves both the streaming API
 * and a2m_transcriber_run' window mode (which pushes the whole recording),
 * so the two give the same notes and probabilities by construction.
 *  - Features: one streaming CQT over the recording (a2m_cqt_stream, equal to
 *    the one-shot transform of the whole signal), so overlapping windows share
 *    it and window edges see the real signal around them; each window's dB
 *    floor is relative to its own loudest frame, as each 4 s training take's
 *    was; frames past the end of the recording are silent (zero power).
 *  - Windows start every hop frames (the last one reaches the end), run in
 *    batches as soon as their frames exist, and are blended with a sine taper
 *    in window order, so a frame's probabilities are final once the window
 *    after the last one covering it has run.
 *  - The gap/min-length rules cannot reach across a silence run of at least
 *    max(max_gap, 1) frames (gap filling needs a shorter one; the other rules
 *    look one run to each side), so everything before such a run is decided. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/audio.h"
#include "a2m/cqt.h"
#include "a2m/error.h"
#include "a2m/transcribe.h"
#include "a2m/uncertainty.h"
#include "core/grow.h"
#include "eval/predictive.h"
#include "nn/arch.h"
#include "nn/layers.h"
#include "transcribe/flux.h"
#include "transcribe/fold.h"
#include "transcribe/intonation.h"
#include "transcribe/key.h"
#include "transcribe/range.h"
#include "transcribe/tuning.h"
#include "transcribe/window.h"

/* A member of the ensemble (one model, or one Monte-Carlo pass of one): its runner and its blended windows. */
typedef struct stream_member {
    transcribe_member def;
    a2m_runner *runner; /* its own, or NULL: member def.runner's */
    float *acc;         /* [2W x C] blended probabilities of frames not yet final (from absolute acc_start) */
} stream_member;

struct a2m_transcribe_stream {
    const a2m_model *m; /* the first member's: the front end, classes and decoder of all */
    stream_member *mb;
    int n_mb;
    int unc;   /* made by a2m_transcribe_stream_new_members: the predictive measures of kept frames */
    float *xn; /* [batch x W x F] a member's normalised features (several members), x holding the shared ones */
    a2m_transcribe_params p;
    int C, F, W, hop, hop_frames, gap, min_note, keep;
    int onset;       /* the model's onset class, or -1 */
    int keep_frames; /* keep && !p.notes_only: frames kept too, not only the notes */
    int legato;      /* frames: the legato rule's reach (onset models) */
    a2m_cqt_stream *cqt;
    float *x, *logits, *p_win, *taper; /* [batch x W x F], [batch x W x C], [members x batch x W x C], [W] */
    /* power frames not yet behind every future window: absolute frame pw_start.. */
    float *pw; /* [pw_cap x F] */
    size_t pw_start, pw_n, pw_cap;
    size_t next_window; /* index of the next window to run */
    /* the taper's weights of frames not yet final (the members' probabilities in stream_member.acc) */
    float *acc_w; /* [2W] */
    size_t acc_start;
    /* final frames not yet decided: absolute frame pend_start.. */
    float *pend_p;        /* [pend_cap x C] */
    int *pend_c, *work_c; /* [pend_cap] */
    size_t pend_start, pend_n, pend_cap;
    /* everything, when keep_frames: probs and post-processed classes of all frames */
    float *all_p; /* [all_pn x C] */
    float *all_u; /* [all_pn x A2M_UNC_MEASURES] with unc */
    int *all_c;   /* [all_n] */
    size_t all_pn, all_pcap, all_n, all_cap;
    a2m_transcribed_note *out; /* notes decided by the last call */
    size_t out_n, out_cap;
    a2m_transcribed_note *all_notes; /* every note, when keep_frames */
    size_t all_notes_n, all_notes_cap;
    int finished;
    size_t total_samples;
    /* the recording's tuning (tuning.h): estimated from frames 0..tune_upto, or fixed */
    a2m_tuning_mode tune_mode; /* OFF for models without an onset class */
    transcribe_tuning tune;
    size_t tune_upto, tune_ahead; /* frames accumulated; frames the first window waits for */
    double tune_bins;             /* the shift the last window ran with */
    float *tune_row;              /* [F] */
    /* the melody's scale (key.h): from every final frame so far; no decision before key_ahead frames are final */
    int key_on;
    transcribe_key key;
    size_t key_ahead;
    float *key_prior;     /* [C] */
    transcribe_fold fold; /* the notes the user allows (fold.h) */
    /* models with below/above classes: the spectrum's evidence for such notes (range.h) of the pending frames */
    int range_on;
    transcribe_range range;
    float *pend_e;    /* [pend_cap x TRANSCRIBE_RANGE_VALUES] */
    float *range_row; /* [F] */
    float *pend_sung; /* [pend_cap] each pending frame's sung pitch (intonation.h) */
    /* the spectral flux of CQT frames not yet decided (flux.h; the onset snap's): absolute frame flux_start.. */
    int flux_on;
    transcribe_flux flux_state;
    float *flux;
    size_t flux_start, flux_n, flux_cap;
};

void a2m_transcribe_stream_del(a2m_transcribe_stream *s) {
    if (!s) return;
    a2m_cqt_stream_del(s->cqt);
    for (int i = 0; s->mb && i < s->n_mb; i++) a2m_runner_del(s->mb[i].runner), free(s->mb[i].acc);
    free(s->mb), free(s->xn), free(s->all_u);
    free(s->x), free(s->logits), free(s->p_win), free(s->taper), free(s->pw);
    free(s->acc_w), free(s->pend_p), free(s->pend_c), free(s->work_c);
    free(s->all_p), free(s->all_c), free(s->out), free(s->all_notes), free(s->tune_row), free(s->key_prior);
    free(s->pend_e), free(s->range_row), free(s->pend_sung);
    transcribe_flux_free(&s->flux_state), free(s->flux);
    free(s);
}

void a2m_transcribe_stream_reset(a2m_transcribe_stream *s) {
    a2m_cqt_stream_reset(s->cqt);
    s->pw_start = s->pw_n = s->next_window = s->acc_start = 0;
    for (int i = 0; i < s->n_mb; i++) memset(s->mb[i].acc, 0, 2 * (size_t)s->W * s->C * sizeof *s->mb[i].acc);
    memset(s->acc_w, 0, 2 * (size_t)s->W * sizeof *s->acc_w);
    s->pend_start = s->pend_n = 0;
    free(s->all_p), free(s->all_c), free(s->all_notes), free(s->all_u);
    s->all_p = NULL, s->all_c = NULL, s->all_notes = NULL, s->all_u = NULL;
    s->all_pn = s->all_pcap = s->all_n = s->all_cap = s->all_notes_n = s->all_notes_cap = 0;
    s->out_n = 0;
    s->finished = 0;
    s->total_samples = 0;
    transcribe_tuning_init(&s->tune, a2m_model_get_info(s->m)->cqt.bins_per_octave);
    s->tune_upto = 0;
    transcribe_key_init(&s->key);
    transcribe_flux_reset(&s->flux_state);
    s->flux_start = s->flux_n = 0;
    s->tune_bins = s->tune_mode == A2M_TUNING_FIXED ? s->p.tuning_cents / 100.0 * s->tune.bins_per_semitone : 0;
}

/* The members' runners (one per model) and blend buffers, and the buffers sized by them. */
static int stream_members(a2m_transcribe_stream *s, const transcribe_member *def, int n) {
    size_t W = (size_t)s->W, C = (size_t)s->C, B = (size_t)s->p.batch;
    if (!(s->mb = calloc((size_t)n, sizeof *s->mb))) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    s->n_mb = n;
    int rc = A2M_OK;
    for (int i = 0; i < n && !rc; i++) {
        s->mb[i].def = def[i];
        if (!(s->mb[i].acc = calloc(2 * W * C, sizeof *s->mb[i].acc))) rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
        if (!rc && def[i].runner == i)
            rc = a2m_runner_new(def[i].m, transcribe_runner_params(s->p, &def[i], s->p.batch, s->W), &s->mb[i].runner);
    }
    if (rc) return rc;
    s->p_win = malloc((size_t)n * B * W * C * sizeof *s->p_win);
    s->xn = n > 1 ? malloc(B * W * (size_t)s->F * sizeof *s->xn) : NULL;
    return !s->p_win || (n > 1 && !s->xn) ? a2m_error(A2M_ERR_NOMEM, "out of memory") : A2M_OK;
}

/* The buffers of one window batch, the pending frames and the decoder. */
static int stream_buffers(a2m_transcribe_stream *s) {
    const a2m_model_info *in = a2m_model_get_info(s->m);
    size_t W = (size_t)s->W, C = (size_t)s->C, B = (size_t)s->p.batch;
    s->pend_cap = 4 * W;
    s->x = malloc(B * W * s->F * sizeof *s->x);
    s->logits = malloc(B * W * C * sizeof *s->logits);
    s->taper = malloc(W * sizeof *s->taper);
    s->acc_w = calloc(2 * W, sizeof *s->acc_w);
    s->pend_p = malloc(s->pend_cap * C * sizeof *s->pend_p);
    s->pend_c = malloc(s->pend_cap * sizeof *s->pend_c);
    s->work_c = malloc(s->pend_cap * sizeof *s->work_c);
    s->tune_row = malloc((size_t)s->F * sizeof *s->tune_row);
    s->key_prior = malloc(C * sizeof *s->key_prior);
    s->range_on = s->p.range_min_db > 0 && !transcribe_range_init(&s->range, in->cqt, in->class_notes, s->C);
    if (s->range_on) {
        s->pend_e = malloc(s->pend_cap * TRANSCRIBE_RANGE_VALUES * sizeof *s->pend_e);
        s->range_row = malloc((size_t)s->F * sizeof *s->range_row);
    }
    s->pend_sung = malloc(s->pend_cap * sizeof *s->pend_sung);
    if ((s->range_on && (!s->pend_e || !s->range_row)) || !s->pend_sung || !s->key_prior || !s->x || !s->logits ||
        !s->taper || !s->acc_w || !s->pend_p || !s->pend_c || !s->work_c || !s->tune_row)
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    transcribe_window_taper(s->taper, s->W);
    return A2M_OK;
}

/* The stream of members def[0..n) (unc: keep their predictive measures with the frames). */
static int stream_make(const transcribe_member *def, int n, a2m_transcribe_params p, int keep_frames, int unc,
                       a2m_transcribe_stream **out) {
    *out = NULL;
    if (!(p.window_s > 0)) return a2m_error(A2M_ERR_ARG, "stream: needs window mode (--window > 0)");
    if (!(p.hop_s > 0 && p.hop_s <= p.window_s)) return a2m_error(A2M_ERR_ARG, "stream: bad window hop");
    /* a window's buffers are sized by it, whatever the input: 1,800 s made a 4 s file take 1.1 GB and 6.5 s, 3,600 s
     * ran out of memory; no window is longer than the longest one sequence */
    if (p.window_s > A2M_WHOLE_MAX_SECONDS)
        return a2m_error(A2M_ERR_ARG, "stream: window %g s is longer than %g s", p.window_s, A2M_WHOLE_MAX_SECONDS);
    if (p.batch <= 0 || p.batch > 256) return a2m_error(A2M_ERR_ARG, "stream: batch %d outside 1..256", p.batch);
    if (!(p.tuning_cents >= -50 && p.tuning_cents <= 50) || !(p.tuning_lookahead_s >= 0 && p.tuning_lookahead_s <= 600))
        return a2m_error(A2M_ERR_ARG, "stream: tuning %g cents outside -50..50 or look-ahead %g s outside 0..600",
                         p.tuning_cents, p.tuning_lookahead_s);
    const a2m_model *m = def[0].m;
    const a2m_model_info *in = a2m_model_get_info(m);
    if (in->feat.kind != A2M_FEAT_CQT) /* the streaming front end is the CQT's (cqt_stream.c) */
        return a2m_error(A2M_ERR_ARG, "stream: a model on %s features transcribes whole files only (no streaming)",
                         a2m_feat_kind_name(in->feat.kind));
    p = transcribe_params_for_model(p, in);
    a2m_transcribe_stream *s = calloc(1, sizeof *s);
    if (!s) return a2m_error(A2M_ERR_NOMEM, "out of memory");
    s->m = m, s->p = p, s->keep = keep_frames, s->keep_frames = keep_frames && !p.notes_only, s->unc = unc;
    s->C = in->n_classes, s->F = in->n_bins, s->hop = in->cqt.hop;
    s->onset = transcribe_onset_class(in->class_notes, in->n_classes);
    s->tune_mode = s->onset >= 0 ? p.tuning : A2M_TUNING_OFF;
    s->legato = a2m_note_rules_from_params(p, s->hop / in->cqt.sample_rate).legato;
    size_t win_samples, hop_samples;
    transcribe_window_geometry(in, p, &win_samples, &hop_samples);
    s->hop_frames = (int)(hop_samples / (size_t)s->hop);
    double frame_s = s->hop / in->cqt.sample_rate;
    s->gap = transcribe_frames_from_ms(p.max_gap_ms, p.max_gap_frames, frame_s);
    s->min_note = transcribe_frames_from_ms(p.min_note_ms, p.min_note_frames, frame_s);
    int rc = a2m_cqt_stream_new(in->cqt, &s->cqt);
    if (!rc) {
        /* a window has the frames of a training-length take */
        s->W = (int)(win_samples / (size_t)s->hop + (in->cqt.drop_last_frame ? 0 : 1));
        if (s->W < 1) rc = a2m_error(A2M_ERR_ARG, "stream: window shorter than one frame");
    }
    if (!rc) rc = transcribe_fold_init(&s->fold, p.notes, in->class_notes, s->C);
    if (!rc) rc = stream_members(s, def, n);
    if (!rc) rc = stream_buffers(s);
    if (!rc) {
        double frames_per_s = in->cqt.sample_rate / s->hop;
        s->tune_ahead = s->tune_mode == A2M_TUNING_AUTO ? (size_t)ceil(p.tuning_lookahead_s * frames_per_s) : 0;
        s->key_on = s->onset >= 0 && p.key_weight > 0;
        s->key_ahead = s->key_on ? (size_t)ceil(p.tuning_lookahead_s * frames_per_s) : 0;
        s->flux_on = s->onset >= 0 && ((p.onset_flux > 0 && p.onset_snap_ms > 0) || p.split.flux > 0);
        if (s->flux_on) rc = transcribe_flux_init(&s->flux_state, s->F);
    }
    if (!rc) a2m_transcribe_stream_reset(s);
    if (rc) {
        a2m_transcribe_stream_del(s);
        return rc;
    }
    *out = s;
    return A2M_OK;
}

int transcribe_stream_members(const a2m_model *const *models, int n, a2m_transcribe_params p, int keep_frames, int unc,
                              a2m_transcribe_stream **out) {
    *out = NULL;
    transcribe_member *def;
    int n_def, rc = transcribe_members(models, n, p, &def, &n_def);
    if (rc) return rc;
    rc = stream_make(def, n_def, p, keep_frames, unc, out);
    free(def);
    return rc;
}

int a2m_transcribe_stream_new(const a2m_model *m, a2m_transcribe_params p, int keep_frames,
                              a2m_transcribe_stream **out) {
    return transcribe_stream_members(&m, 1, p, keep_frames, 0, out);
}

int a2m_transcribe_stream_new_members(const a2m_model *const *models, int n, a2m_transcribe_params p, int keep_frames,
                                      a2m_transcribe_stream **out) {
    return transcribe_stream_members(models, n, p, keep_frames, 1, out);
}

/* a2m_grow from 64 elements, raising its error: 0 or A2M_ERR_NOMEM. Used through GROW, which keeps an error
 * already raised. */
static int grow(void *pp, size_t *cap, size_t need, size_t elem) {
    return a2m_grow(pp, cap, need, elem, 64) ? a2m_error(A2M_ERR_NOMEM, "out of memory") : A2M_OK;
}
#define GROW(ptr, cap, need, rc) ((rc) = (rc) ? (rc) : grow(&(ptr), &(cap), (need), sizeof *(ptr)))

/* Pending arrays (probs [cap x C], raw classes, work copy) grown together: one capacity, each grown from it. */
static int pend_reserve(a2m_transcribe_stream *s, size_t need) {
    size_t cp = s->pend_cap, ca = s->pend_cap, cb = s->pend_cap, ce = s->pend_cap, cs = s->pend_cap;
    int rc = grow(&s->pend_p, &cp, need, (size_t)s->C * sizeof *s->pend_p);
    if (!rc) rc = grow(&s->pend_c, &ca, need, sizeof *s->pend_c);
    if (!rc) rc = grow(&s->work_c, &cb, need, sizeof *s->work_c);
    if (!rc && s->range_on) rc = grow(&s->pend_e, &ce, need, TRANSCRIBE_RANGE_VALUES * sizeof *s->pend_e);
    if (!rc) rc = grow(&s->pend_sung, &cs, need, sizeof *s->pend_sung);
    if (!rc) s->pend_cap = cp;
    return rc;
}

/* Applies the note rules to pending frames [0, upto) and hands out their notes. */
static int decide(a2m_transcribe_stream *s, size_t upto) {
    if (upto == 0) return A2M_OK;
    const a2m_model_info *in = a2m_model_get_info(s->m);
    memcpy(s->work_c, s->pend_c, upto * sizeof *s->work_c);
    a2m_transcribed_note *notes = NULL;
    size_t n = 0;
    a2m_note_rules rules = a2m_note_rules_from_params(s->p, s->hop / in->cqt.sample_rate);
    rules.onset_sigmoid = in->onset_head;
    rules.range_evidence = s->range_on ? s->pend_e : NULL;
    rules.sung_pitch = s->pend_sung;
    if (s->key_on) {
        double share;
        int tonic = transcribe_key_tonic(&s->key, &share);
        transcribe_key_logprior(tonic, s->p.key_weight, in->class_notes, s->C, s->key_prior);
        rules.class_logprior = s->key_prior;
    }
    int rc = A2M_OK;
    if (s->flux_on) { /* every pending frame has its CQT frame; padded past the end of the recording, if ever */
        size_t need = s->pend_start + upto - s->flux_start;
        GROW(s->flux, s->flux_cap, need, rc);
        if (rc) return rc;
        for (; s->flux_n < need; s->flux_n++) s->flux[s->flux_n] = 0;
        rules.onset_flux = s->flux + (s->pend_start - s->flux_start);
    }
    rc = a2m_frames_to_notes(s->work_c, s->pend_p, upto, s->C, in->class_notes, s->hop / in->cqt.sample_rate, rules,
                             &notes, &n);
    if (rc) return rc;
    double frame_s = s->hop / in->cqt.sample_rate;
    GROW(s->out, s->out_cap, s->out_n + n + 1, rc);
    for (size_t i = 0; i < n && !rc; i++) {
        a2m_transcribed_note t = notes[i];
        t.first_frame += s->pend_start;
        /* times from absolute frame numbers, as the whole-recording pass computes them */
        double delay = s->onset >= 0 ? rules.delay_s : 0;
        t.note.onset = t.first_frame * frame_s + delay;
        t.note.offset = (t.first_frame + t.n_frames) * frame_s + delay;
        s->out[s->out_n++] = t;
    }
    free(notes);
    if (!rc && s->keep) GROW(s->all_notes, s->all_notes_cap, s->all_notes_n + s->out_n + 1, rc);
    if (!rc && s->keep) {
        /* the notes this decision added are the last n of out */
        memcpy(s->all_notes + s->all_notes_n, s->out + s->out_n - n, n * sizeof *s->all_notes);
        s->all_notes_n += n;
        if (s->keep_frames) GROW(s->all_c, s->all_cap, s->all_n + upto, rc);
        if (!rc && s->keep_frames) memcpy(s->all_c + s->all_n, s->work_c, upto * sizeof *s->all_c);
        s->all_n += upto;
    }
    if (rc) return rc;
    s->pend_n -= upto;
    memmove(s->pend_c, s->pend_c + upto, s->pend_n * sizeof *s->pend_c);
    memmove(s->pend_p, s->pend_p + upto * s->C, s->pend_n * s->C * sizeof *s->pend_p);
    memmove(s->pend_sung, s->pend_sung + upto, s->pend_n * sizeof *s->pend_sung);
    if (s->range_on)
        memmove(s->pend_e, s->pend_e + upto * TRANSCRIBE_RANGE_VALUES,
                s->pend_n * TRANSCRIBE_RANGE_VALUES * sizeof *s->pend_e);
    s->pend_start += upto;
    if (s->flux_on) { /* the decided frames' flux is not needed any more */
        size_t drop = s->pend_start - s->flux_start < s->flux_n ? s->pend_start - s->flux_start : s->flux_n;
        memmove(s->flux, s->flux + drop, (s->flux_n - drop) * sizeof *s->flux);
        s->flux_n -= drop, s->flux_start += drop;
    }
    return A2M_OK;
}

/* Start of the last silence run of at least max(gap, 1) frames in the pending frames, or 0. */
static size_t last_barrier(const a2m_transcribe_stream *s) {
    /* the rules reach across shorter silences: gap filling, and with an onset class the legato joining */
    int reach = s->onset >= 0 && s->legato > s->gap ? s->legato : s->gap;
    size_t need = reach > 1 ? (size_t)reach : 1, i = s->pend_n;
    while (i > 0) {
        size_t end = i;
        while (i > 0 && s->pend_c[i - 1] == 0) i--;
        if (end - i >= need && i > 0) return i;
        while (i > 0 && s->pend_c[i - 1] != 0) i--;
    }
    return 0;
}

/* Pending frames are decided at the latest after this long without a silence barrier (a legato line), so memory
 * stays bounded on any input: 30 s at 166.7 frames/s. */
#define STREAM_MAX_PENDING_S 30.0

/* Where to decide when no silence came for STREAM_MAX_PENDING_S: the last change of frame class in the older
 * half of the pending frames (a note boundary the rules would keep), else the middle. */
static size_t forced_cut(const a2m_transcribe_stream *s) {
    for (size_t i = s->pend_n / 2; i > 1; i--)
        if (s->pend_c[i] != s->pend_c[i - 1]) return i;
    return s->pend_n / 2;
}

/* The out-of-range evidence of absolute frame `frame` with probabilities q, from its power frame (still in pw:
 * final frames come before the next window's start, which pull_frames keeps). */
static void range_evidence(const a2m_transcribe_stream *s, size_t frame, const float *q, float *ev) {
    const a2m_model_info *in = a2m_model_get_info(s->m);
    size_t row = frame - s->pw_start;
    int top;
    if (frame >= s->pw_start && row < s->pw_n && transcribe_range_wants(&s->range, q, in->class_notes, s->C, &top))
        transcribe_range_frame_power(&s->range, s->pw + row * (size_t)s->F, top, s->range_row, ev);
    else transcribe_range_none(ev);
}

/* The sung pitch (intonation.h) of absolute frame `frame` of class c, from its power frame, or NaN. */
static float sung_pitch(const a2m_transcribe_stream *s, size_t frame, int c) {
    const a2m_model_info *in = a2m_model_get_info(s->m);
    size_t row = frame - s->pw_start;
    int p = c > 0 ? in->class_notes[c] : -1;
    if (p < 0 || frame < s->pw_start || row >= s->pw_n) return NAN;
    return transcribe_sung_pitch(in->cqt, s->pw + row * (size_t)s->F, 1, p, s->tune_bins);
}

/* Final frame f (from acc_start) of every member, blended with weight w: their mean into q [C] and their predictive
 * measures into u (or NULL), as a2m_predictive computes them (eval/predictive.h). */
static void members_mean(const a2m_transcribe_stream *s, size_t f, float w, float *q, float *u) {
    double sum[A2M_MAX_CLASSES] = {0}, sum2[A2M_MAX_CLASSES] = {0}, ent = 0;
    float one[A2M_MAX_CLASSES];
    int C = s->C;
    for (int i = 0; i < s->n_mb; i++) {
        for (int c = 0; c < C; c++) one[c] = s->mb[i].acc[f * (size_t)C + (size_t)c] / w;
        predictive_frame_add(sum, sum2, &ent, one, C);
    }
    predictive_frame_finish(sum, sum2, ent, s->n_mb, C, q, u);
}

/* Frames [acc_start, upto) are final: blend, argmax, keep, and decide what can be decided. */
static int finalise_frames(a2m_transcribe_stream *s, size_t upto) {
    size_t n = upto - s->acc_start, C = (size_t)s->C;
    int rc = pend_reserve(s, s->pend_n + n), unc = s->unc && s->keep_frames;
    if (!rc && s->keep_frames) GROW(s->all_p, s->all_pcap, (s->all_pn + n) * C, rc);
    if (!rc && unc) { /* all_u has all_p's frames: its capacity from theirs */
        size_t cap = s->all_pcap / C * A2M_UNC_MEASURES;
        float *u = realloc(s->all_u, (cap + 1) * sizeof *s->all_u);
        if (u) s->all_u = u;
        else rc = a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    if (rc) return rc;
    const float *acc = s->mb[0].acc;
    for (size_t f = 0; f < n; f++) {
        float *q = s->pend_p + (s->pend_n + f) * C;
        float w = s->acc_w[f] > 0 ? s->acc_w[f] : 1.0f;
        if (s->n_mb > 1 || unc) members_mean(s, f, w, q, unc ? s->all_u + (s->all_pn + f) * A2M_UNC_MEASURES : NULL);
        else
            for (size_t c = 0; c < C; c++) q[c] = acc[f * C + c] / w;
        transcribe_fold_frame(&s->fold, q, (int)C);
        s->pend_c[s->pend_n + f] = transcribe_frame_class(q, (int)C, s->onset);
        if (s->range_on) range_evidence(s, s->acc_start + f, q, s->pend_e + (s->pend_n + f) * TRANSCRIBE_RANGE_VALUES);
        s->pend_sung[s->pend_n + f] = sung_pitch(s, s->acc_start + f, s->pend_c[s->pend_n + f]);
    }
    if (s->keep_frames) {
        memcpy(s->all_p + s->all_pn * C, s->pend_p + s->pend_n * C, n * C * sizeof *s->all_p);
        s->all_pn += n;
    }
    if (s->key_on)
        transcribe_key_add(&s->key, s->pend_p + s->pend_n * C, n, (int)C, a2m_model_get_info(s->m)->class_notes);
    s->pend_n += n;
    size_t rest = 2 * (size_t)s->W - n; /* slide the accumulators */
    for (int i = 0; i < s->n_mb; i++) {
        float *a = s->mb[i].acc;
        memmove(a, a + n * C, rest * C * sizeof *a);
        memset(a + rest * C, 0, n * C * sizeof *a);
    }
    memmove(s->acc_w, s->acc_w + n, rest * sizeof *s->acc_w);
    memset(s->acc_w + rest, 0, n * sizeof *s->acc_w);
    s->acc_start = upto;
    if (s->pend_start + s->pend_n < s->key_ahead) return A2M_OK; /* the scale needs more frames (finish decides) */
    size_t barrier = last_barrier(s);
    const a2m_model_info *in = a2m_model_get_info(s->m);
    if (barrier == 0 && s->pend_n > (size_t)(STREAM_MAX_PENDING_S * in->cqt.sample_rate / s->hop))
        barrier = forced_cut(s);
    return decide(s, barrier);
}

/* Moves the CQT frames that are ready into pw, first dropping the frames no window to come needs. */
static int pull_frames(a2m_transcribe_stream *s) {
    size_t F = (size_t)s->F, keep_from = s->next_window * (size_t)s->hop_frames;
    if (keep_from > s->pw_start) {
        size_t drop = keep_from - s->pw_start < s->pw_n ? keep_from - s->pw_start : s->pw_n;
        memmove(s->pw, s->pw + drop * F, (s->pw_n - drop) * F * sizeof *s->pw);
        s->pw_n -= drop, s->pw_start += drop;
    }
    size_t ready = a2m_cqt_stream_ready(s->cqt), at = s->pw_n;
    int rc = A2M_OK;
    GROW(s->pw, s->pw_cap, (s->pw_n + ready) * F, rc);
    if (!rc) s->pw_n += a2m_cqt_stream_pull(s->cqt, s->pw + s->pw_n * F, ready);
    if (!rc && s->flux_on) GROW(s->flux, s->flux_cap, s->flux_n + (s->pw_n - at), rc);
    if (!rc && s->flux_on) {
        a2m_cqt_params c = a2m_model_get_info(s->m)->cqt;
        float amin2 = (float)(c.amin * c.amin), ref_db = (float)(10.0 * log10(fmax(c.amin * c.amin, c.ref * c.ref)));
        transcribe_flux_add(&s->flux_state, s->pw + at * F, s->pw_n - at, 1, amin2 > 0 ? amin2 : 1e-30f, ref_db,
                            s->flux + s->flux_n);
        s->flux_n += s->pw_n - at;
    }
    return rc;
}

/* The frames window k's tuning estimate reads: its own and those before, and at least the look-ahead's, so the
 * estimate depends on frame indices only, never on how the audio was cut into pushes. */
static size_t tuning_end(const a2m_transcribe_stream *s, size_t k) {
    size_t end = k * (size_t)s->hop_frames + (size_t)s->W;
    return end > s->tune_ahead ? end : s->tune_ahead;
}

/* Window k's shift in bins: the estimate over frames [0, tuning_end(k)) (those that exist), or the fixed one. */
static double window_tuning(a2m_transcribe_stream *s, size_t k) {
    if (s->tune_mode != A2M_TUNING_AUTO) return s->tune_bins;
    size_t end = tuning_end(s, k), have = s->pw_start + s->pw_n;
    if (end > have) end = have;
    if (s->tune_upto < s->pw_start) s->tune_upto = s->pw_start; /* not reached: windows read past their hop */
    if (end > s->tune_upto) {
        transcribe_tuning_add(&s->tune, s->pw + (s->tune_upto - s->pw_start) * (size_t)s->F, end - s->tune_upto, s->F,
                              0);
        s->tune_upto = end;
    }
    return s->tune_bins = transcribe_tuning_bins(&s->tune);
}

/* Member i's network over windows [k0, k0 + nb) of features (s->x, normalised already for one member): its
 * probabilities into its part of p_win. A Monte-Carlo pass draws window k's masks from its seed and k alone, not from
 * how the audio was cut into pushes (batches): per window, they cost 950 ms of a 60 s file's 2 passes, batched 600. */
static int member_forward(a2m_transcribe_stream *s, int i, size_t k0, int nb) {
    stream_member *mb = &s->mb[i];
    const a2m_model_info *in = a2m_model_get_info(mb->def.m);
    size_t W = (size_t)s->W, C = (size_t)s->C, n = (size_t)nb * W * (size_t)s->F;
    const float *x = s->x;
    if (s->n_mb > 1) { /* the shared features, normalised with the member's model's mean and std */
        memcpy(s->xn, s->x, n * sizeof *s->xn);
        transcribe_normalise(s->xn, n, in->norm_mean, in->norm_std);
        x = s->xn;
    }
    a2m_runner *r = s->mb[mb->def.runner].runner;
    if (mb->def.dropout > 0) nn_runner_mc_seek(r, mb->def.seed, k0); /* window k0 + b: call k0 + b's masks */
    int rc = a2m_runner_forward(r, x, nb, (int)W, s->logits);
    if (!rc) /* temperature scaling (a2m calibrate), onset head */
        a2m_model_probs(in, s->logits, (size_t)nb * W, s->p_win + (size_t)i * (size_t)s->p.batch * W * C);
    return rc;
}

/* Runs windows [k0, k0 + nb) in one network call and blends them in order. Frames before the next window's start are
 * final after each; when the recording has ended (n_win > 0), its last window finalises everything up to `frames`. */
static int run_windows(a2m_transcribe_stream *s, size_t k0, int nb, size_t n_win, size_t frames) {
    const a2m_model_info *in = a2m_model_get_info(s->m);
    size_t W = (size_t)s->W, F = (size_t)s->F, C = (size_t)s->C, hf = (size_t)s->hop_frames;
    for (int b = 0; b < nb; b++) { /* each window's passes while it is in L2 (1 MB), not the batch's 4 MB */
        const float *pw = s->pw + ((k0 + (size_t)b) * hf - s->pw_start) * F;
        float *x = s->x + (size_t)b * W * F;
        double shift = window_tuning(s, k0 + (size_t)b);
        a2m_cqt_power_db(in->cqt, pw, W, W, x);
        for (size_t j = 0; j < W; j++) { /* the shift and the normalisation row by row, in L1 */
            transcribe_tuning_shift(x + j * F, 1, s->F, shift, s->tune_row);
            if (s->n_mb == 1) transcribe_normalise(x + j * F, F, in->norm_mean, in->norm_std);
        }
    }
    int rc = A2M_OK;
    for (int i = 0; i < s->n_mb && !rc; i++) rc = member_forward(s, i, k0, nb);
    if (rc) return rc;
    for (int b = 0; b < nb && !rc; b++) {
        size_t k = k0 + (size_t)b, f0 = k * hf - s->acc_start;
        for (int i = 0; i < s->n_mb; i++) { /* each member blends its own windows */
            const float *p = s->p_win + ((size_t)i * (size_t)s->p.batch + (size_t)b) * W * C;
            float *acc = s->mb[i].acc;
            for (size_t j = 0; j < W; j++) {
                float w = s->taper[j];
                for (size_t c = 0; c < C; c++) acc[(f0 + j) * C + c] += w * p[j * C + c];
            }
        }
        for (size_t j = 0; j < W; j++) s->acc_w[f0 + j] += s->taper[j];
        s->next_window = k + 1;
        size_t upto = n_win && k + 1 >= n_win ? frames : (k + 1) * hf;
        if (upto > s->acc_start) rc = finalise_frames(s, upto);
    }
    return rc;
}

int a2m_transcribe_stream_push(a2m_transcribe_stream *s, const float *x, size_t n, const a2m_transcribed_note **notes,
                               size_t *n_notes) {
    s->out_n = 0;
    *notes = NULL, *n_notes = 0;
    if (s->finished) return a2m_error(A2M_ERR_ARG, "stream: push after finish");
    /* in pieces of a batch of window steps: memory stays bounded whatever n is, and batches fill */
    size_t hf = (size_t)s->hop_frames, W = (size_t)s->W, piece = (size_t)s->p.batch * hf * (size_t)s->hop;
    int rc = A2M_OK;
    while (n > 0 && !rc) {
        size_t take = n < piece ? n : piece;
        /* the CQT gets the piece in parts of 256 frames (1.5 s), each pulled at once: its frame buffer stays at
         * 0.3 MB instead of the piece's 16 s (4 MB written once, 1k page faults); the frames are the same */
        for (size_t at = 0, part = 256 * (size_t)s->hop; at < take && !rc; at += part) {
            rc = a2m_cqt_stream_push(s->cqt, x + at, take - at < part ? take - at : part);
            if (!rc) rc = pull_frames(s);
        }
        s->total_samples += take, x += take, n -= take;
        while (!rc) { /* the windows whose frames all exist */
            size_t have = s->pw_start + s->pw_n;
            int nb = 0;
            while (nb < s->p.batch && (s->next_window + (size_t)nb) * hf + W <= have &&
                   (s->tune_mode != A2M_TUNING_AUTO || tuning_end(s, s->next_window + (size_t)nb) <= have))
                nb++;
            if (nb == 0) break;
            rc = run_windows(s, s->next_window, nb, 0, 0);
        }
    }
    *notes = s->out, *n_notes = s->out_n;
    return rc;
}

int a2m_transcribe_stream_finish(a2m_transcribe_stream *s, const a2m_transcribed_note **notes, size_t *n_notes) {
    s->out_n = 0;
    *notes = NULL, *n_notes = 0;
    if (s->finished) return a2m_error(A2M_ERR_ARG, "stream: already finished");
    if (s->total_samples == 0) return a2m_error(A2M_ERR_EMPTY, "transcribe: no samples");
    int rc = a2m_cqt_stream_finish(s->cqt);
    if (!rc) rc = pull_frames(s);
    if (rc) return rc;
    size_t frames = s->pw_start + s->pw_n, W = (size_t)s->W, F = (size_t)s->F, hf = (size_t)s->hop_frames;
    if (frames == 0) return a2m_error(A2M_ERR_RANGE, "transcribe: shorter than one frame (%d samples)", s->hop);
    /* the same windows as ever: every hop frames, the last one reaching the end, silent past it */
    size_t n_win = frames <= W ? 1 : 1 + (frames - W + hf - 1) / hf, end = (n_win - 1) * hf + W;
    if (end > frames) {
        size_t at = s->pw_n;
        GROW(s->pw, s->pw_cap, (end - s->pw_start) * F, rc);
        if (rc) return rc;
        s->pw_n = end - s->pw_start;
        memset(s->pw + at * F, 0, (s->pw_n - at) * F * sizeof *s->pw);
    }
    for (size_t k = s->next_window; k < n_win && !rc; k = s->next_window) {
        int nb = (int)(n_win - k < (size_t)s->p.batch ? n_win - k : (size_t)s->p.batch);
        rc = run_windows(s, k, nb, n_win, frames);
    }
    if (!rc && s->acc_start < frames) rc = finalise_frames(s, frames);
    if (!rc) rc = decide(s, s->pend_n);
    s->finished = !rc;
    *notes = s->out, *n_notes = s->out_n;
    return rc;
}

int a2m_transcribe_stream_result(a2m_transcribe_stream *s, a2m_transcription *out) {
    memset(out, 0, sizeof *out);
    if (!s->keep || !s->finished)
        return a2m_error(A2M_ERR_ARG, "stream: result needs keep_frames and a finished stream");
    const a2m_model_info *in = a2m_model_get_info(s->m);
    out->n_frames = s->all_n;
    out->n_classes = s->C;
    out->frame_seconds = s->hop / in->cqt.sample_rate;
    out->probs = s->all_p, out->classes = s->all_c, out->notes = s->all_notes, out->n_notes = s->all_notes_n;
    out->uncertainty = s->all_u;
    out->tuning_cents = s->tune.bins_per_semitone ? s->tune_bins * 100.0 / s->tune.bins_per_semitone : 0;
    s->all_p = NULL, s->all_c = NULL, s->all_notes = NULL, s->all_u = NULL;
    s->all_pn = s->all_pcap = s->all_n = s->all_cap = s->all_notes_n = s->all_notes_cap = 0;
    if (!out->notes) out->notes = malloc(sizeof *out->notes); /* callers may index notes[0..n) only */
    return A2M_OK;
}

int a2m_transcribe_stream_run(a2m_transcribe_stream *s, a2m_audio_stream *in, const float *x, size_t n,
                              const char *name, a2m_notes_fn on_notes, void *user, a2m_transcription *out) {
    if (out) memset(out, 0, sizeof *out);
    a2m_transcribe_stream_reset(s);
    /* samples read per push: with someone waiting for notes a quarter second, so a note comes out soon after it is
     * decided; otherwise a batch of window steps, so the network runs full batches */
    size_t piece = on_notes ? 4096 : (size_t)s->p.batch * (size_t)s->hop_frames * (size_t)s->hop;
    float *buf = in ? malloc(piece * sizeof *buf) : NULL;
    const a2m_transcribed_note *notes;
    size_t k = 0, got = 0;
    int rc = in && !buf ? a2m_error(A2M_ERR_NOMEM, "out of memory") : A2M_OK, reader_failed = 0;
    if (!in) {
        rc = a2m_transcribe_stream_push(s, x, n, &notes, &k);
        if (!rc && on_notes) on_notes(user, notes, k);
    }
    while (in && !rc) {
        if ((rc = a2m_audio_stream_read(in, buf, piece, &got))) reader_failed = 1;
        if (rc || got == 0) break;
        rc = a2m_transcribe_stream_push(s, buf, got, &notes, &k);
        if (!rc && on_notes) on_notes(user, notes, k);
    }
    if (!rc) rc = a2m_transcribe_stream_finish(s, &notes, &k);
    if (!rc && on_notes) on_notes(user, notes, k);
    if (!rc && out) rc = a2m_transcribe_stream_result(s, out);
    free(buf);
    if (rc && !reader_failed && name && rc != A2M_ERR_NOMEM) a2m_error_prefix(rc, name);
    return rc;
}
