/* cmd_convert.c — `fullconv convert IN -o OUT.fcn [options]`: import, run the pass pipeline
 * (converter/pipeline.c), verify, save atomically. Nothing is written when anything fails. */
#include "cli/commands.h"
#include "converter/cmd_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char convert_usage[] =
    "usage: fullconv convert IN -o OUT.fcn [options]\n"
    "\n"
    "Converts a trained classifier (ONNX, PyTorch .pt/.pth, TF.js model.json, safetensors or .npz\n"
    "weights with --arch) into a .fcn model, verifying every rewrite against the original.\n"
    "\n"
    "  -o, --output OUT.fcn     output file (required; never the input)\n"
    "  --fc-to-conv             rewrite Flatten+FC heads as convolutions (fully convolutional model)\n"
    "  --gap-head exact|fold|fit  replace the dense head by global average pooling + FC\n"
    "  --calib DATA             calibration data (.npy/.npz/IDX) for --gap-head fit and verification\n"
    "  --calib-labels           fit the GAP head to one-hot labels instead of the original logits\n"
    "  --weights fp32|fp16|int8 weight storage (default fp32)\n"
    "  --keep-fp32 NAMES        comma-separated node names kept in fp32 when quantizing\n"
    "  --quant-max-err E        keep in fp32 every layer whose output relative error exceeds E\n"
    "                           when quantizing (E >= 0; default 0 = off)\n"
    "  --arch NAME              architecture of a weights-only file (state_dict, safetensors, npz)\n"
    "  --input-shape NxCxHxW    input shape when the file does not fix it\n"
    "  --mean M --std S         preprocessing of calibration data (x - M) / S (default 0, 1)\n"
    "  --no-verify              skip verification (the model is written even if a rewrite is off)\n"
    "  --no-fc-columns          keep FC weights output-major (by default an FC of 2^18 weights or more\n"
    "                           fed by a ReLU, or such an FC turned conv by --fc-to-conv, stores them\n"
    "                           input-major: the runtime skips the zero inputs' rows)\n"
    "  --prepack                also store the weights packed for this CPU's kernels (AVX-512 or\n"
    "                           AVX2): a larger file that loads without packing on the same kind\n"
    "                           of CPU; other CPUs ignore the extra section\n"
    "  --force                  overwrite OUT if it exists\n"
    "  -q, --quiet              no per-pass report\n"
    "  -h, --help               this help\n"
    "\n"
    "Exit status: 0 ok, 1 verification failed (nothing written), 2 bad input or usage.\n";

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int fcv_cmd_convert(int argc, char **argv)
{
    const char *cmd = "convert";
    fcv_options opt;
    fcv_options_default(&opt);
    fcv_import_options iopt;
    memset(&iopt, 0, sizeof iopt);
    const char *in = NULL, *out = NULL, *v;
    int force = 0, prepack = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(convert_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--fc-to-conv")) { opt.fc_to_conv = 1; continue; }
        if (!strcmp(a, "--calib-labels")) { opt.calib_labels = 1; continue; }
        if (!strcmp(a, "--no-verify")) { opt.no_verify = 1; continue; }
        if (!strcmp(a, "--no-fc-columns")) { opt.no_fc_columns = 1; continue; }
        if (!strcmp(a, "--force")) { force = 1; continue; }
        if (!strcmp(a, "--prepack")) { prepack = 1; continue; }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { opt.quiet = 1; continue; }
        if ((r = fcv_cli_opt(argc, argv, &i, "-o", &v, cmd)) || (r = fcv_cli_opt(argc, argv, &i, "--output", &v, cmd))) {
            if (r < 0) return 2;
            out = v;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--gap-head", &v, cmd))) {
            if (r < 0) return 2;
            if (strcmp(v, "exact") && strcmp(v, "fold") && strcmp(v, "fit"))
                return fcv_cli_usage_error(cmd, "--gap-head must be exact, fold or fit, not '%s'", v);
            opt.gap_head = v;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--calib", &v, cmd))) {
            if (r < 0) return 2;
            opt.calib = v;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--weights", &v, cmd))) {
            if (r < 0) return 2;
            if (strcmp(v, "fp32") && strcmp(v, "fp16") && strcmp(v, "int8"))
                return fcv_cli_usage_error(cmd, "--weights must be fp32, fp16 or int8, not '%s'", v);
            opt.weights = v;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--keep-fp32", &v, cmd))) {
            if (r < 0) return 2;
            opt.keep_fp32 = v;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--quant-max-err", &v, cmd))) {
            if (r < 0) return 2;
            if (fcv_cli_parse_float(v, &opt.quant_max_err) || opt.quant_max_err < 0)
                return fcv_cli_usage_error(cmd, "--quant-max-err must be a number >= 0, not '%s'", v);
            continue;
        }
        if ((r = fcv_cli_import_opt(argc, argv, &i, cmd, &iopt))) {
            if (r < 0) return 2;
            continue;
        }
        if ((r = fcv_cli_opt(argc, argv, &i, "--mean", &v, cmd)) || (r = fcv_cli_opt(argc, argv, &i, "--std", &v, cmd))) {
            if (r < 0) return 2;
            double x;
            if (fcv_cli_parse_float(v, &x)) return fcv_cli_usage_error(cmd, "%s: '%s' is not a number", a, v);
            if (!strncmp(a, "--mean", 6)) opt.mean = (float)x;
            else opt.std = (float)x;
            continue;
        }
        if (a[0] == '-' && a[1]) return fcv_cli_usage_error(cmd, "unknown option '%s' (see fullconv convert --help)", a);
        if (in) return fcv_cli_usage_error(cmd, "more than one input file ('%s' and '%s')", in, a);
        in = a;
    }
    if (!in) return fcv_cli_usage_error(cmd, "no input model (usage: fullconv convert IN -o OUT.fcn)");
    if (!out) return fcv_cli_usage_error(cmd, "no output file (-o OUT.fcn)");
    if (!(opt.std > 0)) return fcv_cli_usage_error(cmd, "--std must be > 0");
    if (opt.quant_max_err > 0 && !strcmp(opt.weights, "fp32"))
        return fcv_cli_usage_error(cmd, "--quant-max-err needs --weights fp16 or int8");
    if (!force) {
        struct stat st;
        if (stat(out, &st) == 0) return fcv_cli_usage_error(cmd, "%s exists (use --force to overwrite)", out);
    }
    if (opt.quiet) opt.report = NULL;

    fc_error err = {0};
    ir_graph *g = NULL;
    if (fcv_import(in, &iopt, &g, &err)) return fcv_cli_fail(&err);
    uint64_t params0, bytes0, params1, bytes1;
    ir_param_stats(g, &params0, &bytes0);
    int nodes0 = g->n_nodes;
    if (fcv_run_passes(g, &opt, &err)) {
        ir_graph_free(g);
        return fcv_cli_fail(&err);
    }
    fcv_prepack_stats ps;
    if (prepack ? fcv_save_fcn_prepacked(g, out, force, &ps, &err) : fcv_save_fcn(g, out, force, &err)) {
        ir_graph_free(g);
        return fcv_cli_fail(&err);
    }
    if (prepack && !opt.quiet)
        printf("  prepack: %u layers, %llu bytes of weights packed for %s (micro-kernel rows %u)\n", ps.blobs,
               (unsigned long long)ps.bytes, ps.isa == 2 ? "AVX-512" : "AVX2+FMA", ps.mr);
    ir_param_stats(g, &params1, &bytes1);
    if (!opt.quiet)
        printf("%s: %d nodes -> %d, %llu params -> %llu, weights %llu -> %llu bytes, file %lld bytes (source %lld)\n",
               out, nodes0, g->n_nodes, (unsigned long long)params0, (unsigned long long)params1,
               (unsigned long long)bytes0, (unsigned long long)bytes1, file_size(out), file_size(in));
    ir_graph_free(g);
    return 0;
}
