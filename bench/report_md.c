/* report_md.c — the console table and the Markdown report. Both print the same three tables
 * (accuracy and size, speed, per-layer profile) from the bench document; Markdown adds pipes. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"

typedef struct table_style { int md; } table_style;

static void cell(FILE *f, const table_style *ts, int width, const char *text, int last)
{
    if (ts->md) fprintf(f, "| %s %s", text, last ? "|\n" : "");
    else fprintf(f, "%-*s%s", width, text, last ? "\n" : " ");
}

static void rule(FILE *f, const table_style *ts, int n_cols, const int *widths)
{
    if (ts->md) {
        for (int i = 0; i < n_cols; i++) fprintf(f, "|---");
        fprintf(f, "|\n");
    } else {
        int total = 0;
        for (int i = 0; i < n_cols; i++) total += widths[i] + 1;
        for (int i = 0; i < total - 1; i++) fputc('-', f);
        fputc('\n', f);
    }
}

static const char *fmt_pct(double v, char *buf, size_t cap)
{
    if (isnan(v)) snprintf(buf, cap, "-");
    else snprintf(buf, cap, "%.2f%%", v * 100);
    return buf;
}

static const char *fmt_g(double v, const char *fmt, char *buf, size_t cap)
{
    if (isnan(v)) snprintf(buf, cap, "-");
    else snprintf(buf, cap, fmt, v);
    return buf;
}

static void accuracy_table(const cJSON *doc, FILE *f, const table_style *ts)
{
    static const char *const head[] = {"variant", "top-1", "top-5", "agree", "max abs err", "max rel err",
                                       ".fcn size", "params", "head", "arena", "session ms"};
    static const int w[] = {12, 8, 8, 8, 11, 11, 10, 10, 10, 10, 10};
    enum { NC = 11 };
    for (int i = 0; i < NC; i++) cell(f, ts, w[i], head[i], i == NC - 1);
    rule(f, ts, NC, w);
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        const char *name = bench_jstr(v, "name", "?");
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "applicable"))) continue;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "accuracy");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, "size");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "memory");
        char b[NC][48];
        snprintf(b[0], sizeof b[0], "%s", name);
        fmt_pct(bench_jnum(a, "top1", NAN), b[1], sizeof b[1]);
        fmt_pct(bench_jnum(a, "top5", NAN), b[2], sizeof b[2]);
        fmt_pct(bench_jnum(a, "agreement", NAN), b[3], sizeof b[3]);
        fmt_g(bench_jnum(a, "max_abs_err", NAN), "%.3g", b[4], sizeof b[4]);
        fmt_g(bench_jnum(a, "max_rel_err", NAN), "%.3g", b[5], sizeof b[5]);
        bench_fmt_bytes(bench_jnum(s, "fcn_bytes", 0), b[6], sizeof b[6]);
        fmt_g(bench_jnum(s, "params", NAN), "%.0f", b[7], sizeof b[7]);
        if (isnan(bench_jnum(s, "head_bytes", NAN))) snprintf(b[8], sizeof b[8], "-");
        else bench_fmt_bytes(bench_jnum(s, "head_bytes", 0), b[8], sizeof b[8]);
        bench_fmt_bytes(bench_jnum(m, "arena_bytes", 0), b[9], sizeof b[9]);
        fmt_g(bench_jnum(m, "session_ms", NAN), "%.1f", b[10], sizeof b[10]);
        for (int i = 0; i < NC; i++) cell(f, ts, w[i], b[i], i == NC - 1);
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(doc, "model");
    char sb[32];
    fprintf(f, "%ssource file: %s (%s)\n", ts->md ? "\n" : "", bench_jstr(model, "path", "?"),
            bench_fmt_bytes(bench_jnum(model, "source_bytes", 0), sb, sizeof sb));
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "applicable"))) continue;
        fprintf(f, "%snot applicable: %s: %s\n", ts->md ? "- " : "", bench_jstr(v, "name", "?"),
                bench_jstr(v, "reason", "?"));
    }
}

static int has_speed(const cJSON *doc)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "speed")) > 0) return 1;
    }
    return 0;
}

static void speed_table(const cJSON *doc, FILE *f, const table_style *ts)
{
    if (!has_speed(doc)) {
        fprintf(f, "(speed not measured)\n");
        return;
    }
    static const char *const head[] = {"variant", "case", "min ms", "median ms", "p90 ms", "img/s",
                                       "GFLOP/s", "% peak"};
    static const int w[] = {12, 8, 10, 10, 10, 10, 9, 7};
    enum { NC = 8 };
    for (int i = 0; i < NC; i++) cell(f, ts, w[i], head[i], i == NC - 1);
    rule(f, ts, NC, w);
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(v, "speed")) {
            char b[NC][48];
            snprintf(b[0], sizeof b[0], "%s", bench_jstr(v, "name", "?"));
            snprintf(b[1], sizeof b[1], "%s", bench_jstr(c, "case", "?"));
            fmt_g(bench_jnum(c, "min_ms", NAN), "%.4g", b[2], sizeof b[2]);
            fmt_g(bench_jnum(c, "median_ms", NAN), "%.4g", b[3], sizeof b[3]);
            fmt_g(bench_jnum(c, "p90_ms", NAN), "%.4g", b[4], sizeof b[4]);
            fmt_g(bench_jnum(c, "images_per_s", NAN), "%.0f", b[5], sizeof b[5]);
            fmt_g(bench_jnum(c, "gflops", NAN), "%.2f", b[6], sizeof b[6]);
            fmt_g(bench_jnum(c, "peak_pct", NAN), "%.1f", b[7], sizeof b[7]);
            for (int i = 0; i < NC; i++) cell(f, ts, w[i], b[i], i == NC - 1);
        }
    }
}

static void profile_tables(const cJSON *doc, FILE *f, const table_style *ts)
{
    static const char *const head[] = {"node", "op", "kernel", "ms", "MACs", "GFLOP/s", "weights"};
    enum { NC = 7 };
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "variants")) {
        const cJSON *prof = cJSON_GetObjectItemCaseSensitive(v, "profile");
        if (!cJSON_IsArray(prof) || cJSON_GetArraySize(prof) == 0) continue;
        /* the text columns as wide as their longest entry (names like
         * /classifier/classifier.0/GlobalAveragePool pushed the rest of their row out of line) */
        int w[NC] = {28, 12, 20, 9, 12, 8, 10};
        const cJSON *p;
        static const char *const keys[] = {"name", "op", "kernel"};
        cJSON_ArrayForEach(p, prof)
            for (int i = 0; i < 3; i++) {
                size_t len = strlen(bench_jstr(p, keys[i], "?"));
                if (len > (size_t)w[i]) w[i] = len < 200 ? (int)len : 200;
            }
        fprintf(f, "%sprofile of %s (%s, sorted by time)%s\n", ts->md ? "\n### " : "\n",
                bench_jstr(v, "name", "?"), bench_jstr(v, "profile_case", "b1/t1"), ts->md ? "\n" : ":");
        for (int i = 0; i < NC; i++) cell(f, ts, w[i], head[i], i == NC - 1);
        rule(f, ts, NC, w);
        cJSON_ArrayForEach(p, prof) {
            char b[NC][208];
            snprintf(b[0], sizeof b[0], "%s", bench_jstr(p, "name", "?"));
            snprintf(b[1], sizeof b[1], "%s", bench_jstr(p, "op", "?"));
            snprintf(b[2], sizeof b[2], "%s", bench_jstr(p, "kernel", "?"));
            fmt_g(bench_jnum(p, "ms", NAN), "%.4f", b[3], sizeof b[3]);
            fmt_g(bench_jnum(p, "macs", NAN), "%.0f", b[4], sizeof b[4]);
            fmt_g(bench_jnum(p, "gflops", NAN), "%.2f", b[5], sizeof b[5]);
            bench_fmt_bytes(bench_jnum(p, "weight_bytes", 0), b[6], sizeof b[6]);
            for (int i = 0; i < NC; i++) cell(f, ts, w[i], b[i], i == NC - 1);
        }
    }
}

