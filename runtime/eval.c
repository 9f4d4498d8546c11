/* eval.c — run one op on given tensors (the converter's constant folding), through the same
 * infer -> prepare -> run path a session uses, so the runtime stays the only interpreter.
 * Outputs are malloc'd (the caller frees out[i]->data); params and scratch are freed here. */
#include "runtime/op.h"

#include <stdlib.h>
#include <string.h>

static void parse_act(fcn_node *n)
{
    n->act = (int)fcn_attr_int(n, FCN_ATTR_ACT, FCN_ACT_NONE);
    n->act_alpha = fcn_attr_float(n, FCN_ATTR_ACT_ALPHA, 0.0f);
    n->act_beta = fcn_attr_float(n, FCN_ATTR_ACT_BETA, 0.0f);
}

/* numel/nbytes of t from its dtype and dims; -1 on a bad dtype, negative dim or overflow. */
static int size_tensor(fcn_tensor *t)
{
    size_t esize = fc_dtype_size(t->dtype);
    if (!esize || t->ndim < 0 || t->ndim > FCN_MAX_DIMS) return -1;
    if (fc_numel(t->ndim, t->dims, &t->numel)) return -1;
    if (fc_mul_size(t->numel, esize, &t->nbytes)) return -1;
    if (t->nbytes > fc_limits_current.max_tensor_bytes) return -1;
    return 0;
}

static void free_node_state(fcn_node *n)
{
    if (n->params) {
        if (n->free_params) n->free_params(n->params);
        else free(n->params);
    }
    n->params = NULL;
    free(n->scratch);
    n->scratch = NULL;
}

int fcn_eval_op(int op, const char *node_name,
                const fcn_attr_rec *attrs, int n_attrs, const uint64_t *slots,
                fcn_tensor **in, int n_in, fcn_tensor **out, int n_out, fc_error *err)
{
    const char *name = node_name ? node_name : "?";
    const fcn_op_def *def = fcn_op_lookup(op);
    if (!def) return fc_fail(err, FC_EINPUT, "node '%s': unknown op %d", name, op);
    if (n_in < 0 || n_out < 1 || n_in > FCN_MAX_NODE_IO || n_out > FCN_MAX_NODE_IO)
        return fc_fail(err, FC_EINPUT, "node '%s' (%s): bad input/output count %d/%d", name, def->name, n_in, n_out);
    if (n_in < def->min_in || (def->max_in >= 0 && n_in > def->max_in))
        return fc_fail(err, FC_EINPUT, "node '%s' (%s): %d inputs, expected %d..%d", name, def->name, n_in,
                       def->min_in, def->max_in);
    if (n_out < def->min_out || n_out > def->max_out)
        return fc_fail(err, FC_EINPUT, "node '%s' (%s): %d outputs, expected %d..%d", name, def->name, n_out,
                       def->min_out, def->max_out);

    /* Private copies of the inputs: infer may rely on numel/nbytes, and the caller's structs
     * are not ours to modify. Everything given here is constant. */
    fcn_tensor *in_copy = calloc((size_t)(n_in ? n_in : 1), sizeof *in_copy);
    fcn_tensor **in_ptr = calloc((size_t)(n_in ? n_in : 1), sizeof *in_ptr);
    if (!in_copy || !in_ptr) {
        free(in_copy); free(in_ptr);
        return fc_fail(err, FC_ENOMEM, "node '%s' (%s): out of memory", name, def->name);
    }
    for (int i = 0; i < n_in; i++) {
        if (!in[i]) continue;
        in_copy[i] = *in[i];
        in_copy[i].is_const = 1;
        if (size_tensor(&in_copy[i]) || (in_copy[i].nbytes && !in_copy[i].data)) {
            free(in_copy); free(in_ptr);
            return fc_fail(err, FC_EINPUT, "node '%s' (%s): input %d has a bad dtype, shape or no data",
                           name, def->name, i);
        }
        in_ptr[i] = &in_copy[i];
    }
    for (int i = 0; i < n_out; i++) {
        out[i]->data = NULL;
        out[i]->is_const = 0;
        out[i]->ndim = 0;
        out[i]->dtype = FC_DT_INVALID;
    }

    fcn_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.name = name;
    n.n_in = n_in;
    n.n_out = n_out;
    n.in = in_ptr;
    n.out = out;
    n.attrs = attrs;
    n.n_attrs = n_attrs;
    n.slots = slots;
    n.kernel = "ref";
    parse_act(&n);

    int rc = -1;
    if (def->infer(&n, err)) goto done;
    for (int i = 0; i < n_out; i++) {
        if (size_tensor(out[i])) {
            fc_fail(err, FC_EINPUT, "node '%s' (%s): output %d size overflows", name, def->name, i);
            goto done;
        }
        out[i]->data = malloc(out[i]->nbytes ? out[i]->nbytes : 1);
        if (!out[i]->data) {
            fc_fail(err, FC_ENOMEM, "node '%s' (%s): out of memory for output %d", name, def->name, i);
            goto done;
        }
    }
    if (def->prepare && def->prepare(&n, err)) goto done;
    if (n.scratch_bytes) {
        size_t rounded = (n.scratch_bytes + 63) & ~(size_t)63;
        n.scratch = aligned_alloc(64, rounded);
        if (!n.scratch) {
            fc_fail(err, FC_ENOMEM, "node '%s' (%s): out of memory for scratch", name, def->name);
            goto done;
        }
    }
    fcn_exec x = { NULL, 1 };
    def->run(&n, &x);
    rc = 0;
done:
    free_node_state(&n);
    if (rc) {
        for (int i = 0; i < n_out; i++) {
            free(out[i]->data);
            out[i]->data = NULL;
        }
    }
    free(in_copy);
    free(in_ptr);
    return rc;
}
