/* scnn report through the CLI: a short real run (and a second one to compare with) gives every
 * file, valid PNGs, and a report.md with the figures of summary.json; missing or malformed run
 * files are one-line errors (exit 1); an unfinished run and a missing gnuplot still report. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model_internal.h"
#include "model/train_state.h"
#include "model/run_folder.h"
#include "testutil.h"

static char *tmp;                 /* holds run/, cmp/ */
static bool have_gnuplot;

static const char *const pngs[] = {"accuracy.png",  "loss.png",     "train_vs_val.png",
                                   "confusion.png", "examples.png", "confused_pair.png"};

static int setup(void **state)
{
    (void)state;
    if (access(tu_data_dir("fashion_mnist"), R_OK) != 0) {
        fprintf(stderr, "# no Fashion-MNIST in %s ('make data' fetches it)\n",
                tu_data_dir("fashion_mnist"));
        return -1;
    }
    have_gnuplot = system("command -v gnuplot > /dev/null 2>&1") == 0;
    if (!have_gnuplot)
        fprintf(stderr, "# gnuplot not installed: the PNGs are not checked\n");
    tmp = tu_mkdtemp();
    char *out;
    /* The run to report on, and a smaller one under the seed's protocol to compare with; in
     * parallel, one thread each. */
    const char *train = "OMP_NUM_THREADS=1 %s train --iterations %d --augment 0 --limit %d "
                        "--epochs %d --test-limit 500 --batch 50 --protocol %s --out %s/%s";
    char a[1024], b[1024];
    snprintf(a, sizeof a, train, tu_scnn(), 2, 600, 2, "clean", tmp, "run");
    snprintf(b, sizeof b, train, tu_scnn(), 1, 300, 3, "seed", tmp, "cmp");
    int rc = tu_run(&out, "(%s > %s/cmp.log 2>&1) & %s > %s/run.log 2>&1; ra=$?; wait $!; "
                          "rb=$?; cat %s/run.log %s/cmp.log; exit $((ra + rb))",
                    b, tmp, a, tmp, tmp, tmp);
    if (rc != 0) {
        fprintf(stderr, "# training failed (%d): %s\n", rc, out);
        free(out);
        return -1;
    }
    free(out);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmrf_free(&tmp);
}

static char *read_text(const char *dir, const char *name)
{
    char path[1024];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *p = tu_read_file(path, &len);
    if (!p)
        fail_msg("cannot read %s", path);
    char *s = malloc(len + 1);
    memcpy(s, p, len);
    s[len] = 0;
    free(p);
    return s;
}

/* The number after "key": in a JSON text (the first occurrence). */
static double json_num(const char *text, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    if (!p)
        fail_msg("summary.json has no %s", key);
    return strtod(p + strlen(pat), NULL);
}

static double result_num(const char *text, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\n%s ", key);
    const char *p = strncmp(text, pat + 1, strlen(pat + 1)) == 0 ? text : strstr(text, pat);
    if (!p)
        fail_msg("result.txt has no %s", key);
    return strtod(p + (p == text ? strlen(pat) - 1 : strlen(pat)), NULL);
}

static void assert_contains(const char *text, const char *what, const char *where)
{
    if (!strstr(text, what))
        fail_msg("%s does not contain '%s'", where, what);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A whole, decodable PNG of sane size, not a single colour. */
static void assert_png(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len;
    unsigned char *raw = tu_read_file(path, &len);
    if (!raw)
        fail_msg("%s is missing", path);
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len < 33 || memcmp(raw, sig, 8) != 0 || memcmp(raw + 12, "IHDR", 4) != 0)
        fail_msg("%s: not a PNG (no signature or IHDR)", path);
    uint32_t w = (uint32_t)raw[16] << 24 | (uint32_t)raw[17] << 16 | raw[18] << 8 | raw[19];
    uint32_t h = (uint32_t)raw[20] << 24 | (uint32_t)raw[21] << 16 | raw[22] << 8 | raw[23];
    if (w < 300 || h < 200 || w > 4000 || h > 4000)
        fail_msg("%s: implausible size %ux%u", path, w, h);
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, raw, len))
        fail_msg("%s: %s", path, img.message);
    img.format = PNG_FORMAT_GRAY;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, NULL, px, 0, NULL))
        fail_msg("%s: %s", path, img.message);
    assert_int_equal(img.width, w);
    int lo = 255, hi = 0;
    for (size_t i = 0; i < PNG_IMAGE_SIZE(img); i++) {
        lo = px[i] < lo ? px[i] : lo;
        hi = px[i] > hi ? px[i] : hi;
    }
    if (hi - lo < 100)
        fail_msg("%s: nearly blank (grey levels %d..%d)", path, lo, hi);
    free(px);
    free(raw);
}

