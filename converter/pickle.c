/* pickle.c — the restricted pickle VM (see pickle.h).
 *
 * Why a VM of our own: Python's unpickler calls whatever a GLOBAL names. Here a GLOBAL is
 * only a name checked against an allowlist, and REDUCE/NEWOBJ/BUILD just record "this class
 * applied to these args, with this state", so the worst a hostile file can do is make us
 * return an error. Every read is bounds-checked, every growth capped. */
#include "converter/pickle.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PK_MAX_STACK (1u << 20)      /* values on the VM stack */
#define PK_MAX_OBJECTS (1u << 22)    /* values allocated by one pickle */
#define PK_MAX_NAME 256              /* module / class name */

struct fcv_pickle {
    fcv_pk **nodes;
    size_t n_nodes, cap_nodes;
    fcv_pk *root;
};

typedef struct pk_vm {
    fcv_pickle *p;
    const uint8_t *buf;
    size_t size, pos;
    size_t op_pos;                /* offset of the opcode being executed (messages) */
    const char *file, *entry;
    int flags;
    fcv_pk **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t n_marks, marks_cap;
    fcv_pk **memo;
    size_t memo_cap, memo_count;
    fc_error *err;
} pk_vm;

/* ---- errors ---- */
static int vm_fail(pk_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vm_fail(pk_vm *vm, const char *fmt, ...)
{
    char what[FC_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fc_fail(vm->err, FC_EINPUT, "%s: %s: %s", vm->file, vm->entry, what);
}
#define VM_CORRUPT(vm, ...) vm_fail(vm, __VA_ARGS__)

/* ---- arena ---- */
static fcv_pk *pk_new(pk_vm *vm, int kind)
{
    fcv_pickle *p = vm->p;
    if (p->n_nodes >= PK_MAX_OBJECTS) {
        vm_fail(vm, "more than %u objects (limit)", PK_MAX_OBJECTS);
        return NULL;
    }
    if (p->n_nodes == p->cap_nodes) {
        size_t cap = p->cap_nodes ? p->cap_nodes * 2 : 256;
        fcv_pk **nodes = realloc(p->nodes, cap * sizeof *nodes);
        if (!nodes) { fc_fail(vm->err, FC_ENOMEM, "%s: %s: out of memory", vm->file, vm->entry); return NULL; }
        p->nodes = nodes;
        p->cap_nodes = cap;
    }
    fcv_pk *v = calloc(1, sizeof *v);
    if (!v) { fc_fail(vm->err, FC_ENOMEM, "%s: %s: out of memory", vm->file, vm->entry); return NULL; }
    v->kind = kind;
    v->depth = 1;
    p->nodes[p->n_nodes++] = v;
    return v;
}

void fcv_pickle_free(fcv_pickle *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n_nodes; i++) {
        free(p->nodes[i]->s);
        free(p->nodes[i]->items);
        free(p->nodes[i]);
    }
    free(p->nodes);
    free(p);
}

fcv_pk *fcv_pickle_root(const fcv_pickle *p) { return p ? p->root : NULL; }

/* Appends child to a container's items, tracking nesting depth. */
static int pk_append(pk_vm *vm, fcv_pk *c, fcv_pk *child)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        fcv_pk **items = realloc(c->items, cap * sizeof *items);
        if (!items) return fc_fail(vm->err, FC_ENOMEM, "%s: %s: out of memory", vm->file, vm->entry);
        c->items = items;
        c->cap = cap;
    }
    c->items[c->n++] = child;
    if (child->depth + 1 > c->depth) c->depth = child->depth + 1;
    if ((uint32_t)c->depth > fc_limits_current.max_nesting)
        return vm_fail(vm, "nesting deeper than %u (limit)", fc_limits_current.max_nesting);
    return 0;
}

/* ---- stack ---- */
static int push(pk_vm *vm, fcv_pk *v)
{
    if (!v) return -1;
    if (vm->sp >= PK_MAX_STACK) return vm_fail(vm, "stack deeper than %u (limit)", PK_MAX_STACK);
    if (vm->sp == vm->stack_cap) {
        size_t cap = vm->stack_cap ? vm->stack_cap * 2 : 64;
        fcv_pk **s = realloc(vm->stack, cap * sizeof *s);
        if (!s) return fc_fail(vm->err, FC_ENOMEM, "%s: %s: out of memory", vm->file, vm->entry);
        vm->stack = s;
        vm->stack_cap = cap;
    }
    vm->stack[vm->sp++] = v;
    return 0;
}

