/* variants.c — each bench variant is the converter's own pipeline run in memory on a clone of
 * the imported graph (fcv_run_passes -> fcv_write_fcn -> fcn_model_open_memory), so the bench
 * measures exactly what `fullconv convert` would write. A rewrite that matches nothing makes the
 * variant "not applicable", with the converter's own words as the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"
#include "converter/ir.h"
#include "runtime/fcn.h"

static const char *const known_parts[] = {"original", "fc2conv", "gap-exact", "gap-fold", "gap-fit", "fp16", "int8",
                                          "prepack"};

int bench_variant_check_name(const char *name, fc_error *err)
{
    if (!name || !*name || strlen(name) >= sizeof ((bench_variant *)0)->name)
        return fc_fail(err, FC_EINPUT, "bad variant name '%s'", name ? name : "");
    char buf[64];
    snprintf(buf, sizeof buf, "%s", name);
    char *save = NULL;
    for (char *part = strtok_r(buf, "+", &save); part; part = strtok_r(NULL, "+", &save)) {
        int ok = 0;
        for (size_t i = 0; i < sizeof known_parts / sizeof *known_parts; i++)
            if (!strcmp(part, known_parts[i])) ok = 1;
        if (!ok)
            return fc_fail(err, FC_EINPUT,
                           "unknown variant '%s' (known: original, fc2conv, gap-exact, gap-fold, gap-fit, fp16, int8, "
                           "prepack; join with '+', e.g. gap-fit+int8)", part);
    }
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + 1e-6 * (double)ts.tv_nsec;
}

/* 1 when the variant name has the part `part` */
static int has_part(const char *name, const char *part)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", name);
    char *save = NULL;
    for (char *p = strtok_r(buf, "+", &save); p; p = strtok_r(NULL, "+", &save))
        if (!strcmp(p, part)) return 1;
    return 0;
}

/* The option set of a variant name; *key_passes gets the passes that must have rewritten
 * something for the variant to exist. */
static void options_for(const char *name, const char *calib, float mean, float std, fcv_options *o,
                        const char **key_passes, int *n_key)
{
    fcv_options_default(o);
    o->quiet = 1;
    o->report = NULL;
    o->mean = mean;
    o->std = std;
    *n_key = 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", name);
    char *save = NULL;
    for (char *part = strtok_r(buf, "+", &save); part; part = strtok_r(NULL, "+", &save)) {
        if (!strcmp(part, "fc2conv")) {
            o->fc_to_conv = 1;
            key_passes[(*n_key)++] = "fc_to_conv";
        } else if (!strncmp(part, "gap-", 4)) {
            o->gap_head = !strcmp(part, "gap-exact") ? "exact" : !strcmp(part, "gap-fold") ? "fold" : "fit";
            if (!strcmp(part, "gap-fit")) o->calib = calib;
            key_passes[(*n_key)++] = "gap_head";
        } else if (!strcmp(part, "fp16") || !strcmp(part, "int8")) {
            o->weights = !strcmp(part, "fp16") ? "fp16" : "int8";
            key_passes[(*n_key)++] = "quantize";
        }
    }
}

/* 0 when every key pass rewrote something; otherwise fills reason. */
static int check_key_passes(const ir_graph *g, const char *const *key, int n_key, char *reason, size_t cap)
{
    for (int k = 0; k < n_key; k++) {
        const cJSON *log, *found = NULL;
        cJSON_ArrayForEach(log, g->passes_meta) {
            if (!strcmp(bench_jstr(log, "pass", ""), key[k])) found = log;
        }
        if (found && bench_jnum(found, "rewrites", 0) > 0) continue;
        const char *note = found ? bench_jstr(found, "note", NULL) : NULL;
        if (note) snprintf(reason, cap, "%s: %s", key[k], note);
        else snprintf(reason, cap, "%s: the pass found nothing to rewrite in this model", key[k]);
        return -1;
    }
    return 0;
}

static int64_t spatial_extent(const ir_graph *g, int value)
{
    if (value < 0 || value >= g->n_values) return -1;
    const ir_value *v = &g->values[value];
    if (v->ndim != 4) return -1;
    if (v->dims[2] < 0 || v->dims[3] < 0) return 2;   /* unknown: assume a map */
    return v->dims[2] * v->dims[3];
}

/* The head: every node after the last op with a spatial window (Conv with a kernel larger
 * than 1x1, Max/AvgPool) whose output is still a map (H*W > 1). FC layers rewritten as convs
 * produce 1x1 outputs and the 1x1 conv of the exact GAP head has a 1x1 kernel, so both count
 * as head, as they should: they are the classifier. */
