/* What every writer of the report shares: saving a text file, and the names in titles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

/* Writes b to dir/name atomically and frees it. */
scnn_status scnn_report_save(scnn_strbuf *b, const char *dir, const char *name)
{
    char path[SCNN_RUN_PATH + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    scnn_status st = b->oom ? scnn_fail(SCNN_ERR_NOMEM, "out of memory writing %s", path)
                            : scnn_write_atomic(path, b->p ? b->p : "", b->len);
    free(b->p);
    memset(b, 0, sizeof *b);
    return st;
}

const char *scnn_report_dataset_title(const char *ds)
{
    return strcmp(ds, "mnist") == 0 ? "MNIST" : "Fashion-MNIST";
}

const char *scnn_report_base_name(const char *dir)
{
    const char *s = strrchr(dir, '/');
    return s && s[1] ? s + 1 : dir;
}

/* ---- predictions ----------------------------------------------------------------------------- */
