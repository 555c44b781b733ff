/* scnn_bench_ops: see bench/ops.c and --help. */
#include <stdio.h>

#include "bench/bench_ops.h"

int main(int argc, char **argv)
{
    bench_ops_opts o;
    bench_ops_defaults(&o);
    char err[512];
    int r = bench_ops_parse(&o, argc, argv, stdout, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "scnn_bench_ops: %s (see --help)\n", err);
        return 2;
    }
    if (r > 0)
        return 0;
    return bench_ops_run(&o);
}
