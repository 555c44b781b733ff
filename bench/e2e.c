/* scnn_bench_e2e: the end-to-end half of `make bench` (bench/run.sh drives it).
 *
 *   run       per backend (and PyTorch, when given its script): a short fixed-seed training
 *             compared with naive's, training and inference images/s, batch-1 latency, the
 *             per-layer breakdown of a training step, peak memory -> train.csv, breakdown.csv
 *   scaling   training images/s of one backend at several thread counts, beside its conv2
 *             GFLOP/s from the per-operation CSV -> scaling.csv
 *   fullmem   peak memory of a real `scnn train` epoch (60,000 originals, 2x augmentation)
 *   summary   the closing table, from the CSVs of a results directory (text or Markdown)
 *   weights   the initial weights of a seed, for the PyTorch peer
 *
 * Every measurement runs in a child process of its own (this program again, or python), so
 * that its peak resident memory (VmHWM, reported by the child; else wait4's ru_maxrss) is its
 * own: the parent loads no data and holds a few MB. A child whose peak passes 4 GiB (the seed's
 * budget) is reported as a failure. Children talk back on stdout as `key=value` lines. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"
#include "scnn.h"

#define RSS_LIMIT_MB 4096.0
#define LOSS_RTOL 1e-3
#define MAX_BACKENDS 16
#define MAX_THREADS 64
#define MAX_PHASES SCNN_PROFILE_MAX
#define TRAIN_POOL 2500  /* images the timing children cycle through (10 batches of 250) */

static const char *prog = "scnn_bench_e2e";

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die(1, "out of memory (%zu bytes)", n);
    return p;
}

static char *xstrdup(const char *s)
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

static double median(double *v, int n)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* OMP_NUM_THREADS (its first number), else the online cores. */
static int default_threads(void)
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

/* ---- how long each measurement runs, per BENCH mode --------------------------------------- */

typedef struct mode_cfg {
    const char *name;
    int short_images, short_batch, short_eval;  /* the run every backend repeats (vs naive) */
    int long_images, long_batch, long_eval;     /* more images, fast backends only (0: none) */
    int train_warmup, train_steps, train_steps_naive;
    double train_min_time;                      /* naive: no minimum time */
    int infer_warmup, infer_steps, infer_steps_naive;
    double infer_min_time;
    int lat_warmup, lat_count, lat_count_naive;
    int prof_steps;
    double child_timeout;
} mode_cfg;

static const mode_cfg modes[] = {
    {"quick", 100, 50, 200, 0, 250, 0, 1, 1, 1, 0, 1, 2, 1, 0, 2, 10, 5, 1, 300},
    {"default", 400, 100, 1000, 5000, 250, 2000, 1, 3, 2, 2.0, 1, 6, 2, 1.0, 5, 100, 20, 1, 900},
    {"full", 1000, 250, 2000, 20000, 250, 10000, 2, 10, 4, 10.0, 2, 20, 4, 5.0, 10, 500, 50, 3,
     1800},
};

static const mode_cfg *mode_find(const char *name)
{
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(modes[i].name, name) == 0)
            return &modes[i];
    return NULL;
}

/* ---- reading the first n images of an IDX pair (plain or gzip) ----------------------------- */