static void test_report_with_compare(void **state)
{
    (void)state;
    char *out, dir[1024];
    int rc = tu_run(&out, "%s report %s/run --compare %s/cmp", tu_scnn(), tmp, tmp);
    if (rc != 0)
        fail_msg("report failed (%d): %s", rc, out);
    free(out);
    snprintf(dir, sizeof dir, "%s/run/report", tmp);

    static const char *const files[] = {"report.md",     "per_class.csv", "confusion.csv",
                                        "accuracy.gp",   "loss.gp",       "train_vs_val.gp",
                                        "confusion.gp",  "examples.gp",   "confused_pair.gp",
                                        "history.dat",   "kept.dat",      "compare.dat",
                                        "confusion.dat", "examples.dat",  "confused_pair.dat"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (access(p, R_OK) != 0)
            fail_msg("%s is missing", p);
    }
    for (size_t i = 0; have_gnuplot && i < sizeof pngs / sizeof pngs[0]; i++)
        assert_png(dir, pngs[i]);

    char run[1024], buf[256];
    snprintf(run, sizeof run, "%s/run", tmp);
    char *md = read_text(dir, "report.md"), *js = read_text(run, "summary.json");
    assert_contains(md, "| test (mean ± std of 2 models) |", "report.md");
    /* The overview's figures are summary.json's. */
    snprintf(buf, sizeof buf, "| %.4f ± %.4f | %.2f%% ± %.2f%% |", json_num(js, "mean_test_loss"),
             json_num(js, "std_test_loss"), 100 * json_num(js, "mean_test_acc"),
             100 * json_num(js, "std_test_acc"));
    assert_contains(md, buf, "report.md");
    snprintf(buf, sizeof buf, "| training, at the kept epoch (mean) | %.4f | %.2f%% |",
             json_num(js, "mean_train_loss"), 100 * json_num(js, "mean_train_acc"));
    assert_contains(md, buf, "report.md");
    snprintf(buf, sizeof buf, "| validation, at the kept epoch (mean) | %.4f | %.2f%% |",
             json_num(js, "mean_val_loss"), 100 * json_num(js, "mean_val_acc"));
    assert_contains(md, buf, "report.md");
    snprintf(buf, sizeof buf, "probabilities) | %.4f | %.2f%% |",
             json_num(js, "ensemble_test_loss"), 100 * json_num(js, "ensemble_test_acc"));
    assert_contains(md, buf, "report.md");
    /* One row per model with its result.txt figures. */
    for (int k = 0; k < 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "iter-%d/result.txt", k);
        char *res = read_text(run, name);
        snprintf(buf, sizeof buf, "| %d | %d | %d | 2 | %.4f | %.2f%% | %.4f | %.2f%% | %.4f | "
                                  "%.2f%% |",
                 k, 1 + k, (int)result_num(res, "best_epoch"), result_num(res, "train_loss"),
                 100 * result_num(res, "train_acc"), result_num(res, "val_loss"),
                 100 * result_num(res, "val_acc"), result_num(res, "test_loss"),
                 100 * result_num(res, "test_acc"));
        assert_contains(md, buf, "report.md");
        free(res);
    }
    assert_contains(md, "| Fashion-MNIST test (mean of 5) | 0.2149 | 93.43% |", "report.md");
    assert_contains(md, "| Fashion-MNIST validation (same) | 0.1245 | 95.64% |", "report.md");
    assert_contains(md, "| trainable parameters | 493,772 |", "report.md");
    assert_contains(md, "| protocol | clean | seed |", "report.md");
    /* validation minus test loss, of each run's summary.json: what a leaky validation lowers */
    char cmp[1024];
    snprintf(cmp, sizeof cmp, "%s/cmp", tmp);
    char *cjs = read_text(cmp, "summary.json");
    snprintf(buf, sizeof buf, "| validation minus test loss (mean) | %+.4f | %+.4f |",
             json_num(js, "mean_val_loss") - json_num(js, "mean_test_loss"),
             json_num(cjs, "mean_val_loss") - json_num(cjs, "mean_test_loss"));
    assert_contains(md, buf, "report.md");
    snprintf(buf, sizeof buf, "| training / validation loss at the kept epoch | %.4f / %.4f | "
                              "%.4f / %.4f |",
             json_num(js, "mean_train_loss"), json_num(js, "mean_val_loss"),
             json_num(cjs, "mean_train_loss"), json_num(cjs, "mean_val_loss"));
    assert_contains(md, buf, "report.md");
    free(cjs);
    assert_contains(md, "not comparable", "report.md");
    for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++) {
        snprintf(buf, sizeof buf, "](%s)", pngs[i]);
        assert_contains(md, buf, "report.md");
    }

    /* The CSVs: 500 test images; the matrix's diagonal is the ensemble's accuracy. */
    char *pc = read_text(dir, "per_class.csv"), *cm = read_text(dir, "confusion.csv");
    assert_int_equal(count_lines(pc), 11);
    assert_int_equal(strncmp(pc, "class,name,precision,recall,f1,support\n", 39), 0);
    assert_int_equal(count_lines(cm), 11);
    const char *p = strchr(cm, '\n') + 1;
    long total = 0, diag = 0;
    for (int t = 0; t < 10; t++) {
        char *e;
        assert_int_equal(strtol(p, &e, 10), t);
        for (int c = 0; c < 10; c++) {
            assert_int_equal(*e, ',');
            long v = strtol(e + 1, &e, 10);
            total += v;
            diag += c == t ? v : 0;
        }
        assert_int_equal(*e, '\n');
        p = e + 1;
    }
    assert_int_equal(total, 500);
    assert_true(fabs((double)diag / 500 - json_num(js, "ensemble_test_acc")) < 1e-6);
    free(pc);
    free(cm);
    free(md);
    free(js);
}