static void peers_table(const cJSON *doc, FILE *f, const table_style *ts)
{
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "peers"), "rows");
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) == 0) return;
    static const char *const head[] = {"model", "threads", "fullconv ms", "ORT ms", "PyTorch ms",
                                       "fc/ORT", "fc/PyTorch"};
    static const int w[] = {16, 7, 11, 10, 10, 8, 10};
    enum { NC = 7 };
    fprintf(f, "%speers (median latency, batch 1)%s\n", ts->md ? "\n### " : "\n", ts->md ? "\n" : ":");
    for (int i = 0; i < NC; i++) cell(f, ts, w[i], head[i], i == NC - 1);
    rule(f, ts, NC, w);
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        char b[NC][48];
        snprintf(b[0], sizeof b[0], "%s", bench_jstr(r, "model", "?"));
        fmt_g(bench_jnum(r, "threads", NAN), "%.0f", b[1], sizeof b[1]);
        fmt_g(bench_jnum(r, "fullconv_median_ms", NAN), "%.3f", b[2], sizeof b[2]);
        fmt_g(bench_jnum(r, "ort_median_ms", NAN), "%.3f", b[3], sizeof b[3]);
        fmt_g(bench_jnum(r, "torch_median_ms", NAN), "%.3f", b[4], sizeof b[4]);
        fmt_g(bench_jnum(r, "ratio_ort", NAN), "%.2f", b[5], sizeof b[5]);
        fmt_g(bench_jnum(r, "ratio_torch", NAN), "%.2f", b[6], sizeof b[6]);
        for (int i = 0; i < NC; i++) cell(f, ts, w[i], b[i], i == NC - 1);
    }
}

