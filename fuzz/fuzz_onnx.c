/* fuzz_onnx.c — the ONNX importer from memory (protobuf decode, tensors, operator mapping,
 * folding, shape inference): converter/import_onnx*.c. External data is refused without a
 * base folder, so nothing is read from disk. */
#include "converter/ir.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_error err = {0};
    ir_graph *g = NULL;
    fcv_import_options opt = {0};
    if (fcv_import_onnx_memory(data, size, "fuzz.onnx", &opt, &g, &err) == 0) ir_graph_free(g);
    return 0;
}
