/* tool_make_bad_fcn.c — regenerates the damaged .fcn cases in testdata/bad/ (run by hand:
 * `$BUILD/tests/tool_make_bad_fcn testdata/bad`). Each case is a small valid model written by
 * the real writer, then damaged in one way; the CRCs are recomputed where the damage is meant
 * to reach a check behind them. The .expect files next to them hold the reader's message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "converter/ir.h"
#include "runtime/format.h"

/* x (1×2×4×4) → 1×1 conv to 3 channels → GlobalAveragePool; with int8, the conv's weight int8
 * with per-channel scales and stored input-major (W_LAYOUT 1), which the reader refuses */
static uint8_t *model(size_t *size, int int8)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 3, 2, 1, 1 }, yd[4] = { 1, 3, 4, 4 }, pd[4] = { 1, 3, 1, 1 }, sd[1] = { 3 };
    float w[6] = { 1, -1, 0.5f, 2, -0.25f, 1 }, scales[3] = { 0.01f, 0.02f, 0.01f };
    int8_t q[6] = { 100, -100, 25, 100, -25, 100 };
    int x = ir_add_value(g, "x", FC_DT_F32, 4, xd, &err);
    int wt = int8 ? ir_add_const(g, "conv.weight", FC_DT_I8, 4, wd, q, sizeof q, &err)
                  : ir_add_const(g, "conv.weight", FC_DT_F32, 4, wd, w, sizeof w, &err);
    if (int8) ir_val(g, wt)->aux = ir_add_const(g, "conv.weight.scale", FC_DT_F32, 1, sd, scales, sizeof scales, &err);
    int c = ir_add_value(g, "conv_out", FC_DT_F32, 4, yd, &err);
    int y = ir_add_value(g, "pooled", FC_DT_F32, 4, pd, &err);
    int ins[2] = { x, wt };
    int n = ir_add_node(g, FCN_OP_CONV, "conv", ins, 2, &c, 1, &err);
    int64_t k[2] = { 1, 1 };
    ir_set_ints(&g->nodes[n], FCN_ATTR_KERNEL_SHAPE, k, 2);
    if (int8) ir_set_int(&g->nodes[n], FCN_ATTR_W_LAYOUT, 1);
    ir_add_node(g, FCN_OP_GLOBAL_AVGPOOL, "gap", &c, 1, &y, 1, &err);
    ir_set_io(g, &x, 1, &y, 1, &err);
    uint8_t *buf = NULL;
    if (err.code || fcv_write_fcn(g, &buf, size, &err)) {
        fprintf(stderr, "tool_make_bad_fcn: %s\n", err.msg);
        exit(1);
    }
    ir_graph_free(g);
    return buf;
}

static fcn_header *hdr(uint8_t *b) { return (fcn_header *)b; }
static fcn_section *sec(uint8_t *b, uint32_t kind)
{
    fcn_section *t = (fcn_section *)(b + hdr(b)->section_table_offset);
    for (uint32_t i = 0; i < hdr(b)->section_count; i++)
        if (t[i].kind == kind) return &t[i];
    return NULL;
}
static void refix(uint8_t *b)
{
    fcn_header *h = hdr(b);
    fcn_section *t = (fcn_section *)(b + h->section_table_offset);
    for (uint32_t i = 0; i < h->section_count; i++)
        if (t[i].offset + t[i].size <= h->file_size) t[i].crc32 = fc_crc32(b + t[i].offset, t[i].size);
    h->section_table_crc = fc_crc32(t, h->section_count * sizeof(fcn_section));
    h->header_crc = fc_crc32(b, offsetof(fcn_header, header_crc));
}
static fcn_node_rec *nodes(uint8_t *b)
{
    fcn_graph_hdr *g = (fcn_graph_hdr *)(b + sec(b, FCN_SECTION_GRAPH)->offset);
    return (fcn_node_rec *)((uint8_t *)(g + 1) + ((4 * (g->n_inputs + g->n_outputs) + 7) & ~7u));
}
static uint32_t *ids(uint8_t *b)
{
    fcn_graph_hdr *g = (fcn_graph_hdr *)(b + sec(b, FCN_SECTION_GRAPH)->offset);
    return (uint32_t *)(nodes(b) + g->n_nodes);
}
static fcn_tensor_rec *tensors(uint8_t *b) { return (fcn_tensor_rec *)(b + sec(b, FCN_SECTION_TENSORS)->offset); }

