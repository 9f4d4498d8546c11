/* remove_identity.c — Identity(x) = x, Dropout(x) = x at inference (the mask output unused), and
 * a Pad whose pads are all 0 (torch exports AvgPool2d as one in front of AveragePool: DenseNet's
 * transitions spent 4.9 ms copying through them): every use of the output becomes a use of the
 * input. */
#include "converter/passes/rewrites.h"

static int mask_used(const ir_graph *g, const ir_node *n)
{
    for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0 && (g->values[n->out[k]].n_consumers > 0)) return 1;
    return 0;
}

/* Pad with every pad 0 (any mode, any value): the identity */
static int zero_pad(const ir_node *n)
{
    if (n->op != FCN_OP_PAD || n->n_in != 1) return 0;   /* pads as a tensor input: not known here */
    const ir_attr *a = ir_get_attr(n, FCN_ATTR_PADS);
    if (!a || a->count < 1) return 0;
    for (int k = 0; k < a->count; k++)
        if (a->i[k] != 0) return 0;
    return 1;
}

int fcv_remove_identity(ir_graph *g, cJSON *log, fc_error *err)
{
    (void)err;
    int removed = 0;
    ir_update_links(g);
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead || (n->op != FCN_OP_IDENTITY && !zero_pad(n)) || n->n_in < 1 || n->n_out < 1) continue;
        int x = n->in[0], y = n->out[0];
        if (x < 0 || mask_used(g, n)) continue;
        if (!rw_is_graph_output(g, y)) {
            n->dead = 1;
            ir_replace_uses(g, y, x);
        } else {
            /* y names a graph output: keep the name by making x's producer write y directly */
            int prod = g->values[x].producer;
            if (prod < 0 || rw_is_graph_output(g, x) || g->values[x].n_consumers != 1) continue;
            ir_node *pn = &g->nodes[prod];
            for (int k = 0; k < pn->n_out; k++)
                if (pn->out[k] == x) pn->out[k] = y;
            n->dead = 1;
            ir_update_links(g);
        }
        rw_log_add(log, "matched", n->name);
        removed++;
    }
    return removed;
}
