/* compare.c — the regression gate: two bench documents, case by case.
 *
 * A case is slower when the relative change of its median time exceeds the threshold AND a
 * two-sided Mann–Whitney U test over the repetitions rejects "same distribution" at alpha.
 * The U test needs no normality (latencies are skewed: a few slow outliers) and compares
 * ranks, so one stray repetition cannot carry the verdict alone. Accuracy and agreement may
 * not drop and the .fcn size may not grow: those are deterministic and checked exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"

/* ---- order statistics ------------------------------------------------------------------ */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

double bench_quantile(const double *v, int n, double q)
{
    if (n <= 0) return NAN;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return NAN;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    if (q < 0) q = 0;
    if (q > 1) q = 1;
    double pos = q * (double)(n - 1);
    int lo = (int)floor(pos);
    int hi = lo + 1 < n ? lo + 1 : lo;
    double r = s[lo] + (pos - (double)lo) * (s[hi] - s[lo]);
    free(s);
    return r;
}

double bench_median(const double *v, int n) { return bench_quantile(v, n, 0.5); }

double bench_min(const double *v, int n)
{
    if (n <= 0) return NAN;
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m) m = v[i];
    return m;
}

/* ---- Mann–Whitney U -------------------------------------------------------------------- */
typedef struct ranked { double v; int group; } ranked;

static int cmp_ranked(const void *a, const void *b)
{
    return cmp_double(&((const ranked *)a)->v, &((const ranked *)b)->v);
}

/* Number of orderings of n1 x's and n2 y's with U = u, for every u in [0, n1*n2]:
 * f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u) (the largest element is an x or a y). Filled
 * row by row in a (n1+1) x (n2+1) x (n1*n2+1) table of doubles (n <= 12: tiny). */
static double exact_cdf(int n1, int n2, int u_max_wanted)
{
    int umax = n1 * n2;
    size_t plane = (size_t)umax + 1;
    double *f = calloc((size_t)(n1 + 1) * (size_t)(n2 + 1) * plane, sizeof *f);
    if (!f) return NAN;
#define F(m, n, u) f[((size_t)(m) * (size_t)(n2 + 1) + (size_t)(n)) * plane + (size_t)(u)]
    for (int m = 0; m <= n1; m++)
        for (int n = 0; n <= n2; n++) {
            if (m == 0 || n == 0) { F(m, n, 0) = 1; continue; }
            for (int u = 0; u <= m * n; u++)
                F(m, n, u) = (u >= n ? F(m - 1, n, u - n) : 0) + F(m, n - 1, u);
        }
    double below = 0, total = 0;
    for (int u = 0; u <= umax; u++) {
        total += F(n1, n2, u);
        if (u <= u_max_wanted) below += F(n1, n2, u);
    }
#undef F
    free(f);
    return below / total;
}

int bench_mwu(const double *x, int n1, const double *y, int n2, int force_normal,
              bench_mwu_result *out)
{
    memset(out, 0, sizeof *out);
    if (n1 <= 0 || n2 <= 0) return -1;
    int n = n1 + n2;
    ranked *r = malloc((size_t)n * sizeof *r);
    if (!r) return -1;
    for (int i = 0; i < n1; i++) r[i] = (ranked){x[i], 0};
    for (int j = 0; j < n2; j++) r[n1 + j] = (ranked){y[j], 1};
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    /* Average ranks over runs of ties; sum over tie groups of t^3 - t for the variance. */
    double rank_sum_x = 0, tie_term = 0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && r[j + 1].v == r[i].v) j++;
        double t = (double)(j - i + 1), avg_rank = (double)(i + j) / 2.0 + 1.0;
        for (int k = i; k <= j; k++)
            if (r[k].group == 0) rank_sum_x += avg_rank;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    free(r);
    double n1d = n1, n2d = n2, nd = n;
    out->u1 = rank_sum_x - n1d * (n1d + 1) / 2;
    out->u2 = n1d * n2d - out->u1;
    if (!force_normal && tie_term == 0 && n1 <= BENCH_MWU_EXACT_MAX && n2 <= BENCH_MWU_EXACT_MAX) {
        /* Two-sided exact p: twice the lower tail at the smaller U (the null is symmetric). */
        double u_small = out->u1 < out->u2 ? out->u1 : out->u2;
        double p = 2 * exact_cdf(n1, n2, (int)u_small);
        if (isnan(p)) return -1;
        out->p_two_sided = p > 1 ? 1 : p;
        out->exact = 1;
        return 0;
    }
    double mu = n1d * n2d / 2;
    double var = n1d * n2d / 12.0 * ((nd + 1) - tie_term / (nd * (nd - 1)));
    if (var <= 0) {           /* every value equal: no evidence of any difference */
        out->p_two_sided = 1;
        return 0;
    }
    double u_big = out->u1 > out->u2 ? out->u1 : out->u2;
    out->z = (u_big - mu - 0.5) / sqrt(var);     /* 0.5: continuity correction */
    double p = erfc(out->z / sqrt(2.0));          /* 2 * (1 - Phi(z)) */
    out->p_two_sided = p > 1 ? 1 : p;
    return 0;
}

