/* fuzz_npz.c — .npz archives: the generic reader (common/npz.c) and the weight-file reader
 * used with --arch (converter/import_weights.c). */
#include "converter/arch.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write(0, "weights.npz", data, size);
    fc_error err = {0};
    fc_npz z = {0};
    if (fc_npz_read(path, &z, &err) == 0) {
        (void)fc_npz_find(&z, "x");
        fc_npz_free(&z);
    }
    fcv_weights w = {0};
    (void)fcv_read_npz_weights(path, &w, &err);
    fcv_weights_free(&w);
    return 0;
}
