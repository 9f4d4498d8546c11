/* dataset.c — calibration / accuracy datasets (fc_dataset.h): Fashion-MNIST by name, IDX
 * pairs (gzipped or not, read through zlib's gzread which passes plain files through), and
 * .npy / .npz images with optional labels. Headers are treated as hostile: magic, rank,
 * dimension product against the real payload size, and fc_limits caps. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "common/fc_dataset.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ---- whole-file reading through zlib (gz or plain) --------------------------------------- */

static int read_gz(const char *path, uint8_t **data, size_t *size, fc_error *err)
{
    *data = NULL;
    *size = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) return fc_fail(err, errno == ENOENT ? FC_EINPUT : FC_EIO, "%s: cannot open (%s)", path,
                           errno ? strerror(errno) : "zlib");
    size_t cap = 1 << 20, len = 0;
    uint64_t max = fc_limits_current.max_file_bytes;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        gzclose(f);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap >= max) {
                free(buf);
                gzclose(f);
                return fc_fail(err, FC_EINPUT, "%s: more than %llu bytes once decompressed", path,
                               (unsigned long long)max);
            }
            size_t ncap = cap * 2 > max ? (size_t)max : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                gzclose(f);
                return fc_fail(err, FC_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - len;
        if (want > (1u << 30)) want = 1u << 30;
        int got = gzread(f, buf + len, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            fc_fail(err, FC_EINPUT, "%s: corrupt gzip data (%s)", path, msg ? msg : "?");
            free(buf);
            gzclose(f);
            return -1;
        }
        if (got == 0) break;
        len += (size_t)got;
    }
    gzclose(f);
    *data = buf;
    *size = len;
    return 0;
}

/* ---- IDX --------------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* IDX unsigned-byte file of rank want_rank (3 images, 1 labels). */
static int idx_parse(const char *path, const uint8_t *buf, size_t size, int want_rank, int64_t *dims,
                     const uint8_t **payload, fc_error *err)
{
    if (size < 4 || buf[0] != 0 || buf[1] != 0)
        return fc_fail(err, FC_EINPUT, "%s: not an IDX file (bad magic)", path);
    if (buf[2] != 0x08)
        return fc_fail(err, FC_EINPUT, "%s: IDX element type 0x%02x, only unsigned bytes (0x08) are supported",
                       path, buf[2]);
    if (buf[3] != want_rank)
        return fc_fail(err, FC_EINPUT, "%s: IDX rank %d, expected %d (%s)", path, buf[3], want_rank,
                       want_rank == 3 ? "images N×H×W" : "labels N");
    size_t head = 4 + 4 * (size_t)want_rank, n = 1;
    if (size < head) return fc_fail(err, FC_EINPUT, "%s: truncated IDX header", path);
    for (int i = 0; i < want_rank; i++) {
        dims[i] = be32(buf + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > INT32_MAX || fc_mul_size(n, (size_t)dims[i], &n))
            return fc_fail(err, FC_EINPUT, "%s: IDX dimension %d is %lld", path, i, (long long)dims[i]);
    }
    if (size - head != n)
        return fc_fail(err, FC_EINPUT, "%s: IDX header promises %zu bytes of data, the file has %zu", path, n,
                       size - head);
    *payload = buf + head;
    return 0;
}

static int fill_from_u8(fc_dataset *ds, const uint8_t *px, float mean, float std, fc_error *err)
{
    size_t n;
    if (fc_numel(4, (int64_t[]){ ds->count, ds->c, ds->h, ds->w }, &n) || n > SIZE_MAX / sizeof(float))
        return fc_fail(err, FC_EINPUT, "%s: dataset too large", ds->name);
    ds->pixels = malloc(n * sizeof(float) + 1);
    if (!ds->pixels) return fc_fail(err, FC_ENOMEM, "%s: out of memory for %zu pixels", ds->name, n);
    for (size_t i = 0; i < n; i++) ds->pixels[i] = ((float)px[i] / 255.0f - mean) / std;
    return 0;
}

static int set_labels_u8(fc_dataset *ds, const uint8_t *lab, int64_t n, fc_error *err)
{
    if (n != ds->count)
        return fc_fail(err, FC_EINPUT, "%s: %lld labels for %lld images", ds->name, (long long)n, (long long)ds->count);
    ds->labels = malloc(sizeof(int) * (size_t)(n + 1));
    if (!ds->labels) return fc_fail(err, FC_ENOMEM, "%s: out of memory", ds->name);
    for (int64_t i = 0; i < n; i++) ds->labels[i] = lab[i];
    ds->has_labels = 1;
    return 0;
}

