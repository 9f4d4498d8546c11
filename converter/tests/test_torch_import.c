/* test_torch_import.c — named weights, architecture guessing from key names, template errors,
 * and fcv_import_torch on the committed testdata/torch files (provenance, guessed arch, default
 * input shape, legacy files). Numerical agreement with PyTorch is scripts/tests/torch_goldens.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "converter/arch.h"

static void add(fcv_weights *w, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    fc_array a;
    memset(&a, 0, sizeof a);
    int64_t dims[4] = {d0, d1, d2, d3};
    fc_error err = {0};
    assert_int_equal(fc_array_alloc(&a, FC_DT_F32, ndim, dims, &err), 0);
    assert_int_equal(fcv_weights_add(w, name, &a, &err), 0);
}

static void add1(fcv_weights *w, const char *name) { add(w, name, 1, 1, 0, 0, 0); }

static void resnet_names(fcv_weights *w, const int blocks[4], int bottleneck)
{
    char key[96];
    add1(w, "conv1.weight");
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < blocks[l]; i++)
            for (int k = 1; k <= (bottleneck ? 3 : 2); k++) {
                snprintf(key, sizeof key, "layer%d.%d.conv%d.weight", l + 1, i, k);
                add1(w, key);
            }
    add1(w, "fc.weight");
}

static void test_weights_set(void **state)
{
    (void)state;
    fcv_weights w = {0};
    add(&w, "a.weight", 2, 3, 4, 0, 0);
    add1(&w, "a.bias");
    assert_int_equal(w.count, 2);
    const fc_array *a = fcv_weights_find(&w, "a.weight");
    assert_non_null(a);
    assert_int_equal((int)a->dims[1], 4);
    assert_null(fcv_weights_find(&w, "a"));
    fc_array dup;
    memset(&dup, 0, sizeof dup);
    int64_t one = 1;
    fc_error err = {0};
    assert_int_equal(fc_array_alloc(&dup, FC_DT_F32, 1, &one, &err), 0);
    assert_int_equal(fcv_weights_add(&w, "a.bias", &dup, &err), -1);
    assert_non_null(strstr(err.msg, "'a.bias' appears twice"));
    assert_null(dup.data);   /* taken (and freed) even on failure */
    fcv_weights_free(&w);
    assert_int_equal(w.count, 0);
}

static void test_guess(void **state)
{
    (void)state;
    static const struct { int blocks[4]; int bottleneck; const char *want; } resnets[] = {
        {{2, 2, 2, 2}, 0, "resnet18"}, {{3, 4, 6, 3}, 0, "resnet34"}, {{3, 4, 6, 3}, 1, "resnet50"},
        {{3, 4, 23, 3}, 1, "resnet101"}, {{3, 8, 36, 3}, 1, "resnet152"}, {{1, 1, 1, 1}, 0, NULL},
    };
    for (size_t i = 0; i < sizeof resnets / sizeof *resnets; i++) {
        fcv_weights w = {0};
        resnet_names(&w, resnets[i].blocks, resnets[i].bottleneck);
        const char *g = fcv_arch_guess(&w);
        if (resnets[i].want) assert_string_equal(g, resnets[i].want);
        else assert_null(g);
        fcv_weights_free(&w);
    }
    /* VGG: count of 4-d features.N weights, BN from features.1.running_mean */
    static const int vgg_convs[4] = {8, 10, 13, 16};
    static const char *const vgg_names[4] = {"vgg11", "vgg13", "vgg16", "vgg19"};
    for (int bn = 0; bn < 2; bn++)
        for (int v = 0; v < 4; v++) {
            fcv_weights w = {0};
            char key[64];
            for (int i = 0; i < vgg_convs[v]; i++) {
                snprintf(key, sizeof key, "features.%d.weight", i * 3);
                add(&w, key, 4, 4, 3, 3, 3);
            }
            if (bn) add1(&w, "features.1.running_mean");
            add1(&w, "classifier.0.weight");
            add1(&w, "classifier.3.weight");
            add1(&w, "classifier.6.weight");
            char want[16];
            snprintf(want, sizeof want, "%s%s", vgg_names[v], bn ? "_bn" : "");
            assert_string_equal(fcv_arch_guess(&w), want);
            fcv_weights_free(&w);
        }
    /* AlexNet: 5 convs, the first 11x11 */
    fcv_weights w = {0};
    static const int alex[5] = {0, 3, 6, 8, 10};
    char key[64];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "features.%d.weight", alex[i]);
        add(&w, key, 4, 4, 3, i == 0 ? 11 : 3, i == 0 ? 11 : 3);
    }
    add1(&w, "classifier.1.weight");
    add1(&w, "classifier.4.weight");
    add1(&w, "classifier.6.weight");
    assert_string_equal(fcv_arch_guess(&w), "alexnet");
    fcv_weights_free(&w);
    /* SqueezeNet 1.0 vs 1.1: the first kernel */
    for (int k = 0; k < 2; k++) {
        fcv_weights s = {0};
        add(&s, "features.0.weight", 4, 8, 3, k ? 3 : 7, k ? 3 : 7);
        add1(&s, "features.3.squeeze.weight");
        add1(&s, "features.12.squeeze.weight");
        add1(&s, "classifier.1.weight");
        assert_string_equal(fcv_arch_guess(&s), k ? "squeezenet1_1" : "squeezenet1_0");
        fcv_weights_free(&s);
    }
    fcv_weights m = {0};
    add1(&m, "features.0.0.weight");
    add1(&m, "features.1.conv.0.0.weight");
    add1(&m, "features.18.0.weight");
    add1(&m, "classifier.1.weight");
    assert_string_equal(fcv_arch_guess(&m), "mobilenet_v2");
    fcv_weights_free(&m);
    /* unknown layouts */
    fcv_weights u = {0};
    assert_null(fcv_arch_guess(&u));
    add1(&u, "0.weight");
    add1(&u, "fc.weight");
    assert_null(fcv_arch_guess(&u));
    fcv_weights_free(&u);
}

