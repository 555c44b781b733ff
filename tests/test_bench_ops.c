/* The per-operation benchmark (bench/ops.c), run in-process in quick mode on batch 4: its
 * flags, its CSV (columns, one row per backend x op x direction x threads, finite figures,
 * correct results), and that a deliberately wrong kernel is reported and fails the run. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bench/bench_ops.h"

#define CSV_HEADER                                                                                \
    "backend,op,direction,shape,threads,batch,reps,median_ms,min_ms,stddev_ms,gflops,gbps,"      \
    "pct_of_peak,peak_gflops,max_abs_err,max_rel_err,ok,impl"
#define N_COLS 18


typedef struct csv_row {
    char *f[N_COLS];
} csv_row;

typedef struct csv {
    char *text;
    char *header;
    csv_row rows[1024];
    int n;
} csv;

/* Splits the file in place: '#' lines are context, the first other line the header. */
static void csv_load(csv *c, const char *path)
{
    size_t len;
    memset(c, 0, sizeof *c);
    char *raw = tu_read_file(path, &len);
    assert_non_null(raw);
    c->text = realloc(raw, len + 1);
    c->text[len] = 0;
    char *save = NULL;
    for (char *line = strtok_r(c->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        if (!c->header) {
            c->header = line;
            continue;
        }
        assert_true(c->n < 1024);
        csv_row *r = &c->rows[c->n++];
        int k = 0;
        for (char *p = line; k < N_COLS; k++) {
            r->f[k] = p;
            char *comma = strchr(p, ',');
            if (!comma) {
                k++;
                break;
            }
            *comma = 0;
            p = comma + 1;
        }
        if (k != N_COLS)
            fail_msg("CSV row %d has %d fields, want %d", c->n, k, N_COLS);
    }
}

static double num(const csv_row *r, int col)
{
    char *end;
    double v = strtod(r->f[col], &end);
    if (end == r->f[col] || *end)
        fail_msg("CSV field %d of %s %s %s is not a number: '%s'", col, r->f[0], r->f[1],
                 r->f[2], r->f[col]);
    return v;
}

enum { C_BACKEND, C_OP, C_DIR, C_SHAPE, C_THREADS, C_BATCH, C_REPS, C_MEDIAN, C_MIN, C_STDDEV,
       C_GFLOPS, C_GBPS, C_PCT, C_PEAK, C_MAX_ABS, C_MAX_REL, C_OK, C_IMPL };

static int count_rows(const csv *c, const char *backend, const char *op_dir, int threads)
{
    int n = 0;
    for (int i = 0; i < c->n; i++) {
        const csv_row *r = &c->rows[i];
        char od[64];
        snprintf(od, sizeof od, "%s/%s", r->f[C_OP], r->f[C_DIR]);
        if (strcmp(r->f[C_BACKEND], backend) == 0 && strcmp(od, op_dir) == 0 &&
            (threads < 0 || atoi(r->f[C_THREADS]) == threads))
            n++;
    }
    return n;
}

static char *read_log(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    s[fread(s, 1, (size_t)n, f)] = 0;
    return s;
}

/* ---- flags ---------------------------------------------------------------------------------- */

static int parse(bench_ops_opts *o, const char *line, char *err, size_t errlen)
{
    static char buf[512]; /* o keeps pointers into it */
    char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "scnn_bench_ops %s", line);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    bench_ops_defaults(o);
    FILE *out = fopen("/dev/null", "w");
    int r = bench_ops_parse(o, argc, argv, out, err, errlen);
    fclose(out);
    return r;
}

