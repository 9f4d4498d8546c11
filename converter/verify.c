/* verify.c — old vs new graph, both run in the runtime (the only interpreter).
 *
 * The reference outputs are computed once (fcv_probes_make) on seeded N(0,1) probes plus
 * calibration samples; each later graph is serialized, opened from memory and run on the same
 * probes. Errors: max |new − old| over every element of every output the two graphs share by
 * name; relative = that / max |old|; top-1 agreement over the rows of the first output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "common/fc_dataset.h"
#include "converter/verify.h"

int fcv_input_shape(const ir_graph *g, int64_t batch, fcn_shape *shape, fc_error *err)
{
    if (g->n_inputs < 1) return fc_fail(err, FC_EINPUT, "the graph has no input");
    const ir_value *in = &g->values[g->inputs[0]];
    if (in->ndim < 1)
        return fc_fail(err, FC_EINPUT, "input '%s' has an unknown shape (give --input-shape)", in->name);
    shape->ndim = in->ndim;
    for (int i = 0; i < in->ndim; i++) {
        shape->dims[i] = in->dims[i];
        if (i == 0 && in->dims[0] < 0) shape->dims[0] = batch;
        if (shape->dims[i] < 0) {
            char buf[128];
            fc_format_dims(in->ndim, in->dims, buf, sizeof buf);
            return fc_fail(err, FC_EINPUT, "input '%s' has free dimension %d (%s): give --input-shape", in->name,
                           i, buf);
        }
    }
    return 0;
}

int fcv_runner_open(const ir_graph *g, const fcn_shape *input_shape, fcv_graph_runner *r, fc_error *err)
{
    memset(r, 0, sizeof *r);
    size_t size;
    fcn_shape shape;
    if (!input_shape) {
        if (fcv_input_shape(g, 1, &shape, err)) return -1;
        input_shape = &shape;
    }
    if (fcv_write_fcn(g, &r->buf, &size, err)) return -1;
    if (fcn_model_open_memory(r->buf, size, "converted graph", 0, &r->model, err)) goto fail;
    int n_in = fcn_model_num_inputs(r->model);
    fcn_shape *shapes = calloc((size_t)(n_in > 0 ? n_in : 1), sizeof(fcn_shape));
    if (!shapes) {
        fc_fail(err, FC_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n_in; i++) {
        fcn_model_input_shape(r->model, i, &shapes[i]);
        if (shapes[i].ndim > 0 && shapes[i].dims[0] < 0) shapes[i].dims[0] = input_shape->dims[0];
    }
    if (n_in > 0) shapes[0] = *input_shape;
    fcn_session_options so = { .threads = 0, .n_input_shapes = n_in, .input_shapes = shapes };
    int rc = fcn_session_create(r->model, &so, &r->session, err);
    free(shapes);
    if (rc) goto fail;
    return 0;
fail:
    fcv_runner_close(r);
    return -1;
}

int fcv_runner_run(fcv_graph_runner *r, const float *data, size_t count, fc_error *err)
{
    if (fcn_session_set_input(r->session, 0, data, count * sizeof(float), err)) return -1;
    return fcn_session_run(r->session, err);
}

const float *fcv_runner_output(const fcv_graph_runner *r, const char *name, fcn_shape *shape)
{
    int i = fcn_session_find_output(r->session, name);
    if (i < 0) return NULL;
    int dtype = 0;
    const void *p = fcn_session_output(r->session, i, shape, &dtype);
    return dtype == FC_DT_F32 ? p : NULL;
}

void fcv_runner_close(fcv_graph_runner *r)
{
    if (r->session) fcn_session_destroy(r->session);
    if (r->model) fcn_model_close(r->model);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* ---- probes ------------------------------------------------------------------------------ */

/* splitmix64 + Box-Muller: deterministic on every platform */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return ((next_u64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

static void fill_normal(float *x, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i += 2) {
        double u1 = uniform01(&s), u2 = uniform01(&s);
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(r * cos(2.0 * M_PI * u2));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(2.0 * M_PI * u2));
    }
}

void fcv_probes_free(fcv_probes *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_outputs; i++) {
        if (p->out_names) free(p->out_names[i]);
        if (p->outs) free(p->outs[i]);
    }
    free(p->out_names);
    free(p->outs);
    free(p->out_shapes);
    free(p->out_counts);
    free(p->inputs);
    free(p);
}

static size_t shape_count(const fcn_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= (size_t)(s->dims[i] > 0 ? s->dims[i] : 0);
    return n;
}

