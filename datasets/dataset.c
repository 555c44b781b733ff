/* The one data-set dispatcher: which format a folder holds, and the reader for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "datasets/datasets.h"

scnn_status scnn_dataset_load(scnn_dataset *ds, const char *dir, const char *dataset,
                              const char *part)
{
    if (ds)
        memset(ds, 0, sizeof *ds);
    if (!ds || !dir || !part)
        return scnn_fail(SCNN_ERR_ARG, "scnn_dataset_load: NULL argument");
    if (strcmp(part, "train") != 0 && strcmp(part, "t10k") != 0)
        return scnn_fail(SCNN_ERR_ARG, "unknown data set part '%s' (want train or t10k)", part);
    if (scnn_png_tree_detect(dir))
        return scnn_png_tree_load(ds, dir, dataset, part);
    return scnn_idx_load_dir(ds, dir, part);
}

scnn_status scnn_dataset_load_dir(scnn_dataset *ds, const char *dir, const char *part)
{
    return scnn_dataset_load(ds, dir, NULL, part);
}

scnn_status scnn_dataset_load_first(scnn_dataset *ds, const char *dir, const char *part,
                                    size_t n)
{
    if (ds)
        memset(ds, 0, sizeof *ds);
    if (!ds || !dir || !part || n == 0)
        return scnn_fail(SCNN_ERR_ARG, "scnn_dataset_load_first: NULL argument or n = 0");
    bool known = strcmp(part, "train") == 0 || strcmp(part, "t10k") == 0;
    if (!known || scnn_png_tree_detect(dir)) {
        /* scnn_dataset_load names a bad part; a PNG tree has no order to read a prefix of
         * cheaply: load it, keep the first n */
        scnn_status st = scnn_dataset_load(ds, dir, NULL, part);
        if (!st && ds->n > n)
            ds->n = n;
        return st;
    }
    return scnn_idx_load_first_dir(ds, dir, part, n);
}

void scnn_dataset_dir(char *buf, size_t len, const char *name)
{
    if (!buf || len == 0)
        return;
    const char *root = getenv("SCNN_DATA");
    if (!root || !*root)
        root = "data";
    snprintf(buf, len, "%s/idx/%s", root, name ? name : "");
}

void scnn_dataset_free(scnn_dataset *ds)
{
    if (!ds)
        return;
    free(ds->images);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}