/* Only samples [start, end) are converted to float (end -1 = all): a slice of the 60000-image
 * train set costs its own size, not the whole set's. */
static int open_idx(fc_dataset *ds, const char *images, const char *labels, float mean, float std, int64_t start,
                    int64_t end, fc_error *err)
{
    uint8_t *ib = NULL, *lb = NULL;
    size_t is, ls;
    const uint8_t *px, *lab;
    int64_t idims[3], ldims[1];
    int rc = -1;
    if (read_gz(images, &ib, &is, err) || idx_parse(images, ib, is, 3, idims, &px, err)) goto out;
    if (end < 0 || end > idims[0]) end = idims[0];
    if (start >= end) {
        fc_fail(err, FC_EINPUT, "%s: selection [%lld:%lld] is empty (the data has %lld samples)", ds->name,
                (long long)start, (long long)end, (long long)idims[0]);
        goto out;
    }
    ds->count = end - start;
    ds->c = 1;
    ds->h = idims[1];
    ds->w = idims[2];
    if (fill_from_u8(ds, px + (size_t)start * (size_t)(idims[1] * idims[2]), mean, std, err)) goto out;
    if (labels) {
        if (read_gz(labels, &lb, &ls, err) || idx_parse(labels, lb, ls, 1, ldims, &lab, err)) goto out;
        if (ldims[0] != idims[0]) {
            fc_fail(err, FC_EINPUT, "%s: %lld labels for %lld images", ds->name, (long long)ldims[0], (long long)idims[0]);
            goto out;
        }
        if (set_labels_u8(ds, lab + start, ds->count, err)) goto out;
    }
    rc = 0;
out:
    free(ib);
    free(lb);
    return rc;
}

