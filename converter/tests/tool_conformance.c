/* tool_conformance.c — the ONNX backend node tests (Debian libonnx-testdata, data/node) through
 * the whole path: import model.onnx -> IR -> in-memory .fcn -> runtime session -> outputs,
 * compared with output_N.pb (rtol 1e-4, atol 1e-5, shapes exact).
 *
 * Binding: graph inputs that are parameters rather than data — any non-float input (shapes,
 * indices, axes, pads) and float inputs in a parameter position (Clip's min/max, Pad's value,
 * Dropout's ratio) — are bound from input_N.pb as initializers before import, exactly as an
 * exporter writes them, so they fold into attributes. Everything else is a runtime input.
 *
 * Classification: pass / fail / skip(reason). Skips only for operators outside our op set,
 * 1-D/3-D variants of spatial ops, training mode, non-float data inputs and multi-output
 * variants (e.g. MaxPool's indices); anything else that goes wrong is a failure.
 *
 * usage: tool_conformance [DATA_DIR] [-v] [-k SUBSTRING] [--passes]   (exit 1 on any failure)
 *   --passes also runs the standard pass pipeline of `fullconv convert` (fold BN, fuse
 *   activations, ...; no verification) between import and the .fcn: the same tests then check
 *   the passes too. */
#include "converter/import_onnx.h"
#include "runtime/fcn.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RTOL 1e-4
#define ATOL 1e-5
#define MAX_IO 32

typedef enum { R_PASS, R_FAIL, R_SKIP } result_kind;

typedef struct result {
    char *test;
    result_kind kind;
    char *reason;                 /* skip reason (grouping key) or failure message */
} result;

static result *results;
static int n_results, cap_results;
static int verbose;
static int with_passes;   /* --passes: also run the standard pass pipeline (no verification) */

static void add_result(const char *test, result_kind kind, const char *reason)
{
    if (n_results == cap_results) {
        cap_results = cap_results ? cap_results * 2 : 256;
        results = realloc(results, sizeof(result) * (size_t)cap_results);
        if (!results) { perror("realloc"); exit(2); }
    }
    results[n_results].test = strdup(test);
    results[n_results].kind = kind;
    results[n_results].reason = strdup(reason ? reason : "");
    n_results++;
    if (verbose) printf("%-60s %s %s\n", test, kind == R_PASS ? "pass" : kind == R_FAIL ? "FAIL" : "skip",
                        reason ? reason : "");
}

/* ---- reading .pb tensors ----------------------------------------------------------------------- */

typedef struct tensor {
    int dtype, ndim;
    int64_t dims[FCN_MAX_DIMS];
    void *data;
    size_t nbytes;
    int32_t onnx_type;
    Onnx__TensorProto *proto;     /* kept for binding as an initializer */
} tensor;

static int read_pb(const char *path, tensor *t, fc_error *err)
{
    uint8_t *buf;
    size_t size;
    memset(t, 0, sizeof *t);
    if (fc_read_file(path, fc_limits_current.max_file_bytes, &buf, &size, err)) return -1;
    t->proto = onnx__tensor_proto__unpack(NULL, size, buf);
    free(buf);
    if (!t->proto) return fc_fail(err, FC_EINPUT, "%s: not a TensorProto", path);
    t->onnx_type = t->proto->data_type;
    return onnx_tensor_data(t->proto, path, NULL, &t->dtype, &t->ndim, t->dims, &t->data, &t->nbytes, err);
}

static void free_tensor(tensor *t)
{
    free(t->data);
    if (t->proto) onnx__tensor_proto__free_unpacked(t->proto, NULL);
    memset(t, 0, sizeof *t);
}

static int count_files(const char *dir, const char *prefix)
{
    int n = 0;
    char path[4096];
    for (;; n++) {
        struct stat st;
        snprintf(path, sizeof path, "%.4000s/%s_%d.pb", dir, prefix, n);
        if (stat(path, &st)) return n;
    }
}

/* ---- classification helpers ------------------------------------------------------------------- */

static int is_param_position(const char *op, size_t k)
{
    static const char *ops[] = {"Clip", "Pad", "Reshape", "Slice", "Squeeze", "Unsqueeze", "Expand",
                                "ReduceMean", "ReduceSum", "ReduceMax", "Dropout", NULL};
    if (!strcmp(op, "ConstantOfShape")) return 1;   /* its only input is a shape */
    if (k == 0) return 0;
    for (int i = 0; ops[i]; i++) if (!strcmp(op, ops[i])) return 1;
    return !strcmp(op, "Gather") && k == 1;
}