static size_t stack_floor(const pk_vm *vm) { return vm->n_marks ? vm->marks[vm->n_marks - 1] : 0; }

static fcv_pk *pop(pk_vm *vm)
{
    if (vm->sp <= stack_floor(vm)) {
        VM_CORRUPT(vm, "byte %zu: stack underflow", vm->op_pos);
        return NULL;
    }
    return vm->stack[--vm->sp];
}

static fcv_pk *top(pk_vm *vm)
{
    if (vm->sp <= stack_floor(vm)) {
        VM_CORRUPT(vm, "byte %zu: stack underflow", vm->op_pos);
        return NULL;
    }
    return vm->stack[vm->sp - 1];
}

static int push_mark(pk_vm *vm)
{
    if (vm->n_marks >= fc_limits_current.max_nesting)
        return vm_fail(vm, "nesting deeper than %u (limit)", fc_limits_current.max_nesting);
    if (vm->n_marks == vm->marks_cap) {
        size_t cap = vm->marks_cap ? vm->marks_cap * 2 : 16;
        size_t *m = realloc(vm->marks, cap * sizeof *m);
        if (!m) return fc_fail(vm->err, FC_ENOMEM, "%s: %s: out of memory", vm->file, vm->entry);
        vm->marks = m;
        vm->marks_cap = cap;
    }
    vm->marks[vm->n_marks++] = vm->sp;
    return 0;
}

/* Pops the topmost mark; *first = index of the first item above it. */
static int pop_mark(pk_vm *vm, size_t *first)
{
    if (!vm->n_marks) return VM_CORRUPT(vm, "byte %zu: no MARK on the stack", vm->op_pos);
    *first = vm->marks[--vm->n_marks];
    return 0;
}

/* ---- input ---- */
static int need(pk_vm *vm, size_t n)
{
    if (n > vm->size - vm->pos) return VM_CORRUPT(vm, "byte %zu: truncated (needs %zu more bytes)", vm->op_pos, n);
    return 0;
}
static uint64_t read_le(pk_vm *vm, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)vm->buf[vm->pos + (size_t)i] << (8 * i);
    vm->pos += (size_t)n;
    return v;
}
/* A text line (without '\n'), at most cap-1 bytes, copied NUL-terminated. */
static int read_line(pk_vm *vm, char *out, size_t cap)
{
    const uint8_t *nl = memchr(vm->buf + vm->pos, '\n', vm->size - vm->pos);
    if (!nl) return VM_CORRUPT(vm, "byte %zu: unterminated text argument", vm->op_pos);
    size_t len = (size_t)(nl - (vm->buf + vm->pos));
    if (len >= cap) return VM_CORRUPT(vm, "byte %zu: text argument longer than %zu bytes", vm->op_pos, cap - 1);
    memcpy(out, vm->buf + vm->pos, len);
    out[len] = 0;
    vm->pos += len + 1;
    return 0;
}

/* ---- values ---- */
static fcv_pk *new_int(pk_vm *vm, int64_t i)
{
    fcv_pk *v = pk_new(vm, FCV_PK_INT);
    if (v) v->i = i;
    return v;
}

static fcv_pk *new_string(pk_vm *vm, int kind, const uint8_t *s, size_t len)
{
    if (len > fc_limits_current.max_string_bytes) {
        vm_fail(vm, "byte %zu: string of %zu bytes exceeds the limit %llu", vm->op_pos, len,
                (unsigned long long)fc_limits_current.max_string_bytes);
        return NULL;
    }
    fcv_pk *v = pk_new(vm, kind);
    if (!v) return NULL;
    v->s = malloc(len + 1);
    if (!v->s) { fc_fail(vm->err, FC_ENOMEM, "%s: %s: out of memory", vm->file, vm->entry); return NULL; }
    if (len) memcpy(v->s, s, len);
    v->s[len] = 0;
    v->len = len;
    return v;
}

