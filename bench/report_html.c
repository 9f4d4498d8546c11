/* report_html.c — one self-contained HTML page: tables plus three inline SVG charts drawn here
 * (accuracy vs size, latency per variant, per-layer time of the slowest variant) and the peers
 * table when present. No script, no external resource: it opens offline in any browser. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define PALETTE_N (sizeof palette / sizeof *palette)

static int applicable(const cJSON *v) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "applicable")); }

/* "Nice" upper bound for an axis: 1, 2 or 5 times a power of ten, >= v. */
static double nice_ceil(double v)
{
    if (!(v > 0)) return 1;
    double p = pow(10, floor(log10(v)));
    if (v <= p) return p;
    if (v <= 2 * p) return 2 * p;
    if (v <= 5 * p) return 5 * p;
    return 10 * p;
}

/* Scatter: x = .fcn bytes (log10), y = top-1 (or agreement without labels). */
static void chart_accuracy_vs_size(const cJSON *doc, FILE *f)
{
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(doc, "variants"), *v;
    const char *ykey = "top1";
    int have_top1 = 0;
    cJSON_ArrayForEach(v, vars) {
        if (applicable(v) && !isnan(bench_jnum(cJSON_GetObjectItemCaseSensitive(v, "accuracy"), "top1", NAN)))
            have_top1 = 1;
    }
    if (!have_top1) ykey = "agreement";
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    int n = 0;
    cJSON_ArrayForEach(v, vars) {
        if (!applicable(v)) continue;
        double x = bench_jnum(cJSON_GetObjectItemCaseSensitive(v, "size"), "fcn_bytes", NAN);
        double y = bench_jnum(cJSON_GetObjectItemCaseSensitive(v, "accuracy"), ykey, NAN);
        if (isnan(x) || isnan(y) || x <= 0) continue;
        xmin = fmin(xmin, log10(x)); xmax = fmax(xmax, log10(x));
        ymin = fmin(ymin, y); ymax = fmax(ymax, y);
        n++;
    }
    fprintf(f, "<h2>Accuracy vs size</h2>\n");
    if (n == 0) {
        fprintf(f, "<p>No accuracy measured (no dataset given).</p>\n");
        return;
    }
    if (xmax - xmin < 0.2) { xmin -= 0.1; xmax += 0.1; }
    double xpad = (xmax - xmin) * 0.08;   /* keep the points off the frame */
    xmin -= xpad;
    xmax += xpad;
    double pad = fmax((ymax - ymin) * 0.15, 0.005);
    ymin = fmax(0, ymin - pad); ymax = fmin(1, ymax + pad);
    if (ymax <= ymin) ymax = ymin + 0.01;
    const double W = 640, H = 320, L = 70, R = 160, T = 20, B = 50;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
               "aria-label=\"accuracy vs size\">\n", W, H);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
            L, T, W - L - R, H - T - B);
    for (int i = 0; i <= 4; i++) {
        double yv = ymin + (ymax - ymin) * i / 4, yp = H - B - (H - T - B) * i / 4;
        fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.2f%%</text>\n",
                L, W - R, yp, yp, L - 4, yp + 4, yv * 100);
        double xv = xmin + (xmax - xmin) * i / 4, xp = L + (W - L - R) * i / 4;
        char sb[32];
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", xp, H - B + 16,
                bench_fmt_bytes(pow(10, xv), sb, sizeof sb));
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\">.fcn file size (log scale)</text>\n",
            L + (W - L - R) / 2, H - 12);
    fprintf(f, "<text x=\"14\" y=\"%.0f\" font-size=\"12\" transform=\"rotate(-90 14 %.0f)\" "
               "text-anchor=\"middle\">%s</text>\n", T + (H - T - B) / 2, T + (H - T - B) / 2,
            have_top1 ? "top-1 accuracy" : "top-1 agreement with original");
    int i = 0;
    cJSON_ArrayForEach(v, vars) {
        if (!applicable(v)) continue;
        double x = bench_jnum(cJSON_GetObjectItemCaseSensitive(v, "size"), "fcn_bytes", NAN);
        double y = bench_jnum(cJSON_GetObjectItemCaseSensitive(v, "accuracy"), ykey, NAN);
        if (isnan(x) || isnan(y) || x <= 0) continue;
        double xp = L + (log10(x) - xmin) / (xmax - xmin) * (W - L - R);
        double yp = H - B - (y - ymin) / (ymax - ymin) * (H - T - B);
        const char *color = palette[i % PALETTE_N];
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>", xp, yp, color);
        esc(f, bench_jstr(v, "name", "?"));
        fprintf(f, ": %.2f%%, %.0f bytes</title></circle>\n", y * 100, x);
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                   "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">", W - R + 12, T + 4 + 16.0 * i, color,
                W - R + 26, T + 13 + 16.0 * i);
        esc(f, bench_jstr(v, "name", "?"));
        fprintf(f, "</text>\n");
        i++;
    }
    fprintf(f, "</svg>\n");
}

