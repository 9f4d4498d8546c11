/* session.c — turns a validated model into something runnable, once: tensors for every
 * value (fp32 weights used in place from the mapping, fp16/int8 expanded to fp32 copies),
 * per-node shape inference in graph order, op preparation (weight packing, kernel choice,
 * scratch requests), then the static memory plan (plan.c) that binds every activation and
 * scratch buffer into one 64-byte-aligned arena. fcn_session_run then only calls kernels:
 * it allocates nothing and cannot fail on validated inputs. */
#include "runtime/model_priv.h"
#include "runtime/op.h"
#include "runtime/plan.h"
#include "runtime/kernels/convert.h"
#include "runtime/kernels/kernels.h"

#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* A model whose weights (as fp32) take at most this stays in the L3 between runs, its activations
 * beside it: then a GEMV's weights are read as four streams at any row length (fcn_node.weights_warm).
 * Measured on Zen 4 (32 MB L3), node minima of the classifier: MobileNetV3-small (10 MB) 576 →
 * 1024 0.109 → 0.031–0.034 ms; RegNet-Y-400MF (17 MB) 440 → 1000 and its SE layers 0.21–0.22 →
 * 0.26–0.34, RegNet-X-400MF (22 MB) and ResNet-18 slower too: their weights come from memory. */
#define FCN_WARM_WEIGHT_BYTES (12.0 * 1024 * 1024)

struct fcn_session {
    const fcn_model *m;
    int n_values;
    fcn_tensor *tensors;
    int n_nodes;
    fcn_node *nodes;
    const fcn_op_def **defs;
    fcn_tensor **io;               /* every node's in/out pointer arrays, one block */
    void **copies;                 /* expanded constants, freed at destroy */
    int n_copies;
    size_t packed_bytes;
    uint8_t *arena;                /* 64-byte aligned, inside arena_block */
    void *arena_block;
    size_t arena_bytes, peak_live, two_largest;
    void *input_block;             /* the graph inputs' buffers, outside the arena */
    size_t input_bytes;
    int *fused_res;                /* per node: [2i] residual value fused into conv i, [2i+1] its Add; -1 */
    int *slot;                     /* per model node: its position in nodes (schedule_shortcuts) */
    struct fcn_threadpool *pool;
    int nthreads;
    int profile;
    int simd;                      /* fcn_simd_enabled(), asked once (cpuid traps in a VM) */
    int weights_warm;              /* fcn_node.weights_warm for every node */
    int prepack_ok;                /* the file's PREPACKED blobs are in this CPU's kernel layout */
    double *last_ms, *min_ms;
    int64_t profiled_runs;
};

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

/* The CPUs this process may run on (its affinity mask; the online count where that fails). */
static int cpus_available(void)
{
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The threads asked for (options, else FULLCONV_THREADS, else 1), at most one per CPU the
 * process may run on: the pool's threads spin between loops, and more of them than CPUs take
 * turns on the cores (GoogLeNet at 4 threads on this 2-vCPU VM: 69 ms, against 18 at 1 and 10
 * at 2). The results are those of the thread count used. */
static int session_threads(const fcn_session_options *opt)
{
    int want = 1;
    if (opt && opt->threads > 0) {
        want = opt->threads > 256 ? 256 : opt->threads;
    } else {
        const char *e = getenv("FULLCONV_THREADS");
        if (e && *e) {
            long v = strtol(e, NULL, 10);
            if (v >= 1) want = v > 256 ? 256 : (int)v;
        }
    }
    int cpus = cpus_available();
    return want > cpus ? cpus : want;
}

/* ---- constants -------------------------------------------------------------------------------- */

/* Expanded weights are written once, right away, in MBs (100 MB for ResNet-50 in fp16): ask
 * for transparent huge pages on the 2 MB-aligned interior so that costs ~50 page faults, not
 * 25 000 (advice only: a no-op where THP is off). */
static void hugepage_hint(void *p, size_t bytes)
{
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
}

static void *alloc_copy(fcn_session *s, size_t nbytes)
{
    void *p = aligned_alloc(64, ALIGN64(nbytes ? nbytes : 1));
    if (!p) return NULL;
    hugepage_hint(p, nbytes);
    s->copies[s->n_copies++] = p;
    s->packed_bytes += nbytes;
    return p;
}

/* Portable twins of runtime/kernels/convert_avx2.c (declared in runtime/kernels/convert.h). */
void fcn_f16_expand_ref(const void *src, float *dst, size_t n)
{
    const uint8_t *p = src;
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        dst[i] = fc_f16_to_f32(h);
    }
}

void fcn_dequant_i8_ref(const int8_t *q, const float *scale, size_t channels, size_t per, float *dst)
{
    for (size_t c = 0; c < channels; c++)
        for (size_t k = 0; k < per; k++) dst[c * per + k] = (float)q[c * per + k] * scale[c];
}

/* Int8 weights are symmetric per output channel: w = q * scale[c], c = index along dims[0]. */
static int expand_const(fcn_session *s, uint32_t id, fc_error *err)
{
    const fcn_model *m = s->m;
    const fcn_tensor_rec *r = &m->tensors[id];
    fcn_tensor *t = &s->tensors[id];
    const void *src = fcn_model_tensor_data(m, id);
    size_t numel = t->numel;
    if (r->dtype == FC_DT_F16 || r->dtype == FC_DT_I8) {
        size_t nbytes;
        if (fc_mul_size(numel, 4, &nbytes) || nbytes > fc_limits_current.max_tensor_bytes)
            return fc_fail(err, FC_EINPUT, "%s: constant '%s' is too large to expand", m->name, t->name);
        float *dst = alloc_copy(s, nbytes);
        if (!dst) return fc_fail(err, FC_ENOMEM, "%s: out of memory expanding '%s'", m->name, t->name);
        int simd = s->simd;
        if (r->dtype == FC_DT_F16) {
            (simd ? fcn_f16_expand_avx2 : fcn_f16_expand_ref)(src, dst, numel);
        } else {
            const float *scale = fcn_model_tensor_data(m, r->aux_id);
            size_t channels = (size_t)r->dims[0];
            size_t per = channels ? numel / channels : 0;
            (simd ? fcn_dequant_i8_avx2 : fcn_dequant_i8_ref)(src, scale, channels, per, dst);
        }
        t->data = dst;
        t->dtype = FC_DT_F32;
        t->nbytes = nbytes;
        return 0;
    }
    if (r->dtype == FC_DT_F32 && ((uintptr_t)src % 64) != 0) {
        void *dst = alloc_copy(s, t->nbytes);
        if (!dst) return fc_fail(err, FC_ENOMEM, "%s: out of memory copying '%s'", m->name, t->name);
        memcpy(dst, src, t->nbytes);
        t->data = dst;
        return 0;
    }
    t->data = (void *)src;   /* read-only mapping: ops never write constant inputs */
    return 0;
}

/* ---- inputs ------------------------------------------------------------------------------------ */

static int set_input_shape(fcn_session *s, int k, const fcn_session_options *opt, fc_error *err)
{
    const fcn_model *m = s->m;
    uint32_t id = m->inputs[k];
    const fcn_tensor_rec *r = &m->tensors[id];
    fcn_tensor *t = &s->tensors[id];
    t->dtype = (int)r->dtype;
    if (opt && opt->n_input_shapes > 0) {
        const fcn_shape *sh = &opt->input_shapes[k];
        char want[96], got[96];
        fc_format_dims((int)r->ndim, r->dims, want, sizeof want);
        fc_format_dims(sh->ndim, sh->dims, got, sizeof got);
        if (sh->ndim < 0 || sh->ndim > FCN_MAX_DIMS || (r->ndim > 0 && (uint32_t)sh->ndim != r->ndim))
            return fc_fail(err, FC_EINPUT, "%s: input '%s': shape %s has %d dims, the model's input %s has %u",
                           m->name, t->name, got, sh->ndim, want, r->ndim);
        t->ndim = sh->ndim;
        for (int d = 0; d < sh->ndim; d++) {
            /* zero is legal (an empty batch or an empty tensor, as in ONNX) */
            if (sh->dims[d] < 0)
                return fc_fail(err, FC_EINPUT, "%s: input '%s': shape %s has a negative dim", m->name, t->name, got);
            t->dims[d] = sh->dims[d];
        }
    } else {
        t->ndim = (int)r->ndim;
        for (uint32_t d = 0; d < r->ndim; d++) t->dims[d] = r->dims[d] < 0 ? 1 : r->dims[d];
    }
    size_t esize = fc_dtype_size(t->dtype);
    if (fc_numel(t->ndim, t->dims, &t->numel) || fc_mul_size(t->numel, esize, &t->nbytes) ||
        t->nbytes > fc_limits_current.max_tensor_bytes)
        return fc_fail(err, FC_EINPUT, "%s: input '%s' is too large", m->name, t->name);
    return 0;
}

/* ---- nodes ------------------------------------------------------------------------------------- */

static const fcn_attr_rec *find_attr(const fcn_node *n, int key)
{
    for (int a = 0; a < n->n_attrs; a++)
        if ((int)n->attrs[a].key == key) return &n->attrs[a];
    return NULL;
}

