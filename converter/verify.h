/* verify.h — running IR graphs in the runtime (the only interpreter) and comparing them.
 *
 *   fcv_graph_runner   serialize (fcv_write_fcn) -> fcn_model_open_memory -> session; run inputs,
 *                      read any output by name. Used by verification, the GAP-fit feature
 *                      collection and the per-layer quantization report.
 *   fcv_probes         probe inputs (seeded N(0,1) at the declared input shape, plus calibration
 *                      samples) and the reference graph's outputs on them, computed once; every
 *                      later graph is compared against them by output name. */
#ifndef FCV_VERIFY_H
#define FCV_VERIFY_H

#include "converter/ir.h"
#include "runtime/fcn.h"

typedef struct fcv_graph_runner {
    uint8_t *buf;                 /* serialized .fcn (owned) */
    fcn_model *model;
    fcn_session *session;
} fcv_graph_runner;

/* input_shape: shape for graph input 0 (NULL = the declared one, a free batch becomes 1). */
int fcv_runner_open(const ir_graph *g, const fcn_shape *input_shape, fcv_graph_runner *r, fc_error *err);
/* Copies `data` into input 0 (its byte size must match) and runs. */
int fcv_runner_run(fcv_graph_runner *r, const float *data, size_t count, fc_error *err);
/* Output by name (f32 only); NULL if absent or not f32. */
const float *fcv_runner_output(const fcv_graph_runner *r, const char *name, fcn_shape *shape);
void fcv_runner_close(fcv_graph_runner *r);

/* The declared shape of graph input 0 with a free batch set to `batch`. -1 + err when a
 * non-batch dimension is unknown. */
int fcv_input_shape(const ir_graph *g, int64_t batch, fcn_shape *shape, fc_error *err);

typedef struct fcv_verify_result {
    double max_abs_err;           /* over every compared output element */
    double max_rel_err;           /* max_abs_err / max |reference| */
    double top1_agreement;        /* fraction of rows of the first output with the same argmax */
    int n_inputs;                 /* probe tensors compared */
    int n_rows;                   /* rows counted for top-1 */
} fcv_verify_result;

typedef struct fcv_probes {
    int n;                        /* probe tensors */
    fcn_shape in_shape;           /* shape of each */
    size_t in_count;              /* floats per probe */
    float *inputs;                /* n * in_count */
    int n_outputs;
    char **out_names;             /* reference graph outputs */
    fcn_shape *out_shapes;
    size_t *out_counts;
    float **outs;                 /* [output][probe * count] */
} fcv_probes;

/* n_random seeded N(0,1) probes (seed fixed) plus up to n_calib samples of the dataset spec
 * `calib` (NULL = none; preprocessed with mean/std). Runs `ref` on them. */
int fcv_probes_make(const ir_graph *ref, int n_random, const char *calib, int n_calib, float mean, float std,
                    fcv_probes **out, fc_error *err);
/* Runs g on the probes and compares every reference output present in g under the same name. */
int fcv_probes_compare(const fcv_probes *p, const ir_graph *g, fcv_verify_result *res, fc_error *err);
void fcv_probes_free(fcv_probes *p);
/* Per reference output o: rel_err[o] = max |new − old| / max |old| (NAN when g lacks it). */
int fcv_probes_compare_each(const fcv_probes *p, const ir_graph *g, double *rel_err, fc_error *err);

/* Adds max_abs_err, max_rel_err, top1_agreement, probes to a JSON object. */
struct cJSON;
void fcv_verify_to_json(const fcv_verify_result *r, struct cJSON *obj);

#endif
