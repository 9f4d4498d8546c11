/* quantize.c — smaller weight storage (--weights fp16|int8). Conv/Gemm/MatMul weights only;
 * biases stay f32. The runtime expands them back to f32 at session creation.
 *   fp16:  w ≈ fp16(w)  (relative rounding error ≤ 2⁻¹¹ per element)
 *   int8:  w[o,…] ≈ s[o]·q[o,…], s[o] = max|w[o,…]|/127, q = round(w/s) ∈ [−127, 127], one
 *          symmetric scale per dims[0] row (the output channel of Conv and transB Gemm weights),
 *          stored as an f32 aux tensor.
 * Per-layer report: every quantized layer's output is compared with the fp32 graph's on the
 * probe inputs (cumulative error: earlier layers are quantized too). --keep-fp32 NAMES and
 * --quant-max-err keep layers in fp32: the first layer (in graph order) over the threshold is
 * reverted and the measurement repeated, until none exceeds it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "converter/passes/rewrites.h"
#include "converter/verify.h"

typedef struct qlayer {
    int node;
    int value;                    /* weight value id */
    float *orig;                  /* the f32 payload (owned while quantized) */
    size_t orig_bytes;
    int scale;                    /* int8: scale value id */
    int kept;                     /* 1 = --keep-fp32, 2 = threshold */
    double rel_err;
    size_t bytes_after;
} qlayer;

