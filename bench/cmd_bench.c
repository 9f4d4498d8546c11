/* cmd_bench.c — `fullconv bench MODEL [EXTRA...] [--variants LIST] [--data DATASET] ...`:
 * builds each variant in memory through the converter, measures accuracy over the dataset,
 * size, memory, speed (Google Benchmark) and optionally the per-node profile, and writes the
 * bench document (JSON) plus console, Markdown and HTML views of it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"
#include "cli/commands.h"
#include "common/fc_dataset.h"
#include "converter/ir.h"
#include "runtime/fcn.h"

#define DEFAULT_VARIANTS "original,fc2conv,gap-exact,gap-fold,gap-fit,fp16,int8"
#define MAX_VARIANTS 32
#define MAX_LIST 16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fullconv bench MODEL [EXTRA_MODEL...] [options] [-- Google Benchmark flags]\n"
            "  --variants LIST   comma list of original, fc2conv, gap-exact, gap-fold, gap-fit, fp16, int8\n"
            "                    (join with '+': gap-fit+int8; '+prepack' adds convert --prepack's packed\n"
            "                    weights: compare the size and session ms); default " DEFAULT_VARIANTS "\n"
            "  --data DATASET    accuracy data: fashion-mnist:test, x.npy:y.npy, d.npz, IDX (see docs/BENCH.md);\n"
            "                    without it, agreement and errors over --samples seeded random inputs\n"
            "  --calib DATASET   calibration data for gap-fit (default fashion-mnist:train[:10000] when\n"
            "                    --data is fashion-mnist)\n"
            "  --mean M --std S  preprocessing (x - M) / S of dataset pixels (default 0, 1)\n"
            "  --threads LIST    thread counts to time, e.g. 1,2 (default 1 and the core count)\n"
            "  --batch B         the larger batch timed besides batch 1 (default 32; 1 = batch 1 only)\n"
            "  --samples N       random inputs when no --data (default 256)\n"
            "  --profile         per-node time table (batch 1) for every variant\n"
            "  --no-speed        accuracy, size and memory only\n"
            "  --no-peak         skip the FMA peak probe (no %% of peak; for scripts timing many runs)\n"
            "  --peers FILE      include a scripts/bench_peers.sh JSON in the reports\n"
            "  --json F --md F --html F   write the reports\n"
            "  --save-dir DIR    also write each built variant as DIR/<variant>.fcn\n"
            "  --gbench-console  show Google Benchmark's own console table while timing\n"
            "  -- FLAGS          passed to Google Benchmark, e.g. -- --benchmark_repetitions=9\n"
            "Extra models are timed and evaluated as they are (one row each, named by file name).\n");
}

typedef struct bench_args {
    const char *models[MAX_VARIANTS];
    int n_models;
    char variants_buf[512];
    const char *data, *calib, *json, *md, *html, *peers, *save_dir;
    float mean, std;
    int threads[MAX_LIST], n_threads;
    int batch;
    int64_t samples;
    int profile, no_speed, gbench_console, no_peak;
    int gb_argc;
    char **gb_argv;
} bench_args;

static int parse_int_list(const char *s, int *out, int cap, int *n)
{
    *n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strtol(t, &end, 10);
        if (end == t || *end || v < 1 || v > 1024 || *n >= cap) return -1;
        out[(*n)++] = (int)v;
    }
    return *n > 0 ? 0 : -1;
}

static int parse_args(int argc, char **argv, bench_args *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->variants_buf, sizeof a->variants_buf, "%s", DEFAULT_VARIANTS);
    a->std = 1;
    a->batch = 32;
    a->samples = 256;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (!strcmp(o, "--")) {
            a->gb_argc = argc - i - 1;
            a->gb_argv = argv + i + 1;
            break;
        } else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(o, "--profile")) {
            a->profile = 1;
        } else if (!strcmp(o, "--no-peak")) {
            a->no_peak = 1;
        } else if (!strcmp(o, "--no-speed")) {
            a->no_speed = 1;
        } else if (!strcmp(o, "--gbench-console")) {
            a->gbench_console = 1;
        } else if (o[0] == '-' && o[1] && !val) {
            fprintf(stderr, "fullconv bench: option %s needs a value (or is unknown)\n", o);
            return -1;
        } else if (!strcmp(o, "--variants")) {
            snprintf(a->variants_buf, sizeof a->variants_buf, "%s", argv[++i]);
        } else if (!strcmp(o, "--data")) {
            a->data = argv[++i];
        } else if (!strcmp(o, "--calib")) {
            a->calib = argv[++i];
        } else if (!strcmp(o, "--json")) {
            a->json = argv[++i];
        } else if (!strcmp(o, "--md")) {
            a->md = argv[++i];
        } else if (!strcmp(o, "--html")) {
            a->html = argv[++i];
        } else if (!strcmp(o, "--save-dir")) {
            a->save_dir = argv[++i];
        } else if (!strcmp(o, "--peers")) {
            a->peers = argv[++i];
        } else if (!strcmp(o, "--mean") || !strcmp(o, "--std")) {
            double v = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !isfinite(v) || (!strcmp(o, "--std") && !(v > 0))) goto bad;
            if (!strcmp(o, "--mean")) a->mean = (float)v;
            else a->std = (float)v;
        } else if (!strcmp(o, "--threads")) {
            if (parse_int_list(argv[++i], a->threads, MAX_LIST, &a->n_threads)) goto bad;
        } else if (!strcmp(o, "--batch")) {
            long v = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end || v < 1 || v > 65536) goto bad;
            a->batch = (int)v;
        } else if (!strcmp(o, "--samples")) {
            long long v = strtoll(argv[++i], &end, 10);
            if (end == argv[i] || *end || v < 1 || v > 10000000) goto bad;
            a->samples = v;
        } else if (o[0] == '-' && o[1]) {
            fprintf(stderr, "fullconv bench: unknown option '%s'\n", o);
            return -1;
        } else if (a->n_models < MAX_VARIANTS) {
            a->models[a->n_models++] = o;
        } else {
            fprintf(stderr, "fullconv bench: too many models\n");
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "fullconv bench: bad value '%s' for %s\n", argv[i], o);
        return -1;
    }
    if (a->n_models < 1) {
        usage(stderr);
        return -1;
    }
    if (a->n_threads == 0) {
        a->threads[a->n_threads++] = 1;
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (cores > 1) a->threads[a->n_threads++] = (int)(cores > 1024 ? 1024 : cores);
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* "dir/lenet_gap.onnx" -> "lenet_gap" */
static void stem(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, cap, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

static double file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size : NAN;
}

