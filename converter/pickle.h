/* pickle.h — a restricted pickle VM (protocols 2-5) that builds a value tree and executes
 * nothing. GLOBAL / STACK_GLOBAL names are checked against an allowlist equivalent to
 * torch's weights_only loader plus module classes of whole-model files (torch.nn.modules.*,
 * torchvision.models.*, TorchScript's __torch__.*); REDUCE / NEWOBJ / BUILD on them produce
 * records (FCV_PK_OBJECT: class, args, state), never calls. Everything else is refused with
 * an error naming the global.
 *
 * Values are owned by the fcv_pickle arena and may be shared (memo GET returns the same
 * node, a list may even contain itself), so walkers must bound their depth
 * (fc_limits_current.max_nesting) and never deep-copy. */
#ifndef FCV_PICKLE_H
#define FCV_PICKLE_H

#include <stddef.h>
#include <stdint.h>
#include "common/fc_common.h"

typedef enum fcv_pk_kind {
    FCV_PK_NONE = 1,
    FCV_PK_BOOL,
    FCV_PK_INT,        /* i (int64; larger LONGs are refused) */
    FCV_PK_FLOAT,      /* f */
    FCV_PK_STR,        /* s, len: UTF-8 as in the file, NUL-terminated */
    FCV_PK_BYTES,      /* s, len */
    FCV_PK_TUPLE,      /* items[n] */
    FCV_PK_LIST,       /* items[n] */
    FCV_PK_DICT,       /* items[n]: key, value, ... in insertion order; state from BUILD */
    FCV_PK_SET,        /* items[n] (set / frozenset) */
    FCV_PK_GLOBAL,     /* s = "module.name" (allowlisted) */
    FCV_PK_OBJECT,     /* cls (a GLOBAL) applied to args (REDUCE/NEWOBJ), state from BUILD */
    FCV_PK_PERSID,     /* persistent id: pid (torch: ('storage', cls, key, location, numel)) */
} fcv_pk_kind;

typedef struct fcv_pk fcv_pk;
struct fcv_pk {
    int kind;
    int64_t i;
    double f;
    char *s;
    size_t len;
    fcv_pk **items;
    size_t n, cap;        /* n items (dict: n is even: key, value, key, value, ...) */
    fcv_pk *cls, *args, *state, *pid;
    int depth;            /* nesting when built (1 for scalars) */
};

typedef struct fcv_pickle fcv_pickle;

/* Allowlist modes. */
enum {
    FCV_PICKLE_WEIGHTS_ONLY = 1,   /* refuse module classes (torch.nn.modules.*, torchvision.*, __torch__.*) */
};

/* Runs the VM over buf. `file` and `entry` prefix every message ("m.pt: data.pkl: ...").
 * On success *out owns every value; fcv_pickle_root gives the result of STOP. */
int fcv_pickle_load(const uint8_t *buf, size_t size, const char *file, const char *entry, int flags,
                    fcv_pickle **out, fc_error *err);
fcv_pk *fcv_pickle_root(const fcv_pickle *p);
void fcv_pickle_free(fcv_pickle *p);
/* 1 if "module.name" is allowed in the given mode. */
int fcv_pickle_global_allowed(const char *qualname, int flags);

/* ---- small accessors (all NULL-safe) ---- */
/* Last value for a string key of a dict (duplicates: last wins, like Python). */
fcv_pk *fcv_pk_dict_get(const fcv_pk *dict, const char *key);
int fcv_pk_is_str(const fcv_pk *v, const char *s);
/* The class name of an OBJECT ("torch.nn.modules.conv.Conv2d"), or of a GLOBAL; else NULL. */
const char *fcv_pk_class(const fcv_pk *v);
const char *fcv_pk_kind_name(int kind);

#endif
