/* bench.c — speed through Google Benchmark and the per-node profile.
 *
 * Every (variant, batch, threads) becomes one Google Benchmark case whose iteration is one
 * fcn_session_run on a session built beforehand (so only inference is timed). Our statistics
 * (min, median, p90 over repetitions) are computed from the per-repetition times Google
 * Benchmark itself reports, read back from its JSON: one source of truth for every number. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"
#include "common/fc_dataset.h"
#include "runtime/fcn.h"

typedef struct speed_case {
    char name[128];
    char short_name[32];          /* "b1/t1" */
    int variant, batch, threads;
    fcn_session *session;
    fc_error run_err;
} speed_case;

/* The FMA probe as a Google Benchmark case: about half a millisecond of pure FMA work. */
typedef struct probe_case { bench_peak_kernel_fn kernel; long iters; double flops; } probe_case;
static volatile float probe_sink;

static int run_probe(void *ctx)
{
    probe_case *p = ctx;
    double flops_per_iter;
    probe_sink = p->kernel(p->iters, &flops_per_iter);
    return 0;
}

static int run_session(void *ctx)
{
    speed_case *c = ctx;
    return fcn_session_run(c->session, &c->run_err);
}

/* Input of the model at this batch: the declared shape with the batch replaced; a dataset
 * fixes free image dims. */
static int input_shape(const fcn_model *m, int batch, const fc_dataset *ds, fcn_shape *in, fc_error *err)
{
    fcn_model_input_shape(m, 0, in);
    if (in->ndim < 1) return fc_fail(err, FC_EINPUT, "%s: input 0 has no dims", fcn_model_name(m));
    if (ds && in->ndim == 4) {
        in->dims[1] = ds->c;
        in->dims[2] = ds->h;
        in->dims[3] = ds->w;
    }
    in->dims[0] = batch;
    for (int d = 1; d < in->ndim; d++)
        if (in->dims[d] < 0) return fc_fail(err, FC_EINPUT, "%s: input dim %d is free; give a dataset", fcn_model_name(m), d);
    return 0;
}

/* Fills input 0 with the first samples of the dataset (cycled), or a fixed pattern. */
static int fill_input(fcn_session *s, const fc_dataset *ds, int batch, fc_error *err)
{
    fcn_shape shape;
    int dtype;
    void *p = fcn_session_input(s, 0, &shape, &dtype);
    size_t numel = 1;
    for (int d = 0; d < shape.ndim; d++) numel *= (size_t)shape.dims[d];
    if (!p || dtype != FC_DT_F32) return fc_fail(err, FC_EINPUT, "input 0 is not f32");
    float *x = p;
    if (ds && ds->count > 0) {
        size_t per = numel / (size_t)batch;
        for (int b = 0; b < batch; b++)
            if (fc_dataset_batch(ds, b % ds->count, 1, x + (size_t)b * per, NULL, err)) return -1;
    } else {
        for (size_t i = 0; i < numel; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double to_ms(double t, const char *unit)
{
    if (!strcmp(unit, "ns")) return t * 1e-6;
    if (!strcmp(unit, "us")) return t * 1e-3;
    if (!strcmp(unit, "s")) return t * 1e3;
    return t;
}

/* Collects the per-repetition real times (ms) of one case from Google Benchmark's JSON. */
static int reps_of(const cJSON *gb, const char *name, double *reps, int cap)
{
    int n = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(gb, "benchmarks")) {
        /* UseRealTime() makes Google Benchmark append "/real_time" to the name. */
        const char *rn = bench_jstr(b, "run_name", bench_jstr(b, "name", ""));
        size_t len = strlen(name);
        if (strncmp(rn, name, len) || (rn[len] && strcmp(rn + len, "/real_time"))) continue;
        if (strcmp(bench_jstr(b, "run_type", "iteration"), "iteration")) continue;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "error_occurred"))) continue;
        double t = bench_jnum(b, "real_time", NAN);
        if (isnan(t) || n >= cap) continue;
        reps[n++] = to_ms(t, bench_jstr(b, "time_unit", "ns"));
    }
    return n;
}

static cJSON *find_variant(cJSON *variants_json, const char *name)
{
    cJSON *v;
    cJSON_ArrayForEach(v, variants_json) {
        if (!strcmp(bench_jstr(v, "name", ""), name)) return v;
    }
    return NULL;
}

