/* format.h — the .fcn on-disk format, version 1.2. The single source of truth:
 * the writer (converter/write_fcn.c) and the reader (runtime/model.c) both use these structs,
 * and docs/FORMAT.md describes exactly this file.
 *
 * Layout (all little-endian, every struct naturally aligned, sizes fixed by static asserts):
 *
 *   offset 0   fcn_header (64 bytes)
 *   offset 64  fcn_section[section_count] (32 bytes each)
 *   ...        section payloads, each starting at a multiple of 64, in the order of the table
 *
 * Sections (kind, flags): META (JSON text, UTF-8, cJSON), STRINGS (names, not NUL-terminated),
 * TENSORS (fcn_tensor_rec[]), GRAPH (fcn_graph_hdr + arrays), DATA (constant payloads, each
 * at a multiple of FCN_DATA_ALIGN inside the section, so fp32 weights are used in place
 * from the mmap). Every section carries a CRC32 (zlib) of its payload.
 *
 * Versioning: a reader accepts any minor version of its major version; a newer major is
 * refused. New section kinds are added with FCN_SECTION_CRITICAL cleared when old readers
 * may ignore them, set when they may not (an old reader then refuses the file).
 */
#ifndef FCN_FORMAT_H
#define FCN_FORMAT_H

#include <stdint.h>
#include "common/fc_common.h"

#define FCN_MAGIC "\x89" "FCN\r\n\x1a\n"   /* 8 bytes: PNG-style, catches text-mode mangling */
#define FCN_VERSION_MAJOR 1
#define FCN_VERSION_MINOR 3
#define FCN_SECTION_ALIGN 64
#define FCN_DATA_ALIGN 64
#define FCN_MAX_DIMS FC_MAX_DIMS          /* 8 */
#define FCN_NO_VALUE 0xFFFFFFFFu          /* an absent optional input in the ids array */
#define FCN_NO_DATA 0xFFFFFFFFFFFFFFFFull /* data_off of a non-constant value */
#define FCN_MAX_ATTR_VALUES 64            /* count limit of one attribute */
#define FCN_MAX_NODE_IO 1024              /* n_in / n_out limit of one node */

typedef struct fcn_header {
    uint8_t magic[8];
    uint16_t version_major;
    uint16_t version_minor;
    uint32_t header_size;          /* sizeof(fcn_header) = 64 */
    uint64_t file_size;            /* must equal the real file size */
    uint64_t section_table_offset; /* 64 */
    uint32_t section_count;        /* 1..64 */
    uint32_t flags;                /* 0 in v1 */
    uint32_t section_table_crc;    /* crc32 of the section table */
    uint8_t reserved[16];          /* zero */
    uint32_t header_crc;           /* crc32 of bytes [0, 60) */
} fcn_header;

enum fcn_section_kind {
    FCN_SECTION_META = 1,
    FCN_SECTION_STRINGS = 2,
    FCN_SECTION_TENSORS = 3,
    FCN_SECTION_GRAPH = 4,
    FCN_SECTION_DATA = 5,
    FCN_SECTION_PREPACKED = 6,     /* 1.2, optional (never CRITICAL): weights as one CPU's kernels use them */
};
#define FCN_SECTION_CRITICAL 1u   /* flags bit: a reader that does not know the kind must refuse */

typedef struct fcn_section {
    uint32_t kind;
    uint32_t flags;
    uint64_t offset;               /* from file start, multiple of 64 */
    uint64_t size;                 /* payload bytes */
    uint32_t crc32;                /* of the payload */
    uint32_t reserved;             /* zero */
} fcn_section;

/* PREPACKED (format 1.2, written by `fullconv convert --prepack`): the weights of the layers
 * whose kernels repack them at session creation (GEMM panels, Winograd U, grouped-conv
 * panels), already in the layout one runtime's kernels read, so a session uses them in place
 * from the mmap instead of allocating and packing. A cache, not a source of truth: the raw
 * weights stay in DATA; a reader whose kernels differ (layout, mr, kc) ignores the section,
 * and a record whose kind, parameter or size is not what the node's kernel wants is skipped.
 *   fcn_prepack_hdr, fcn_prepack_rec[count] sorted by node (at most one per node),
 *   then the blobs, each at a multiple of 64 inside the section, in record order. */
