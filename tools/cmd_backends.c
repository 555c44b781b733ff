/* scnn backends: the kernel backends and whether they can run here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "tools/cli.h"

int cmd_backends(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s backends\n\nLists the kernel backends, whether each can run on this "
                   "CPU (and why not), and the operations each leaves to naive.\nSelect one with "
                   "SCNN_BACKEND=name (unset or 'auto': the fastest available).\n",
                   prog);
            return 0;
        }
        return usage_error("backends", "unknown option '%s'", argv[i]);
    }
    char err[512];
    const scnn_backend *chosen = scnn_backend_select(NULL, err, sizeof err);
    for (int i = 0; i < scnn_backend_count(); i++) {
        const scnn_backend *b = scnn_backend_at(i);
        const char *why = "";
        bool ok = scnn_backend_available(b, &why);
        char fb[512];
        scnn_backend_fallbacks(b, fb, sizeof fb);
        printf("%-8s %-13s %s%s\n", b->name, ok ? "available" : "unavailable", b->description,
               b == chosen ? "  [auto]" : "");
        if (!ok)
            printf("         why not: %s\n", why);
        if (fb[0])
            printf("         uses naive for: %s\n", fb);
        if (ok)
            printf("         threads: %d\n", scnn_backend_threads(b));
    }
    printf("%s\n", scnn_backend_choice());
    return 0;
}
