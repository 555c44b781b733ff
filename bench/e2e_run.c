/* `scnn_bench_e2e run`: every backend (and PyTorch) end to end -> train.csv, breakdown.csv. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"
#include "model/layers.h"

/* ---- run: every backend end to end --------------------------------------------------------- */

static void row_fail(e2e_row *w, const char *what, const child_res *r)
{
    w->ok = false;
    size_t used = strlen(w->status);
    snprintf(w->status + used, sizeof w->status - used, "%s%s: %s", used ? "; " : "", what,
             r->why);
}


static bool is_naive(const e2e_row *w) { return !w->peer && strcmp(w->backend, "naive") == 0; }

static const char *matches(double got, double ref)
{
    if (!isfinite(got) || !isfinite(ref))
        return "n/a";
    return fabs(got - ref) <= LOSS_RTOL * fabs(ref) ? "yes" : "no";
}

static void measure_row(const run_opts *o, e2e_row *w, const char *self, const char *weights)
{
    const mode_cfg *M = o->mode;
    bool naive = is_naive(w);
    child_res r;
    printf("e2e %-8s", w->backend);
    fflush(stdout);

    spawn_spec sh = {"short", M->short_images, M->short_batch, M->short_eval, 0, 0, 0, 0, 0};
    measure(o, w, self, weights, &sh, &r);
    if (r.ok) {
        w->short_images = (int)res_num(&r, "images");
        w->train_loss = res_num(&r, "train_loss");
        w->final_loss = res_num(&r, "loss");
        w->final_acc = res_num(&r, "acc");
        w->short_rss_mb = r.rss_mb;
        double th = res_num(&r, "threads");
        if (isfinite(th))
            w->threads = (int)th;
        const char *impl = res_get(&r, "impl", NULL);
        snprintf(w->impl, sizeof w->impl, "%s", impl ? impl : w->backend);
        printf(" short %d images: loss %.6f acc %.4f |", w->short_images, w->final_loss,
               w->final_acc);
    } else {
        row_fail(w, "short training", &r);
    }
    res_free(&r);
    fflush(stdout);

    if (M->long_images > 0 && !naive && !w->peer) {
        spawn_spec lg = {"short", M->long_images, M->long_batch, M->long_eval, 0, 0, 0, 0, 1};
        measure(o, w, self, NULL, &lg, &r);
        if (r.ok) {
            w->long_images = (int)res_num(&r, "images");
            w->long_loss = res_num(&r, "loss");
            w->long_acc = res_num(&r, "acc");
            printf(" long %d images: loss %.6f acc %.4f |", w->long_images, w->long_loss,
                   w->long_acc);
        } else {
            row_fail(w, "long training", &r);
        }
        res_free(&r);
        fflush(stdout);
    }

    spawn_spec tr = {"train", 250, 250, 0, M->train_warmup,
                     naive ? M->train_steps_naive : M->train_steps, w->peer ? 0 : M->prof_steps,
                     naive ? 0 : M->train_min_time, 1};
    measure(o, w, self, NULL, &tr, &r);
    if (r.ok) {
        w->train_ips = res_num(&r, "images_per_s");
        w->step_ms = res_num(&r, "median_ms");
        w->train_rss_mb = r.rss_mb;
        double th = res_num(&r, "threads");
        if (isfinite(th))
            w->threads = (int)th;
        w->prof_step_ms = res_num(&r, "profiled_step_ms");
        for (const char *p = r.out; p && *p && w->nphases < MAX_PHASES;) {
            const char *e = strchr(p, '\n');
            if (strncmp(p, "phase=", 6) == 0) {
                const char *tab = strchr(p, '\t');
                if (tab && (!e || tab < e)) {
                    phase *ph = &w->phases[w->nphases++];
                    snprintf(ph->name, sizeof ph->name, "%.*s", (int)(tab - p - 6), p + 6);
                    for (char *c = ph->name; *c; c++)
                        if (*c == ',')
                            *c = ';';
                    ph->s = strtod(tab + 1, NULL);
                }
            }
            p = e ? e + 1 : NULL;
        }
        printf(" train %.1f img/s |", w->train_ips);
    } else {
        row_fail(w, "training throughput", &r);
    }
    res_free(&r);
    fflush(stdout);

    spawn_spec in = {"infer", 250, 250, 0, M->infer_warmup,
                     naive ? M->infer_steps_naive : M->infer_steps, 0,
                     naive ? 0 : M->infer_min_time, 0};
    measure(o, w, self, NULL, &in, &r);
    if (r.ok) {
        w->infer_ips = res_num(&r, "images_per_s");
        w->infer_rss_mb = r.rss_mb;
        printf(" infer %.1f img/s |", w->infer_ips);
    } else {
        row_fail(w, "inference throughput", &r);
    }
    res_free(&r);
    fflush(stdout);

    spawn_spec la = {"latency", 1, 1, 0, M->lat_warmup,
                     naive ? M->lat_count_naive : M->lat_count, 0, 0, 0};
    measure(o, w, self, NULL, &la, &r);
    if (r.ok) {
        w->latency_ms = res_num(&r, "latency_ms");
        w->latency_p90_ms = res_num(&r, "latency_p90_ms");
        w->latency_rss_mb = r.rss_mb;
        printf(" latency %.3f ms |", w->latency_ms);
    } else {
        row_fail(w, "latency", &r);
    }
    res_free(&r);

    w->rss_mb = fmax(fmax(w->short_rss_mb, w->train_rss_mb),
                     fmax(w->infer_rss_mb, w->latency_rss_mb));
    printf(" %d thread%s, peak %.0f MB%s%s\n", w->threads, w->threads == 1 ? "" : "s",
           w->rss_mb, w->ok ? "" : " FAILED: ", w->ok ? "" : w->status);
    fflush(stdout);
}

