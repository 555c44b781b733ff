/* The shipped models (models/): every checkpoint is listed in models/MANIFEST with its sha256
 * and the number of correct predictions on the first 1,000 test images with naive and with the
 * backend recorded there (the fastest where the manifest was written); this test demands
 * exactly those numbers. Also: scnn predict and scnn eval without --model use the shipped
 * ensemble, no models found is one line and exit 1, scnn export, and --resume refusing a
 * weights-only checkpoint.
 *
 * `build/tests/test_models --write` (make models-manifest) writes models/MANIFEST from the
 * checkpoints, with the same counting code as the checks, so the two cannot disagree. */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "scnn.h"
#include "scnn_png.h"

#define MANIFEST_IMAGES 1000
/* When the recorded fast backend cannot run here, the best one that can is held to this many
 * predictions of the 1,000 from the recorded count: backends round differently (naive sums in
 * double, the SIMD ones in float), which can only flip near-ties. Equal backends give equal
 * counts exactly, and the recorded one is always checked exactly where it runs. */
#define FAST_TOLERANCE 3
#define MAX_ENTRIES 64

typedef struct entry {
    char path[256];        /* relative to models/ */
    char sha[65];
    int images, naive, fast;
    char backend[32];
} entry;

static char root[PATH_MAX];   /* the models/ folder */
static entry entries[MAX_ENTRIES];
static int n_entries;

static bool find_root(void)
{
    struct stat sb;
    return tu_repo_path("models", root, sizeof root) && stat(root, &sb) == 0 &&
           S_ISDIR(sb.st_mode);
}

/* The folders of models/: per data set the clean protocol's models (models/<dataset>, what scnn
 * predict loads by default) and the seed protocol's (models/<dataset>-seed). */
static const char *const datasets[] = {"fashion_mnist", "mnist", "fashion_mnist-seed",
                                       "mnist-seed"};

/* Every checkpoint of each of those folders that exists, as scnn predict would load them. */
static int list_shipped(char *paths[MAX_ENTRIES])
{
    int total = 0;
    for (size_t d = 0; d < sizeof datasets / sizeof datasets[0]; d++) {
        char dir[PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/%s", root, datasets[d]);
        struct stat sb;
        if (stat(dir, &sb) != 0)
            continue;
        char **v;
        int n;
        if (scnn_ensemble_paths(dir, &v, &n) != SCNN_OK)
            fail_msg("%s", scnn_last_error());
        assert_true(total + n <= MAX_ENTRIES);
        for (int i = 0; i < n; i++)
            paths[total++] = strdup(v[i]);
        scnn_ensemble_paths_free(v, n);
    }
    return total;
}

static void file_sha256(const char *path, char out[65])
{
    size_t len;
    void *b = tu_read_file(path, &len);
    assert_non_null(b);
    scnn_sha256_hex(b, len, out);
    free(b);
}

/* Correct predictions of the checkpoint on the first n test images of its data set. */
static int count_correct(const char *path, const scnn_backend *be, int n, char *dataset,
                         size_t dslen)
{
    scnn_model *m;
    scnn_ckpt_meta meta;
    assert_int_equal(scnn_model_create(&m, 250, be, 0), SCNN_OK);
    if (scnn_checkpoint_load(path, m, &meta) != SCNN_OK)
        fail_msg("%s", scnn_last_error());
    assert_true(meta.weights_only);
    snprintf(dataset, dslen, "%s", meta.dataset);
    scnn_dataset test;
    if (scnn_dataset_load_dir(&test, tu_data_dir(meta.dataset), "t10k") != SCNN_OK)
        fail_msg("%s", scnn_last_error());
    assert_true(test.n >= (size_t)n);
    uint8_t *pred = malloc((size_t)n);
    assert_non_null(pred);
    scnn_model_evaluate(m, test.images, test.labels, (size_t)n, NULL, NULL, pred, NULL);
    int correct = 0;
    for (int i = 0; i < n; i++)
        correct += pred[i] == test.labels[i];
    free(pred);
    scnn_dataset_free(&test);
    scnn_model_free(m);
    return correct;
}

static const scnn_backend *fastest(void)
{
    char err[256];
    const scnn_backend *b = scnn_backend_select("auto", err, sizeof err);
    assert_non_null(b);
    return b;
}

static void read_manifest(void)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/MANIFEST", root);
    char *text = scnn_read_text(path, 1 << 20);
    if (!text)
        fail_msg("%s: cannot read it (make models-manifest writes it)", path);
    n_entries = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0])
            continue;
        assert_true(n_entries < MAX_ENTRIES);
        entry *e = &entries[n_entries++];
        if (sscanf(line, "%255s %64s %d %d %31s %d", e->path, e->sha, &e->images, &e->naive,
                   e->backend, &e->fast) != 6)
            fail_msg("%s: malformed line '%s'", path, line);
    }
    free(text);
}