/* rc 1 and exactly one line that names `what`. */
static void assert_one_line_error(const char *cmd_fmt, const char *arg, const char *what)
{
    char *out;
    int rc = tu_run(&out, cmd_fmt, tu_scnn(), arg);
    if (rc != 1 || count_lines(out) != 1 || !strstr(out, what))
        fail_msg("expected exit 1 and one line naming %s, got %d: %s", what, rc, out);
    free(out);
}

static void test_report_errors(void **state)
{
    (void)state;
    char *out, d[1024];
    snprintf(d, sizeof d, "%s/nonexistent", tmp);
    assert_one_line_error("%s report %s", d, "nonexistent");

    /* A copy of the run with one iteration's history gone. */
    snprintf(d, sizeof d, "%s/broken", tmp);
    assert_int_equal(tu_run(NULL, "rm -rf %s && cp -r %s/run %s && rm %s/iter-1/history.csv", d,
                            tmp, d, d),
                     0);
    assert_one_line_error("%s report %s", d, "iter-1/history.csv");
    assert_int_equal(tu_run(NULL, "printf 'epoch,loss,acc,val_loss,val_acc,seconds,images_per_s"
                                  "\\n1,0.5,x\\n' > %s/iter-1/history.csv", d),
                     0);
    assert_one_line_error("%s report %s", d, "iter-1/history.csv");
    assert_int_equal(tu_run(NULL, "cp %s/run/iter-1/history.csv %s/iter-1/ && "
                                  "echo 'best_epoch two' > %s/iter-1/result.txt", tmp, d, d),
                     0);
    assert_one_line_error("%s report %s", d, "iter-1/result.txt");
    assert_int_equal(tu_run(NULL, "cp %s/run/iter-1/result.txt %s/iter-1/ && "
                                  "head -c 100 %s/run/iter-1/test_probs.f32 > "
                                  "%s/iter-1/test_probs.f32", tmp, d, tmp, d),
                     0);
    assert_one_line_error("%s report %s", d, "test_probs.f32");
    assert_int_equal(tu_run(NULL, "cp %s/run/iter-1/test_probs.f32 %s/iter-1/ && "
                                  "echo 'epochs=lots' >> %s/run.conf", tmp, d, d),
                     0);
    assert_one_line_error("%s report %s", d, "run.conf");
    assert_int_equal(tu_run(NULL, "rm %s/run.conf", d), 0);
    assert_one_line_error("%s report %s", d, "run.conf");

    /* Usage errors: exit 2. */
    assert_int_equal(tu_run(&out, "%s report", tu_scnn()), 2);
    free(out);
    assert_int_equal(tu_run(&out, "%s report %s/run --bogus", tu_scnn(), tmp), 2);
    free(out);
    assert_int_equal(tu_run(&out, "%s report %s/run --compare", tu_scnn(), tmp), 2);
    free(out);
    assert_int_equal(tu_run(&out, "%s report --help", tu_scnn()), 0);
    assert_non_null(strstr(out, "--compare"));
    free(out);
}