/* 1 if every use of value `name` is a parameter position */
static int only_param_uses(const Onnx__GraphProto *g, const char *name)
{
    int uses = 0;
    for (size_t n = 0; n < g->n_node; n++)
        for (size_t k = 0; k < g->node[n]->n_input; k++)
            if (!strcmp(g->node[n]->input[k], name)) {
                uses++;
                if (!is_param_position(g->node[n]->op_type, k)) return 0;
            }
    return uses > 0;
}

static int is_spatial(const char *op)
{
    static const char *ops[] = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
                                "GlobalMaxPool", "GlobalLpPool", "MaxUnpool", "ConvInteger", "QLinearConv",
                                "InstanceNormalization", "LRN", NULL};
    for (int i = 0; ops[i]; i++) if (!strcmp(op, ops[i])) return 1;
    return 0;
}

static int is_initializer(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, name)) return 1;
    return 0;
}

/* Skip reason derived from the message of an import/run error, or NULL (a failure). */
static const char *skip_reason(const char *msg, char *buf, size_t cap)
{
    const char *p;
    if ((p = strstr(msg, "unsupported operator"))) {
        const char *open = strstr(msg, "' (");
        if (open) {
            open += 3;
            size_t len = strcspn(open, ",)");
            snprintf(buf, cap, "unsupported operator %.*s", (int)len, open);
            return buf;
        }
        return "unsupported operator";
    }
    if (strstr(msg, "training mode")) return "training mode";
    if (strstr(msg, "multi-output variant")) return "multi-output variant";
    if (strstr(msg, "is not supported") && (strstr(msg, "data type") || strstr(msg, "element type") ||
                                           strstr(msg, "cast to")))
        return "non-float dtype";
    if (strstr(msg, "unknown operator domain")) return "operator outside the default domain";
    (void)p;
    return NULL;
}

/* ---- one test ---------------------------------------------------------------------------------- */

static int close_enough(int dtype, const void *got, const void *want, size_t numel, char *why, size_t cap)
{
    for (size_t i = 0; i < numel; i++) {
        double a, b;
        switch (dtype) {
        case FC_DT_F32: a = ((const float *)got)[i]; b = ((const float *)want)[i]; break;
        case FC_DT_F64: a = ((const double *)got)[i]; b = ((const double *)want)[i]; break;
        case FC_DT_I64: a = (double)((const int64_t *)got)[i]; b = (double)((const int64_t *)want)[i]; break;
        case FC_DT_I32: a = ((const int32_t *)got)[i]; b = ((const int32_t *)want)[i]; break;
        default: {
            size_t es = fc_dtype_size(dtype);
            if (memcmp((const char *)got + i * es, (const char *)want + i * es, es)) {
                snprintf(why, cap, "element %zu differs", i);
                return 0;
            }
            continue;
        }
        }
        if (isnan(a) && isnan(b)) continue;
        if (a == b) continue;
        if (!(fabs(a - b) <= ATOL + RTOL * fabs(b))) {
            snprintf(why, cap, "element %zu: got %.9g, expected %.9g", i, a, b);
            return 0;
        }
    }
    return 1;
}

static int compare_output(const char *oname, int got_dtype, int got_ndim, const int64_t *got_dims, const void *got,
                          const tensor *want, char *why, size_t cap)
{
    char a[128], b[128];
    if (got_ndim != want->ndim || memcmp(got_dims, want->dims, sizeof(int64_t) * (size_t)want->ndim)) {
        fc_format_dims(got_ndim, got_dims, a, sizeof a);
        fc_format_dims(want->ndim, want->dims, b, sizeof b);
        snprintf(why, cap, "output '%s': shape [%s], expected [%s]", oname, a, b);
        return 0;
    }
    if (got_dtype != want->dtype) {
        snprintf(why, cap, "output '%s': dtype %s, expected %s", oname, fc_dtype_name(got_dtype),
                 fc_dtype_name(want->dtype));
        return 0;
    }
    size_t numel = 0;
    fc_numel(want->ndim, want->dims, &numel);
    char inner[200];
    if (!close_enough(want->dtype, got, want->data, numel, inner, sizeof inner)) {
        snprintf(why, cap, "output '%s': %s", oname, inner);
        return 0;
    }
    return 1;
}