static double peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return NAN;
    return (double)ru.ru_maxrss * 1024.0;   /* Linux reports kilobytes */
}

static void add_num_or_null(cJSON *o, const char *key, double v)
{
    if (isnan(v)) cJSON_AddNullToObject(o, key);
    else if (isinf(v)) cJSON_AddNumberToObject(o, key, v > 0 ? 1e308 : -1e308);
    else cJSON_AddNumberToObject(o, key, v);
}

static cJSON *variant_json(const bench_variant *v, const char *source, double source_bytes)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "source", source);
    cJSON_AddBoolToObject(o, "applicable", v->applicable);
    if (!v->applicable) {
        cJSON_AddStringToObject(o, "reason", v->reason);
        return o;
    }
    cJSON *s = cJSON_AddObjectToObject(o, "size");
    cJSON_AddNumberToObject(s, "fcn_bytes", (double)v->fcn_bytes);
    cJSON_AddNumberToObject(s, "params", (double)fcn_model_param_count(v->model));
    cJSON_AddNumberToObject(s, "weight_bytes", (double)fcn_model_weight_bytes(v->model));
    if (v->fcn) {   /* head sizes come from the IR: unknown for a .fcn opened as is */
        cJSON_AddNumberToObject(s, "head_bytes", (double)v->head_bytes);
        cJSON_AddNumberToObject(s, "head_params", (double)v->head_params);
    } else {
        cJSON_AddNullToObject(s, "head_bytes");
        cJSON_AddNullToObject(s, "head_params");
    }
    add_num_or_null(s, "source_bytes", source_bytes);
    cJSON_AddNumberToObject(o, "build_ms", v->build_ms);
    return o;
}

