/* fullconv.c — the command line: dispatches to the subcommands (cli/commands.h), each of
 * which parses its own options and prints its own --help. On Ctrl-C the temp files of atomic
 * writes in progress are removed, so an interrupted command leaves no partial output. */
#include "cli/commands.h"
#include "common/fc_common.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef FULLCONV_VERSION
#define FULLCONV_VERSION "0.1.0"
#endif

static const char usage[] =
    "usage: fullconv COMMAND [options]   (fullconv COMMAND --help for details)\n"
    "\n"
    "  convert IN -o OUT.fcn [--fc-to-conv] [--gap-head exact|fold|fit] [--calib DATA] [--calib-labels]\n"
    "                        [--weights fp32|fp16|int8] [--arch NAME] [--input-shape NxCxHxW] [--no-verify]\n"
    "  run MODEL --input X.npy [--output Y.npy | --output-dir DIR] [--threads N] [--top K] [--cam DIR]\n"
    "  inspect MODEL [--json]\n"
    "  bench MODEL [--variants LIST] [--data DATASET] [--json F] [--md F] [--html F] [--threads N]\n"
    "  compare BASE.json NEW.json [--threshold PCT] [--alpha A]\n"
    "  help, --version\n"
    "\n"
    "MODEL is a .fcn or any importable file (ONNX, PyTorch .pt/.pth, TF.js model.json,\n"
    "safetensors/.npz with --arch), converted in memory.\n"
    "Exit status: 0 ok, 1 a check failed, 2 bad input or usage.\n";

static void on_sigint(int sig)
{
    (void)sig;
    fc_cleanup_temp_files();
    _exit(130);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* FULLCONV_LIMITS="max_file_bytes=16G,..." raises the hostile-input caps (docs/LIMITS.md) */
    fc_error limits_err = { 0 };
    if (fc_limits_init_from_env(&limits_err)) {
        fprintf(stderr, "fullconv: %s\n", limits_err.msg);
        return 2;
    }

    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc >= 3 && strcmp(argv[2], "help") != 0) {   /* fullconv help CMD = fullconv CMD --help */
            static char help_flag[] = "--help";
            static char *sub[4];
            sub[0] = argv[0];
            sub[1] = argv[2];
            sub[2] = help_flag;
            sub[3] = NULL;
            argv = sub;
            argc = 3;
            cmd = argv[1];
        } else {
            fputs(usage, stdout);
            return 0;
        }
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("fullconv %s\n", FULLCONV_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "convert")) return fcv_cmd_convert(argc - 1, argv + 1);
    if (!strcmp(cmd, "run")) return fcv_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "inspect")) return fcv_cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return bench_cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare")) return bench_cmd_compare(argc - 1, argv + 1);
    fprintf(stderr, "fullconv: unknown command '%s' (try fullconv help)\n", cmd);
    return 2;
}
