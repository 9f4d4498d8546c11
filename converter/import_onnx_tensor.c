/* import_onnx_tensor.c — ONNX TensorProto -> little-endian bytes: dtypes, raw_data, the typed
 * fields (float_data, int32_data incl. f16/bf16 bits and narrow ints, int64_data, double_data,
 * uint64_data) and external data files, which must stay inside the model's folder.
 * Every size is checked against data actually present before anything is allocated. */
#include "converter/import_onnx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- dtypes ------------------------------------------------------------------------------ */

int onnx_dtype(int32_t t)
{
    switch (t) {
    case 1: return FC_DT_F32;
    case 2: return FC_DT_U8;
    case 3: return FC_DT_I8;
    case 4: return FC_DT_U16;
    case 5: return FC_DT_I16;
    case 6: return FC_DT_I32;
    case 7: return FC_DT_I64;
    case 9: return FC_DT_BOOL;
    case 10: return FC_DT_F16;
    case 11: return FC_DT_F64;
    case 12: return FC_DT_U32;
    case 13: return FC_DT_U64;
    case 16: return FC_DT_BF16;
    default: return FC_DT_INVALID;
    }
}

const char *onnx_dtype_name(int32_t t)
{
    static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32",
                                  "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
                                  "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    if (t >= 0 && t < (int32_t)(sizeof names / sizeof names[0])) return names[t];
    return "unknown";
}

/* ---- tensors ------------------------------------------------------------------------------ */

static const char *tname(const Onnx__TensorProto *t)
{
    return (t->name && *t->name) ? t->name : "(unnamed)";
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

/* External data: the location is relative to the model's folder and must stay inside it
 * (no absolute path, no "..", and the resolved path - symlinks followed - under the folder). */
static int open_external(const Onnx__TensorProto *t, const char *file, const char *base_dir, size_t nbytes,
                         int *fd_out, uint64_t *offset_out, fc_error *err)
{
    const char *location = NULL;
    uint64_t offset = 0, length = 0;
    int has_length = 0;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e->key) continue;
        if (strcmp(e->key, "location") == 0) {
            location = e->value;
        } else if (strcmp(e->key, "offset") == 0) {
            if (parse_u64(e->value, &offset))
                return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data offset '%s' is not a number",
                               file, tname(t), e->value ? e->value : "");
        } else if (strcmp(e->key, "length") == 0) {
            if (parse_u64(e->value, &length))
                return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data length '%s' is not a number",
                               file, tname(t), e->value ? e->value : "");
            has_length = 1;
        }
    }
    if (!location || !*location)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data without a location", file, tname(t));
    if (!base_dir)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data needs the model's folder", file,
                       tname(t));
    if (location[0] == '/')
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data location '%s' is an absolute path",
                       file, tname(t), location);
    for (const char *p = location; *p;) {
        size_t len = strcspn(p, "/\\");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data location '%s' leaves the model's folder ('..')",
                           file, tname(t), location);
        p += len;
        if (*p) p++;
    }
    if (has_length && length != nbytes)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data length %llu, the shape needs %zu bytes",
                       file, tname(t), (unsigned long long)length, nbytes);
    char *joined = NULL;
    if (asprintf(&joined, "%s/%s", base_dir, location) < 0)
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", file);
    char *real = realpath(joined, NULL);
    free(joined);
    if (!real)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data file '%s': %s", file, tname(t),
                       location, strerror(errno));
    size_t blen = strlen(base_dir);
    int inside = strncmp(real, base_dir, blen) == 0 && (real[blen] == '/' || (blen == 1 && base_dir[0] == '/'));
    if (!inside) {
        free(real);
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data location '%s' resolves outside the model's folder",
                       file, tname(t), location);
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    free(real);
    if (fd < 0)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': cannot open external data '%s': %s", file, tname(t),
                       location, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data '%s' is not a regular file", file,
                       tname(t), location);
    }
    if (offset > (uint64_t)st.st_size || nbytes > (uint64_t)st.st_size - offset) {
        close(fd);
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': external data '%s' has %lld bytes, needs %zu at offset %llu",
                       file, tname(t), location, (long long)st.st_size, nbytes, (unsigned long long)offset);
    }
    *fd_out = fd;
    *offset_out = offset;
    return 0;
}

