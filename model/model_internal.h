/* The model's state, for the model's own files and white-box tests. */
#ifndef SCNN_MODEL_INTERNAL_H
#define SCNN_MODEL_INTERNAL_H

#include "scnn.h"

#define SCNN_MODEL_PARAMS 18

struct scnn_model {
    scnn_backend be;              /* resolved: no NULL ops */
    const char *backend_name;
    int max_batch;
    uint64_t seed;
    uint64_t step;                /* Adam's t; keys the dropout masks */
    bool dropout;                 /* dropout in training mode */
    scnn_param params[SCNN_MODEL_PARAMS];
    scnn_conv2d conv1, conv2;

    /* The last forward pass: batch size, mode. */
    int n;
    bool training, dropped;

    /* Activations [max_batch, ...] and masks. */
    float *x0, *y0;               /* input, after BatchNorm [n,28,28,1] */
    float *y1, *p1, *a1;          /* conv1+relu [n,28,28,64], pooled, dropped [n,14,14,64] */
    float *y2, *p2, *a2;          /* conv2+relu [n,11,11,64], pooled, dropped [n,1600] */
    float *h1, *a3;               /* dense+relu, dropped [n,256] */
    float *h2, *h2n;              /* dense_1+relu, BatchNorm [n,64] */
    float *logits, *probs;        /* [n,10] */
    float *mask1, *mask2, *mask3;
    uint8_t *idx1, *idx2;         /* max-pool winners */
    float bn0_mean[1], bn0_invstd[1], bn1_mean[64], bn1_invstd[64];

    /* Gradients of the activations. */
    float *dlogits, *dh2n, *dh2, *da3, *dh1, *da2, *dp2, *dy2, *da1, *dp1, *dy1, *dy0, *dx0;

    /* Profiling (scnn_model_profile): wall seconds per named phase. */
    bool profiling;
    int prof_n;
    const char *prof_name[SCNN_PROFILE_MAX];
    double prof_sec[SCNN_PROFILE_MAX];
    double prof_t;

    void *ws;                     /* convolution workspace, sized once */
    size_t ws_bytes;
};

/* The training step's passes over images [i0, i0 + n) of the batch (model/model.c): the
 * features (y0 -> h2: everything between the two batch norms, dropout masks keyed by ctr), the
 * head (h2n -> logits), and their backward passes (dlogits -> dh2n; dh2 -> dy0), which write
 * the weight gradients of the conv and dense layers to g[param index]. scnn_model_forward and
 * scnn_model_backward run each once over the whole batch; model/data_parallel.c once per chunk,
 * with the batch norms' sums gathered between them. m->n, m->training and m->dropped are the
 * caller's. */
void scnn_model_pass_features(scnn_model *m, int i0, int n, uint64_t ctr);
void scnn_model_pass_head(scnn_model *m, int i0, int n);
void scnn_model_pass_head_back(scnn_model *m, int i0, int n, float *const *g);
void scnn_model_pass_features_back(scnn_model *m, int i0, int n, float *const *g);

/* One of the two batch norms (which: 0 the input's, 1 dense_1's): its rows are
 * rows_per_image x images of c channels, channel-last. */
typedef struct scnn_model_bn {
    float *x, *y, *dy, *dx;
    int rows_per_image, c;
    int gamma, beta, run_mean, run_var;   /* param indices */
    float *mean, *invstd;                 /* the batch statistics, for the backward pass */
    bool unbiased_var;                    /* of the running variance */
    float eps, momentum;
} scnn_model_bn;
scnn_model_bn scnn_model_batchnorm(scnn_model *m, int which);

/* Correct predictions of scores [n,10] (pred: the predicted classes, or NULL). */
int scnn_model_count_correct(const float *scores, const uint8_t *labels, int n, uint8_t *pred);

#endif
