/* cmd_run.c — `fullconv run MODEL --input X.npy [...]`: one session, one input tensor
 * (float32, C order), outputs to .npy files, optional top-K, timing, per-node profile and
 * class activation maps. MODEL is a .fcn or any importable file (converted in memory). */
#include "cli/commands.h"
#include "converter/cam.h"
#include "converter/cmd_util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char run_usage[] =
    "usage: fullconv run MODEL --input X.npy [--output Y.npy | --output-dir DIR] [options]\n"
    "\n"
    "Runs a .fcn model (or any importable model, converted in memory) on a float32 .npy tensor.\n"
    "\n"
    "  --input X.npy            input tensor (float32, C order)\n"
    "  -o, --output Y.npy       write the first output\n"
    "  --output-dir DIR         write every output as DIR/<name>.npy\n"
    "  --threads N              worker threads (default: FULLCONV_THREADS or 1; at most one\n"
    "                           per CPU this process may run on)\n"
    "  --top K                  print the K best classes of every row of the first output\n"
    "  --input-shape NxCxHxW    run at this shape instead of the model's (fully convolutional models)\n"
    "  --repeat N               one warm-up then N timed runs; latency on stderr\n"
    "  --profile                per-node time table, slowest first: each node's least time\n"
    "                           over the runs (with --repeat N), and the memory plan\n"
    "  --cam DIR                class activation maps as images (model converted with --gap-head exact)\n"
    "  --force                  overwrite existing output files\n"
    "  -h, --help               this help\n"
    "\n"
    "Exit status: 0 ok, 2 bad input or usage.\n";

typedef struct run_args {
    const char *model, *input, *output, *output_dir, *cam_dir;
    long threads, top, repeat;
    int profile, force;
    int n_shape;
    int64_t shape[FCN_MAX_DIMS];
} run_args;

static int parse_args(int argc, char **argv, run_args *a)
{
    const char *cmd = "run", *v;
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int r;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(run_usage, stdout);
            return 0;
        }
        if (!strcmp(s, "--profile")) { a->profile = 1; continue; }
        if (!strcmp(s, "--force")) { a->force = 1; continue; }
        if ((r = fcv_cli_opt(argc, argv, &i, "--input", &v, cmd))) {
            if (r < 0) return 2;
            a->input = v;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--output", &v, cmd)) || (r = fcv_cli_opt(argc, argv, &i, "-o", &v, cmd))) {
            if (r < 0) return 2;
            a->output = v;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--output-dir", &v, cmd))) {
            if (r < 0) return 2;
            a->output_dir = v;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--cam", &v, cmd))) {
            if (r < 0) return 2;
            a->cam_dir = v;
            continue;
        }
        long *num = NULL;
        long lo = 1, hi = 1;
        if ((r = fcv_cli_opt(argc, argv, &i, "--threads", &v, cmd))) { num = &a->threads; hi = 256; }
        else if ((r = fcv_cli_opt(argc, argv, &i, "--top", &v, cmd))) { num = &a->top; hi = 1000000; }
        else if ((r = fcv_cli_opt(argc, argv, &i, "--repeat", &v, cmd))) { num = &a->repeat; hi = 1000000; }
        if (r < 0) return 2;
        if (num) {
            if (fcv_cli_parse_int(v, lo, hi, num))
                return fcv_cli_usage_error(cmd, "%s needs an integer in %ld..%ld, not '%s'", s, lo, hi, v);
            continue;
        }
        if ((r = fcv_cli_shape_opt(argc, argv, &i, cmd, &a->n_shape, a->shape))) {
            if (r < 0) return 2;
            continue;
        }
        if (s[0] == '-' && s[1]) return fcv_cli_usage_error(cmd, "unknown option '%s' (see fullconv run --help)", s);
        if (a->model) return fcv_cli_usage_error(cmd, "more than one model ('%s' and '%s')", a->model, s);
        a->model = s;
    }
    if (!a->model) return fcv_cli_usage_error(cmd, "no model (usage: fullconv run MODEL --input X.npy)");
    if (!a->input) return fcv_cli_usage_error(cmd, "no input (--input X.npy)");
    if (a->output && a->output_dir) return fcv_cli_usage_error(cmd, "--output and --output-dir exclude each other");
    return -1;   /* parsed, continue */
}

/* The npy header says fortran_order: True — refused (the spec says C order only). */
static int npy_is_fortran(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char head[512];
    size_t n = fread(head, 1, sizeof head - 1, f);
    fclose(f);
    head[n] = 0;
    for (size_t i = 0; i + 20 < n; i++)
        if (!memcmp(head + i, "'fortran_order': True", 21)) return 1;
    return 0;
}

