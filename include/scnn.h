/* SCNN public API: status codes, data sets, the model, checkpoints, training, reports.
 * The library's internals are in internal headers: core/core.h (support code),
 * model/model_internal.h, kernels/... */
#ifndef SCNN_H
#define SCNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define SCNN_IMG_H 28
#define SCNN_IMG_W 28
#define SCNN_PIXELS (SCNN_IMG_H * SCNN_IMG_W)
#define SCNN_CLASSES 10

/* ---- status and errors ------------------------------------------------------------------- */

typedef enum scnn_status {
    SCNN_OK = 0,
    SCNN_ERR_IO,          /* open/read/write failed */
    SCNN_ERR_FORMAT,      /* a file is malformed (bad magic, truncated, inconsistent) */
    SCNN_ERR_CHECKSUM,    /* checksum mismatch: the file is corrupt */
    SCNN_ERR_VERSION,     /* a format version this build cannot read */
    SCNN_ERR_SHAPE,       /* dimensions do not match what was expected */
    SCNN_ERR_NOMEM,
    SCNN_ERR_ARG,         /* bad argument or option */
    SCNN_ERR_BACKEND,     /* unknown or unavailable backend */
} scnn_status;

const char *scnn_status_name(scnn_status s);
/* Functions that return a status other than SCNN_OK leave a one-line message here
 * (thread-local; the last failure wins). */
const char *scnn_last_error(void);

/* ---- data sets (datasets/) ------------------------------------------------------------------ */

typedef struct scnn_dataset {
    size_t n;             /* number of images */
    int rows, cols;       /* 28, 28 */
    uint8_t *images;      /* [n, rows*cols], 0..255 */
    uint8_t *labels;      /* [n], 0..9 */
} scnn_dataset;

/* Reads an IDX image file and its label file (plain or gzip). Validates magic, type, rank,
 * dimensions (28x28), counts, exact length and labels 0..9 before trusting anything. */
scnn_status scnn_idx_load(scnn_dataset *ds, const char *images_path, const char *labels_path);
/* THE data-set loader (datasets/dataset.c): part "train" or "t10k" from dir, which is either an
 * IDX folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], or the seed's PNG tree
 * (scnn_png.h: a root holding train/<dataset>/ and test/<dataset>/, or a class-folder tree
 * ROOT/train/<name>); dataset (may be NULL) picks the subfolder of a root holding several. */
scnn_status scnn_dataset_load(scnn_dataset *ds, const char *dir, const char *dataset,
                              const char *part);
/* scnn_dataset_load(ds, dir, NULL, part) */
scnn_status scnn_dataset_load_dir(scnn_dataset *ds, const char *dir, const char *part);
/* The first n images of "train" or "t10k" in dir (all of them if there are fewer), reading no
 * more of an IDX file than that: a measurement's peak memory stays the model's. */
scnn_status scnn_dataset_load_first(scnn_dataset *ds, const char *dir, const char *part,
                                    size_t n);
/* The directory of a named data set: $SCNN_DATA/idx/<name> or data/idx/<name>. */
void scnn_dataset_dir(char *buf, size_t len, const char *name);
void scnn_dataset_free(scnn_dataset *ds);
/* Class names of a data set ("fashion_mnist" or "mnist"). */
const char *const *scnn_class_names(const char *dataset);

/* ---- the model (model/) --------------------------------------------------------------------- */

typedef struct scnn_param {
    const char *name;     /* Keras-like: "conv2d/kernel", "batch_normalization/moving_mean" */
    int rank;
    int dims[4];
    size_t size;
    bool trainable;
    float *w;             /* value */
    float *g;             /* gradient (trainable only) */
    float *m, *v;         /* Adam moments (trainable only) */
} scnn_param;

typedef struct scnn_model scnn_model;

/* A model for batches of at most max_batch images, its weights initialised from seed (Glorot
 * uniform kernels, zero biases, BatchNorm gamma 1, beta 0, moving mean 0, variance 1), running
 * its kernels on backend be. Workspaces are allocated here, once. */
scnn_status scnn_model_create(scnn_model **out, int max_batch, const scnn_backend *be,
                              uint64_t seed);
void scnn_model_free(scnn_model *m);
int scnn_model_param_count(const scnn_model *m);
scnn_param *scnn_model_param(scnn_model *m, int i);
scnn_param *scnn_model_param_by_name(scnn_model *m, const char *name);
size_t scnn_model_num_weights(const scnn_model *m, bool trainable);
/* Writes the Keras-like summary table (layer, output shape, params, totals). */
void scnn_model_summary(const scnn_model *m, void *file /* FILE* */);
/* Training step counter (Adam's t; keys the dropout masks). */
uint64_t scnn_model_step(const scnn_model *m);
void scnn_model_set_step(scnn_model *m, uint64_t step);
/* Name of the backend the model runs on. */
const char *scnn_model_backend_name(const scnn_model *m);
/* Dropout on (default) or off in training mode (the golden test turns it off). */
void scnn_model_set_dropout(scnn_model *m, bool on);

