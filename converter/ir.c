/* ir.c — the converter's graph IR: values, constants, nodes, attributes, and the graph
 * surgery every importer and pass shares (links, compaction, stable toposort, cloning).
 *
 * Ownership: the graph owns every name, every constant payload, every node's id arrays and
 * the provenance strings/JSON; ir_graph_free releases them in one place. Pointers returned by
 * ir_val() are invalidated by the next ir_add_value/ir_add_const (the array may move). */
#include "converter/ir.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define IR_MAX_NAME 4096   /* the .fcn format's name_len limit */

ir_graph *ir_graph_new(void)
{
    return calloc(1, sizeof(ir_graph));
}

static void free_value(ir_value *v)
{
    free(v->name);
    free(v->data);
}

static void free_node(ir_node *n)
{
    free(n->name);
    free(n->in);
    free(n->out);
}

void ir_graph_free(ir_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->n_values; i++) free_value(&g->values[i]);
    for (int i = 0; i < g->n_nodes; i++) free_node(&g->nodes[i]);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->source_path);
    free(g->source_format);
    free(g->producer);
    for (int i = 0; i < g->n_labels; i++) free(g->labels[i]);
    free(g->labels);
    cJSON_Delete(g->passes_meta);
    cJSON_Delete(g->extra_meta);
    free(g);
}

int ir_set_io(ir_graph *g, const int *ins, int n_in, const int *outs, int n_out, fc_error *err)
{
    int *a = malloc(sizeof(int) * (size_t)(n_in > 0 ? n_in : 1)), *b = malloc(sizeof(int) * (size_t)(n_out > 0 ? n_out : 1));
    if (!a || !b) {
        free(a);
        free(b);
        return fc_fail(err, FC_ENOMEM, "out of memory");
    }
    if (n_in > 0) memcpy(a, ins, sizeof(int) * (size_t)n_in);
    if (n_out > 0) memcpy(b, outs, sizeof(int) * (size_t)n_out);
    free(g->inputs);
    free(g->outputs);
    g->inputs = a;
    g->n_inputs = n_in;
    g->outputs = b;
    g->n_outputs = n_out;
    return 0;
}

/* ---- names ------------------------------------------------------------------------------ */

int ir_find_value(const ir_graph *g, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < g->n_values; i++)
        if (g->values[i].name && strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

int ir_find_node(const ir_graph *g, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].name && strcmp(g->nodes[i].name, name) == 0) return i;
    return -1;
}

/* Values and nodes live in separate name spaces (as in ONNX). */
static char *unique_in(const ir_graph *g, const char *base, int (*find)(const ir_graph *, const char *))
{
    if (!base || !*base) base = "v";
    size_t blen = strnlen(base, IR_MAX_NAME - 24);
    char *s = malloc(blen + 24);
    if (!s) return NULL;
    memcpy(s, base, blen);
    s[blen] = 0;
    if (find(g, s) < 0) return s;
    for (unsigned long k = 1;; k++) {
        snprintf(s + blen, 24, "_%lu", k);
        if (find(g, s) < 0) return s;
    }
}

char *ir_unique_name(const ir_graph *g, const char *base)
{
    return unique_in(g, base, ir_find_value);
}

ir_value *ir_val(ir_graph *g, int id)
{
    if (!g || id < 0 || id >= g->n_values) return NULL;
    return &g->values[id];
}

/* ---- values -------------------------------------------------------------------------------- */

static int grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap) return 0;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > (1 << 29)) return -1;
        ncap *= 2;
    }
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return -1;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}

static int check_name(const char *what, const char *name, fc_error *err)
{
    if (name && strlen(name) > IR_MAX_NAME)
        return fc_fail(err, FC_EINPUT, "%s name longer than %d bytes: '%.40s...'", what, IR_MAX_NAME, name);
    return 0;
}

