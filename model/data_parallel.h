/* Data-parallel training of one model over the ranks of a job (scnn train --data-parallel).
 *
 * Every batch of n images is SCNN_DP_CHUNKS fixed chunks (chunk c: images [c*n/C, (c+1)*n/C));
 * rank r of R computes the chunks scnn_dist_share gives it. What crosses images is summed per
 * chunk and the chunk sums are gathered by every rank and added in chunk order: the batch norms'
 * sums (forward: sum x, then sum (x-mean)^2; backward: sum dy, sum dy*xhat, in double), the loss,
 * and every conv and dense weight gradient (a chunk's partial gradient, in float). So the
 * arithmetic is the same for any R, one process included, and every rank ends the step with the
 * same weights: bitwise, with the same backend and thread count. It is not the arithmetic of a
 * plain step (one pass over the batch, the backend's own batch norm and summation order), which
 * is why run.conf records data_parallel=1.
 *
 * Dropout masks are keyed per chunk (seed, layer, step * SCNN_DP_CHUNKS + chunk). Evaluation
 * gives each rank a contiguous block of the batches that a single process would run (the same
 * batch boundaries, so the same probabilities) and gathers the probabilities. */
#ifndef SCNN_MODEL_DATA_PARALLEL_H
#define SCNN_MODEL_DATA_PARALLEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scnn.h"

typedef struct scnn_dp scnn_dp;

/* The chunk buffers for model m (SCNN_DP_CHUNKS partial gradients: about 40 MB). */
scnn_status scnn_dp_create(scnn_dp **out, scnn_model *m);
void scnn_dp_free(scnn_dp *d);
/* One training step on the batch (every rank passes the whole batch and uses its chunks):
 * returns the batch's mean loss, NaN where any chunk's outputs were not finite; *correct: the
 * batch's correct predictions. Ends with the Adam update, as scnn_model_train_batch does. */
float scnn_dp_train_batch(scnn_dp *d, const uint8_t *images, const uint8_t *labels, int n,
                          int *correct);
/* scnn_model_evaluate over the ranks: loss and accuracy from the gathered probabilities (the
 * mean of -log p, clipped as Keras does); probs (n x 10) may be NULL. */
scnn_status scnn_dp_evaluate(scnn_dp *d, const uint8_t *images, const uint8_t *labels, size_t n,
                             double *loss, double *acc, float *probs);

#endif
