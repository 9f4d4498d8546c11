/* test_report.c — the report writers on a small hand-built bench document: the Markdown and
 * console tables carry the numbers, the HTML page is self-contained (no script, no external
 * reference), escapes names, and draws its three SVG charts with the right number of marks;
 * JSON documents round-trip through save/load and foreign JSON is refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"

static cJSON *make_doc(int with_profile)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "schema", BENCH_SCHEMA);
    cJSON_AddStringToObject(doc, "command", "fullconv bench m.onnx --data fashion-mnist:test");
    cJSON *model = cJSON_AddObjectToObject(doc, "model");
    cJSON_AddStringToObject(model, "path", "m<1>.onnx");
    cJSON_AddNumberToObject(model, "source_bytes", 123456);
    cJSON_AddItemToObject(doc, "machine", bench_machine_json(100.5, "avx2+fma"));
    cJSON *vars = cJSON_AddArrayToObject(doc, "variants");
    static const char *const names[] = {"original", "gap-fit", "a<b>&c"};
    static const double top1[] = {0.9012, 0.8850, 0.5};
    static const double bytes[] = {100000, 20000, 5000};
    for (int i = 0; i < 3; i++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "name", names[i]);
        cJSON_AddBoolToObject(v, "applicable", 1);
        cJSON *a = cJSON_AddObjectToObject(v, "accuracy");
        cJSON_AddNumberToObject(a, "top1", top1[i]);
        cJSON_AddNumberToObject(a, "top5", 0.99);
        cJSON_AddNumberToObject(a, "agreement", i == 0 ? 1 : 0.95);
        cJSON_AddNumberToObject(a, "max_abs_err", i * 0.25);
        cJSON_AddNumberToObject(a, "max_rel_err", i * 0.05);
        cJSON *s = cJSON_AddObjectToObject(v, "size");
        cJSON_AddNumberToObject(s, "fcn_bytes", bytes[i]);
        cJSON_AddNumberToObject(s, "params", bytes[i] / 4);
        cJSON_AddNumberToObject(s, "head_bytes", 1000);
        cJSON *speed = cJSON_AddArrayToObject(v, "speed");
        for (int k = 0; k < 2; k++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "case", k == 0 ? "b1/t1" : "b32/t1");
            cJSON_AddNumberToObject(c, "batch", k == 0 ? 1 : 32);
            cJSON_AddNumberToObject(c, "min_ms", 0.4 + i);
            cJSON_AddNumberToObject(c, "median_ms", 0.5 + i);
            cJSON_AddNumberToObject(c, "p90_ms", 0.6 + i);
            cJSON_AddNumberToObject(c, "gflops", 12.345);
            cJSON_AddNumberToObject(c, "peak_pct", 12.3);
            cJSON_AddNumberToObject(c, "images_per_s", 2000);
            cJSON_AddItemToArray(speed, c);
        }
        if (with_profile) {
            cJSON *prof = cJSON_AddArrayToObject(v, "profile");
            for (int k = 0; k < 4; k++) {
                cJSON *p = cJSON_CreateObject();
                char nm[16];
                snprintf(nm, sizeof nm, "conv%d", k);
                cJSON_AddStringToObject(p, "name", nm);
                cJSON_AddStringToObject(p, "op", "Conv");
                cJSON_AddStringToObject(p, "kernel", "gemm");
                cJSON_AddNumberToObject(p, "ms", 0.1 * (4 - k));
                cJSON_AddNumberToObject(p, "macs", 1000);
                cJSON_AddItemToArray(prof, p);
            }
        }
        cJSON_AddItemToArray(vars, v);
    }
    cJSON *na = cJSON_CreateObject();
    cJSON_AddStringToObject(na, "name", "gap-exact");
    cJSON_AddBoolToObject(na, "applicable", 0);
    cJSON_AddStringToObject(na, "reason", "no GlobalAveragePool head");
    cJSON_AddItemToArray(vars, na);
    return doc;
}

static char *render(int (*writer)(const cJSON *, FILE *, fc_error *), const cJSON *doc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fc_error err = {0};
    assert_int_equal(writer(doc, f, &err), 0);
    fclose(f);
    return text;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void markdown_tables(void **state)
{
    (void)state;
    cJSON *doc = make_doc(1);
    char *md = render(bench_report_md, doc);
    assert_non_null(strstr(md, "| original | 90.12% | 99.00% | 100.00% |"));
    assert_non_null(strstr(md, "| gap-fit | 88.50% |"));
    assert_non_null(strstr(md, "- not applicable: gap-exact: no GlobalAveragePool head"));
    assert_non_null(strstr(md, "| original | b32/t1 | 0.4 | 0.5 | 0.6 | 2000 | 12.35 | 12.3 |"));
    assert_non_null(strstr(md, "### profile of gap-fit"));
    assert_non_null(strstr(md, "FMA peak 100.5 GFLOP/s"));
    free(md);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bench_report_console(doc, f);
    fclose(f);
    assert_non_null(strstr(text, "original"));
    assert_non_null(strstr(text, "90.12%"));
    assert_null(strstr(text, "| original"));
    free(text);
    cJSON_Delete(doc);
}

static void html_self_contained(void **state)
{
    (void)state;
    cJSON *doc = make_doc(1);
    char *html = render(bench_report_html, doc);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(html, "</html>"));
    /* Nothing to fetch, nothing to execute. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, " href="));
    assert_null(strstr(html, "<link"));
    /* Names are escaped, never raw markup. */
    assert_null(strstr(html, "a<b>&c"));
    assert_non_null(strstr(html, "a&lt;b&gt;&amp;c"));
    assert_non_null(strstr(html, "m&lt;1&gt;.onnx"));
    /* Charts: accuracy vs size (one circle per variant), latency at batch 1 and at batch 32
     * (3 variants each) and the profile of the slowest variant (4 nodes); every <svg> closed. */
    assert_int_equal(count(html, "<svg"), 4);
    assert_int_equal(count(html, "</svg>"), 4);
    assert_non_null(strstr(html, "<h3>Batch 1</h3>"));
    assert_non_null(strstr(html, "<h3>Batch 32</h3>"));
    assert_non_null(strstr(html, "ms per batch of 32"));
    assert_int_equal(count(html, "<circle"), 3);
    assert_non_null(strstr(html, "Variant <b>a&lt;b&gt;&amp;c</b>"));   /* slowest: median 2.5 ms */
    assert_int_equal(count(html, "<rect x=\"230\""), 6 + 4);
    free(html);
    cJSON_Delete(doc);
    doc = make_doc(0);
    html = render(bench_report_html, doc);
    assert_non_null(strstr(html, "No profile in this report"));
    assert_int_equal(count(html, "<svg"), 3);
    free(html);
    cJSON_Delete(doc);
}

