/* `scnn_bench_e2e scaling`: training images/s of one backend over thread counts. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"

/* ---- scaling: training images/s of one backend over thread counts ------------------------- */

int scaling_main(const char *self, const char *backend, const int *threads, int nt,
                        const mode_cfg *M, const char *data, const char *ops_path,
                        const char *out, uint64_t seed)
{
    csv ops = {0};
    bool have_ops = ops_path && csv_read(&ops, ops_path);
    if (ops_path && !have_ops)
        die(1, "cannot read %s", ops_path);
    run_opts o = {.data = data, .mode = M, .seed = seed};
    scnn_strbuf t = {0};
    scnn_strbuf_printf(&t, "# %s training images/s (batch 250, median step after a warm-up) and conv2 "
                  "GFLOP/s (from %s) per thread count; speedup and efficiency vs 1 thread\n",
              backend, ops_path ? ops_path : "no ops CSV");
    scnn_strbuf_printf(&t, "backend,threads,train_images_per_s,speedup,efficiency,conv2_fwd_gflops,"
                  "conv2_bwd_d_gflops,conv2_bwd_w_gflops,onednn_conv2_fwd_gflops,peak_rss_mb,"
                  "ok\n");
    double base = NAN;
    int bad = 0;
    for (int i = 0; i < nt; i++) {
        e2e_row w;
        memset(&w, 0, sizeof w);
        snprintf(w.backend, sizeof w.backend, "%s", backend);
        w.threads = threads[i];
        spawn_spec tr = {"train", 250, 250, 0, M->train_warmup, M->train_steps, 0,
                         M->train_min_time, 1};
        child_res r;
        measure(&o, &w, self, NULL, &tr, &r);
        double ips = r.ok ? res_num(&r, "images_per_s") : NAN;
        double th = r.ok ? res_num(&r, "threads") : NAN;
        if (i == 0 || !isfinite(base))
            base = ips / threads[i];
        char a[64], b[64], c[64], d[64], e[64], f[64], g[64], h[64];
        double sp = ips / base;
        int eff = threads[i];
        scnn_strbuf_printf(&t, "%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%d\n", backend, eff,
                  csv_num(a, 64, ips, "%.3f"), csv_num(b, 64, sp, "%.4f"),
                  csv_num(c, 64, sp / eff, "%.4f"),
                  csv_num(d, 64, have_ops ? ops_field(&ops, backend, "conv2", "fwd", eff, "gflops") : NAN,
                          "%.3f"),
                  csv_num(e, 64, have_ops ? ops_field(&ops, backend, "conv2", "bwd_d", eff, "gflops") : NAN,
                          "%.3f"),
                  csv_num(f, 64, have_ops ? ops_field(&ops, backend, "conv2", "bwd_w", eff, "gflops") : NAN,
                          "%.3f"),
                  csv_num(g, 64, have_ops ? ops_field(&ops, "onednn", "conv2", "fwd", eff, "gflops") : NAN,
                          "%.3f"),
                  csv_num(h, 64, r.rss_mb, "%.1f"), r.ok ? 1 : 0);
        printf("scaling %s %d thread%s: %.1f training images/s (backend reports %.0f thread%s)"
               "%s%s\n",
               backend, eff, eff == 1 ? "" : "s", ips, th, th == 1 ? "" : "s",
               r.ok ? "" : " FAILED: ", r.ok ? "" : r.why);
        bad += !r.ok;
        res_free(&r);
    }
    write_file_or_die(out, &t);
    scnn_strbuf_free(&t);
    if (have_ops)
        csv_free(&ops);
    return bad ? 1 : 0;
}
