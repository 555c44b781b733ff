/* scnn summary: the model's layers and parameter counts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "tools/cli.h"

static void summary_help(void)
{
    printf("usage: %s summary\n\nPrints the model's layers, output shapes and parameter "
           "counts, as Keras's model.summary().\n",
           prog);
}

int cmd_summary(int argc, char **argv)
{
    const int rc = cli_no_options("summary", argc, argv, summary_help);
    if (rc >= 0)
        return rc;
    scnn_model *m;
    if (scnn_model_create(&m, 1, &scnn_backend_naive, 1) != SCNN_OK)
        return runtime_error("summary");
    scnn_model_summary(m, stdout);
    scnn_model_free(m);
    return 0;
}
