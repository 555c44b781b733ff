/* The measured FP32 FMA peak: independent FMA chains on t threads (pthreads, so that the
 * figure exists in OPENMP=0 builds too), best of many short trials, since a short trial is the
 * likeliest to run undisturbed on a shared machine. */
#include <pthread.h>
#include <stdio.h>

#include "core/core.h"
#include "bench/bench_ops.h"
#include "scnn.h"

#define TRIALS 40
#define TRIAL_S 0.001

typedef struct peak_job {
    enum bench_isa isa;
    long iters;
    pthread_barrier_t *start;
    double flops, t0, t1;
    float sink;
} peak_job;

static void *peak_thread(void *arg)
{
    peak_job *j = arg;
    pthread_barrier_wait(j->start);
    /* Each thread times itself: the main thread may be descheduled right after the barrier. */
    j->t0 = scnn_now();
    j->sink = j->isa == BENCH_ISA_AVX512 ? bench_fma_avx512(j->iters, &j->flops)
                                         : bench_fma_avx2(j->iters, &j->flops);
    j->t1 = scnn_now();
    return NULL;
}

/* GFLOP/s of one trial: iters rounds on each of t threads, first start to last finish. */
static double peak_trial(enum bench_isa isa, int t, long iters)
{
    enum { MAX_T = 256 };
    pthread_t tid[MAX_T];
    peak_job job[MAX_T];
    pthread_barrier_t start;
    if (t > MAX_T)
        t = MAX_T;
    int started = 0;
    pthread_barrier_init(&start, NULL, (unsigned)t);
    for (int i = 0; i < t; i++) {
        job[i] = (peak_job){.isa = isa, .iters = iters, .start = &start};
        if (pthread_create(&tid[i], NULL, peak_thread, &job[i]) != 0)
            break;
        started++;
    }
    if (started < t) {
        /* The barrier cannot shrink: stand in for the threads that did not start. */
        fprintf(stderr, "warning: started only %d of %d peak-probe threads\n", started, t);
        for (int i = started; i < t; i++)
            pthread_barrier_wait(&start);
    }
    double flops = 0, first = 0, last = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        flops += job[i].flops;
        if (i == 0 || job[i].t0 < first)
            first = job[i].t0;
        if (i == 0 || job[i].t1 > last)
            last = job[i].t1;
    }
    pthread_barrier_destroy(&start);
    return last > first ? flops / (last - first) * 1e-9 : 0;
}

double bench_peak_gflops(enum bench_isa isa, int threads)
{
    __builtin_cpu_init();
    bool ok = isa == BENCH_ISA_AVX512
                  ? __builtin_cpu_supports("avx512f")
                  : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!ok || threads < 1)
        return 0;
    double flops_per_iter = isa == BENCH_ISA_AVX512 ? 12 * 16 * 2 : 12 * 8 * 2;
    /* Calibrate on one thread to TRIAL_S a trial (best of three short ones). */
    double g = 0;
    for (int i = 0; i < 3; i++) {
        double r = peak_trial(isa, 1, 20000);
        g = r > g ? r : g;
    }
    long iters = (long)(TRIAL_S * g * 1e9 / flops_per_iter);
    if (iters < 20000)
        iters = 20000;
    if (iters > 20000000)
        iters = 20000000;
    double best = 0;
    for (int i = 0; i < TRIALS; i++) {
        double r = peak_trial(isa, threads, iters);
        best = r > best ? r : best;
    }
    return best;
}
