/* ir.h — the converter's graph IR and the converter's public API (table of contents).
 *
 *   graph     ir_graph_new / ir_graph_free, values (ir_value) and nodes (ir_node)
 *   import    fcv_import (by extension/magic) -> import_onnx.c, import_torch.c, import_tfjs.c,
 *             import_weights.c (safetensors/npz + --arch)
 *   passes    passes/ (one file each): fold_constants, dce, shape_infer, fold_bn, fuse_act, fc_to_conv,
 *             gap_head, quantize, fc_columns
 *   verify    verify.c: old vs new graph, both run in the runtime
 *   write     write_fcn.c: IR -> .fcn bytes (deterministic), atomic save
 *
 * Ops and attribute keys are the runtime's (runtime/format.h): the IR is the .fcn graph before
 * serialization, so the writer is a straight copy and the runtime is the only interpreter. */
#ifndef FCV_IR_H
#define FCV_IR_H

#include <stddef.h>
#include <stdint.h>
#include "common/fc_common.h"
#include "runtime/format.h"

#define IR_MAX_ATTRS 24
#define IR_MAX_ATTR_VALUES FCN_MAX_ATTR_VALUES

typedef struct ir_attr {
    int key;                      /* fcn_attr_key */
    int kind;                     /* fcn_attr_kind */
    int count;
    int64_t i[IR_MAX_ATTR_VALUES];/* INT / INTS */
    double f[IR_MAX_ATTR_VALUES]; /* FLOAT / FLOATS */
} ir_attr;

typedef struct ir_value {
    char *name;                   /* unique in the graph */
    int dtype;                    /* fc_dtype */
    int ndim;                     /* -1: shape unknown yet */
    int64_t dims[FCN_MAX_DIMS];   /* -1: unknown/free dimension */
    void *data;                   /* constant payload (malloc'd, owned), NULL for activations */
    size_t nbytes;
    int aux;                      /* I8: value id of its f32 per-channel scales, else -1 */
    int producer;                 /* node index producing it, -1 (maintained by ir_update_links) */
    int n_consumers;              /* maintained by ir_update_links */
} ir_value;

typedef struct ir_node {
    char *name;                   /* unique in the graph (importers invent one if absent) */
    int op;                       /* fcn_op */
    int n_in, n_out;
    int *in;                      /* value ids; -1 = absent optional input */
    int *out;
    int n_attrs;
    ir_attr attrs[IR_MAX_ATTRS];
    int dead;                     /* marked for removal; ir_compact drops it */
} ir_node;

typedef struct ir_graph {
    ir_value *values; int n_values, cap_values;
    ir_node *nodes; int n_nodes, cap_nodes;
    int *inputs; int n_inputs;    /* value ids, in order */
    int *outputs; int n_outputs;
    /* provenance for the META section */
    char *source_path;            /* as given on the command line */
    char *source_format;          /* "onnx", "torch-zip", "torchscript", "tfjs", "safetensors", "npz" */
    char *producer;               /* e.g. "pytorch 1.13.0" from the file, may be NULL */
    uint8_t source_sha256[32];
    uint64_t source_bytes;
    char **labels; int n_labels;  /* class names if the source has them */
    struct cJSON *passes_meta;    /* array: one object per applied pass (name, matched, verified errors) */
    struct cJSON *extra_meta;     /* object merged into META (importer notes, e.g. guessed --arch) */
} ir_graph;

/* ---- graph building (ir.c) --------------------------------------------------------------- */
ir_graph *ir_graph_new(void);
void ir_graph_free(ir_graph *g);
/* Sets the graph's inputs and outputs (value ids, copied; earlier lists freed): 0, or -1 on
 * ENOMEM (err set). */
int ir_set_io(ir_graph *g, const int *ins, int n_in, const int *outs, int n_out, fc_error *err);
/* Returns the new value id, or -1 (ENOMEM / duplicate name -> err). */
int ir_add_value(ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims, fc_error *err);
/* Constant: copies data (nbytes must equal numel*dtype size). */
int ir_add_const(ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims,
                 const void *data, size_t nbytes, fc_error *err);
/* Same, taking ownership of a malloc'd buffer. */
int ir_add_const_owned(ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims,
                       void *data, size_t nbytes, fc_error *err);
/* A fresh unique name "<base>" or "<base>_N". Returned string is malloc'd. */
char *ir_unique_name(const ir_graph *g, const char *base);
/* Returns the node index, or -1. ins may contain -1 for absent optional inputs. */
int ir_add_node(ir_graph *g, int op, const char *name, const int *ins, int n_in,
                const int *outs, int n_out, fc_error *err);
int ir_find_value(const ir_graph *g, const char *name);   /* -1 if absent */
int ir_find_node(const ir_graph *g, const char *name);
ir_value *ir_val(ir_graph *g, int id);                    /* NULL for -1 */

