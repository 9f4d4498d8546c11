/* fuzz_util.h — helpers shared by the libFuzzer harnesses (fuzz/fuzz_*.c).
 *
 * Importers that take a path get the input written to a per-process scratch folder under
 * $TMPDIR (tmpfs when available): the files are rewritten on every iteration, never left
 * behind past the process (removed at exit). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fc_common.h"

/* The caps the fuzzers run with: the defaults (GiBs) are for real models on real machines;
 * here every allocation a hostile input can cause must stay within libFuzzer's 2 GB budget,
 * so the limits are lowered (what is tested is that they are enforced everywhere).
 * FULLCONV_LIMITS in the environment is applied on top. */
__attribute__((constructor)) static void fuzz_lower_limits(void)
{
    fc_error err = {0};
    if (fc_limits_parse("max_file_bytes=64M,max_tensor_bytes=16M,max_inflated_bytes=256M,"
                        "max_arena_bytes=64M,max_string_bytes=16M", &err) ||
        fc_limits_init_from_env(&err)) {
        fprintf(stderr, "fuzz: %s\n", err.msg);
        abort();
    }
}

static char fuzz_dir[256];

static inline void fuzz_dir_remove(void)
{
    if (!fuzz_dir[0]) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
    if (system(cmd)) { /* best effort */ }
}

/* Creates the scratch folder once; returns its path. */
static inline const char *fuzz_scratch(void)
{
    if (fuzz_dir[0]) return fuzz_dir;
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fullconv-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_dir)) {
        perror("mkdtemp");
        abort();
    }
    atexit(fuzz_dir_remove);
    return fuzz_dir;
}

/* Writes data to <scratch>/<name>; returns the full path (static buffer per slot). */
static inline const char *fuzz_write(int slot, const char *name, const uint8_t *data, size_t size)
{
    static char paths[4][512];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_scratch(), name);
    int fd = open(paths[slot], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(paths[slot]);
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("write");
            abort();
        }
        off += (size_t)n;
    }
    close(fd);
    return paths[slot];
}

/* Finds sep in data; returns its offset or size when absent. */
static inline size_t fuzz_split(const uint8_t *data, size_t size, const char *sep)
{
    size_t n = strlen(sep);
    if (size < n) return size;
    const uint8_t *p = memmem(data, size, sep, n);
    return p ? (size_t)(p - data) : size;
}

#endif
