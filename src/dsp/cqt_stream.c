/* Streaming CQT: the frames a2m_cqt_magnitude computes over a whole signal,
 * computed while the signal arrives, bit for bit (tests/test_cqt_stream.c).
 *
 * Each octave keeps the part of its signal that frames still to come need,
 * in "padded" positions (the one-shot's buffer layout: `lead` zeros for the
 * sliding DFT's start, n_fft/2 zeros of centre padding, then the samples).
 * A frame is computed once the samples it covers have arrived; those never
 * change later, because every step is causal:
 *  - the octave below gets the new samples through the same libsoxr halver,
 *    fed piecewise (its output does not depend on how the input is cut);
 *  - the sliding DFT's steps and the kernel products are per frame.
 * At the end, each halver is flushed and its output cut or zero-padded to
 * ceil(n/2), as the one-shot does, and the last frames see zeros.
 * Memory: about n_fft + one block of frames per octave, plus the frames
 * waiting for the lowest octave: its kernels reach 1 s ahead and the five
 * halvers before it delay it by 1.7 s more (soxr HQ, the resampler librosa uses). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/cqt.h"
#include "a2m/error.h"
#include "core/finite.h"
#include "core/grow.h"
#include "dsp/cqt_internal.h"

#define HALVED_CHUNK 4096 /* soxr output per call */

typedef struct oct_state {
    size_t base;   /* padded position of signal[0] */
    size_t n;      /* floats of signal in use */
    size_t y_len;  /* samples of this octave's signal received */
    size_t fwd;    /* of them, handed to the octave below */
    size_t next_t; /* next frame to compute */
    size_t st_t;   /* sliding DFT: the frame its state holds */
    int warm;      /* sliding DFT: started from the all-zero frame */
} oct_state;

struct a2m_cqt_stream {
    a2m_cqt *c;    /* kernels, plans, halvers; the octaves' signal buffers are managed here */
    oct_state *st; /* [n_octaves] */
    float *power;  /* [pw_cap x n_bins] frames [pw_base, pw_base + pw_cap) */
    size_t pw_base, pw_cap;
    size_t pw_top;                  /* rows below it hold (parts of) computed frames; above it, nothing yet */
    float *halved;                  /* [HALVED_CHUNK] */
    size_t n_in, n_out;             /* samples pushed, frames pulled */
    size_t all_frames, kept_frames; /* once finished: before and after the last-frame drop */
    int finished;
};

void a2m_cqt_stream_del(a2m_cqt_stream *s) {
    if (!s) return;
    a2m_cqt_del(s->c);
    free(s->st), free(s->power), free(s->halved);
    free(s);
}

void a2m_cqt_stream_reset(a2m_cqt_stream *s) {
    for (int i = 0; i < s->c->n_octaves; i++) {
        cqt_octave *o = &s->c->oct[i];
        memset(o->signal, 0, o->off * sizeof *o->signal);
        s->st[i] = (oct_state){0, o->off, 0, 0, 0, 0, 0};
        cqt_halver_fresh(o);
    }
    s->pw_base = s->pw_top = s->n_in = s->n_out = s->all_frames = s->kept_frames = 0;
    s->finished = 0;
}

int a2m_cqt_stream_new(a2m_cqt_params p, a2m_cqt_stream **out) {
    *out = NULL;
    a2m_cqt_stream *s = calloc(1, sizeof *s);
    if (!s) return a2m_error(A2M_ERR_NOMEM, "cqt stream: out of memory");
    int rc = a2m_cqt_new(p, 4096, &s->c);
    if (rc) {
        free(s);
        return rc;
    }
    s->st = calloc((size_t)s->c->n_octaves, sizeof *s->st);
    s->halved = malloc(HALVED_CHUNK * sizeof *s->halved);
    s->pw_cap = 4 * FRAME_BLOCK;
    s->power = malloc(s->pw_cap * (size_t)p.n_bins * sizeof *s->power);
    if (!s->st || !s->halved || !s->power) {
        a2m_cqt_stream_del(s);
        return a2m_error(A2M_ERR_NOMEM, "cqt stream: out of memory");
    }
    a2m_cqt_stream_reset(s);
    *out = s;
    return A2M_OK;
}

/* Room for `more` floats at the end of octave i's signal: drops what no frame to come needs, then grows. */
static int signal_reserve(a2m_cqt_stream *s, int i, size_t more) {
    cqt_octave *o = &s->c->oct[i];
    oct_state *S = &s->st[i];
    if (S->n + more <= o->signal_cap) return A2M_OK;
    /* the next frame (or the sliding DFT's next step) starts here; before the warm-up, everything is needed */
    size_t t = o->sliding ? (S->warm ? S->st_t : 0) : S->next_t;
    size_t keep_from = o->sliding && !S->warm ? 0 : (size_t)o->lead + t * (size_t)o->hop;
    if (keep_from > S->base) {
        size_t drop = keep_from - S->base;
        if (drop > S->n) drop = S->n;
        memmove(o->signal, o->signal + drop, (S->n - drop) * sizeof *o->signal);
        S->n -= drop, S->base += drop;
    }
    if (S->n + more <= o->signal_cap) return A2M_OK;
    if (a2m_grow(&o->signal, &o->signal_cap, S->n + more, sizeof *o->signal, 1024))
        return a2m_error(A2M_ERR_NOMEM, "cqt stream: out of memory");
    return A2M_OK;
}