/* String opcodes: length prefix of n bytes, then the bytes. */
static int op_string(pk_vm *vm, int kind, int n_len_bytes)
{
    if (need(vm, (size_t)n_len_bytes)) return -1;
    uint64_t len = read_le(vm, n_len_bytes);
    if (n_len_bytes == 4 && kind == FCV_PK_STR && (len >> 31)) return VM_CORRUPT(vm, "byte %zu: negative length", vm->op_pos);
    if (len > fc_limits_current.max_string_bytes)
        return vm_fail(vm, "byte %zu: string of %llu bytes exceeds the limit %llu", vm->op_pos,
                       (unsigned long long)len, (unsigned long long)fc_limits_current.max_string_bytes);
    if (need(vm, (size_t)len)) return -1;
    fcv_pk *v = new_string(vm, kind, vm->buf + vm->pos, (size_t)len);
    vm->pos += (size_t)len;
    return push(vm, v);
}

static int op_long(pk_vm *vm, int n_len_bytes)
{
    if (need(vm, (size_t)n_len_bytes)) return -1;
    uint64_t n = read_le(vm, n_len_bytes);
    if (n_len_bytes == 4 && (n >> 31)) return VM_CORRUPT(vm, "byte %zu: LONG4 with negative length", vm->op_pos);
    if (n > 8) return vm_fail(vm, "byte %zu: integer of %llu bytes is too large (limit 8 bytes)", vm->op_pos,
                              (unsigned long long)n);
    if (need(vm, (size_t)n)) return -1;
    uint64_t u = read_le(vm, (int)n);
    if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~0ull << (8 * n);   /* sign-extend */
    return push(vm, new_int(vm, (int64_t)u));
}

/* Builds a tuple/list/set from stack items [first, sp). */
static fcv_pk *collect(pk_vm *vm, int kind, size_t first)
{
    fcv_pk *v = pk_new(vm, kind);
    if (!v) return NULL;
    for (size_t i = first; i < vm->sp; i++)
        if (pk_append(vm, v, vm->stack[i])) return NULL;
    vm->sp = first;
    return v;
}

/* The container an APPENDS/SETITEMS/ADDITEMS acts on sits just below its mark. */
static fcv_pk *mark_owner(pk_vm *vm, size_t first)
{
    if (first <= stack_floor(vm)) {
        VM_CORRUPT(vm, "byte %zu: stack underflow", vm->op_pos);
        return NULL;
    }
    return vm->stack[first - 1];
}

static int add_items(pk_vm *vm, fcv_pk *c, size_t first, int pairs)
{
    if (pairs && c->kind != FCV_PK_DICT)
        return VM_CORRUPT(vm, "byte %zu: SETITEM(S) on a %s", vm->op_pos, fcv_pk_kind_name(c->kind));
    if (!pairs && c->kind != FCV_PK_LIST && c->kind != FCV_PK_SET)
        return VM_CORRUPT(vm, "byte %zu: APPEND(S)/ADDITEMS on a %s", vm->op_pos, fcv_pk_kind_name(c->kind));
    if (pairs && (vm->sp - first) % 2) return VM_CORRUPT(vm, "byte %zu: SETITEMS with an odd item count", vm->op_pos);
    for (size_t i = first; i < vm->sp; i++)
        if (pk_append(vm, c, vm->stack[i])) return -1;
    vm->sp = first;
    return 0;
}

/* ---- globals ---- */
static const char *const allowed_exact[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._tensor._rebuild_from_type_v2",
    "torch.Size", "torch.device", "torch.Tensor",
    "torch.nn.parameter.Parameter",
    "_codecs.encode",
    "builtins.set", "builtins.frozenset",
    "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensorlist",
    "torch.jit._pickle.restore_type_tag",
    NULL,
};
static const char *const allowed_storages[] = {
    "Float", "Half", "Double", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16", NULL,
};
static const char *const allowed_dtypes[] = {
    "float32", "float", "float16", "half", "float64", "double", "bfloat16", "int64", "long", "int32", "int",
    "int16", "short", "int8", "uint8", "bool", NULL,
};
/* Module classes of whole-model pickles: records only (class name + state). need_dot: the
 * prefix is a package, so a class needs "<module>.<Class>" after it. */
