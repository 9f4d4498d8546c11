/* write_fcn.c — IR graph -> .fcn v1 bytes (runtime/format.h is the spec; docs/FORMAT.md
 * describes it). Determinism: the output depends only on the graph (no time, no pointers,
 * no hash-table order): sections in a fixed order, values and nodes in graph order,
 * attributes sorted by key, JSON keys in a fixed order, every padding byte zero.
 *
 * Layout written: header | section table | META | STRINGS | TENSORS | GRAPH | DATA, each
 * payload at a multiple of 64; inside DATA each constant at a multiple of 64. */
#include "converter/ir.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#ifndef FULLCONV_VERSION
#define FULLCONV_VERSION "0.1.0"
#endif

#define N_SECTIONS 5
#define MAX_NAME_LEN 4096

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* ---- META ------------------------------------------------------------------------------------ */

static cJSON *shape_json(const ir_value *v)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < v->ndim; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v->dims[i]));
    return a;
}

static cJSON *io_json(const ir_graph *g, const int *ids, int n)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n; i++) {
        const ir_value *v = &g->values[ids[i]];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", v->name);
        cJSON_AddStringToObject(o, "dtype", fc_dtype_name(v->dtype ? v->dtype : FC_DT_F32));
        cJSON_AddItemToObject(o, "shape", shape_json(v));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static char *build_meta(const ir_graph *g, fc_error *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) goto oom;
    cJSON_AddStringToObject(root, "format", "fcn");
    char ver[32];
    snprintf(ver, sizeof ver, "%d.%d", FCN_VERSION_MAJOR, FCN_VERSION_MINOR);
    cJSON_AddStringToObject(root, "format_version", ver);
    cJSON_AddStringToObject(root, "producer", "fullconv " FULLCONV_VERSION);
    if (g->source_path) {
        cJSON *src = cJSON_CreateObject();
        char hex[65];
        fc_hex(g->source_sha256, 32, hex);
        cJSON_AddStringToObject(src, "file", base_name(g->source_path));
        cJSON_AddStringToObject(src, "sha256", hex);
        cJSON_AddNumberToObject(src, "bytes", (double)g->source_bytes);
        if (g->source_format) cJSON_AddStringToObject(src, "format", g->source_format);
        if (g->producer) cJSON_AddStringToObject(src, "producer", g->producer);
        cJSON_AddItemToObject(root, "source", src);
    }
    cJSON_AddItemToObject(root, "inputs", io_json(g, g->inputs, g->n_inputs));
    cJSON_AddItemToObject(root, "outputs", io_json(g, g->outputs, g->n_outputs));
    if (g->n_labels > 0) {
        cJSON *labels = cJSON_CreateArray();
        for (int i = 0; labels && i < g->n_labels; i++)
            cJSON_AddItemToArray(labels, cJSON_CreateString(g->labels[i] ? g->labels[i] : ""));
        cJSON_AddItemToObject(root, "labels", labels);
    }
    cJSON_AddItemToObject(root, "passes",
                          g->passes_meta ? cJSON_Duplicate(g->passes_meta, 1) : cJSON_CreateArray());
    if (g->extra_meta && cJSON_IsObject(g->extra_meta)) {
        /* extra keys follow ours in their own order; they never replace a key we wrote */
        for (const cJSON *it = g->extra_meta->child; it; it = it->next) {
            if (!it->string || cJSON_GetObjectItemCaseSensitive(root, it->string)) continue;
            cJSON_AddItemToObject(root, it->string, cJSON_Duplicate(it, 1));
        }
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) goto oom;
    return text;
oom:
    fc_fail(err, FC_ENOMEM, "out of memory building the META section");
    return NULL;
}

/* ---- validation of what we are about to write (the reader would refuse it anyway; here
 * the message can name the IR problem instead of a byte offset) ---------------------------- */

