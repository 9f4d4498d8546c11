/* arch.h — graphs for weight-only files: named architectures (torchvision families and
 * nn.Sequential templates) instantiated from a set of named weights.
 * Used by import_torch.c (state_dict, TorchScript, whole-model pickles of torchvision
 * classes) and import_weights.c (safetensors, .npz). Implemented in converter/arch/ (one file per family). */
#ifndef FCV_ARCH_H
#define FCV_ARCH_H
#include "converter/ir.h"

/* Named tensors as read from a file (PyTorch state_dict key order). */
typedef struct fcv_weights {
    int count, cap;
    char **names;                 /* e.g. "layer1.0.conv1.weight" */
    fc_array *arrays;             /* converted to f32 by the reader when numeric */
} fcv_weights;
void fcv_weights_free(fcv_weights *w);
int fcv_weights_add(fcv_weights *w, const char *name, fc_array *arr /* taken */, fc_error *err);
const fc_array *fcv_weights_find(const fcv_weights *w, const char *name);

/* Builds the graph of arch (e.g. "resnet18") from w (consumed: arrays moved into the graph).
 * Classifier sizes come from the weights (fc.weight K x C), so a replaced head just works.
 * input_dims: 0 = the arch's default (1x3x224x224). `file` names the source in errors. */
int fcv_arch_build(const char *arch, const char *file, fcv_weights *w,
                   const fcv_import_options *opt, ir_graph **out, fc_error *err);
/* Guesses the architecture from key names and shapes; NULL when ambiguous or unknown. */
const char *fcv_arch_guess(const fcv_weights *w);
/* Comma-separated list of supported names, for --help and errors. */
const char *fcv_arch_list(void);
/* Reads every tensor of a weight-only file into w (file order, all converted to f32), with
 * every structural check done (converter/import_weights.c). */
int fcv_read_safetensors(const char *path, fcv_weights *w, fc_error *err);
int fcv_read_npz_weights(const char *path, fcv_weights *w, fc_error *err);
/* Every tensor of a PyTorch .pt archive (state_dict keys; whole-model parameters and buffers by
 * module path; TorchScript attributes), f32 — for listing files no graph is known for
 * (converter/import_torch.c). */
int fcv_read_torch_weights(const char *path, fcv_weights *w, fc_error *err);
#endif