#define FCN_PREPACK_LAYOUT 1              /* bump whenever a packing routine's output changes */
#define FCN_PREPACK_MAX_RECORDS (1u << 20)
typedef struct fcn_prepack_hdr {
    uint32_t layout;               /* FCN_PREPACK_LAYOUT of the writer */
    uint32_t mr;                   /* A-panel rows of the micro-kernel (16 AVX-512, 6 AVX2) */
    uint32_t kc;                   /* K block of the packed panels (FCN_KC) */
    uint32_t isa;                  /* 1 AVX2+FMA, 2 AVX-512 (the kernel family the blobs were made for) */
    uint32_t count;                /* records */
    uint32_t reserved[3];          /* zero */
} fcn_prepack_hdr;
enum fcn_prepack_kind {
    FCN_PREPACK_GEMM = 1,          /* conv GEMM A panels, group after group; param = group */
    FCN_PREPACK_WINOGRAD = 2,      /* Winograd U, P packed K×C matrices (grouped: per group); param = m (2 or 4) */
    FCN_PREPACK_GCONV = 3,         /* grouped direct conv panels; param = group */
    FCN_PREPACK_STEM = 4,          /* direct few-channel conv (stem_avx512.c) weights; param = 1 */
};
typedef struct fcn_prepack_rec {
    uint32_t node;                 /* index into the graph's nodes; strictly increasing */
    uint32_t kind;                 /* fcn_prepack_kind */
    uint32_t param;
    uint32_t reserved;             /* zero */
    uint64_t offset;               /* of the blob, from the section start, multiple of 64 */
    uint64_t size;                 /* bytes */
} fcn_prepack_rec;

/* One value of the graph: a constant (weights; data_off != FCN_NO_DATA) or an activation. */
typedef struct fcn_tensor_rec {
    uint32_t name_off;             /* into STRINGS */
    uint32_t name_len;             /* 1..4096 */
    uint32_t dtype;                /* fc_dtype */
    uint32_t ndim;                 /* 0..8 */
    int64_t dims[FCN_MAX_DIMS];    /* >= 0 for constants; activations: as traced at convert time, -1 = unknown */
    uint64_t data_off;             /* within DATA, multiple of 64, or FCN_NO_DATA */
    uint64_t data_size;            /* = numel * dtype size */
    uint32_t aux_id;               /* i8: id of the f32 scale tensor (dims[0] entries); else FCN_NO_VALUE */
    uint32_t flags;                /* 0 in v1 */
} fcn_tensor_rec;

typedef struct fcn_graph_hdr {
    uint32_t n_nodes;
    uint32_t n_inputs;             /* graph inputs: value ids, non-constant */
    uint32_t n_outputs;
    uint32_t n_ids;                /* node input/output id array */
    uint32_t n_attrs;
    uint32_t n_slots;              /* 8-byte attribute value slots */
    uint32_t reserved[2];
    /* followed by: uint32 inputs[n_inputs], uint32 outputs[n_outputs], padded to 8;
     * fcn_node_rec nodes[n_nodes]; uint32 ids[n_ids] padded to 8; fcn_attr_rec attrs[n_attrs];
     * uint64 slots[n_slots]. Section size must equal exactly this. */
} fcn_graph_hdr;

typedef struct fcn_node_rec {
    uint32_t op;                   /* fcn_op */
    uint32_t name_off, name_len;   /* into STRINGS */
    uint32_t flags;                /* 0 in v1 */
    uint32_t in_first, n_in;       /* into ids; an id may be FCN_NO_VALUE (absent optional) */
    uint32_t out_first, n_out;
    uint32_t attr_first, n_attr;   /* into attrs */
} fcn_node_rec;

enum fcn_attr_kind { FCN_AK_INT = 1, FCN_AK_INTS = 2, FCN_AK_FLOAT = 3, FCN_AK_FLOATS = 4 };
typedef struct fcn_attr_rec {
    uint32_t key;                  /* fcn_attr_key; unique within a node */
    uint32_t kind;                 /* fcn_attr_kind */
    uint32_t count;                /* 1 for INT/FLOAT, 0..64 for lists */
    uint32_t slot_first;           /* into slots: int64 (INT/INTS) or IEEE double bits (FLOAT/FLOATS) */
} fcn_attr_rec;

/* Operators: ONNX semantics, NCHW. Shape-like parameters are attributes, never tensors
 * (importers move constant inputs such as Reshape's shape or Clip's min/max into attributes). */
