/* fuzz_pickle.c — the restricted pickle VM (converter/pickle.c). The first byte picks the
 * allowlist mode; the result tree is walked with a depth bound and a visit budget, as importers
 * do (count_visit in import_torch.c): the memo lets one object appear many times, so a tree of
 * 45 bytes can have more paths than any walk finishes — the harness once timed out on one. */
#include "converter/pickle.h"
#include "fuzz/fuzz_util.h"

static size_t visits;

static size_t walk(const fcv_pk *v, int depth)
{
    if (!v || depth > 64 || ++visits > 100000) return 0;
    size_t n = 1;
    (void)fcv_pk_class(v);
    (void)fcv_pk_kind_name(v->kind);
    for (size_t i = 0; i < v->n && i < 256; i++) n += walk(v->items[i], depth + 1);
    n += walk(v->cls, depth + 1) + walk(v->args, depth + 1) + walk(v->state, depth + 1) + walk(v->pid, depth + 1);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int flags = data[0] & 1 ? FCV_PICKLE_WEIGHTS_ONLY : 0;
    fc_error err = {0};
    fcv_pickle *p = NULL;
    if (fcv_pickle_load(data + 1, size - 1, "fuzz.pt", "data.pkl", flags, &p, &err)) return 0;
    fcv_pk *root = fcv_pickle_root(p);
    visits = 0;
    (void)walk(root, 0);
    (void)fcv_pk_dict_get(root, "state_dict");
    fcv_pickle_free(p);
    return 0;
}
