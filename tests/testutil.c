#include "testutil.h"

#include <png.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels/parity.h"
#include "scnn.h"

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *p = malloc(strlen(base) + 32);
    sprintf(p, "%s/scnn-test-XXXXXX", base);
    assert_non_null(mkdtemp(p));
    return p;
}

void tu_rmrf(const char *path)
{
    if (path && strncmp(path, "/tmp/", 5) == 0) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not remove %s\n", path);
    }
}

int tu_rmrf_free(char **path)
{
    tu_rmrf(*path);
    free(*path);
    *path = NULL;
    return 0;
}

const char *tu_scnn(void)
{
    const char *p = getenv("SCNN_BIN");
    return p && *p ? p : "./scnn";
}

int tu_run(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd - 8, fmt, ap);
    va_end(ap);
    strcat(cmd, " 2>&1");
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = 0;
    int st = pclose(f);
    if (out)
        *out = buf;
    else
        free(buf);
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

char *tu_scnn_expect(int want_rc, const char *want, const char *env, const char *args)
{
    char *out;
    int rc = tu_run(&out, "%s%s%s %s", env, *env ? " " : "", tu_scnn(), args);
    if (rc != want_rc || (want && !strstr(out, want)))
        fail_msg("scnn %s: exit %d (want %d), output:\n%s\n(wanted to contain '%s')", args, rc,
                 want_rc, out, want ? want : "");
    return out;
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(n > 0 ? (size_t)n : 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

const char *tu_data_dir(const char *dataset)
{
    static char buf[2][1024];
    static int which;
    which ^= 1;
    scnn_dataset_dir(buf[which], sizeof buf[which], dataset);
    return buf[which];
}

/* ---- parity harness ------------------------------------------------------------------------ */

double tu_max_rel_err(const float *got, const float *ref, size_t n)
{
    scnn_parity p;
    scnn_parity_compare(got, ref, n, INFINITY, &p);
    return p.max_rel;
}

bool tu_check_close(const char *what, const float *got, const float *ref, size_t n,
                    double rel_tol, char *msg, size_t msglen)
{
    scnn_parity p;
    bool ok = scnn_parity_compare(got, ref, n, rel_tol, &p);
    if (!ok && msg && msglen)
        snprintf(msg, msglen,
                 "%s: %zu of %zu elements differ; first at [%zu]: got %.9g, ref %.9g "
                 "(max rel err %.3g, tolerance %.3g, rms(ref) %.3g)",
                 what, p.bad, n, p.first, (double)got[p.first], (double)ref[p.first], p.max_rel,
                 rel_tol, p.rms);
    else if (msg && msglen)
        snprintf(msg, msglen, "%s: %zu elements match (max rel err %.3g)", what, n, p.max_rel);
    return ok;
}

void tu_assert_close_at(const char *file, int line, const char *what, const float *got,
                        const float *ref, size_t n, double rel_tol)
{
    char msg[512];
    if (!tu_check_close(what, got, ref, n, rel_tol, msg, sizeof msg)) {
        print_error("ERROR: %s\n", msg);
        _fail(file, line);
    }
}

void tu_assert_same_bits_at(const char *file, int line, const char *what, const float *got,
                            const float *ref, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &ref[i], sizeof(float)) != 0) {
            print_error("ERROR: %s: not bitwise identical at [%zu]: %.9g vs %.9g\n", what, i,
                        (double)got[i], (double)ref[i]);
            _fail(file, line);
        }
}

/* splitmix64 of (seed, i): independent of the library's generator, so the tests do not
 * depend on the code they test. */
uint64_t tu_rand_u64(uint64_t seed, uint64_t i)
{
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + i + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z = (z ^ (z >> 31)) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ull;
    return z ^ (z >> 32);
}

void tu_fill_uniform(float *x, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((double)(tu_rand_u64(seed, i) >> 40) / (double)(1 << 23) - 1.0);
}

void tu_fill_int(float *x, size_t n, uint64_t seed, int lo, int hi)
{
    const uint64_t span = (uint64_t)((int64_t)hi - lo + 1);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lo + (int64_t)(tu_rand_u64(seed, i) % span));
}

float *tu_new_uniform(size_t n, uint64_t seed)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    tu_fill_uniform(x, n, seed);
    return x;
}

float *tu_new_int(size_t n, uint64_t seed, int lo, int hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    tu_fill_int(x, n, seed, lo, hi);
    return x;
}

scnn_conv2d tu_conv_pads(int n, int h, int w, int c, int k, int kh, int kw, int top, int left,
                         int bottom, int right, bool relu)
{
    scnn_conv2d d = {.n = n, .h = h, .w = w, .c = c, .k = k, .kh = kh, .kw = kw, .relu = relu,
                     .pad_top = top, .pad_left = left, .pad_bottom = bottom, .pad_right = right};
    d.p = h + top + bottom - kh + 1;
    d.q = w + left + right - kw + 1;
    return d;
}

