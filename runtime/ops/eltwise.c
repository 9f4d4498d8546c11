/* eltwise.c — binary Add/Sub/Mul/Div (f32, i64, i32) and Pow (f32 base; f32/i32/i64 exponent)
 * with numpy broadcasting; variadic Max/Min/Sum (f32, i64) and Mean (f32). Add applies the
 * fused activation. The iteration walks the broadcast output with an odometer over all but
 * the innermost dimension; the innermost loop reads each input with stride 1 or 0.
 * Integer Div truncates toward zero (ONNX); x / 0 gives 0 for integers (documented, no trap). */
#include "runtime/ops/ops_internal.h"

#include <math.h>
#include <string.h>

typedef void (*row_fn)(const void *a, int64_t sa, const void *b, int64_t sb, void *out, int64_t count);

typedef struct elt_params {
    int ndim;                       /* of the output (>= 1: scalars are viewed as [1]) */
    int64_t dims[FCN_MAX_DIMS];
    row_fn first, combine;          /* binary: combine unused; variadic: first = copy, combine */
    int n_in;
    int64_t strides[];              /* n_in * FCN_MAX_DIMS element strides */
} elt_params;

/* ---- row kernels ------------------------------------------------------------------------ */

#define ROW(name, T, expr)                                                                       \
    static void name(const void *av, int64_t sa, const void *bv, int64_t sb, void *ov, int64_t count) \
    {                                                                                            \
        const T *a = av, *b = bv;                                                                \
        T *o = ov;                                                                               \
        for (int64_t i = 0; i < count; i++) {                                                    \
            T x = a[i * sa], y = b[i * sb];                                                      \
            o[i] = (expr);                                                                       \
        }                                                                                        \
    }

/* integer division without traps: /0 -> 0, MIN / -1 -> MIN (wraps) */
#define IDIV(T) (y == 0 ? (T)0 : (y == -1 ? (T)(0 - (unsigned long long)x) : (T)(x / y)))

ROW(add_f32, float, x + y)
ROW(sub_f32, float, x - y)
ROW(mul_f32, float, x * y)
ROW(div_f32, float, x / y)
ROW(max_f32, float, (x != x || y != y) ? NAN : (x > y ? x : y))
ROW(min_f32, float, (x != x || y != y) ? NAN : (x < y ? x : y))
ROW(pow_f32, float, powf(x, y))
ROW(add_i64, int64_t, (int64_t)((uint64_t)x + (uint64_t)y))
ROW(sub_i64, int64_t, (int64_t)((uint64_t)x - (uint64_t)y))
ROW(mul_i64, int64_t, (int64_t)((uint64_t)x * (uint64_t)y))
ROW(div_i64, int64_t, IDIV(int64_t))
ROW(max_i64, int64_t, x > y ? x : y)
ROW(min_i64, int64_t, x < y ? x : y)
ROW(add_i32, int32_t, (int32_t)((uint32_t)x + (uint32_t)y))
ROW(sub_i32, int32_t, (int32_t)((uint32_t)x - (uint32_t)y))
ROW(mul_i32, int32_t, (int32_t)((uint32_t)x * (uint32_t)y))
ROW(div_i32, int32_t, IDIV(int32_t))

static void pow_f32_i64(const void *av, int64_t sa, const void *bv, int64_t sb, void *ov, int64_t count)
{
    const float *a = av;
    const int64_t *b = bv;
    float *o = ov;
    for (int64_t i = 0; i < count; i++) o[i] = (float)pow((double)a[i * sa], (double)b[i * sb]);
}

static void pow_f32_i32(const void *av, int64_t sa, const void *bv, int64_t sb, void *ov, int64_t count)
{
    const float *a = av;
    const int32_t *b = bv;
    float *o = ov;
    for (int64_t i = 0; i < count; i++) o[i] = (float)pow((double)a[i * sa], (double)b[i * sb]);
}

#define COPY_ROW(name, T)                                                                        \
    static void name(const void *av, int64_t sa, const void *bv, int64_t sb, void *ov, int64_t count) \
    {                                                                                            \
        (void)bv; (void)sb;                                                                      \
        const T *a = av;                                                                         \
        T *o = ov;                                                                               \
        for (int64_t i = 0; i < count; i++) o[i] = a[i * sa];                                    \
    }
COPY_ROW(copy_f32, float)
COPY_ROW(copy_i64, int64_t)

/* ---- per-op kernel choice by dtype ------------------------------------------------------ */

