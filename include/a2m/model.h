/* Models: read-only weights + metadata (a2m_model, shared by threads) and
 * per-run buffers (a2m_runner, one per thread), as whisper.cpp separates them.
 * Files are safetensors with PyTorch tensor names and a2m metadata in the
 * header's "__metadata__" (see README "Model files"). */
#ifndef A2M_MODEL_H
#define A2M_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "a2m/cqt.h"
#include "a2m/dataset.h"
#include "a2m/features.h"
#include "a2m/midi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_model_info {
    char arch[32];                    /* "crnn", ... */
    int n_bins;                       /* input features per frame: 252 */
    int n_classes;                    /* classes incl. silence: 4 */
    int hidden;                       /* LSTM hidden size: 128 */
    int class_notes[A2M_MAX_CLASSES]; /* class -> MIDI note; [0] = -1 (silence) */
    int transpose;                    /* semitones the dataset's MIDI was shifted by */
    a2m_cqt_params cqt;               /* features the model was trained on: rate, hop, dB step (and the CQT's bins) */
    a2m_feat_params feat;             /* their kind (metadata feat.*, absent for the CQT) and mel/MFCC/LPC parameters */
    double norm_mean, norm_std;       /* (dB - mean) / std */
    size_t n_params;
    char summary[1024]; /* training summary text ("" if none) */
    double temperature; /* 1 = none; T > 0: probabilities are softmax(logits / T) (temperature scaling fitted
                                 * on validation by `a2m calibrate`, metadata "temperature") */
    double dropout;     /* dropout before the output layer (metadata "dropout"; crnn: 0 unless trained with
                                 * --dropout, unet files without the key: 0.25, its training default); used by
                                 * Monte-Carlo dropout runners */
    int onset_head;     /* 1: the onset class's logit is an onset head of its own, p(onset) = sigmoid(logit),
                                 * beside a softmax over the other classes (train --onset-head; metadata
                                 * "onset_head", absent = 0: the onset class is one of the softmax's) */
} a2m_model_info;

typedef struct a2m_model a2m_model;
typedef struct a2m_runner a2m_runner;

/* arch NULL: from the file's metadata, else recognised from tensor names.
 * Wrong shapes or an unknown architecture -> A2M_ERR_ARCH / A2M_ERR_SHAPE. */
int a2m_model_load(const char *path, const char *arch, a2m_model **out);
void a2m_model_del(a2m_model *m);
/* A2M_OK when the model can run on audio: it knows its input normalisation (norm_mean/norm_std) and its
 * features give its n_bins; else A2M_ERR_FORMAT naming path. A plain PyTorch state dict loads (forward, info, import)
 * but cannot transcribe or evaluate. */
int a2m_model_check_for_audio(const a2m_model *m, const char *path);
const a2m_model_info *a2m_model_get_info(const a2m_model *m);
/* Frame probabilities [n x n_classes] from a model's logits [n x n_classes]: softmax(logits / temperature), or with
 * an onset head (info->onset_head) the softmax over every class but the onset class and sigmoid(logit) in its
 * column. */
void a2m_model_probs(const a2m_model_info *info, const float *logits, size_t n, float *probs);
/* A2M_OK when features made with (c, f) are those the model was trained on (kind, rate, hop, and each
 * parameter of the kind), else A2M_ERR_FORMAT naming path and the first difference. */
int a2m_model_check_features(const a2m_model *m, a2m_cqt_params c, a2m_feat_params f, const char *path);

/* Saves a model file (safetensors + metadata) atomically. */
int a2m_model_save(const a2m_model *m, const char *path);

/* Frame predictions (argmax) and optional probabilities for dataset takes.
 * pred [sum of frames], probs [sum of frames x classes] or NULL. */
int a2m_model_predict_takes(const a2m_model *m, const a2m_dataset *d, const size_t *idx, size_t n, int threads,
                            int64_t *pred, float *probs);
/* The network's logits [sum of frames x classes] for dataset takes (before any temperature). mc_dropout > 0:
 * one Monte-Carlo dropout pass, dropout kept on at that probability (the model's info.dropout is what it was
 * trained with) with masks drawn from seed (the same seed, the same pass). */
int a2m_model_logits_takes(const a2m_model *m, const a2m_dataset *d, const size_t *idx, size_t n, int threads,
                           double mc_dropout, unsigned long long seed, float *logits);

