/* rewrite_util.c — graph queries and builders shared by the rewrite passes (rewrites.h). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <stdint.h>
#include "converter/passes/rewrites.h"

int rw_is_graph_output(const ir_graph *g, int v)
{
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == v) return 1;
    return 0;
}

int rw_sole_consumer(const ir_graph *g, int v)
{
    if (v < 0 || rw_is_graph_output(g, v)) return -1;
    int found = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] != v) continue;
            if (found >= 0 && found != i) return -1;
            found = i;
        }
    }
    return found;
}

int rw_first_consumer(const ir_graph *g, int v)
{
    if (v < 0) return -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == v) return i;
    }
    return -1;
}

float *rw_const_f32(ir_graph *g, int v)
{
    if (v < 0 || v >= g->n_values) return NULL;
    ir_value *x = &g->values[v];
    if (!x->data || x->dtype != FC_DT_F32) return NULL;
    return (float *)x->data;
}

int rw_numel(const ir_value *v, size_t *n)
{
    if (v->ndim < 0) return -1;
    for (int i = 0; i < v->ndim; i++)
        if (v->dims[i] < 0) return -1;
    return fc_numel(v->ndim, v->dims, n);
}

static char *fresh_name(const ir_graph *g, const char *base, fc_error *err)
{
    char *name = ir_unique_name(g, base && *base ? base : "v");
    if (!name) fc_fail(err, FC_ENOMEM, "out of memory naming a value");
    return name;
}

int rw_new_value(ir_graph *g, const char *base, fc_error *err)
{
    char *name = fresh_name(g, base, err);
    if (!name) return -1;
    int id = ir_add_value(g, name, FC_DT_F32, -1, NULL, err);
    free(name);
    return id;
}

int rw_new_const_f32(ir_graph *g, const char *base, int ndim, const int64_t *dims, const float *data,
                     fc_error *err)
{
    size_t numel, nbytes;
    if (fc_numel(ndim, dims, &numel) || fc_mul_size(numel, sizeof(float), &nbytes))
        return fc_fail(err, FC_EINPUT, "constant '%s': overflowing shape", base);
    char *name = fresh_name(g, base, err);
    if (!name) return -1;
    int id = ir_add_const(g, name, FC_DT_F32, ndim, dims, data, nbytes, err);
    free(name);
    return id;
}

int rw_new_node(ir_graph *g, int op, const char *base, const int *ins, int n_in, const int *outs, int n_out,
                fc_error *err)
{
    /* ir_add_node makes the name unique itself */
    return ir_add_node(g, op, base, ins, n_in, outs, n_out, err);
}

static cJSON *log_array(cJSON *log, const char *key)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(log, key);
    if (!a) a = cJSON_AddArrayToObject(log, key);
    return a;
}

void rw_log_add(cJSON *log, const char *array_key, const char *name)
{
    if (!log) return;
    cJSON *a = log_array(log, array_key);
    if (a) cJSON_AddItemToArray(a, cJSON_CreateString(name ? name : ""));
}

void rw_log_set_str(cJSON *log, const char *key, const char *text)
{
    if (!log) return;
    cJSON_DeleteItemFromObjectCaseSensitive(log, key);
    cJSON_AddStringToObject(log, key, text ? text : "");
}

void rw_log_set_num(cJSON *log, const char *key, double v)
{
    if (!log) return;
    cJSON_DeleteItemFromObjectCaseSensitive(log, key);
    cJSON_AddNumberToObject(log, key, v);
}

const char *rw_dims_str(const ir_value *v, char *buf, size_t cap)
{
    if (v->ndim < 0) {
        snprintf(buf, cap, "?");
        return buf;
    }
    fc_format_dims(v->ndim, v->dims, buf, cap);
    return buf;
}

/* ---- fully connected layers ------------------------------------------------------------------ */

static int const_numel(const ir_graph *g, int v, size_t *n)
{
    if (v < 0 || !g->values[v].data || g->values[v].dtype != FC_DT_F32) return -1;
    return rw_numel(&g->values[v], n);
}

