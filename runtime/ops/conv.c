/* conv.c — Conv (ONNX, NCHW, 2-D): groups (depthwise when group == C), strides, dilations,
 * asymmetric pads, auto_pad, optional bias, fused activation. W is [K, C/group, kh, kw], its bytes
 * in that order or, with W_LAYOUT 1 (group 1), input-major [C][kh][kw][K].
 * The reference kernel is a direct convolution whose innermost loop runs along an output row. */
#include "runtime/ops/ops_internal.h"

#include <string.h>

static int conv_infer(fcn_node *n, fc_error *err)
{
    if (n->n_out != 1) return fcn_node_fail(n, err, "expects 1 output, got %d", n->n_out);
    if (fcn_check_dtype(n, err, 0, FC_DT_F32) || fcn_check_dtype(n, err, 1, FC_DT_F32)) return -1;
    const fcn_tensor *x = n->in[0], *w = n->in[1];
    const fcn_tensor *b = n->n_in > 2 ? n->in[2] : NULL;
    if (x->ndim != 4) {
        if (x->ndim == 3 || x->ndim == 5)
            return fcn_node_fail(n, err, "only 2-D conv supported (input has rank %d, a %d-D conv)", x->ndim,
                                 x->ndim - 2);
        return fcn_node_fail(n, err, "input has rank %d, expected 4 (NCHW)", x->ndim);
    }
    if (w->ndim != 4) return fcn_node_fail(n, err, "weight has rank %d, expected 4 (K, C/group, kh, kw)", w->ndim);
    int64_t group = fcn_attr_int(n, FCN_ATTR_GROUP, 1);
    int64_t c = x->dims[1], k = w->dims[0];
    if (group < 1 || group > c || c % group)
        return fcn_node_fail(n, err, "group %lld does not divide the %lld input channels", (long long)group,
                             (long long)c);
    if (k < 1 || k % group)
        return fcn_node_fail(n, err, "group %lld does not divide the %lld output channels", (long long)group,
                             (long long)k);
    if (w->dims[1] != c / group)
        return fcn_node_fail(n, err, "weight has %lld input channels per group, expected %lld (C %lld / group %lld)",
                             (long long)w->dims[1], (long long)(c / group), (long long)c, (long long)group);
    int64_t ks[FCN_MAX_ATTR_VALUES];
    int nk = fcn_attr_ints(n, FCN_ATTR_KERNEL_SHAPE, ks, FCN_MAX_ATTR_VALUES);
    if (nk >= 0 && (nk != 2 || ks[0] != w->dims[2] || ks[1] != w->dims[3]))
        return fcn_node_fail(n, err, "kernel_shape (%d values, first %lld) does not match the weight's %lldx%lld",
                             nk, nk > 0 ? (long long)ks[0] : -1LL, (long long)w->dims[2], (long long)w->dims[3]);
    if (b) {
        if (fcn_check_dtype(n, err, 2, FC_DT_F32)) return -1;
        char buf[64];
        if (b->ndim != 1 || b->dims[0] != k)
            return fcn_node_fail(n, err, "bias has shape %s, expected [%lld]", fcn_dims_str(b, buf, sizeof buf),
                                 (long long)k);
    }
    int64_t layout = fcn_attr_int(n, FCN_ATTR_W_LAYOUT, 0);
    if (layout != 0 && layout != 1)
        return fcn_node_fail(n, err, "w_layout %lld (0 output-major or 1 input-major)", (long long)layout);
    if (layout == 1 && group != 1)
        return fcn_node_fail(n, err, "w_layout 1 (input-major weight) with group %lld (only group 1)",
                             (long long)group);
    fcn_conv_params *p = fcn_alloc_params(n, err, sizeof *p);
    if (!p) return -1;
    if (fcn_window2d_resolve(n, err, x->dims[2], x->dims[3], w->dims[2], w->dims[3], 1, 0, &p->win)) return -1;
    p->batch = x->dims[0];
    p->in_channels = c;
    p->out_channels = k;
    p->group = group;
    p->has_bias = b != NULL;
    p->w_layout = (int)layout;
    int64_t dims[4] = { x->dims[0], k, p->win.oh, p->win.ow };
    fcn_set_out(n->out[0], FC_DT_F32, 4, dims);
    n->macs = (uint64_t)dims[0] * (uint64_t)k * (uint64_t)dims[2] * (uint64_t)dims[3] *
              (uint64_t)(c / group) * (uint64_t)w->dims[2] * (uint64_t)w->dims[3];
    return 0;
}

