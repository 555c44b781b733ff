/* `scnn_bench_e2e summary`: the closing table and the targets, from a results folder. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"

/* ---- summary ------------------------------------------------------------------------------- */

static void fmt(char *buf, size_t len, const char *f, double v)
{
    if (isfinite(v))
        snprintf(buf, len, f, v);
    else
        snprintf(buf, len, "-");
}

/* One line of the targets table: value against goal (a ratio when peer is finite; its paired
 * per-round min-max in range, when there is one). goal < 0: at most -goal; pct: a percentage. */
static void target_line(bool markdown, const char *what, double ours, double peer, double value,
                        const char *range, double goal, char unit)
{
    const bool ratio = unit == 'x', pct = unit == '%', lower = goal < 0;
    char o[32], pe[32], val[96], g[32];
    fmt(o, sizeof o, "%.1f", ours);
    fmt(pe, sizeof pe, "%.1f", peer);
    fmt(val, sizeof val, ratio ? "%.2fx" : pct ? "%.0f%%" : "%.0f", value);
    if (range && range[0] && isfinite(value))
        snprintf(val + strlen(val), sizeof val - strlen(val), " (%s)", range);
    snprintf(g, sizeof g, ratio ? "%s %.2fx" : pct ? "%s %.0f%%" : "%s %.0f", lower ? "<" : ">=",
             fabs(goal));
    const char *met = !isfinite(value)                         ? "not measured"
                      : (lower ? value < -goal : value >= goal) ? "met"
                                                                : "MISSED";
    if (markdown)
        printf("| %s | %s | %s | %s | %s | %s |\n", what, o, pe, val, g, met);
    else
        printf("  %-70s %9s %9s %20s %9s  %s\n", what, o, pe, val, g, met);
}

static bool is_peer(const char *b)
{
    return strncmp(b, "onednn", 6) == 0 || strcmp(b, "openblas") == 0 || strcmp(b, "pytorch") == 0;
}

/* Our fastest backend on op/dir at exactly `threads` threads (batch 250); NULL if none. */
static const char *fastest(const csv *ops, const char *op, const char *dir, int threads,
                           double *gflops)
{
    const char *best = NULL;
    *gflops = NAN;
    for (int r = 0; r < ops->nrows; r++) {
        const char *b = csv_get(ops, r, "backend");
        if (is_peer(b) || strcmp(csv_get(ops, r, "op"), op) ||
            strcmp(csv_get(ops, r, "direction"), dir) ||
            (int)csv_num_at(ops, r, "threads") != threads ||
            (int)csv_num_at(ops, r, "batch") != 250)
            continue;
        double g = csv_num_at(ops, r, "gflops");
        if (!best || g > *gflops) {
            best = b;
            *gflops = g;
        }
    }
    return best;
}

/* ours / peer on op/dir at `threads`: the median of the paired per-round ratios (ratios.csv)
 * with their min-max, else (an older results folder) the ratio of the two rows' medians. */
static double paired_ratio(const csv *ratios, bool have_ratios, const csv *ops, const char *be,
                           const char *peer, const char *op, const char *dir, int threads,
                           char *range, size_t rlen)
{
    range[0] = 0;
    for (int r = 0; have_ratios && r < ratios->nrows; r++)
        if (strcmp(csv_get(ratios, r, "backend"), be) == 0 &&
            strcmp(csv_get(ratios, r, "peer"), peer) == 0 &&
            strcmp(csv_get(ratios, r, "op"), op) == 0 &&
            strcmp(csv_get(ratios, r, "direction"), dir) == 0 &&
            (int)csv_num_at(ratios, r, "threads") == threads) {
            snprintf(range, rlen, "%.2f-%.2f, %d rounds", csv_num_at(ratios, r, "min_ratio"),
                     csv_num_at(ratios, r, "max_ratio"), (int)csv_num_at(ratios, r, "rounds"));
            return csv_num_at(ratios, r, "median_ratio");
        }
    return ops_field(ops, be, op, dir, threads, "gflops") /
           ops_field(ops, peer, op, dir, threads, "gflops");
}