static double attr_number(const fcn_node *n, const fcn_attr_rec *a)
{
    uint64_t bits = n->slots[a->slot_first];
    if (a->kind == FCN_AK_FLOAT || a->kind == FCN_AK_FLOATS) {
        double d;
        memcpy(&d, &bits, 8);
        return d;
    }
    int64_t v;
    memcpy(&v, &bits, 8);
    return (double)v;
}

static int parse_act(fcn_node *n, const char *model, fc_error *err)
{
    const fcn_attr_rec *a = find_attr(n, FCN_ATTR_ACT);
    n->act = FCN_ACT_NONE;
    n->act_alpha = 0;
    n->act_beta = 0;
    if (!a) return 0;
    if (a->count < 1) return fc_fail(err, FC_EINPUT, "%s: node '%s': empty ACT attribute", model, n->name);
    double v = attr_number(n, a);
    if (!(v >= FCN_ACT_NONE && v <= FCN_ACT_HARD_SIGMOID) || v != floor(v))
        return fc_fail(err, FC_EINPUT, "%s: node '%s': unknown fused activation %g", model, n->name, v);
    n->act = (int)v;
    const fcn_attr_rec *al = find_attr(n, FCN_ATTR_ACT_ALPHA), *be = find_attr(n, FCN_ATTR_ACT_BETA);
    /* defaults follow the standalone ops: LeakyRelu alpha 0.01, Clip unbounded */
    if (n->act == FCN_ACT_LEAKY_RELU) n->act_alpha = 0.01f;
    if (n->act == FCN_ACT_HARD_SIGMOID) {
        n->act_alpha = 0.2f;
        n->act_beta = 0.5f;
    }
    if (n->act == FCN_ACT_CLIP) {
        n->act_alpha = -INFINITY;
        n->act_beta = INFINITY;
    }
    if (al && al->count >= 1) n->act_alpha = (float)attr_number(n, al);
    if (be && be->count >= 1) n->act_beta = (float)attr_number(n, be);
    return 0;
}

static int check_outputs(fcn_session *s, fcn_node *n, const fcn_op_def *def, fc_error *err)
{
    for (int k = 0; k < n->n_out; k++) {
        fcn_tensor *t = n->out[k];
        char dims[128];
        fc_format_dims(t->ndim, t->dims, dims, sizeof dims);
        size_t esize = fc_dtype_size(t->dtype);
        if (esize == 0 || t->ndim < 0 || t->ndim > FCN_MAX_DIMS)
            return fc_fail(err, FC_EINTERNAL, "%s: node '%s' (%s): output %d has dtype %d and %d dims", s->m->name,
                           n->name, def->name, k, t->dtype, t->ndim);
        if (fc_numel(t->ndim, t->dims, &t->numel) || fc_mul_size(t->numel, esize, &t->nbytes))
            return fc_fail(err, FC_EINPUT, "%s: node '%s' (%s): output %d shape %s overflows", s->m->name, n->name,
                           def->name, k, dims);
        if (t->nbytes > fc_limits_current.max_tensor_bytes)
            return fc_fail(err, FC_EINPUT, "%s: node '%s' (%s): output %d shape %s is %zu bytes, over the limit of %llu",
                           s->m->name, n->name, def->name, k, dims, t->nbytes,
                           (unsigned long long)fc_limits_current.max_tensor_bytes);
    }
    return 0;
}

static int build_node(fcn_session *s, int i, fcn_tensor **io, fc_error *err)
{
    const fcn_model *m = s->m;
    const fcn_node_rec *r = &m->nodes[i];
    fcn_node *n = &s->nodes[i];
    const fcn_op_def *def = fcn_op_lookup((int)r->op);
    s->defs[i] = def;
    n->op = (int)r->op;
    n->index = i;
    n->name = m->node_names[i];
    if (s->prepack_ok) {
        fcn_prepacked *g = &n->given;
        g->data = fcn_model_prepacked(m, (uint32_t)i, &g->kind, &g->param, &g->bytes);
    }
    n->n_in = (int)r->n_in;
    n->n_out = (int)r->n_out;
    n->in = io;
    n->out = io + r->n_in;
    for (uint32_t k = 0; k < r->n_in; k++) {
        uint32_t id = m->ids[r->in_first + k];
        n->in[k] = id == FCN_NO_VALUE ? NULL : &s->tensors[id];
    }
    for (uint32_t k = 0; k < r->n_out; k++) {
        fcn_tensor *t = &s->tensors[m->ids[r->out_first + k]];
        t->dtype = FC_DT_INVALID;
        t->ndim = 0;
        t->data = NULL;
        t->is_const = 0;
        n->out[k] = t;
    }
    n->attrs = m->attrs + r->attr_first;
    n->n_attrs = (int)r->n_attr;
    n->slots = m->slots;
    n->kernel = "ref";
    n->nthreads = s->nthreads;
    n->weights_warm = s->weights_warm;
    if (parse_act(n, m->name, err)) return -1;
    if (def->infer(n, err) || check_outputs(s, n, def, err)) return fc_wrap(err, "%s", m->name);
    if (def->prepare && def->prepare(n, err)) return fc_wrap(err, "%s", m->name);
    /* the fast path (weight packing: most of the creation time) runs after every node is
     * built, in fast_prepare_all, possibly on several threads */
    return 0;
}

/* ---- fast paths ------------------------------------------------------------------------------ */

/* fcn_fast_prepare of node i needs only node i (its shapes, attributes and constant inputs, all
 * final once build_node has run) and writes only node i (fast, run_fast, kernel, scratch_bytes),
 * so the nodes can be prepared in any order, on any thread: the result is the same. With a pool
 * each thread takes the next unprepared node, largest weights first (ResNet-50: a few 2048×512
 * and Winograd layers make up most of the ~100 MB to pack); errors are reported for the first
 * failing node in graph order, as a serial loop would. */
typedef struct prep_ctx {
    fcn_session *s;
    const int *order;              /* node indices, biggest constant inputs first */
    int next;                      /* atomic: the next index into order */
    fc_error *errs;                /* one per node */
    int *rcs;
} prep_ctx;

static void prep_worker(void *vctx, int64_t begin, int64_t end, int tid)
{
    (void)begin;
    (void)end;
    (void)tid;
    prep_ctx *c = vctx;
    for (;;) {
        int k = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);
        if (k >= c->s->n_nodes) break;
        int i = c->order[k];
        c->rcs[i] = fcn_fast_prepare(&c->s->nodes[i], &c->errs[i]);
    }
}

static size_t node_const_bytes(const fcn_node *n)
{
    size_t b = 0;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] && n->in[k]->is_const) b += n->in[k]->nbytes;
    return b;
}

typedef struct prep_key { size_t bytes; int node; } prep_key;

/* a total order (ties by node index): the same order every time */
static int by_weight_desc(const void *a, const void *b)
{
    const prep_key *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return (x->node > y->node) - (x->node < y->node);
}

static int fast_prepare_all(fcn_session *s, fc_error *err)
{
    int nn = s->n_nodes;
    if (s->simd && s->pool && s->nthreads > 1 && nn > 1) {
        int *order = malloc(sizeof(int) * (size_t)nn);
        prep_key *keys = malloc(sizeof(prep_key) * (size_t)nn);
        int *rcs = calloc((size_t)nn, sizeof(int));
        fc_error *errs = calloc((size_t)nn, sizeof(fc_error));
        if (order && keys && rcs && errs) {
            for (int i = 0; i < nn; i++) keys[i] = (prep_key){ node_const_bytes(&s->nodes[i]), i };
            qsort(keys, (size_t)nn, sizeof *keys, by_weight_desc);
            for (int i = 0; i < nn; i++) order[i] = keys[i].node;
            free(keys);
            keys = NULL;
            prep_ctx c = { s, order, 0, errs, rcs };
            fcn_exec x = { s->pool, s->nthreads };
            fcn_parallel_for(&x, s->nthreads, prep_worker, &c);
            int rc = 0;
            for (int i = 0; i < nn && rc == 0; i++)
                if (rcs[i]) {
                    *err = errs[i];
                    rc = fc_wrap(err, "%s", s->m->name);
                }
            for (int i = 0; i < nn; i++)
                if (!s->nodes[i].kernel) s->nodes[i].kernel = "ref";
            free(order);
            free(rcs);
            free(errs);
            return rc;
        }
        free(order);
        free(keys);
        free(rcs);
        free(errs);   /* out of memory for the bookkeeping: prepare serially */
    }
    for (int i = 0; i < nn; i++) {
        fcn_node *n = &s->nodes[i];
        if (s->simd && fcn_fast_prepare(n, err)) return fc_wrap(err, "%s", s->m->name);
        if (!n->kernel) n->kernel = "ref";
    }
    return 0;
}

/* ---- plan -------------------------------------------------------------------------------------- */

/* Who makes and who reads each value, for the session's fusions: producer = the first node that
 * writes it (a fused Add re-lists its conv's output) or -1, uses = how many node inputs read it,
 * is_io = a graph input or output. */
typedef struct value_links { int *uses, *producer; char *is_io; } value_links;

static void links_free(value_links *l)
{
    free(l->uses);
    free(l->producer);
    free(l->is_io);
}

