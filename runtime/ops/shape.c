/* shape.c — data movement and shape arithmetic, for any dtype: Flatten, Reshape, Squeeze,
 * Unsqueeze, Identity (copies), Transpose, Slice, Expand (one strided-copy walker), Concat,
 * Gather, Shape, Cast. These also run in the converter's constant folding on i64 shapes.
 * Gather: indices are range-checked at infer when constant; a non-constant index found out of
 * range at run time (run cannot fail) yields zeros for that slice. */
#include "runtime/ops/ops_internal.h"

#include <math.h>
#include <string.h>

/* ---- shared walkers --------------------------------------------------------------------- */

static inline void copy_elem(char *dst, const char *src, size_t esize)
{
    switch (esize) {
    case 1: *dst = *src; break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, esize); break;
    }
}

typedef struct strided_params {
    int ndim;                          /* of the output (>= 1) */
    int64_t dims[FCN_MAX_DIMS];        /* output dims */
    int64_t in_strides[FCN_MAX_DIMS];  /* input element stride per output dim (may be 0 or < 0) */
    int64_t base;                      /* input element offset of output element 0 */
} strided_params;

/* The same walk with fewer, longer dims: unit dims dropped, and an output dim merged into the
 * one before it when the input holds them contiguously too (stride[a] == stride[b]·dims[b]).
 * ShuffleNet's channel shuffle, Transpose [1,2,C/2,H,W] by (0,2,1,3,4), then copies H·W floats
 * a memcpy instead of W; a channel Slice of a [1,C,H,W] map is one memcpy. */
static void strided_coalesce(const strided_params *p, strided_params *q)
{
    q->base = p->base;
    q->ndim = 0;
    for (int d = 0; d < p->ndim; d++) {
        if (p->dims[d] == 1) continue;
        int t = q->ndim - 1;
        if (t >= 0 && q->in_strides[t] == p->in_strides[d] * p->dims[d]) {
            q->dims[t] *= p->dims[d];
            q->in_strides[t] = p->in_strides[d];
        } else {
            q->dims[q->ndim] = p->dims[d];
            q->in_strides[q->ndim++] = p->in_strides[d];
        }
    }
    if (q->ndim == 0) {
        q->dims[0] = 1;
        q->in_strides[0] = 1;
        q->ndim = 1;
    }
}

/* Rows [r0, r1) of the coalesced walk p (a row: its last dim) of out[i...] = in[base + sum
 * idx[d] * in_strides[d]], output in C order. */