static void emit(const char *dir, const char *name, const uint8_t *b, size_t size, const char *expect)
{
    char path[1024];
    fc_error err = { 0, "" };
    snprintf(path, sizeof path, "%s/%s.fcn", dir, name);
    if (fc_write_file_atomic(path, b, size, 1, &err)) {
        fprintf(stderr, "tool_make_bad_fcn: %s\n", err.msg);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s.expect", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) exit(1);
    fprintf(f, "%s\ncmd: inspect {}\n", expect);
    fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tool_make_bad_fcn DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    size_t size;
    uint8_t *b = model(&size, 0);
    uint8_t *c = malloc(size + 64);

    emit(dir, "fcn_truncated", b, size / 2, "header says");

    memcpy(c, b, size);
    hdr(c)->version_major = 2;
    refix(c);
    char msg[128];
    snprintf(msg, sizeof msg, "format version 2.0 is newer than this reader's %d.%d", FCN_VERSION_MAJOR, FCN_VERSION_MINOR);
    emit(dir, "fcn_newer_major", c, size, msg);

    size_t qsize;
    uint8_t *q = model(&qsize, 1);
    emit(dir, "fcn_int8_w_layout", q, qsize, "node 'conv' (Conv) has an int8 weight stored input-major (w_layout)");
    free(q);

    memcpy(c, b, size);
    hdr(c)->file_size ^= 0x100;   /* header damaged, CRC left stale */
    emit(dir, "fcn_header_crc", c, size, "header crc mismatch (stored 0x");

    memcpy(c, b, size);
    c[sec(c, FCN_SECTION_GRAPH)->offset + 40] ^= 1;
    emit(dir, "fcn_section_crc", c, size, "section 3 (GRAPH) crc mismatch (stored 0x");

    memcpy(c, b, size);
    tensors(c)[1].dims[0] = 1ll << 40;
    tensors(c)[1].dims[1] = 1ll << 40;
    refix(c);
    emit(dir, "fcn_dims_overflow", c, size, "constant 'conv.weight' has negative or overflowing dims");

    memcpy(c, b, size);
    tensors(c)[1].data_off = 1ull << 32;
    refix(c);
    emit(dir, "fcn_data_outside", c, size, "constant 'conv.weight' data [4294967296, +24) lies outside DATA");

    memcpy(c, b, size);
    ids(c)[nodes(c)[0].in_first + 1] = 913;
    refix(c);
    emit(dir, "fcn_id_out_of_range", c, size, "node 'conv' input 1 refers to value 913, only 4 values");

    memcpy(c, b, size);
    ids(c)[nodes(c)[0].in_first] = ids(c)[nodes(c)[1].out_first];
    refix(c);
    emit(dir, "fcn_cycle", c, size, "node 'conv' input 0 ('pooled') is not a constant, a graph input or an earlier node's output");

    memcpy(c, b, size);
    nodes(c)[1].op = 4000;
    refix(c);
    emit(dir, "fcn_unknown_op", c, size, "node 'gap' has unknown op 4000");

    /* a sixth, critical section of an unknown kind, empty, at the end of the file */
    size_t nsize = (size + 63) / 64 * 64;
    memset(c, 0, size + 64);
    memcpy(c, b, size);
    fcn_section *t = (fcn_section *)(c + hdr(c)->section_table_offset);
    t[5] = (fcn_section){ 99, FCN_SECTION_CRITICAL, nsize, 0, 0, 0 };
    hdr(c)->section_count = 6;
    hdr(c)->file_size = nsize;
    refix(c);
    emit(dir, "fcn_unknown_critical", c, nsize, "section 5 has unknown kind 99 marked critical");

    free(b);
    free(c);
    return 0;
}