static int links_build(const fcn_session *s, value_links *l)
{
    const fcn_model *m = s->m;
    int nv = s->n_values;
    l->uses = calloc((size_t)nv + 1, sizeof(int));
    l->producer = malloc(sizeof(int) * ((size_t)nv + 1));
    l->is_io = calloc((size_t)nv + 1, 1);
    if (!l->uses || !l->producer || !l->is_io) {
        links_free(l);
        return -1;
    }
    for (int v = 0; v < nv; v++) l->producer[v] = -1;
    for (uint32_t k = 0; k < m->graph.n_inputs; k++) l->is_io[m->inputs[k]] = 1;
    for (uint32_t k = 0; k < m->graph.n_outputs; k++) l->is_io[m->outputs[k]] = 1;
    for (int i = 0; i < s->n_nodes; i++) {
        const fcn_node *n = &s->nodes[i];
        for (int k = 0; k < n->n_out; k++)
            if (l->producer[n->out[k] - s->tensors] < 0) l->producer[n->out[k] - s->tensors] = i;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k]) l->uses[n->in[k] - s->tensors]++;
    }
    return 0;
}

/* The node that makes t, when t is used by that one later node only and is neither a graph
 * input nor output (what every fusion below asks of the value it removes): its index, else -1. */
static int sole_producer(const fcn_session *s, const value_links *l, const fcn_tensor *t, int consumer)
{
    int v = (int)(t - s->tensors), a = l->producer[v];
    return a >= 0 && a < consumer && l->uses[v] == 1 && !l->is_io[v] ? a : -1;
}

/* Shortcuts first. A block with a projection shortcut reads its input X twice: the branch's
 * first conv, and the projection after the branch (PyTorch's order for ResNet and ResNeXt).
 * Where that first conv can write over its input (fcn_fast_conv_in_place) with as many bytes
 * out as in, and the projection needs nothing made from the conv on, the projection moves to
 * just before the conv, which then is X's last reader and writes over it (plan_conv_in_place):
 * X, the branch's first output and its second (ResNeXt-50's 3.2 + 3.2 + 0.8 MB in layer2) were
 * three live tensors; now X's buffer, the projection's output (no larger than X: a moved node
 * must not make more bytes than it frees) and the second. Decided on the file's order, each
 * node moved at most once and never a node that others move before; the values each node reads
 * are still made before it. FULLCONV_NO_IN_PLACE=1 keeps the file's order and plans no conv
 * over its input. */
static int in_place_off(void) { return fcn_env_flag("FULLCONV_NO_IN_PLACE"); }

static int schedule_shortcuts(fcn_session *s, fc_error *err)
{
    int nn = s->n_nodes, nv = s->n_values;
    for (int i = 0; i < nn; i++) s->slot[i] = i;
    if (!s->simd || in_place_off()) return 0;
    value_links l;
    int *hoist = malloc(sizeof(int) * ((size_t)nn + 1));      /* node moved before hoist[i], or -1 */
    char *target = calloc((size_t)nn + 1, 1);                   /* nodes others move before */
    int *rstart = calloc((size_t)nv + 2, sizeof(int)), *readers = NULL, *ord = NULL;
    fcn_node *nodes = NULL;
    const fcn_op_def **defs = NULL;
    int rc = -1;
    if (!hoist || !target || !rstart || links_build(s, &l)) {
        free(hoist); free(target); free(rstart);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory planning", s->m->name);
    }
    /* readers of each value, node order: rstart[v] .. rstart[v + 1] in readers */
    int64_t total = 0;
    for (int v = 0; v < nv; v++) total += l.uses[v];
    if (total >= INT_MAX) {   /* (no file within the limits has that many inputs: keep its order) */
        rc = 0;
        goto out;
    }
    if (!(readers = malloc(sizeof(int) * ((size_t)total + 1)))) goto out;
    for (int v = 0; v < nv; v++) rstart[v + 1] = rstart[v] + l.uses[v];
    {
        int *fill = malloc(sizeof(int) * ((size_t)nv + 1));
        if (!fill) goto out;
        memcpy(fill, rstart, sizeof(int) * (size_t)nv);
        for (int i = 0; i < nn; i++)
            for (int k = 0; k < s->nodes[i].n_in; k++)
                if (s->nodes[i].in[k]) readers[fill[s->nodes[i].in[k] - s->tensors]++] = i;
        free(fill);
    }
    int moves = 0;
    for (int i = 0; i < nn; i++) hoist[i] = -1;
    for (int r = 0; r < nn; r++) {
        const fcn_node *c = &s->nodes[r];
        if (c->op != FCN_OP_CONV || hoist[r] >= 0 || !fcn_fast_conv_in_place(c)) continue;
        int x = (int)(c->in[0] - s->tensors), y = (int)(c->out[0] - s->tensors);
        /* (as many bytes out as in: a conv with more may not be planned in place after all; a
         * value read many times — not a block's input — is not worth a scan per reader) */
        if (l.is_io[x] || l.is_io[y] || l.producer[x] < 0 || c->out[0]->nbytes != c->in[0]->nbytes ||
            l.uses[x] > 8)
            continue;
        size_t made = 0;
        int ok = 1, later = 0;
        for (int j = rstart[x]; j < rstart[x + 1] && ok; j++) {
            int d = readers[j];
            if (d <= r || (j > rstart[x] && readers[j - 1] == d)) continue;   /* (a node reading x twice) */
            const fcn_node *dn = &s->nodes[d];
            later++;
            ok = hoist[d] < 0 && !target[d];
            for (int k = 0; k < dn->n_in && ok; k++)   /* what it reads is made before the conv */
                ok = !dn->in[k] || dn->in[k]->is_const || l.producer[dn->in[k] - s->tensors] < r;
            for (int k = 0; k < dn->n_out && ok; k++) {
                ok = !l.is_io[dn->out[k] - s->tensors];
                made += dn->out[k]->nbytes;
            }
        }
        if (!ok || later == 0 || made > c->in[0]->nbytes) continue;
        for (int j = rstart[x]; j < rstart[x + 1]; j++)
            if (readers[j] > r) hoist[readers[j]] = r;
        target[r] = 1;
        moves++;
    }
    if (moves == 0) {
        rc = 0;
        goto out;
    }
    /* the new order: each target preceded by the nodes moved before it, in their order (a list
     * per target: head[r], then next[d]) */
    ord = malloc(sizeof(int) * ((size_t)nn + 1));
    nodes = malloc(sizeof(fcn_node) * ((size_t)nn + 1));
    defs = malloc(sizeof(*defs) * ((size_t)nn + 1));
    int *lists = malloc(sizeof(int) * 2 * ((size_t)nn + 1));
    if (!ord || !nodes || !defs || !lists) {
        free(lists);
        goto out;
    }
    int *head = lists, *next = lists + nn + 1;
    for (int i = 0; i < nn; i++) head[i] = -1;
    for (int d = nn - 1; d >= 0; d--)
        if (hoist[d] >= 0) {
            next[d] = head[hoist[d]];
            head[hoist[d]] = d;
        }
    int k = 0;
    for (int i = 0; i < nn; i++) {
        if (hoist[i] >= 0) continue;
        for (int d = head[i]; d >= 0; d = next[d]) ord[k++] = d;
        ord[k++] = i;
    }
    free(lists);
    for (int p = 0; p < nn; p++) {
        nodes[p] = s->nodes[ord[p]];
        defs[p] = s->defs[ord[p]];
        s->slot[ord[p]] = p;
    }
    memcpy(s->nodes, nodes, sizeof(fcn_node) * (size_t)nn);
    memcpy(s->defs, defs, sizeof(*defs) * (size_t)nn);
    rc = 0;
out:
    if (rc) fc_fail(err, FC_ENOMEM, "%s: out of memory planning", s->m->name);
    links_free(&l);
    free(hoist); free(target); free(rstart); free(readers); free(ord); free(nodes); free(defs);
    return rc;
}

/* Residual fusion: Add(conv(x), r) (same shapes, either order) where the conv's output feeds
 * only this Add and r is ready before the conv runs becomes one conv that writes the Add's
 * output, adding r and applying the Add's activation in its epilogue while the tile is in
 * registers; the Add turns into a no-op. ResNet blocks without a downsample, MobileNetV2's
 * inverted residuals: one pass over the activations (and one thread barrier) less each. */
static void fused_noop(fcn_node *n, const fcn_exec *x) { (void)n; (void)x; }