static void strided_rows(const strided_params *p, const char *in, char *out, size_t esize, int64_t r0, int64_t r1)
{
    int last = p->ndim - 1;
    int64_t inner = p->dims[last], is = p->in_strides[last];
    int64_t idx[FCN_MAX_DIMS] = { 0 };
    int64_t off = p->base, rest = r0;
    for (int d = last - 1; d >= 0; d--) {   /* row r0's index and input offset */
        idx[d] = rest % p->dims[d];
        rest /= p->dims[d];
        off += idx[d] * p->in_strides[d];
    }
    for (int64_t r = r0; r < r1; r++) {
        char *dst = out + (size_t)(r * inner) * esize;
        if (is == 1) memcpy(dst, in + (size_t)off * esize, (size_t)inner * esize);
        else
            for (int64_t i = 0; i < inner; i++) copy_elem(dst + (size_t)i * esize, in + (size_t)(off + i * is) * esize, esize);
        for (int d = last - 1; d >= 0; d--) {
            off += p->in_strides[d];
            if (++idx[d] < p->dims[d]) break;
            off -= p->in_strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}

typedef struct strided_job { strided_params q; const char *in; char *out; size_t esize; } strided_job;

static void strided_range(void *ctx, int64_t r0, int64_t r1, int tid)
{
    (void)tid;
    const strided_job *j = ctx;
    strided_rows(&j->q, j->in, j->out, j->esize, r0, r1);
}

enum { RUN_PIECE = 16 << 10 };   /* bytes: one contiguous run is shared in pieces of this */

static void run_range(void *ctx, int64_t p0, int64_t p1, int tid)
{
    (void)tid;
    const strided_job *j = ctx;
    size_t total = (size_t)j->q.dims[0] * j->esize, b0 = (size_t)p0 * RUN_PIECE, b1 = (size_t)p1 * RUN_PIECE;
    if (b1 > total) b1 = total;
    memcpy(j->out + b0, j->in + (size_t)j->q.base * j->esize + b0, b1 - b0);
}

/* out[i...] = in[base + sum idx[d] * in_strides[d]], output in C order; shared by the threads
 * from 64 KiB on, by rows when there are a few a thread, a single run in 16 KiB pieces. On two
 * threads ShuffleNetV2's channel shuffles, read by one thread from maps both cores wrote, took
 * 2-3× their one-thread time. */
static void strided_copy_x(const strided_params *pp, const char *in, char *out, size_t esize, const fcn_exec *x)
{
    for (int d = 0; d < pp->ndim; d++)
        if (pp->dims[d] == 0) return;
    strided_job j = { .in = in, .out = out, .esize = esize };
    strided_coalesce(pp, &j.q);
    int last = j.q.ndim - 1;
    int64_t outer = 1;
    for (int d = 0; d < last; d++) outer *= j.q.dims[d];
    size_t bytes = (size_t)(outer * j.q.dims[last]) * esize;
    int threads = x && x->pool ? x->nthreads : 1;
    if (threads > 1 && bytes >= ((size_t)64 << 10) && outer >= 2 * threads)
        fcn_parallel_for(x, outer, strided_range, &j);
    else if (threads > 1 && bytes >= ((size_t)64 << 10) && outer == 1 && j.q.in_strides[0] == 1)
        fcn_parallel_for(x, (int64_t)((bytes + RUN_PIECE - 1) / RUN_PIECE), run_range, &j);
    else
        strided_rows(&j.q, in, out, esize, 0, outer);
}

static void strided_run(fcn_node *n, const fcn_exec *x)
{
    strided_copy_x(n->params, n->in[0]->data, n->out[0]->data, fc_dtype_size(n->in[0]->dtype), x);
}

/* A Slice, Transpose or Expand whose output is one contiguous run of its input: 1 and the
 * run's byte offset in the input (the session makes such an output a view), else 0. */
int fcn_strided_is_view(const fcn_node *n, size_t *byte_off)
{
    if ((n->op != FCN_OP_SLICE && n->op != FCN_OP_TRANSPOSE && n->op != FCN_OP_EXPAND) || !n->params ||
        n->n_in < 1 || !n->in[0] || n->n_out != 1 || !n->out[0] || n->in[0]->dtype != n->out[0]->dtype)
        return 0;
    strided_params q;
    strided_coalesce(n->params, &q);
    int64_t count = 1;
    for (int d = 0; d < q.ndim; d++) count *= q.dims[d];
    size_t esize = fc_dtype_size(n->in[0]->dtype);
    if (q.ndim != 1 || (q.in_strides[0] != 1 && q.dims[0] > 1) || q.base < 0 || count < 1 ||
        (size_t)(q.base + count) * esize > n->in[0]->nbytes || (size_t)count * esize != n->out[0]->nbytes)
        return 0;
    *byte_off = (size_t)q.base * esize;
    return 1;
}

static strided_params *strided_alloc(fcn_node *n, fc_error *err)
{
    return fcn_alloc_params(n, err, sizeof(strided_params));
}

/* C-order element strides of a shape */
static void c_strides(int ndim, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

static int input_present(const fcn_node *n, fc_error *err)
{
    if (n->n_in < 1 || !n->in[0]) return fcn_node_fail(n, err, "input 0 is missing");
    if (!fc_dtype_size(n->in[0]->dtype))
        return fcn_node_fail(n, err, "input dtype %d is not supported", n->in[0]->dtype);
    return 0;
}

/* ---- copies: Identity, Flatten, Reshape, Squeeze, Unsqueeze ----------------------------- */

static void copy_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    if (n->out[0]->data != n->in[0]->data) memmove(n->out[0]->data, n->in[0]->data, n->in[0]->nbytes);
}

static int identity_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    fcn_set_out(n->out[0], n->in[0]->dtype, n->in[0]->ndim, n->in[0]->dims);
    return 0;
}

static int flatten_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x = n->in[0];
    int64_t axis = fcn_attr_int(n, FCN_ATTR_AXIS, 1);
    if (axis < -(int64_t)x->ndim || axis > x->ndim)
        return fcn_node_fail(n, err, "axis %lld out of range for rank %d", (long long)axis, x->ndim);
    if (axis < 0) axis += x->ndim;
    int64_t dims[2] = { fcn_numel_dims((int)axis, x->dims), fcn_numel_dims(x->ndim - (int)axis, x->dims + axis) };
    fcn_set_out(n->out[0], x->dtype, 2, dims);
    return 0;
}

