/* arch_build.h — private helpers shared by the architecture templates (converter/arch/)
 * and the nn.Sequential importer (import_torch.c): append PyTorch layers to an IR graph,
 * taking their weights by module path ("layer1.0.conv1") from an fcv_weights set, and
 * tracking the activation shape so pooling/flatten decisions and channel checks happen at
 * build time with messages that name the module. */
#ifndef FCV_ARCH_BUILD_H
#define FCV_ARCH_BUILD_H
#include "converter/arch.h"

typedef struct fcv_gb {
    ir_graph *g;
    const char *file;       /* source file, first word of every message */
    fcv_weights *w;         /* arrays are moved into the graph as they are used */
    unsigned char *used;    /* per weight: taken */
    fc_error *err;
} fcv_gb;

/* An activation: value id plus its NCHW (or N x F) shape as traced at build time. */
typedef struct gb_val {
    int id;
    int ndim;
    int64_t d[4];
} gb_val;

/* fcv_weights_add without the (linear) duplicate check, for readers that index names themselves. */
int gb_weights_append(fcv_weights *w, const char *name, fc_array *arr /* taken */, fc_error *err);

int gb_init(fcv_gb *b, const char *file, fcv_weights *w, fc_error *err);   /* creates b->g */
void gb_fini(fcv_gb *b);               /* frees the graph if still owned (on errors) */
/* Finishes: checks every float weight was used (except BN num_batches_tracked), sets the
 * graph output, moves the graph to *out. */
int gb_finish(fcv_gb *b, gb_val x, const char *arch, ir_graph **out);

/* The input: opt->input_dims if given (must be 4-d NCHW), else 1 x C x def_h x def_w. */
int gb_input(fcv_gb *b, const fcv_import_options *opt, int64_t c, int64_t def_h, int64_t def_w, gb_val *x);
int gb_input_dims(fcv_gb *b, int ndim, const int64_t *dims, gb_val *x);

int gb_has(const fcv_gb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Shape of a weight (NULL if absent). */
const fc_array *gb_weight(const fcv_gb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Layers; `name` is the module path (weights "<name>.weight" etc.). Return 0 or -1. */
int gb_conv(fcv_gb *b, gb_val *x, const char *name, int64_t stride, int64_t pad, int64_t dilation);
/* Conv with explicit 2-d parameters (sh, sw, ph, pw, dh, dw); groups from the weights. */
int gb_conv2(fcv_gb *b, gb_val *x, const char *name, const int64_t stride[2], const int64_t pad[2],
             const int64_t dil[2], int64_t groups);
int gb_bn(fcv_gb *b, gb_val *x, const char *name, double eps);
int gb_linear(fcv_gb *b, gb_val *x, const char *name);
int gb_act(fcv_gb *b, gb_val *x, int op, const char *name, double alpha, double beta);   /* RELU, CLIP(min,max), LEAKY(alpha), SIGMOID, TANH, HARD_SWISH */
int gb_pool(fcv_gb *b, gb_val *x, int op, const char *name, const int64_t k[2], const int64_t s[2],
            const int64_t p[2], int ceil_mode, int count_include_pad);   /* MAXPOOL / AVGPOOL */
int gb_adaptive_avg(fcv_gb *b, gb_val *x, const char *name, int64_t oh, int64_t ow);
int gb_flatten(fcv_gb *b, gb_val *x, const char *name, int64_t start_dim);
int gb_softmax(fcv_gb *b, gb_val *x, const char *name, int64_t axis);
int gb_add(fcv_gb *b, gb_val *x, gb_val y, const char *name);
int gb_concat(fcv_gb *b, gb_val *x, const gb_val *parts, int n, const char *name);

/* Per-family builders (resnet.c, vgg.c, mobilenet.c, squeezenet.c). */
int fcv_arch_resnet(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out);
int fcv_arch_vgg(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out);
int fcv_arch_alexnet(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out);
int fcv_arch_mobilenet_v2(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out);
int fcv_arch_squeezenet(fcv_gb *b, const char *arch, const fcv_import_options *opt, gb_val *out);
/* Whole-model pickles of nn.Sequential / a lone layer (sequential.c): graph from the module
 * records of pickle.h. Weights are named by module path; a lone layer's by its class name
 * (fcv_sequential_weight_prefix), since nodes need names. */
struct fcv_pk;
struct cJSON;
const char *fcv_sequential_weight_prefix(const struct fcv_pk *root);
int fcv_arch_sequential(const char *file, const struct fcv_pk *root, fcv_weights *w, const fcv_import_options *opt,
                        struct cJSON *meta, ir_graph **out, fc_error *err);
const char *fcv_arch_guess_resnet(const fcv_weights *w);
const char *fcv_arch_guess_vgg(const fcv_weights *w);
#endif
