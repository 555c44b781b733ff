/* `make bench` end to end: runs the quick harness (bench/run.sh, BENCH=quick) into a temporary
 * results directory (SCNN_BENCH_OUT; bench/results/latest is left alone) and checks its files
 * and their values, so that the harness cannot silently rot; checks that README.md's benchmark
 * section is what its committed results directory gives (bench/readme.sh --check: no figure
 * typed by hand); and that bad input is a one-line error with a non-zero status.
 * SCNN_BENCH_RESULTS=DIR checks DIR instead of running the harness (to debug the checks). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_COLS 32
#define MAX_ROWS 2048
#define OPS_REL_TOL 1e-4  /* bench/ops.c's correctness tolerance */


static char build_dir[4096];
static char *results;   /* the quick run's directory (NULL until it ran) */
static char *tmpdir;
static bool ran_ok;

/* A whole text file, NUL-terminated (tu_read_file's bytes are not); NULL if unreadable. */
static char *read_text(const char *path)
{
    size_t len;
    char *p = tu_read_file(path, &len);
    if (!p)
        return NULL;
    char *t = realloc(p, len + 1);
    assert_non_null(t);
    t[len] = 0;
    return t;
}

/* ---- a small CSV reader: '#' lines skipped, the first other line is the header ------------- */

typedef struct table {
    char *text;
    int ncol, nrow;
    char *head[MAX_COLS];
    char *cell[MAX_ROWS][MAX_COLS];
} table;

