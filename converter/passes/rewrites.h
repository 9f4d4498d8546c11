/* rewrites.h — the rewrite passes of converter/passes/ that converter/pipeline.c runs, and the
 * small graph helpers they share (rewrite_util.c). Internal to the converter.
 *
 * Every pass takes a `log` object (may be NULL) into which it records what it did:
 * "matched": [node names], "produced": [node names], and pass-specific notes. The pipeline
 * adds the pass name, parameter/byte counts and the verification to the same object. A pass
 * returns the number of rewrites applied (>= 0) or -1 with err filled. */
#ifndef FCV_REWRITES_H
#define FCV_REWRITES_H

/* --gap-head fit without an explicit [start:end] selection uses at most this many samples. */
#define FCV_FIT_DEFAULT_SAMPLES 10000

#include <cjson/cJSON.h>
#include "converter/ir.h"

int fcv_remove_identity(ir_graph *g, cJSON *log, fc_error *err);   /* Identity, Dropout */
int fcv_fold_bn(ir_graph *g, cJSON *log, fc_error *err);           /* BN after Conv/Gemm/MatMul+Add */
int fcv_fuse_act(ir_graph *g, cJSON *log, fc_error *err);          /* Relu/Clip/... into the producer */
int fcv_fc_to_conv(ir_graph *g, cJSON *log, fc_error *err);        /* --fc-to-conv */
/* --gap-head exact|fold|fit (opt->gap_head). */
int fcv_gap_head(ir_graph *g, const fcv_options *opt, cJSON *log, fc_error *err);
/* --weights fp16|int8: per-layer output error vs fp32 on probe inputs. */
int fcv_quantize(ir_graph *g, const fcv_options *opt, cJSON *log, fc_error *err);
/* Batch-1 FC weights after a ReLU stored input-major (transB 0), for the runtime's sparse product. */
int fcv_fc_columns(ir_graph *g, cJSON *log, fc_error *err);

/* ---- helpers (rewrite_util.c) ---------------------------------------------------------- */
int rw_is_graph_output(const ir_graph *g, int v);
/* The only consuming node of value v, or -1 (no consumer, several, or a graph output). */
int rw_sole_consumer(const ir_graph *g, int v);
/* Index of the first live node consuming v, or -1. */
int rw_first_consumer(const ir_graph *g, int v);
/* f32 constant payload of v, or NULL when v is absent, not constant or not f32. */
float *rw_const_f32(ir_graph *g, int v);
int rw_numel(const ir_value *v, size_t *n);   /* -1 if shape unknown */
/* New activation value with a unique name derived from base (shape unknown: ndim -1). */
int rw_new_value(ir_graph *g, const char *base, fc_error *err);
/* New f32 constant (copies data) with a unique name derived from base. */
int rw_new_const_f32(ir_graph *g, const char *base, int ndim, const int64_t *dims, const float *data,
                     fc_error *err);
int rw_new_node(ir_graph *g, int op, const char *base, const int *ins, int n_in, const int *outs, int n_out,
                fc_error *err);
void rw_log_add(cJSON *log, const char *array_key, const char *name);
void rw_log_set_str(cJSON *log, const char *key, const char *text);
void rw_log_set_num(cJSON *log, const char *key, double v);
void rw_log_set_bool(cJSON *log, const char *key, int v);
/* A fully connected layer as exports write it: Gemm(A, W const, [C const]) with transA 0, or
 * MatMul(A, W const [in, K]) optionally followed by Add(const [K]) (the MatMul output feeding
 * only the Add). y = act(alpha·A·op(W) + beta·C). */
typedef struct rw_fc {
    int node;                     /* the Gemm / MatMul */
    int add;                      /* the bias Add, or -1 */
    int in, out;                  /* input activation; output value of the layer (after the Add) */
    int64_t k_in, k_out;
    int act;                      /* fused activation of the last node (fcn_act) */
    double act_alpha, act_beta;
} rw_fc;
/* 1 matched (fc filled), 0 not an FC layer. */
int rw_match_fc(const ir_graph *g, int node, rw_fc *fc);
/* Weight as K×k_in row-major with alpha applied (malloc'd), bias K with beta applied (zeros
 * if absent; malloc'd). */
int rw_fc_weight(ir_graph *g, const rw_fc *fc, float **w, fc_error *err);
int rw_fc_bias(ir_graph *g, const rw_fc *fc, float **b, fc_error *err);
/* The weight value itself when it is already K×k_in row-major (Gemm transB 1, alpha 1) and no
 * other node reads it: reshaped in place to ndim/dims (numel must match), no copy. Else -1. */
int rw_fc_weight_in_place(ir_graph *g, const rw_fc *fc, int ndim, const int64_t *dims);
/* Sets the traced shape of an activation value (rewrites know the shapes they create, which
 * spares a shape-inference session on big models). */
void rw_set_shape(ir_graph *g, int v, int ndim, const int64_t *dims);
/* The activation attributes of fc copied onto node. */
void rw_copy_act(const rw_fc *fc, ir_node *node);
/* Unary elementwise ops that work on any shape (kept between FC layers). */
int rw_is_elementwise_unary(int op);

/* A standalone node applying fcn_act `act` (the inverse of fuse_act), in -> out. */
int rw_add_act_node(ir_graph *g, int act, double alpha, double beta, const char *base, int in, int out,
                    fc_error *err);
/* The replacement node takes the replaced node's name (swapped: users keep addressing layers by
 * their source names, e.g. --keep-fp32). */
void rw_take_name(ir_graph *g, int new_node, int old_node);
/* Makes value v an extra graph output renamed to a unique name based on `want`. */
int rw_add_graph_output(ir_graph *g, int v, const char *want, fc_error *err);

/* ---- ridge regression (ridge.c) --------------------------------------------------------------
 * min_B ||[X 1]·B − Y||² + λ·||B without its bias row||²: A = [X 1]ᵀ[X 1] + λ·diag(1,…,1,0),
 * B = A⁻¹·[X 1]ᵀY by Cholesky (A is (C+1)×(C+1), in double). B is (C+1)×K, row C = bias. */
typedef struct fcv_ridge_stats {
    double *gram;                 /* (C+1)×(C+1): Σ aᵀa with a = [x, 1] */
    double *xty;                  /* (C+1)×K: Σ aᵀy */
    int64_t c, k, n;
} fcv_ridge_stats;
int fcv_ridge_init(fcv_ridge_stats *s, int64_t c, int64_t k, fc_error *err);
void fcv_ridge_add(fcv_ridge_stats *s, const double *x, const double *y);   /* one sample */
/* Solves for B (malloc'd (C+1)×K). -1 + err (FC_EINPUT "singular") when Cholesky fails. */
int fcv_ridge_solve(const fcv_ridge_stats *s, double lambda, double **b, fc_error *err);
double fcv_ridge_feature_trace(const fcv_ridge_stats *s);   /* Σ_c gram[c][c], c < C */
void fcv_ridge_free(fcv_ridge_stats *s);

/* GAP features (N×C, double) of a dataset through the backbone of g up to the 4-D value `map`,
 * and the values `head_out` (N×K) on the same samples (head_out -1 / head NULL to skip). Uses the
 * first max_samples samples (0 = all). */
int fcv_collect_gap_features(const ir_graph *g, int map, int head_out, const char *calib, float mean, float std,
                             int64_t max_samples,
                             double **features, int64_t *c, double **head, int64_t *k, int **labels,
                             int64_t *n, fc_error *err);

/* "32x4x4" */
const char *rw_dims_str(const ir_value *v, char *buf, size_t cap);

#endif
