/* The parent side of a measurement: a child process with a time limit, its key=value answers,
 * its peak memory (VmHWM, else wait4's ru_maxrss; hand-written: no library measures a child
 * process's peak memory), and the command line of one measurement. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#include "bench/e2e.h"

/* ---- parent side: spawning children ------------------------------------------------------- */

void res_free(child_res *r)
{
    free(r->out);
    memset(r, 0, sizeof *r);
}

/* The value of key in r->out (NULL if absent); *v gets it as a number when v is given. */
const char *res_get(const child_res *r, const char *key, double *v)
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

double res_num(const child_res *r, const char *key)
{
    double v;
    res_get(r, key, &v);
    return v;
}

/* Runs argv with OMP_NUM_THREADS=threads (if > 0), its stdout captured, for at most timeout_s
 * seconds (then SIGTERM, and SIGKILL 5 s later). log (may be NULL) also gets its stdout. */
void spawn(char *const argv[], int threads, double timeout_s, FILE *log, child_res *r)
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
/* One measurement of row w (a backend of ours, or PyTorch). */
void measure(const run_opts *o, const e2e_row *w, const char *self, const char *weights,
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
