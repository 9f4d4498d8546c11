/* tool_loadtime.c — times loading a .fcn: fcn_model_open (mmap + full validation, including
 * every section's CRC) and fcn_session_create (expansion of fp16/int8 weights, weight packing,
 * Winograd transforms, shape inference, memory plan), each over N repetitions, printing the
 * minimum and the median in milliseconds, of the wall clock and of the process's CPU time.
 * Every repetition runs in a fresh child process (fork) and opens the file afresh (a new
 * mapping: page-cache hits, but new page faults), as a program starting up would: repeated
 * in one process, later repetitions get memory the allocator already has faulted in (glibc
 * keeps thread arenas' pages), which hides the cost of fresh pages (2-thread ResNet-50
 * session creation measured 20 ms in one process, 35 ms in fresh ones). `same` as the 4th
 * argument repeats in one process instead.
 *
 *   tool_loadtime MODEL.fcn [REPEATS] [THREADS] [same]
 *
 * Used by scripts/measure_load.sh. A non-zero exit means the model failed to open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/fcn.h"

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
/* CPU time of the process (user + system, all threads): on a shared, loaded machine the wall
 * clock also counts waiting for a core; this does not. */
static double cpu_ms(void) { return clock_ms(CLOCK_PROCESS_CPUTIME_ID); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void summary(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    printf("%-15s min=%.3f median=%.3f max=%.3f ms\n", what, v[0], med, v[n - 1]);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.fcn [REPEATS] [THREADS]\n", argv[0]);
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    if (reps < 1 || reps > 100000) reps = 20;
    double *t_open = malloc(sizeof(double) * (size_t)reps);
    double *t_sess = malloc(sizeof(double) * (size_t)reps);
    double *t_total = malloc(sizeof(double) * (size_t)reps);
    double *c_open = malloc(sizeof(double) * (size_t)reps);
    double *c_sess = malloc(sizeof(double) * (size_t)reps);
    double *c_total = malloc(sizeof(double) * (size_t)reps);
    if (!t_open || !t_sess || !t_total || !c_open || !c_sess || !c_total) return 1;
    int same = argc > 4 && strcmp(argv[4], "same") == 0;
    fcn_session_options opt = { 0 };
    opt.threads = threads;
    for (int r = 0; r < reps; r++) {
        double t[4];   /* t0 t1 t2 as wall, then CPU open, CPU session */
        int fds[2] = { -1, -1 };
        pid_t pid = 0;
        if (!same) {
            fflush(stdout);
            if (pipe(fds) != 0 || (pid = fork()) < 0) {
                perror("tool_loadtime: fork");
                return 1;
            }
        }
        if (same || pid == 0) {
            fc_error err = { 0, "" };
            fcn_model *m = NULL;
            fcn_session *s = NULL;
            double c0 = cpu_ms(), t0 = now_ms();
            if (fcn_model_open(argv[1], &m, &err)) {
                fprintf(stderr, "tool_loadtime: %s\n", err.msg);
                if (!same) _exit(1);
                return 1;
            }
            double t1 = now_ms(), c1 = cpu_ms();
            if (fcn_session_create(m, &opt, &s, &err)) {
                fprintf(stderr, "tool_loadtime: %s\n", err.msg);
                fcn_model_close(m);
                if (!same) _exit(1);
                return 1;
            }
            double t2 = now_ms(), c2 = cpu_ms();
            t[0] = t1 - t0;
            t[1] = t2 - t1;
            t[2] = c1 - c0;
            t[3] = c2 - c1;
            fcn_session_destroy(s);
            fcn_model_close(m);
            if (!same) {
                ssize_t w = write(fds[1], t, sizeof t);
                _exit(w == (ssize_t)sizeof t ? 0 : 1);
            }
        } else {
            close(fds[1]);
            ssize_t got = read(fds[0], t, sizeof t);
            close(fds[0]);
            int status = 0;
            waitpid(pid, &status, 0);
            if (got != (ssize_t)sizeof t || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
        }
        t_open[r] = t[0];
        t_sess[r] = t[1];
        t_total[r] = t[0] + t[1];
        c_open[r] = t[2];
        c_sess[r] = t[3];
        c_total[r] = t[2] + t[3];
    }
    printf("model %s, %d repetitions (%s), %d thread(s)\n", argv[1], reps,
           same ? "one process" : "a fresh process each", threads);
    summary("open", t_open, reps);
    summary("session_create", t_sess, reps);
    summary("open+session", t_total, reps);
    summary("cpu open", c_open, reps);
    summary("cpu session", c_sess, reps);
    summary("cpu open+sess", c_total, reps);
    free(c_open);
    free(c_sess);
    free(c_total);
    free(t_open);
    free(t_sess);
    free(t_total);
    return 0;
}