typedef enum fcn_op {
    FCN_OP_INVALID = 0,
    FCN_OP_CONV = 1,           /* in: X, W, [B]; attrs KERNEL_SHAPE STRIDES PADS DILATIONS GROUP AUTO_PAD + ACT* */
    FCN_OP_GEMM = 2,           /* in: A, B, [C]; TRANS_A TRANS_B ALPHA BETA + ACT* */
    FCN_OP_MATMUL = 3,         /* numpy matmul, broadcasting batch dims */
    FCN_OP_BATCHNORM = 4,      /* in: X, scale, B, mean, var; EPSILON */
    FCN_OP_RELU = 5,
    FCN_OP_LEAKY_RELU = 6,     /* ALPHA (0.01) */
    FCN_OP_CLIP = 7,           /* MIN MAX (floats; absent = unbounded) */
    FCN_OP_SIGMOID = 8,
    FCN_OP_TANH = 9,
    FCN_OP_HARD_SIGMOID = 10,  /* ALPHA (0.2) BETA (0.5) */
    FCN_OP_HARD_SWISH = 11,
    FCN_OP_ADD = 12,           /* numpy broadcasting, f32 and i64 */
    FCN_OP_SUB = 13,
    FCN_OP_MUL = 14,
    FCN_OP_DIV = 15,
    FCN_OP_CONCAT = 16,        /* AXIS */
    FCN_OP_MAXPOOL = 17,       /* KERNEL_SHAPE STRIDES PADS DILATIONS CEIL_MODE AUTO_PAD STORAGE_ORDER */
    FCN_OP_AVGPOOL = 18,       /* KERNEL_SHAPE STRIDES PADS CEIL_MODE COUNT_INCLUDE_PAD AUTO_PAD */
    FCN_OP_GLOBAL_AVGPOOL = 19,
    FCN_OP_GLOBAL_MAXPOOL = 20,
    FCN_OP_REDUCE_MEAN = 21,   /* AXES KEEPDIMS (1) NOOP_WITH_EMPTY_AXES */
    FCN_OP_FLATTEN = 22,       /* AXIS (1) */
    FCN_OP_RESHAPE = 23,       /* SHAPE ALLOWZERO */
    FCN_OP_TRANSPOSE = 24,     /* PERM (absent = reverse) */
    FCN_OP_SQUEEZE = 25,       /* AXES (absent = all 1-dims) */
    FCN_OP_UNSQUEEZE = 26,     /* AXES */
    FCN_OP_PAD = 27,           /* PADS (2*rank, ONNX order) PAD_VALUE MODE (0 constant, 1 reflect, 2 edge) */
    FCN_OP_SOFTMAX = 28,       /* AXIS (opset>=13 semantics: one axis; importer rewrites older) */
    FCN_OP_LOG_SOFTMAX = 29,   /* AXIS */
    FCN_OP_IDENTITY = 30,      /* also Dropout at inference */
    FCN_OP_SLICE = 31,         /* STARTS ENDS AXES STEPS */
    FCN_OP_GATHER = 32,        /* in: data, indices (i64/i32); AXIS */
    FCN_OP_SHAPE = 33,         /* START END (opset 15); output i64 */
    FCN_OP_CAST = 34,          /* TO (fc_dtype) */
    FCN_OP_EXP = 35,
    FCN_OP_LOG = 36,
    FCN_OP_ABS = 37,
    FCN_OP_NEG = 38,
    FCN_OP_SQRT = 39,
    FCN_OP_RECIPROCAL = 40,
    FCN_OP_FLOOR = 41,
    FCN_OP_CEIL = 42,
    FCN_OP_ELU = 43,           /* ALPHA (1.0) */
    FCN_OP_SELU = 44,          /* ALPHA GAMMA */
    FCN_OP_SOFTPLUS = 45,
    FCN_OP_SOFTSIGN = 46,
    FCN_OP_PRELU = 47,         /* in: X, slope (broadcast) */
    FCN_OP_POW = 48,
    FCN_OP_MAX = 49,           /* variadic, broadcasting */
    FCN_OP_MIN = 50,
    FCN_OP_SUM = 51,
    FCN_OP_MEAN = 52,
    FCN_OP_REDUCE_MAX = 53,    /* AXES KEEPDIMS */
    FCN_OP_REDUCE_SUM = 54,    /* AXES KEEPDIMS NOOP_WITH_EMPTY_AXES */
    FCN_OP_LRN = 55,           /* SIZE ALPHA BETA BIAS (AlexNet-style exports) */
    FCN_OP_EXPAND = 56,        /* SHAPE */
    FCN_OP_SWISH = 57,         /* x*sigmoid(x) (fused by importers from Mul(x, Sigmoid(x))) */
    FCN_OP_COUNT
} fcn_op;