/* The measured FMA peak of isa at `threads` from ops.csv's header; NAN if absent. */
static double header_peak(const char *path, const char *isa, int threads)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    char line[4096], want[64];
    double v = NAN;
    snprintf(want, sizeof want, "# fp32 fma peak, measured (%s):", isa);
    while (fgets(line, sizeof line, f) && !isfinite(v))
        if (strncmp(line, want, strlen(want)) == 0)
            for (char *p = line + strlen(want); p && *p; p = strchr(p + 1, ',')) {
                double g;
                int t;
                if (sscanf(p + (*p == ','), " %lf GFLOP/s at %d thread", &g, &t) == 2 &&
                    t == threads)
                    v = g;
            }
    fclose(f);
    return v;
}

/* The line `key: ...` of dir/machine.txt, or "" */
static void machine_line(const char *dir, const char *key, char *out, size_t len)
{
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/machine.txt", dir);
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t k = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') {
            line[strcspn(line, "\n")] = 0;
            snprintf(out, len, "%s", line + k + 1 + (line[k + 1] == ' '));
            break;
        }
    fclose(f);
}

/* Issue 11's targets, from the run's own figures: our fastest backend at 1 and at the run's
 * thread count T against oneDNN at its default ISA and OpenBLAS at its own kernel choice; the
 * training step against the FP32 limit (0.6 x the widest ISA's measured T-thread peak over 55
 * MFLOP per image) and against PyTorch. */
static void targets(bool markdown, const char *dir, const csv *ops, bool have_ops, const csv *tr,
                    const csv *fm, bool have_fm, const csv *ratios, bool have_ratios)
{
    int T = 1;
    for (int r = 0; r < tr->nrows; r++)
        if ((int)csv_num_at(tr, r, "threads") > T)
            T = (int)csv_num_at(tr, r, "threads");
    char kind[512], ops_path[4096];
    machine_line(dir, "host kind", kind, sizeof kind);
    const bool zen4 = strncmp(kind, "Zen 4 kind", 10) == 0;
    const double conv_goal = zen4 ? 0.95 : 1.0;
    if (markdown)
        printf("\nThe kernel targets (issue 11), from this run's figures (GFLOP/s; ratios: ours over "
               "the peer, the median of paired rounds with their min-max; host kind: %s):\n\n"
               "| target | ours | peer | ratio / value | goal | |\n|---|---:|---:|---:|---:|---|\n",
               kind[0] ? kind : "not recorded");
    else
        printf("kernel targets (issue 11), from this run's figures (GFLOP/s; ratios: ours over the "
               "peer, median of paired rounds (min-max); host kind: %s):\n",
               kind[0] ? kind : "not recorded");
    static const struct {
        const char *op, *dir, *name, *peer;
        double goal;  /* 0: conv_goal */
    } kt[] = {
        {"conv2", "fwd", "conv2 forward", "onednn", 0},
        {"conv2", "bwd_d", "conv2 backward-data", "onednn", 0},
        {"conv2", "bwd_w", "conv2 backward-filter", "onednn", 0},
        {"conv1", "fwd", "conv1 forward", "onednn", 0},
        {"conv1", "bwd_w", "conv1 backward-filter", "onednn", 0},
        {"conv1", "bwd_d", "conv1 backward-data", "onednn", 3.0},
        {"dense", "fwd", "dense forward", "openblas", 1.0},
        {"dense", "bwd_d", "dense backward-data", "openblas", 1.0},
        {"dense", "bwd_w", "dense backward-filter", "openblas", 1.0},
    };
    char what[160], range[96];
    for (int ti = 0; have_ops && ti < (T > 1 ? 2 : 1); ti++) {
        const int t = ti ? T : 1;
        for (size_t i = 0; i < sizeof kt / sizeof kt[0]; i++) {
            double g, pg = ops_field(ops, kt[i].peer, kt[i].op, kt[i].dir, t, "gflops");
            const char *be = fastest(ops, kt[i].op, kt[i].dir, t, &g);
            snprintf(what, sizeof what, "%s %d thread%s, %s vs %s", be ? be : "-", t,
                     t == 1 ? "" : "s", kt[i].name,
                     strcmp(kt[i].peer, "onednn") == 0 ? "oneDNN (default ISA)" : "OpenBLAS sgemm");
            double v = be ? paired_ratio(ratios, have_ratios, ops, be, kt[i].peer, kt[i].op,
                                         kt[i].dir, t, range, sizeof range)
                          : NAN;
            target_line(markdown, what, g, pg, v, range, kt[i].goal > 0 ? kt[i].goal : conv_goal,
                        'x');
        }
    }
    /* the training step: our fastest at T threads */
    double ips = NAN, inf = NAN, torch_ips = NAN, torch_inf = NAN;
    const char *best = "-";
    for (int r = 0; r < tr->nrows; r++) {
        if ((int)csv_num_at(tr, r, "threads") != T)
            continue;
        const char *b = csv_get(tr, r, "backend");
        double v = csv_num_at(tr, r, "train_images_per_s");
        if (strcmp(b, "pytorch") == 0) {
            torch_ips = v;
            torch_inf = csv_num_at(tr, r, "infer_images_per_s");
        } else if (!(v <= ips)) {
            ips = v;
            inf = csv_num_at(tr, r, "infer_images_per_s");
            best = b;
        }
    }
    snprintf(ops_path, sizeof ops_path, "%s/ops.csv", dir);
    double peak = header_peak(ops_path, "avx512", T);
    const char *isa = "AVX-512";
    if (!isfinite(peak)) {
        peak = header_peak(ops_path, "avx2", T);
        isa = "AVX2";
    }
    const double limit = peak * 1e9 / 55e6;
    snprintf(what, sizeof what, "%s %d threads, training step vs the FP32 limit (%.0f img/s, %s)",
             best, T, limit, isa);
    target_line(markdown, what, ips, NAN, 100 * ips / limit, NULL, 60, '%');
    snprintf(what, sizeof what, "%s %d threads, training vs PyTorch", best, T);
    target_line(markdown, what, ips, torch_ips, ips / torch_ips, NULL, 2.0, 'x');
    snprintf(what, sizeof what, "%s %d threads, inference vs PyTorch", best, T);
    target_line(markdown, what, inf, torch_inf, inf / torch_inf, NULL, 1.5, 'x');
    target_line(markdown, "peak MB of a full training run (2x augmentation)",
                have_fm && fm->nrows > 0 ? csv_num_at(fm, 0, "peak_rss_mb") : NAN, NAN,
                have_fm && fm->nrows > 0 ? csv_num_at(fm, 0, "peak_rss_mb") : NAN, NULL, -1024,
                'n');
}

