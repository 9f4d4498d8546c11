/* cmd_util.h — shared by the convert/run/inspect subcommands (cmd_*.c): option parsing and
 * "open any model": a .fcn is mmapped, anything importable is converted in memory. */
#ifndef FCV_CMD_UTIL_H
#define FCV_CMD_UTIL_H

#include "converter/ir.h"
#include "runtime/fcn.h"

/* "--name VALUE" or "--name=VALUE" at argv[*i]. 1 matched (value set, *i advanced), 0 not this
 * option, -1 missing value (message printed). */
int fcv_cli_opt(int argc, char **argv, int *i, const char *name, const char **value, const char *cmd);
/* Prints "fullconv CMD: message" on stderr, returns 2. */
/* --input-shape NxCxHxW: 0 not this option, 1 parsed into ndim/dims, -1 usage error (printed). */
int fcv_cli_shape_opt(int argc, char **argv, int *i, const char *cmd, int *ndim, int64_t *dims);
/* The import options convert and inspect share: --arch NAME and --input-shape (same returns). */
int fcv_cli_import_opt(int argc, char **argv, int *i, const char *cmd, fcv_import_options *iopt);
int fcv_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the error's one-line message on stderr and returns its exit status. */
int fcv_cli_fail(const fc_error *err);
int fcv_cli_parse_int(const char *s, long min, long max, long *out);
int fcv_cli_parse_float(const char *s, double *out);

/* 1 if the file starts with the .fcn magic. */
int fcv_is_fcn_file(const char *path);

typedef struct fcv_loaded {
    fcn_model *model;
    uint8_t *buf;                 /* in-memory .fcn of an imported model (owned), else NULL */
    ir_graph *graph;              /* the imported graph (only for importable files), else NULL */
} fcv_loaded;
/* Opens a .fcn, or imports and serializes anything else. convert: 1 runs the standard passes
 * (no verification, quiet) as `fullconv convert` would; 0 keeps the graph as imported. */
int fcv_load_model(const char *path, const fcv_import_options *iopt, int convert, fcv_loaded *out,
                   fc_error *err);
void fcv_loaded_free(fcv_loaded *l);

#endif
