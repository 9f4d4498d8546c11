/* fuzz_onnx.c — the ONNX importer from memory (protobuf decode, tensors, operator mapping,
 * folding, shape inference): converter/import_onnx*.c. External data is refused without a
 * base folder, so nothing is read from disk. */
#include "converter/ir.h"
#include "fuzz/fuzz_util.h"

/* Constant folding makes tensors from a few bytes (ConstantOfShape, Expand, Tile, ...) and the
 * importer's shape inference copies the graph's constants each round it resolves parameters:
 * bounded work, but proportional to max_tensor_bytes (16 MB constants make ASan runs of
 * ~0.3 s, over the 1 s timeout on a loaded machine). 4 MB keeps the timeout for real hangs. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fc_error err = {0};
    if (fc_limits_parse("max_tensor_bytes=4M", &err)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_error err = {0};
    ir_graph *g = NULL;
    fcv_import_options opt = {0};
    if (fcv_import_onnx_memory(data, size, "fuzz.onnx", &opt, &g, &err) == 0) ir_graph_free(g);
    return 0;
}
