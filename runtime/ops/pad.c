/* pad.c — Pad with PADS (2*rank: all begins then all ends, ONNX order; negative = crop),
 * MODE 0 constant (PAD_VALUE), 1 reflect (mirror without repeating the edge), 2 edge.
 * Any dtype for edge/reflect and for constant 0; a non-zero constant needs f32/f64/ints. */
#include "runtime/ops/ops_internal.h"

#include <string.h>

typedef struct pad_params {
    int ndim;
    int64_t begin[FCN_MAX_DIMS];
    int mode;
    float value;
} pad_params;

static int pad_infer(fcn_node *n, fc_error *err)
{
    if (n->n_in < 1 || !n->in[0]) return fcn_node_fail(n, err, "input 0 is missing");
    const fcn_tensor *x = n->in[0];
    if (!fc_dtype_size(x->dtype)) return fcn_node_fail(n, err, "input dtype is not supported");
    int64_t pads[FCN_MAX_ATTR_VALUES];
    int np = fcn_attr_ints(n, FCN_ATTR_PADS, pads, FCN_MAX_ATTR_VALUES);
    if (np < 0) return fcn_node_fail(n, err, "pads attribute is required");
    if (np != 2 * x->ndim)
        return fcn_node_fail(n, err, "pads has %d values, expected %d (2 x rank %d)", np, 2 * x->ndim, x->ndim);
    int64_t mode = fcn_attr_int(n, FCN_ATTR_MODE, 0);
    if (mode < 0 || mode > 2) return fcn_node_fail(n, err, "mode %lld unknown (0 constant, 1 reflect, 2 edge)", (long long)mode);
    pad_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    p->ndim = x->ndim;
    p->mode = (int)mode;
    p->value = fcn_attr_float(n, FCN_ATTR_PAD_VALUE, 0.0f);
    if (p->value != 0.0f && mode == 0 && x->dtype != FC_DT_F32)
        return fcn_node_fail(n, err, "a non-zero constant pad value needs f32 data, got %s", fc_dtype_name(x->dtype));
    int64_t dims[FCN_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) {
        int64_t b = pads[i], e = pads[i + x->ndim], d = x->dims[i];
        if (b < -d || e < -d || b > INT32_MAX || e > INT32_MAX)
            return fcn_node_fail(n, err, "pads [%lld, %lld] invalid for axis %d of size %lld", (long long)b,
                                 (long long)e, i, (long long)d);
        dims[i] = d + b + e;
        if (dims[i] < 0)
            return fcn_node_fail(n, err, "pads [%lld, %lld] crop axis %d of size %lld below 0", (long long)b,
                                 (long long)e, i, (long long)d);
        if (mode == 1 && (b > d - 1 || e > d - 1) && dims[i] > 0)
            return fcn_node_fail(n, err, "reflect pads [%lld, %lld] must be smaller than axis %d of size %lld",
                                 (long long)b, (long long)e, i, (long long)d);
        if (mode != 0 && d == 0 && dims[i] > 0)
            return fcn_node_fail(n, err, "cannot %s-pad the empty axis %d", mode == 1 ? "reflect" : "edge", i);
        p->begin[i] = b;
    }
    fcn_set_out(n->out[0], x->dtype, x->ndim, dims);
    return 0;
}

/* Input coordinate for output coordinate o on an axis of size d, or -1 for the constant. */
static int64_t source_index(int mode, int64_t o, int64_t begin, int64_t d)
{
    int64_t i = o - begin;
    if (i >= 0 && i < d) return i;
    if (mode == 0) return -1;
    if (mode == 2) return i < 0 ? 0 : d - 1;
    if (d == 1) return 0;
    return i < 0 ? -i : 2 * (d - 1) - i;   /* reflect; |i| < d checked at infer */
}

static void pad_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const pad_params *p = n->params;
    const fcn_tensor *in = n->in[0];
    fcn_tensor *out = n->out[0];
    size_t esize = fc_dtype_size(in->dtype);
    size_t count = out->numel;
    int64_t istr[FCN_MAX_DIMS], idx[FCN_MAX_DIMS] = { 0 };
    int64_t s = 1;
    for (int d = p->ndim - 1; d >= 0; d--) { istr[d] = s; s *= in->dims[d]; }
    const char *src = in->data;
    char *dst = out->data;
    for (size_t k = 0; k < count; k++) {
        int64_t off = 0;
        int inside = 1;
        for (int d = 0; d < p->ndim && inside; d++) {
            int64_t i = source_index(p->mode, idx[d], p->begin[d], in->dims[d]);
            if (i < 0) inside = 0;
            else off += i * istr[d];
        }
        if (inside) memcpy(dst + k * esize, src + (size_t)off * esize, esize);
        else if (in->dtype == FC_DT_F32) memcpy(dst + k * esize, &p->value, 4);
        else memset(dst + k * esize, 0, esize);
        for (int d = p->ndim - 1; d >= 0; d--) {
            if (++idx[d] < out->dims[d]) break;
            idx[d] = 0;
        }
    }
}

const fcn_op_def fcn_opdef_pad = { "Pad", 1, 1, 1, 1, pad_infer, NULL, pad_run };