/* Runs one data set. Returns R_PASS/R_FAIL/R_SKIP with msg filled. */
static result_kind run_set(const char *test_dir, Onnx__ModelProto *model, const char *set_dir, char *msg, size_t cap)
{
    Onnx__GraphProto *g = model->graph;
    int n_in = count_files(set_dir, "input"), n_out = count_files(set_dir, "output");
    tensor ins[MAX_IO], outs[MAX_IO];
    memset(ins, 0, sizeof ins);
    memset(outs, 0, sizeof outs);
    result_kind kind = R_FAIL;
    fc_error err = {0};
    ir_graph *ir = NULL;
    uint8_t *fcn = NULL, *packed = NULL;
    size_t fcn_size = 0;
    fcn_model *m = NULL;
    fcn_session *s = NULL;
    Onnx__TensorProto **saved_init = g->initializer, **inits = NULL;
    size_t saved_n_init = g->n_initializer;
    const char *data_inputs[MAX_IO];
    int bind[MAX_IO] = {0};
    int n_data = 0;
    char path[4096], buf[256];

    if (n_in > MAX_IO || n_out > MAX_IO) { snprintf(msg, cap, "too many inputs/outputs"); return R_FAIL; }
    /* sequence / optional / map values (our schema subset leaves their type unset) */
    for (size_t i = 0; i < g->n_input + g->n_output; i++) {
        const Onnx__ValueInfoProto *vi = i < g->n_input ? g->input[i] : g->output[i - g->n_input];
        if (is_initializer(g, vi->name)) continue;
        int elem = vi->type && vi->type->tensor_type ? vi->type->tensor_type->elem_type : -1;
        if (elem < 0 || elem == 8 || elem == 16 || elem == 14 || elem == 15) {
            snprintf(msg, cap, "non-float dtype");
            return R_SKIP;
        }
    }
    /* operators outside our set, training mode and multi-output variants take precedence over
     * the dtype checks below: import the model as it is once (parameter inputs unbound, so a
     * "not a constant" error is expected and ignored here) */
    snprintf(path, sizeof path, "%.4000s/model.onnx", test_dir);
    {
        size_t raw_size = onnx__model_proto__get_packed_size(model);
        uint8_t *raw = malloc(raw_size ? raw_size : 1);
        if (!raw) { snprintf(msg, cap, "out of memory"); goto done; }
        onnx__model_proto__pack(model, raw);
        ir_graph *probe = NULL;
        fc_error perr = {0};
        if (fcv_import_onnx_memory(raw, raw_size, path, NULL, &probe, &perr)) {
            const char *r = skip_reason(perr.msg, buf, sizeof buf);
            if (r) {
                snprintf(msg, cap, "%s", r);
                kind = R_SKIP;
                free(raw);
                goto done;
            }
        }
        ir_graph_free(probe);
        free(raw);
    }
    for (int i = 0; i < n_in; i++) {
        snprintf(path, sizeof path, "%.4000s/input_%d.pb", set_dir, i);
        if (read_pb(path, &ins[i], &err)) {
            const char *r = skip_reason(err.msg, buf, sizeof buf);
            snprintf(msg, cap, "%s", r ? r : err.msg);
            kind = r ? R_SKIP : R_FAIL;
            goto done;
        }
    }
    for (int i = 0; i < n_out; i++) {
        snprintf(path, sizeof path, "%.4000s/output_%d.pb", set_dir, i);
        if (read_pb(path, &outs[i], &err)) {
            const char *r = skip_reason(err.msg, buf, sizeof buf);
            snprintf(msg, cap, "%s", r ? r : err.msg);
            kind = r ? R_SKIP : R_FAIL;
            goto done;
        }
    }
    /* graph inputs (those not initializers) in order <-> input_i.pb */
    inits = calloc(g->n_initializer + (size_t)n_in + 1, sizeof *inits);
    if (!inits) { snprintf(msg, cap, "out of memory"); goto done; }
    if (g->n_initializer) memcpy(inits, g->initializer, sizeof *inits * g->n_initializer);
    size_t n_inits = g->n_initializer;
    int k = 0;
    for (size_t i = 0; i < g->n_input && k < n_in; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (is_initializer(g, vi->name)) continue;
        tensor *t = &ins[k];
        if (only_param_uses(g, vi->name)) {
            /* a parameter: bound as an initializer of the same name */
            free(t->proto->name);
            t->proto->name = strdup(vi->name);
            inits[n_inits++] = t->proto;
            bind[k] = 1;
        } else if (t->onnx_type != 1) {
            snprintf(msg, cap, "non-float dtype");
            kind = R_SKIP;
            goto done;
        } else {
            data_inputs[n_data++] = vi->name;
        }
        k++;
    }
    /* 1-D / 3-D variants of spatial ops (rank of a data input != 4) */
    for (size_t n = 0; n < g->n_node; n++) {
        if (!is_spatial(g->node[n]->op_type) || g->node[n]->n_input == 0) continue;
        int j = 0;
        for (size_t i = 0; i < g->n_input && j < n_in; i++) {
            if (is_initializer(g, g->input[i]->name)) continue;
            if (!strcmp(g->input[i]->name, g->node[n]->input[0]) && ins[j].ndim != 4) {
                snprintf(msg, cap, "1-D/3-D variant");
                kind = R_SKIP;
                goto done;
            }
            j++;
        }
    }
    g->initializer = inits;
    g->n_initializer = n_inits;
    size_t psize = onnx__model_proto__get_packed_size(model);
    packed = malloc(psize ? psize : 1);
    if (!packed) { snprintf(msg, cap, "out of memory"); goto restore; }
    onnx__model_proto__pack(model, packed);
    snprintf(path, sizeof path, "%.4000s/model.onnx", test_dir);
    if (fcv_import_onnx_memory(packed, psize, path, NULL, &ir, &err)) {
        const char *r = skip_reason(err.msg, buf, sizeof buf);
        snprintf(msg, cap, "%s", r ? r : err.msg);
        kind = r ? R_SKIP : R_FAIL;
        goto restore;
    }
    if (ir->n_outputs != n_out) {
        snprintf(msg, cap, "%d graph outputs, %d expected outputs", ir->n_outputs, n_out);
        goto restore;
    }
    if (with_passes) {
        fcv_options po;
        fcv_options_default(&po);
        po.no_verify = 1;
        po.quiet = 1;
        po.report = NULL;
        if (fcv_run_passes(ir, &po, &err)) {
            snprintf(msg, cap, "passes: %s", err.msg);
            goto restore;
        }
    }
    int all_const = 1;
    for (int o = 0; o < n_out; o++) all_const &= ir->values[ir->outputs[o]].data != NULL;
    if (!all_const) {
        if (fcv_write_fcn(ir, &fcn, &fcn_size, &err) ||
            fcn_model_open_memory(fcn, fcn_size, path, 0, &m, &err)) {
            snprintf(msg, cap, "%s", err.msg);
            goto restore;
        }
        fcn_shape shapes[MAX_IO];
        int ni = fcn_model_num_inputs(m);
        if (ni > MAX_IO) { snprintf(msg, cap, "too many inputs"); goto restore; }
        const tensor *feed[MAX_IO];
        for (int i = 0; i < ni; i++) {
            const char *name = fcn_model_input_name(m, i);
            feed[i] = NULL;
            for (int j = 0, d = 0; j < n_in; j++) {
                if (bind[j]) continue;
                if (!strcmp(data_inputs[d], name)) feed[i] = &ins[j];
                d++;
            }
            if (!feed[i]) { snprintf(msg, cap, "model input '%s' has no test data", name); goto restore; }
            shapes[i].ndim = feed[i]->ndim;
            memcpy(shapes[i].dims, feed[i]->dims, sizeof shapes[i].dims);
        }
        fcn_session_options opt = {0};
        opt.threads = 1;
        opt.n_input_shapes = ni;
        opt.input_shapes = shapes;
        if (fcn_session_create(m, &opt, &s, &err)) {   /* imported fine: the runtime must run it */
            snprintf(msg, cap, "%s", err.msg);
            goto restore;
        }
        for (int i = 0; i < ni; i++) {
            fcn_shape sh;
            int dt;
            fcn_session_input(s, i, &sh, &dt);
            if (dt != feed[i]->dtype) {
                snprintf(msg, cap, "input %d: session dtype %s, data %s", i, fc_dtype_name(dt),
                         fc_dtype_name(feed[i]->dtype));
                goto restore;
            }
            if (fcn_session_set_input(s, i, feed[i]->data, feed[i]->nbytes, &err)) {
                snprintf(msg, cap, "%s", err.msg);
                goto restore;
            }
        }
        if (fcn_session_run(s, &err)) {
            snprintf(msg, cap, "%s", err.msg);
            goto restore;
        }
    }
    for (int o = 0; o < n_out; o++) {
        const ir_value *v = &ir->values[ir->outputs[o]];
        if (v->data) {
            if (!compare_output(v->name, v->dtype, v->ndim, v->dims, v->data, &outs[o], msg, cap)) goto restore;
            continue;
        }
        int idx = fcn_session_find_output(s, v->name);
        if (idx < 0) { snprintf(msg, cap, "output '%s' missing from the session", v->name); goto restore; }
        fcn_shape sh;
        int dt;
        const void *data = fcn_session_output(s, idx, &sh, &dt);
        if (!compare_output(v->name, dt, sh.ndim, sh.dims, data, &outs[o], msg, cap)) goto restore;
    }
    kind = R_PASS;
    msg[0] = 0;
restore:
    g->initializer = saved_init;
    g->n_initializer = saved_n_init;
done:
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(fcn);
    free(packed);
    ir_graph_free(ir);
    free(inits);
    for (int i = 0; i < n_in; i++) free_tensor(&ins[i]);
    for (int i = 0; i < n_out; i++) free_tensor(&outs[i]);
    return kind;
}

