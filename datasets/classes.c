/* Class names of the data sets, in label order. */
#include <string.h>

#include "scnn.h"

static const char *const fashion_mnist[SCNN_CLASSES + 1] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot", NULL,
};

static const char *const mnist[SCNN_CLASSES + 1] = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", NULL,
};

/* SCNN_CLASSES names followed by NULL, or NULL for an unknown data set. */
const char *const *scnn_class_names(const char *dataset)
{
    if (!dataset)
        return NULL;
    if (strcmp(dataset, "fashion_mnist") == 0)
        return fashion_mnist;
    if (strcmp(dataset, "mnist") == 0)
        return mnist;
    return NULL;
}
