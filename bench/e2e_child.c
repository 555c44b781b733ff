/* The child side of a measurement: one process per measurement, so that its peak resident
 * memory (VmHWM) is its own; results go back to the parent as key=value lines on stdout. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/e2e.h"

/* ---- child side: one measurement, results as key=value on stdout --------------------------- */

typedef struct child_cfg {
    const char *kind, *backend, *data, *out;
    int images, batch, eval, warmup, steps, prof_steps;
    double min_time;
    bool dropout;
    uint64_t seed;
} child_cfg;

static long vmhwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static const scnn_backend *child_backend(const char *name)
{
    char err[512];
    const scnn_backend *be = scnn_backend_select(name, err, sizeof err);
    if (!be)
        die(2, "%s", err);
    return be;
}

static scnn_model *child_model(const child_cfg *c, int max_batch)
{
    const scnn_backend *be = child_backend(c->backend);
    scnn_model *m = NULL;
    if (scnn_model_create(&m, max_batch, be, c->seed) != SCNN_OK)
        die(1, "cannot create the model: %s", scnn_last_error());
    printf("threads=%d\nimpl=%s\n", scnn_backend_threads(be),
           scnn_model_backend_name(m));
    return m;
}

/* The first n images of part, read by datasets/ (no more of the file than that, so that the
 * child's peak memory is the model's, not the data set's). */
static void child_load(const child_cfg *c, const char *part, size_t n, uint8_t **img,
                       uint8_t **lab, size_t *got)
{
    scnn_dataset ds;
    if (scnn_dataset_load_first(&ds, c->data, part, n) != SCNN_OK)
        die(1, "%s", scnn_last_error());
    *img = ds.images;
    *lab = ds.labels;
    *got = ds.n;
    if (*got < n)
        die(1, "%s/%s: %zu images, need %zu", c->data, part, *got, n);
}

/* Trains c->images images in order in batches of c->batch (the last partial one used), then
 * evaluates on the first c->eval test images. */
static void child_short(const child_cfg *c)
{
    uint8_t *img, *lab, *timg, *tlab;
    size_t n, nt;
    child_load(c, "train", (size_t)c->images, &img, &lab, &n);
    child_load(c, "t10k", (size_t)c->eval, &timg, &tlab, &nt);
    scnn_model *m = child_model(c, c->batch);
    scnn_model_set_dropout(m, c->dropout);
    double sum = 0, last = 0, t0 = scnn_now();
    int steps = 0;
    for (size_t i = 0; i < n; i += (size_t)c->batch, steps++) {
        int b = (int)(n - i < (size_t)c->batch ? n - i : (size_t)c->batch);
        last = scnn_model_train_batch(m, img + i * SCNN_PIXELS, lab + i, b, NULL);
        sum += last;
    }
    double train_s = scnn_now() - t0, loss, acc;
    scnn_model_evaluate(m, timg, tlab, nt, &loss, &acc, NULL, NULL);
    printf("images=%zu\nsteps=%d\ntrain_loss=%.9g\nlast_loss=%.9g\nloss=%.9g\nacc=%.9g\n"
           "train_s=%.6f\n",
           n, steps, sum / steps, last, loss, acc, train_s);
    scnn_model_free(m);
    free(img);
    free(lab);
    free(timg);
    free(tlab);
}

/* Timed repetitions: at least c->steps and c->min_time seconds, after c->warmup untimed ones.
 * step(i) runs one batch; returns the median seconds of one call. */
typedef struct timed_ctx {
    scnn_model *m;
    const uint8_t *img, *lab;
    float *x, *logits;
    int batch, pool;
    bool train;
} timed_ctx;

static void timed_step(timed_ctx *t, int i)
{
    int off = (i % (t->pool / t->batch)) * t->batch;
    if (t->train) {
        scnn_model_train_batch(t->m, t->img + (size_t)off * SCNN_PIXELS, t->lab + off, t->batch,
                               NULL);
    } else {
        scnn_images_to_float(t->img + (size_t)off * SCNN_PIXELS, (size_t)t->batch * SCNN_PIXELS,
                             t->x);
        scnn_model_forward(t->m, t->x, t->batch, false, t->logits);
    }
}

static double timed_run(timed_ctx *t, const child_cfg *c, int *reps)
{
    int i = 0;
    for (int w = 0; w < c->warmup; w++)
        timed_step(t, i++);
    int cap = 100000, n = 0;
    double *s = xmalloc(sizeof(double) * (size_t)cap), total = 0;
    while ((n < c->steps || total < c->min_time) && n < cap) {
        double t0 = scnn_now();
        timed_step(t, i++);
        s[n] = scnn_now() - t0;
        total += s[n++];
    }
    double med = median(s, n);
    free(s);
    *reps = n;
    return med;
}

static void child_timed(const child_cfg *c)
{
    bool train = strcmp(c->kind, "train") == 0;
    int batch = c->batch;
    int pool = batch * (TRAIN_POOL / batch > 0 ? TRAIN_POOL / batch : 1);
    uint8_t *img, *lab;
    size_t n;
    child_load(c, "train", (size_t)pool, &img, &lab, &n);
    scnn_model *m = child_model(c, batch);
    timed_ctx t = {.m = m, .img = img, .lab = lab, .batch = batch, .pool = pool, .train = train};
    t.x = xmalloc(sizeof(float) * (size_t)batch * SCNN_PIXELS);
    t.logits = xmalloc(sizeof(float) * (size_t)batch * SCNN_CLASSES);
    int reps;
    double med = timed_run(&t, c, &reps);
    printf("batch=%d\nreps=%d\nmedian_ms=%.6f\nimages_per_s=%.6f\n", batch, reps, 1e3 * med,
           batch / med);
    if (train && c->prof_steps > 0) {
        scnn_model_profile(m, true);
        double t0 = scnn_now();
        for (int k = 0; k < c->prof_steps; k++)
            timed_step(&t, k);
        double step = (scnn_now() - t0) / c->prof_steps;
        const char *names[MAX_PHASES];
        double sec[MAX_PHASES];
        int np = scnn_model_profile_read(m, names, sec, MAX_PHASES);
        scnn_model_profile(m, false);
        printf("profiled_step_ms=%.6f\n", 1e3 * step);
        for (int k = 0; k < np; k++)
            printf("phase=%s\t%.9f\n", names[k], sec[k] / c->prof_steps);
    }
    scnn_model_free(m);
    free(t.x);
    free(t.logits);
    free(img);
    free(lab);
}

