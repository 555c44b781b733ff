/* scnn_bench_e2e support: messages, allocation, the median, writing a file. The string buffer
 * and the atomic write are core's; the median is here because only this program needs one
 * (scnn_bench_ops's statistics are Google Benchmark's). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"

const char *prog = "scnn_bench_e2e";

void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die(1, "out of memory (%zu bytes)", n);
    return p;
}

char *xstrdup(const char *s)
{
    char *p = xmalloc(strlen(s) + 1);
    strcpy(p, s);
    return p;
}



static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median(double *v, int n)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* OMP_NUM_THREADS (its first number), else the online cores. */
int default_threads(void)
{
    const char *e = getenv("OMP_NUM_THREADS");
    long v;
    char buf[32];
    if (e && *e) {
        snprintf(buf, sizeof buf, "%.*s", (int)strcspn(e, ","), e);
        if (scnn_parse_long(buf, 1, 4096, &v))
            return (int)v;
    }
    return online_cores();
}

const char *csv_num(char *buf, size_t len, double v, const char *fmt)
{
    if (!isfinite(v))
        snprintf(buf, len, "nan");
    else
        snprintf(buf, len, fmt, v);
    return buf;
}

void write_file_or_die(const char *path, const scnn_strbuf *text)
{
    if (text->oom)
        die(1, "cannot write %s: out of memory", path);
    if (scnn_write_atomic(path, text->p ? text->p : "", text->len) != SCNN_OK)
        die(1, "cannot write %s: %s", path, scnn_last_error());
}
