/* pipeline.c — the standard pass pipeline of `fullconv convert`:
 *
 *   fold_constants -> remove Identity/Dropout -> fold BN -> fuse activations
 *   -> [FC -> conv] -> [GAP head] -> dead-code elimination -> [fp16/int8 weights] -> verify
 *
 * Probe inputs and the original graph's outputs on them are computed once, before any
 * rewrite (verify.h), so every rewrite is checked against the ORIGINAL model, not against
 * the previous step. Rewrites that are exact by construction fail the convert (FC_ECHECK)
 * when the runtime disagrees by more than EXACT_REL_TOL; approximations (GAP fold/fit,
 * quantized weights) only report their error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "converter/ir.h"
#include "converter/verify.h"
#include "converter/passes/basic_passes.h"
#include "converter/passes/rewrites.h"

#define EXACT_REL_TOL 1e-4

void fcv_options_default(fcv_options *o)
{
    memset(o, 0, sizeof *o);
    o->weights = "fp32";
    o->mean = 0.0f;
    o->std = 1.0f;
    o->n_probe = 4;
    o->report = stdout;
}

typedef struct pipeline {
    ir_graph *g;
    const fcv_options *opt;
    FILE *report;                 /* NULL when quiet */
    fcv_probes *probes;           /* NULL with --no-verify */
    int failed_check;             /* an exact rewrite over tolerance */
    int verified_current;         /* the graph has not changed since the last verification */
    fcv_verify_result last;       /* that verification */
    int last_exact;
    char failed_msg[FC_ERR_MAX];
} pipeline;

typedef int (*pass_fn)(ir_graph *g, const fcv_options *opt, cJSON *log, fc_error *err);

static int run_remove_identity(ir_graph *g, const fcv_options *o, cJSON *l, fc_error *e) { (void)o; return fcv_remove_identity(g, l, e); }
static int run_fold_bn(ir_graph *g, const fcv_options *o, cJSON *l, fc_error *e) { (void)o; return fcv_fold_bn(g, l, e); }
static int run_fuse_act(ir_graph *g, const fcv_options *o, cJSON *l, fc_error *e) { (void)o; return fcv_fuse_act(g, l, e); }
static int run_fc_to_conv(ir_graph *g, const fcv_options *o, cJSON *l, fc_error *e) { (void)o; return fcv_fc_to_conv(g, l, e); }
static int run_gap_head(ir_graph *g, const fcv_options *o, cJSON *l, fc_error *e) { return fcv_gap_head(g, o, l, e); }
static int run_quantize(ir_graph *g, const fcv_options *o, cJSON *l, fc_error *e) { return fcv_quantize(g, o, l, e); }
static int run_fc_columns(ir_graph *g, const fcv_options *o, cJSON *l, fc_error *e) { (void)o; return fcv_fc_columns(g, l, e); }

static void print_names(FILE *f, const char *label, const cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    if (n <= 0) return;
    fprintf(f, "    %s:", label);
    int shown = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (shown == 8) {
            fprintf(f, " ... (%d in all)", n);
            break;
        }
        fprintf(f, " %s", cJSON_IsString(it) ? it->valuestring : "?");
        shown++;
    }
    fprintf(f, "\n");
}

static void print_report(FILE *f, const cJSON *log)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(log, "pass");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(log, "rewrites");
    if (!count) {   /* the final check of the whole pipeline */
        fprintf(f, "  %-16s whole pipeline against the original model\n", name ? name->valuestring : "?");
    } else {
        fprintf(f, "  %-16s %d rewrite(s)", name ? name->valuestring : "?", count->valueint);
        const cJSON *pb = cJSON_GetObjectItemCaseSensitive(log, "params_before");
        const cJSON *pa = cJSON_GetObjectItemCaseSensitive(log, "params_after");
        const cJSON *bb = cJSON_GetObjectItemCaseSensitive(log, "bytes_before");
        const cJSON *ba = cJSON_GetObjectItemCaseSensitive(log, "bytes_after");
        if (pb && pa && bb && ba)
            fprintf(f, "; params %.0f -> %.0f, bytes %.0f -> %.0f", pb->valuedouble, pa->valuedouble,
                    bb->valuedouble, ba->valuedouble);
        fprintf(f, "\n");
    }
    print_names(f, "matched", cJSON_GetObjectItemCaseSensitive(log, "matched"));
    print_names(f, "produced", cJSON_GetObjectItemCaseSensitive(log, "produced"));
    const cJSON *note = cJSON_GetObjectItemCaseSensitive(log, "note");
    if (cJSON_IsString(note)) fprintf(f, "    note: %s\n", note->valuestring);
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(log, "report");
    const cJSON *it;
    cJSON_ArrayForEach(it, lines)
        if (cJSON_IsString(it)) fprintf(f, "    %s\n", it->valuestring);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(log, "verify");
    if (v) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "max_abs_err");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(v, "max_rel_err");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, "top1_agreement");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "probes");
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(v, "exact");
        fprintf(f, "    verify (%s, %d probe inputs): max abs err %.3g, max rel err %.3g, top-1 agreement %.1f%%\n",
                cJSON_IsTrue(ex) ? "exact rewrite" : "approximation", n ? n->valueint : 0,
                a ? a->valuedouble : NAN, r ? r->valuedouble : NAN, t ? 100.0 * t->valuedouble : NAN);
    }
}

