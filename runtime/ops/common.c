/* common.c — helpers every op family uses: numpy broadcasting, the fused activation,
 * 2-D window resolution (pads / auto_pad / ceil_mode) and input validation. */
#include "runtime/ops/ops_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fcn_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out)
{
    int n = na > nb ? na : nb;
    if (n > FCN_MAX_DIMS) return -1;
    int64_t tmp[FCN_MAX_DIMS];
    for (int i = 0; i < n; i++) {
        int ia = i - (n - na), ib = i - (n - nb);
        int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
        if (da == db || db == 1) tmp[i] = da;
        else if (da == 1) tmp[i] = db;
        else return -1;
    }
    memcpy(out, tmp, (size_t)n * sizeof *out);
    *nout = n;
    return 0;
}

void fcn_broadcast_strides(int nout, const int64_t *out, int nin, const int64_t *in, int64_t *strides)
{
    int64_t stride = 1;
    for (int i = nout - 1; i >= 0; i--) {
        int ii = i - (nout - nin);
        if (ii < 0) { strides[i] = 0; continue; }
        strides[i] = (in[ii] == 1 && out[i] != 1) ? 0 : stride;
        /* saturating: a hostile shape can make the product overflow before the session's size
         * limits reject it (such a stride is never used) */
        if (__builtin_mul_overflow(stride, in[ii], &stride)) stride = INT64_MAX;
    }
}

void fcn_apply_act(const fcn_node *n, float *data, size_t count)
{
    switch (n->act) {
    case FCN_ACT_RELU:
        for (size_t i = 0; i < count; i++) data[i] = data[i] > 0.0f ? data[i] : 0.0f;
        break;
    case FCN_ACT_CLIP: {
        float lo = n->act_alpha, hi = n->act_beta;
        for (size_t i = 0; i < count; i++) {
            float v = data[i];
            data[i] = v < lo ? lo : (v > hi ? hi : v);
        }
        break;
    }
    case FCN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < count; i++) data[i] = data[i] >= 0.0f ? data[i] : data[i] * n->act_alpha;
        break;
    case FCN_ACT_SIGMOID:
        for (size_t i = 0; i < count; i++) data[i] = fcn_sigmoidf(data[i]);
        break;
    case FCN_ACT_HARD_SWISH:
        for (size_t i = 0; i < count; i++) {
            float v = data[i], g = v / 6.0f + 0.5f;
            data[i] = v * (g < 0.0f ? 0.0f : (g > 1.0f ? 1.0f : g));
        }
        break;
    case FCN_ACT_SWISH:
        for (size_t i = 0; i < count; i++) data[i] = data[i] * fcn_sigmoidf(data[i]);
        break;
    case FCN_ACT_HARD_SIGMOID:
        for (size_t i = 0; i < count; i++) {
            float g = n->act_alpha * data[i] + n->act_beta;
            data[i] = g < 0.0f ? 0.0f : (g > 1.0f ? 1.0f : g);
        }
        break;
    default:
        break;
    }
}

/* ---- validation ------------------------------------------------------------------------- */

const char *fcn_node_op_name(const fcn_node *n)
{
    return fcn_op_name(n->op);
}

const char *fcn_dims_str(const fcn_tensor *t, char *buf, size_t cap)
{
    if (t->ndim == 0) snprintf(buf, cap, "[] (scalar)");
    else fc_format_dims(t->ndim, t->dims, buf, cap);
    return buf;
}

int fcn_check_dtype(const fcn_node *n, fc_error *err, int i, int dtype)
{
    if (i >= n->n_in || !n->in[i]) return fcn_node_fail(n, err, "input %d is missing", i);
    if (n->in[i]->dtype != dtype)
        return fcn_node_fail(n, err, "input %d ('%s') has dtype %s, expected %s", i,
                             n->in[i]->name ? n->in[i]->name : "?", fc_dtype_name(n->in[i]->dtype),
                             fc_dtype_name(dtype));
    return 0;
}

int fcn_check_rank(const fcn_node *n, fc_error *err, int i, int min_rank, int max_rank)
{
    if (i >= n->n_in || !n->in[i]) return fcn_node_fail(n, err, "input %d is missing", i);
    int r = n->in[i]->ndim;
    if (r < min_rank || r > max_rank) {
        char b[96];
        if (min_rank == max_rank)
            return fcn_node_fail(n, err, "input %d has rank %d (shape %s), expected rank %d", i, r,
                                 fcn_dims_str(n->in[i], b, sizeof b), min_rank);
        return fcn_node_fail(n, err, "input %d has rank %d (shape %s), expected rank %d..%d", i, r,
                             fcn_dims_str(n->in[i], b, sizeof b), min_rank, max_rank);
    }
    return 0;
}

