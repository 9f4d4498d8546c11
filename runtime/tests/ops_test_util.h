/* ops_test_util.h — shared by the runtime/tests/test_ops_*.c cmocka suites: builds attributes
 * and tensors by hand (no model reader), runs one op through fcn_op_lookup + fcn_eval_op (the
 * session's infer/prepare/run path), a seeded RNG and tolerance checks. Header-only (static),
 * since every test is its own binary. */
#ifndef OPS_TEST_UTIL_H
#define OPS_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "runtime/op.h"

/* ---- attributes ------------------------------------------------------------------------- */
typedef struct attrs {
    fcn_attr_rec rec[32];
    uint64_t slots[512];
    int n, ns;
} attrs;

static inline void a_ints(attrs *a, int key, int count, const int64_t *v)
{
    fcn_attr_rec *r = &a->rec[a->n++];
    r->key = (uint32_t)key; r->kind = FCN_AK_INTS; r->count = (uint32_t)count; r->slot_first = (uint32_t)a->ns;
    for (int i = 0; i < count; i++) a->slots[a->ns++] = (uint64_t)v[i];
}
static inline void a_int(attrs *a, int key, int64_t v)
{
    fcn_attr_rec *r = &a->rec[a->n++];
    r->key = (uint32_t)key; r->kind = FCN_AK_INT; r->count = 1; r->slot_first = (uint32_t)a->ns;
    a->slots[a->ns++] = (uint64_t)v;
}
static inline void a_float(attrs *a, int key, double v)
{
    fcn_attr_rec *r = &a->rec[a->n++];
    r->key = (uint32_t)key; r->kind = FCN_AK_FLOAT; r->count = 1; r->slot_first = (uint32_t)a->ns;
    memcpy(&a->slots[a->ns++], &v, 8);
}
static inline void a_floats(attrs *a, int key, int count, const double *v)
{
    fcn_attr_rec *r = &a->rec[a->n++];
    r->key = (uint32_t)key; r->kind = FCN_AK_FLOATS; r->count = (uint32_t)count; r->slot_first = (uint32_t)a->ns;
    for (int i = 0; i < count; i++) memcpy(&a->slots[a->ns++], &v[i], 8);
}
/* a_ints with a literal list: A_INTS(&a, FCN_ATTR_PADS, 1, 1, 0, 0) */
#define A_INTS(a, key, ...)                                                                      \
    do {                                                                                         \
        const int64_t v_[] = { __VA_ARGS__ };                                                    \
        a_ints((a), (key), (int)(sizeof v_ / sizeof v_[0]), v_);                                 \
    } while (0)

/* ---- tensors ---------------------------------------------------------------------------- */
/* A tensor owning a malloc'd copy of data (or zeroed data when data is NULL). */
static inline fcn_tensor *t_new(int dtype, int ndim, const int64_t *dims, const void *data)
{
    fcn_tensor *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->name = "t";
    t->dtype = dtype;
    t->ndim = ndim;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) { t->dims[i] = dims[i]; n *= (size_t)dims[i]; }
    t->numel = n;
    t->nbytes = n * fc_dtype_size(dtype);
    t->data = calloc(1, t->nbytes ? t->nbytes : 1);
    assert_non_null(t->data);
    if (data) memcpy(t->data, data, t->nbytes);
    t->is_const = 1;
    return t;
}
#define DIMS(...) ((const int64_t[]){ __VA_ARGS__ })
#define NDIMS(...) ((int)(sizeof((const int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)))
#define T_F32(data, ...) t_new(FC_DT_F32, NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__), (data))
#define T_I64(data, ...) t_new(FC_DT_I64, NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__), (data))

static inline void t_free(fcn_tensor *t)
{
    if (!t) return;
    free(t->data);
    free(t);
}

/* The output holder: eval fills dtype/shape/data. */
static inline fcn_tensor *t_out(void)
{
    fcn_tensor *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->name = "out";
    return t;
}

/* Runs op on ins (n_in) into fresh outputs; returns the rc; outs[i] are allocated here. */
static inline int eval_op_n(int op, const attrs *a, fcn_tensor **ins, int n_in, fcn_tensor **outs, int n_out, fc_error *err)
{
    assert_non_null(fcn_op_lookup(op));
    for (int i = 0; i < n_out; i++) outs[i] = t_out();
    static const attrs empty;
    if (!a) a = &empty;
    memset(err, 0, sizeof *err);
    return fcn_eval_op(op, "node_under_test", a->rec, a->n, a->slots, ins, n_in, outs, n_out, err);
}

/* Single output convenience: asserts success, returns the output. */
static inline fcn_tensor *eval1(int op, const attrs *a, fcn_tensor **ins, int n_in)
{
    fcn_tensor *out[1];
    fc_error err;
    int rc = eval_op_n(op, a, ins, n_in, out, 1, &err);
    if (rc) fail_msg("%s failed: %s", fcn_op_name(op), err.msg);
    return out[0];
}

