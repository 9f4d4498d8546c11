/* model.c — opens a .fcn file (mmap read-only, or a buffer) and validates every byte that
 * will ever be used before anything else looks at it: header, section table, each section's
 * bounds/alignment/CRC, every name, tensor record, node, id, attribute and count, with
 * overflow-safe arithmetic (all sums of file-controlled numbers are done in uint64_t on
 * values that are at most 2^32 * 2^8, or checked with __builtin_*_overflow).
 *
 * After validation the session can trust: ids < n_tensors (or FCN_NO_VALUE for an absent
 * optional input), every constant's payload lies inside DATA at a 64-byte boundary with
 * data_size == numel * dtype size, every node's op is known with an input/output count in
 * its def's range, and nodes are in an order where each input exists before it is used. */
#include "runtime/model_priv.h"
#include "runtime/op.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SECTIONS 64
#define MAX_NAME_LEN 4096

static const char *section_kind_name(uint32_t kind)
{
    switch (kind) {
    case FCN_SECTION_META: return "META";
    case FCN_SECTION_STRINGS: return "STRINGS";
    case FCN_SECTION_TENSORS: return "TENSORS";
    case FCN_SECTION_GRAPH: return "GRAPH";
    case FCN_SECTION_DATA: return "DATA";
    case FCN_SECTION_PREPACKED: return "PREPACKED";
    default: return "unknown";
    }
}

/* Every failure below is hostile or damaged input. */
#define BAD(...) fc_fail(err, FC_EINPUT, __VA_ARGS__)

/* ---- header and sections ------------------------------------------------------------------- */

static int check_header(fcn_model *m, fc_error *err)
{
    const char *nm = m->name;
    if (m->size < sizeof(fcn_header))
        return BAD("%s: truncated: %zu bytes, the header alone is %zu", nm, m->size, sizeof(fcn_header));
    fcn_header h;
    memcpy(&h, m->base, sizeof h);
    if (memcmp(h.magic, FCN_MAGIC, 8) != 0) return BAD("%s: not a .fcn file (bad magic)", nm);
    if (h.version_major > FCN_VERSION_MAJOR)
        return BAD("%s: format version %u.%u is newer than this reader's %d.%d; upgrade fullconv", nm,
                   h.version_major, h.version_minor, FCN_VERSION_MAJOR, FCN_VERSION_MINOR);
    if (h.version_major < FCN_VERSION_MAJOR)
        return BAD("%s: format version %u.%u is not supported (this reader reads %d.x)", nm, h.version_major,
                   h.version_minor, FCN_VERSION_MAJOR);
    if (h.header_size != sizeof(fcn_header))
        return BAD("%s: header_size is %u, expected %zu", nm, h.header_size, sizeof(fcn_header));
    uint32_t crc = fc_crc32(m->base, offsetof(fcn_header, header_crc));
    if (crc != h.header_crc)
        return BAD("%s: header crc mismatch (stored 0x%08x, computed 0x%08x)", nm, h.header_crc, crc);
    if (h.file_size != m->size)
        return BAD("%s: header says %llu bytes, file has %zu (truncated or padded)", nm,
                   (unsigned long long)h.file_size, m->size);
    if (h.section_count < 1 || h.section_count > MAX_SECTIONS)
        return BAD("%s: section_count %u (must be 1..%d)", nm, h.section_count, MAX_SECTIONS);
    uint64_t table_end = h.section_table_offset + (uint64_t)h.section_count * sizeof(fcn_section);
    if (h.section_table_offset < sizeof(fcn_header) || h.section_table_offset % 8 != 0 ||
        h.section_table_offset > m->size || table_end > m->size)
        return BAD("%s: section table at offset %llu (%u entries) lies outside the %zu-byte file", nm,
                   (unsigned long long)h.section_table_offset, h.section_count, m->size);
    crc = fc_crc32(m->base + h.section_table_offset, (size_t)h.section_count * sizeof(fcn_section));
    if (crc != h.section_table_crc)
        return BAD("%s: section table crc mismatch (stored 0x%08x, computed 0x%08x)", nm, h.section_table_crc, crc);
    return 0;
}

/* Threads for checking the CRCs of big sections (fc_crc32_mt, 16 MB and up): FULLCONV_THREADS
 * when set, else the online CPUs, at most 4. Reading a 200 MB file is memory-bound on one core;
 * a prepacked ResNet-50 (226 MB) opens in about half the time on two. */