static void head_stats(const ir_graph *g, uint64_t *bytes, uint64_t *params)
{
    int last_spatial = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead || n->n_out < 1) continue;
        int windowed = 0;
        if (n->op == FCN_OP_CONV && n->n_in >= 2 && n->in[1] >= 0) {
            const ir_value *w = &g->values[n->in[1]];
            windowed = w->ndim == 4 && w->dims[2] * w->dims[3] > 1;
        } else if (n->op == FCN_OP_MAXPOOL || n->op == FCN_OP_AVGPOOL) {
            windowed = 1;
        }
        if (windowed && spatial_extent(g, n->out[0]) > 1) last_spatial = i;
    }
    *bytes = *params = 0;
    char *counted = calloc((size_t)g->n_values + 1, 1);
    if (!counted) return;
    for (int i = last_spatial + 1; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++) {
            int id = n->in[k];
            if (id < 0 || id >= g->n_values || counted[id] || !g->values[id].data) continue;
            counted[id] = 1;
            const ir_value *v = &g->values[id];
            *bytes += v->nbytes;
            size_t es = fc_dtype_size(v->dtype);
            *params += es ? v->nbytes / es : 0;
            if (v->aux >= 0 && v->aux < g->n_values && !counted[v->aux]) {
                counted[v->aux] = 1;
                *bytes += g->values[v->aux].nbytes;
            }
        }
    }
    free(counted);
}

int bench_variant_build(const ir_graph *src, const char *name, const char *calib, float mean, float std,
                        bench_variant *v, fc_error *err)
{
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    double t0 = now_ms();
    fcv_options o;
    const char *key[4];
    int n_key = 0;
    options_for(name, calib, mean, std, &o, key, &n_key);
    if (o.gap_head && !strcmp(o.gap_head, "fit") && !calib) {
        snprintf(v->reason, sizeof v->reason, "gap-fit needs calibration data (--calib DATA)");
        return 0;
    }
    fc_error e = {0};
    ir_graph *g = ir_clone(src, &e);
    if (!g) return fc_fail(err, e.code ? e.code : FC_ENOMEM, "%s", e.msg);
    if (fcv_run_passes(g, &o, &e)) {
        ir_graph_free(g);
        if (e.code == FC_ENOMEM) return fc_fail(err, FC_ENOMEM, "%s", e.msg);
        snprintf(v->reason, sizeof v->reason, "%s", e.msg);
        return 0;
    }
    if (check_key_passes(g, key, n_key, v->reason, sizeof v->reason)) {
        ir_graph_free(g);
        return 0;
    }
    head_stats(g, &v->head_bytes, &v->head_params);
    int rc = fcv_write_fcn(g, &v->fcn, &v->fcn_bytes, &e);
    ir_graph_free(g);
    if (rc) {
        snprintf(v->reason, sizeof v->reason, "writing the .fcn failed: %.400s", e.msg);
        return 0;
    }
    snprintf(v->model_name, sizeof v->model_name, "%s[%s]", src->source_path ? src->source_path : "model", name);
    /* +prepack: the PREPACKED section convert --prepack writes (a bigger file whose session
     * creation packs nothing on this CPU) */
    fcv_prepack_stats ps;
    if (has_part(name, "prepack") && fcv_prepack(&v->fcn, &v->fcn_bytes, v->model_name, &ps, &e)) {
        if (e.code == FC_ENOMEM) return fc_fail(err, FC_ENOMEM, "%s", e.msg);
        snprintf(v->reason, sizeof v->reason, "%.400s", e.msg);
        free(v->fcn);
        v->fcn = NULL;
        return 0;
    }
    if (fcn_model_open_memory(v->fcn, v->fcn_bytes, v->model_name, 0, &v->model, &e)) {
        snprintf(v->reason, sizeof v->reason, "the runtime refused the .fcn: %.400s", e.msg);
        free(v->fcn);
        v->fcn = NULL;
        return 0;
    }
    v->applicable = 1;
    v->build_ms = now_ms() - t0;
    return 0;
}

int bench_variant_open_fcn(const char *path, const char *name, bench_variant *v, fc_error *err)
{
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    double t0 = now_ms();
    if (fcn_model_open(path, &v->model, err)) return -1;
    v->fcn_bytes = (size_t)fcn_model_file_size(v->model);
    v->applicable = 1;
    v->build_ms = now_ms() - t0;
    return 0;
}

void bench_variant_free(bench_variant *v)
{
    if (v->model) fcn_model_close(v->model);
    free(v->fcn);
    v->model = NULL;
    v->fcn = NULL;
}
