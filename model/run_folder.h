/* The run folder that `scnn train` writes (DIR/run.conf, DIR/summary.json,
 * DIR/iter-k/{history.csv,result.txt,test_probs.f32}), read back whole for the reports. Internal to
 * the library. */
#ifndef SCNN_RUN_FOLDER_H
#define SCNN_RUN_FOLDER_H

#include <stdbool.h>
#include <stddef.h>

#include "scnn.h"

#define SCNN_RUN_PATH 4096

/* DIR/run.conf: the options of the run, "key=value" lines after a comment. */
typedef struct scnn_run_conf {
    char dataset[64], data_dir[2048], protocol[32], select[32], backend[64];
    int epochs, batch, iterations, augment, patience;
    long long limit, test_limit;
    double val_split;
    unsigned long long seed;
    bool complete; /* every key that scnn_run_conf_write writes was there */
} scnn_run_conf;

/* Writes dir/run.conf (atomically) from the options of scnn train. */
scnn_status scnn_run_conf_write(const char *dir, const scnn_train_opts *o);
/* THE run.conf parser (for the reports and for resuming): strict values in range, unknown keys
 * (a newer scnn's) ignored, defaults for the keys it may lack; dataset, epochs and iterations are
 * required. A missing or malformed file is SCNN_ERR_IO/SCNN_ERR_FORMAT naming it (and the line). */
scnn_status scnn_run_conf_read(const char *dir, scnn_run_conf *c);
/* The same parser on run.conf's text (fuzz/, tests). */
scnn_status scnn_run_conf_parse_text(const char *text, scnn_run_conf *c);
/* The same parser on run.conf's text (fuzz/, tests). */
scnn_status scnn_run_conf_parse_text(const char *text, scnn_run_conf *c);

/* DIR/iter-k/result.txt: the figures of a finished iteration, "key number" lines. */
typedef struct scnn_run_result {
    int best_epoch, epochs_run; /* best_epoch: the kept checkpoint's (1-based) */
    double train_loss, train_acc, val_loss, val_acc; /* at best_epoch */
    double test_loss, test_acc, seconds, seconds_per_epoch;
    size_t n_test;
    bool complete; /* seconds and seconds_per_epoch were there too */
} scnn_run_result;

scnn_status scnn_run_result_write(const char *path, const scnn_run_result *r);
/* THE result.txt parser: every number strict; best_epoch, epochs_run, the six losses and
 * accuracies and n_test are required, the times optional (complete says). */
scnn_status scnn_run_result_read(const char *path, scnn_run_result *r);
/* The same parser on result.txt's text (fuzz/, tests). */
scnn_status scnn_run_result_parse_text(const char *text, scnn_run_result *r);
/* The same parser on result.txt's text (fuzz/, tests). */
scnn_status scnn_run_result_parse_text(const char *text, scnn_run_result *r);

/* A row of DIR/iter-k/history.csv: one epoch (training figures as Keras logs them). */
typedef struct hist_row {
    int epoch;
    double loss, acc, val_loss, val_acc, seconds, images_per_s;
} hist_row;

/* Writes DIR/iter-k/history.csv (atomically): a header and rows h[0..n). */
scnn_status scnn_run_history_write(const char *path, const hist_row *h, int n);

typedef struct iter_data {
    bool present;  /* iter-k/ exists with a history */
    bool finished; /* result.txt (and test_probs.f32) exist */
    hist_row *hist;
    int n_hist;
    int best_epoch, epochs_run; /* unfinished: the best epoch so far by the selection rule */
    double train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, seconds_per_epoch;
    size_t n_test;
    float *probs; /* [n_test, 10] (the main run only) */
} iter_data;

typedef struct run_data {
    char dir[SCNN_RUN_PATH];
    scnn_run_conf conf;   /* run.conf */
    char data_path[2048]; /* conf.data_dir, or the default folder of the data set */
    iter_data *it;        /* [iterations] */
    int n_present, n_finished;
    size_t n_test;
    /* summary.json */
    bool has_summary, summary_current;
    int threads;
    char git_rev[64];
    long long n_originals, n_train, n_val;
    /* figures over the finished iterations: summary.json's when it is current, else computed */
    double mean_test_loss, std_test_loss, mean_test_acc, std_test_acc, mean_train_loss,
        mean_train_acc, mean_val_loss, mean_val_acc, mean_best_epoch;
    bool has_ensemble;
    double ens_loss, ens_acc;
} run_data;

/* Reads the run in dir: run.conf, every iteration's history.csv and result.txt (with_probs: and
 * test_probs.f32), summary.json when present. A missing or malformed file is an error naming it;
 * an unfinished iteration is read from its history.csv. */
scnn_status scnn_run_load(run_data *r, const char *dir, bool with_probs);
void scnn_run_free(run_data *r);
/* The same readers on texts instead of files, for the fuzzers and the tests; each may be NULL
 * (absent): run.conf, then iteration 0's history.csv, result.txt (read only with a history) and
 * summary.json. */
scnn_status scnn_run_parse_texts(const char *run_conf, const char *history, const char *result,
                                 const char *summary);
/* The same readers on texts instead of files, for the fuzzers and the tests; each may be NULL
 * (absent): run.conf, then iteration 0's history.csv, result.txt (read only with a history) and
 * summary.json. */
scnn_status scnn_run_parse_texts(const char *run_conf, const char *history, const char *result,
                                 const char *summary);
/* The same readers on texts instead of files, for the fuzzers and the tests; each may be NULL
 * (absent): run.conf, then iteration 0's history.csv, result.txt (read only with a history) and
 * summary.json. */
scnn_status scnn_run_parse_texts(const char *run_conf, const char *history, const char *result,
                                 const char *summary);

#endif
