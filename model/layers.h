/* The seed's network as one table (SPEC.md section 1): each layer's Keras name (which names its
 * parameters, its profile phases and its summary row), its Keras class, the per-operation
 * benchmark's row for it, and its output shape per image. model/model.c sizes its buffers and
 * calls the kernels from this table; bench/ and tests/ take shapes and names from it instead of
 * repeating 784, 28, 64, 14, 11, 1600, 256, 10 or "conv2d_1". Internal to the library. */
#ifndef SCNN_MODEL_LAYERS_H
#define SCNN_MODEL_LAYERS_H

#include <stdbool.h>
#include <stddef.h>

enum scnn_layer_id {
    SCNN_L_INPUT,     /* 28x28x1, scaled to [0,1] */
    SCNN_L_BN0,       /* BatchNorm over the input channel */
    SCNN_L_CONV1,     /* Conv 64 4x4 same + ReLU */
    SCNN_L_POOL1,     /* MaxPool 2x2 */
    SCNN_L_DROP1,     /* Dropout 0.1 */
    SCNN_L_CONV2,     /* Conv 64 4x4 valid + ReLU */
    SCNN_L_POOL2,     /* MaxPool 2x2 (floor) */
    SCNN_L_DROP2,     /* Dropout 0.3 */
    SCNN_L_FLATTEN,   /* h, w, c order */
    SCNN_L_DENSE1,    /* Dense 256 + ReLU */
    SCNN_L_DROP3,     /* Dropout 0.5 */
    SCNN_L_DENSE2,    /* Dense 64 + ReLU */
    SCNN_L_BN1,       /* BatchNorm over 64 features */
    SCNN_L_DENSE3,    /* Dense 10 (softmax in the loss) */
    SCNN_LAYERS
};

typedef struct scnn_layer {
    const char *name;   /* Keras's: "conv2d_1"; its parameters are "conv2d_1/kernel", ... */
    const char *type;   /* Keras's class: "Conv2D" (the summary) */
    const char *bench;  /* the per-operation benchmark's row: "conv2"; NULL when none */
    int h, w, c;        /* output of one image; flat layers have h = w = 1 */
    int k;              /* conv: k x k kernel; pool: k x k window, stride k */
    bool same;          /* conv: "same" padding (TensorFlow's, asymmetric), else "valid" */
    float rate;         /* dropout: the fraction dropped */
} scnn_layer;

extern const scnn_layer scnn_layers[SCNN_LAYERS];

/* Floats of one image's output of layer id (h * w * c). */
static inline size_t scnn_layer_size(int id)
{
    return (size_t)scnn_layers[id].h * (size_t)scnn_layers[id].w * (size_t)scnn_layers[id].c;
}

/* The layer whose name or bench row is name; -1 if none. */
int scnn_layer_find(const char *name);

#endif
