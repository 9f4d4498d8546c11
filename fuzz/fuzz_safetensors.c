/* fuzz_safetensors.c — safetensors (JSON header + data) through the weight reader and the
 * full importer (architecture guess from names and shapes): converter/import_weights.c. */
#include "converter/arch.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write(0, "weights.safetensors", data, size);
    fc_error err = {0};
    fcv_weights w = {0};
    (void)fcv_read_safetensors(path, &w, &err);
    fcv_weights_free(&w);
    ir_graph *g = NULL;
    fcv_import_options opt = {0};
    if (fcv_import_safetensors(path, &opt, &g, &err) == 0) ir_graph_free(g);
    return 0;
}