int summary_main(const char *dir, bool markdown)
{
    char path[4096];
    csv ops, tr, fm;
    snprintf(path, sizeof path, "%s/ops.csv", dir);
    bool have_ops = csv_read(&ops, path);
    snprintf(path, sizeof path, "%s/train.csv", dir);
    if (!csv_read(&tr, path))
        die(1, "cannot read %s (run `make bench` first)", path);
    snprintf(path, sizeof path, "%s/fulltrain.csv", dir);
    bool have_fm = csv_read(&fm, path);
    csv ratios;
    snprintf(path, sizeof path, "%s/ratios.csv", dir);
    bool have_ratios = csv_read(&ratios, path);
    /* THE oneDNN row: oneDNN at its default ISA, as a user gets it */
    const char *dnnl = "onednn";
    double naive_ips = NAN;
    for (int r = 0; r < tr.nrows; r++)
        if (strcmp(csv_get(&tr, r, "backend"), "naive") == 0)
            naive_ips = csv_num_at(&tr, r, "train_images_per_s");

    const char *cols[] = {"backend", "threads", "conv2 GFLOP/s fwd / bwd-data / bwd-filter",
                          "conv2 vs oneDNN", "train img/s", "vs naive", "vs PyTorch",
                          "infer img/s", "latency ms", "peak MB", "short training vs naive"};
    enum { NC = sizeof cols / sizeof cols[0] };
    if (markdown) {
        for (int i = 0; i < NC; i++)
            printf("| %s ", cols[i]);
        printf("|\n");
        for (int i = 0; i < NC; i++)
            printf("|%s", i < 2 || i == NC - 1 ? "---" : "---:");
        printf("|\n");
    } else {
        printf("%-12s %3s %24s %8s %10s %8s %8s %10s %9s %8s %s\n", "backend", "thr",
               "conv2 GFLOP/s f/bd/bw", "vs dnnl", "train i/s", "vs naive", "vs torch",
               "infer i/s", "lat ms", "peak MB", "short training");
    }
    for (int r = 0; r < tr.nrows; r++) {
        const char *be = csv_get(&tr, r, "backend");
        int th = (int)csv_num_at(&tr, r, "threads");
        bool peer = strcmp(be, "pytorch") == 0;
        double f = NAN, bd = NAN, bw = NAN, ratio = NAN;
        if (have_ops && !peer) {
            f = ops_field(&ops, be, "conv2", "fwd", th, "gflops");
            bd = ops_field(&ops, be, "conv2", "bwd_d", th, "gflops");
            bw = ops_field(&ops, be, "conv2", "bwd_w", th, "gflops");
            ratio = conv2_all(&ops, be, th) / conv2_all(&ops, dnnl, th);
        }
        double ips = csv_num_at(&tr, r, "train_images_per_s");
        double torch = NAN;
        for (int k = 0; k < tr.nrows; k++)
            if (strcmp(csv_get(&tr, k, "backend"), "pytorch") == 0 &&
                (int)csv_num_at(&tr, k, "threads") == th)
                torch = csv_num_at(&tr, k, "train_images_per_s");
        char c2[128], a[32], b[32], c[32], d[32], e[32], g[32], h[32], i9[32], j[32], k9[32];
        fmt(a, sizeof a, "%.1f", f);
        fmt(b, sizeof b, "%.1f", bd);
        fmt(c, sizeof c, "%.1f", bw);
        if (isfinite(f) || isfinite(bd) || isfinite(bw))
            snprintf(c2, sizeof c2, "%s / %s / %s", a, b, c);
        else
            snprintf(c2, sizeof c2, "-");
        fmt(d, sizeof d, "%.2fx", ratio);
        fmt(e, sizeof e, "%.1f", ips);
        fmt(g, sizeof g, "%.2fx", ips / naive_ips);
        fmt(h, sizeof h, "%.2fx", peer ? NAN : ips / torch);
        fmt(i9, sizeof i9, "%.1f", csv_num_at(&tr, r, "infer_images_per_s"));
        fmt(j, sizeof j, "%.3f", csv_num_at(&tr, r, "latency_ms"));
        fmt(k9, sizeof k9, "%.0f", csv_num_at(&tr, r, "peak_rss_mb"));
        const char *m = csv_get(&tr, r, "matches_naive");
        char match[96];
        if (strcmp(m, "ref") == 0)
            snprintf(match, sizeof match, "reference (test loss %.4f)",
                     csv_num_at(&tr, r, "final_loss"));
        else
            snprintf(match, sizeof match, "%s (test loss %.4f)", m,
                     csv_num_at(&tr, r, "final_loss"));
        if (strcmp(csv_get(&tr, r, "ok"), "1") != 0)
            snprintf(match + strlen(match), sizeof match - strlen(match), "; FAILED");
        if (markdown)
            printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", be, th, c2, d, e,
                   g, h, i9, j, k9, match);
        else
            printf("%-12s %3d %24s %8s %10s %8s %8s %10s %9s %8s %s\n", be, th, c2, d, e, g, h,
                   i9, j, k9, match);
    }
    /* The peers' own figures. */
    if (have_ops) {
        const char *peers[] = {"onednn", "onednn_avx2"};
        char line[1024] = "";
        for (int p = 0; p < 2; p++)
            for (int r = 0; r < ops.nrows; r++) {
                if (strcmp(csv_get(&ops, r, "backend"), peers[p]) ||
                    strcmp(csv_get(&ops, r, "op"), "conv2") ||
                    strcmp(csv_get(&ops, r, "direction"), "fwd") ||
                    (int)csv_num_at(&ops, r, "batch") != 250)
                    continue;
                int th = (int)csv_num_at(&ops, r, "threads");
                size_t u = strlen(line);
                snprintf(line + u, sizeof line - u, "%s%s (%s) %d thread%s: %.1f / %.1f / %.1f",
                         u ? "; " : "", peers[p], csv_get(&ops, r, "impl"), th,
                         th == 1 ? "" : "s", ops_field(&ops, peers[p], "conv2", "fwd", th, "gflops"),
                         ops_field(&ops, peers[p], "conv2", "bwd_d", th, "gflops"),
                         ops_field(&ops, peers[p], "conv2", "bwd_w", th, "gflops"));
            }
        if (line[0])
            printf("%sconv2 GFLOP/s of the peers (fwd / bwd-data / bwd-filter): %s.\n",
                   markdown ? "\n" : "", line);
        line[0] = 0;
        for (int r = 0; r < ops.nrows; r++) {
            if (strcmp(csv_get(&ops, r, "op"), "conv2_gemm") ||
                (int)csv_num_at(&ops, r, "batch") != 250)
                continue;
            size_t u = strlen(line);
            int th = (int)csv_num_at(&ops, r, "threads");
            snprintf(line + u, sizeof line - u, "%s%s %d thread%s %.1f", u ? "; " : "",
                     csv_get(&ops, r, "backend"), th, th == 1 ? "" : "s",
                     csv_num_at(&ops, r, "gflops"));
        }
        if (line[0])
            printf("%sconv2's im2col GEMM alone (M=30250, N=64, K=1024; OpenBLAS sgemm is the "
                   "peer), GFLOP/s: %s.\n",
                   markdown ? "\n" : "", line);
        printf("%s\"conv2 vs oneDNN\" compares the time of all three conv2 directions with oneDNN "
               "at its default ISA at the same thread count.\n",
               markdown ? "\n" : "");
    }
    for (int r = 0; r < tr.nrows; r++)
        if (strcmp(csv_get(&tr, r, "backend"), "pytorch") == 0) {
            printf("%s\"vs PyTorch\" compares with PyTorch at the same thread count; it ran as %s "
                   "(its oneDNN picks its own ISA).\n",
                   markdown ? "\n" : "", csv_get(&tr, r, "impl"));
            break;
        }
    if (have_fm && fm.nrows > 0)
        printf("%sPeak memory of a real training run (`scnn train`, 60,000 originals, 2x "
               "augmentation, batch 250, %s backend): %.0f MB after %.0f s (%s).\n",
               markdown ? "\n" : "", csv_get(&fm, 0, "backend"),
               csv_num_at(&fm, 0, "peak_rss_mb"), csv_num_at(&fm, 0, "seconds"),
               strcmp(csv_get(&fm, 0, "completed"), "1") == 0 ? "the whole epoch"
                                                               : "stopped at the time limit");
    /* whole commands, timed by hyperfine (commands.csv, its --export-csv) */
    csv cmds;
    snprintf(path, sizeof path, "%s/commands.csv", dir);
    if (csv_read(&cmds, path)) {
        char line[1024] = "";
        for (int r = 0; r < cmds.nrows; r++) {
            size_t u = strlen(line);
            snprintf(line + u, sizeof line - u, "%s%s %.2f s (+- %.2f)", u ? "; " : "",
                     csv_get(&cmds, r, "parameter_backend"), csv_num_at(&cmds, r, "mean"),
                     csv_num_at(&cmds, r, "stddev"));
        }
        /* the command as run, from " train " up to its per-backend --out folder */
        const char *cmd = cmds.nrows > 0 ? csv_get(&cmds, 0, "command") : "";
        const char *train = strstr(cmd, " train "), *end = train ? strstr(train, " --out ") : NULL;
        int tlen = train ? (int)(end ? end - train : (long)strlen(train)) : 0;
        printf("%sWhole command, timed by hyperfine (commands.json; `SCNN_BACKEND=B scnn%.*s`, "
               "data loading included): %s.\n",
               markdown ? "\n" : "", tlen, train ? train : "", line);
        csv_free(&cmds);
    }
    targets(markdown, dir, &ops, have_ops, &tr, &fm, have_fm, &ratios, have_ratios);
    if (have_ratios)
        csv_free(&ratios);
    if (have_ops)
        csv_free(&ops);
    if (have_fm)
        csv_free(&fm);
    csv_free(&tr);
    return 0;
}