int rw_match_fc(const ir_graph *g, int node, rw_fc *fc)
{
    const ir_node *n = &g->nodes[node];
    memset(fc, 0, sizeof *fc);
    fc->node = node;
    fc->add = -1;
    if (n->dead || n->n_in < 2 || n->n_out != 1 || n->in[0] < 0) return 0;
    const ir_value *w = n->in[1] >= 0 ? &g->values[n->in[1]] : NULL;
    if (!w || !w->data || w->dtype != FC_DT_F32 || w->ndim != 2) return 0;
    fc->in = n->in[0];
    fc->out = n->out[0];
    if (n->op == FCN_OP_GEMM) {
        if (ir_get_int(n, FCN_ATTR_TRANS_A, 0)) return 0;
        int tb = (int)ir_get_int(n, FCN_ATTR_TRANS_B, 0);
        fc->k_out = tb ? w->dims[0] : w->dims[1];
        fc->k_in = tb ? w->dims[1] : w->dims[0];
        if (n->n_in > 2 && n->in[2] >= 0) {
            size_t nc;
            if (const_numel(g, n->in[2], &nc) || (nc != 1 && (int64_t)nc != fc->k_out)) return 0;
        }
    } else if (n->op == FCN_OP_MATMUL) {
        if (n->n_in != 2) return 0;
        fc->k_in = w->dims[0];
        fc->k_out = w->dims[1];
        int c = rw_sole_consumer(g, fc->out);
        if (c >= 0 && g->nodes[c].op == FCN_OP_ADD && g->nodes[c].n_in == 2 &&
            ir_get_int(n, FCN_ATTR_ACT, 0) == FCN_ACT_NONE) {
            const ir_node *a = &g->nodes[c];
            int other = a->in[0] == fc->out ? a->in[1] : a->in[0];
            size_t nb;
            if (a->in[0] != a->in[1] && !const_numel(g, other, &nb) && ((int64_t)nb == fc->k_out) &&
                g->values[other].ndim >= 1 &&
                g->values[other].dims[g->values[other].ndim - 1] == fc->k_out) {
                fc->add = c;
                fc->out = a->out[0];
            }
        }
    } else {
        return 0;
    }
    const ir_node *last = fc->add >= 0 ? &g->nodes[fc->add] : n;
    fc->act = (int)ir_get_int(last, FCN_ATTR_ACT, FCN_ACT_NONE);
    fc->act_alpha = ir_get_float(last, FCN_ATTR_ACT_ALPHA, 0.0);
    fc->act_beta = ir_get_float(last, FCN_ATTR_ACT_BETA, 0.0);
    return fc->k_in > 0 && fc->k_out > 0;
}

int rw_fc_weight(ir_graph *g, const rw_fc *fc, float **out, fc_error *err)
{
    const ir_node *n = &g->nodes[fc->node];
    const float *w = rw_const_f32(g, n->in[1]);
    size_t total;
    if (fc_mul_size((size_t)fc->k_out, (size_t)fc->k_in, &total) || total > SIZE_MAX / sizeof(float))
        return fc_fail(err, FC_EINPUT, "node '%s': weight too large", n->name);
    float *d = malloc(total * sizeof(float) + 1);
    if (!d) return fc_fail(err, FC_ENOMEM, "node '%s': out of memory for a %zu-element weight", n->name, total);
    double alpha = n->op == FCN_OP_GEMM ? ir_get_float(n, FCN_ATTR_ALPHA, 1.0) : 1.0;
    int trans = n->op == FCN_OP_GEMM && ir_get_int(n, FCN_ATTR_TRANS_B, 0);
    size_t K = (size_t)fc->k_out, J = (size_t)fc->k_in;
    if (trans) {
        for (size_t i = 0; i < total; i++) d[i] = (float)(alpha * w[i]);
    } else {
        for (size_t j = 0; j < J; j++)
            for (size_t k = 0; k < K; k++) d[k * J + j] = (float)(alpha * w[j * K + k]);
    }
    *out = d;
    return 0;
}

int rw_fc_bias(ir_graph *g, const rw_fc *fc, float **out, fc_error *err)
{
    const ir_node *n = &g->nodes[fc->node];
    float *b = calloc((size_t)fc->k_out + 1, sizeof(float));
    if (!b) return fc_fail(err, FC_ENOMEM, "out of memory");
    if (n->op == FCN_OP_GEMM && n->n_in > 2 && n->in[2] >= 0) {
        const float *c = rw_const_f32(g, n->in[2]);
        size_t nc = 0;
        rw_numel(&g->values[n->in[2]], &nc);
        double beta = ir_get_float(n, FCN_ATTR_BETA, 1.0);
        for (int64_t k = 0; k < fc->k_out; k++) b[k] = (float)(beta * c[nc == 1 ? 0 : k]);
    } else if (fc->add >= 0) {
        const ir_node *a = &g->nodes[fc->add];
        const float *c = rw_const_f32(g, a->in[0] == n->out[0] ? a->in[1] : a->in[0]);
        for (int64_t k = 0; k < fc->k_out; k++) b[k] = c[k];
    }
    *out = b;
    return 0;
}

void rw_copy_act(const rw_fc *fc, ir_node *node)
{
    if (fc->act == FCN_ACT_NONE) return;
    ir_set_int(node, FCN_ATTR_ACT, fc->act);
    if (fc->act == FCN_ACT_LEAKY_RELU || fc->act == FCN_ACT_CLIP) ir_set_float(node, FCN_ATTR_ACT_ALPHA, fc->act_alpha);
    if (fc->act == FCN_ACT_CLIP) ir_set_float(node, FCN_ATTR_ACT_BETA, fc->act_beta);
}

