/* scnn_bench_ops's command line: defaults, --help, and flags checked before anything runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "bench/bench_ops.h"
#include "scnn.h"

void bench_ops_defaults(bench_ops_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch = 250;
    o->reps = -1;
    o->min_time = -1;
    o->seed = 1;
    o->rounds = -1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: scnn_bench_ops [--backends LIST] [--ops LIST] [--threads LIST] [--batch N]\n"
            "                      [--reps N] [--min-time S] [--rounds N] [--out FILE.csv]\n"
            "                      [--json FILE.json] [--pairs-out FILE.csv] [--seed N] [--quick]\n\n"
            "Checks every heavy operation of the model against naive, then times it, on every\n"
            "available backend and on the peers (oneDNN convolution, OpenBLAS sgemm).\n\n"
            "  --backends LIST  comma list of backends and peers (default: all available)\n"
            "  --ops LIST       comma list of ops (default: all):\n");
    for (int i = 0; bench_op_name(i); i++)
        fprintf(f, "                     %-11s %s\n", bench_op_name(i), bench_op_what(i));
    fprintf(f,
            "  --threads LIST   thread counts to measure (default: 1 and OMP_NUM_THREADS or all\n"
            "                   cores); single-threaded backends run once\n"
            "  --batch N        images per batch (default 250, as the model trains)\n"
            "  --reps N         timed repetitions at least (default 3; naive at most 2)\n"
            "  --min-time S     seconds of timed repetitions per row at least (default 0.3)\n"
            "  --rounds N       paired rounds of each group with a peer (default 7, quick 3)\n"
            "  --out FILE.csv   also write the rows, with a '#' context header, as CSV\n"
            "  --json FILE      Google Benchmark's JSON of the same runs, with its context\n"
            "  --pairs-out FILE the ratios of our backends to the peers, from paired rounds\n"
            "  --seed N         seed of the random inputs (default 1)\n"
            "  --quick          minimal: 2 repetitions (naive 1), no minimum time\n"
            "Exit status: 0 all rows correct, 1 a row failed its check, 2 a usage/setup error.\n");
}


int bench_ops_parse(bench_ops_opts *o, int argc, char **argv, FILE *out, char *err,
                    size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *arg = argv[i], *val = NULL, *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) == 0 && eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg < 63 ? eq - arg : 63), arg);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
        }
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            usage(out);
            return 1;
        }
        if (strcmp(name, "--quick") == 0) {
            if (val) {
                snprintf(err, errlen, "--quick takes no value");
                return -1;
            }
            o->quick = true;
            continue;
        }
        static const char *const valued[] = {"--backends", "--ops",  "--threads", "--batch",
                                             "--reps",     "--min-time", "--out",  "--seed",
                                             "--json",     "--pairs-out", "--rounds"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            known |= strcmp(name, valued[k]) == 0;
        if (!known) {
            snprintf(err, errlen, "unknown option '%s'", arg);
            return -1;
        }
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value", name);
                return -1;
            }
            val = argv[++i];
        }
        long v;
        if (strcmp(name, "--backends") == 0 || strcmp(name, "--ops") == 0) {
            if (!*val) {
                snprintf(err, errlen, "%s needs a comma list of names", name);
                return -1;
            }
            if (name[2] == 'b') {
                o->backends = val;
            } else {
                char bad[64];
                if (!bench_op_list_check(val, bad, sizeof bad)) {
                    snprintf(err, errlen, "unknown op '%s' in --ops", bad);
                    return -1;
                }
                o->ops = val;
            }
        } else if (strcmp(name, "--threads") == 0) {
            o->n_threads = 0;
            for (const char *p = val; p;) {
                const char *e = strchr(p, ',');
                char num[32];
                snprintf(num, sizeof num, "%.*s", (int)(e ? e - p < 31 ? e - p : 31 : 31), p);
                if (!scnn_parse_long(num, 1, 1024, &v) || o->n_threads == BENCH_MAX_THREADS) {
                    snprintf(err, errlen,
                             "--threads needs a comma list of up to %d counts in 1..1024, got '%s'",
                             BENCH_MAX_THREADS, val);
                    return -1;
                }
                bool dup = false;
                for (int k = 0; k < o->n_threads; k++)
                    dup |= o->threads[k] == (int)v;
                if (!dup)
                    o->threads[o->n_threads++] = (int)v;
                p = e ? e + 1 : NULL;
            }
        } else if (strcmp(name, "--batch") == 0) {
            if (!scnn_parse_long(val, 1, 100000, &v)) {
                snprintf(err, errlen, "--batch needs an integer in 1..100000, got '%s'", val);
                return -1;
            }
            o->batch = (int)v;
        } else if (strcmp(name, "--reps") == 0) {
            if (!scnn_parse_long(val, 1, BENCH_MAX_REPS, &v)) {
                snprintf(err, errlen, "--reps needs an integer in 1..%d, got '%s'", BENCH_MAX_REPS,
                         val);
                return -1;
            }
            o->reps = (int)v;
        } else if (strcmp(name, "--min-time") == 0) {
            char *end;
            errno = 0;
            double d = strtod(val, &end);
            if (errno || end == val || *end || !(d >= 0 && d <= 600)) {
                snprintf(err, errlen, "--min-time needs seconds in 0..600, got '%s'", val);
                return -1;
            }
            o->min_time = d;
        } else if (strcmp(name, "--out") == 0 || strcmp(name, "--json") == 0 ||
                   strcmp(name, "--pairs-out") == 0) {
            if (!*val) {
                snprintf(err, errlen, "%s needs a file name", name);
                return -1;
            }
            *(name[2] == 'o' ? &o->out : name[2] == 'j' ? &o->json : &o->pairs_out) = val;
        } else if (strcmp(name, "--rounds") == 0) {
            if (!scnn_parse_long(val, 1, 1000, &v)) {
                snprintf(err, errlen, "--rounds needs an integer in 1..1000, got '%s'", val);
                return -1;
            }
            o->rounds = (int)v;
        } else if (strcmp(name, "--seed") == 0) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(val, &end, 10);
            if (errno || end == val || *end || val[0] == '-') {
                snprintf(err, errlen, "--seed needs a non-negative integer, got '%s'", val);
                return -1;
            }
            o->seed = s;
        }
    }
    return 0;
}