static int add_value_raw(ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims,
                         fc_error *err)
{
    if (check_name("value", name, err)) return -1;
    if (dtype < 0 || dtype >= FC_DT_COUNT)
        return fc_fail(err, FC_EINPUT, "value '%s': invalid dtype %d", name ? name : "", dtype);
    if (ndim < -1 || ndim > FCN_MAX_DIMS)
        return fc_fail(err, FC_EINPUT, "value '%s': %d dims (at most %d)", name ? name : "", ndim,
                       FCN_MAX_DIMS);
    if (ndim > 0 && !dims)
        return fc_fail(err, FC_EINTERNAL, "value '%s': dims missing", name ? name : "");
    char *owned;
    if (name && *name) {
        if (ir_find_value(g, name) >= 0)
            return fc_fail(err, FC_EINPUT, "duplicate value name '%s'", name);
        owned = strdup(name);
    } else {
        owned = ir_unique_name(g, "v");
    }
    if (!owned || grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(ir_value))) {
        free(owned);
        return fc_fail(err, FC_ENOMEM, "out of memory adding value '%s'", name ? name : "");
    }
    ir_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = owned;
    v->dtype = dtype;
    v->ndim = ndim;
    for (int i = 0; i < FCN_MAX_DIMS; i++) v->dims[i] = (i < ndim) ? dims[i] : 0;
    v->aux = -1;
    v->producer = -1;
    return g->n_values++;
}

int ir_add_value(ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims, fc_error *err)
{
    return add_value_raw(g, name, dtype, ndim, dims, err);
}

static int check_const_size(const char *name, int dtype, int ndim, const int64_t *dims, size_t nbytes,
                            fc_error *err)
{
    size_t numel, want;
    if (ndim < 0 || ndim > FCN_MAX_DIMS)
        return fc_fail(err, FC_EINPUT, "constant '%s': %d dims", name ? name : "", ndim);
    if (fc_dtype_size(dtype) == 0)
        return fc_fail(err, FC_EINPUT, "constant '%s': invalid dtype %d", name ? name : "", dtype);
    if (fc_numel(ndim, dims, &numel) || fc_mul_size(numel, fc_dtype_size(dtype), &want))
        return fc_fail(err, FC_EINPUT, "constant '%s': negative or overflowing dims", name ? name : "");
    if (want != nbytes)
        return fc_fail(err, FC_EINPUT, "constant '%s': %zu bytes given, shape needs %zu",
                       name ? name : "", nbytes, want);
    return 0;
}

int ir_add_const_owned(ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims,
                       void *data, size_t nbytes, fc_error *err)
{
    if (check_const_size(name, dtype, ndim, dims, nbytes, err)) {
        free(data);
        return -1;
    }
    int id = add_value_raw(g, name, dtype, ndim, dims, err);
    if (id < 0) {
        free(data);
        return -1;
    }
    /* a zero-size constant still needs a non-NULL payload: data != NULL marks constants */
    if (!data) data = malloc(1);
    if (!data) return fc_fail(err, FC_ENOMEM, "out of memory adding constant '%s'", g->values[id].name);
    g->values[id].data = data;
    g->values[id].nbytes = nbytes;
    return id;
}

int ir_add_const(ir_graph *g, const char *name, int dtype, int ndim, const int64_t *dims,
                 const void *data, size_t nbytes, fc_error *err)
{
    if (check_const_size(name, dtype, ndim, dims, nbytes, err)) return -1;
    void *copy = malloc(nbytes ? nbytes : 1);
    if (!copy) return fc_fail(err, FC_ENOMEM, "out of memory copying constant '%s' (%zu bytes)",
                              name ? name : "", nbytes);
    if (nbytes) memcpy(copy, data, nbytes);
    return ir_add_const_owned(g, name, dtype, ndim, dims, copy, nbytes, err);
}

/* ---- nodes --------------------------------------------------------------------------------- */

static int find_node_any(const ir_graph *g, const char *name) { return ir_find_node(g, name); }