/* An unfinished run (iteration 1 without result.txt, no summary.json) is reported from what
 * there is; without gnuplot the rest is still written, with a warning. */
static void test_report_unfinished_without_gnuplot(void **state)
{
    (void)state;
    char d[1024], rep[1100], *out;
    snprintf(d, sizeof d, "%s/unfinished", tmp);
    snprintf(rep, sizeof rep, "%s/rep", tmp);
    assert_int_equal(tu_run(NULL, "rm -rf %s && cp -r %s/run %s && rm %s/iter-1/result.txt "
                                  "%s/iter-1/test_probs.f32 %s/summary.json", d, tmp, d, d, d, d),
                     0);
    int rc = tu_run(&out, "SCNN_GNUPLOT= %s report %s --out %s", tu_scnn(), d, rep);
    if (rc != 0 || !strstr(out, "warning: gnuplot not found"))
        fail_msg("expected exit 0 and a warning, got %d: %s", rc, out);
    free(out);
    for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", rep, pngs[i]);
        if (access(p, F_OK) == 0)
            fail_msg("%s exists without gnuplot", p);
    }
    char *md = read_text(rep, "report.md"), *pc = read_text(rep, "per_class.csv");
    assert_contains(md, "Unfinished run", "report.md");
    assert_contains(md, "| test (mean ± std of 1 model) |", "report.md");
    assert_contains(md, "(unfinished)", "report.md");
    assert_contains(md, "gnuplot was not found", "report.md");
    assert_int_equal(count_lines(pc), 11);
    free(md);
    free(pc);
}

/* The run-folder readers on texts (what fuzz/fuzz_runfolder.c drives): the seed corpus's
 * finished run reads; the findings are refused with a one-line message. */
static const char conf[] = "dataset=fashion_mnist\ndata_dir=\nepochs=3\nbatch=250\nlimit=600\n"
                           "test_limit=200\nval_split=0.2\nseed=1\niterations=1\naugment=2\n"
                           "protocol=clean\nselect=val_loss\npatience=0\nbackend=naive\n";
static const char hist[] = "epoch,loss,acc,val_loss,val_acc,seconds,images_per_s\n"
                           "1,1.2,0.5,0.9,0.7,1.2,1234.5\n2,0.8,0.7,0.7,0.75,1.2,1300.1\n";