/* Verifies g against the original outputs; records into log; flags exact rewrites over tolerance. */
static int verify_into(pipeline *p, cJSON *log, const char *what, int exact, fc_error *err)
{
    if (!p->probes) return 0;
    fcv_verify_result r;
    if (p->verified_current) {
        r = p->last;   /* nothing changed since: the same numbers */
    } else if (fcv_probes_compare(p->probes, p->g, &r, err)) {
        return fc_wrap(err, "verifying after %s", what);
    }
    p->last = r;
    p->verified_current = 1;
    cJSON *v = cJSON_AddObjectToObject(log, "verify");
    if (!v) return fc_fail(err, FC_ENOMEM, "out of memory");
    fcv_verify_to_json(&r, v);
    cJSON_AddBoolToObject(v, "exact", exact);
    cJSON_AddNumberToObject(v, "tolerance_rel", exact ? EXACT_REL_TOL : -1);
    if (exact && !(r.max_rel_err <= EXACT_REL_TOL) && !p->failed_check) {
        p->failed_check = 1;
        snprintf(p->failed_msg, sizeof p->failed_msg,
                 "verification failed after %s: max rel err %.3g > %.0e (max abs err %.3g, top-1 agreement "
                 "%.1f%%); the rewrite should be exact (use --no-verify to write the model anyway)",
                 what, r.max_rel_err, EXACT_REL_TOL, r.max_abs_err, 100.0 * r.top1_agreement);
        cJSON_AddBoolToObject(v, "failed", 1);
    }
    return 0;
}

/* Runs one pass, logs it into g->passes_meta. verify: 0 none, 1 exact, 2 approximation,
 * 3 exact unless the log says "approximate": true. */
static int run_pass(pipeline *p, const char *name, pass_fn fn, int verify, fc_error *err)
{
    cJSON *log = cJSON_CreateObject();
    if (!log) return fc_fail(err, FC_ENOMEM, "out of memory");
    cJSON_AddStringToObject(log, "pass", name);
    uint64_t params0, bytes0, params1, bytes1;
    ir_param_stats(p->g, &params0, &bytes0);
    int n = fn(p->g, p->opt, log, err);
    if (n < 0) {
        cJSON_Delete(log);
        return -1;
    }
    ir_update_links(p->g);
    if (n > 0) {
        /* shapes of new values stay unknown until needed (re-inferring builds a session: costly on big models) */
        if (ir_compact(p->g, err) || ir_toposort(p->g, err) || fcv_dce(p->g, err)) {
            cJSON_Delete(log);
            return fc_wrap(err, "after pass %s", name);
        }
        p->verified_current = 0;
    }
    ir_param_stats(p->g, &params1, &bytes1);
    cJSON_AddNumberToObject(log, "rewrites", n);
    cJSON_AddNumberToObject(log, "params_before", (double)params0);
    cJSON_AddNumberToObject(log, "params_after", (double)params1);
    cJSON_AddNumberToObject(log, "bytes_before", (double)bytes0);
    cJSON_AddNumberToObject(log, "bytes_after", (double)bytes1);
    if (n > 0 && verify) {
        int exact = verify == 1 || (verify == 3 && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(log, "approximate")));
        if (verify_into(p, log, name, exact, err)) {
            cJSON_Delete(log);
            return -1;
        }
    }
    if (p->report && (n > 0 || verify)) print_report(p->report, log);
    cJSON_AddItemToArray(p->g->passes_meta, log);
    return 0;
}

/* 1 when every activation value has a known rank (the importer inferred them). */
static int shapes_known(const ir_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++) {
            int v = g->nodes[i].out[k];
            if (v >= 0 && !g->values[v].data && g->values[v].ndim < 0) return 0;
        }
    return 1;
}

/* Tolerant: with a free input dimension the unknown shapes stay unknown (-1 in the .fcn). */
static int ensure_shapes(ir_graph *g, fc_error *err)
{
    return shapes_known(g) ? 0 : fcv_infer_shapes_filtered(g, NULL, NULL, 1, err);
}

