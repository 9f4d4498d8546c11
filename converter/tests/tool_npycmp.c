/* tool_npycmp — compares two .npy arrays (an output against a reference) for the golden runners.
 *
 *   tool_npycmp A.npy B.npy [--rtol R] [--atol A] [--rel-max R]
 *
 * B is the reference. Prints both shapes, the max absolute error, the max elementwise relative error
 * |a-b| / max(|b|, eps), the norm-relative error ||a-b|| / ||b||, the scale-relative error
 * max|a-b| / max|b|, and for 2-D arrays (N x K logits) the top-1 agreement over rows.
 * Passes when every element satisfies |a-b| <= atol + rtol*|b| (numpy allclose), or, with --rel-max R,
 * when both the norm-relative and the scale-relative errors are <= R and no element is NaN/Inf.
 * (--rel-max is what "rel err <= 1e-4" means for logits: elementwise relative error is meaningless for
 * a logit that happens to be near zero, while summation-order noise scales with the tensor's size.)
 * Exit 0 within tolerance, 1 outside it, 2 on bad input (unreadable file, shape mismatch). */
#include "common/fc_common.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cmp_stats {
    double max_abs, max_rel, norm_rel, scale_rel, max_ref;
    size_t worst;
    size_t first_nonfinite;            /* index of the element with the largest allclose violation */
    size_t violations;       /* elements outside atol + rtol*|b| */
    size_t nonfinite;        /* elements where a or b is NaN/Inf and they differ */
    int64_t rows, rows_agree;
} cmp_stats;

static int usage(void)
{
    fprintf(stderr, "usage: tool_npycmp A.npy B.npy [--rtol R] [--atol A] [--rel-max R]\n"
                    "  B is the reference; exit 0 within tolerance, 1 outside, 2 bad input\n");
    return 2;
}

static int parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= 0.0) || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int load_f32(const char *path, fc_array *a)
{
    fc_error err = {0};
    if (fc_npy_read(path, a, &err) != 0 || fc_array_to_f32(a, &err) != 0) {
        fprintf(stderr, "tool_npycmp: %s\n", err.msg[0] ? err.msg : path);
        return -1;
    }
    return 0;
}

static int same_shape(const fc_array *a, const fc_array *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

static size_t argmax_row(const float *row, int64_t k)
{
    size_t best = 0;
    for (int64_t j = 1; j < k; j++)
        if (row[j] > row[best]) best = (size_t)j;
    return best;
}

static void compare(const float *a, const float *b, size_t n, double rtol, double atol, cmp_stats *st)
{
    double diff2 = 0.0, ref2 = 0.0, worst_excess = -1.0;
    const double eps = 1e-12;
    for (size_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        if (!isfinite(x) || !isfinite(y)) {
            /* identical infinities agree; anything involving NaN or differing infinities does not */
            if (!(x == y)) {
                if (st->nonfinite++ == 0) st->first_nonfinite = i;
                st->violations++;
            }
            continue;
        }
        double d = fabs(x - y);
        double rel = d / fmax(fabs(y), eps);
        if (d > st->max_abs) st->max_abs = d;
        if (rel > st->max_rel) st->max_rel = rel;
        if (fabs(y) > st->max_ref) st->max_ref = fabs(y);
        diff2 += d * d;
        ref2 += y * y;
        double excess = d - (atol + rtol * fabs(y));
        if (excess > 0) st->violations++;
        if (excess > worst_excess) { worst_excess = excess; st->worst = i; }
    }
    st->norm_rel = ref2 > 0 ? sqrt(diff2) / sqrt(ref2) : (diff2 > 0 ? INFINITY : 0.0);
    st->scale_rel = st->max_ref > 0 ? st->max_abs / st->max_ref : (st->max_abs > 0 ? INFINITY : 0.0);
}

int main(int argc, char **argv)
{
    const char *path_a = NULL, *path_b = NULL;
    double rtol = 1e-4, atol = 1e-5, rel_max = -1.0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        double *target = NULL;
        if (strcmp(arg, "--rtol") == 0) target = &rtol;
        else if (strcmp(arg, "--atol") == 0) target = &atol;
        else if (strcmp(arg, "--rel-max") == 0) target = &rel_max;
        else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) { usage(); return 0; }
        if (target) {
            if (i + 1 >= argc || parse_double(argv[i + 1], target) != 0) {
                fprintf(stderr, "tool_npycmp: %s needs a non-negative number\n", arg);
                return 2;
            }
            i++;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "tool_npycmp: unknown option %s\n", arg);
            return usage();
        } else if (!path_a) {
            path_a = arg;
        } else if (!path_b) {
            path_b = arg;
        } else {
            return usage();
        }
    }
    if (!path_a || !path_b) return usage();

    fc_array a = {0}, b = {0};
    int status = 2;
    if (load_f32(path_a, &a) != 0 || load_f32(path_b, &b) != 0) goto done;

    char shape_a[128], shape_b[128];
    fc_format_dims(a.ndim, a.dims, shape_a, sizeof shape_a);
    fc_format_dims(b.ndim, b.dims, shape_b, sizeof shape_b);
    printf("shapes: %s vs %s (reference)\n", shape_a, shape_b);
    if (!same_shape(&a, &b)) {
        fprintf(stderr, "tool_npycmp: %s has shape %s, reference %s has %s\n", path_a, shape_a, path_b, shape_b);
        goto done;
    }
    size_t n = a.nbytes / sizeof(float);
    cmp_stats st = {0};
    compare(a.data, b.data, n, rtol, atol, &st);
    printf("max abs err %.3g, max rel err %.3g, norm rel err %.3g, max err/max|ref| %.3g (%zu elements)\n",
           st.max_abs, st.max_rel, st.norm_rel, st.scale_rel, n);
    if (st.nonfinite)
        printf("%zu elements NaN/Inf where the other is not (first at %zu: %g vs %g)\n", st.nonfinite,
               st.first_nonfinite, (double)((const float *)a.data)[st.first_nonfinite],
               (double)((const float *)b.data)[st.first_nonfinite]);
    if (a.ndim == 2 && a.dims[0] > 0 && a.dims[1] > 0) {
        const float *fa = a.data, *fb = b.data;
        int64_t k = a.dims[1];
        st.rows = a.dims[0];
        for (int64_t r = 0; r < st.rows; r++)
            if (argmax_row(fa + r * k, k) == argmax_row(fb + r * k, k)) st.rows_agree++;
        printf("top-1 agreement %lld/%lld\n", (long long)st.rows_agree, (long long)st.rows);
    }

    int ok;
    if (rel_max >= 0) {
        ok = st.nonfinite == 0 && st.norm_rel <= rel_max && st.scale_rel <= rel_max;
        printf("%s: norm rel err %.3g and max err/max|ref| %.3g %s %.3g\n", ok ? "PASS" : "FAIL", st.norm_rel,
               st.scale_rel, ok ? "both <=" : "not both <=", rel_max);
    } else {
        ok = st.violations == 0;
        if (ok)
            printf("PASS: all within atol %.3g + rtol %.3g*|ref|\n", atol, rtol);
        else
            printf("FAIL: %zu of %zu elements outside atol %.3g + rtol %.3g*|ref| (worst finite at %zu: %.9g vs %.9g)\n",
                   st.violations, n, atol, rtol, st.worst, (double)((const float *)a.data)[st.worst],
                   (double)((const float *)b.data)[st.worst]);
    }
    status = ok ? 0 : 1;
done:
    fc_array_free(&a);
    fc_array_free(&b);
    return status;
}