/* ---- writing the manifest ------------------------------------------------------------------ */

static int write_manifest(void)
{
    const scnn_backend *fast = fastest();
    char buf[16384];
    size_t at = (size_t)snprintf(
        buf, sizeof buf,
        "# The shipped models: per checkpoint its sha256, then the number of correct predictions\n"
        "# on the first %d test images of its data set with the naive backend and with the\n"
        "# fastest this machine had (named). Written by 'make models-manifest'; tests/test_models.c\n"
        "# demands exactly these numbers.\n"
        "# path sha256 images naive backend correct\n",
        MANIFEST_IMAGES);
    char *paths[MAX_ENTRIES];
    int n = list_shipped(paths);
    for (int i = 0; i < n; i++) {
        char sha[65], ds[64];
        file_sha256(paths[i], sha);
        int cn = count_correct(paths[i], &scnn_backend_naive, MANIFEST_IMAGES, ds, sizeof ds);
        int cf = count_correct(paths[i], fast, MANIFEST_IMAGES, ds, sizeof ds);
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%s %s %d %d %s %d\n",
                               paths[i] + strlen(root) + 1, sha, MANIFEST_IMAGES, cn, fast->name,
                               cf);
        printf("%s: naive %d, %s %d of %d\n", paths[i], cn, fast->name, cf, MANIFEST_IMAGES);
        free(paths[i]);
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/MANIFEST", root);
    if (scnn_write_atomic(path, buf, at) != SCNN_OK) {
        fprintf(stderr, "%s\n", scnn_last_error());
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

/* ---- the manifest's checks ----------------------------------------------------------------- */

static void full_path(char *out, size_t len, const entry *e)
{
    if (snprintf(out, len, "%s/%s", root, e->path) >= (int)len)
        fail_msg("%s/%s: path too long", root, e->path);
}

/* Every checkpoint the lookup would load is listed, and every listed one exists. */
static void test_manifest_lists_every_checkpoint(void **state)
{
    (void)state;
    assert_true(n_entries >= 1);
    char *paths[MAX_ENTRIES];
    int n = list_shipped(paths);
    for (int i = 0; i < n; i++) {
        const char *rel = paths[i] + strlen(root) + 1;
        bool listed = false;
        for (int k = 0; k < n_entries; k++)
            listed = listed || strcmp(entries[k].path, rel) == 0;
        if (!listed)
            fail_msg("%s is not in %s/MANIFEST (make models-manifest)", paths[i], root);
        free(paths[i]);
    }
    assert_int_equal(n, n_entries);
}

static void test_sha256(void **state)
{
    (void)state;
    for (int k = 0; k < n_entries; k++) {
        char path[PATH_MAX + 300], sha[65];
        full_path(path, sizeof path, &entries[k]);
        file_sha256(path, sha);
        if (strcmp(sha, entries[k].sha) != 0)
            fail_msg("%s: sha256 %s, the manifest says %s", path, sha, entries[k].sha);
    }
}

/* Under the sanitizers the naive counts of the first checkpoint run every line the others would
 * (the plain build checks every one): naive inference is several times slower there, and the
 * seed-protocol folders bring the shipped checkpoints from 6 to 12. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define NAIVE_CHECKED 1
#else
#define NAIVE_CHECKED MAX_ENTRIES
#endif

static void test_naive_counts(void **state)
{
    (void)state;
    for (int k = 0; k < n_entries && k < NAIVE_CHECKED; k++) {
        char path[PATH_MAX + 300], ds[64];
        full_path(path, sizeof path, &entries[k]);
        int c = count_correct(path, &scnn_backend_naive, entries[k].images, ds, sizeof ds);
        printf("%s: naive %d of %d (manifest %d)\n", entries[k].path, c, entries[k].images,
               entries[k].naive);
        assert_int_equal(c, entries[k].naive);
    }
}

static void test_fast_counts(void **state)
{
    (void)state;
    for (int k = 0; k < n_entries; k++) {
        const entry *e = &entries[k];
        char path[PATH_MAX + 300], ds[64];
        full_path(path, sizeof path, e);
        const scnn_backend *rec = scnn_backend_find(e->backend);
        const char *why = "unknown to this build";
        if (rec && scnn_backend_available(rec, &why)) {
            int c = count_correct(path, rec, e->images, ds, sizeof ds);
            printf("%s: %s %d of %d (manifest %d)\n", e->path, rec->name, c, e->images, e->fast);
            assert_int_equal(c, e->fast);
            continue;
        }
        const scnn_backend *best = fastest();
        if (best == &scnn_backend_naive) {
            printf("%s: skipped: backend %s cannot run here (%s), and naive is the only one "
                   "that can\n",
                   e->path, e->backend, why);
            continue;
        }
        int c = count_correct(path, best, e->images, ds, sizeof ds);
        printf("%s: backend %s cannot run here (%s): %s instead, %d of %d (manifest %d, "
               "tolerance %d)\n",
               e->path, e->backend, why, best->name, c, e->images, e->fast, FAST_TOLERANCE);
        assert_in_range(c, e->fast - FAST_TOLERANCE, e->fast + FAST_TOLERANCE);
    }
}

/* ---- the CLI without --model ----------------------------------------------------------- */

/* The shipped ensemble's class and probability of test image i, on the default backend; returns
 * how many models it averages (a run still going ships the models it has finished: one model is
 * announced as a model, several as an ensemble). */
static int shipped_ensemble(const scnn_dataset *test, size_t n, float *probs)
{
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/fashion_mnist", root);
    scnn_ensemble *e;
    assert_int_equal(scnn_ensemble_open(&e, dir, "fashion_mnist", 64, fastest()), SCNN_OK);
    assert_int_equal(scnn_ensemble_probs(e, test->images, n, probs), SCNN_OK);
    const int size = scnn_ensemble_size(e);
    scnn_ensemble_free(e);
    return size;
}

static void test_predict_uses_shipped_ensemble(void **state)
{
    (void)state;
    scnn_dataset test;
    assert_int_equal(scnn_dataset_load_dir(&test, tu_data_dir("fashion_mnist"), "t10k"), SCNN_OK);
    enum { N = 4 };
    float probs[N * SCNN_CLASSES];
    const int models = shipped_ensemble(&test, N, probs);
    char *dir = tu_mkdtemp();
    for (int i = 0; i < N; i++) {
        char png[PATH_MAX], want[PATH_MAX + 128], *out;
        snprintf(png, sizeof png, "%s/t%d.png", dir, i);
        assert_int_equal(scnn_png_write_gray8(png, test.images + (size_t)i * SCNN_PIXELS, 28, 28),
                         SCNN_OK);
        int rc = tu_run(&out, "(env -u SCNN_MODELS %s predict %s 2>/dev/null)", tu_scnn(), png);
        assert_int_equal(rc, 0);
        const float *p = probs + i * SCNN_CLASSES;
        uint8_t c;
        scnn_probs_score(p, NULL, 1, NULL, NULL, &c);
        snprintf(want, sizeof want, "%s: %s (%d) %.4f\n", png,
                 scnn_class_names("fashion_mnist")[c], c, (double)p[c]);
        assert_string_equal(out, want);
        free(out);
    }
    /* stderr says which models */
    char *out;
    assert_int_equal(tu_run(&out, "env -u SCNN_MODELS %s predict %s/t0.png", tu_scnn(), dir), 0);
    if (models > 1)
        assert_non_null(strstr(out, "models/fashion_mnist: note: the ensemble of its "));
    else
        assert_null(strstr(out, "ensemble"));
    free(out);
    tu_rmrf(dir);
    free(dir);
    scnn_dataset_free(&test);
}

static void test_eval_uses_shipped_ensemble(void **state)
{
    (void)state;
    scnn_dataset test;
    assert_int_equal(scnn_dataset_load_dir(&test, tu_data_dir("fashion_mnist"), "t10k"), SCNN_OK);
    enum { N = 500 };
    float *probs = malloc(N * SCNN_CLASSES * sizeof *probs);
    assert_non_null(probs);
    const int models = shipped_ensemble(&test, N, probs);
    double acc;
    scnn_probs_score(probs, test.labels, N, NULL, &acc, NULL);
    char *out, want[64];
    char *dir = tu_mkdtemp();
    int rc = tu_run(&out, "env -u SCNN_MODELS %s eval --test-limit %d --probs %s/p.f32",
                    tu_scnn(), N, dir);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, models > 1 ? "ensemble of " : "/fashion_mnist/iter-"));
    snprintf(want, sizeof want, "\ntest_acc: %.4f\n", acc);
    if (!strstr(out, want))
        fail_msg("scnn eval without --model: want '%s' in:\n%s", want + 1, out);
    free(out);
    /* --probs wrote the probabilities it scored: N x 10 floats, those of the library's ensemble */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/p.f32", dir);
    size_t len;
    float *got = tu_read_file(path, &len);
    assert_non_null(got);
    assert_int_equal(len, N * SCNN_CLASSES * sizeof *got);
    for (int i = 0; i < N * SCNN_CLASSES; i++)
        if (!(fabsf(got[i] - probs[i]) <= 1e-6f))
            fail_msg("%s: probability %d is %g, the ensemble's %g", path, i, got[i], probs[i]);
    free(got);
    tu_rmrf(dir);
    free(dir);
    free(probs);
    scnn_dataset_free(&test);
}

