/* test_safetensors.c — the safetensors and .npz weight readers (converter/import_weights.c,
 * common/npz.c) on the committed files of scripts/make_weights_testdata.py: names in file order,
 * shapes, every dtype converted to f32 with exact values; and every malformed file of
 * testdata/bad/st_*.safetensors and npz_*.npz refused with the message its .expect names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "converter/arch.h"

/* The generator's pattern: element i = ((i % 7) - 3) / 4. */
static float pattern(int i) { return (float)((i % 7) - 3) / 4.0f; }

struct expect_tensor {
    const char *name;
    int ndim;
    int64_t dims[4];
    int kind;   /* 0 pattern, 1 arange-2 (signed ints), 2 arange*3 (u8), 3 i%2 (bool) */
};

static const struct expect_tensor SMALL[] = {
    {"features.0.weight", 4, {2, 1, 3, 3}, 0},
    {"features.0.bias", 1, {2}, 0},
    {"classifier.weight", 2, {3, 4}, 0},
    {"classifier.bias", 1, {3}, 0},
    {"bn.num_batches_tracked", 0, {0}, 1},
    {"counts", 2, {2, 2}, 1},
    {"small_ints", 1, {3}, 1},
    {"signed", 1, {4}, 1},
    {"bytes", 1, {5}, 2},
    {"mask", 1, {4}, 3},
    {"empty", 2, {0, 3}, 0},
};
#define N_SMALL (int)(sizeof SMALL / sizeof SMALL[0])

static float expected_value(int kind, int i)
{
    switch (kind) {
    case 1: return (float)(i - 2);
    case 2: return (float)(i * 3);
    case 3: return (float)(i % 2);
    default: return pattern(i);
    }
}

static void check_tensor(const fcv_weights *w, const struct expect_tensor *t)
{
    const fc_array *a = fcv_weights_find(w, t->name);
    if (!a) print_error("missing '%s'\n", t->name);
    assert_non_null(a);
    assert_int_equal(a->dtype, FC_DT_F32);
    assert_int_equal(a->ndim, t->ndim);
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) {
        assert_int_equal(a->dims[d], t->dims[d]);
        n *= (size_t)t->dims[d];
    }
    assert_int_equal(a->nbytes, n * 4);
    const float *v = a->data;
    for (size_t i = 0; i < n; i++) assert_float_equal(v[i], expected_value(t->kind, (int)i), 0);
}

static void test_safetensors_small(void **state)
{
    (void)state;
    fcv_weights w = {0};
    fc_error err = {0};
    int rc = fcv_read_safetensors("testdata/weights/small_alltypes.safetensors", &w, &err);
    if (rc) print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(w.count, N_SMALL);
    for (int i = 0; i < N_SMALL; i++) {
        assert_string_equal(w.names[i], SMALL[i].name);   /* header (state_dict) order kept */
        check_tensor(&w, &SMALL[i]);
    }
    fcv_weights_free(&w);
}

static void test_npz_small(void **state)
{
    (void)state;
    fcv_weights w = {0};
    fc_error err = {0};
    int rc = fcv_read_npz_weights("testdata/weights/small_alltypes.npz", &w, &err);
    if (rc) print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(w.count, N_SMALL);   /* numpy has no bf16: classifier.weight absent, + "fortran" */
    for (int i = 0; i < N_SMALL; i++)
        if (strcmp(SMALL[i].name, "classifier.weight") != 0) check_tensor(&w, &SMALL[i]);
    /* Fortran-ordered 2x3 in the file: read back in C order */
    struct expect_tensor f = {"fortran", 2, {2, 3}, 0};
    check_tensor(&w, &f);
    fcv_weights_free(&w);

    fc_npz z;
    assert_int_equal(fc_npz_read("testdata/weights/small_alltypes.npz", &z, &err), 0);
    assert_non_null(fc_npz_find(&z, "features.0.weight"));
    assert_null(fc_npz_find(&z, "features.0.weight.npy"));
    assert_int_equal(fc_npz_find(&z, "mask")->dtype, FC_DT_BOOL);
    fc_npz_free(&z);
}

/* Every <dir>/<case>.{safetensors,npz} with a <case>.expect: refused, message matches.
 * testdata/bad/ is shared with the CLI bad-input runner; testdata/weights/bad/ holds the cases
 * fullconv's format sniffing would not even route to these readers. */
static int check_bad_dir(const char *dirname)
{
    DIR *d = opendir(dirname);
    assert_non_null(d);
    int checked = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *dot = strrchr(e->d_name, '.');
        if (!dot) continue;
        /* only this reader's cases (other .npz files there test other commands, e.g. --calib) */
        int st = strcmp(dot, ".safetensors") == 0 && strncmp(e->d_name, "st_", 3) == 0;
        int npz = strcmp(dot, ".npz") == 0 && strncmp(e->d_name, "npz_", 4) == 0;
        if (!st && !npz) continue;
        char path[600], expect_path[600], want[512] = "";
        snprintf(path, sizeof path, "%s/%s", dirname, e->d_name);
        snprintf(expect_path, sizeof expect_path, "%s/%.*s.expect", dirname, (int)(dot - e->d_name), e->d_name);
        FILE *f = fopen(expect_path, "r");
        if (!f) continue;
        if (!fgets(want, sizeof want, f)) want[0] = 0;
        fclose(f);
        want[strcspn(want, "\n")] = 0;
        fcv_weights w = {0};
        fc_error err = {0};
        int rc = st ? fcv_read_safetensors(path, &w, &err) : fcv_read_npz_weights(path, &w, &err);
        if (rc == 0 || !strstr(err.msg, want))
            print_error("%s: expected '%s', got rc %d '%s'\n", e->d_name, want, rc, err.msg);
        assert_int_equal(rc, -1);
        assert_int_equal(err.code, FC_EINPUT);
        assert_non_null(strstr(err.msg, want));
        assert_non_null(strstr(err.msg, e->d_name));   /* the message names the file */
        assert_int_equal(w.count, 0);
        fcv_weights_free(&w);
        checked++;
    }
    closedir(d);
    return checked;
}

static void test_bad_files(void **state)
{
    (void)state;
    int checked = check_bad_dir("testdata/bad") + check_bad_dir("testdata/weights/bad");
    print_message("%d malformed weight files refused\n", checked);
    assert_true(checked >= 22);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safetensors_small),
        cmocka_unit_test(test_npz_small),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