/* ---- the gate ------------------------------------------------------------------------- */
void bench_compare_options_default(bench_compare_options *o)
{
    memset(o, 0, sizeof *o);
    o->threshold_pct = 5;
    o->alpha = 0.05;
    o->acc_tolerance = 0;
    o->out = stdout;
}

static const cJSON *find_by_name(const cJSON *array, const char *key, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, array) {
        const char *s = bench_jstr(it, key, NULL);
        if (s && strcmp(s, name) == 0) return it;
    }
    return NULL;
}

/* Repetition times (ms) of one speed case, scaled by `scale`; returns the count (<= cap). */
static int case_reps(const cJSON *speed_case, double scale, double *out, int cap)
{
    const cJSON *reps = cJSON_GetObjectItemCaseSensitive(speed_case, "reps_ms");
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, reps) {
        if (n < cap && cJSON_IsNumber(it)) out[n++] = it->valuedouble * scale;
    }
    if (n == 0) {   /* documents written without repetitions: the median alone */
        double m = bench_jnum(speed_case, "median_ms", NAN);
        if (!isnan(m) && cap > 0) out[n++] = m * scale;
    }
    return n;
}

static double probe_median(const cJSON *doc)
{
    return bench_jnum(cJSON_GetObjectItemCaseSensitive(doc, "probe"), "median_ms", 0);
}

/* Normalization: preferably by the FMA probe timed inside the same Google Benchmark run (it saw
 * the same machine state as the cases, interleaved with them); else by the peak measured
 * before/after timing. Both documents must use the same method: use_probe says which. */
static int doc_scale(const cJSON *doc, int normalize, int use_probe, double *scale, const char *which,
                     fc_error *err)
{
    *scale = 1;
    if (!normalize) return 0;
    if (use_probe) {
        *scale = 1 / probe_median(doc);   /* time in units of the probe's time */
        return 0;
    }
    const cJSON *machine = cJSON_GetObjectItemCaseSensitive(doc, "machine");
    double peak = bench_jnum(machine, "peak_gflops", 0);
    if (!(peak > 0)) return fc_fail(err, FC_EINPUT, "%s: --normalize needs machine.peak_gflops", which);
    /* ms * GFLOP/s = Mflop-equivalents: the time in units of the probe's FMA work. */
    *scale = peak;
    return 0;
}

#define MAX_REPS 1024

typedef struct gate_state {
    const bench_compare_options *opt;
    int regressions, cases, low_power_cases;
    double log_ratio_sum;
} gate_state;

static void compare_speed_case(gate_state *st, const char *vname, const cJSON *bc, const cJSON *nc,
                               double bscale, double nscale)
{
    static double b[MAX_REPS], n[MAX_REPS];
    FILE *out = st->opt->out;
    const char *cname = bench_jstr(bc, "case", "?");
    int nb = case_reps(bc, bscale, b, MAX_REPS), nn = case_reps(nc, nscale, n, MAX_REPS);
    if (nb == 0 || nn == 0) return;
    double mb = bench_median(b, nb), mn = bench_median(n, nn);
    double change = mb > 0 ? (mn / mb - 1) * 100 : 0;
    bench_mwu_result u;
    int have_u = bench_mwu(b, nb, n, nn, 0, &u) == 0;
    double p = have_u ? u.p_two_sided : 1;
    /* With fewer than 4 repetitions a side the smallest attainable p exceeds 0.05: say so. */
    int low_power = nb < 4 || nn < 4;
    if (low_power) st->low_power_cases++;
    const char *verdict = "same";
    if (change > st->opt->threshold_pct && (p < st->opt->alpha || low_power)) {
        verdict = "SLOWER";
        st->regressions++;
    } else if (change < -st->opt->threshold_pct && (p < st->opt->alpha || low_power)) {
        verdict = "faster";
    } else if (fabs(change) > st->opt->threshold_pct) {
        verdict = "noise";
    }
    if (mb > 0 && mn > 0) {
        st->log_ratio_sum += log(mn / mb);
        st->cases++;
    }
    if (out)
        fprintf(out, "%-14s %-22s %11.4g %11.4g %+8.2f%% %8.4f%s  %s\n", vname, cname, mb, mn, change,
                p, have_u && u.exact ? "e" : " ", verdict);
}

