/* attr.c — typed access to a node's attributes (validated by the model reader: keys unique,
 * slots in bounds) and the node-naming error helper every op uses. INT/INTS slots hold int64,
 * FLOAT/FLOATS slots hold IEEE double bits; reading one kind as the other converts. */
#include "runtime/op.h"

#include <stdarg.h>
#include <string.h>

static const fcn_attr_rec *find_attr(const fcn_node *n, int key)
{
    for (int i = 0; i < n->n_attrs; i++)
        if ((int)n->attrs[i].key == key) return &n->attrs[i];
    return NULL;
}

static int is_float_kind(const fcn_attr_rec *a)
{
    return a->kind == FCN_AK_FLOAT || a->kind == FCN_AK_FLOATS;
}

static double slot_as_double(const fcn_attr_rec *a, uint64_t bits)
{
    if (is_float_kind(a)) {
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    return (double)(int64_t)bits;
}

static int64_t slot_as_int(const fcn_attr_rec *a, uint64_t bits)
{
    if (!is_float_kind(a)) return (int64_t)bits;
    double d;
    memcpy(&d, &bits, sizeof d);
    if (!(d > -9.2e18 && d < 9.2e18)) return d > 0 ? INT64_MAX : INT64_MIN;   /* NaN -> INT64_MIN */
    return (int64_t)d;
}

int fcn_attr_has(const fcn_node *n, int key)
{
    return find_attr(n, key) != NULL;
}

int64_t fcn_attr_int(const fcn_node *n, int key, int64_t def)
{
    const fcn_attr_rec *a = find_attr(n, key);
    if (!a || a->count < 1) return def;
    return slot_as_int(a, n->slots[a->slot_first]);
}

float fcn_attr_float(const fcn_node *n, int key, float def)
{
    const fcn_attr_rec *a = find_attr(n, key);
    if (!a || a->count < 1) return def;
    return (float)slot_as_double(a, n->slots[a->slot_first]);
}

int fcn_attr_ints(const fcn_node *n, int key, int64_t *out, int max)
{
    const fcn_attr_rec *a = find_attr(n, key);
    if (!a) return -1;
    int count = (int)a->count;
    for (int i = 0; i < count && i < max; i++) out[i] = slot_as_int(a, n->slots[a->slot_first + (uint32_t)i]);
    return count < max ? count : max;
}

int fcn_attr_floats(const fcn_node *n, int key, float *out, int max)
{
    const fcn_attr_rec *a = find_attr(n, key);
    if (!a) return -1;
    int count = (int)a->count;
    for (int i = 0; i < count && i < max; i++)
        out[i] = (float)slot_as_double(a, n->slots[a->slot_first + (uint32_t)i]);
    return count < max ? count : max;
}

int fcn_node_fail(const fcn_node *n, fc_error *err, const char *fmt, ...)
{
    char what[FC_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fc_fail(err, FC_EINPUT, "node '%s' (%s): %s", n->name ? n->name : "?", fcn_op_name(n->op), what);
}
