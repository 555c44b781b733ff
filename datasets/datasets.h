/* The data-set readers behind scnn_dataset_load (internal to datasets/ and its tests). Each reader
 * knows one format and neither calls the other: datasets/dataset.c detects which one a folder
 * holds and calls it. */
#ifndef SCNN_DATASETS_H
#define SCNN_DATASETS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "scnn.h"

/* The end of every reader: on success ds takes the n 28x28 images and their labels (malloc'd);
 * on failure they are freed and ds stays empty. Returns st. Inline, so that the readers and
 * the dispatcher do not call each other. */
static inline scnn_status scnn_dataset_adopt(scnn_dataset *ds, scnn_status st, size_t n,
                                             uint8_t *images, uint8_t *labels)
{
    if (st != SCNN_OK) {
        free(images);
        free(labels);
        return st;
    }
    ds->n = n;
    ds->rows = SCNN_IMG_H;
    ds->cols = SCNN_IMG_W;
    ds->images = images;
    ds->labels = labels;
    return SCNN_OK;
}

/* ---- IDX folders (datasets/idx.c) ------------------------------------------------------------ */

/* dir/<part>-{images-idx3,labels-idx1}-ubyte, each plain or, when that is absent, .gz; part is
 * "train" or "t10k" (checked by the caller). */
scnn_status scnn_idx_load_dir(scnn_dataset *ds, const char *dir, const char *part);
/* The same pair's first n records (all if it has fewer; n > 0), reading no more of the files
 * than that; the header is checked as for a whole load. */
scnn_status scnn_idx_load_first_dir(scnn_dataset *ds, const char *dir, const char *part,
                                    size_t n);

/* ---- the seed's PNG tree (datasets/png_tree.c; the layout: include/scnn_png.h) --------------- */

/* True when dir holds no IDX files and is a PNG tree: a root (dir/train or dir/test is a
 * folder) or a class-folder tree (dir/0 .. dir/9). */
bool scnn_png_tree_detect(const char *dir);

/* Loads part "train" or "t10k" (checked by the caller) from a PNG tree, in the IDX order (sorted
 * by index; labels from the class folders). dir is either
 *   - a root holding train/<dataset>/ and test/<dataset>/: dataset picks the subfolder; with
 *     dataset NULL the root must hold exactly one data set; or
 *   - a class-folder tree ROOT/train/<name> or ROOT/test/<name> (holding 0..9/): the part picks
 *     it or its sibling (the test images for ROOT/train/<name> are in ROOT/test/<name>).
 * The indices must be exactly 0..n-1; a missing, duplicate or non-numeric name, an unexpected
 * entry, or a PNG that is not 28x28 8-bit grayscale is an error naming the file. Hidden files
 * (names starting with '.') are ignored. */
scnn_status scnn_png_tree_load(scnn_dataset *ds, const char *dir, const char *dataset,
                               const char *part);

#endif