/* A copy of the program where no models are beside it, $SCNN_MODELS empty: one line, exit 1. */
static void test_no_models(void **state)
{
    (void)state;
    struct stat sb;
    if (stat("/usr/local/share/scnn/models/fashion_mnist", &sb) == 0) {
        printf("skipped: /usr/local/share/scnn/models/fashion_mnist exists (installed models)\n");
        return;
    }
    char *dir = tu_mkdtemp(), *out;
    assert_int_equal(tu_run(&out, "mkdir %s/empty && cp %s %s/scnn", dir, tu_scnn(), dir), 0);
    free(out);
    const char *cmds[] = {"predict x.png", "eval"};
    for (int i = 0; i < 2; i++) {
        int rc = tu_run(&out, "SCNN_MODELS=%s/empty %s/scnn %s", dir, dir, cmds[i]);
        assert_int_equal(rc, 1);
        assert_int_equal(tu_count_lines(out), 1);
        assert_non_null(strstr(out, "no trained fashion_mnist models found"));
        assert_non_null(strstr(out, "scnn train"));
        assert_non_null(strstr(out, "/empty/fashion_mnist"));
        free(out);
    }
    tu_rmrf(dir);
    free(dir);
}

/* Exporting a shipped checkpoint gives the same bytes (the shipped ones are exports); neither
 * can be resumed from. */