static void add_accuracy(cJSON *o, const bench_accuracy *acc)
{
    cJSON *a = cJSON_AddObjectToObject(o, "accuracy");
    cJSON_AddNumberToObject(a, "n", (double)acc->n);
    cJSON_AddNumberToObject(a, "classes", (double)acc->n_classes);
    add_num_or_null(a, "top1", acc->top1);
    add_num_or_null(a, "top5", acc->top5);
    add_num_or_null(a, "agreement", acc->agreement);
    add_num_or_null(a, "max_abs_err", acc->max_abs_err);
    add_num_or_null(a, "max_rel_err", acc->max_rel_err);
}

/* Arena and packed-weight bytes of a batch-1, one-thread session. */
static int add_memory(cJSON *o, const fcn_model *m, const fc_dataset *ds, fc_error *err)
{
    fcn_shape in;
    fcn_model_input_shape(m, 0, &in);
    if (ds && in.ndim == 4) { in.dims[1] = ds->c; in.dims[2] = ds->h; in.dims[3] = ds->w; }
    if (in.ndim > 0) in.dims[0] = 1;
    fcn_session_options so = {.threads = 1, .n_input_shapes = 1, .input_shapes = &in};
    fcn_session *s = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (fcn_session_create(m, &so, &s, err)) return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cJSON *mem = cJSON_AddObjectToObject(o, "memory");
    cJSON_AddNumberToObject(mem, "session_ms", (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6);
    cJSON_AddNumberToObject(mem, "arena_bytes", (double)fcn_session_arena_bytes(s));
    size_t peak_live = 0, bound = 0;
    fcn_session_plan_stats(s, &peak_live, &bound);
    cJSON_AddNumberToObject(mem, "arena_bound_bytes", (double)bound);   /* two largest live tensors */
    cJSON_AddNumberToObject(mem, "input_bytes", (double)fcn_session_input_bytes(s));
    cJSON_AddNumberToObject(mem, "packed_bytes", (double)fcn_session_packed_bytes(s));
    cJSON_AddNumberToObject(mem, "prepacked_used_bytes", (double)fcn_session_prepacked_used(s));
    cJSON_AddNumberToObject(mem, "macs_per_image", (double)fcn_session_total_macs(s));
    add_num_or_null(mem, "peak_rss_bytes", peak_rss_bytes());
    fcn_session_destroy(s);
    return 0;
}

static char *command_line(int argc, char **argv)
{
    size_t len = strlen("fullconv bench") + 1;
    for (int i = 1; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = malloc(len + 1);
    if (!s) return NULL;
    strcpy(s, "fullconv bench");
    for (int i = 1; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

/* Loads and checks the --peers JSON; NULL (with a warning) when unusable. */
static cJSON *load_peers(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    fc_error e = {0};
    if (fc_read_file(path, (size_t)64 << 20, &data, &size, &e)) {
        fprintf(stderr, "fullconv bench: warning: %s\n", e.msg);
        return NULL;
    }
    cJSON *p = cJSON_ParseWithLength((const char *)data, size);
    free(data);
    if (!p || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(p, "rows"))) {
        fprintf(stderr, "fullconv bench: warning: %s is not a bench_peers.sh JSON (no \"rows\"); ignored\n", path);
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}

typedef struct run_state {
    bench_args a;
    bench_variant vars[MAX_VARIANTS * 2];
    char sources[MAX_VARIANTS * 2][256];
    int n_vars;
    ir_graph *graph;
    fc_dataset *ds;
    cJSON *doc, *variants_json;
    float *ref;
    int64_t ref_classes;
} run_state;

static int build_variants(run_state *st, fc_error *err)
{
    bench_args *a = &st->a;
    const char *model = a->models[0];
    int is_fcn = ends_with(model, ".fcn");
    if (!is_fcn) {
        fprintf(stderr, "importing %s\n", model);
        if (fcv_import(model, NULL, &st->graph, err)) return -1;
    }
    const char *calib = a->calib;
    if (!calib && a->data && !strncmp(a->data, "fashion-mnist:", 14)) calib = "fashion-mnist:train[:10000]";
    char buf[512];
    snprintf(buf, sizeof buf, "%s", a->variants_buf);
    char *save = NULL;
    for (char *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        if (st->n_vars >= MAX_VARIANTS) return fc_fail(err, FC_EINPUT, "too many variants");
        if (bench_variant_check_name(name, err)) return -1;
        bench_variant *v = &st->vars[st->n_vars];
        snprintf(st->sources[st->n_vars], sizeof st->sources[0], "%s", model);
        st->n_vars++;
        if (is_fcn) {
            if (!strcmp(name, "original")) {
                if (bench_variant_open_fcn(model, name, v, err)) return -1;
            } else {
                memset(v, 0, sizeof *v);
                snprintf(v->name, sizeof v->name, "%s", name);
                snprintf(v->reason, sizeof v->reason, "%s is a .fcn: variants need an importable source model", model);
            }
        } else {
            fprintf(stderr, "building %-14s ", name);
            fflush(stderr);
            if (bench_variant_build(st->graph, name, calib, a->mean, a->std, v, err)) return -1;
            if (v->applicable) fprintf(stderr, "%zu bytes (%.0f ms)\n", v->fcn_bytes, v->build_ms);
            else fprintf(stderr, "not applicable: %s\n", v->reason);
        }
    }
    for (int i = 1; i < a->n_models; i++) {   /* extra models: as they are */
        bench_variant *v = &st->vars[st->n_vars];
        char name[64];
        stem(a->models[i], name, sizeof name);
        snprintf(st->sources[st->n_vars], sizeof st->sources[0], "%s", a->models[i]);
        st->n_vars++;
        if (ends_with(a->models[i], ".fcn")) {
            if (bench_variant_open_fcn(a->models[i], name, v, err)) return -1;
            continue;
        }
        ir_graph *g = NULL;
        if (fcv_import(a->models[i], NULL, &g, err)) return -1;
        int rc = bench_variant_build(g, "original", NULL, a->mean, a->std, v, err);
        snprintf(v->name, sizeof v->name, "%s", name);
        ir_graph_free(g);
        if (rc) return -1;
        fprintf(stderr, "building %-14s %s\n", name, v->applicable ? "ok" : v->reason);
    }
    return 0;
}

static int measure_accuracy(run_state *st, fc_error *err)
{
    bench_args *a = &st->a;
    for (int i = 0; i < st->n_vars; i++) {
        bench_variant *v = &st->vars[i];
        double src_bytes = file_bytes(st->sources[i]);
        cJSON *o = variant_json(v, st->sources[i], src_bytes);
        cJSON_AddItemToArray(st->variants_json, o);
        if (!v->applicable) continue;
        bench_accuracy acc;
        if (bench_accuracy_run(v->model, st->ds, a->samples, a->batch, a->threads[a->n_threads - 1], st->ref,
                               st->ref_classes, v->name, &acc, err)) {
            if (!st->ref || err->code == FC_ENOMEM) return fc_wrap(err, "variant %s", v->name);
            /* One broken variant does not hide the others: it is listed with the reason. */
            fprintf(stderr, "  %-14s evaluation failed: %s\n", v->name, err->msg);
            snprintf(v->reason, sizeof v->reason, "evaluation failed: %.400s", err->msg);
            v->applicable = 0;
            cJSON_ReplaceItemInArray(st->variants_json, cJSON_GetArraySize(st->variants_json) - 1,
                                     variant_json(v, st->sources[i], src_bytes));
            *err = (fc_error){0};
            continue;
        }
        if (!st->ref) {   /* the first applicable variant is the reference (normally "original") */
            st->ref = acc.logits;
            st->ref_classes = acc.n_classes;
            acc.agreement = 1;
            acc.max_abs_err = acc.max_rel_err = 0;
            cJSON_AddBoolToObject(o, "reference", 1);
        } else {
            free(acc.logits);
        }
        add_accuracy(o, &acc);
        if (add_memory(o, v->model, st->ds, err)) return fc_wrap(err, "variant %s", v->name);
        if (!st->ds || !st->ds->has_labels)
            fprintf(stderr, "  %-14s agreement %.2f%%, max abs err %.3g\n", v->name, 100 * acc.agreement, acc.max_abs_err);
        else
            fprintf(stderr, "  %-14s top-1 %.2f%%, agreement %.2f%%\n", v->name, 100 * acc.top1, 100 * acc.agreement);
    }
    return 0;
}

static int measure_speed_and_profile(run_state *st, double peak, fc_error *err)
{
    bench_args *a = &st->a;
    if (!a->no_speed) {
        /* Our defaults first: Google Benchmark lets later flags win, so the user's come after. */
        static char rep[] = "--benchmark_repetitions=5", mt[] = "--benchmark_min_time=0.05";
        static char inter[] = "--benchmark_enable_random_interleaving=true";
        char **gargv = calloc((size_t)a->gb_argc + 4, sizeof *gargv);
        if (!gargv) return fc_fail(err, FC_ENOMEM, "out of memory");
        int gargc = 0;
        gargv[gargc++] = rep;
        gargv[gargc++] = mt;
        gargv[gargc++] = inter;
        for (int i = 0; i < a->gb_argc; i++) gargv[gargc++] = a->gb_argv[i];
        int batches[2] = {1, a->batch}, n_batches = a->batch > 1 ? 2 : 1;
        fprintf(stderr, "timing with Google Benchmark (%d variants x %d batches x %d thread counts)\n", st->n_vars,
                n_batches, a->n_threads);
        cJSON *gb = NULL;
        cJSON *probe = cJSON_AddObjectToObject(st->doc, "probe");
        int rc = bench_speed_run(st->vars, st->n_vars, batches, n_batches, a->threads, a->n_threads, st->ds, gargc,
                                 gargv, a->gbench_console ? stderr : NULL, peak, st->variants_json, probe, &gb, err);
        free(gargv);
        if (rc) return -1;
        cJSON_AddItemToObject(st->doc, "gbench", gb);
    }
    if (a->profile) {
        cJSON *v;
        int i = 0;
        cJSON_ArrayForEach(v, st->variants_json) {
            if (st->vars[i].applicable) {
                cJSON *prof = NULL;
                if (bench_profile_run(st->vars[i].model, a->threads[0], 20, &prof, err))
                    return fc_wrap(err, "profiling %s", st->vars[i].name);
                cJSON_AddItemToObject(v, "profile", prof);
                char pc[32];
                snprintf(pc, sizeof pc, "b1/t%d", a->threads[0]);
                cJSON_AddStringToObject(v, "profile_case", pc);
            }
            i++;
        }
    }
    /* The process high-water mark after everything, per variant as measured and overall. */
    cJSON_AddNumberToObject(st->doc, "peak_rss_bytes", peak_rss_bytes());
    return 0;
}

static int save_variants(run_state *st, fc_error *err)
{
    for (int i = 0; i < st->n_vars; i++) {
        const bench_variant *v = &st->vars[i];
        if (!v->applicable || !v->fcn) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.fcn", st->a.save_dir, v->name);
        if (fc_write_file_atomic(path, v->fcn, v->fcn_bytes, 1, err)) return -1;
    }
    fprintf(stderr, "wrote the variants' .fcn files to %s/\n", st->a.save_dir);
    return 0;
}

static int write_reports(run_state *st, fc_error *err)
{
    bench_args *a = &st->a;
    if (a->save_dir && save_variants(st, err)) return -1;
    bench_report_console(st->doc, stdout);
    if (a->json && bench_json_save(a->json, st->doc, err)) return -1;
    if (a->md && bench_report_write(a->md, bench_report_md, st->doc, err)) return -1;
    if (a->html && bench_report_write(a->html, bench_report_html, st->doc, err)) return -1;
    if (a->json) fprintf(stderr, "wrote %s\n", a->json);
    if (a->md) fprintf(stderr, "wrote %s\n", a->md);
    if (a->html) fprintf(stderr, "wrote %s\n", a->html);
    return 0;
}

int bench_cmd_bench(int argc, char **argv)
{
    run_state *st = calloc(1, sizeof *st);
    if (!st) return 2;
    int prc = parse_args(argc, argv, &st->a);
    if (prc) {
        free(st);
        return prc > 0 ? 0 : 2;
    }
    bench_args *a = &st->a;
    fc_error err = {0};
    int status = 2;
    const char *peak_isa = NULL;
    double peak = 0;
    if (!a->no_peak) {
        peak = bench_peak_gflops(0.3, &peak_isa);
        fprintf(stderr, "FMA peak probe: %.1f GFLOP/s per core (%s)\n", peak, peak_isa);
    }

    st->doc = cJSON_CreateObject();
    cJSON_AddStringToObject(st->doc, "schema", BENCH_SCHEMA);
    char *cmd = command_line(argc, argv);
    cJSON_AddStringToObject(st->doc, "command", cmd ? cmd : "fullconv bench");
    free(cmd);
    cJSON *model = cJSON_AddObjectToObject(st->doc, "model");
    cJSON_AddStringToObject(model, "path", a->models[0]);
    add_num_or_null(model, "source_bytes", file_bytes(a->models[0]));
    cJSON *settings = cJSON_AddObjectToObject(st->doc, "settings");
    cJSON_AddItemToObject(settings, "threads", cJSON_CreateIntArray(a->threads, a->n_threads));
    cJSON_AddNumberToObject(settings, "batch", a->batch);
    cJSON_AddNumberToObject(settings, "mean", a->mean);
    cJSON_AddNumberToObject(settings, "std", a->std);
    cJSON *gbf = cJSON_AddArrayToObject(settings, "gbench_flags");
    for (int i = 0; i < a->gb_argc; i++) cJSON_AddItemToArray(gbf, cJSON_CreateString(a->gb_argv[i]));
    st->variants_json = cJSON_AddArrayToObject(st->doc, "variants");

    if (a->data) {
        fprintf(stderr, "loading %s\n", a->data);
        if (fc_dataset_open(a->data, a->mean, a->std, &st->ds, &err)) goto fail;
        cJSON *d = cJSON_AddObjectToObject(st->doc, "dataset");
        cJSON_AddStringToObject(d, "spec", a->data);
        cJSON_AddNumberToObject(d, "count", (double)st->ds->count);
        cJSON_AddBoolToObject(d, "labels", st->ds->has_labels);
    } else {
        cJSON *d = cJSON_AddObjectToObject(st->doc, "dataset");
        cJSON_AddStringToObject(d, "spec", "random");
        cJSON_AddNumberToObject(d, "count", (double)a->samples);
        cJSON_AddBoolToObject(d, "labels", 0);
    }
    if (build_variants(st, &err)) goto fail;
    if (measure_accuracy(st, &err)) goto fail;
    if (!st->ref) {
        fc_fail(&err, FC_EINPUT, "%s: no variant could be built", a->models[0]);
        goto fail;
    }
    if (measure_speed_and_profile(st, peak, &err)) goto fail;
    /* A second probe after timing: the larger of the two is the machine's peak. */
    double peak2 = a->no_peak ? 0 : bench_peak_gflops(0.3, NULL);
    cJSON_AddItemToObject(st->doc, "machine", bench_machine_json(peak2 > peak ? peak2 : peak, peak_isa));
    if (a->peers) {
        cJSON *p = load_peers(a->peers);
        if (p) cJSON_AddItemToObject(st->doc, "peers", p);
    }
    if (write_reports(st, &err)) goto fail;
    status = 0;
    goto out;
fail:
    fprintf(stderr, "fullconv bench: %s\n", err.msg);
    status = err.code == FC_ECHECK ? 1 : 2;
out:
    for (int i = 0; i < st->n_vars; i++) bench_variant_free(&st->vars[i]);
    if (st->graph) ir_graph_free(st->graph);
    if (st->ds) fc_dataset_close(st->ds);
    free(st->ref);
    cJSON_Delete(st->doc);
    free(st);
    return status;
}
