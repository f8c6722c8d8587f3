/* Training a model on a dataset split (see README "Training"). */
#ifndef A2M_TRAIN_H
#define A2M_TRAIN_H

#include <stddef.h>

#include "a2m/dataset.h"
#include "a2m/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct a2m_train_params {
    const char *arch;          /* "crnn" or "unet" */
    int hidden;                /* 128 */
    double lr;                 /* 9.34e-4 */
    int batch;                 /* 8 */
    int epochs;                /* 50 */
    unsigned long long seed;   /* 0 */
    double class_weight_power; /* 0.75: w_c = (N / (C * count_c))^power; 0 = plain cross-entropy */
    double onset_weight;       /* 1: the onset class (datasets made with --onset-frames) weighs this many times more
                                 * in the loss (it is rare: ~3% of frames, and a repeated note's onset is subtle) */
    int onset_head;            /* 0: the onset class is one of the softmax's classes; 1: an onset head of its own
                                 * (sigmoid, binary cross-entropy, positives weighted onset_weight), the softmax keeping
                                 * the note's pitch on onset frames; targets 0.5, 1, 1, 1, 0.5 over frames -1..3 of each
                                 * note start (the starts of the dataset's onset runs: made with --onset-frames) */
    double focal_gamma;        /* 0 = cross-entropy, > 0 = focal loss */
    double label_smoothing;  /* 0 = none; eps: target (1 - eps) on the label, eps / C everywhere (cross-entropy only) */
    int patience;            /* 15 epochs without improvement of the selected metric -> stop */
    int plateau;             /* 5: ReduceLROnPlateau patience (on val loss) */
    double plateau_factor;   /* 0.5 */
    int lr_cosine;           /* 0: the plateau schedule above; 1: cosine annealing, step s of the run's S (epochs x an
                              * epoch's batches) at lr (1 + cos(pi s / S)) / 2, down to ~0 at the last step (PyTorch's
                              * CosineAnnealingLR, eta_min 0, stepped per batch); the plateau schedule off */
    int select_by_loss;      /* 0: keep the best val macro F1; 1: the best val loss */
    int threads;             /* 1: threads of the OpenMP parts (the two LSTM directions). BLAS threads are the
                                 * program's (openblas_set_num_threads in its main; a2m's is 1): the library never
                                 * changes them */
    a2m_precision precision; /* A2M_PRECISION_FP32; BF16: mixed-precision products (bf16 operands, fp32 sums,
                                 * weights, Adam, softmax, norms and loss) where the architecture has them (the
                                 * transformer) and the CPU has avx512_bf16, fp32 otherwise */
    int window;              /* training window in frames; 0 = whole takes */
    int concat;              /* 1: a batch element is one take (or window); N: N of them back to back, so the
                                 * network also learns across take boundaries, as in long recordings */
    double weight_decay;     /* 0 */
    int adamw;               /* 0: Adam (L2 in gradient), 1: AdamW */
    double clip_norm;        /* 0 = no clipping */
    double augment_gain_db;  /* random loudness change of each training sample, +-dB (0 = off) */
    int augment_shift_bins;  /* random pitch shift of each training sample, +-bins (0 = off) */
    int augment_transpose;   /* random transposition of each training sample by up to +-this many semitones,
                                 * labels moved with it (needs consecutive semitone classes; the shift is drawn
                                 * among those that keep every labelled note inside the class range) */
    int augment_mask_frames; /* SpecAugment: one time mask of up to this many frames per sample (0 = off) */
    int augment_mask_bins;   /* SpecAugment: one frequency mask of up to this many bins per sample (0 = off) */
    double ema;              /* 0 = off; d in (0, 1): validate and keep an exponential moving average of the
                                 * weights, w_ema = d w_ema + (1 - d) w after every step (d warmed up as
                                 * min(d, (1 + step) / (10 + step))), instead of the weights themselves */
    const float *soft_targets;   /* distillation: target distributions of every dataset frame [total_frames x classes]
                                 * (e.g. the mean of teacher models' probabilities), or NULL */
    double distill;              /* weight of soft_targets in the target: (1 - w) label (smoothed) + w soft target */
    double dropout;              /* 0.25: dropout probability of architectures with a dropout layer (unet) */
    const char *log_path;        /* per-epoch CSV or NULL */
    const char *checkpoint_path; /* written atomically every epoch, or NULL */
    int resume;                  /* continue from checkpoint_path */
    const a2m_model *init;       /* NULL, or a trained model whose weights and normalisation start the training
                                  * (fine-tuning): same architecture, hidden size, classes and features as the
                                  * dataset's; a resumed run takes the checkpoint's weights instead */
} a2m_train_params;

a2m_train_params a2m_train_default_params(void);
/* A2M_OK when p->init (if any) can start training on d with p: the architecture, hidden size, onset head,
 * classes and features training would give; else A2M_ERR_ARG naming path and what differs. */
int a2m_train_check_init(const a2m_dataset *d, const a2m_train_params *p, const char *path);

typedef struct a2m_train_epoch {
    int epoch, epochs;
    size_t batch, n_batches; /* progress inside the epoch */
    double train_loss, val_loss, val_accuracy, val_f1_macro, lr, seconds;
    int done; /* 1 when the epoch's validation is in */
    int best_epoch;
} a2m_train_epoch;

/* Called after every batch and every epoch; returns 0 to go on, non-zero to stop (as ggml's abort callback):
 * a2m_train then returns A2M_ERR_CANCELLED at once, without a model (the checkpoint of the last finished
 * epoch, when asked for, is there to resume from). */
typedef int (*a2m_train_progress_fn)(void *user, const a2m_train_epoch *e);

typedef struct a2m_train_result {
    int epochs_run, best_epoch;
    double best_val_loss, best_val_f1, best_val_accuracy;
    double seconds_per_epoch;
} a2m_train_result;

/* Trains on dataset takes train_idx, validates on val_idx each epoch, returns
 * the best epoch's model (with metadata: features, normalisation, classes). */
int a2m_train(const a2m_dataset *d, const size_t *train_idx, size_t n_train, const size_t *val_idx, size_t n_val,
              a2m_train_params p, a2m_train_progress_fn progress, void *user, a2m_model **out,
              a2m_train_result *result);

/* Distillation's soft targets (a2m_train_params.soft_targets): the mean of the n_teachers models' (files)
 * class probabilities for every frame of d, *out [total_frames x classes] (the caller frees it). Every teacher
 * must have d's bins, classes and features; a file that is missing or not a model is an error naming it. */
int a2m_train_teacher_targets(const a2m_dataset *d, const char *const *teachers, int n_teachers, int n_threads,
                              float **out);

#ifdef __cplusplus
}
#endif
#endif