static int reshape_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x = n->in[0];
    int64_t shape[FCN_MAX_ATTR_VALUES];
    int ns = fcn_attr_ints(n, FCN_ATTR_SHAPE, shape, FCN_MAX_ATTR_VALUES);
    if (ns < 0) return fcn_node_fail(n, err, "shape attribute is required");
    if (ns > FCN_MAX_DIMS) return fcn_node_fail(n, err, "target rank %d exceeds %d", ns, FCN_MAX_DIMS);
    int64_t allowzero = fcn_attr_int(n, FCN_ATTR_ALLOWZERO, 0);
    int infer_at = -1;
    int64_t known = 1, total = fcn_numel_dims(x->ndim, x->dims);
    int64_t dims[FCN_MAX_DIMS];
    for (int i = 0; i < ns; i++) {
        int64_t d = shape[i];
        if (d == 0 && !allowzero) {
            if (i >= x->ndim)
                return fcn_node_fail(n, err, "shape[%d] = 0 copies a dimension the rank-%d input does not have", i, x->ndim);
            d = x->dims[i];
        }
        if (d == -1) {
            if (infer_at >= 0) return fcn_node_fail(n, err, "shape has more than one -1");
            infer_at = i;
            d = 1;
        } else if (d < 0) {
            return fcn_node_fail(n, err, "shape[%d] = %lld is invalid", i, (long long)d);
        }
        if (i != infer_at && __builtin_mul_overflow(known, d, &known))
            return fcn_node_fail(n, err, "shape overflows");
        dims[i] = d;
    }
    char bx[64];
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return fcn_node_fail(n, err, "cannot infer -1: %lld elements (input %s) do not divide by %lld",
                                 (long long)total, fcn_dims_str(x, bx, sizeof bx), (long long)known);
        dims[infer_at] = total / known;
    } else if (known != total) {
        char bs[64];
        fc_format_dims(ns, dims, bs, sizeof bs);
        return fcn_node_fail(n, err, "cannot reshape %s (%lld elements) to %s (%lld elements)",
                             fcn_dims_str(x, bx, sizeof bx), (long long)total, ns ? bs : "scalar", (long long)known);
    }
    fcn_set_out(n->out[0], x->dtype, ns, dims);
    return 0;
}

static int squeeze_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x = n->in[0];
    int64_t axes[FCN_MAX_ATTR_VALUES];
    int na = fcn_attr_ints(n, FCN_ATTR_AXES, axes, FCN_MAX_ATTR_VALUES);
    int drop[FCN_MAX_DIMS] = { 0 };
    if (na < 0) {
        for (int i = 0; i < x->ndim; i++) drop[i] = x->dims[i] == 1;
    } else {
        for (int i = 0; i < na; i++) {
            int a;
            if (fcn_norm_axis(n, err, axes[i], x->ndim, "axis", &a)) return -1;
            if (x->dims[a] != 1)
                return fcn_node_fail(n, err, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
            drop[a] = 1;
        }
    }
    int64_t dims[FCN_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!drop[i]) dims[nd++] = x->dims[i];
    fcn_set_out(n->out[0], x->dtype, nd, dims);
    return 0;
}