static void run_test(const char *root, const char *name)
{
    char dir[4096], path[4096], msg[600];
    snprintf(dir, sizeof dir, "%.2000s/%.1000s", root, name);
    snprintf(path, sizeof path, "%.4000s/model.onnx", dir);
    uint8_t *buf;
    size_t size;
    fc_error err = {0};
    if (fc_read_file(path, fc_limits_current.max_file_bytes, &buf, &size, &err)) {
        add_result(name, R_FAIL, err.msg);
        return;
    }
    Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, buf);
    free(buf);
    if (!model || !model->graph) {
        add_result(name, R_FAIL, "model.onnx does not parse");
        if (model) onnx__model_proto__free_unpacked(model, NULL);
        return;
    }
    result_kind worst = R_PASS;
    char worst_msg[600] = "";
    int sets = 0;
    for (int i = 0;; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%.4000s/test_data_set_%d", dir, i);
        if (stat(path, &st)) break;
        sets++;
        result_kind k = run_set(dir, model, path, msg, sizeof msg);
        if (k == R_FAIL || (k == R_SKIP && worst == R_PASS)) {
            worst = k;
            snprintf(worst_msg, sizeof worst_msg, "%s%s", k == R_FAIL && sets > 1 ? "" : "", msg);
        }
        if (k != R_PASS) break;
    }
    if (!sets) { worst = R_FAIL; snprintf(worst_msg, sizeof worst_msg, "no test data sets"); }
    add_result(name, worst, worst_msg);
    onnx__model_proto__free_unpacked(model, NULL);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int cmp_skip(const void *a, const void *b)
{
    const result *x = a, *y = b;
    int c = strcmp(x->reason, y->reason);
    return c ? c : strcmp(x->test, y->test);
}

