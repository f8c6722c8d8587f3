/* Note metrics as mir_eval.transcription: a reference and an estimated note
 * are a candidate pair when their onsets are within the tolerance (distance
 * rounded to 7 decimals, compared <=), and for COnP/COnPOff their pitches and
 * offsets too; then a maximum one-to-one matching over the candidate pairs
 * (its size equals mir_eval's Hopcroft-Karp matching), precision/recall/F1
 * and the average overlap ratio.
 *
 * Bounded: estimates are sorted by onset, so a reference's candidates lie in
 * one window of that order (two binary searches) and are tested when the
 * matcher visits them; nothing of size n_ref x n_est is stored. The matcher
 * (augmenting paths, iterative so a long path cannot overflow the stack)
 * first takes a free candidate when there is one and keeps visit stamps
 * instead of clearing a visited array per reference. 50,000 vs 50,000 notes
 * with overlapping windows: 25 ms and 6 MB (the n x n matrix with a cleared
 * visited array per reference took 35 s for 5,000 vs 5,000; bench_compare). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "a2m/metrics.h"

a2m_note_metric_params a2m_note_metric_default_params(void) {
    a2m_note_metric_params p = {0.05, 50.0, 0.2, 0.05};
    return p;
}

static double round7(double x) { return nearbyint(x * 1e7) / 1e7; }
static double log2_hz(double midi) { return log2(440.0 * pow(2.0, (midi - 69.0) / 12.0)); }

/* An estimate's place in onset order (ties in input order). */
typedef struct by_onset_key {
    double onset;
    size_t idx;
} by_onset_key;

typedef struct sorted_est {
    size_t *idx;         /* [ne] input index of the k-th by onset */
    double *onset, *lhz; /* [ne] onset, log2 Hz in that order */
} sorted_est;

typedef struct matcher {
    const a2m_note *ref, *est;
    size_t nr, ne;
    int mode; /* 0: onset+pitch+offset, 1: onset+pitch, 2: onset only */
    a2m_note_metric_params p;
    sorted_est s;
    size_t *lo, *hi;         /* [nr] candidate window [lo, hi) in sorted order */
    double *rlhz;            /* [nr] reference log2 Hz */
    long *est_of_ref;        /* [nr] sorted position, -1 = unmatched */
    long *ref_of_est;        /* [ne] by sorted position */
    uint32_t *stamp;         /* [ne] augment number of the last visit */
    size_t *stk_ref, *stk_pos, *via; /* [nr] the augmenting path being searched */
} matcher;

static int hit(const matcher *m, size_t r, size_t k) {
    const a2m_note *a = &m->ref[r], *b = &m->est[m->s.idx[k]];
    if (!(round7(fabs(a->onset - b->onset)) <= m->p.onset_tolerance)) return 0;
    if (m->mode <= 1 && !(fabs(1200.0 * (m->rlhz[r] - m->s.lhz[k])) <= m->p.pitch_tolerance)) return 0;
    if (m->mode == 0) {
        double tol = fmax(m->p.offset_ratio * (a->offset - a->onset), m->p.offset_min_tolerance);
        if (!(round7(fabs(a->offset - b->offset)) <= tol)) return 0;
    }
    return 1;
}

/* First sorted position whose onset is >= x (strict: > x). */
static size_t lower(const double *v, size_t n, double x, int strict) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strict ? v[mid] <= x : v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Gives the path's references their new estimates: the top one the free k,
 * each lower one the estimate it reached the next through. */
static void flip(matcher *m, size_t top, size_t k) {
    for (size_t d = top + 1; d-- > 0;) {
        m->ref_of_est[k] = (long)m->stk_ref[d];
        m->est_of_ref[m->stk_ref[d]] = (long)k;
        if (d > 0) k = m->via[d - 1];
    }
}

/* A free candidate of reference r not visited in this augment, or -1. */
static long free_candidate(const matcher *m, size_t r, uint32_t stamp) {
    for (size_t k = m->lo[r]; k < m->hi[r]; k++)
        if (m->ref_of_est[k] < 0 && m->stamp[k] != stamp && hit(m, r, k)) return (long)k;
    return -1;
}

/* Depth-first search for an augmenting path from the unmatched reference root. */
static int augment(matcher *m, size_t root, uint32_t stamp) {
    size_t top = 0;
    m->stk_ref[0] = root, m->stk_pos[0] = m->lo[root];
    long f = free_candidate(m, root, stamp);
    for (;;) {
        if (f >= 0) {
            flip(m, top, (size_t)f);
            return 1;
        }
        size_t r = m->stk_ref[top], k = m->stk_pos[top];
        while (k < m->hi[r] && (m->stamp[k] == stamp || !hit(m, r, k))) k++;
        if (k == m->hi[r]) {
            if (top == 0) return 0;
            top--;
            continue;
        }
        m->stamp[k] = stamp, m->stk_pos[top] = k + 1, m->via[top] = k;
        size_t next = (size_t)m->ref_of_est[k]; /* matched: free ones were taken by free_candidate */
        top++;
        m->stk_ref[top] = next, m->stk_pos[top] = m->lo[next];
        f = free_candidate(m, next, stamp);
    }
}

