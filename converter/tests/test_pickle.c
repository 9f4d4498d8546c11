/* test_pickle.c — the restricted pickle VM: every opcode family on hand-written pickles,
 * allowlist refusals naming the global, and the caps (nesting, memo, strings, LONGs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "converter/pickle.h"
#include "common/fc_zip.h"

#define P(s) (const uint8_t *)(s), sizeof(s) - 1

static fcv_pickle *load_ok(const uint8_t *buf, size_t size, int flags)
{
    fcv_pickle *p = NULL;
    fc_error err = {0};
    int rc = fcv_pickle_load(buf, size, "m.pt", "data.pkl", flags, &p, &err);
    if (rc) fail_msg("unexpected error: %s", err.msg);
    return p;
}

static const char *load_err(const uint8_t *buf, size_t size, int flags, fc_error *err)
{
    fcv_pickle *p = NULL;
    memset(err, 0, sizeof *err);
    int rc = fcv_pickle_load(buf, size, "m.pt", "data.pkl", flags, &p, err);
    if (rc == 0) {
        fcv_pickle_free(p);
        fail_msg("pickle was accepted");
    }
    assert_int_not_equal(err->code, 0);
    return err->msg;
}

static void test_scalars_and_containers(void **state)
{
    (void)state;
    /* {'a': 1, 'b': [-2, 3.5, None, True, False, 'x', b'yz', (300, 70000)], 'c': big} */
    static const char pk[] =
        "\x80\x02}q\x00(X\x01\x00\x00\x00" "aK\x01"
        "\x8c\x01" "b]q\x01(J\xfe\xff\xff\xff" "G@\x0c\x00\x00\x00\x00\x00\x00" "N\x88\x89"
        "X\x01\x00\x00\x00xC\x02yz" "M\x2c\x01J\x70\x11\x01\x00\x86" "e"
        "X\x01\x00\x00\x00" "c\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f"
        "X\x01\x00\x00\x00" "d\x8a\x02\x00\xff"     /* LONG1 -256 */
        "X\x01\x00\x00\x00" "e\x8a\x00"             /* LONG1 0 */
        "u.";
    fcv_pickle *p = load_ok(P(pk), 0);
    fcv_pk *root = fcv_pickle_root(p);
    assert_int_equal(root->kind, FCV_PK_DICT);
    assert_int_equal((int)root->n, 10);
    assert_int_equal(fcv_pk_dict_get(root, "a")->i, 1);
    fcv_pk *b = fcv_pk_dict_get(root, "b");
    assert_int_equal(b->kind, FCV_PK_LIST);
    assert_int_equal((int)b->n, 8);
    assert_int_equal(b->items[0]->i, -2);
    assert_true(b->items[1]->kind == FCV_PK_FLOAT && b->items[1]->f == 3.5);
    assert_int_equal(b->items[2]->kind, FCV_PK_NONE);
    assert_true(b->items[3]->kind == FCV_PK_BOOL && b->items[3]->i == 1);
    assert_true(b->items[4]->kind == FCV_PK_BOOL && b->items[4]->i == 0);
    assert_true(fcv_pk_is_str(b->items[5], "x"));
    assert_true(b->items[6]->kind == FCV_PK_BYTES && b->items[6]->len == 2 && memcmp(b->items[6]->s, "yz", 2) == 0);
    fcv_pk *t = b->items[7];
    assert_true(t->kind == FCV_PK_TUPLE && t->n == 2 && t->items[0]->i == 300 && t->items[1]->i == 70000);
    assert_true(fcv_pk_dict_get(root, "c")->i == INT64_MAX);
    assert_int_equal(fcv_pk_dict_get(root, "d")->i, -256);
    assert_int_equal(fcv_pk_dict_get(root, "e")->i, 0);
    assert_null(fcv_pk_dict_get(root, "zz"));
    fcv_pickle_free(p);
}

