/* fc_common.h — shared by every component: errors, dtypes, checked arithmetic,
 * whole-file I/O with atomic writes, CRC32/SHA-256, .npy/.npz arrays.
 *
 * Dependency direction: common <- runtime <- converter <- bench <- cli.
 * Nothing here knows about models. */
#ifndef FC_COMMON_H
#define FC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fullconv reads its little-endian formats with memcpy: big-endian hosts are not supported"
#endif

/* ---- errors: values, never exit() ------------------------------------------------ */
/* Exit-status-compatible codes: 1 = a check failed (verification over tolerance,
 * regression), 2 = bad input or usage (the default for parse errors). */
enum { FC_OK = 0, FC_ECHECK = 1, FC_EINPUT = 2, FC_ENOMEM = 3, FC_EIO = 4, FC_EINTERNAL = 5 };

#define FC_ERR_MAX 512
typedef struct fc_error {
    int code;               /* one of FC_E*, 0 when no error */
    char msg[FC_ERR_MAX];   /* one line: "file: node 'x': what is wrong" */
} fc_error;

/* Formats msg (printf style), sets code, returns -1 so callers can `return fc_fail(...)`.
 * err may be NULL. */
int fc_fail(fc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to an existing message (adds context while unwinding). */
int fc_wrap(fc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps an error code to a process exit status (0, 1 or 2). */
int fc_exit_status(const fc_error *err);

/* ---- dtypes: values are part of the .fcn format (see runtime/format.h) ------------ */
typedef enum fc_dtype {
    FC_DT_INVALID = 0,
    FC_DT_F32 = 1,
    FC_DT_F16 = 2,
    FC_DT_I8 = 3,   /* .fcn weights: per-output-channel symmetric scale in an aux tensor */
    FC_DT_I32 = 4,
    FC_DT_I64 = 5,
    FC_DT_U8 = 6,
    FC_DT_F64 = 7,
    FC_DT_BOOL = 8,
    FC_DT_I16 = 9,
    FC_DT_U16 = 10,
    FC_DT_U32 = 11,
    FC_DT_U64 = 12,
    FC_DT_BF16 = 13,
    FC_DT_COUNT
} fc_dtype;
size_t fc_dtype_size(int dtype);        /* 0 for invalid */
const char *fc_dtype_name(int dtype);   /* "f32", "f16", ... or "invalid" */

/* ---- checked arithmetic ------------------------------------------------------------ */
#define FC_MAX_DIMS 8
/* Returns 0 on success, -1 on overflow (or negative dim). */
static inline int fc_mul_size(size_t a, size_t b, size_t *out) { return __builtin_mul_overflow(a, b, out) ? -1 : 0; }
static inline int fc_add_size(size_t a, size_t b, size_t *out) { return __builtin_add_overflow(a, b, out) ? -1 : 0; }
/* numel of dims (all >= 0) without overflow; -1 if negative or overflowing. */
int fc_numel(int ndim, const int64_t *dims, size_t *out);
/* "1x3x224x224" formatting/parsing */
void fc_format_dims(int ndim, const int64_t *dims, char *buf, size_t cap);
int fc_parse_dims(const char *s, int *ndim, int64_t *dims);   /* 0 ok, -1 bad */

/* fp16 <-> fp32 (portable, round-to-nearest-even) */
uint16_t fc_f32_to_f16(float f);
float fc_f16_to_f32(uint16_t h);

/* ---- files ---------------------------------------------------------------------------- */
/* Reads a whole regular file; refuses files larger than max_bytes. Caller frees *data. */
int fc_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size, fc_error *err);
/* Writes to "<dir>/.<name>.tmpXXXXXX", fsyncs, then renames over path. Never leaves a
 * partial file. Refuses to overwrite an existing file unless force. */
int fc_write_file_atomic(const char *path, const void *data, size_t size, int force, fc_error *err);
/* Same, with a callback producing the content into a FILE* (for large writes). */
int fc_write_stream_atomic(const char *path, int force,
                           int (*produce)(FILE *f, void *ctx, fc_error *err), void *ctx, fc_error *err);
/* The temp files currently being written: removed by fc_cleanup_temp_files() (called from
 * the CLI's SIGINT handler, async-signal-safe). */
void fc_cleanup_temp_files(void);
/* 1 if a and b name the same existing file (device+inode). */
int fc_same_file(const char *a, const char *b);

/* ---- hashes ---------------------------------------------------------------------------- */
uint32_t fc_crc32(const void *data, size_t size);   /* zlib crc32 */
/* The same CRC on up to `threads` threads (slices joined with crc32_combine) for buffers of
 * 16 MB or more; fc_crc32 otherwise. */
uint32_t fc_crc32_mt(const void *data, size_t size, int threads);
void fc_sha256(const void *data, size_t size, uint8_t out[32]);
void fc_hex(const uint8_t *bytes, size_t n, char *out /* 2n+1 */);

/* ---- arrays and .npy / .npz ----------------------------------------------------------- */
typedef struct fc_array {
    int dtype;                      /* fc_dtype */
    int ndim;
    int64_t dims[FC_MAX_DIMS];
    void *data;                     /* malloc'd, C order */
    size_t nbytes;
} fc_array;

void fc_array_free(fc_array *a);   /* frees data, zeroes the struct */
/* Allocates zeroed data for the given shape. */
int fc_array_alloc(fc_array *a, int dtype, int ndim, const int64_t *dims, fc_error *err);
/* npy v1-v3: dtypes f2/f4/f8/i1..i8/u1..u8/b1, little-endian or '|'; fortran_order is
 * transposed to C order; object arrays refused. `name` is used in error messages. */
int fc_npy_parse(const uint8_t *buf, size_t size, const char *name, fc_array *out, fc_error *err);
int fc_npy_read(const char *path, fc_array *out, fc_error *err);
/* Serializes to npy v1 in memory (malloc'd), or writes atomically to path. */
int fc_npy_serialize(const fc_array *a, uint8_t **buf, size_t *size, fc_error *err);
int fc_npy_write(const char *path, const fc_array *a, int force, fc_error *err);
/* Converts any numeric array to f32 in place (data replaced). */
int fc_array_to_f32(fc_array *a, fc_error *err);

/* .npz: a zip of .npy members (stored or deflated), read through libzip (common/zipread.c). */
typedef struct fc_npz_entry { char *name; fc_array arr; } fc_npz_entry;   /* name without ".npy" */
typedef struct fc_npz { fc_npz_entry *entries; int count; } fc_npz;
int fc_npz_read(const char *path, fc_npz *out, fc_error *err);
void fc_npz_free(fc_npz *z);
const fc_array *fc_npz_find(const fc_npz *z, const char *name);

/* 1 if the JSON text's [ / { nesting never exceeds max_depth (strings skipped): call before
 * cJSON_Parse, which recurses (common/json_guard.c). */
int fc_json_depth_ok(const char *s, size_t n, uint32_t max_depth);

/* ---- limits for hostile input (docs/LIMITS.md); overridable for trusted inputs -------- */
typedef struct fc_limits {
    uint64_t max_file_bytes;        /* any model/data file read whole: 4 GiB */
    uint64_t max_tensor_bytes;      /* one tensor: 4 GiB */
    uint64_t max_inflated_bytes;    /* total bytes inflated from one zip: 8 GiB */
    uint64_t max_zip_entries;       /* 100000 */
    uint32_t max_zip_ratio;         /* inflated/compressed per entry: 1000 */
    uint32_t max_tensors;           /* 1000000 */
    uint32_t max_nodes;             /* 1000000 */
    uint32_t max_nesting;           /* JSON / pickle / protobuf nesting: 100 */
    uint32_t max_pickle_memo;       /* 1000000 */
    uint64_t max_string_bytes;      /* one pickle/JSON string: 64 MiB */
    uint64_t max_arena_bytes;       /* activation arena of one session: 8 GiB */
} fc_limits;
extern fc_limits fc_limits_current;   /* defaults above; CLI options may raise them */
/* Applies "name=value,name=value" (names as the fields above, values with an optional
 * k/M/G/T binary suffix) to fc_limits_current; -1 + err (FC_EINPUT) on an unknown name or a
 * bad value, nothing changed then (common/limits_env.c). */
int fc_limits_parse(const char *spec, fc_error *err);
/* fc_limits_parse(getenv("FULLCONV_LIMITS")) when set; 0 when unset. Called by the CLI. */
int fc_limits_init_from_env(fc_error *err);

#endif
