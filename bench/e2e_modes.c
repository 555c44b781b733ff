/* How long each measurement of scnn_bench_e2e runs, per BENCH mode. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"

/* ---- how long each measurement runs, per BENCH mode --------------------------------------- */

static const mode_cfg modes[] = {
    {"quick", 100, 50, 200, 0, 250, 0, 1, 1, 1, 0, 1, 2, 1, 0, 2, 10, 5, 1, 300},
    {"default", 400, 100, 1000, 5000, 250, 2000, 1, 3, 2, 2.0, 1, 6, 2, 1.0, 5, 100, 20, 1, 900},
    {"full", 1000, 250, 2000, 20000, 250, 10000, 2, 10, 4, 10.0, 2, 20, 4, 5.0, 10, 500, 50, 3,
     1800},
};

const mode_cfg *mode_find(const char *name)
{
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(modes[i].name, name) == 0)
            return &modes[i];
    return NULL;
}