static int crc_threads(void)
{
    const char *e = getenv("FULLCONV_THREADS");
    if (e && *e) {
        long v = strtol(e, NULL, 10);
        if (v >= 1) return v > 4 ? 4 : (int)v;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

static int check_sections(fcn_model *m, const fcn_section *found[7], fc_error *err)
{
    const char *nm = m->name;
    fcn_header h;
    memcpy(&h, m->base, sizeof h);
    const fcn_section *tab = (const fcn_section *)(m->base + h.section_table_offset);
    uint64_t prev_end = h.section_table_offset + (uint64_t)h.section_count * sizeof(fcn_section);
    for (int k = 0; k < 7; k++) found[k] = NULL;
    for (uint32_t i = 0; i < h.section_count; i++) {
        const fcn_section *s = &tab[i];
        const char *kn = section_kind_name(s->kind);
        if (s->offset % FCN_SECTION_ALIGN != 0)
            return BAD("%s: section %u (%s) offset %llu is not a multiple of %d", nm, i, kn,
                       (unsigned long long)s->offset, FCN_SECTION_ALIGN);
        if (s->offset > m->size || s->size > m->size - s->offset)
            return BAD("%s: section %u (%s) [%llu, +%llu) extends past the end of the %zu-byte file", nm, i, kn,
                       (unsigned long long)s->offset, (unsigned long long)s->size, m->size);
        /* payloads follow the table in table order, without overlapping */
        if (s->offset < prev_end)
            return BAD("%s: section %u (%s) at offset %llu overlaps the previous section or the table", nm, i,
                       kn, (unsigned long long)s->offset);
        prev_end = s->offset + s->size;
        uint32_t crc = fc_crc32_mt(m->base + s->offset, (size_t)s->size, crc_threads());
        if (crc != s->crc32)
            return BAD("%s: section %u (%s) crc mismatch (stored 0x%08x, computed 0x%08x)", nm, i, kn, s->crc32, crc);
        if (s->kind >= FCN_SECTION_META && s->kind <= FCN_SECTION_PREPACKED) {
            if (found[s->kind])
                return BAD("%s: section %u: a second %s section", nm, i, kn);
            found[s->kind] = s;
        } else if (s->flags & FCN_SECTION_CRITICAL) {
            return BAD("%s: section %u has unknown kind %u marked critical (written by a newer fullconv?)", nm, i,
                       s->kind);
        }
        /* unknown non-critical sections are skipped: later minor versions may add them */
    }
    for (uint32_t k = FCN_SECTION_META; k <= FCN_SECTION_DATA; k++)   /* PREPACKED is optional */
        if (!found[k]) return BAD("%s: missing the %s section", nm, section_kind_name(k));
    return 0;
}

/* ---- names ---------------------------------------------------------------------------------- */

static int check_name(const fcn_model *m, uint32_t off, uint32_t len, const char *what, uint64_t idx,
                      fc_error *err)
{
    if (len < 1 || len > MAX_NAME_LEN)
        return BAD("%s: %s %llu has a name of %u bytes (must be 1..%d)", m->name, what, (unsigned long long)idx,
                   len, MAX_NAME_LEN);
    if ((uint64_t)off + len > m->strings_len)
        return BAD("%s: %s %llu name [%u, +%u) lies outside STRINGS (%zu bytes)", m->name, what,
                   (unsigned long long)idx, off, len, m->strings_len);
    if (memchr(m->strings + off, 0, len))
        return BAD("%s: %s %llu name contains a NUL byte", m->name, what, (unsigned long long)idx);
    return 0;
}

static char *copy_name(const fcn_model *m, uint32_t off, uint32_t len)
{
    char *s = malloc((size_t)len + 1);
    if (!s) return NULL;
    memcpy(s, m->strings + off, len);
    s[len] = 0;
    return s;
}

/* ---- tensors -------------------------------------------------------------------------------- */

typedef struct data_span { uint64_t off, size; uint32_t t; } data_span;

static int cmp_span(const void *a, const void *b)
{
    const data_span *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off ? 1 : (x->t < y->t ? -1 : x->t > y->t);
}

/* The writer gives every constant its own bytes; two records claiming the same bytes are a
 * crafted file (one tensor could alias another's weights or scales), so they are refused. */
static int check_no_overlap(fcn_model *m, fc_error *err)
{
    size_t n = 0;
    data_span *sp = malloc(sizeof *sp * ((size_t)m->n_tensors + 1));
    if (!sp) return fc_fail(err, FC_ENOMEM, "%s: out of memory", m->name);
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const fcn_tensor_rec *r = &m->tensors[t];
        if (r->data_off != FCN_NO_DATA && r->data_size > 0) sp[n++] = (data_span){ r->data_off, r->data_size, t };
    }
    qsort(sp, n, sizeof *sp, cmp_span);
    for (size_t i = 1; i < n; i++)
        if (sp[i - 1].off + sp[i - 1].size > sp[i].off) {
            int rc = fc_fail(err, FC_EINPUT, "%s: constants '%s' and '%s' overlap in DATA", m->name,
                             m->tensor_names[sp[i - 1].t], m->tensor_names[sp[i].t]);
            free(sp);
            return rc;
        }
    free(sp);
    return 0;
}

static int check_tensors(fcn_model *m, fc_error *err)
{
    const char *nm = m->name;
    m->weight_bytes = 0;
    m->param_count = 0;
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const fcn_tensor_rec *r = &m->tensors[t];
        if (check_name(m, r->name_off, r->name_len, "tensor", t, err)) return -1;
        const char *tn = m->tensor_names[t];
        if (r->dtype <= FC_DT_INVALID || r->dtype >= FC_DT_COUNT)
            return BAD("%s: tensor '%s' has invalid dtype %u", nm, tn, r->dtype);
        if (r->ndim > FCN_MAX_DIMS)
            return BAD("%s: tensor '%s' has %u dims (at most %d)", nm, tn, r->ndim, FCN_MAX_DIMS);
        if (r->data_off == FCN_NO_DATA) {
            for (uint32_t d = 0; d < r->ndim; d++)
                if (r->dims[d] < -1)
                    return BAD("%s: tensor '%s' dim %u is %lld", nm, tn, d, (long long)r->dims[d]);
            if (r->data_size != 0 || r->aux_id != FCN_NO_VALUE)
                return BAD("%s: activation '%s' has a data size or aux tensor", nm, tn);
            continue;
        }
        size_t numel, want;
        if (fc_numel((int)r->ndim, r->dims, &numel) || fc_mul_size(numel, fc_dtype_size((int)r->dtype), &want))
            return BAD("%s: constant '%s' has negative or overflowing dims", nm, tn);
        if (want != r->data_size)
            return BAD("%s: constant '%s' data_size %llu, its shape needs %zu", nm, tn,
                       (unsigned long long)r->data_size, want);
        if (r->data_off % FCN_DATA_ALIGN != 0)
            return BAD("%s: constant '%s' data offset %llu is not a multiple of %d", nm, tn,
                       (unsigned long long)r->data_off, FCN_DATA_ALIGN);
        if (r->data_off > m->data_size || r->data_size > m->data_size - r->data_off)
            return BAD("%s: constant '%s' data [%llu, +%llu) lies outside DATA (%llu bytes)", nm, tn,
                       (unsigned long long)r->data_off, (unsigned long long)r->data_size,
                       (unsigned long long)m->data_size);
        if (r->data_size > fc_limits_current.max_tensor_bytes)
            return BAD("%s: constant '%s' is %llu bytes, over the tensor limit", nm, tn,
                       (unsigned long long)r->data_size);
        m->weight_bytes += r->data_size;
        m->param_count += numel;
    }
    if (check_no_overlap(m, err)) return -1;
    /* aux tensors, once every record is known good */
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const fcn_tensor_rec *r = &m->tensors[t];
        const char *tn = m->tensor_names[t];
        if (r->data_off == FCN_NO_DATA) continue;
        if (r->dtype != FC_DT_I8) {
            if (r->aux_id != FCN_NO_VALUE) return BAD("%s: constant '%s' (%s) has an aux tensor", nm, tn,
                                                      fc_dtype_name((int)r->dtype));
            continue;
        }
        if (r->ndim < 1) return BAD("%s: int8 constant '%s' needs at least one dim for its scales", nm, tn);
        if (r->aux_id >= m->n_tensors)
            return BAD("%s: int8 constant '%s' scale tensor id %u, only %u tensors", nm, tn, r->aux_id, m->n_tensors);
        const fcn_tensor_rec *s = &m->tensors[r->aux_id];
        size_t sn = 0;
        if (s->data_off == FCN_NO_DATA || s->dtype != FC_DT_F32 || fc_numel((int)s->ndim, s->dims, &sn) ||
            (int64_t)sn != r->dims[0])
            return BAD("%s: int8 constant '%s' scale tensor '%s' must be an f32 constant of %lld entries", nm, tn,
                       m->tensor_names[r->aux_id], (long long)r->dims[0]);
    }
    return 0;
}