static int read_input(const char *path, fc_array *x, fc_error *err)
{
    if (fc_npy_read(path, x, err)) return -1;
    if (x->dtype != FC_DT_F32) {
        int dt = x->dtype;
        fc_array_free(x);
        return fc_fail(err, FC_EINPUT, "%s: dtype %s, expected float32 (C order)", path, fc_dtype_name(dt));
    }
    if (npy_is_fortran(path)) {
        fc_array_free(x);
        return fc_fail(err, FC_EINPUT, "%s: Fortran order, expected float32 in C order (np.ascontiguousarray)", path);
    }
    return 0;
}

/* Session shape: --input-shape, else the .npy's when the model allows it. */
static int choose_shape(const fcn_model *m, const run_args *a, const fc_array *x, fcn_shape *shape, fc_error *err)
{
    char want[128], got[128];
    fc_format_dims(x->ndim, x->dims, got, sizeof got);
    if (a->n_shape) {
        if (a->n_shape != x->ndim || memcmp(a->shape, x->dims, sizeof(int64_t) * (size_t)x->ndim)) {
            fc_format_dims(a->n_shape, a->shape, want, sizeof want);
            return fc_fail(err, FC_EINPUT, "%s: shape %s, --input-shape says %s", a->input, got, want);
        }
    } else {
        fcn_shape stored;
        fcn_model_input_shape(m, 0, &stored);
        fc_format_dims(stored.ndim, stored.dims, want, sizeof want);
        int ok = stored.ndim == x->ndim;
        for (int d = 0; ok && d < x->ndim; d++) ok = stored.dims[d] < 0 || stored.dims[d] == x->dims[d];
        if (!ok)
            return fc_fail(err, FC_EINPUT, "%s: shape %s, the model expects %s (use --input-shape to run at another size)",
                           a->input, got, want);
    }
    shape->ndim = x->ndim;
    memcpy(shape->dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_repeat(fcn_session *s, long repeat, fc_error *err)
{
    double *t = malloc(sizeof(double) * (size_t)repeat);
    if (!t) return fc_fail(err, FC_ENOMEM, "out of memory");
    if (fcn_session_run(s, err)) { free(t); return -1; }   /* warm-up */
    for (long i = 0; i < repeat; i++) {
        double t0 = now_ms();
        if (fcn_session_run(s, err)) { free(t); return -1; }
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)repeat, sizeof(double), cmp_double);
    long p90 = (long)((repeat - 1) * 0.9 + 0.5);
    fprintf(stderr, "latency_ms min=%.3f median=%.3f p90=%.3f (runs=%ld)\n", t[0], t[(repeat - 1) / 2], t[p90], repeat);
    free(t);
    return 0;
}

typedef struct prof_row { int index; double ms; } prof_row;
static int cmp_prof(const void *a, const void *b)
{
    const prof_row *x = a, *y = b;
    return x->ms < y->ms ? 1 : x->ms > y->ms ? -1 : x->index - y->index;
}

static void print_profile(const fcn_session *s)
{
    int n = fcn_session_num_nodes(s);
    prof_row *rows = malloc(sizeof(prof_row) * (size_t)(n ? n : 1));
    if (!rows) return;
    double total = 0;
    for (int i = 0; i < n; i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        rows[i].index = i;
        rows[i].ms = info.min_ms;
        total += info.min_ms;
    }
    qsort(rows, (size_t)n, sizeof(prof_row), cmp_prof);
    /* the least time of each node over the runs (one warm-up, then --repeat N): on a noisy
     * machine a single run's table is mostly noise */
    /* the name column as wide as the longest name (32 to 96 characters): ONNX names are paths */
    int w = 32;
    for (int i = 0; i < n; i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        size_t len = info.name ? strlen(info.name) : 0;
        if ((int)len > w) w = len > 96 ? 96 : (int)len;
    }
    printf("%-*s %-18s %-20s %10s %7s %12s\n", w, "node", "op", "kernel", "min ms", "%", "MACs");
    for (int i = 0; i < n; i++) {
        fcn_node_info info;
        fcn_session_node_info(s, rows[i].index, &info);
        printf("%-*.*s %-18.18s %-20.20s %10.4f %6.1f%% %12llu\n", w, w, info.name ? info.name : "", info.op,
               info.kernel ? info.kernel : "", info.min_ms, total > 0 ? 100.0 * info.min_ms / total : 0.0,
               (unsigned long long)info.macs);
    }
    printf("%-*s %-18s %-20s %10.4f\n", w, "total (sum of minima)", "", "", total);
    /* the memory plan: the arena holds every intermediate tensor, the outputs and the kernels'
     * scratch (the inputs have buffers of their own); peak live is the most arena bytes in use
     * at one step; the bound is the graph's: the largest sum of the two largest tensors alive at
     * one step (a chain of layers needs exactly that) */
    size_t peak = 0, two = 0;
    fcn_session_plan_stats(s, &peak, &two);
    printf("memory plan: arena %.2f MB (peak in use %.2f MB; inputs %.2f MB apart), two largest live tensors "
           "%.2f MB (arena/bound %.2f)\n", (double)fcn_session_arena_bytes(s) / 1e6, (double)peak / 1e6,
           (double)fcn_session_input_bytes(s) / 1e6, (double)two / 1e6,
           two ? (double)fcn_session_arena_bytes(s) / (double)two : 0.0);
    free(rows);
}

static int output_array(const fcn_session *s, int i, fc_array *arr, fc_error *err)
{
    fcn_shape sh;
    int dt;
    const void *data = fcn_session_output(s, i, &sh, &dt);
    if (fc_array_alloc(arr, dt, sh.ndim, sh.dims, err)) return -1;
    if (arr->nbytes) memcpy(arr->data, data, arr->nbytes);
    return 0;
}

static void safe_name(const char *name, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; name[i] && j + 1 < cap; i++) {
        char c = name[i];
        out[j++] = (c == '/' || c == '\\' || c == ':' || (i == 0 && c == '.')) ? '_' : c;
    }
    out[j] = 0;
    if (!j) snprintf(out, cap, "output");
}

