/* scnn: the command-line program; each subcommand is in tools/cmd_<name>.c.
 * Exit status: 0 success, 1 a runtime failure (bad file, I/O), 2 a usage error. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "tools/cli.h"

static void main_help(void)
{
    printf("usage: %s <command> [options]\n\n"
           "SCNN trains and benchmarks the seed's simple CNN for Fashion-MNIST in C.\n\n"
           "commands:\n"
           "  summary    the model's layers and parameter counts\n"
           "  train      train on a seeded split, keep the best checkpoint, evaluate on test\n"
           "  eval       evaluate a checkpoint or an ensemble: loss, accuracy, confusion, F1\n"
           "  extract    write the IDX images as the seed's PNG folder layout\n"
           "  predict    classify your own PNG images (default: the shipped models)\n"
           "  export     a checkpoint as a weights-only checkpoint, for shipping\n"
           "  report     report.md and plots of a training run (curves, confusion, examples)\n"
           "  backends   the kernel backends and whether they can run here\n\n"
           "'%s <command> --help' describes each. SCNN_BACKEND selects the kernels.\n",
           prog, prog);
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
    if (strcmp(cmd, "summary") == 0)
        return cmd_summary(argc - 1, argv + 1);
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "backends") == 0)
        return cmd_backends(argc - 1, argv + 1);
    if (strcmp(cmd, "extract") == 0)
        return cmd_extract(argc - 1, argv + 1);
    if (strcmp(cmd, "predict") == 0)
        return cmd_predict(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cmd_export(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (commands: summary, train, eval, backends, "
                    "extract, predict, report, export; see '%s --help')\n",
            prog, cmd, prog);
    return EXIT_USAGE;
}