static const char res[] = "best_epoch 2\nepochs_run 2\ntrain_loss 0.8\ntrain_acc 0.7\n"
                          "val_loss 0.7\nval_acc 0.75\ntest_loss 0.73\ntest_acc 0.745\n"
                          "seconds 2.4\nseconds_per_epoch 1.2\nn_test 200\n";

static void expect_format_error(scnn_status st, const char *want)
{
    assert_int_equal(st, SCNN_ERR_FORMAT);
    if (!strstr(scnn_last_error(), want))
        fail_msg("message '%s' lacks '%s'", scnn_last_error(), want);
    assert_null(strchr(scnn_last_error(), '\n'));
}

static void test_run_files_from_memory(void **state)
{
    (void)state;
    assert_int_equal(scnn_run_parse_texts(conf, hist, res, NULL), SCNN_OK);
    assert_int_equal(scnn_train_parse_texts(conf, NULL, res), SCNN_OK);
    /* fuzz/corpus/runfolder/finding-summary-count-1e308: (long long)1e308 was undefined */
    expect_format_error(scnn_run_parse_texts(conf, hist, res,
                                                "{\"mean_test_loss\": 1, \"std_test_loss\": 0, "
                                                "\"mean_test_acc\": 1, \"std_test_acc\": 0, "
                                                "\"mean_train_loss\": 1, \"mean_train_acc\": 1, "
                                                "\"mean_val_loss\": 1, \"mean_val_acc\": 1, "
                                                "\"mean_best_epoch\": 1, "
                                                "\"ensemble_test_loss\": 1, "
                                                "\"ensemble_test_acc\": 1, \"n_val\": 1e308}"),
                        "n_val is 1e+308, not a count");
    /* a NaN passed every range check of result.txt, then was converted to int */
    expect_format_error(scnn_run_parse_texts(conf, hist, "best_epoch nan\n", NULL),
                        "expected 'key number'");
    /* train --resume's reader: a kept epoch past the epochs run indexed past the history */
    char far[sizeof res];
    snprintf(far, sizeof far, "%s", res);
    far[strlen("best_epoch ")] = '9';
    expect_format_error(scnn_train_parse_texts(conf, NULL, far), "result.txt: malformed");
    expect_format_error(scnn_train_parse_texts("dataset=fashion_mnist\nepochs=x\n", NULL, NULL),
                        "bad value for epochs");
}

/* summary.json's writer and reader are one module: what scnn_run_summary_write writes (with the
 * means it computes), scnn_run_load gives back in the same struct, at the precision the file
 * keeps; and result.txt's figures come back whole in iter_data. */