static void test_flags(void **state)
{
    (void)state;
    bench_ops_opts o;
    char err[512];
    assert_int_equal(parse(&o, "", err, sizeof err), 0);
    assert_int_equal(o.batch, 250);
    assert_int_equal(o.n_threads, 0);
    assert_int_equal(parse(&o, "--batch 4 --threads 1,2,1 --reps=5 --min-time 0.1 --quick "
                               "--ops conv2,dense --backends naive --out x.csv --seed 7",
                           err, sizeof err),
                     0);
    assert_int_equal(o.batch, 4);
    assert_int_equal(o.n_threads, 2); /* duplicates dropped */
    assert_int_equal(o.threads[1], 2);
    assert_int_equal(o.reps, 5);
    assert_true(fabs(o.min_time - 0.1) < 1e-12);
    assert_true(o.quick);
    assert_string_equal(o.ops, "conv2,dense");
    assert_string_equal(o.backends, "naive");
    assert_string_equal(o.out, "x.csv");
    assert_int_equal(o.seed, 7);
    assert_int_equal(parse(&o, "--help", err, sizeof err), 1);

    static const struct {
        const char *line, *msg;
    } bad[] = {
        {"--batch 0", "--batch"},        {"--batch x", "--batch"},
        {"--batch", "needs a value"},    {"--threads 0", "--threads"},
        {"--threads 1,x", "--threads"},  {"--reps 0", "--reps"},
        {"--min-time -1", "--min-time"}, {"--ops nosuch", "unknown op 'nosuch'"},
        {"--frobnicate", "unknown option"}, {"--quick=1", "--quick"},
        {"--seed -3", "--seed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        if (parse(&o, bad[i].line, err, sizeof err) != -1)
            fail_msg("'%s' was accepted", bad[i].line);
        if (!strstr(err, bad[i].msg))
            fail_msg("'%s': message '%s' does not mention '%s'", bad[i].line, err, bad[i].msg);
    }
}

static void test_unknown_backend(void **state)
{
    (void)state;
    bench_ops_opts o;
    bench_ops_defaults(&o);
    o.backends = "naive,nosuch";
    o.batch = 4;
    o.quick = true;
    FILE *log = tmpfile();
    o.log = log;
    assert_int_equal(bench_ops_run(&o), 2);
    fclose(log);
}

/* ---- the quick run --------------------------------------------------------------------------- */

/* ratios.csv: one line per backend and peer of a paired group, median within its min-max. */
static void check_ratios(const char *path, bool peers)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    text = realloc(text, len + 1);
    text[len] = 0;
    assert_non_null(strstr(text, "\nop,direction,threads,batch,backend,peer,rounds,median_ratio,"
                                 "min_ratio,max_ratio\n"));
    int n = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char op[32], dir[16], be[32], peer[32];
        int t, batch, rounds;
        double med, lo, hi;
        if (l[0] == '#' || sscanf(l, "%31[^,],%15[^,],%d,%d,%31[^,],%31[^,],%d,%lf,%lf,%lf", op,
                                  dir, &t, &batch, be, peer, &rounds, &med, &lo, &hi) != 10)
            continue;
        n++;
        assert_int_equal(rounds, 3); /* quick */
        assert_int_equal(batch, 4);
        assert_true(lo > 0 && lo <= med && med <= hi && isfinite(hi));
        assert_true(strcmp(peer, "onednn") == 0 || strcmp(peer, "openblas") == 0);
        assert_true(strcmp(be, "naive") != 0); /* the reference is not paired */
    }
    if (peers && n == 0)
        fail_msg("%s: no ratios although a peer ran", path);
    free(text);
}

