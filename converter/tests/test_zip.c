/* test_zip.c — common/zip.c against archives built byte by byte here (so every hostile
 * variant — traversal names, duplicates, encryption flag, odd methods, bombs, lying sizes —
 * can be made exactly, without any zip tool). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/fc_zip.h"

typedef struct test_entry {
    const char *name;
    const void *data;
    size_t size;
    int method;               /* 0 stored, 8 deflate, other: written as is (stored bytes) */
    uint16_t flags;           /* general purpose bit flag */
    int64_t declared_size;    /* -1: the real size */
} test_entry;

typedef struct byte_buf { uint8_t *p; size_t n, cap; } byte_buf;

static void put(byte_buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put16(byte_buf *b, uint32_t v) { uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)}; put(b, x, 2); }
static void put32(byte_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static uint8_t *raw_deflate(const void *data, size_t size, size_t *out_size)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&s, size) + 16;
    uint8_t *out = malloc(cap);
    s.next_in = (Bytef *)data;
    s.avail_in = (uInt)size;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    *out_size = s.total_out;
    deflateEnd(&s);
    return out;
}

static uint8_t *build_zip(const test_entry *e, int n, size_t *out_size)
{
    byte_buf b = {0}, cd = {0};
    for (int i = 0; i < n; i++) {
        uint32_t crc = (uint32_t)crc32(0, e[i].data, (uInt)e[i].size);
        size_t csize = e[i].size;
        uint8_t *comp = NULL;
        if (e[i].method == 8) comp = raw_deflate(e[i].data, e[i].size, &csize);
        uint32_t usize = e[i].declared_size >= 0 ? (uint32_t)e[i].declared_size : (uint32_t)e[i].size;
        uint32_t offset = (uint32_t)b.n;
        size_t name_len = strlen(e[i].name);
        put32(&b, 0x04034b50); put16(&b, 20); put16(&b, e[i].flags); put16(&b, (uint32_t)e[i].method);
        put16(&b, 0); put16(&b, 0x21); put32(&b, crc); put32(&b, (uint32_t)csize); put32(&b, usize);
        put16(&b, (uint32_t)name_len); put16(&b, 0); put(&b, e[i].name, name_len);
        put(&b, comp ? comp : e[i].data, csize);
        put32(&cd, 0x02014b50); put16(&cd, 20); put16(&cd, 20); put16(&cd, e[i].flags);
        put16(&cd, (uint32_t)e[i].method); put16(&cd, 0); put16(&cd, 0x21); put32(&cd, crc);
        put32(&cd, (uint32_t)csize); put32(&cd, usize); put16(&cd, (uint32_t)name_len); put16(&cd, 0);
        put16(&cd, 0); put16(&cd, 0); put16(&cd, 0); put32(&cd, 0); put32(&cd, offset);
        put(&cd, e[i].name, name_len);
        free(comp);
    }
    uint32_t cd_offset = (uint32_t)b.n;
    put(&b, cd.p, cd.n);
    put32(&b, 0x06054b50); put16(&b, 0); put16(&b, 0); put16(&b, (uint32_t)n); put16(&b, (uint32_t)n);
    put32(&b, (uint32_t)cd.n); put32(&b, cd_offset); put16(&b, 0);
    free(cd.p);
    *out_size = b.n;
    return b.p;
}

/* Opens the archive in memory and returns the error message ("" when it opened). */
static const char *open_msg(const test_entry *e, int n, fc_error *err)
{
    size_t size;
    uint8_t *buf = build_zip(e, n, &size);
    fc_zip *z = NULL;
    memset(err, 0, sizeof *err);
    int rc = fc_zip_open_memory(buf, size, "t.zip", &z, err);
    if (rc == 0) {
        /* read everything: some lies only show when inflating */
        for (int i = 0; i < fc_zip_count(z) && rc == 0; i++) {
            uint8_t *data;
            size_t sz;
            rc = fc_zip_read(z, i, &data, &sz, err);
            if (rc == 0) free(data);
        }
        fc_zip_close(z);
    }
    free(buf);
    return rc == 0 ? "" : err->msg;
}

static void test_good_archive(void **state)
{
    (void)state;
    static const char text[] = "hello, zip";
    uint8_t big[5000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7 % 13);
    test_entry e[] = {
        {"archive/data.pkl", text, sizeof text - 1, 0, 0, -1},
        {"archive/data/0", big, sizeof big, 8, 0, -1},
        {"archive/empty", "", 0, 0, 0, -1},
    };
    size_t size;
    uint8_t *buf = build_zip(e, 3, &size);
    fc_zip *z = NULL;
    fc_error err = {0};
    assert_int_equal(fc_zip_open_memory(buf, size, "t.zip", &z, &err), 0);
    assert_int_equal(fc_zip_count(z), 3);
    assert_string_equal(fc_zip_name(z, 1), "archive/data/0");
    assert_null(fc_zip_name(z, 3));
    assert_int_equal(fc_zip_find(z, "archive/data/0"), 1);
    assert_int_equal(fc_zip_find(z, "archive/data.pkl"), 0);
    assert_int_equal(fc_zip_find(z, "archive/empty"), 2);
    assert_int_equal(fc_zip_find(z, "archive/data"), -1);
    assert_int_equal((int)fc_zip_entry_size(z, 1), (int)sizeof big);
    uint8_t *data;
    size_t sz;
    assert_int_equal(fc_zip_read(z, 0, &data, &sz, &err), 0);
    assert_int_equal((int)sz, (int)strlen(text));
    assert_string_equal((char *)data, text);   /* NUL-terminated */
    free(data);
    assert_int_equal(fc_zip_read(z, 1, &data, &sz, &err), 0);
    assert_int_equal((int)sz, (int)sizeof big);
    assert_memory_equal(data, big, sizeof big);
    free(data);
    assert_int_equal(fc_zip_read(z, 2, &data, &sz, &err), 0);
    assert_int_equal((int)sz, 0);
    free(data);
    assert_int_equal(fc_zip_read(z, 7, &data, &sz, &err), -1);
    fc_zip_close(z);

    /* the same archive from a file */
    char path[] = "/tmp/test_zip_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal((int)write(fd, buf, size), (int)size);
    close(fd);
    assert_int_equal(fc_zip_open(path, &z, &err), 0);
    assert_int_equal(fc_zip_read(z, fc_zip_find(z, "archive/data/0"), &data, &sz, &err), 0);
    assert_memory_equal(data, big, sizeof big);
    free(data);
    fc_zip_close(z);
    unlink(path);
    assert_true(fc_zip_sniff(buf, size));
    free(buf);
}