static const struct { const char *prefix; int need_dot; } module_prefixes[] = {
    {"torch.nn.modules.", 1}, {"torchvision.models.", 1}, {"torchvision.ops.misc.", 0}, {"__torch__.", 0}, {NULL, 0},
};

static int in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0) return 1;
    return 0;
}

int fcv_pickle_global_allowed(const char *q, int flags)
{
    if (in_list(q, allowed_exact)) return 1;
    if (strncmp(q, "torch.", 6) == 0 && !strchr(q + 6, '.')) {
        const char *name = q + 6;
        size_t len = strlen(name);
        if (len > 7 && strcmp(name + len - 7, "Storage") == 0) {
            char base[32];
            if (len - 7 >= sizeof base) return 0;
            memcpy(base, name, len - 7);
            base[len - 7] = 0;
            return in_list(base, allowed_storages);
        }
        return in_list(name, allowed_dtypes);
    }
    if (flags & FCV_PICKLE_WEIGHTS_ONLY) return 0;
    for (int i = 0; module_prefixes[i].prefix; i++) {
        size_t n = strlen(module_prefixes[i].prefix);
        /* a class under the prefix ("torch.nn.modules.conv.Conv2d"), never the bare prefix */
        if (strncmp(q, module_prefixes[i].prefix, n) == 0 && q[n] && (!module_prefixes[i].need_dot || strchr(q + n, '.')))
            return 1;
    }
    return 0;
}

static int valid_ident_path(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.') return 0;
    return 1;
}

static int push_global(pk_vm *vm, const char *module, const char *name)
{
    char q[2 * PK_MAX_NAME + 2];
    /* protocol-2 files name Python 2 modules; Python maps them the same way (fix_imports) */
    if (strcmp(module, "__builtin__") == 0) module = "builtins";
    else if (strcmp(module, "copy_reg") == 0) module = "copyreg";
    snprintf(q, sizeof q, "%s.%s", module, name);
    if (!valid_ident_path(module) || !valid_ident_path(name) || !fcv_pickle_global_allowed(q, vm->flags))
        return vm_fail(vm, "global '%.300s' is not allowed (fullconv never executes code from model files)", q);
    fcv_pk *g = new_string(vm, FCV_PK_GLOBAL, (const uint8_t *)q, strlen(q));
    return push(vm, g);
}

/* _codecs.encode(text, 'latin1'): how protocol 2 stores bytes; decode UTF-8 code points <= 0xFF. */
static fcv_pk *latin1_bytes(pk_vm *vm, const fcv_pk *text)
{
    fcv_pk *b = new_string(vm, FCV_PK_BYTES, (const uint8_t *)"", 0);
    if (!b) return NULL;
    uint8_t *out = malloc(text->len + 1);
    if (!out) { fc_fail(vm->err, FC_ENOMEM, "%s: %s: out of memory", vm->file, vm->entry); return NULL; }
    size_t n = 0;
    const uint8_t *s = (const uint8_t *)text->s;
    for (size_t i = 0; i < text->len; i++) {
        if (s[i] < 0x80) out[n++] = s[i];
        else if ((s[i] & 0xE0) == 0xC0 && i + 1 < text->len && s[i] <= 0xC3 && (s[i + 1] & 0xC0) == 0x80) {
            out[n++] = (uint8_t)(((s[i] & 0x03) << 6) | (s[i + 1] & 0x3F));
            i++;
        } else {
            free(out);
            vm_fail(vm, "byte %zu: _codecs.encode: text is not latin-1", vm->op_pos);
            return NULL;
        }
    }
    out[n] = 0;
    free(b->s);
    b->s = (char *)out;
    b->len = n;
    return b;
}

/* REDUCE / NEWOBJ: a record of "cls(args)", except for the few pure data builders whose
 * result is plain data (OrderedDict(), set(list), build_intlist(list), bytes). */