static int in_list(const char *list, const char *name)
{
    if (!list) return 0;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int quantize_value(ir_graph *g, qlayer *q, int int8, fc_error *err)
{
    ir_value *v = &g->values[q->value];
    size_t numel = q->orig_bytes / sizeof(float);
    const float *w = q->orig;
    if (!int8) {
        uint16_t *h = malloc(numel * 2 + 1);
        if (!h) return fc_fail(err, FC_ENOMEM, "out of memory");
        for (size_t i = 0; i < numel; i++) h[i] = fc_f32_to_f16(w[i]);
        v->data = h;
        v->nbytes = numel * 2;
        v->dtype = FC_DT_F16;
        q->bytes_after = v->nbytes;
        return 0;
    }
    int64_t rows = v->dims[0];
    size_t per = rows > 0 ? numel / (size_t)rows : 0;
    int8_t *d = malloc(numel + 1);
    float *s = malloc(sizeof(float) * (size_t)(rows > 0 ? rows : 1));
    if (!d || !s) {
        free(d); free(s);
        return fc_fail(err, FC_ENOMEM, "out of memory");
    }
    for (int64_t r = 0; r < rows; r++) {
        float m = 0;
        for (size_t j = 0; j < per; j++) m = fmaxf(m, fabsf(w[r * per + j]));
        float sc = m > 0 && isfinite(m) ? m / 127.0f : 1.0f;
        s[r] = sc;
        for (size_t j = 0; j < per; j++) {
            float x = rintf(w[r * per + j] / sc);
            d[r * per + j] = (int8_t)(x > 127 ? 127 : x < -127 ? -127 : x);
        }
    }
    char base[300];
    snprintf(base, sizeof base, "%.250s_scale", v->name);
    int64_t sd[1] = { rows };
    int sid = rw_new_const_f32(g, base, 1, sd, s, err);
    free(s);
    if (sid < 0) {
        free(d);
        return -1;
    }
    v = &g->values[q->value];
    v->data = d;
    v->nbytes = numel;
    v->dtype = FC_DT_I8;
    v->aux = sid;
    q->scale = sid;
    q->bytes_after = numel + sizeof(float) * (size_t)rows;
    return 0;
}

static void revert(ir_graph *g, qlayer *q)
{
    ir_value *v = &g->values[q->value];
    free(v->data);
    v->data = q->orig;
    v->nbytes = q->orig_bytes;
    v->dtype = FC_DT_F32;
    v->aux = -1;
    q->orig = NULL;
    q->bytes_after = q->orig_bytes;
}

/* clone of g whose outputs are g's outputs plus every layer's output */
static ir_graph *with_layer_outputs(const ir_graph *g, const qlayer *ls, int n, fc_error *err)
{
    ir_graph *t = ir_clone(g, err);
    if (!t) return NULL;
    int *outs = realloc(t->outputs, sizeof(int) * (size_t)(t->n_outputs + n + 1));
    if (!outs) {
        ir_graph_free(t);
        fc_fail(err, FC_ENOMEM, "out of memory");
        return NULL;
    }
    t->outputs = outs;
    for (int i = 0; i < n; i++) {
        int v = t->nodes[ls[i].node].out[0];
        if (!rw_is_graph_output(t, v)) t->outputs[t->n_outputs++] = v;
    }
    ir_update_links(t);
    return t;
}

static int find_output(const fcv_probes *p, const char *name)
{
    for (int o = 0; o < p->n_outputs; o++)
        if (!strcmp(p->out_names[o], name)) return o;
    return -1;
}

/* Measures every layer's relative output error; returns the index of the first kept-able layer
 * over the threshold, -1 if none, -2 on error. */
static int measure(ir_graph *g, const fcv_probes *probes, qlayer *ls, int n, double threshold, fc_error *err)
{
    ir_graph *t = with_layer_outputs(g, ls, n, err);
    double *rel = t ? malloc(sizeof(double) * (size_t)(probes->n_outputs + 1)) : NULL;
    if (!t || !rel || fcv_probes_compare_each(probes, t, rel, err)) {
        if (t && !rel) fc_fail(err, FC_ENOMEM, "out of memory");
        ir_graph_free(t);
        free(rel);
        return -2;
    }
    int over = -1;
    for (int i = 0; i < n; i++) {
        int o = find_output(probes, g->values[g->nodes[ls[i].node].out[0]].name);
        ls[i].rel_err = o >= 0 ? rel[o] : NAN;
        if (over < 0 && threshold > 0 && !ls[i].kept && ls[i].rel_err > threshold) over = i;
    }
    ir_graph_free(t);
    free(rel);
    return over;
}

int fcv_quantize(ir_graph *g, const fcv_options *opt, cJSON *log, fc_error *err)
{
    int int8 = !strcmp(opt->weights, "int8");
    if (!int8 && strcmp(opt->weights, "fp16")) return 0;
    ir_update_links(g);
    qlayer *ls = calloc((size_t)g->n_nodes + 1, sizeof(qlayer));
    fcv_probes *probes = NULL;
    ir_graph *t = NULL;
    if (!ls) return fc_fail(err, FC_ENOMEM, "out of memory");
    int n = 0, rc = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *nd = &g->nodes[i];
        if (nd->dead || nd->n_in < 2 || nd->n_out < 1) continue;
        if (nd->op != FCN_OP_CONV && nd->op != FCN_OP_GEMM && nd->op != FCN_OP_MATMUL) continue;
        int v = nd->in[1];
        if (!rw_const_f32(g, v) || g->values[v].ndim < 2) continue;
        int dup = 0;
        for (int j = 0; j < n; j++) dup |= ls[j].value == v;
        if (dup) continue;
        ls[n].node = i;
        ls[n].value = v;
        ls[n].scale = -1;
        ls[n].orig_bytes = g->values[v].nbytes;
        ls[n].bytes_after = ls[n].orig_bytes;
        ls[n].kept = in_list(opt->keep_fp32, nd->name) || in_list(opt->keep_fp32, g->values[v].name);
        n++;
    }
    if (opt->keep_fp32) {   /* every name given must exist */
        const char *p = opt->keep_fp32;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            int found = 0;
            for (int j = 0; j < n && !found; j++) {
                const char *a = g->nodes[ls[j].node].name, *b = g->values[ls[j].value].name;
                found = (strlen(a) == len && !strncmp(a, p, len)) || (strlen(b) == len && !strncmp(b, p, len));
            }
            if (!found && len) {
                fc_fail(err, FC_EINPUT, "--keep-fp32: no Conv/Gemm/MatMul layer named '%.*s'", (int)len, p);
                goto out;
            }
            if (!e) break;
            p = e + 1;
        }
    }
    /* probes: the fp32 graph with every layer output exposed */
    fcn_shape in_shape;
    fc_error shape_err = { 0 };
    int can_probe = fcv_input_shape(g, 1, &in_shape, &shape_err) == 0;
    if (!can_probe && opt->quant_max_err > 0) {
        fc_fail(err, FC_EINPUT, "--quant-max-err needs probe inputs: %s", shape_err.msg);
        goto out;
    }
    if (can_probe && (!opt->no_verify || opt->quant_max_err > 0)) {
        if (!(t = with_layer_outputs(g, ls, n, err))) goto out;
        if (fcv_probes_make(t, opt->n_probe > 0 ? opt->n_probe : 4, opt->calib, opt->calib ? 16 : 0, opt->mean, opt->std,
                            &probes, err))
            goto out;
        ir_graph_free(t);
        t = NULL;
    }
    for (int i = 0; i < n; i++) {
        if (ls[i].kept) continue;
        ir_value *v = &g->values[ls[i].value];
        ls[i].orig = v->data;
        v->data = NULL;
        if (quantize_value(g, &ls[i], int8, err)) {
            g->values[ls[i].value].data = ls[i].orig;
            ls[i].orig = NULL;
            goto out;
        }
    }
    if (probes) {
        for (;;) {
            int over = measure(g, probes, ls, n, opt->quant_max_err, err);
            if (over == -2) goto out;
            if (over < 0) break;
            revert(g, &ls[over]);
            ls[over].kept = 2;
        }
    }
    int quantized = 0;
    for (int i = 0; i < n; i++) {
        const ir_node *nd = &g->nodes[ls[i].node];
        char line[512];
        snprintf(line, sizeof line, "%-24s %-6s %10zu -> %10zu bytes  output rel err %s%.3g%s", nd->name,
                 fcn_op_name(nd->op), ls[i].orig_bytes, ls[i].bytes_after, probes ? "" : "(not measured) ",
                 probes ? ls[i].rel_err : 0.0,
                 ls[i].kept == 1 ? "  kept fp32 (--keep-fp32)" : ls[i].kept == 2 ? "  kept fp32 (over --quant-max-err)" : "");
        rw_log_add(log, "report", line);
        if (!ls[i].kept) {
            quantized++;
            rw_log_add(log, "matched", nd->name);
        }
        cJSON *layers = log ? cJSON_GetObjectItemCaseSensitive(log, "layers") : NULL;
        if (log && !layers) layers = cJSON_AddArrayToObject(log, "layers");
        cJSON *o = cJSON_CreateObject();
        if (o) {
            cJSON_AddStringToObject(o, "node", nd->name);
            cJSON_AddStringToObject(o, "dtype", ls[i].kept ? "f32" : int8 ? "i8" : "f16");
            cJSON_AddNumberToObject(o, "bytes_before", (double)ls[i].orig_bytes);
            cJSON_AddNumberToObject(o, "bytes_after", (double)ls[i].bytes_after);
            if (probes && isfinite(ls[i].rel_err)) cJSON_AddNumberToObject(o, "output_rel_err", ls[i].rel_err);
            if (ls[i].kept) cJSON_AddStringToObject(o, "kept_fp32", ls[i].kept == 1 ? "--keep-fp32" : "threshold");
            if (layers) cJSON_AddItemToArray(layers, o);
            else cJSON_Delete(o);
        }
    }
    rw_log_set_str(log, "weights", opt->weights);
    rw_log_set_bool(log, "approximate", 1);
    rc = quantized;
out:
    if (rc < 0)
        for (int i = 0; i < n; i++)
            if (ls[i].orig) revert(g, &ls[i]);
    for (int i = 0; i < n; i++) free(ls[i].orig);
    free(ls);
    fcv_probes_free(probes);
    ir_graph_free(t);
    return rc;
}
