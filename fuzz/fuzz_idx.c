/* fuzz_idx.c — IDX datasets (common/dataset.c): images alone, or "images:labels" when the
 * input holds the separator "@@LABELS@@" (labels after it). Samples are read back in batches. */
#include "common/fc_dataset.h"
#include "fuzz/fuzz_util.h"

#define SEP "@@LABELS@@"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut = fuzz_split(data, size, SEP);
    const char *images = fuzz_write(0, "x-images-idx3-ubyte", data, cut);
    char spec[1200];
    if (cut < size) {
        size_t rest = cut + strlen(SEP);
        const char *labels = fuzz_write(1, "y-labels-idx1-ubyte", data + rest, size - rest);
        snprintf(spec, sizeof spec, "%s:%s", images, labels);
    } else {
        snprintf(spec, sizeof spec, "%s", images);
    }
    fc_error err = {0};
    fc_dataset *ds = NULL;
    if (fc_dataset_open(spec, 0.5f, 0.25f, &ds, &err)) return 0;
    int64_t per = ds->c * ds->h * ds->w;
    if (ds->count > 0 && per > 0 && per < (1 << 20)) {
        float *x = malloc((size_t)per * sizeof(float));
        int label;
        if (x) {
            (void)fc_dataset_batch(ds, 0, 1, x, &label, &err);
            (void)fc_dataset_batch(ds, ds->count - 1, 1, x, &label, &err);
            (void)fc_dataset_batch(ds, ds->count, 1, x, &label, &err);   /* out of range: error */
            free(x);
        }
    }
    fc_dataset_close(ds);
    return 0;
}