static fcv_pk *apply(pk_vm *vm, fcv_pk *cls, fcv_pk *args)
{
    if (cls->kind != FCV_PK_GLOBAL) {
        VM_CORRUPT(vm, "byte %zu: call of a %s (only allowed globals can be applied)", vm->op_pos,
                   fcv_pk_kind_name(cls->kind));
        return NULL;
    }
    if (args->kind != FCV_PK_TUPLE) {
        VM_CORRUPT(vm, "byte %zu: arguments of '%s' are a %s, not a tuple", vm->op_pos, cls->s,
                   fcv_pk_kind_name(args->kind));
        return NULL;
    }
    const char *q = cls->s;
    if (strcmp(q, "collections.OrderedDict") == 0 && args->n == 0) return pk_new(vm, FCV_PK_DICT);
    if ((strcmp(q, "builtins.set") == 0 || strcmp(q, "builtins.frozenset") == 0) && args->n <= 1) {
        fcv_pk *s = pk_new(vm, FCV_PK_SET);
        if (s && args->n == 1) {
            const fcv_pk *src = args->items[0];
            if (src->kind != FCV_PK_LIST && src->kind != FCV_PK_TUPLE) {
                VM_CORRUPT(vm, "byte %zu: %s of a %s", vm->op_pos, q, fcv_pk_kind_name(src->kind));
                return NULL;
            }
            for (size_t i = 0; i < src->n; i++)
                if (pk_append(vm, s, src->items[i])) return NULL;
        }
        return s;
    }
    if (strncmp(q, "torch.jit._pickle.build_", 24) == 0 && args->n == 1) return args->items[0];
    if (strcmp(q, "torch.jit._pickle.restore_type_tag") == 0 && args->n >= 1) return args->items[0];
    if (strcmp(q, "_codecs.encode") == 0) {
        if (args->n != 2 || args->items[0]->kind != FCV_PK_STR || args->items[1]->kind != FCV_PK_STR ||
            (strcmp(args->items[1]->s, "latin1") != 0 && strcmp(args->items[1]->s, "latin-1") != 0)) {
            VM_CORRUPT(vm, "byte %zu: _codecs.encode is only accepted as encode(str, 'latin1')", vm->op_pos);
            return NULL;
        }
        return latin1_bytes(vm, args->items[0]);
    }
    fcv_pk *o = pk_new(vm, FCV_PK_OBJECT);
    if (!o) return NULL;
    o->cls = cls;
    o->args = args;
    o->depth = args->depth + 1;
    if ((uint32_t)o->depth > fc_limits_current.max_nesting) {
        vm_fail(vm, "nesting deeper than %u (limit)", fc_limits_current.max_nesting);
        return NULL;
    }
    return o;
}

/* ---- memo ---- */
static int memo_put(pk_vm *vm, uint64_t key, fcv_pk *v)
{
    if (key >= fc_limits_current.max_pickle_memo)
        return vm_fail(vm, "byte %zu: memo index %llu exceeds the limit %u", vm->op_pos, (unsigned long long)key,
                       fc_limits_current.max_pickle_memo);
    if (key >= vm->memo_cap) {
        size_t cap = vm->memo_cap ? vm->memo_cap : 64;
        while (cap <= key) cap *= 2;
        if (cap > fc_limits_current.max_pickle_memo) cap = fc_limits_current.max_pickle_memo;
        fcv_pk **m = realloc(vm->memo, cap * sizeof *m);
        if (!m) return fc_fail(vm->err, FC_ENOMEM, "%s: %s: out of memory", vm->file, vm->entry);
        memset(m + vm->memo_cap, 0, (cap - vm->memo_cap) * sizeof *m);
        vm->memo = m;
        vm->memo_cap = cap;
    }
    if (!vm->memo[key]) vm->memo_count++;
    vm->memo[key] = v;
    return 0;
}

static int memo_get(pk_vm *vm, uint64_t key)
{
    if (key >= vm->memo_cap || !vm->memo[key])
        return VM_CORRUPT(vm, "byte %zu: memo index %llu was never stored", vm->op_pos, (unsigned long long)key);
    return push(vm, vm->memo[key]);   /* a reference, never a copy: memo bombs stay cheap */
}

static int parse_text_int(pk_vm *vm, int64_t *out)
{
    char line[32];
    if (read_line(vm, line, sizeof line)) return -1;
    size_t len = strlen(line);
    if (len && line[len - 1] == 'L') line[--len] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(line, &end, 10);
    if (!len || *end || errno) return VM_CORRUPT(vm, "byte %zu: bad integer '%s'", vm->op_pos, line);
    *out = v;
    return 0;
}

