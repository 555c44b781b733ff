/* scnn extract: the fetched IDX files as the seed's PNG folder layout. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "scnn_png.h"
#include "tools/cli.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct bar_ctx {
    const char *label;
    double t0;
} bar_ctx;

static void progress_bar(size_t done, size_t total, void *p)
{
    const bar_ctx *b = p;
    int width = 30, filled = total ? (int)((double)width * done / total) : width;
    double el = scnn_now() - b->t0, eta = done ? el * (double)(total - done) / (double)done : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : '.');
    bar[width] = 0;
    printf("\r%-20s %6zu/%zu [%s] ETA %3.0fs ", b->label, done, total, bar, eta);
    fflush(stdout);
}

static void extract_help(void)
{
    printf("usage: %s extract [options]\n\n"
           "Writes the fetched IDX images as the seed's PNG folder layout,\n"
           "  DIR/{train,test}/D/<label>/<index>.png\n"
           "one 28x28 8-bit grayscale PNG per image, named by its index in the IDX file\n"
           "(t10k goes to test/). Re-running is safe: files that already hold exactly these\n"
           "bytes are kept, others are replaced through a temporary file and a rename (an\n"
           "interrupted run leaves no half-written PNG), and stale files (an index in the\n"
           "wrong class folder, leftover temporaries) are removed.\n\n"
           "  --dataset D   fashion_mnist (default), mnist, or all (both)\n"
           "  --out DIR     tree root (default: $SCNN_DATA, else data)\n"
           "  --data DIR    read the IDX files from DIR (default: data/idx/D); one data set only\n"
           "  --limit N     only the first N images of each part (train and test)\n\n"
           "'%s train --data DIR' and '%s eval --data DIR' read the tree back: DIR is either\n"
           "the root (holding one data set, or pick one with --dataset) or DIR/train/D.\n",
           prog, prog, prog);
}

static int extract_one(const char *dataset, const char *idx_dir, const char *out, size_t limit)
{
    static const char *const parts[2] = {"train", "t10k"};
    char dir[2048];
    if (idx_dir)
        snprintf(dir, sizeof dir, "%s", idx_dir);
    else
        scnn_dataset_dir(dir, sizeof dir, dataset);
    double t0 = scnn_now();
    size_t count[2] = {0, 0};
    scnn_extract_stats total = {0};
    bool tty = isatty(STDOUT_FILENO);
    for (int p = 0; p < 2; p++) {
        scnn_dataset ds;
        if (scnn_dataset_load_dir(&ds, dir, parts[p]) != SCNN_OK)
            return runtime_error("extract");
        char label[64];
        snprintf(label, sizeof label, "%s %s", dataset, p ? "test" : "train");
        bar_ctx bar = {.label = label, .t0 = scnn_now()};
        scnn_extract_stats st;
        scnn_status s = scnn_png_tree_extract(&ds, out, dataset, parts[p], limit,
                                              tty ? progress_bar : NULL, &bar, &interrupted, &st);
        if (tty)
            printf("\r%*s\r", 79, "");
        count[p] = limit && limit < ds.n ? limit : ds.n;
        scnn_dataset_free(&ds);
        total.written += st.written;
        total.unchanged += st.unchanged;
        total.removed += st.removed;
        if (s != SCNN_OK) {
            fflush(stdout);
            runtime_error("extract");
            if (interrupted)
                fprintf(stderr, "%s extract: %zu files written so far are complete; run it again "
                        "to finish\n", prog, total.written);
            return 1;
        }
    }
    printf("%s: %zu PNGs (%zu train, %zu test) in %s/{train,test}/%s: %zu written, %zu already "
           "there, %zu stale removed; %.1fs\n",
           dataset, count[0] + count[1], count[0], count[1], out, dataset, total.written,
           total.unchanged, total.removed, scnn_now() - t0);
    fflush(stdout);
    return 0;
}

int cmd_extract(int argc, char **argv)
{
    const char *dataset = "fashion_mnist", *out = NULL, *idx_dir = NULL;
    size_t limit = 0;
    cli c = cli_start("extract", argc, argv);
    while (cli_next(&c)) {
        long n;
        if (cli_help(&c)) {
            extract_help();
            return 0;
        }
        if (cli_dataset(&c, "--dataset", true, &dataset) || cli_str(&c, "--out", &out) ||
            cli_str(&c, "--data", &idx_dir)) {
        } else if (cli_long(&c, "--limit", 1, 100000000, &n)) {
            limit = (size_t)n;
        } else {
            cli_unknown(&c);
        }
    }
    if (c.rc >= 0)
        return c.rc;
    bool all = strcmp(dataset, "all") == 0;
    if (all && idx_dir)
        return usage_error("extract", "%s", "--data names one data set's IDX folder: use it with "
                           "--dataset fashion_mnist or mnist, not all");
    if (!out) {
        const char *env = getenv("SCNN_DATA");
        out = env && *env ? env : "data";
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    int rc = 0;
    if (all || strcmp(dataset, "fashion_mnist") == 0)
        rc = extract_one("fashion_mnist", idx_dir, out, limit);
    if (rc == 0 && (all || strcmp(dataset, "mnist") == 0))
        rc = extract_one("mnist", idx_dir, out, limit);
    return interrupted ? 1 : rc;
}