int ir_add_node(ir_graph *g, int op, const char *name, const int *ins, int n_in,
                const int *outs, int n_out, fc_error *err)
{
    const char *shown = name ? name : "";
    if (check_name("node", name, err)) return -1;
    if (op <= FCN_OP_INVALID || op >= FCN_OP_COUNT)
        return fc_fail(err, FC_EINPUT, "node '%s': unknown op %d", shown, op);
    if (n_in < 0 || n_in > FCN_MAX_NODE_IO || n_out < 0 || n_out > FCN_MAX_NODE_IO)
        return fc_fail(err, FC_EINPUT, "node '%s': %d inputs / %d outputs (at most %d)", shown, n_in,
                       n_out, FCN_MAX_NODE_IO);
    for (int i = 0; i < n_in; i++)
        if (ins[i] < -1 || ins[i] >= g->n_values)
            return fc_fail(err, FC_EINPUT, "node '%s': input %d refers to value %d, only %d values",
                           shown, i, ins[i], g->n_values);
    for (int i = 0; i < n_out; i++)
        if (outs[i] < 0 || outs[i] >= g->n_values)
            return fc_fail(err, FC_EINPUT, "node '%s': output %d refers to value %d, only %d values",
                           shown, i, outs[i], g->n_values);
    char *owned;
    if (name && *name) {
        if (ir_find_node(g, name) >= 0) owned = unique_in(g, name, find_node_any);
        else owned = strdup(name);
    } else {
        owned = unique_in(g, "node", find_node_any);
    }
    int *in = malloc(sizeof(int) * (size_t)(n_in ? n_in : 1));
    int *out = malloc(sizeof(int) * (size_t)(n_out ? n_out : 1));
    if (!owned || !in || !out || grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(ir_node))) {
        free(owned); free(in); free(out);
        return fc_fail(err, FC_ENOMEM, "out of memory adding node '%s'", shown);
    }
    if (n_in) memcpy(in, ins, sizeof(int) * (size_t)n_in);
    if (n_out) memcpy(out, outs, sizeof(int) * (size_t)n_out);
    int idx = g->n_nodes++;
    ir_node *n = &g->nodes[idx];
    memset(n, 0, sizeof *n);
    n->name = owned;
    n->op = op;
    n->n_in = n_in;
    n->n_out = n_out;
    n->in = in;
    n->out = out;
    /* keep links current for the common append-only import path */
    for (int i = 0; i < n_in; i++) if (in[i] >= 0) g->values[in[i]].n_consumers++;
    for (int i = 0; i < n_out; i++) g->values[out[i]].producer = idx;
    return idx;
}

/* ---- attributes ------------------------------------------------------------------------------ */

static ir_attr *attr_slot(ir_node *n, int key)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].key == key) return &n->attrs[i];
    if (n->n_attrs >= IR_MAX_ATTRS) return NULL;   /* cannot happen with < IR_MAX_ATTRS keys in use */
    ir_attr *a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->key = key;
    return a;
}

/* Lists longer than IR_MAX_ATTR_VALUES are clipped: importers check counts before setting
 * (the format cannot store more). */
static int clamp_count(int count)
{
    if (count < 0) return 0;
    return count > IR_MAX_ATTR_VALUES ? IR_MAX_ATTR_VALUES : count;
}

void ir_set_int(ir_node *n, int key, int64_t v)
{
    ir_attr *a = attr_slot(n, key);
    if (!a) return;
    a->kind = FCN_AK_INT;
    a->count = 1;
    a->i[0] = v;
}

void ir_set_float(ir_node *n, int key, double v)
{
    ir_attr *a = attr_slot(n, key);
    if (!a) return;
    a->kind = FCN_AK_FLOAT;
    a->count = 1;
    a->f[0] = v;
}

void ir_set_ints(ir_node *n, int key, const int64_t *v, int count)
{
    ir_attr *a = attr_slot(n, key);
    if (!a) return;
    a->kind = FCN_AK_INTS;
    a->count = clamp_count(count);
    for (int i = 0; i < a->count; i++) a->i[i] = v[i];
}

void ir_set_floats(ir_node *n, int key, const double *v, int count)
{
    ir_attr *a = attr_slot(n, key);
    if (!a) return;
    a->kind = FCN_AK_FLOATS;
    a->count = clamp_count(count);
    for (int i = 0; i < a->count; i++) a->f[i] = v[i];
}