static void test_build_errors(void **state)
{
    (void)state;
    fcv_weights w = {0};
    ir_graph *g = NULL;
    fc_error err = {0};
    add(&w, "conv1.weight", 4, 4, 3, 7, 7);
    assert_int_equal(fcv_arch_build("resnet9", "x.pt", &w, NULL, &g, &err), -1);
    assert_non_null(strstr(err.msg, "x.pt: unknown --arch 'resnet9' (known: alexnet,"));
    assert_int_equal(fcv_arch_build("resnet18", "x.pt", &w, NULL, &g, &err), -1);
    assert_non_null(strstr(err.msg, "resnet18 has 2 blocks in layer1, the weights have 0"));
    assert_int_equal(fcv_arch_build("alexnet", "x.pt", &w, NULL, &g, &err), -1);
    assert_non_null(strstr(err.msg, "'features.0.weight' is missing"));
    assert_null(g);
    fcv_weights_free(&w);
    /* squeezenet1_1: conv, relu, pool, then a Fire whose squeeze weight is absent */
    add(&w, "features.0.weight", 4, 8, 3, 3, 3);
    assert_int_equal(fcv_arch_build("squeezenet1_1", "s.pt", &w, NULL, &g, &err), -1);
    assert_non_null(strstr(err.msg, "s.pt: weight 'features.3.squeeze.weight' is missing"));
    fcv_weights_free(&w);
    /* a channel mismatch names the module */
    add(&w, "features.0.weight", 4, 8, 3, 3, 3);
    add(&w, "features.3.squeeze.weight", 4, 4, 9, 1, 1);
    assert_int_equal(fcv_arch_build("squeezenet1_1", "s.pt", &w, NULL, &g, &err), -1);
    assert_non_null(strstr(err.msg, "module 'features.3.squeeze': weight 4x9x1x1 does not fit 8 input channels"));
    fcv_weights_free(&w);
}

