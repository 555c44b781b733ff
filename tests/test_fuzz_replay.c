/* The fuzz corpora (fuzz/corpus/<target>/, each file at most 64 KiB) replayed through the fuzz
 * targets built with gcc (fuzz/fuzz_*.c): every seed and every past finding must still go
 * through its reader without a crash or a broken invariant (under SANITIZE=1, without a
 * memory error either). The libFuzzer runs themselves are `make fuzz`. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "testutil.h"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

/* Runs fn on every file of fuzz/corpus/<name>; returns how many (asserting at least min). */
static int replay(const char *name, fuzz_fn fn, int min)
{
    char dir[512];
    const char *root = getenv("SCNN_FUZZ_CORPUS");
    snprintf(dir, sizeof dir, "%s/%s", root && *root ? root : "fuzz/corpus", name);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: cannot open the corpus (run make test from the repository root, or set "
                 "SCNN_FUZZ_CORPUS)", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        uint8_t *data = tu_read_file(path, &len);
        assert_non_null(data);
        if (len > 65536)
            fail_msg("%s: %zu bytes, over the 64 KiB of -max_len", path, len);
        assert_int_equal(fn(data, len), 0);
        free(data);
        n++;
    }
    closedir(d);
    if (n < min)
        fail_msg("%s: %d files, want at least %d", dir, n, min);
    return n;
}

static void test_idx(void **state) { (void)state; replay("idx", scnn_fuzz_idx, 4); }
static void test_png(void **state) { (void)state; replay("png", scnn_fuzz_png, 4); }
static void test_checkpoint(void **state) { (void)state; replay("checkpoint", scnn_fuzz_checkpoint, 3); }
static void test_runfolder(void **state) { (void)state; replay("runfolder", scnn_fuzz_runfolder, 3); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx),
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_runfolder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
