/* test_common.c — npy round trips (C and Fortran order, v1/v2/v3 headers, every dtype),
 * malformed npy headers refused, fp16 conversion, dims parsing, atomic writes that leave no
 * temp file behind on failure, CRC32/SHA-256 against published vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fc_common.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static char tmpdir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fc_test_common_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            chmod(p, 0755);
            unlink(p);
            rmdir(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
    return 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Builds a raw .npy with the given version and header dict text. */
static uint8_t *make_npy(int major, const char *dict, const void *data, size_t nbytes, size_t *size)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t hlen = strlen(dict) + 1;
    *size = pre + hlen + nbytes;
    uint8_t *b = malloc(*size);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major;
    b[7] = 0;
    if (major == 1) {
        b[8] = (uint8_t)hlen;
        b[9] = (uint8_t)(hlen >> 8);
    } else {
        for (int i = 0; i < 4; i++) b[8 + i] = (uint8_t)(hlen >> (8 * i));
    }
    memcpy(b + pre, dict, hlen - 1);
    b[pre + hlen - 1] = '\n';
    if (nbytes) memcpy(b + pre + hlen, data, nbytes);
    return b;
}

/* ---- npy ------------------------------------------------------------------------------------ */

static void test_npy_roundtrip_all_dtypes(void **state)
{
    (void)state;
    const int dtypes[] = { FC_DT_F32, FC_DT_F16, FC_DT_F64, FC_DT_I8, FC_DT_I16, FC_DT_I32,
                           FC_DT_I64, FC_DT_U8, FC_DT_U16, FC_DT_U32, FC_DT_U64, FC_DT_BOOL };
    const int64_t shapes[3][3] = { { 2, 3, 5 }, { 7, 0, 0 }, { 0, 0, 0 } };
    const int ndims[3] = { 3, 1, 0 };
    for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
        for (int s = 0; s < 3; s++) {
            fc_array a, b;
            fc_error err = { 0, "" };
            assert_int_equal(fc_array_alloc(&a, dtypes[d], ndims[s], shapes[s], &err), 0);
            uint8_t *p = a.data;
            for (size_t i = 0; i < a.nbytes; i++) p[i] = (uint8_t)(i * 37 + 11);
            if (dtypes[d] == FC_DT_BOOL)
                for (size_t i = 0; i < a.nbytes; i++) p[i] &= 1;
            uint8_t *buf;
            size_t size;
            assert_int_equal(fc_npy_serialize(&a, &buf, &size, &err), 0);
            assert_int_equal((size - a.nbytes) % 64, 0);   /* data aligned like numpy */
            assert_int_equal(fc_npy_parse(buf, size, "x.npy", &b, &err), 0);
            assert_int_equal(b.dtype, a.dtype);
            assert_int_equal(b.ndim, a.ndim);
            for (int k = 0; k < a.ndim; k++) assert_int_equal(b.dims[k], a.dims[k]);
            assert_int_equal(b.nbytes, a.nbytes);
            if (a.nbytes) assert_memory_equal(b.data, a.data, a.nbytes);
            free(buf);
            fc_array_free(&a);
            fc_array_free(&b);
        }
    }
}

/* The exact header numpy 1.24 writes for np.arange(6, dtype='<f4').reshape(2, 3). */
static void test_npy_numpy_header_text(void **state)
{
    (void)state;
    fc_array a;
    fc_error err = { 0, "" };
    int64_t dims[2] = { 2, 3 };
    assert_int_equal(fc_array_alloc(&a, FC_DT_F32, 2, dims, &err), 0);
    uint8_t *buf;
    size_t size;
    assert_int_equal(fc_npy_serialize(&a, &buf, &size, &err), 0);
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    assert_memory_equal(buf + 10, want, strlen(want));
    assert_int_equal(buf[size - a.nbytes - 1], '\n');
    free(buf);
    dims[0] = 5;
    fc_array_free(&a);
    assert_int_equal(fc_array_alloc(&a, FC_DT_I64, 1, dims, &err), 0);
    assert_int_equal(fc_npy_serialize(&a, &buf, &size, &err), 0);
    const char *want1 = "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }";
    assert_memory_equal(buf + 10, want1, strlen(want1));
    free(buf);
    fc_array_free(&a);
}

