/* Fuzz target: the run-folder readers, `scnn report`'s (model/report.c) and `scnn train
 * --resume`'s (model/train.c). Input: run.conf, history.csv, result.txt, summary.json and
 * state.txt, separated by NUL bytes (a missing or empty part is an absent file). */
#include <string.h>

#include "fuzz/fuzz.h"
#include "model/model_internal.h"
#include "model/run_folder.h"
#include "model/train_state.h"

SCNN_FUZZ_TARGET(runfolder)
{
    enum { NPARTS = 5 };
    char *copy = malloc(size + 1);
    FUZZ_CHECK(copy);
    if (size)
        memcpy(copy, data, size);
    copy[size] = 0;
    const char *part[NPARTS] = {NULL};
    char *p = copy, *end = copy + size;
    for (int i = 0; i < NPARTS && p <= end; i++) {
        part[i] = *p ? p : NULL;
        p += strlen(p) + 1;
    }
    scnn_status st = scnn_run_parse_texts(part[0], part[1], part[2], part[3]);
    FUZZ_CHECK(st == SCNN_OK || (scnn_last_error()[0] && !strchr(scnn_last_error(), '\n')));
    st = scnn_train_parse_texts(part[0], part[4], part[2]);
    FUZZ_CHECK(st == SCNN_OK || (scnn_last_error()[0] && !strchr(scnn_last_error(), '\n')));
    free(copy);
    return 0;
}
