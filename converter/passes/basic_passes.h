/* basic_passes.h — private variants of the basic passes (fold_constants.c, shape_infer.c) that
 * leave some nodes alone: the ONNX importer folds around nodes still in ONNX form (pending
 * tensor parameters) which the runtime cannot run yet. */
#ifndef FCV_BASIC_PASSES_H
#define FCV_BASIC_PASSES_H
#include "converter/ir.h"

/* Returns 1 for a node the pass must ignore (with everything computed from it). */
typedef int (*fcv_node_filter)(const ir_graph *g, int node, void *ctx);

int fcv_fold_constants_filtered(ir_graph *g, fcv_node_filter skip, void *ctx, fc_error *err);
/* tolerant: when the shapes cannot be inferred because some input dimension is free, leave the
 * shapes unknown and return 0 instead of failing. */
int fcv_infer_shapes_filtered(ir_graph *g, fcv_node_filter skip, void *ctx, int tolerant, fc_error *err);

/* Value vid (1-D i64, computed from shapes) evaluated with every free input dimension set to
 * 1 (at1) and to 2 (at2). *count = -1 when it cannot be computed that way (not an error). */
int fcv_eval_at_free_dims(ir_graph *g, fcv_node_filter skip, void *ctx, int vid, int64_t *at1, int64_t *at2,
                          int max, int *count, fc_error *err);

/* Evaluates ONNX Shape semantics (start/end clamped, opset 15) on a known shape. */
int fcv_shape_slice(int ndim, int64_t start, int64_t end, int64_t *first, int64_t *count);
#endif
