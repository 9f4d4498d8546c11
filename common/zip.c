/* zip.c — hardened read-only zip access through libzip (see fc_zip.h).
 *
 * Why validate everything at open: a .pt or .npz is hostile input, and a reader that checks
 * an entry only when it reads it lets a bad archive half-succeed. Names are checked even
 * though we never extract, because names end up in messages and in tensor names, and a
 * traversal name in a model file is a sign of a crafted archive. */
#include "common/fc_zip.h"

#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* Below this size an entry cannot be a meaningful zip bomb, so a high ratio is allowed
 * (a small all-zero tensor compresses far beyond 1000:1 with deflate's run-length). */
#define FC_ZIP_RATIO_MIN_BYTES (1u << 20)

typedef struct zip_entry_info {
    char *name;
    uint64_t size, comp_size;
    zip_uint64_t lib_index;
} zip_entry_info;

struct fc_zip {
    zip_t *za;
    char *path;
    zip_entry_info *entries;
    int count;
    int *sorted;            /* entry indices sorted by name: duplicate check + lookup */
    uint64_t inflated_total;  /* bytes actually inflated so far */
};

static int name_is_safe(const char *name, const char **why)
{
    if (!name[0]) { *why = "empty name"; return 0; }
    if (name[0] == '/') { *why = "absolute path"; return 0; }
    if (strchr(name, '\\')) { *why = "backslash in path"; return 0; }
    if (name[0] && name[1] == ':') { *why = "drive letter in path"; return 0; }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f) { *why = "control character in name"; return 0; }
    /* any ".." component: "..", "../x", "x/../y", "x/.." */
    const char *p = name;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') { *why = "'..' component in path"; return 0; }
        if (!slash) break;
        p = slash + 1;
    }
    return 1;
}

static int cmp_by_name(const void *a, const void *b, void *ctx)
{
    const fc_zip *z = ctx;
    return strcmp(z->entries[*(const int *)a].name, z->entries[*(const int *)b].name);
}

void fc_zip_close(fc_zip *z)
{
    if (!z) return;
    if (z->za) zip_discard(z->za);
    for (int i = 0; i < z->count; i++) free(z->entries[i].name);
    free(z->entries);
    free(z->sorted);
    free(z->path);
    free(z);
}

static int validate_entries(fc_zip *z, fc_error *err)
{
    zip_int64_t n = zip_get_num_entries(z->za, 0);
    if (n < 0) return fc_fail(err, FC_EINPUT, "%s: cannot count zip entries", z->path);
    if ((uint64_t)n > fc_limits_current.max_zip_entries)
        return fc_fail(err, FC_EINPUT, "%s: zip has %lld entries, limit %llu", z->path, (long long)n,
                       (unsigned long long)fc_limits_current.max_zip_entries);
    z->entries = calloc((size_t)n ? (size_t)n : 1, sizeof *z->entries);
    z->sorted = calloc((size_t)n ? (size_t)n : 1, sizeof *z->sorted);
    if (!z->entries || !z->sorted) return fc_fail(err, FC_ENOMEM, "%s: out of memory", z->path);
    uint64_t declared_total = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(z->za, (zip_uint64_t)i, 0, &st) != 0)
            return fc_fail(err, FC_EINPUT, "%s: zip entry %lld: %s", z->path, (long long)i,
                           zip_strerror(z->za));
        const char *name = (st.valid & ZIP_STAT_NAME) ? st.name : NULL;
        if (!name) return fc_fail(err, FC_EINPUT, "%s: zip entry %lld has no name", z->path, (long long)i);
        const char *why = NULL;
        if (!name_is_safe(name, &why))
            return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s': unsafe name (%s)", z->path, name, why);
        if (!(st.valid & ZIP_STAT_ENCRYPTION_METHOD) || st.encryption_method != ZIP_EM_NONE)
            return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' is encrypted (not supported)", z->path, name);
        if (!(st.valid & ZIP_STAT_COMP_METHOD) ||
            (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE))
            return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' uses compression method %d (only stored and deflate are supported)",
                           z->path, name, (int)st.comp_method);
        if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
            return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' has no declared size", z->path, name);
        if (st.size > fc_limits_current.max_tensor_bytes)
            return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' declares %llu bytes, limit %llu", z->path, name,
                           (unsigned long long)st.size, (unsigned long long)fc_limits_current.max_tensor_bytes);
        if (st.comp_method == ZIP_CM_STORE && st.comp_size != st.size)
            return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' is stored but its sizes differ (%llu vs %llu)",
                           z->path, name, (unsigned long long)st.size, (unsigned long long)st.comp_size);
        if (st.size >= FC_ZIP_RATIO_MIN_BYTES &&
            (st.comp_size == 0 || st.size / st.comp_size >= fc_limits_current.max_zip_ratio))
            return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' inflates %llu bytes from %llu (ratio limit %u: zip bomb?)",
                           z->path, name, (unsigned long long)st.size, (unsigned long long)st.comp_size,
                           fc_limits_current.max_zip_ratio);
        if (__builtin_add_overflow(declared_total, st.size, &declared_total) ||
            declared_total > fc_limits_current.max_inflated_bytes)
            return fc_fail(err, FC_EINPUT, "%s: zip entries declare more than %llu inflated bytes in total",
                           z->path, (unsigned long long)fc_limits_current.max_inflated_bytes);
        zip_entry_info *e = &z->entries[z->count];
        e->name = strdup(name);
        if (!e->name) return fc_fail(err, FC_ENOMEM, "%s: out of memory", z->path);
        e->size = st.size;
        e->comp_size = st.comp_size;
        e->lib_index = (zip_uint64_t)i;
        z->sorted[z->count] = z->count;
        z->count++;
    }
    qsort_r(z->sorted, (size_t)z->count, sizeof *z->sorted, cmp_by_name, z);
    for (int i = 1; i < z->count; i++)
        if (strcmp(z->entries[z->sorted[i - 1]].name, z->entries[z->sorted[i]].name) == 0)
            return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' appears twice", z->path,
                           z->entries[z->sorted[i]].name);
    return 0;
}

