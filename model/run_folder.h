/* The run folder that `scnn train` writes (DIR/run.conf, DIR/summary.json,
 * DIR/iter-k/{history.csv,result.txt,test_probs.f32}), read back whole for the reports: each
 * format's writer and reader live here, side by side. Internal to the library. */
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
    bool data_parallel; /* data_parallel=1: one model over the ranks (absent: 0, as before it) */
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

/* A row of DIR/iter-k/history.csv: one epoch (training figures as Keras logs them). */
typedef struct hist_row {
    int epoch;
    double loss, acc, val_loss, val_acc, seconds, images_per_s;
} hist_row;

/* Writes DIR/iter-k/history.csv (atomically): a header and rows h[0..n). */
scnn_status scnn_run_history_write(const char *path, const hist_row *h, int n);
/* One history row as "epoch,loss,acc,val_loss,val_acc,seconds,images_per_s\n" into buf (cap
 * bytes): history.csv's rounding, or exact (%.17g, what a resume reads back: state.txt).
 * Returns snprintf's count. */
int scnn_run_history_row(char *buf, size_t cap, const hist_row *h, bool exact);

/* DIR/summary.json: the run over its iterations, one struct for its writer and its reader.
 * scnn_run_summary_write takes the options, counts and it[0..n_iter) and computes the means and
 * standard deviations (into s) before it writes. scnn_run_load gives back the strings, counts and
 * figures summary.json holds (n_iter: its "iteration" entries); it stays NULL and the numeric
 * options 0 there: those are result.txt's (iter_data) and run.conf's (run_data.conf). */
typedef struct scnn_run_summary {
    char dataset[64], protocol[32], select[32], backend[64], git_rev[64], data_sha256[65];
    unsigned long long seed;
    int threads, epochs, batch, augment, patience;
    double val_split;
    long long n_originals, n_train, n_val, n_test;
    int n_iter;
    const scnn_run_result *it; /* [n_iter]: iteration i has the seed seed + i */
    double mean_test_loss, std_test_loss, mean_test_acc, std_test_acc, mean_train_loss,
        mean_train_acc, mean_val_loss, mean_val_acc, mean_best_epoch;
    double ens_loss, ens_acc; /* the ensemble: the mean of the models' probabilities */
} scnn_run_summary;

/* Writes dir/summary.json (atomically), after filling s's means and standard deviations. */
scnn_status scnn_run_summary_write(const char *dir, scnn_run_summary *s);

typedef struct iter_data {
    bool present;  /* iter-k/ exists with a history */
    bool finished; /* result.txt (and test_probs.f32) exist */
    hist_row *hist;
    int n_hist;
    /* result.txt; unfinished: only best_epoch (the best so far by the selection rule) and
     * epochs_run (the history's epochs) */
    scnn_run_result res;
    float *probs; /* [n_test, 10] (the main run only) */
} iter_data;

typedef struct run_data {
    char dir[SCNN_RUN_PATH];
    scnn_run_conf conf;   /* run.conf */
    char data_path[2048]; /* conf.data_dir, or the default folder of the data set */
    iter_data *it;        /* [iterations] */
    int n_present, n_finished;
    size_t n_test;
    /* summary.json; its means (and ens_*) are summary.json's when it is current, else computed
     * over the finished iterations */
    bool has_summary, summary_current, has_ensemble;
    scnn_run_summary sum;
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

#endif