int fcn_norm_axis(const fcn_node *n, fc_error *err, int64_t axis, int rank, const char *what, int *out)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return fcn_node_fail(n, err, "%s %lld out of range for rank %d", what, (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

void *fcn_alloc_params(fcn_node *n, fc_error *err, size_t size)
{
    if (n->params) {
        if (n->free_params) n->free_params(n->params);
        else free(n->params);
    }
    n->free_params = NULL;
    n->params = calloc(1, size ? size : 1);
    if (!n->params) fc_fail(err, FC_ENOMEM, "node '%s' (%s): out of memory", n->name ? n->name : "?",
                            fcn_op_name(n->op));
    return n->params;
}

void fcn_set_out(fcn_tensor *t, int dtype, int ndim, const int64_t *dims)
{
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
    for (int i = ndim; i < FCN_MAX_DIMS; i++) t->dims[i] = 0;
}

/* ---- 2-D windows ------------------------------------------------------------------------ */

static int read_pair(const fcn_node *n, fc_error *err, int key, int64_t def, int64_t *a, int64_t *b)
{
    int64_t v[FCN_MAX_ATTR_VALUES];
    int c = fcn_attr_ints(n, key, v, FCN_MAX_ATTR_VALUES);
    if (c < 0) { *a = *b = def; return 0; }
    if (c != 2) return fcn_node_fail(n, err, "%s has %d values, expected 2 (2-D)", fcn_attr_name(key), c);
    if (v[0] < 1 || v[1] < 1 || v[0] > INT32_MAX || v[1] > INT32_MAX)
        return fcn_node_fail(n, err, "%s must be in [1, 2^31), got [%lld, %lld]", fcn_attr_name(key),
                             (long long)v[0], (long long)v[1]);
    *a = v[0]; *b = v[1];
    return 0;
}

/* One spatial axis: given i, k, s, d and (for NOTSET) the explicit pads, fills pads and o. */
static int resolve_axis(const fcn_node *n, fc_error *err, const char *axis_name, int auto_pad, int ceil_mode,
                        int64_t in, int64_t k, int64_t s, int64_t d, int64_t *pb, int64_t *pe, int64_t *out)
{
    int64_t span = (k - 1) * d + 1;
    if (auto_pad == FCN_AUTO_PAD_SAME_UPPER || auto_pad == FCN_AUTO_PAD_SAME_LOWER) {
        int64_t o = (in + s - 1) / s;
        int64_t total = (o - 1) * s + span - in;
        if (total < 0) total = 0;
        int64_t small = total / 2, big = total - small;
        *pb = auto_pad == FCN_AUTO_PAD_SAME_UPPER ? small : big;
        *pe = auto_pad == FCN_AUTO_PAD_SAME_UPPER ? big : small;
        *out = o;
        return 0;
    }
    if (auto_pad == FCN_AUTO_PAD_VALID) {
        *pb = *pe = 0;
        ceil_mode = 0;   /* auto_pad defines the size by itself (ONNX reference) */
    }
    int64_t avail = in + *pb + *pe - span;
    if (avail < 0)
        return fcn_node_fail(n, err, "%s: input size %lld (+ pads %lld, %lld) is smaller than the window %lld",
                             axis_name, (long long)in, (long long)*pb, (long long)*pe, (long long)span);
    int64_t o = (ceil_mode ? (avail + s - 1) / s : avail / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + *pb) o--;   /* last window would start in the end padding */
    *out = o;
    return 0;
}

int fcn_window2d_resolve(const fcn_node *n, fc_error *err, int64_t ih, int64_t iw,
                         int64_t kh, int64_t kw, int allow_dilations, int allow_ceil, fcn_window2d *w)
{
    memset(w, 0, sizeof *w);
    w->ih = ih; w->iw = iw; w->kh = kh; w->kw = kw;
    if (kh < 1 || kw < 1 || kh > INT32_MAX || kw > INT32_MAX)
        return fcn_node_fail(n, err, "kernel size must be in [1, 2^31), got %lldx%lld", (long long)kh, (long long)kw);
    if (ih > INT32_MAX || iw > INT32_MAX)   /* keeps every window computation far from overflow */
        return fcn_node_fail(n, err, "spatial size %lldx%lld is too large", (long long)ih, (long long)iw);
    if (read_pair(n, err, FCN_ATTR_STRIDES, 1, &w->sh, &w->sw)) return -1;
    if (allow_dilations) {
        if (read_pair(n, err, FCN_ATTR_DILATIONS, 1, &w->dh, &w->dw)) return -1;
    } else {
        w->dh = w->dw = 1;
    }
    int auto_pad = (int)fcn_attr_int(n, FCN_ATTR_AUTO_PAD, FCN_AUTO_PAD_NOTSET);
    if (auto_pad < FCN_AUTO_PAD_NOTSET || auto_pad > FCN_AUTO_PAD_VALID)
        return fcn_node_fail(n, err, "auto_pad value %d unknown (0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID)",
                             auto_pad);
    int64_t ceil_mode = allow_ceil ? fcn_attr_int(n, FCN_ATTR_CEIL_MODE, 0) : 0;
    if (ceil_mode != 0 && ceil_mode != 1)
        return fcn_node_fail(n, err, "ceil_mode must be 0 or 1, got %lld", (long long)ceil_mode);
    int64_t pads[FCN_MAX_ATTR_VALUES];
    int np = fcn_attr_ints(n, FCN_ATTR_PADS, pads, FCN_MAX_ATTR_VALUES);
    if (np >= 0 && auto_pad == FCN_AUTO_PAD_NOTSET) {
        if (np != 4) return fcn_node_fail(n, err, "pads has %d values, expected 4 (2-D: top, left, bottom, right)", np);
        for (int i = 0; i < 4; i++)
            if (pads[i] < 0 || pads[i] > INT32_MAX)
                return fcn_node_fail(n, err, "pads must be in [0, 2^31), got %lld", (long long)pads[i]);
        w->pad_top = pads[0]; w->pad_left = pads[1]; w->pad_bottom = pads[2]; w->pad_right = pads[3];
    }
    if (resolve_axis(n, err, "height", auto_pad, (int)ceil_mode, ih, kh, w->sh, w->dh, &w->pad_top,
                     &w->pad_bottom, &w->oh))
        return -1;
    if (resolve_axis(n, err, "width", auto_pad, (int)ceil_mode, iw, kw, w->sw, w->dw, &w->pad_left,
                     &w->pad_right, &w->ow))
        return -1;
    return 0;
}
