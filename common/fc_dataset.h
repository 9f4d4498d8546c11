/* fc_dataset.h — image datasets for calibration (converter) and accuracy runs (bench).
 *
 * Specs accepted by fc_dataset_open (an optional "[start:end]" suffix selects samples, python
 * slice style without step, e.g. "fashion-mnist:train[:5000]", "x.npz[100:200]"):
 *   fashion-mnist:train | fashion-mnist:test   Debian's dataset-fashion-mnist, gzipped IDX under
 *                                              /usr/share/datasets/fashion-mnist (or $FULLCONV_FASHION_MNIST)
 *   path/images-idx3-ubyte[.gz]                IDX images; labels found by name
 *                                              (images-idx3 -> labels-idx1) when present
 *   images.idx:labels.idx                      an explicit IDX pair
 *   x.npy  |  x.npy:y.npy                      images N×H×W or N×C×H×W (+ labels N)
 *   d.npz                                      keys x|images (+ y|labels)
 *
 * IDX and uint8 npy pixels become float32 pixel/255; float npy stays as stored; then
 * (x - mean) / std. Images are N×C×H×W (C = 1 for 3-dim data). Everything is loaded once at
 * open (decompressed IDX and npy are bounded by fc_limits_current.max_file_bytes). */
#ifndef FC_DATASET_H
#define FC_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "common/fc_common.h"

typedef struct fc_dataset {
    int64_t count;                /* samples (after the [start:end] selection) */
    int64_t c, h, w;              /* per-sample image shape */
    int has_labels;
    int n_classes;                /* max label + 1 (0 without labels) */
    char *name;                   /* the spec, for messages */
    /* private */
    float *pixels;                /* count*c*h*w, already normalized */
    int *labels;                  /* count, or NULL */
} fc_dataset;

/* Returns 0 and a dataset (free with fc_dataset_close), or -1 with err (FC_EINPUT for bad
 * specs/files, FC_EIO for unreadable ones). std must be > 0. */
int fc_dataset_open(const char *spec, float mean, float std, fc_dataset **out, fc_error *err);
/* Copies samples [start, start+n) into out (n*c*h*w floats) and labels (n ints, may be NULL;
 * -1 when the dataset has none). -1 + err when the range is outside the dataset. */
int fc_dataset_batch(const fc_dataset *ds, int64_t start, int64_t n, float *out, int *labels, fc_error *err);
void fc_dataset_close(fc_dataset *ds);

#endif