static int unsqueeze_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x = n->in[0];
    int64_t axes[FCN_MAX_ATTR_VALUES];
    int na = fcn_attr_ints(n, FCN_ATTR_AXES, axes, FCN_MAX_ATTR_VALUES);
    if (na < 1) return fcn_node_fail(n, err, "axes attribute is required");
    int nd = x->ndim + na;
    if (nd > FCN_MAX_DIMS) return fcn_node_fail(n, err, "output rank %d exceeds %d", nd, FCN_MAX_DIMS);
    int inserted[FCN_MAX_DIMS] = { 0 };
    for (int i = 0; i < na; i++) {
        int a;
        if (fcn_norm_axis(n, err, axes[i], nd, "axis", &a)) return -1;
        if (inserted[a]) return fcn_node_fail(n, err, "axis %lld listed twice", (long long)axes[i]);
        inserted[a] = 1;
    }
    int64_t dims[FCN_MAX_DIMS];
    for (int i = 0, j = 0; i < nd; i++) dims[i] = inserted[i] ? 1 : x->dims[j++];
    fcn_set_out(n->out[0], x->dtype, nd, dims);
    return 0;
}

const fcn_op_def fcn_opdef_identity = { "Identity", 1, 1, 1, 1, identity_infer, NULL, copy_run };
const fcn_op_def fcn_opdef_flatten = { "Flatten", 1, 1, 1, 1, flatten_infer, NULL, copy_run };
const fcn_op_def fcn_opdef_reshape = { "Reshape", 1, 1, 1, 1, reshape_infer, NULL, copy_run };
const fcn_op_def fcn_opdef_squeeze = { "Squeeze", 1, 1, 1, 1, squeeze_infer, NULL, copy_run };
const fcn_op_def fcn_opdef_unsqueeze = { "Unsqueeze", 1, 1, 1, 1, unsqueeze_infer, NULL, copy_run };

/* ---- strided: Transpose, Slice, Expand -------------------------------------------------- */

static int transpose_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x = n->in[0];
    int64_t perm[FCN_MAX_ATTR_VALUES];
    int np = fcn_attr_ints(n, FCN_ATTR_PERM, perm, FCN_MAX_ATTR_VALUES);
    if (np < 0) {
        np = x->ndim;
        for (int i = 0; i < np; i++) perm[i] = np - 1 - i;
    }
    if (np != x->ndim) return fcn_node_fail(n, err, "perm has %d values, input has rank %d", np, x->ndim);
    int seen[FCN_MAX_DIMS] = { 0 };
    for (int i = 0; i < np; i++) {
        if (perm[i] < 0 || perm[i] >= np || seen[perm[i]])
            return fcn_node_fail(n, err, "perm is not a permutation of 0..%d", np - 1);
        seen[perm[i]] = 1;
    }
    strided_params *p = strided_alloc(n, err);
    if (!p) return -1;
    int64_t is[FCN_MAX_DIMS], dims[FCN_MAX_DIMS];
    c_strides(x->ndim, x->dims, is);
    for (int i = 0; i < np; i++) {
        dims[i] = x->dims[perm[i]];
        p->dims[i] = dims[i];
        p->in_strides[i] = is[perm[i]];
    }
    p->ndim = np;
    if (np == 0) { p->ndim = 1; p->dims[0] = 1; p->in_strides[0] = 1; }
    fcn_set_out(n->out[0], x->dtype, np, dims);
    return 0;
}