const ir_attr *ir_get_attr(const ir_node *n, int key)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].key == key) return &n->attrs[i];
    return NULL;
}

int64_t ir_get_int(const ir_node *n, int key, int64_t def)
{
    const ir_attr *a = ir_get_attr(n, key);
    if (!a || a->count < 1) return def;
    if (a->kind == FCN_AK_INT || a->kind == FCN_AK_INTS) return a->i[0];
    return (int64_t)a->f[0];
}

double ir_get_float(const ir_node *n, int key, double def)
{
    const ir_attr *a = ir_get_attr(n, key);
    if (!a || a->count < 1) return def;
    if (a->kind == FCN_AK_FLOAT || a->kind == FCN_AK_FLOATS) return a->f[0];
    return (double)a->i[0];
}

void ir_del_attr(ir_node *n, int key)
{
    for (int i = 0; i < n->n_attrs; i++) {
        if (n->attrs[i].key != key) continue;
        memmove(&n->attrs[i], &n->attrs[i + 1], sizeof(ir_attr) * (size_t)(n->n_attrs - i - 1));
        n->n_attrs--;
        return;
    }
}

/* ---- links, compaction, order ---------------------------------------------------------------- */

void ir_update_links(ir_graph *g)
{
    for (int v = 0; v < g->n_values; v++) {
        g->values[v].producer = -1;
        g->values[v].n_consumers = 0;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && n->in[k] < g->n_values) g->values[n->in[k]].n_consumers++;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && n->out[k] < g->n_values) g->values[n->out[k]].producer = i;
    }
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] >= 0 && g->outputs[k] < g->n_values) g->values[g->outputs[k]].n_consumers++;
}

static void mark(char *used, const ir_graph *g, int id)
{
    /* an I8 constant keeps its scale tensor alive (chains are one long, but loop anyway) */
    while (id >= 0 && id < g->n_values && !used[id]) {
        used[id] = 1;
        id = g->values[id].aux;
    }
}

int ir_compact(ir_graph *g, fc_error *err)
{
    char *used = calloc((size_t)g->n_values + 1, 1);
    int *remap = malloc(sizeof(int) * ((size_t)g->n_values + 1));
    if (!used || !remap) {
        free(used); free(remap);
        return fc_fail(err, FC_ENOMEM, "out of memory compacting the graph");
    }
    int kept = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead) {
            free_node(n);
            continue;
        }
        for (int k = 0; k < n->n_in; k++) mark(used, g, n->in[k]);
        for (int k = 0; k < n->n_out; k++) mark(used, g, n->out[k]);
        g->nodes[kept++] = *n;
    }
    g->n_nodes = kept;
    for (int k = 0; k < g->n_inputs; k++) mark(used, g, g->inputs[k]);
    for (int k = 0; k < g->n_outputs; k++) mark(used, g, g->outputs[k]);

    int nv = 0;
    for (int v = 0; v < g->n_values; v++) {
        if (!used[v]) {
            remap[v] = -1;
            free_value(&g->values[v]);
            continue;
        }
        remap[v] = nv;
        g->values[nv++] = g->values[v];
    }
#define REMAP(x) ((x) >= 0 && (x) < g->n_values ? remap[(x)] : -1)
    for (int v = 0; v < nv; v++) g->values[v].aux = REMAP(g->values[v].aux);
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) n->in[k] = REMAP(n->in[k]);
        for (int k = 0; k < n->n_out; k++) n->out[k] = REMAP(n->out[k]);
    }
    for (int k = 0; k < g->n_inputs; k++) g->inputs[k] = REMAP(g->inputs[k]);
    for (int k = 0; k < g->n_outputs; k++) g->outputs[k] = REMAP(g->outputs[k]);
#undef REMAP
    g->n_values = nv;
    free(used);
    free(remap);
    ir_update_links(g);
    return 0;
}

/* Min-heap of node indices: Kahn's algorithm that always emits the lowest original index
 * among the ready nodes, so an already sorted graph keeps its order (stable, deterministic). */
