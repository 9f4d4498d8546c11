/* model_priv.h — the validated, parsed view of a .fcn file shared by model.c and session.c.
 * Everything here was bounds-checked by fcn_model_open*: ids < n_tensors (or FCN_NO_VALUE),
 * ranges inside their arrays, names inside STRINGS, constant payloads inside DATA. */
#ifndef FCN_MODEL_PRIV_H
#define FCN_MODEL_PRIV_H

#include "runtime/fcn.h"

struct fcn_model {
    char *name;                      /* as given at open, for messages */
    const uint8_t *base;             /* whole file */
    size_t size;
    void *map;                       /* mmap'd region (munmap at close), or NULL */
    void *owned;                     /* malloc'd copy (free at close), or NULL */

    const char *meta; size_t meta_len;
    const char *strings; size_t strings_len;
    const fcn_tensor_rec *tensors; uint32_t n_tensors;
    fcn_graph_hdr graph;
    const uint32_t *inputs, *outputs;
    const fcn_node_rec *nodes;
    const uint32_t *ids;
    const fcn_attr_rec *attrs;
    const uint64_t *slots;
    const uint8_t *data; uint64_t data_size;

    fcn_prepack_hdr prepack;         /* PREPACKED section header (zero when absent) */
    const fcn_prepack_rec *prepack_recs;   /* NULL when absent */
    const uint8_t *prepack_base;     /* the section's first byte */

    char **tensor_names;             /* NUL-terminated copies, one per tensor */
    char **node_names;
    uint64_t weight_bytes, param_count;
};

/* Payload of a constant tensor (validated). */
static inline const void *fcn_model_tensor_data(const fcn_model *m, uint32_t id)
{
    return m->data + m->tensors[id].data_off;
}
static inline int fcn_model_tensor_is_const(const fcn_model *m, uint32_t id)
{
    return m->tensors[id].data_off != FCN_NO_DATA;
}

/* The PREPACKED blob of node `node` (fills kind, param, bytes), or NULL. */
const void *fcn_model_prepacked(const fcn_model *m, uint32_t node, uint32_t *kind, uint32_t *param, size_t *bytes);

#endif