static void test_export_and_resume(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *out;
    char src[PATH_MAX + 300], dst[PATH_MAX];
    full_path(src, sizeof src, &entries[0]);
    snprintf(dst, sizeof dst, "%s/w.ckpt", dir);
    assert_int_equal(tu_run(&out, "%s export %s %s", tu_scnn(), src, dst), 0);
    free(out);
    size_t la, lb;
    uint8_t *a = tu_read_file(src, &la), *b = tu_read_file(dst, &lb);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_true(la < 2000000);
    free(a);
    free(b);
    int rc = tu_run(&out, "%s train --resume %s", tu_scnn(), dst);
    assert_int_equal(rc, 1);
    assert_int_equal(tu_count_lines(out), 1);
    assert_non_null(strstr(out, "weights-only checkpoint"));
    assert_non_null(strstr(out, "cannot resume"));
    free(out);
    rc = tu_run(&out, "%s export %s", tu_scnn(), src);
    assert_int_equal(rc, 2);
    assert_int_equal(tu_count_lines(out), 1);
    free(out);
    rc = tu_run(&out, "%s export %s/missing.ckpt %s/x.ckpt", tu_scnn(), dir, dir);
    assert_int_equal(rc, 1);
    assert_int_equal(tu_count_lines(out), 1);
    free(out);
    tu_rmrf(dir);
    free(dir);
}

static int setup(void **state)
{
    (void)state;
    if (!find_root()) {
        fprintf(stderr, "no models/ folder (run from the repository root)\n");
        return -1;
    }
    read_manifest();
    return 0;
}

/* README.md's models section is what tools/readme_models.sh makes of models/ (no training figure
 * in the README is typed by hand). */
static void test_readme_matches_models(void **state)
{
    (void)state;
    char script[PATH_MAX], *out;
    assert_true(tu_repo_path("tools/readme_models.sh", script, sizeof script));
    int rc = tu_run(&out, "cd '%s/..' && sh tools/readme_models.sh --check 2>&1", root);
    if (rc != 0)
        fail_msg("%s", out);
    free(out);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--write") == 0) {
        if (!find_root()) {
            fprintf(stderr, "no models/ folder (run from the repository root)\n");
            return 1;
        }
        return write_manifest();
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_lists_every_checkpoint),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_naive_counts),
        cmocka_unit_test(test_fast_counts),
        cmocka_unit_test(test_predict_uses_shipped_ensemble),
        cmocka_unit_test(test_eval_uses_shipped_ensemble),
        cmocka_unit_test(test_no_models),
        cmocka_unit_test(test_export_and_resume),
        cmocka_unit_test(test_readme_matches_models),
    };
    return cmocka_run_group_tests_name("models", tests, setup, NULL);
}