/* Appends m samples (x, or zeros when x is NULL) to octave i's signal. */
static int append(a2m_cqt_stream *s, int i, const float *x, size_t m, int as_samples) {
    int rc = signal_reserve(s, i, m);
    if (rc) return rc;
    oct_state *S = &s->st[i];
    float *dst = s->c->oct[i].signal + S->n;
    if (x) memcpy(dst, x, m * sizeof *x);
    else memset(dst, 0, m * sizeof *dst);
    S->n += m;
    if (as_samples) S->y_len += m;
    return A2M_OK;
}

/* Runs octave i's halver over in[0..m) (in NULL: flush) and appends its output, times sqrt(2), to octave i + 1,
 * at most up to `limit` samples there (beyond it the one-shot cuts). */
static int halve(a2m_cqt_stream *s, int i, const float *in, size_t m, size_t limit) {
    soxr_t h = s->c->oct[i].halve;
    oct_state *below = &s->st[i + 1];
    const float k = (float)M_SQRT2;
    for (;;) {
        size_t idone = 0, odone = 0;
        soxr_error_t err = in ? soxr_process(h, in, m, &idone, s->halved, HALVED_CHUNK, &odone)
                              : soxr_process(h, NULL, 0, NULL, s->halved, HALVED_CHUNK, &odone);
        if (err) return a2m_error(A2M_ERR_INTERNAL, "cqt stream: resampler failed (%s)", err);
        if (below->y_len + odone > limit) odone = limit - below->y_len;
        for (size_t j = 0; j < odone; j++) s->halved[j] *= k;
        int rc = append(s, i + 1, s->halved, odone, 1);
        if (rc) return rc;
        if (in) {
            in += idone, m -= idone;
            if (m == 0 && odone < HALVED_CHUNK) return A2M_OK;
            if (idone == 0 && odone == 0) return a2m_error(A2M_ERR_INTERNAL, "cqt stream: resampler stalled");
        } else if (odone == 0 || below->y_len >= limit) {
            return A2M_OK;
        }
    }
}

/* Hands octave i's samples not yet passed on to the octave below. */
static int forward(a2m_cqt_stream *s, int i) {
    cqt_octave *o = &s->c->oct[i];
    oct_state *S = &s->st[i];
    if (i + 1 >= s->c->n_octaves || S->fwd == S->y_len) return A2M_OK;
    const float *src = o->signal + (o->off + S->fwd - S->base);
    size_t m = S->y_len - S->fwd;
    int rc = o->halve ? halve(s, i, src, m, (size_t)-1) : append(s, i + 1, src, m, 1);
    /* append may have moved octave i + 1's buffer, never octave i's */
    if (!rc) S->fwd = S->y_len;
    return rc;
}

/* Row of frame t in the power buffer, making room (dropping pulled frames, then growing) when needed. */
static float *power_row(a2m_cqt_stream *s, size_t t, size_t rows) {
    size_t nb = (size_t)s->c->p.n_bins;
    if (t + rows > s->pw_base + s->pw_cap) {
        /* the frames not yet pulled move to the front; at most half the buffer is such frames, so each frame
         * moves about once (moving the whole buffer every block was 11 MB of memmove for 30 s) */
        size_t drop = s->n_out - s->pw_base, live = s->pw_top - s->n_out;
        memmove(s->power, s->power + drop * nb, live * nb * sizeof *s->power);
        s->pw_base = s->n_out;
        if (2 * (t + rows - s->pw_base) > s->pw_cap &&
            a2m_grow(&s->power, &s->pw_cap, 2 * (t + rows - s->pw_base), nb * sizeof *s->power, 1))
            return NULL;
    }
    if (t + rows > s->pw_top) s->pw_top = t + rows;
    return s->power + (t - s->pw_base) * nb;
}