/* ---- graph ------------------------------------------------------------------------------------ */

static uint64_t align8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }

static int check_graph_layout(fcn_model *m, const fcn_section *gs, fc_error *err)
{
    const char *nm = m->name;
    if (gs->size < sizeof(fcn_graph_hdr))
        return BAD("%s: GRAPH section is %llu bytes, smaller than its header", nm, (unsigned long long)gs->size);
    const uint8_t *p = m->base + gs->offset;
    memcpy(&m->graph, p, sizeof m->graph);
    const fcn_graph_hdr *g = &m->graph;
    if (g->n_nodes > fc_limits_current.max_nodes)
        return BAD("%s: %u nodes, over the limit of %u", nm, g->n_nodes, fc_limits_current.max_nodes);
    /* each count is < 2^32 and each element <= 40 bytes: the sum cannot overflow uint64_t */
    uint64_t io_off = sizeof(fcn_graph_hdr);
    uint64_t nodes_off = io_off + align8(4ull * ((uint64_t)g->n_inputs + g->n_outputs));
    uint64_t ids_off = nodes_off + (uint64_t)g->n_nodes * sizeof(fcn_node_rec);
    uint64_t attrs_off = ids_off + align8(4ull * g->n_ids);
    uint64_t slots_off = attrs_off + (uint64_t)g->n_attrs * sizeof(fcn_attr_rec);
    uint64_t end = slots_off + 8ull * g->n_slots;
    if (end != gs->size)
        return BAD("%s: GRAPH section is %llu bytes, its counts (%u nodes, %u ids, %u attrs, %u slots) need %llu",
                   nm, (unsigned long long)gs->size, g->n_nodes, g->n_ids, g->n_attrs, g->n_slots,
                   (unsigned long long)end);
    m->inputs = (const uint32_t *)(p + io_off);
    m->outputs = m->inputs + g->n_inputs;
    m->nodes = (const fcn_node_rec *)(p + nodes_off);
    m->ids = (const uint32_t *)(p + ids_off);
    m->attrs = (const fcn_attr_rec *)(p + attrs_off);
    m->slots = (const uint64_t *)(p + slots_off);
    return 0;
}

