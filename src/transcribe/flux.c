#include "transcribe/flux.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "a2m/error.h"
#include "core/isa.h"
#include "dsp/db.h"

int transcribe_flux_init(transcribe_flux *s, int F) {
    s->F = F, s->seen = 0;
    s->hist = malloc((size_t)TRANSCRIBE_FLUX_LAG * (size_t)F * sizeof *s->hist);
    s->row = malloc((size_t)F * sizeof *s->row);
    if (!s->hist || !s->row) {
        transcribe_flux_free(s);
        return a2m_error(A2M_ERR_NOMEM, "out of memory");
    }
    return A2M_OK;
}

void transcribe_flux_free(transcribe_flux *s) {
    free(s->hist), free(s->row);
    s->hist = s->row = NULL;
}

void transcribe_flux_reset(transcribe_flux *s) { s->seen = 0; }

/* One CQT power row in dB, floored at amin2 (a normal number); vectorised (-O3, an AVX2 clone): with log10f
 * the flux cost 15% of a 60 s transcription. */
A2M_DISPATCH
static void row_db(const float *x, size_t F, float amin2, float ref_db, float *row) {
    for (size_t b = 0; b < F; b++) row[b] = a2m_db_of_power(x[b] > amin2 ? x[b] : amin2) - ref_db;
}

/* The mean over bins of the rise of row (floored) above old, which then takes the floored row; in 8 lanes of
 * partial sums, so it vectorises (branches here cost 70% of the flux's time). */
A2M_DISPATCH
static float row_rise(const float *row, size_t F, float *old) {
    float acc[8] = {0}, rest = 0;
    size_t b = 0;
    for (; b + 8 <= F; b += 8)
        for (size_t j = 0; j < 8; j++) {
            float d = row[b + j] > TRANSCRIBE_FLUX_FLOOR_DB ? row[b + j] : TRANSCRIBE_FLUX_FLOOR_DB, r = d - old[b + j];
            acc[j] += r > 0 ? r : 0.0f; /* not fmaxf: a call into libm without -ffinite-math-only */
            old[b + j] = d;
        }
    for (; b < F; b++) {
        float d = row[b] > TRANSCRIBE_FLUX_FLOOR_DB ? row[b] : TRANSCRIBE_FLUX_FLOOR_DB, r = d - old[b];
        rest += r > 0 ? r : 0.0f;
        old[b] = d;
    }
    float sum = rest;
    for (size_t j = 0; j < 8; j++) sum += acc[j];
    return sum / (float)F;
}

void transcribe_flux_add(transcribe_flux *s, const float *rows, size_t n, int power, float amin2, float ref_db,
                         float *out) {
    size_t F = (size_t)s->F;
    if (!(amin2 >= FLT_MIN)) amin2 = FLT_MIN; /* a2m_db_of_power takes normal numbers */
    for (size_t f = 0; f < n; f++, s->seen++) {
        const float *x = rows + f * F;
        float *row = s->row, *old = s->hist + (s->seen % TRANSCRIBE_FLUX_LAG) * F; /* the frame LAG before */
        if (power) row_db(x, F, amin2, ref_db, row);
        else memcpy(row, x, F * sizeof *row);
        float rise = row_rise(row, F, old);
        out[f] = s->seen >= TRANSCRIBE_FLUX_LAG ? rise : 0.0f;
    }
}