static void fuse_residual_adds(fcn_session *s)
{
    int nn = s->n_nodes;
    value_links l;
    if (links_build(s, &l)) return;   /* out of memory: no fusion, the plain Add still works */
    s->fused_res = malloc(sizeof(int) * 2 * ((size_t)nn + 1));
    if (!s->fused_res) {
        links_free(&l);
        return;
    }
    for (int i = 0; i < 2 * nn; i++) s->fused_res[i] = -1;
    for (int b = 0; b < nn; b++) {
        fcn_node *add = &s->nodes[b];
        if (add->op != FCN_OP_ADD || add->n_in != 2 || add->n_out != 1 || !add->in[0] || !add->in[1]) continue;
        const fcn_tensor *y = add->out[0];
        if (y->dtype != FC_DT_F32 || add->in[0]->numel != y->numel || add->in[1]->numel != y->numel ||
            add->in[0]->ndim != y->ndim || add->in[1]->ndim != y->ndim ||
            memcmp(add->in[0]->dims, y->dims, sizeof(int64_t) * (size_t)y->ndim) ||
            memcmp(add->in[1]->dims, y->dims, sizeof(int64_t) * (size_t)y->ndim))
            continue;
        for (int i = 0; i < 2; i++) {
            const fcn_tensor *t = add->in[i], *r = add->in[1 - i];
            int a = sole_producer(s, &l, t, b), pr = l.producer[r - s->tensors];
            if (t->is_const || a < 0) continue;
            fcn_node *conv = &s->nodes[a];
            /* r must be complete when the conv runs: made earlier, or an input or constant */
            if (conv->op != FCN_OP_CONV || conv->n_out != 1 || pr >= a) continue;
            if (!fcn_fast_conv_fuse_residual(conv, r, add->act, add->act_alpha, add->act_beta)) continue;
            conv->out[0] = add->out[0];
            s->fused_res[2 * a] = (int)(r - s->tensors);
            s->fused_res[2 * a + 1] = b;
            add->run_fast = fused_noop;
            add->kernel = "fused";
            break;
        }
    }
    links_free(&l);
}

/* The links for an optional fusion: -1 when its switch (an environment variable) turns it off
 * or memory runs out (the unfused nodes still work), else 0. */
static int fusion_links(const fcn_session *s, const char *off_env, value_links *l)
{
    const char *off = getenv(off_env);
    if (off && *off && *off != '0') return -1;
    return links_build(s, l);
}

/* MaxPool fusion: conv (stem path) -> MaxPool (fast path), the conv's output read by the pool
 * alone and not a graph output, becomes one conv that computes the pooled map from a ring of
 * its own rows (fcn_stem_pool_rows); the pool turns into a no-op and the conv's full-size map
 * (ResNet's 112×112×64, 3.2 MB) is neither stored, read back, nor planned. */
static void fuse_stem_pools(fcn_session *s)
{
    value_links l;
    if (fusion_links(s, "FULLCONV_NO_POOL_FUSION", &l)) return;
    for (int b = 0; b < s->n_nodes; b++) {
        fcn_node *pool = &s->nodes[b];
        if (pool->op != FCN_OP_MAXPOOL || pool->n_in != 1 || pool->n_out != 1 || !pool->in[0]) continue;
        int a = sole_producer(s, &l, pool->in[0], b);
        if (a < 0) continue;
        fcn_node *conv = &s->nodes[a];
        if (conv->op != FCN_OP_CONV || conv->n_out != 1 || !fcn_fast_conv_fuse_maxpool(conv, pool)) continue;
        conv->out[0] = pool->out[0];
        pool->run_fast = fused_noop;
        pool->kernel = "fused";
    }
    links_free(&l);
}

/* A conv's sole producer of op `op` folded into it by `fuse` (the conv then reads the producer's
 * input; the producer does nothing). Off with `off_env`. */
static void fuse_producers(fcn_session *s, const char *off_env, int op, int (*fuse)(fcn_node *, const fcn_node *))
{
    value_links l;
    if (fusion_links(s, off_env, &l)) return;
    for (int c = 0; c < s->n_nodes; c++) {
        fcn_node *conv = &s->nodes[c];
        if (conv->op != FCN_OP_CONV || conv->n_in < 2 || !conv->in[0]) continue;
        int b = sole_producer(s, &l, conv->in[0], c);
        if (b < 0) continue;
        fcn_node *p = &s->nodes[b];
        if (p->op != op || p->n_out != 1 || !fuse(conv, p)) continue;
        conv->in[0] = p->in[0];
        p->run_fast = fused_noop;
        p->kernel = "fused";
    }
    links_free(&l);
}

/* BatchNormalization into the 1×1 conv after it: BN (+ ReLU or a clip) -> 1×1 stride-1 conv on
 * the GEMM path, the BN's output read by the conv alone and not a graph output. The conv reads
 * the BN's input and applies the BN while it packs B (fcn_pack_b_affine): DenseNet's pre-
 * activation layers (BN, ReLU, 1×1 conv: 58 of them plus the 3 transitions) no longer write
 * and read back a normalized copy of the growing block buffer. The BN turns into a no-op; the
 * arithmetic is the BN kernel's, so the results do not change. */
static void fuse_pre_bns(fcn_session *s)
{
    fuse_producers(s, "FULLCONV_NO_BN_FUSION", FCN_OP_BATCHNORM, fcn_fast_conv_fuse_pre_bn);
}

/* A 1×1 expansion into the stride-2 depthwise conv after it: Conv 1×1 -> depthwise Conv, the
 * 1×1's output read by the depthwise conv alone and not a graph output, too large for L2
 * (MobileNetV2's, MnasNet's and EfficientNet's first stride-2 blocks at 112×112). The depthwise
 * conv computes the expansion band by band itself (fcn_fast_conv_fuse_expand) from the 1×1's
 * input; the 1×1 turns into a no-op and its output is neither stored nor planned. */
static void fuse_expand_dws(fcn_session *s)
{
    fuse_producers(s, "FULLCONV_NO_EXPAND_FUSION", FCN_OP_CONV, fcn_fast_conv_fuse_expand);
}

/* A depthwise conv into the 1×1 conv after it: depthwise Conv -> Conv 1×1, the depthwise
 * output read by the 1×1 alone and not a graph output, too large for L2 (MnasNet's and
 * MobileNetV2's first block at 112×112, MobileNetV2's 56×56 ones). The 1×1 computes the
 * depthwise conv band by band itself (fcn_fast_conv_fuse_dw) from its input; the depthwise conv
 * turns into a no-op and its output is neither stored nor planned. After the expansion fusion:
 * a depthwise conv that took its expansion stays as it is. */
static void fuse_dw_pointwise(fcn_session *s)
{
    fuse_producers(s, "FULLCONV_NO_DW_FUSION", FCN_OP_CONV, fcn_fast_conv_fuse_dw);
}

/* Concats as views. A Concat over the outermost non-unit axis (outer size 1: every input is one
 * contiguous run of the output) is a family root when no other such Concat's inputs extend its
 * own as a prefix; its family is every such Concat whose inputs are a prefix of the root's.
 * When the root's inputs are distinct values made by earlier nodes (not graph inputs or
 * outputs, not views already), each becomes a view into its slice of the root's output, every
 * family member's output a view of the root's leading bytes, and the Concats do nothing: the
 * producers write the concatenation in place. SqueezeNet's Fire modules are families of one
 * (their copies were 4 % of the model); DenseNet's blocks, where layer i concatenates the block
 * input and the i−1 outputs before it, are families of one root per block (62 Concats copying
 * the growing feature map: 2 ms). alias[v] = the buffer value and byte offset of a view v, or
 * -1; concat_alias[v] marks views and the buffers they are in. */
static void concat_noop(fcn_node *n, const fcn_exec *x) { (void)n; (void)x; }

/* the Concat's inputs are one contiguous run each of its output; 0 if not */
static int concat_flat(const fcn_session *s, const fcn_node *n)
{
    if (n->op != FCN_OP_CONCAT || n->n_out != 1 || n->n_in < 1) return 0;
    const fcn_tensor *o = n->out[0];
    int64_t axis = fcn_attr_int(n, FCN_ATTR_AXIS, 0);
    if (axis < 0) axis += o->ndim;
    if (axis < 0 || axis >= o->ndim) return 0;
    int64_t outer = 1;
    for (int d = 0; d < axis; d++) outer *= o->dims[d];
    if (outer != 1) return 0;
    size_t total = 0;
    for (int k = 0; k < n->n_in; k++) {
        if (!n->in[k] || n->in[k]->is_const || n->in[k]->dtype != o->dtype) return 0;
        total += n->in[k]->nbytes;
    }
    (void)s;
    return total == o->nbytes;
}

static int inputs_prefix(const fcn_node *p, const fcn_node *r)   /* p's inputs start r's */
{
    if (p->n_in > r->n_in) return 0;
    for (int k = 0; k < p->n_in; k++)
        if (p->in[k] != r->in[k]) return 0;
    return 1;
}

typedef struct concat_entry { int first_in, n_in, node, start; } concat_entry;   /* start: a root's first entry */

/* by first input, longest first, then node order: a family is a run with one first input */
static int by_family(const void *a, const void *b)
{
    const concat_entry *x = a, *y = b;
    if (x->first_in != y->first_in) return x->first_in < y->first_in ? -1 : 1;
    if (x->n_in != y->n_in) return x->n_in > y->n_in ? -1 : 1;
    return (x->node > y->node) - (x->node < y->node);
}

static int by_root_node(const void *a, const void *b)
{
    const concat_entry *x = a, *y = b;
    return (x->node > y->node) - (x->node < y->node);
}