typedef enum fcn_attr_key {
    FCN_ATTR_KERNEL_SHAPE = 1,
    FCN_ATTR_STRIDES = 2,
    FCN_ATTR_PADS = 3,           /* ONNX order: begins then ends */
    FCN_ATTR_DILATIONS = 4,
    FCN_ATTR_GROUP = 5,
    FCN_ATTR_AUTO_PAD = 6,       /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
    FCN_ATTR_CEIL_MODE = 7,
    FCN_ATTR_COUNT_INCLUDE_PAD = 8,
    FCN_ATTR_AXIS = 9,
    FCN_ATTR_AXES = 10,
    FCN_ATTR_KEEPDIMS = 11,
    FCN_ATTR_PERM = 12,
    FCN_ATTR_SHAPE = 13,
    FCN_ATTR_ALPHA = 14,
    FCN_ATTR_BETA = 15,
    FCN_ATTR_GAMMA = 16,
    FCN_ATTR_TRANS_A = 17,
    FCN_ATTR_TRANS_B = 18,
    FCN_ATTR_EPSILON = 19,
    FCN_ATTR_MIN = 20,
    FCN_ATTR_MAX = 21,
    FCN_ATTR_PAD_VALUE = 22,
    FCN_ATTR_STARTS = 23,
    FCN_ATTR_ENDS = 24,
    FCN_ATTR_STEPS = 25,
    FCN_ATTR_TO = 26,
    FCN_ATTR_ALLOWZERO = 27,
    FCN_ATTR_STORAGE_ORDER = 28,
    FCN_ATTR_NOOP_WITH_EMPTY_AXES = 29,
    FCN_ATTR_START = 30,
    FCN_ATTR_END = 31,
    FCN_ATTR_MODE = 32,
    FCN_ATTR_SIZE = 33,
    FCN_ATTR_BIAS = 34,
    /* fused activation applied by the op to its output (Conv, Gemm, MatMul, Add):
     * ACT = fcn_act, ACT_ALPHA/ACT_BETA its parameters (leaky alpha; clip min/max). */
    FCN_ATTR_ACT = 40,
    FCN_ATTR_ACT_ALPHA = 41,
    FCN_ATTR_ACT_BETA = 42,
    /* Conv (version 1.3): the order of the weight's bytes, its dims staying [K, C/group, kh, kw]:
     * 0 (absent) [K][C/group][kh][kw]; 1 input-major [C/group][kh][kw][K], group 1 only (written
     * by the converter's fc_columns pass for an FC turned conv whose input holds a ReLU's zeros) */
    FCN_ATTR_W_LAYOUT = 43,
    FCN_ATTR_COUNT
} fcn_attr_key;

typedef enum fcn_act {
    FCN_ACT_NONE = 0,
    FCN_ACT_RELU = 1,
    FCN_ACT_CLIP = 2,          /* min = ACT_ALPHA, max = ACT_BETA (Relu6: 0, 6) */
    FCN_ACT_LEAKY_RELU = 3,    /* alpha = ACT_ALPHA */
    FCN_ACT_SIGMOID = 4,
    FCN_ACT_HARD_SWISH = 5,
    FCN_ACT_SWISH = 6,         /* x · sigmoid(x) (SiLU) */
    FCN_ACT_HARD_SIGMOID = 7,  /* clamp(ACT_ALPHA · x + ACT_BETA, 0, 1) */
} fcn_act;

_Static_assert(sizeof(fcn_header) == 64, "fcn_header is 64 bytes");
_Static_assert(sizeof(fcn_section) == 32, "fcn_section is 32 bytes");
_Static_assert(sizeof(fcn_tensor_rec) == 104, "fcn_tensor_rec is 104 bytes");
_Static_assert(sizeof(fcn_graph_hdr) == 32, "fcn_graph_hdr is 32 bytes");
_Static_assert(sizeof(fcn_node_rec) == 40, "fcn_node_rec is 40 bytes");
_Static_assert(sizeof(fcn_attr_rec) == 16, "fcn_attr_rec is 16 bytes");
_Static_assert(sizeof(fcn_prepack_hdr) == 32, "fcn_prepack_hdr is 32 bytes");
_Static_assert(sizeof(fcn_prepack_rec) == 32, "fcn_prepack_rec is 32 bytes");

/* Names for printing (runtime/optable.c). */
const char *fcn_op_name(int op);          /* "Conv", ... ; "?" if unknown */
const char *fcn_attr_name(int key);

#endif
