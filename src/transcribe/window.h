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
/* A member of a transcriber: a model, the member whose runner it runs on (members of one model share one: a
 * Monte-Carlo pass is the runner's masks seeked to the pass's seed, nn_runner_mc_seek), and its dropout (0: none)
 * and masks' seed. */
typedef struct transcribe_member {
    const a2m_model *m;
    int runner;
    double dropout;
    unsigned long long seed;
} transcribe_member;
/* At most this many members (models x passes): window mode keeps ~1.2 MB per member of the any-pitch model (its
 * blend, 2 windows x 52 classes, and its probabilities of a batch of 4 windows), 310 MB at this many */
#define TRANSCRIBE_MAX_MEMBERS 256
/* The members of n models under p (each p.mc_passes times, else once) into *out (malloc'd, *n_out), checked: the
 * first model's features, bins and classes (A2M_ERR_FORMAT naming the member), a dropout to sample for passes. */
int transcribe_members(const a2m_model *const *models, int n, a2m_transcribe_params p, transcribe_member **out,
                       int *n_out);
/* The stream of n models' members (transcribe_members); unc: their predictive measures kept with the frames. */
int transcribe_stream_members(const a2m_model *const *models, int n, a2m_transcribe_params p, int keep_frames, int unc,
                              a2m_transcribe_stream **out);
/* The runner of batches of `batch` windows of `frames` frames: p's precision, member mb's dropout. */
a2m_runner_params transcribe_runner_params(a2m_transcribe_params p, const transcribe_member *mb, int batch, int frames);
/* (x - mean) / std in place, in float as training normalised. */
void transcribe_normalise(float *x, size_t n, double mean, double std);

/* p with the rules left at -1 (max_gap_frames, min_note_frames) set to the model's kind's defaults. */
a2m_transcribe_params transcribe_params_for_model(a2m_transcribe_params p, const a2m_model_info *in);

/* Index of the onset class of a model (its class_notes entry is A2M_CLASS_ONSET), or -1. */
int transcribe_onset_class(const int *class_notes, int C);
/* A frame's class from its probabilities q [C]: the argmax; with an onset class (onset >= 0), silence when
 * p(silence) >= 0.5, else the most likely pitch (the onset class is a segmentation cue, not a pitch). */
int transcribe_frame_class(const float *q, int C, int onset);

#endif