static void test_memo_frames_and_text_ops(void **state)
{
    (void)state;
    /* protocol 4: FRAME, SHORT_BINUNICODE + MEMOIZE, BINGET, LONG_BINPUT/GET, DUP, POP, POP_MARK,
     * text INT/LONG/FLOAT/PUT/GET, LIST/DICT/TUPLE with marks, TUPLE1/3, SETITEM, APPEND */
    static const char pk[] =
        "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00"
        "((\x8c\x02hi\x94h\x00r\x05\x00\x00\x00j\x05\x00\x00\x00" "l"      /* ['hi','hi','hi'] */
        "I42\nL-7L\nF0.25\np9\n0g9\n" "t"                                  /* (list, 42, -7) + 0.25 via memo */
        "2" "0" "(K\x01K\x02" "1"                                          /* DUP, POP, MARK .. POP_MARK */
        "}K\x07K\x08s" "\x85" "]K\x09" "a" "\x87" ".";
    fcv_pickle *p = load_ok(P(pk), 0);
    fcv_pk *root = fcv_pickle_root(p);
    assert_int_equal(root->kind, FCV_PK_TUPLE);
    assert_int_equal((int)root->n, 3);
    fcv_pk *t = root->items[0];
    assert_int_equal((int)t->n, 4);
    fcv_pk *lst = t->items[0];
    assert_int_equal((int)lst->n, 3);
    /* memo references are shared nodes, not copies */
    assert_ptr_equal(lst->items[0], lst->items[1]);
    assert_ptr_equal(lst->items[1], lst->items[2]);
    assert_int_equal(t->items[1]->i, 42);
    assert_int_equal(t->items[2]->i, -7);
    assert_true(t->items[3]->f == 0.25);
    assert_int_equal(root->items[1]->kind, FCV_PK_TUPLE);
    assert_int_equal(root->items[1]->items[0]->items[1]->i, 8);
    assert_int_equal(root->items[2]->items[0]->i, 9);
    fcv_pickle_free(p);
}

static void test_torch_records(void **state)
{
    (void)state;
    /* OrderedDict([('w', _rebuild_tensor_v2(PERSID(('storage', FloatStorage, '0', 'cpu', 6)), 0, (2,3), (3,1), False, OrderedDict()))])
     * with BUILD state {'_metadata': {}} on the dict, plus a module record via NEWOBJ + BUILD */
    static const char pk[] =
        "\x80\x02" "ccollections\nOrderedDict\nq\x00)Rq\x01("
        "X\x01\x00\x00\x00w"
        "ctorch._utils\n_rebuild_tensor_v2\n"
        "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x06tQ"
        "K\x00K\x02K\x03\x86K\x03K\x01\x86\x89h\x00)RtR"
        "X\x01\x00\x00\x00m" "ctorch.nn.modules.conv\nConv2d\n)\x81}X\x06\x00\x00\x00groupsK\x01sb"
        "X\x01\x00\x00\x00s" "c__builtin__\nset\n]\x85R"
        "X\x01\x00\x00\x00t" "\x8f(K\x01K\x02\x90" "X\x01\x00\x00\x00" "f" "(K\x03\x91"
        "X\x01\x00\x00\x00" "b" "c_codecs\nencode\nX\x03\x00\x00\x00\xc3\xbf" "AX\x06\x00\x00\x00latin1\x86R"
        "X\x01\x00\x00\x00" "d" "ctorch\nfloat16\n"
        "u}X\x09\x00\x00\x00_metadata}sb.";
    fcv_pickle *p = load_ok(P(pk), 0);
    fcv_pk *root = fcv_pickle_root(p);
    assert_int_equal(root->kind, FCV_PK_DICT);
    assert_non_null(fcv_pk_dict_get(root->state, "_metadata"));
    fcv_pk *w = fcv_pk_dict_get(root, "w");
    assert_int_equal(w->kind, FCV_PK_OBJECT);
    assert_string_equal(fcv_pk_class(w), "torch._utils._rebuild_tensor_v2");
    assert_int_equal((int)w->args->n, 6);
    fcv_pk *pid = w->args->items[0];
    assert_int_equal(pid->kind, FCV_PK_PERSID);
    assert_true(fcv_pk_is_str(pid->pid->items[0], "storage"));
    assert_string_equal(pid->pid->items[1]->s, "torch.FloatStorage");
    assert_int_equal(pid->pid->items[4]->i, 6);
    assert_int_equal(w->args->items[5]->kind, FCV_PK_DICT);   /* OrderedDict() -> empty dict */
    fcv_pk *m = fcv_pk_dict_get(root, "m");
    assert_string_equal(fcv_pk_class(m), "torch.nn.modules.conv.Conv2d");
    assert_int_equal(fcv_pk_dict_get(m->state, "groups")->i, 1);
    assert_int_equal(fcv_pk_dict_get(root, "s")->kind, FCV_PK_SET);
    fcv_pk *t = fcv_pk_dict_get(root, "t");
    assert_true(t->kind == FCV_PK_SET && t->n == 2);
    fcv_pk *f = fcv_pk_dict_get(root, "f");
    assert_true(f->kind == FCV_PK_SET && f->n == 1);
    fcv_pk *b = fcv_pk_dict_get(root, "b");
    assert_true(b->kind == FCV_PK_BYTES && b->len == 2 && (uint8_t)b->s[0] == 0xff && b->s[1] == 'A');
    assert_string_equal(fcv_pk_class(fcv_pk_dict_get(root, "d")), "torch.float16");
    fcv_pickle_free(p);

    /* weights-only mode refuses module classes, still reads tensors */
    fc_error err;
    assert_non_null(strstr(load_err(P(pk), FCV_PICKLE_WEIGHTS_ONLY, &err),
                           "global 'torch.nn.modules.conv.Conv2d' is not allowed"));
}

