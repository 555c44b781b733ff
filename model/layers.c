/* The layer table: see model/layers.h. */
#include <string.h>

#include "model/layers.h"

const scnn_layer scnn_layers[SCNN_LAYERS] = {
    [SCNN_L_INPUT] = {"input", NULL, NULL, 28, 28, 1, 0, false, 0},
    [SCNN_L_BN0] = {"batch_normalization", "BatchNormalization", "bn0", 28, 28, 1, 0, false, 0},
    [SCNN_L_CONV1] = {"conv2d", "Conv2D", "conv1", 28, 28, 64, 4, true, 0},
    [SCNN_L_POOL1] = {"max_pooling2d", "MaxPooling2D", "pool1", 14, 14, 64, 2, false, 0},
    [SCNN_L_DROP1] = {"dropout", "Dropout", NULL, 14, 14, 64, 0, false, 0.1f},
    [SCNN_L_CONV2] = {"conv2d_1", "Conv2D", "conv2", 11, 11, 64, 4, false, 0},
    [SCNN_L_POOL2] = {"max_pooling2d_1", "MaxPooling2D", "pool2", 5, 5, 64, 2, false, 0},
    [SCNN_L_DROP2] = {"dropout_1", "Dropout", NULL, 5, 5, 64, 0, false, 0.3f},
    [SCNN_L_FLATTEN] = {"flatten", "Flatten", NULL, 1, 1, 1600, 0, false, 0},
    [SCNN_L_DENSE1] = {"dense", "Dense", "dense", 1, 1, 256, 0, false, 0},
    [SCNN_L_DROP3] = {"dropout_2", "Dropout", NULL, 1, 1, 256, 0, false, 0.5f},
    [SCNN_L_DENSE2] = {"dense_1", "Dense", "dense_1", 1, 1, 64, 0, false, 0},
    [SCNN_L_BN1] = {"batch_normalization_1", "BatchNormalization", "bn1", 1, 1, 64, 0, false, 0},
    [SCNN_L_DENSE3] = {"dense_2", "Dense", "dense_2", 1, 1, 10, 0, false, 0},
};

int scnn_layer_find(const char *name)
{
    for (int i = 0; name && i < SCNN_LAYERS; i++)
        if (strcmp(scnn_layers[i].name, name) == 0 ||
            (scnn_layers[i].bench && strcmp(scnn_layers[i].bench, name) == 0))
            return i;
    return -1;
}
