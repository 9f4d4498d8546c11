/* npz.c — numpy .npz archives: a zip of .npy members, read through the hardened zip layer
 * (common/fc_zip.h validates every entry before anything is inflated) and parsed with
 * fc_npy_parse. Every member must be a ".npy" file; names are kept without the suffix
 * (numpy's np.load(...)[name] convention). Directories ("x/") are refused: np.savez never
 * writes them. */
#include "common/fc_common.h"
#include "common/fc_zip.h"

#include <stdlib.h>
#include <string.h>

void fc_npz_free(fc_npz *z)
{
    if (!z) return;
    for (int i = 0; i < z->count; i++) {
        free(z->entries[i].name);
        fc_array_free(&z->entries[i].arr);
    }
    free(z->entries);
    z->entries = NULL;
    z->count = 0;
}

const fc_array *fc_npz_find(const fc_npz *z, const char *name)
{
    if (!z || !name) return NULL;
    for (int i = 0; i < z->count; i++)
        if (strcmp(z->entries[i].name, name) == 0) return &z->entries[i].arr;
    return NULL;
}

int fc_npz_read(const char *path, fc_npz *out, fc_error *err)
{
    memset(out, 0, sizeof *out);
    fc_zip *zip;
    if (fc_zip_open(path, &zip, err)) return -1;
    int n = fc_zip_count(zip);
    if (n == 0) {
        fc_zip_close(zip);
        return fc_fail(err, FC_EINPUT, "%s: empty .npz archive", path);
    }
    if ((uint64_t)n > fc_limits_current.max_tensors) {
        fc_zip_close(zip);
        return fc_fail(err, FC_EINPUT, "%s: %d arrays, over the limit of %u", path, n, fc_limits_current.max_tensors);
    }
    out->entries = calloc((size_t)n, sizeof *out->entries);
    if (!out->entries) {
        fc_zip_close(zip);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < n; i++) {
        const char *member = fc_zip_name(zip, i);
        size_t len = member ? strlen(member) : 0;
        if (len <= 4 || strcmp(member + len - 4, ".npy") != 0) {
            fc_fail(err, FC_EINPUT, "%s: member '%.200s' is not a .npy array", path, member ? member : "");
            goto fail;
        }
        uint8_t *buf;
        size_t size;
        if (fc_zip_read(zip, i, &buf, &size, err)) goto fail;
        char *name = strndup(member, len - 4);
        if (!name) {
            free(buf);
            fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        fc_npz_entry *e = &out->entries[out->count];
        e->name = name;
        out->count++;
        /* the member name in messages: "weights.npz:conv1.weight.npy: ..." */
        char where[1024];
        snprintf(where, sizeof where, "%s:%s", path, member);
        int rc = fc_npy_parse(buf, size, where, &e->arr, err);
        free(buf);
        if (rc) goto fail;
    }
    fc_zip_close(zip);
    return 0;
fail:
    fc_zip_close(zip);
    fc_npz_free(out);
    return -1;
}