static void test_npy_fortran_order(void **state)
{
    (void)state;
    /* a 2x3x2 array a[i][j][k] = 100i + 10j + k stored in Fortran order (i fastest) */
    int32_t f[12];
    int n = 0;
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 2; i++) f[n++] = 100 * i + 10 * j + k;
    size_t size;
    uint8_t *b = make_npy(1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 2), }", f, sizeof f, &size);
    fc_array a;
    fc_error err = { 0, "" };
    assert_int_equal(fc_npy_parse(b, size, "f.npy", &a, &err), 0);
    const int32_t *c = a.data;
    n = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++) assert_int_equal(c[n++], 100 * i + 10 * j + k);
    fc_array_free(&a);
    free(b);
}

static void test_npy_versions_2_3_and_bigendian(void **state)
{
    (void)state;
    float v[3] = { 1.5f, -2.0f, 3.25f };
    fc_error err = { 0, "" };
    for (int major = 2; major <= 3; major++) {
        size_t size;
        uint8_t *b = make_npy(major, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,)}", v, sizeof v, &size);
        fc_array a;
        assert_int_equal(fc_npy_parse(b, size, "v.npy", &a, &err), 0);
        assert_int_equal(a.ndim, 1);
        assert_int_equal(a.dims[0], 3);
        assert_memory_equal(a.data, v, sizeof v);
        fc_array_free(&a);
        free(b);
    }
    /* big-endian int16 is byte-swapped on load */
    uint8_t be[4] = { 0x01, 0x02, 0xff, 0xfe };
    size_t size;
    uint8_t *b = make_npy(1, "{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", be, 4, &size);
    fc_array a;
    assert_int_equal(fc_npy_parse(b, size, "be.npy", &a, &err), 0);
    int16_t *x = a.data;
    assert_int_equal(x[0], 0x0102);
    assert_int_equal(x[1], -2);
    fc_array_free(&a);
    free(b);
}

static void test_npy_malformed_refused(void **state)
{
    (void)state;
    float v[16] = { 0 };   /* payload source: at least the largest nbytes below */
    struct { const char *dict; size_t nbytes; const char *expect; } cases[] = {
        { "{'descr': '|O', 'fortran_order': False, 'shape': (4,), }", 32, "object arrays" },
        { "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported .npy dtype" },
        { "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", 16, "structured" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 16, "truncated" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 16, "trailing" },
        { "{'descr': '<f4', 'fortran_order': False, }", 16, "lacks" },
        { "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (4,), }", 16, "fortran_order" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }", 16, "" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, "more than 8 dims" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", 16, "malformed .npy shape" },
        { "['descr', '<f4']", 16, "no dict" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'evil': 1}", 16, "unknown .npy header key" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t size;
        uint8_t *b = make_npy(1, cases[i].dict, v, cases[i].nbytes, &size);
        fc_array a;
        fc_error err = { 0, "" };
        assert_int_equal(fc_npy_parse(b, size, "bad.npy", &a, &err), -1);
        assert_int_equal(err.code, FC_EINPUT);
        assert_non_null(strstr(err.msg, "bad.npy: "));
        if (!strstr(err.msg, cases[i].expect)) fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].expect);
        assert_null(a.data);
        free(b);
    }
    /* header length pointing past the end, bad magic, short file */
    fc_array a;
    fc_error err = { 0, "" };
    uint8_t hdr[12] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff, '{', '}' };
    assert_int_equal(fc_npy_parse(hdr, sizeof hdr, "h.npy", &a, &err), -1);
    assert_non_null(strstr(err.msg, "header length"));
    assert_int_equal(fc_npy_parse((const uint8_t *)"PK\3\4abcdefgh", 12, "z.npy", &a, &err), -1);
    assert_non_null(strstr(err.msg, "bad magic"));
    assert_int_equal(fc_npy_parse(hdr, 5, "s.npy", &a, &err), -1);
    hdr[6] = 9;
    assert_int_equal(fc_npy_parse(hdr, sizeof hdr, "v.npy", &a, &err), -1);
    assert_non_null(strstr(err.msg, "version 9"));
}

static void test_npy_file_and_to_f32(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/a.npy", tmpdir);
    fc_array a, b;
    fc_error err = { 0, "" };
    int64_t dims[2] = { 2, 2 };
    assert_int_equal(fc_array_alloc(&a, FC_DT_I16, 2, dims, &err), 0);
    int16_t *x = a.data;
    x[0] = -3; x[1] = 0; x[2] = 7; x[3] = 32767;
    assert_int_equal(fc_npy_write(path, &a, 0, &err), 0);
    assert_int_equal(fc_npy_write(path, &a, 0, &err), -1);   /* no overwrite without force */
    assert_non_null(strstr(err.msg, "already exists"));
    assert_int_equal(fc_npy_write(path, &a, 1, &err), 0);
    assert_int_equal(fc_npy_read(path, &b, &err), 0);
    assert_int_equal(fc_array_to_f32(&b, &err), 0);
    assert_int_equal(b.dtype, FC_DT_F32);
    float *f = b.data;
    assert_true(f[0] == -3.0f && f[1] == 0.0f && f[2] == 7.0f && f[3] == 32767.0f);
    fc_array_free(&a);
    fc_array_free(&b);
    unlink(path);
}