void ir_set_int(ir_node *n, int key, int64_t v);
void ir_set_float(ir_node *n, int key, double v);
void ir_set_ints(ir_node *n, int key, const int64_t *v, int count);
void ir_set_floats(ir_node *n, int key, const double *v, int count);
const ir_attr *ir_get_attr(const ir_node *n, int key);    /* NULL if absent */
int64_t ir_get_int(const ir_node *n, int key, int64_t def);
double ir_get_float(const ir_node *n, int key, double def);
void ir_del_attr(ir_node *n, int key);

/* Recomputes producer/n_consumers; marks graph outputs as consumed. */
void ir_update_links(ir_graph *g);
/* Drops dead nodes and unreferenced values, renumbers ids, keeps order stable. */
int ir_compact(ir_graph *g, fc_error *err);
/* Stable topological sort; error naming a node on a cycle. */
int ir_toposort(ir_graph *g, fc_error *err);
/* Replaces every use of value `from` by `to` (node inputs and graph outputs). */
void ir_replace_uses(ir_graph *g, int from, int to);
/* Deep copy (for verification: old graph vs new). */
ir_graph *ir_clone(const ir_graph *g, fc_error *err);
/* Total constant elements / bytes (for reports). */
void ir_param_stats(const ir_graph *g, uint64_t *params, uint64_t *bytes);

/* ---- import -------------------------------------------------------------------------- */
typedef struct fcv_import_options {
    const char *arch;             /* --arch NAME for weight-only files */
    int n_input_dims; int64_t input_dims[FCN_MAX_DIMS];  /* --input-shape, 0 = from file/arch */
} fcv_import_options;
/* Detects the format (ONNX, .pt zip, TorchScript zip, TF.js model.json, safetensors, npz)
 * and imports. Every error message starts with the file name. */
int fcv_import(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err);
int fcv_import_onnx(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err);
int fcv_import_onnx_memory(const uint8_t *buf, size_t size, const char *path,
                           const fcv_import_options *opt, ir_graph **out, fc_error *err);

/* Format-specific importers (fcv_import dispatches to these; converter/import.c). */
int fcv_import_torch(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err);   /* .pt/.pth zip: state_dict, whole model, TorchScript */
int fcv_import_tfjs(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err);    /* TF.js model.json + shards */
int fcv_import_safetensors(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err);
int fcv_import_npz(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err);    /* .npz weights + --arch */

/* Basic passes the importers and the pipeline share (converter/passes/). */
int fcv_fold_constants(ir_graph *g, fc_error *err);  /* nodes with all-constant inputs evaluated via fcn_eval_op */
int fcv_dce(ir_graph *g, fc_error *err);             /* drops nodes/values not reaching an output */
int fcv_infer_shapes(ir_graph *g, fc_error *err);    /* fills value dims by running the runtime's shape inference */

/* ---- write (write_fcn.c) ----------------------------------------------------------------- */
/* Serializes deterministically (same graph -> same bytes). *buf is 64-byte aligned (free()). */
int fcv_write_fcn(const ir_graph *g, uint8_t **buf, size_t *size, fc_error *err);
/* Atomic save (temp file + rename); refuses to overwrite unless force; never the source. */
int fcv_save_fcn(const ir_graph *g, const char *path, int force, fc_error *err);
/* convert --prepack (prepack.c): appends a PREPACKED section to the serialized model in *buf
 * (replaced by a new 64-byte aligned buffer), made by a session of this machine's kernels. */
typedef struct fcv_prepack_stats {
    uint32_t blobs, mr, isa;      /* layers prepacked; the layout's micro-kernel rows and ISA */
    uint64_t bytes;               /* bytes of blobs */
} fcv_prepack_stats;
int fcv_prepack(uint8_t **buf, size_t *size, const char *name, fcv_prepack_stats *stats, fc_error *err);
/* fcv_save_fcn with a PREPACKED section (stats filled). */
int fcv_save_fcn_prepacked(const ir_graph *g, const char *path, int force, fcv_prepack_stats *stats,
                           fc_error *err);

/* ---- the standard pipeline (convert.c) ----------------------------------------------- */
typedef struct fcv_options {
    int fc_to_conv;               /* --fc-to-conv */
    const char *gap_head;         /* NULL, "exact", "fold", "fit" */
    const char *calib;            /* --calib DATA */
    int calib_labels;             /* --calib-labels: fit to one-hot labels instead of logits */
    const char *weights;          /* "fp32" (default), "fp16", "int8" */
    const char *keep_fp32;        /* comma list of node names kept in fp32 */
    double quant_max_err;         /* per-layer error threshold keeping a layer in fp32; 0 = off */
    int no_verify;
    int no_fc_columns;            /* --no-fc-columns: keep every FC weight output-major */
    int quiet;                    /* no per-pass report on stdout */
    float mean, std;              /* calibration/probe preprocessing (default 0, 1) */
    int n_probe;                  /* probe inputs for verification (default 4) */
    FILE *report;                 /* where pass reports go (stdout by default, NULL = none) */
} fcv_options;
void fcv_options_default(fcv_options *o);
/* Imports nothing: runs the passes the options ask for on g (in place), then verifies.
 * Returns 0, or -1 with err->code FC_ECHECK when verification failed. */
int fcv_run_passes(ir_graph *g, const fcv_options *opt, fc_error *err);

#endif