/* Fills probes [first, first+n) with calibration samples: each probe tensor (batch B) takes B samples. */
static int fill_calib(fcv_probes *p, int first, int n, const char *calib, float mean, float std, fc_error *err)
{
    fc_dataset *ds;
    if (fc_dataset_open(calib, mean, std, &ds, err)) return -1;
    int64_t b = p->in_shape.dims[0];
    size_t per = p->in_count / (size_t)b;
    if (p->in_shape.ndim != 4 || ds->c != p->in_shape.dims[1] || ds->h != p->in_shape.dims[2] ||
        ds->w != p->in_shape.dims[3]) {
        char buf[64];
        fc_format_dims(p->in_shape.ndim, p->in_shape.dims, buf, sizeof buf);
        fc_fail(err, FC_EINPUT, "--calib %s: images are %lldx%lldx%lld, the model input is %s", calib,
                (long long)ds->c, (long long)ds->h, (long long)ds->w, buf);
        fc_dataset_close(ds);
        return -1;
    }
    int64_t avail = ds->count / b;
    if (n > avail) n = (int)avail;
    for (int i = 0; i < n; i++)
        if (fc_dataset_batch(ds, (int64_t)i * b, b, p->inputs + (size_t)(first + i) * p->in_count, NULL, err)) {
            fc_dataset_close(ds);
            return -1;
        }
    (void)per;
    fc_dataset_close(ds);
    return n;
}