static void plan_concat_views(fcn_session *s, int *alias_of, size_t *alias_off, char *concat_alias)
{
    int nn = s->n_nodes, nc = 0, nr = 0;
    value_links l;
    if (links_build(s, &l)) return;   /* out of memory: no views, plain copies still work */
    const int *producer = l.producer;
    const char *is_io = l.is_io;
    concat_entry *e = malloc(sizeof *e * ((size_t)nn + 1)), *roots = malloc(sizeof *roots * ((size_t)nn + 1));
    if (!e || !roots) {
        free(e);
        free(roots);
        links_free(&l);
        return;
    }
    /* Families in O(n log n), whatever the file holds: every member of a family shares the
     * root's first input, and the root is the longest Concat of that first input (a shorter one
     * that is not its prefix stays a copy: its inputs would be views twice). */
    for (int i = 0; i < nn; i++)
        if (concat_flat(s, &s->nodes[i]))
            e[nc++] = (concat_entry){ (int)(s->nodes[i].in[0] - s->tensors), s->nodes[i].n_in, i, 0 };
    qsort(e, (size_t)nc, sizeof *e, by_family);
    for (int i = 0; i < nc; i++)
        if (i == 0 || e[i].first_in != e[i - 1].first_in) roots[nr++] = (concat_entry){ e[i].first_in, e[i].n_in, e[i].node, i };
    qsort(roots, (size_t)nr, sizeof *roots, by_root_node);   /* roots in node order, as they run */
    for (int g = 0; g < nr; g++) {
        int r = roots[g].node, g0 = roots[g].start;
        fcn_node *root = &s->nodes[r];
        int ov = (int)(root->out[0] - s->tensors);
        int ok = alias_of[ov] < 0 && !concat_alias[ov];   /* the root's output may be a graph output */
        for (int k = 0; k < root->n_in && ok; k++) {
            const fcn_tensor *t = root->in[k];
            int v = (int)(t - s->tensors), p = producer[v];
            /* (a value listed twice finds its own mark from the first time: refused) */
            ok = p >= 0 && p < r && !is_io[v] && alias_of[v] < 0 && !concat_alias[v] &&
                 s->nodes[p].run_fast != concat_noop;
            concat_alias[v] |= 2;
        }
        for (int k = 0; k < root->n_in; k++) concat_alias[root->in[k] - s->tensors] &= 1;   /* marks off */
        /* the family's other members: outputs not graph outputs, not views */
        for (int j = g0 + 1; j < nc && e[j].first_in == e[g0].first_in && ok; j++) {
            const fcn_node *m = &s->nodes[e[j].node];
            if (!inputs_prefix(m, root)) continue;
            int v = (int)(m->out[0] - s->tensors);
            ok = !is_io[v] && alias_of[v] < 0 && !concat_alias[v] && m->out[0]->dtype == root->out[0]->dtype;
        }
        if (!ok) continue;
        size_t off = 0;
        for (int k = 0; k < root->n_in; k++) {
            int v = (int)(root->in[k] - s->tensors);
            alias_of[v] = ov;
            alias_off[v] = off;
            concat_alias[v] = 1;
            off += root->in[k]->nbytes;
        }
        concat_alias[ov] = 1;
        for (int j = g0; j < nc && e[j].first_in == e[g0].first_in; j++) {
            fcn_node *m = &s->nodes[e[j].node];
            if (j != g0) {
                if (!inputs_prefix(m, root)) continue;
                int v = (int)(m->out[0] - s->tensors);
                alias_of[v] = ov;
                alias_off[v] = 0;
                concat_alias[v] = 1;
            }
            m->run_fast = concat_noop;
            m->kernel = "view";
        }
    }
    free(e);
    free(roots);
    links_free(&l);
}

/* Reshape-like nodes as views: Reshape, Flatten, Squeeze, Unsqueeze and Identity move no
 * bytes, so their output becomes an alias of their input's buffer (its root, through earlier
 * views) and the node does nothing — when the input is made by an earlier node, neither side is
 * a graph input or output, and the output is not a Concat view already. The input and its root
 * are marked in concat_alias so no residual is written in place over bytes a view still reads;
 * the plan extends the root's life to the view's last reader. ShuffleNetV2's 32 Reshapes around
 * its channel shuffles copied 0.15–0.25 ms; every classifier's Flatten copied its features.
 * Likewise a Slice (or Transpose, Expand) whose output is one contiguous run of its input — a
 * channel Slice of a batch-1 map, ShuffleNetV2's split of each block's input — becomes a view
 * at the run's offset. */
/* Makes y a view of v's bytes: of the buffer v is in (through v's own views) at v's offset.
 * Returns that buffer's value. */
static int alias_to_root(int *alias_of, size_t *alias_off, int y, int v)
{
    size_t off = 0;
    while (alias_of[v] >= 0) {
        off += alias_off[v];
        v = alias_of[v];
    }
    alias_of[y] = v;
    alias_off[y] = off;
    return v;
}

static int reshape_like(int op)
{
    return op == FCN_OP_RESHAPE || op == FCN_OP_FLATTEN || op == FCN_OP_SQUEEZE || op == FCN_OP_UNSQUEEZE ||
           op == FCN_OP_IDENTITY;
}

static void plan_reshape_views(fcn_session *s, int *alias_of, size_t *alias_off, char *concat_alias)
{
    value_links l;
    if (links_build(s, &l)) return;   /* out of memory: no views, plain copies still work */
    for (int i = 0; i < s->n_nodes; i++) {
        fcn_node *n = &s->nodes[i];
        size_t off = 0;
        int run = !reshape_like(n->op) && fcn_strided_is_view(n, &off);
        if ((!reshape_like(n->op) && !run) || n->n_out != 1 || n->n_in < 1 || !n->in[0] || n->in[0]->is_const)
            continue;
        int x = (int)(n->in[0] - s->tensors), y = (int)(n->out[0] - s->tensors);
        if (x == y || l.is_io[x] || l.is_io[y] || l.producer[x] < 0 || l.producer[x] >= i || l.producer[y] != i ||
            alias_of[y] >= 0 || concat_alias[y] || (!run && n->in[0]->nbytes != n->out[0]->nbytes))
            continue;
        int root = alias_to_root(alias_of, alias_off, y, x);
        alias_off[y] += off;
        concat_alias[y] = 1;
        concat_alias[x] |= 1;
        concat_alias[root] |= 1;
        n->run_fast = concat_noop;
        n->kernel = "view";
    }
    links_free(&l);
}

/* In-place convs: a conv that can (fcn_fast_conv_in_place) and is the last reader of its input
 * writes its output over it — the GEMM of a 1×1 packs every input row at its columns before it
 * writes them (fcn_gemm.over_b), a grouped Winograd conv transforms a group's whole map first.
 * The input must be a buffer of its own (not a graph input or output, not a view or holding
 * one), the output too; the buffer is made as large as the larger of the two (extent). After
 * schedule_shortcuts: the first 1×1 of ResNeXt-50's and RegNet's projection blocks (RegNet-Y's
 * 32 → 48 channels at 112×112 too), ResNeXt's grouped 3×3 layers at 56×56. */
static void plan_conv_in_place(fcn_session *s, const int *first, const int *last, int *alias_of, size_t *alias_off,
                               const char *concat_alias, size_t *extent)
{
    if (in_place_off()) return;
    int nn = s->n_nodes;
    value_links l;
    /* bytes alive at each step as planned so far (views counted again: an overestimate) */
    size_t *live = calloc((size_t)nn + 2, sizeof(size_t));
    if (!live || links_build(s, &l)) {   /* out of memory: no in-place convs, nothing else changes */
        free(live);
        return;
    }
    for (int v = 0; v < s->n_values; v++)
        if (first[v] >= 0 && !s->tensors[v].is_const) {
            live[first[v]] += extent[v];
            live[last[v] + 1] -= extent[v];
        }
    for (int i = 1; i <= nn; i++) live[i] += live[i - 1];
    /* As many bytes out as in first: the output takes the input's buffer, one buffer less at
     * the conv's step. Then more bytes out (more channels on one image): the input's buffer
     * grows over its whole life, so only at a step where the most bytes are alive and when the
     * steps before stay below it (RegNet-Y's first block: the stem's 1.6 MB output grows to
     * the 2.4 MB of the 32 → 48 1×1 over two steps; not ResNet-50's 64-channel map that the
     * 256-channel projection reads at the end of its block). */
    for (int pass = 0; pass < 2; pass++) {
        size_t peak = 0;
        for (int i = 0; i < nn; i++)
            if (live[i] > peak) peak = live[i];
        for (int a = 0; a < nn; a++) {
            const fcn_node *c = &s->nodes[a];
            /* (a conv with a fused residual writes over the residual instead: plan_residual_in_place,
             * which leaves its GEMM free to split its rows over the threads) */
            if (c->op != FCN_OP_CONV || c->n_out != 1 || !c->in[0] || !fcn_fast_conv_in_place(c) ||
                (s->fused_res && s->fused_res[2 * a] >= 0))
                continue;
            int x = (int)(c->in[0] - s->tensors), y = (int)(c->out[0] - s->tensors);
            if (x == y || l.is_io[x] || l.is_io[y] || c->in[0]->is_const || first[x] < 0 || last[x] != a ||
                first[y] != a || alias_of[y] >= 0 || concat_alias[x] || concat_alias[y])
                continue;
            /* x may be an in-place conv's output itself (views are marked in concat_alias): its
             * buffer holds x alone by now, every earlier value in it read for the last time */
            int rx = x;
            while (alias_of[rx] >= 0) rx = alias_of[rx];
            size_t xb = extent[rx], yb = c->out[0]->nbytes, grow = yb > xb ? yb - xb : 0;
            /* (fewer bytes out: the input's buffer would outlive it at its size) */
            if (yb < c->in[0]->nbytes || (grow > 0) != (pass == 1)) continue;
            if (grow) {
                int ok = live[a] >= peak;
                for (int i = first[rx]; i < a && ok; i++) ok = live[i] + grow < live[a];
                if (!ok) continue;
                for (int i = first[rx]; i < a; i++) live[i] += grow;
                extent[rx] = yb;
            }
            live[a] -= c->in[0]->nbytes;
            alias_of[y] = rx;
            alias_off[y] = 0;
        }
    }
    free(live);
    links_free(&l);
}