static const char *meta_str(const ir_graph *g, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(g->extra_meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_import_files(void **state)
{
    (void)state;
    ir_graph *g = NULL;
    fc_error err = {0};
    if (fcv_import_torch("testdata/torch/resnet18_sd.pt", NULL, &g, &err) != 0) {
        if (strstr(err.msg, "cannot open")) { skip(); return; }   /* not run from the repository root */
        fail_msg("%s", err.msg);
    }
    assert_string_equal(g->source_format, "torch-zip");
    assert_string_equal(meta_str(g, "torch_arch"), "resnet18");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(g->extra_meta, "torch_arch_guessed")));
    assert_int_equal(g->n_inputs, 1);
    assert_int_equal(g->n_outputs, 1);
    const ir_value *in = &g->values[g->inputs[0]];
    assert_int_equal(in->ndim, 4);
    assert_int_equal((int)in->dims[2], 224);   /* the arch's default input */
    assert_true(ir_find_value(g, "layer4.1.conv2.weight") >= 0);
    assert_true(ir_find_value(g, "fc.weight") >= 0);
    assert_true(g->source_bytes > 0);
    ir_graph_free(g);

    fcv_import_options opt;
    memset(&opt, 0, sizeof opt);
    opt.arch = "resnet18";
    opt.n_input_dims = 4;
    int64_t dims[4] = {2, 3, 64, 64};
    memcpy(opt.input_dims, dims, sizeof dims);
    assert_int_equal(fcv_import_torch("testdata/torch/resnet18_ts.pt", &opt, &g, &err), 0);
    assert_string_equal(g->source_format, "torchscript");
    assert_null(cJSON_GetObjectItemCaseSensitive(g->extra_meta, "torch_arch_guessed"));
    assert_int_equal((int)g->values[g->inputs[0]].dims[0], 2);
    ir_graph_free(g);

    /* whole-model Sequential: input shape taken from the first Linear and recorded */
    assert_int_equal(fcv_import_torch("testdata/torch/seq_mlp.pt", NULL, &g, &err), 0);
    assert_string_equal(meta_str(g, "torch_input_shape_guessed"), "1x20");
    assert_string_equal(meta_str(g, "torch_module_class"), "torch.nn.modules.container.Sequential");
    ir_graph_free(g);

    /* big-endian storages are byte-swapped: same weights as the little-endian twin */
    ir_graph *le = NULL, *be = NULL;
    assert_int_equal(fcv_import_torch("testdata/torch/seq_noncontig.pt", NULL, &le, &err), 0);
    assert_int_equal(fcv_import_torch("testdata/torch/seq_bigendian.pt", NULL, &be, &err), 0);
    int a = ir_find_value(le, "0.weight"), b = ir_find_value(be, "0.weight");
    assert_true(a >= 0 && b >= 0);
    assert_int_equal((int)le->values[a].nbytes, 16 * 20 * 4);
    assert_memory_equal(le->values[a].data, be->values[b].data, le->values[a].nbytes);
    ir_graph_free(le);
    ir_graph_free(be);

    /* tensors only, for files no graph is known for */
    fcv_weights w = {0};
    assert_int_equal(fcv_read_torch_weights("testdata/bad/torch_unknown_arch.pt", &w, &err), 0);
    assert_int_equal(w.count, 1);
    assert_string_equal(w.names[0], "w");
    assert_int_equal(w.arrays[0].ndim, 2);
    assert_int_equal((int)w.arrays[0].dims[1], 3);
    fcv_weights_free(&w);
    assert_int_equal(fcv_read_torch_weights("testdata/torch/mobilenet_v2_ts.pt", &w, &err), 0);
    assert_non_null(fcv_weights_find(&w, "features.18.1.running_var"));
    assert_non_null(fcv_weights_find(&w, "classifier.1.weight"));
    fcv_weights_free(&w);
    assert_int_equal(fcv_read_torch_weights("testdata/torch/squeezenet1_1_whole.pt", &w, &err), 0);
    assert_non_null(fcv_weights_find(&w, "features.3.expand3x3.bias"));
    fcv_weights_free(&w);
    assert_int_equal(fcv_read_torch_weights("testdata/bad/torch_storage_size.pt", &w, &err), -1);
    assert_non_null(strstr(err.msg, "has 20 bytes, 6 x f32 needs 24"));
    assert_int_equal(w.count, 0);

    assert_int_equal(fcv_import_torch("testdata/bad/torch_legacy.pt", NULL, &g, &err), -1);
    assert_non_null(strstr(err.msg, "re-save with torch >= 1.6 (torch.save(obj, f))"));
    assert_int_equal(err.code, FC_EINPUT);
    assert_null(g);
    assert_int_equal(fcv_import_torch("testdata/bad/torch_os_system.pt", NULL, &g, &err), -1);
    assert_non_null(strstr(err.msg, "testdata/bad/torch_os_system.pt: archive/data.pkl: global 'os.system' is not allowed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_set),
        cmocka_unit_test(test_guess),
        cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_import_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
