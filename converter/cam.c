/* cam.c — CAM images (cam.h). Bilinear upsampling with align_corners=false: output pixel
 * centre (y+0.5)·h/H − 0.5 in map coordinates, clamped at the borders. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "converter/cam.h"

static void upsample(const float *map, int64_t h, int64_t w, int64_t oh, int64_t ow, float *out)
{
    for (int64_t y = 0; y < oh; y++) {
        double sy = (y + 0.5) * (double)h / (double)oh - 0.5;
        if (sy < 0) sy = 0;
        int64_t y0 = (int64_t)sy, y1 = y0 + 1 < h ? y0 + 1 : y0;
        double fy = sy - (double)y0;
        for (int64_t x = 0; x < ow; x++) {
            double sx = (x + 0.5) * (double)w / (double)ow - 0.5;
            if (sx < 0) sx = 0;
            int64_t x0 = (int64_t)sx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            double fx = sx - (double)x0;
            double top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
            double bot = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
            out[y * ow + x] = (float)(top * (1 - fy) + bot * fy);
        }
    }
}

/* black -> red -> yellow -> white */
static void heat(uint8_t v, uint8_t *rgb)
{
    int t = v * 3;
    rgb[0] = (uint8_t)(t > 255 ? 255 : t);
    rgb[1] = (uint8_t)(t < 255 ? 0 : (t - 255 > 255 ? 255 : t - 255));
    rgb[2] = (uint8_t)(t < 510 ? 0 : t - 510);
}

static int write_image(const char *path, const float *img, int64_t hh, int64_t ww, int gray, int force,
                       fc_error *err)
{
    float lo = INFINITY, hi = -INFINITY;
    size_t n = (size_t)(hh * ww);
    for (size_t i = 0; i < n; i++) {
        if (img[i] < lo) lo = img[i];
        if (img[i] > hi) hi = img[i];
    }
    float range = hi > lo ? hi - lo : 1.0f;
    char head[64];
    int hl = snprintf(head, sizeof head, "%s\n%lld %lld\n255\n", gray ? "P5" : "P6", (long long)ww, (long long)hh);
    size_t ch = gray ? 1 : 3, size = (size_t)hl + n * ch;
    uint8_t *buf = malloc(size);
    if (!buf) return fc_fail(err, FC_ENOMEM, "out of memory writing %s", path);
    memcpy(buf, head, (size_t)hl);
    for (size_t i = 0; i < n; i++) {
        float v = isfinite(img[i]) ? (img[i] - lo) / range : 0.0f;
        uint8_t b = (uint8_t)lrintf(v * 255.0f);
        if (gray) buf[hl + i] = b;
        else heat(b, buf + hl + 3 * i);
    }
    int rc = fc_write_file_atomic(path, buf, size, force, err);
    free(buf);
    return rc;
}

int fcv_write_cams(const float *cam, int64_t n, int64_t k, int64_t h, int64_t w, const float *logits,
                   int64_t input_h, int64_t input_w, const fcv_cam_options *opt, const char *dir,
                   fc_error *err)
{
    fcv_cam_options def = { .top_k = 1 };
    if (!opt) opt = &def;
    if (n < 1 || k < 1 || h < 1 || w < 1 || input_h < 1 || input_w < 1 || input_h > 65536 || input_w > 65536 ||
        h > 65536 || w > 65536)
        return fc_fail(err, FC_EINPUT, "--cam: bad map %lldx%lldx%lldx%lld for a %lldx%lld input", (long long)n,
                       (long long)k, (long long)h, (long long)w, (long long)input_h, (long long)input_w);
    if (mkdir(dir, 0777) && errno != EEXIST) return fc_fail(err, FC_EIO, "%s: cannot create (%s)", dir, strerror(errno));
    int top = opt->top_k > 0 ? opt->top_k : 1;
    if (top > k) top = (int)k;
    float *img = malloc(sizeof(float) * (size_t)(input_h * input_w));
    float *score = malloc(sizeof(float) * (size_t)k);
    int *order = malloc(sizeof(int) * (size_t)k);
    if (!img || !score || !order) {
        free(img); free(score); free(order);
        return fc_fail(err, FC_ENOMEM, "out of memory for CAM images");
    }
    int written = 0;
    for (int64_t b = 0; b < n; b++) {
        for (int64_t c = 0; c < k; c++) {
            if (logits) score[c] = logits[b * k + c];
            else {
                double s = 0;
                const float *m = cam + ((size_t)(b * k + c)) * (size_t)(h * w);
                for (int64_t i = 0; i < h * w; i++) s += m[i];
                score[c] = (float)(s / (double)(h * w));
            }
            order[c] = (int)c;
        }
        for (int r = 0; r < top; r++) {   /* partial selection sort: top is small */
            int best = r;
            for (int64_t c = r + 1; c < k; c++)
                if (score[order[c]] > score[order[best]]) best = (int)c;
            int t = order[r]; order[r] = order[best]; order[best] = t;
            int cls = order[r];
            upsample(cam + ((size_t)(b * k + cls)) * (size_t)(h * w), h, w, input_h, input_w, img);
            char path[4096];
            snprintf(path, sizeof path, "%s/%lld_top%d_class%d.%s", dir, (long long)b, r + 1, cls,
                     opt->grayscale ? "pgm" : "ppm");
            if (write_image(path, img, input_h, input_w, opt->grayscale, opt->force, err)) {
                free(img); free(score); free(order);
                return -1;
            }
            written++;
        }
    }
    free(img); free(score); free(order);
    return written;
}
