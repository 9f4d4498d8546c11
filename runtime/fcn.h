/* fcn.h — the fullconv runtime, public C API. Reads like a table of contents:
 *
 *   model    fcn_model_open / fcn_model_open_memory   mmap (or borrow) + full validation
 *            fcn_model_* accessors                     inputs, outputs, metadata JSON
 *   session  fcn_session_create                        shapes, memory plan, packed weights
 *            fcn_session_input / fcn_session_run       fill inputs in place, run (no allocation)
 *            fcn_session_output                        results by index or name
 *   info     fcn_session_node_info                     per-node shape, params, MACs (inspect, profile)
 *   kernels  fcn_use_reference_kernels                 force portable kernels (tests)
 *
 * Errors are values: every fallible call returns 0 or -1 and fills a caller-owned fc_error
 * whose message names the file (and node) and the fact. */
#ifndef FCN_H
#define FCN_H

#include <stddef.h>
#include <stdint.h>
#include "common/fc_common.h"
#include "runtime/format.h"

typedef struct fcn_model fcn_model;
typedef struct fcn_session fcn_session;

typedef struct fcn_shape {
    int ndim;
    int64_t dims[FCN_MAX_DIMS];
} fcn_shape;

/* ---- model ------------------------------------------------------------------------------ */
/* mmaps path read-only and validates every header field, section, offset, size, id, dtype
 * and count (overflow-safe) before anything is used. */
int fcn_model_open(const char *path, fcn_model **out, fc_error *err);
/* Same for a buffer in memory. name is used in messages. If copy is 0 the buffer must stay
 * valid (and 64-byte aligned for in-place weights) until fcn_model_close. */
int fcn_model_open_memory(const void *data, size_t size, const char *name, int copy,
                          fcn_model **out, fc_error *err);
void fcn_model_close(fcn_model *m);

const char *fcn_model_name(const fcn_model *m);        /* file name given at open */
int fcn_model_num_inputs(const fcn_model *m);
int fcn_model_num_outputs(const fcn_model *m);
const char *fcn_model_input_name(const fcn_model *m, int i);
const char *fcn_model_output_name(const fcn_model *m, int i);
/* Shape as stored (traced at convert time); -1 marks a dimension free at session creation. */
void fcn_model_input_shape(const fcn_model *m, int i, fcn_shape *shape);
void fcn_model_output_shape(const fcn_model *m, int i, fcn_shape *shape);
/* The META section (JSON text, not NUL-terminated). */
const char *fcn_model_metadata(const fcn_model *m, size_t *len);
int fcn_model_num_nodes(const fcn_model *m);
/* The PREPACKED section (format.h): 1 and its header plus the bytes of its blobs, or 0 (and
 * zeros) when the file has none. */
int fcn_model_prepack_info(const fcn_model *m, fcn_prepack_hdr *h, uint64_t *bytes);
uint64_t fcn_model_file_size(const fcn_model *m);
/* Total bytes and element count of constant tensors (weights). */
uint64_t fcn_model_weight_bytes(const fcn_model *m);
uint64_t fcn_model_param_count(const fcn_model *m);

/* ---- session ---------------------------------------------------------------------------- */
typedef struct fcn_session_options {
    int threads;                  /* 0 = FULLCONV_THREADS env or 1 */
    int n_input_shapes;           /* 0 = the stored input shapes (batch -1 becomes 1) */
    const fcn_shape *input_shapes;/* one per graph input, in order */
    int profile;                  /* 1: time every node in fcn_session_run */
} fcn_session_options;

/* Infers every shape, plans the activation arena by liveness (buffers reused), expands
 * fp16/int8 weights, packs weights for the selected kernels. After this, run allocates nothing. */
int fcn_session_create(const fcn_model *m, const fcn_session_options *opt,
                       fcn_session **out, fc_error *err);
void fcn_session_destroy(fcn_session *s);