static int slice_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x = n->in[0];
    if (x->ndim < 1) return fcn_node_fail(n, err, "cannot slice a scalar");
    int64_t starts[FCN_MAX_ATTR_VALUES], ends[FCN_MAX_ATTR_VALUES], axes[FCN_MAX_ATTR_VALUES],
        steps[FCN_MAX_ATTR_VALUES];
    int ns = fcn_attr_ints(n, FCN_ATTR_STARTS, starts, FCN_MAX_ATTR_VALUES);
    int ne = fcn_attr_ints(n, FCN_ATTR_ENDS, ends, FCN_MAX_ATTR_VALUES);
    if (ns < 0 || ne < 0) return fcn_node_fail(n, err, "starts and ends are required");
    if (ns != ne) return fcn_node_fail(n, err, "starts has %d values, ends has %d", ns, ne);
    int na = fcn_attr_ints(n, FCN_ATTR_AXES, axes, FCN_MAX_ATTR_VALUES);
    if (na < 0) { na = ns; for (int i = 0; i < na; i++) axes[i] = i; }
    int nst = fcn_attr_ints(n, FCN_ATTR_STEPS, steps, FCN_MAX_ATTR_VALUES);
    if (nst < 0) { nst = ns; for (int i = 0; i < nst; i++) steps[i] = 1; }
    if (na != ns || nst != ns)
        return fcn_node_fail(n, err, "starts/ends/axes/steps lengths differ (%d/%d/%d/%d)", ns, ne, na, nst);
    int64_t start[FCN_MAX_DIMS], step[FCN_MAX_DIMS], dims[FCN_MAX_DIMS];
    int seen[FCN_MAX_DIMS] = { 0 };
    for (int i = 0; i < x->ndim; i++) { start[i] = 0; step[i] = 1; dims[i] = x->dims[i]; }
    for (int i = 0; i < ns; i++) {
        int a;
        if (fcn_norm_axis(n, err, axes[i], x->ndim, "axis", &a)) return -1;
        if (seen[a]) return fcn_node_fail(n, err, "axis %lld listed twice", (long long)axes[i]);
        seen[a] = 1;
        int64_t d = x->dims[a], s = starts[i], e = ends[i], st = steps[i];
        if (st == 0) return fcn_node_fail(n, err, "step 0 on axis %d", a);
        if (st == INT64_MIN) st = INT64_MIN + 1;
        if (s < 0) s = s < -d ? -d - 1 : s;   /* avoid overflow below; clamped anyway */
        if (e < 0) e = e < -d ? -d - 1 : e;
        if (s < 0) s += d;
        if (e < 0) e += d;
        int64_t len;
        if (st > 0) {
            s = s < 0 ? 0 : (s > d ? d : s);
            e = e < 0 ? 0 : (e > d ? d : e);
            len = e > s ? (e - s - 1) / st + 1 : 0;
        } else {
            s = s < 0 ? -1 : (s > d - 1 ? d - 1 : s);
            e = e < -1 ? -1 : (e > d - 1 ? d - 1 : e);
            len = s > e ? (s - e - 1) / (-st) + 1 : 0;
        }
        start[a] = len ? s : 0;
        /* with one element (or none) the step is never applied; a hostile huge step would
         * overflow the stride product below. With len >= 2, |st| < d keeps it in range. */
        step[a] = len > 1 ? st : 1;
        dims[a] = len;
    }
    strided_params *p = strided_alloc(n, err);
    if (!p) return -1;
    int64_t is[FCN_MAX_DIMS];
    c_strides(x->ndim, x->dims, is);
    p->ndim = x->ndim;
    for (int i = 0; i < x->ndim; i++) {
        p->dims[i] = dims[i];
        p->in_strides[i] = is[i] * step[i];
        p->base += is[i] * start[i];
    }
    fcn_set_out(n->out[0], x->dtype, x->ndim, dims);
    return 0;
}

static int expand_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x = n->in[0];
    int64_t shape[FCN_MAX_ATTR_VALUES];
    int ns = fcn_attr_ints(n, FCN_ATTR_SHAPE, shape, FCN_MAX_ATTR_VALUES);
    if (ns < 0) return fcn_node_fail(n, err, "shape attribute is required");
    if (ns > FCN_MAX_DIMS) return fcn_node_fail(n, err, "shape rank %d exceeds %d", ns, FCN_MAX_DIMS);
    for (int i = 0; i < ns; i++)
        if (shape[i] < 0) return fcn_node_fail(n, err, "shape[%d] = %lld is negative", i, (long long)shape[i]);
    int nd;
    int64_t dims[FCN_MAX_DIMS];
    if (fcn_broadcast_shape(x->ndim, x->dims, ns, shape, &nd, dims)) {
        char bx[64], bs[64];
        fc_format_dims(ns, shape, bs, sizeof bs);
        return fcn_node_fail(n, err, "input %s does not broadcast with shape %s", fcn_dims_str(x, bx, sizeof bx), bs);
    }
    strided_params *p = strided_alloc(n, err);
    if (!p) return -1;
    fcn_set_out(n->out[0], x->dtype, nd, dims);
    int64_t one = 1;
    p->ndim = nd ? nd : 1;
    if (!nd) dims[0] = 1;
    memcpy(p->dims, dims, sizeof p->dims);
    fcn_broadcast_strides(p->ndim, p->dims, x->ndim ? x->ndim : 1, x->ndim ? x->dims : &one, p->in_strides);
    return 0;
}