static int file_exists(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* ".../x-images-idx3-ubyte[.gz]" -> ".../x-labels-idx1-ubyte[.gz]" if it exists. */
static char *labels_by_name(const char *images)
{
    const char *at = strstr(images, "images-idx3");
    if (!at) return NULL;
    size_t pre = (size_t)(at - images);
    char *p = malloc(strlen(images) + 2);
    if (!p) return NULL;
    memcpy(p, images, pre);
    strcpy(p + pre, "labels-idx1");
    strcat(p, at + strlen("images-idx3"));
    if (file_exists(p)) return p;
    free(p);
    return NULL;
}

/* ---- npy / npz ----------------------------------------------------------------------------- */

static int take_images(fc_dataset *ds, fc_array *a, float mean, float std, fc_error *err)
{
    if (a->ndim != 3 && a->ndim != 4)
        return fc_fail(err, FC_EINPUT, "%s: images must be N×H×W or N×C×H×W, got %d dims", ds->name, a->ndim);
    ds->count = a->dims[0];
    ds->c = a->ndim == 4 ? a->dims[1] : 1;
    ds->h = a->dims[a->ndim - 2];
    ds->w = a->dims[a->ndim - 1];
    if (ds->count < 1 || ds->c < 1 || ds->h < 1 || ds->w < 1)
        return fc_fail(err, FC_EINPUT, "%s: empty image array", ds->name);
    if (a->dtype == FC_DT_U8) return fill_from_u8(ds, a->data, mean, std, err);
    if (fc_array_to_f32(a, err)) return -1;
    size_t n = a->nbytes / sizeof(float);
    ds->pixels = a->data;
    a->data = NULL;
    for (size_t i = 0; i < n; i++) ds->pixels[i] = (ds->pixels[i] - mean) / std;
    return 0;
}

static int take_labels(fc_dataset *ds, fc_array *a, fc_error *err)
{
    if (a->ndim != 1 && !(a->ndim == 2 && a->dims[1] == 1))
        return fc_fail(err, FC_EINPUT, "%s: labels must be a vector of N integers, got %d dims", ds->name, a->ndim);
    if (a->dims[0] != ds->count)
        return fc_fail(err, FC_EINPUT, "%s: %lld labels for %lld images", ds->name, (long long)a->dims[0],
                       (long long)ds->count);
    if (a->dtype == FC_DT_F32 || a->dtype == FC_DT_F16 || a->dtype == FC_DT_F64)
        return fc_fail(err, FC_EINPUT, "%s: labels must be integers, got %s", ds->name, fc_dtype_name(a->dtype));
    if (fc_array_to_f32(a, err)) return -1;
    const float *f = a->data;
    ds->labels = malloc(sizeof(int) * (size_t)(ds->count + 1));
    if (!ds->labels) return fc_fail(err, FC_ENOMEM, "%s: out of memory", ds->name);
    for (int64_t i = 0; i < ds->count; i++) {
        if (!(f[i] >= 0 && f[i] < 1e6))
            return fc_fail(err, FC_EINPUT, "%s: label %lld is %g (labels must be in 0..999999)", ds->name,
                           (long long)i, f[i]);
        ds->labels[i] = (int)f[i];
    }
    ds->has_labels = 1;
    return 0;
}

static int open_npy(fc_dataset *ds, const char *images, const char *labels, float mean, float std, fc_error *err)
{
    fc_array x = { 0 }, y = { 0 };
    int rc = -1;
    if (fc_npy_read(images, &x, err) || take_images(ds, &x, mean, std, err)) goto out;
    if (labels && (fc_npy_read(labels, &y, err) || take_labels(ds, &y, err))) goto out;
    rc = 0;
out:
    fc_array_free(&x);
    fc_array_free(&y);
    return rc;
}

static int open_npz(fc_dataset *ds, const char *path, float mean, float std, fc_error *err)
{
    fc_npz z = { 0 };
    if (fc_npz_read(path, &z, err)) return -1;
    int rc = -1;
    fc_array *x = (fc_array *)fc_npz_find(&z, "x");
    if (!x) x = (fc_array *)fc_npz_find(&z, "images");
    fc_array *y = (fc_array *)fc_npz_find(&z, "y");
    if (!y) y = (fc_array *)fc_npz_find(&z, "labels");
    if (!x) {
        fc_fail(err, FC_EINPUT, "%s: no 'x' or 'images' array in the npz", path);
        goto out;
    }
    if (take_images(ds, x, mean, std, err)) goto out;
    if (y && take_labels(ds, y, err)) goto out;
    rc = 0;
out:
    fc_npz_free(&z);
    return rc;
}

/* ---- spec parsing ------------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Splits a trailing "[start:end]" off spec (in place). */
static int parse_range(char *spec, int64_t *start, int64_t *end, int *has, fc_error *err)
{
    *has = 0;
    size_t n = strlen(spec);
    if (n == 0 || spec[n - 1] != ']') return 0;
    char *open = strrchr(spec, '[');
    if (!open) return fc_fail(err, FC_EINPUT, "dataset '%s': unmatched ']'", spec);
    char *colon = strchr(open, ':');
    if (!colon) return fc_fail(err, FC_EINPUT, "dataset '%s': the selection must look like [start:end]", spec);
    *start = 0;
    *end = -1;
    char *p = open + 1, *q;
    if (p != colon) {
        *start = strtoll(p, &q, 10);
        if (q != colon || *start < 0) return fc_fail(err, FC_EINPUT, "dataset '%s': bad start in [start:end]", spec);
    }
    p = colon + 1;
    if (*p != ']') {
        *end = strtoll(p, &q, 10);
        if (*q != ']' || *end < 0) return fc_fail(err, FC_EINPUT, "dataset '%s': bad end in [start:end]", spec);
    }
    *open = 0;
    *has = 1;
    return 0;
}

static int apply_range(fc_dataset *ds, int64_t start, int64_t end, fc_error *err)
{
    if (end < 0 || end > ds->count) end = ds->count;
    if (start >= end)
        return fc_fail(err, FC_EINPUT, "%s: selection [%lld:%lld] is empty (the data has %lld samples)", ds->name,
                       (long long)start, (long long)end, (long long)ds->count);
    size_t per = (size_t)(ds->c * ds->h * ds->w);
    int64_t n = end - start;
    if (start > 0) {
        memmove(ds->pixels, ds->pixels + (size_t)start * per, (size_t)n * per * sizeof(float));
        if (ds->labels) memmove(ds->labels, ds->labels + start, sizeof(int) * (size_t)n);
    }
    ds->count = n;
    return 0;
}

void fc_dataset_close(fc_dataset *ds)
{
    if (!ds) return;
    free(ds->pixels);
    free(ds->labels);
    free(ds->name);
    free(ds);
}

int fc_dataset_open(const char *spec_in, float mean, float std, fc_dataset **out, fc_error *err)
{
    *out = NULL;
    if (!spec_in || !*spec_in) return fc_fail(err, FC_EINPUT, "empty dataset name");
    if (!(std > 0)) return fc_fail(err, FC_EINPUT, "dataset '%s': std must be > 0", spec_in);
    fc_dataset *ds = calloc(1, sizeof *ds);
    char *spec = strdup(spec_in);
    char *a = NULL, *b = NULL;
    if (!ds || !spec || !(ds->name = strdup(spec_in))) {
        free(spec);
        fc_dataset_close(ds);
        return fc_fail(err, FC_ENOMEM, "out of memory");
    }
    int64_t start = 0, end = -1;
    int has_range, rc = -1;
    if (parse_range(spec, &start, &end, &has_range, err)) goto out;
    if (!strncmp(spec, "fashion-mnist:", 14)) {
        const char *split = spec + 14, *dir = getenv("FULLCONV_FASHION_MNIST");
        const char *stem = !strcmp(split, "train") ? "train" : !strcmp(split, "test") ? "t10k" : NULL;
        if (!stem) {
            fc_fail(err, FC_EINPUT, "dataset '%s': fashion-mnist has the splits 'train' and 'test'", spec_in);
            goto out;
        }
        if (!dir || !*dir) dir = FASHION_DIR;
        if (asprintf(&a, "%s/%s-images-idx3-ubyte.gz", dir, stem) < 0) a = NULL;
        if (asprintf(&b, "%s/%s-labels-idx1-ubyte.gz", dir, stem) < 0) b = NULL;
        if (!a || !b) {
            fc_fail(err, FC_ENOMEM, "out of memory");
            goto out;
        }
        if (!file_exists(a)) {
            fc_fail(err, FC_EINPUT, "%s: not found (install Debian's dataset-fashion-mnist or set FULLCONV_FASHION_MNIST)", a);
            goto out;
        }
        if (open_idx(ds, a, b, mean, std, start, end, err)) goto out;
        has_range = 0;
    } else {
        char *colon = strchr(spec, ':');
        if (colon) {
            *colon = 0;
            a = strdup(spec);
            b = strdup(colon + 1);
            if (!a || !b) {
                fc_fail(err, FC_ENOMEM, "out of memory");
                goto out;
            }
        } else if (!(a = strdup(spec))) {
            fc_fail(err, FC_ENOMEM, "out of memory");
            goto out;
        }
        if (ends_with(a, ".npz")) {
            if (b) {
                fc_fail(err, FC_EINPUT, "dataset '%s': an .npz carries its labels (keys y/labels)", spec_in);
                goto out;
            }
            if (open_npz(ds, a, mean, std, err)) goto out;
        } else if (ends_with(a, ".npy")) {
            if (open_npy(ds, a, b, mean, std, err)) goto out;
        } else {
            if (!b) b = labels_by_name(a);
            if (open_idx(ds, a, b, mean, std, start, end, err)) goto out;
            has_range = 0;
        }
    }
    if (has_range && apply_range(ds, start, end, err)) goto out;
    if (ds->has_labels)
        for (int64_t i = 0; i < ds->count; i++)
            if (ds->labels[i] + 1 > ds->n_classes) ds->n_classes = ds->labels[i] + 1;
    rc = 0;
out:
    free(spec);
    free(a);
    free(b);
    if (rc) {
        fc_dataset_close(ds);
        return -1;
    }
    *out = ds;
    return 0;
}

int fc_dataset_batch(const fc_dataset *ds, int64_t start, int64_t n, float *out, int *labels, fc_error *err)
{
    if (start < 0 || n < 0 || start > ds->count || n > ds->count - start)
        return fc_fail(err, FC_EINPUT, "%s: samples [%lld, %lld) requested, the data has %lld", ds->name,
                       (long long)start, (long long)(start + n), (long long)ds->count);
    size_t per = (size_t)(ds->c * ds->h * ds->w);
    if (out) memcpy(out, ds->pixels + (size_t)start * per, (size_t)n * per * sizeof(float));
    if (labels)
        for (int64_t i = 0; i < n; i++) labels[i] = ds->labels ? ds->labels[start + i] : -1;
    return 0;
}