static int check_attrs(const fcn_model *m, const fcn_node_rec *n, const char *nn, fc_error *err)
{
    const char *nm = m->name;
    if ((uint64_t)n->attr_first + n->n_attr > m->graph.n_attrs)
        return BAD("%s: node '%s' attributes [%u, +%u) outside the %u attributes", nm, nn, n->attr_first, n->n_attr,
                   m->graph.n_attrs);
    uint8_t seen[FCN_ATTR_COUNT] = { 0 };
    for (uint32_t a = 0; a < n->n_attr; a++) {
        const fcn_attr_rec *r = &m->attrs[n->attr_first + a];
        if (r->key == 0 || r->key >= FCN_ATTR_COUNT)
            return BAD("%s: node '%s' attribute %u has unknown key %u", nm, nn, a, r->key);
        if (seen[r->key]) return BAD("%s: node '%s' has attribute %u twice", nm, nn, r->key);
        seen[r->key] = 1;
        if (r->kind < FCN_AK_INT || r->kind > FCN_AK_FLOATS)
            return BAD("%s: node '%s' attribute %u has unknown kind %u", nm, nn, r->key, r->kind);
        if (r->count > FCN_MAX_ATTR_VALUES)
            return BAD("%s: node '%s' attribute %u has %u values (at most %d)", nm, nn, r->key, r->count,
                       FCN_MAX_ATTR_VALUES);
        if ((r->kind == FCN_AK_INT || r->kind == FCN_AK_FLOAT) && r->count != 1)
            return BAD("%s: node '%s' scalar attribute %u has count %u", nm, nn, r->key, r->count);
        if ((uint64_t)r->slot_first + r->count > m->graph.n_slots)
            return BAD("%s: node '%s' attribute %u values [%u, +%u) outside the %u slots", nm, nn, r->key,
                       r->slot_first, r->count, m->graph.n_slots);
    }
    return 0;
}

/* state per tensor while walking the nodes in order */
enum { V_NONE = 0, V_CONST = 1, V_INPUT = 2, V_PRODUCED = 3 };

