// gbench_shim.cc — the only C++ file: exposes Google Benchmark to the C bench harness.
//
// The C side hands over plain cases {name, fn, ctx, flops, bytes, items}; here they become
// benchmark::RegisterBenchmark families with rate counters, a `min` and a `p90` statistic,
// and Google Benchmark's own flags are passed through untouched. Its JSON reporter writes
// into a string that the caller embeds unchanged in the bench document, so Google
// Benchmark's tools (compare.py) work on that part as is.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "bench/bench.h"
}

namespace {

double statistic_min(const std::vector<double> &v) {
    return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end());
}

// Nearest-rank 90th percentile: with 9 repetitions it is the 9th smallest... rank ceil(0.9 n).
double statistic_p90(const std::vector<double> &v) {
    if (v.empty()) return 0.0;
    std::vector<double> s(v);
    std::sort(s.begin(), s.end());
    size_t rank = (size_t)((9 * s.size() + 9) / 10);   // ceil(0.9 n)
    if (rank < 1) rank = 1;
    return s[rank - 1];
}

// Forwards every event to the JSON reporter (into a string) and, optionally, to a console
// reporter whose text is copied to a C FILE* as each family finishes.
class TeeReporter : public benchmark::BenchmarkReporter {
  public:
    explicit TeeReporter(FILE *console)
        : console_file_(console), console_(benchmark::ConsoleReporter::OO_Tabular) {
        json_.SetOutputStream(&json_text_);
        json_.SetErrorStream(&errors_);
        console_.SetOutputStream(&console_text_);
        console_.SetErrorStream(&console_text_);
    }
    bool ReportContext(const Context &context) override {
        bool ok = json_.ReportContext(context);
        if (console_file_) {
            console_.ReportContext(context);
            flush_console();
        }
        return ok;
    }
    void ReportRuns(const std::vector<Run> &runs) override {
        for (const Run &r : runs)
            if (r.error_occurred) {
                failed_ = true;
                if (first_error_.empty()) first_error_ = r.benchmark_name() + ": " + r.error_message;
            }
        json_.ReportRuns(runs);
        if (console_file_) {
            console_.ReportRuns(runs);
            flush_console();
        }
    }
    void Finalize() override {
        json_.Finalize();
        if (console_file_) {
            console_.Finalize();
            flush_console();
        }
    }
    std::string json() const { return json_text_.str(); }
    bool failed() const { return failed_; }
    const std::string &first_error() const { return first_error_; }

  private:
    void flush_console() {
        std::string s = console_text_.str();
        if (!s.empty()) {
            fwrite(s.data(), 1, s.size(), console_file_);
            fflush(console_file_);
        }
        console_text_.str(std::string());
    }
    FILE *console_file_;
    std::ostringstream json_text_, console_text_, errors_;
    benchmark::JSONReporter json_;
    benchmark::ConsoleReporter console_;
    bool failed_ = false;
    std::string first_error_;
};

void run_case(benchmark::State &state, const bench_gb_case *c) {
    for (auto _ : state) {
        if (c->fn(c->ctx) != 0) {
            state.SkipWithError("the case's run function failed");
            break;
        }
    }
    using benchmark::Counter;
    // Rates are per second of the measured (real) time; iteration invariant = value per iteration.
    if (c->flops > 0) state.counters["GFLOP/s"] = Counter(c->flops * 1e-9, Counter::kIsIterationInvariantRate);
    if (c->items > 0) state.SetItemsProcessed((int64_t)(c->items * (double)state.iterations()));
    if (c->bytes > 0) state.SetBytesProcessed((int64_t)(c->bytes * (double)state.iterations()));
    if (c->flops > 0) state.counters["flops"] = Counter(c->flops);
}

int fail(fc_error *err, int code, const std::string &msg) {
    return fc_fail(err, code, "bench: %s", msg.c_str());
}

}  // namespace

extern "C" int bench_gb_run(const bench_gb_case *cases, int n_cases, int gbench_argc,
                            char **gbench_argv, FILE *console, char **json, fc_error *err) {
    *json = nullptr;
    try {
        // Google Benchmark parses argv[0] as the program name and consumes the flags it knows.
        std::vector<char *> argv;
        static char prog[] = "fullconv-bench";
        argv.push_back(prog);
        for (int i = 0; i < gbench_argc; i++) argv.push_back(gbench_argv[i]);
        argv.push_back(nullptr);
        int argc = (int)argv.size() - 1;
        benchmark::Initialize(&argc, argv.data());
        if (argc > 1) {
            std::string bad;
            for (int i = 1; i < argc; i++) bad += (i > 1 ? " " : "") + std::string(argv[i]);
            return fail(err, FC_EINPUT, "unknown Google Benchmark flag(s): " + bad);
        }
        benchmark::ClearRegisteredBenchmarks();
        for (int i = 0; i < n_cases; i++) {
            const bench_gb_case *c = &cases[i];
            benchmark::RegisterBenchmark(c->name, run_case, c)
                ->UseRealTime()   // the runtime's own thread pool works outside this thread
                ->Unit(benchmark::kMillisecond)
                ->ComputeStatistics("min", statistic_min)
                ->ComputeStatistics("p90", statistic_p90);
        }
        TeeReporter reporter(console);
        benchmark::RunSpecifiedBenchmarks(&reporter);
        benchmark::ClearRegisteredBenchmarks();
        std::string text = reporter.json();
        *json = (char *)malloc(text.size() + 1);
        if (!*json) return fail(err, FC_ENOMEM, "out of memory copying Google Benchmark's JSON");
        memcpy(*json, text.c_str(), text.size() + 1);
        if (reporter.failed()) return fail(err, FC_ECHECK, reporter.first_error());
        return 0;
    } catch (const std::exception &e) {
        return fail(err, FC_EINTERNAL, std::string("Google Benchmark: ") + e.what());
    } catch (...) {
        return fail(err, FC_EINTERNAL, "Google Benchmark: unknown exception");
    }
}