/* Per-phase wall time ("fwd conv2d_1", "bwd conv2d_1 filter", "adam", ...), accumulated over
 * calls while profiling is on; turning it on or off resets the figures. */
#define SCNN_PROFILE_MAX 40
void scnn_model_profile(scnn_model *m, bool on);
int scnn_model_profile_read(const scnn_model *m, const char **names, double *seconds, int max);

/* x [n,28,28,1] in [0,1] -> logits [n,10]. training: batch statistics (updating the running
 * ones) and dropout; otherwise running statistics and no dropout. */
void scnn_model_forward(scnn_model *m, const float *x, int n, bool training, float *logits);
/* After a training forward on the same batch: loss (clipped, as Keras reports) and every
 * trainable parameter's gradient; probs [n,10] may be NULL. */
float scnn_model_backward(scnn_model *m, const uint8_t *labels, float *probs);
/* One Adam step (lr 1e-3, beta 0.9/0.999, eps 1e-7) with the gradients; increments the step. */
void scnn_model_adam(scnn_model *m);
/* Convenience: uint8 images -> floats, forward (training), backward, Adam. Returns the loss;
 * *correct gets the number of right predictions in the batch. */
float scnn_model_train_batch(scnn_model *m, const uint8_t *images, const uint8_t *labels, int n,
                             int *correct);
/* Inference over a whole set in batches: mean loss, accuracy, and (optional) predictions [n]
 * and probabilities [n,10]. */
void scnn_model_evaluate(scnn_model *m, const uint8_t *images, const uint8_t *labels, size_t n,
                         double *loss, double *acc, uint8_t *pred, float *probs);
/* uint8 [n*784] -> float [n*784] scaled by 1/255 */
void scnn_images_to_float(const uint8_t *src, size_t count, float *dst);

/* ---- checkpoints (model/checkpoint.c) -------------------------------------------------------- */

/* Metadata stored beside the weights. Strings are NUL-terminated, at most 255 bytes. */
typedef struct scnn_ckpt_meta {
    char dataset[64];
    char protocol[32];
    char backend[32];
    char git_rev[64];
    char data_sha256[65];
    uint64_t seed;
    int32_t epoch;        /* epoch the weights are from (1-based; 0: untrained) */
    int32_t iteration;
    uint64_t step;        /* optimiser steps taken */
    double val_loss, val_acc;
    /* Save: write only the weights and BatchNorm statistics, without the Adam moments and the
     * optimiser step (about a third of the size: for shipping and inference). Load: the file
     * was such a one. */
    bool weights_only;
} scnn_ckpt_meta;

/* Atomic: writes path.tmp, fsyncs, renames over path. A full checkpoint unless
 * meta->weights_only. */
scnn_status scnn_checkpoint_save(const char *path, scnn_model *m, const scnn_ckpt_meta *meta);
/* Validates everything (magic, version, length, checksum, layer/shape table) before it changes
 * the model; on failure the model is untouched. meta may be NULL. Reads full and weights-only
 * checkpoints (format versions 1 and 2); a weights-only one sets the Adam moments and the
 * optimiser step to zero. */
scnn_status scnn_checkpoint_load(const char *path, scnn_model *m, scnn_ckpt_meta *meta);
/* The same for a whole checkpoint file in memory; name is for messages (NULL: "checkpoint"). */
scnn_status scnn_checkpoint_load_mem(const void *data, size_t len, const char *name,
                                     scnn_model *m, scnn_ckpt_meta *meta);
/* The same for resuming training: a weights-only checkpoint is refused (SCNN_ERR_FORMAT, one
 * line saying so) and the model left untouched. */
scnn_status scnn_checkpoint_load_state(const char *path, scnn_model *m, scnn_ckpt_meta *meta);

/* ---- ensembles (model/ensemble.c) ------------------------------------------------------------ */

/* The checkpoints a path stands for: a file itself; a folder every *.ckpt in it and the
 * best.ckpt of each of its subfolders (a run folder, models/<dataset>/), sorted by path, at
 * most 256.
 * A folder without any is SCNN_ERR_IO. Free with scnn_ensemble_paths_free. */
scnn_status scnn_ensemble_paths(const char *path, char ***paths, int *count);
void scnn_ensemble_paths_free(char **paths, int count);

