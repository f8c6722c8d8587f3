/* Note metrics as mir_eval.transcription: a reference and an estimated note
 * are a candidate pair when their onsets are within the tolerance (distance
 * rounded to 7 decimals, compared <=), and for COnP/COnPOff their pitches and
 * offsets too; then a maximum one-to-one matching over the candidate pairs
 * (Hopcroft-Karp, as mir_eval), precision/recall/F1 and the average overlap
 * ratio (of this matching: mir_eval's may pair ties differently).
 *
 * Bounded: estimates are sorted by onset, so a reference's candidates lie in
 * one window of that order (two binary searches) and are tested when visited;
 * nothing of size n_ref x n_est is stored, and the searches are iterative (a
 * long augmenting path cannot overflow the stack). Hopcroft-Karp scans each
 * candidate pair a bounded number of times per phase, O(pairs x sqrt(notes))
 * in all; simple augmenting paths re-explored the whole matched past after
 * every failed search (50,000 vs 45,000 notes with one estimate in ten
 * missing: 1.4 s). 50,000 vs 50,000 notes: 24 ms and 9 MB (the n x n matrix
 * took 35 s for 5,000 vs 5,000; bench_compare). */
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
    size_t *lo, *hi;   /* [nr] candidate window [lo, hi) in sorted order */
    double *rlhz;      /* [nr] reference log2 Hz */
    long *est_of_ref;  /* [nr] sorted position, -1 = unmatched */
    long *ref_of_est;  /* [ne] by sorted position */
    size_t *dist;      /* [nr] BFS layer of the phase (NONE: not reached, or a dead end) */
    size_t *next;      /* [nr] the next window position a phase's search tries */
    size_t *stk, *via; /* [nr] the path being searched: references, and the estimate each took */
    size_t *queue;     /* [nr] the BFS queue */
    size_t dist_free;  /* the layer where the BFS met free estimates */
} matcher;

#define NONE SIZE_MAX

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

/* Layers the references from the unmatched ones along alternating paths; 1 when a free estimate is reachable. */
static int bfs(matcher *m) {
    size_t head = 0, tail = 0;
    for (size_t r = 0; r < m->nr; r++) {
        m->dist[r] = m->est_of_ref[r] < 0 ? 0 : NONE;
        if (m->est_of_ref[r] < 0) m->queue[tail++] = r;
    }
    m->dist_free = NONE;
    while (head < tail) {
        size_t r = m->queue[head++];
        if (m->dist[r] >= m->dist_free) continue; /* paths longer than the shortest are for later phases */
        for (size_t k = m->lo[r]; k < m->hi[r]; k++) {
            if (!hit(m, r, k)) continue;
            long owner = m->ref_of_est[k];
            if (owner < 0) m->dist_free = m->dist_free == NONE ? m->dist[r] + 1 : m->dist_free;
            else if (m->dist[owner] == NONE) m->dist[owner] = m->dist[r] + 1, m->queue[tail++] = (size_t)owner;
        }
    }
    return m->dist_free != NONE;
}

/* Each reference on the path takes the estimate it went through (the last one a free estimate). */
static void flip(matcher *m, size_t top) {
    for (size_t d = 0; d <= top; d++) {
        m->ref_of_est[m->via[d]] = (long)m->stk[d];
        m->est_of_ref[m->stk[d]] = (long)m->via[d];
    }
}

/* A shortest augmenting path from the unmatched reference root along the layers; references it
 * leaves as dead ends are taken out of the phase (dist NONE). */
static int dfs(matcher *m, size_t root) {
    size_t top = 0;
    m->stk[0] = root;
    for (;;) {
        size_t r = m->stk[top], deeper = NONE;
        for (; m->next[r] < m->hi[r]; m->next[r]++) {
            size_t k = m->next[r];
            if (!hit(m, r, k)) continue;
            long owner = m->ref_of_est[k];
            if (owner < 0 && m->dist[r] + 1 == m->dist_free) {
                m->via[top] = k;
                flip(m, top);
                return 1;
            }
            if (owner >= 0 && m->dist[owner] == m->dist[r] + 1) {
                m->via[top] = k, deeper = (size_t)owner;
                break;
            }
        }
        if (deeper != NONE) {
            m->stk[++top] = deeper;
            continue;
        }
        m->dist[r] = NONE;
        if (top == 0) return 0;
        m->next[m->stk[--top]]++; /* that estimate led nowhere: the next one */
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
    m->rlhz = malloc(nr * sizeof(double)), m->est_of_ref = malloc(nr * sizeof(long));
    size_t **idx[7] = {&m->lo, &m->hi, &m->dist, &m->next, &m->stk, &m->via, &m->queue};
    int lost = !keys || !m->s.idx || !m->s.onset || !m->s.lhz || !m->ref_of_est || !m->rlhz || !m->est_of_ref;
    for (int t = 0; t < 7; t++) lost |= !(*idx[t] = malloc(nr * sizeof(size_t)));
    if (lost) {
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
    free(m->s.idx), free(m->s.onset), free(m->s.lhz), free(m->ref_of_est), free(m->rlhz), free(m->est_of_ref);
    free(m->lo), free(m->hi), free(m->dist), free(m->next), free(m->stk), free(m->via), free(m->queue);
}

static void match(matcher *m, int mode, a2m_prf *out) {
    m->mode = mode;
    for (size_t i = 0; i < m->nr; i++) m->est_of_ref[i] = -1;
    for (size_t k = 0; k < m->ne; k++) m->ref_of_est[k] = -1;
    size_t matched = 0;
    while (bfs(m)) { /* one phase: vertex-disjoint shortest augmenting paths */
        memcpy(m->next, m->lo, m->nr * sizeof *m->next);
        for (size_t r = 0; r < m->nr; r++)
            if (m->est_of_ref[r] < 0 && m->dist[r] == 0) matched += (size_t)dfs(m, r);
    }
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
                return a2m_error(A2M_ERR_ARG, "note metrics: %s note %zu has bad times or pitch",
                                 s ? "estimated" : "reference", i);
    if (n_ref == 0 || n_est == 0) return A2M_OK;
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