int fcv_probes_make(const ir_graph *ref, int n_random, const char *calib, int n_calib, float mean, float std,
                    fcv_probes **out, fc_error *err)
{
    *out = NULL;
    fcv_probes *p = calloc(1, sizeof *p);
    if (!p) return fc_fail(err, FC_ENOMEM, "out of memory");
    fcv_graph_runner r = { 0 };
    if (fcv_input_shape(ref, 1, &p->in_shape, err)) goto fail;
    p->in_count = shape_count(&p->in_shape);
    if (!calib) n_calib = 0;
    int total = n_random + n_calib;
    if (total < 1) total = n_random = 1;
    size_t bytes;
    if (fc_mul_size(p->in_count, (size_t)total * sizeof(float), &bytes) || bytes > ((size_t)1 << 32)) {
        fc_fail(err, FC_EINPUT, "probe inputs too large");
        goto fail;
    }
    if (!(p->inputs = malloc(bytes))) {
        fc_fail(err, FC_ENOMEM, "out of memory for probe inputs");
        goto fail;
    }
    for (int i = 0; i < n_random; i++) fill_normal(p->inputs + (size_t)i * p->in_count, p->in_count, 0x5eed0000u + (uint64_t)i);
    p->n = n_random;
    if (n_calib > 0) {
        int got = fill_calib(p, n_random, n_calib, calib, mean, std, err);
        if (got < 0) goto fail;
        p->n += got;
    }
    if (fcv_runner_open(ref, &p->in_shape, &r, err)) goto fail;
    p->n_outputs = ref->n_outputs;
    p->out_names = calloc((size_t)p->n_outputs + 1, sizeof(char *));
    p->outs = calloc((size_t)p->n_outputs + 1, sizeof(float *));
    p->out_shapes = calloc((size_t)p->n_outputs + 1, sizeof(fcn_shape));
    p->out_counts = calloc((size_t)p->n_outputs + 1, sizeof(size_t));
    if (!p->out_names || !p->outs || !p->out_shapes || !p->out_counts) {
        fc_fail(err, FC_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < p->n; i++) {
        if (fcv_runner_run(&r, p->inputs + (size_t)i * p->in_count, p->in_count, err)) goto fail;
        for (int o = 0; o < p->n_outputs; o++) {
            const char *name = ref->values[ref->outputs[o]].name;
            fcn_shape s;
            const float *y = fcv_runner_output(&r, name, &s);
            if (!y) {
                fc_fail(err, FC_EINPUT, "output '%s' is not an f32 tensor: cannot verify", name);
                goto fail;
            }
            if (i == 0) {
                p->out_names[o] = strdup(name);
                p->out_shapes[o] = s;
                p->out_counts[o] = shape_count(&s);
                p->outs[o] = malloc(sizeof(float) * (p->out_counts[o] ? p->out_counts[o] : 1) * (size_t)p->n);
                if (!p->out_names[o] || !p->outs[o]) {
                    fc_fail(err, FC_ENOMEM, "out of memory");
                    goto fail;
                }
            }
            memcpy(p->outs[o] + (size_t)i * p->out_counts[o], y, sizeof(float) * p->out_counts[o]);
        }
    }
    fcv_runner_close(&r);
    *out = p;
    return 0;
fail:
    fcv_runner_close(&r);
    fcv_probes_free(p);
    return -1;
}

static int argmax_row(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return (int)best;
}

int fcv_probes_compare(const fcv_probes *p, const ir_graph *g, fcv_verify_result *res, fc_error *err)
{
    memset(res, 0, sizeof *res);
    fcv_graph_runner r;
    if (fcv_runner_open(g, &p->in_shape, &r, err)) return -1;
    double max_abs = 0.0, max_ref = 0.0;
    int64_t agree = 0, rows = 0, compared = 0;
    for (int i = 0; i < p->n; i++) {
        if (fcv_runner_run(&r, p->inputs + (size_t)i * p->in_count, p->in_count, err)) goto fail;
        for (int o = 0; o < p->n_outputs; o++) {
            fcn_shape s;
            const float *y = fcv_runner_output(&r, p->out_names[o], &s);
            if (!y) continue;
            if (shape_count(&s) != p->out_counts[o] || s.ndim != p->out_shapes[o].ndim) {
                char a[64], b[64];
                fc_format_dims(s.ndim, s.dims, a, sizeof a);
                fc_format_dims(p->out_shapes[o].ndim, p->out_shapes[o].dims, b, sizeof b);
                fc_fail(err, FC_ECHECK, "output '%s' changed shape: %s, the original gives %s", p->out_names[o], a, b);
                goto fail;
            }
            compared++;
            const float *x = p->outs[o] + (size_t)i * p->out_counts[o];
            for (size_t k = 0; k < p->out_counts[o]; k++) {
                double d = fabs((double)y[k] - (double)x[k]);
                if (isnan(d)) max_abs = INFINITY;
                else if (d > max_abs) max_abs = d;
                double m = fabs((double)x[k]);
                if (m > max_ref) max_ref = m;
            }
            if (o == 0 && s.ndim >= 1 && s.dims[0] > 0) {
                size_t per = p->out_counts[o] / (size_t)s.dims[0];
                for (int64_t b = 0; b < s.dims[0] && per > 0; b++) {
                    agree += argmax_row(x + (size_t)b * per, per) == argmax_row(y + (size_t)b * per, per);
                    rows++;
                }
            }
        }
    }
    if (compared == 0) {
        fc_fail(err, FC_ECHECK, "the rewritten graph has none of the original outputs (first: '%s')",
                p->n_outputs ? p->out_names[0] : "?");
        goto fail;
    }
    fcv_runner_close(&r);
    res->max_abs_err = max_abs;
    res->max_rel_err = max_ref > 0 ? max_abs / max_ref : max_abs;
    res->top1_agreement = rows ? (double)agree / (double)rows : 1.0;
    res->n_inputs = p->n;
    res->n_rows = (int)rows;
    return 0;
fail:
    fcv_runner_close(&r);
    return -1;
}

int fcv_probes_compare_each(const fcv_probes *p, const ir_graph *g, double *rel_err, fc_error *err)
{
    fcv_graph_runner r;
    if (fcv_runner_open(g, &p->in_shape, &r, err)) return -1;
    double *abs_err = calloc((size_t)p->n_outputs + 1, sizeof(double)), *ref = calloc((size_t)p->n_outputs + 1, sizeof(double));
    char *seen = calloc((size_t)p->n_outputs + 1, 1);
    if (!abs_err || !ref || !seen) {
        free(abs_err); free(ref); free(seen);
        fcv_runner_close(&r);
        return fc_fail(err, FC_ENOMEM, "out of memory");
    }
    int rc = 0;
    for (int i = 0; i < p->n && !rc; i++) {
        if (fcv_runner_run(&r, p->inputs + (size_t)i * p->in_count, p->in_count, err)) {
            rc = -1;
            break;
        }
        for (int o = 0; o < p->n_outputs; o++) {
            fcn_shape s;
            const float *y = fcv_runner_output(&r, p->out_names[o], &s);
            if (!y || shape_count(&s) != p->out_counts[o]) continue;
            seen[o] = 1;
            const float *x = p->outs[o] + (size_t)i * p->out_counts[o];
            for (size_t k = 0; k < p->out_counts[o]; k++) {
                double d = fabs((double)y[k] - (double)x[k]), m = fabs((double)x[k]);
                if (isnan(d)) d = INFINITY;
                if (d > abs_err[o]) abs_err[o] = d;
                if (m > ref[o]) ref[o] = m;
            }
        }
    }
    for (int o = 0; o < p->n_outputs; o++)
        rel_err[o] = !seen[o] ? NAN : ref[o] > 0 ? abs_err[o] / ref[o] : abs_err[o];
    free(abs_err); free(ref); free(seen);
    fcv_runner_close(&r);
    return rc;
}

void fcv_verify_to_json(const fcv_verify_result *r, cJSON *obj)
{
    cJSON_AddNumberToObject(obj, "max_abs_err", isfinite(r->max_abs_err) ? r->max_abs_err : 1e308);
    cJSON_AddNumberToObject(obj, "max_rel_err", isfinite(r->max_rel_err) ? r->max_rel_err : 1e308);
    cJSON_AddNumberToObject(obj, "top1_agreement", r->top1_agreement);
    cJSON_AddNumberToObject(obj, "probes", r->n_inputs);
    cJSON_AddNumberToObject(obj, "rows", r->n_rows);
}