typedef struct elt_kernels { row_fn f32, i64, i32; } elt_kernels;

static const elt_kernels *kernels_for(int op)
{
    static const elt_kernels add = { add_f32, add_i64, add_i32 }, sub = { sub_f32, sub_i64, sub_i32 },
                             mul = { mul_f32, mul_i64, mul_i32 }, div = { div_f32, div_i64, div_i32 },
                             pow_k = { pow_f32, NULL, NULL }, max = { max_f32, max_i64, NULL },
                             min = { min_f32, min_i64, NULL }, sum = { add_f32, add_i64, NULL },
                             mean = { add_f32, NULL, NULL };
    static const elt_kernels *const by_op[FCN_OP_COUNT] = {
        [FCN_OP_ADD] = &add, [FCN_OP_SUB] = &sub, [FCN_OP_MUL] = &mul, [FCN_OP_DIV] = &div,
        [FCN_OP_POW] = &pow_k, [FCN_OP_MAX] = &max, [FCN_OP_MIN] = &min, [FCN_OP_SUM] = &sum,
        [FCN_OP_MEAN] = &mean,
    };
    return op > 0 && op < FCN_OP_COUNT ? by_op[op] : NULL;
}

static row_fn pick(const elt_kernels *k, int dtype)
{
    if (!k) return NULL;
    return dtype == FC_DT_F32 ? k->f32 : dtype == FC_DT_I64 ? k->i64 : dtype == FC_DT_I32 ? k->i32 : NULL;
}

/* ---- infer ------------------------------------------------------------------------------ */

static int elt_infer(fcn_node *n, fc_error *err)
{
    int binary = n->op == FCN_OP_ADD || n->op == FCN_OP_SUB || n->op == FCN_OP_MUL || n->op == FCN_OP_DIV ||
                 n->op == FCN_OP_POW;
    if (n->n_in < 1) return fcn_node_fail(n, err, "needs at least one input");
    for (int i = 0; i < n->n_in; i++)
        if (!n->in[i]) return fcn_node_fail(n, err, "input %d is missing", i);
    int dtype = n->in[0]->dtype;
    row_fn fn = pick(kernels_for(n->op), dtype);
    if (n->op == FCN_OP_POW && dtype == FC_DT_F32 && n->n_in == 2) {
        int et = n->in[1]->dtype;
        fn = et == FC_DT_F32 ? pow_f32 : et == FC_DT_I64 ? pow_f32_i64 : et == FC_DT_I32 ? pow_f32_i32 : NULL;
        if (!fn) return fcn_node_fail(n, err, "exponent dtype %s is not supported (f32, i32, i64)", fc_dtype_name(et));
    } else {
        for (int i = 1; i < n->n_in; i++)
            if (n->in[i]->dtype != dtype)
                return fcn_node_fail(n, err, "input %d has dtype %s, input 0 has %s (they must match)", i,
                                     fc_dtype_name(n->in[i]->dtype), fc_dtype_name(dtype));
    }
    if (!fn) return fcn_node_fail(n, err, "dtype %s is not supported", fc_dtype_name(dtype));
    int nd = n->in[0]->ndim;
    int64_t dims[FCN_MAX_DIMS];
    memcpy(dims, n->in[0]->dims, sizeof dims);
    for (int i = 1; i < n->n_in; i++) {
        if (fcn_broadcast_shape(nd, dims, n->in[i]->ndim, n->in[i]->dims, &nd, dims)) {
            char b0[64], b1[64];
            fc_format_dims(nd, dims, b0, sizeof b0);
            return fcn_node_fail(n, err, "shapes %s and %s (input %d) do not broadcast", b0,
                                 fcn_dims_str(n->in[i], b1, sizeof b1), i);
        }
    }
    elt_params *p = fcn_alloc_params(n, err, sizeof *p + (size_t)n->n_in * FCN_MAX_DIMS * sizeof(int64_t));
    if (!p) return -1;
    fcn_set_out(n->out[0], n->op == FCN_OP_POW ? FC_DT_F32 : dtype, nd, dims);
    n->macs = (uint64_t)fcn_numel_dims(nd, dims);
    /* a scalar output is iterated as [1] */
    p->ndim = nd ? nd : 1;
    if (!nd) dims[0] = 1;
    memcpy(p->dims, dims, sizeof p->dims);
    p->n_in = n->n_in;
    for (int i = 0; i < n->n_in; i++) {
        int64_t one = 1;
        const fcn_tensor *t = n->in[i];
        fcn_broadcast_strides(p->ndim, p->dims, t->ndim ? t->ndim : 1, t->ndim ? t->dims : &one,
                              p->strides + i * FCN_MAX_DIMS);
    }
    if (binary) {
        if (n->n_in != 2) return fcn_node_fail(n, err, "expects 2 inputs, got %d", n->n_in);
        p->first = fn;
    } else {
        p->first = dtype == FC_DT_I64 ? copy_i64 : copy_f32;
        p->combine = fn;
    }
    return 0;
}