static void json_round_trip(void **state)
{
    (void)state;
    char dir[] = "/tmp/fullconv-test-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], bad[256];
    snprintf(path, sizeof path, "%s/r.json", dir);
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    cJSON *doc = make_doc(0);
    fc_error err = {0};
    assert_int_equal(bench_json_save(path, doc, &err), 0);
    cJSON *back = NULL;
    assert_int_equal(bench_json_load(path, &back, &err), 0);
    assert_true(cJSON_Compare(doc, back, 1));
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(back, "machine");
    assert_true(bench_jnum(m, "peak_gflops", 0) == 100.5);
    assert_true(bench_jnum(m, "cores", 0) >= 1);
    assert_non_null(bench_jstr(m, "git", NULL));
    assert_int_equal(strlen(bench_jstr(m, "date", "")), 20);   /* 2026-01-01T00:00:00Z */
    cJSON_Delete(back);
    assert_int_equal(fc_write_file_atomic(bad, "{\"benchmarks\": []}", 18, 1, &err), 0);
    assert_int_equal(bench_json_load(bad, &back, &err), -1);
    assert_non_null(strstr(err.msg, "not a fullconv bench document"));
    assert_int_equal(fc_write_file_atomic(bad, "{\"schema\": ", 11, 1, &err), 0);
    assert_int_equal(bench_json_load(bad, &back, &err), -1);
    assert_non_null(strstr(err.msg, "not valid JSON"));
    unlink(path);
    unlink(bad);
    rmdir(dir);
    cJSON_Delete(doc);
}

static void bytes_format(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(bench_fmt_bytes(999, b, sizeof b), "999 B");
    assert_string_equal(bench_fmt_bytes(123500, b, sizeof b), "123.5 kB");
    assert_string_equal(bench_fmt_bytes(2.5e6, b, sizeof b), "2.50 MB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(markdown_tables),
        cmocka_unit_test(html_self_contained),
        cmocka_unit_test(json_round_trip),
        cmocka_unit_test(bytes_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
