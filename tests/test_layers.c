/* The layer check (tests/check_layers.sh, run by `make test` and `make check-layers`): the real
 * build passes it, and a tree compiled with a deliberate back edge, a sideways edge or a circle
 * between two files is rejected with a line naming the symbol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

static char build_dir[1024];   /* the folder above this binary's tests/ */
static char script[1200];
static char src_root[1100];    /* the repository root, where the sources are */

/* Compiles src into dir/obj (creating its folder). */
static void compile(const char *dir, const char *obj, const char *src)
{
    char *out;
    int rc = tu_run(&out, "mkdir -p \"$(dirname '%s/%s')\" && printf '%%s\\n' '%s' | "
                          "${CC:-cc} -x c -c -o '%s/%s' -", dir, obj, src, dir, obj);
    if (rc != 0)
        fail_msg("cannot compile %s: %s", obj, out ? out : "");
    free(out);
}

static int check(const char *dir, const char *root, char **out)
{
    return tu_run(out, "sh '%s' '%s' '%s'", script, dir, root);
}

static void test_real_build_passes(void **state)
{
    (void)state;
    char *out;
    int rc = check(build_dir, src_root, &out);
    if (rc != 0 || !strstr(out, "check-layers: ok"))
        fail_msg("the build in %s fails the layer check (exit %d):\n%s", build_dir, rc, out);
    free(out);
}

static void test_back_edge_rejected(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *out;
    compile(dir, "core/low.o", "int scnn_high(void); int scnn_low(void) { return scnn_high(); }");
    compile(dir, "model/high.o", "int scnn_high(void) { return 1; }");
    assert_int_equal(check(dir, "", &out), 1);
    if (!strstr(out, "back edge: core/low.o (core) refers to scnn_high, defined in model/high.o"))
        fail_msg("no back edge named:\n%s", out);
    free(out);

    /* the same two files the right way round pass */
    tu_rmrf(dir);
    free(dir);
    dir = tu_mkdtemp();
    compile(dir, "core/low.o", "int scnn_low(void) { return 1; }");
    compile(dir, "model/high.o", "int scnn_low(void); int scnn_high(void) { return scnn_low(); }");
    assert_int_equal(check(dir, "", &out), 0);
    free(out);
    tu_rmrf(dir);
    free(dir);
}

static void test_sideways_and_circle_rejected(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), *out;
    /* datasets and kernels share a rank, not a floor */
    compile(dir, "datasets/a.o", "int scnn_k(void); int scnn_d(void) { return scnn_k(); }");
    compile(dir, "kernels/b.o", "int scnn_k(void) { return 2; }");
    /* two files of one floor that call each other */
    compile(dir, "model/x.o", "int scnn_y(void); int scnn_x(void) { return scnn_y(); }");
    compile(dir, "model/y.o", "int scnn_x(void); int scnn_y(void) { return scnn_x(); }");
    assert_int_equal(check(dir, "", &out), 1);
    if (!strstr(out, "back edge: datasets/a.o (datasets) refers to scnn_k, defined in kernels/b.o"))
        fail_msg("no sideways edge named:\n%s", out);
    if (!strstr(out, "circle: model/x.o refers to model/y.o (scnn_y) and model/y.o refers back "
                     "(scnn_x)"))
        fail_msg("no circle named:\n%s", out);
    free(out);
    tu_rmrf(dir);
    free(dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* argv[0] is BUILD/tests/test_layers */
    snprintf(build_dir, sizeof build_dir, "%s", argv[0]);
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(build_dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(build_dir, sizeof build_dir, "%s", up ? "." : "..");
    }
    struct stat sb;
    snprintf(src_root, sizeof src_root, ".");
    if (stat("tests/check_layers.sh", &sb) != 0)
        snprintf(src_root, sizeof src_root, "%s/..", build_dir);
    snprintf(script, sizeof script, "%s/tests/check_layers.sh", src_root);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_build_passes),
        cmocka_unit_test(test_back_edge_rejected),
        cmocka_unit_test(test_sideways_and_circle_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