static int check_nodes(fcn_model *m, fc_error *err)
{
    const char *nm = m->name;
    const fcn_graph_hdr *g = &m->graph;
    uint8_t *state = calloc((size_t)m->n_tensors + 1, 1);
    if (!state) return fc_fail(err, FC_ENOMEM, "%s: out of memory", nm);
    int rc = -1;
    for (uint32_t t = 0; t < m->n_tensors; t++)
        if (fcn_model_tensor_is_const(m, t)) state[t] = V_CONST;
    if (g->n_outputs < 1) {
        BAD("%s: the graph has no outputs", nm);
        goto out;
    }
    for (uint32_t k = 0; k < g->n_inputs; k++) {
        uint32_t id = m->inputs[k];
        if (id >= m->n_tensors) {
            BAD("%s: graph input %u refers to value %u, only %u values", nm, k, id, m->n_tensors);
            goto out;
        }
        if (state[id] == V_CONST) {
            BAD("%s: graph input %u ('%s') is a constant", nm, k, m->tensor_names[id]);
            goto out;
        }
        if (state[id] == V_INPUT) {
            BAD("%s: graph input '%s' listed twice", nm, m->tensor_names[id]);
            goto out;
        }
        state[id] = V_INPUT;
    }
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const fcn_node_rec *n = &m->nodes[i];
        if (check_name(m, n->name_off, n->name_len, "node", i, err)) goto out;
        const char *nn = m->node_names[i];
        const fcn_op_def *def = fcn_op_lookup((int)n->op);
        if (!def) {
            BAD("%s: node '%s' has unknown op %u", nm, nn, n->op);
            goto out;
        }
        if (n->n_in > FCN_MAX_NODE_IO || n->n_out > FCN_MAX_NODE_IO ||
            (int)n->n_in < def->min_in || (def->max_in >= 0 && (int)n->n_in > def->max_in) ||
            (int)n->n_out < def->min_out || (def->max_out >= 0 && (int)n->n_out > def->max_out)) {
            BAD("%s: node '%s' (%s) has %u inputs and %u outputs, the op takes %d..%d and %d..%d", nm, nn,
                def->name, n->n_in, n->n_out, def->min_in, def->max_in, def->min_out, def->max_out);
            goto out;
        }
        if ((uint64_t)n->in_first + n->n_in > g->n_ids || (uint64_t)n->out_first + n->n_out > g->n_ids) {
            BAD("%s: node '%s' input/output ranges lie outside the %u ids", nm, nn, g->n_ids);
            goto out;
        }
        if (check_attrs(m, n, nn, err)) goto out;
        /* an input-major Conv weight (W_LAYOUT 1) cannot be int8: its scales run along dims[0],
         * the slowest dimension of the ONNX order only (the op checks the value itself) */
        if (n->op == FCN_OP_CONV && n->n_in > 1 && m->ids[n->in_first + 1] < m->n_tensors &&
            m->tensors[m->ids[n->in_first + 1]].dtype == FC_DT_I8)
            for (uint32_t a = 0; a < n->n_attr; a++) {
                const fcn_attr_rec *r = &m->attrs[n->attr_first + a];
                if (r->key == FCN_ATTR_W_LAYOUT && r->count == 1 && m->slots[r->slot_first] != 0) {
                    BAD("%s: node '%s' (Conv) has an int8 weight stored input-major (w_layout), which is not"
                        " supported", nm, nn);
                    goto out;
                }
            }
        for (uint32_t k = 0; k < n->n_in; k++) {
            uint32_t id = m->ids[n->in_first + k];
            if (id == FCN_NO_VALUE) continue;
            if (id >= m->n_tensors) {
                BAD("%s: node '%s' input %u refers to value %u, only %u values", nm, nn, k, id, m->n_tensors);
                goto out;
            }
            if (state[id] == V_NONE) {
                BAD("%s: node '%s' input %u ('%s') is not a constant, a graph input or an earlier node's output"
                    " (cycle or wrong order)", nm, nn, k, m->tensor_names[id]);
                goto out;
            }
        }
        for (uint32_t k = 0; k < n->n_out; k++) {
            uint32_t id = m->ids[n->out_first + k];
            if (id >= m->n_tensors) {
                BAD("%s: node '%s' output %u refers to value %u, only %u values", nm, nn, k, id, m->n_tensors);
                goto out;
            }
            if (state[id] != V_NONE) {
                BAD("%s: node '%s' output %u ('%s') is already a %s", nm, nn, k, m->tensor_names[id],
                    state[id] == V_CONST ? "constant" : state[id] == V_INPUT ? "graph input" : "node output");
                goto out;
            }
            state[id] = V_PRODUCED;
        }
    }
    for (uint32_t k = 0; k < g->n_outputs; k++) {
        uint32_t id = m->outputs[k];
        if (id >= m->n_tensors) {
            BAD("%s: graph output %u refers to value %u, only %u values", nm, k, id, m->n_tensors);
            goto out;
        }
        if (state[id] != V_PRODUCED) {
            BAD("%s: graph output '%s' is not produced by any node", nm, m->tensor_names[id]);
            goto out;
        }
    }
    rc = 0;
