/* reduce.c — ReduceMean / ReduceMax / ReduceSum (f32) over any set of axes, keepdims,
 * noop_with_empty_axes (empty or absent AXES: all axes, or identity when the flag is set).
 * The walk visits the input in order and maps each element to its output cell through
 * strides that are 0 along reduced axes, so no scratch is needed. */
#include "runtime/ops/ops_internal.h"

#include <math.h>
#include <string.h>

typedef struct reduce_params {
    int ndim;                         /* of the input */
    int64_t dims[FCN_MAX_DIMS];
    int64_t out_strides[FCN_MAX_DIMS];/* 0 on reduced axes */
    int64_t group;                    /* input elements per output cell */
    int noop;
} reduce_params;

static int reduce_infer(fcn_node *n, fc_error *err)
{
    if (fcn_check_dtype(n, err, 0, FC_DT_F32)) return -1;
    const fcn_tensor *x = n->in[0];
    int64_t axes[FCN_MAX_ATTR_VALUES];
    int na = fcn_attr_ints(n, FCN_ATTR_AXES, axes, FCN_MAX_ATTR_VALUES);
    int64_t keepdims = fcn_attr_int(n, FCN_ATTR_KEEPDIMS, 1);
    int64_t noop = fcn_attr_int(n, FCN_ATTR_NOOP_WITH_EMPTY_AXES, 0);
    if ((keepdims != 0 && keepdims != 1) || (noop != 0 && noop != 1))
        return fcn_node_fail(n, err, "keepdims/noop_with_empty_axes must be 0 or 1");
    reduce_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    int reduced[FCN_MAX_DIMS] = { 0 };
    if (na <= 0) {
        if (noop) p->noop = 1;
        else for (int i = 0; i < x->ndim; i++) reduced[i] = 1;
    } else {
        for (int i = 0; i < na; i++) {
            int a;
            if (fcn_norm_axis(n, err, axes[i], x->ndim, "axis", &a)) return -1;
            if (reduced[a]) return fcn_node_fail(n, err, "axis %lld listed twice", (long long)axes[i]);
            reduced[a] = 1;
        }
    }
    int64_t odims[FCN_MAX_DIMS];
    int ond = 0;
    p->ndim = x->ndim;
    p->group = 1;
    int64_t stride = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        p->dims[i] = x->dims[i];
        if (reduced[i]) {
            if (x->dims[i] == 0 && n->op != FCN_OP_REDUCE_SUM)
                return fcn_node_fail(n, err, "reducing an empty axis %d has no value", i);
            p->out_strides[i] = 0;
            p->group *= x->dims[i];
        } else {
            p->out_strides[i] = stride;
            stride *= x->dims[i];
        }
    }
    for (int i = 0; i < x->ndim; i++) {
        if (!reduced[i]) odims[ond++] = x->dims[i];
        else if (keepdims) odims[ond++] = 1;
    }
    fcn_set_out(n->out[0], FC_DT_F32, ond, odims);
    n->macs = (uint64_t)fcn_numel_dims(x->ndim, x->dims);
    return 0;
}

static void reduce_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const reduce_params *p = n->params;
    const float *in = n->in[0]->data;
    float *out = n->out[0]->data;
    size_t on = n->out[0]->numel, total = n->in[0]->numel;
    if (p->noop) {
        memcpy(out, in, total * sizeof *in);
        return;
    }
    int is_max = n->op == FCN_OP_REDUCE_MAX;
    for (size_t i = 0; i < on; i++) out[i] = is_max ? -INFINITY : 0.0f;
    int last = p->ndim - 1;
    if (p->ndim == 0) {
        out[0] = in[0];
        return;
    }
    int64_t idx[FCN_MAX_DIMS] = { 0 };
    int64_t oo = 0, inner = p->dims[last], os = p->out_strides[last];
    for (size_t base = 0; base < total; base += (size_t)inner) {
        const float *src = in + base;
        if (is_max) {
            for (int64_t i = 0; i < inner; i++) {
                float *d = out + oo + i * os;
                if (src[i] > *d || src[i] != src[i]) *d = src[i];
            }
        } else {
            for (int64_t i = 0; i < inner; i++) out[oo + i * os] += src[i];
        }
        for (int d = last - 1; d >= 0; d--) {
            oo += p->out_strides[d];
            if (++idx[d] < p->dims[d]) break;
            oo -= p->out_strides[d] * idx[d];
            idx[d] = 0;
        }
    }
    if (n->op == FCN_OP_REDUCE_MEAN) {
        for (size_t i = 0; i < on; i++) out[i] /= (float)p->group;
    }
}

const fcn_op_def fcn_opdef_reduce_mean = { "ReduceMean", 1, 1, 1, 1, reduce_infer, NULL, reduce_run };
const fcn_op_def fcn_opdef_reduce_max = { "ReduceMax", 1, 1, 1, 1, reduce_infer, NULL, reduce_run };
const fcn_op_def fcn_opdef_reduce_sum = { "ReduceSum", 1, 1, 1, 1, reduce_infer, NULL, reduce_run };