/* Horizontal bars of labelled values with optional whiskers (lo..hi). */
typedef struct bar { char label[96]; double value, lo, hi; int color; } bar;

static void chart_bars(FILE *f, const char *title, const char *unit, const bar *bars, int n)
{
    double vmax = 0;
    for (int i = 0; i < n; i++) vmax = fmax(vmax, fmax(bars[i].value, isnan(bars[i].hi) ? 0 : bars[i].hi));
    vmax = nice_ceil(vmax);
    const double L = 230, R = 90, T = 10, row = 20, W = 760;
    double H = T + row * n + 30;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
               "aria-label=\"", W, H);
    esc(f, title);
    fprintf(f, "\">\n");
    for (int k = 0; k <= 4; k++) {
        double xp = L + (W - L - R) * k / 4;
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%.5g</text>\n",
                xp, xp, T, T + row * n, xp, T + row * n + 14, vmax * k / 4);
    }
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\">", L + (W - L - R) / 2, H - 4);
    esc(f, unit);
    fprintf(f, "</text>\n");
    for (int i = 0; i < n; i++) {
        double y = T + row * i, w = bars[i].value / vmax * (W - L - R);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"end\">", L - 6, y + 14);
        size_t len = strlen(bars[i].label);
        if (len > 34) {   /* keep the informative end of long node names */
            fputs("…", f);
            esc(f, bars[i].label + len - 33);
        } else {
            esc(f, bars[i].label);
        }
        fprintf(f, "</text><rect x=\"%.0f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" fill=\"%s\"><title>", L, y + 3,
                w > 0 ? w : 0, row - 6, palette[bars[i].color % PALETTE_N]);
        esc(f, bars[i].label);
        fprintf(f, ": %.4g %s</title></rect>", bars[i].value, unit);
        if (!isnan(bars[i].lo) && !isnan(bars[i].hi)) {
            double x0 = L + bars[i].lo / vmax * (W - L - R), x1 = L + bars[i].hi / vmax * (W - L - R);
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#000\"/>", x0, x1,
                    y + row / 2, y + row / 2);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\">%.4g</text>\n",
                L + fmax(w, isnan(bars[i].hi) ? 0 : bars[i].hi / vmax * (W - L - R)) + 4, y + 14, bars[i].value);
    }
    fprintf(f, "</svg>\n");
}

#define MAX_BARS 256

/* One chart per batch size: batch-1 latencies and large-batch times differ by the batch factor
 * and would flatten each other on a shared axis. */
static void chart_latency(const cJSON *doc, FILE *f)
{
    static bar bars[MAX_BARS];
    int batches[16], n_batches = 0;
    const cJSON *v, *c;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "speed")) {
            int b = (int)bench_jnum(c, "batch", 1), seen = 0;
            for (int i = 0; i < n_batches; i++) seen |= batches[i] == b;
            if (!seen && n_batches < 16) batches[n_batches++] = b;
        }
    }
    fprintf(f, "<h2>Latency per variant</h2>\n<p>Bar: median; whisker: min to p90 over the repetitions "
               "(Google Benchmark, real time).</p>\n");
    if (n_batches == 0) fprintf(f, "<p>No speed measured.</p>\n");
    for (int bi = 0; bi < n_batches; bi++) {
        int n = 0, vi = 0;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
            if (!applicable(v)) continue;
            cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "speed")) {
                if ((int)bench_jnum(c, "batch", 1) != batches[bi] || n >= MAX_BARS) continue;
                bar *b = &bars[n++];
                snprintf(b->label, sizeof b->label, "%s %s", bench_jstr(v, "name", "?"), bench_jstr(c, "case", "?"));
                b->value = bench_jnum(c, "median_ms", 0);
                b->lo = bench_jnum(c, "min_ms", NAN);
                b->hi = bench_jnum(c, "p90_ms", NAN);
                b->color = vi;
            }
            vi++;
        }
        char title[64];
        snprintf(title, sizeof title, "ms per batch of %d", batches[bi]);
        fprintf(f, "<h3>Batch %d</h3>\n", batches[bi]);
        chart_bars(f, "latency per variant", title, bars, n);
    }
}