out:
    free(state);
    return rc;
}

/* ---- open / close ----------------------------------------------------------------------------- */

static int alloc_names(fcn_model *m, fc_error *err)
{
    m->tensor_names = calloc((size_t)m->n_tensors + 1, sizeof(char *));
    m->node_names = calloc((size_t)m->graph.n_nodes + 1, sizeof(char *));
    if (!m->tensor_names || !m->node_names) return fc_fail(err, FC_ENOMEM, "%s: out of memory", m->name);
    return 0;
}

/* PREPACKED (format.h): structure checked in full whether or not this runtime can use the
 * blobs; the blobs themselves are floats the kernels only read, sized exactly by the node's
 * kernel before use (session.c / conv_fast.c), so their contents need no check. */
static int check_prepacked(fcn_model *m, const fcn_section *ps, fc_error *err)
{
    const char *nm = m->name;
    if (ps->size < sizeof(fcn_prepack_hdr))
        return BAD("%s: PREPACKED section is %llu bytes, shorter than its header", nm, (unsigned long long)ps->size);
    const uint8_t *base = m->base + ps->offset;
    fcn_prepack_hdr h;
    memcpy(&h, base, sizeof h);
    if (h.reserved[0] || h.reserved[1] || h.reserved[2])
        return BAD("%s: PREPACKED header has nonzero reserved fields", nm);
    if (h.count > FCN_PREPACK_MAX_RECORDS || h.count > m->graph.n_nodes)
        return BAD("%s: PREPACKED has %u records for %u nodes", nm, h.count, m->graph.n_nodes);
    uint64_t recs_end = sizeof h + (uint64_t)h.count * sizeof(fcn_prepack_rec);
    if (recs_end > ps->size)
        return BAD("%s: PREPACKED records (%u) extend past the section's %llu bytes", nm, h.count,
                   (unsigned long long)ps->size);
    const fcn_prepack_rec *r = (const fcn_prepack_rec *)(base + sizeof h);
    uint64_t prev_end = recs_end;
    for (uint32_t i = 0; i < h.count; i++) {
        if (r[i].node >= m->graph.n_nodes || (i > 0 && r[i].node <= r[i - 1].node))
            return BAD("%s: PREPACKED record %u: node %u out of range or out of order", nm, i, r[i].node);
        if (r[i].kind < FCN_PREPACK_GEMM || r[i].kind > FCN_PREPACK_STEM || r[i].reserved)
            return BAD("%s: PREPACKED record %u (node '%s'): unknown kind %u", nm, i, m->node_names[r[i].node],
                       r[i].kind);
        if (r[i].offset % FCN_DATA_ALIGN || r[i].offset < prev_end || r[i].offset > ps->size ||
            r[i].size > ps->size - r[i].offset || r[i].size % sizeof(float))
            return BAD("%s: PREPACKED record %u (node '%s'): blob [%llu, +%llu) misaligned, overlapping or outside "
                       "the %llu-byte section", nm, i, m->node_names[r[i].node], (unsigned long long)r[i].offset,
                       (unsigned long long)r[i].size, (unsigned long long)ps->size);
        prev_end = r[i].offset + r[i].size;
    }
    m->prepack = h;
    m->prepack_recs = r;
    m->prepack_base = base;
    return 0;
}

int fcn_model_prepack_info(const fcn_model *m, fcn_prepack_hdr *h, uint64_t *bytes)
{
    memset(h, 0, sizeof *h);
    *bytes = 0;
    if (!m->prepack_recs) return 0;
    *h = m->prepack;
    for (uint32_t i = 0; i < h->count; i++) *bytes += m->prepack_recs[i].size;
    return 1;
}

