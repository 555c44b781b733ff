/* Shared command-line helpers (tools/cli.c). Every subcommand is a function
 * int cmd_NAME(int argc, char **argv) with argv[0] the subcommand's name. */
#ifndef SCNN_CLI_H
#define SCNN_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scnn.h"

/* Exit status: 0 success, 1 a runtime failure (bad file, I/O), 2 a usage error. */
#define EXIT_USAGE 2

extern const char *prog;

/* "scnn CMD: <fmt with arg> (see 'scnn CMD --help')" on stderr; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, const char *arg);
/* "scnn CMD: error: <scnn_last_error()>" on stderr; returns 1. */
int runtime_error(const char *cmd);
bool is_dataset(const char *s);
/* The backend named by SCNN_BACKEND; prints the error and returns NULL if it cannot run. */
const scnn_backend *pick_backend(const char *cmd);
/* If argv[*i] is option name ("--name value" or "--name=value"): *matched = true and returns
 * the value (NULL when it is missing), advancing *i past a separate value. */
const char *opt_value(int argc, char **argv, int *i, const char *name, bool *matched);

/* The folder of shipped models for dataset when no --model is given: the first of
 * $SCNN_MODELS/D, models/D beside the executable (or one folder up), and the installed
 * PREFIX/share/scnn/models/D that holds a checkpoint. None: prints one line saying where it
 * looked and how to train or place them, and returns false (exit 1). (tools/models.c) */
bool default_models(const char *cmd, const char *dataset, char *out, size_t len);
/* PREFIX/share/scnn/models, fixed at build time (make PREFIX=...). */
const char *models_installed_dir(void);

int cmd_summary(int argc, char **argv);   /* tools/cmd_summary.c */
int cmd_backends(int argc, char **argv);  /* tools/cmd_backends.c */
int cmd_train(int argc, char **argv);     /* tools/cmd_train.c */
int cmd_eval(int argc, char **argv);      /* tools/cmd_eval.c */
int cmd_report(int argc, char **argv);    /* tools/cmd_report.c */
int cmd_extract(int argc, char **argv);   /* tools/cmd_extract.c */
int cmd_predict(int argc, char **argv);   /* tools/cmd_predict.c */
int cmd_export(int argc, char **argv);    /* tools/cmd_export.c */

#endif