static table *table_read(const char *path)
{
    char *text = read_text(path);
    if (!text)
        fail_msg("cannot read %s", path);
    table *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->text = text;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (line[0] != '#' && line[0]) {
            char *f[MAX_COLS];
            int n = 0;
            for (char *p = line; n < MAX_COLS;) {
                f[n++] = p;
                char *c = strchr(p, ',');
                if (!c)
                    break;
                *c = 0;
                p = c + 1;
            }
            if (t->ncol == 0) {
                t->ncol = n;
                memcpy(t->head, f, sizeof(char *) * (size_t)n);
            } else {
                if (n != t->ncol)
                    fail_msg("%s: row %d has %d fields, the header %d", path, t->nrow + 1, n,
                             t->ncol);
                assert_true(t->nrow < MAX_ROWS);
                memcpy(t->cell[t->nrow++], f, sizeof(char *) * (size_t)n);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    if (t->ncol == 0)
        fail_msg("%s has no header", path);
    return t;
}

static void table_free(table *t)
{
    if (t) {
        free(t->text);
        free(t);
    }
}

static int col(const table *t, const char *name)
{
    for (int i = 0; i < t->ncol; i++)
        if (strcmp(t->head[i], name) == 0)
            return i;
    fail_msg("no column '%s'", name);
    return -1;
}

static const char *get(const table *t, int r, const char *name)
{
    return t->cell[r][col(t, name)];
}

/* A number that must be finite. */
static double num(const table *t, int r, const char *name)
{
    const char *s = get(t, r, name);
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        fail_msg("row %d (%s): %s = '%s' is not a finite number", r + 1, t->cell[r][0], name, s);
    return v;
}

static char *path_in(const char *dir, const char *file)
{
    char *p = malloc(strlen(dir) + strlen(file) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", dir, file);
    return p;
}

/* ---- the quick run ------------------------------------------------------------------------- */

/* The threads train.csv gives backend b (-1 if it has no row). */
static int train_threads(const table *tr, const char *b)
{
    for (int r = 0; r < tr->nrow; r++)
        if (strcmp(get(tr, r, "backend"), b) == 0)
            return (int)num(tr, r, "threads");
    return -1;
}

static int ops_count(const table *ops, const char *b, const char *opdir, int threads)
{
    char op[32];
    snprintf(op, sizeof op, "%.*s", (int)strcspn(opdir, "/"), opdir);
    const char *dir = strchr(opdir, '/') + 1;
    int n = 0;
    for (int r = 0; r < ops->nrow; r++)
        n += strcmp(get(ops, r, "backend"), b) == 0 && strcmp(get(ops, r, "op"), op) == 0 &&
             strcmp(get(ops, r, "direction"), dir) == 0 &&
             (int)num(ops, r, "threads") == threads && (int)num(ops, r, "batch") == 250;
    return n;
}

static void check_ops(const table *ops, const table *tr, int T)
{
    for (int r = 0; r < ops->nrow; r++) {
        const char *what[] = {"threads", "batch", "reps", "median_ms", "min_ms", "stddev_ms",
                              "gflops", "gbps", "pct_of_peak", "peak_gflops", "max_abs_err",
                              "max_rel_err"};
        for (size_t k = 0; k < sizeof what / sizeof what[0]; k++)
            num(ops, r, what[k]);
        if (!(num(ops, r, "gflops") > 0))
            fail_msg("ops.csv row %d (%s %s %s): gflops %s", r + 1, get(ops, r, "backend"),
                     get(ops, r, "op"), get(ops, r, "direction"), get(ops, r, "gflops"));
        /* >= 0: memory-bound ops print 0.000. */
        if (!(num(ops, r, "pct_of_peak") >= 0 &&
              num(ops, r, "pct_of_peak") <= TU_PCT_OF_PEAK_MAX))
            fail_msg("ops.csv row %d (%s %s %s): pct_of_peak %s not in [0, %g]", r + 1,
                     get(ops, r, "backend"), get(ops, r, "op"), get(ops, r, "direction"),
                     get(ops, r, "pct_of_peak"), TU_PCT_OF_PEAK_MAX);
        if (strcmp(get(ops, r, "ok"), "1") != 0 || !(num(ops, r, "max_rel_err") <= OPS_REL_TOL))
            fail_msg("ops.csv row %d (%s %s %s): ok=%s, max_rel_err %s (tolerance %g), "
                     "max_abs_err %s",
                     r + 1, get(ops, r, "backend"), get(ops, r, "op"), get(ops, r, "direction"),
                     get(ops, r, "ok"), get(ops, r, "max_rel_err"), OPS_REL_TOL,
                     get(ops, r, "max_abs_err"));
        /* one row per backend x op x direction x threads x batch */
        for (int q = 0; q < r; q++)
            if (strcmp(get(ops, q, "backend"), get(ops, r, "backend")) == 0 &&
                strcmp(get(ops, q, "op"), get(ops, r, "op")) == 0 &&
                strcmp(get(ops, q, "direction"), get(ops, r, "direction")) == 0 &&
                strcmp(get(ops, q, "threads"), get(ops, r, "threads")) == 0 &&
                strcmp(get(ops, q, "batch"), get(ops, r, "batch")) == 0)
                fail_msg("ops.csv rows %d and %d are the same measurement", q + 1, r + 1);
    }
    /* every backend of train.csv: every op and direction at 1 thread and at its own count */
    int ours = 0;
    for (int r = 0; r < tr->nrow; r++) {
        const char *b = get(tr, r, "backend");
        if (strcmp(b, "pytorch") == 0)
            continue;
        ours++;
        int tb = (int)num(tr, r, "threads");
        for (int k = 0; k < tu_bench_n_op_dirs; k++) {
            if (ops_count(ops, b, tu_bench_op_dirs[k], 1) != 1)
                fail_msg("ops.csv: %d rows of %s %s at 1 thread, want 1",
                         ops_count(ops, b, tu_bench_op_dirs[k], 1), b, tu_bench_op_dirs[k]);
            if (tb != 1 && ops_count(ops, b, tu_bench_op_dirs[k], tb) != 1)
                fail_msg("ops.csv: no row of %s %s at %d threads", b, tu_bench_op_dirs[k], tb);
        }
    }
    assert_true(ours >= 1);
    /* the peers, where they ran: their ops at 1 and T threads */
    const char *peers[] = {"onednn", "openblas", "onednn_avx2"};
    bool dnnl = false, dnnl_conv1 = false;
    for (int r = 0; r < ops->nrow; r++)
        if (strncmp(get(ops, r, "backend"), "onednn", 6) == 0) {
            dnnl = true;
            dnnl_conv1 |= strcmp(get(ops, r, "op"), "conv1") == 0;
        }
    if (dnnl && !dnnl_conv1)
        fail_msg("ops.csv: oneDNN ran, but on no conv1 row");
    for (int p = 0; p < 3; p++) {
        bool present = false, conv1 = false;
        for (int r = 0; r < ops->nrow; r++)
            if (strcmp(get(ops, r, "backend"), peers[p]) == 0) {
                present = true;
                conv1 |= strcmp(get(ops, r, "op"), "conv1") == 0;
            }
        if (!present)
            continue;
        /* the oneDNN that ran with our backends has every conv; the one run apart (the
         * default ISA where onednn_avx2 ran with ours) at least conv2 */
        for (int k = 0; k < tu_bench_n_op_dirs; k++) {
            const char *od = tu_bench_op_dirs[k];
            bool conv = strncmp(od, "conv2/", 6) == 0 || (conv1 && strncmp(od, "conv1/", 6) == 0);
            bool gemm = strncmp(od, "dense", 5) == 0 || strncmp(od, "conv2_gemm", 10) == 0;
            bool want = p == 1 ? gemm : conv;
            if (!want)
                continue;
            for (int t = 1; t <= T; t += (T > 1 ? T - 1 : 1))
                if (ops_count(ops, peers[p], tu_bench_op_dirs[k], t) != 1)
                    fail_msg("ops.csv: peer %s has %d rows of %s at %d threads, want 1", peers[p],
                             ops_count(ops, peers[p], tu_bench_op_dirs[k], t), tu_bench_op_dirs[k],
                             t);
        }
    }
}

static void check_train(const table *tr, const char *avail)
{
    /* one row per available backend, in the registry's order; PyTorch rows after them */
    int k = 0;
    for (const char *p = avail; *p;) {
        const char *e = strchr(p, ' ');
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
        if (k >= tr->nrow || strcmp(get(tr, k, "backend"), name) != 0)
            fail_msg("train.csv row %d is '%s', want backend %s", k + 1,
                     k < tr->nrow ? get(tr, k, "backend") : "(none)", name);
        k++;
        p = e ? e + 1 : p + strlen(p);
    }
    for (int r = 0; r < tr->nrow; r++) {
        const char *b = get(tr, r, "backend");
        if (r >= k && strcmp(b, "pytorch") != 0)
            fail_msg("train.csv: unexpected row '%s'", b);
        if (strcmp(get(tr, r, "ok"), "1") != 0)
            fail_msg("train.csv: %s failed: %s", b, get(tr, r, "status"));
        const char *pos[] = {"threads", "train_images_per_s", "infer_images_per_s", "latency_ms",
                             "peak_rss_mb", "final_loss", "train_loss", "step_ms"};
        for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
            if (!(num(tr, r, pos[i]) > 0))
                fail_msg("train.csv: %s %s = %s, want > 0", b, pos[i], get(tr, r, pos[i]));
        double acc = num(tr, r, "final_acc");
        assert_true(acc >= 0 && acc <= 1);
        assert_true(num(tr, r, "peak_rss_mb") < 4096);
        const char *m = get(tr, r, "matches_naive");
        if (strcmp(m, r == 0 ? "ref" : "yes") != 0)
            fail_msg("train.csv: %s matches_naive = '%s' (its loss %s, naive's %s)", b, m,
                     get(tr, r, "final_loss"), get(tr, 0, "final_loss"));
    }
}

static void check_breakdown(const table *bd, const table *tr)
{
    for (int r = 0; r < tr->nrow; r++) {
        const char *b = get(tr, r, "backend");
        if (strcmp(b, "pytorch") == 0)
            continue;
        int n = 0;
        double pct = 0;
        bool conv2f = false, conv2b = false;
        for (int q = 0; q < bd->nrow; q++) {
            if (strcmp(get(bd, q, "backend"), b) != 0)
                continue;
            n++;
            assert_true(num(bd, q, "ms") >= 0);
            pct += num(bd, q, "pct_of_step");
            conv2f |= strcmp(get(bd, q, "group"), "conv2 fwd") == 0;
            conv2b |= strcmp(get(bd, q, "group"), "conv2 bwd") == 0;
        }
        if (n < 10 || !conv2f || !conv2b || fabs(pct - 100) > 0.5)
            fail_msg("breakdown.csv: %s has %d phases (conv2 fwd %d, bwd %d), %.2f%% in all", b,
                     n, conv2f, conv2b, pct);
    }
}

static void check_scaling(const table *sc, int T)
{
    bool one = false, all = false;
    for (int r = 0; r < sc->nrow; r++) {
        int t = (int)num(sc, r, "threads");
        one |= t == 1;
        all |= t == T;
        assert_true(num(sc, r, "train_images_per_s") > 0);
        assert_true(num(sc, r, "speedup") > 0);
        assert_true(num(sc, r, "conv2_fwd_gflops") > 0);
        assert_true(num(sc, r, "conv2_bwd_d_gflops") > 0);
        assert_true(num(sc, r, "conv2_bwd_w_gflops") > 0);
        assert_string_equal(get(sc, r, "ok"), "1");
    }
    if (!one || !all)
        fail_msg("scaling.csv lacks 1 or %d threads", T);
}

static void test_quick_harness(void **state)
{
    (void)state;
    const char *san = getenv("SANITIZE");
    if (san && strcmp(san, "1") == 0) {
        print_message("skipped under SANITIZE=1: the timing harness runs in the plain build\n");
        skip();
    }
    char before[4096] = "", after[4096] = "";
    ssize_t n = readlink("bench/results/latest", before, sizeof before - 1);
    before[n > 0 ? n : 0] = 0;

    char *log = NULL;
    int rc;
    const char *reuse = getenv("SCNN_BENCH_RESULTS");
    if (reuse && *reuse) {
        /* checks an existing results directory instead (when debugging these checks) */
        results = path_in(reuse, ".");
        rc = tu_run(&log, "echo '== summary (reused)'");
    } else {
        tmpdir = tu_mkdtemp();
        results = path_in(tmpdir, "results");
        double t0 = (double)time(NULL);
        rc = tu_run(&log, "BENCH=quick PEERS=auto SCNN_BENCH_OUT='%s' BUILD='%s' sh bench/run.sh",
                    results, build_dir);
        print_message("quick harness: exit %d after %.0f s\n", rc, (double)time(NULL) - t0);
    }
    if (rc != 0) {
        size_t len = strlen(log);
        print_message("%s\n", log + (len > 4000 ? len - 4000 : 0));
        fail_msg("bench/run.sh (BENCH=quick) failed with status %d", rc);
    }
    n = readlink("bench/results/latest", after, sizeof after - 1);
    after[n > 0 ? n : 0] = 0;
    assert_string_equal(before, after);
    assert_non_null(strstr(log, "== summary"));

    /* the available backends, in registry order */
    char *avail_out = NULL;
    assert_int_equal(tu_run(&avail_out, "'%s/scnn' backends | awk '$2 == \"available\" "
                                        "{ printf \"%%s%%s\", s, $1; s = \" \" }'",
                            build_dir),
                     0);
    avail_out[strcspn(avail_out, "\n")] = 0;

    char *p = path_in(results, "train.csv");
    table *tr = table_read(p);
    free(p);
    check_train(tr, avail_out);
    int T = 1;
    for (int r = 0; r < tr->nrow; r++)
        if ((int)num(tr, r, "threads") > T)
            T = (int)num(tr, r, "threads");

    p = path_in(results, "ops.csv");
    table *ops = table_read(p);
    free(p);
    check_ops(ops, tr, T);

    p = path_in(results, "breakdown.csv");
    table *bd = table_read(p);
    free(p);
    check_breakdown(bd, tr);

    if (train_threads(tr, "omp") > 0) {
        p = path_in(results, "scaling.csv");
        table *sc = table_read(p);
        free(p);
        check_scaling(sc, T);
        table_free(sc);
    }

    p = path_in(results, "fulltrain.csv");
    table *fm = table_read(p);
    free(p);
    assert_int_equal(fm->nrow, 1);
    assert_true(num(fm, 0, "peak_rss_mb") > 0);
    assert_string_equal(get(fm, 0, "ok"), "1");
    table_free(fm);

    size_t len;
    p = path_in(results, "machine.txt");
    char *mt = read_text(p);
    free(p);
    assert_non_null(mt);
    const char *pk = strstr(mt, "fp32 fma peak, measured (avx2");
    assert_non_null(pk);
    double g1 = 0;
    assert_int_equal(sscanf(strchr(pk, ':') + 1, "%lf GFLOP/s at 1 thread", &g1), 1);
    assert_true(g1 > 0);
    assert_non_null(strstr(mt, "\ncpu: "));
    assert_non_null(strstr(mt, "\ngit revision: "));
    assert_non_null(strstr(mt, "\ncompiler: "));
    assert_non_null(strstr(mt, "OMP_NUM_THREADS="));
    /* what tells the host kinds apart (SPEC.md section 5) */
    assert_non_null(strstr(mt, "\ncpu id: vendor "));
    assert_non_null(strstr(mt, "\nl1d: "));
    assert_non_null(strstr(mt, "\nhost kind: "));
    if (tu_run(NULL, "grep -qw avx512f /proc/cpuinfo") == 0) {
        assert_non_null(strstr(mt, "\nfp32 fma peak, measured (avx512"));
        assert_non_null(strstr(mt, "\navx512/avx2 fma peak ratio: "));
    }
    free(mt);
    /* Google Benchmark's JSON of the per-operation rows, and the paired ratios */
    p = path_in(results, "ops.json");
    char *js = read_text(p);
    free(p);
    if (!js || !strstr(js, "\"benchmarks\"") || !strstr(js, "\"aggregate_name\": \"median\""))
        fail_msg("ops.json is missing or has no benchmarks");
    free(js);
    /* hyperfine's whole-command timings, one per backend it ran */
    if (tu_run(NULL, "command -v hyperfine >/dev/null") == 0) {
        p = path_in(results, "commands.csv");
        table *hf = table_read(p);
        free(p);
        assert_true(hf->nrow >= 1);
        for (int r = 0; r < hf->nrow; r++) {
            assert_true(num(hf, r, "mean") > 0);
            assert_non_null(strstr(avail_out, get(hf, r, "parameter_backend")));
        }
        table_free(hf);
        p = path_in(results, "commands.json");
        char *hj = read_text(p);
        free(p);
        if (!hj || !strstr(hj, "\"results\""))
            fail_msg("commands.json is missing or has no results");
        free(hj);
    }
    bool peer_ran = false;
    for (int r = 0; r < ops->nrow; r++)
        peer_ran |= strcmp(get(ops, r, "backend"), "onednn") == 0 ||
                    strcmp(get(ops, r, "backend"), "openblas") == 0;
    if (peer_ran) {
        p = path_in(results, "ratios.csv");
        table *ra = table_read(p);
        free(p);
        assert_true(ra->nrow > 0);
        for (int r = 0; r < ra->nrow; r++) {
            double lo = num(ra, r, "min_ratio"), med = num(ra, r, "median_ratio"),
                   hi = num(ra, r, "max_ratio");
            assert_true(lo > 0 && lo <= med && med <= hi);
            assert_true(num(ra, r, "rounds") >= 3);
        }
        table_free(ra);
    }

    p = path_in(results, "summary.txt");
    char *sum = read_text(p);
    free(p);
    assert_non_null(sum);
    for (int r = 0; r < tr->nrow; r++)
        assert_non_null(strstr(sum, get(tr, r, "backend")));
    free(sum);

    if (tu_run(NULL, "command -v gnuplot >/dev/null") == 0) {
        const char *png[] = {"ops_gflops.png", "pct_of_peak.png", "e2e_images_per_s.png",
                             "speedup_vs_naive.png", "step_breakdown.png", "thread_scaling.png"};
        for (size_t i = 0; i < sizeof png / sizeof png[0]; i++) {
            if (strcmp(png[i], "thread_scaling.png") == 0 && train_threads(tr, "omp") < 0)
                continue;
            p = path_in(results, png[i]);
            char *img = tu_read_file(p, &len);
            if (!img || len < 1000 || memcmp(img, "\x89PNG", 4) != 0)
                fail_msg("%s is missing or not a PNG", p);
            free(img);
            free(p);
        }
    }
    table_free(ops);
    table_free(bd);
    table_free(tr);
    free(avail_out);
    free(log);
    ran_ok = true;
}

/* README.md's section is what bench/readme.sh makes of the directory it names. */
static void test_readme_matches_results(void **state)
{
    (void)state;
    char *readme = read_text("README.md");
    assert_non_null(readme);
    const char *begin = strstr(readme, "<!-- bench:begin ");
    if (!begin)
        fail_msg("README.md has no '<!-- bench:begin DIR -->' marker (run `make readme`)");
    char dir[1024];
    assert_int_equal(sscanf(begin, "<!-- bench:begin %1023s -->", dir), 1);
    assert_non_null(strstr(begin, "<!-- bench:end -->"));
    if (access(dir, R_OK) != 0)
        fail_msg("README.md names %s, which is not there (commit it, or `make bench` and "
                 "`make readme`)",
                 dir);
    char *out = NULL;
    int rc = tu_run(&out, "SCNN_BENCH_E2E='%s/bench/scnn_bench_e2e' sh bench/readme.sh --check",
                    build_dir);
    if (rc != 0)
        fail_msg("README.md's benchmark section does not match %s: %s", dir, out);
    /* every plot it shows is there */
    for (const char *p = strstr(begin, "]("); p; p = strstr(p + 2, "](")) {
        char img[1200];
        if (sscanf(p + 2, "%1199[^)]", img) == 1 && strstr(img, ".png"))
            if (access(img, R_OK) != 0)
                fail_msg("README.md shows %s, which is missing", img);
    }
    free(out);
    free(readme);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(tu_run(&out, "BENCH=bogus BUILD='%s' sh bench/run.sh", build_dir), 2);
    assert_non_null(strstr(out, "BENCH must be quick, default or full"));
    int lines = 0;
    for (const char *c = out; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 1);
    free(out);
    assert_int_equal(tu_run(&out, "'%s/bench/scnn_bench_e2e' run --mode bogus --out-dir /tmp",
                            build_dir),
                     2);
    assert_non_null(strstr(out, "--mode must be"));
    free(out);
    assert_int_equal(
        tu_run(&out, "'%s/bench/scnn_bench_e2e' run --backends nosuch --out-dir /tmp", build_dir),
        2);
    assert_non_null(strstr(out, "unknown backend 'nosuch'"));
    free(out);
    assert_int_equal(
        tu_run(&out, "'%s/bench/scnn_bench_e2e' summary /nonexistent-dir", build_dir), 1);
    free(out);
    assert_int_not_equal(tu_run(&out, "sh bench/readme.sh --print /nonexistent-dir"), 0);
    assert_non_null(strstr(out, "readme: "));
    free(out);
}

static int teardown_all(void **state)
{
    (void)state;
    if (tmpdir && (ran_ok || !getenv("SCNN_KEEP_BENCH")))
        tu_rmrf(tmpdir);
    free(tmpdir);
    free(results);
    return 0;
}

int main(void)
{
    /* the bench programs live beside the scnn program under test ($SCNN_BIN = BUILD/scnn) */
    const char *bin = tu_scnn();
    const char *slash = strrchr(bin, '/');
    if (slash && strcmp(bin, "./scnn") != 0)
        snprintf(build_dir, sizeof build_dir, "%.*s", (int)(slash - bin), bin);
    else
        snprintf(build_dir, sizeof build_dir, "build");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_quick_harness),
        cmocka_unit_test(test_readme_matches_results),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