/* Several checkpoints of one data set, whose probabilities are averaged (the seed's ensemble). */
typedef struct scnn_ensemble scnn_ensemble;
/* Loads the checkpoints of path (as scnn_ensemble_paths lists them; full or weights-only) into
 * one model for batches of max_batch on backend be. dataset (may be NULL) is the data set the
 * caller needs: a checkpoint of another one, or members of different ones, is SCNN_ERR_ARG
 * (checkpoints without a known data set are taken as any). */
scnn_status scnn_ensemble_open(scnn_ensemble **e, const char *path, const char *dataset,
                               int max_batch, const scnn_backend *be);
void scnn_ensemble_free(scnn_ensemble *e);
int scnn_ensemble_size(const scnn_ensemble *e);
const char *scnn_ensemble_path(const scnn_ensemble *e, int i);
const scnn_ckpt_meta *scnn_ensemble_meta(const scnn_ensemble *e, int i);
/* The data set asked for, else the first member's known one, else NULL. */
const char *scnn_ensemble_dataset(const scnn_ensemble *e);
/* Member i alone, as scnn_model_evaluate (labels may be NULL: then no loss or accuracy). */
void scnn_ensemble_member_evaluate(scnn_ensemble *e, int i, const uint8_t *images,
                                   const uint8_t *labels, size_t n, double *loss, double *acc,
                                   uint8_t *pred, float *probs);
/* probs [n,10] = the mean of the members' probabilities (one member: its own, bit for bit). */
scnn_status scnn_ensemble_probs(scnn_ensemble *e, const uint8_t *images, size_t n, float *probs);
/* out[j] = the mean of members[0..k)[j] (summed in double, in member order), j < count. */
void scnn_probs_mean(float *out, const float *const *members, int k, size_t count);
/* order = the classes by probability p[10], most likely first (ties: the lower class first). */
void scnn_probs_order(const float *p, int order[SCNN_CLASSES]);
/* Argmax predictions (ties to the lower class) of probabilities [n,10]; with labels (may be
 * NULL) the loss (probabilities clipped to [1e-7, 1 - 1e-7], as Keras's) and accuracy. */
void scnn_probs_score(const float *probs, const uint8_t *labels, size_t n, double *loss,
                      double *acc, uint8_t *pred);

/* ---- training and evaluation (model/train.c, model/metrics.c) ------------------------------ */

typedef struct scnn_train_opts {
    const char *dataset;          /* "fashion_mnist" (default) or "mnist" */
    const char *data_dir;         /* IDX folder; NULL: scnn_dataset_dir(dataset) */
    int epochs;                   /* 80 */
    int batch;                    /* 250 */
    size_t limit;                 /* first N training originals (0: all) */
    size_t test_limit;            /* first N test images (0: all) */
    double val_split;             /* 0.2 */
    uint64_t seed;                /* 1; iteration k uses seed + k */
    int iterations;               /* models to train (0: 5 for fashion_mnist, 1 for mnist) */
    int augment;                  /* augmented copies per training image (2) */
    const char *protocol;         /* "clean" (default) or "seed" (SPEC.md section 3) */
    const char *select;           /* checkpoint rule: "val_loss" (default) or "val_acc" */
    int patience;                 /* stop after P epochs without improvement (0: never) */
    const char *out_dir;          /* run directory */
    const scnn_backend *backend;
    bool progress;                /* live progress bar (stdout is a terminal) */
    /* Under several ranks (mpirun): train each model over all of them, every batch split into
     * SCNN_DP_CHUNKS fixed chunks, instead of one model per rank; the weights do not depend on
     * the rank count (one process with it gives the same). The default under several ranks when
     * one model is trained. */
    bool data_parallel;
} scnn_train_opts;

/* The chunks of a data-parallel batch: at most this many ranks. */
#define SCNN_DP_CHUNKS 20
#define SCNN_DP_TOO_MANY                                                                          \
    "data-parallel training splits every batch into %d chunks: at most %d ranks, not %d (or "    \
    "train several models: --iterations N without --data-parallel puts one on each rank)"
/* Whether a run of these options over `ranks` processes is data-parallel: asked for, or the
 * default for one model over several ranks. */
bool scnn_train_is_data_parallel(const scnn_train_opts *o, int ranks);

/* The largest values the options take (the CLI refuses larger ones). */
#define SCNN_MAX_EPOCHS 100000
#define SCNN_MAX_BATCH 100000
#define SCNN_MAX_IMAGES 100000000

void scnn_train_opts_default(scnn_train_opts *o);
/* SCNN_OK when every option is in range (val_split in (0, 0.9]: there is always a validation
 * set); otherwise SCNN_ERR_ARG and a message naming the option. scnn_train_run checks. */
