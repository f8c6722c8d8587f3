/* Onset evidence from the sound itself: the spectral flux of the CQT. Internal to the library.
 *
 * The network's p(onset) often peaks on several frames around a note change, and the strongest peak is 50-150 ms
 * from the onset that singreal marks (80 of its 136 missed onsets, docs/anypitch.md "Onset errors"). The rise of
 * the spectrum in dB, mean over bins, from the frame 2 before (12 ms), marks where new energy comes in; the onset
 * snap weighs it beside p(onset). Levels are floored at an absolute -80 dB (not relative to the loudest frame, which
 * a stream does not know yet): a rise in dB does not depend on the gain above that floor. */
#ifndef A2M_TRANSCRIBE_FLUX_H
#define A2M_TRANSCRIBE_FLUX_H

#include <stddef.h>

#define TRANSCRIBE_FLUX_FLOOR_DB (-80.0f)
#define TRANSCRIBE_FLUX_LAG      2 /* frames */

typedef struct transcribe_flux {
    int F;       /* bins */
    size_t seen; /* frames so far */
    float *hist; /* [TRANSCRIBE_FLUX_LAG x F]: the last frames' floored dB, a ring */
    float *row;  /* [F] */
} transcribe_flux;

int transcribe_flux_init(transcribe_flux *s, int F);
void transcribe_flux_free(transcribe_flux *s);
void transcribe_flux_reset(transcribe_flux *s);
/* The flux out[n] of the next n frames, given as dB rows db [n x F] (power: 0) or as CQT power rows (power: 1,
 * converted as 10 log10(max(p, amin2)) - ref_db). The first TRANSCRIBE_FLUX_LAG frames of a recording get 0. */
void transcribe_flux_add(transcribe_flux *s, const float *rows, size_t n, int power, float amin2, float ref_db,
                         float *out);

#endif