static int write_outputs(const fcn_model *m, const fcn_session *s, const run_args *a, fc_error *err)
{
    fc_array arr = {0};
    if (a->output) {
        if (output_array(s, 0, &arr, err)) return -1;
        int rc = fc_npy_write(a->output, &arr, a->force, err);
        fc_array_free(&arr);
        return rc;
    }
    if (!a->output_dir) return 0;
    if (mkdir(a->output_dir, 0777) && errno != EEXIST)
        return fc_fail(err, FC_EINPUT, "%s: cannot create the directory: %s", a->output_dir, strerror(errno));
    int n = fcn_session_num_outputs(s);
    char **written = calloc((size_t)n + 1, sizeof(char *));
    if (!written) return fc_fail(err, FC_ENOMEM, "out of memory");
    int rc = 0, nw = 0;
    for (int i = 0; i < n && !rc; i++) {
        char base[256];
        safe_name(fcn_model_output_name(m, i), base, sizeof base);
        char *path = NULL;
        if (asprintf(&path, "%s/%s.npy", a->output_dir, base) < 0) {
            rc = fc_fail(err, FC_ENOMEM, "out of memory");
            break;
        }
        if (output_array(s, i, &arr, err) || fc_npy_write(path, &arr, a->force, err)) {
            rc = -1;
            free(path);
        } else {
            written[nw++] = path;
        }
        fc_array_free(&arr);
    }
    /* all or nothing: a failed write removes the files this run wrote */
    for (int i = 0; i < nw; i++) {
        if (rc) remove(written[i]);
        free(written[i]);
    }
    free(written);
    return rc;
}

/* META "labels" array, or NULL (caller frees with cJSON_Delete). */
static cJSON *model_meta(const fcn_model *m)
{
    size_t len;
    const char *text = fcn_model_metadata(m, &len);
    return text ? cJSON_ParseWithLength(text, len) : NULL;
}

static void print_top(const fcn_model *m, const fcn_session *s, long k)
{
    fcn_shape sh;
    int dt;
    const float *y = fcn_session_output(s, 0, &sh, &dt);
    if (dt != FC_DT_F32 || sh.ndim < 1) return;
    int64_t rows = sh.dims[0], classes = 1;
    for (int d = 1; d < sh.ndim; d++) classes *= sh.dims[d];
    if (k > classes) k = (long)classes;
    cJSON *meta = model_meta(m);
    const cJSON *labels = meta ? cJSON_GetObjectItemCaseSensitive(meta, "labels") : NULL;
    int n_labels = cJSON_IsArray(labels) ? cJSON_GetArraySize(labels) : 0;
    int64_t *best = malloc(sizeof(int64_t) * (size_t)(k ? k : 1));
    for (int64_t r = 0; best && r < rows; r++) {
        const float *row = y + r * classes;
        printf("row %lld:", (long long)r);
        for (long j = 0; j < k; j++) {   /* partial selection: k is small */
            int64_t arg = -1;
            for (int64_t c = 0; c < classes; c++) {
                int taken = 0;
                for (long q = 0; q < j && !taken; q++) taken = best[q] == c;
                if (!taken && (arg < 0 || row[c] > row[arg])) arg = c;
            }
            best[j] = arg;
            const cJSON *lab = arg < n_labels ? cJSON_GetArrayItem(labels, (int)arg) : NULL;
            if (cJSON_IsString(lab)) printf("  %lld %s %.6g", (long long)arg, lab->valuestring, row[arg]);
            else printf("  %lld %.6g", (long long)arg, row[arg]);
        }
        printf("\n");
    }
    free(best);
    cJSON_Delete(meta);
}