scnn_status scnn_train_opts_check(const scnn_train_opts *o);
/* Runs the protocol: for each iteration k, out_dir/iter-k/{history.csv,best.ckpt,result.txt};
 * then out_dir/summary.json and a printed summary (per model, mean and standard deviation,
 * ensemble). The options are saved in out_dir/run.conf; state after every epoch makes the run
 * resumable. */
scnn_status scnn_train_run(const scnn_train_opts *o);
/* Continues the run in dir (killed or finished) with its saved options, byte-identical to an
 * uninterrupted run; backend may differ from the original (a warning is printed). */
scnn_status scnn_train_resume(const char *dir, const scnn_backend *backend, bool progress);

/* Confusion matrix and per-class scores. */
typedef struct scnn_class_report {
    uint32_t confusion[SCNN_CLASSES][SCNN_CLASSES];  /* [true][predicted] */
    double precision[SCNN_CLASSES], recall[SCNN_CLASSES], f1[SCNN_CLASSES];
    uint32_t support[SCNN_CLASSES];
    double accuracy, macro_f1, weighted_f1;
} scnn_class_report;
void scnn_class_report_compute(scnn_class_report *r, const uint8_t *labels, const uint8_t *pred,
                               size_t n);
/* Mean and population standard deviation (as numpy's std()) of x[0..n); 0 and 0 for n == 0. */
void scnn_mean_std(const double *x, int n, double *mean, double *sd);
/* Prints the confusion matrix and a scikit-learn-like classification report. */
void scnn_class_report_print(const scnn_class_report *r, const char *const *class_names,
                             void *file /* FILE* */);

/* ---- augmentation (datasets/augment.c) ------------------------------------------------------- */

/* The seed's augmentation (SPEC.md section 2): Keras 2's ImageDataGenerator(rotation_range=10,
 * horizontal_flip=True, fill_mode='nearest'), i.e. keras_preprocessing 1.1 on float32 images,
 * with its scipy arithmetic reproduced step for step (tests/golden/augment_golden.py).
 * Conventions, all Keras's: output pixel (r, c) samples the input at R (p - o) + o, with
 * R = [[cos, -sin], [sin, cos]] in (row, col) coordinates, so a positive angle turns the picture
 * clockwise as displayed; the centre o is Keras's (rows/2 + 0.5, cols/2 + 0.5), which is (14.5,
 * 14.5) for 28x28 (the geometric centre is 13.5: Keras's off-by-one, kept on purpose; Keras 3's
 * legacy copy turns about 13.5 and the other way, a sub-pixel shift over +-10 degrees); bilinear
 * (order 1); coordinates outside the image are clamped to it ('nearest'); the horizontal flip
 * comes after the rotation; the float result is stored as floor(x + 0.5) of its float32 value. */

/* dst [rows, cols] = flip(rotate(src, angle_deg)); src and dst must not overlap. angle_deg must
 * be finite (a non-finite angle copies src unchanged); 0 skips the rotation, as Keras does. */
void scnn_augment_image(const uint8_t *src, uint8_t *dst, int rows, int cols, double angle_deg,
                        bool flip);
/* The transform of copy `copy` (1-based) of image `index`: an angle uniform in [-10, 10) and a
 * flip with probability 1/2, from two independent counter-based draws keyed (seed,
 * SCNN_RNG_AUGMENT, copy, 2*index) and (..., 2*index + 1): independent of the order of work. */
void scnn_augment_draw(uint64_t seed, size_t index, int copy, double *angle_deg, bool *flip);
/* out = in's n images, then copy 1 of every image, then copy 2, ... (n * (1 + copies) images,
 * bytes); image k of block j >= 1 is copy j of in's image k, with its label. *out is allocated
 * here (free with scnn_dataset_free) and left empty on failure. */
scnn_status scnn_augment_dataset(scnn_dataset *out, const scnn_dataset *in, int copies,
                                 uint64_t seed);

/* ---- report (report/; `scnn train` calls it after training) ---------------------------------------------------------------- */

/* Writes a report of the training run in dir into out_dir (NULL: dir/report): report.md (results,
 * settings, per-model table, the seed's published figures, per-class scores), per_class.csv,
 * confusion.csv, and, drawn by gnuplot from .gp/.dat files kept beside them, accuracy.png,
 * loss.png, train_vs_val.png, confusion.png, examples.png, confused_pair.png. compare_dir (may be
 * NULL) is another run whose mean curves are overlaid and whose figures are set beside. A missing
 * or malformed file of a run is an error naming it; an unfinished iteration is reported from its
 * history.csv. Without gnuplot ($SCNN_GNUPLOT, else gnuplot on PATH; SCNN_GNUPLOT="" means none),
 * everything but the PNGs is written, a warning printed on stderr, and SCNN_OK returned. */
scnn_status scnn_report(const char *dir, const char *compare_dir, const char *out_dir);

#endif
