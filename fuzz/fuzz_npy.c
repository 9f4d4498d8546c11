/* fuzz_npy.c — the .npy parser (common/npy.c), then the conversion to float32. */
#include "common/fc_common.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_error err = {0};
    fc_array a = {0};
    if (fc_npy_parse(data, size, "fuzz.npy", &a, &err)) return 0;
    (void)fc_array_to_f32(&a, &err);
    fc_array_free(&a);
    return 0;
}