/* ---- the VM ---- */
static int step(pk_vm *vm, uint8_t op, int *stop)
{
    fcv_pk *a, *b, *c;
    size_t first = 0;
    int64_t iv;
    switch (op) {
    case 0x80: /* PROTO */
        if (need(vm, 1)) return -1;
        if (vm->buf[vm->pos] > 5) return vm_fail(vm, "pickle protocol %d is not supported (2-5)", vm->buf[vm->pos]);
        vm->pos++;
        return 0;
    case 0x95: /* FRAME: a length hint; opcodes inside are read as usual */
        if (need(vm, 8)) return -1;
        if (read_le(vm, 8) > vm->size - vm->pos) return VM_CORRUPT(vm, "byte %zu: frame past the end", vm->op_pos);
        return 0;
    case '.': /* STOP */
        if (!(a = pop(vm))) return -1;
        vm->p->root = a;
        *stop = 1;
        return 0;
    case '(': return push_mark(vm);
    case '0': return pop(vm) ? 0 : -1;
    case '1': return pop_mark(vm, &first) ? -1 : (vm->sp = first, 0);
    case '2': return (a = top(vm)) ? push(vm, a) : -1;
    case 'N': return push(vm, pk_new(vm, FCV_PK_NONE));
    case 0x88: case 0x89:
        if (!(a = pk_new(vm, FCV_PK_BOOL))) return -1;
        a->i = op == 0x88;
        return push(vm, a);
    case 'J':
        if (need(vm, 4)) return -1;
        return push(vm, new_int(vm, (int32_t)(uint32_t)read_le(vm, 4)));
    case 'K':
        if (need(vm, 1)) return -1;
        return push(vm, new_int(vm, (int64_t)read_le(vm, 1)));
    case 'M':
        if (need(vm, 2)) return -1;
        return push(vm, new_int(vm, (int64_t)read_le(vm, 2)));
    case 0x8a: return op_long(vm, 1);
    case 0x8b: return op_long(vm, 4);
    case 'I': case 'L': /* text ints (protocol 0); "I01"/"I00" are booleans */
        if (parse_text_int(vm, &iv)) return -1;
        return push(vm, new_int(vm, iv));
    case 'G': {
        if (need(vm, 8)) return -1;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++) bits = bits << 8 | vm->buf[vm->pos + (size_t)i];
        vm->pos += 8;
        if (!(a = pk_new(vm, FCV_PK_FLOAT))) return -1;
        memcpy(&a->f, &bits, 8);
        return push(vm, a);
    }
    case 'F': {
        char line[64];
        if (read_line(vm, line, sizeof line)) return -1;
        char *end;
        double d = strtod(line, &end);
        if (!line[0] || *end) return VM_CORRUPT(vm, "byte %zu: bad float", vm->op_pos);
        if (!(a = pk_new(vm, FCV_PK_FLOAT))) return -1;
        a->f = d;
        return push(vm, a);
    }
    case 'X': return op_string(vm, FCV_PK_STR, 4);
    case 0x8c: return op_string(vm, FCV_PK_STR, 1);
    case 0x8d: return op_string(vm, FCV_PK_STR, 8);
    case 'T': return op_string(vm, FCV_PK_BYTES, 4);   /* py2 str: bytes */
    case 'U': return op_string(vm, FCV_PK_BYTES, 1);
    case 'B': return op_string(vm, FCV_PK_BYTES, 4);
    case 'C': return op_string(vm, FCV_PK_BYTES, 1);
    case 0x8e: return op_string(vm, FCV_PK_BYTES, 8);
    case 0x96: return op_string(vm, FCV_PK_BYTES, 8);  /* BYTEARRAY8 */
    case ')': return push(vm, pk_new(vm, FCV_PK_TUPLE));
    case 't':
        if (pop_mark(vm, &first)) return -1;
        return push(vm, collect(vm, FCV_PK_TUPLE, first));
    case 0x85: case 0x86: case 0x87: {
        size_t n = (size_t)(op - 0x84);
        if (vm->sp < stack_floor(vm) + n) return VM_CORRUPT(vm, "byte %zu: stack underflow", vm->op_pos);
        return push(vm, collect(vm, FCV_PK_TUPLE, vm->sp - n));
    }
    case ']': return push(vm, pk_new(vm, FCV_PK_LIST));
    case 'l':
        if (pop_mark(vm, &first)) return -1;
        return push(vm, collect(vm, FCV_PK_LIST, first));
    case 'a':
        if (!(b = pop(vm)) || !(a = top(vm))) return -1;
        if (a->kind != FCV_PK_LIST) return VM_CORRUPT(vm, "byte %zu: APPEND on a %s", vm->op_pos, fcv_pk_kind_name(a->kind));
        return pk_append(vm, a, b);
    case 'e':
        if (pop_mark(vm, &first)) return -1;
        if (!(a = mark_owner(vm, first))) return -1;
        return add_items(vm, a, first, 0);
    case '}': return push(vm, pk_new(vm, FCV_PK_DICT));
    case 'd':
        if (pop_mark(vm, &first)) return -1;
        if ((vm->sp - first) % 2) return VM_CORRUPT(vm, "byte %zu: DICT with an odd item count", vm->op_pos);
        return push(vm, collect(vm, FCV_PK_DICT, first));
    case 's':
        if (vm->sp < stack_floor(vm) + 3) return VM_CORRUPT(vm, "byte %zu: stack underflow", vm->op_pos);
        return add_items(vm, vm->stack[vm->sp - 3], vm->sp - 2, 1);
    case 'u':
        if (pop_mark(vm, &first)) return -1;
        if (!(a = mark_owner(vm, first))) return -1;
        return add_items(vm, a, first, 1);
    case 0x8f: return push(vm, pk_new(vm, FCV_PK_SET));
    case 0x90:
        if (pop_mark(vm, &first)) return -1;
        if (!(a = mark_owner(vm, first))) return -1;
        return add_items(vm, a, first, 0);
    case 0x91:
        if (pop_mark(vm, &first)) return -1;
        return push(vm, collect(vm, FCV_PK_SET, first));
    case 'c': {
        char module[PK_MAX_NAME], name[PK_MAX_NAME];
        if (read_line(vm, module, sizeof module) || read_line(vm, name, sizeof name)) return -1;
        return push_global(vm, module, name);
    }
    case 0x93: {
        if (!(b = pop(vm)) || !(a = pop(vm))) return -1;
        if (a->kind != FCV_PK_STR || b->kind != FCV_PK_STR || a->len >= PK_MAX_NAME || b->len >= PK_MAX_NAME)
            return VM_CORRUPT(vm, "byte %zu: STACK_GLOBAL needs two short strings", vm->op_pos);
        return push_global(vm, a->s, b->s);
    }
    case 'R':
        if (!(b = pop(vm)) || !(a = pop(vm))) return -1;
        return push(vm, apply(vm, a, b));
    case 0x81:
        if (!(b = pop(vm)) || !(a = pop(vm))) return -1;
        return push(vm, apply(vm, a, b));
    case 0x92: /* NEWOBJ_EX: kwargs are kept nowhere (records only) */
        if (!(c = pop(vm)) || !(b = pop(vm)) || !(a = pop(vm))) return -1;
        (void)c;
        return push(vm, apply(vm, a, b));
    case 'o': {
        if (pop_mark(vm, &first)) return -1;
        if (vm->sp == first) return VM_CORRUPT(vm, "byte %zu: OBJ without a class", vm->op_pos);
        fcv_pk *cls = vm->stack[first];
        fcv_pk *args = collect(vm, FCV_PK_TUPLE, first + 1);
        if (!args) return -1;
        vm->sp = first;
        return push(vm, apply(vm, cls, args));
    }
    case 'b':
        if (!(b = pop(vm)) || !(a = top(vm))) return -1;
        if (a->kind != FCV_PK_OBJECT && a->kind != FCV_PK_DICT)
            return VM_CORRUPT(vm, "byte %zu: BUILD on a %s", vm->op_pos, fcv_pk_kind_name(a->kind));
        a->state = b;
        if (b->depth + 1 > a->depth) a->depth = b->depth + 1;
        if ((uint32_t)a->depth > fc_limits_current.max_nesting)
            return vm_fail(vm, "nesting deeper than %u (limit)", fc_limits_current.max_nesting);
        return 0;
    case 'Q':
        if (!(b = pop(vm))) return -1;
        if (!(a = pk_new(vm, FCV_PK_PERSID))) return -1;
        a->pid = b;
        a->depth = b->depth + 1;
        return push(vm, a);
    case 'q':
        if (need(vm, 1) || !(a = top(vm))) return -1;
        return memo_put(vm, read_le(vm, 1), a);
    case 'r':
        if (need(vm, 4) || !(a = top(vm))) return -1;
        return memo_put(vm, read_le(vm, 4), a);
    case 'p':
        if (parse_text_int(vm, &iv) || !(a = top(vm))) return -1;
        if (iv < 0) return VM_CORRUPT(vm, "byte %zu: negative memo index", vm->op_pos);
        return memo_put(vm, (uint64_t)iv, a);
    case 0x94:
        if (!(a = top(vm))) return -1;
        return memo_put(vm, vm->memo_count, a);
    case 'h':
        if (need(vm, 1)) return -1;
        return memo_get(vm, read_le(vm, 1));
    case 'j':
        if (need(vm, 4)) return -1;
        return memo_get(vm, read_le(vm, 4));
    case 'g':
        if (parse_text_int(vm, &iv)) return -1;
        if (iv < 0) return VM_CORRUPT(vm, "byte %zu: negative memo index", vm->op_pos);
        return memo_get(vm, (uint64_t)iv);
    case 'i': return vm_fail(vm, "byte %zu: opcode INST is not supported (protocol 0 class instances)", vm->op_pos);
    case 'S': case 'V': case 'P':
        return vm_fail(vm, "byte %zu: protocol-0 text opcode '%c' is not supported", vm->op_pos, op);
    case 0x82: case 0x83: case 0x84:
        return vm_fail(vm, "byte %zu: extension-registry opcodes (EXT1/2/4) are not allowed", vm->op_pos);
    case 0x97: case 0x98:
        return vm_fail(vm, "byte %zu: out-of-band buffers are not supported", vm->op_pos);
    default:
        return VM_CORRUPT(vm, "byte %zu: unknown opcode 0x%02x", vm->op_pos, op);
    }
}

