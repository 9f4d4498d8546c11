/* tool_rewrites — checks for scripts/tests/rewrites.sh that need the runtime, not just two arrays.
 *
 *   tool_rewrites crops MAP.npy CROPS.npy [--rel R]
 *       MAP is a score map 1×K×Ho×Wo (the `score_map` output of a --fc-to-conv model at a large
 *       input), CROPS is Ho×Wo×K (the original classifier on the matching crops, from PyTorch).
 *       Prints the scale-relative error max|map − crops| / max|crops|; exit 1 above R (1e-5).
 *   tool_rewrites slide ORIG.fcn CONV.fcn BIG.npy STRIDE [--rel R]
 *       Runs CONV at BIG's shape (output `score_map`) and ORIG on every crop of BIG at the
 *       network's input size, stepping STRIDE; prints the error over all positions, over border
 *       positions (first/last row or column of the map) and interior ones. With --rel R, exit 1
 *       when the overall scale-relative error exceeds R (the no-padding proof); without, it only
 *       measures (the padding caveat). BIG may be "tile:S": an S×S image tiled from the first
 *       Fashion-MNIST test images (pixel/255), so the measurement uses real image content.
 *   tool_rewrites accuracy MODEL.fcn DATASET [--limit N]
 *       Top-1 accuracy of the first output on a labelled dataset (fc_dataset.h spec).
 * Exit 0 ok, 1 check failed, 2 bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fc_common.h"
#include "common/fc_dataset.h"
#include "runtime/fcn.h"

static int fail2(const fc_error *e)
{
    fprintf(stderr, "tool_rewrites: %s\n", e->msg);
    return 2;
}

static double opt_rel(int argc, char **argv, int from, double def)
{
    for (int i = from; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--rel") || !strcmp(argv[i], "--limit")) return atof(argv[i + 1]);
    return def;
}

static int cmd_crops(int argc, char **argv)
{
    fc_array map = { 0 }, crops = { 0 };
    fc_error err = { 0 };
    if (argc < 4) return 2;
    if (fc_npy_read(argv[2], &map, &err) || fc_array_to_f32(&map, &err) || fc_npy_read(argv[3], &crops, &err) ||
        fc_array_to_f32(&crops, &err))
        return fail2(&err);
    double tol = opt_rel(argc, argv, 4, 1e-5);
    if (map.ndim != 4 || crops.ndim != 3 || map.dims[0] != 1 || map.dims[1] != crops.dims[2] ||
        map.dims[2] != crops.dims[0] || map.dims[3] != crops.dims[1]) {
        fprintf(stderr, "tool_rewrites crops: map must be 1xKxHoxWo and crops HoxWoxK\n");
        return 2;
    }
    int64_t K = map.dims[1], Ho = map.dims[2], Wo = map.dims[3];
    const float *m = map.data, *c = crops.data;
    double worst = 0, ref = 0;
    for (int64_t i = 0; i < Ho; i++)
        for (int64_t j = 0; j < Wo; j++)
            for (int64_t k = 0; k < K; k++) {
                double a = m[(k * Ho + i) * Wo + j], b = c[(i * Wo + j) * K + k];
                worst = fmax(worst, fabs(a - b));
                ref = fmax(ref, fabs(b));
            }
    double rel = ref > 0 ? worst / ref : worst;
    printf("score map %lldx%lld positions x %lld classes vs crops: max abs err %.3g, rel err %.3g (tolerance %.0e)\n",
           (long long)Ho, (long long)Wo, (long long)K, worst, rel, tol);
    fc_array_free(&map);
    fc_array_free(&crops);
    return rel <= tol ? 0 : 1;
}

typedef struct run_ctx {
    fcn_model *m;
    fcn_session *s;
} run_ctx;

static int open_at(const char *path, const fcn_shape *shape, run_ctx *r, fc_error *err)
{
    memset(r, 0, sizeof *r);
    if (fcn_model_open(path, &r->m, err)) return -1;
    fcn_session_options o = { .threads = 1, .n_input_shapes = shape ? 1 : 0, .input_shapes = shape };
    return fcn_session_create(r->m, &o, &r->s, err);
}

static void close_run(run_ctx *r)
{
    if (r->s) fcn_session_destroy(r->s);
    if (r->m) fcn_model_close(r->m);
}

static int cmd_slide(int argc, char **argv)
{
    if (argc < 6) return 2;
    fc_error err = { 0 };
    fc_array big = { 0 };
    run_ctx orig, conv;
    int64_t stride = atoll(argv[5]);
    double tol = opt_rel(argc, argv, 6, -1);
    if (!strncmp(argv[4], "tile:", 5)) {
        int64_t S = atoll(argv[4] + 5), tiles = (S + 27) / 28;
        fc_dataset *ds;
        int64_t dims[4] = { 1, 1, S, S };
        if (S < 1 || S > 4096 || fc_dataset_open("fashion-mnist:test", 0, 1, &ds, &err) ||
            fc_array_alloc(&big, FC_DT_F32, 4, dims, &err))
            return fail2(&err);
        float img[784];
        float *x = big.data;
        for (int64_t t = 0; t < tiles * tiles; t++) {
            if (fc_dataset_batch(ds, t % ds->count, 1, img, NULL, &err)) return fail2(&err);
            int64_t ty = t / tiles, tx = t % tiles;
            for (int64_t y = 0; y < 28 && ty * 28 + y < S; y++)
                for (int64_t xx = 0; xx < 28 && tx * 28 + xx < S; xx++) x[(ty * 28 + y) * S + tx * 28 + xx] = img[y * 28 + xx];
        }
        fc_dataset_close(ds);
    } else if (fc_npy_read(argv[4], &big, &err) || fc_array_to_f32(&big, &err)) {
        return fail2(&err);
    }
    if (big.ndim != 4 || big.dims[0] != 1 || stride < 1) {
        fprintf(stderr, "tool_rewrites slide: BIG must be 1xCxHxW, STRIDE >= 1\n");
        return 2;
    }
    fcn_shape bs = { 4, { 1, big.dims[1], big.dims[2], big.dims[3] } };
    if (open_at(argv[2], NULL, &orig, &err) || open_at(argv[3], &bs, &conv, &err)) return fail2(&err);
    fcn_shape is;
    int dt;
    float *xin = fcn_session_input(orig.s, 0, &is, &dt);
    int64_t C = is.dims[1], h = is.dims[2], w = is.dims[3], H = big.dims[2], W = big.dims[3];
    if (fcn_session_set_input(conv.s, 0, big.data, big.nbytes, &err) || fcn_session_run(conv.s, &err)) return fail2(&err);
    int mi = fcn_session_find_output(conv.s, "score_map");
    if (mi < 0) {
        fprintf(stderr, "tool_rewrites slide: %s has no 'score_map' output\n", argv[3]);
        return 2;
    }
    fcn_shape ms;
    const float *map = fcn_session_output(conv.s, mi, &ms, &dt);
    int64_t K = ms.dims[1], Ho = ms.dims[2], Wo = ms.dims[3];
    if ((Ho - 1) * stride + h > H || (Wo - 1) * stride + w > W) {
        fprintf(stderr, "tool_rewrites slide: a %lldx%lld map at stride %lld does not fit a %lldx%lld input\n",
                (long long)Ho, (long long)Wo, (long long)stride, (long long)H, (long long)W);
        return 2;
    }
    const float *x = big.data;
    double e_all = 0, e_border = 0, e_inner = 0, ref = 0;
    int agree = 0, total = 0;
    for (int64_t i = 0; i < Ho; i++)
        for (int64_t j = 0; j < Wo; j++) {
            for (int64_t c = 0; c < C; c++)
                for (int64_t y = 0; y < h; y++)
                    memcpy(xin + (c * h + y) * w, x + (c * H + i * stride + y) * W + j * stride, sizeof(float) * (size_t)w);
            if (fcn_session_run(orig.s, &err)) return fail2(&err);
            fcn_shape os;
            const float *out = fcn_session_output(orig.s, 0, &os, &dt);
            int border = i == 0 || j == 0 || i == Ho - 1 || j == Wo - 1;
            int a = 0, b = 0;
            for (int64_t k = 0; k < K; k++) {
                double d = fabs((double)out[k] - map[(k * Ho + i) * Wo + j]);
                e_all = fmax(e_all, d);
                if (border) e_border = fmax(e_border, d);
                else e_inner = fmax(e_inner, d);
                ref = fmax(ref, fabs((double)out[k]));
                if (out[k] > out[a]) a = (int)k;
                if (map[(k * Ho + i) * Wo + j] > map[(b * Ho + i) * Wo + j]) b = (int)k;
            }
            agree += a == b;
            total++;
        }
    if (ref == 0) ref = 1;
    printf("%s at %lldx%lld: %lldx%lld score map, stride %lld; vs the original on the crops: rel err all %.3g, "
           "border %.3g, interior %.3g; top-1 agreement %d/%d\n", argv[3], (long long)H, (long long)W, (long long)Ho,
           (long long)Wo, (long long)stride, e_all / ref, e_border / ref, Ho > 2 && Wo > 2 ? e_inner / ref : 0.0, agree,
           total);
    close_run(&orig);
    close_run(&conv);
    fc_array_free(&big);
    return tol < 0 || e_all / ref <= tol ? 0 : 1;
}

static int cmd_accuracy(int argc, char **argv)
{
    if (argc < 4) return 2;
    fc_error err = { 0 };
    fc_dataset *ds;
    run_ctx r;
    if (fc_dataset_open(argv[3], 0, 1, &ds, &err)) return fail2(&err);
    if (!ds->has_labels) {
        fprintf(stderr, "tool_rewrites accuracy: %s has no labels\n", argv[3]);
        return 2;
    }
    int64_t B = 100;
    fcn_shape s = { 4, { B, ds->c, ds->h, ds->w } };
    if (open_at(argv[2], &s, &r, &err)) return fail2(&err);
    int64_t limit = (int64_t)opt_rel(argc, argv, 4, 0), n = ds->count, correct = 0, seen = 0;
    if (limit > 0 && limit < n) n = limit;
    size_t per = (size_t)(ds->c * ds->h * ds->w);
    float *x = calloc((size_t)B * per, sizeof(float));
    int *lab = malloc(sizeof(int) * (size_t)B);
    for (int64_t st = 0; st < n; st += B) {
        int64_t m = n - st < B ? n - st : B;
        memset(x, 0, (size_t)B * per * sizeof(float));
        if (fc_dataset_batch(ds, st, m, x, lab, &err) || fcn_session_set_input(r.s, 0, x, (size_t)B * per * 4, &err) ||
            fcn_session_run(r.s, &err))
            return fail2(&err);
        fcn_shape os;
        int dt;
        const float *y = fcn_session_output(r.s, 0, &os, &dt);
        int64_t K = os.dims[1];
        for (int64_t i = 0; i < m; i++) {
            int64_t best = 0;
            for (int64_t k = 1; k < K; k++)
                if (y[i * K + k] > y[i * K + best]) best = k;
            correct += best == lab[i];
            seen++;
        }
    }
    printf("%s on %s: top-1 accuracy %.2f%% (%lld/%lld)\n", argv[2], argv[3], 100.0 * (double)correct / (double)seen,
           (long long)correct, (long long)seen);
    free(x);
    free(lab);
    close_run(&r);
    fc_dataset_close(ds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "crops")) return cmd_crops(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "slide")) return cmd_slide(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "accuracy")) return cmd_accuracy(argc, argv);
    fprintf(stderr, "usage: tool_rewrites crops MAP.npy CROPS.npy [--rel R]\n"
                    "       tool_rewrites slide ORIG.fcn CONV.fcn BIG.npy STRIDE [--rel R]\n"
                    "       tool_rewrites accuracy MODEL.fcn DATASET [--limit N]\n");
    return 2;
}
