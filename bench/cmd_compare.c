/* cmd_compare.c — `fullconv compare BASE.json NEW.json [--threshold PCT] [--alpha A] [--normalize]`:
 * exit 0 when nothing regressed, 1 when a case is significantly slower beyond the threshold or
 * accuracy/agreement dropped or a .fcn grew, 2 on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"
#include "cli/commands.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fullconv compare BASE.json NEW.json [--threshold PCT] [--alpha A] [--normalize]\n"
               "                        [--acc-tolerance FRACTION]\n"
               "  --threshold PCT   smallest slowdown of a median that counts (default 5)\n"
               "  --alpha A         significance level of the Mann-Whitney U test (default 0.05)\n"
               "  --normalize       compare times multiplied by each file's in-binary FMA peak\n"
               "                    (machine.peak_gflops): ratios that survive a noisy machine\n"
               "  --acc-tolerance F allowed drop of top-1/top-5/agreement (default 0)\n"
               "exit status: 0 no regression, 1 regression, 2 bad input\n");
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

int bench_cmd_compare(int argc, char **argv)
{
    bench_compare_options opt;
    bench_compare_options_default(&opt);
    const char *paths[2] = {NULL, NULL};
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--threshold") && i + 1 < argc) {
            if (parse_double(argv[++i], 0, 1e6, &opt.threshold_pct)) goto bad_value;
        } else if (!strcmp(a, "--alpha") && i + 1 < argc) {
            if (parse_double(argv[++i], 0, 1, &opt.alpha)) goto bad_value;
        } else if (!strcmp(a, "--acc-tolerance") && i + 1 < argc) {
            if (parse_double(argv[++i], 0, 1, &opt.acc_tolerance)) goto bad_value;
        } else if (!strcmp(a, "--normalize")) {
            opt.normalize = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "fullconv compare: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (n_paths < 2) {
            paths[n_paths++] = a;
        } else {
            fprintf(stderr, "fullconv compare: too many files ('%s')\n", a);
            return 2;
        }
        continue;
    bad_value:
        fprintf(stderr, "fullconv compare: bad value '%s' for %s\n", argv[i], a);
        return 2;
    }
    if (n_paths != 2) {
        usage(stderr);
        return 2;
    }
    fc_error err = {0};
    cJSON *base = NULL, *next = NULL;
    if (bench_json_load(paths[0], &base, &err) || bench_json_load(paths[1], &next, &err)) {
        fprintf(stderr, "fullconv compare: %s\n", err.msg);
        cJSON_Delete(base);
        return 2;
    }
    int rc = bench_compare_docs(base, next, &opt, &err);
    cJSON_Delete(base);
    cJSON_Delete(next);
    if (rc < 0) {
        fprintf(stderr, "fullconv compare: %s\n", err.msg);
        return 2;
    }
    return rc;
}
