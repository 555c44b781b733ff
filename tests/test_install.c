/* The library as a user gets it: make install into a staging DESTDIR, examples/classify.c built
 * against the staged install through pkg-config (PKG_CONFIG_LIBDIR, PKG_CONFIG_SYSROOT_DIR),
 * linked dynamically (ldd must find the staged libscnn.so.0, not a stray one elsewhere) and
 * statically, run on a real test PNG with the shipped models: the same line as scnn predict.
 * Also: libscnn.so exports exactly the public API, pkg-config's version is scnn --version's,
 * and make uninstall removes every installed file. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scnn.h"
#include "scnn_png.h"

static const char *const api[] = {
    "scnn_classifier_backend", "scnn_classifier_class_name", "scnn_classifier_close",
    "scnn_classifier_dataset", "scnn_classifier_models",     "scnn_classifier_open",
    "scnn_classify",           "scnn_lib_backends",          "scnn_lib_message",
    "scnn_lib_version",
};

static char *run_ok(const char *what, const char *cmd)
{
    char *out;
    int rc = tu_run(&out, "%s", cmd);
    if (rc != 0)
        fail_msg("%s failed (%d): %s\n%s", what, rc, cmd, out);
    return out;
}

static void test_staged_install(void **state)
{
    (void)state;
    const char *san = getenv("SANITIZE");
    if (san && strcmp(san, "1") == 0) {
        printf("skipped: a sanitized build makes no shared library (make test without SANITIZE "
               "checks the install)\n");
        return;
    }
    const char *build = getenv("SCNN_BUILD");
    if (!build || !*build)
        build = "build";
    static char cmd[65536];
    char *dir = tu_mkdtemp(), *out;
    char root[1024], stage[1100], pc[2400];
    if (!tu_repo_path("Makefile", root, sizeof root))
        fail_msg("no Makefile: run from the repository root");
    char *slash = strrchr(root, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(root, sizeof root, ".");
    snprintf(stage, sizeof stage, "%s/stage", dir);
    snprintf(pc, sizeof pc, "PKG_CONFIG_LIBDIR=%s/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s",
             stage, stage);

    snprintf(cmd, sizeof cmd, "make --no-print-directory -s -C %s install-files BUILD=%s DESTDIR=%s",
             root, build, stage);
    free(run_ok("make install", cmd));

    /* the version, one source */
    snprintf(cmd, sizeof cmd, "%s pkg-config --modversion scnn", pc);
    char *ver = run_ok("pkg-config", cmd);
    size_t vlen;
    char vpath[1100];
    snprintf(vpath, sizeof vpath, "%s/VERSION", root);
    char *file = tu_read_file(vpath, &vlen);
    assert_non_null(file);
    assert_int_equal(strlen(ver), vlen);
    assert_memory_equal(ver, file, vlen);
    snprintf(cmd, sizeof cmd, "%s/usr/local/bin/scnn --version", stage);
    out = run_ok("scnn --version", cmd);
    ver[vlen - 1] = 0;
    char want[128];
    snprintf(want, sizeof want, "scnn %s ", ver);
    assert_true(strncmp(out, want, strlen(want)) == 0);
    free(out);
    free(file);

    /* scnn(1), made from the --help texts, with every command's section */
    if (system("command -v help2man >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd, "man -l %s/usr/local/share/man/man1/scnn.1 2>/dev/null || "
                 "cat %s/usr/local/share/man/man1/scnn.1", stage, stage);
        out = run_ok("man scnn", cmd);
        assert_non_null(strstr(out, "scnn train"));
        assert_non_null(strstr(out, "--val-split"));
        free(out);
    } else {
        printf("skipped the man page check: help2man is not installed (make deps installs it)\n");
    }

    /* exactly the API is exported */
    snprintf(cmd, sizeof cmd,
             "nm -D --defined-only %s/usr/local/lib/libscnn.so.0 | awk '$2 == \"T\" { print $3 }' "
             "| sed 's/@.*//' | sort",
             stage);
    out = run_ok("nm", cmd);
    char expect[1024] = "";
    for (size_t i = 0; i < sizeof api / sizeof api[0]; i++)
        strcat(strcat(expect, api[i]), "\n");
    assert_string_equal(out, expect);
    free(out);
    snprintf(cmd, sizeof cmd, "objdump -p %s/usr/local/lib/libscnn.so.0 | grep SONAME", stage);
    out = run_ok("objdump", cmd);
    assert_non_null(strstr(out, "libscnn.so.0"));
    free(out);

    /* the example, dynamic and static */
    snprintf(cmd, sizeof cmd,
             "%s sh -c 'cc -std=c11 -Wall -Werror %s/examples/classify.c $(pkg-config --cflags "
             "--libs scnn) -lpng -o %s/classify && cc -std=c11 %s/examples/classify.c "
             "$(pkg-config --cflags scnn) $(pkg-config --static --libs-only-other scnn) "
             "%s/usr/local/lib/libscnn.a $(pkg-config --static --libs-only-l scnn | sed "
             "s/-lscnn//) -lpng -o %s/classify-static'",
             pc, root, dir, root, stage, dir);
    free(run_ok("building the example", cmd));
    snprintf(cmd, sizeof cmd, "LD_LIBRARY_PATH=%s/usr/local/lib ldd %s/classify | grep libscnn",
             stage, dir);
    out = run_ok("ldd", cmd);
    if (!strstr(out, stage))
        fail_msg("the example does not load the staged libscnn: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "ldd %s/classify-static | grep -c libscnn || true", dir);
    out = run_ok("ldd static", cmd);
    assert_string_equal(out, "0\n");
    free(out);

    scnn_dataset test;
    assert_int_equal(scnn_dataset_load_dir(&test, tu_data_dir("fashion_mnist"), "t10k"), SCNN_OK);
    char png[1200];
    snprintf(png, sizeof png, "%s/t0.png", dir);
    assert_int_equal(scnn_png_write_gray8(png, test.images, 28, 28), SCNN_OK);
    scnn_dataset_free(&test);
    snprintf(cmd, sizeof cmd,
             "(SCNN_MODELS=%s/usr/local/share/scnn/models %s/usr/local/bin/scnn predict %s "
             "2>/dev/null)",
             stage, stage, png);
    char *predicted = run_ok("scnn predict", cmd);
    const char *variants[] = {"classify", "classify-static"};
    for (int v = 0; v < 2; v++) {
        snprintf(cmd, sizeof cmd,
                 "(env -u SCNN_MODELS LD_LIBRARY_PATH=%s/usr/local/lib SCNN_MODELS=%s/usr/local/"
                 "share/scnn/models %s/%s %s 2>/dev/null)",
                 stage, stage, dir, variants[v], png);
        out = run_ok(variants[v], cmd);
        assert_string_equal(out, predicted);
        free(out);
    }
    free(predicted);

    snprintf(cmd, sizeof cmd,
             "make --no-print-directory -s -C %s uninstall BUILD=%s DESTDIR=%s && find %s "
             "-type f -o -type l",
             root, build, stage, stage);
    out = run_ok("make uninstall", cmd);
    assert_string_equal(out, "");
    free(out);
    free(ver);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_staged_install)};
    return cmocka_run_group_tests_name("install", tests, NULL, NULL);
}
