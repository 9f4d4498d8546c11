/* fuzz_tfjs.c — TF.js layers models (converter/import_tfjs.c). The input is model.json, the
 * separator "\n@@SHARD@@\n", then the bytes of the one weight shard, written as "shard.bin"
 * next to model.json (seeds name that shard in their weightsManifest). */
#include "converter/ir.h"
#include "fuzz/fuzz_util.h"

#define SEP "\n@@SHARD@@\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut = fuzz_split(data, size, SEP);
    size_t rest = cut < size ? cut + strlen(SEP) : size;
    const char *json = fuzz_write(0, "model.json", data, cut);
    fuzz_write(1, "shard.bin", data + rest, size - rest);
    fc_error err = {0};
    ir_graph *g = NULL;
    fcv_import_options opt = {0};
    if (fcv_import_tfjs(json, &opt, &g, &err) == 0) ir_graph_free(g);
    return 0;
}
