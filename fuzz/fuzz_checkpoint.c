/* Fuzz target: the checkpoint loader (model/checkpoint.c, scnn_checkpoint_load_mem) against
 * the real model. A fuzzing build skips the CRC-32 comparison, so mutations reach the
 * metadata and tensor-table parsers. A failed load must leave the model untouched. */
#include <string.h>

#include "fuzz/fuzz.h"
#include "scnn.h"

static scnn_model *model;
static float first_weight;

SCNN_FUZZ_TARGET(checkpoint)
{
    if (!model) {
        FUZZ_CHECK(scnn_model_create(&model, 1, &scnn_backend_naive, 1) == SCNN_OK);
        first_weight = scnn_model_param(model, 0)->w[0];
    }
    scnn_ckpt_meta meta;
    memset(&meta, 0x5a, sizeof meta);
    scnn_status st = scnn_checkpoint_load_mem(data, size, "fuzz.ckpt", model, &meta);
    if (st == SCNN_OK) {
        FUZZ_CHECK(memchr(meta.dataset, 0, sizeof meta.dataset) &&
                   memchr(meta.backend, 0, sizeof meta.backend) &&
                   memchr(meta.data_sha256, 0, sizeof meta.data_sha256));
        /* A real model cannot fit in a fuzz input; if one ever loads, start afresh. */
        scnn_model_free(model);
        model = NULL;
    } else {
        FUZZ_CHECK(scnn_model_param(model, 0)->w[0] == first_weight);
        FUZZ_CHECK(scnn_last_error()[0] && !strchr(scnn_last_error(), '\n'));
    }
    return 0;
}
