/* Architectures: each model file (crnn.c, ...) fills one a2m_arch and lists
 * it in arch.c's table. The machinery (parameters in one allocation, file
 * I/O, runners, training) is shared; an architecture only says which tensors
 * it has and how to run forward and backward over them. */
#ifndef A2M_NN_ARCH_H
#define A2M_NN_ARCH_H

#include <stddef.h>

#include "a2m/model.h"
#include "nn/layers.h"

#define A2M_MAX_TENSORS 64

typedef struct nn_tensor {
    char name[64];
    int ndim;
    int shape[4];
    size_t offset; /* floats into the parameter array */
    size_t count;
    int buffer; /* 1 = not trained by the optimiser (BatchNorm running statistics) */
} nn_tensor;

struct a2m_model {
    a2m_model_info info;
    const struct a2m_arch *arch;
    nn_tensor tensors[A2M_MAX_TENSORS];
    int n_tensors;
    float *params; /* [n_params] one allocation */
    size_t n_params;
    int has_norm; /* normalisation known: created with it, or norm_mean/norm_std in the file (not a state dict) */
};

/* Activations/scratch for one batch shape, owned by a runner or a trainer. */
typedef struct nn_buffers {
    float *acts;    /* kept from forward for backward */
    float *scratch; /* temporary */
    int max_batch, max_frames;
    /* training forward only: dropout probability and the seed of this batch's masks */
    float dropout;
    unsigned long long seed;
    /* training forward only, or NULL: [B x T] the first frame of each frame's take when a sequence holds
     * several takes back to back (--concat); the transformer attends and counts positions within a take */
    const int *seg;
    /* 1: Monte-Carlo dropout: an inference forward (training 0: BatchNorm running statistics) with dropout active
     * at probability `dropout`, masks from `seed` */
    int mc;
    /* training forward and backward: A2M_PRECISION_BF16 runs the architecture's mixed-precision products where it
     * has them (the transformer) and the CPU has AVX512_BF16; 0 (fp32) otherwise */
    int precision;
    /* 0: one seed's masks over the batch; else sequence b's masks from seed + b x seq_step (dropout_forward_seqs) */
    unsigned long long seq_step;
    /* backward only, or NULL: [B x T x n_bins] the crnn adds the gradient of its input here (a front end's, as
     * harmonic.c's, trains through it) */
    float *dx;
} nn_buffers;

typedef struct a2m_arch {
    const char *name;
    /* Tensor list (names as PyTorch's state dict, shapes) from info's hyperparameters. */
    int (*layout)(const a2m_model_info *info, nn_tensor *t, int max);
    /* Fills hyperparameters of info from a file's tensor shapes; 0 if not this arch. */
    int (*recognise)(const char *const *names, const int (*shapes)[4], const int *ndims, int n, a2m_model_info *info);
    size_t (*act_floats)(const a2m_model *m, int B, int T);
    size_t (*scratch_floats)(const a2m_model *m, int B, int T);
    /* x [B x T x n_bins] -> logits [B x T x n_classes]; lengths [B] or NULL */
    void (*forward)(const a2m_model *m, const float *params, nn_buffers *buf, const float *x, const int *lengths, int B,
                    int T, float *logits, int n_threads, int training);
    /* adds parameter gradients into grads [n_params] from dlogits */
    void (*backward)(const a2m_model *m, const float *params, float *grads, nn_buffers *buf, const float *x,
                     const int *lengths, const float *dlogits, int B, int T, int n_threads);
    /* PyTorch's default initialisation for each tensor */
    void (*init)(const a2m_model *m, float *params, unsigned long long seed);
    /* NULL, or: after a training forward over (B, T), updates the buffer
     * tensors (BatchNorm running statistics) from the batch statistics the
     * forward kept in buf. The forward itself never writes parameters. */
    void (*update_buffers)(const a2m_model *m, float *params, const nn_buffers *buf, int B, int T);
    /* Optional inference-only forward (no gradients; NULL = runners use forward):
     * state with packed weights and buffers for up to max_batch x max_frames,
     * or NULL when the shapes are not supported (runners then use forward).
     * precision: a2m_precision asked for; infer_precision tells what the state runs. */
    void *(*infer_new)(const a2m_model *m, const float *params, int max_batch, int max_frames, int precision);
    int (*infer_precision)(const void *state);
    void (*infer_forward)(void *state, const float *x, const int *lengths, int B, int T, float *logits);
    void (*infer_del)(void *state);
    /* Optional (NULL: none): the per-frame features the output layer reads (crnn: the BiLSTM output) of one
     * sequence x [T x n_bins], into out [T x dim] (buf sized for (1, T)); returns dim, or that alone for out NULL. */
    int (*hidden)(const a2m_model *m, nn_buffers *buf, const float *x, int T, float *out, int n_threads);
} a2m_arch;