static void test_refused_globals(void **state)
{
    (void)state;
    struct { const uint8_t *pk; size_t n; const char *name; } cases[] = {
        {P("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00idq\x00\x85R."), "os.system"},
        {P("\x80\x02" "cposix\nsystem\n."), "posix.system"},
        {P("\x80\x02" "cnt\nsystem\n."), "nt.system"},
        {P("\x80\x02" "c__builtin__\neval\n."), "builtins.eval"},
        {P("\x80\x04\x8c\x08" "builtins\x8c\x04" "exec\x93."), "builtins.exec"},
        {P("\x80\x04\x8c\x08" "builtins\x8c\x07" "getattr\x93."), "builtins.getattr"},
        {P("\x80\x02" "csubprocess\nPopen\n."), "subprocess.Popen"},
        {P("\x80\x02" "ctorch.storage\n_load_from_bytes\n."), "torch.storage._load_from_bytes"},
        {P("\x80\x02" "ctorch\nload\n."), "torch.load"},
        {P("\x80\x02" "ctorch.nn.modules\nmodule\n."), "torch.nn.modules.module"},
        {P("\x80\x02" "c__main__\nNet\n."), "__main__.Net"},
        {P("\x80\x02" "ctorch\nFooStorage\n."), "torch.FooStorage"},
        {P("\x80\x02" "ccopy_reg\n_reconstructor\n."), "copyreg._reconstructor"},
        {P("\x80\x02" "cnumpy.core.multiarray\n_reconstruct\n."), "numpy.core.multiarray._reconstruct"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fc_error err;
        const char *msg = load_err(cases[i].pk, cases[i].n, 0, &err);
        char want[200];
        snprintf(want, sizeof want, "m.pt: data.pkl: global '%s' is not allowed (fullconv never executes code", cases[i].name);
        if (!strstr(msg, want)) fail_msg("case %zu: got '%s'", i, msg);
        assert_int_equal(err.code, FC_EINPUT);
    }
    /* a name with characters no Python identifier has */
    fc_error err;
    assert_non_null(strstr(load_err(P("\x80\x02" "ctorch\nFloat Storage\n."), 0, &err), "is not allowed"));
    /* STACK_GLOBAL of non-strings */
    assert_non_null(strstr(load_err(P("\x80\x04K\x01K\x02\x93."), 0, &err), "STACK_GLOBAL"));
    /* applying something that is not a global */
    assert_non_null(strstr(load_err(P("\x80\x02K\x01)R."), 0, &err), "only allowed globals"));
}

static void test_caps(void **state)
{
    (void)state;
    fc_error err;
    /* deep nesting: 300 MARKs */
    uint8_t deep[400];
    size_t n = 0;
    deep[n++] = 0x80; deep[n++] = 2;
    for (int i = 0; i < 300; i++) deep[n++] = '(';
    deep[n++] = '.';
    assert_non_null(strstr(load_err(deep, n, 0, &err), "nesting deeper than 100"));
    /* deep nesting without marks: ] then 200 x (TUPLE1) */
    n = 0;
    deep[n++] = 0x80; deep[n++] = 2; deep[n++] = ']';
    for (int i = 0; i < 200; i++) deep[n++] = 0x85;
    deep[n++] = '.';
    assert_non_null(strstr(load_err(deep, n, 0, &err), "nesting deeper than 100"));
    /* huge LONG4 and a 9-byte LONG1 */
    assert_non_null(strstr(load_err(P("\x80\x02\x8b\x00\x00\x00\x40."), 0, &err), "integer of 1073741824 bytes is too large"));
    assert_non_null(strstr(load_err(P("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01."), 0, &err), "too large"));
    /* memo index over the cap */
    assert_non_null(strstr(load_err(P("\x80\x02Nr\xff\xff\xff\x7f."), 0, &err), "memo index 2147483647 exceeds"));
    assert_non_null(strstr(load_err(P("\x80\x02h\x05."), 0, &err), "never stored"));
    /* string length: declared beyond the file, and beyond the limit */
    assert_non_null(strstr(load_err(P("\x80\x02X\xff\xff\x00\x00" "abc."), 0, &err), "truncated"));
    fc_limits saved = fc_limits_current;
    fc_limits_current.max_string_bytes = 2;
    assert_non_null(strstr(load_err(P("\x80\x02X\x03\x00\x00\x00" "abc."), 0, &err), "exceeds the limit 2"));
    fc_limits_current = saved;
    /* structural errors */
    assert_non_null(strstr(load_err(P("\x80\x02K\x01"), 0, &err), "no STOP"));
    assert_non_null(strstr(load_err(P("\x80\x02."), 0, &err), "stack underflow"));
    assert_non_null(strstr(load_err(P("\x80\x02(."), 0, &err), "stack underflow"));   /* STOP can't pop across a mark */
    assert_non_null(strstr(load_err(P("\x80\x02t."), 0, &err), "no MARK"));
    assert_non_null(strstr(load_err(P("\x80\x02\xff."), 0, &err), "unknown opcode 0xff"));
    assert_non_null(strstr(load_err(P("\x80\x09."), 0, &err), "protocol 9"));
    assert_non_null(strstr(load_err(P("\x80\x02K\x01K\x02" "a."), 0, &err), "APPEND on a int"));
    assert_non_null(strstr(load_err(P("\x80\x02}K\x01s."), 0, &err), "stack underflow"));
    assert_non_null(strstr(load_err(P("\x80\x02(K\x01" "d."), 0, &err), "odd item count"));
    assert_non_null(strstr(load_err(P("\x80\x02\x82\x01."), 0, &err), "EXT"));
    assert_non_null(strstr(load_err(P("\x80\x02" "S'x'\n."), 0, &err), "not supported"));
    assert_non_null(strstr(load_err(P("\x80\x02" "c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00utf8\x86R."), 0, &err),
                           "latin1"));
}

static void test_memo_bomb_is_cheap(void **state)
{
    (void)state;
    /* L0 = [0]*1000; L(k+1) = [Lk]*1000 for 5 levels: 10^15 leaves if copied, ~6000 nodes as references */
    size_t cap = 64 * 1024, n = 0;
    uint8_t *pk = malloc(cap);
    pk[n++] = 0x80; pk[n++] = 2;
    pk[n++] = ']'; pk[n++] = '(';
    for (int i = 0; i < 1000; i++) { pk[n++] = 'K'; pk[n++] = 0; }
    pk[n++] = 'e'; pk[n++] = 'q'; pk[n++] = 0; pk[n++] = '0';
    for (int level = 1; level <= 5; level++) {
        pk[n++] = ']'; pk[n++] = '(';
        for (int i = 0; i < 1000; i++) { pk[n++] = 'h'; pk[n++] = (uint8_t)(level - 1); }
        pk[n++] = 'e'; pk[n++] = 'q'; pk[n++] = (uint8_t)level;
        if (level < 5) pk[n++] = '0';
    }
    pk[n++] = '.';
    fcv_pickle *p = load_ok(pk, n, 0);
    fcv_pk *root = fcv_pickle_root(p);
    assert_int_equal((int)root->n, 1000);
    assert_int_equal(root->depth, 7);   /* ints 1, L0 2, ..., L5 7 */
    fcv_pickle_free(p);
    free(pk);
}

static void test_self_reference_does_not_hang(void **state)
{
    (void)state;
    /* L = []; L.append(L) */
    fcv_pickle *p = load_ok(P("\x80\x02]q\x00h\x00" "a."), 0);
    fcv_pk *root = fcv_pickle_root(p);
    assert_ptr_equal(root->items[0], root);
    fcv_pickle_free(p);
}

static void test_allowlist_function(void **state)
{
    (void)state;
    assert_true(fcv_pickle_global_allowed("torch.BFloat16Storage", FCV_PICKLE_WEIGHTS_ONLY));
    assert_true(fcv_pickle_global_allowed("torch.float32", FCV_PICKLE_WEIGHTS_ONLY));
    assert_true(fcv_pickle_global_allowed("torch.Size", FCV_PICKLE_WEIGHTS_ONLY));
    assert_false(fcv_pickle_global_allowed("torch.Storage", 0));
    assert_false(fcv_pickle_global_allowed("torch.system", 0));
    assert_true(fcv_pickle_global_allowed("torchvision.models.resnet.ResNet", 0));
    assert_false(fcv_pickle_global_allowed("torchvision.models.resnet.ResNet", FCV_PICKLE_WEIGHTS_ONLY));
    assert_true(fcv_pickle_global_allowed("__torch__.torch.nn.modules.conv.Conv2d", 0));
    assert_false(fcv_pickle_global_allowed("torchvision.models.", 0));
    assert_true(fcv_pickle_global_allowed("torchvision.ops.misc.Conv2dNormActivation", 0));
    assert_false(fcv_pickle_global_allowed("torchvision.ops.misc.", 0));
    assert_false(fcv_pickle_global_allowed("torchvision.ops.boxes.nms", 0));
    assert_false(fcv_pickle_global_allowed("torchvision.io.read_file", 0));
}

/* Mutations of a real torch.save pickle (bit flips, byte changes, truncation, splices): each
 * must load or fail with a message, never crash or hang (run under ASan by `make test-asan`). */
static void test_mutations_never_crash(void **state)
{
    (void)state;
    fc_zip *z = NULL;
    fc_error err = {0};
    if (fc_zip_open("testdata/torch/seq_whole.pt", &z, &err)) {
        skip();   /* run from the repository root */
        return;
    }
    int idx = fc_zip_find(z, "seq_whole/data.pkl");
    assert_true(idx >= 0);
    uint8_t *orig;
    size_t size;
    assert_int_equal(fc_zip_read(z, idx, &orig, &size, &err), 0);
    fc_zip_close(z);
    fcv_pickle *p = load_ok(orig, size, 0);
    fcv_pickle_free(p);
    uint8_t *buf = malloc(size + 16);
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int loaded = 0, refused = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, orig, size);
        size_t n = size;
        int edits = 1 + (int)(rng % 4);
        for (int e = 0; e < edits; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(rng >> 33) % n;
            switch ((rng >> 20) % 4) {
            case 0: buf[at] ^= (uint8_t)(1u << ((rng >> 8) % 8)); break;
            case 1: buf[at] = (uint8_t)(rng >> 40); break;
            case 2: n = at + 1; break;                                     /* truncate */
            case 3: memmove(buf + at, buf + (at + 7) % n, n - (at > (at + 7) % n ? at : (at + 7) % n)); break;
            }
        }
        fc_error e2 = {0};
        p = NULL;
        if (fcv_pickle_load(buf, n, "m.pt", "data.pkl", 0, &p, &e2) == 0) {
            loaded++;
            fcv_pickle_free(p);
        } else {
            assert_true(e2.msg[0] != 0);
            refused++;
        }
    }
    assert_int_equal(loaded + refused, 3000);
    assert_true(refused > 1000);
    free(buf);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars_and_containers),
        cmocka_unit_test(test_memo_frames_and_text_ops),
        cmocka_unit_test(test_torch_records),
        cmocka_unit_test(test_refused_globals),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_memo_bomb_is_cheap),
        cmocka_unit_test(test_self_reference_does_not_hang),
        cmocka_unit_test(test_allowlist_function),
        cmocka_unit_test(test_mutations_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