const void *fcn_model_prepacked(const fcn_model *m, uint32_t node, uint32_t *kind, uint32_t *param, size_t *bytes)
{
    uint32_t lo = 0, hi = m->prepack_recs ? m->prepack.count : 0;
    while (lo < hi) {   /* records are sorted by node */
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->prepack_recs[mid].node < node) lo = mid + 1;
        else hi = mid;
    }
    if (lo >= (m->prepack_recs ? m->prepack.count : 0) || m->prepack_recs[lo].node != node) return NULL;
    const fcn_prepack_rec *r = &m->prepack_recs[lo];
    *kind = r->kind;
    *param = r->param;
    *bytes = (size_t)r->size;
    return m->prepack_base + r->offset;
}

static int parse(fcn_model *m, fc_error *err)
{
    const fcn_section *sec[7];
    if (check_header(m, err) || check_sections(m, sec, err)) return -1;
    m->meta = (const char *)m->base + sec[FCN_SECTION_META]->offset;
    m->meta_len = (size_t)sec[FCN_SECTION_META]->size;
    m->strings = (const char *)m->base + sec[FCN_SECTION_STRINGS]->offset;
    m->strings_len = (size_t)sec[FCN_SECTION_STRINGS]->size;
    m->data = m->base + sec[FCN_SECTION_DATA]->offset;
    m->data_size = sec[FCN_SECTION_DATA]->size;
    const fcn_section *ts = sec[FCN_SECTION_TENSORS];
    if (ts->size % sizeof(fcn_tensor_rec) != 0)
        return BAD("%s: TENSORS section is %llu bytes, not a multiple of %zu", m->name, (unsigned long long)ts->size,
                   sizeof(fcn_tensor_rec));
    uint64_t nt = ts->size / sizeof(fcn_tensor_rec);
    if (nt > fc_limits_current.max_tensors || nt >= FCN_NO_VALUE)
        return BAD("%s: %llu tensors, over the limit of %u", m->name, (unsigned long long)nt,
                   fc_limits_current.max_tensors);
    m->tensors = (const fcn_tensor_rec *)(m->base + ts->offset);
    m->n_tensors = (uint32_t)nt;
    if (check_graph_layout(m, sec[FCN_SECTION_GRAPH], err)) return -1;
    if (alloc_names(m, err)) return -1;
    for (uint32_t t = 0; t < m->n_tensors; t++) {
        const fcn_tensor_rec *r = &m->tensors[t];
        if (check_name(m, r->name_off, r->name_len, "tensor", t, err)) return -1;
        if (!(m->tensor_names[t] = copy_name(m, r->name_off, r->name_len)))
            return fc_fail(err, FC_ENOMEM, "%s: out of memory", m->name);
    }
    for (uint32_t i = 0; i < m->graph.n_nodes; i++) {
        const fcn_node_rec *n = &m->nodes[i];
        if (check_name(m, n->name_off, n->name_len, "node", i, err)) return -1;
        if (!(m->node_names[i] = copy_name(m, n->name_off, n->name_len)))
            return fc_fail(err, FC_ENOMEM, "%s: out of memory", m->name);
    }
    if (check_tensors(m, err) || check_nodes(m, err)) return -1;
    if (sec[FCN_SECTION_PREPACKED] && check_prepacked(m, sec[FCN_SECTION_PREPACKED], err)) return -1;
    cJSON *meta = cJSON_ParseWithLength(m->meta, m->meta_len);
    int ok = meta && cJSON_IsObject(meta);
    cJSON_Delete(meta);
    if (!ok) return BAD("%s: META section is not a JSON object", m->name);
    return 0;
}

void fcn_model_close(fcn_model *m)
{
    if (!m) return;
    if (m->tensor_names)
        for (uint32_t t = 0; t < m->n_tensors; t++) free(m->tensor_names[t]);
    if (m->node_names)
        for (uint32_t i = 0; i < m->graph.n_nodes; i++) free(m->node_names[i]);
    free(m->tensor_names);
    free(m->node_names);
    if (m->map) munmap(m->map, m->size);
    free(m->owned);
    free(m->name);
    free(m);
}

static fcn_model *new_model(const char *name, fc_error *err)
{
    fcn_model *m = calloc(1, sizeof *m);
    if (m) m->name = strdup(name ? name : "model");
    if (!m || !m->name) {
        free(m);
        fc_fail(err, FC_ENOMEM, "out of memory opening %s", name ? name : "model");
        return NULL;
    }
    return m;
}

