/* import_onnx.h — private to the ONNX importer (import_onnx.c reads the protobuf and builds
 * the graph; import_onnx_ops.c maps each ONNX operator to an fcn_op with attributes).
 *
 * Operators whose ONNX form carries shape-like parameters as tensor inputs (Reshape's shape,
 * Clip's min/max, Slice's starts/ends, ...) are first added with those inputs and recorded
 * as *pending*; once constant folding has made those inputs constants, onnx_lower() moves them
 * into attributes and drops the inputs, giving the runtime's form (runtime/format.h). */
#ifndef FCV_IMPORT_ONNX_H
#define FCV_IMPORT_ONNX_H

#include "converter/ir.h"
#include "converter/onnx.pb-c.h"

typedef struct onnx_pending {
    char *name;                   /* node name (indices change when the graph is compacted) */
    char *op_type;                /* the ONNX op_type, for messages */
} onnx_pending;

typedef struct onnx_import {
    const char *file;             /* for messages */
    const char *base_dir;         /* realpath of the model's folder (external data), may be NULL */
    int64_t opset;                /* default-domain opset */
    ir_graph *g;
    struct onnx_names *names;     /* ONNX value name -> IR value id (hash index) */
    onnx_pending *pending;        /* nodes still carrying tensor parameters; name NULL = done */
    int n_pending, cap_pending;
} onnx_import;

/* Resolves an ONNX value name to an IR value id (-1 for "" = absent optional input). */
int onnx_value_id(onnx_import *im, const char *name);

/* Adds the IR node(s) for one ONNX node (name already made unique). 0 or -1 (err). */
int onnx_map_node(onnx_import *im, const Onnx__NodeProto *node, const char *name, fc_error *err);

/* Tries to move the pending node's tensor parameters into attributes.
 * Returns 1 when lowered, 0 when some parameter is not constant yet, -1 on error. */
int onnx_lower(onnx_import *im, int node_index, fc_error *err);

/* The error for a node that stays pending: names the node, op_type, opset and the input
 * that is not constant. Returns -1. */
int onnx_lower_fail(onnx_import *im, int node_index, const char *op_type, fc_error *err);

/* Records a node as pending (by name: indices change when the graph is compacted). */
int onnx_add_pending(onnx_import *im, int node_index, const char *op_type, fc_error *err);

/* ONNX TensorProto.DataType -> fc_dtype (FC_DT_INVALID if we do not support it). */
int onnx_dtype(int32_t onnx_type);
const char *onnx_dtype_name(int32_t onnx_type);

/* Reads a TensorProto (typed fields or raw_data; external data resolved inside base_dir) into
 * a malloc'd little-endian buffer. base_dir may be NULL (external data then refused). */
int onnx_tensor_data(const Onnx__TensorProto *t, const char *file, const char *base_dir,
                     int *dtype, int *ndim, int64_t *dims, void **data, size_t *nbytes, fc_error *err);

#endif