static int write_cams(const fcn_model *m, const fcn_session *s, const run_args *a, const fcn_shape *in_shape,
                      fc_error *err)
{
    int cam = fcn_session_find_output(s, "cam");
    if (cam < 0)
        return fc_fail(err, FC_EINPUT, "%s: --cam needs a model converted with --gap-head exact (no 'cam' output)",
                       a->model);
    fcn_shape cs, ls;
    int dt, ldt;
    const float *cmap = fcn_session_output(s, cam, &cs, &dt);
    if (dt != FC_DT_F32 || cs.ndim != 4 || in_shape->ndim != 4)
        return fc_fail(err, FC_EINPUT, "%s: the 'cam' output is not N x K x h x w float", a->model);
    const float *logits = NULL;
    for (int i = 0; i < fcn_session_num_outputs(s); i++) {
        if (i == cam) continue;
        const float *y = fcn_session_output(s, i, &ls, &ldt);
        int64_t numel = 1;
        for (int d = 0; d < ls.ndim; d++) numel *= ls.dims[d];
        if (ldt == FC_DT_F32 && numel == cs.dims[0] * cs.dims[1]) { logits = y; break; }
    }
    (void)m;
    fcv_cam_options co = {0};
    co.top_k = a->top > 0 ? (int)a->top : 1;
    co.force = a->force;
    int n = fcv_write_cams(cmap, cs.dims[0], cs.dims[1], cs.dims[2], cs.dims[3], logits, in_shape->dims[2],
                           in_shape->dims[3], &co, a->cam_dir, err);
    if (n < 0) return -1;
    fprintf(stderr, "%d class activation maps written to %s\n", n, a->cam_dir);
    return 0;
}

int fcv_cmd_run(int argc, char **argv)
{
    run_args a;
    int r = parse_args(argc, argv, &a);
    if (r >= 0) return r;

    fc_error err = {0};
    fcv_loaded lm;
    fcv_import_options iopt;
    memset(&iopt, 0, sizeof iopt);
    if (a.n_shape) {
        iopt.n_input_dims = a.n_shape;
        memcpy(iopt.input_dims, a.shape, sizeof a.shape);
    }
    fc_array x = {0};
    fcn_session *s = NULL;
    int status = 0;
    if (read_input(a.input, &x, &err)) return fcv_cli_fail(&err);
    if (fcv_load_model(a.model, &iopt, 1, &lm, &err)) {
        fc_array_free(&x);
        return fcv_cli_fail(&err);
    }
    if (fcn_model_num_inputs(lm.model) != 1) {
        fc_fail(&err, FC_EINPUT, "%s: the model has %d inputs; run feeds exactly one", a.model,
                fcn_model_num_inputs(lm.model));
        goto fail;
    }
    fcn_shape shape;
    if (choose_shape(lm.model, &a, &x, &shape, &err)) goto fail;
    fcn_session_options so = {0};
    so.threads = (int)a.threads;
    so.n_input_shapes = 1;
    so.input_shapes = &shape;
    so.profile = a.profile;
    if (fcn_session_create(lm.model, &so, &s, &err)) goto fail;
    if (a.threads > fcn_session_threads(s))
        fprintf(stderr, "fullconv run: %d threads, not %ld: one per CPU this process may run on\n",
                fcn_session_threads(s), a.threads);
    int dt;
    fcn_shape got;
    fcn_session_input(s, 0, &got, &dt);
    if (dt != FC_DT_F32) {
        fc_fail(&err, FC_EINPUT, "%s: the model's input is %s, not float32", a.model, fc_dtype_name(dt));
        goto fail;
    }
    if (fcn_session_set_input(s, 0, x.data, x.nbytes, &err)) goto fail;
    if (a.repeat > 0 ? run_repeat(s, a.repeat, &err) : fcn_session_run(s, &err)) goto fail;
    if (write_outputs(lm.model, s, &a, &err)) goto fail;
    if (a.top > 0) print_top(lm.model, s, a.top);
    if (a.profile) print_profile(s);
    if (a.cam_dir && write_cams(lm.model, s, &a, &shape, &err)) goto fail;
    if (!a.output && !a.output_dir && a.top <= 0 && !a.profile && !a.cam_dir && a.repeat <= 0) {
        /* nothing asked: say what came out */
        for (int i = 0; i < fcn_session_num_outputs(s); i++) {
            fcn_shape os;
            int odt;
            fcn_session_output(s, i, &os, &odt);
            char dims[128];
            fc_format_dims(os.ndim, os.dims, dims, sizeof dims);
            printf("output '%s': %s %s\n", fcn_model_output_name(lm.model, i), fc_dtype_name(odt), dims);
        }
    }
    goto done;
fail:
    status = fcv_cli_fail(&err);
done:
    fcn_session_destroy(s);
    fcv_loaded_free(&lm);
    fc_array_free(&x);
    return status;
}