static void test_unsafe_names(void **state)
{
    (void)state;
    const char *bad[] = {"../evil", "a/../../b", "a/..", "..", "/etc/passwd", "a\\b", "C:/x", "a\nb", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        test_entry e[] = {{bad[i], "x", 1, 0, 0, -1}};
        fc_error err;
        const char *msg = open_msg(e, 1, &err);
        if (!strstr(msg, "unsafe name") && !strstr(msg, "no name")) fail_msg("name '%s' accepted: '%s'", bad[i], msg);
    }
    /* dots that are not a ".." component are fine */
    test_entry ok[] = {{"a/..b/c..", "x", 1, 0, 0, -1}, {"./x.", "y", 1, 0, 0, -1}};
    fc_error err;
    assert_string_equal(open_msg(ok, 2, &err), "");
}

static void test_duplicate_names(void **state)
{
    (void)state;
    test_entry e[] = {{"a", "x", 1, 0, 0, -1}, {"b", "y", 1, 0, 0, -1}, {"a", "z", 1, 0, 0, -1}};
    fc_error err;
    const char *msg = open_msg(e, 3, &err);
    if (!strstr(msg, "duplicate entry names") && !strstr(msg, "'a' appears twice")) fail_msg("%s", msg);
    assert_int_equal(err.code, FC_EINPUT);
}

static void test_encrypted_and_methods(void **state)
{
    (void)state;
    fc_error err;
    test_entry enc[] = {{"secret", "0123456789abcdef", 16, 0, 1, -1}};
    assert_non_null(strstr(open_msg(enc, 1, &err), "encrypted"));
    test_entry bz[] = {{"bz", "0123456789abcdef", 16, 12, 0, -1}};
    assert_non_null(strstr(open_msg(bz, 1, &err), "compression method 12"));
}

static void test_zip_bomb_ratio(void **state)
{
    (void)state;
    size_t n = 4u << 20;
    uint8_t *zeros = calloc(1, n);
    test_entry e[] = {{"bomb", zeros, n, 8, 0, -1}};
    fc_error err;
    assert_non_null(strstr(open_msg(e, 1, &err), "zip bomb"));
    /* a small all-zero entry is fine even at a huge ratio */
    test_entry small[] = {{"zeros", zeros, 4096, 8, 0, -1}};
    assert_string_equal(open_msg(small, 1, &err), "");
    free(zeros);
}

static void test_caps(void **state)
{
    (void)state;
    fc_limits saved = fc_limits_current;
    test_entry e[] = {{"a", "xxxx", 4, 0, 0, -1}, {"b", "yyyy", 4, 0, 0, -1}};
    fc_error err;
    fc_limits_current.max_zip_entries = 1;
    assert_non_null(strstr(open_msg(e, 2, &err), "2 entries, limit 1"));
    fc_limits_current = saved;
    fc_limits_current.max_inflated_bytes = 6;
    assert_non_null(strstr(open_msg(e, 2, &err), "inflated bytes in total"));
    fc_limits_current = saved;
    fc_limits_current.max_tensor_bytes = 3;
    assert_non_null(strstr(open_msg(e, 2, &err), "declares 4 bytes, limit 3"));
    fc_limits_current = saved;
    assert_string_equal(open_msg(e, 2, &err), "");
}

static void test_lying_sizes(void **state)
{
    (void)state;
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i % 5);
    fc_error err;
    test_entry more[] = {{"d", data, sizeof data, 8, 0, 100}};
    const char *msg = open_msg(more, 1, &err);
    assert_true(msg[0] != 0);
    test_entry fewer[] = {{"d", data, sizeof data, 8, 0, 400}};
    msg = open_msg(fewer, 1, &err);
    assert_true(msg[0] != 0);
    test_entry stored[] = {{"d", data, sizeof data, 0, 0, 400}};
    assert_non_null(strstr(open_msg(stored, 1, &err), "sizes differ"));
}

static void test_not_a_zip(void **state)
{
    (void)state;
    static const uint8_t junk[] = "\x80\x02\x8a\x0alegacy torch file, not a zip at all................";
    fc_zip *z = NULL;
    fc_error err = {0};
    assert_int_equal(fc_zip_open_memory(junk, sizeof junk, "old.pt", &z, &err), -1);
    assert_non_null(strstr(err.msg, "old.pt: not a readable zip archive"));
    assert_false(fc_zip_sniff(junk, sizeof junk));
    assert_int_equal(fc_zip_open("/nonexistent/x.zip", &z, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/x.zip"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_archive),
        cmocka_unit_test(test_unsafe_names),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_encrypted_and_methods),
        cmocka_unit_test(test_zip_bomb_ratio),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_lying_sizes),
        cmocka_unit_test(test_not_a_zip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
