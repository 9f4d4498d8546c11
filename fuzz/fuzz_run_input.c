/* fuzz_run_input.c — the `fullconv run` input path (converter/cmd_run.c): the .npy is parsed,
 * must be float32 in C order and match the model's stored input shape where it is fixed
 * (dims stored as -1 are free), then a session is created at that shape, the input copied in
 * and the model run. The model is converted once at start-up from $FUZZ_RUN_MODEL
 * (default testdata/onnx/cli_gap.onnx, whose spatial size is free). */
#include "converter/cmd_util.h"
#include "fuzz/fuzz_util.h"
#include "runtime/fcn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fcv_loaded loaded;

static int fortran_order(const uint8_t *data, size_t size)
{
    size_t n = size < 512 ? size : 512;
    return memmem(data, n, "'fortran_order': True", 21) != NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("FUZZ_RUN_MODEL");
    if (!path) path = "testdata/onnx/cli_gap.onnx";
    fc_error err = {0};
    fcv_import_options iopt = {0};
    if (fcv_load_model(path, &iopt, 1, &loaded, &err)) {
        fprintf(stderr, "fuzz_run_input: %s\n", err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_error err = {0};
    fc_array x = {0};
    if (fc_npy_parse(data, size, "fuzz.npy", &x, &err)) return 0;
    const fcn_model *m = loaded.model;
    fcn_shape stored;
    fcn_model_input_shape(m, 0, &stored);
    int ok = x.dtype == FC_DT_F32 && !fortran_order(data, size) && stored.ndim == x.ndim;
    for (int d = 0; ok && d < x.ndim; d++) ok = stored.dims[d] < 0 || stored.dims[d] == x.dims[d];
    if (ok) {
        fcn_shape shape = {.ndim = x.ndim};
        memcpy(shape.dims, x.dims, sizeof(int64_t) * (size_t)x.ndim);
        fcn_session_options opt = {.threads = 1, .n_input_shapes = 1, .input_shapes = &shape};
        fcn_session *s = NULL;
        if (fcn_session_create(m, &opt, &s, &err) == 0) {
            if (fcn_session_set_input(s, 0, x.data, x.nbytes, &err) == 0) (void)fcn_session_run(s, &err);
            /* a size that never matches must be refused, not copied */
            (void)fcn_session_set_input(s, 0, x.data, x.nbytes + 4, &err);
            fcn_session_destroy(s);
        }
    }
    fc_array_free(&x);
    return 0;
}
