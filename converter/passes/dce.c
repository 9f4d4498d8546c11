/* dce.c — dead code elimination.
 *
 * Identity relied on: the graph computes only its outputs, so a node none of whose outputs
 * reaches a graph output (directly or through other nodes) can be dropped without changing
 * any output; likewise constants no live node reads. Graph inputs stay (they are the model's
 * interface even when unused). */
#include "converter/ir.h"

#include <stdlib.h>

int fcv_dce(ir_graph *g, fc_error *err)
{
    char *live = calloc((size_t)g->n_values + 1, 1);
    if (!live) return fc_fail(err, FC_ENOMEM, "out of memory in dead code elimination");
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] >= 0 && g->outputs[k] < g->n_values) live[g->outputs[k]] = 1;
    /* nodes are in topological order: one backward sweep reaches every live node */
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        int used = 0;
        for (int k = 0; k < n->n_out && !used; k++) used = n->out[k] >= 0 && live[n->out[k]];
        if (!used) {
            n->dead = 1;
            continue;
        }
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) live[n->in[k]] = 1;
    }
    free(live);
    return ir_compact(g, err);
}