static int check_options(const fcv_options *opt, fc_error *err)
{
    if (opt->gap_head && strcmp(opt->gap_head, "exact") && strcmp(opt->gap_head, "fold") &&
        strcmp(opt->gap_head, "fit"))
        return fc_fail(err, FC_EINPUT, "--gap-head must be exact, fold or fit, not '%s'", opt->gap_head);
    if (opt->weights && strcmp(opt->weights, "fp32") && strcmp(opt->weights, "fp16") &&
        strcmp(opt->weights, "int8"))
        return fc_fail(err, FC_EINPUT, "--weights must be fp32, fp16 or int8, not '%s'", opt->weights);
    if (opt->fc_to_conv && opt->gap_head)
        return fc_fail(err, FC_EINPUT, "--fc-to-conv and --gap-head rewrite the same head: choose one");
    if (opt->gap_head && !strcmp(opt->gap_head, "fit") && !opt->calib)
        return fc_fail(err, FC_EINPUT, "--gap-head fit needs calibration data (--calib DATA)");
    if (opt->calib_labels && !(opt->gap_head && !strcmp(opt->gap_head, "fit")))
        return fc_fail(err, FC_EINPUT, "--calib-labels only applies to --gap-head fit");
    if (!(opt->std > 0) || !isfinite(opt->mean))
        return fc_fail(err, FC_EINPUT, "--std must be > 0 and --mean finite");
    return 0;
}

int fcv_run_passes(ir_graph *g, const fcv_options *opt_in, fc_error *err)
{
    fcv_options defaults;
    if (!opt_in) {
        fcv_options_default(&defaults);
        opt_in = &defaults;
    }
    const fcv_options *opt = opt_in;
    if (check_options(opt, err)) return -1;
    if (!g->passes_meta && !(g->passes_meta = cJSON_CreateArray()))
        return fc_fail(err, FC_ENOMEM, "out of memory");

    pipeline p = { .g = g, .opt = opt, .report = opt->quiet ? NULL : opt->report };
    int rc = -1;
    if (fcv_fold_constants(g, err)) goto out;
    ir_update_links(g);
    if (ir_compact(g, err) || ir_toposort(g, err) || fcv_dce(g, err) || ensure_shapes(g, err)) goto out;

    fcn_shape probe_shape;
    fc_error shape_err = { 0 };
    if (!opt->no_verify && fcv_input_shape(g, 1, &probe_shape, &shape_err)) {
        /* a free spatial dimension: nothing to probe at; say so instead of refusing the model */
        cJSON *skip = cJSON_CreateObject();
        if (skip) {
            cJSON_AddStringToObject(skip, "pass", "verify");
            cJSON_AddStringToObject(skip, "skipped", shape_err.msg);
            cJSON_AddItemToArray(g->passes_meta, skip);
        }
        if (p.report) fprintf(p.report, "warning: not verified: %s\n", shape_err.msg);
    } else if (!opt->no_verify) {
        int n_probe = opt->n_probe > 0 ? opt->n_probe : 4;
        if (fcv_probes_make(g, n_probe, opt->calib, opt->calib ? 16 : 0, opt->mean, opt->std, &p.probes, err))
            goto out;
    }
    if (p.report) fprintf(p.report, "passes:\n");
    if (run_pass(&p, "remove_identity", run_remove_identity, 0, err)) goto out;
    if (run_pass(&p, "fold_bn", run_fold_bn, 0, err)) goto out;
    if (run_pass(&p, "fuse_act", run_fuse_act, 0, err)) goto out;
    /* the head rewrites read map shapes */
    if ((opt->fc_to_conv || opt->gap_head) && ensure_shapes(g, err)) goto out;
    if (opt->fc_to_conv && run_pass(&p, "fc_to_conv", run_fc_to_conv, 1, err)) goto out;
    if (opt->gap_head && run_pass(&p, "gap_head", run_gap_head, 3, err)) goto out;
    if (opt->weights && strcmp(opt->weights, "fp32") && run_pass(&p, "quantize", run_quantize, 2, err)) goto out;
    if (ensure_shapes(g, err)) goto out;   /* the .fcn records traced shapes */
    /* last: it reads the batch size, and a quantized weight keeps its per-output scales */
    if (!opt->no_fc_columns && run_pass(&p, "fc_columns", run_fc_columns, 0, err)) goto out;

    /* the whole pipeline against the original: exact when every applied rewrite was */
    if (!p.probes) {
        if (opt->no_verify) {
            cJSON *skip = cJSON_CreateObject();
            if (skip) {
                cJSON_AddStringToObject(skip, "pass", "verify");
                cJSON_AddStringToObject(skip, "skipped", "--no-verify");
                cJSON_AddItemToArray(g->passes_meta, skip);
            }
        }
        rc = 0;
        goto out;
    }
    cJSON *final = cJSON_CreateObject();
    if (!final) {
        fc_fail(err, FC_ENOMEM, "out of memory");
        goto out;
    }
    cJSON_AddStringToObject(final, "pass", "verify");
    int approx = (opt->gap_head && strcmp(opt->gap_head, "exact")) || (opt->weights && strcmp(opt->weights, "fp32"));
    if (verify_into(&p, final, "all passes", !approx, err)) {
        cJSON_Delete(final);
        goto out;
    }
    if (p.report && p.probes) print_report(p.report, final);
    cJSON_AddItemToArray(g->passes_meta, final);
    if (p.failed_check) {
        fc_fail(err, FC_ECHECK, "%s", p.failed_msg);
        goto out;
    }
    rc = 0;
out:
    fcv_probes_free(p.probes);
    return rc;
}