/* Asserts failure and that the message names the node and contains `needle`. */
static inline void expect_fail(int op, const attrs *a, fcn_tensor **ins, int n_in, int n_out, const char *needle)
{
    fcn_tensor *out[4];
    fc_error err;
    int rc = eval_op_n(op, a, ins, n_in, out, n_out, &err);
    if (rc == 0) fail_msg("%s unexpectedly succeeded (expected '%s')", fcn_op_name(op), needle);
    if (!strstr(err.msg, "node_under_test") || !strstr(err.msg, needle))
        fail_msg("error message '%s' lacks the node name or '%s'", err.msg, needle);
    assert_int_equal(err.code, FC_EINPUT);
    for (int i = 0; i < n_out; i++) {
        assert_null(out[i]->data);
        free(out[i]);
    }
}

static inline void assert_shape(const fcn_tensor *t, int ndim, const int64_t *dims)
{
    assert_int_equal(t->ndim, ndim);
    for (int i = 0; i < ndim; i++)
        if (t->dims[i] != dims[i]) fail_msg("dim %d is %lld, expected %lld", i, (long long)t->dims[i], (long long)dims[i]);
}
#define ASSERT_SHAPE(t, ...) assert_shape((t), NDIMS(__VA_ARGS__), DIMS(__VA_ARGS__))

static inline void assert_close_f32(const float *got, const float *want, size_t n, double rtol, double atol)
{
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (isnan(w) && isnan(g)) continue;
        if (isinf(w) && g == w) continue;
        if (!(fabs(g - w) <= atol + rtol * fabs(w)))
            fail_msg("element %zu: got %.9g, expected %.9g", i, g, w);
    }
}

static inline void assert_vals(const fcn_tensor *t, const float *want, size_t n)
{
    assert_int_equal(t->dtype, FC_DT_F32);
    assert_int_equal(t->numel, n);
    assert_close_f32(t->data, want, n, 1e-5, 1e-6);
}

/* Runs op as a session would, with a 2-thread pool: infer, prepare, run(x with the pool).
 * The caller compares against eval1 (serial); static splits make results bit-identical. */
static inline fcn_tensor *eval_threaded(int op, const attrs *a, fcn_tensor **ins, int n_in)
{
    const fcn_op_def *def = fcn_op_lookup(op);
    assert_non_null(def);
    fcn_tensor *out = t_out();
    fcn_node n;
    memset(&n, 0, sizeof n);
    n.op = op; n.name = "threaded"; n.n_in = n_in; n.n_out = 1; n.in = ins; n.out = &out;
    n.attrs = a->rec; n.n_attrs = a->n; n.slots = a->slots; n.kernel = "ref";
    n.act = (int)fcn_attr_int(&n, FCN_ATTR_ACT, 0);
    n.act_alpha = fcn_attr_float(&n, FCN_ATTR_ACT_ALPHA, 0);
    n.act_beta = fcn_attr_float(&n, FCN_ATTR_ACT_BETA, 0);
    fc_error err = { 0 };
    if (def->infer(&n, &err)) fail_msg("infer: %s", err.msg);
    assert_int_equal(fc_numel(out->ndim, out->dims, &out->numel), 0);
    out->nbytes = out->numel * fc_dtype_size(out->dtype);
    out->data = calloc(1, out->nbytes ? out->nbytes : 1);
    if (def->prepare && def->prepare(&n, &err)) fail_msg("prepare: %s", err.msg);
    if (n.scratch_bytes) n.scratch = aligned_alloc(64, (n.scratch_bytes + 63) & ~(size_t)63);
    struct fcn_threadpool *pool = fcn_threadpool_create(2);
    assert_non_null(pool);
    fcn_exec x = { pool, 2 };
    def->run(&n, &x);
    fcn_threadpool_destroy(pool);
    free(n.scratch);
    if (n.free_params) n.free_params(n.params);
    else free(n.params);
    return out;
}

/* ---- random ----------------------------------------------------------------------------- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline void rng_seed(uint64_t s) { rng_state = s * 2654435761ull + 1; }
static inline uint32_t rng_u32(void)
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static inline int rng_int(int lo, int hi) { return lo + (int)(rng_u32() % (uint32_t)(hi - lo + 1)); }   /* [lo, hi] */
static inline float rng_float(void) { return (float)(rng_u32() % 20001) / 10000.0f - 1.0f; }           /* [-1, 1] */
static inline fcn_tensor *t_rand(int ndim, const int64_t *dims)
{
    fcn_tensor *t = t_new(FC_DT_F32, ndim, dims, NULL);
    float *f = t->data;
    for (size_t i = 0; i < t->numel; i++) f[i] = rng_float();
    return t;
}

static inline float *fbuf(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

#endif
