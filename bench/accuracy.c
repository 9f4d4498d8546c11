/* accuracy.c — one variant over a whole dataset: top-1/top-5 against the labels, top-1
 * agreement and max abs/rel output error against the reference variant's outputs. The last
 * partial batch is zero-padded and its extra rows ignored, so one session serves every batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench/bench.h"
#include "common/fc_dataset.h"
#include "runtime/fcn.h"

static void progress_bar(const char *label, int64_t done, int64_t total)
{
    enum { WIDTH = 30 };
    int filled = total > 0 ? (int)(WIDTH * done / total) : WIDTH;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(stderr, "\r  %-14s [%s] %lld/%lld", label, bar, (long long)done, (long long)total);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

/* Rank of the true class among the scores (0 = top). Ties count against the label. */
static int64_t rank_of(const float *scores, int64_t k, int64_t label)
{
    int64_t r = 0;
    for (int64_t j = 0; j < k; j++)
        if (j != label && scores[j] >= scores[label]) r++;
    return r;
}

static int64_t argmax(const float *s, int64_t k)
{
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
        if (s[j] > s[best]) best = j;
    return best;
}

/* xorshift64* + Box–Muller: the same seeded inputs on every run and machine. */
static void random_inputs(float *out, size_t n, uint64_t *state)
{
    for (size_t i = 0; i < n; i += 2) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            uint64_t x = *state;
            x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
            *state = x;
            u[k] = ((double)((x * 2685821657736338717ULL) >> 11) + 0.5) / 9007199254740992.0;
        }
        double r = sqrt(-2 * log(u[0])), th = 6.283185307179586 * u[1];
        out[i] = (float)(r * cos(th));
        if (i + 1 < n) out[i + 1] = (float)(r * sin(th));
    }
}

int bench_accuracy_run(const fcn_model *m, const fc_dataset *ds, int64_t n_random, int batch, int threads,
                       const float *ref, int64_t ref_classes, const char *progress, bench_accuracy *out,
                       fc_error *err)
{
    memset(out, 0, sizeof *out);
    out->top1 = out->top5 = out->agreement = NAN;
    if (batch < 1) batch = 1;
    fcn_shape in;
    fcn_model_input_shape(m, 0, &in);
    if (in.ndim < 2) return fc_fail(err, FC_EINPUT, "%s: input 0 has %d dims, expected an image batch", fcn_model_name(m), in.ndim);
    if (ds) {
        if (in.ndim != 4 || (in.dims[1] >= 0 && in.dims[1] != ds->c) || (in.dims[2] >= 0 && in.dims[2] != ds->h) ||
            (in.dims[3] >= 0 && in.dims[3] != ds->w))
            return fc_fail(err, FC_EINPUT, "%s: input is %dD %lldx%lldx%lld per sample, the dataset %s has %lldx%lldx%lld",
                           fcn_model_name(m), in.ndim, (long long)(in.ndim > 1 ? in.dims[1] : 0),
                           (long long)(in.ndim > 2 ? in.dims[2] : 0), (long long)(in.ndim > 3 ? in.dims[3] : 0), ds->name,
                           (long long)ds->c, (long long)ds->h, (long long)ds->w);
        in.dims[1] = ds->c;
        in.dims[2] = ds->h;
        in.dims[3] = ds->w;
    }
    for (int d = 1; d < in.ndim; d++)
        if (in.dims[d] < 0) return fc_fail(err, FC_EINPUT, "%s: input dim %d is free; give a dataset", fcn_model_name(m), d);
    in.dims[0] = batch;
    int64_t total = ds ? ds->count : n_random;
    size_t per_sample = 1;
    for (int d = 1; d < in.ndim; d++) per_sample *= (size_t)in.dims[d];

    fcn_session_options so = {.threads = threads, .n_input_shapes = 1, .input_shapes = &in};
    fcn_session *s = NULL;
    if (fcn_session_create(m, &so, &s, err)) return -1;
    int *labels = malloc((size_t)batch * sizeof *labels);
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    int rc = -1;
    int64_t k = 0, correct1 = 0, correct5 = 0, agree = 0, labelled = 0;
    double max_abs = 0, max_ref = 0;
    if (!labels) { fc_fail(err, FC_ENOMEM, "out of memory"); goto done; }
    for (int64_t start = 0; start < total; start += batch) {
        int64_t n = total - start < batch ? total - start : batch;
        fcn_shape shape;
        int dtype;
        float *x = fcn_session_input(s, 0, &shape, &dtype);
        if (!x || dtype != FC_DT_F32) { fc_fail(err, FC_EINPUT, "%s: input 0 is not f32", fcn_model_name(m)); goto done; }
        if (n < batch) memset(x, 0, (size_t)batch * per_sample * sizeof *x);
        if (ds) {
            if (fc_dataset_batch(ds, start, n, x, labels, err)) goto done;
        } else {
            random_inputs(x, (size_t)n * per_sample, &rng);
            for (int64_t i = 0; i < n; i++) labels[i] = -1;
        }
        if (fcn_session_run(s, err)) goto done;
        fcn_shape os;
        const float *y = fcn_session_output(s, 0, &os, &dtype);
        size_t numel = 1;
        for (int d = 0; d < os.ndim; d++) numel *= (size_t)os.dims[d];
        if (!y || dtype != FC_DT_F32 || os.ndim < 1 || os.dims[0] != batch || numel % (size_t)batch) {
            fc_fail(err, FC_EINPUT, "%s: output 0 is not an f32 batch of %d rows", fcn_model_name(m), batch);
            goto done;
        }
        if (k == 0) {
            k = (int64_t)(numel / (size_t)batch);
            out->logits = malloc((size_t)total * (size_t)k * sizeof *out->logits);
            if (!out->logits) { fc_fail(err, FC_ENOMEM, "out of memory for %lld outputs", (long long)total); goto done; }
        }
        memcpy(out->logits + start * k, y, (size_t)n * (size_t)k * sizeof *y);
        for (int64_t i = 0; i < n; i++) {
            const float *row = y + i * k;
            if (labels[i] >= 0 && labels[i] < k) {
                int64_t r = rank_of(row, k, labels[i]);
                correct1 += r == 0;
                correct5 += r < 5;
                labelled++;
            } else if (labels[i] >= 0) {
                labelled++;   /* a label the model cannot produce counts as wrong */
            }
            if (ref && ref_classes == k) {
                const float *rr = ref + (start + i) * k;
                agree += argmax(row, k) == argmax(rr, k);
                for (int64_t j = 0; j < k; j++) {
                    double d = fabs((double)row[j] - (double)rr[j]);
                    if (d > max_abs || isnan(d)) max_abs = isnan(d) ? INFINITY : d;
                    if (fabs((double)rr[j]) > max_ref) max_ref = fabs((double)rr[j]);
                }
            }
        }
        if (progress && isatty(2)) progress_bar(progress, start + n, total);
    }
    out->n = total;
    out->n_classes = k;
    if (labelled > 0) {
        out->top1 = (double)correct1 / (double)labelled;
        out->top5 = (double)correct5 / (double)labelled;
    }
    if (ref && ref_classes == k && total > 0) {
        out->agreement = (double)agree / (double)total;
        out->max_abs_err = max_abs;
        out->max_rel_err = max_ref > 0 ? max_abs / max_ref : max_abs;
    } else {
        out->max_abs_err = out->max_rel_err = NAN;
    }
    rc = 0;
done:
    free(labels);
    fcn_session_destroy(s);
    if (rc) {
        free(out->logits);
        out->logits = NULL;
    }
    return rc;
}
