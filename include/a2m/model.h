/* Models: read-only weights + metadata (a2m_model, shared by threads) and
 * per-run buffers (a2m_runner, one per thread), as whisper.cpp separates them.
 * Files are safetensors with PyTorch tensor names and a2m metadata in the
 * header's "__metadata__" (see README "Model files"). */
#ifndef A2M_MODEL_H
#define A2M_MODEL_H

#include <stddef.h>
#include "a2m/cqt.h"
#include "a2m/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_model_info {
    char arch[32];              /* "crnn", ... */
    int n_bins;                 /* input features per frame: 252 */
    int n_classes;              /* classes incl. silence: 4 */
    int hidden;                 /* LSTM hidden size: 128 */
    int class_notes[A2M_MAX_CLASSES]; /* class -> MIDI note; [0] = -1 (silence) */
    int transpose;              /* semitones the dataset's MIDI was shifted by */
    a2m_cqt_params cqt;         /* features the model was trained on */
    double norm_mean, norm_std; /* (dB - mean) / std */
    size_t n_params;
    char summary[1024];         /* training summary text ("" if none) */
} a2m_model_info;

typedef struct a2m_model a2m_model;
typedef struct a2m_runner a2m_runner;

/* arch NULL: from the file's metadata, else recognised from tensor names.
 * Wrong shapes or an unknown architecture -> A2M_ERR_ARCH / A2M_ERR_SHAPE. */
int a2m_model_load(const char *path, const char *arch, a2m_model **out);
void a2m_model_free(a2m_model *m);
const a2m_model_info *a2m_model_get_info(const a2m_model *m);

/* Buffers for batches of up to max_batch sequences of up to max_frames frames. */
int a2m_runner_new(const a2m_model *m, int max_batch, int max_frames, a2m_runner **out);
void a2m_runner_free(a2m_runner *r);
/* x: [B x T x n_bins] normalised features; logits: [B x T x n_classes]. */
int a2m_model_forward(a2m_runner *r, const float *x, int B, int T, float *logits);

#ifdef __cplusplus
}
#endif
#endif