/* Arithmetic of the inference path, as whisper.cpp offers f16 weights.
 *  FP32: exact (PyTorch parity to ~1e-5); the default everywhere.
 *  BF16: opt-in, weights and the activations fed to matrix products rounded to
 *        bfloat16 (products summed in fp32; LSTM cell state and gate functions
 *        stay fp32), run with AVX512_BF16 instructions. Logits move by up to a
 *        few hundredths (tests/test_bf16.c states the tolerance). On CPUs
 *        without avx512_bf16, or with the environment variable A2M_FORCE_FP32
 *        set (non-empty, not "0"), a BF16 request runs the FP32 path. */
typedef enum a2m_precision { A2M_PRECISION_FP32 = 0, A2M_PRECISION_BF16 = 1 } a2m_precision;
/* "fp32" / "bf16" */
const char *a2m_precision_name(a2m_precision p);
/* 0 and *p set for "fp32" or "bf16"; -1 for anything else */
int a2m_precision_parse(const char *s, a2m_precision *p);
/* 1 if runners asked for p run it on this machine (BF16: CPU support and no A2M_FORCE_FP32) */
int a2m_precision_available(a2m_precision p);

/* A runner's shape and arithmetic (from a2m_runner_default_params()). */
typedef struct a2m_runner_params {
    int max_batch;           /* 1: sequences per forward call */
    int max_frames;          /* 666: frames per sequence (a 4 s take) */
    a2m_precision precision; /* A2M_PRECISION_FP32; BF16 falls back to FP32 when unavailable (or for
                              * architectures/shapes without a BF16 path): a2m_runner_precision tells which runs */
    int n_threads;           /* 1: threads of the training forward's OpenMP parts (runners without an inference path) */
    double mc_dropout;       /* 0: off; p in (0, 1): Monte-Carlo dropout (FP32, the training forward without its
                              * batch statistics): dropout before the output layer stays on at probability p (the
                              * model's info.dropout is what it was trained with); precision is then ignored */
    unsigned long long mc_seed; /* the masks of the k-th forward call come from (mc_seed, k), so the same seed and
                              * calls give the same outputs */
} a2m_runner_params;
a2m_runner_params a2m_runner_default_params(void);

/* Buffers for batches of up to p.max_batch sequences of up to p.max_frames frames. */
int a2m_runner_new(const a2m_model *m, a2m_runner_params p, a2m_runner **out);
void a2m_runner_del(a2m_runner *r);
a2m_precision a2m_runner_precision(const a2m_runner *r);
/* x: [B x T x n_bins] normalised features; logits: [B x T x n_classes]. */
int a2m_runner_forward(a2m_runner *r, const float *x, int B, int T, float *logits);

/* What `a2m import` gives a plain PyTorch state dict, each checked against the limits a2m_model_load applies to
 * a file's metadata (otherwise A2M_ERR_RANGE, the model unchanged):
 * the input normalisation (dB - mean) / std, mean in [-1000, 1000], std in [1e-6, 1000] (the model can then run
 * on audio: a2m_model_check_for_audio); */
int a2m_model_set_norm(a2m_model *m, double mean, double std);
/* the MIDI notes of classes 1.. (notes NULL keeps them; else n_notes + 1 == n_classes, or A2M_ERR_SHAPE; each in
 * A2M_CLASS_ABOVE..127) and the semitones the dataset's MIDI was shifted by (-127..127); */
int a2m_model_set_classes(a2m_model *m, const int *notes, int n_notes, int transpose);
/* the summary text (shorter than a2m_model_info.summary). */
int a2m_model_set_summary(a2m_model *m, const char *summary);
/* Temperature scaling: stored in the model's info (and its file's metadata when saved); t in [0.01, 100]. */
int a2m_model_set_temperature(a2m_model *m, double t);

/* The per-frame features the network's output layer reads (crnn: the BiLSTM output, [T x 2 hidden]) for one
 * sequence x [T x n_bins] of normalised features, by the training forward (exact fp32). *dim: their size;
 * out NULL asks only that. A2M_ERR_UNSUPPORTED for architectures without them (unet). */
int a2m_model_hidden(const a2m_model *m, const float *x, int T, int n_threads, float *out, int *dim);

#ifdef __cplusplus
}
#endif
#endif
