/* cmd_util.c — option parsing and model loading shared by the converter's subcommands. */
#include "converter/cmd_util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int fcv_cli_opt(int argc, char **argv, int *i, const char *name, const char **value, const char *cmd)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "fullconv %s: option %s needs a value\n", cmd, name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

int fcv_cli_shape_opt(int argc, char **argv, int *i, const char *cmd, int *ndim, int64_t *dims)
{
    const char *v;
    int r = fcv_cli_opt(argc, argv, i, "--input-shape", &v, cmd);
    if (r <= 0) return r;
    if (fc_parse_dims(v, ndim, dims) || *ndim < 1) {
        fcv_cli_usage_error(cmd, "--input-shape '%s' is not like 1x3x224x224", v);
        return -1;
    }
    return 1;
}

int fcv_cli_import_opt(int argc, char **argv, int *i, const char *cmd, fcv_import_options *iopt)
{
    const char *v;
    int r = fcv_cli_opt(argc, argv, i, "--arch", &v, cmd);
    if (r > 0) iopt->arch = v;
    if (r != 0) return r;
    return fcv_cli_shape_opt(argc, argv, i, cmd, &iopt->n_input_dims, iopt->input_dims);
}

int fcv_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[FC_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "fullconv %s: %s\n", cmd, msg);
    return 2;
}

int fcv_cli_fail(const fc_error *err)
{
    /* one line, whatever the message holds */
    char line[FC_ERR_MAX];
    snprintf(line, sizeof line, "%s", err->msg[0] ? err->msg : "unknown error");
    for (char *p = line; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
    fprintf(stderr, "%s\n", line);
    int st = fc_exit_status(err);
    return st == 0 ? 2 : st;
}

int fcv_cli_parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int fcv_cli_parse_float(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int fcv_is_fcn_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char magic[8];
    size_t n = fread(magic, 1, 8, f);
    fclose(f);
    return n == 8 && memcmp(magic, FCN_MAGIC, 8) == 0;
}

int fcv_load_model(const char *path, const fcv_import_options *iopt, int convert, fcv_loaded *out, fc_error *err)
{
    memset(out, 0, sizeof *out);
    if (fcv_is_fcn_file(path)) return fcn_model_open(path, &out->model, err);
    if (fcv_import(path, iopt, &out->graph, err)) return -1;
    if (convert) {
        fcv_options opt;
        fcv_options_default(&opt);
        opt.no_verify = 1;
        opt.quiet = 1;
        opt.report = NULL;
        if (fcv_run_passes(out->graph, &opt, err)) {
            fcv_loaded_free(out);
            return fc_wrap(err, "%s", path);
        }
    }
    size_t size;
    if (fcv_write_fcn(out->graph, &out->buf, &size, err) ||
        fcn_model_open_memory(out->buf, size, path, 0, &out->model, err)) {
        fcv_loaded_free(out);
        return -1;
    }
    return 0;
}

void fcv_loaded_free(fcv_loaded *l)
{
    fcn_model_close(l->model);
    free(l->buf);
    ir_graph_free(l->graph);
    memset(l, 0, sizeof *l);
}