static int check_graph(const ir_graph *g, fc_error *err)
{
    if ((uint64_t)g->n_values >= FCN_NO_VALUE) return fc_fail(err, FC_EINPUT, "too many values");
    for (int v = 0; v < g->n_values; v++) {
        const ir_value *x = &g->values[v];
        size_t len = x->name ? strlen(x->name) : 0;
        if (len == 0 || len > MAX_NAME_LEN)
            return fc_fail(err, FC_EINPUT, "value %d: name length %zu (must be 1..%d)", v, len, MAX_NAME_LEN);
        if (x->ndim > FCN_MAX_DIMS)
            return fc_fail(err, FC_EINPUT, "value '%s': %d dims (at most %d)", x->name, x->ndim, FCN_MAX_DIMS);
        if (x->dtype < 0 || x->dtype >= FC_DT_COUNT)
            return fc_fail(err, FC_EINPUT, "value '%s': invalid dtype %d", x->name, x->dtype);
        if (!x->data) continue;
        size_t numel, want;
        if (x->ndim < 0 || fc_dtype_size(x->dtype) == 0 || fc_numel(x->ndim, x->dims, &numel) ||
            fc_mul_size(numel, fc_dtype_size(x->dtype), &want) || want != x->nbytes)
            return fc_fail(err, FC_EINPUT, "constant '%s': payload of %zu bytes does not match its shape",
                           x->name, x->nbytes);
        if (x->dtype == FC_DT_I8) {
            const ir_value *s = (x->aux >= 0 && x->aux < g->n_values) ? &g->values[x->aux] : NULL;
            size_t sn = 0;
            if (x->ndim < 1 || !s || !s->data || s->dtype != FC_DT_F32 || fc_numel(s->ndim, s->dims, &sn) ||
                (int64_t)sn != x->dims[0])
                return fc_fail(err, FC_EINPUT,
                               "int8 constant '%s' needs an f32 scale constant with dims[0] entries", x->name);
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        size_t len = n->name ? strlen(n->name) : 0;
        if (len == 0 || len > MAX_NAME_LEN)
            return fc_fail(err, FC_EINPUT, "node %d: name length %zu (must be 1..%d)", i, len, MAX_NAME_LEN);
        if (n->n_in > FCN_MAX_NODE_IO || n->n_out > FCN_MAX_NODE_IO)
            return fc_fail(err, FC_EINPUT, "node '%s': too many inputs/outputs", n->name);
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] < -1 || n->in[k] >= g->n_values)
                return fc_fail(err, FC_EINPUT, "node '%s': input %d refers to value %d, only %d values", n->name,
                               k, n->in[k], g->n_values);
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] < 0 || n->out[k] >= g->n_values)
                return fc_fail(err, FC_EINPUT, "node '%s': output %d refers to value %d, only %d values", n->name,
                               k, n->out[k], g->n_values);
        for (int a = 0; a < n->n_attrs; a++) {
            const ir_attr *at = &n->attrs[a];
            int list = at->kind == FCN_AK_INTS || at->kind == FCN_AK_FLOATS;
            if (at->kind < FCN_AK_INT || at->kind > FCN_AK_FLOATS || at->count < 0 ||
                at->count > IR_MAX_ATTR_VALUES || (!list && at->count != 1))
                return fc_fail(err, FC_EINPUT, "node '%s': attribute %d has kind %d count %d", n->name, at->key,
                               at->kind, at->count);
        }
    }
    for (int k = 0; k < g->n_inputs; k++)
        if (g->inputs[k] < 0 || g->inputs[k] >= g->n_values)
            return fc_fail(err, FC_EINPUT, "graph input %d refers to value %d", k, g->inputs[k]);
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] < 0 || g->outputs[k] >= g->n_values)
            return fc_fail(err, FC_EINPUT, "graph output %d refers to value %d", k, g->outputs[k]);
    return 0;
}

/* ---- sizes ------------------------------------------------------------------------------------ */

typedef struct layout {
    uint64_t strings_size, tensors_size, graph_size, data_size;
    uint32_t n_nodes, n_ids, n_attrs, n_slots;
    uint64_t *data_off;            /* per value */
} layout;

