/* fuse_act.c — act(op(x)) computed by op itself: the producer (Conv, Gemm, MatMul, Add) applies
 * the activation to each output element as it writes it (ACT, ACT_ALPHA, ACT_BETA attributes,
 * runtime/format.h). Valid when the producer's output has no other consumer and is not a graph
 * output (nobody else may see the pre-activation values). */
#include <float.h>
#include "converter/passes/rewrites.h"

/* fcn_act for the activation node, or -1; fills its parameters. */
static int act_of(const ir_node *n, double *alpha, double *beta)
{
    *alpha = 0.0;
    *beta = 0.0;
    switch (n->op) {
    case FCN_OP_RELU: return FCN_ACT_RELU;
    case FCN_OP_SIGMOID: return FCN_ACT_SIGMOID;
    case FCN_OP_HARD_SWISH: return FCN_ACT_HARD_SWISH;
    case FCN_OP_SWISH: return FCN_ACT_SWISH;
    case FCN_OP_HARD_SIGMOID:
        *alpha = ir_get_float(n, FCN_ATTR_ALPHA, 0.2);
        *beta = ir_get_float(n, FCN_ATTR_BETA, 0.5);
        return FCN_ACT_HARD_SIGMOID;
    case FCN_OP_LEAKY_RELU:
        *alpha = ir_get_float(n, FCN_ATTR_ALPHA, 0.01);
        return FCN_ACT_LEAKY_RELU;
    case FCN_OP_CLIP:
        if (n->n_in > 1) return -1;   /* min/max still tensors: not a constant clip */
        *alpha = ir_get_float(n, FCN_ATTR_MIN, -FLT_MAX);
        *beta = ir_get_float(n, FCN_ATTR_MAX, FLT_MAX);
        return FCN_ACT_CLIP;
    default: return -1;
    }
}

static int can_fuse_into(const ir_node *p)
{
    if (p->dead || p->n_out != 1 || ir_get_int(p, FCN_ATTR_ACT, FCN_ACT_NONE) != FCN_ACT_NONE) return 0;
    return p->op == FCN_OP_CONV || p->op == FCN_OP_GEMM || p->op == FCN_OP_MATMUL || p->op == FCN_OP_ADD ||
           p->op == FCN_OP_BATCHNORM;
}

int fcv_fuse_act(ir_graph *g, cJSON *log, fc_error *err)
{
    (void)err;
    int fused = 0;
    ir_update_links(g);
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *a = &g->nodes[i];
        double alpha, beta;
        if (a->dead || a->n_in < 1 || a->n_out != 1 || a->in[0] < 0) continue;
        int act = act_of(a, &alpha, &beta);
        if (act < 0) continue;
        int x = a->in[0];
        int prod = g->values[x].producer;
        if (prod < 0 || !can_fuse_into(&g->nodes[prod]) || g->values[x].n_consumers != 1 || rw_is_graph_output(g, x))
            continue;
        ir_node *p = &g->nodes[prod];
        ir_set_int(p, FCN_ATTR_ACT, act);
        if (act == FCN_ACT_LEAKY_RELU || act == FCN_ACT_CLIP || act == FCN_ACT_HARD_SIGMOID)
            ir_set_float(p, FCN_ATTR_ACT_ALPHA, alpha);
        if (act == FCN_ACT_CLIP || act == FCN_ACT_HARD_SIGMOID) ir_set_float(p, FCN_ATTR_ACT_BETA, beta);
        p->out[0] = a->out[0];
        a->dead = 1;
        ir_update_links(g);
        rw_log_add(log, "matched", a->name);
        rw_log_add(log, "produced", p->name);
        fused++;
    }
    return fused;
}
