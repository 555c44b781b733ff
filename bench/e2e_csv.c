/* Reading our own CSV files (no quoting, '#' comment lines). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"

/* ---- CSV reading (our own files: no quoting, '#' comment lines) ---------------------------- */

static int split(char *line, char **out, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    for (char *p = line; n < max;) {
        out[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

bool csv_read(csv *c, const char *path)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[8192];
    int cap = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *fields[64];
        int nf = split(line, fields, 64);
        if (!c->head) {
            c->ncol = nf;
            c->head = xmalloc(sizeof(char *) * (size_t)nf);
            for (int i = 0; i < nf; i++)
                c->head[i] = xstrdup(fields[i]);
            continue;
        }
        if (c->nrows == cap) {
            cap = cap ? 2 * cap : 64;
            c->cell = realloc(c->cell, sizeof(char **) * (size_t)cap);
            if (!c->cell)
                die(1, "out of memory");
        }
        char **row = xmalloc(sizeof(char *) * (size_t)c->ncol);
        for (int i = 0; i < c->ncol; i++)
            row[i] = xstrdup(i < nf ? fields[i] : "");
        c->cell[c->nrows++] = row;
    }
    fclose(f);
    return c->head != NULL;
}

void csv_free(csv *c)
{
    for (int r = 0; r < c->nrows; r++) {
        for (int i = 0; i < c->ncol; i++)
            free(c->cell[r][i]);
        free(c->cell[r]);
    }
    for (int i = 0; i < c->ncol; i++)
        free(c->head[i]);
    free(c->head);
    free(c->cell);
    memset(c, 0, sizeof *c);
}

int csv_col(const csv *c, const char *name)
{
    for (int i = 0; i < c->ncol; i++)
        if (strcmp(c->head[i], name) == 0)
            return i;
    return -1;
}

const char *csv_get(const csv *c, int r, const char *name)
{
    int i = csv_col(c, name);
    return i < 0 ? "" : c->cell[r][i];
}

double csv_num_at(const csv *c, int r, const char *name)
{
    const char *s = csv_get(c, r, name);
    char *end;
    double v = strtod(s, &end);
    return end == s ? NAN : v;
}

/* Column `field` of an ops.csv row (batch 250), NAN if absent. */
double ops_field(const csv *ops, const char *backend, const char *op, const char *dir,
                        int threads, const char *field)
{
    for (int r = 0; r < ops->nrows; r++)
        if (strcmp(csv_get(ops, r, "backend"), backend) == 0 &&
            strcmp(csv_get(ops, r, "op"), op) == 0 &&
            strcmp(csv_get(ops, r, "direction"), dir) == 0 &&
            (int)csv_num_at(ops, r, "threads") == threads &&
            (int)csv_num_at(ops, r, "batch") == 250)
            return csv_num_at(ops, r, field);
    return NAN;
}

/* conv2 of all three directions: time of the three together, as one rate (GFLOP/s). */
double conv2_all(const csv *ops, const char *backend, int threads)
{
    double t = ops_field(ops, backend, "conv2", "fwd", threads, "median_ms") +
               ops_field(ops, backend, "conv2", "bwd_d", threads, "median_ms") +
               ops_field(ops, backend, "conv2", "bwd_w", threads, "median_ms");
    double flops = 3 * 2.0 * 7929856.0 * 250;
    return isfinite(t) && t > 0 ? flops / (t * 1e-3) * 1e-9 : NAN;
}