const fcn_op_def fcn_opdef_transpose = { "Transpose", 1, 1, 1, 1, transpose_infer, NULL, strided_run };
const fcn_op_def fcn_opdef_slice = { "Slice", 1, 1, 1, 1, slice_infer, NULL, strided_run };
const fcn_op_def fcn_opdef_expand = { "Expand", 1, 1, 1, 1, expand_infer, NULL, strided_run };

/* ---- Concat ----------------------------------------------------------------------------- */

typedef struct concat_params { int64_t outer; int axis; } concat_params;

static int concat_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x0 = n->in[0];
    if (x0->ndim < 1) return fcn_node_fail(n, err, "cannot concatenate scalars");
    if (!fcn_attr_has(n, FCN_ATTR_AXIS)) return fcn_node_fail(n, err, "axis attribute is required");
    int axis;
    if (fcn_norm_axis(n, err, fcn_attr_int(n, FCN_ATTR_AXIS, 0), x0->ndim, "axis", &axis)) return -1;
    int64_t dims[FCN_MAX_DIMS];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const fcn_tensor *t = n->in[i];
        if (!t) return fcn_node_fail(n, err, "input %d is missing", i);
        char b0[64], bi[64];
        if (t->dtype != x0->dtype)
            return fcn_node_fail(n, err, "input %d has dtype %s, input 0 has %s", i, fc_dtype_name(t->dtype),
                                 fc_dtype_name(x0->dtype));
        int ok = t->ndim == x0->ndim;
        for (int d = 0; ok && d < t->ndim; d++) ok = d == axis || t->dims[d] == x0->dims[d];
        if (!ok)
            return fcn_node_fail(n, err, "input %d has shape %s, incompatible with input 0's %s on axis %d", i,
                                 fcn_dims_str(t, bi, sizeof bi), fcn_dims_str(x0, b0, sizeof b0), axis);
        if (__builtin_add_overflow(dims[axis], t->dims[axis], &dims[axis]))
            return fcn_node_fail(n, err, "concatenated size overflows");
    }
    concat_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    p->axis = axis;
    p->outer = fcn_numel_dims(axis, x0->dims);
    fcn_set_out(n->out[0], x0->dtype, x0->ndim, dims);
    return 0;
}

static void concat_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const concat_params *p = n->params;
    size_t esize = fc_dtype_size(n->out[0]->dtype);
    const fcn_tensor *o = n->out[0];
    size_t out_row = (size_t)fcn_numel_dims(o->ndim - p->axis, o->dims + p->axis) * esize;
    size_t col = 0;
    for (int i = 0; i < n->n_in; i++) {
        const fcn_tensor *t = n->in[i];
        size_t row = (size_t)fcn_numel_dims(t->ndim - p->axis, t->dims + p->axis) * esize;
        for (int64_t r = 0; r < p->outer; r++)
            memcpy((char *)o->data + (size_t)r * out_row + col, (const char *)t->data + (size_t)r * row, row);
        col += row;
    }
}

const fcn_op_def fcn_opdef_concat = { "Concat", 1, -1, 1, 1, concat_infer, NULL, concat_run };

/* ---- Gather ----------------------------------------------------------------------------- */

typedef struct gather_params { int64_t outer, axis_dim, inner, count; } gather_params;