int main(int argc, char **argv)
{
    const char *root = "/usr/share/libonnx-testdata/data/node";
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (!strcmp(argv[i], "--passes")) with_passes = 1;
        else if (!strcmp(argv[i], "-k") && i + 1 < argc) filter = argv[++i];
        else root = argv[i];
    }
    DIR *d = opendir(root);
    if (!d) {
        printf("ONNX node tests not found at %s (install libonnx-testdata): skipping\n", root);
        printf("0 passed, 0 failed, 0 skipped\n");
        return 0;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_", 5) != 0) continue;
        if (filter && !strstr(e->d_name, filter)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            names = realloc(names, sizeof(char *) * (size_t)cap);
            if (!names) return 2;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(char *), cmp_str);
    for (int i = 0; i < n; i++) run_test(root, names[i]);

    int pass = 0, fail = 0, skip = 0;
    for (int i = 0; i < n_results; i++) {
        pass += results[i].kind == R_PASS;
        fail += results[i].kind == R_FAIL;
        skip += results[i].kind == R_SKIP;
    }
    /* skips grouped by reason */
    result *skips = calloc((size_t)skip + 1, sizeof(result));
    int ns = 0;
    for (int i = 0; i < n_results; i++) if (results[i].kind == R_SKIP) skips[ns++] = results[i];
    qsort(skips, (size_t)ns, sizeof(result), cmp_skip);
    printf("skipped, by reason:\n");
    for (int i = 0; i < ns;) {
        int j = i;
        while (j < ns && !strcmp(skips[j].reason, skips[i].reason)) j++;
        printf("  %-44s %4d:", skips[i].reason, j - i);
        for (int k = i; k < j; k++) printf(" %s", skips[k].test + 5);
        printf("\n");
        i = j;
    }
    free(skips);
    if (fail) {
        printf("failures:\n");
        for (int i = 0; i < n_results; i++)
            if (results[i].kind == R_FAIL) printf("  FAIL %s: %s\n", results[i].test, results[i].reason);
    }
    printf("passed:");
    for (int i = 0; i < n_results; i++) if (results[i].kind == R_PASS) printf(" %s", results[i].test + 5);
    printf("\n");
    printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
    for (int i = 0; i < n_results; i++) { free(results[i].test); free(results[i].reason); }
    free(results);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    return fail ? 1 : 0;
}
