/* The pieces of windowed transcription shared by the whole-recording pass
 * (transcribe.c) and the streaming pass (stream.c), so both compute the same
 * numbers. Internal to the library. */
#ifndef A2M_TRANSCRIBE_WINDOW_H
#define A2M_TRANSCRIBE_WINDOW_H

#include <stddef.h>

#include "a2m/cqt.h"
#include "a2m/model.h"
#include "a2m/transcribe.h"

/* Window length and step in samples; the step is a whole number of frames. */
void transcribe_window_geometry(const a2m_model_info *in, a2m_transcribe_params p, size_t *win_samples,
                                size_t *hop_samples);
/* Blending weights: a sine taper, so frames near a window edge count less. */
void transcribe_window_taper(float *taper /* [W] */, int W);
/* A duration in ms as frames (rounded up), or `frames` when ms < 0. */
int transcribe_frames_from_ms(double ms, int frames, double frame_s);
/* (x - mean) / std in place, in float as training normalised. */
void transcribe_normalise(float *x, size_t n, double mean, double std);

#endif