/* Random damage to a valid file: parse must succeed or fail with FC_EINPUT, never crash or
 * read out of bounds (run under ASan by `make test-asan`). */
static void test_npy_random_damage(void **state)
{
    (void)state;
    fc_array a;
    fc_error err = { 0, "" };
    int64_t dims[3] = { 2, 3, 4 };
    assert_int_equal(fc_array_alloc(&a, FC_DT_F32, 3, dims, &err), 0);
    uint8_t *buf;
    size_t size;
    assert_int_equal(fc_npy_serialize(&a, &buf, &size, &err), 0);
    fc_array_free(&a);
    uint32_t s = 1;
    int ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        s = s * 1103515245u + 12345u;
        size_t cut = (iter % 5 == 0) ? (s >> 8) % (size + 1) : size;
        uint8_t *c = malloc(size ? size : 1);
        memcpy(c, buf, size);
        for (int k = 0; k < 1 + iter % 3; k++) {
            s = s * 1103515245u + 12345u;
            size_t pos = (s >> 8) % 128;   /* the magic, lengths and header text */
            s = s * 1103515245u + 12345u;
            c[pos] = (iter & 1) ? (uint8_t)(s >> 16) : (uint8_t)"(),:' 0123456789{}TrueFals<>|fiub"[(s >> 16) % 33];
        }
        fc_array out;
        if (fc_npy_parse(c, cut, "fuzz.npy", &out, &err) == 0) {
            ok++;
            assert_true(out.nbytes <= cut);
            fc_array_free(&out);
        } else {
            assert_int_equal(err.code, FC_EINPUT);
            assert_null(out.data);
        }
        free(c);
    }
    assert_true(ok > 0);
    free(buf);
}

/* ---- fp16, dims ------------------------------------------------------------------------------- */

static void test_fp16(void **state)
{
    (void)state;
    struct { float f; uint16_t h; } v[] = {
        { 0.0f, 0x0000 }, { -0.0f, 0x8000 }, { 1.0f, 0x3c00 }, { -2.0f, 0xc000 }, { 65504.0f, 0x7bff },
        { 0.333251953125f, 0x3555 }, { 6.103515625e-05f, 0x0400 } /* smallest normal */,
        { 5.9604644775390625e-08f, 0x0001 } /* smallest subnormal */, { 65520.0f, 0x7c00 } /* rounds to inf */,
        { INFINITY, 0x7c00 }, { -INFINITY, 0xfc00 }, { 1e-9f, 0x0000 },
        { 1.00048828125f, 0x3c00 } /* halfway: ties to even (down) */,
        { 1.00146484375f, 0x3c02 } /* halfway: ties to even (up) */,
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint16_t h = fc_f32_to_f16(v[i].f);
        if (h != v[i].h) fail_msg("f32->f16(%g) = 0x%04x, want 0x%04x", (double)v[i].f, h, v[i].h);
    }
    assert_true(isnan(fc_f16_to_f32(fc_f32_to_f16(NAN))));
    /* every finite half survives a round trip exactly */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        float f = fc_f16_to_f32((uint16_t)h);
        assert_int_equal(fc_f32_to_f16(f), h);
    }
    assert_true(fc_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    assert_true(fc_f16_to_f32(0x7bff) == 65504.0f);
}