/* In-place residuals: a conv with a fused residual Add writes its output over the residual's
 * buffer when nothing reads the residual once the conv starts (the Add was its last use) — the
 * epilogue reads each residual element right before writing the same element, and a GEMM whose
 * C already holds it accumulates onto it. The block's input, its branch and its output were
 * three live tensors; now two. Chains (ResNet's identity blocks) share one buffer. */
static void plan_residual_in_place(fcn_session *s, const int *first, int *last, int *alias_of, size_t *alias_off,
                                   const char *concat_alias)
{
    int nn = s->n_nodes;
    if (!s->fused_res) return;
    value_links l;
    if (links_build(s, &l)) return;
    /* per value, its two last readers (distinct nodes): "no reader from the conv on but the Add"
     * in one pass over the graph, not one per fused conv */
    int *r1 = malloc(sizeof(int) * ((size_t)s->n_values + 1)), *r2 = malloc(sizeof(int) * ((size_t)s->n_values + 1));
    if (!r1 || !r2) {
        free(r1);
        free(r2);
        links_free(&l);
        return;
    }
    for (int v = 0; v < s->n_values; v++) r1[v] = r2[v] = -1;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < s->nodes[i].n_in; k++) {
            if (!s->nodes[i].in[k]) continue;
            int v = (int)(s->nodes[i].in[k] - s->tensors);
            if (r1[v] == i) continue;
            r2[v] = r1[v];
            r1[v] = i;
        }
    for (int a = 0; a < nn; a++) {
        int rv = s->fused_res[2 * a], b = s->fused_res[2 * a + 1];
        if (rv < 0) continue;
        const fcn_node *conv = &s->nodes[a];
        int y = (int)(conv->out[0] - s->tensors);
        const fcn_tensor *r = &s->tensors[rv];
        /* a Concat view or a buffer holding views: others' bytes would be overwritten */
        if (l.is_io[rv] || r->is_const || alias_of[y] >= 0 || first[y] != a || r->nbytes != conv->out[0]->nbytes ||
            first[rv] == -2 || concat_alias[rv] || concat_alias[y])
            continue;
        int ok = 1;
        for (int k = 0; k < conv->n_in && ok; k++) ok = conv->in[k] != r;
        /* no reader of r from the conv on, but the Add */
        int other = r1[rv] == b ? r2[rv] : r1[rv];
        if (!ok || other >= a) continue;
        int root = alias_to_root(alias_of, alias_off, y, rv);
        if (last[root] < last[y]) last[root] = last[y];
    }
    free(r1);
    free(r2);
    links_free(&l);
}

/* Kernel scratch within the bound: the tensors (items[0, n_tensors)) are placed alone, then
 * each node whose scratch is larger than the largest gap they leave at its step, below the
 * graph's two-largest bound, is asked to fit its scratch in that gap (Winograd: smaller
 * blocks of tile rows; a VGG-11 layer at 112×112 held 25 MB of whole-map V and M). The
 * scratch items get their new sizes (the caller places all items again: the tensors' offsets
 * here are from placing them alone); 0, or -1 on out of memory. */
static int fit_scratch(fcn_session *s, fcn_plan_item *items, int n_tensors, int n_items)
{
    size_t tensors_arena;
    if (fcn_plan_place(items, n_tensors, &tensors_arena)) return -1;
    size_t limit = tensors_arena > s->two_largest ? tensors_arena : s->two_largest;
    for (int k = n_tensors; k < n_items; k++) {
        size_t gap = fcn_plan_largest_gap(items, n_tensors, items[k].first, items[k].last, limit);
        if (items[k].size <= gap) continue;
        size_t after = ALIGN64(fcn_fast_conv_fit_scratch(&s->nodes[items[k].id - s->n_values], gap));
        if (after < items[k].size) items[k].size = after;
    }
    return 0;
}

/* The bound the plan is measured against, from the model's graph alone, before the session's
 * fusions (a fused MaxPool removes the stem's map, the largest tensor of a ResNet or a VGG: the
 * yardstick stays the model's): at each step, the two largest tensors alive then (inputs until
 * their last reader; no views, no in-place, no scratch). A chain of layers needs exactly that
 * much. */
static int graph_bound(fcn_session *s, fc_error *err)
{
    const fcn_model *m = s->m;
    int nv = s->n_values, nn = s->n_nodes, n_items = 0;
    int *first = malloc(sizeof(int) * ((size_t)nv + 1)), *last = malloc(sizeof(int) * ((size_t)nv + 1));
    fcn_plan_item *items = malloc(sizeof(fcn_plan_item) * ((size_t)nv + 1));
    if (!first || !last || !items) {
        free(first); free(last); free(items);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory planning", m->name);
    }
    for (int v = 0; v < nv; v++) first[v] = last[v] = -2;
    for (uint32_t k = 0; k < m->graph.n_inputs; k++) first[m->inputs[k]] = last[m->inputs[k]] = -1;
    for (int i = 0; i < nn; i++) {
        const fcn_node *n = &s->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            int v = (int)(n->out[k] - s->tensors);
            if (first[v] == -2) first[v] = last[v] = i;
        }
        for (int k = 0; k < n->n_in; k++) {
            if (!n->in[k] || n->in[k]->is_const) continue;
            int v = (int)(n->in[k] - s->tensors);
            if (last[v] < i) last[v] = i;
        }
    }
    for (uint32_t k = 0; k < m->graph.n_outputs; k++) last[m->outputs[k]] = nn - 1;
    for (int v = 0; v < nv; v++) {
        if (first[v] == -2 || s->tensors[v].is_const) continue;
        items[n_items++] = (fcn_plan_item){ v, first[v], last[v], ALIGN64(s->tensors[v].nbytes ? s->tensors[v].nbytes : 1), 0, 0 };
    }
    fcn_plan_stats(items, n_items, -1, nn - 1, NULL, &s->two_largest);
    free(first); free(last); free(items);
    return 0;
}

