/* Note metrics as mir_eval.transcription: onset/pitch/offset hit matrices
 * (distances rounded to 7 decimals, comparisons <=), then a maximum
 * one-to-one matching (augmenting paths; its size equals mir_eval's
 * Hopcroft-Karp matching), precision/recall/F1 and the average overlap ratio. */
#include <math.h>
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

typedef struct matcher {
    const unsigned char *hit; /* [n_ref x n_est] */
    size_t nr, ne;
    long *est_of_ref, *ref_of_est;
    unsigned char *seen;
} matcher;

static int augment(matcher *m, size_t r) {
    for (size_t e = 0; e < m->ne; e++) {
        if (!m->hit[r * m->ne + e] || m->seen[e]) continue;
        m->seen[e] = 1;
        if (m->ref_of_est[e] < 0 || augment(m, (size_t)m->ref_of_est[e])) {
            m->ref_of_est[e] = (long)r;
            m->est_of_ref[r] = (long)e;
            return 1;
        }
    }
    return 0;
}

/* mode 0: onset+pitch+offset, 1: onset+pitch, 2: onset only */
static int match(const a2m_note *ref, size_t nr, const a2m_note *est, size_t ne, a2m_note_metric_params p, int mode,
                 a2m_prf *out) {
    memset(out, 0, sizeof *out);
    if (nr == 0 || ne == 0) return A2M_OK;
    unsigned char *hit = malloc(nr * ne);
    long *eor = malloc(nr * sizeof *eor), *roe = malloc(ne * sizeof *roe);
    unsigned char *seen = malloc(ne);
    if (!hit || !eor || !roe || !seen) {
        free(hit), free(eor), free(roe), free(seen);
        return a2m_error(A2M_ERR_NOMEM, "note metrics: out of memory");
    }
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < ne; j++) {
            int h = round7(fabs(ref[i].onset - est[j].onset)) <= p.onset_tolerance;
            if (h && mode <= 1) h = fabs(1200.0 * (log2_hz(ref[i].pitch) - log2_hz(est[j].pitch))) <= p.pitch_tolerance;
            if (h && mode == 0) {
                double tol = fmax(p.offset_ratio * (ref[i].offset - ref[i].onset), p.offset_min_tolerance);
                h = round7(fabs(ref[i].offset - est[j].offset)) <= tol;
            }
            hit[i * ne + j] = (unsigned char)h;
        }
    for (size_t i = 0; i < nr; i++) eor[i] = -1;
    for (size_t j = 0; j < ne; j++) roe[j] = -1;
    matcher m = {hit, nr, ne, eor, roe, seen};
    size_t matched = 0;
    for (size_t i = 0; i < nr; i++) {
        memset(seen, 0, ne);
        matched += (size_t)augment(&m, i);
    }
    double overlap = 0;
    for (size_t i = 0; i < nr; i++) {
        if (eor[i] < 0) continue;
        const a2m_note *e = &est[eor[i]];
        double num = fmin(ref[i].offset, e->offset) - fmax(ref[i].onset, e->onset);
        double den = fmax(ref[i].offset, e->offset) - fmin(ref[i].onset, e->onset);
        overlap += den > 0 ? num / den : 0;
    }
    out->precision = (double)matched / (double)ne;
    out->recall = (double)matched / (double)nr;
    out->f1 = out->precision + out->recall > 0 ? 2 * out->precision * out->recall / (out->precision + out->recall) : 0;
    out->average_overlap = matched ? overlap / (double)matched : 0;
    free(hit), free(eor), free(roe), free(seen);
    return A2M_OK;
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
    int rc = match(ref, n_ref, est, n_est, p, 0, &out->onset_pitch_offset);
    if (!rc) rc = match(ref, n_ref, est, n_est, p, 1, &out->onset_pitch);
    if (!rc) rc = match(ref, n_ref, est, n_est, p, 2, &out->onset);
    return rc;
}
