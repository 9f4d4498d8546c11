/* vgg.c — torchvision VGG (configs A/B/D/E, with or without BatchNorm) and AlexNet from
 * state_dict names: features.<i> (conv 3x3 pad 1 [+ bn] + relu, 'M' = maxpool 2/2),
 * avgpool = AdaptiveAvgPool2d(7x7 | 6x6: an identity at 224x224 input), flatten in NCHW order
 * (as torch.flatten), classifier.{0,3,6} (VGG) / classifier.{1,4,6} (AlexNet). */
#include "converter/arch/arch_build.h"

#include <stdio.h>
#include <string.h>

#define M (-1)
static const struct { const char *name; int n; int cfg[21]; } vggs[] = {
    {"vgg11", 13, {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}},
    {"vgg13", 15, {64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M}},
    {"vgg16", 18, {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M}},
    {"vgg19", 21, {64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M}},
};

static int count_convs(const fcv_weights *w, int *bn)
{
    /* walk the features indices: a conv is followed by [bn] relu, a pool stands alone */
    char key[64];
    int convs = 0;
    *bn = fcv_weights_find(w, "features.1.running_mean") != NULL;
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "features.%d.weight", i);
        const fc_array *a = fcv_weights_find(w, key);
        if (a && a->ndim == 4) convs++;
    }
    return convs;
}

const char *fcv_arch_guess_vgg(const fcv_weights *w)
{
    static const char *const plain[] = {"vgg11", "vgg13", "vgg16", "vgg19"};
    static const char *const with_bn[] = {"vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"};
    int bn, convs = count_convs(w, &bn);
    const fc_array *c0 = fcv_weights_find(w, "features.0.weight");
    if (!c0 || c0->ndim != 4) return NULL;
    if (!bn && convs == 5 && c0->dims[2] == 11 && fcv_weights_find(w, "classifier.1.weight") &&
        fcv_weights_find(w, "features.10.weight"))
        return "alexnet";
    if (!fcv_weights_find(w, "classifier.0.weight") || !fcv_weights_find(w, "classifier.3.weight")) return NULL;
    static const int conv_counts[] = {8, 10, 13, 16};
    for (int i = 0; i < 4; i++)
        if (convs == conv_counts[i]) return bn ? with_bn[i] : plain[i];
    return NULL;
}

static int head(fcv_gb *b, gb_val *x, int64_t pool, const int lin[3], const int relu[2])
{
    char name[64];
    if (gb_adaptive_avg(b, x, "avgpool", pool, pool) || gb_flatten(b, x, "flatten", 1)) return -1;
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "classifier.%d", lin[i]);
        if (gb_linear(b, x, name)) return -1;
        if (i < 2) {
            snprintf(name, sizeof name, "classifier.%d", relu[i]);
            if (gb_act(b, x, FCN_OP_RELU, name, 0, 0)) return -1;
        }
    }
    return 0;
}

int fcv_arch_vgg(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out)
{
    int want = -1;
    for (int i = 0; i < 4; i++)
        if (strncmp(arch, vggs[i].name, 5) == 0 && (arch[5] == 0 || strcmp(arch + 5, "_bn") == 0)) want = i;
    if (want < 0) return fc_fail(b->err, FC_EINTERNAL, "%s: not a vgg: %s", b->file, arch);
    int bn = strstr(arch, "_bn") != NULL, has_bn;
    int convs = count_convs(b->w, &has_bn), want_convs = 0;
    for (int i = 0; i < vggs[want].n; i++) want_convs += vggs[want].cfg[i] != M;
    if (has_bn != bn || convs != want_convs)
        return fc_fail(b->err, FC_EINPUT, "%s: %s has %d convolutions%s, the weights have %d%s", b->file, arch, want_convs,
                       bn ? " with BatchNorm" : "", convs, has_bn ? " with BatchNorm" : "");
    const fc_array *c0 = gb_weight(b, "features.0.weight");
    if (!c0 || c0->ndim != 4) return fc_fail(b->err, FC_EINPUT, "%s: weight 'features.0.weight' is missing", b->file);
    gb_val x;
    if (gb_input(b, opt, c0->dims[1], 224, 224, &x)) return -1;
    int idx = 0;
    char name[64];
    int64_t k2[2] = {2, 2}, p0[2] = {0, 0};
    for (int i = 0; i < vggs[want].n; i++) {
        snprintf(name, sizeof name, "features.%d", idx);
        if (vggs[want].cfg[i] == M) {
            if (gb_pool(b, &x, FCN_OP_MAXPOOL, name, k2, k2, p0, 0, 0)) return -1;
            idx++;
            continue;
        }
        if (gb_conv(b, &x, name, 1, 1, 1)) return -1;
        idx++;
        if (bn) {
            snprintf(name, sizeof name, "features.%d", idx++);
            if (gb_bn(b, &x, name, 1e-5)) return -1;
        }
        snprintf(name, sizeof name, "features.%d", idx++);
        if (gb_act(b, &x, FCN_OP_RELU, name, 0, 0)) return -1;
    }
    static const int lin[3] = {0, 3, 6}, relu[2] = {1, 4};
    if (head(b, &x, 7, lin, relu)) return -1;
    *out = x;
    return 0;
}

int fcv_arch_alexnet(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out)
{
    (void)arch;
    const fc_array *c0 = gb_weight(b, "features.0.weight");
    if (!c0 || c0->ndim != 4) return fc_fail(b->err, FC_EINPUT, "%s: weight 'features.0.weight' is missing", b->file);
    gb_val x;
    if (gb_input(b, opt, c0->dims[1], 224, 224, &x)) return -1;
    int64_t k3[2] = {3, 3}, s2[2] = {2, 2}, p0[2] = {0, 0};
    static const struct { int idx; int64_t stride, pad; } convs[5] = {{0, 4, 2}, {3, 1, 2}, {6, 1, 1}, {8, 1, 1}, {10, 1, 1}};
    char name[64];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "features.%d", convs[i].idx);
        if (gb_conv(b, &x, name, convs[i].stride, convs[i].pad, 1)) return -1;
        snprintf(name, sizeof name, "features.%d", convs[i].idx + 1);
        if (gb_act(b, &x, FCN_OP_RELU, name, 0, 0)) return -1;
        if (i == 0 || i == 1 || i == 4) {
            snprintf(name, sizeof name, "features.%d", convs[i].idx + 2);
            if (gb_pool(b, &x, FCN_OP_MAXPOOL, name, k3, s2, p0, 0, 0)) return -1;
        }
    }
    static const int lin[3] = {1, 4, 6}, relu[2] = {2, 5};
    if (head(b, &x, 6, lin, relu)) return -1;
    *out = x;
    return 0;
}