static int64_t index_at(const fcn_tensor *t, int64_t i)
{
    return t->dtype == FC_DT_I64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

static int gather_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    const fcn_tensor *x = n->in[0], *ind = n->in[1];
    if (!ind) return fcn_node_fail(n, err, "indices input is missing");
    if (ind->dtype != FC_DT_I64 && ind->dtype != FC_DT_I32)
        return fcn_node_fail(n, err, "indices have dtype %s, expected i64 or i32", fc_dtype_name(ind->dtype));
    if (x->ndim < 1) return fcn_node_fail(n, err, "cannot gather from a scalar");
    int axis;
    if (fcn_norm_axis(n, err, fcn_attr_int(n, FCN_ATTR_AXIS, 0), x->ndim, "axis", &axis)) return -1;
    int nd = x->ndim - 1 + ind->ndim;
    if (nd > FCN_MAX_DIMS) return fcn_node_fail(n, err, "output rank %d exceeds %d", nd, FCN_MAX_DIMS);
    int64_t dims[FCN_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < axis; i++) dims[k++] = x->dims[i];
    for (int i = 0; i < ind->ndim; i++) dims[k++] = ind->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) dims[k++] = x->dims[i];
    gather_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    p->outer = fcn_numel_dims(axis, x->dims);
    p->axis_dim = x->dims[axis];
    p->inner = fcn_numel_dims(x->ndim - axis - 1, x->dims + axis + 1);
    p->count = fcn_numel_dims(ind->ndim, ind->dims);
    if (ind->is_const && ind->data) {
        for (int64_t i = 0; i < p->count; i++) {
            int64_t v = index_at(ind, i);
            if (v < -p->axis_dim || v >= p->axis_dim)
                return fcn_node_fail(n, err, "index %lld out of range for axis %d of size %lld", (long long)v, axis,
                                     (long long)p->axis_dim);
        }
    }
    fcn_set_out(n->out[0], x->dtype, nd, dims);
    return 0;
}

static void gather_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const gather_params *p = n->params;
    const fcn_tensor *ind = n->in[1];
    size_t esize = fc_dtype_size(n->in[0]->dtype), chunk = (size_t)p->inner * esize;
    const char *src = n->in[0]->data;
    char *dst = n->out[0]->data;
    for (int64_t o = 0; o < p->outer; o++) {
        for (int64_t j = 0; j < p->count; j++) {
            int64_t v = index_at(ind, j);
            if (v < 0) v += p->axis_dim;
            char *d = dst + (size_t)(o * p->count + j) * chunk;
            if (v < 0 || v >= p->axis_dim) memset(d, 0, chunk);   /* see the file comment */
            else memcpy(d, src + (size_t)(o * p->axis_dim + v) * chunk, chunk);
        }
    }
}

const fcn_op_def fcn_opdef_gather = { "Gather", 2, 2, 1, 1, gather_infer, NULL, gather_run };

/* ---- Shape ------------------------------------------------------------------------------ */

typedef struct shape_params { int start, end; } shape_params;

static int shape_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    int r = n->in[0]->ndim;
    int64_t s = fcn_attr_int(n, FCN_ATTR_START, 0), e = fcn_attr_int(n, FCN_ATTR_END, r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : (s > r ? r : s);
    e = e < 0 ? 0 : (e > r ? r : e);
    shape_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    p->start = (int)s;
    p->end = (int)(e > s ? e : s);
    int64_t dims[1] = { p->end - p->start };
    fcn_set_out(n->out[0], FC_DT_I64, 1, dims);
    return 0;
}

static void shape_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const shape_params *p = n->params;
    int64_t *out = n->out[0]->data;
    for (int i = p->start; i < p->end; i++) out[i - p->start] = n->in[0]->dims[i];
}

const fcn_op_def fcn_opdef_shape = { "Shape", 1, 1, 1, 1, shape_infer, NULL, shape_run };

/* ---- Cast ------------------------------------------------------------------------------- */
/* Every element goes through one of two carriers: int64 (integer and bool sources, exact) or
 * double (float sources). Float -> integer truncates toward zero, saturates, NaN -> 0;
 * integer -> narrower integer wraps (two's complement, as numpy's astype). */

