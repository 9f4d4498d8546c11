/* bench.h — the bench component's internal table of contents.
 *
 *   gbench     bench_gb_run                 Google Benchmark through a C shim (gbench_shim.cc)
 *   peak       bench_peak_gflops            FMA peak probe (peak_avx2.c + portable fallback)
 *   stats      bench_mwu / bench_median ... Mann–Whitney U test and order statistics (compare.c)
 *   compare    bench_compare_docs           the regression gate over two bench JSON documents
 *   machine    bench_machine_json           CPU model, cores, ISA, compiler, git revision, date
 *   reports    bench_report_md / _html      Markdown and self-contained HTML (inline SVG)
 *   commands   bench_cmd_bench / bench_cmd_compare live in cli/commands.h
 *
 * The bench JSON document (schema "fullconv-bench/1", docs/BENCH.md) is the single data model:
 * the bench command builds it, every report writer and the compare gate only read it. */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "common/fc_common.h"

struct cJSON;

#define BENCH_SCHEMA "fullconv-bench/1"

/* ---- Google Benchmark shim (gbench_shim.cc) ------------------------------------------- */
typedef struct bench_gb_case {
    const char *name;             /* unique; becomes the Google Benchmark name */
    int (*fn)(void *ctx);         /* one iteration (e.g. one fcn_session_run); nonzero = failed */
    void *ctx;
    double flops;                 /* per iteration; GFLOP/s counter (0 = none) */
    double bytes;                 /* per iteration; bytes_per_second (0 = none) */
    double items;                 /* per iteration; items_per_second (images) */
} bench_gb_case;

/* Registers the cases, runs them with Google Benchmark's own flags (gbench_argv: flags only,
 * e.g. "--benchmark_repetitions=9"; later flags override earlier ones), and returns Google
 * Benchmark's JSON output unchanged in *json (malloc'd, NUL-terminated). If console is
 * non-NULL, Google Benchmark's console table is written there as it runs.
 * Returns 0, or -1 (unknown flag: FC_EINPUT; a case failed: FC_ECHECK). */
int bench_gb_run(const bench_gb_case *cases, int n_cases, int gbench_argc, char **gbench_argv,
                 FILE *console, char **json, fc_error *err);

/* ---- FMA peak probe (peak.c, peak_avx2.c) --------------------------------------------- */
/* Single-thread peak GFLOP/s of fused multiply-adds measured in this process (best of a few
 * runs lasting about `seconds` in total). *isa gets "avx2+fma" or "scalar". */
double bench_peak_gflops(double seconds, const char **isa);
/* Inner kernels: run `iters` rounds of independent FMA chains, return a value depending on
 * every lane (so nothing is optimized away). flops_per_iter is set to the flops of one round. */
float bench_peak_kernel_avx2(long iters, double *flops_per_iter);
float bench_peak_kernel_scalar(long iters, double *flops_per_iter);
/* The kernel the probe uses on this CPU (cpuid), and its name. */
typedef float (*bench_peak_kernel_fn)(long iters, double *flops_per_iter);
bench_peak_kernel_fn bench_peak_kernel_select(const char **isa);

/* ---- statistics (compare.c) ----------------------------------------------------------- */
typedef struct bench_mwu_result {
    double u1;          /* U of the first sample: #pairs (x_i > y_j) + 0.5 #ties */
    double u2;          /* n1*n2 - u1 */
    double z;           /* normal approximation (tie- and continuity-corrected), 0 if exact */
    double p_two_sided;
    int exact;          /* 1: p from the exact null distribution (no ties, small n) */
} bench_mwu_result;
/* Two-sided Mann–Whitney U test of x (n1) against y (n2). Exact when there are no ties and
 * n1, n2 <= BENCH_MWU_EXACT_MAX; normal approximation with tie and continuity correction
 * otherwise. Returns -1 if a sample is empty or an allocation fails. */
#define BENCH_MWU_EXACT_MAX 12
int bench_mwu(const double *x, int n1, const double *y, int n2, int force_normal,
              bench_mwu_result *out);
double bench_median(const double *v, int n);             /* copies; NaN if n == 0 */
double bench_quantile(const double *v, int n, double q); /* linear interpolation, q in [0,1] */
double bench_min(const double *v, int n);

/* ---- the compare gate (compare.c) ----------------------------------------------------- */
typedef struct bench_compare_options {
    double threshold_pct;   /* default 5 */
    double alpha;           /* default 0.05 */
    int normalize;          /* 1: times divided by each document's in-run probe time ("probe".median_ms),
                             * or multiplied by machine.peak_gflops when a document has no probe */
    double acc_tolerance;   /* allowed drop of top-1/agreement (fraction), default 0 */
    FILE *out;              /* the table and the summary; NULL = silent */
} bench_compare_options;
void bench_compare_options_default(bench_compare_options *o);
/* Returns 0 (no regression), 1 (a regression found), or -1 with err (bad documents). */
int bench_compare_docs(const struct cJSON *base, const struct cJSON *next,
                       const bench_compare_options *opt, fc_error *err);

