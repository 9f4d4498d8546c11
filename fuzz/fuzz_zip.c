/* fuzz_zip.c — the hardened zip layer (common/zip.c over libzip): open from memory, then read
 * every entry whole. */
#include "common/fc_zip.h"
#include "fuzz/fuzz_util.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_error err = {0};
    fc_zip *z = NULL;
    if (fc_zip_open_memory(data, size, "fuzz.zip", &z, &err)) return 0;
    int n = fc_zip_count(z);
    for (int i = 0; i < n && i < 64; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        (void)fc_zip_name(z, i);
        (void)fc_zip_entry_size(z, i);
        if (fc_zip_read(z, i, &buf, &len, &err) == 0) free(buf);
    }
    fc_zip_close(z);
    return 0;
}