/* One row of an architecture's tensor table: PyTorch's state-dict name, shape, 1 for a buffer. The tables are
 * indexed by each architecture's enum of tensors (designated initialisers), which is then the tensor's index in
 * a2m_model.tensors: weights are bound by index, never looked up by name on a pass. */
typedef struct nn_tensor_spec {
    char name[64];
    int ndim;
    int shape[3];
    int buffer;
} nn_tensor_spec;
/* Copies the n rows of spec into t (room for max); returns n, or -1 when they do not fit. */
int nn_layout_table(const nn_tensor_spec *spec, int n, nn_tensor *t, int max);

/* Tensor i of m (its table index) inside base: the parameters, or the gradients at the same offsets. One bound
 * struct type serves both, as llm.c's ParameterTensors; forward passes only read through it. */
static inline float *nn_at(const a2m_model *m, const float *base, int i) {
    return (float *)base + m->tensors[i].offset;
}

/* A BiLSTM's eight tensors, PyTorch's order from table index first: weight_ih_l0 [4H x In], weight_hh_l0
 * [4H x H], bias_ih_l0 [4H], bias_hh_l0 [4H], then the same _reverse; [0] forward, [1] reverse. */
typedef struct nn_bilstm_tensors {
    float *w_ih[2], *w_hh[2], *b_ih[2], *b_hh[2];
} nn_bilstm_tensors;
void nn_bilstm_table(nn_tensor_spec *spec, int first, int In, int H);
nn_bilstm_tensors nn_bilstm_bind(const a2m_model *m, const float *base, int first);
void nn_bilstm_weights(const nn_bilstm_tensors *t, lstm_weights w[2]);
void nn_bilstm_grads(const nn_bilstm_tensors *t, lstm_grads g[2]);

const a2m_arch *nn_arch_find(const char *name);
/* For recognise(): the shape of tensor `want` with nd dimensions among a file's tensors; 1 if found. */
int nn_find_shape(const char *const *names, const int (*shapes)[4], const int *ndims, int n, const char *want, int nd,
                  int out[4]);
/* Builds an empty (zero) model of arch from info; tensors laid out. */
int nn_model_create(const char *arch, const a2m_model_info *info, a2m_model **out);
const nn_tensor *nn_model_tensor(const a2m_model *m, const char *name);
/* Saves m with its metadata; params may differ from m->params (e.g. the best epoch's). */
int nn_model_save(const a2m_model *m, const float *params, const char *path);
a2m_model_info nn_model_default_info(void);
/* The index of info's onset class (class_notes A2M_CLASS_ONSET), or -1. */
int nn_onset_class(const a2m_model_info *info);

/* Deterministic uniform random numbers for initialisation and shuffling. */
typedef struct nn_rng {
    unsigned long long s;
} nn_rng;
unsigned long long nn_rng_next(nn_rng *r);
double nn_rng_uniform(nn_rng *r); /* [0, 1) */

extern const a2m_arch nn_arch_crnn;
extern const a2m_arch nn_arch_unet;
extern const a2m_arch nn_arch_transformer;
extern const a2m_arch nn_arch_two_stage; /* two_stage.c: a voicing crnn and a pitch crnn */
extern const a2m_arch nn_arch_harmonic;  /* harmonic.c: harmonic stacking and a convolution along frequency, a crnn */

/* A Monte-Carlo dropout runner's sequences from now on draw their masks per sequence: sequence b of its next forward
 * those of call `calls` + b of a runner made with mc_seed seed run on it alone, whatever the batch (the transcriber's
 * passes share one runner per model; a pass's window k draws call k's masks). */
void nn_runner_mc_seek(a2m_runner *r, unsigned long long seed, unsigned long long calls);

#endif