typedef struct { int *a; int n; } heap;
static void heap_push(heap *h, int x)
{
    int i = h->n++;
    h->a[i] = x;
    while (i > 0 && h->a[(i - 1) / 2] > h->a[i]) {
        int p = (i - 1) / 2, t = h->a[p];
        h->a[p] = h->a[i]; h->a[i] = t; i = p;
    }
}
static int heap_pop(heap *h)
{
    int top = h->a[0];
    h->a[0] = h->a[--h->n];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->a[l] < h->a[m]) m = l;
        if (r < h->n && h->a[r] < h->a[m]) m = r;
        if (m == i) break;
        int t = h->a[m]; h->a[m] = h->a[i]; h->a[i] = t; i = m;
    }
    return top;
}

int ir_toposort(ir_graph *g, fc_error *err)
{
    int nn = g->n_nodes, nv = g->n_values;
    if (nn <= 0) return 0;
    int *prod = malloc(sizeof(int) * ((size_t)nv + 1));
    int *indeg = calloc((size_t)nn, sizeof(int));
    int *cstart = calloc((size_t)nv + 2, sizeof(int));
    int *order = malloc(sizeof(int) * (size_t)nn);
    int *heapbuf = malloc(sizeof(int) * (size_t)nn);
    int *clist = NULL;
    int rc = -1;
    if (!prod || !indeg || !cstart || !order || !heapbuf) goto oom;
    for (int v = 0; v < nv; v++) prod[v] = -1;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++) {
            int v = g->nodes[i].out[k];
            if (v < 0 || v >= nv) continue;
            if (prod[v] >= 0) {
                rc = fc_fail(err, FC_EINPUT, "value '%s' is produced by both node '%s' and node '%s'",
                             g->values[v].name, g->nodes[prod[v]].name, g->nodes[i].name);
                goto out;
            }
            prod[v] = i;
        }
    /* consumer lists (CSR), one entry per use so indegrees count multiplicity */
    size_t total = 0;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v < 0 || v >= nv || prod[v] < 0) continue;
            cstart[v + 1]++;
            indeg[i]++;
            total++;
        }
    for (int v = 0; v < nv; v++) cstart[v + 1] += cstart[v];
    clist = malloc(sizeof(int) * (total ? total : 1));
    if (!clist) goto oom;
    {
        int *fill = calloc((size_t)nv + 1, sizeof(int));
        if (!fill) goto oom;
        for (int i = 0; i < nn; i++)
            for (int k = 0; k < g->nodes[i].n_in; k++) {
                int v = g->nodes[i].in[k];
                if (v < 0 || v >= nv || prod[v] < 0) continue;
                clist[cstart[v] + fill[v]++] = i;
            }
        free(fill);
    }
    heap h = { heapbuf, 0 };
    for (int i = 0; i < nn; i++) if (indeg[i] == 0) heap_push(&h, i);
    int placed = 0;
    while (h.n > 0) {
        int i = heap_pop(&h);
        order[placed++] = i;
        for (int k = 0; k < g->nodes[i].n_out; k++) {
            int v = g->nodes[i].out[k];
            if (v < 0 || v >= nv) continue;
            for (int c = cstart[v]; c < cstart[v + 1]; c++)
                if (--indeg[clist[c]] == 0) heap_push(&h, clist[c]);
        }
    }
    if (placed < nn) {
        int bad = 0;
        while (bad < nn && indeg[bad] == 0) bad++;
        rc = fc_fail(err, FC_EINPUT, "graph has a cycle through node '%s'", g->nodes[bad].name);
        goto out;
    }
    {
        ir_node *sorted = malloc(sizeof(ir_node) * (size_t)nn);
        if (!sorted) goto oom;
        for (int i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
        memcpy(g->nodes, sorted, sizeof(ir_node) * (size_t)nn);
        free(sorted);
    }
    ir_update_links(g);
    rc = 0;
    goto out;
oom:
    rc = fc_fail(err, FC_ENOMEM, "out of memory sorting the graph");
out:
    free(prod); free(indeg); free(cstart); free(order); free(heapbuf); free(clist);
    return rc;
}

