/* Shared command-line helpers: strict number parsing, option values, errors, backend choice. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

const char *prog = "scnn";
int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s %s: ", prog, cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see '%s %s --help')\n", prog, cmd);
    return EXIT_USAGE;
}

int runtime_error(const char *cmd)
{
    fprintf(stderr, "%s %s: error: %s\n", prog, cmd, scnn_last_error());
    return 1;
}

bool is_dataset(const char *s)
{
    return strcmp(s, "fashion_mnist") == 0 || strcmp(s, "mnist") == 0;
}

/* The backend from SCNN_BACKEND; prints the error and returns NULL if it cannot run. */
const scnn_backend *pick_backend(const char *cmd)
{
    char err[512];
    const scnn_backend *b = scnn_backend_select(getenv("SCNN_BACKEND"), err, sizeof err);
    if (!b)
        fprintf(stderr, "%s %s: error: %s\n", prog, cmd, err);
    return b;
}

/* Fetches the value of option argv[*i] (either "--opt value" or "--opt=value"). */
const char *opt_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
    size_t n = strlen(name);
    *matched = false;
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=') {
        *matched = true;
        return argv[*i] + n + 1;
    }
    if (argv[*i][n] != 0)
        return NULL;
    *matched = true;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