static void test_summary_round_trip(void **state)
{
    (void)state;
    char *d = tu_mkdtemp(), path[4200];
    scnn_train_opts o;
    scnn_train_opts_default(&o);
    o.epochs = 2;
    o.iterations = 2;
    o.out_dir = d;
    assert_int_equal(scnn_run_conf_write(d, &o), SCNN_OK);
    scnn_run_result rr[2] = {
        {.best_epoch = 1, .epochs_run = 2, .train_loss = 0.5, .train_acc = 0.8, .val_loss = 0.6,
         .val_acc = 0.75, .test_loss = 0.7, .test_acc = 0.7, .seconds = 3,
         .seconds_per_epoch = 1.5, .n_test = 100},
        {.best_epoch = 2, .epochs_run = 2, .train_loss = 0.3, .train_acc = 0.9, .val_loss = 0.4,
         .val_acc = 0.85, .test_loss = 0.5, .test_acc = 0.8, .seconds = 4,
         .seconds_per_epoch = 2, .n_test = 100}};
    hist_row h[2] = {{1, 0.5, 0.8, 0.6, 0.75, 1.5, 100}, {2, 0.3, 0.9, 0.4, 0.85, 2.5, 100}};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/iter-%d", d, k);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof path, "%s/iter-%d/history.csv", d, k);
        assert_int_equal(scnn_run_history_write(path, h, 2), SCNN_OK);
        snprintf(path, sizeof path, "%s/iter-%d/result.txt", d, k);
        assert_int_equal(scnn_run_result_write(path, &rr[k]), SCNN_OK);
    }
    scnn_run_summary s = {.seed = 1, .threads = 3, .epochs = 2, .batch = 250, .augment = 2,
                          .val_split = 0.2, .n_originals = 1000, .n_train = 800, .n_val = 200,
                          .n_test = 100, .n_iter = 2, .it = rr, .ens_loss = 0.45,
                          .ens_acc = 0.82};
    snprintf(s.dataset, sizeof s.dataset, "fashion_mnist");
    snprintf(s.protocol, sizeof s.protocol, "clean");
    snprintf(s.select, sizeof s.select, "val_loss");
    snprintf(s.backend, sizeof s.backend, "naive");
    snprintf(s.git_rev, sizeof s.git_rev, "abc1234");
    memset(s.data_sha256, 'a', 64);
    assert_int_equal(scnn_run_summary_write(d, &s), SCNN_OK);
    assert_true(fabs(s.mean_test_loss - 0.6) <= 1e-12);
    assert_true(fabs(s.mean_best_epoch - 1.5) <= 1e-12);

    run_data r;
    assert_int_equal(scnn_run_load(&r, d, false), SCNN_OK);
    assert_true(r.has_summary && r.summary_current && r.has_ensemble);
    assert_string_equal(r.sum.dataset, s.dataset);
    assert_string_equal(r.sum.protocol, s.protocol);
    assert_string_equal(r.sum.select, s.select);
    assert_string_equal(r.sum.backend, s.backend);
    assert_string_equal(r.sum.git_rev, s.git_rev);
    assert_string_equal(r.sum.data_sha256, s.data_sha256);
    assert_int_equal(r.sum.threads, 3);
    assert_int_equal(r.sum.n_originals, 1000);
    assert_int_equal(r.sum.n_train, 800);
    assert_int_equal(r.sum.n_val, 200);
    assert_int_equal(r.sum.n_test, 100);
    assert_int_equal(r.sum.n_iter, 2);
    const double got[] = {r.sum.mean_test_loss,  r.sum.std_test_loss,  r.sum.mean_test_acc,
                          r.sum.std_test_acc,    r.sum.mean_train_loss, r.sum.mean_train_acc,
                          r.sum.mean_val_loss,   r.sum.mean_val_acc,   r.sum.mean_best_epoch,
                          r.sum.ens_loss,        r.sum.ens_acc};
    const double want[] = {s.mean_test_loss,  s.std_test_loss,   s.mean_test_acc, s.std_test_acc,
                           s.mean_train_loss, s.mean_train_acc,  s.mean_val_loss, s.mean_val_acc,
                           s.mean_best_epoch, s.ens_loss,        s.ens_acc};
    /* mean_best_epoch keeps 2 decimals in summary.json, the rest 6 */
    for (size_t i = 0; i < sizeof got / sizeof got[0]; i++)
        assert_true(fabs(got[i] - want[i]) <= 5e-3);
    for (int k = 0; k < 2; k++) {
        const scnn_run_result *x = &r.it[k].res;
        assert_true(r.it[k].finished && x->complete);
        assert_int_equal(x->best_epoch, rr[k].best_epoch);
        assert_true(x->train_loss == rr[k].train_loss && x->val_acc == rr[k].val_acc &&
                    x->test_acc == rr[k].test_acc && x->seconds == rr[k].seconds);
        assert_int_equal(x->n_test, 100);
    }
    scnn_run_free(&r);
    tu_rmrf(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_with_compare),
        cmocka_unit_test(test_report_errors),
        cmocka_unit_test(test_run_files_from_memory),
        cmocka_unit_test(test_summary_round_trip),
        cmocka_unit_test(test_report_unfinished_without_gnuplot),
    };
    return cmocka_run_group_tests_name("report", tests, setup, teardown);
}