/* Batch-1 inference: median and 90th percentile of single-image forward passes. */
static void child_latency(const child_cfg *c)
{
    uint8_t *img, *lab;
    size_t n;
    child_load(c, "t10k", 100, &img, &lab, &n);
    scnn_model *m = child_model(c, 1);
    float x[SCNN_PIXELS], logits[SCNN_CLASSES];
    for (int w = 0; w < c->warmup; w++) {
        scnn_images_to_float(img + (size_t)(w % 100) * SCNN_PIXELS, SCNN_PIXELS, x);
        scnn_model_forward(m, x, 1, false, logits);
    }
    int cnt = c->steps > 0 ? c->steps : 1;
    double *s = xmalloc(sizeof(double) * (size_t)cnt);
    for (int i = 0; i < cnt; i++) {
        double t0 = scnn_now();
        scnn_images_to_float(img + (size_t)(i % 100) * SCNN_PIXELS, SCNN_PIXELS, x);
        scnn_model_forward(m, x, 1, false, logits);
        s[i] = scnn_now() - t0;
    }
    double med = median(s, cnt);  /* sorts s */
    double p90 = s[(int)(0.9 * (cnt - 1) + 0.5)];
    printf("reps=%d\nlatency_ms=%.6f\nlatency_p90_ms=%.6f\n", cnt, 1e3 * med, 1e3 * p90);
    free(s);
    scnn_model_free(m);
    free(img);
    free(lab);
}

/* The initial weights of c->seed, every parameter in the model's order:
 * "SCNNW1\n", then per parameter a line "name count\n" and count little-endian float32. */
static void child_weights(const child_cfg *c)
{
    scnn_model *m = NULL;
    if (scnn_model_create(&m, 1, &scnn_backend_naive, c->seed) != SCNN_OK)
        die(1, "cannot create the model: %s", scnn_last_error());
    FILE *f = fopen(c->out, "wb");
    if (!f)
        die(1, "cannot write %s: %s", c->out, strerror(errno));
    fputs("SCNNW1\n", f);
    for (int i = 0; i < scnn_model_param_count(m); i++) {
        scnn_param *p = scnn_model_param(m, i);
        fprintf(f, "%s %zu\n", p->name, p->size);
        fwrite(p->w, sizeof(float), p->size, f);
    }
    if (fclose(f) != 0)
        die(1, "cannot write %s: %s", c->out, strerror(errno));
    scnn_model_free(m);
}

int child_main(int argc, char **argv)
{
    child_cfg c = {.kind = argc > 2 ? argv[2] : "", .backend = "naive", .data = NULL,
                   .images = 100, .batch = 250, .eval = 100, .warmup = 1, .steps = 1,
                   .seed = 1};
    char defdir[4096];
    scnn_dataset_dir(defdir, sizeof defdir, "fashion_mnist");
    c.data = defdir;
    for (int i = 3; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        long n;
        if (strcmp(k, "--backend") == 0)
            c.backend = v;
        else if (strcmp(k, "--data") == 0)
            c.data = v;
        else if (strcmp(k, "--out") == 0)
            c.out = v;
        else if (strcmp(k, "--min-time") == 0 && scnn_parse_double(v, 0, 3600, &c.min_time))
            ;
        else if (scnn_parse_long(v, 0, 100000000, &n)) {
            if (strcmp(k, "--images") == 0) c.images = (int)n;
            else if (strcmp(k, "--batch") == 0) c.batch = (int)n;
            else if (strcmp(k, "--eval") == 0) c.eval = (int)n;
            else if (strcmp(k, "--warmup") == 0) c.warmup = (int)n;
            else if (strcmp(k, "--steps") == 0) c.steps = (int)n;
            else if (strcmp(k, "--prof-steps") == 0) c.prof_steps = (int)n;
            else if (strcmp(k, "--dropout") == 0) c.dropout = n != 0;
            else if (strcmp(k, "--seed") == 0) c.seed = (uint64_t)n;
            else die(2, "child: unknown option '%s'", k);
        } else {
            die(2, "child: bad option '%s %s'", k, v);
        }
    }
    if (c.batch < 1 || c.images < 1)
        die(2, "child: --batch and --images must be positive");
    if (strcmp(c.kind, "short") == 0)
        child_short(&c);
    else if (strcmp(c.kind, "train") == 0 || strcmp(c.kind, "infer") == 0)
        child_timed(&c);
    else if (strcmp(c.kind, "latency") == 0)
        child_latency(&c);
    else if (strcmp(c.kind, "weights") == 0 && c.out)
        child_weights(&c);
    else
        die(2, "child: unknown kind '%s' (short, train, infer, latency, weights --out F)", c.kind);
    printf("vmhwm_kb=%ld\n", vmhwm_kb());
    return fflush(stdout) == 0 ? 0 : 1;
}