/* Groups of the breakdown plot: the layer and its direction. */
static const char *phase_group(const char *name)
{
    /* "fwd <layer>" / "bwd <layer>[ data|filter]", the layer by its Keras name in the layer
     * table: the convolutions by their bench rows, the three Dense layers as one group */
    bool fwd = strncmp(name, "fwd ", 4) == 0, bwd = strncmp(name, "bwd ", 4) == 0;
    char layer[64] = "";
    if (fwd || bwd)
        snprintf(layer, sizeof layer, "%.*s", (int)strcspn(name + 4, " "), name + 4);
    int id = scnn_layer_find(layer);
    if (id == SCNN_L_CONV1)
        return fwd ? "conv1 fwd" : "conv1 bwd";
    if (id == SCNN_L_CONV2)
        return fwd ? "conv2 fwd" : "conv2 bwd";
    if (id == SCNN_L_DENSE1 || id == SCNN_L_DENSE2 || id == SCNN_L_DENSE3)
        return fwd ? "dense fwd" : "dense bwd";
    if (strcmp(name, "adam") == 0)
        return "adam";
    return "other";
}

static void write_run_csvs(const run_opts *o, e2e_row *rows, int n)
{
    char a[64], b[64], c[64], d[64], e[64], f[64], g[64], h[64], i9[64], j[64], k[64], l[64],
        m2[64], p[64], q[64];
    scnn_strbuf t = {0};
    scnn_strbuf_printf(&t, "# scnn_bench_e2e %s, BENCH=%s, seed %llu; short training: the same images "
                  "and steps for every backend, dropout off, loss vs naive's at rel tol %g; "
                  "long: dropout on, vs the first fast backend; rss in MB (VmHWM of each "
                  "measurement's own process)\n",
              scnn_git_rev(), o->mode->name, (unsigned long long)o->seed, LOSS_RTOL);
    scnn_strbuf_printf(&t, "backend,threads,train_images_per_s,infer_images_per_s,latency_ms,"
                  "peak_rss_mb,final_loss,final_acc,matches_naive,train_loss,short_images,"
                  "long_images,long_loss,long_acc,long_matches,step_ms,latency_p90_ms,"
                  "train_rss_mb,infer_rss_mb,ok,impl,status\n");
    for (int r = 0; r < n; r++) {
        e2e_row *w = &rows[r];
        scnn_strbuf_printf(&t, "%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s\n",
                  w->backend, w->threads, csv_num(a, 64, w->train_ips, "%.3f"),
                  csv_num(b, 64, w->infer_ips, "%.3f"), csv_num(c, 64, w->latency_ms, "%.4f"),
                  csv_num(d, 64, w->rss_mb, "%.1f"), csv_num(e, 64, w->final_loss, "%.7f"),
                  csv_num(f, 64, w->final_acc, "%.5f"), w->matches,
                  csv_num(g, 64, w->train_loss, "%.7f"), w->short_images, w->long_images,
                  csv_num(h, 64, w->long_images ? w->long_loss : NAN, "%.7f"),
                  csv_num(i9, 64, w->long_images ? w->long_acc : NAN, "%.5f"), w->long_matches,
                  csv_num(j, 64, w->step_ms, "%.3f"), csv_num(k, 64, w->latency_p90_ms, "%.4f"),
                  csv_num(l, 64, w->train_rss_mb, "%.1f"),
                  csv_num(m2, 64, w->infer_rss_mb, "%.1f"), w->ok ? 1 : 0,
                  w->impl[0] ? w->impl : w->backend, w->ok ? "ok" : w->status);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/train.csv", o->out_dir);
    write_file_or_die(path, &t);
    scnn_strbuf_free(&t);

    scnn_strbuf bd = {0};
    scnn_strbuf_printf(&bd, "# per-phase wall time of one training step at batch 250 (scnn_model_profile"
                   "; mean of %d profiled step%s after the timed ones); pct: of the profiled "
                   "step\n",
              o->mode->prof_steps, o->mode->prof_steps == 1 ? "" : "s");
    scnn_strbuf_printf(&bd, "backend,threads,phase,group,ms,pct_of_step\n");
    for (int r = 0; r < n; r++) {
        e2e_row *w = &rows[r];
        double total = 0;
        for (int x = 0; x < w->nphases; x++)
            total += w->phases[x].s;
        for (int x = 0; x < w->nphases; x++)
            scnn_strbuf_printf(&bd, "%s,%d,%s,%s,%s,%s\n", w->backend, w->threads, w->phases[x].name,
                      phase_group(w->phases[x].name), csv_num(p, 64, 1e3 * w->phases[x].s, "%.4f"),
                      csv_num(q, 64, total > 0 ? 100 * w->phases[x].s / total : NAN, "%.3f"));
    }
    snprintf(path, sizeof path, "%s/breakdown.csv", o->out_dir);
    write_file_or_die(path, &bd);
    scnn_strbuf_free(&bd);
}


int run_main(const run_opts *o, const char *self)
{
    e2e_row rows[MAX_BACKENDS + 4];
    int n = 0;
    memset(rows, 0, sizeof rows);
    /* Check the list first: an unknown name is a usage error. */
    for (const char *p = o->backends; p && *p;) {
        const char *e = strchr(p, ',');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
        if (!scnn_backend_find(name))
            die(2, "unknown backend '%s' in --backends (see `scnn backends`)", name);
        p = e ? e + 1 : NULL;
    }
    for (int i = 0; i < scnn_backend_count() && n < MAX_BACKENDS; i++) {
        const scnn_backend *be = scnn_backend_at(i);
        const char *why = "";
        if (o->backends && !scnn_list_has(o->backends, be->name))
            continue;
        if (!scnn_backend_available(be, &why)) {
            printf("e2e %-8s skipped: %s\n", be->name, why);
            continue;
        }
        e2e_row *w = &rows[n++];
        snprintf(w->backend, sizeof w->backend, "%s", be->name);
        w->threads = o->threads;
        w->ok = true;
    }
    if (n == 0 || strcmp(rows[0].backend, "naive") != 0)
        die(2, "the end-to-end run needs naive (the reference) among --backends");
    int ours = n;
    char weights[4096] = "";
    if (o->pytorch) {
        snprintf(weights, sizeof weights, "%s/.init-weights.bin", o->out_dir);
        char *argv[] = {(char *)self, "child", "weights", "--out", weights, "--seed", NULL, NULL};
        char seed[32];
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
        argv[6] = seed;
        child_res r;
        spawn(argv, 1, 60, NULL, &r);
        if (!r.ok)
            die(1, "cannot write the initial weights for PyTorch: %s", r.why);
        res_free(&r);
        for (int t = 0; t < o->n_torch; t++) {
            e2e_row *w = &rows[n++];
            snprintf(w->backend, sizeof w->backend, "pytorch");
            w->peer = true;
            w->threads = o->torch_threads[t];
            w->ok = true;
        }
    }
    printf("e2e: BENCH=%s; short training %d images (batch %d, dropout off) then test loss on "
           "%d images, the same for every backend%s\n",
           o->mode->name, o->mode->short_images, o->mode->short_batch, o->mode->short_eval,
           o->mode->long_images ? "" : "; no long training in this mode");
    for (int i = 0; i < n; i++)
        measure_row(o, &rows[i], self, rows[i].peer ? weights : NULL);
    if (weights[0])
        unlink(weights);

    /* Matches: every short run against naive's; long runs against the first fast backend. */
    const e2e_row *ref = &rows[0], *lref = NULL;
    for (int i = 0; i < n; i++) {
        e2e_row *w = &rows[i];
        if (i == 0)
            snprintf(w->matches, sizeof w->matches, "%s", ref->ok || isfinite(ref->final_loss)
                                                              ? "ref" : "n/a");
        else {
            /* both the training loss and the test loss afterwards */
            const char *a = matches(w->final_loss, ref->final_loss),
                       *b = matches(w->train_loss, ref->train_loss);
            snprintf(w->matches, sizeof w->matches, "%s",
                     strcmp(a, "no") == 0 || strcmp(b, "no") == 0     ? "no"
                     : strcmp(a, "yes") == 0 && strcmp(b, "yes") == 0 ? "yes"
                                                                      : "n/a");
        }
        if (!w->long_images) {
            snprintf(w->long_matches, sizeof w->long_matches, "n/a");
        } else if (!lref) {
            lref = w;
            snprintf(w->long_matches, sizeof w->long_matches, "ref");
        } else {
            snprintf(w->long_matches, sizeof w->long_matches, "%s",
                     matches(w->long_loss, lref->long_loss));
        }
    }
    printf("\nshort training (%d images, then %d test images), loss beside naive's (rel tol "
           "%g):\n",
           o->mode->short_images, o->mode->short_eval, LOSS_RTOL);
    printf("  %-8s %3s %12s %12s %9s %12s %8s\n", "backend", "thr", "train_loss", "test_loss",
           "test_acc", "naive_loss", "matches");
    int bad = 0;
    for (int i = 0; i < n; i++) {
        e2e_row *w = &rows[i];
        printf("  %-8s %3d %12.7f %12.7f %9.4f %12.7f %8s\n", w->backend, w->threads,
               w->train_loss, w->final_loss, w->final_acc, ref->final_loss, w->matches);
        if (strcmp(w->matches, "no") == 0)
            printf("  warning: %s's short training does not match naive's\n", w->backend);
        bad += !w->ok;
    }
    if (lref) {
        printf("long training (%d images, dropout on, then %d test images), vs %s:\n",
               o->mode->long_images, o->mode->long_eval, lref->backend);
        for (int i = 0; i < n; i++)
            if (rows[i].long_images)
                printf("  %-8s %3d test_loss %.7f test_acc %.4f %s\n", rows[i].backend,
                       rows[i].threads, rows[i].long_loss, rows[i].long_acc,
                       rows[i].long_matches);
    }
    (void)ours;
    write_run_csvs(o, rows, n);
    if (bad)
        fprintf(stderr, "%s: %d end-to-end row%s failed (see above)\n", prog, bad,
                bad == 1 ? "" : "s");
    return bad ? 1 : 0;
}