/* The slowest variant is the one with the largest median at its first (batch 1) case. */
static void chart_profile(const cJSON *doc, FILE *f)
{
    const cJSON *v, *slowest = NULL;
    double worst = -1;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        const cJSON *prof = cJSON_GetObjectItemCaseSensitive(v, "profile");
        if (!applicable(v) || !cJSON_IsArray(prof) || cJSON_GetArraySize(prof) == 0) continue;
        double t = bench_jnum(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "speed"), 0), "median_ms", 0);
        if (t > worst) { worst = t; slowest = v; }
    }
    fprintf(f, "<h2>Per-layer time of the slowest variant</h2>\n");
    if (!slowest) {
        fprintf(f, "<p>No profile in this report (run <code>fullconv bench --profile</code>).</p>\n");
        return;
    }
    static bar bars[MAX_BARS];
    int n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(slowest, "profile")) {
        if (n >= 30) break;   /* sorted by time: the top 30 nodes tell the story */
        bar *b = &bars[n++];
        snprintf(b->label, sizeof b->label, "%s (%s)", bench_jstr(p, "name", "?"), bench_jstr(p, "op", "?"));
        b->value = bench_jnum(p, "ms", 0);
        b->lo = b->hi = NAN;
        b->color = 3;
    }
    fprintf(f, "<p>Variant <b>");
    esc(f, bench_jstr(slowest, "name", "?"));
    fprintf(f, "</b>, %s, nodes sorted by time.</p>\n", bench_jstr(slowest, "profile_case", "b1/t1"));
    chart_bars(f, "per-layer time", "ms per run", bars, n);
}

static void chart_peers(const cJSON *doc, FILE *f)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "peers"), "rows");
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) == 0) return;
    static bar bars[MAX_BARS];
    int n = 0;
    const cJSON *r;
    static const char *const keys[] = {"fullconv_median_ms", "ort_median_ms", "torch_median_ms"};
    static const char *const names[] = {"fullconv", "ORT", "PyTorch"};
    cJSON_ArrayForEach(r, rows) {
        for (int k = 0; k < 3 && n < MAX_BARS; k++) {
            double val = bench_jnum(r, keys[k], NAN);
            if (isnan(val)) continue;
            bar *b = &bars[n++];
            snprintf(b->label, sizeof b->label, "%s t%.0f %s", bench_jstr(r, "model", "?"), bench_jnum(r, "threads", 0),
                     names[k]);
            b->value = val;
            b->lo = b->hi = NAN;
            b->color = k;
        }
    }
    fprintf(f, "<h2>Peers (median latency, batch 1)</h2>\n");
    chart_bars(f, "peers", "ms", bars, n);
}

static void html_table_row(FILE *f, const char *tag, const char *const *cells, int n)
{
    fprintf(f, "<tr>");
    for (int i = 0; i < n; i++) {
        fprintf(f, "<%s>", tag);
        esc(f, cells[i]);
        fprintf(f, "</%s>", tag);
    }
    fprintf(f, "</tr>\n");
}

