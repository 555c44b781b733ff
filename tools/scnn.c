/* scnn: the command-line program; each subcommand is in tools/cmd_<name>.c.
 * Exit status: 0 success, 1 a runtime failure (bad file, I/O), 2 a usage error. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "tools/cli.h"

/* The commands, in the order the help lists them. */
static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} commands[] = {
    {"summary", cmd_summary, "the model's layers and parameter counts"},
    {"train", cmd_train, "train on a seeded split, keep the best checkpoint, evaluate on test"},
    {"eval", cmd_eval, "evaluate a checkpoint or an ensemble: loss, accuracy, confusion, F1"},
    {"extract", cmd_extract, "write the IDX images as the seed's PNG folder layout"},
    {"predict", cmd_predict, "classify your own PNG images (default: the shipped models)"},
    {"export", cmd_export, "a checkpoint as a weights-only checkpoint, for shipping"},
    {"report", cmd_report, "report.md and plots of a training run (curves, confusion, examples)"},
    {"backends", cmd_backends, "the kernel backends and whether they can run here"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void main_help(void)
{
    printf("usage: %s <command> [options]\n\n"
           "SCNN trains and benchmarks the seed's simple CNN for Fashion-MNIST in C.\n\n"
           "commands:\n",
           prog);
    for (size_t i = 0; i < N_COMMANDS; i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].what);
    printf("\n'%s <command> --help' describes each. SCNN_BACKEND selects the kernels.\n", prog);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        main_help();
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        main_help();
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("scnn %s (revision %s)\n", scnn_version(), scnn_git_rev());
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (commands:", prog, cmd);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(stderr, "%s %s", i ? "," : "", commands[i].name);
    fprintf(stderr, "; see '%s --help')\n", prog);
    return EXIT_USAGE;
}
