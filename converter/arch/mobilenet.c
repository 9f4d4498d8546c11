/* mobilenet.c — torchvision MobileNetV2 and SqueezeNet 1.0/1.1 from state_dict names.
 *
 * MobileNetV2: features.0 = conv3x3/2 + bn + relu6; features.1..17 = inverted residuals
 * (conv.0 expand 1x1 when t != 1, depthwise 3x3, linear 1x1 + bn; residual when stride 1
 * and in == out); features.18 = conv1x1 + bn + relu6; GAP, flatten, classifier.1.
 * Strides come from torchvision's (t, c, n, s) table, channels and expansion from the
 * weights, so width_mult variants work too.
 * SqueezeNet: Fire = squeeze 1x1 + relu, then concat(expand1x1 + relu, expand3x3 + relu);
 * classifier = conv 1x1 + relu + AdaptiveAvgPool2d(1) + flatten. */
#include "converter/arch/arch_build.h"

#include <stdio.h>
#include <string.h>

static int conv_bn_act(fcv_gb *b, gb_val *x, const char *prefix, int64_t stride, int relu6)
{
    char conv[128], bn[128], act[128];
    snprintf(conv, sizeof conv, "%s.0", prefix);
    snprintf(bn, sizeof bn, "%s.1", prefix);
    snprintf(act, sizeof act, "%s.2", prefix);
    const fc_array *w = gb_weight(b, "%s.weight", conv);
    if (!w || w->ndim != 4) return fc_fail(b->err, FC_EINPUT, "%s: weight '%s.weight' is missing or not 4-d", b->file, conv);
    if (gb_conv(b, x, conv, stride, (w->dims[2] - 1) / 2, 1) || gb_bn(b, x, bn, 1e-5)) return -1;
    return relu6 ? gb_act(b, x, FCN_OP_CLIP, act, 0, 6) : 0;
}

int fcv_arch_mobilenet_v2(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out)
{
    (void)arch;
    static const int strides[18] = {2, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1};   /* features.0..17 */
    if (!gb_has(b, "features.18.0.weight") || gb_has(b, "features.19.0.weight"))
        return fc_fail(b->err, FC_EINPUT, "%s: mobilenet_v2 needs features.0 to features.18", b->file);
    const fc_array *c0 = gb_weight(b, "features.0.0.weight");
    if (!c0 || c0->ndim != 4) return fc_fail(b->err, FC_EINPUT, "%s: weight 'features.0.0.weight' is missing", b->file);
    gb_val x;
    if (gb_input(b, opt, c0->dims[1], 224, 224, &x) || conv_bn_act(b, &x, "features.0", 2, 1)) return -1;
    char p[128], q[128];
    for (int i = 1; i <= 17; i++) {
        gb_val in = x;
        int expand = gb_has(b, "features.%d.conv.3.weight", i);   /* bn after the linear 1x1 sits at 3 */
        int k = 0;
        if (expand) {
            snprintf(p, sizeof p, "features.%d.conv.%d", i, k++);
            if (conv_bn_act(b, &x, p, 1, 1)) return -1;
        }
        snprintf(p, sizeof p, "features.%d.conv.%d", i, k++);
        if (conv_bn_act(b, &x, p, strides[i], 1)) return -1;
        snprintf(p, sizeof p, "features.%d.conv.%d", i, k++);
        snprintf(q, sizeof q, "features.%d.conv.%d", i, k++);
        if (gb_conv(b, &x, p, 1, 0, 1) || gb_bn(b, &x, q, 1e-5)) return -1;
        if (strides[i] == 1 && in.d[1] == x.d[1]) {
            snprintf(p, sizeof p, "features.%d.add", i);
            if (gb_add(b, &x, in, p)) return -1;
        }
    }
    if (conv_bn_act(b, &x, "features.18", 1, 1) || gb_adaptive_avg(b, &x, "avgpool", 1, 1) ||
        gb_flatten(b, &x, "flatten", 1) || gb_linear(b, &x, "classifier.1"))
        return -1;
    *out = x;
    return 0;
}

static int fire(fcv_gb *b, gb_val *x, int idx)
{
    char n[96], r[96];
    snprintf(n, sizeof n, "features.%d.squeeze", idx);
    snprintf(r, sizeof r, "features.%d.squeeze_activation", idx);
    if (gb_conv(b, x, n, 1, 0, 1) || gb_act(b, x, FCN_OP_RELU, r, 0, 0)) return -1;
    gb_val parts[2] = {*x, *x};
    snprintf(n, sizeof n, "features.%d.expand1x1", idx);
    snprintf(r, sizeof r, "features.%d.expand1x1_activation", idx);
    if (gb_conv(b, &parts[0], n, 1, 0, 1) || gb_act(b, &parts[0], FCN_OP_RELU, r, 0, 0)) return -1;
    snprintf(n, sizeof n, "features.%d.expand3x3", idx);
    snprintf(r, sizeof r, "features.%d.expand3x3_activation", idx);
    if (gb_conv(b, &parts[1], n, 1, 1, 1) || gb_act(b, &parts[1], FCN_OP_RELU, r, 0, 0)) return -1;
    snprintf(n, sizeof n, "features.%d.cat", idx);
    return gb_concat(b, x, parts, 2, n);
}

int fcv_arch_squeezenet(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out)
{
    /* layout per features index: 'C' first conv, 'R' relu, 'P' maxpool(3, 2, ceil), 'F' Fire */
    const char *layout = strcmp(arch, "squeezenet1_0") == 0 ? "CRPFFFPFFFFPF" : "CRPFFPFFPFFFF";
    int64_t first_stride = 2;
    const fc_array *c0 = gb_weight(b, "features.0.weight");
    if (!c0 || c0->ndim != 4) return fc_fail(b->err, FC_EINPUT, "%s: weight 'features.0.weight' is missing", b->file);
    int64_t want_k = strcmp(arch, "squeezenet1_0") == 0 ? 7 : 3;
    if (c0->dims[2] != want_k)
        return fc_fail(b->err, FC_EINPUT, "%s: %s starts with a %lldx%lld conv, the weights have %lldx%lld", b->file, arch,
                       (long long)want_k, (long long)want_k, (long long)c0->dims[2], (long long)c0->dims[3]);
    gb_val x;
    if (gb_input(b, opt, c0->dims[1], 224, 224, &x)) return -1;
    int64_t k3[2] = {3, 3}, s2[2] = {2, 2}, p0[2] = {0, 0};
    char name[64];
    for (int i = 0; layout[i]; i++) {
        snprintf(name, sizeof name, "features.%d", i);
        int rc = 0;
        switch (layout[i]) {
        case 'C': rc = gb_conv(b, &x, name, first_stride, 0, 1); break;
        case 'R': rc = gb_act(b, &x, FCN_OP_RELU, name, 0, 0); break;
        case 'P': rc = gb_pool(b, &x, FCN_OP_MAXPOOL, name, k3, s2, p0, 1, 0); break;
        case 'F': rc = fire(b, &x, i); break;
        }
        if (rc) return -1;
    }
    if (gb_conv(b, &x, "classifier.1", 1, 0, 1) || gb_act(b, &x, FCN_OP_RELU, "classifier.2", 0, 0) ||
        gb_adaptive_avg(b, &x, "classifier.3", 1, 1) || gb_flatten(b, &x, "flatten", 1))
        return -1;
    *out = x;
    return 0;
}