static int finish_open(zip_t *za, const char *name, fc_zip **out, fc_error *err)
{
    fc_zip *z = calloc(1, sizeof *z);
    char *path = strdup(name ? name : "(zip)");
    if (!z || !path) {
        free(z); free(path);
        zip_discard(za);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", name ? name : "(zip)");
    }
    z->za = za;
    z->path = path;
    if (validate_entries(z, err) != 0) { fc_zip_close(z); return -1; }
    *out = z;
    return 0;
}

static int zip_open_error(const char *name, int code, fc_error *err)
{
    if (code == ZIP_ER_EXISTS)   /* libzip's own duplicate-name check fires first */
        return fc_fail(err, FC_EINPUT, "%s: zip has duplicate entry names", name);
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    fc_fail(err, code == ZIP_ER_MEMORY ? FC_ENOMEM : FC_EINPUT, "%s: not a readable zip archive (%s)", name,
            zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return -1;
}

int fc_zip_open(const char *path, fc_zip **out, fc_error *err)
{
    *out = NULL;
    int code = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!za) {
        if (code == ZIP_ER_OPEN || code == ZIP_ER_NOENT || code == ZIP_ER_READ)
            return fc_fail(err, FC_EIO, "%s: cannot open", path);
        return zip_open_error(path, code, err);
    }
    return finish_open(za, path, out, err);
}

int fc_zip_open_memory(const void *buf, size_t size, const char *name, fc_zip **out, fc_error *err)
{
    *out = NULL;
    if (!name) name = "(zip)";
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, size, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", name);
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!za) {
        int code = zip_error_code_zip(&ze);
        zip_source_free(src);
        zip_error_fini(&ze);
        return zip_open_error(name, code, err);
    }
    zip_error_fini(&ze);
    return finish_open(za, name, out, err);
}

int fc_zip_count(const fc_zip *z) { return z ? z->count : 0; }

const char *fc_zip_name(const fc_zip *z, int idx)
{
    if (!z || idx < 0 || idx >= z->count) return NULL;
    return z->entries[idx].name;
}

uint64_t fc_zip_entry_size(const fc_zip *z, int idx)
{
    if (!z || idx < 0 || idx >= z->count) return 0;
    return z->entries[idx].size;
}

int fc_zip_find(const fc_zip *z, const char *name)
{
    if (!z || !name) return -1;
    int lo = 0, hi = z->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(z->entries[z->sorted[mid]].name, name);
        if (c == 0) return z->sorted[mid];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

int fc_zip_read(fc_zip *z, int idx, uint8_t **buf, size_t *size, fc_error *err)
{
    *buf = NULL;
    *size = 0;
    if (!z || idx < 0 || idx >= z->count)
        return fc_fail(err, FC_EINTERNAL, "%s: zip entry index %d out of range", z ? z->path : "(zip)", idx);
    const zip_entry_info *e = &z->entries[idx];
    uint64_t total;
    if (__builtin_add_overflow(z->inflated_total, e->size, &total) || total > fc_limits_current.max_inflated_bytes)
        return fc_fail(err, FC_EINPUT, "%s: reading '%.200s' would inflate more than %llu bytes in total",
                       z->path, e->name, (unsigned long long)fc_limits_current.max_inflated_bytes);
    if (e->size > SIZE_MAX - 1)
        return fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' is too large", z->path, e->name);
    size_t want = (size_t)e->size;
    /* one spare byte: NUL for text entries, and the probe that catches an entry inflating
     * to more than it declared */
    uint8_t *data = malloc(want + 1);
    if (!data) return fc_fail(err, FC_ENOMEM, "%s: out of memory reading '%.200s' (%zu bytes)", z->path, e->name, want);
    zip_file_t *f = zip_fopen_index(z->za, e->lib_index, 0);
    if (!f) {
        fc_fail(err, FC_EINPUT, "%s: cannot open zip entry '%.200s': %s", z->path, e->name, zip_strerror(z->za));
        free(data);
        return -1;
    }
    size_t got = 0;
    while (got < want + 1) {
        zip_int64_t r = zip_fread(f, data + got, (zip_uint64_t)(want + 1 - got));
        if (r < 0) {
            fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s': %s", z->path, e->name, zip_file_strerror(f));
            zip_fclose(f);
            free(data);
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    zip_fclose(f);
    if (got != want) {
        fc_fail(err, FC_EINPUT, "%s: zip entry '%.200s' inflates to %s bytes than its declared %zu", z->path, e->name,
                got > want ? "more" : "fewer", want);
        free(data);
        return -1;
    }
    data[want] = 0;
    z->inflated_total = total;
    *buf = data;
    *size = want;
    return 0;
}

int fc_zip_sniff(const void *head, size_t n)
{
    const unsigned char *p = head;
    return n >= 4 && p[0] == 'P' && p[1] == 'K' &&
           ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6));
}
