/* commands.h — the subcommands of build/fullconv. Each returns the process exit status
 * (0 ok, 1 a check failed, 2 bad input or usage) and prints its own --help. */
#ifndef FULLCONV_COMMANDS_H
#define FULLCONV_COMMANDS_H
int fcv_cmd_convert(int argc, char **argv);   /* converter/cmd_convert.c */
int fcv_cmd_run(int argc, char **argv);       /* converter/cmd_run.c (accepts .fcn or importable files) */
int fcv_cmd_inspect(int argc, char **argv);   /* converter/cmd_inspect.c */
int bench_cmd_bench(int argc, char **argv);   /* bench/cmd_bench.c */
int bench_cmd_compare(int argc, char **argv); /* bench/cmd_compare.c */
#endif
