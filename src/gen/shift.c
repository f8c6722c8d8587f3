/* Pitch shifting (and time stretching) of recorded takes with librubberband
 * (offline, R3 "finer" engine, formants preserved): a shifted take still sounds
 * like the same singer, its notes move by exactly the shift, and a stretched
 * take's notes keep their pitch while every time is multiplied by the ratio. */
#include "a2m/error.h"
#include "a2m/gen.h"
#include "gen/rubberband_dl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 4096 };

/* Feeds n samples of x through an offline stretcher (study pass done) and collects ny into y. */
static void run_stretcher(RubberBandState rb, const float *x, size_t n, float *y, size_t ny) {
    size_t fed = 0, got = 0;
    while (got < ny) {
        if (fed < n) {
            size_t k = n - fed < CHUNK ? n - fed : CHUNK;
            const float *in[1] = {x + fed};
            fed += k;
            rubberband_process(rb, in, (unsigned)k, fed == n);
        }
        int avail = rubberband_available(rb);
        if (avail < 0) break; /* finished */
        if (avail == 0 && fed == n) break;
        size_t want = (size_t)avail < ny - got ? (size_t)avail : ny - got;
        float *out[1] = {y + got};
        got += rubberband_retrieve(rb, out, (unsigned)want);
    }
    /* anything the stretcher did not deliver stays zero (calloc'd) */
}

int a2m_pitch_shift(const float *x, size_t n, int rate, double semitones, float **y, size_t *ny) {
    return a2m_pitch_shift_formant(x, n, rate, semitones, 1.0, y, ny);
}

int a2m_pitch_shift_formant(const float *x, size_t n, int rate, double semitones, double formant_scale, float **y,
                            size_t *ny) {
    return a2m_stretch_shift(x, n, rate, semitones, formant_scale, 1.0, y, ny);
}

int a2m_stretch_shift(const float *x, size_t n, int rate, double semitones, double formant_scale, double time_ratio,
                      float **y, size_t *ny) {
    *y = NULL;
    *ny = 0;
    if (!(fabs(semitones) <= 48) || rate < 1000)
        return a2m_error(A2M_ERR_ARG, "shift: %g semitones outside -48..48", semitones);
    if (!(formant_scale >= 0.5 && formant_scale <= 2))
        return a2m_error(A2M_ERR_ARG, "shift: formant scale %g outside 0.5..2", formant_scale);
    if (!(time_ratio >= 0.5 && time_ratio <= 2))
        return a2m_error(A2M_ERR_ARG, "stretch: time ratio %g outside 0.5..2", time_ratio);
    if (n == 0 || n > (size_t)1 << 30) return a2m_error(A2M_ERR_EMPTY, "shift: %zu samples", n);
    size_t n_out = (size_t)llround((double)n * time_ratio);
    float *out = calloc(n_out, sizeof *out);
    if (!out) return a2m_error(A2M_ERR_NOMEM, "shift: out of memory");
    if (semitones == 0 && formant_scale == 1 && time_ratio == 1) {
        memcpy(out, x, n * sizeof *out);
    } else if (a2m_rubberband_load()) {
        free(out);
        return a2m_error_prefix(A2M_ERR_UNSUPPORTED, "shift");
    } else {
        RubberBandOptions opt = RubberBandOptionProcessOffline | RubberBandOptionEngineFiner |
                                RubberBandOptionFormantPreserved | RubberBandOptionPitchHighQuality;
        RubberBandState rb = rubberband_new((unsigned)rate, 1, opt, time_ratio, pow(2.0, semitones / 12.0));
        if (!rb) {
            free(out);
            return a2m_error(A2M_ERR_NOMEM, "shift: rubberband_new failed");
        }
        if (formant_scale != 1) rubberband_set_formant_scale(rb, formant_scale);
        rubberband_set_expected_input_duration(rb, (unsigned)n);
        rubberband_set_max_process_size(rb, CHUNK);
        for (size_t fed = 0; fed < n; fed += CHUNK) {
            const float *in[1] = {x + fed};
            size_t k = n - fed < CHUNK ? n - fed : CHUNK;
            rubberband_study(rb, in, (unsigned)k, fed + k == n);
        }
        run_stretcher(rb, x, n, out, n_out);
        rubberband_delete(rb);
    }
    *y = out;
    *ny = n_out;
    return A2M_OK;
}