/* ---- machine info (report_json.c) ----------------------------------------------------- */
/* {"cpu","cores","isa","compiler","git","date","peak_gflops","peak_isa"} */
struct cJSON *bench_machine_json(double peak_gflops, const char *peak_isa);
/* Reads a whole bench JSON document; checks its schema. */
int bench_json_load(const char *path, struct cJSON **out, fc_error *err);
/* Atomic write of a cJSON document (pretty-printed). */
int bench_json_save(const char *path, const struct cJSON *doc, fc_error *err);

/* ---- reports (report_md.c, report_html.c, report_console in report_md.c) -------------- */
int bench_report_md(const struct cJSON *doc, FILE *f, fc_error *err);
int bench_report_html(const struct cJSON *doc, FILE *f, fc_error *err);
void bench_report_console(const struct cJSON *doc, FILE *f);
/* Writes with fc_write_stream_atomic (force = 1: reports are regenerated). */
int bench_report_write(const char *path, int (*writer)(const struct cJSON *, FILE *, fc_error *),
                       const struct cJSON *doc, fc_error *err);

/* ---- small helpers shared by the report writers (report_json.c) ---------------------- */
double bench_jnum(const struct cJSON *obj, const char *key, double def);
const char *bench_jstr(const struct cJSON *obj, const char *key, const char *def);
/* Human-readable byte count ("1.23 MB") into buf. */
const char *bench_fmt_bytes(double bytes, char *buf, size_t cap);

/* ---- variants (variants.c) ------------------------------------------------------------ */
struct ir_graph;
struct fcn_model;
/* One variant of the model, built in memory: the IR after the converter's passes, its .fcn
 * bytes and the opened model. applicable == 0 carries the converter's reason instead. */
typedef struct bench_variant {
    char name[64];                /* "original", "fc2conv", "gap-fit+int8", ... */
    int applicable;
    char reason[FC_ERR_MAX];
    uint8_t *fcn;                 /* 64-byte aligned (free()) */
    size_t fcn_bytes;
    struct fcn_model *model;
    uint64_t head_bytes;          /* constants of the nodes after the last spatial op */
    uint64_t head_params;
    double build_ms;              /* passes + serialization + open */
    char model_name[160];         /* name given to the runtime (it may keep the pointer) */
} bench_variant;
/* Validates a variant name: '+'-joined parts from original, fc2conv, gap-exact, gap-fold,
 * gap-fit, fp16, int8. */
int bench_variant_check_name(const char *name, fc_error *err);
/* Builds `name` from the imported source graph (src is not modified). Returns 0 with
 * v->applicable set either way; -1 only for failures that are not about the model
 * (out of memory). calib: dataset spec for gap-fit. */
int bench_variant_build(const struct ir_graph *src, const char *name, const char *calib, float mean, float std,
                        bench_variant *v, fc_error *err);
/* Opens an existing .fcn file as the variant "name" (no converter involved). */
int bench_variant_open_fcn(const char *path, const char *name, bench_variant *v, fc_error *err);
void bench_variant_free(bench_variant *v);

/* ---- accuracy (accuracy.c) ------------------------------------------------------------ */
struct fc_dataset;
typedef struct bench_accuracy {
    int64_t n;                    /* samples evaluated */
    int64_t n_classes;            /* per-sample output length */
    double top1, top5;            /* NaN without labels */
    double agreement;             /* top-1 agreement with the reference outputs (NaN if none) */
    double max_abs_err, max_rel_err;
    float *logits;                /* n * n_classes (malloc'd; caller frees) */
} bench_accuracy;
/* Runs the model over all of ds (or, with ds == NULL, over n_random seeded N(0,1) inputs) at
 * the given batch, compares with labels and with ref (n * n_classes of the reference variant,
 * may be NULL). progress: label for a progress bar on stderr (NULL = none). */
int bench_accuracy_run(const struct fcn_model *m, const struct fc_dataset *ds, int64_t n_random, int batch,
                       int threads, const float *ref, int64_t ref_classes, const char *progress,
                       bench_accuracy *out, fc_error *err);

/* ---- speed and profile (bench.c) ------------------------------------------------------ */
/* For every applicable variant and every (batch, threads) pair: a session, one Google
 * Benchmark case "<variant>/b<B>/t<T>", then per case {case, batch, threads, min_ms,
 * median_ms, p90_ms, mean_ms, reps_ms, gflops, peak_pct, images_per_s, arena_bytes} appended
 * to the "speed" array of the matching object in variants_json (same order as vars).
 * *gbench gets Google Benchmark's JSON document, unchanged. */
/* Besides the model cases, the FMA probe runs as case "fma-probe" in the same Google Benchmark
 * run (interleaved with the others when random interleaving is on); its statistics go to
 * probe_json {case, reps_ms, min_ms, median_ms, gflops}: compare --normalize divides by it. */
int bench_speed_run(bench_variant *vars, int n_vars, const int *batches, int n_batches, const int *threads,
                    int n_threads, const struct fc_dataset *ds, int gb_argc, char **gb_argv, FILE *console,
                    double peak_gflops, struct cJSON *variants_json, struct cJSON *probe_json,
                    struct cJSON **gbench, fc_error *err);
/* Per-node profile at batch 1: `runs` profiled runs averaged; array sorted by time, each
 * {name, op, kernel, ms, macs, gflops, params, weight_bytes, out_shape}. */
int bench_profile_run(const struct fcn_model *m, int threads, int runs, struct cJSON **out, fc_error *err);

#endif
