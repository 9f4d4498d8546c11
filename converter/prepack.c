/* prepack.c — `fullconv convert --prepack`: adds a PREPACKED section (runtime/format.h) to a
 * serialized .fcn, holding each layer's weights in the layout this machine's kernels pack them
 * in at session creation (GEMM panels, Winograd U, grouped-conv panels). A session on a CPU
 * with the same kernels then uses them in place from the mmap: no allocation, no packing,
 * no fresh pages to clear — most of the load time of a large model (docs/FORMAT.md).
 *
 * The blobs are made by the runtime itself: the bytes are opened as a model, a session is
 * created with the fast kernels, and each node's packed weights are copied out. So the
 * section holds exactly what the runtime would have made, and the two can never drift apart
 * (a changed packing routine bumps FCN_PREPACK_LAYOUT and old sections are then ignored). */
#include "converter/ir.h"
#include "runtime/fcn.h"

#include <stdlib.h>
#include <string.h>

static uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

int fcv_prepack(uint8_t **buf, size_t *size, const char *name, fcv_prepack_stats *stats, fc_error *err)
{
    memset(stats, 0, sizeof *stats);
    fcn_prepack_hdr ph;
    if (fcn_prepack_layout(&ph))
        return fc_fail(err, FC_EINPUT, "%s: --prepack needs the AVX2 or AVX-512 kernels, and this run uses the "
                                       "reference kernels (no AVX2+FMA, or FULLCONV_REFERENCE is set)", name);
    fcn_model *m = NULL;
    fcn_session *s = NULL;
    fcn_prepack_rec *recs = NULL;
    uint8_t *out = NULL, *old = NULL;
    int rc = -1;
    if (fcn_model_open_memory(*buf, *size, name, 0, &m, err)) goto done;
    fcn_session_options so = { 0 };
    so.threads = 1;   /* the packed bytes do not depend on the thread count */
    if (fcn_session_create(m, &so, &s, err)) {
        fc_wrap(err, "--prepack: creating a session to pack the weights");
        goto done;
    }
    int nn = fcn_session_num_nodes(s);
    recs = calloc((size_t)nn + 1, sizeof *recs);
    if (!recs) {
        fc_fail(err, FC_ENOMEM, "%s: out of memory", name);
        goto done;
    }
    uint32_t count = 0;
    for (int i = 0; i < nn; i++) {
        const void *d;
        size_t b;
        uint32_t kind, param;
        if (!fcn_session_prepacked(s, i, &d, &b, &kind, &param)) continue;
        recs[count] = (fcn_prepack_rec){ .node = (uint32_t)i, .kind = kind, .param = param, .size = b };
        count++;
    }
    ph.count = count;
    /* the section: header, records, blobs at multiples of 64 */
    uint64_t pos = align64(sizeof ph + (uint64_t)count * sizeof(fcn_prepack_rec));
    for (uint32_t r = 0; r < count; r++) {
        recs[r].offset = pos;
        pos = align64(pos + recs[r].size);
    }
    uint64_t sec_size = pos;

    /* the new file: header, one more table entry, the old payloads realigned, PREPACKED last */
    fcn_header h;
    memcpy(&h, *buf, sizeof h);
    uint32_t ns = h.section_count;
    if (ns >= 64) {
        fc_fail(err, FC_EINPUT, "%s: no room for another section", name);
        goto done;
    }
    fcn_section *tab = calloc(ns + 1, sizeof *tab);
    if (!tab) {
        fc_fail(err, FC_ENOMEM, "%s: out of memory", name);
        goto done;
    }
    memcpy(tab, *buf + h.section_table_offset, ns * sizeof *tab);
    for (uint32_t i = 0; i < ns; i++)
        if (tab[i].kind == FCN_SECTION_PREPACKED) {
            free(tab);
            fc_fail(err, FC_EINPUT, "%s: already has a PREPACKED section", name);
            goto done;
        }
    uint64_t at = sizeof(fcn_header) + (uint64_t)(ns + 1) * sizeof(fcn_section);
    uint64_t *old_off = malloc(sizeof(uint64_t) * (ns + 1));
    if (!old_off) {
        free(tab);
        fc_fail(err, FC_ENOMEM, "%s: out of memory", name);
        goto done;
    }
    for (uint32_t i = 0; i < ns; i++) {
        old_off[i] = tab[i].offset;
        at = align64(at);
        tab[i].offset = at;
        at += tab[i].size;
    }
    at = align64(at);
    tab[ns] = (fcn_section){ .kind = FCN_SECTION_PREPACKED, .flags = 0, .offset = at, .size = sec_size };
    uint64_t file_size = at + sec_size;
    if (file_size > SIZE_MAX - 64 || !(out = aligned_alloc(64, (size_t)align64(file_size)))) {
        free(tab);
        free(old_off);
        fc_fail(err, FC_ENOMEM, "%s: out of memory for the %llu-byte prepacked model", name,
                (unsigned long long)file_size);
        goto done;
    }
    memset(out, 0, (size_t)align64(file_size));
    for (uint32_t i = 0; i < ns; i++) memcpy(out + tab[i].offset, *buf + old_off[i], (size_t)tab[i].size);
    free(old_off);
    uint8_t *sec = out + tab[ns].offset;
    memcpy(sec, &ph, sizeof ph);
    memcpy(sec + sizeof ph, recs, count * sizeof *recs);
    for (uint32_t r = 0; r < count; r++) {
        const void *d;
        size_t b;
        uint32_t kind, param;
        fcn_session_prepacked(s, (int)recs[r].node, &d, &b, &kind, &param);
        memcpy(sec + recs[r].offset, d, b);
        stats->bytes += b;
    }
    stats->blobs = count;
    tab[ns].crc32 = fc_crc32(sec, (size_t)sec_size);
    memcpy(out + sizeof(fcn_header), tab, (ns + 1) * sizeof *tab);
    h.file_size = file_size;
    h.section_table_offset = sizeof(fcn_header);
    h.section_count = ns + 1;
    h.section_table_crc = fc_crc32(tab, (ns + 1) * sizeof *tab);
    free(tab);
    memcpy(out, &h, sizeof h);
    h.header_crc = fc_crc32(out, offsetof(fcn_header, header_crc));
    memcpy(out, &h, sizeof h);
    stats->mr = ph.mr;
    stats->isa = ph.isa;

    old = *buf;
    *buf = out;
    *size = (size_t)file_size;
    out = NULL;
    rc = 0;
done:
    free(out);
    free(recs);
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(old);   /* after the model that borrowed it */
    return rc;
}
