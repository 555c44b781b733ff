// The thin C++ shim between scnn_bench_ops (C) and Google Benchmark (libbenchmark): it registers
// the rows that bench/ops.c prepared (each already checked against naive), runs them, and
// hands the figures back; it writes the JSON (Google Benchmark's own reporter, with its context:
// CPU, caches, load, frequency scaling, and ours). Nothing else lives here: the op table, the
// checks and the CSV stay in C.
//
// - The thread count is the benchmark's ->Arg, set inside the benchmark (OpenMP's thread count
//   through the row's set_threads); never ->Threads(), which would run copies at once.
// - UseRealTime(): the figure is wall time, as a user waits for it.
// - Repetitions give median, stddev and cv (Google Benchmark's statistics) and min (ours).
// - A row that failed its check runs as SkipWithError; Google Benchmark does not turn that into
//   an exit status, so bench/ops.c counts the failures itself.
// - Ratios need paired samples: Google Benchmark's random interleaving shuffles repetitions
//   but does not pair them, so a pair benchmark times every member of a group once per round
//   (UseManualTime), alternating the order, and the per-round samples come back to C.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "bench/bench_ops.h"
#include "core/core.h"
#include "scnn.h"
}

namespace {

double now_s()
{
    return scnn_now();
}

double stat_min(const std::vector<double> &v)
{
    return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

// Forwards the runs to Google Benchmark's JSON reporter (one document over every call of
// bench_gb_run: the context once, the runs of every group) and keeps their figures for C.
class Collector : public benchmark::BenchmarkReporter {
  public:
    std::ostringstream json_text;
    benchmark::JSONReporter json;
    bool have_context = false;
    std::map<std::string, bench_gb_row *> rows;  // by benchmark family name

    Collector()
    {
        json.SetOutputStream(&json_text);
        json.SetErrorStream(&json_text);
    }
    bool ReportContext(const Context &context) override
    {
        if (!have_context)
            json.ReportContext(context);
        have_context = true;
        return true;
    }
    void ReportRuns(const std::vector<Run> &runs) override
    {
        json.ReportRuns(runs);
        for (const Run &r : runs) {
            auto it = rows.find(r.run_name.function_name);
            if (it == rows.end())
                continue;
            bench_gb_row *w = it->second;
            if (r.error_occurred) {
                w->error = true;
                continue;
            }
            const double per_call = r.iterations ? r.real_accumulated_time / r.iterations : 0;
            if (r.run_type == Run::RT_Iteration) {
                // a single repetition has no aggregates: its own run stands for them
                w->reps++;
                if (w->reps == 1)
                    w->median_s = w->min_s = per_call;
                continue;
            }
            const std::string &a = r.aggregate_name;
            if (a == "median")
                w->median_s = per_call;
            else if (a == "min")
                w->min_s = per_call;
            else if (a == "stddev")
                w->stddev_s = per_call;
            else if (a == "cv")
                w->cv = r.real_accumulated_time;
        }
    }
};

std::unique_ptr<Collector> collector;

void init_once()
{
    static bool done = false;
    if (done)
        return;
    done = true;
    static char arg0[] = "scnn_bench_ops";
    static char *argv[] = {arg0, nullptr};
    int argc = 1;
    benchmark::Initialize(&argc, argv);
}

}  // namespace

extern "C" void bench_gb_reset(void)
{
    init_once();
    collector.reset(new Collector);
}

extern "C" void bench_gb_context(const char *key, const char *value)
{
    // not AddCustomContext, which refuses a key twice (the tests run the bench several times)
    auto *&global = benchmark::internal::GetGlobalContext();
    if (!global)
        global = new std::map<std::string, std::string>;
    (*global)[key] = value;
}

extern "C" void bench_gb_run(bench_gb_row *rows, int nrows, bench_gb_pair *pairs, int npairs)
{
    if (!collector)
        bench_gb_reset();
    for (int i = 0; i < nrows; i++) {
        bench_gb_row *w = &rows[i];
        w->reps = 0;
        w->median_s = w->min_s = w->stddev_s = w->cv = 0;
        w->error = false;
        collector->rows[w->name] = w;
        auto *b = benchmark::RegisterBenchmark(w->name, [w](benchmark::State &state) {
            if (!w->ok) {
                state.SkipWithError(w->msg);  // checked before: it is not timed
                return;
            }
            w->set_threads(w->ctx, (int)state.range(0));
            for (auto _ : state)
                w->run(w->ctx);
            state.counters["GFLOP/s"] =
                benchmark::Counter(w->flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
            state.counters["GB/s"] =
                benchmark::Counter(w->bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
        });
        b->Arg(w->threads)
            ->ArgName("threads")
            ->UseRealTime()
            ->Iterations(w->iterations)
            ->Repetitions(w->repetitions)
            ->ComputeStatistics("min", stat_min)
            ->Unit(benchmark::kMillisecond);
    }
    for (int i = 0; i < npairs; i++) {
        bench_gb_pair *p = &pairs[i];
        auto *b = benchmark::RegisterBenchmark(p->name, [p](benchmark::State &state) {
            const int t = (int)state.range(0);
            int k = 0;
            for (auto _ : state) {
                double total = 0;
                for (int s = 0; s < p->n; s++) {
                    // alternate the order each round, but members that must settle (OpenBLAS's
                    // threads spin after a call) go last, their settling untimed
                    int m = p->n_alternating == 0 ? s
                            : s < p->n_alternating ? (k % 2 ? p->n_alternating - 1 - s : s)
                                                   : s;
                    p->set_threads(p->ctx[m], t);
                    const double t0 = now_s();
                    for (long c = 0; c < p->calls[m]; c++)
                        p->run(p->ctx[m]);
                    const double dt = now_s() - t0;
                    p->samples[(size_t)m * p->rounds + k] = dt / p->calls[m];
                    total += dt;
                    if (m >= p->n_alternating && t > 1 && k + 1 < p->rounds)
                        usleep(150 * 1000);  // not timed: before the next round
                }
                state.SetIterationTime(total);
                k++;
            }
            p->rounds_done = k;
            for (int r = 0; r < p->nratios; r++) {
                const int a = p->ratio_of[r][0], c = p->ratio_of[r][1];
                std::vector<double> v;
                for (int q = 0; q < k; q++)
                    v.push_back(p->samples[(size_t)c * p->rounds + q] /
                                p->samples[(size_t)a * p->rounds + q]);
                std::sort(v.begin(), v.end());
                if (v.empty())
                    continue;
                const size_t h = v.size() / 2;
                p->ratio[r][0] = v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
                p->ratio[r][1] = v.front();
                p->ratio[r][2] = v.back();
                state.counters[p->ratio_name[r]] = p->ratio[r][0];
            }
        });
        b->Arg(p->threads)
            ->ArgName("threads")
            ->UseManualTime()
            ->Iterations(p->rounds)
            ->Repetitions(1)
            ->Unit(benchmark::kMillisecond);
    }
    benchmark::RunSpecifiedBenchmarks(collector.get());
    benchmark::ClearRegisteredBenchmarks();
    collector->rows.clear();
}

extern "C" bool bench_gb_write_json(const char *path, char *err, size_t errlen)
{
    if (!collector || !collector->have_context) {
        snprintf(err, errlen, "no benchmark ran");
        return false;
    }
    collector->json.Finalize();
    const std::string text = collector->json_text.str();
    scnn_status st = scnn_write_atomic(path, text.data(), text.size());
    if (st != SCNN_OK) {
        snprintf(err, errlen, "%s", scnn_last_error());
        return false;
    }
    return true;
}
