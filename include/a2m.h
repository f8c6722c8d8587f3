/* a2m: singing to MIDI, as a C11 library. One header for all of it; each domain also has its own header under
 * a2m/ (include only what you use, if you prefer). Link with `pkg-config --cflags --libs a2m` (liba2m.so) or
 * `pkg-config --static --libs a2m` (liba2m.a); examples/transcribe.c is a whole program.
 *
 * Rules the whole API follows (README "Install and use as a library"):
 *   - every function that can fail returns A2M_OK (0) or an a2m_err code and records a one-line detail naming the
 *     file and the problem, read with a2m_errmsg() (thread-local); the library never prints and never exits;
 *   - opaque objects are made by a2m_X_new(..., params, &out) and released by a2m_X_del(x) (safe on NULL); their
 *     methods are a2m_X_verb(a2m_X *, ...); plain value structs the caller owns (a2m_audio, a2m_notes,
 *     a2m_transcription, ...) keep a2m_X_free(&x) releasing what they hold; params structs come from
 *     a2m_X_default_params();
 *   - no process-wide state: thread counts are passed per object or call; the BLAS thread count is the program's.
 * Plotting (a2m/plot.h) opens libcairo.so.2 when first used: it is no link dependency of liba2m; without cairo
 * installed the plot functions return A2M_ERR_UNSUPPORTED naming the library. The same holds for fluidsynth and
 * rubberband (a2m/gen.h) and libpq (a2m/search.h with a postgresql:// storage). */
#ifndef A2M_H
#define A2M_H

#define A2M_VERSION_MAJOR 0
#define A2M_VERSION_MINOR 1
#define A2M_VERSION_PATCH 0

#include "a2m/error.h"
#include "a2m/io.h"
#include "a2m/audio.h"
#include "a2m/midi.h"
#include "a2m/cqt.h"
#include "a2m/features.h"
#include "a2m/dataset.h"
#include "a2m/model.h"
#include "a2m/train.h"
#include "a2m/transcribe.h"
#include "a2m/metrics.h"
#include "a2m/uncertainty.h"
#include "a2m/baseline.h"
#include "a2m/embed.h"
#include "a2m/search.h"
#include "a2m/gen.h"
#include "a2m/plot.h"

#endif