static void tables(const cJSON *doc, FILE *f)
{
    static const char *const h1[] = {"variant", "top-1", "top-5", "agreement", "max abs err", "max rel err",
                                     ".fcn bytes", "params", "head bytes", "arena bytes", "packed bytes"};
    char rss[32];
    fprintf(f, "<h2>Accuracy, size, memory</h2>\n<p>Arena and packed-weight bytes of a batch-1 session; "
               "peak RSS of the whole bench process: %s.</p>\n<table>\n",
            bench_fmt_bytes(bench_jnum(doc, "peak_rss_bytes", 0), rss, sizeof rss));
    html_table_row(f, "th", h1, 11);
    const cJSON *v, *c;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        if (!applicable(v)) continue;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "accuracy");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, "size");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "memory");
        char b[11][48];
        const char *cells[11];
        snprintf(b[0], 48, "%s", bench_jstr(v, "name", "?"));
        static const char *const akeys[] = {"top1", "top5", "agreement"};
        for (int k = 0; k < 3; k++) {
            double x = bench_jnum(a, akeys[k], NAN);
            if (isnan(x)) snprintf(b[1 + k], 48, "-");
            else snprintf(b[1 + k], 48, "%.2f%%", x * 100);
        }
        snprintf(b[4], 48, "%.3g", bench_jnum(a, "max_abs_err", NAN));
        snprintf(b[5], 48, "%.3g", bench_jnum(a, "max_rel_err", NAN));
        snprintf(b[6], 48, "%.0f", bench_jnum(s, "fcn_bytes", 0));
        snprintf(b[7], 48, "%.0f", bench_jnum(s, "params", 0));
        snprintf(b[8], 48, "%.0f", bench_jnum(s, "head_bytes", 0));
        snprintf(b[9], 48, "%.0f", bench_jnum(m, "arena_bytes", 0));
        snprintf(b[10], 48, "%.0f", bench_jnum(m, "packed_bytes", 0));
        for (int k = 0; k < 11; k++) cells[k] = b[k];
        html_table_row(f, "td", cells, 11);
    }
    fprintf(f, "</table>\n");
    int na = 0;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        if (applicable(v)) continue;
        if (na++ == 0) fprintf(f, "<p>Not applicable:</p>\n<ul>\n");
        fprintf(f, "<li><b>");
        esc(f, bench_jstr(v, "name", "?"));
        fprintf(f, "</b>: ");
        esc(f, bench_jstr(v, "reason", "?"));
        fprintf(f, "</li>\n");
    }
    if (na) fprintf(f, "</ul>\n");
    static const char *const h2[] = {"variant", "case", "min ms", "median ms", "p90 ms", "images/s", "GFLOP/s", "% peak"};
    fprintf(f, "<h2>Speed</h2>\n<table>\n");
    html_table_row(f, "th", h2, 8);
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "speed")) {
            char b[8][48];
            const char *cells[8];
            snprintf(b[0], 48, "%s", bench_jstr(v, "name", "?"));
            snprintf(b[1], 48, "%s", bench_jstr(c, "case", "?"));
            snprintf(b[2], 48, "%.4g", bench_jnum(c, "min_ms", NAN));
            snprintf(b[3], 48, "%.4g", bench_jnum(c, "median_ms", NAN));
            snprintf(b[4], 48, "%.4g", bench_jnum(c, "p90_ms", NAN));
            snprintf(b[5], 48, "%.0f", bench_jnum(c, "images_per_s", NAN));
            snprintf(b[6], 48, "%.2f", bench_jnum(c, "gflops", NAN));
            snprintf(b[7], 48, "%.1f", bench_jnum(c, "peak_pct", NAN));
            for (int k = 0; k < 8; k++) cells[k] = b[k];
            html_table_row(f, "td", cells, 8);
        }
    }
    fprintf(f, "</table>\n");
}

int bench_report_html(const cJSON *doc, FILE *f, fc_error *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "machine");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(doc, "model");
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>fullconv bench: ");
    esc(f, bench_jstr(model, "path", "?"));
    fprintf(f, "</title>\n<style>\nbody{font-family:sans-serif;margin:2em;max-width:1100px}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
               "text-align:right}th{background:#eee}td:first-child{text-align:left}code{background:#f4f4f4}\n"
               "</style>\n</head>\n<body>\n<h1>fullconv bench: ");
    esc(f, bench_jstr(model, "path", "?"));
    fprintf(f, "</h1>\n<p><code>");
    esc(f, bench_jstr(doc, "command", "?"));
    fprintf(f, "</code></p>\n<p>");
    esc(f, bench_jstr(m, "cpu", "?"));
    fprintf(f, ", %.0f cores, kernels ", bench_jnum(m, "cores", 0));
    esc(f, bench_jstr(m, "isa", "?"));
    fprintf(f, ", FMA peak %.1f GFLOP/s per core; ", bench_jnum(m, "peak_gflops", 0));
    esc(f, bench_jstr(m, "compiler", "?"));
    fprintf(f, "; git ");
    esc(f, bench_jstr(m, "git", "?"));
    fprintf(f, "; ");
    esc(f, bench_jstr(m, "date", "?"));
    fprintf(f, "</p>\n");
    tables(doc, f);
    chart_accuracy_vs_size(doc, f);
    chart_latency(doc, f);
    chart_profile(doc, f);
    chart_peers(doc, f);
    fprintf(f, "</body>\n</html>\n");
    return ferror(f) ? fc_fail(err, FC_EIO, "writing the HTML report failed") : 0;
}
