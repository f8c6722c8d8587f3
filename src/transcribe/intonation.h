/* How far from the note it was sung: per frame the sung pitch read off the CQT, per note the mean deviation
 * in cents. The network works in semitones (trained deaf to +-33 cents), so the fine pitch comes from the
 * spectrum: the strongest bin within 2 bins (67 cents) of the frame's class, moved by the recording's tuning
 * shift, at its parabola-interpolated position over its neighbours in dB. Internal to the library. */
#ifndef A2M_TRANSCRIBE_INTONATION_H
#define A2M_TRANSCRIBE_INTONATION_H

#include <stddef.h>

#include "a2m/cqt.h"

/* The sung pitch (fractional MIDI) of one frame of class MIDI p from its row of CQT values [cq.n_bins] (dB, or
 * power |C|^2 when is_power: then only the 7 bins read are converted), looked for around p's bin moved by
 * shift_bins (the tuning shift: the features' bin k was the recording's bin k + shift_bins); NaN when the
 * strongest bin there is no peak (it is the window's edge) or lies outside the CQT. */
float transcribe_sung_pitch(a2m_cqt_params cq, const float *row, int is_power, int p, double shift_bins);
/* A note's deviation in cents (+ sharp) from MIDI p: the mean over frames [start, start + len) of sung (NaN:
 * not measured) within 75 cents of p (a breath or a glide's frames say nothing of the note); NaN when none is. */
double transcribe_note_cents(const float *sung, size_t start, size_t len, int p);

#endif
