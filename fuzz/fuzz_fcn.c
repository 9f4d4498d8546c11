/* fuzz_fcn.c — the .fcn reader and session creation at the stored shapes: every header field,
 * section, offset, id and shape comes from the input (runtime/model.c, runtime/session.c). */
#include "runtime/fcn.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fc_error err = {0};
    fcn_model *m = NULL;
    if (fcn_model_open_memory(data, size, "fuzz.fcn", 1, &m, &err)) return 0;
    fcn_session_options opt = {.threads = 1};
    fcn_session *s = NULL;
    if (fcn_session_create(m, &opt, &s, &err) == 0) fcn_session_destroy(s);
    fcn_model_close(m);
    return 0;
}