static int compute_layout(const ir_graph *g, layout *L, fc_error *err)
{
    memset(L, 0, sizeof *L);
    L->data_off = calloc((size_t)g->n_values + 1, sizeof(uint64_t));
    if (!L->data_off) return fc_fail(err, FC_ENOMEM, "out of memory");
    uint64_t data = 0;
    for (int v = 0; v < g->n_values; v++) {
        const ir_value *x = &g->values[v];
        L->strings_size += strlen(x->name);
        if (x->data) {
            data = align_up(data, FCN_DATA_ALIGN);
            L->data_off[v] = data;
            data += x->nbytes;
        } else {
            L->data_off[v] = FCN_NO_DATA;
        }
    }
    L->data_size = data;
    uint64_t ids = 0, attrs = 0, slots = 0, nodes = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        nodes++;
        L->strings_size += strlen(n->name);
        ids += (uint64_t)n->n_in + (uint64_t)n->n_out;
        attrs += (uint64_t)n->n_attrs;
        for (int a = 0; a < n->n_attrs; a++) slots += (uint64_t)n->attrs[a].count;
    }
    if (L->strings_size > UINT32_MAX || ids > UINT32_MAX || slots > UINT32_MAX)
        return fc_fail(err, FC_EINPUT, "graph too large for the .fcn v1 format");
    L->n_nodes = (uint32_t)nodes;
    L->n_ids = (uint32_t)ids;
    L->n_attrs = (uint32_t)attrs;
    L->n_slots = (uint32_t)slots;
    L->tensors_size = (uint64_t)g->n_values * sizeof(fcn_tensor_rec);
    L->graph_size = sizeof(fcn_graph_hdr) + align_up(4ull * ((uint64_t)g->n_inputs + (uint64_t)g->n_outputs), 8) +
                    nodes * sizeof(fcn_node_rec) + align_up(4ull * ids, 8) + attrs * sizeof(fcn_attr_rec) +
                    slots * 8ull;
    return 0;
}

/* ---- emit ------------------------------------------------------------------------------------- */

static int cmp_attr_key(const void *a, const void *b)
{
    const ir_attr *x = *(const ir_attr *const *)a, *y = *(const ir_attr *const *)b;
    return (x->key > y->key) - (x->key < y->key);
}

static void put(uint8_t *base, uint64_t *pos, const void *src, size_t n)
{
    memcpy(base + *pos, src, n);
    *pos += n;
}

