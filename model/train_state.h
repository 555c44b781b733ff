/* The files that make `scnn train` resumable (model/train_state.c), internal to the library:
 * iter-k/state.txt, written after every epoch, and a finished iteration's result.txt and
 * test_probs.f32 as a resumed run reads them back. The other files of the run folder are
 * model/run_folder.h's. */
#ifndef SCNN_TRAIN_STATE_H
#define SCNN_TRAIN_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/run_folder.h"
#include "scnn.h"

/* The resumable state of an iteration after `epoch` epochs. */
typedef struct scnn_train_state {
    int epoch, best_epoch, since_best;
    double best_metric;
    char slot;         /* 'a' or 'b': the slot checkpoint holding this state */
    char ckpt_sha[65]; /* that checkpoint's sha256 */
} scnn_train_state;

/* Writes state.txt (atomically): s and the history h[0..s->epoch) at full precision. */
scnn_status scnn_train_state_write(const char *path, const scnn_train_state *s,
                                   const hist_row *h);
/* state.txt's text: false unless every field is there, consistent and in range (the epoch
 * within max_epochs, the best epoch within the epochs run); h holds max_epochs rows. */
bool scnn_train_state_parse(const char *text, scnn_train_state *s, hist_row *h, int max_epochs);
/* 1: read; 0: there is none (a fresh iteration); -1: malformed (the message is set). */
int scnn_train_state_read(const char *path, scnn_train_state *s, hist_row *h, int max_epochs);

/* Writes DIR/iter-k/test_probs.f32 (n_test x 10 float32), then DIR/iter-k/result.txt. */
scnn_status scnn_iteration_result_write(const char *dir, int k, const scnn_run_result *r,
                                        const float *probs, size_t n_test);
/* A finished iteration's results, which a resumed run skips: 1: read; 0: the iteration has not
 * finished; -1: malformed or from other options (the message is set: a silent retraining would
 * hide it). */
int scnn_iteration_result_read(const char *dir, int k, scnn_run_result *r, float *probs,
                               size_t n_test, int max_epochs);

/* scnn train --resume's readers on texts instead of files (fuzz/, tests; each may be NULL:
 * absent): run.conf, iteration 0's state.txt and result.txt. The report's are
 * scnn_run_parse_texts (model/run_folder.h). */
scnn_status scnn_train_parse_texts(const char *run_conf, const char *state, const char *result);

#endif