/* Reads only what it needs, so that a child's peak memory is the model's, not the data set's. */
static scnn_status idx_read_first(const char *dir, const char *part, size_t n, uint8_t **images,
                                  uint8_t **labels, size_t *got)
{
    const char *kinds[2] = {"images-idx3", "labels-idx1"};
    uint8_t *out[2] = {NULL, NULL};
    size_t count[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s-%s-ubyte", dir, part, kinds[k]);
        if (access(path, R_OK) != 0)
            snprintf(path, sizeof path, "%s/%s-%s-ubyte.gz", dir, part, kinds[k]);
        gzFile gz = gzopen(path, "rb");
        if (!gz) {
            free(out[0]);
            return scnn_fail(SCNN_ERR_IO, "cannot open %s/%s-%s-ubyte[.gz] (run `make data`)",
                             dir, part, kinds[k]);
        }
        uint8_t head[16];
        int hlen = k == 0 ? 16 : 8;
        uint32_t want_magic = k == 0 ? 2051 : 2049;
        bool ok = gzread(gz, head, (unsigned)hlen) == hlen;
        uint32_t magic = ok ? (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
                                  (uint32_t)head[2] << 8 | head[3]
                            : 0;
        uint32_t total = ok ? (uint32_t)head[4] << 24 | (uint32_t)head[5] << 16 |
                                  (uint32_t)head[6] << 8 | head[7]
                            : 0;
        if (!ok || magic != want_magic ||
            (k == 0 && (head[11] != 28 || head[15] != 28 || head[8] || head[9] || head[10] ||
                        head[12] || head[13] || head[14]))) {
            gzclose(gz);
            free(out[0]);
            return scnn_fail(SCNN_ERR_FORMAT, "%s: not an IDX %s file of 28x28 images", path,
                             k == 0 ? "image" : "label");
        }
        size_t take = n < total ? n : total, each = k == 0 ? SCNN_PIXELS : 1;
        out[k] = xmalloc(take * each);
        if (gzread(gz, out[k], (unsigned)(take * each)) != (int)(take * each)) {
            gzclose(gz);
            free(out[0]);
            free(out[1]);
            return scnn_fail(SCNN_ERR_FORMAT, "%s: truncated", path);
        }
        gzclose(gz);
        count[k] = take;
    }
    if (count[0] != count[1]) {
        free(out[0]);
        free(out[1]);
        return scnn_fail(SCNN_ERR_FORMAT, "%s/%s: image and label counts differ", dir, part);
    }
    for (size_t i = 0; i < count[1]; i++)
        if (out[1][i] > 9) {
            free(out[0]);
            free(out[1]);
            return scnn_fail(SCNN_ERR_FORMAT, "%s/%s: label %d out of range", dir, part,
                             out[1][i]);
        }
    *images = out[0];
    *labels = out[1];
    *got = count[0];
    return SCNN_OK;
}

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

static void child_load(const child_cfg *c, const char *part, size_t n, uint8_t **img,
                       uint8_t **lab, size_t *got)
{
    if (idx_read_first(c->data, part, n, img, lab, got) != SCNN_OK)
        die(1, "%s", scnn_last_error());
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

static int child_main(int argc, char **argv)
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

/* ---- parent side: spawning children ------------------------------------------------------- */

typedef struct child_res {
    bool ok;             /* exited 0 within the time limit */
    bool timed_out;
    char why[256];
    char *out;           /* its stdout */
    double rss_mb;       /* its peak resident memory */
    double wall_s;
} child_res;

static void res_free(child_res *r)
{
    free(r->out);
    memset(r, 0, sizeof *r);
}

/* The value of key in r->out (NULL if absent); *v gets it as a number when v is given. */
static const char *res_get(const child_res *r, const char *key, double *v)
{
    size_t kl = strlen(key);
    for (const char *p = r->out; p && *p;) {
        const char *e = strchr(p, '\n');
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            static char buf[512];
            size_t len = e ? (size_t)(e - p - kl - 1) : strlen(p + kl + 1);
            snprintf(buf, sizeof buf, "%.*s", (int)(len < 511 ? len : 511), p + kl + 1);
            if (v) {
                char *end;
                *v = strtod(buf, &end);
                if (end == buf)
                    *v = NAN;
            }
            return buf;
        }
        p = e ? e + 1 : NULL;
    }
    if (v)
        *v = NAN;
    return NULL;
}

static double res_num(const child_res *r, const char *key)
{
    double v;
    res_get(r, key, &v);
    return v;
}

/* Runs argv with OMP_NUM_THREADS=threads (if > 0), its stdout captured, for at most timeout_s
 * seconds (then SIGTERM, and SIGKILL 5 s later). log (may be NULL) also gets its stdout. */
static void spawn(char *const argv[], int threads, double timeout_s, FILE *log, child_res *r)
{
    memset(r, 0, sizeof *r);
    int fd[2];
    if (pipe(fd) != 0)
        die(1, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    double t0 = scnn_now();
    pid_t pid = fork();
    if (pid < 0)
        die(1, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (threads > 0) {
            char t[32];
            snprintf(t, sizeof t, "%d", threads);
            setenv("OMP_NUM_THREADS", t, 1);
        }
        execv(argv[0], argv);
        fprintf(stderr, "%s: cannot run %s: %s\n", prog, argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t cap = 4096, len = 0;
    r->out = xmalloc(cap);
    int sig = 0;
    for (;;) {
        double left = timeout_s - (scnn_now() - t0);
        if (left <= 0 && sig == 0) {
            kill(pid, SIGTERM);
            sig = SIGTERM;
            r->timed_out = true;
            timeout_s += 5;
            continue;
        }
        if (left <= 0 && sig == SIGTERM) {
            kill(pid, SIGKILL);
            sig = SIGKILL;
        }
        struct pollfd p = {.fd = fd[0], .events = POLLIN};
        int pr = poll(&p, 1, sig == SIGKILL ? 1000 : (int)fmin(1000, fmax(1, left * 1e3)));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            if (sig == SIGKILL)
                break;
            continue;
        }
        if (len + 4096 > cap) {
            cap *= 2;
            char *nb = realloc(r->out, cap);
            if (!nb)
                die(1, "out of memory");
            r->out = nb;
        }
        ssize_t got = read(fd[0], r->out + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (log)
            fwrite(r->out + len, 1, (size_t)got, log);
        len += (size_t)got;
    }
    r->out[len] = 0;
    close(fd[0]);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    r->wall_s = scnn_now() - t0;
    double hwm = res_num(r, "vmhwm_kb");
    r->rss_mb = (isfinite(hwm) && hwm > 0 ? hwm : (double)ru.ru_maxrss) / 1024.0;
    if (r->timed_out)
        snprintf(r->why, sizeof r->why, "stopped after %.0f s (time limit)", r->wall_s);
    else if (WIFSIGNALED(status))
        snprintf(r->why, sizeof r->why, "killed by signal %d", WTERMSIG(status));
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        snprintf(r->why, sizeof r->why, "exit status %d", WEXITSTATUS(status));
    else
        r->ok = true;
    if (r->ok && r->rss_mb > RSS_LIMIT_MB) {
        r->ok = false;
        snprintf(r->why, sizeof r->why, "peak memory %.0f MB exceeds the 4 GiB budget",
                 r->rss_mb);
    }
}

/* ---- run: every backend end to end --------------------------------------------------------- */

typedef struct phase {
    char name[64];
    double s;
} phase;

typedef struct e2e_row {
    char backend[32], impl[160], status[320];
    bool peer, ok;
    int threads;
    double train_ips, infer_ips, latency_ms, latency_p90_ms, step_ms;
    double rss_mb, train_rss_mb, infer_rss_mb, latency_rss_mb, short_rss_mb;
    int short_images;
    double train_loss, final_loss, final_acc;
    char matches[8];
    int long_images;
    double long_loss, long_acc;
    char long_matches[8];
    phase phases[MAX_PHASES];
    int nphases;
    double prof_step_ms;
} e2e_row;

typedef struct run_opts {
    const char *backends, *data, *out_dir, *pytorch, *python;
    const mode_cfg *mode;
    int threads;
    int torch_threads[4];
    int n_torch;
    uint64_t seed;
} run_opts;

static void row_fail(e2e_row *w, const char *what, const child_res *r)
{
    w->ok = false;
    size_t used = strlen(w->status);
    snprintf(w->status + used, sizeof w->status - used, "%s%s: %s", used ? "; " : "", what,
             r->why);
}

static void add_num(char **argv, int *n, char bufs[][32], const char *flag, double v, bool real)
{
    argv[(*n)++] = (char *)flag;
    if (real)
        snprintf(bufs[*n], 32, "%g", v);
    else
        snprintf(bufs[*n], 32, "%.0f", v);
    argv[*n] = bufs[*n];
    (*n)++;
}

typedef struct spawn_spec {
    const char *kind;
    int images, batch, eval, warmup, steps, prof_steps;
    double min_time;
    int dropout;
} spawn_spec;

/* One measurement of row w (a backend of ours, or PyTorch). */
static void measure(const run_opts *o, const e2e_row *w, const char *self, const char *weights,
                    const spawn_spec *s, child_res *r)
{
    char *argv[64];
    char bufs[64][32];
    int n = 0;
    if (w->peer) {
        argv[n++] = (char *)o->python;
        argv[n++] = (char *)o->pytorch;
        argv[n++] = (char *)s->kind;
        argv[n++] = "--threads";
        snprintf(bufs[n], 32, "%d", w->threads);
        argv[n] = bufs[n];
        n++;
        if (weights) {
            argv[n++] = "--weights";
            argv[n++] = (char *)weights;
        }
    } else {
        argv[n++] = (char *)self;
        argv[n++] = "child";
        argv[n++] = (char *)s->kind;
        argv[n++] = "--backend";
        argv[n++] = (char *)w->backend;
    }
    argv[n++] = "--data";
    argv[n++] = (char *)o->data;
    add_num(argv, &n, bufs, "--images", s->images, false);
    add_num(argv, &n, bufs, "--batch", s->batch, false);
    add_num(argv, &n, bufs, "--eval", s->eval, false);
    add_num(argv, &n, bufs, "--warmup", s->warmup, false);
    add_num(argv, &n, bufs, "--steps", s->steps, false);
    add_num(argv, &n, bufs, "--prof-steps", s->prof_steps, false);
    add_num(argv, &n, bufs, "--min-time", s->min_time, true);
    add_num(argv, &n, bufs, "--dropout", s->dropout, false);
    add_num(argv, &n, bufs, "--seed", (double)o->seed, false);
    argv[n] = NULL;
    spawn(argv, w->threads, o->mode->child_timeout, NULL, r);
    if (!r->ok) {
        /* the child's last words, for the log */
        fprintf(stderr, "%s: %s %s failed: %s\n", prog, w->backend, s->kind, r->why);
    }
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

static const char *csv_num(char *buf, size_t len, double v, const char *fmt)
{
    if (!isfinite(v))
        snprintf(buf, len, "nan");
    else
        snprintf(buf, len, fmt, v);
    return buf;
}

static void write_file_or_die(const char *path, const char *text)
{
    if (scnn_write_atomic(path, text, strlen(text)) != SCNN_OK)
        die(1, "cannot write %s: %s", path, scnn_last_error());
}

/* A growing string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 256;
        char *nb = realloc(b->s, b->cap);
        if (!nb)
            die(1, "out of memory");
        b->s = nb;
    }
}

/* Groups of the breakdown plot: the layer and its direction. */
static const char *phase_group(const char *name)
{
    bool fwd = strncmp(name, "fwd ", 4) == 0, bwd = strncmp(name, "bwd ", 4) == 0;
    const char *l = name + 4;
    if (fwd || bwd) {
        if (strncmp(l, "conv2d_1", 8) == 0)
            return fwd ? "conv2 fwd" : "conv2 bwd";
        if (strncmp(l, "conv2d", 6) == 0)
            return fwd ? "conv1 fwd" : "conv1 bwd";
        if (strncmp(l, "dense", 5) == 0)
            return fwd ? "dense fwd" : "dense bwd";
    }
    if (strcmp(name, "adam") == 0)
        return "adam";
    return "other";
}

static void write_run_csvs(const run_opts *o, e2e_row *rows, int n)
{
    char a[64], b[64], c[64], d[64], e[64], f[64], g[64], h[64], i9[64], j[64], k[64], l[64],
        m2[64], p[64], q[64];
    sbuf t = {0};
    sb_printf(&t, "# scnn_bench_e2e %s, BENCH=%s, seed %llu; short training: the same images "
                  "and steps for every backend, dropout off, loss vs naive's at rel tol %g; "
                  "long: dropout on, vs the first fast backend; rss in MB (VmHWM of each "
                  "measurement's own process)\n",
              scnn_git_rev(), o->mode->name, (unsigned long long)o->seed, LOSS_RTOL);
    sb_printf(&t, "backend,threads,train_images_per_s,infer_images_per_s,latency_ms,"
                  "peak_rss_mb,final_loss,final_acc,matches_naive,train_loss,short_images,"
                  "long_images,long_loss,long_acc,long_matches,step_ms,latency_p90_ms,"
                  "train_rss_mb,infer_rss_mb,ok,impl,status\n");
    for (int r = 0; r < n; r++) {
        e2e_row *w = &rows[r];
        sb_printf(&t, "%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s\n",
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
    write_file_or_die(path, t.s);
    free(t.s);

    sbuf bd = {0};
    sb_printf(&bd, "# per-phase wall time of one training step at batch 250 (scnn_model_profile"
                   "; mean of %d profiled step%s after the timed ones); pct: of the profiled "
                   "step\n",
              o->mode->prof_steps, o->mode->prof_steps == 1 ? "" : "s");
    sb_printf(&bd, "backend,threads,phase,group,ms,pct_of_step\n");
    for (int r = 0; r < n; r++) {
        e2e_row *w = &rows[r];
        double total = 0;
        for (int x = 0; x < w->nphases; x++)
            total += w->phases[x].s;
        for (int x = 0; x < w->nphases; x++)
            sb_printf(&bd, "%s,%d,%s,%s,%s,%s\n", w->backend, w->threads, w->phases[x].name,
                      phase_group(w->phases[x].name), csv_num(p, 64, 1e3 * w->phases[x].s, "%.4f"),
                      csv_num(q, 64, total > 0 ? 100 * w->phases[x].s / total : NAN, "%.3f"));
    }
    snprintf(path, sizeof path, "%s/breakdown.csv", o->out_dir);
    write_file_or_die(path, bd.s);
    free(bd.s);
}


static int run_main(const run_opts *o, const char *self)
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

/* ---- CSV reading (our own files: no quoting, '#' comment lines) ---------------------------- */

typedef struct csv {
    int ncol, nrows;
    char **head;
    char ***cell;
} csv;

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

static bool csv_read(csv *c, const char *path)
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

static void csv_free(csv *c)
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

static int csv_col(const csv *c, const char *name)
{
    for (int i = 0; i < c->ncol; i++)
        if (strcmp(c->head[i], name) == 0)
            return i;
    return -1;
}

static const char *csv_get(const csv *c, int r, const char *name)
{
    int i = csv_col(c, name);
    return i < 0 ? "" : c->cell[r][i];
}

static double csv_num_at(const csv *c, int r, const char *name)
{
    const char *s = csv_get(c, r, name);
    char *end;
    double v = strtod(s, &end);
    return end == s ? NAN : v;
}

/* Column `field` of an ops.csv row (batch 250), NAN if absent. */
static double ops_field(const csv *ops, const char *backend, const char *op, const char *dir,
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
static double conv2_all(const csv *ops, const char *backend, int threads)
{
    double t = ops_field(ops, backend, "conv2", "fwd", threads, "median_ms") +
               ops_field(ops, backend, "conv2", "bwd_d", threads, "median_ms") +
               ops_field(ops, backend, "conv2", "bwd_w", threads, "median_ms");
    double flops = 3 * 2.0 * 7929856.0 * 250;
    return isfinite(t) && t > 0 ? flops / (t * 1e-3) * 1e-9 : NAN;
}

/* ---- scaling: training images/s of one backend over thread counts ------------------------- */

static int scaling_main(const char *self, const char *backend, const int *threads, int nt,
                        const mode_cfg *M, const char *data, const char *ops_path,
                        const char *out, uint64_t seed)
{
    csv ops = {0};
    bool have_ops = ops_path && csv_read(&ops, ops_path);
    if (ops_path && !have_ops)
        die(1, "cannot read %s", ops_path);
    run_opts o = {.data = data, .mode = M, .seed = seed};
    sbuf t = {0};
    sb_printf(&t, "# %s training images/s (batch 250, median step after a warm-up) and conv2 "
                  "GFLOP/s (from %s) per thread count; speedup and efficiency vs 1 thread\n",
              backend, ops_path ? ops_path : "no ops CSV");
    sb_printf(&t, "backend,threads,train_images_per_s,speedup,efficiency,conv2_fwd_gflops,"
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
        sb_printf(&t, "%s,%d,%s,%s,%s,%s,%s,%s,%s,%s,%d\n", backend, eff,
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
    write_file_or_die(out, t.s);
    free(t.s);
    if (have_ops)
        csv_free(&ops);
    return bad ? 1 : 0;
}

/* ---- fullmem: a real `scnn train` epoch ---------------------------------------------------- */

static int fullmem_main(const char *scnn, const char *backend, double seconds, const char *data,
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
    sbuf t = {0};
    sb_printf(&t, "# peak resident memory of `scnn train --epochs 1 --iterations 1` (all 60,000 "
                  "originals, 80/20 split, 2x augmentation, batch 250); wait4 ru_maxrss\n");
    sb_printf(&t, "backend,seconds,completed,peak_rss_mb,ok,what\n");
    sb_printf(&t, "%s,%.1f,%d,%.1f,%d,%s\n", backend, r.wall_s, completed ? 1 : 0, r.rss_mb,
              ok && r.rss_mb <= RSS_LIMIT_MB ? 1 : 0, what);
    write_file_or_die(out, t.s);
    free(t.s);
    printf("full training setup (%s): peak %.0f MB after %.0f s, %s%s%s\n", backend, r.rss_mb,
           r.wall_s, what, ok ? "" : "; FAILED: ", ok ? "" : r.why);
    res_free(&r);
    return ok ? 0 : 1;
}

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

static int summary_main(const char *dir, bool markdown)
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

/* ---- command line -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: scnn_bench_e2e run [--backends LIST] [--threads N] [--mode M] [--data DIR]\n"
            "                          [--pytorch SCRIPT] [--torch-threads LIST] --out-dir DIR\n"
            "       scnn_bench_e2e scaling [--backend B] --threads LIST [--mode M] [--data DIR]\n"
            "                          [--ops-csv FILE] --out FILE\n"
            "       scnn_bench_e2e fullmem --scnn PATH [--backend B] [--seconds S] [--data DIR]\n"
            "                          --out FILE [--log FILE]\n"
            "       scnn_bench_e2e summary [--markdown] DIR\n\n"
            "End-to-end measurements of `make bench`, each in a child process of its own:\n"
            "  run      per backend: a short fixed-seed training compared with naive's (loss at\n"
            "           rel tol 1e-3), training and inference images/s at batch 250, batch-1\n"
            "           latency, the per-layer breakdown of a training step, peak memory;\n"
            "           PyTorch too with --pytorch (run by $SCNN_PYTHON or /usr/bin/python3).\n"
            "           Writes DIR/train.csv and DIR/breakdown.csv.\n"
            "  scaling  training images/s of a backend (default omp) per thread count, with its\n"
            "           conv2 GFLOP/s from the per-operation CSV: writes scaling.csv.\n"
            "  fullmem  peak memory of a real `scnn train` epoch (60,000 originals, 2x\n"
            "           augmentation); --seconds S stops it after S s (0: run the whole epoch).\n"
            "  summary  the closing table from DIR/{ops,train,fulltrain}.csv.\n\n"
            "  --mode M  quick, default or full (how long each measurement runs)\n"
            "  --threads N  threads of multi-threaded backends (default: OMP_NUM_THREADS or all\n"
            "           cores); --torch-threads LIST: PyTorch's (default: 1 and N)\n"
            "  --data DIR  Fashion-MNIST IDX folder (default data/idx/fashion_mnist)\n"
            "A measurement whose peak memory exceeds 4 GiB fails. Exit status: 0 ok, 1 a\n"
            "measurement failed, 2 a usage error.\n");
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    for (const char *p = s; p && *p;) {
        const char *e = strchr(p, ',');
        char num[32];
        long v;
        snprintf(num, sizeof num, "%.*s", (int)(e ? (e - p < 31 ? e - p : 31) : 31), p);
        if (!scnn_parse_long(num, 1, 4096, &v) || n == max)
            return -1;
        out[n++] = (int)v;
        p = e ? e + 1 : NULL;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0)
        return child_main(argc, argv);
    if (argc < 2)
        die(2, "a command is needed: run, scaling, fullmem or summary (see --help)");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") && strcmp(cmd, "scaling") && strcmp(cmd, "fullmem") &&
        strcmp(cmd, "summary"))
        die(2, "unknown command '%s' (run, scaling, fullmem, summary; see --help)", cmd);

    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        die(1, "cannot find this program's path (/proc/self/exe)");
    self[sl] = 0;

    char defdata[4096];
    scnn_dataset_dir(defdata, sizeof defdata, "fashion_mnist");
    run_opts o = {.data = defdata, .mode = mode_find("default"), .threads = default_threads(),
                  .seed = 1};
    o.python = getenv("SCNN_PYTHON") && *getenv("SCNN_PYTHON") ? getenv("SCNN_PYTHON")
                                                                : "/usr/bin/python3";
    const char *backend = "omp", *ops_csv = NULL, *out = NULL, *scnn = NULL, *log = NULL,
               *dir = NULL;
    const char *threads_list = NULL, *torch_list = NULL;
    double seconds = 0;
    bool markdown = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--markdown") == 0) {
            markdown = true;
            continue;
        }
        if (a[0] != '-') {
            if (dir)
                die(2, "unexpected argument '%s' (see --help)", a);
            dir = a;
            continue;
        }
        if (i + 1 >= argc)
            die(2, "%s needs a value (see --help)", a);
        const char *v = argv[++i];
        if (strcmp(a, "--backends") == 0)
            o.backends = v;
        else if (strcmp(a, "--backend") == 0)
            backend = v;
        else if (strcmp(a, "--threads") == 0)
            threads_list = v;
        else if (strcmp(a, "--torch-threads") == 0)
            torch_list = v;
        else if (strcmp(a, "--mode") == 0) {
            if (!(o.mode = mode_find(v)))
                die(2, "--mode must be quick, default or full, got '%s'", v);
        } else if (strcmp(a, "--data") == 0)
            o.data = v;
        else if (strcmp(a, "--out-dir") == 0)
            o.out_dir = v;
        else if (strcmp(a, "--pytorch") == 0)
            o.pytorch = v;
        else if (strcmp(a, "--ops-csv") == 0)
            ops_csv = v;
        else if (strcmp(a, "--out") == 0)
            out = v;
        else if (strcmp(a, "--scnn") == 0)
            scnn = v;
        else if (strcmp(a, "--log") == 0)
            log = v;
        else if (strcmp(a, "--seconds") == 0) {
            if (!scnn_parse_double(v, 0, 86400, &seconds))
                die(2, "--seconds needs a number of seconds in 0..86400, got '%s'", v);
        } else if (strcmp(a, "--seed") == 0) {
            long s;
            if (!scnn_parse_long(v, 0, 2147483647L, &s))
                die(2, "--seed needs a non-negative integer, got '%s'", v);
            o.seed = (uint64_t)s;
        } else
            die(2, "unknown option '%s' (see --help)", a);
    }

    if (strcmp(cmd, "summary") == 0) {
        if (!dir)
            die(2, "summary needs a results directory");
        return summary_main(dir, markdown);
    }
    if (dir)
        die(2, "unexpected argument '%s' (see --help)", dir);
    int tl[MAX_THREADS], ntl = 0;
    if (threads_list && (ntl = parse_list(threads_list, tl, MAX_THREADS)) <= 0)
        die(2, "--threads needs a comma list of thread counts (1..4096), got '%s'", threads_list);

    if (strcmp(cmd, "run") == 0) {
        if (!o.out_dir)
            die(2, "run needs --out-dir DIR");
        if (ntl > 1)
            die(2, "run takes one thread count (--threads N)");
        if (ntl == 1)
            o.threads = tl[0];
        if (torch_list) {
            if ((o.n_torch = parse_list(torch_list, o.torch_threads, 4)) <= 0)
                die(2, "--torch-threads needs a comma list of up to 4 counts, got '%s'",
                    torch_list);
        } else {
            o.torch_threads[o.n_torch++] = 1;
            if (o.threads > 1)
                o.torch_threads[o.n_torch++] = o.threads;
        }
        if (o.pytorch && access(o.pytorch, R_OK) != 0)
            die(2, "cannot read the PyTorch peer script %s", o.pytorch);
        struct stat st;
        if (stat(o.out_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            die(2, "--out-dir %s is not a directory", o.out_dir);
        return run_main(&o, self);
    }
    if (strcmp(cmd, "scaling") == 0) {
        if (!out || ntl == 0)
            die(2, "scaling needs --threads LIST and --out FILE");
        if (!scnn_backend_find(backend))
            die(2, "unknown backend '%s'", backend);
        return scaling_main(self, backend, tl, ntl, o.mode, o.data, ops_csv, out, o.seed);
    }
    /* fullmem */
    if (!scnn || !out)
        die(2, "fullmem needs --scnn PATH and --out FILE");
    if (access(scnn, X_OK) != 0)
        die(2, "cannot run %s", scnn);
    return fullmem_main(scnn, backend, seconds, o.data, out, log);
}
