/* test_plan.c — the static memory plan and the thread pool: buffers alive at the same step
 * never overlap, a chain of N ops needs the input plus two buffers, graph outputs are never
 * clobbered by later nodes, and parallel_for covers every index exactly once. */
#include <sched.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "converter/ir.h"
#include "runtime/fcn.h"
#include "runtime/op.h"
#include "runtime/plan.h"
#include "runtime/kernels/kernels.h"

static void check_no_overlap(const fcn_plan_item *it, int n, size_t arena)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(it[i].offset % 64, 0);
        assert_true(it[i].offset + it[i].size <= arena);
        for (int j = i + 1; j < n; j++) {
            int live_together = it[i].first <= it[j].last && it[j].first <= it[i].last;
            int disjoint = it[i].offset + it[i].size <= it[j].offset || it[j].offset + it[j].size <= it[i].offset;
            if (live_together && !disjoint)
                fail_msg("items %d [%d,%d] @%zu+%zu and %d [%d,%d] @%zu+%zu overlap", i, it[i].first, it[i].last,
                         it[i].offset, it[i].size, j, it[j].first, it[j].last, it[j].offset, it[j].size);
        }
    }
}

static void test_plan_chain(void **state)
{
    (void)state;
    enum { N = 50, SZ = 4096 };
    fcn_plan_item it[N + 1];
    it[0] = (fcn_plan_item){ 0, -1, N - 1, SZ, 0, 0 };                 /* graph input */
    for (int k = 1; k <= N; k++)
        it[k] = (fcn_plan_item){ k, k - 1, k == N ? N - 1 : k, SZ, 0, 0 };   /* node k-1's output */
    size_t arena;
    assert_int_equal(fcn_plan_place(it, N + 1, &arena), 0);
    check_no_overlap(it, N + 1, arena);
    assert_int_equal(arena, 3 * SZ);
    size_t peak, two;
    fcn_plan_stats(it, N + 1, -1, N - 1, &peak, &two);
    assert_int_equal(peak, 3 * SZ);
    assert_int_equal(two, 2 * SZ);
}

/* MnasNet's first five tensors (in 64-byte units of ~10 KB): largest-first put the 2.30 MB one
 * low and the 0.77 MB one above both it and its 1.53 MB neighbour (4.01 MB); in order of first
 * use they stack into the widest step's 3.07 MB. */
static void test_plan_uneven_chain(void **state)
{
    (void)state;
    size_t u = 64 * 160;
    fcn_plan_item it[5] = {
        { 0, 0, 1, 153 * u, 0, 0 }, { 1, 1, 2, 153 * u, 0, 0 }, { 2, 2, 3, 77 * u, 0, 0 },
        { 3, 3, 4, 230 * u, 0, 0 }, { 4, 4, 5, 57 * u, 0, 0 },
    };
    size_t arena = 0, peak = 0;
    assert_int_equal(fcn_plan_place(it, 5, &arena), 0);
    check_no_overlap(it, 5, arena);
    fcn_plan_stats(it, 5, 0, 5, &peak, NULL);
    assert_int_equal(peak, 307 * u);
    assert_int_equal(arena, peak);
}

static void test_plan_random(void **state)
{
    (void)state;
    uint32_t s = 7;
    for (int round = 0; round < 20; round++) {
        enum { N = 150 };
        fcn_plan_item it[N];
        for (int i = 0; i < N; i++) {
            s = s * 1664525u + 1013904223u;
            int a = (int)(s >> 8) % 60;
            s = s * 1664525u + 1013904223u;
            int len = (int)(s >> 8) % 12;
            s = s * 1664525u + 1013904223u;
            size_t sz = (size_t)(1 + (s >> 8) % 64) * 64;
            it[i] = (fcn_plan_item){ i, a - 1, a - 1 + len, sz, 0, i % 5 == 0 };
        }
        size_t arena, peak, two;
        assert_int_equal(fcn_plan_place(it, N, &arena), 0);
        check_no_overlap(it, N, arena);
        fcn_plan_stats(it, N, -1, 80, &peak, &two);
        assert_true(arena >= peak);
        assert_true(peak >= two);
        /* greedy-by-size stays close to the lower bound on these interval sets */
        assert_true(arena <= 2 * peak);
    }
}

/* The free runs the scratch fitting sees, and the late items (scratch) seated in the tensors'
 * gaps: a 2-step tensor pair with a one-step scratch between fits the bound exactly. */
static void test_plan_gaps(void **state)
{
    (void)state;
    fcn_plan_item placed[3] = {
        { 0, 0, 2, 128, 0, 0 }, { 1, 1, 1, 64, 256, 0 }, { 2, 3, 3, 1024, 0, 0 },
    };
    assert_int_equal(fcn_plan_largest_gap(placed, 3, 1, 1, 1024), 1024 - 320);
    assert_int_equal(fcn_plan_largest_gap(placed, 3, 1, 1, 300), 128);   /* [128, 256) below the limit */
    assert_int_equal(fcn_plan_largest_gap(placed, 3, 3, 3, 1024), 0);
    assert_int_equal(fcn_plan_largest_gap(placed, 3, 0, 0, 512), 512 - 128);
    assert_int_equal(fcn_plan_largest_gap(placed, 3, 4, 9, 512), 512);   /* nothing alive */
    /* VGG-11's first steps (units of 10 kB; [first,last] size, then 1 for one-step kernel
     * scratch), fitted the way the session does: the tensors placed alone, each scratch cut to
     * the largest gap they leave at its step below the limit, then everything placed — the
     * arena stays within the limit (unfitted, the whole-map Winograd scratch needed 25 MB) */
    static const int spec[9][4] = {
        { 0, 1, 1284, 0 }, { 1, 2, 321, 0 }, { 2, 3, 642, 0 }, { 2, 2, 2547, 1 }, { 3, 4, 161, 0 },
        { 4, 5, 321, 0 }, { 4, 4, 1347, 1 }, { 5, 6, 321, 0 }, { 5, 5, 1926, 1 },
    };
    fcn_plan_item it[9];
    int nt = 0;
    for (int pass = 0; pass < 2; pass++)   /* tensors first, as the session lists them */
        for (int i = 0; i < 9; i++)
            if (spec[i][3] == pass)
                it[nt++] = (fcn_plan_item){ i, spec[i][0], spec[i][1], (size_t)spec[i][2] * 10240, 0, pass };
    int n_tensors = 6;
    size_t limit = (1284 + 321) * 10240, tensors_arena, arena;
    assert_int_equal(fcn_plan_place(it, n_tensors, &tensors_arena), 0);
    assert_true(tensors_arena <= limit);
    for (int k = n_tensors; k < 9; k++) {
        size_t gap = fcn_plan_largest_gap(it, n_tensors, it[k].first, it[k].last, limit);
        assert_true(gap > 0);
        if (it[k].size > gap) it[k].size = gap;
    }
    assert_int_equal(fcn_plan_place(it, 9, &arena), 0);
    check_no_overlap(it, 9, arena);
    assert_true(arena <= limit);
}

/* x -> Add(+1) -> Add(+1) -> ... N times; optionally the 2nd intermediate is a graph output. */
static uint8_t *chain_model(int n_ops, int tap_second, size_t *size)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t d[4] = { 1, 8, 16, 16 };
    int x = ir_add_value(g, "x", FC_DT_F32, 4, d, &err);
    int64_t od[1] = { 1 };
    float one = 1.0f;
    int c = ir_add_const(g, "one", FC_DT_F32, 1, od, &one, 4, &err);
    int prev = x, tap = -1;
    for (int k = 0; k < n_ops; k++) {
        char name[32];
        snprintf(name, sizeof name, "y%d", k + 1);
        int y = ir_add_value(g, name, FC_DT_F32, 4, d, &err);
        int ins[2] = { prev, c };
        snprintf(name, sizeof name, "add%d", k + 1);
        assert_true(ir_add_node(g, FCN_OP_ADD, name, ins, 2, &y, 1, &err) >= 0);
        if (k == 1) tap = y;
        prev = y;
    }
    int outs[2] = { prev, tap };
    ir_set_io(g, &x, 1, outs, tap_second ? 2 : 1, &err);
    uint8_t *buf;
    if (fcv_write_fcn(g, &buf, size, &err)) fail_msg("%s", err.msg);
    ir_graph_free(g);
    return buf;
}