static void compare_checks(gate_state *st, const char *vname, const cJSON *bv, const cJSON *nv)
{
    FILE *out = st->opt->out;
    const cJSON *ba = cJSON_GetObjectItemCaseSensitive(bv, "accuracy");
    const cJSON *na = cJSON_GetObjectItemCaseSensitive(nv, "accuracy");
    static const char *const acc_keys[] = {"top1", "top5", "agreement"};
    for (size_t k = 0; k < sizeof acc_keys / sizeof *acc_keys; k++) {
        double b = bench_jnum(ba, acc_keys[k], NAN), n = bench_jnum(na, acc_keys[k], NAN);
        if (isnan(b) || isnan(n)) continue;
        if (n < b - st->opt->acc_tolerance - 1e-12) {
            st->regressions++;
            if (out) fprintf(out, "%-14s %s dropped: %.4f -> %.4f  REGRESSION\n", vname, acc_keys[k], b, n);
        }
    }
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(bv, "size");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(nv, "size");
    double b = bench_jnum(bs, "fcn_bytes", NAN), n = bench_jnum(ns, "fcn_bytes", NAN);
    if (!isnan(b) && !isnan(n) && n > b) {
        st->regressions++;
        if (out) fprintf(out, "%-14s .fcn size grew: %.0f -> %.0f bytes  REGRESSION\n", vname, b, n);
    }
}

int bench_compare_docs(const cJSON *base, const cJSON *next, const bench_compare_options *opt,
                       fc_error *err)
{
    const cJSON *bvars = cJSON_GetObjectItemCaseSensitive(base, "variants");
    const cJSON *nvars = cJSON_GetObjectItemCaseSensitive(next, "variants");
    if (!cJSON_IsArray(bvars)) return fc_fail(err, FC_EINPUT, "BASE: no \"variants\" array");
    if (!cJSON_IsArray(nvars)) return fc_fail(err, FC_EINPUT, "NEW: no \"variants\" array");
    double bscale, nscale;
    int use_probe = probe_median(base) > 0 && probe_median(next) > 0;
    if (doc_scale(base, opt->normalize, use_probe, &bscale, "BASE", err) ||
        doc_scale(next, opt->normalize, use_probe, &nscale, "NEW", err))
        return -1;
    gate_state st = {.opt = opt};
    FILE *out = opt->out;
    if (out && opt->normalize)
        fprintf(out, "times normalized by %s\n",
                use_probe ? "the FMA probe timed in the same run (probe.median_ms)" : "machine.peak_gflops");
    if (out)
        fprintf(out, "%-14s %-22s %11s %11s %9s %9s  %s\n", "variant", "case",
                opt->normalize ? "base(norm)" : "base ms", opt->normalize ? "new(norm)" : "new ms",
                "change", "p(U)", "verdict");
    const cJSON *bv;
    cJSON_ArrayForEach(bv, bvars) {
        const char *vname = bench_jstr(bv, "name", NULL);
        if (!vname) continue;
        const cJSON *nv = find_by_name(nvars, "name", vname);
        int b_ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bv, "applicable"));
        if (!nv) {
            if (out) fprintf(out, "%-14s missing in NEW (not compared)\n", vname);
            continue;
        }
        int n_ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(nv, "applicable"));
        if (b_ok && !n_ok) {
            st.regressions++;
            if (out)
                fprintf(out, "%-14s no longer applicable: %s  REGRESSION\n", vname,
                        bench_jstr(nv, "reason", "?"));
            continue;
        }
        if (!b_ok) continue;
        compare_checks(&st, vname, bv, nv);
        const cJSON *bspeed = cJSON_GetObjectItemCaseSensitive(bv, "speed");
        const cJSON *nspeed = cJSON_GetObjectItemCaseSensitive(nv, "speed");
        const cJSON *bc;
        cJSON_ArrayForEach(bc, bspeed) {
            const char *cname = bench_jstr(bc, "case", NULL);
            if (!cname) continue;
            const cJSON *nc = find_by_name(nspeed, "case", cname);
            if (!nc) {
                if (out) fprintf(out, "%-14s %-22s missing in NEW (not compared)\n", vname, cname);
                continue;
            }
            compare_speed_case(&st, vname, bc, nc, bscale, nscale);
        }
    }
    if (out) {
        if (st.cases > 0)
            fprintf(out, "geometric mean of new/base median time over %d cases: %.4f (%+.2f%%)\n", st.cases,
                    exp(st.log_ratio_sum / st.cases), (exp(st.log_ratio_sum / st.cases) - 1) * 100);
        if (st.low_power_cases > 0)
            fprintf(out, "note: %d case(s) have fewer than 4 repetitions a side: the U test cannot reach "
                         "alpha there, so the threshold alone decides (use --benchmark_repetitions=9)\n",
                    st.low_power_cases);
        fprintf(out, "%s: %d regression(s) (threshold %.3g%%, alpha %.3g)\n",
                st.regressions ? "FAIL" : "OK", st.regressions, opt->threshold_pct, opt->alpha);
    }
    return st.regressions ? 1 : 0;
}