int rw_is_elementwise_unary(int op)
{
    switch (op) {
    case FCN_OP_RELU: case FCN_OP_LEAKY_RELU: case FCN_OP_CLIP: case FCN_OP_SIGMOID: case FCN_OP_TANH:
    case FCN_OP_HARD_SIGMOID: case FCN_OP_HARD_SWISH: case FCN_OP_ELU: case FCN_OP_SELU:
    case FCN_OP_SOFTPLUS: case FCN_OP_SOFTSIGN: case FCN_OP_SWISH: case FCN_OP_IDENTITY:
    case FCN_OP_ABS: case FCN_OP_NEG: case FCN_OP_EXP:
        return 1;
    default:
        return 0;
    }
}

int rw_add_act_node(ir_graph *g, int act, double alpha, double beta, const char *base, int in, int out,
                    fc_error *err)
{
    int op;
    switch (act) {
    case FCN_ACT_RELU: op = FCN_OP_RELU; break;
    case FCN_ACT_CLIP: op = FCN_OP_CLIP; break;
    case FCN_ACT_LEAKY_RELU: op = FCN_OP_LEAKY_RELU; break;
    case FCN_ACT_SIGMOID: op = FCN_OP_SIGMOID; break;
    case FCN_ACT_HARD_SWISH: op = FCN_OP_HARD_SWISH; break;
    case FCN_ACT_SWISH: op = FCN_OP_SWISH; break;
    case FCN_ACT_HARD_SIGMOID: op = FCN_OP_HARD_SIGMOID; break;
    default: return fc_fail(err, FC_EINTERNAL, "unknown fused activation %d", act);
    }
    int n = rw_new_node(g, op, base, &in, 1, &out, 1, err);
    if (n < 0) return -1;
    if (act == FCN_ACT_CLIP) {
        ir_set_float(&g->nodes[n], FCN_ATTR_MIN, alpha);
        ir_set_float(&g->nodes[n], FCN_ATTR_MAX, beta);
    }
    if (act == FCN_ACT_LEAKY_RELU) ir_set_float(&g->nodes[n], FCN_ATTR_ALPHA, alpha);
    if (act == FCN_ACT_HARD_SIGMOID) {
        ir_set_float(&g->nodes[n], FCN_ATTR_ALPHA, alpha);
        ir_set_float(&g->nodes[n], FCN_ATTR_BETA, beta);
    }
    return n;
}

int rw_add_graph_output(ir_graph *g, int v, const char *want, fc_error *err)
{
    char *name = !strcmp(g->values[v].name, want) ? strdup(want) : ir_unique_name(g, want);
    int *outs = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
    if (outs) g->outputs = outs;
    if (!name || !outs) {
        free(name);
        return fc_fail(err, FC_ENOMEM, "out of memory");
    }
    free(g->values[v].name);
    g->values[v].name = name;
    g->outputs[g->n_outputs++] = v;
    return 0;
}

void rw_log_set_bool(cJSON *log, const char *key, int v)
{
    if (!log) return;
    cJSON_DeleteItemFromObjectCaseSensitive(log, key);
    cJSON_AddBoolToObject(log, key, v);
}

void rw_take_name(ir_graph *g, int new_node, int old_node)
{
    char *t = g->nodes[new_node].name;
    g->nodes[new_node].name = g->nodes[old_node].name;
    g->nodes[old_node].name = t;
}

int rw_fc_weight_in_place(ir_graph *g, const rw_fc *fc, int ndim, const int64_t *dims)
{
    const ir_node *n = &g->nodes[fc->node];
    if (n->op != FCN_OP_GEMM || !ir_get_int(n, FCN_ATTR_TRANS_B, 0) || ir_get_float(n, FCN_ATTR_ALPHA, 1.0) != 1.0)
        return -1;
    int v = n->in[1];
    int uses = rw_is_graph_output(g, v);
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++) uses += g->nodes[i].in[k] == v;
    }
    size_t have, want;
    if (uses != 1 || rw_numel(&g->values[v], &have) || fc_numel(ndim, dims, &want) || have != want) return -1;
    ir_value *w = &g->values[v];
    w->ndim = ndim;
    for (int i = 0; i < FCN_MAX_DIMS; i++) w->dims[i] = i < ndim ? dims[i] : 0;
    return v;
}

void rw_set_shape(ir_graph *g, int v, int ndim, const int64_t *dims)
{
    ir_value *x = &g->values[v];
    x->ndim = ndim;
    for (int i = 0; i < FCN_MAX_DIMS; i++) x->dims[i] = i < ndim ? dims[i] : 0;
}