static int plan_memory(fcn_session *s, fc_error *err)
{
    const fcn_model *m = s->m;
    int nv = s->n_values, nn = s->n_nodes;
    int *first = malloc(sizeof(int) * ((size_t)nv + 1));
    int *last = malloc(sizeof(int) * ((size_t)nv + 1));
    int *alias_of = malloc(sizeof(int) * ((size_t)nv + 1));
    size_t *alias_off = malloc(sizeof(size_t) * ((size_t)nv + 1));
    char *concat_alias = calloc((size_t)nv + 1, 1);
    size_t *extent = malloc(sizeof(size_t) * ((size_t)nv + 1));   /* bytes of each value's buffer */
    fcn_plan_item *items = malloc(sizeof(fcn_plan_item) * ((size_t)nv + (size_t)nn + 1));
    int rc = -1;
    if (!first || !last || !items || !alias_of || !alias_off || !concat_alias || !extent) {
        fc_fail(err, FC_ENOMEM, "%s: out of memory planning", m->name);
        goto out;
    }
    for (int v = 0; v < nv; v++) alias_of[v] = -1;
    plan_concat_views(s, alias_of, alias_off, concat_alias);
    plan_reshape_views(s, alias_of, alias_off, concat_alias);
    for (int v = 0; v < nv; v++) first[v] = last[v] = -2;   /* -2: no buffer */
    for (uint32_t k = 0; k < m->graph.n_inputs; k++) first[m->inputs[k]] = last[m->inputs[k]] = -1;
    for (int i = 0; i < nn; i++) {
        const fcn_node *n = &s->nodes[i];
        /* a producer fused into its consumer writes nothing: its output (read by no one now:
         * the consumer reads the producer's input) gets no buffer. MnasNet's first depthwise
         * output (1.6 MB) and its first expansion's (2.4 MB) were planned and never written. */
        for (int k = 0; k < n->n_out && n->run_fast != fused_noop; k++) {
            int v = (int)(n->out[k] - s->tensors);
            if (first[v] != -2) continue;   /* a fused Add re-lists its conv's output: the conv wrote it first */
            first[v] = i;
            last[v] = i;
        }
        for (int k = 0; k < n->n_in; k++) {
            if (!n->in[k] || n->in[k]->is_const) continue;
            int v = (int)(n->in[k] - s->tensors);
            if (last[v] < i) last[v] = i;
        }
    }
    for (uint32_t k = 0; k < m->graph.n_outputs; k++) last[m->outputs[k]] = nn - 1;

    int n_items = 0;

    /* Graph inputs get buffers of their own: set once, they stay valid for every run. */
    s->input_bytes = 0;
    for (uint32_t k = 0; k < m->graph.n_inputs; k++) {
        int v = (int)m->inputs[k];
        if (first[v] != -1) continue;   /* listed twice */
        first[v] = last[v] = -3;
        s->input_bytes += ALIGN64(s->tensors[v].nbytes ? s->tensors[v].nbytes : 1);
    }
    s->input_block = aligned_alloc(64, s->input_bytes ? s->input_bytes : 64);
    if (!s->input_block) {
        fc_fail(err, FC_ENOMEM, "%s: out of memory for the inputs", m->name);
        goto out;
    }
    memset(s->input_block, 0, s->input_bytes ? s->input_bytes : 64);
    size_t in_off = 0;
    for (uint32_t k = 0; k < m->graph.n_inputs; k++) {
        int v = (int)m->inputs[k];
        if (first[v] != -3) continue;
        first[v] = last[v] = -2;
        s->tensors[v].data = (uint8_t *)s->input_block + in_off;
        in_off += ALIGN64(s->tensors[v].nbytes ? s->tensors[v].nbytes : 1);
    }

    for (int v = 0; v < nv; v++) extent[v] = s->tensors[v].nbytes;
    plan_conv_in_place(s, first, last, alias_of, alias_off, concat_alias, extent);
    plan_residual_in_place(s, first, last, alias_of, alias_off, concat_alias);
    /* An in-place conv's input may since have been planned over a residual itself (ResNeXt's
     * layer2 reads layer1's output, which is the buffer of layer1's in-place residuals): every
     * value to the buffer at the end of its chain, that buffer as large as any of them needs. */
    for (int v = 0; v < nv; v++) {
        if (alias_of[v] < 0) continue;
        size_t own = alias_off[v];
        int root = alias_to_root(alias_of, alias_off, v, alias_of[v]);
        alias_off[v] += own;
        if (alias_off[v] + extent[v] > extent[root]) extent[root] = alias_off[v] + extent[v];
    }
    /* a view's writes start the life of the buffer it is a slice of, its last read ends it */
    for (int v = 0; v < nv; v++) {
        if (alias_of[v] < 0 || first[v] == -2) continue;
        if (first[v] < first[alias_of[v]]) first[alias_of[v]] = first[v];
        if (last[v] > last[alias_of[v]]) last[alias_of[v]] = last[v];
    }

    n_items = 0;
    for (int v = 0; v < nv; v++) {
        if (first[v] == -2 || s->tensors[v].is_const || alias_of[v] >= 0) continue;
        items[n_items++] = (fcn_plan_item){ v, first[v], last[v], ALIGN64(extent[v] ? extent[v] : 1), 0, 0 };
    }
    int n_tensors = n_items;
    for (int i = 0; i < nn; i++) {
        if (s->nodes[i].scratch_bytes == 0 || s->nodes[i].run_fast == fused_noop) continue;
        items[n_items++] = (fcn_plan_item){ nv + i, i, i, ALIGN64(s->nodes[i].scratch_bytes), 0, 1 };
    }
    if (fcn_plan_place(items, n_items, &s->arena_bytes) ||
        (s->arena_bytes > s->two_largest &&
         (fit_scratch(s, items, n_tensors, n_items) < 0 || fcn_plan_place(items, n_items, &s->arena_bytes)))) {
        fc_fail(err, FC_ENOMEM, "%s: out of memory planning", m->name);
        goto out;
    }
    fcn_plan_stats(items, n_items, -1, nn - 1, &s->peak_live, NULL);
    /* A few-KB model can declare shapes needing terabytes: refuse before allocating. */
    if (s->arena_bytes > fc_limits_current.max_arena_bytes) {
        fc_fail(err, FC_EINPUT, "%s: the activations need a %zu-byte arena at these shapes, over the limit of %llu "
                "(FULLCONV_LIMITS=max_arena_bytes=N for trusted models)", m->name, s->arena_bytes,
                (unsigned long long)fc_limits_current.max_arena_bytes);
        goto out;
    }
    /* calloc, not aligned_alloc + memset: a large block comes straight from mmap already
     * zeroed, so creation does not fault in and clear every page of the arena (tens of MB
     * for a ResNet) only for the first run to write it again. Aligned by hand. */
    s->arena_block = calloc(1, (s->arena_bytes ? s->arena_bytes : 64) + 64);
    if (!s->arena_block) {
        fc_fail(err, FC_ENOMEM, "%s: out of memory for the %zu-byte activation arena", m->name, s->arena_bytes);
        goto out;
    }
    s->arena = (uint8_t *)(((uintptr_t)s->arena_block + 63) & ~(uintptr_t)63);
    for (int k = 0; k < n_items; k++) {
        void *p = s->arena + items[k].offset;
        if (items[k].id < nv) s->tensors[items[k].id].data = p;
        else s->nodes[items[k].id - nv].scratch = p;
    }
    for (int v = 0; v < nv; v++)
        if (alias_of[v] >= 0) s->tensors[v].data = (uint8_t *)s->tensors[alias_of[v]].data + alias_off[v];
    rc = 0;
out:
    free(first);
    free(last);
    free(alias_of);
    free(alias_off);
    free(concat_alias);
    free(extent);
    free(items);
    return rc;
}

/* ---- create / destroy -------------------------------------------------------------------------- */

int fcn_session_create(const fcn_model *m, const fcn_session_options *opt, fcn_session **out, fc_error *err)
{
    *out = NULL;
    fcn_session *s = calloc(1, sizeof *s);
    if (!s) return fc_fail(err, FC_ENOMEM, "%s: out of memory", m->name);
    s->m = m;
    s->n_values = (int)m->n_tensors;
    s->n_nodes = (int)m->graph.n_nodes;
    s->nthreads = session_threads(opt);
    s->profile = opt ? opt->profile : 0;
    s->simd = fcn_simd_enabled();
    fcn_prepack_hdr mine;
    s->prepack_ok = s->simd && m->prepack_recs && fcn_prepack_layout(&mine) == 0 &&
                    m->prepack.layout == mine.layout && m->prepack.mr == mine.mr && m->prepack.kc == mine.kc &&
                    m->prepack.isa == mine.isa;
    uint64_t n_io = 0;
    for (int i = 0; i < s->n_nodes; i++) n_io += (uint64_t)m->nodes[i].n_in + m->nodes[i].n_out;
    s->tensors = calloc((size_t)s->n_values + 1, sizeof(fcn_tensor));
    s->nodes = calloc((size_t)s->n_nodes + 1, sizeof(fcn_node));
    s->defs = calloc((size_t)s->n_nodes + 1, sizeof(*s->defs));
    s->io = calloc((size_t)n_io + 1, sizeof(fcn_tensor *));
    s->copies = calloc((size_t)s->n_values + 1, sizeof(void *));
    s->last_ms = calloc((size_t)s->n_nodes + 1, sizeof(double));
    s->min_ms = calloc((size_t)s->n_nodes + 1, sizeof(double));
    s->slot = calloc((size_t)s->n_nodes + 1, sizeof(int));
    if (!s->tensors || !s->nodes || !s->defs || !s->io || !s->copies || !s->last_ms || !s->min_ms || !s->slot) {
        fcn_session_destroy(s);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory creating a session", m->name);
    }
    if (opt && opt->n_input_shapes > 0 &&
        (!opt->input_shapes || (uint32_t)opt->n_input_shapes != m->graph.n_inputs)) {
        fcn_session_destroy(s);
        return fc_fail(err, FC_EINPUT, "%s: %d input shapes given, the model has %u inputs", m->name,
                       opt->n_input_shapes, m->graph.n_inputs);
    }

    /* tensors: names, stored shapes; constants get data */
    char *used = calloc((size_t)s->n_values + 1, 1);
    if (!used) {
        fcn_session_destroy(s);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", m->name);
    }
    for (int i = 0; i < s->n_nodes; i++)
        for (uint32_t k = 0; k < m->nodes[i].n_in; k++) {
            uint32_t id = m->ids[m->nodes[i].in_first + k];
            if (id != FCN_NO_VALUE) used[id] = 1;
        }
    int rc = 0;
    double weight_bytes = 0;   /* as fp32, what the kernels read */
    for (int v = 0; v < s->n_values && rc == 0; v++) {
        const fcn_tensor_rec *r = &m->tensors[v];
        fcn_tensor *t = &s->tensors[v];
        t->name = m->tensor_names[v];
        t->dtype = (int)r->dtype;
        t->ndim = (int)r->ndim;
        for (uint32_t d = 0; d < r->ndim; d++) t->dims[d] = r->dims[d];
        if (!fcn_model_tensor_is_const(m, (uint32_t)v)) continue;
        t->is_const = 1;
        fc_numel(t->ndim, t->dims, &t->numel);   /* validated at open */
        t->nbytes = (size_t)r->data_size;
        t->data = (void *)fcn_model_tensor_data(m, (uint32_t)v);
        if (used[v]) rc = expand_const(s, (uint32_t)v, err);
        if (used[v]) weight_bytes += 4.0 * (double)t->numel;
    }
    free(used);
    s->weights_warm = weight_bytes <= FCN_WARM_WEIGHT_BYTES && !fcn_env_flag("FULLCONV_NO_WARM_GEMV");
    for (uint32_t k = 0; k < m->graph.n_inputs && rc == 0; k++) rc = set_input_shape(s, (int)k, opt, err);
    /* the pool first: it also prepares the nodes' fast paths (fast_prepare_all) */
    if (rc == 0 && s->nthreads > 1) {
        s->pool = fcn_threadpool_create(s->nthreads);
        if (!s->pool) s->nthreads = 1;   /* no threads available: run serially, same results */
    }
    fcn_tensor **io = s->io;
    for (int i = 0; i < s->n_nodes && rc == 0; i++) {
        rc = build_node(s, i, io, err);
        io += s->nodes[i].n_in + s->nodes[i].n_out;
    }
    if (rc == 0) rc = fast_prepare_all(s, err);
    if (rc == 0) rc = graph_bound(s, err);   /* on the file's order: the model's yardstick */
    if (rc == 0) rc = schedule_shortcuts(s, err);
    if (rc == 0 && s->simd) fuse_residual_adds(s);
    if (rc == 0 && s->simd) fuse_stem_pools(s);
    if (rc == 0 && s->simd) fuse_pre_bns(s);
    if (rc == 0 && s->simd) fuse_expand_dws(s);
    if (rc == 0 && s->simd) fuse_dw_pointwise(s);
    if (rc == 0) rc = plan_memory(s, err);
    if (rc) {
        fcn_session_destroy(s);
        return -1;
    }
    *out = s;
    return 0;
}

