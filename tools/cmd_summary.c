/* scnn summary: the model's layers and parameter counts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "tools/cli.h"

int cmd_summary(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s summary\n\nPrints the model's layers, output shapes and parameter "
                   "counts, as Keras's model.summary().\n",
                   prog);
            return 0;
        }
        return usage_error("summary", "unknown option '%s'", argv[i]);
    }
    scnn_model *m;
    if (scnn_model_create(&m, 1, &scnn_backend_naive, 1) != SCNN_OK)
        return runtime_error("summary");
    scnn_model_summary(m, stdout);
    scnn_model_free(m);
    return 0;
}