static int add_case_json(const speed_case *c, const bench_variant *v, const cJSON *gb, double peak_gflops,
                         cJSON *variants_json, fc_error *err)
{
    enum { CAP = 1000 };
    static double reps[CAP];
    int n = reps_of(gb, c->name, reps, CAP);
    cJSON *vj = find_variant(variants_json, v->name);
    if (!vj) return fc_fail(err, FC_EINTERNAL, "variant %s missing from the document", v->name);
    cJSON *speed = cJSON_GetObjectItemCaseSensitive(vj, "speed");
    if (!speed) speed = cJSON_AddArrayToObject(vj, "speed");
    cJSON *o = cJSON_CreateObject();
    if (!speed || !o) return fc_fail(err, FC_ENOMEM, "out of memory");
    cJSON_AddStringToObject(o, "case", c->short_name);
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddNumberToObject(o, "batch", c->batch);
    cJSON_AddNumberToObject(o, "threads", c->threads);
    double macs = (double)fcn_session_total_macs(c->session);
    cJSON_AddNumberToObject(o, "macs", macs);
    cJSON_AddNumberToObject(o, "arena_bytes", (double)fcn_session_arena_bytes(c->session));
    cJSON_AddNumberToObject(o, "packed_bytes", (double)fcn_session_packed_bytes(c->session));
    cJSON_AddNumberToObject(o, "repetitions", n);
    if (n > 0) {
        double sorted[CAP];
        memcpy(sorted, reps, (size_t)n * sizeof *reps);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
        double mean = 0;
        for (int i = 0; i < n; i++) mean += reps[i];
        mean /= n;
        double med = bench_median(reps, n);
        cJSON_AddNumberToObject(o, "min_ms", sorted[0]);
        cJSON_AddNumberToObject(o, "median_ms", med);
        cJSON_AddNumberToObject(o, "p90_ms", bench_quantile(reps, n, 0.9));
        cJSON_AddNumberToObject(o, "mean_ms", mean);
        cJSON_AddItemToObject(o, "reps_ms", cJSON_CreateDoubleArray(reps, n));
        double gflops = med > 0 ? 2 * macs / (med * 1e-3) * 1e-9 : 0;
        cJSON_AddNumberToObject(o, "gflops", gflops);
        if (peak_gflops > 0) cJSON_AddNumberToObject(o, "peak_pct", 100 * gflops / (peak_gflops * c->threads));
        cJSON_AddNumberToObject(o, "images_per_s", med > 0 ? c->batch / (med * 1e-3) : 0);
    }
    cJSON_AddItemToArray(speed, o);
    return 0;
}

int bench_speed_run(bench_variant *vars, int n_vars, const int *batches, int n_batches, const int *threads,
                    int n_threads, const fc_dataset *ds, int gb_argc, char **gb_argv, FILE *console,
                    double peak_gflops, cJSON *variants_json, cJSON *probe_json, cJSON **gbench, fc_error *err)
{
    *gbench = NULL;
    int cap = n_vars * n_batches * n_threads + 1, n = 0, rc = -1;
    speed_case *cases = calloc((size_t)(cap > 0 ? cap : 1), sizeof *cases);
    bench_gb_case *gcases = calloc((size_t)(cap > 0 ? cap : 1), sizeof *gcases);
    char *json_text = NULL;
    if (!cases || !gcases) { fc_fail(err, FC_ENOMEM, "out of memory"); goto done; }
    for (int vi = 0; vi < n_vars; vi++) {
        if (!vars[vi].applicable) continue;
        for (int bi = 0; bi < n_batches; bi++)
            for (int ti = 0; ti < n_threads; ti++) {
                speed_case *c = &cases[n];
                c->variant = vi;
                c->batch = batches[bi];
                c->threads = threads[ti];
                snprintf(c->short_name, sizeof c->short_name, "b%d/t%d", c->batch, c->threads);
                snprintf(c->name, sizeof c->name, "%s/%s", vars[vi].name, c->short_name);
                fcn_shape in;
                if (input_shape(vars[vi].model, c->batch, ds, &in, err)) goto done;
                fcn_session_options so = {.threads = c->threads, .n_input_shapes = 1, .input_shapes = &in};
                if (fcn_session_create(vars[vi].model, &so, &c->session, err)) {
                    fc_wrap(err, "%s", c->name);
                    goto done;
                }
                if (fcn_session_threads(c->session) < c->threads) {   /* fewer CPUs than asked for */
                    if (console)
                        fprintf(console, "bench: %s runs on %d threads: one per CPU this process may run on\n",
                                c->name, fcn_session_threads(c->session));
                    c->threads = fcn_session_threads(c->session);
                    snprintf(c->short_name, sizeof c->short_name, "b%d/t%d", c->batch, c->threads);
                    snprintf(c->name, sizeof c->name, "%s/%s", vars[vi].name, c->short_name);
                }
                if (fill_input(c->session, ds, c->batch, err) || fcn_session_run(c->session, err)) {
                    fc_wrap(err, "%s", c->name);
                    n++;
                    goto done;
                }
                double macs = (double)fcn_session_total_macs(c->session);
                gcases[n] = (bench_gb_case){c->name, run_session, c, 2 * macs, 0, c->batch};
                n++;
            }
    }
    probe_case probe = {bench_peak_kernel_select(NULL), 20000, 0};
    double flops_per_iter = 0;
    probe_sink = probe.kernel(1, &flops_per_iter);
    probe.flops = flops_per_iter * (double)probe.iters;
    gcases[n] = (bench_gb_case){"fma-probe", run_probe, &probe, probe.flops, 0, 0};
    if (bench_gb_run(gcases, n + 1, gb_argc, gb_argv, console, &json_text, err)) goto done;
    cJSON *gb = cJSON_Parse(json_text);
    if (!gb) { fc_fail(err, FC_EINTERNAL, "Google Benchmark's JSON output did not parse"); goto done; }
    for (int i = 0; i < n; i++)
        if (add_case_json(&cases[i], &vars[cases[i].variant], gb, peak_gflops, variants_json, err)) {
            cJSON_Delete(gb);
            goto done;
        }
    if (probe_json) {
        enum { CAP = 1000 };
        static double reps[CAP];
        int nr = reps_of(gb, "fma-probe", reps, CAP);
        cJSON_AddStringToObject(probe_json, "case", "fma-probe");
        cJSON_AddNumberToObject(probe_json, "flops", probe.flops);
        if (nr > 0) {
            double med = bench_median(reps, nr);
            cJSON_AddItemToObject(probe_json, "reps_ms", cJSON_CreateDoubleArray(reps, nr));
            cJSON_AddNumberToObject(probe_json, "min_ms", bench_min(reps, nr));
            cJSON_AddNumberToObject(probe_json, "median_ms", med);
            cJSON_AddNumberToObject(probe_json, "gflops", med > 0 ? probe.flops / (med * 1e-3) * 1e-9 : 0);
        }
    }
    *gbench = gb;
    rc = 0;
done:
    free(json_text);
    for (int i = 0; i < n; i++) fcn_session_destroy(cases[i].session);
    free(cases);
    free(gcases);
    return rc;
}

