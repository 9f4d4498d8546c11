/* import.c — fcv_import: recognize a model file by its content, not its name, and hand it to
 * the importer of its format.
 *
 *   zip (PK\3\4) holding data.pkl / constants.pkl   -> PyTorch (.pt/.pth, TorchScript)
 *   zip holding only .npy members                   -> .npz weights (+ --arch)
 *   8-byte little-endian length then '{'            -> safetensors
 *   JSON object with "modelTopology"                -> TF.js model.json
 *   anything else that parses as an ONNX ModelProto -> ONNX
 * A directory is taken as a TF.js model folder when it holds model.json. */
#include "converter/ir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#define SNIFF_BYTES 4096

typedef enum { FMT_UNKNOWN, FMT_ONNX, FMT_TORCH, FMT_NPZ, FMT_SAFETENSORS, FMT_TFJS } model_format;

static int zip_kind(const char *path, model_format *fmt, fc_error *err)
{
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    if (!z) return fc_fail(err, FC_EINPUT, "%s: a zip file that cannot be opened (corrupted or truncated)", path);
    zip_int64_t n = zip_get_num_entries(z, 0);
    int pickle = 0, npy = 0, other = 0;
    for (zip_int64_t i = 0; i < n && i < 100000; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        if (!name) continue;
        size_t len = strlen(name);
        const char *base = strrchr(name, '/');
        base = base ? base + 1 : name;
        if (!strcmp(base, "data.pkl") || !strcmp(base, "constants.pkl")) pickle = 1;
        else if (len > 4 && !strcmp(name + len - 4, ".npy")) npy++;
        else other++;
    }
    zip_discard(z);
    if (pickle) *fmt = FMT_TORCH;
    else if (npy && !other) *fmt = FMT_NPZ;
    else return fc_fail(err, FC_EINPUT, "%s: a zip file that is neither a PyTorch archive (no data.pkl) nor an .npz", path);
    return 0;
}

static int json_has_topology(const uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')) i++;
    if (i + 3 <= n && buf[i] == 0xEF && buf[i + 1] == 0xBB && buf[i + 2] == 0xBF) i += 3;
    if (i >= n || buf[i] != '{') return 0;
    return memmem(buf, n, "\"modelTopology\"", 15) != NULL || memmem(buf, n, "\"weightsManifest\"", 17) != NULL;
}

static int sniff(const char *path, model_format *fmt, fc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(err, FC_EINPUT, "%s: %s", path, strerror(errno));
    uint8_t buf[SNIFF_BYTES];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    *fmt = FMT_UNKNOWN;
    if (n == 0) return fc_fail(err, FC_EINPUT, "%s: empty file", path);
    if (n >= 4 && !memcmp(buf, "PK\x03\x04", 4)) return zip_kind(path, fmt, err);
    if (n >= 9) {
        uint64_t hlen;
        memcpy(&hlen, buf, 8);
        if (buf[8] == '{' && hlen >= 2 && hlen < ((uint64_t)1 << 32)) {
            *fmt = FMT_SAFETENSORS;
            return 0;
        }
    }
    if (json_has_topology(buf, n)) {
        *fmt = FMT_TFJS;
        return 0;
    }
    if (buf[0] == 0x80 && n > 1 && buf[1] <= 5)
        return fc_fail(err, FC_EINPUT, "%s: a legacy (non-zip) PyTorch pickle; re-save it with torch.save (zip format)", path);
    if (buf[0] == 0x89 && n >= 4 && !memcmp(buf + 1, "FCN", 3))
        return fc_fail(err, FC_EINPUT, "%s: already a .fcn model", path);
    *fmt = FMT_ONNX;   /* protobuf has no magic: the ONNX parser decides */
    return 0;
}

int fcv_import(const char *path, const fcv_import_options *opt, ir_graph **out, fc_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st)) return fc_fail(err, FC_EINPUT, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        char *json = NULL;
        if (asprintf(&json, "%s/model.json", path) < 0) return fc_fail(err, FC_ENOMEM, "out of memory");
        struct stat js;
        int ok = stat(json, &js) == 0;
        int rc = ok ? fcv_import_tfjs(json, opt, out, err)
                    : fc_fail(err, FC_EINPUT, "%s: a directory without model.json", path);
        free(json);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) return fc_fail(err, FC_EINPUT, "%s: not a regular file", path);
    if ((uint64_t)st.st_size > fc_limits_current.max_file_bytes)
        return fc_fail(err, FC_EINPUT, "%s: %lld bytes, over the file size limit", path, (long long)st.st_size);
    model_format fmt;
    if (sniff(path, &fmt, err)) return -1;
    switch (fmt) {
    case FMT_TORCH: return fcv_import_torch(path, opt, out, err);
    case FMT_NPZ: return fcv_import_npz(path, opt, out, err);
    case FMT_SAFETENSORS: return fcv_import_safetensors(path, opt, out, err);
    case FMT_TFJS: return fcv_import_tfjs(path, opt, out, err);
    default: return fcv_import_onnx(path, opt, out, err);
    }
}
