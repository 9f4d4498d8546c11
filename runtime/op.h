/* op.h — the contract between the session and every operator (runtime/ops/, one file per family).
 *
 * Life cycle (XNNPACK's create/reshape/setup/run, folded to three calls):
 *   infer(node)    input shapes/dtypes known (constant inputs also have data): validate
 *                  attributes and shapes, fill out[i]->dtype/ndim/dims, parse attributes into
 *                  node->params, set node->macs. Errors name the node.
 *   prepare(node)  optional. Constant inputs have data. Pack weights (malloc, owned by params),
 *                  choose a kernel (node->kernel), request scratch (node->scratch_bytes).
 *   run(node, x)   every pointer bound; no allocation, no failure (inputs were validated).
 *
 * The op table (runtime/optable.c) maps fcn_op -> fcn_op_def. One file per op family in
 * runtime/ops/, each exporting its defs (e.g. fcn_opdef_conv). */
#ifndef FCN_OP_H
#define FCN_OP_H

#include "runtime/fcn.h"

typedef struct fcn_tensor {
    const char *name;
    int dtype;                    /* fc_dtype; activations are F32, I64 (shape math) or BOOL/… as inferred */
    int ndim;
    int64_t dims[FCN_MAX_DIMS];
    size_t numel, nbytes;         /* set by the session after infer (checked for overflow) */
    void *data;                   /* constants: mmap or expanded copy; activations: arena */
    int is_const;
} fcn_tensor;

typedef struct fcn_prepacked {
    const void *data;             /* NULL: none */
    size_t bytes;
    uint32_t kind, param;         /* fcn_prepack_kind, its parameter */
} fcn_prepacked;

struct fcn_threadpool;
typedef struct fcn_exec {
    struct fcn_threadpool *pool;  /* NULL = run serially */
    int nthreads;
} fcn_exec;

typedef struct fcn_node {
    int op;
    int index;
    const char *name;
    int n_in, n_out;
    fcn_tensor **in;              /* in[i] == NULL: absent optional input */
    fcn_tensor **out;
    const fcn_attr_rec *attrs;    /* validated: keys unique, slots in bounds */
    int n_attrs;
    const uint64_t *slots;
    int act;                      /* fused activation (fcn_act) parsed from ACT/ACT_ALPHA/ACT_BETA */
    float act_alpha, act_beta;
    void *params;                 /* op-private; freed with free_params (or free() if NULL) */
    void (*free_params)(void *params);
    size_t scratch_bytes;         /* requested in prepare; the session provides `scratch` */
    void *scratch;                /* 64-byte aligned, valid during run only */
    const char *kernel;           /* algorithm chosen in prepare ("ref" by default) */
    uint64_t macs;
    int nthreads;                 /* the session's thread count (set before prepare; 0 = 1) */
    int weights_warm;             /* the model's weights are few enough to stay in the L3 between
                                   * runs (session.c, FCN_WARM_WEIGHT_BYTES): a GEMV reads them as
                                   * four streams at any row length (fcn_gemv_warm_avx2) */
    /* Fast path (runtime/kernels/select.c): after def->prepare, when fcn_simd_enabled(), the
     * session calls fcn_fast_prepare(node); it may set run_fast (used instead of def->run),
     * fast (its packed state, freed with free_fast), kernel, and raise scratch_bytes. */
    void (*run_fast)(struct fcn_node *n, const fcn_exec *x);
    void *fast;
    void (*free_fast)(void *fast);
    /* Prepacked weights (format.h, PREPACKED). given: the file's blob for this node, set by
     * the session only when the file's layout matches this CPU's kernels (else NULL); a fast
     * path uses it in place when kind, param and size are exactly what it would pack.
     * packed: what the fast path packed or used (fcn_session_prepacked, convert --prepack). */
    fcn_prepacked given, packed;
} fcn_node;

typedef struct fcn_op_def {
    const char *name;             /* ONNX op_type spelling */
    int min_in, max_in;           /* max_in -1: variadic */
    int min_out, max_out;
    int (*infer)(fcn_node *n, fc_error *err);
    int (*prepare)(fcn_node *n, fc_error *err);     /* may be NULL */
    void (*run)(fcn_node *n, const fcn_exec *x);
} fcn_op_def;

/* optable.c */
const fcn_op_def *fcn_op_lookup(int op);   /* NULL if unknown */

/* ---- attribute access (attrs validated by the model reader) ---------------------------- */
int fcn_attr_has(const fcn_node *n, int key);
int64_t fcn_attr_int(const fcn_node *n, int key, int64_t def);
float fcn_attr_float(const fcn_node *n, int key, float def);
/* Copies up to max values; returns the count, or -1 if absent. */
int fcn_attr_ints(const fcn_node *n, int key, int64_t *out, int max);
int fcn_attr_floats(const fcn_node *n, int key, float *out, int max);

/* Node-naming error helper: "node 'name' (Op): <fmt>". Returns -1. */
int fcn_node_fail(const fcn_node *n, fc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- helpers for ops --------------------------------------------------------------------- */
/* Saturates at INT64_MAX instead of overflowing (UB): infer functions call it on shapes not
 * validated yet (a broadcast of [N,1] and [1,M] from a hostile file); check_outputs then
 * refuses the output size. */
static inline int64_t fcn_numel_dims(int ndim, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (__builtin_mul_overflow(n, dims[i], &n)) return INT64_MAX;
    return n;
}
/* numpy broadcasting of two shapes into out; -1 if incompatible. */
int fcn_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out);
/* Applies the node's fused activation to count floats in place. */
void fcn_apply_act(const fcn_node *n, float *data, size_t count);

/* A Slice, Transpose or Expand whose output is one contiguous run of its input (ops/shape.c):
 * 1 and the run's byte offset in the input, else 0. */
int fcn_strided_is_view(const fcn_node *n, size_t *byte_off);

/* Thread pool (threadpool.c): fn(ctx, begin, end, thread_id) over [0, n) split statically. */
typedef void (*fcn_range_fn)(void *ctx, int64_t begin, int64_t end, int tid);
void fcn_parallel_for(const fcn_exec *x, int64_t n, fcn_range_fn fn, void *ctx);
struct fcn_threadpool *fcn_threadpool_create(int nthreads);
void fcn_threadpool_destroy(struct fcn_threadpool *p);

/* kernels/select.c: 0 = fast path installed or not applicable, -1 = error. */
int fcn_fast_prepare(fcn_node *n, fc_error *err);

/* CPU dispatch (kernels/cpu.c): 1 when AVX2+FMA+F16C kernels may be used now
 * (hardware supports them and fcn_use_reference_kernels(0) / no FULLCONV_REFERENCE=1). */
int fcn_simd_enabled(void);

/* ---- one-op evaluation, for the converter's constant folding -------------------------- *
 * Runs op on the given input tensors (data set; dtypes as given) with the given attributes,
 * allocating each output's data with malloc (caller frees). Same code path as a session,
 * so there is one interpreter. */
int fcn_eval_op(int op, const char *node_name,
                const fcn_attr_rec *attrs, int n_attrs, const uint64_t *slots,
                fcn_tensor **in, int n_in, fcn_tensor **out, int n_out, fc_error *err);

#endif