static void emit_graph(const ir_graph *g, const layout *L, uint8_t *p, uint32_t node_names_off)
{
    uint64_t pos = 0;
    fcn_graph_hdr gh;
    memset(&gh, 0, sizeof gh);
    gh.n_nodes = L->n_nodes;
    gh.n_inputs = (uint32_t)g->n_inputs;
    gh.n_outputs = (uint32_t)g->n_outputs;
    gh.n_ids = L->n_ids;
    gh.n_attrs = L->n_attrs;
    gh.n_slots = L->n_slots;
    put(p, &pos, &gh, sizeof gh);
    for (int k = 0; k < g->n_inputs; k++) { uint32_t id = (uint32_t)g->inputs[k]; put(p, &pos, &id, 4); }
    for (int k = 0; k < g->n_outputs; k++) { uint32_t id = (uint32_t)g->outputs[k]; put(p, &pos, &id, 4); }
    pos = align_up(pos, 8);   /* the buffer is zeroed: padding stays zero */

    uint64_t nodes_pos = pos;
    uint64_t ids_pos = nodes_pos + (uint64_t)L->n_nodes * sizeof(fcn_node_rec);
    uint64_t attrs_pos = ids_pos + align_up(4ull * L->n_ids, 8);
    uint64_t slots_pos = attrs_pos + (uint64_t)L->n_attrs * sizeof(fcn_attr_rec);
    uint32_t id_next = 0, attr_next = 0, slot_next = 0, name_off = node_names_off;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        fcn_node_rec r;
        memset(&r, 0, sizeof r);
        r.op = (uint32_t)n->op;
        r.name_off = name_off;
        r.name_len = (uint32_t)strlen(n->name);
        name_off += r.name_len;
        r.in_first = id_next;
        r.n_in = (uint32_t)n->n_in;
        for (int k = 0; k < n->n_in; k++) {
            uint32_t id = n->in[k] < 0 ? FCN_NO_VALUE : (uint32_t)n->in[k];
            memcpy(p + ids_pos + 4ull * id_next++, &id, 4);
        }
        r.out_first = id_next;
        r.n_out = (uint32_t)n->n_out;
        for (int k = 0; k < n->n_out; k++) {
            uint32_t id = (uint32_t)n->out[k];
            memcpy(p + ids_pos + 4ull * id_next++, &id, 4);
        }
        r.attr_first = attr_next;
        r.n_attr = (uint32_t)n->n_attrs;
        const ir_attr *sorted[IR_MAX_ATTRS];
        for (int a = 0; a < n->n_attrs; a++) sorted[a] = &n->attrs[a];
        qsort(sorted, (size_t)n->n_attrs, sizeof sorted[0], cmp_attr_key);
        for (int a = 0; a < n->n_attrs; a++) {
            const ir_attr *at = sorted[a];
            fcn_attr_rec ar = { (uint32_t)at->key, (uint32_t)at->kind, (uint32_t)at->count, slot_next };
            memcpy(p + attrs_pos + sizeof ar * attr_next++, &ar, sizeof ar);
            for (int c = 0; c < at->count; c++) {
                uint64_t bits;
                if (at->kind == FCN_AK_INT || at->kind == FCN_AK_INTS) {
                    int64_t v = at->i[c];
                    memcpy(&bits, &v, 8);
                } else {
                    double d = at->f[c];
                    memcpy(&bits, &d, 8);
                }
                memcpy(p + slots_pos + 8ull * slot_next++, &bits, 8);
            }
        }
        memcpy(p + nodes_pos, &r, sizeof r);
        nodes_pos += sizeof r;
    }
}