/* Output columns ow whose input column ow*s - pad + off lies in [0, iw): [*lo, *hi). */
static void valid_range(int64_t off, int64_t s, int64_t pad, int64_t in, int64_t out, int64_t *lo, int64_t *hi)
{
    int64_t first = pad - off;   /* need ow*s >= first */
    int64_t l = first <= 0 ? 0 : (first + s - 1) / s;
    int64_t last = in - 1 + pad - off;   /* need ow*s <= last */
    int64_t h = last < 0 ? 0 : last / s + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* Output planes [begin, end) of the flattened (batch, out_channel) index: independent work,
 * split across threads by fcn_parallel_for. */
static void conv_planes(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    fcn_node *n = ctx;
    const fcn_conv_params *p = n->params;
    const fcn_window2d *w = &p->win;
    const float *in = n->in[0]->data, *wt = n->in[1]->data;
    const float *bias = p->has_bias ? n->in[2]->data : NULL;
    float *out = n->out[0]->data;
    int64_t cg = p->in_channels / p->group, kg = p->out_channels / p->group;
    int64_t plane_in = w->ih * w->iw, plane_out = w->oh * w->ow;
    for (int64_t plane = begin; plane < end; plane++) {
        int64_t b = plane / p->out_channels, k = plane % p->out_channels, g = k / kg;
        float *o = out + plane * plane_out;
        float bv = bias ? bias[k] : 0.0f;
        for (int64_t i = 0; i < plane_out; i++) o[i] = bv;
        for (int64_t c = 0; c < cg; c++) {
            const float *src = in + (b * p->in_channels + g * cg + c) * plane_in;
            /* weight (k, c, ky, kx) at wk[(ky·kw + kx)·ws]: ONNX order, or input-major (group 1) */
            const float *wk = p->w_layout ? wt + c * w->kh * w->kw * p->out_channels + k
                                          : wt + ((k * cg + c) * w->kh) * w->kw;
            int64_t ws = p->w_layout ? p->out_channels : 1;
            for (int64_t ky = 0; ky < w->kh; ky++) {
                int64_t oy_lo, oy_hi;
                valid_range(ky * w->dh, w->sh, w->pad_top, w->ih, w->oh, &oy_lo, &oy_hi);
                for (int64_t kx = 0; kx < w->kw; kx++) {
                    float wv = wk[(ky * w->kw + kx) * ws];
                    int64_t ox_lo, ox_hi;
                    valid_range(kx * w->dw, w->sw, w->pad_left, w->iw, w->ow, &ox_lo, &ox_hi);
                    for (int64_t oy = oy_lo; oy < oy_hi; oy++) {
                        /* signed offset: src[base + ox*sw] is inside the row for ox in range */
                        int64_t base = (oy * w->sh - w->pad_top + ky * w->dh) * w->iw - w->pad_left + kx * w->dw;
                        float *orow = o + oy * w->ow;
                        if (w->sw == 1)
                            for (int64_t ox = ox_lo; ox < ox_hi; ox++) orow[ox] += wv * src[base + ox];
                        else
                            for (int64_t ox = ox_lo; ox < ox_hi; ox++) orow[ox] += wv * src[base + ox * w->sw];
                    }
                }
            }
        }
        if (n->act) fcn_apply_act(n, o, (size_t)plane_out);
    }
}

static void conv_run(fcn_node *n, const fcn_exec *x)
{
    const fcn_conv_params *p = n->params;
    fcn_parallel_for(x, p->batch * p->out_channels, conv_planes, n);
}

const fcn_op_def fcn_opdef_conv = { "Conv", 2, 3, 1, 1, conv_infer, NULL, conv_run };
