/* resnet.c — torchvision ResNet (v1.5: the stride sits on the 3x3 conv of a Bottleneck)
 * from state_dict names: conv1/bn1, layer{1..4}.{i}.{conv,bn}{1,2[,3]}, .downsample.{0,1}, fc.
 * Channel counts come from the weights, the block counts must match the named depth. */
#include "converter/arch/arch_build.h"

#include <stdio.h>
#include <string.h>

static const struct { const char *name; int bottleneck; int blocks[4]; } resnets[] = {
    {"resnet18", 0, {2, 2, 2, 2}},  {"resnet34", 0, {3, 4, 6, 3}},   {"resnet50", 1, {3, 4, 6, 3}},
    {"resnet101", 1, {3, 4, 23, 3}}, {"resnet152", 1, {3, 8, 36, 3}},
};

static void count_blocks(const fcv_weights *w, int blocks[4], int *bottleneck)
{
    char key[64];
    for (int l = 0; l < 4; l++) {
        int n = 0;
        for (;; n++) {
            snprintf(key, sizeof key, "layer%d.%d.conv1.weight", l + 1, n);
            if (!fcv_weights_find(w, key)) break;
        }
        blocks[l] = n;
    }
    *bottleneck = fcv_weights_find(w, "layer1.0.conv3.weight") != NULL;
}

const char *fcv_arch_guess_resnet(const fcv_weights *w)
{
    int blocks[4], bottleneck;
    count_blocks(w, blocks, &bottleneck);
    for (size_t i = 0; i < sizeof resnets / sizeof *resnets; i++)
        if (resnets[i].bottleneck == bottleneck && memcmp(resnets[i].blocks, blocks, sizeof blocks) == 0)
            return resnets[i].name;
    return NULL;
}

static int conv_bn(fcv_gb *b, gb_val *x, const char *prefix, int idx, int64_t stride, int64_t pad, int relu)
{
    char conv[128], bn[128];
    snprintf(conv, sizeof conv, "%s.conv%d", prefix, idx);
    snprintf(bn, sizeof bn, "%s.bn%d", prefix, idx);
    if (gb_conv(b, x, conv, stride, pad, 1) || gb_bn(b, x, bn, 1e-5)) return -1;
    if (relu) {
        char r[140];
        snprintf(r, sizeof r, "%s.relu%d", prefix, idx);
        return gb_act(b, x, FCN_OP_RELU, r, 0, 0);
    }
    return 0;
}

static int block(fcv_gb *b, gb_val *x, int layer, int i, int bottleneck, int64_t stride)
{
    char prefix[64], name[128];
    snprintf(prefix, sizeof prefix, "layer%d.%d", layer, i);
    gb_val identity = *x, y = *x;
    if (bottleneck) {
        if (conv_bn(b, &y, prefix, 1, 1, 0, 1) || conv_bn(b, &y, prefix, 2, stride, 1, 1) ||
            conv_bn(b, &y, prefix, 3, 1, 0, 0))
            return -1;
    } else {
        if (conv_bn(b, &y, prefix, 1, stride, 1, 1) || conv_bn(b, &y, prefix, 2, 1, 1, 0)) return -1;
    }
    if (gb_has(b, "%s.downsample.0.weight", prefix)) {
        snprintf(name, sizeof name, "%s.downsample.0", prefix);
        if (gb_conv(b, &identity, name, stride, 0, 1)) return -1;
        snprintf(name, sizeof name, "%s.downsample.1", prefix);
        if (gb_bn(b, &identity, name, 1e-5)) return -1;
    }
    snprintf(name, sizeof name, "%s.add", prefix);
    if (gb_add(b, &y, identity, name)) return -1;
    snprintf(name, sizeof name, "%s.relu", prefix);
    if (gb_act(b, &y, FCN_OP_RELU, name, 0, 0)) return -1;
    *x = y;
    return 0;
}

int fcv_arch_resnet(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out)
{
    int want = -1;
    for (size_t i = 0; i < sizeof resnets / sizeof *resnets; i++)
        if (strcmp(resnets[i].name, arch) == 0) want = (int)i;
    if (want < 0) return fc_fail(b->err, FC_EINTERNAL, "%s: not a resnet: %s", b->file, arch);
    int blocks[4], bottleneck;
    count_blocks(b->w, blocks, &bottleneck);
    if (bottleneck != resnets[want].bottleneck)
        return fc_fail(b->err, FC_EINPUT, "%s: %s has %s blocks, the weights have %s blocks", b->file, arch,
                       resnets[want].bottleneck ? "Bottleneck" : "BasicBlock", bottleneck ? "Bottleneck" : "BasicBlock");
    for (int l = 0; l < 4; l++)
        if (blocks[l] != resnets[want].blocks[l])
            return fc_fail(b->err, FC_EINPUT, "%s: %s has %d blocks in layer%d, the weights have %d", b->file, arch,
                           resnets[want].blocks[l], l + 1, blocks[l]);
    const fc_array *c1 = gb_weight(b, "conv1.weight");
    if (!c1 || c1->ndim != 4) return fc_fail(b->err, FC_EINPUT, "%s: weight 'conv1.weight' is missing or not 4-d", b->file);
    gb_val x;
    if (gb_input(b, opt, c1->dims[1], 224, 224, &x)) return -1;
    int64_t k3[2] = {3, 3}, s2[2] = {2, 2}, p1[2] = {1, 1};
    if (gb_conv(b, &x, "conv1", 2, 3, 1) || gb_bn(b, &x, "bn1", 1e-5) || gb_act(b, &x, FCN_OP_RELU, "relu", 0, 0) ||
        gb_pool(b, &x, FCN_OP_MAXPOOL, "maxpool", k3, s2, p1, 0, 0))
        return -1;
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < blocks[l]; i++)
            if (block(b, &x, l + 1, i, bottleneck, (l > 0 && i == 0) ? 2 : 1)) return -1;
    if (gb_adaptive_avg(b, &x, "avgpool", 1, 1) || gb_flatten(b, &x, "flatten", 1) || gb_linear(b, &x, "fc")) return -1;
    *out = x;
    return 0;
}
