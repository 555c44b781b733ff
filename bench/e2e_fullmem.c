/* `scnn_bench_e2e fullmem`: the peak memory of a real `scnn train` epoch. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"

/* ---- fullmem: a real `scnn train` epoch ---------------------------------------------------- */

int fullmem_main(const char *scnn, const char *backend, double seconds, const char *data,
                        const char *out, const char *log_path)
{
    char dir[] = "/tmp/scnn-bench-fullmem-XXXXXX";
    if (!mkdtemp(dir))
        die(1, "mkdtemp: %s", strerror(errno));
    char *argv[] = {(char *)scnn, "train", "--epochs", "1", "--iterations", "1", "--no-report",
                    "--data", (char *)data, "--out", dir, NULL};
    setenv("SCNN_BACKEND", backend, 1);
    FILE *log = log_path ? fopen(log_path, "w") : NULL;
    if (log)
        fprintf(log, "$ SCNN_BACKEND=%s %s train --epochs 1 --iterations 1 --no-report --data %s "
                     "--out %s   (time limit %.0f s)\n",
                backend, scnn, data, dir, seconds);
    child_res r;
    spawn(argv, 0, seconds > 0 ? seconds : 86400, log, &r);
    if (log)
        fclose(log);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not remove %s\n", prog, dir);
    bool completed = r.ok;
    bool ok = r.ok || (r.timed_out && r.rss_mb <= RSS_LIMIT_MB);
    /* the epoch line: "... images/s ..." is in the log; we keep the figures we need */
    /* no commas: it is a CSV field */
    const char *what = completed ? "a whole epoch: 144000 training images (48000 originals x3); "
                                   "validation on 12000; test on 10000"
                                 : "stopped at the time limit after loading and augmenting the "
                                   "data and some training batches (every buffer is allocated "
                                   "before the first step)";
    scnn_strbuf t = {0};
    scnn_strbuf_printf(&t, "# peak resident memory of `scnn train --epochs 1 --iterations 1` (all 60,000 "
                  "originals, 80/20 split, 2x augmentation, batch 250); wait4 ru_maxrss\n");
    scnn_strbuf_printf(&t, "backend,seconds,completed,peak_rss_mb,ok,what\n");
    scnn_strbuf_printf(&t, "%s,%.1f,%d,%.1f,%d,%s\n", backend, r.wall_s, completed ? 1 : 0, r.rss_mb,
              ok && r.rss_mb <= RSS_LIMIT_MB ? 1 : 0, what);
    write_file_or_die(out, &t);
    scnn_strbuf_free(&t);
    printf("full training setup (%s): peak %.0f MB after %.0f s, %s%s%s\n", backend, r.rss_mb,
           r.wall_s, what, ok ? "" : "; FAILED: ", ok ? "" : r.why);
    res_free(&r);
    return ok ? 0 : 1;
}