int fcv_write_fcn(const ir_graph *g, uint8_t **buf, size_t *size, fc_error *err)
{
    *buf = NULL;
    *size = 0;
    if (check_graph(g, err)) return -1;
    layout L;
    char *meta = NULL;
    uint8_t *out = NULL;
    int rc = -1;
    if (compute_layout(g, &L, err)) goto done;
    meta = build_meta(g, err);
    if (!meta) goto done;
    uint64_t meta_size = strlen(meta);

    uint64_t sizes[N_SECTIONS] = { meta_size, L.strings_size, L.tensors_size, L.graph_size, L.data_size };
    const uint32_t kinds[N_SECTIONS] = { FCN_SECTION_META, FCN_SECTION_STRINGS, FCN_SECTION_TENSORS,
                                         FCN_SECTION_GRAPH, FCN_SECTION_DATA };
    uint64_t offs[N_SECTIONS];
    uint64_t pos = sizeof(fcn_header) + N_SECTIONS * sizeof(fcn_section);
    for (int s = 0; s < N_SECTIONS; s++) {
        pos = align_up(pos, FCN_SECTION_ALIGN);
        offs[s] = pos;
        pos += sizes[s];
    }
    uint64_t file_size = pos;
    uint64_t alloc = align_up(file_size ? file_size : 1, 64);
    if (alloc > SIZE_MAX) {
        fc_fail(err, FC_EINPUT, "model too large");
        goto done;
    }
    out = aligned_alloc(64, (size_t)alloc);
    if (!out) {
        fc_fail(err, FC_ENOMEM, "out of memory writing a %llu-byte model", (unsigned long long)file_size);
        goto done;
    }
    memset(out, 0, (size_t)alloc);

    memcpy(out + offs[0], meta, meta_size);
    /* STRINGS: value names then node names, in graph order */
    uint8_t *str = out + offs[1];
    uint64_t spos = 0;
    for (int v = 0; v < g->n_values; v++) put(str, &spos, g->values[v].name, strlen(g->values[v].name));
    uint32_t node_names_off = (uint32_t)spos;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead) put(str, &spos, g->nodes[i].name, strlen(g->nodes[i].name));

    uint32_t name_off = 0;
    for (int v = 0; v < g->n_values; v++) {
        const ir_value *x = &g->values[v];
        fcn_tensor_rec r;
        memset(&r, 0, sizeof r);
        r.name_off = name_off;
        r.name_len = (uint32_t)strlen(x->name);
        name_off += r.name_len;
        r.dtype = (uint32_t)(x->dtype ? x->dtype : FC_DT_F32);
        /* an activation whose rank is still unknown is stored as rank 0: the session infers it */
        r.ndim = x->ndim > 0 ? (uint32_t)x->ndim : 0;
        for (int d = 0; d < (int)r.ndim; d++) r.dims[d] = x->dims[d];
        r.data_off = L.data_off[v];
        r.data_size = x->data ? x->nbytes : 0;
        r.aux_id = (x->data && x->dtype == FC_DT_I8) ? (uint32_t)x->aux : FCN_NO_VALUE;
        memcpy(out + offs[2] + (uint64_t)v * sizeof r, &r, sizeof r);
        if (x->data && x->nbytes) memcpy(out + offs[4] + L.data_off[v], x->data, x->nbytes);
    }
    emit_graph(g, &L, out + offs[3], node_names_off);

    fcn_section table[N_SECTIONS];
    memset(table, 0, sizeof table);
    for (int s = 0; s < N_SECTIONS; s++) {
        table[s].kind = kinds[s];
        /* every v1 section is needed to run the model */
        table[s].flags = FCN_SECTION_CRITICAL;
        table[s].offset = offs[s];
        table[s].size = sizes[s];
        table[s].crc32 = fc_crc32(out + offs[s], (size_t)sizes[s]);
    }
    memcpy(out + sizeof(fcn_header), table, sizeof table);

    fcn_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, FCN_MAGIC, 8);
    h.version_major = FCN_VERSION_MAJOR;
    h.version_minor = FCN_VERSION_MINOR;
    h.header_size = sizeof(fcn_header);
    h.file_size = file_size;
    h.section_table_offset = sizeof(fcn_header);
    h.section_count = N_SECTIONS;
    h.section_table_crc = fc_crc32(table, sizeof table);
    memcpy(out, &h, sizeof h);
    h.header_crc = fc_crc32(out, offsetof(fcn_header, header_crc));
    memcpy(out, &h, sizeof h);

    *buf = out;
    *size = (size_t)file_size;
    out = NULL;
    rc = 0;
done:
    free(L.data_off);
    free(meta);
    free(out);
    return rc;
}

static int save_fcn(const ir_graph *g, const char *path, int force, fcv_prepack_stats *prepack, fc_error *err)
{
    if (g->source_path && fc_same_file(g->source_path, path))
        return fc_fail(err, FC_EINPUT, "%s: refusing to overwrite the source model", path);
    uint8_t *buf;
    size_t size;
    if (fcv_write_fcn(g, &buf, &size, err)) return fc_wrap(err, "%s", path);
    if (prepack && fcv_prepack(&buf, &size, path, prepack, err)) {
        free(buf);
        return -1;
    }
    int rc = fc_write_file_atomic(path, buf, size, force, err);
    free(buf);
    return rc;
}

int fcv_save_fcn(const ir_graph *g, const char *path, int force, fc_error *err)
{
    return save_fcn(g, path, force, NULL, err);
}

int fcv_save_fcn_prepacked(const ir_graph *g, const char *path, int force, fcv_prepack_stats *stats, fc_error *err)
{
    return save_fcn(g, path, force, stats, err);
}
