/* cam.h — class activation maps as images (`fullconv run --cam DIR`).
 *
 * A model converted with `--gap-head exact` has an extra output named "cam" (N×K×h×w: the 1×1
 * conv map before the global average pool; averaging it gives the logits). For each input n
 * and each of its top_k classes (by logits), the class's h×w map is bilinearly upsampled to
 * the input's H×W (align_corners = false, like torch's F.interpolate), min-max normalized to
 * 0..255 and written atomically as DIR/<n>_top<rank>_class<k>.ppm (a heat colormap: black ->
 * red -> yellow -> white) or .pgm (grayscale). rank counts from 1. */
#ifndef FCV_CAM_H
#define FCV_CAM_H

#include <stdint.h>
#include "common/fc_common.h"

typedef struct fcv_cam_options {
    int top_k;                    /* classes per input (default 1; capped at K) */
    int grayscale;                /* 1: .pgm, 0: .ppm heat colormap */
    int force;                    /* overwrite existing files */
} fcv_cam_options;

/* cam: N×K×h×w floats; logits: N×K floats (NULL: rank classes by the CAM's mean, which is the
 * same ranking for an exact GAP head); input_h/input_w: the size to upsample to. The directory
 * is created if missing. Returns the number of images written, or -1 with err. */
int fcv_write_cams(const float *cam, int64_t n, int64_t k, int64_t h, int64_t w, const float *logits,
                   int64_t input_h, int64_t input_w, const fcv_cam_options *opt, const char *dir,
                   fc_error *err);

#endif