static void test_quick_csv(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[512], json[512], ratios[512];
    snprintf(path, sizeof path, "%s/ops.csv", dir);
    snprintf(json, sizeof json, "%s/ops.json", dir);
    snprintf(ratios, sizeof ratios, "%s/ratios.csv", dir);
    bench_ops_opts o;
    bench_ops_defaults(&o);
    o.batch = 4;
    o.quick = true;
    o.threads[0] = 1;
    o.threads[1] = 2;
    o.n_threads = 2;
    o.out = path;
    o.json = json;
    o.pairs_out = ratios;
    FILE *log = tmpfile();
    o.log = log;
    assert_int_equal(bench_ops_run(&o), 0);
    char *text = read_log(log);
    fclose(log);
    assert_non_null(strstr(text, "# cpu: "));
    assert_non_null(strstr(text, "fp32 fma peak"));
    /* Google Benchmark's JSON of the same runs: its context, ours in it, the rows' statistics */
    size_t jlen;
    char *js = tu_read_file(json, &jlen);
    assert_non_null(js);
    js = realloc(js, jlen + 1);
    js[jlen] = 0;
    const char *want[] = {"\"context\"", "\"caches\"", "\"load_avg\"",
                          "\"cpu_scaling_enabled\"", "fp32_fma_peak", "\"benchmarks\"",
                          "\"aggregate_name\": \"median\"", "\"aggregate_name\": \"cv\"",
                          "\"aggregate_name\": \"min\"", "\"GFLOP/s\"", "\"GB/s\"",
                          "conv2/fwd/avx2/threads:1"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(js, want[i]))
            fail_msg("%s lacks %s", json, want[i]);
    assert_true(js[jlen - 2] == '}'); /* one whole document */
    free(js);

    csv *c = calloc(1, sizeof *c);
    csv_load(c, path);
    assert_non_null(c->header);
    assert_string_equal(c->header, CSV_HEADER);
    assert_true(strstr(c->text, "# scnn_bench_ops ") == c->text); /* context comes first */

    for (int i = 0; i < c->n; i++) {
        const csv_row *r = &c->rows[i];
        const char *who = r->f[C_BACKEND];
        for (int k = C_MEDIAN; k <= C_MAX_REL; k++)
            if (!isfinite(num(r, k)) || num(r, k) < 0)
                fail_msg("%s %s %s: field %d is %s", who, r->f[C_OP], r->f[C_DIR], k, r->f[k]);
        if (!(num(r, C_GFLOPS) > 0 && num(r, C_GBPS) > 0 && num(r, C_MEDIAN) > 0))
            fail_msg("%s %s %s: no rate", who, r->f[C_OP], r->f[C_DIR]);
        /* pct_of_peak is the row's rate over the peak it names; above 100 the log says so
         * (TU_PCT_OF_PEAK_MAX says why a row can be). */
        double pct = num(r, C_PCT), expect = 100 * num(r, C_GFLOPS) / num(r, C_PEAK);
        if (!(num(r, C_PEAK) > 0 && fabs(pct - expect) <= 0.01 * expect + 0.01))
            fail_msg("%s %s %s: pct_of_peak %s is not 100 x %s / %s", who, r->f[C_OP],
                     r->f[C_DIR], r->f[C_PCT], r->f[C_GFLOPS], r->f[C_PEAK]);
        if (!(pct <= TU_PCT_OF_PEAK_MAX))
            fail_msg("%s %s %s: %s%% of peak", who, r->f[C_OP], r->f[C_DIR], r->f[C_PCT]);
        if (pct > 100) {
            char said[128];
            snprintf(said, sizeof said, "warning: %s %s %s runs above the measured peak", who,
                     r->f[C_OP], r->f[C_DIR]);
            if (!strstr(text, said))
                fail_msg("%s %s %s: %s%% of peak without the log saying so", who, r->f[C_OP],
                         r->f[C_DIR], r->f[C_PCT]);
        }
        if (num(r, C_OK) != 1 || !(num(r, C_MAX_REL) <= 1e-4))
            fail_msg("%s %s %s failed its check (max_rel_err %s)", who, r->f[C_OP], r->f[C_DIR],
                     r->f[C_MAX_REL]);
        assert_int_equal((int)num(r, C_BATCH), 4);
        assert_true(num(r, C_REPS) >= 1);
        int t = (int)num(r, C_THREADS);
        assert_true(t == 1 || t == 2);
        char od[64];
        snprintf(od, sizeof od, "%s/%s", r->f[C_OP], r->f[C_DIR]);
        if (count_rows(c, who, od, t) != 1)
            fail_msg("%s %s at %d threads: %d rows", who, od, t, count_rows(c, who, od, t));
    }

    /* Every available backend measures every op x direction, at the same thread counts. */
    for (int b = 0; b < scnn_backend_count(); b++) {
        const scnn_backend *be = scnn_backend_at(b);
        const char *why;
        if (!scnn_backend_available(be, &why))
            continue;
        int n1 = count_rows(c, be->name, tu_bench_op_dirs[0], 1),
            n2 = count_rows(c, be->name, tu_bench_op_dirs[0], 2);
        assert_int_equal(n1 + n2 >= 1, 1);
        for (int i = 0; i < tu_bench_n_op_dirs; i++)
            if (count_rows(c, be->name, tu_bench_op_dirs[i], 1) != n1 ||
                count_rows(c, be->name, tu_bench_op_dirs[i], 2) != n2)
                fail_msg("%s: %s rows differ from %s's", be->name, tu_bench_op_dirs[i],
                         tu_bench_op_dirs[0]);
    }
    assert_int_equal(count_rows(c, "naive", "conv2/fwd", 2), 0); /* single-threaded: once */

    /* The peers: convolutions on oneDNN, GEMMs on OpenBLAS, at both thread counts. */
    const char *why;
    bool onednn = peer_onednn_built(&why), openblas = peer_openblas_built(&why);
    for (int i = 0; i < tu_bench_n_op_dirs; i++) {
        bool conv = strncmp(tu_bench_op_dirs[i], "conv1/", 6) == 0 ||
                    strncmp(tu_bench_op_dirs[i], "conv2/", 6) == 0;
        bool gemm = strncmp(tu_bench_op_dirs[i], "dense", 5) == 0 ||
                    strncmp(tu_bench_op_dirs[i], "conv2_gemm", 10) == 0;
        for (int t = 1; t <= 2; t++) {
            assert_int_equal(count_rows(c, "onednn", tu_bench_op_dirs[i], t),
                             onednn && conv ? 1 : 0);
            assert_int_equal(count_rows(c, "openblas", tu_bench_op_dirs[i], t),
                             openblas && gemm ? 1 : 0);
        }
    }
    if (onednn)
        for (int i = 0; i < c->n; i++)
            if (strcmp(c->rows[i].f[C_BACKEND], "onednn") == 0)
                assert_true(strlen(c->rows[i].f[C_IMPL]) > 0);
    check_ratios(ratios, onednn || openblas);
    free(text);
    free(c->text);
    free(c);
    tu_rmrf(dir);
    free(dir);
}

