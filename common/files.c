/* files.c — whole-file reads with a size cap, and atomic writes: the content goes to a
 * hidden temp file in the target's folder (same filesystem, so rename is atomic), is fsynced,
 * then renamed into place. A crash or SIGINT never leaves a partial output file: the CLI's
 * signal handler calls fc_cleanup_temp_files(), which only uses async-signal-safe calls. */
#include "common/fc_common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* ---- registry of temp files in progress -------------------------------------------------- */
#define TEMP_SLOTS 32
static char temp_paths[TEMP_SLOTS][PATH_MAX];
static volatile sig_atomic_t temp_used[TEMP_SLOTS];
static pthread_mutex_t temp_lock = PTHREAD_MUTEX_INITIALIZER;

static int temp_register(const char *path)
{
    int slot = -1;
    pthread_mutex_lock(&temp_lock);
    for (int i = 0; i < TEMP_SLOTS; i++) {
        if (!temp_used[i]) {
            snprintf(temp_paths[i], PATH_MAX, "%s", path);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* path visible before the flag */
            temp_used[i] = 1;
            slot = i;
            break;
        }
    }
    pthread_mutex_unlock(&temp_lock);
    return slot;   /* -1: more than TEMP_SLOTS concurrent writes; still written, just not tracked */
}

static void temp_unregister(int slot)
{
    if (slot < 0) return;
    pthread_mutex_lock(&temp_lock);
    temp_used[slot] = 0;
    pthread_mutex_unlock(&temp_lock);
}

void fc_cleanup_temp_files(void)
{
    /* no locks, no malloc, no stdio: only unlink(2), which is async-signal-safe */
    for (int i = 0; i < TEMP_SLOTS; i++) {
        if (temp_used[i]) {
            unlink(temp_paths[i]);
            temp_used[i] = 0;
        }
    }
}

/* ---- reading ------------------------------------------------------------------------------ */

int fc_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size, fc_error *err)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fc_fail(err, FC_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fc_fail(err, FC_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fc_fail(err, FC_EINPUT, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return fc_fail(err, FC_EINPUT, "%s: file is %lld bytes, over the limit of %zu", path,
                       (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return fc_fail(err, FC_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return fc_fail(err, FC_EIO, "%s: read error: %s", path, strerror(e));
        }
        if (r == 0) break;   /* shrank while reading: report what we have as truncated */
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        return fc_fail(err, FC_EIO, "%s: file changed while reading (%zu of %zu bytes)", path, got, n);
    }
    *data = buf;
    *size = n;
    return 0;
}

int fc_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b || stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ---- atomic writing ----------------------------------------------------------------------- */

static void split_path(const char *path, char *dir, size_t dcap, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dcap, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dcap, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dcap, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);   /* best effort: some filesystems refuse fsync on directories */
        close(fd);
    }
}

/* Moves tmp to path; without force the move must not replace an existing file, checked
 * atomically by renameat2(RENAME_NOREPLACE) where the filesystem supports it. */
static int move_into_place(const char *tmp, const char *path, int force)
{
    if (!force) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) return 0;
        if (errno != EINVAL && errno != ENOSYS) return -1;
        struct stat st;
        if (lstat(path, &st) == 0) {
            errno = EEXIST;
            return -1;
        }
    }
    return rename(tmp, path);
}

int fc_write_stream_atomic(const char *path, int force,
                           int (*produce)(FILE *f, void *ctx, fc_error *err), void *ctx, fc_error *err)
{
    if (!path || !*path) return fc_fail(err, FC_EINPUT, "empty output path");
    size_t plen = strlen(path);
    if (plen == 0 || path[plen - 1] == '/')
        return fc_fail(err, FC_EINPUT, "%s: output path names a folder", path);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return fc_fail(err, FC_EINPUT, "%s: output path is a folder", path);
        /* renaming over a device or fifo would replace it with a regular file */
        if (!S_ISREG(st.st_mode))
            return fc_fail(err, FC_EINPUT, "%s: output path exists and is not a regular file", path);
        if (!force)
            return fc_fail(err, FC_EINPUT, "%s: already exists, refusing to overwrite (use --force)", path);
    }
    char dir[PATH_MAX];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.tmpXXXXXX", dir, base);
    if (n < 0 || (size_t)n >= sizeof tmp) return fc_fail(err, FC_EINPUT, "%s: path too long", path);

    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) return fc_fail(err, FC_EIO, "%s: cannot create a temp file in '%s': %s", path, dir,
                               strerror(errno));
    int slot = temp_register(tmp);
    fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        temp_unregister(slot);
        return fc_fail(err, FC_EIO, "%s: %s", path, strerror(e));
    }
    fc_error perr = { 0, "" };
    int rc = produce(f, ctx, &perr);
    int io_errno = 0;
    if (rc == 0 && (fflush(f) != 0 || ferror(f))) io_errno = errno ? errno : EIO;
    if (rc == 0 && !io_errno && fsync(fileno(f)) != 0) io_errno = errno;
    if (fclose(f) != 0 && rc == 0 && !io_errno) io_errno = errno ? errno : EIO;
    if (rc != 0 || io_errno) {
        unlink(tmp);
        temp_unregister(slot);
        if (rc != 0) {
            if (err) *err = perr;
            if (err && !err->code) err->code = FC_EIO;
            return -1;
        }
        return fc_fail(err, FC_EIO, "%s: write failed: %s", path, strerror(io_errno));
    }
    if (move_into_place(tmp, path, force) != 0) {
        int e = errno;
        unlink(tmp);
        temp_unregister(slot);
        if (e == EEXIST)
            return fc_fail(err, FC_EINPUT, "%s: already exists, refusing to overwrite (use --force)", path);
        return fc_fail(err, FC_EIO, "%s: cannot rename temp file into place: %s", path, strerror(e));
    }
    temp_unregister(slot);
    fsync_dir(dir);
    return 0;
}

typedef struct { const void *data; size_t size; const char *path; } buffer_ctx;

static int produce_buffer(FILE *f, void *ctx, fc_error *err)
{
    const buffer_ctx *b = ctx;
    if (b->size && fwrite(b->data, 1, b->size, f) != b->size)
        return fc_fail(err, FC_EIO, "%s: write failed: %s", b->path, strerror(errno ? errno : EIO));
    return 0;
}

int fc_write_file_atomic(const char *path, const void *data, size_t size, int force, fc_error *err)
{
    buffer_ctx b = { data, size, path };
    return fc_write_stream_atomic(path, force, produce_buffer, &b, err);
}
