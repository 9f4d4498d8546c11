/* report_json.c — the bench document's I/O and the machine block (CPU, cores, ISA, compiler,
 * git revision, date): everything a reader needs to know where the numbers come from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "bench/bench.h"
#include "runtime/fcn.h"

double bench_jnum(const cJSON *obj, const char *key, double def)
{
    const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsNumber(it) ? it->valuedouble : def;
}

const char *bench_jstr(const cJSON *obj, const char *key, const char *def)
{
    const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsString(it) && it->valuestring ? it->valuestring : def;
}

const char *bench_fmt_bytes(double bytes, char *buf, size_t cap)
{
    if (bytes >= 1e9) snprintf(buf, cap, "%.2f GB", bytes / 1e9);
    else if (bytes >= 1e6) snprintf(buf, cap, "%.2f MB", bytes / 1e6);
    else if (bytes >= 1e3) snprintf(buf, cap, "%.1f kB", bytes / 1e3);
    else snprintf(buf, cap, "%.0f B", bytes);
    return buf;
}

static void cpu_model(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *colon = strchr(line, ':');
        if (!colon) continue;
        colon++;
        while (*colon == ' ' || *colon == '\t') colon++;
        snprintf(buf, cap, "%s", colon);
        buf[strcspn(buf, "\n")] = 0;
        break;
    }
    fclose(f);
}

/* The revision of the tree the binary runs in, if it is a git checkout; "unknown" otherwise.
 * FULLCONV_GIT_REV overrides (for builds from tarballs). */
static void git_revision(char *buf, size_t cap)
{
    snprintf(buf, cap, "unknown");
    const char *env = getenv("FULLCONV_GIT_REV");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return;
    }
    /* GIT_OPTIONAL_LOCKS=0: --dirty must not refresh (write) the index while someone commits.
     * The current directory first (a bench run from the checkout), then the binary's own
     * directory (build/fullconv inside the checkout, run from elsewhere). */
    char exe[1024] = "", cmd[1400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt == 0) snprintf(cmd, sizeof cmd, "GIT_OPTIONAL_LOCKS=0 git describe --always --dirty 2>/dev/null");
        else if (exe[0] && !strchr(exe, '\'')) snprintf(cmd, sizeof cmd, "GIT_OPTIONAL_LOCKS=0 git -C '%s' describe --always --dirty 2>/dev/null", exe);
        else break;
        FILE *p = popen(cmd, "r");
        if (!p) return;
        char line[128] = "";
        char *got = fgets(line, sizeof line, p);
        pclose(p);
        line[strcspn(line, "\n")] = 0;
        if (got && line[0]) {
            snprintf(buf, cap, "%s", line);
            return;
        }
    }
}

cJSON *bench_machine_json(double peak_gflops, const char *peak_isa)
{
    cJSON *m = cJSON_CreateObject();
    if (!m) return NULL;
    char buf[256];
    cpu_model(buf, sizeof buf);
    cJSON_AddStringToObject(m, "cpu", buf);
    cJSON_AddNumberToObject(m, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
    cJSON_AddStringToObject(m, "isa", fcn_kernel_isa());
#ifdef __VERSION__
    cJSON_AddStringToObject(m, "compiler", __VERSION__);
#else
    cJSON_AddStringToObject(m, "compiler", "unknown");
#endif
    git_revision(buf, sizeof buf);
    cJSON_AddStringToObject(m, "git", buf);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(m, "date", buf);
    cJSON_AddNumberToObject(m, "peak_gflops", peak_gflops);
    cJSON_AddStringToObject(m, "peak_isa", peak_isa ? peak_isa : "unknown");
    return m;
}

int bench_json_load(const char *path, cJSON **out, fc_error *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    *out = NULL;
    if (fc_read_file(path, (size_t)1 << 30, &data, &size, err)) return -1;
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    free(data);
    if (!doc) return fc_fail(err, FC_EINPUT, "%s: not valid JSON", path);
    const char *schema = bench_jstr(doc, "schema", NULL);
    if (!schema || strcmp(schema, BENCH_SCHEMA) != 0) {
        cJSON_Delete(doc);
        return fc_fail(err, FC_EINPUT, "%s: not a fullconv bench document (\"schema\" is not \"%s\")", path,
                       BENCH_SCHEMA);
    }
    *out = doc;
    return 0;
}

int bench_json_save(const char *path, const cJSON *doc, fc_error *err)
{
    char *text = cJSON_Print(doc);
    if (!text) return fc_fail(err, FC_ENOMEM, "%s: out of memory printing JSON", path);
    size_t len = strlen(text);
    text[len] = '\n';   /* replace the NUL: the file ends with a newline */
    int rc = fc_write_file_atomic(path, text, len + 1, 1, err);
    free(text);
    return rc;
}

typedef struct writer_ctx {
    int (*writer)(const cJSON *, FILE *, fc_error *);
    const cJSON *doc;
} writer_ctx;

static int produce(FILE *f, void *ctx, fc_error *err)
{
    writer_ctx *w = ctx;
    return w->writer(w->doc, f, err);
}

int bench_report_write(const char *path, int (*writer)(const cJSON *, FILE *, fc_error *),
                       const cJSON *doc, fc_error *err)
{
    writer_ctx w = {writer, doc};
    return fc_write_stream_atomic(path, 1, produce, &w, err);
}
