/* libscnn: the public C API (installed as <libscnn.h>; pkg-config scnn). Classify 28x28 8-bit
 * grayscale images with a trained SCNN checkpoint, or with the ensemble of a folder of them
 * (the shipped Fashion-MNIST models included), on a kernel backend chosen by name.
 *
 * Stable within a major version (the soname: libscnn.so.0). Everything is reached through an
 * opaque handle: handles are independent, so several models live in one process, and separate
 * handles may classify concurrently from different threads (one handle is not for two threads
 * at once). Every call that can fail returns a status; scnn_lib_message() gives its one-line
 * message (per thread: the calling thread's last failure). */
#ifndef LIBSCNN_H
#define LIBSCNN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SCNN_API __attribute__((visibility("default")))
#else
#define SCNN_API
#endif

#define SCNN_LIB_IMAGE_SIDE 28
#define SCNN_LIB_CLASSES 10

typedef enum scnn_lib_status {
    SCNN_LIB_OK = 0,
    SCNN_LIB_ERR_IO = 1,        /* a file could not be opened or read */
    SCNN_LIB_ERR_FORMAT = 2,    /* a file is malformed */
    SCNN_LIB_ERR_CHECKSUM = 3,  /* a file is corrupt */
    SCNN_LIB_ERR_VERSION = 4,   /* a checkpoint format this library cannot read */
    SCNN_LIB_ERR_SHAPE = 5,     /* a checkpoint of another model */
    SCNN_LIB_ERR_NOMEM = 6,
    SCNN_LIB_ERR_ARG = 7,       /* a bad argument */
    SCNN_LIB_ERR_BACKEND = 8,   /* an unknown backend, or one this CPU cannot run */
} scnn_lib_status;

typedef struct scnn_classifier scnn_classifier;

/* "0.1.0": the library's version; the same as `scnn --version` and pkg-config's. */
SCNN_API const char *scnn_lib_version(void);
/* The calling thread's last failure as one line ("" if none). */
SCNN_API const char *scnn_lib_message(void);

/* The backends this build knows, in registered order ("naive", "im2col", ...): *count of them;
 * names[i] for i < min(count, max). available[i] (may be NULL) is 1 where this CPU runs it. */
SCNN_API scnn_lib_status scnn_lib_backends(const char **names, int *available, int max,
                                           int *count);

/* Opens a checkpoint file, or the ensemble of a folder (every *.ckpt in it and the best.ckpt
 * of every subfolder; the mean of their probabilities). path NULL: the shipped Fashion-MNIST models,
 * $SCNN_MODELS/fashion_mnist or the installed PREFIX/share/scnn/models/fashion_mnist.
 * backend: a name from scnn_lib_backends, or NULL / "auto" for the fastest available. */
SCNN_API scnn_lib_status scnn_classifier_open(scnn_classifier **out, const char *path,
                                              const char *backend);
SCNN_API void scnn_classifier_close(scnn_classifier *c);
/* The backend it runs on, the number of models, the data set ("fashion_mnist" or "mnist"). */
SCNN_API const char *scnn_classifier_backend(const scnn_classifier *c);
SCNN_API int scnn_classifier_models(const scnn_classifier *c);
SCNN_API const char *scnn_classifier_dataset(const scnn_classifier *c);
/* The name of class 0..9 ("T-shirt/top", ...); NULL outside that range. */
SCNN_API const char *scnn_classifier_class_name(const scnn_classifier *c, int cls);

/* Classifies n images (n * 28 * 28 bytes, row-major, 0 = black; the data sets' light objects
 * on black). probs (may be NULL): [n][10] probabilities. top_class and top_prob (either may be
 * NULL): [n][k] the k most likely classes and their probabilities, most likely first (ties to
 * the lower class), 1 <= k <= 10. */
SCNN_API scnn_lib_status scnn_classify(scnn_classifier *c, const unsigned char *images,
                                       size_t n, float *probs, int k, int *top_class,
                                       float *top_prob);

#ifdef __cplusplus
}
#endif
#endif