static void run_chain(int n_ops, int tap, int threads)
{
    size_t size;
    uint8_t *buf = chain_model(n_ops, tap, &size);
    fcn_model *m;
    fcn_session *s;
    fc_error err = { 0, "" };
    if (fcn_model_open_memory(buf, size, "chain.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
    fcn_session_options opt = { threads, 0, NULL, 0 };
    if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
    const size_t tensor = 8 * 16 * 16 * 4;
    size_t arena = fcn_session_arena_bytes(s), peak, two;
    fcn_session_plan_stats(s, &peak, &two);
    /* two ping-pong buffers (+ the tapped output); the input has its own buffer, never
     * overwritten */
    assert_int_equal(arena, (size_t)(2 + tap) * tensor);
    assert_int_equal(fcn_session_input_bytes(s), tensor);
    assert_int_equal(peak, arena);
    assert_int_equal(two, 2 * tensor);
    float *x = fcn_session_input(s, 0, NULL, NULL);
    for (int i = 0; i < 8 * 16 * 16; i++) x[i] = (float)i * 0.5f;
    assert_int_equal(fcn_session_run(s, &err), 0);
    fcn_shape sh;
    const float *y = fcn_session_output(s, 0, &sh, NULL);
    for (int i = 0; i < 8 * 16 * 16; i++) {
        if (y[i] != (float)i * 0.5f + (float)n_ops) fail_msg("y[%d] = %g", i, (double)y[i]);
        if (x[i] != (float)i * 0.5f) fail_msg("input clobbered at %d", i);
    }
    if (tap) {
        assert_int_equal(fcn_session_find_output(s, "y2"), 1);
        const float *t = fcn_session_output(s, 1, &sh, NULL);
        for (int i = 0; i < 8 * 16 * 16; i++)
            if (t[i] != (float)i * 0.5f + 2.0f) fail_msg("tapped output clobbered: y2[%d] = %g", i, (double)t[i]);
    }
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(buf);
}

/* The session's threads: those asked for, at most one per CPU the process may run on (more
 * spin against each other on the cores), from the options or FULLCONV_THREADS. */
static void test_session_threads(void **state)
{
    (void)state;
    size_t size;
    uint8_t *buf = chain_model(2, 0, &size);
    fcn_model *m;
    fc_error err = { 0, "" };
    if (fcn_model_open_memory(buf, size, "chain.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
    cpu_set_t set;
    int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    static const int asked[] = { 1, 2, 3, 64, 1000 };
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++)
        for (int env = 0; env < 2; env++) {
            char v[16];
            snprintf(v, sizeof v, "%d", asked[i]);
            if (env) setenv("FULLCONV_THREADS", v, 1);
            fcn_session_options opt = { env ? 0 : asked[i], 0, NULL, 0 };
            fcn_session *s;
            if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
            int want = asked[i] > 256 ? 256 : asked[i];
            assert_int_equal(fcn_session_threads(s), want < cpus ? want : cpus);
            assert_int_equal(fcn_session_run(s, &err), 0);
            fcn_session_destroy(s);
            unsetenv("FULLCONV_THREADS");
        }
    fcn_model_close(m);
    free(buf);
}

static void test_session_chain_reuses_buffers(void **state)
{
    (void)state;
    run_chain(20, 0, 1);
    run_chain(7, 0, 2);
}

static void test_session_outputs_not_clobbered(void **state)
{
    (void)state;
    run_chain(12, 1, 1);
}

/* x -> Add(+1) -> a, x -> Add(+2) -> b, [a, b] -> Concat(axis 1) -> y, then Concat(y, c) with
 * c = Add(x, +3) -> z (nested). variant 1: a is also a graph output; variant 2: b feeds a second
 * Add too; variant 3: the concat axis has an outer size of 2 (batch 2). Only variant 0 may turn
 * the first Concat into views; the second becomes views when the first does not. */
static void run_concat_case(int variant)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t N = variant == 3 ? 2 : 1;
    int64_t d[4] = { N, 3, 5, 7 }, dy[4] = { N, 6, 5, 7 }, dz[4] = { N, 9, 5, 7 }, od[1] = { 1 };
    float k1 = 1.0f, k2 = 2.0f, k3 = 3.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, d, &err);
    int c1 = ir_add_const(g, "k1", FC_DT_F32, 1, od, &k1, 4, &err);
    int c2 = ir_add_const(g, "k2", FC_DT_F32, 1, od, &k2, 4, &err);
    int c3 = ir_add_const(g, "k3", FC_DT_F32, 1, od, &k3, 4, &err);
    int a = ir_add_value(g, "a", FC_DT_F32, 4, d, &err), b = ir_add_value(g, "b", FC_DT_F32, 4, d, &err);
    int c = ir_add_value(g, "c", FC_DT_F32, 4, d, &err), y = ir_add_value(g, "y", FC_DT_F32, 4, dy, &err);
    int z = ir_add_value(g, "z", FC_DT_F32, 4, dz, &err), e = ir_add_value(g, "e", FC_DT_F32, 4, d, &err);
    int in_a[2] = { x, c1 }, in_b[2] = { x, c2 }, in_c[2] = { x, c3 }, in_y[2] = { a, b }, in_z[2] = { y, c };
    int in_e[2] = { b, c1 };
    assert_true(ir_add_node(g, FCN_OP_ADD, "adda", in_a, 2, &a, 1, &err) >= 0);
    assert_true(ir_add_node(g, FCN_OP_ADD, "addb", in_b, 2, &b, 1, &err) >= 0);
    if (variant == 2) assert_true(ir_add_node(g, FCN_OP_ADD, "adde", in_e, 2, &e, 1, &err) >= 0);
    int ci = ir_add_node(g, FCN_OP_CONCAT, "cat1", in_y, 2, &y, 1, &err);
    assert_true(ci >= 0);
    assert_true(ir_add_node(g, FCN_OP_ADD, "addc", in_c, 2, &c, 1, &err) >= 0);
    int zi = ir_add_node(g, FCN_OP_CONCAT, "cat2", in_z, 2, &z, 1, &err);
    assert_true(zi >= 0);
    ir_set_int(&g->nodes[ci], FCN_ATTR_AXIS, 1);
    ir_set_int(&g->nodes[zi], FCN_ATTR_AXIS, 1);
    int outs[2] = { z, variant == 1 ? a : e };
    ir_set_io(g, &x, 1, outs, variant == 1 || variant == 2 ? 2 : 1, &err);
    size_t size;
    uint8_t *buf;
    if (fcv_write_fcn(g, &buf, &size, &err)) fail_msg("%s", err.msg);
    ir_graph_free(g);
    fcn_model *m;
    fcn_session *s;
    if (fcn_model_open_memory(buf, size, "concat.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
    fcn_session_options opt = { 1, 0, NULL, 0 };
    if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
    float *xv = fcn_session_input(s, 0, NULL, NULL);
    const int per = 3 * 5 * 7;
    for (int i = 0; i < N * per; i++) xv[i] = (float)i;
    assert_int_equal(fcn_session_run(s, &err), 0);
    const float *zv = fcn_session_output(s, 0, NULL, NULL);
    for (int n = 0; n < N; n++)
        for (int part = 0; part < 3; part++)
            for (int i = 0; i < per; i++) {
                float want = (float)(n * per + i) + (float)(part + 1);
                float got = zv[(n * 3 + part) * per + i];
                if (got != want) fail_msg("variant %d: z[%d][%d][%d] = %g, want %g", variant, n, part, i, (double)got, (double)want);
            }
    if (variant == 1) {
        const float *av = fcn_session_output(s, 1, NULL, NULL);
        for (int i = 0; i < N * per; i++) assert_true(av[i] == (float)i + 1.0f);
    }
    if (variant == 2) {
        const float *ev = fcn_session_output(s, 1, NULL, NULL);
        for (int i = 0; i < N * per; i++) assert_true(ev[i] == (float)i + 3.0f);
    }
    int views = 0;
    for (int i = 0; i < fcn_session_num_nodes(s); i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        if (strcmp(info.op, "Concat") == 0 && strcmp(info.kernel, "view") == 0) views++;
    }
    /* variant 0: cat1 is views, so cat2 (whose input y holds views) stays a copy; variants 1
     * and 2: cat1 must copy (a is an output / b has a second reader), cat2 is views */
    assert_int_equal(views, variant == 3 ? 0 : 1);
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(buf);
}

/* A DenseNet block in miniature: x0 = x + 0.5, c1 = Concat(x0), f1 = conv1x1(c1) = 2·x0,
 * c2 = Concat(x0, f1), f2 = conv1x1(c2) = Σ channels, c3 = Concat(x0, f1, f2) (the output).
 * Every Concat's inputs are a prefix of c3's: all three become views of c3's buffer, which
 * x0, f1 and f2 are written into — while x0 and f1 are still read by later nodes. */
static void test_concat_prefix_family(void **state)
{
    (void)state;
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t d3[4] = { 1, 3, 4, 5 }, d6[4] = { 1, 6, 4, 5 }, d9[4] = { 1, 9, 4, 5 }, od[1] = { 1 };
    int64_t w1d[4] = { 3, 3, 1, 1 }, w2d[4] = { 3, 6, 1, 1 }, k1[2] = { 1, 1 };
    static float half = 0.5f, w1[9], w2[18];
    for (int i = 0; i < 3; i++) w1[i * 3 + i] = 2.0f;
    for (int i = 0; i < 18; i++) w2[i] = 1.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, d3, &err);
    int ch = ir_add_const(g, "half", FC_DT_F32, 1, od, &half, 4, &err);
    int cw1 = ir_add_const(g, "w1", FC_DT_F32, 4, w1d, w1, sizeof w1, &err);
    int cw2 = ir_add_const(g, "w2", FC_DT_F32, 4, w2d, w2, sizeof w2, &err);
    int x0 = ir_add_value(g, "x0", FC_DT_F32, 4, d3, &err), c1 = ir_add_value(g, "c1", FC_DT_F32, 4, d3, &err);
    int f1 = ir_add_value(g, "f1", FC_DT_F32, 4, d3, &err), c2 = ir_add_value(g, "c2", FC_DT_F32, 4, d6, &err);
    int f2 = ir_add_value(g, "f2", FC_DT_F32, 4, d3, &err), c3 = ir_add_value(g, "c3", FC_DT_F32, 4, d9, &err);
    int in_x0[2] = { x, ch }, in_f1[2] = { c1, cw1 }, in_c2[2] = { x0, f1 }, in_f2[2] = { c2, cw2 };
    int in_c3[3] = { x0, f1, f2 };
    assert_true(ir_add_node(g, FCN_OP_ADD, "add", in_x0, 2, &x0, 1, &err) >= 0);
    int n1 = ir_add_node(g, FCN_OP_CONCAT, "cat1", &x0, 1, &c1, 1, &err);
    int v1 = ir_add_node(g, FCN_OP_CONV, "conv1", in_f1, 2, &f1, 1, &err);
    int n2 = ir_add_node(g, FCN_OP_CONCAT, "cat2", in_c2, 2, &c2, 1, &err);
    int v2 = ir_add_node(g, FCN_OP_CONV, "conv2", in_f2, 2, &f2, 1, &err);
    int n3 = ir_add_node(g, FCN_OP_CONCAT, "cat3", in_c3, 3, &c3, 1, &err);
    assert_true(n1 >= 0 && v1 >= 0 && n2 >= 0 && v2 >= 0 && n3 >= 0);
    ir_set_int(&g->nodes[n1], FCN_ATTR_AXIS, 1);
    ir_set_int(&g->nodes[n2], FCN_ATTR_AXIS, 1);
    ir_set_int(&g->nodes[n3], FCN_ATTR_AXIS, 1);
    ir_set_ints(&g->nodes[v1], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    ir_set_ints(&g->nodes[v2], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    ir_set_io(g, &x, 1, &c3, 1, &err);
    size_t size;
    uint8_t *buf;
    if (fcv_write_fcn(g, &buf, &size, &err)) fail_msg("%s", err.msg);
    ir_graph_free(g);
    for (int threads = 1; threads <= 2; threads++) {
        fcn_model *m;
        fcn_session *s;
        if (fcn_model_open_memory(buf, size, "family.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
        fcn_session_options opt = { threads, 0, NULL, 0 };
        if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
        float *xv = fcn_session_input(s, 0, NULL, NULL);
        for (int i = 0; i < 60; i++) xv[i] = (float)i;
        assert_int_equal(fcn_session_run(s, &err), 0);
        const float *y = fcn_session_output(s, 0, NULL, NULL);
        for (int c = 0; c < 9; c++)
            for (int p = 0; p < 20; p++) {
                double want;
                if (c < 3) want = c * 20 + p + 0.5;
                else if (c < 6) want = 2.0 * ((c - 3) * 20 + p + 0.5);
                else want = 3.0 * ((0 * 20 + p + 0.5) + (1 * 20 + p + 0.5) + (2 * 20 + p + 0.5));
                if (fabs(y[c * 20 + p] - want) > 1e-4 * fabs(want))
                    fail_msg("threads %d: c3[%d][%d] = %g, want %g", threads, c, p, (double)y[c * 20 + p], want);
            }
        int views = 0;
        for (int i = 0; i < fcn_session_num_nodes(s); i++) {
            fcn_node_info info;
            fcn_session_node_info(s, i, &info);
            if (strcmp(info.op, "Concat") == 0 && strcmp(info.kernel, "view") == 0) views++;
        }
        assert_int_equal(views, 3);
        fcn_session_destroy(s);
        fcn_model_close(m);
    }
    free(buf);
}

static void test_concat_views(void **state)
{
    (void)state;
    for (int v = 0; v < 4; v++) run_concat_case(v);
}

/* Conv(x) + r -> ReLU, with r = x (made before the conv) or r = a second conv of x made after
 * it (the downsample order of ResNet blocks): the fast session fuses the Add into the conv
 * (GEMM, F(4×4) and F(2×2) Winograd paths) and must agree with the reference kernels. */
/* The .fcn bytes of a test graph with input x and output y (the graph freed) */
static uint8_t *graph_bytes(ir_graph *g, int x, int y, size_t *size)
{
    fc_error err = { 0, "" };
    uint8_t *buf;
    ir_set_io(g, &x, 1, &y, 1, &err);
    if (fcv_write_fcn(g, &buf, size, &err)) fail_msg("%s", err.msg);
    ir_graph_free(g);
    return buf;
}

/* A test model run once (the reference kernels or the fast ones, on `threads`), its input a fixed
 * pattern: a copy of its first output (n_out floats); the session stays open for the caller to
 * look at, closed with test_run_close(*m, *s, *was). */
static float *test_run(const uint8_t *buf, size_t size, int reference, int threads, fcn_model **m, fcn_session **s,
                       int *was, size_t *n_out)
{
    fc_error err = { 0, "" };
    *was = fcn_use_reference_kernels(reference);
    if (fcn_model_open_memory(buf, size, "test.fcn", 0, m, &err)) fail_msg("%s", err.msg);
    fcn_session_options opt = { threads, 0, NULL, 0 };
    if (fcn_session_create(*m, &opt, s, &err)) fail_msg("%s", err.msg);
    fcn_shape sh;
    float *x = fcn_session_input(*s, 0, &sh, NULL);
    size_t nx = 1;
    for (int d = 0; d < sh.ndim; d++) nx *= (size_t)sh.dims[d];
    for (size_t i = 0; i < nx; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    assert_int_equal(fcn_session_run(*s, &err), 0);
    const float *y = fcn_session_output(*s, 0, &sh, NULL);
    *n_out = 1;
    for (int d = 0; d < sh.ndim; d++) *n_out *= (size_t)sh.dims[d];
    float *copy = malloc(*n_out * sizeof(float));
    memcpy(copy, y, *n_out * sizeof(float));
    return copy;
}

static void test_run_close(fcn_model *m, fcn_session *s, int was)
{
    fcn_session_destroy(s);
    fcn_model_close(m);
    fcn_use_reference_kernels(was);
}

static size_t residual_arena;   /* the arena of the last residual_run */
static float *residual_run(const uint8_t *buf, size_t size, int reference, int threads, int *fused, size_t *n_out)
{
    fcn_model *m;
    fcn_session *s;
    int was;
    float *copy = test_run(buf, size, reference, threads, &m, &s, &was, n_out);
    *fused = 0;
    for (int i = 0; i < fcn_session_num_nodes(s); i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        if (strcmp(info.kernel, "fused") == 0) (*fused)++;
    }
    residual_arena = fcn_session_arena_bytes(s);
    test_run_close(m, s, was);
    return copy;
}

static void test_residual_fusion(void **state)
{
    (void)state;
    static const char *const tiles[] = { "4", "2", "gemm" };
    size_t arena_early[3][2] = { { 0 } };
    for (int late = 0; late < 2; late++) {
        fc_error err = { 0, "" };
        ir_graph *g = ir_graph_new();
        int64_t d[4] = { 1, 16, 20, 40 }, wd[4] = { 16, 16, 3, 3 }, bd[1] = { 16 };   /* 10 tiles a row: 16-lane transforms */
        static float w[16 * 16 * 9], w2[16 * 16 * 9], bias[16];
        for (int i = 0; i < 16 * 16 * 9; i++) {
            w[i] = (float)((i * 7919) % 201 - 100) / 800.0f;
            w2[i] = (float)((i * 104729) % 201 - 100) / 900.0f;
        }
        for (int i = 0; i < 16; i++) bias[i] = (float)(i - 8) / 16.0f;
        int x = ir_add_value(g, "x", FC_DT_F32, 4, d, &err);
        int cw = ir_add_const(g, "w", FC_DT_F32, 4, wd, w, sizeof w, &err);
        int cw2 = ir_add_const(g, "w2", FC_DT_F32, 4, wd, w2, sizeof w2, &err);
        int cb = ir_add_const(g, "b", FC_DT_F32, 1, bd, bias, sizeof bias, &err);
        int t = ir_add_value(g, "t", FC_DT_F32, 4, d, &err), r = ir_add_value(g, "r", FC_DT_F32, 4, d, &err);
        int y = ir_add_value(g, "y", FC_DT_F32, 4, d, &err);
        int in_t[3] = { x, cw, cb }, in_r[3] = { x, cw2, cb };
        int ct = ir_add_node(g, FCN_OP_CONV, "conv", in_t, 3, &t, 1, &err);
        int cr = late ? ir_add_node(g, FCN_OP_CONV, "down", in_r, 3, &r, 1, &err) : -1;
        int in_y[2] = { t, late ? r : x };
        int ay = ir_add_node(g, FCN_OP_ADD, "add", in_y, 2, &y, 1, &err);
        assert_true(ct >= 0 && ay >= 0 && (!late || cr >= 0));
        int64_t k3[2] = { 3, 3 }, p1[4] = { 1, 1, 1, 1 };
        ir_set_ints(&g->nodes[ct], FCN_ATTR_KERNEL_SHAPE, k3, 2);
        ir_set_ints(&g->nodes[ct], FCN_ATTR_PADS, p1, 4);
        if (late) {
            ir_set_ints(&g->nodes[cr], FCN_ATTR_KERNEL_SHAPE, k3, 2);
            ir_set_ints(&g->nodes[cr], FCN_ATTR_PADS, p1, 4);
        }
        ir_set_int(&g->nodes[ay], FCN_ATTR_ACT, FCN_ACT_RELU);
        size_t size, n_ref, n_fast;
        uint8_t *buf = graph_bytes(g, x, y, &size);
        int fused;
        float *ref = residual_run(buf, size, 1, 1, &fused, &n_ref);
        assert_int_equal(fused, 0);
        for (int k = 0; k < 3; k++) {
            if (k < 2) setenv("FULLCONV_WINOGRAD_TILE", tiles[k], 1);
            else setenv("FULLCONV_NO_WINOGRAD", "1", 1);
            for (int threads = 1; threads <= 2; threads++) {
                float *fast = residual_run(buf, size, 0, threads, &fused, &n_fast);
                assert_int_equal(n_fast, n_ref);
                if (fcn_simd_enabled()) assert_int_equal(fused, 1);
                float scale = 0;
                for (size_t i = 0; i < n_ref; i++) scale = fabsf(ref[i]) > scale ? fabsf(ref[i]) : scale;
                for (size_t i = 0; i < n_ref; i++)
                    if (fabsf(fast[i] - ref[i]) > 1e-4f * scale)
                        fail_msg("late %d path %s threads %d: y[%zu] = %g, want %g", late, tiles[k], threads, i,
                                 (double)fast[i], (double)ref[i]);
                free(fast);
                /* Early, the conv writes y and nothing else is alive but x (own buffer): one
                 * tensor + scratch. Late, the second conv writes y over the first's output,
                 * which dies at the Add: the same arena, not a tensor more. */
                if (!late) arena_early[k][threads - 1] = residual_arena;
                else if (fcn_simd_enabled() && residual_arena != arena_early[k][threads - 1])
                    fail_msg("path %s threads %d: arena %zu late, %zu early: the residual is not written in place",
                             tiles[k], threads, residual_arena, arena_early[k][threads - 1]);
            }
            unsetenv("FULLCONV_WINOGRAD_TILE");
            unsetenv("FULLCONV_NO_WINOGRAD");
        }
        free(ref);
        free(buf);
    }
}

/* In-place convs (session.c: schedule_shortcuts, plan_conv_in_place). A projection block in
 * PyTorch's order — a = ReLU(x), b = 1×1 C→C (a), c = grouped 3×3 C→C (b, Winograd forced),
 * e = 1×1 C→C (c), then the projection d = 1×1 C→C (a), y = ReLU(e + d) — runs the projection
 * before the first 1×1, which writes over a, and the grouped conv over b; and a 1×1 into more
 * channels on one image (a = ReLU(x), y = GAP(1×1 C→2.5C (a))), whose input's buffer grows to
 * hold its output; and the block after an identity block (a written over that block's input by
 * its fused residual: the buffers chained), its 3×3 layer dense. Against the reference kernels;
 * the arena smaller than with FULLCONV_NO_IN_PLACE=1 (the first two); one thread, two and two
 * split into single tasks give the same bits. */
static float *in_place_run(const uint8_t *buf, size_t size, int reference, int threads, size_t *arena, int *order_ok,
                           size_t *n_out)
{
    fcn_model *m;
    fcn_session *s;
    int was;
    float *copy = test_run(buf, size, reference, threads, &m, &s, &was, n_out);
    int down = -1, conv1 = -1;   /* where the session runs them */
    for (int i = 0; i < fcn_session_num_nodes(s); i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        if (strcmp(info.name, "down") == 0) down = i;
        if (strcmp(info.name, "conv1") == 0) conv1 = i;
    }
    *order_ok = down >= 0 && down < conv1;
    *arena = fcn_session_arena_bytes(s);
    test_run_close(m, s, was);
    return copy;
}

static uint8_t *in_place_model(int block, size_t *size)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    enum { C = 32, K = 32, G = 4, H = 20, W = 19, CG = 16, KG = 40, HG = 24 };
    static float w1[C * C], w2[C * C * 9], w3[K * C], wd[K * C], wg[KG * CG], bias[KG > K ? KG : K];
    float *ws[5] = { w1, w2, w3, wd, wg };
    size_t ns[5] = { C * C, C * C * 9, K * C, K * C, KG * CG };
    for (int k = 0; k < 5; k++)
        for (size_t i = 0; i < ns[k]; i++) ws[k][i] = (float)((i * (7919 + 13 * k)) % 201 - 100) / 1000.0f;
    for (size_t i = 0; i < sizeof bias / sizeof bias[0]; i++) bias[i] = (float)(i % 9) / 16.0f - 0.25f;
    int64_t dx[4] = { 1, block ? C : CG, block ? H : HG, block ? W : HG };
    int x = ir_add_value(g, "x", FC_DT_F32, 4, dx, &err);
    int a = ir_add_value(g, "a", FC_DT_F32, 4, dx, &err);
    int ra = ir_add_node(g, FCN_OP_RELU, "relu", &x, 1, &a, 1, &err);
    int y;
    int64_t kk1[2] = { 1, 1 }, kk3[2] = { 3, 3 }, p1[4] = { 1, 1, 1, 1 };
    if (block == 2) {   /* a = ReLU(1×1 (1×1 (r)) + r), r = ReLU(x): a written over r (in-place residual) */
        int64_t s0[4] = { C, C, 1, 1 }, sb[1] = { C };
        int r = a, t = ir_add_value(g, "t", FC_DT_F32, 4, dx, &err), u = ir_add_value(g, "u", FC_DT_F32, 4, dx, &err);
        a = ir_add_value(g, "a2", FC_DT_F32, 4, dx, &err);
        int c0 = ir_add_const(g, "w0", FC_DT_F32, 4, s0, w3, sizeof(float) * C * C, &err);
        int cb0 = ir_add_const(g, "b0", FC_DT_F32, 1, sb, bias, sizeof(float) * C, &err);
        int i0[3] = { r, c0, cb0 }, iu[3] = { t, c0, cb0 }, ia[2] = { u, r };
        int n0 = ir_add_node(g, FCN_OP_CONV, "conv0", i0, 3, &t, 1, &err);
        int nu = ir_add_node(g, FCN_OP_CONV, "conv0b", iu, 3, &u, 1, &err);
        int na = ir_add_node(g, FCN_OP_ADD, "add0", ia, 2, &a, 1, &err);
        assert_true(n0 >= 0 && nu >= 0 && na >= 0);
        ir_set_ints(&g->nodes[n0], FCN_ATTR_KERNEL_SHAPE, kk1, 2);
        ir_set_ints(&g->nodes[nu], FCN_ATTR_KERNEL_SHAPE, kk1, 2);
        ir_set_int(&g->nodes[na], FCN_ATTR_ACT, FCN_ACT_RELU);
    }
    if (block) {
        /* block 2: the 3×3 layer dense (im2col GEMM, FULLCONV_NO_WINOGRAD), not written in
         * place: a new buffer made while it reads the chained one */
        int groups = block == 2 ? 1 : G;
        int64_t dc[4] = { 1, C, H, W }, dk[4] = { 1, K, H, W }, s1[4] = { C, C, 1, 1 }, s2[4] = { C, C / groups, 3, 3 };
        int64_t s3[4] = { K, C, 1, 1 }, sb[1] = { C }, sk[1] = { K };
        int c1 = ir_add_const(g, "w1", FC_DT_F32, 4, s1, w1, sizeof(float) * C * C, &err);
        int c2 = ir_add_const(g, "w2", FC_DT_F32, 4, s2, w2, sizeof(float) * C * (C / groups) * 9, &err);
        int c3 = ir_add_const(g, "w3", FC_DT_F32, 4, s3, w3, sizeof w3, &err);
        int cd = ir_add_const(g, "wd", FC_DT_F32, 4, s3, wd, sizeof wd, &err);
        int cbc = ir_add_const(g, "bc", FC_DT_F32, 1, sb, bias, sizeof(float) * C, &err);
        int cbk = ir_add_const(g, "bk", FC_DT_F32, 1, sk, bias, sizeof(float) * K, &err);
        int b = ir_add_value(g, "b", FC_DT_F32, 4, dc, &err), c = ir_add_value(g, "c", FC_DT_F32, 4, dc, &err);
        int e = ir_add_value(g, "e", FC_DT_F32, 4, dk, &err), d = ir_add_value(g, "d", FC_DT_F32, 4, dk, &err);
        y = ir_add_value(g, "y", FC_DT_F32, 4, dk, &err);
        int i1[3] = { a, c1, cbc }, i2[3] = { b, c2, cbc }, i3[3] = { c, c3, cbk }, id[3] = { a, cd, cbk }, iy[2] = { e, d };
        int n1 = ir_add_node(g, FCN_OP_CONV, "conv1", i1, 3, &b, 1, &err);
        int n2 = ir_add_node(g, FCN_OP_CONV, "conv2", i2, 3, &c, 1, &err);
        int n3 = ir_add_node(g, FCN_OP_CONV, "conv3", i3, 3, &e, 1, &err);
        int nd = ir_add_node(g, FCN_OP_CONV, "down", id, 3, &d, 1, &err);
        int na = ir_add_node(g, FCN_OP_ADD, "add", iy, 2, &y, 1, &err);
        assert_true(ra >= 0 && n1 >= 0 && n2 >= 0 && n3 >= 0 && nd >= 0 && na >= 0);
        ir_set_ints(&g->nodes[n1], FCN_ATTR_KERNEL_SHAPE, kk1, 2);
        ir_set_int(&g->nodes[n1], FCN_ATTR_ACT, FCN_ACT_RELU);
        ir_set_ints(&g->nodes[n2], FCN_ATTR_KERNEL_SHAPE, kk3, 2);
        ir_set_ints(&g->nodes[n2], FCN_ATTR_PADS, p1, 4);
        ir_set_int(&g->nodes[n2], FCN_ATTR_GROUP, groups);
        ir_set_ints(&g->nodes[n3], FCN_ATTR_KERNEL_SHAPE, kk1, 2);
        ir_set_ints(&g->nodes[nd], FCN_ATTR_KERNEL_SHAPE, kk1, 2);
        ir_set_int(&g->nodes[na], FCN_ATTR_ACT, FCN_ACT_RELU);
    } else {
        int64_t dk[4] = { 1, KG, HG, HG }, dy[4] = { 1, KG, 1, 1 }, sw[4] = { KG, CG, 1, 1 }, sb[1] = { KG };
        int cw = ir_add_const(g, "wg", FC_DT_F32, 4, sw, wg, sizeof wg, &err);
        int cb = ir_add_const(g, "bg", FC_DT_F32, 1, sb, bias, sizeof(float) * KG, &err);
        int t = ir_add_value(g, "t", FC_DT_F32, 4, dk, &err);
        y = ir_add_value(g, "y", FC_DT_F32, 4, dy, &err);
        int it[3] = { a, cw, cb };
        int nc = ir_add_node(g, FCN_OP_CONV, "conv1", it, 3, &t, 1, &err);
        int np = ir_add_node(g, FCN_OP_GLOBAL_AVGPOOL, "gap", &t, 1, &y, 1, &err);
        assert_true(ra >= 0 && nc >= 0 && np >= 0);
        ir_set_ints(&g->nodes[nc], FCN_ATTR_KERNEL_SHAPE, kk1, 2);
    }
    return graph_bytes(g, x, y, size);
}

static void test_conv_in_place(void **state)
{
    (void)state;
    for (int block = 0; block < 3; block++) {
        setenv("FULLCONV_GWINOGRAD", "4", 1);
        if (block == 2) setenv("FULLCONV_NO_WINOGRAD", "1", 1);
        size_t size, n_ref, n, arena, arena_off, arena_on = 0;
        int order_ok;
        uint8_t *buf = in_place_model(block, &size);
        float *ref = in_place_run(buf, size, 1, 1, &arena, &order_ok, &n_ref);
        float scale = 0;
        for (size_t i = 0; i < n_ref; i++) scale = fabsf(ref[i]) > scale ? fabsf(ref[i]) : scale;
        setenv("FULLCONV_NO_IN_PLACE", "1", 1);
        float *off = in_place_run(buf, size, 0, 1, &arena_off, &order_ok, &n);
        if (block) assert_false(order_ok);   /* the file's order */
        unsetenv("FULLCONV_NO_IN_PLACE");
        float *one = NULL;
        for (int run = 0; run < 3; run++) {   /* one thread, two, two split */
            if (run == 2) setenv("FULLCONV_SPLIT_TASKS", "1", 1);
            float *fast = in_place_run(buf, size, 0, run ? 2 : 1, &arena, &order_ok, &n);
            unsetenv("FULLCONV_SPLIT_TASKS");
            assert_int_equal(n, n_ref);
            for (size_t i = 0; i < n; i++)
                if (fabsf(fast[i] - ref[i]) > 1e-4f * scale)
                    fail_msg("block %d run %d: y[%zu] = %g, want %g", block, run, i, (double)fast[i], (double)ref[i]);
            if (run == 0) {
                one = fast;
                arena_on = arena;
                continue;
            }
            if (memcmp(fast, one, n * sizeof(float)) != 0) fail_msg("block %d run %d: other bits than one thread", block, run);
            free(fast);
        }
        if (fcn_simd_enabled()) {
            if (block) assert_true(order_ok);
            if (block < 2 && arena_on >= arena_off)   /* (block 2's arena is the im2col scratch's) */
                fail_msg("block %d: arena %zu in place, %zu not: nothing written over its input", block, arena_on, arena_off);
        }
        free(one);
        free(off);
        free(ref);
        free(buf);
        unsetenv("FULLCONV_NO_WINOGRAD");
    }
    unsetenv("FULLCONV_GWINOGRAD");
}

/* MaxPool fusion (session.c, fuse_stem_pools): conv on the stem path -> MaxPool computed in one
 * pass from a ring of conv rows. Against the reference kernels for ResNet's 7×7/2 + 3×3/2 pad 1,
 * SqueezeNet's 3×3/2 + 3×3/2 ceil mode on odd sizes, a batch of 2 with 48 channels (a pass of
 * 2 blocks of 16 and one of 1) and a 2×2/2 pool, a clip activation with a same-size 3×3/1 pool;
 * 1 and 2 threads; the pool is muted and the arena never holds the conv's map next to the
 * pooled one. Not fused: the conv's output is also a graph output. */
/* Input x, output y, and with also_output the intermediate t too: serialized, g freed. */
static uint8_t *two_node_model(ir_graph *g, int x, int y, int t, int also_output, size_t *size)
{
    fc_error err = { 0, "" };
    int outs[2] = { y, t };
    uint8_t *buf;
    if (ir_set_io(g, &x, 1, outs, also_output ? 2 : 1, &err) || fcv_write_fcn(g, &buf, size, &err)) fail_msg("%s", err.msg);
    ir_graph_free(g);
    return buf;
}

typedef struct pool_case {
    int64_t N, C, H, W, K, k, s, p, pk, ps, pp, ceil;
    int act, also_output;
} pool_case;

static void run_pool_fusion(const pool_case *pc)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t Ho = (pc->H + 2 * pc->p - pc->k) / pc->s + 1, Wo = (pc->W + 2 * pc->p - pc->k) / pc->s + 1;
    int64_t span_h = Ho + 2 * pc->pp - pc->pk, span_w = Wo + 2 * pc->pp - pc->pk;
    int64_t PHo = (pc->ceil ? (span_h + pc->ps - 1) / pc->ps : span_h / pc->ps) + 1;
    int64_t PWo = (pc->ceil ? (span_w + pc->ps - 1) / pc->ps : span_w / pc->ps) + 1;
    if (pc->ceil && (PHo - 1) * pc->ps >= Ho + pc->pp) PHo--;   /* ONNX: the last window starts inside */
    if (pc->ceil && (PWo - 1) * pc->ps >= Wo + pc->pp) PWo--;
    int64_t xd[4] = { pc->N, pc->C, pc->H, pc->W }, wd[4] = { pc->K, pc->C, pc->k, pc->k }, bd[1] = { pc->K };
    int64_t td[4] = { pc->N, pc->K, Ho, Wo }, yd[4] = { pc->N, pc->K, PHo, PWo };
    size_t nw = (size_t)(pc->K * pc->C * pc->k * pc->k);
    float *w = malloc(nw * sizeof(float)), *bias = malloc((size_t)pc->K * sizeof(float));
    for (size_t i = 0; i < nw; i++) w[i] = (float)((int)((i * 7919) % 201) - 100) / 400.0f;
    for (int64_t i = 0; i < pc->K; i++) bias[i] = (float)(i % 9 - 4) / 8.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, xd, &err);
    int cw = ir_add_const(g, "w", FC_DT_F32, 4, wd, w, nw * sizeof(float), &err);
    int cb = ir_add_const(g, "b", FC_DT_F32, 1, bd, bias, (size_t)pc->K * sizeof(float), &err);
    int t = ir_add_value(g, "t", FC_DT_F32, 4, td, &err), y = ir_add_value(g, "y", FC_DT_F32, 4, yd, &err);
    int in_c[3] = { x, cw, cb };
    int c = ir_add_node(g, FCN_OP_CONV, "conv", in_c, 3, &t, 1, &err);
    int mp = ir_add_node(g, FCN_OP_MAXPOOL, "pool", &t, 1, &y, 1, &err);
    assert_true(c >= 0 && mp >= 0);
    int64_t k2[2] = { pc->k, pc->k }, s2[2] = { pc->s, pc->s }, p4[4] = { pc->p, pc->p, pc->p, pc->p };
    int64_t pk2[2] = { pc->pk, pc->pk }, ps2[2] = { pc->ps, pc->ps }, pp4[4] = { pc->pp, pc->pp, pc->pp, pc->pp };
    ir_set_ints(&g->nodes[c], FCN_ATTR_KERNEL_SHAPE, k2, 2);
    ir_set_ints(&g->nodes[c], FCN_ATTR_STRIDES, s2, 2);
    ir_set_ints(&g->nodes[c], FCN_ATTR_PADS, p4, 4);
    if (pc->act) ir_set_int(&g->nodes[c], FCN_ATTR_ACT, pc->act);
    if (pc->act == FCN_ACT_CLIP) {
        ir_set_float(&g->nodes[c], FCN_ATTR_ACT_ALPHA, 0.0f);
        ir_set_float(&g->nodes[c], FCN_ATTR_ACT_BETA, 0.3f);
    }
    ir_set_ints(&g->nodes[mp], FCN_ATTR_KERNEL_SHAPE, pk2, 2);
    ir_set_ints(&g->nodes[mp], FCN_ATTR_STRIDES, ps2, 2);
    ir_set_ints(&g->nodes[mp], FCN_ATTR_PADS, pp4, 4);
    if (pc->ceil) ir_set_int(&g->nodes[mp], FCN_ATTR_CEIL_MODE, 1);
    size_t size, n_ref, n_fast;
    uint8_t *buf = two_node_model(g, x, y, t, pc->also_output, &size);
    free(w);
    free(bias);
    int fused;
    float *ref = residual_run(buf, size, 1, 1, &fused, &n_ref);
    assert_int_equal(fused, 0);
    assert_int_equal(n_ref, (size_t)(pc->N * pc->K * PHo * PWo));
    int avx512 = fcn_simd_enabled() && strstr(fcn_kernel_isa(), "avx512") != NULL;
    for (int threads = 1; threads <= 2; threads++) {
        float *fast = residual_run(buf, size, 0, threads, &fused, &n_fast);
        assert_int_equal(n_fast, n_ref);
        if (avx512) assert_int_equal(fused, pc->also_output ? 0 : 1);
        for (size_t i = 0; i < n_ref; i++)
            if (fabsf(fast[i] - ref[i]) > 1e-4f * (1.0f + fabsf(ref[i])))
                fail_msg("case %lldx%lld k%lld pool %lld/%lld threads %d: y[%zu] = %g, want %g", (long long)pc->H,
                         (long long)pc->W, (long long)pc->k, (long long)pc->pk, (long long)pc->ps, threads, i,
                         (double)fast[i], (double)ref[i]);
        free(fast);
        /* fused: the arena never holds the conv's full map next to y, as the two passes must
         * (checked where the map outweighs the per-thread rings: 128 KB or more) */
        size_t map = (size_t)(pc->N * pc->K * Ho * Wo) * sizeof(float), ybytes = n_ref * sizeof(float);
        if (avx512 && !pc->also_output && map >= 128 * 1024 && residual_arena >= map + ybytes)
            fail_msg("case %lldx%lld threads %d: arena %zu, conv map %zu + pooled map %zu bytes", (long long)pc->H,
                     (long long)pc->W, threads, residual_arena, map, ybytes);
    }
    free(ref);
    free(buf);
}

static void test_pool_fusion(void **state)
{
    (void)state;
    static const pool_case cases[] = {
        /* N  C   H   W   K   k  s  p  pk ps pp ceil act also_output */
        { 1, 3, 64, 64, 32, 7, 2, 3, 3, 2, 1, 0, FCN_ACT_RELU, 0 },   /* ResNet */
        { 1, 3, 35, 37, 16, 3, 2, 0, 3, 2, 0, 1, FCN_ACT_RELU, 0 },   /* SqueezeNet, ceil mode, odd */
        { 2, 4, 40, 40, 48, 5, 1, 2, 2, 2, 0, 0, FCN_ACT_NONE, 0 },   /* batch, 3 blocks */
        { 1, 3, 34, 50, 64, 3, 1, 1, 3, 1, 1, 0, FCN_ACT_CLIP, 0 },   /* same-size pool, clip */
        { 1, 3, 64, 64, 32, 7, 2, 3, 3, 2, 1, 0, FCN_ACT_RELU, 1 },   /* conv map also an output */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_pool_fusion(&cases[i]);
}

/* BatchNormalization fusion (session.c, fuse_pre_bns): BN (+ ReLU / clip / none) -> 1×1 conv
 * applies the BN while packing B. Against the reference kernels at 1 and 2 threads, and the
 * same bits as the unfused fast path (FULLCONV_NO_BN_FUSION=1); not fused when the BN's
 * output is also a graph output, or when the conv is 3×3. */
typedef struct bn_case { int64_t N, C, H, W, K, k; int act, also_output; } bn_case;

static void run_bn_fusion(const bn_case *bc)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t pad = bc->k / 2;
    int64_t xd[4] = { bc->N, bc->C, bc->H, bc->W }, cd[1] = { bc->C }, wd[4] = { bc->K, bc->C, bc->k, bc->k };
    int64_t kd[1] = { bc->K }, yd[4] = { bc->N, bc->K, bc->H, bc->W };
    size_t nw = (size_t)(bc->K * bc->C * bc->k * bc->k);
    float *w = malloc(nw * sizeof(float)), *bias = malloc((size_t)bc->K * sizeof(float));
    float *gam = malloc((size_t)bc->C * sizeof(float)), *bet = malloc((size_t)bc->C * sizeof(float));
    float *mu = malloc((size_t)bc->C * sizeof(float)), *var = malloc((size_t)bc->C * sizeof(float));
    for (size_t i = 0; i < nw; i++) w[i] = (float)((int)((i * 7919) % 201) - 100) / 400.0f;
    for (int64_t i = 0; i < bc->K; i++) bias[i] = (float)(i % 7 - 3) / 8.0f;
    for (int64_t c = 0; c < bc->C; c++) {
        gam[c] = 0.5f + (float)(c % 5) / 4.0f;
        bet[c] = (float)(c % 9 - 4) / 6.0f;
        mu[c] = (float)(c % 3 - 1) / 5.0f;
        var[c] = 0.25f + (float)(c % 4) / 3.0f;
    }
    int x = ir_add_value(g, "x", FC_DT_F32, 4, xd, &err);
    int cg = ir_add_const(g, "gamma", FC_DT_F32, 1, cd, gam, (size_t)bc->C * sizeof(float), &err);
    int cb = ir_add_const(g, "beta", FC_DT_F32, 1, cd, bet, (size_t)bc->C * sizeof(float), &err);
    int cm = ir_add_const(g, "mean", FC_DT_F32, 1, cd, mu, (size_t)bc->C * sizeof(float), &err);
    int cv = ir_add_const(g, "var", FC_DT_F32, 1, cd, var, (size_t)bc->C * sizeof(float), &err);
    int cw = ir_add_const(g, "w", FC_DT_F32, 4, wd, w, nw * sizeof(float), &err);
    int ck = ir_add_const(g, "b", FC_DT_F32, 1, kd, bias, (size_t)bc->K * sizeof(float), &err);
    int t = ir_add_value(g, "t", FC_DT_F32, 4, xd, &err), y = ir_add_value(g, "y", FC_DT_F32, 4, yd, &err);
    int in_bn[5] = { x, cg, cb, cm, cv }, in_c[3] = { t, cw, ck };
    int bn = ir_add_node(g, FCN_OP_BATCHNORM, "bn", in_bn, 5, &t, 1, &err);
    int c = ir_add_node(g, FCN_OP_CONV, "conv", in_c, 3, &y, 1, &err);
    assert_true(bn >= 0 && c >= 0);
    if (bc->act) ir_set_int(&g->nodes[bn], FCN_ATTR_ACT, bc->act);
    if (bc->act == FCN_ACT_CLIP) {
        ir_set_float(&g->nodes[bn], FCN_ATTR_ACT_ALPHA, -0.2f);
        ir_set_float(&g->nodes[bn], FCN_ATTR_ACT_BETA, 0.6f);
    }
    int64_t k2[2] = { bc->k, bc->k }, p4[4] = { pad, pad, pad, pad };
    ir_set_ints(&g->nodes[c], FCN_ATTR_KERNEL_SHAPE, k2, 2);
    ir_set_ints(&g->nodes[c], FCN_ATTR_PADS, p4, 4);
    size_t size, n_ref, n_fast, n_plain;
    uint8_t *buf = two_node_model(g, x, y, t, bc->also_output, &size);
    free(w); free(bias); free(gam); free(bet); free(mu); free(var);
    int fused;
    float *ref = residual_run(buf, size, 1, 1, &fused, &n_ref);
    int want = fcn_simd_enabled() && bc->k == 1 && !bc->also_output;
    for (int threads = 1; threads <= 2; threads++) {
        float *fast = residual_run(buf, size, 0, threads, &fused, &n_fast);
        assert_int_equal(n_fast, n_ref);
        assert_int_equal(fused, want);
        for (size_t i = 0; i < n_ref; i++)
            if (fabsf(fast[i] - ref[i]) > 1e-4f * (1.0f + fabsf(ref[i])))
                fail_msg("bn case C %lld k %lld act %d threads %d: y[%zu] = %g, want %g", (long long)bc->C,
                         (long long)bc->k, bc->act, threads, i, (double)fast[i], (double)ref[i]);
        setenv("FULLCONV_NO_BN_FUSION", "1", 1);
        float *plain = residual_run(buf, size, 0, threads, &fused, &n_plain);
        unsetenv("FULLCONV_NO_BN_FUSION");
        assert_int_equal(fused, 0);
        assert_memory_equal(plain, fast, n_ref * sizeof(float));   /* the same arithmetic */
        free(plain);
        free(fast);
    }
    free(ref);
    free(buf);
}

static void test_bn_fusion(void **state)
{
    (void)state;
    static const bn_case cases[] = {
        /* N  C   H   W   K  k  act            also_output */
        { 1, 24, 17, 19, 40, 1, FCN_ACT_RELU, 0 },   /* DenseNet's BN-ReLU-conv1x1, odd map: edge panels */
        { 2, 300, 9, 7, 20, 1, FCN_ACT_CLIP, 0 },    /* batch, C > KC (two K blocks), a clip */
        { 1, 16, 32, 32, 16, 1, FCN_ACT_NONE, 0 },
        { 1, 24, 17, 19, 40, 1, FCN_ACT_RELU, 1 },   /* the BN's output is also an output */
        { 1, 24, 17, 19, 40, 3, FCN_ACT_RELU, 0 },   /* 3×3: padding must see BN'd zeros, not fused */
    };
    /* "the same arithmetic" is the GEMM's with and without the fused BN: a plain 1×1 conv over
     * a small map would take the channels-in-lanes kernel (pointwise_avx512.c), whose last
     * columns round differently from the GEMM's narrow tile */
    setenv("FULLCONV_NO_PWB", "1", 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_bn_fusion(&cases[i]);
    unsetenv("FULLCONV_NO_PWB");
}

/* Expansion fusion (session.c, fuse_expand_dws): 1×1 conv -> stride-2 depthwise conv, the
 * 1×1's map 2 MB or more, computed band by band inside the depthwise conv. Against the
 * reference kernels and the unfused fast path (FULLCONV_NO_EXPAND_FUSION=1: 1e-5, a narrow last
 * tile rounds differently there), bit for bit between 1 and 2 threads (other bands): MobileNetV2's 16→96 at 112×112 with ReLU6 (bands of 8 rows, the last
 * short); odd sizes (113×97: a last band reading the bottom padding); a 5×5 on the 16-channel
 * kernel (128 channels at 64×64 onto 32×32); a batch of 2 with a LeakyReLU applied after the
 * stores. Not fused: the 1×1's output also a graph output; a map under 2 MB. */
/* A two-node model whose pair a band fusion may take (off_env turns it off): one node "fused"
 * on 1 and 2 threads when `want` (and the session uses AVX-512), none with off_env set; the
 * output within 1e-4 of the reference kernels and 1e-5 of the unfused fast path, and the same
 * bits on 1 and 2 threads (the bands change with the thread count, the bits must not). */
static void check_band_fusion(const uint8_t *buf, size_t size, size_t n_want, int want_fused, const char *off_env,
                              const char *label)
{
    size_t n_ref, n_fast, n_plain;
    int fused;
    float *ref = residual_run(buf, size, 1, 1, &fused, &n_ref);
    assert_int_equal(n_ref, n_want);
    int want = fcn_simd_enabled() && strstr(fcn_kernel_isa(), "avx512") != NULL && want_fused;
    float *one = NULL;
    for (int threads = 1; threads <= 2; threads++) {
        float *fast = residual_run(buf, size, 0, threads, &fused, &n_fast);
        assert_int_equal(n_fast, n_ref);
        if (fused != want) fail_msg("%s threads %d: %d nodes fused, want %d", label, threads, fused, want);
        setenv(off_env, "1", 1);
        float *plain = residual_run(buf, size, 0, threads, &fused, &n_plain);
        unsetenv(off_env);
        assert_int_equal(fused, 0);
        for (size_t i = 0; i < n_ref; i++)
            if (fabsf(fast[i] - ref[i]) > 1e-4f * (1.0f + fabsf(ref[i])) ||
                fabsf(fast[i] - plain[i]) > 1e-5f * (1.0f + fabsf(plain[i])))
                fail_msg("%s threads %d: y[%zu] = %g, want %g (unfused %g)", label, threads, i, (double)fast[i],
                         (double)ref[i], (double)plain[i]);
        if (one) assert_memory_equal(one, fast, n_ref * sizeof(float));
        free(plain);
        if (one) free(fast);
        else one = fast;
    }
    free(one);
    free(ref);
}

typedef struct xdw_case { int64_t N, C, H, W, E, k; int act, also_output, want; } xdw_case;

static void run_expand_fusion(const xdw_case *xc)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t p = xc->k / 2, Ho = (xc->H + 2 * p - xc->k) / 2 + 1, Wo = (xc->W + 2 * p - xc->k) / 2 + 1;
    int64_t xd[4] = { xc->N, xc->C, xc->H, xc->W }, w1d[4] = { xc->E, xc->C, 1, 1 }, ed[1] = { xc->E };
    int64_t w2d[4] = { xc->E, 1, xc->k, xc->k }, td[4] = { xc->N, xc->E, xc->H, xc->W }, yd[4] = { xc->N, xc->E, Ho, Wo };
    size_t n1 = (size_t)(xc->E * xc->C), n2 = (size_t)(xc->E * xc->k * xc->k);
    float *w1 = malloc(n1 * sizeof(float)), *w2 = malloc(n2 * sizeof(float));
    float *b1 = malloc((size_t)xc->E * sizeof(float)), *b2 = malloc((size_t)xc->E * sizeof(float));
    for (size_t i = 0; i < n1; i++) w1[i] = (float)((int)((i * 7919) % 201) - 100) / 300.0f;
    for (size_t i = 0; i < n2; i++) w2[i] = (float)((int)((i * 104729) % 101) - 50) / 120.0f;
    for (int64_t i = 0; i < xc->E; i++) {
        b1[i] = (float)(i % 7 - 3) / 8.0f;
        b2[i] = (float)(i % 5 - 2) / 6.0f;
    }
    int x = ir_add_value(g, "x", FC_DT_F32, 4, xd, &err);
    int cw1 = ir_add_const(g, "w1", FC_DT_F32, 4, w1d, w1, n1 * sizeof(float), &err);
    int cb1 = ir_add_const(g, "b1", FC_DT_F32, 1, ed, b1, (size_t)xc->E * sizeof(float), &err);
    int cw2 = ir_add_const(g, "w2", FC_DT_F32, 4, w2d, w2, n2 * sizeof(float), &err);
    int cb2 = ir_add_const(g, "b2", FC_DT_F32, 1, ed, b2, (size_t)xc->E * sizeof(float), &err);
    int t = ir_add_value(g, "t", FC_DT_F32, 4, td, &err), y = ir_add_value(g, "y", FC_DT_F32, 4, yd, &err);
    int in1[3] = { x, cw1, cb1 }, in2[3] = { t, cw2, cb2 };
    int c1 = ir_add_node(g, FCN_OP_CONV, "expand", in1, 3, &t, 1, &err);
    int c2 = ir_add_node(g, FCN_OP_CONV, "dw", in2, 3, &y, 1, &err);
    assert_true(c1 >= 0 && c2 >= 0);
    int64_t k1[2] = { 1, 1 }, k2[2] = { xc->k, xc->k }, s2[2] = { 2, 2 }, p4[4] = { p, p, p, p };
    ir_set_ints(&g->nodes[c1], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    ir_set_ints(&g->nodes[c2], FCN_ATTR_KERNEL_SHAPE, k2, 2);
    ir_set_ints(&g->nodes[c2], FCN_ATTR_STRIDES, s2, 2);
    ir_set_ints(&g->nodes[c2], FCN_ATTR_PADS, p4, 4);
    ir_set_int(&g->nodes[c2], FCN_ATTR_GROUP, xc->E);
    for (int i = 0; i < 2; i++) {
        ir_node *nd = &g->nodes[i == 0 ? c1 : c2];
        if (xc->act) ir_set_int(nd, FCN_ATTR_ACT, xc->act);
        if (xc->act == FCN_ACT_CLIP) {
            ir_set_float(nd, FCN_ATTR_ACT_ALPHA, 0.0f);
            ir_set_float(nd, FCN_ATTR_ACT_BETA, 6.0f);
        }
        if (xc->act == FCN_ACT_LEAKY_RELU) ir_set_float(nd, FCN_ATTR_ACT_ALPHA, 0.1f);
    }
    size_t size;
    uint8_t *buf = two_node_model(g, x, y, t, xc->also_output, &size);
    free(w1); free(w2); free(b1); free(b2);
    char label[96];
    snprintf(label, sizeof label, "expand case %lldx%lld E %lld k %lld", (long long)xc->H, (long long)xc->W,
             (long long)xc->E, (long long)xc->k);
    check_band_fusion(buf, size, (size_t)(xc->N * xc->E * Ho * Wo), xc->want, "FULLCONV_NO_EXPAND_FUSION", label);
    free(buf);
}

static void test_expand_fusion(void **state)
{
    (void)state;
    static const xdw_case cases[] = {
        /* N  C    H    W    E  k  act                 also_output want */
        { 1, 16, 112, 112, 96, 3, FCN_ACT_CLIP, 0, 1 },         /* MobileNetV2's first stride-2 block */
        { 1, 8, 113, 97, 48, 3, FCN_ACT_RELU, 0, 1 },           /* odd: the last band reads the padding */
        { 1, 24, 64, 64, 128, 5, FCN_ACT_NONE, 0, 1 },          /* 5×5 on the 16-channel kernel */
        { 2, 8, 80, 80, 96, 3, FCN_ACT_LEAKY_RELU, 0, 1 },      /* batch, activation after the stores */
        { 1, 16, 112, 112, 96, 3, FCN_ACT_CLIP, 1, 0 },         /* the 1×1's map also an output */
        { 1, 16, 56, 56, 96, 3, FCN_ACT_CLIP, 0, 0 },           /* 1.2 MB: stays unfused */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_expand_fusion(&cases[i]);
}

/* A depthwise conv fused into the 1×1 conv after it (fcn_fast_conv_fuse_dw): x -> depthwise
 * k×k stride s -> t -> 1×1 (C -> K) -> y. When t is 1 MB or more and read by the 1×1 alone, the
 * 1×1 computes it band by band (bands of t's rows, the depthwise kernels reading the band's input
 * rows in place) and the depthwise node becomes "fused". Against the reference kernels, the
 * unfused fast path (1e-5) and 1 vs 2 threads bit for bit. */
typedef struct dwp_case { int64_t N, C, H, W, K, k, s; int act, also_output, want; } dwp_case;

static void run_dw_fusion(const dwp_case *dc)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t p = dc->k / 2, Ho = (dc->H + 2 * p - dc->k) / dc->s + 1, Wo = (dc->W + 2 * p - dc->k) / dc->s + 1;
    int64_t xd[4] = { dc->N, dc->C, dc->H, dc->W }, w1d[4] = { dc->C, 1, dc->k, dc->k }, cd[1] = { dc->C };
    int64_t w2d[4] = { dc->K, dc->C, 1, 1 }, kd[1] = { dc->K }, td[4] = { dc->N, dc->C, Ho, Wo }, yd[4] = { dc->N, dc->K, Ho, Wo };
    size_t n1 = (size_t)(dc->C * dc->k * dc->k), n2 = (size_t)(dc->K * dc->C);
    float *w1 = malloc(n1 * sizeof(float)), *w2 = malloc(n2 * sizeof(float));
    float *b1 = malloc((size_t)dc->C * sizeof(float)), *b2 = malloc((size_t)dc->K * sizeof(float));
    for (size_t i = 0; i < n1; i++) w1[i] = (float)((int)((i * 104729) % 101) - 50) / 120.0f;
    for (size_t i = 0; i < n2; i++) w2[i] = (float)((int)((i * 7919) % 201) - 100) / 300.0f;
    for (int64_t i = 0; i < dc->C; i++) b1[i] = (float)(i % 5 - 2) / 6.0f;
    for (int64_t i = 0; i < dc->K; i++) b2[i] = (float)(i % 7 - 3) / 8.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, xd, &err);
    int cw1 = ir_add_const(g, "w1", FC_DT_F32, 4, w1d, w1, n1 * sizeof(float), &err);
    int cb1 = ir_add_const(g, "b1", FC_DT_F32, 1, cd, b1, (size_t)dc->C * sizeof(float), &err);
    int cw2 = ir_add_const(g, "w2", FC_DT_F32, 4, w2d, w2, n2 * sizeof(float), &err);
    int cb2 = ir_add_const(g, "b2", FC_DT_F32, 1, kd, b2, (size_t)dc->K * sizeof(float), &err);
    int t = ir_add_value(g, "t", FC_DT_F32, 4, td, &err), y = ir_add_value(g, "y", FC_DT_F32, 4, yd, &err);
    int in1[3] = { x, cw1, cb1 }, in2[3] = { t, cw2, cb2 };
    int c1 = ir_add_node(g, FCN_OP_CONV, "dw", in1, 3, &t, 1, &err);
    int c2 = ir_add_node(g, FCN_OP_CONV, "project", in2, 3, &y, 1, &err);
    assert_true(c1 >= 0 && c2 >= 0);
    int64_t k1[2] = { dc->k, dc->k }, k2[2] = { 1, 1 }, st[2] = { dc->s, dc->s }, p4[4] = { p, p, p, p };
    ir_set_ints(&g->nodes[c1], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    ir_set_ints(&g->nodes[c1], FCN_ATTR_STRIDES, st, 2);
    ir_set_ints(&g->nodes[c1], FCN_ATTR_PADS, p4, 4);
    ir_set_int(&g->nodes[c1], FCN_ATTR_GROUP, dc->C);
    ir_set_ints(&g->nodes[c2], FCN_ATTR_KERNEL_SHAPE, k2, 2);
    for (int i = 0; i < 2; i++) {
        ir_node *nd = &g->nodes[i == 0 ? c1 : c2];
        if (dc->act) ir_set_int(nd, FCN_ATTR_ACT, dc->act);
        if (dc->act == FCN_ACT_CLIP) {
            ir_set_float(nd, FCN_ATTR_ACT_ALPHA, 0.0f);
            ir_set_float(nd, FCN_ATTR_ACT_BETA, 6.0f);
        }
        if (dc->act == FCN_ACT_LEAKY_RELU) ir_set_float(nd, FCN_ATTR_ACT_ALPHA, 0.1f);
    }
    size_t size;
    uint8_t *buf = two_node_model(g, x, y, t, dc->also_output, &size);
    free(w1); free(w2); free(b1); free(b2);
    char label[96];
    snprintf(label, sizeof label, "dw case %lldx%lld C %lld k %lld s %lld", (long long)dc->H, (long long)dc->W,
             (long long)dc->C, (long long)dc->k, (long long)dc->s);
    check_band_fusion(buf, size, (size_t)(dc->N * dc->K * Ho * Wo), dc->want, "FULLCONV_NO_DW_FUSION", label);
    free(buf);
}

static void test_dw_fusion(void **state)
{
    (void)state;
    static const dwp_case cases[] = {
        /* N  C    H    W    K  k  s  act                     also_output want */
        { 1, 32, 112, 112, 16, 3, 1, FCN_ACT_CLIP, 0, 1 },         /* MnasNet's and MobileNetV2's first block */
        { 1, 64, 151, 149, 40, 3, 2, FCN_ACT_RELU, 0, 1 },         /* stride 2, odd: the last band reads the padding */
        { 1, 40, 97, 101, 24, 5, 1, FCN_ACT_NONE, 0, 1 },          /* 5×5, a partial last tile in every band */
        { 2, 24, 110, 110, 48, 3, 1, FCN_ACT_LEAKY_RELU, 0, 1 },   /* batch, activation after the stores */
        { 1, 32, 112, 112, 16, 3, 1, FCN_ACT_CLIP, 1, 0 },         /* the depthwise map also an output */
        { 1, 72, 56, 56, 24, 3, 1, FCN_ACT_CLIP, 0, 0 },           /* 0.9 MB: stays unfused */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_dw_fusion(&cases[i]);
}

/* Reshape-like nodes as views (session.c, plan_reshape_views): a = conv(x); b = Reshape(a);
 * b2 = Reshape(b); t = conv(b2); y = Add(t, a) (fused into the conv: its residual a is the
 * buffer b2 views, read by the same conv, so it must not be written in place); with `tail`,
 * z = Identity(a) read after the Add by a third conv (a's buffer lives on through its views);
 * y flattened as a graph output (a copy). Same results as the reference kernels. */
static void run_reshape_views(int tail)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t d[4] = { 1, 16, 20, 40 }, d3[3] = { 1, 16, 800 }, wd[4] = { 16, 16, 3, 3 }, bd[1] = { 16 };
    static float w[16 * 16 * 9], bias[16];
    for (int i = 0; i < 16 * 16 * 9; i++) w[i] = (float)((i * 7919) % 201 - 100) / 800.0f;
    for (int i = 0; i < 16; i++) bias[i] = (float)(i - 8) / 16.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, d, &err);
    int cw = ir_add_const(g, "w", FC_DT_F32, 4, wd, w, sizeof w, &err);
    int cb = ir_add_const(g, "b", FC_DT_F32, 1, bd, bias, sizeof bias, &err);
    int a = ir_add_value(g, "a", FC_DT_F32, 4, d, &err), b = ir_add_value(g, "b3", FC_DT_F32, 3, d3, &err);
    int b2 = ir_add_value(g, "b2", FC_DT_F32, 4, d, &err), t = ir_add_value(g, "t", FC_DT_F32, 4, d, &err);
    int y = ir_add_value(g, "y", FC_DT_F32, 4, d, &err), z = ir_add_value(g, "z", FC_DT_F32, 4, d, &err);
    int u = ir_add_value(g, "u", FC_DT_F32, 4, d, &err);
    int64_t fd[2] = { 1, 16 * 800 };
    int f = ir_add_value(g, "f", FC_DT_F32, 2, fd, &err);
    int in_a[3] = { x, cw, cb }, in_t[3] = { b2, cw, cb }, in_y[2] = { t, a }, in_u[3] = { z, cw, cb };
    int k3n[3];
    k3n[0] = ir_add_node(g, FCN_OP_CONV, "c0", in_a, 3, &a, 1, &err);
    int r1 = ir_add_node(g, FCN_OP_RESHAPE, "r1", &a, 1, &b, 1, &err);
    int r2 = ir_add_node(g, FCN_OP_RESHAPE, "r2", &b, 1, &b2, 1, &err);
    k3n[1] = ir_add_node(g, FCN_OP_CONV, "c1", in_t, 3, &t, 1, &err);
    int ay = ir_add_node(g, FCN_OP_ADD, "add", in_y, 2, &y, 1, &err);
    k3n[2] = -1;
    if (tail) {
        ir_add_node(g, FCN_OP_IDENTITY, "id", &a, 1, &z, 1, &err);
        k3n[2] = ir_add_node(g, FCN_OP_CONV, "c2", in_u, 3, &u, 1, &err);
    }
    int fl = ir_add_node(g, FCN_OP_FLATTEN, "flat", &y, 1, &f, 1, &err);
    assert_int_equal(err.code, 0);
    int64_t k3[2] = { 3, 3 }, p1[4] = { 1, 1, 1, 1 };
    for (int i = 0; i < 2 + tail; i++) {
        ir_set_ints(&g->nodes[k3n[i]], FCN_ATTR_KERNEL_SHAPE, k3, 2);
        ir_set_ints(&g->nodes[k3n[i]], FCN_ATTR_PADS, p1, 4);
    }
    ir_set_ints(&g->nodes[r1], FCN_ATTR_SHAPE, d3, 3);
    ir_set_ints(&g->nodes[r2], FCN_ATTR_SHAPE, d, 4);
    ir_set_int(&g->nodes[ay], FCN_ATTR_ACT, FCN_ACT_RELU);
    ir_set_int(&g->nodes[fl], FCN_ATTR_AXIS, 1);
    int outs[2] = { f, u };
    ir_set_io(g, &x, 1, outs, 1 + tail, &err);
    size_t size;
    uint8_t *buf;
    if (fcv_write_fcn(g, &buf, &size, &err)) fail_msg("%s", err.msg);
    ir_graph_free(g);
    float *out[2][2];   /* [reference, fast][output] */
    size_t n_out[2];
    for (int fast = 0; fast < 2; fast++) {
        int was = fcn_use_reference_kernels(!fast);
        fcn_model *m;
        fcn_session *s;
        if (fcn_model_open_memory(buf, size, "views.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
        fcn_session_options opt = { 2, 0, NULL, 0 };
        if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
        fcn_shape sh;
        float *xv = fcn_session_input(s, 0, &sh, NULL);
        for (size_t i = 0; i < 16 * 800; i++) xv[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
        for (int rep = 0; rep < 2; rep++) assert_int_equal(fcn_session_run(s, &err), 0);
        for (int o = 0; o < 1 + tail; o++) {
            const float *yv = fcn_session_output(s, o, &sh, NULL);
            n_out[o] = 16 * 800;
            out[fast][o] = malloc(n_out[o] * sizeof(float));
            memcpy(out[fast][o], yv, n_out[o] * sizeof(float));
        }
        int views = 0;
        for (int i = 0; i < fcn_session_num_nodes(s); i++) {
            fcn_node_info info;
            fcn_session_node_info(s, i, &info);
            if (!strcmp(info.kernel, "view")) views++;
            if (!strcmp(info.name, "flat")) assert_string_not_equal(info.kernel, "view");   /* a graph output */
        }
        assert_int_equal(views, 2 + tail);   /* r1, r2 (, id): on both paths */
        fcn_session_destroy(s);
        fcn_model_close(m);
        fcn_use_reference_kernels(was);
    }
    for (int o = 0; o < 1 + tail; o++) {
        float scale = 0;
        for (size_t i = 0; i < n_out[o]; i++) scale = fabsf(out[0][o][i]) > scale ? fabsf(out[0][o][i]) : scale;
        for (size_t i = 0; i < n_out[o]; i++)
            if (fabsf(out[1][o][i] - out[0][o][i]) > 1e-4f * scale)
                fail_msg("output %d [%zu]: fast %g, reference %g", o, i, (double)out[1][o][i], (double)out[0][o][i]);
        free(out[0][o]);
        free(out[1][o]);
    }
    free(buf);
}

static void test_reshape_views(void **state)
{
    (void)state;
    run_reshape_views(0);   /* the Add is a's last reader: in place would overwrite what c1 reads */
    run_reshape_views(1);
}

/* Slices (and a Transpose) as views (session.c, plan_reshape_views; ops/shape.c,
 * fcn_strided_is_view): a = conv1×1(x) [1,16,12,10]; s0 = a's channels 0-7 and s1 = 8-15 (one
 * contiguous run each: views at offsets 0 and 8·120 floats); t = conv1×1(s1) [1,8,12,10]; then
 * a wide conv w = conv1×1(t) [1,64,12,10] (a buffer the size of a's four times over, planned
 * while s0 is alive: a's buffer must live on through its view); y = Add(t, s0) reads s0 last.
 * v = Transpose(a, [1,0,2,3]) only moves a unit dim (a view, read by a Relu); c = a's columns 0-4 (strided:
 * stays a copy, read by a Relu); g = a's channels 4-11 as a graph output (a copy, not a view, in 16 KiB pieces
 * on two threads: 64 KiB and more with H·W = 40·120); tr = a with H and W swapped, a graph
 * output (row by row, the rows shared by two threads at 40·120). On one and two threads, the fast and
 * the reference kernels: every output against values computed here. */
static void run_slice_views(int H, int W, int threads, int fast)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t d[4] = { 1, 16, H, W }, dh[4] = { 1, 8, H, W }, dw64[4] = { 1, 64, H, W }, dc[4] = { 1, 16, H, 5 };
    int64_t dv[4] = { 16, 1, H, W }, dtr[4] = { 1, 16, W, H };
    int64_t wa_d[4] = { 16, 16, 1, 1 }, wt_d[4] = { 8, 8, 1, 1 }, ww_d[4] = { 64, 8, 1, 1 };
    int64_t b16[1] = { 16 }, b8[1] = { 8 }, b64[1] = { 64 };
    static float wa[256], ba[16], wt[64], bt[8], ww[512], bw[64];
    for (int i = 0; i < 256; i++) wa[i] = (float)((i * 37) % 17 - 8) / 16.0f;
    for (int i = 0; i < 64; i++) wt[i] = (float)((i * 53) % 13 - 6) / 8.0f;
    for (int i = 0; i < 512; i++) ww[i] = (float)((i * 29) % 11 - 5) / 8.0f;
    for (int i = 0; i < 16; i++) ba[i] = (float)(i - 8) / 8.0f;
    for (int i = 0; i < 8; i++) bt[i] = (float)(i - 4) / 4.0f;
    for (int i = 0; i < 64; i++) bw[i] = (float)(i % 7) / 4.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, d, &err);
    int cwa = ir_add_const(g, "wa", FC_DT_F32, 4, wa_d, wa, sizeof wa, &err);
    int cba = ir_add_const(g, "ba", FC_DT_F32, 1, b16, ba, sizeof ba, &err);
    int cwt = ir_add_const(g, "wt", FC_DT_F32, 4, wt_d, wt, sizeof wt, &err);
    int cbt = ir_add_const(g, "bt", FC_DT_F32, 1, b8, bt, sizeof bt, &err);
    int cww = ir_add_const(g, "ww", FC_DT_F32, 4, ww_d, ww, sizeof ww, &err);
    int cbw = ir_add_const(g, "bw", FC_DT_F32, 1, b64, bw, sizeof bw, &err);
    int a = ir_add_value(g, "a", FC_DT_F32, 4, d, &err);
    int s0 = ir_add_value(g, "s0", FC_DT_F32, 4, dh, &err), s1 = ir_add_value(g, "s1", FC_DT_F32, 4, dh, &err);
    int t = ir_add_value(g, "t", FC_DT_F32, 4, dh, &err), w = ir_add_value(g, "w", FC_DT_F32, 4, dw64, &err);
    int y = ir_add_value(g, "y", FC_DT_F32, 4, dh, &err), v = ir_add_value(g, "v", FC_DT_F32, 4, dv, &err);
    int c = ir_add_value(g, "c", FC_DT_F32, 4, dc, &err), gg = ir_add_value(g, "g", FC_DT_F32, 4, dh, &err);
    int tr = ir_add_value(g, "tr", FC_DT_F32, 4, dtr, &err);
    int vr = ir_add_value(g, "vr", FC_DT_F32, 4, dv, &err), cr = ir_add_value(g, "cr", FC_DT_F32, 4, dc, &err);
    int in_a[3] = { x, cwa, cba }, in_t[3] = { s1, cwt, cbt }, in_w[3] = { t, cww, cbw }, in_y[2] = { t, s0 };
    ir_add_node(g, FCN_OP_CONV, "conv_a", in_a, 3, &a, 1, &err);
    int n_s0 = ir_add_node(g, FCN_OP_SLICE, "slice0", &a, 1, &s0, 1, &err);
    int n_s1 = ir_add_node(g, FCN_OP_SLICE, "slice1", &a, 1, &s1, 1, &err);
    int n_v = ir_add_node(g, FCN_OP_TRANSPOSE, "unit_transpose", &a, 1, &v, 1, &err);
    int n_c = ir_add_node(g, FCN_OP_SLICE, "columns", &a, 1, &c, 1, &err);
    int n_g = ir_add_node(g, FCN_OP_SLICE, "middle", &a, 1, &gg, 1, &err);
    int n_t = ir_add_node(g, FCN_OP_CONV, "conv_t", in_t, 3, &t, 1, &err);
    int n_w = ir_add_node(g, FCN_OP_CONV, "conv_w", in_w, 3, &w, 1, &err);
    ir_add_node(g, FCN_OP_ADD, "add", in_y, 2, &y, 1, &err);
    ir_add_node(g, FCN_OP_RELU, "relu_v", &v, 1, &vr, 1, &err);
    ir_add_node(g, FCN_OP_RELU, "relu_c", &c, 1, &cr, 1, &err);
    int n_tr = ir_add_node(g, FCN_OP_TRANSPOSE, "transpose_hw", &a, 1, &tr, 1, &err);
    assert_int_equal(err.code, 0);
    int64_t k1[2] = { 1, 1 }, ax1[1] = { 1 }, ax3[1] = { 3 };
    int64_t st0[1] = { 0 }, en8[1] = { 8 }, st8[1] = { 8 }, en16[1] = { 16 }, en5[1] = { 5 }, st4[1] = { 4 }, en12[1] = { 12 };
    int64_t perm[4] = { 1, 0, 2, 3 };
    ir_set_ints(&g->nodes[0], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    ir_set_ints(&g->nodes[n_t], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    ir_set_ints(&g->nodes[n_w], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    struct { int node; int64_t *st, *en, *ax; } sl[4] = { { n_s0, st0, en8, ax1 }, { n_s1, st8, en16, ax1 },
                                                          { n_c, st0, en5, ax3 }, { n_g, st4, en12, ax1 } };
    for (int i = 0; i < 4; i++) {
        ir_set_ints(&g->nodes[sl[i].node], FCN_ATTR_STARTS, sl[i].st, 1);
        ir_set_ints(&g->nodes[sl[i].node], FCN_ATTR_ENDS, sl[i].en, 1);
        ir_set_ints(&g->nodes[sl[i].node], FCN_ATTR_AXES, sl[i].ax, 1);
    }
    ir_set_ints(&g->nodes[n_v], FCN_ATTR_PERM, perm, 4);
    int64_t perm_hw[4] = { 0, 1, 3, 2 };
    ir_set_ints(&g->nodes[n_tr], FCN_ATTR_PERM, perm_hw, 4);
    int outs[6] = { y, w, vr, cr, gg, tr };
    ir_set_io(g, &x, 1, outs, 6, &err);
    assert_int_equal(err.code, 0);
    size_t size;
    uint8_t *buf;
    if (fcv_write_fcn(g, &buf, &size, &err)) fail_msg("%s", err.msg);
    ir_graph_free(g);

    size_t hw = (size_t)H * (size_t)W;
    float *xs = malloc(sizeof(float) * 16 * hw), *av = malloc(sizeof(float) * 16 * hw), *tv = malloc(sizeof(float) * 8 * hw);
    for (size_t i = 0; i < 16 * hw; i++) xs[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    for (int k = 0; k < 16; k++)
        for (size_t p = 0; p < hw; p++) {
            double sum = ba[k];
            for (int ci = 0; ci < 16; ci++) sum += (double)wa[k * 16 + ci] * xs[ci * hw + p];
            av[k * hw + p] = (float)sum;
        }
    for (int k = 0; k < 8; k++)
        for (size_t p = 0; p < hw; p++) {
            double sum = bt[k];
            for (int ci = 0; ci < 8; ci++) sum += (double)wt[k * 8 + ci] * av[(8 + ci) * hw + p];
            tv[k * hw + p] = (float)sum;
        }

    int was = fcn_use_reference_kernels(!fast);
    fcn_model *m;
    fcn_session *s;
    if (fcn_model_open_memory(buf, size, "slices.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
    fcn_session_options opt = { threads, 0, NULL, 0 };
    if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
    fcn_shape sh;
    float *xin = fcn_session_input(s, 0, &sh, NULL);
    memcpy(xin, xs, sizeof(float) * 16 * hw);
    for (int rep = 0; rep < 2; rep++) assert_int_equal(fcn_session_run(s, &err), 0);
    const float *yv = fcn_session_output(s, 0, &sh, NULL), *wv = fcn_session_output(s, 1, &sh, NULL);
    const float *vv = fcn_session_output(s, 2, &sh, NULL), *cv = fcn_session_output(s, 3, &sh, NULL);
    const float *gv = fcn_session_output(s, 4, &sh, NULL), *trv = fcn_session_output(s, 5, &sh, NULL);
    for (int k = 0; k < 16; k++)   /* a copy exactly: the same bits */
        for (int r = 0; r < H; r++)
            for (int q = 0; q < W; q++)
                if (trv[((size_t)k * W + q) * H + r] != av[k * hw + (size_t)r * W + q] &&
                    fabsf(trv[((size_t)k * W + q) * H + r] - av[k * hw + (size_t)r * W + q]) > 1e-4f * (1 + fabsf(av[k * hw + (size_t)r * W + q])))
                    fail_msg("%dx%d threads %d: transposed [%d][%d][%d] wrong", H, W, threads, k, q, r);
    float tol = 1e-4f;
    for (int k = 0; k < 8; k++)
        for (size_t p = 0; p < hw; p++) {
            float want = tv[k * hw + p] + av[k * hw + p];
            if (fabsf(yv[k * hw + p] - want) > tol * (1 + fabsf(want)))
                fail_msg("%dx%d threads %d fast %d: y[%d][%zu] %g, want %g", H, W, threads, fast, k, p,
                         (double)yv[k * hw + p], (double)want);
            if (gv[k * hw + p] != av[(4 + k) * hw + p] && fabsf(gv[k * hw + p] - av[(4 + k) * hw + p]) > tol * (1 + fabsf(av[(4 + k) * hw + p])))
                fail_msg("%dx%d threads %d: g[%d][%zu] %g, want %g", H, W, threads, k, p, (double)gv[k * hw + p],
                         (double)av[(4 + k) * hw + p]);
        }
    for (int k = 0; k < 64; k++)
        for (size_t p = 0; p < hw; p++) {
            double want = bw[k];
            for (int ci = 0; ci < 8; ci++) want += (double)ww[k * 8 + ci] * tv[ci * hw + p];
            if (fabs(wv[k * hw + p] - want) > tol * (1 + fabs(want)))
                fail_msg("%dx%d threads %d fast %d: w[%d][%zu] %g, want %g", H, W, threads, fast, k, p,
                         (double)wv[k * hw + p], want);
        }
    for (size_t i = 0; i < 16 * hw; i++) {
        float want = av[i] > 0 ? av[i] : 0;
        if (fabsf(vv[i] - want) > tol * (1 + want)) fail_msg("relu(v)[%zu] %g, want %g", i, (double)vv[i], (double)want);
    }
    for (int k = 0; k < 16; k++)
        for (int r = 0; r < H; r++)
            for (int q = 0; q < 5; q++) {
                float want = av[k * hw + (size_t)r * W + q], got = cv[(k * H + r) * 5 + q];
                want = want > 0 ? want : 0;
                if (fabsf(got - want) > tol * (1 + fabsf(want))) fail_msg("relu(c)[%d][%d][%d] %g, want %g", k, r, q, (double)got, (double)want);
            }
    int views = 0;
    for (int i = 0; i < fcn_session_num_nodes(s); i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        int is_view = !strcmp(info.kernel, "view");
        views += is_view;
        if (!strcmp(info.name, "columns") || !strcmp(info.name, "middle")) assert_false(is_view);
    }
    assert_int_equal(views, 3);   /* slice0, slice1, unit_transpose */
    fcn_session_destroy(s);
    fcn_model_close(m);
    fcn_use_reference_kernels(was);
    free(xs); free(av); free(tv); free(buf);
}

static void test_slice_views(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++)
        for (int fast = 0; fast < 2; fast++) {
            run_slice_views(12, 10, threads, fast);
            run_slice_views(40, 120, threads, fast);   /* copies of 150-300 KiB: shared by two threads */
        }
}

typedef struct { int *hits; int *tid_of; } cover_ctx;
static void cover(void *ctx, int64_t b, int64_t e, int tid)
{
    cover_ctx *c = ctx;
    for (int64_t i = b; i < e; i++) {
        __atomic_add_fetch(&c->hits[i], 1, __ATOMIC_RELAXED);
        c->tid_of[i] = tid;
    }
}

typedef struct { const fcn_exec *x; int *hits; int *tid_of; } nested_ctx;
static void nested(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    nested_ctx *c = ctx;
    for (int64_t i = b; i < e; i++) {
        cover_ctx inner = { c->hits + i * 10, c->tid_of + i * 10 };
        fcn_parallel_for(c->x, 10, cover, &inner);   /* runs serially inside a job */
    }
}

/* A 1×1 stride-2 conv (the input subsampled band by band, conv_fast.c run_sub) that takes the
 * block's residual Add: t = conv3x3/2(x); y = ReLU(conv1x1/2(x) + t), the Add fused into the 1×1
 * (it runs after t). Against the reference kernels, and 1 and 2 threads bit for bit (the bands
 * sum every column in k order). */
static void run_strided_pointwise(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t Ho = (H + 1) / 2, Wo = (W + 1) / 2;
    int64_t xd[4] = { N, C, H, W }, yd[4] = { N, K, Ho, Wo }, w3d[4] = { K, C, 3, 3 }, w1d[4] = { K, C, 1, 1 }, bd[1] = { K };
    size_t n3 = (size_t)(K * C * 9), n1 = (size_t)(K * C);
    float *w3 = malloc(n3 * sizeof(float)), *w1 = malloc(n1 * sizeof(float)), *b = malloc((size_t)K * sizeof(float));
    for (size_t i = 0; i < n3; i++) w3[i] = (float)((i * 7919) % 201 - 100) / 1600.0f;
    for (size_t i = 0; i < n1; i++) w1[i] = (float)((i * 104729) % 201 - 100) / 400.0f;
    for (int64_t i = 0; i < K; i++) b[i] = (float)(i % 9 - 4) / 16.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, xd, &err);
    int cw3 = ir_add_const(g, "w3", FC_DT_F32, 4, w3d, w3, n3 * sizeof(float), &err);
    int cw1 = ir_add_const(g, "w1", FC_DT_F32, 4, w1d, w1, n1 * sizeof(float), &err);
    int cb = ir_add_const(g, "b", FC_DT_F32, 1, bd, b, (size_t)K * sizeof(float), &err);
    int t = ir_add_value(g, "t", FC_DT_F32, 4, yd, &err), r = ir_add_value(g, "r", FC_DT_F32, 4, yd, &err);
    int y = ir_add_value(g, "y", FC_DT_F32, 4, yd, &err);
    int in_t[3] = { x, cw3, cb }, in_r[3] = { x, cw1, cb }, in_y[2] = { r, t };
    int ct = ir_add_node(g, FCN_OP_CONV, "conv3", in_t, 3, &t, 1, &err);
    int cr = ir_add_node(g, FCN_OP_CONV, "proj", in_r, 3, &r, 1, &err);
    int ay = ir_add_node(g, FCN_OP_ADD, "add", in_y, 2, &y, 1, &err);
    assert_true(ct >= 0 && cr >= 0 && ay >= 0);
    int64_t k3[2] = { 3, 3 }, k1[2] = { 1, 1 }, s2[2] = { 2, 2 }, p1[4] = { 1, 1, 1, 1 };
    ir_set_ints(&g->nodes[ct], FCN_ATTR_KERNEL_SHAPE, k3, 2);
    ir_set_ints(&g->nodes[ct], FCN_ATTR_PADS, p1, 4);
    ir_set_ints(&g->nodes[ct], FCN_ATTR_STRIDES, s2, 2);
    ir_set_ints(&g->nodes[cr], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    ir_set_ints(&g->nodes[cr], FCN_ATTR_STRIDES, s2, 2);
    ir_set_int(&g->nodes[ay], FCN_ATTR_ACT, FCN_ACT_RELU);
    size_t size, n_ref, n_fast;
    uint8_t *buf = graph_bytes(g, x, y, &size);
    int fused;
    float *ref = residual_run(buf, size, 1, 1, &fused, &n_ref), *one = NULL;
    float scale = 0;
    for (size_t i = 0; i < n_ref; i++) scale = fabsf(ref[i]) > scale ? fabsf(ref[i]) : scale;
    for (int threads = 1; threads <= 2; threads++) {
        float *fast = residual_run(buf, size, 0, threads, &fused, &n_fast);
        assert_int_equal(n_fast, n_ref);
        if (fcn_simd_enabled()) assert_int_equal(fused, 1);
        for (size_t i = 0; i < n_ref; i++)
            if (fabsf(fast[i] - ref[i]) > 1e-4f * scale)
                fail_msg("%lldx%lldx%lld threads %d: y[%zu] = %g, want %g", (long long)C, (long long)H, (long long)W,
                         threads, i, (double)fast[i], (double)ref[i]);
        if (threads == 1) one = fast;
        else {
            assert_memory_equal(fast, one, n_ref * sizeof(float));
            free(fast);
        }
    }
    free(one);
    free(ref);
    free(buf);
    free(w3);
    free(w1);
    free(b);
}

static void test_strided_pointwise(void **state)
{
    (void)state;
    run_strided_pointwise(1, 32, 112, 112, 32);   /* RegNet's first projection: several bands */
    run_strided_pointwise(2, 20, 29, 101, 24);    /* odd sizes, batch 2 */
    run_strided_pointwise(1, 40, 9, 130, 48);     /* five vectors a subsampled row, a partial one */
}

static void test_threadpool(void **state)
{
    (void)state;
    enum { N = 1003 };
    int hits[N], tid_of[N];
    for (int threads = 1; threads <= 8; threads++) {
        /* 5–8: 1–4 threads with the static shares alone (FULLCONV_NO_STEAL=1) */
        int nosteal = threads > 4;
        if (nosteal) setenv("FULLCONV_NO_STEAL", "1", 1);
        struct fcn_threadpool *p = fcn_threadpool_create(nosteal ? threads - 4 : threads);
        unsetenv("FULLCONV_NO_STEAL");
        if (threads == 1 || threads == 5) assert_null(p);
        fcn_exec x = { p, nosteal ? threads - 4 : threads };
        for (int rep = 0; rep < 50; rep++) {
            memset(hits, 0, sizeof hits);
            cover_ctx c = { hits, tid_of };
            fcn_parallel_for(&x, N, cover, &c);
            for (int i = 0; i < N; i++) assert_int_equal(hits[i], 1);
            if (!nosteal) continue;
            /* static contiguous chunks: thread ids are non-decreasing along the range */
            for (int i = 1; i < N; i++) assert_true(tid_of[i] >= tid_of[i - 1]);
            assert_int_equal(tid_of[N - 1], x.nthreads - 1);
        }
        /* fewer items than threads */
        memset(hits, 0, sizeof hits);
        cover_ctx c = { hits, tid_of };
        fcn_parallel_for(&x, 2, cover, &c);
        assert_int_equal(hits[0] + hits[1], 2);
        fcn_parallel_for(&x, 0, cover, &c);
        memset(hits, 0, sizeof hits);
        nested_ctx nc = { &x, hits, tid_of };
        fcn_parallel_for(&x, 100, nested, &nc);
        for (int i = 0; i < 1000; i++) assert_int_equal(hits[i], 1);
        fcn_threadpool_destroy(p);
    }
    fcn_parallel_for(NULL, 5, cover, &(cover_ctx){ hits, tid_of });
}

/* The Winograd tile per vendor (conv_fast.c's winograd_tile, FULLCONV_COST_MODEL): on the
 * Xeons, 256→256 at 14×14 (9.4 MB of F(4×4) weights) went to F(2×2), as fast inside a model;
 * on Zen 4 F(4×4) runs it 1.25× faster there. 512→512 at 7×7 stays F(2×2) on both (F(4×4)'s
 * four tiles: 2.4× slower). */
static const char *conv3x3_kernel(int64_t C, int64_t K, int64_t H)
{
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t d[4] = { 1, C, H, H }, od[4] = { 1, K, H, H }, wd[4] = { K, C, 3, 3 };
    size_t nw = (size_t)(K * C * 9);
    float *w = calloc(nw, sizeof(float));
    for (size_t i = 0; i < nw; i++) w[i] = (float)((i * 7919) % 201 - 100) / 8000.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, d, &err);
    int cw = ir_add_const(g, "w", FC_DT_F32, 4, wd, w, nw * sizeof(float), &err);
    int y = ir_add_value(g, "y", FC_DT_F32, 4, od, &err);
    int in[2] = { x, cw };
    int c = ir_add_node(g, FCN_OP_CONV, "conv", in, 2, &y, 1, &err);
    assert_true(x >= 0 && cw >= 0 && y >= 0 && c >= 0);
    int64_t k3[2] = { 3, 3 }, p1[4] = { 1, 1, 1, 1 };
    ir_set_ints(&g->nodes[c], FCN_ATTR_KERNEL_SHAPE, k3, 2);
    ir_set_ints(&g->nodes[c], FCN_ATTR_PADS, p1, 4);
    size_t size;
    uint8_t *buf = graph_bytes(g, x, y, &size);
    free(w);
    fcn_model *m;
    fcn_session *s;
    if (fcn_model_open_memory(buf, size, "conv.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
    fcn_session_options opt = { 1, 0, NULL, 0 };
    if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
    static char kernel[64];
    kernel[0] = 0;
    for (int i = 0; i < fcn_session_num_nodes(s); i++) {
        fcn_node_info info;
        fcn_session_node_info(s, i, &info);
        if (!strcmp(info.op, "Conv")) snprintf(kernel, sizeof kernel, "%s", info.kernel);
    }
    fcn_session_destroy(s);
    fcn_model_close(m);
    free(buf);
    return kernel;
}

static void test_cost_model_vendor(void **state)
{
    (void)state;
    if (!fcn_simd_enabled()) skip();
    static const struct { const char *vendor; int64_t C, K, H; const char *tile; } cases[] = {
        { "intel", 256, 256, 14, "f2x2" }, { "amd", 256, 256, 14, "f4x4" },
        { "intel", 512, 512, 7, "f2x2" },  { "amd", 512, 512, 7, "f2x2" },
        { "intel", 64, 64, 56, "f4x4" },   { "amd", 64, 64, 56, "f4x4" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("FULLCONV_COST_MODEL", cases[i].vendor, 1);
        assert_int_equal(fcn_cpu_is_amd(), !strcmp(cases[i].vendor, "amd"));
        const char *k = conv3x3_kernel(cases[i].C, cases[i].K, cases[i].H);
        if (!strstr(k, cases[i].tile))
            fail_msg("%s: %lld→%lld at %lld×%lld runs %s, want winograd-%s", cases[i].vendor, (long long)cases[i].C,
                     (long long)cases[i].K, (long long)cases[i].H, (long long)cases[i].H, k, cases[i].tile);
    }
    unsetenv("FULLCONV_COST_MODEL");
}

/* The plan's bound over the Winograd tile (conv_fast.c fcn_fast_conv_fit_scratch): a 13×13
 * 384→256 layer is F(4×4) by Zen 4's costs, but its V and M (1.47 MB: the map is one 16-tile
 * panel) do not fit beside its input and output under the graph's two-largest bound (a 1.2 MB
 * input before it); F(2×2) in one-row blocks does, and the session takes it. On two threads
 * per-thread blocks do not fit either: the blocks shared by the threads (winograd.c, shared)
 * do, with the bits of one thread. Against the reference kernels. */
static void test_wino_fits_bound(void **state)
{
    (void)state;
    if (!fcn_simd_enabled()) skip();
    fc_error err = { 0, "" };
    ir_graph *g = ir_graph_new();
    int64_t dx[4] = { 1, 32, 97, 97 }, dt[4] = { 1, 384, 13, 13 }, dy[4] = { 1, 256, 13, 13 };
    int64_t w1d[4] = { 384, 32, 1, 1 }, w2d[4] = { 256, 384, 3, 3 };
    size_t n1 = 384 * 32, n2 = (size_t)256 * 384 * 9;
    float *w1 = malloc(n1 * sizeof(float)), *w2 = malloc(n2 * sizeof(float));
    for (size_t i = 0; i < n1; i++) w1[i] = (float)((i * 7919) % 201 - 100) / 2000.0f;
    for (size_t i = 0; i < n2; i++) w2[i] = (float)((i * 104729) % 201 - 100) / 20000.0f;
    int x = ir_add_value(g, "x", FC_DT_F32, 4, dx, &err);
    int cw1 = ir_add_const(g, "w1", FC_DT_F32, 4, w1d, w1, n1 * sizeof(float), &err);
    int cw2 = ir_add_const(g, "w2", FC_DT_F32, 4, w2d, w2, n2 * sizeof(float), &err);
    int t = ir_add_value(g, "t", FC_DT_F32, 4, dt, &err), y = ir_add_value(g, "y", FC_DT_F32, 4, dy, &err);
    int in1[2] = { x, cw1 }, in2[2] = { t, cw2 };
    int c1 = ir_add_node(g, FCN_OP_CONV, "down", in1, 2, &t, 1, &err);
    int c2 = ir_add_node(g, FCN_OP_CONV, "conv", in2, 2, &y, 1, &err);
    assert_true(c1 >= 0 && c2 >= 0);
    int64_t k1[2] = { 1, 1 }, s8[2] = { 8, 8 }, k3[2] = { 3, 3 }, p1[4] = { 1, 1, 1, 1 };
    ir_set_ints(&g->nodes[c1], FCN_ATTR_KERNEL_SHAPE, k1, 2);
    ir_set_ints(&g->nodes[c1], FCN_ATTR_STRIDES, s8, 2);
    ir_set_ints(&g->nodes[c2], FCN_ATTR_KERNEL_SHAPE, k3, 2);
    ir_set_ints(&g->nodes[c2], FCN_ATTR_PADS, p1, 4);
    size_t size, n_ref, n_fast;
    uint8_t *buf = graph_bytes(g, x, y, &size);
    free(w1);
    free(w2);
    int fused;
    float *ref = residual_run(buf, size, 1, 1, &fused, &n_ref), *one = NULL;
    setenv("FULLCONV_COST_MODEL", "amd", 1);
    /* one thread: F(2×2) in blocks; two: F(2×2) in blocks shared by the threads (per-thread
     * blocks of one tile row need 2 × 0.66 MB), the same bits as one thread */
    for (int threads = 1; threads <= 2; threads++) {
        fcn_model *m;
        fcn_session *s;
        if (fcn_model_open_memory(buf, size, "wino.fcn", 0, &m, &err)) fail_msg("%s", err.msg);
        fcn_session_options opt = { threads, 0, NULL, 0 };
        if (fcn_session_create(m, &opt, &s, &err)) fail_msg("%s", err.msg);
        const char *kernel = "";
        for (int i = 0; i < fcn_session_num_nodes(s); i++) {
            fcn_node_info info;
            fcn_session_node_info(s, i, &info);
            if (!strcmp(info.name, "conv")) kernel = info.kernel;
        }
        if (!strstr(kernel, "f2x2")) fail_msg("%d threads: the 13×13 layer runs %s, want winograd-f2x2", threads, kernel);
        size_t peak, bound;
        fcn_session_plan_stats(s, &peak, &bound);
        if (fcn_session_arena_bytes(s) > bound)
            fail_msg("%d threads: arena %zu over the bound %zu", threads, fcn_session_arena_bytes(s), bound);
        fcn_session_destroy(s);
        fcn_model_close(m);
        float *fast = residual_run(buf, size, 0, threads, &fused, &n_fast);
        assert_int_equal(n_fast, n_ref);
        float scale = 0;
        for (size_t i = 0; i < n_ref; i++) scale = fabsf(ref[i]) > scale ? fabsf(ref[i]) : scale;
        for (size_t i = 0; i < n_ref; i++)
            if (fabsf(fast[i] - ref[i]) > 1e-4f * scale) fail_msg("y[%zu] = %g, want %g", i, (double)fast[i], (double)ref[i]);
        if (one) {
            assert_memory_equal(fast, one, n_ref * sizeof(float));
            free(fast);
        } else {
            one = fast;
        }
    }
    unsetenv("FULLCONV_COST_MODEL");
    free(one);
    free(ref);
    free(buf);
}

static void test_kernel_switch(void **state)
{
    (void)state;
    int prev = fcn_use_reference_kernels(1);
    assert_int_equal(fcn_simd_enabled(), 0);
    assert_string_equal(fcn_kernel_isa(), "reference");
    assert_int_equal(fcn_use_reference_kernels(prev), 1);
    if (!prev && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        assert_true(strncmp(fcn_kernel_isa(), "avx2+fma", 8) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_chain),
        cmocka_unit_test(test_plan_uneven_chain),
        cmocka_unit_test(test_plan_random),
        cmocka_unit_test(test_plan_gaps),
        cmocka_unit_test(test_session_threads),
        cmocka_unit_test(test_session_chain_reuses_buffers),
        cmocka_unit_test(test_session_outputs_not_clobbered),
        cmocka_unit_test(test_concat_views),
        cmocka_unit_test(test_concat_prefix_family),
        cmocka_unit_test(test_residual_fusion),
        cmocka_unit_test(test_conv_in_place),
        cmocka_unit_test(test_reshape_views),
        cmocka_unit_test(test_slice_views),
        cmocka_unit_test(test_pool_fusion),
        cmocka_unit_test(test_bn_fusion),
        cmocka_unit_test(test_expand_fusion),
        cmocka_unit_test(test_dw_fusion),
        cmocka_unit_test(test_strided_pointwise),
        cmocka_unit_test(test_threadpool),
        cmocka_unit_test(test_cost_model_vendor),
        cmocka_unit_test(test_wino_fits_bound),
        cmocka_unit_test(test_kernel_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