void fcn_session_destroy(fcn_session *s)
{
    if (!s) return;
    if (s->nodes)
        for (int i = 0; i < s->n_nodes; i++) {
            fcn_node *n = &s->nodes[i];
            if (n->fast) {
                if (n->free_fast) n->free_fast(n->fast);
                else free(n->fast);
            }
            if (n->params) {
                if (n->free_params) n->free_params(n->params);
                else free(n->params);
            }
        }
    if (s->copies)
        for (int i = 0; i < s->n_copies; i++) free(s->copies[i]);
    fcn_threadpool_destroy(s->pool);
    free(s->copies);
    free(s->tensors);
    free(s->nodes);
    free(s->defs);
    free(s->io);
    free(s->last_ms);
    free(s->min_ms);
    free(s->arena_block);
    free(s->input_block);
    free(s->fused_res);
    free(s->slot);
    free(s);
}

/* ---- run ---------------------------------------------------------------------------------------- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int fcn_session_run(fcn_session *s, fc_error *err)
{
    (void)err;   /* ops cannot fail at run time: every shape was validated at creation */
    fcn_exec x = { s->pool, s->pool ? s->nthreads : 1 };
    for (int i = 0; i < s->n_nodes; i++) {
        fcn_node *n = &s->nodes[i];
        double t0 = s->profile ? now_ms() : 0;
        if (n->run_fast) n->run_fast(n, &x);
        else s->defs[i]->run(n, &x);
        if (s->profile) {
            double ms = now_ms() - t0;
            s->last_ms[i] = ms;
            if (s->profiled_runs == 0 || ms < s->min_ms[i]) s->min_ms[i] = ms;
        }
    }
    if (s->profile) s->profiled_runs++;
    return 0;
}

/* ---- inputs / outputs ---------------------------------------------------------------------------- */

int fcn_session_num_inputs(const fcn_session *s) { return (int)s->m->graph.n_inputs; }
int fcn_session_num_outputs(const fcn_session *s) { return (int)s->m->graph.n_outputs; }

static void tensor_shape(const fcn_tensor *t, fcn_shape *shape)
{
    if (!shape) return;
    memset(shape, 0, sizeof *shape);
    shape->ndim = t->ndim;
    for (int d = 0; d < t->ndim && d < FCN_MAX_DIMS; d++) shape->dims[d] = t->dims[d];
}

void *fcn_session_input(fcn_session *s, int i, fcn_shape *shape, int *dtype)
{
    if (i < 0 || (uint32_t)i >= s->m->graph.n_inputs) return NULL;
    fcn_tensor *t = &s->tensors[s->m->inputs[i]];
    tensor_shape(t, shape);
    if (dtype) *dtype = t->dtype;
    return t->data;
}

int fcn_session_set_input(fcn_session *s, int i, const void *data, size_t size, fc_error *err)
{
    if (i < 0 || (uint32_t)i >= s->m->graph.n_inputs)
        return fc_fail(err, FC_EINPUT, "%s: no input %d (the model has %u)", s->m->name, i, s->m->graph.n_inputs);
    fcn_tensor *t = &s->tensors[s->m->inputs[i]];
    if (size != t->nbytes) {
        char dims[128];
        fc_format_dims(t->ndim, t->dims, dims, sizeof dims);
        return fc_fail(err, FC_EINPUT, "%s: input '%s': %zu bytes given, shape %s (%s) needs %zu", s->m->name, t->name,
                       size, dims, fc_dtype_name(t->dtype), t->nbytes);
    }
    if (size) memcpy(t->data, data, size);
    return 0;
}

const void *fcn_session_output(const fcn_session *s, int i, fcn_shape *shape, int *dtype)
{
    if (i < 0 || (uint32_t)i >= s->m->graph.n_outputs) return NULL;
    const fcn_tensor *t = &s->tensors[s->m->outputs[i]];
    tensor_shape(t, shape);
    if (dtype) *dtype = t->dtype;
    return t->data;
}

int fcn_session_find_output(const fcn_session *s, const char *name)
{
    for (uint32_t k = 0; name && k < s->m->graph.n_outputs; k++)
        if (strcmp(s->tensors[s->m->outputs[k]].name, name) == 0) return (int)k;
    return -1;
}

int fcn_session_find_input(const fcn_session *s, const char *name)
{
    for (uint32_t k = 0; name && k < s->m->graph.n_inputs; k++)
        if (strcmp(s->tensors[s->m->inputs[k]].name, name) == 0) return (int)k;
    return -1;
}

/* ---- info ---------------------------------------------------------------------------------------- */

size_t fcn_session_arena_bytes(const fcn_session *s) { return s->arena_bytes; }
int fcn_session_threads(const fcn_session *s) { return s->nthreads; }
size_t fcn_session_packed_bytes(const fcn_session *s) { return s->packed_bytes; }

int fcn_session_prepacked(const fcn_session *s, int node, const void **data, size_t *bytes, uint32_t *kind,
                          uint32_t *param)
{
    if (node < 0 || node >= s->n_nodes || !s->nodes[s->slot[node]].packed.data) return 0;
    const fcn_prepacked *p = &s->nodes[s->slot[node]].packed;
    *data = p->data;
    *bytes = p->bytes;
    *kind = p->kind;
    *param = p->param;
    return 1;
}

size_t fcn_session_prepacked_used(const fcn_session *s)
{
    size_t b = 0;
    for (int i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].packed.data && s->nodes[i].packed.data == s->nodes[i].given.data) b += s->nodes[i].packed.bytes;
    return b;
}
size_t fcn_session_input_bytes(const fcn_session *s) { return s->input_bytes; }

void fcn_session_plan_stats(const fcn_session *s, size_t *peak_live, size_t *two_largest_bound)
{
    if (peak_live) *peak_live = s->peak_live;
    if (two_largest_bound) *two_largest_bound = s->two_largest;
}

int fcn_session_num_nodes(const fcn_session *s) { return s->n_nodes; }
int fcn_session_num_values(const fcn_session *s) { return s->n_values; }

void fcn_session_value_info(const fcn_session *s, int i, const char **name, fcn_shape *shape, int *dtype)
{
    if (i < 0 || i >= s->n_values) {
        if (name) *name = NULL;
        if (shape) memset(shape, 0, sizeof *shape);
        if (dtype) *dtype = FC_DT_INVALID;
        return;
    }
    const fcn_tensor *t = &s->tensors[i];
    if (name) *name = t->name;
    tensor_shape(t, shape);
    if (dtype) *dtype = t->dtype;
}

void fcn_session_node_info(const fcn_session *s, int i, fcn_node_info *info)
{
    memset(info, 0, sizeof *info);
    if (i < 0 || i >= s->n_nodes) return;
    const fcn_node *n = &s->nodes[i];
    const fcn_model *m = s->m;
    info->name = n->name;
    info->op = s->defs[i]->name;
    info->kernel = n->kernel ? n->kernel : "ref";
    if (n->n_out > 0) tensor_shape(n->out[0], &info->out_shape);
    for (int k = 0; k < n->n_in; k++) {
        if (!n->in[k] || !n->in[k]->is_const) continue;
        const fcn_tensor_rec *r = &m->tensors[n->in[k] - s->tensors];
        size_t numel = 0;
        fc_numel((int)r->ndim, r->dims, &numel);
        info->params += numel;
        info->weight_bytes += r->data_size;
        if (r->dtype == FC_DT_I8) info->weight_bytes += m->tensors[r->aux_id].data_size;
    }
    info->macs = n->macs;
    info->last_ms = s->last_ms[i];
    info->min_ms = s->min_ms[i];
}

uint64_t fcn_session_total_macs(const fcn_session *s)
{
    uint64_t total = 0;
    for (int i = 0; i < s->n_nodes; i++) total += s->nodes[i].macs;
    return total;
}