void bench_report_console(const cJSON *doc, FILE *f)
{
    table_style ts = {0};
    fputc('\n', f);
    accuracy_table(doc, f, &ts);
    fputc('\n', f);
    speed_table(doc, f, &ts);
    profile_tables(doc, f, &ts);
    peers_table(doc, f, &ts);
    fflush(f);
}

int bench_report_md(const cJSON *doc, FILE *f, fc_error *err)
{
    (void)err;
    table_style ts = {1};
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "machine");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "dataset");
    fprintf(f, "# fullconv bench: %s\n\n", bench_jstr(cJSON_GetObjectItemCaseSensitive(doc, "model"), "path", "?"));
    fprintf(f, "- command: `%s`\n", bench_jstr(doc, "command", "?"));
    fprintf(f, "- machine: %s, %.0f cores, kernels %s, FMA peak %.1f GFLOP/s per core (%s)\n",
            bench_jstr(m, "cpu", "?"), bench_jnum(m, "cores", 0), bench_jstr(m, "isa", "?"),
            bench_jnum(m, "peak_gflops", 0), bench_jstr(m, "peak_isa", "?"));
    fprintf(f, "- compiler: %s; git %s; date %s\n", bench_jstr(m, "compiler", "?"), bench_jstr(m, "git", "?"),
            bench_jstr(m, "date", "?"));
    if (d)
        fprintf(f, "- data: %s (%.0f samples%s)\n", bench_jstr(d, "spec", "?"), bench_jnum(d, "count", 0),
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "labels")) ? ", labelled" : ", no labels");
    fprintf(f, "\n## Accuracy and size\n\n");
    accuracy_table(doc, f, &ts);
    fprintf(f, "\n## Speed (Google Benchmark, real time)\n\n");
    speed_table(doc, f, &ts);
    profile_tables(doc, f, &ts);
    peers_table(doc, f, &ts);
    return ferror(f) ? fc_fail(err, FC_EIO, "writing the Markdown report failed") : 0;
}
