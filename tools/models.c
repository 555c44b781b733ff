/* Where `scnn predict` and `scnn eval` find the shipped models when no --model is given. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"

/* The installed data folder, PREFIX/share/scnn/models (the Makefile passes PREFIX's). */
#ifndef SCNN_MODELS_DIR
#define SCNN_MODELS_DIR "/usr/local/share/scnn/models"
#endif

const char *models_installed_dir(void)
{
    return SCNN_MODELS_DIR;
}

/* A folder counts if it holds at least one checkpoint (as an ensemble would read it). */
static bool has_models(const char *dir)
{
    char **paths;
    int n;
    if (scnn_ensemble_paths(dir, &paths, &n) != SCNN_OK)
        return false;
    scnn_ensemble_paths_free(paths, n);
    return true;
}

bool default_models(const char *cmd, const char *dataset, char *out, size_t len)
{
    /* $SCNN_MODELS, models/ beside the executable (and one folder up: build/scnn in a
     * checkout finds the checkout's models/), the installed data folder. */
    char cand[4][PATH_MAX + 64];
    int n = 0;
    const char *env = getenv("SCNN_MODELS");
    if (env && *env)
        snprintf(cand[n++], sizeof cand[0], "%s/%s", env, dataset);
    char exe[PATH_MAX];
    ssize_t got = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (got > 0) {
        exe[got] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(cand[n++], sizeof cand[0], "%s/models/%s", exe, dataset);
            snprintf(cand[n++], sizeof cand[0], "%s/../models/%s", exe, dataset);
        }
    }
    snprintf(cand[n++], sizeof cand[0], "%s/%s", SCNN_MODELS_DIR, dataset);
    for (int i = 0; i < n; i++)
        if (has_models(cand[i])) {
            char real[PATH_MAX];
            snprintf(out, len, "%s", realpath(cand[i], real) ? real : cand[i]);
            return true;
        }
    char looked[4 * (PATH_MAX + 64) + 64] = "";
    size_t at = 0;
    if (!(env && *env))
        at += (size_t)snprintf(looked, sizeof looked, "$SCNN_MODELS unset, ");
    for (int i = 0; i < n && at < sizeof looked; i++)
        at += (size_t)snprintf(looked + at, sizeof looked - at, "%s%s", i ? ", " : "", cand[i]);
    fprintf(stderr,
            "%s %s: error: no trained %s models found (looked in %s): train some with "
            "'%s train --dataset %s --out DIR' and pass --model DIR, or put checkpoints in "
            "one of those folders (or in $SCNN_MODELS/%s)\n",
            prog, cmd, dataset, looked, prog, dataset, dataset);
    return false;
}