int fcv_pickle_load(const uint8_t *buf, size_t size, const char *file, const char *entry, int flags,
                    fcv_pickle **out, fc_error *err)
{
    *out = NULL;
    pk_vm vm = {0};
    vm.buf = buf;
    vm.size = size;
    vm.file = file ? file : "(pickle)";
    vm.entry = entry ? entry : "pickle";
    vm.flags = flags;
    vm.err = err;
    vm.p = calloc(1, sizeof *vm.p);
    if (!vm.p) return fc_fail(err, FC_ENOMEM, "%s: out of memory", vm.file);
    int stop = 0, rc = 0;
    while (!stop) {
        if (vm.pos >= vm.size) { rc = VM_CORRUPT(&vm, "truncated: no STOP opcode"); break; }
        vm.op_pos = vm.pos;
        uint8_t op = vm.buf[vm.pos++];
        if ((rc = step(&vm, op, &stop)) != 0) break;
    }
    free(vm.stack);
    free(vm.marks);
    free(vm.memo);
    if (rc) { fcv_pickle_free(vm.p); return -1; }
    *out = vm.p;
    return 0;
}

/* ---- accessors ---- */
fcv_pk *fcv_pk_dict_get(const fcv_pk *d, const char *key)
{
    if (!d || d->kind != FCV_PK_DICT) return NULL;
    for (size_t i = d->n / 2; i-- > 0;)
        if (fcv_pk_is_str(d->items[2 * i], key)) return d->items[2 * i + 1];
    return NULL;
}

int fcv_pk_is_str(const fcv_pk *v, const char *s)
{
    return v && v->kind == FCV_PK_STR && strlen(s) == v->len && memcmp(v->s, s, v->len) == 0;
}

const char *fcv_pk_class(const fcv_pk *v)
{
    if (!v) return NULL;
    if (v->kind == FCV_PK_GLOBAL) return v->s;
    if (v->kind == FCV_PK_OBJECT && v->cls) return v->cls->s;
    return NULL;
}

const char *fcv_pk_kind_name(int kind)
{
    static const char *const names[] = {"?", "None", "bool", "int", "float", "str", "bytes", "tuple", "list",
                                        "dict", "set", "global", "object", "persistent id"};
    return kind >= 1 && kind <= FCV_PK_PERSID ? names[kind] : "?";
}