/* ---- a broken kernel ------------------------------------------------------------------------- */

/* gemm 0.1% off in one element; pool forward leaves its last output unwritten */
static void bad_gemm(bool ta, bool tb, int m, int n, int kk, float alpha, const float *a, int lda,
                     const float *b, int ldb, float beta, float *c, int ldc)
{
    scnn_backend_naive.gemm(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
    c[(size_t)(m - 1) * ldc + n - 1] *= 1.001f;
}

static void bad_maxpool_forward(int n, int h, int w, int c, const float *x, float *y, uint8_t *idx)
{
    float keep;
    size_t last = (size_t)n * (h / 2) * (w / 2) * c - 1;
    keep = y[last];
    scnn_backend_naive.maxpool_forward(n, h, w, c, x, y, idx);
    y[last] = keep;
}

static const scnn_backend broken = {
    .name = "broken",
    .description = "a deliberately wrong backend",
    .gemm = bad_gemm,
    .maxpool_forward = bad_maxpool_forward,
};

static void test_broken_kernel_fails(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[512];
    snprintf(path, sizeof path, "%s/ops.csv", dir);
    bench_ops_opts o;
    bench_ops_defaults(&o);
    o.batch = 4;
    o.quick = true;
    o.threads[0] = 1;
    o.n_threads = 1;
    o.backends = "naive,broken";
    o.ops = "dense_1,pool2,relu1";
    o.extra[o.n_extra++] = &broken;
    o.out = path;
    FILE *log = tmpfile();
    o.log = log;
    assert_int_equal(bench_ops_run(&o), 1);
    char *text = read_log(log);
    fclose(log);
    assert_non_null(strstr(text, "FAIL broken dense_1 fwd"));
    assert_non_null(strstr(text, "FAIL broken pool2 fwd"));
    free(text);

    csv *c = calloc(1, sizeof *c);
    csv_load(c, path);
    int broken_rows = 0;
    for (int i = 0; i < c->n; i++) {
        const csv_row *r = &c->rows[i];
        if (strcmp(r->f[C_BACKEND], "broken") != 0) {
            assert_string_equal(r->f[C_OK], "1");
            continue;
        }
        broken_rows++;
        bool gemm = strcmp(r->f[C_OP], "dense_1") == 0;
        bool pool_fwd = strcmp(r->f[C_OP], "pool2") == 0 && strcmp(r->f[C_DIR], "fwd") == 0;
        if (gemm || pool_fwd) {
            if (strcmp(r->f[C_OK], "0") != 0)
                fail_msg("broken %s %s passed", r->f[C_OP], r->f[C_DIR]);
            assert_string_equal(r->f[C_IMPL], "broken");
            if (gemm)
                assert_true(num(r, C_MAX_REL) > 1e-4 && isfinite(num(r, C_MAX_ABS)));
            else
                assert_true(isinf(num(r, C_MAX_REL))); /* the unwritten NaN */
        } else {
            /* what it leaves to naive runs naive, says so and passes */
            assert_string_equal(r->f[C_OK], "1");
            assert_string_equal(r->f[C_IMPL], "naive-fallback");
        }
    }
    assert_int_equal(broken_rows, 3 + 2 + 1);
    free(c->text);
    free(c);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_unknown_backend),
        cmocka_unit_test(test_quick_csv),
        cmocka_unit_test(test_broken_kernel_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
