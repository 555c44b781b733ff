/* scnn_bench_e2e: the end-to-end half of `make bench` (bench/run.sh drives it).
 *
 *   run       per backend (and PyTorch, when given its script): a short fixed-seed training
 *             compared with naive's, training and inference images/s, batch-1 latency, the
 *             per-layer breakdown of a training step, peak memory -> train.csv, breakdown.csv
 *   scaling   training images/s of one backend at several thread counts, beside its conv2
 *             GFLOP/s from the per-operation CSV -> scaling.csv
 *   fullmem   peak memory of a real `scnn train` epoch (60,000 originals, 2x augmentation)
 *   summary   the closing table, from the CSVs of a results directory (text or Markdown)
 *   weights   the initial weights of a seed, for the PyTorch peer
 *
 * Every measurement runs in a child process of its own (this program again, or python), so
 * that its peak resident memory (VmHWM, reported by the child; else wait4's ru_maxrss) is its
 * own: the parent loads no data and holds a few MB. A child whose peak passes 4 GiB (the seed's
 * budget) is reported as a failure. Children talk back on stdout as `key=value` lines.
 *
 * This file is the command line; bench/e2e.h lists the files of the rest, one concept each. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/e2e.h"

/* ---- command line -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: scnn_bench_e2e run [--backends LIST] [--threads N] [--mode M] [--data DIR]\n"
            "                          [--pytorch SCRIPT] [--torch-threads LIST] --out-dir DIR\n"
            "       scnn_bench_e2e scaling [--backend B] --threads LIST [--mode M] [--data DIR]\n"
            "                          [--ops-csv FILE] --out FILE\n"
            "       scnn_bench_e2e fullmem --scnn PATH [--backend B] [--seconds S] [--data DIR]\n"
            "                          --out FILE [--log FILE]\n"
            "       scnn_bench_e2e summary [--markdown] DIR\n\n"
            "End-to-end measurements of `make bench`, each in a child process of its own:\n"
            "  run      per backend: a short fixed-seed training compared with naive's (loss at\n"
            "           rel tol 1e-3), training and inference images/s at batch 250, batch-1\n"
            "           latency, the per-layer breakdown of a training step, peak memory;\n"
            "           PyTorch too with --pytorch (run by $SCNN_PYTHON or /usr/bin/python3).\n"
            "           Writes DIR/train.csv and DIR/breakdown.csv.\n"
            "  scaling  training images/s of a backend (default omp) per thread count, with its\n"
            "           conv2 GFLOP/s from the per-operation CSV: writes scaling.csv.\n"
            "  fullmem  peak memory of a real `scnn train` epoch (60,000 originals, 2x\n"
            "           augmentation); --seconds S stops it after S s (0: run the whole epoch).\n"
            "  summary  the closing table from DIR/{ops,train,fulltrain}.csv.\n\n"
            "  --mode M  quick, default or full (how long each measurement runs)\n"
            "  --threads N  threads of multi-threaded backends (default: OMP_NUM_THREADS or all\n"
            "           cores); --torch-threads LIST: PyTorch's (default: 1 and N)\n"
            "  --data DIR  Fashion-MNIST IDX folder (default data/idx/fashion_mnist)\n"
            "A measurement whose peak memory exceeds 4 GiB fails. Exit status: 0 ok, 1 a\n"
            "measurement failed, 2 a usage error.\n");
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    for (const char *p = s; p && *p;) {
        const char *e = strchr(p, ',');
        char num[32];
        long v;
        snprintf(num, sizeof num, "%.*s", (int)(e ? (e - p < 31 ? e - p : 31) : 31), p);
        if (!scnn_parse_long(num, 1, 4096, &v) || n == max)
            return -1;
        out[n++] = (int)v;
        p = e ? e + 1 : NULL;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return child_main(argc, argv);
    if (argc < 2)
        die(2, "a command is needed: run, scaling, fullmem or summary (see --help)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") && strcmp(cmd, "scaling") && strcmp(cmd, "fullmem") &&
        strcmp(cmd, "summary"))
        die(2, "unknown command '%s' (run, scaling, fullmem, summary; see --help)", cmd);

    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        die(1, "cannot find this program's path (/proc/self/exe)");
    self[sl] = 0;

    char defdata[4096];
    scnn_dataset_dir(defdata, sizeof defdata, "fashion_mnist");
    run_opts o = {.data = defdata, .mode = mode_find("default"), .threads = default_threads(),
                  .seed = 1};
    o.python = getenv("SCNN_PYTHON") && *getenv("SCNN_PYTHON") ? getenv("SCNN_PYTHON")
                                                                : "/usr/bin/python3";
    const char *backend = "omp", *ops_csv = NULL, *out = NULL, *scnn = NULL, *log = NULL,
               *dir = NULL;
    const char *threads_list = NULL, *torch_list = NULL;
    double seconds = 0;
    bool markdown = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--markdown") == 0) {
            markdown = true;
            continue;
        }
        if (a[0] != '-') {
            if (dir)
                die(2, "unexpected argument '%s' (see --help)", a);
            dir = a;
            continue;
        }
        if (i + 1 >= argc)
            die(2, "%s needs a value (see --help)", a);
        const char *v = argv[++i];
        if (strcmp(a, "--backends") == 0)
            o.backends = v;
        else if (strcmp(a, "--backend") == 0)
            backend = v;
        else if (strcmp(a, "--threads") == 0)
            threads_list = v;
        else if (strcmp(a, "--torch-threads") == 0)
            torch_list = v;
        else if (strcmp(a, "--mode") == 0) {
            if (!(o.mode = mode_find(v)))
                die(2, "--mode must be quick, default or full, got '%s'", v);
        } else if (strcmp(a, "--data") == 0)
            o.data = v;
        else if (strcmp(a, "--out-dir") == 0)
            o.out_dir = v;
        else if (strcmp(a, "--pytorch") == 0)
            o.pytorch = v;
        else if (strcmp(a, "--ops-csv") == 0)
            ops_csv = v;
        else if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--scnn") == 0)
            scnn = v;
        else if (strcmp(a, "--log") == 0)
            log = v;
        else if (strcmp(a, "--seconds") == 0) {
            if (!scnn_parse_double(v, 0, 86400, &seconds))
                die(2, "--seconds needs a number of seconds in 0..86400, got '%s'", v);
        } else if (strcmp(a, "--seed") == 0) {
            long s;
            if (!scnn_parse_long(v, 0, 2147483647L, &s))
                die(2, "--seed needs a non-negative integer, got '%s'", v);
            o.seed = (uint64_t)s;
        } else
            die(2, "unknown option '%s' (see --help)", a);
    }

    if (strcmp(cmd, "summary") == 0) {
        if (!dir)
            die(2, "summary needs a results directory");
        return summary_main(dir, markdown);
    }
    if (dir)
        die(2, "unexpected argument '%s' (see --help)", dir);
    int tl[MAX_THREADS], ntl = 0;
    if (threads_list && (ntl = parse_list(threads_list, tl, MAX_THREADS)) <= 0)
        die(2, "--threads needs a comma list of thread counts (1..4096), got '%s'", threads_list);

    if (strcmp(cmd, "run") == 0) {
        if (!o.out_dir)
            die(2, "run needs --out-dir DIR");
        if (ntl > 1)
            die(2, "run takes one thread count (--threads N)");
        if (ntl == 1)
            o.threads = tl[0];
        if (torch_list) {
            if ((o.n_torch = parse_list(torch_list, o.torch_threads, 4)) <= 0)
                die(2, "--torch-threads needs a comma list of up to 4 counts, got '%s'",
                    torch_list);
        } else {
            o.torch_threads[o.n_torch++] = 1;
            if (o.threads > 1)
                o.torch_threads[o.n_torch++] = o.threads;
        }
        if (o.pytorch && access(o.pytorch, R_OK) != 0)
            die(2, "cannot read the PyTorch peer script %s", o.pytorch);
        struct stat st;
        if (stat(o.out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            die(2, "--out-dir %s is not a directory", o.out_dir);
        return run_main(&o, self);
    }
    if (strcmp(cmd, "scaling") == 0) {
        if (!out || ntl == 0)
            die(2, "scaling needs --threads LIST and --out FILE");
        if (!scnn_backend_find(backend))
            die(2, "unknown backend '%s'", backend);
        return scaling_main(self, backend, tl, ntl, o.mode, o.data, ops_csv, out, o.seed);
    }
    /* fullmem */
    if (!scnn || !out)
        die(2, "fullmem needs --scnn PATH and --out FILE");
    if (access(scnn, X_OK) != 0)
        die(2, "cannot run %s", scnn);
    return fullmem_main(scnn, backend, seconds, o.data, out, log);
}
