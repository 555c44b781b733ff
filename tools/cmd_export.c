/* scnn export: a checkpoint as a weights-only checkpoint, for shipping (models/). */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

static void export_help(void)
{
    printf("usage: %s export IN OUT\n\n"
           "Writes checkpoint IN (full or weights-only) to OUT as a weights-only checkpoint:\n"
           "the weights, the BatchNorm statistics and the metadata, without the Adam moments\n"
           "and the optimiser step (1.98 MB instead of 5.93 MB). 'scnn eval' and 'scnn\n"
           "predict' read it; 'scnn train --resume' cannot continue from it. OUT is written\n"
           "atomically (a temporary file renamed over it), so IN and OUT may be the same.\n\n"
           "Exit status: 0 written, 1 IN could not be read or OUT not written, 2 a usage error.\n",
           prog);
}

int cmd_export(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            export_help();
            return 0;
        }
        if (!opts_done && strcmp(a, "--") == 0) {
            opts_done = true;
        } else if (!opts_done && a[0] == '-' && a[1]) {
            return usage_error("export", "unknown option '%s'", a);
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            return usage_error("export", "one input and one output, got also '%s'", a);
        }
    }
    if (!out)
        return usage_error("export", "%s", "expected IN OUT: the checkpoint and the file to write");
    scnn_model *m = NULL;
    scnn_ckpt_meta meta;
    if (scnn_model_create(&m, 1, &scnn_backend_naive, 0) != SCNN_OK ||
        scnn_checkpoint_load(in, m, &meta) != SCNN_OK) {
        scnn_model_free(m);
        return runtime_error("export");
    }
    meta.weights_only = true;
    scnn_status st = scnn_checkpoint_save(out, m, &meta);
    scnn_model_free(m);
    if (st != SCNN_OK)
        return runtime_error("export");
    return 0;
}