void ir_replace_uses(ir_graph *g, int from, int to)
{
    if (from == to) return;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) if (n->in[k] == from) n->in[k] = to;
    }
    for (int k = 0; k < g->n_outputs; k++) if (g->outputs[k] == from) g->outputs[k] = to;
    ir_update_links(g);
}

/* ---- clone, stats ------------------------------------------------------------------------- */

static char *dup_or_null(const char *s, int *fail)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *fail = 1;
    return d;
}

static int *dup_ints(const int *a, int n, int *fail)
{
    int *d = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!d) { *fail = 1; return NULL; }
    if (n) memcpy(d, a, sizeof(int) * (size_t)n);
    return d;
}

ir_graph *ir_clone(const ir_graph *g, fc_error *err)
{
    ir_graph *c = ir_graph_new();
    int fail = 0;
    if (!c) goto oom;
    c->values = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof(ir_value));
    c->nodes = calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(ir_node));
    if (!c->values || !c->nodes) goto oom;
    c->cap_values = g->n_values ? g->n_values : 1;
    c->cap_nodes = g->n_nodes ? g->n_nodes : 1;
    for (int v = 0; v < g->n_values; v++) {
        const ir_value *s = &g->values[v];
        ir_value *d = &c->values[v];
        *d = *s;
        d->name = NULL;
        d->data = NULL;
        c->n_values = v + 1;
        d->name = dup_or_null(s->name, &fail);
        if (s->data) {
            d->data = malloc(s->nbytes ? s->nbytes : 1);
            if (!d->data) goto oom;
            if (s->nbytes) memcpy(d->data, s->data, s->nbytes);
        }
        if (fail) goto oom;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *s = &g->nodes[i];
        ir_node *d = &c->nodes[i];
        *d = *s;
        d->name = NULL; d->in = NULL; d->out = NULL;
        c->n_nodes = i + 1;
        d->name = dup_or_null(s->name, &fail);
        d->in = dup_ints(s->in, s->n_in, &fail);
        d->out = dup_ints(s->out, s->n_out, &fail);
        if (fail) goto oom;
    }
    c->inputs = dup_ints(g->inputs, g->n_inputs, &fail);
    c->n_inputs = g->n_inputs;
    c->outputs = dup_ints(g->outputs, g->n_outputs, &fail);
    c->n_outputs = g->n_outputs;
    c->source_path = dup_or_null(g->source_path, &fail);
    c->source_format = dup_or_null(g->source_format, &fail);
    c->producer = dup_or_null(g->producer, &fail);
    memcpy(c->source_sha256, g->source_sha256, 32);
    c->source_bytes = g->source_bytes;
    if (fail) goto oom;
    if (g->n_labels > 0) {
        c->labels = calloc((size_t)g->n_labels, sizeof(char *));
        if (!c->labels) goto oom;
        c->n_labels = g->n_labels;
        for (int i = 0; i < g->n_labels; i++) c->labels[i] = dup_or_null(g->labels[i], &fail);
        if (fail) goto oom;
    }
    if (g->passes_meta && !(c->passes_meta = cJSON_Duplicate(g->passes_meta, 1))) goto oom;
    if (g->extra_meta && !(c->extra_meta = cJSON_Duplicate(g->extra_meta, 1))) goto oom;
    return c;
oom:
    ir_graph_free(c);
    fc_fail(err, FC_ENOMEM, "out of memory cloning the graph");
    return NULL;
}

void ir_param_stats(const ir_graph *g, uint64_t *params, uint64_t *bytes)
{
    uint64_t p = 0, b = 0;
    for (int v = 0; v < g->n_values; v++) {
        const ir_value *x = &g->values[v];
        if (!x->data) continue;
        size_t n = 0;
        if (fc_numel(x->ndim, x->dims, &n) == 0) p += n;
        b += x->nbytes;
    }
    if (params) *params = p;
    if (bytes) *bytes = b;
}