float *tu_new_nan(size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
    return x;
}

const char *const tu_bench_op_dirs[] = {
    "conv1/fwd",     "conv1/bwd_d",   "conv1/bwd_w",   "conv2/fwd",     "conv2/bwd_d",
    "conv2/bwd_w",   "conv2_gemm/fwd", "dense/fwd",    "dense/bwd_d",   "dense/bwd_w",
    "dense_1/fwd",   "dense_1/bwd_d", "dense_1/bwd_w", "dense_2/fwd",   "dense_2/bwd_d",
    "dense_2/bwd_w", "pool1/fwd",     "pool1/bwd",     "pool2/fwd",     "pool2/bwd",
    "relu1/bwd",     "bn0/fwd",       "bn0/bwd",       "bn1/fwd",       "bn1/bwd",
};
const int tu_bench_n_op_dirs = (int)(sizeof tu_bench_op_dirs / sizeof tu_bench_op_dirs[0]);

bool tu_repo_path(const char *rel, char *out, size_t len)
{
    struct stat sb;
    if (stat(rel, &sb) == 0) {
        snprintf(out, len, "%s", rel);
        return true;
    }
    /* Run from elsewhere: test binaries sit two levels below the root (build/tests). */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = 0;
    if (snprintf(out, len, "%s/../../%s", exe, rel) >= (int)len)
        return false;
    return stat(out, &sb) == 0;
}

int tu_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

void *tu_read_golden(const char *name, const char *env_var, size_t *len)
{
    const char *env = getenv(env_var);
    if (env && *env)
        return tu_read_file(env, len);
    char rel[4200], path[8400];
    snprintf(rel, sizeof rel, "tests/golden/%s", name);
    return tu_repo_path(rel, path, sizeof path) ? tu_read_file(path, len) : NULL;
}

/* Writes any PNG with libpng: samples as the file stores them (16-bit big-endian). */
void tu_write_png(const char *path, int w, int h, int depth, int ctype,
                  const uint8_t *data, const void *pal, int npal, const uint8_t *trns,
                  int ntrns, bool interlace)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed writing %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ctype,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal)
        png_set_PLTE(png, info, (png_const_colorp)pal, npal);
    if (trns)
        png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    int ch = ctype == PNG_COLOR_TYPE_RGB ? 3 : ctype == PNG_COLOR_TYPE_RGB_ALPHA ? 4
             : ctype == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t rowbytes = ((size_t)w * ch * depth + 7) / 8;
    int passes = interlace ? png_set_interlace_handling(png) : 1;
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++)
            png_write_row(png, data + (size_t)y * rowbytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    assert_int_equal(fclose(f), 0);
}

void tu_assert_same_file(const char *a, const char *b)
{
    size_t la, lb;
    void *pa = tu_read_file(a, &la), *pb = tu_read_file(b, &lb);
    if (!pa || !pb)
        fail_msg("missing %s or %s", a, b);
    if (la != lb || memcmp(pa, pb, la) != 0)
        fail_msg("%s and %s differ", a, b);
    free(pa);
    free(pb);
}

/* ---- guarded buffers ------------------------------------------------------------------------ */

/* The live guarded mappings, so that tu_free tells them from malloc'd pointers. A test holds a
 * few dozen at a time; a linear scan is plenty. */
#define TU_MAX_GUARDED 4096
static struct {
    void *p, *base;
    size_t len;
} guarded[TU_MAX_GUARDED];
static int n_guarded;

void *tu_guarded(size_t bytes, size_t align)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (align < 1)
        align = 1;
    size_t data = (bytes + align + page - 1) / page * page;
    size_t len = data + page;
    uint8_t *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + data, page, PROT_NONE), 0);
    uintptr_t end = (uintptr_t)(base + data);
    uint8_t *p = (uint8_t *)((end - bytes) / align * align);
    /* Garbage, not zeros: a kernel must not depend on what an output held. */
    memset(base, 0xa5, data);
    assert_true(n_guarded < TU_MAX_GUARDED);
    guarded[n_guarded].p = p;
    guarded[n_guarded].base = base;
    guarded[n_guarded].len = len;
    n_guarded++;
    return p;
}

void tu_free(void *p)
{
    if (!p)
        return;
    for (int i = n_guarded - 1; i >= 0; i--)
        if (guarded[i].p == p) {
            munmap(guarded[i].base, guarded[i].len);
            guarded[i] = guarded[--n_guarded];
            return;
        }
    free(p);
}

bool tu_dies(void (*fn)(void *), void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The default action for a fault (cmocka's handler would carry on with the other tests
         * in this child), and no report on stderr for the expected one. */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        fn(arg);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
