/* scnn backends: the kernel backends and whether they can run here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "tools/cli.h"

static void backends_help(void)
{
    printf("usage: %s backends\n\nLists the kernel backends, whether each can run on this "
           "CPU (and why not), and the operations each leaves to naive; [auto] marks the\n"
           "fastest available, or [selected] the one SCNN_BACKEND=name names. An "
           "unknown or unavailable name is an error, as in every command that runs "
           "kernels.\n",
           prog);
}

int cmd_backends(int argc, char **argv)
{
    const int rc = cli_no_options("backends", argc, argv, backends_help);
    if (rc >= 0)
        return rc;
    /* What SCNN_BACKEND selects (validated as every command that picks a backend does). */
    const scnn_backend *chosen = pick_backend("backends");
    const char *env = getenv("SCNN_BACKEND");
    const char *mark = env && *env && strcmp(env, "auto") != 0 ? "  [selected]" : "  [auto]";
    if (!chosen)
        return EXIT_USAGE;
    for (int i = 0; i < scnn_backend_count(); i++) {
        const scnn_backend *b = scnn_backend_at(i);
        const char *why = "";
        bool ok = scnn_backend_available(b, &why);
        char fb[512];
        scnn_backend_fallbacks(b, fb, sizeof fb);
        printf("%-8s %-13s %s%s\n", b->name, ok ? "available" : "unavailable", b->description,
               b == chosen ? mark : "");
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
