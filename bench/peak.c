/* peak.c — the in-binary FMA peak probe. Bench reports "% of peak" against it, and bench-ci
 * divides times by it: a model's time relative to the probe survives a machine that is
 * slower or busier overall, since both are measured in the same process minutes apart. */
#include <time.h>
#include "bench/bench.h"

/* Portable twin for CPUs without AVX2+FMA: eight independent multiply-add chains. */
float bench_peak_kernel_scalar(long iters, double *flops_per_iter)
{
    float x[8] = {0.10f, 0.11f, 0.12f, 0.13f, 0.14f, 0.15f, 0.16f, 0.17f};
    const float a = 0.999f, b = 1e-3f;
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < 8; k++) x[k] = x[k] * a + b;
    *flops_per_iter = 16.0;
    return x[0] + x[1] + x[2] + x[3] + x[4] + x[5] + x[6] + x[7];
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Keeps the kernels' results observable so the loops are never removed. */
static volatile float probe_sink;

bench_peak_kernel_fn bench_peak_kernel_select(const char **isa)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        if (isa) *isa = "avx2+fma";
        return bench_peak_kernel_avx2;
    }
    if (isa) *isa = "scalar";
    return bench_peak_kernel_scalar;
}

double bench_peak_gflops(double seconds, const char **isa)
{
    bench_peak_kernel_fn kernel = bench_peak_kernel_select(isa);
    if (seconds <= 0) seconds = 0.2;
    /* Calibrate the round count so one run lasts about seconds/5, then keep the best of 5. */
    long iters = 1 << 14;
    double flops_per_iter = 0, t = 0;
    for (;;) {
        double t0 = now_seconds();
        probe_sink = kernel(iters, &flops_per_iter);
        t = now_seconds() - t0;
        if (t >= seconds / 20 || iters > (1L << 40)) break;
        iters *= 2;
    }
    long run_iters = (long)((double)iters * (seconds / 5) / (t > 0 ? t : 1e-9));
    if (run_iters < iters) run_iters = iters;
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now_seconds();
        probe_sink = kernel(run_iters, &flops_per_iter);
        double dt = now_seconds() - t0;
        double gflops = dt > 0 ? flops_per_iter * (double)run_iters / dt * 1e-9 : 0;
        if (gflops > best) best = gflops;
    }
    return best;
}
