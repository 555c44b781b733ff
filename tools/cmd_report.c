/* scnn report: report.md, CSVs and plots of a training run (report/). */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

static void report_help(void)
{
    printf("usage: %s report DIR [--compare OTHER_DIR] [--out REPORT_DIR]\n\n"
           "Writes a report of the training run in DIR (from 'scnn train --out DIR') into\n"
           "REPORT_DIR (default DIR/report):\n"
           "  report.md           results, settings, per-model table, the seed's published\n"
           "                      figures beside ours, per-class scores, the plots\n"
           "  accuracy.png        accuracy per epoch, every model: training dashed,\n"
           "  loss.png            validation solid, the kept epoch circled\n"
           "  train_vs_val.png    training against validation for the first model\n"
           "  confusion.png       the test set's confusion matrix (ensemble of the models)\n"
           "  examples.png        random test images per class with their predictions\n"
           "  confused_pair.png   the most confused pair of classes, both ways\n"
           "  per_class.csv, confusion.csv\n"
           "Each plot's gnuplot script (.gp) and data (.dat) stay beside it: edit and redraw\n"
           "with 'gnuplot NAME.gp' in REPORT_DIR.\n\n"
           "  --compare OTHER_DIR  overlay another run's curves (the mean over its models)\n"
           "                       and compare its figures (e.g. protocol seed against clean)\n"
           "  --out REPORT_DIR     where to write (default DIR/report)\n\n"
           "The test images come from the data set in DIR/run.conf (data_dir, or data/idx/NAME\n"
           "or $SCNN_DATA/idx/NAME). An unfinished run is reported from what it has. Without\n"
           "gnuplot (or with SCNN_GNUPLOT set to an empty string) the report is written\n"
           "without plots, with a warning, and the exit status is 0. Exit status 1: a file of\n"
           "the run is missing or malformed (the message names it); 2: a usage error.\n",
           prog);
}

int cmd_report(int argc, char **argv)
{
    const char *dir = NULL, *compare = NULL, *out = NULL;
    cli c = cli_start("report", argc, argv);
    while (cli_next(&c)) {
        const char *a = cli_arg(&c);
        if (cli_help(&c)) {
            report_help();
            return 0;
        }
        if (cli_str(&c, "--compare", &compare) || cli_str(&c, "--out", &out)) {
        } else if (a[0] == '-' && a[1]) {
            cli_unknown(&c);
        } else if (dir) {
            cli_fail(&c, "one run folder only, got a second: '%s'", a);
        } else {
            dir = a;
        }
    }
    if (c.rc >= 0)
        return c.rc;
    if (!dir)
        return usage_error("report", "%s", "DIR is required: the run folder of 'scnn train'");
    if (scnn_report(dir, compare, out) != SCNN_OK)
        return runtime_error("report");
    return 0;
}