static int read_fd(int fd, uint64_t offset, void *dst, size_t nbytes)
{
    size_t done = 0;
    while (done < nbytes) {
        ssize_t r = pread(fd, (char *)dst + done, nbytes - done, (off_t)(offset + done));
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

static int typed_count_ok(size_t have, size_t numel, const Onnx__TensorProto *t, const char *file,
                          const char *field, fc_error *err)
{
    if (have != numel)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': %s has %zu values, the shape needs %zu", file,
                       tname(t), field, have, numel);
    return 0;
}

int onnx_tensor_data(const Onnx__TensorProto *t, const char *file, const char *base_dir, int *dtype_out,
                     int *ndim_out, int64_t *dims, void **data_out, size_t *nbytes_out, fc_error *err)
{
    int dtype = onnx_dtype(t->data_type);
    if (dtype == FC_DT_INVALID)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': data type %s (%d) is not supported", file, tname(t),
                       onnx_dtype_name(t->data_type), (int)t->data_type);
    if (t->n_dims > FCN_MAX_DIMS)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': %zu dims (at most %d)", file, tname(t), t->n_dims,
                       FCN_MAX_DIMS);
    int ndim = (int)t->n_dims;
    size_t numel = 1, nbytes;
    for (int i = 0; i < ndim; i++) {
        if (t->dims[i] < 0 || fc_mul_size(numel, (size_t)t->dims[i], &numel))
            return fc_fail(err, FC_EINPUT, "%s: tensor '%s': dims are negative or overflow", file, tname(t));
        dims[i] = t->dims[i];
    }
    size_t esize = fc_dtype_size(dtype);
    if (fc_mul_size(numel, esize, &nbytes) || nbytes > fc_limits_current.max_tensor_bytes)
        return fc_fail(err, FC_EINPUT, "%s: tensor '%s': dims overflow or exceed the tensor size limit", file,
                       tname(t));
    int external = t->has_data_location && t->data_location == 1;
    /* every size is checked against data actually present (in the file or the external file)
     * before anything is allocated, so a lying header cannot make us allocate */
    int fd = -1;
    uint64_t offset = 0;
    if (external) {
        if (open_external(t, file, base_dir, nbytes, &fd, &offset, err)) return -1;
    } else if (t->has_raw_data) {
        if (t->raw_data.len != nbytes)
            return fc_fail(err, FC_EINPUT, "%s: tensor '%s': raw_data has %zu bytes, the shape needs %zu", file,
                           tname(t), t->raw_data.len, nbytes);
    } else {
        size_t have;
        const char *field;
        switch (dtype) {
        case FC_DT_F32: have = t->n_float_data; field = "float_data"; break;
        case FC_DT_F64: have = t->n_double_data; field = "double_data"; break;
        case FC_DT_I64: have = t->n_int64_data; field = "int64_data"; break;
        case FC_DT_U32: case FC_DT_U64: have = t->n_uint64_data; field = "uint64_data"; break;
        default: have = t->n_int32_data; field = "int32_data"; break;
        }
        if (typed_count_ok(have, numel, t, file, field, err)) return -1;
    }
    uint8_t *data = malloc(nbytes ? nbytes : 1);
    if (!data) {
        if (fd >= 0) close(fd);
        return fc_fail(err, FC_ENOMEM, "%s: tensor '%s': out of memory (%zu bytes)", file, tname(t), nbytes);
    }
    int rc = 0;
    if (external) {
        if (read_fd(fd, offset, data, nbytes))
            rc = fc_fail(err, FC_EIO, "%s: tensor '%s': reading external data failed", file, tname(t));
        close(fd);
    } else if (t->has_raw_data) {
        if (nbytes) memcpy(data, t->raw_data.data, nbytes);
    } else {
        /* little-endian host (fc_common.h): typed fields copy or narrow element by element */
        switch (dtype) {
        case FC_DT_F32: if (numel) memcpy(data, t->float_data, nbytes); break;
        case FC_DT_F64: if (numel) memcpy(data, t->double_data, nbytes); break;
        case FC_DT_I64: if (numel) memcpy(data, t->int64_data, nbytes); break;
        case FC_DT_U32: case FC_DT_U64:
            for (size_t i = 0; i < numel; i++) {
                if (dtype == FC_DT_U64) memcpy(data + 8 * i, &t->uint64_data[i], 8);
                else { uint32_t v = (uint32_t)t->uint64_data[i]; memcpy(data + 4 * i, &v, 4); }
            }
            break;
        default:   /* int32, int16, int8, uint16, uint8, bool, float16 and bfloat16 (bits) live in int32_data */
            for (size_t i = 0; i < numel; i++) {
                int32_t v = t->int32_data[i];
                if (esize == 4) memcpy(data + 4 * i, &v, 4);
                else if (esize == 2) { uint16_t h = (uint16_t)v; memcpy(data + 2 * i, &h, 2); }
                else data[i] = (uint8_t)v;
            }
            break;
        }
    }
    if (rc) {
        free(data);
        return -1;
    }
    *dtype_out = dtype;
    *ndim_out = ndim;
    *data_out = data;
    *nbytes_out = nbytes;
    return 0;
}