int fcn_session_num_inputs(const fcn_session *s);
int fcn_session_num_outputs(const fcn_session *s);
/* Pointer to input i's buffer (f32 unless the input's dtype says otherwise); fill it in place. */
void *fcn_session_input(fcn_session *s, int i, fcn_shape *shape, int *dtype);
/* Copies size bytes in; they must equal the input's byte size. */
int fcn_session_set_input(fcn_session *s, int i, const void *data, size_t size, fc_error *err);
int fcn_session_run(fcn_session *s, fc_error *err);
const void *fcn_session_output(const fcn_session *s, int i, fcn_shape *shape, int *dtype);
int fcn_session_find_output(const fcn_session *s, const char *name);   /* -1 if absent */
int fcn_session_find_input(const fcn_session *s, const char *name);

/* The activation arena: every intermediate tensor, the outputs and the kernels' scratch. */
size_t fcn_session_arena_bytes(const fcn_session *s);
/* The threads the session runs on: those asked for, at most one per CPU the process may use. */
int fcn_session_threads(const fcn_session *s);
size_t fcn_session_input_bytes(const fcn_session *s);   /* the inputs' own buffers, outside the arena */
size_t fcn_session_packed_bytes(const fcn_session *s);  /* expanded/packed weight copies */
/* Prepacked weights (format.h, PREPACKED): what node `node` (the model's numbering, whatever
 * order the session runs the nodes in) had its fast path pack at creation,
 * or used in place from the file. 1 and fills the four, or 0 when the node has none.
 * `fullconv convert --prepack` writes these with the layout of fcn_prepack_layout. */
int fcn_session_prepacked(const fcn_session *s, int node, const void **data, size_t *bytes, uint32_t *kind,
                          uint32_t *param);
/* Bytes of weights this session uses in place from the file's PREPACKED section. */
size_t fcn_session_prepacked_used(const fcn_session *s);
/* The PREPACKED layout of the kernels sessions created now use: 0 and fills h (reserved and
 * count zero), or -1 when the reference kernels are in use (nothing is packed). */
int fcn_prepack_layout(fcn_prepack_hdr *h);
/* The most arena bytes in use at one step, and the model graph's bound (taken in the file's
 * node order, before the session's fusions and reordering): the largest sum, over steps, of the
 * two largest tensors alive at that step (inputs included, no scratch, no in-place). */
void fcn_session_plan_stats(const fcn_session *s, size_t *peak_live, size_t *two_largest_bound);

typedef struct fcn_node_info {
    const char *name;
    const char *op;               /* "Conv", ... */
    const char *kernel;           /* the algorithm chosen, e.g. "ref", "gemm-avx2", "winograd" */
    fcn_shape out_shape;          /* of the first output */
    uint64_t params;              /* elements of constant inputs */
    uint64_t weight_bytes;        /* bytes of constant inputs as stored */
    uint64_t macs;                /* multiply-accumulates at this session's shapes */
    double last_ms;               /* time of the last profiled run, 0 if not profiling */
    double min_ms;                /* the least over the profiled runs so far (0 before any) */
} fcn_node_info;
int fcn_session_num_nodes(const fcn_session *s);
/* Every value (constants, activations, inputs, outputs) as inferred for this session:
 * the converter's shape inference reads these back. */
int fcn_session_num_values(const fcn_session *s);
void fcn_session_value_info(const fcn_session *s, int i, const char **name, fcn_shape *shape, int *dtype);
/* Node i in the order the session runs them (which may move a projection shortcut ahead of
 * its block's branch: schedule_shortcuts in session.c); info->name says which node it is. */
void fcn_session_node_info(const fcn_session *s, int i, fcn_node_info *info);
uint64_t fcn_session_total_macs(const fcn_session *s);

/* ---- kernels ---------------------------------------------------------------------------- */
/* Forces the portable reference kernels for sessions created afterwards (also
 * FULLCONV_REFERENCE=1 in the environment). Returns the previous setting. */
int fcn_use_reference_kernels(int on);
/* "avx2+fma" or "reference": what sessions created now will use. */
const char *fcn_kernel_isa(void);

#endif
