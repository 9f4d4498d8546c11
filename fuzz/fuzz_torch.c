/* fuzz_torch.c — the .pt importer (zip + pickle + storages + architecture matching):
 * converter/import_torch.c. The importer takes a path, so the input goes to a scratch file. */
#include "converter/ir.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write(0, "model.pt", data, size);
    fc_error err = {0};
    ir_graph *g = NULL;
    fcv_import_options opt = {0};
    if (fcv_import_torch(path, &opt, &g, &err) == 0) ir_graph_free(g);
    return 0;
}