int fcn_model_open_memory(const void *data, size_t size, const char *name, int copy,
                          fcn_model **out, fc_error *err)
{
    *out = NULL;
    fcn_model *m = new_model(name, err);
    if (!m) return -1;
    m->size = size;
    /* the records are read in place as structs and fp32 weights are used in place: a buffer
     * that is not 64-byte aligned is copied even when the caller asked us not to */
    if (copy || ((uintptr_t)data % FCN_DATA_ALIGN) != 0) {
        m->owned = aligned_alloc(FCN_DATA_ALIGN, (size + FCN_DATA_ALIGN - 1) / FCN_DATA_ALIGN * FCN_DATA_ALIGN + FCN_DATA_ALIGN);
        if (!m->owned) {
            fcn_model_close(m);
            return fc_fail(err, FC_ENOMEM, "%s: out of memory copying %zu bytes", name ? name : "model", size);
        }
        if (size) memcpy(m->owned, data, size);
        m->base = m->owned;
    } else {
        m->base = data;
    }
    if (parse(m, err)) {
        fcn_model_close(m);
        return -1;
    }
    *out = m;
    return 0;
}

int fcn_model_open(const char *path, fcn_model **out, fc_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fc_fail(err, FC_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fc_fail(err, FC_EINPUT, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > fc_limits_current.max_file_bytes) {
        close(fd);
        return fc_fail(err, FC_EINPUT, "%s: %lld bytes, over the file limit", path, (long long)st.st_size);
    }
    fcn_model *m = new_model(path, err);
    if (!m) {
        close(fd);
        return -1;
    }
    m->size = (size_t)st.st_size;
    if (m->size == 0) {
        close(fd);
        fcn_model_close(m);
        return fc_fail(err, FC_EINPUT, "%s: empty file", path);
    }
    /* MAP_POPULATE: open reads every byte anyway (each section's CRC) and the session reads
     * the weights again; mapping all pages in one call costs less than faulting them in. */
    void *map = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        fcn_model_close(m);
        return fc_fail(err, FC_EIO, "%s: cannot mmap: %s", path, strerror(errno));
    }
    m->map = map;
    m->base = map;
    if (parse(m, err)) {
        fcn_model_close(m);
        return -1;
    }
    *out = m;
    return 0;
}

/* ---- accessors -------------------------------------------------------------------------------- */

const char *fcn_model_name(const fcn_model *m) { return m->name; }
int fcn_model_num_inputs(const fcn_model *m) { return (int)m->graph.n_inputs; }
int fcn_model_num_outputs(const fcn_model *m) { return (int)m->graph.n_outputs; }
int fcn_model_num_nodes(const fcn_model *m) { return (int)m->graph.n_nodes; }
uint64_t fcn_model_file_size(const fcn_model *m) { return m->size; }
uint64_t fcn_model_weight_bytes(const fcn_model *m) { return m->weight_bytes; }
uint64_t fcn_model_param_count(const fcn_model *m) { return m->param_count; }

const char *fcn_model_input_name(const fcn_model *m, int i)
{
    if (i < 0 || (uint32_t)i >= m->graph.n_inputs) return NULL;
    return m->tensor_names[m->inputs[i]];
}

const char *fcn_model_output_name(const fcn_model *m, int i)
{
    if (i < 0 || (uint32_t)i >= m->graph.n_outputs) return NULL;
    return m->tensor_names[m->outputs[i]];
}

static void rec_shape(const fcn_tensor_rec *r, fcn_shape *shape)
{
    memset(shape, 0, sizeof *shape);
    shape->ndim = (int)r->ndim;
    for (uint32_t d = 0; d < r->ndim; d++) shape->dims[d] = r->dims[d];
}

void fcn_model_input_shape(const fcn_model *m, int i, fcn_shape *shape)
{
    if (i < 0 || (uint32_t)i >= m->graph.n_inputs) {
        memset(shape, 0, sizeof *shape);
        return;
    }
    rec_shape(&m->tensors[m->inputs[i]], shape);
}

void fcn_model_output_shape(const fcn_model *m, int i, fcn_shape *shape)
{
    if (i < 0 || (uint32_t)i >= m->graph.n_outputs) {
        memset(shape, 0, sizeof *shape);
        return;
    }
    rec_shape(&m->tensors[m->outputs[i]], shape);
}

const char *fcn_model_metadata(const fcn_model *m, size_t *len)
{
    if (len) *len = m->meta_len;
    return m->meta;
}