static int is_float_dtype(int dt)
{
    return dt == FC_DT_F32 || dt == FC_DT_F16 || dt == FC_DT_F64 || dt == FC_DT_BF16;
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t f32_to_bf16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if (f != f) return (uint16_t)((bits >> 16) | 0x40);   /* quiet NaN */
    /* truncation, as the ONNX 1.12 reference (and Debian's node tests) define the cast */
    return (uint16_t)(bits >> 16);
}

static double load_float(const void *p, int dt, size_t i)
{
    switch (dt) {
    case FC_DT_F32: return ((const float *)p)[i];
    case FC_DT_F64: return ((const double *)p)[i];
    case FC_DT_F16: return fc_f16_to_f32(((const uint16_t *)p)[i]);
    default: return bf16_to_f32(((const uint16_t *)p)[i]);
    }
}

static int64_t load_int(const void *p, int dt, size_t i)
{
    switch (dt) {
    case FC_DT_I8: return ((const int8_t *)p)[i];
    case FC_DT_U8: return ((const uint8_t *)p)[i];
    case FC_DT_BOOL: return ((const uint8_t *)p)[i] != 0;
    case FC_DT_I16: return ((const int16_t *)p)[i];
    case FC_DT_U16: return ((const uint16_t *)p)[i];
    case FC_DT_I32: return ((const int32_t *)p)[i];
    case FC_DT_U32: return ((const uint32_t *)p)[i];
    case FC_DT_U64: return (int64_t)((const uint64_t *)p)[i];
    default: return ((const int64_t *)p)[i];
    }
}

static int64_t float_to_int(double v)
{
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX;
    if (v <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)v;
}

static void store_int(void *p, int dt, size_t i, int64_t v)
{
    switch (dt) {
    case FC_DT_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case FC_DT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case FC_DT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case FC_DT_I16: ((int16_t *)p)[i] = (int16_t)v; break;
    case FC_DT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case FC_DT_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case FC_DT_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case FC_DT_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    default: ((int64_t *)p)[i] = v; break;
    }
}

static void store_float(void *p, int dt, size_t i, double v)
{
    switch (dt) {
    case FC_DT_F32: ((float *)p)[i] = (float)v; break;
    case FC_DT_F64: ((double *)p)[i] = v; break;
    case FC_DT_F16: ((uint16_t *)p)[i] = fc_f32_to_f16((float)v); break;
    default: ((uint16_t *)p)[i] = f32_to_bf16((float)v); break;
    }
}

static int cast_infer(fcn_node *n, fc_error *err)
{
    if (input_present(n, err)) return -1;
    if (!fcn_attr_has(n, FCN_ATTR_TO)) return fcn_node_fail(n, err, "'to' attribute is required");
    int64_t to = fcn_attr_int(n, FCN_ATTR_TO, 0);
    if (to <= FC_DT_INVALID || to >= FC_DT_COUNT)
        return fcn_node_fail(n, err, "target dtype %lld is not supported", (long long)to);
    fcn_set_out(n->out[0], (int)to, n->in[0]->ndim, n->in[0]->dims);
    return 0;
}

static void cast_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const fcn_tensor *in = n->in[0];
    fcn_tensor *out = n->out[0];
    int sf = is_float_dtype(in->dtype), df = is_float_dtype(out->dtype);
    if (in->dtype == out->dtype) {
        memmove(out->data, in->data, in->nbytes);
        return;
    }
    for (size_t i = 0; i < in->numel; i++) {
        if (sf) {
            double v = load_float(in->data, in->dtype, i);
            if (df) store_float(out->data, out->dtype, i, v);
            else if (out->dtype == FC_DT_BOOL) store_int(out->data, out->dtype, i, v != 0.0);
            else store_int(out->data, out->dtype, i, float_to_int(v));
        } else {
            int64_t v = load_int(in->data, in->dtype, i);
            if (df) store_float(out->data, out->dtype, i,
                                in->dtype == FC_DT_U64 ? (double)(uint64_t)v : (double)v);
            else store_int(out->data, out->dtype, i, v);
        }
    }
}

const fcn_op_def fcn_opdef_cast = { "Cast", 1, 1, 1, 1, cast_infer, NULL, cast_run };
