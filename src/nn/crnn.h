/* The CRNN's tensors (crnn.c's table, in this order) bound into typed pointers: crnn.c's forward and backward,
 * and the inference packers (crnn_infer.c, infer_bf16.c) read them through crnn_bind. */
#ifndef A2M_NN_CRNN_H
#define A2M_NN_CRNN_H

#include "nn/arch.h"

enum crnn_tensor {
    CRNN_CONV0_W,
    CRNN_CONV0_B,
    CRNN_CONV2_W,
    CRNN_CONV2_B,
    CRNN_LSTM, /* eight: nn_bilstm_bind's order */
    CRNN_FC_W = CRNN_LSTM + 8,
    CRNN_FC_B,
    CRNN_N_TENSORS
};

typedef struct crnn_tensors {
    float *conv0_w, *conv0_b; /* [64 x F x 3], [64] */
    float *conv2_w, *conv2_b; /* [128 x 64 x 3], [128] */
    nn_bilstm_tensors lstm;   /* 128 inputs, H hidden */
    float *fc_w, *fc_b;       /* [C x 2H], [C]: a row a class, an onset-head model's onset column among them */
} crnn_tensors;

/* m's CRNN tensors inside base (m->params, a copy of them, or gradients at the same offsets). */
crnn_tensors crnn_bind(const a2m_model *m, const float *base);

#endif
