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

/* Values vids[] (1-D i64, computed from shapes) evaluated with every free input dimension set to
 * each of free_values[0..n_points): vals[(v * n_points + p) * max + i]; counts[v] = -1 when value v
 * cannot be computed that way (not an error). */
int fcv_eval_at_free_dims(ir_graph *g, fcv_node_filter skip, void *ctx, const int *vids, int n_vids,
                          const int64_t *free_values, int n_points, int64_t *vals, int max, int *counts,
                          fc_error *err);

/* Folds with the value shapes g holds now (no shape inference): constant nodes and Shape nodes
 * on fully known shapes, until nothing changes. Returns the count or -1. */
int fcv_fold_known(ir_graph *g, fc_error *err);

/* Evaluates ONNX Shape semantics (start/end clamped, opset 15) on a known shape. */
int fcv_shape_slice(int ndim, int64_t start, int64_t end, int64_t *first, int64_t *count);
#endif
