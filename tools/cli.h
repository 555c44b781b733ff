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
/* A subcommand's arguments, one at a time:
 *
 *     cli c = cli_start("eval", argc, argv);
 *     while (cli_next(&c)) {
 *         if (cli_help(&c)) { eval_help(); return 0; }
 *         if (cli_str(&c, "--model", &model)) {
 *         } else if (cli_long(&c, "--test-limit", 1, 100000000, &n)) { test_limit = n;
 *         } else cli_unknown(&c);
 *     }
 *     if (c.rc >= 0) return c.rc;
 *
 * An option's value is the next argument or follows '='. A missing or empty value, a number out
 * of range, a choice not among those given, an unknown option: one line on stderr (usage_error),
 * c.rc = EXIT_USAGE, and cli_next stops. The getters return true when the argument is their
 * option (its value is set only when valid). */
typedef struct cli {
    const char *cmd;
    int argc;
    char **argv;
    int i;      /* the argument at hand */
    int rc;     /* -1 while parsing; EXIT_USAGE after an error */
} cli;
cli cli_start(const char *cmd, int argc, char **argv);
bool cli_next(cli *c);
const char *cli_arg(const cli *c);   /* the argument at hand */
bool cli_help(const cli *c);         /* --help or -h */
bool cli_flag(const cli *c, const char *name);
bool cli_str(cli *c, const char *name, const char **v);
/* An integer in [lo, hi]. */
bool cli_long(cli *c, const char *name, long lo, long hi, long *v);
/* One of choices (a NULL-terminated list). */
bool cli_choice(cli *c, const char *name, const char *const *choices, const char **v);
/* fashion_mnist or mnist (or "all" where all_ok). */
bool cli_dataset(cli *c, const char *name, bool all_ok, const char **v);
/* A usage error of the command (fmt with one %s): c->rc = EXIT_USAGE. */
void cli_fail(cli *c, const char *fmt, const char *arg);
/* "unknown option 'X'". */
void cli_unknown(cli *c);
/* A command that takes no options but --help: -1 to go on, 0 after help(), EXIT_USAGE. */
int cli_no_options(const char *cmd, int argc, char **argv, void (*help)(void));

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