static int cmp_profile(const void *a, const void *b)
{
    double x = bench_jnum(*(const cJSON *const *)a, "ms", 0), y = bench_jnum(*(const cJSON *const *)b, "ms", 0);
    return x > y ? -1 : x < y ? 1 : 0;
}

int bench_profile_run(const fcn_model *m, int threads, int runs, cJSON **out, fc_error *err)
{
    *out = NULL;
    fcn_shape in;
    if (input_shape(m, 1, NULL, &in, err)) return -1;
    fcn_session_options so = {.threads = threads, .n_input_shapes = 1, .input_shapes = &in, .profile = 1};
    fcn_session *s = NULL;
    if (fcn_session_create(m, &so, &s, err)) return -1;
    int nn = fcn_session_num_nodes(s), rc = -1;
    double *ms = calloc((size_t)(nn > 0 ? nn : 1), sizeof *ms);
    cJSON **items = calloc((size_t)(nn > 0 ? nn : 1), sizeof *items);
    cJSON *arr = NULL;
    if (!ms || !items) { fc_fail(err, FC_ENOMEM, "out of memory"); goto done; }
    if (fill_input(s, NULL, 1, err)) goto done;
    for (int r = 0; r < 3; r++)   /* warm-up: caches, thread pool, page faults */
        if (fcn_session_run(s, err)) goto done;
    if (runs < 1) runs = 1;
    for (int r = 0; r < runs; r++) {
        if (fcn_session_run(s, err)) goto done;
        for (int i = 0; i < nn; i++) {
            fcn_node_info info;
            fcn_session_node_info(s, i, &info);
            ms[i] += info.last_ms;
        }
    }
    arr = cJSON_CreateArray();
    if (!arr) { fc_fail(err, FC_ENOMEM, "out of memory"); goto done; }
    for (int i = 0; i < nn; i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        cJSON *o = cJSON_CreateObject();
        items[i] = o;
        double t = ms[i] / runs;
        cJSON_AddStringToObject(o, "name", info.name ? info.name : "?");
        cJSON_AddStringToObject(o, "op", info.op ? info.op : "?");
        cJSON_AddStringToObject(o, "kernel", info.kernel ? info.kernel : "?");
        cJSON_AddNumberToObject(o, "ms", t);
        cJSON_AddNumberToObject(o, "macs", (double)info.macs);
        /* a node whose work another node does (a fused pool or BN, a view) has no rate of its own */
        int elsewhere = info.kernel && (strcmp(info.kernel, "fused") == 0 || strcmp(info.kernel, "view") == 0);
        if (!elsewhere) cJSON_AddNumberToObject(o, "gflops", t > 0 ? 2.0 * (double)info.macs / (t * 1e-3) * 1e-9 : 0);
        cJSON_AddNumberToObject(o, "params", (double)info.params);
        cJSON_AddNumberToObject(o, "weight_bytes", (double)info.weight_bytes);
        char dims[96];
        fc_format_dims(info.out_shape.ndim, info.out_shape.dims, dims, sizeof dims);
        cJSON_AddStringToObject(o, "out_shape", dims);
    }
    qsort(items, (size_t)nn, sizeof *items, cmp_profile);
    for (int i = 0; i < nn; i++) cJSON_AddItemToArray(arr, items[i]);
    *out = arr;
    rc = 0;
done:
    free(ms);
    free(items);
    fcn_session_destroy(s);
    return rc;
}