static void test_dims(void **state)
{
    (void)state;
    int nd;
    int64_t d[8];
    assert_int_equal(fc_parse_dims("1x3x224x224", &nd, d), 0);
    assert_int_equal(nd, 4);
    assert_int_equal(d[0], 1);
    assert_int_equal(d[3], 224);
    assert_int_equal(fc_parse_dims("7", &nd, d), 0);
    assert_int_equal(nd, 1);
    const char *bad[] = { "", "x3", "3x", "1x-3", "1x0", "axb", "1x2x3x4x5x6x7x8x9", "99999999999999999999", "1 x2" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (fc_parse_dims(bad[i], &nd, d) != -1) fail_msg("'%s' accepted", bad[i]);
    char buf[64];
    int64_t dims[4] = { 1, 3, -1, 224 };
    fc_format_dims(4, dims, buf, sizeof buf);
    assert_string_equal(buf, "1x3x?x224");
    size_t n;
    int64_t big[3] = { 1ll << 40, 1ll << 40, 1ll << 40 };
    assert_int_equal(fc_numel(3, big, &n), -1);
    int64_t neg[2] = { 2, -1 };
    assert_int_equal(fc_numel(2, neg, &n), -1);
    assert_int_equal(fc_numel(0, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(fc_dtype_size(FC_DT_I64), 8);
    assert_int_equal(fc_dtype_size(99), 0);
    assert_string_equal(fc_dtype_name(FC_DT_F16), "f16");
    assert_string_equal(fc_dtype_name(0), "invalid");
}

/* ---- files ----------------------------------------------------------------------------------- */

static void test_atomic_write(void **state)
{
    (void)state;
    char path[512];
    fc_error err = { 0, "" };
    snprintf(path, sizeof path, "%s/out.bin", tmpdir);
    assert_int_equal(fc_write_file_atomic(path, "hello", 5, 0, &err), 0);
    uint8_t *data;
    size_t size;
    assert_int_equal(fc_read_file(path, 100, &data, &size, &err), 0);
    assert_int_equal(size, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    assert_int_equal(fc_read_file(path, 4, &data, &size, &err), -1);   /* over the cap */
    assert_non_null(strstr(err.msg, "over the limit"));
    assert_int_equal(fc_write_file_atomic(path, "x", 1, 0, &err), -1);
    assert_int_equal(err.code, FC_EINPUT);
    assert_int_equal(fc_write_file_atomic(path, "bye", 3, 1, &err), 0);
    assert_int_equal(fc_read_file(path, 100, &data, &size, &err), 0);
    assert_int_equal(size, 3);
    free(data);
    assert_int_equal(count_entries(tmpdir), 1);   /* no temp file left */

    /* an unwritable folder: refused, nothing created (skipped when running as root) */
    char ro[300];
    snprintf(ro, sizeof ro, "%s/ro", tmpdir);
    mkdir(ro, 0555);
    snprintf(path, sizeof path, "%s/x.bin", ro);
    if (geteuid() != 0) {
        assert_int_equal(fc_write_file_atomic(path, "x", 1, 0, &err), -1);
        assert_int_equal(count_entries(ro), 0);
    }
    rmdir(ro);
    /* a folder that does not exist, and a path naming a folder */
    assert_int_equal(fc_write_file_atomic("/nonexistent_dir_fc/x.bin", "x", 1, 1, &err), -1);
    assert_int_equal(fc_write_file_atomic(tmpdir, "x", 1, 1, &err), -1);
    assert_non_null(strstr(err.msg, "folder"));
}

static int produce_fail(FILE *f, void *ctx, fc_error *err)
{
    (void)ctx;
    fputs("partial content", f);
    return fc_fail(err, FC_EINPUT, "producer gave up");
}

static int produce_big(FILE *f, void *ctx, fc_error *err)
{
    (void)ctx;
    (void)err;
    static char block[65536];
    for (int i = 0; i < 64; i++) fwrite(block, 1, sizeof block, f);
    return 0;
}

static void test_atomic_write_failures_leave_no_temp(void **state)
{
    (void)state;
    char path[512];
    fc_error err = { 0, "" };
    int before = count_entries(tmpdir);
    snprintf(path, sizeof path, "%s/fail.bin", tmpdir);
    assert_int_equal(fc_write_stream_atomic(path, 0, produce_fail, NULL, &err), -1);
    assert_string_equal(err.msg, "producer gave up");
    assert_int_equal(count_entries(tmpdir), before);
    /* a real I/O failure mid-write: the file size limit makes write(2) fail with EFBIG */
    struct rlimit old_lim, lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    lim = old_lim;
    lim.rlim_cur = 1 << 20;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    snprintf(path, sizeof path, "%s/big.bin", tmpdir);
    int rc = fc_write_stream_atomic(path, 0, produce_big, NULL, &err);
    setrlimit(RLIMIT_FSIZE, &old_lim);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, FC_EIO);
    assert_int_equal(count_entries(tmpdir), before);
    /* devices are never replaced, even with force */
    assert_int_equal(fc_write_stream_atomic("/dev/full", 1, produce_big, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(fc_write_file_atomic("/dev/null", "x", 1, 1, &err), -1);
    /* the signal-path cleanup is callable at any time and harmless with nothing pending */
    fc_cleanup_temp_files();
    snprintf(path, sizeof path, "%s/same.bin", tmpdir);
    assert_int_equal(fc_write_file_atomic(path, "s", 1, 0, &err), 0);
    char alias[600];
    snprintf(alias, sizeof alias, "%s/./same.bin", tmpdir);
    assert_int_equal(fc_same_file(path, alias), 1);
    assert_int_equal(fc_same_file(path, "/etc/passwd"), 0);
    assert_int_equal(fc_same_file(path, "/nonexistent"), 0);
    unlink(path);
}

/* ---- hashes, errors --------------------------------------------------------------------------- */

static void test_hashes(void **state)
{
    (void)state;
    assert_int_equal(fc_crc32("123456789", 9), 0xCBF43926u);
    assert_int_equal(fc_crc32("", 0), 0);
    /* the threaded CRC joins its slices to the one-pass value, for sizes around the 16 MB
     * threshold and odd ones, on 1..8 threads (more are capped) */
    size_t big = ((size_t)16 << 20) + 12345;
    uint8_t *b = malloc(big);
    for (size_t i = 0; i < big; i++) b[i] = (uint8_t)(i * 2654435761u >> 13);
    size_t sizes[] = { big, ((size_t)16 << 20), ((size_t)16 << 20) - 1, 1000 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t one = fc_crc32(b, sizes[k]);
        for (int t = 0; t <= 9; t++) assert_int_equal(fc_crc32_mt(b, sizes[k], t), one);
    }
    free(b);
    struct { const char *in; const char *hex; } v[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t d[32];
        char hex[65];
        fc_sha256(v[i].in, strlen(v[i].in), d);
        fc_hex(d, 32, hex);
        assert_string_equal(hex, v[i].hex);
    }
    /* one million 'a' (FIPS 180-2 appendix B.3) */
    char *m = malloc(1000000);
    memset(m, 'a', 1000000);
    uint8_t d[32];
    char hex[65];
    fc_sha256(m, 1000000, d);
    fc_hex(d, 32, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(m);
    /* lengths around the padding boundary (55, 56, 63, 64 bytes) differ from each other */
    uint8_t prev[32] = { 0 };
    for (size_t n = 54; n <= 65; n++) {
        char buf[80];
        memset(buf, 'x', sizeof buf);
        fc_sha256(buf, n, d);
        assert_memory_not_equal(d, prev, 32);
        memcpy(prev, d, 32);
    }
    fc_sha256("x", 0, d);
    fc_hex(d, 32, hex);
    assert_string_equal(hex, v[0].hex);
}

static void test_errors(void **state)
{
    (void)state;
    fc_error err = { 0, "" };
    assert_int_equal(fc_exit_status(&err), 0);
    assert_int_equal(fc_fail(&err, FC_EINPUT, "node '%s': %d\nsecond", "conv1", 3), -1);
    assert_string_equal(err.msg, "node 'conv1': 3 second");
    assert_int_equal(fc_wrap(&err, "%s", "m.onnx"), -1);
    assert_string_equal(err.msg, "m.onnx: node 'conv1': 3 second");
    assert_int_equal(fc_exit_status(&err), 2);
    fc_fail(&err, FC_ECHECK, "over tolerance");
    assert_int_equal(fc_exit_status(&err), 1);
    fc_fail(&err, FC_ENOMEM, "oom");
    assert_int_equal(fc_exit_status(&err), 2);
    assert_int_equal(fc_fail(NULL, FC_EINPUT, "ignored"), -1);
    char longp[1000];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    fc_wrap(&err, "%s", longp);
    assert_true(strlen(err.msg) < FC_ERR_MAX);
    assert_true(fc_limits_current.max_tensor_bytes == (4ull << 30));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_roundtrip_all_dtypes),
        cmocka_unit_test(test_npy_numpy_header_text),
        cmocka_unit_test(test_npy_fortran_order),
        cmocka_unit_test(test_npy_versions_2_3_and_bigendian),
        cmocka_unit_test(test_npy_malformed_refused),
        cmocka_unit_test(test_npy_file_and_to_f32),
        cmocka_unit_test(test_npy_random_damage),
        cmocka_unit_test(test_fp16),
        cmocka_unit_test(test_dims),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_atomic_write_failures_leave_no_temp),
        cmocka_unit_test(test_hashes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