/* Computes every frame of octave i whose samples have all arrived (at most `cap` frames in all). */
static int compute_frames(a2m_cqt_stream *s, int i, size_t cap) {
    cqt_octave *o = &s->c->oct[i];
    oct_state *S = &s->st[i];
    size_t hop = (size_t)o->hop, lead = (size_t)o->lead, n_fft = (size_t)o->n_fft, end = S->base + S->n;
    size_t ready = end < lead + n_fft ? 0 : (end - lead - n_fft) / hop + 1;
    if (ready > cap) ready = cap;
    if (ready <= S->next_t) return A2M_OK;
#define AT(pos) (o->signal + ((pos)-S->base))
    if (o->sliding && !S->warm) { /* from the all-zero frame -lead/hop to frame 0, as the one-shot */
        memset(o->st_re, 0, (size_t)o->nj * sizeof *o->st_re);
        memset(o->st_im, 0, (size_t)o->nj * sizeof *o->st_im);
        for (int t = 0, k = o->lead / o->hop; t < k; t += FRAME_BLOCK)
            cqt_slide(o, AT((size_t)t * hop), k - t < FRAME_BLOCK ? k - t : FRAME_BLOCK, 0);
        S->warm = 1, S->st_t = 0;
    }
    while (S->next_t < ready) {
        size_t t = S->next_t, nb = ready - t < FRAME_BLOCK ? ready - t : FRAME_BLOCK;
        float *row = power_row(s, t, nb);
        if (!row) return a2m_error(A2M_ERR_NOMEM, "cqt stream: out of memory");
        if (o->sliding) {
            if (S->st_t < t) cqt_slide(o, AT(lead + S->st_t * hop), (int)(t - S->st_t), 0);
            int steps = (int)(t + nb < ready ? nb : nb - 1);
            cqt_slide(o, AT(lead + t * hop), steps, (int)nb);
            S->st_t = t + (size_t)steps;
        } else {
            cqt_fft_block(o, AT(lead + t * hop), nb);
        }
        cqt_kernel_power(o, nb, s->c->inv_sqrt_len, row, s->c->p.n_bins);
        S->next_t = t + nb;
    }
#undef AT
    return A2M_OK;
}

int a2m_cqt_stream_push(a2m_cqt_stream *s, const float *x, size_t n) {
    if (s->finished) return a2m_error(A2M_ERR_ARG, "cqt stream: push after finish");
    size_t bad = a2m_first_absurd(x, n);
    if (bad < n)
        return a2m_error(A2M_ERR_NONFINITE, "cqt: sample %zu is %g: not a finite number within +-1e6", s->n_in + bad,
                         (double)x[bad]);
    int rc = append(s, 0, x, n, 1);
    s->n_in += n;
    for (int i = 0; i < s->c->n_octaves && !rc; i++) {
        rc = forward(s, i);
        if (!rc) rc = compute_frames(s, i, (size_t)-1);
    }
    return rc;
}

int a2m_cqt_stream_finish(a2m_cqt_stream *s) {
    if (s->finished) return A2M_OK;
    if (s->n_in == 0) return a2m_error(A2M_ERR_EMPTY, "cqt: empty input");
    s->kept_frames = a2m_cqt_n_frames(s->c, s->n_in);
    s->all_frames = s->kept_frames + (s->c->p.drop_last_frame ? 1 : 0);
    size_t len = s->n_in;
    int rc = A2M_OK;
    for (int i = 0; i < s->c->n_octaves && !rc; i++) {
        cqt_octave *o = &s->c->oct[i];
        oct_state *S = &s->st[i];
        if (S->y_len != len)
            return a2m_error(A2M_ERR_INTERNAL, "cqt stream: octave %d has %zu of %zu samples", i, S->y_len, len);
        rc = forward(s, i);
        if (!rc && o->halve) { /* the halver's tail, then zeros up to ceil(len / 2) */
            size_t half = (len + 1) / 2;
            rc = halve(s, i, NULL, 0, half);
            if (!rc && s->st[i + 1].y_len < half) rc = append(s, i + 1, NULL, half - s->st[i + 1].y_len, 1);
            len = half;
        }
        /* zeros after the samples, as far as the last frame reaches */
        size_t need = (size_t)o->lead + (s->all_frames - 1) * (size_t)o->hop + (size_t)o->n_fft;
        if (!rc && need > S->base + S->n) rc = append(s, i, NULL, need - S->base - S->n, 0);
        if (!rc) rc = compute_frames(s, i, s->all_frames);
    }
    if (!rc) s->finished = 1;
    return rc;
}

size_t a2m_cqt_stream_ready(const a2m_cqt_stream *s) {
    size_t done = (size_t)-1;
    for (int i = 0; i < s->c->n_octaves; i++)
        if (s->st[i].next_t < done) done = s->st[i].next_t;
    /* before the end, the newest frame may turn out to be the one dropped */
    done = s->finished ? s->kept_frames : done > 0 ? done - 1 : 0;
    return done > s->n_out ? done - s->n_out : 0;
}

size_t a2m_cqt_stream_pull(a2m_cqt_stream *s, float *power, size_t max_frames) {
    size_t k = a2m_cqt_stream_ready(s), nb = (size_t)s->c->p.n_bins;
    if (k > max_frames) k = max_frames;
    if (k == 0) return 0;
    memcpy(power, s->power + (s->n_out - s->pw_base) * nb, k * nb * sizeof *power);
    s->n_out += k;
    return k;
}