/* out = fn(a, b) over the broadcast shape; a/b element strides sa/sb (FCN_MAX_DIMS each). */
static void walk(const elt_params *p, row_fn fn, const char *a, const int64_t *sa, const char *b,
                 const int64_t *sb, char *out, size_t esize_a, size_t esize_b, size_t esize_o)
{
    int last = p->ndim - 1;
    int64_t inner = p->dims[last], outer = 1;
    for (int d = 0; d < last; d++) outer *= p->dims[d];
    int64_t idx[FCN_MAX_DIMS] = { 0 };
    int64_t ao = 0, bo = 0;
    for (int64_t r = 0; r < outer; r++) {
        fn(a + (size_t)ao * esize_a, sa[last], b ? b + (size_t)bo * esize_b : NULL, sb ? sb[last] : 0,
           out + (size_t)(r * inner) * esize_o, inner);
        for (int d = last - 1; d >= 0; d--) {
            ao += sa[d];
            if (sb) bo += sb[d];
            if (++idx[d] < p->dims[d]) break;
            ao -= sa[d] * idx[d];
            if (sb) bo -= sb[d] * idx[d];
            idx[d] = 0;
        }
    }
}

static void elt_run(fcn_node *n, const fcn_exec *x)
{
    (void)x;
    const elt_params *p = n->params;
    fcn_tensor *o = n->out[0];
    size_t eo = fc_dtype_size(o->dtype);
    size_t e0 = fc_dtype_size(n->in[0]->dtype);
    if (!p->combine) {
        size_t e1 = fc_dtype_size(n->in[1]->dtype);
        walk(p, p->first, n->in[0]->data, p->strides, n->in[1]->data, p->strides + FCN_MAX_DIMS, o->data, e0, e1, eo);
    } else {
        /* variadic: out = in0 (broadcast), then out = combine(out, in_i); out has the full shape */
        int64_t full[FCN_MAX_DIMS];
        fcn_broadcast_strides(p->ndim, p->dims, p->ndim, p->dims, full);
        walk(p, p->first, n->in[0]->data, p->strides, NULL, NULL, o->data, e0, 0, eo);
        for (int i = 1; i < p->n_in; i++)
            walk(p, p->combine, o->data, full, n->in[i]->data, p->strides + i * FCN_MAX_DIMS, o->data, eo, eo, eo);
        if (n->op == FCN_OP_MEAN) {
            float *f = o->data, inv = 1.0f / (float)p->n_in;
            for (size_t i = 0; i < o->numel; i++) f[i] *= inv;
        }
    }
    if (n->act && o->dtype == FC_DT_F32) fcn_apply_act(n, o->data, o->numel);
}

const fcn_op_def fcn_opdef_add = { "Add", 2, 2, 1, 1, elt_infer, NULL, elt_run };
const fcn_op_def fcn_opdef_sub = { "Sub", 2, 2, 1, 1, elt_infer, NULL, elt_run };
const fcn_op_def fcn_opdef_mul = { "Mul", 2, 2, 1, 1, elt_infer, NULL, elt_run };
const fcn_op_def fcn_opdef_div = { "Div", 2, 2, 1, 1, elt_infer, NULL, elt_run };
const fcn_op_def fcn_opdef_pow = { "Pow", 2, 2, 1, 1, elt_infer, NULL, elt_run };
const fcn_op_def fcn_opdef_max = { "Max", 1, -1, 1, 1, elt_infer, NULL, elt_run };
const fcn_op_def fcn_opdef_min = { "Min", 1, -1, 1, 1, elt_infer, NULL, elt_run };
const fcn_op_def fcn_opdef_sum = { "Sum", 1, -1, 1, 1, elt_infer, NULL, elt_run };
const fcn_op_def fcn_opdef_mean = { "Mean", 1, -1, 1, 1, elt_infer, NULL, elt_run };