static int by_onset(const void *a, const void *b) {
    const by_onset_key *x = a, *y = b;
    if (x->onset != y->onset) return x->onset < y->onset ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorted estimates, reference pitches and candidate windows: shared by the three metrics. */
static int matcher_init(matcher *m, const a2m_note *ref, size_t nr, const a2m_note *est, size_t ne,
                        a2m_note_metric_params p) {
    *m = (matcher){.ref = ref, .est = est, .nr = nr, .ne = ne, .p = p};
    by_onset_key *keys = malloc(ne * sizeof *keys);
    m->s.idx = malloc(ne * sizeof *m->s.idx), m->s.onset = malloc(ne * sizeof(double));
    m->s.lhz = malloc(ne * sizeof(double)), m->ref_of_est = malloc(ne * sizeof(long));
    m->stamp = malloc(ne * sizeof *m->stamp), m->rlhz = malloc(nr * sizeof(double));
    m->lo = malloc(nr * sizeof(size_t)), m->hi = malloc(nr * sizeof(size_t));
    m->est_of_ref = malloc(nr * sizeof(long)), m->stk_ref = malloc(nr * sizeof(size_t));
    m->stk_pos = malloc(nr * sizeof(size_t)), m->via = malloc(nr * sizeof(size_t));
    if (!keys || !m->s.idx || !m->s.onset || !m->s.lhz || !m->ref_of_est || !m->stamp || !m->rlhz || !m->lo ||
        !m->hi || !m->est_of_ref || !m->stk_ref || !m->stk_pos || !m->via) {
        free(keys);
        return a2m_error(A2M_ERR_NOMEM, "note metrics: out of memory for %zu and %zu notes", nr, ne);
    }
    for (size_t j = 0; j < ne; j++) keys[j] = (by_onset_key){est[j].onset, j};
    qsort(keys, ne, sizeof *keys, by_onset);
    for (size_t k = 0; k < ne; k++) {
        m->s.idx[k] = keys[k].idx, m->s.onset[k] = keys[k].onset;
        m->s.lhz[k] = log2_hz(est[keys[k].idx].pitch);
    }
    free(keys);
    for (size_t i = 0; i < nr; i++) {
        /* wider than the tolerance by more than round7's half step and the subtraction's rounding;
         * hit() decides exactly */
        double margin = 1e-6 + 1e-12 * fabs(ref[i].onset);
        m->lo[i] = lower(m->s.onset, ne, ref[i].onset - p.onset_tolerance - margin, 0);
        m->hi[i] = lower(m->s.onset, ne, ref[i].onset + p.onset_tolerance + margin, 1);
        m->rlhz[i] = log2_hz(ref[i].pitch);
    }
    return A2M_OK;
}

static void matcher_free(matcher *m) {
    free(m->s.idx), free(m->s.onset), free(m->s.lhz), free(m->ref_of_est), free(m->stamp), free(m->rlhz);
    free(m->lo), free(m->hi), free(m->est_of_ref), free(m->stk_ref), free(m->stk_pos), free(m->via);
}

static void match(matcher *m, int mode, a2m_prf *out) {
    m->mode = mode;
    for (size_t i = 0; i < m->nr; i++) m->est_of_ref[i] = -1;
    for (size_t k = 0; k < m->ne; k++) m->ref_of_est[k] = -1;
    memset(m->stamp, 0, m->ne * sizeof *m->stamp);
    size_t matched = 0;
    for (size_t i = 0; i < m->nr; i++) matched += (size_t)augment(m, i, (uint32_t)(i + 1));
    double overlap = 0;
    for (size_t i = 0; i < m->nr; i++) {
        if (m->est_of_ref[i] < 0) continue;
        const a2m_note *r = &m->ref[i], *e = &m->est[m->s.idx[m->est_of_ref[i]]];
        double num = fmin(r->offset, e->offset) - fmax(r->onset, e->onset);
        double den = fmax(r->offset, e->offset) - fmin(r->onset, e->onset);
        overlap += den > 0 ? num / den : 0;
    }
    out->precision = (double)matched / (double)m->ne;
    out->recall = (double)matched / (double)m->nr;
    out->f1 = out->precision + out->recall > 0 ? 2 * out->precision * out->recall / (out->precision + out->recall) : 0;
    out->average_overlap = matched ? overlap / (double)matched : 0;
}

int a2m_note_metrics_compute(const a2m_note *ref, size_t n_ref, const a2m_note *est, size_t n_est,
                             a2m_note_metric_params p, a2m_note_metrics *out) {
    memset(out, 0, sizeof *out);
    const a2m_note *sets[2] = {ref, est};
    size_t ns[2] = {n_ref, n_est};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < ns[s]; i++)
            if (!isfinite(sets[s][i].onset) || !isfinite(sets[s][i].offset) || sets[s][i].offset < sets[s][i].onset ||
                !(sets[s][i].pitch > 0))
                return a2m_error(A2M_ERR_ARG, "note metrics: %s note %zu has bad times or pitch", s ? "estimated" : "reference", i);
    if (n_ref == 0 || n_est == 0) return A2M_OK;
    if (n_ref >= UINT32_MAX) return a2m_error(A2M_ERR_RANGE, "note metrics: %zu reference notes is too many", n_ref);
    matcher m;
    int rc = matcher_init(&m, ref, n_ref, est, n_est, p);
    if (!rc) {
        match(&m, 0, &out->onset_pitch_offset);
        match(&m, 1, &out->onset_pitch);
        match(&m, 2, &out->onset);
    }
    matcher_free(&m);
    return rc;
}
