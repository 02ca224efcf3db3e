/*
 * The loader and the document model: positions, YAML 1.1 typing, anchors and
 * merge keys, JSON, Lists, Helm sources, and every named limit on bad input.
 */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include <kube5xx/kube5xx.h>

#include "k5_check.h"
#include "unit_test_util.h"
#include "k5_internal.h"

static loaded load_fmt(const char *text, size_t len, k5_format fmt)
{
    return unit_load("in.yaml", "default", text, len, fmt);
}

static loaded load(const char *text)
{
    return load_fmt(text, strlen(text), K5_FORMAT_AUTO);
}

static void done(loaded *l)
{
    k5_docset_free(&l->set);
    assert_null(l->set);
}

static const k5_object *obj(const loaded *l, size_t i)
{
    const k5_object *o = k5_docset_object(l->set, i);
    assert_non_null(o);
    return o;
}

static void expect_pos(const loaded *l, const k5_object *o, const k5_node *n, uint32_t line,
                       uint32_t col)
{
    assert_non_null(n);
    k5_position p = k5_docset_position(l->set, o->file, n);
    if (p.line != line || p.column != col)
        fail_msg("expected %u:%u, got %u:%u", line, col, p.line, p.column);
}

static void expect_error(const char *text, size_t len, k5_status st, uint32_t line,
                         const char *needle)
{
    loaded l = load_fmt(text, len, K5_FORMAT_AUTO);
    if (l.st != st || (line && l.err.line != line) || !strstr(l.err.msg, needle))
        fail_msg("want status %d line %u '%s'; got %d %u:%u '%s'", st, line, needle, l.st,
                 l.err.line, l.err.column, l.err.msg);
    assert_int_equal(k5_docset_object_count(l.set), 0);
    assert_non_null(l.err.file);
    done(&l);
}

/* k5__path_at: the value when set, else the deepest existing map and the rest of the path. */
static void test_loader__path_at_value_or_deepest_parent(void **state)
{
    (void)state;
    loaded l = load("apiVersion: autoscaling/v2\n"
                    "kind: HorizontalPodAutoscaler\n"
                    "spec:\n"
                    "  minReplicas: 2\n"
                    "  behavior: null\n"
                    "  metrics: [a]\n");
    const k5_object *o = obj(&l, 0);
    const char *missing = "x";
    const k5_node *n = k5__path_at(o->root, "spec.minReplicas", &missing);
    assert_null(missing);
    expect_pos(&l, o, n, 4, 16);
    n = k5__path_at(o->root, "spec.maxReplicas", &missing);
    assert_string_equal(missing, "maxReplicas");
    expect_pos(&l, o, n, 4, 3); /* the spec map: its first key */
    n = k5__path_at(o->root, "spec.behavior.scaleDown", &missing);
    assert_string_equal(missing, "behavior.scaleDown"); /* null is absent */
    n = k5__path_at(o->root, "spec.metrics.type", &missing);
    assert_string_equal(missing, "metrics.type"); /* a list is not walked as a map */
    n = k5__path_at(o->root, "status.replicas", &missing);
    assert_ptr_equal(n, o->root);
    assert_string_equal(missing, "status.replicas");
    done(&l);
}

static void test_loader__positions_across_documents(void **state)
{
    (void)state;
    loaded l = load("# leading comment\n"
                    "apiVersion: v1\n"
                    "kind: Service\n"
                    "metadata: {name: a}\n"
                    "---\n"
                    "\n"
                    "apiVersion: apps/v1\n"
                    "kind: Deployment\n"
                    "metadata:\n"
                    "  name: b\n"
                    "spec:\n"
                    "  template:\n"
                    "    spec:\n"
                    "      containers:\n"
                    "        - name: c\n"
                    "          image: \"x\"\n");
    assert_int_equal(l.st, K5_OK);
    assert_int_equal(k5_docset_object_count(l.set), 2);
    const k5_object *a = obj(&l, 0), *b = obj(&l, 1);
    assert_int_equal(a->kind_id, K5_KIND_SERVICE);
    expect_pos(&l, a, k5_map_get(a->metadata, "name"), 4, 18);
    assert_int_equal(b->kind_id, K5_KIND_DEPLOYMENT);
    const k5_node *ctr = k5_seq_at(k5_map_get(b->pod_spec, "containers"), 0);
    expect_pos(&l, b, ctr, 15, 11);
    expect_pos(&l, b, k5_map_get(ctr, "image"), 16, 18);
    assert_true(k5_node_quoted(k5_map_get(ctr, "image")));
    assert_string_equal(k5_docset_default_namespace(l.set), "default");
    assert_int_equal(b->namespace_.n, 7);
    done(&l);
}

static void test_loader__crlf_bom_and_utf8_columns(void **state)
{
    (void)state;
    loaded l = load("\xEF\xBB\xBF"
                    "apiVersion: v1\r\n"
                    "kind: Pod\r\n"
                    "metadata:\r\n"
                    "  name: p\r\n"
                    "  annotations: {d\xC3\xA9j\xC3\xA0: \"\xE2\x9C\x93\", x: y}\r\n");
    assert_int_equal(l.st, K5_OK);
    const k5_object *o = obj(&l, 0);
    expect_pos(&l, o, k5_map_get(o->metadata, "name"), 4, 9);
    /* Columns count characters: "déjà" is 4 characters, 6 bytes. */
    expect_pos(&l, o, k5_map_get(o->annotations, "x"), 5, 31);
    k5_str v = k5_node_str(k5_map_get(o->annotations, "d\xC3\xA9j\xC3\xA0"));
    assert_int_equal(v.n, 3);
    assert_memory_equal(v.p, "\xE2\x9C\x93", 3);
    done(&l);
}

/* One long line of JSON with multi-byte characters: columns stay exact across the position
 * index's strides (a column is counted from stride checkpoints, not from the line start). */
static void test_loader__columns_on_one_long_utf8_line(void **state)
{
    (void)state;
    enum { ITEMS = 400 };
    size_t cap = ITEMS * 128 + 64, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    uint32_t col[ITEMS];
    size_t chars = 0; /* characters written so far */
    const char *head = "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[";
    n += (size_t)snprintf(buf + n, cap - n, "%s", head);
    chars += strlen(head);
    for (int i = 0; i < ITEMS; i++) {
        if (i) {
            buf[n++] = ',';
            chars++;
        }
        /* {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c<i>","annotations":{"a":"é✓"}}} */
        const char *a = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":";
        n += (size_t)snprintf(buf + n, cap - n, "%s", a);
        chars += strlen(a);
        col[i] = (uint32_t)chars + 1; /* the name's opening quote */
        int w = snprintf(buf + n, cap - n, "\"c%d\",\"annotations\":{\"a\":\"\xC3\xA9\xE2\x9C\x93\"}}}",
                         i);
        n += (size_t)w;
        chars += (size_t)w - 3; /* é is 2 bytes, ✓ 3: 5 bytes, 2 characters */
    }
    n += (size_t)snprintf(buf + n, cap - n, "]}");
    loaded l = load_fmt(buf, n, K5_FORMAT_JSON);
    free(buf);
    assert_int_equal(l.st, K5_OK);
    assert_int_equal(k5_docset_object_count(l.set), ITEMS);
    for (int i = 0; i < ITEMS; i += 37) {
        const k5_object *o = obj(&l, (size_t)i);
        expect_pos(&l, o, k5_map_get(o->metadata, "name"), 1, col[i]);
    }
    done(&l);
}

static void test_loader__yaml11_scalar_types(void **state)
{
    (void)state;
    loaded l = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: t}\ndata:\n"
                    "  a: yes\n  b: \"yes\"\n  c: off\n  d: 0x1F\n  e: 0o17\n  f: 017\n"
                    "  g: ~\n  h: null\n  i: 1_000\n  j: 1.5\n  k: .inf\n  l: 1e3\n"
                    "  m: !!str 42\n  n: 09\n  o: On\n  p: y\n  q: '0x1F'\n  r:\n  s: -12\n");
    assert_int_equal(l.st, K5_OK);
    const k5_node *d = k5_map_get(obj(&l, 0)->root, "data");
    struct {
        const char *key;
        k5_node_type t;
    } want[] = {{"a", K5_NODE_BOOL},  {"b", K5_NODE_STR},   {"c", K5_NODE_BOOL},
                {"d", K5_NODE_INT},   {"e", K5_NODE_INT},   {"f", K5_NODE_INT},
                {"g", K5_NODE_NULL},  {"h", K5_NODE_NULL},  {"i", K5_NODE_INT},
                {"j", K5_NODE_FLOAT}, {"k", K5_NODE_FLOAT}, {"l", K5_NODE_FLOAT},
                {"m", K5_NODE_STR},   {"n", K5_NODE_FLOAT}, {"o", K5_NODE_BOOL},
                {"p", K5_NODE_BOOL},  {"q", K5_NODE_STR},   {"r", K5_NODE_NULL},
                {"s", K5_NODE_INT}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (k5_node_kind(k5_map_get(d, want[i].key)) != want[i].t)
            fail_msg("key %s: type %d, want %d", want[i].key, k5_node_kind(k5_map_get(d, want[i].key)),
                     want[i].t);
    int64_t v;
    bool b;
    assert_true(k5_node_int(k5_map_get(d, "d"), &v));
    assert_int_equal(v, 31);
    assert_true(k5_node_int(k5_map_get(d, "e"), &v));
    assert_int_equal(v, 15);
    assert_true(k5_node_int(k5_map_get(d, "f"), &v));
    assert_int_equal(v, 15);
    assert_true(k5_node_int(k5_map_get(d, "i"), &v));
    assert_int_equal(v, 1000);
    assert_true(k5_node_int(k5_map_get(d, "l"), &v));
    assert_int_equal(v, 1000);
    assert_true(k5_node_int(k5_map_get(d, "s"), &v));
    assert_int_equal(v, -12);
    assert_false(k5_node_int(k5_map_get(d, "q"), &v));
    assert_true(k5_node_bool(k5_map_get(d, "a"), &b) && b);
    assert_true(k5_node_bool(k5_map_get(d, "c"), &b) && !b);
    assert_true(k5_node_bool(k5_map_get(d, "o"), &b) && b);
    done(&l);
}

static void test_loader__anchors_aliases_and_merge_keys(void **state)
{
    (void)state;
    loaded l = load("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n"
                    "  labels: &base {app: web, tier: front}\n"
                    "  annotations:\n    <<: *base\n    tier: back\n    extra: x\n"
                    "data:\n  list: [&one 1, *one, *one]\n"
                    "  multi:\n    <<: [{a: 1, b: 1}, {b: 2, c: 3}]\n");
    assert_int_equal(l.st, K5_OK);
    const k5_object *o = obj(&l, 0);
    assert_true(k5_node_is(k5_map_get(o->annotations, "app"), "web"));
    assert_true(k5_node_is(k5_map_get(o->annotations, "tier"), "back")); /* explicit wins */
    assert_int_equal(k5_node_len(o->annotations), 3);
    const k5_node *list = k5_node_at(o->root, "data.list");
    assert_int_equal(k5_node_len(list), 3);
    int64_t v;
    assert_true(k5_node_int(k5_seq_at(list, 2), &v) && v == 1);
    const k5_node *multi = k5_node_at(o->root, "data.multi");
    assert_true(k5_node_text_is(k5_map_get(multi, "b"), "1")); /* the earlier map wins */
    assert_true(k5_node_text_is(k5_map_get(multi, "c"), "3"));
    done(&l);
}

static void test_loader__alias_bomb_is_capped(void **state)
{
    (void)state;
    const char *bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                       "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                       "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    clock_t t0 = clock();
    expect_error(bomb, strlen(bomb), K5_ELIMIT, 0, "K5_MAX_ALIAS_NODES");
    /* Stops early: far below a second even under sanitizers (the full walk is 10^10 nodes). */
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

static void test_loader__recursive_alias_is_an_error(void **state)
{
    (void)state;
    const char *t = "a: &a [1, *a]\n";
    expect_error(t, strlen(t), K5_EPARSE, 1, "unknown or recursive alias");
    const char *u = "a: *nope\n";
    expect_error(u, strlen(u), K5_EPARSE, 1, "unknown or recursive alias");
}

static char *repeat(const char *unit, size_t n, const char *tail)
{
    size_t ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(ul * n + tl + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    memcpy(s + ul * n, tail, tl + 1);
    return s;
}

static void test_loader__deep_nesting_stops_at_the_limit(void **state)
{
    (void)state;
    char *flow = repeat("[", 10000, "");
    clock_t t0 = clock();
    expect_error(flow, strlen(flow), K5_ELIMIT, 1, "K5_MAX_DEPTH");
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
    free(flow);
    /* Block nesting: "- " repeated on one line is a sequence per item. */
    char *block = repeat("- ", 10000, "x\n");
    expect_error(block, strlen(block), K5_ELIMIT, 1, "K5_MAX_DEPTH");
    free(block);
    char *json = repeat("{\"a\":", 10000, "1");
    loaded l = load_fmt(json, strlen(json), K5_FORMAT_JSON);
    assert_int_equal(l.st, K5_ELIMIT);
    assert_non_null(strstr(l.err.msg, "K5_MAX_DEPTH"));
    done(&l);
    free(json);
}

static void test_loader__duplicate_keys_name_the_second(void **state)
{
    (void)state;
    const char *t = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n";
    expect_error(t, strlen(t), K5_EPARSE, 5, "duplicate mapping key \"name\"");
    const char *j = "{\"apiVersion\": \"v1\",\n \"kind\": \"Pod\",\n \"kind\": \"Pod\"}";
    loaded l = load_fmt(j, strlen(j), K5_FORMAT_JSON);
    assert_int_equal(l.st, K5_EPARSE);
    assert_int_equal(l.err.line, 3);
    assert_int_equal(l.err.column, 2);
    assert_non_null(strstr(l.err.msg, "duplicate key \"kind\""));
    done(&l);
    /* Many keys: the hashed path of duplicate detection. */
    char big[4096];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "k%d: 1\n", i);
    snprintf(big + n, sizeof big - n, "k7: 2\n");
    expect_error(big, strlen(big), K5_EPARSE, 41, "duplicate mapping key \"k7\"");
}

static void test_loader__malformed_inputs_are_errors_not_crashes(void **state)
{
    (void)state;
    const char *tabs = "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n";
    expect_error(tabs, strlen(tabs), K5_EPARSE, 4, "");
    const char *badutf = "apiVersion: v1\nkind: \xC3\x28\n";
    expect_error(badutf, strlen(badutf), K5_EPARSE, 2, "UTF-8");
    const char junk[] = {'\x7f', 'E', 'L', 'F', '\x02', '\x01', '\x00', '\x00', '\x01', '\xff'};
    expect_error(junk, sizeof junk, K5_EPARSE, 0, "");
    const char *unclosed = "a: [1, 2\nb: c\n";
    expect_error(unclosed, strlen(unclosed), K5_EPARSE, 0, "");
    const char *utf16 = "\xFF\xFE" "a\0:\0 \0b\0";
    expect_error(utf16, 10, K5_EPARSE, 1, "UTF-16");
    const char *badjson = "{\"a\": [1, 2,, 3]}";
    loaded l = load_fmt(badjson, strlen(badjson), K5_FORMAT_JSON);
    assert_int_equal(l.st, K5_EPARSE);
    assert_int_equal(l.err.line, 1);
    assert_non_null(strstr(l.err.msg, "invalid JSON"));
    done(&l);
    /* An empty collection first on the stack (found by fuzzing, under UBSan). */
    loaded e = load_fmt("{}\"\"}", 6, K5_FORMAT_AUTO);
    assert_int_equal(e.st, K5_EPARSE);
    done(&e);
    loaded e2 = load("[]\n");
    assert_int_equal(e2.st, K5_OK);
    done(&e2);
    /* NUL bytes inside JSON once made the position scanner loop forever (found by fuzzing). */
    const char nuls[] = "{\"kind\":\"List\",\"items\":[{\"metadata\":{\0\0\0\0e\":\"s\"}}]}";
    loaded z = load_fmt(nuls, sizeof nuls - 1, K5_FORMAT_AUTO);
    assert_int_equal(z.st, K5_EPARSE);
    done(&z);
    loaded zj = load_fmt(nuls, sizeof nuls - 1, K5_FORMAT_JSON);
    assert_int_equal(zj.st, K5_EPARSE);
    done(&zj);
    const char *complexkey = "? [a]\n: b\n";
    expect_error(complexkey, strlen(complexkey), K5_EPARSE, 1, "mapping keys must be scalars");
}

static void test_loader__size_and_count_limits(void **state)
{
    (void)state;
    size_t big = (size_t)K5_MAX_FILE_BYTES + 1;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, ' ', big);
    k5_docset *set = NULL;
    assert_int_equal(k5_docset_new(&set, NULL), K5_OK);
    k5_error err = {0};
    assert_int_equal(k5_docset_load(set, "big.yaml", buf, big, K5_FORMAT_AUTO, &err), K5_ELIMIT);
    assert_non_null(strstr(err.msg, "K5_MAX_FILE_BYTES"));
    k5_docset_free(&set);

    char *docs = repeat("---\na: 1\n", K5_MAX_DOCUMENTS + 1, "");
    expect_error(docs, strlen(docs), K5_ELIMIT, 0, "K5_MAX_DOCUMENTS");
    free(docs);
}

static void test_loader__a_one_megabyte_scalar_loads(void **state)
{
    (void)state;
    size_t n = 1024 * 1024;
    char *s = malloc(n + 200);
    assert_non_null(s);
    int h = snprintf(s, 200, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  k: ");
    memset(s + h, 'x', n);
    memcpy(s + h + n, "\n", 2);
    loaded l = load(s);
    assert_int_equal(l.st, K5_OK);
    assert_int_equal(k5_node_len(k5_node_at(obj(&l, 0)->root, "data.k")), n);
    done(&l);
    free(s);
}

static void test_loader__lists_notices_and_empty_documents(void **state)
{
    (void)state;
    loaded l = load("---\n---\n# only a comment\n---\n"
                    "replicaCount: 2\nimage: {tag: x}\n"
                    "---\n"
                    "apiVersion: v1\nkind: List\nitems:\n"
                    "  - apiVersion: v1\n    kind: Service\n    metadata: {name: s}\n"
                    "  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: d, namespace: x}\n"
                    "  - just: data\n"
                    "---\n"
                    "apiVersion: v1\nkind: ConfigMapList\nitems: []\n");
    assert_int_equal(l.st, K5_OK);
    assert_int_equal(k5_docset_object_count(l.set), 2);
    assert_int_equal(obj(&l, 1)->kind_id, K5_KIND_DEPLOYMENT);
    assert_int_equal(obj(&l, 1)->namespace_.n, 1);
    assert_int_equal(k5_docset_notice_count(l.set), 2);
    const k5_notice *nt = k5_docset_notice(l.set, 0);
    assert_int_equal(nt->line, 5);
    assert_non_null(strstr(nt->message, "without apiVersion and kind"));
    done(&l);
}

static void test_loader__helm_source_comment(void **state)
{
    (void)state;
    loaded l = load("---\n# Source: shop/templates/service.yaml\napiVersion: v1\nkind: Service\n"
                    "metadata: {name: s}\n"
                    "---\n# Source: shop/templates/deployment.yaml\napiVersion: apps/v1\n"
                    "kind: Deployment\nmetadata: {name: d}\n"
                    "---\napiVersion: v1\nkind: Service\nmetadata: {name: plain}\n");
    assert_int_equal(l.st, K5_OK);
    k5_str s0 = obj(&l, 0)->source, s1 = obj(&l, 1)->source, s2 = obj(&l, 2)->source;
    assert_int_equal(s0.n, strlen("shop/templates/service.yaml"));
    assert_memory_equal(s0.p, "shop/templates/service.yaml", s0.n);
    assert_memory_equal(s1.p, "shop/templates/deployment.yaml", s1.n);
    assert_null(s2.p);
    done(&l);
}

static void test_loader__json_positions_streams_and_escapes(void **state)
{
    (void)state;
    const char *j = "{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n"
                    "  \"metadata\": {\"name\": \"a\\u0062c\", \"labels\": {\"x\": 1}}}\n"
                    "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"d\"}}";
    loaded l = load_fmt(j, strlen(j), K5_FORMAT_JSON);
    assert_int_equal(l.st, K5_OK);
    assert_int_equal(k5_docset_object_count(l.set), 2);
    const k5_object *o = obj(&l, 0);
    assert_true(k5_node_is(k5_map_get(o->metadata, "name"), "abc"));
    expect_pos(&l, o, k5_map_get(o->metadata, "name"), 2, 24);
    expect_pos(&l, o, k5_map_get(o->labels, "x"), 2, 52);
    assert_int_equal(k5_node_kind(k5_map_get(o->labels, "x")), K5_NODE_INT);
    /* AUTO sniffs JSON by the first byte and keeps positions too. */
    loaded a = load_fmt(j, strlen(j), K5_FORMAT_AUTO);
    assert_int_equal(a.st, K5_OK);
    assert_int_equal(k5_docset_object_count(a.set), 2);
    done(&a);
    done(&l);
}

static void test_loader__cjson_objects_from_the_webhook(void **state)
{
    (void)state;
    cJSON *j = cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
                           "\"metadata\":{\"name\":\"w\",\"namespace\":\"prod\","
                           "\"managedFields\":[{\"manager\":\"kubectl\"}],\"uid\":\"u\"},"
                           "\"spec\":{\"replicas\":3,\"template\":{\"metadata\":{\"labels\":"
                           "{\"app\":\"w\"}},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}}}");
    assert_non_null(j);
    k5_docset *set = NULL;
    assert_int_equal(k5_docset_new(&set, NULL), K5_OK);
    k5_error err = {0};
    assert_int_equal(k5_docset_add_cjson(set, "request", j, &err), K5_OK);
    cJSON_Delete(j); /* the docset keeps its own copy */
    const k5_object *o = k5_docset_object(set, 0);
    assert_non_null(o);
    assert_int_equal(o->kind_id, K5_KIND_DEPLOYMENT);
    assert_int_equal(k5__workload_replicas(o), 3);
    assert_true(k5_node_is(k5_map_get(o->pod_labels, "app"), "w"));
    assert_int_equal(k5_docset_position(set, o->file, o->root).line, 0);
    /* Server-side apply's bookkeeping is left out; its neighbours are kept. */
    assert_null(k5_map_get(o->metadata, "managedFields"));
    assert_true(k5_node_is(k5_map_get(o->metadata, "uid"), "u"));
    assert_int_equal(k5_node_len(o->metadata), 3);
    k5_docset_free(&set);
}

/* Runs every single-object rule over one object added from j, copied or borrowed. */
static k5_report *run_cjson(const cJSON *j, bool borrowed, k5_docset **set)
{
    k5_error err = {0};
    assert_int_equal(k5_docset_new(set, NULL), K5_OK);
    k5_status st = borrowed ? k5_docset_add_cjson_borrowed(*set, "request", j, &err)
                            : k5_docset_add_cjson(*set, "request", j, &err);
    assert_int_equal(st, K5_OK);
    k5_report *rep = NULL;
    assert_int_equal(k5_run(*set, NULL, K5_RUN_SINGLE_ONLY, &rep, &err), K5_OK);
    return rep;
}

static void test_loader__cjson_borrowed_strings_judge_like_copies(void **state)
{
    (void)state;
    /* Escapes in values and keys (cJSON's decoded text is what both conversions see), numbers,
     * booleans and a null, and findings with paths and messages quoting the strings. */
    cJSON *j = cJSON_Parse(
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
        "\"w\\u00e9b\",\"namespace\":\"prod\",\"labels\":{\"a\\\"b\":\"x\\ny\"}},\"spec\":{"
        "\"replicas\":3,\"paused\":false,\"minReadySeconds\":null,\"selector\":{\"matchLabels\":"
        "{\"app\":\"w\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{"
        "\"containers\":[{\"name\":\"c\\t1\",\"image\":\"i:1\",\"ports\":[{\"containerPort\":"
        "8080,\"name\":\"http\"}],\"resources\":{\"limits\":{\"memory\":\"32Mi\"}}}]}}}}");
    assert_non_null(j);
    k5_docset *copied = NULL, *borrowed = NULL;
    k5_report *a = run_cjson(j, false, &copied);
    k5_report *b = run_cjson(j, true, &borrowed);
    assert_true(k5_report_count(a) > 0);
    assert_int_equal(k5_report_count(a), k5_report_count(b));
    for (size_t i = 0; i < k5_report_count(a); i++) {
        const k5_finding *fa = k5_report_at(a, i), *fb = k5_report_at(b, i);
        assert_ptr_equal(fa->rule, fb->rule);
        assert_int_equal(fa->severity, fb->severity);
        assert_string_equal(fa->message, fb->message);
        assert_string_equal(fa->path, fb->path);
    }
    /* The borrowed object's strings are the tree's own; the copy's are not. */
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "metadata"), "name");
    k5_str bn = k5_node_str(k5_map_get(k5_docset_object(borrowed, 0)->metadata, "name"));
    k5_str cn = k5_node_str(k5_map_get(k5_docset_object(copied, 0)->metadata, "name"));
    assert_ptr_equal(bn.p, name->valuestring);
    assert_ptr_not_equal(cn.p, name->valuestring);
    assert_int_equal(bn.n, strlen("w\xc3\xa9" "b"));
    assert_memory_equal(bn.p, cn.p, bn.n);
    k5_report_free(&a);
    k5_report_free(&b);
    k5_docset_free(&copied);
    k5_docset_free(&borrowed);
    cJSON_Delete(j); /* last: the borrowed set pointed into it */
}

static void test_units__quantities_as_kubernetes_parses_them(void **state)
{
    (void)state;
    struct {
        const char *s;
        int64_t value, milli;
    } q[] = {{"512Mi", 536870912, 536870912000LL},
             {"1G", 1000000000, 1000000000000LL},
             {"0.5", 1, 500},
             {"500m", 1, 500},
             {"1e3", 1000, 1000000},
             {"1Ki", 1024, 1024000},
             {"1.5Gi", 1610612736, 1610612736000LL},
             {"100m", 1, 100},
             {"0.1", 1, 100},
             {"1n", 1, 1},
             {"2E", 2000000000000000000LL, INT64_MAX},
             {"1E3", 1000, 1000000},
             {"-1", -1, -1000},
             {"+3", 3, 3000}};
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
        int64_t v = 0, m = 0;
        if (!k5_quantity_parse(q[i].s, strlen(q[i].s), &v, &m) || v != q[i].value ||
            m != q[i].milli)
            fail_msg("%s: got %lld / %lld", q[i].s, (long long)v, (long long)m);
    }
    const char *bad[] = {"", "Mi", "1Mb", "1 Mi", "1.2.3", "abc", "1e", "1Gi3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (k5_quantity_parse(bad[i], strlen(bad[i]), NULL, NULL))
            fail_msg("'%s' should not parse", bad[i]);
    char buf[32];
    k5_bytes_fmt(64 * 1024 * 1024, buf, sizeof buf);
    assert_string_equal(buf, "64Mi");
    /* Exactly what the printf formatting wrote, cut the way snprintf cuts, at every size. */
    static const char *const units[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    const int64_t vals[] = {0, 1, -1, 999, 1023, -1023, 1024, -1024, 1536, 32LL << 20,
                            -(64LL << 20), 3LL << 30, INT64_MAX, INT64_MIN, 1LL << 53,
                            /* fractions, exact ties (1.25Ki, 1.75Ki, 0.25 of a unit up), near-units */
                            1126, 1280, 1792, -1280, -1792, 1047552, 1048063, 1048575,
                            (1LL << 20) + (1LL << 18), 5LL * (1LL << 29), 1023LL << 30,
                            (1LL << 40) - 1, (1LL << 40) + (1LL << 38), -(1LL << 40) + 1,
                            123456789, -987654321, 9999999999LL};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        for (size_t size = 1; size <= sizeof buf; size++) {
            char want[32];
            int64_t b = vals[i];
            if (b < 1024 && b > -1024) {
                snprintf(want, size, "%lld", (long long)b);
            } else {
                int u = -1;
                double v = (double)b;
                while (u < 5 && (v >= 1024 || v <= -1024)) {
                    v /= 1024;
                    u++;
                }
                if (v == floor(v))
                    snprintf(want, size, "%.0f%s", v, units[u]);
                else
                    snprintf(want, size, "%.1f%s", v, units[u]);
            }
            memset(buf, 'x', sizeof buf);
            k5_bytes_fmt(b, buf, size);
            if (strcmp(buf, want) != 0)
                fail_msg("k5_bytes_fmt(%lld, size %zu): \"%s\", want \"%s\"", (long long)b, size,
                         buf, want);
        }
    }
    /* And 200,000 pseudo-random values over every magnitude, against "%.1f" / "%.0f". */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t b = (int64_t)(x >> (x % 63));
        if (i & 1)
            b = -b;
        char want[32];
        if (b < 1024 && b > -1024) {
            snprintf(want, sizeof want, "%lld", (long long)b);
        } else {
            int u = -1;
            double v = (double)b;
            while (u < 5 && (v >= 1024 || v <= -1024)) {
                v /= 1024;
                u++;
            }
            snprintf(want, sizeof want, v == floor(v) ? "%.0f%s" : "%.1f%s", v, units[u]);
        }
        k5_bytes_fmt(b, buf, sizeof buf);
        if (strcmp(buf, want) != 0)
            fail_msg("k5_bytes_fmt(%lld): \"%s\", want \"%s\"", (long long)b, buf, want);
    }
}

/* Durations end where Go's time.Duration ends (int64 nanoseconds): refused past it, exactly. */
static void test_units__duration_range_is_gos(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
        int64_t ns;
    } cases[] = {
        {"2555556h", true, 2555556LL * 3600 * 1000000000}, /* refused before: a rough bound */
        {"2562047h", true, 2562047LL * 3600 * 1000000000},
        {"2562047h47m16.854775807s", true, INT64_MAX},
        {"9223372036854775807ns", true, INT64_MAX},
        {"-9223372036854775808ns", true, INT64_MIN},
        {"-2562047h47m16.854775808s", true, INT64_MIN},
        {"2562047h47m16.854775808s", false, 0},
        {"9223372036854775808ns", false, 0},
        {"2562048h", false, 0},
        {"3000000h", false, 0},
        {"99999999999999999999s", false, 0},
        {"2562047h2562047h", false, 0},
        {"1.000000000000000000001s", true, 1000000000}, /* digits past the precision dropped */
        {"1.5h30m", true, 7200LL * 1000000000},
        {".5s", true, 500000000},
        {"5.s", true, 5000000000},
        {".s", false, 0},
        {"1h-1m", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t ns = 42;
        bool ok = k5_duration_parse(cases[i].s, strlen(cases[i].s), &ns);
        if (ok != cases[i].ok || ns != (ok ? cases[i].ns : 42))
            fail_msg("k5_duration_parse(\"%s\"): %s %lld", cases[i].s, ok ? "true" : "false",
                     (long long)ns);
    }
    /* A setting out of range is an error naming the value, not a silent default. */
    int64_t v;
    assert_int_equal(k5_param_parse(K5_PARAM_SECONDS, "3000000h", 8, &v), K5_EINVAL);
    assert_int_equal(k5_param_parse(K5_PARAM_SECONDS, "2562047h", 8, &v), K5_OK);
    assert_int_equal(v, 2562047LL * 3600);
}

static void test_units__durations_and_int_or_string(void **state)
{
    (void)state;
    int64_t ns;
    assert_true(k5_duration_parse("10s", 3, &ns) && ns == 10000000000LL);
    assert_true(k5_duration_parse("1m30s", 5, &ns) && ns == 90000000000LL);
    assert_true(k5_duration_parse("250ms", 5, &ns) && ns == 250000000LL);
    assert_true(k5_duration_parse("1.5h", 4, &ns) && ns == 5400000000000LL);
    assert_true(k5_duration_parse("0", 1, &ns) && ns == 0);
    assert_false(k5_duration_parse("10", 2, &ns));
    assert_false(k5_duration_parse("s", 1, &ns));
    assert_false(k5_duration_parse("10x", 3, &ns));

    k5_intstr v = {true, 0, {NULL, 0}, NULL};
    int64_t out;
    v.is_int = false;
    v.s = (k5_str){"25%", 3};
    assert_true(k5_intstr_scaled(&v, 3, false, &out) && out == 0); /* maxUnavailable: floor */
    assert_true(k5_intstr_scaled(&v, 3, true, &out) && out == 1);  /* maxSurge: ceil */
    v.s = (k5_str){"100%", 4};
    assert_true(k5_intstr_scaled(&v, 7, false, &out) && out == 7);
    assert_false(k5_intstr_scaled(&v, INT64_MAX, false, &out)); /* no overflow, no answer */
    v.s = (k5_str){"http", 4};
    assert_false(k5_intstr_scaled(&v, 7, false, &out));
    v.is_int = true;
    v.i = 2;
    assert_true(k5_intstr_scaled(&v, 7, false, &out) && out == 2);
}

static void test_units__gateway_durations_as_gep_2257(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ns;
    } ok[] = {{"10s", 10000000000LL},  {"500ms", 500000000LL},      {"1h30m", 5400000000000LL},
              {"0s", 0},               {"1h1m1s1ms", 3661001000000LL}, {"99999h", 359996400000000000LL}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t ns = -1;
        assert_true(k5_gateway_duration_parse(ok[i].s, strlen(ok[i].s), &ns));
        assert_int_equal(ns, ok[i].ns);
    }
    /* Go accepts all of these; the Gateway API's format does not. */
    static const char *const bad[] = {"", "10", "1.5s", "-1s", "+1s", "100000s", "1s1s1s1s1s",
                                      "1us", "s", "1 s", "1d"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ns = 7;
        assert_false(k5_gateway_duration_parse(bad[i], strlen(bad[i]), &ns));
        assert_int_equal(ns, 7);
    }
}


/* ---- streaming findings (k5_run_each) and what loading drops (k5_docset_loaded) ---- */

typedef struct seen {
    char *text; /* every finding, one line each, as the report would list it */
    size_t n, cap, calls, stop_at;
} seen;

static void seen_add(seen *s, const k5_finding *f)
{
    char line[2048];
    k5_str name = f->object ? f->object->name : (k5_str){"", 0};
    int w = snprintf(line, sizeof line, "%s|%s|%u:%u|%d|%s|%s|%d|%.*s\n", f->file, f->rule->id,
                     (unsigned)f->line, (unsigned)f->column, (int)f->severity, f->path,
                     f->message, (int)f->suppressed, (int)name.n, name.p);
    assert_true(w > 0 && (size_t)w < sizeof line);
    if (s->n + (size_t)w + 1 > s->cap) {
        s->cap = (s->n + (size_t)w + 1) * 2;
        s->text = realloc(s->text, s->cap);
        assert_non_null(s->text);
    }
    memcpy(s->text + s->n, line, (size_t)w + 1);
    s->n += (size_t)w;
}

static int seen_sink(void *ctx, const k5_finding *f, size_t n)
{
    seen *s = ctx;
    assert_true(n > 0);
    s->calls++;
    for (size_t i = 0; i < n; i++)
        seen_add(s, &f[i]);
    return s->stop_at && s->calls == s->stop_at ? -1 : 0;
}

/* A stream of Deployments whose findings differ object by object (names, replicas, probes). */
static char *workloads(size_t n, size_t first)
{
    size_t cap = n * 400 + 1, len = 0;
    char *b = malloc(cap);
    assert_non_null(b);
    for (size_t i = first; i < first + n; i++) {
        int w = snprintf(b + len, cap - len,
                         "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w%zu\n"
                         "  namespace: ns%zu\n%sspec:\n  replicas: %zu\n  selector:\n"
                         "    matchLabels: {app: w%zu}\n  template:\n    metadata:\n"
                         "      labels: {app: w%zu}\n    spec:\n      containers:\n"
                         "      - name: c\n        image: x:1\n%s---\n",
                         i % 97, i % 3,
                         i % 11 == 0 ? "  annotations: {kube5xx/ignore: single-replica}\n" : "",
                         1 + i % 3, i, i,
                         i % 5 ? "        ports: [{containerPort: 8080}]\n" : "");
        assert_true(w > 0 && (size_t)w < cap - len);
        len += (size_t)w;
    }
    return b;
}

static void test_run__each_streams_the_report_in_order(void **state)
{
    (void)state;
    k5_docset *set;
    assert_int_equal(k5_docset_new(&set, "default"), K5_OK);
    /* Three files, more than two slices of objects each, names repeating across them (the
     * duplicate notices), the third loaded after k5_docset_loaded dropped the identities. */
    size_t sizes[3] = {700, 300, 650};
    for (size_t f = 0; f < 3; f++) {
        if (f == 2)
            k5_docset_loaded(set);
        char *b = workloads(sizes[f], f * 1000);
        char name[16];
        snprintf(name, sizeof name, "f%zu.yaml", f);
        k5_error err;
        assert_int_equal(k5_docset_load(set, name, b, strlen(b), K5_FORMAT_AUTO, &err), K5_OK);
    }
    assert_int_equal(k5_docset_object_count(set), 1650);
    /* w0..w96 in ns0..ns2 repeat: the third file's duplicates of the first two are still
     * noticed after the identities were dropped. */
    size_t dups_third = 0;
    for (size_t i = 0; i < k5_docset_notice_count(set); i++) {
        const k5_notice *nt = k5_docset_notice(set, i);
        if (strstr(nt->message, "duplicate object") && strcmp(nt->file, "f2.yaml") == 0)
            dups_third++;
    }
    assert_true(dups_third > 0);

    k5_report *rep;
    k5_error err;
    assert_int_equal(k5_run_jobs(set, NULL, 0, 1, &rep, &err), K5_OK);
    seen want = {0};
    for (size_t i = 0; i < k5_report_count(rep); i++)
        seen_add(&want, k5_report_at(rep, i));
    k5_summary ws = k5_report_summary(rep);
    assert_true(ws.suppressed > 0 && ws.errors > 0 && ws.warnings > 0);
    for (unsigned jobs = 1; jobs <= 3; jobs++) {
        seen got = {0};
        k5_summary gs;
        memset(&gs, 0xff, sizeof gs);
        assert_int_equal(k5_run_each(set, NULL, 0, jobs, seen_sink, &got, &gs, &err), K5_OK);
        assert_true(got.calls > 3); /* batches, not one call at the end */
        assert_int_equal(got.n, want.n);
        assert_memory_equal(got.text, want.text, want.n);
        assert_memory_equal(&gs, &ws, sizeof ws);
        free(got.text);
    }
    /* A sink that stops the run is not called again, and the run says so. */
    seen stop = {0};
    stop.stop_at = 2;
    k5_summary ss = {0};
    assert_int_equal(k5_run_each(set, NULL, 0, 2, seen_sink, &stop, &ss, &err), K5_EINVAL);
    assert_int_equal(stop.calls, 2);
    assert_non_null(strstr(err.msg, "could not be written"));
    free(stop.text);
    free(want.text);
    k5_report_free(&rep);
    k5_docset_free(&set);
}

/* Posting lists keep two values inside the entry, then move to the heap; slots move too. */
static void test_index__posting_lists_inline_then_heap(void **state)
{
    (void)state;
    k5__arena a = {0};
    k5__hmap m = {0};
    m.arena = &a;
    char key[16];
    for (uint32_t round = 0; round < 5; round++)
        for (uint32_t k = 0; k < 3000; k++) {
            if (k % 3 && round > k % 4)
                continue; /* keys with one, two and five values */
            int w = snprintf(key, sizeof key, "key%u", (unsigned)k);
            assert_int_equal(k5__hmap_add(&m, key, (size_t)w, k * 10 + round), K5_OK);
        }
    for (uint32_t k = 0; k < 3000; k++) {
        int w = snprintf(key, sizeof key, "key%u", (unsigned)k);
        const k5__hentry *e = k5__hmap_get(&m, key, (size_t)w);
        assert_non_null(e);
        uint32_t want = k % 3 ? (k % 4) + 1 : 5;
        if (want > 5)
            want = 5;
        assert_int_equal(e->nvals, want);
        for (uint32_t r = 0; r < e->nvals; r++)
            assert_int_equal(e->vals[r], k * 10 + r);
    }
    assert_null(k5__hmap_get(&m, "key3000", 7));
    k5__hmap_free(&m);
    k5__arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader__path_at_value_or_deepest_parent),
        cmocka_unit_test(test_loader__positions_across_documents),
        cmocka_unit_test(test_loader__crlf_bom_and_utf8_columns),
        cmocka_unit_test(test_loader__columns_on_one_long_utf8_line),
        cmocka_unit_test(test_loader__yaml11_scalar_types),
        cmocka_unit_test(test_loader__anchors_aliases_and_merge_keys),
        cmocka_unit_test(test_loader__alias_bomb_is_capped),
        cmocka_unit_test(test_loader__recursive_alias_is_an_error),
        cmocka_unit_test(test_loader__deep_nesting_stops_at_the_limit),
        cmocka_unit_test(test_loader__duplicate_keys_name_the_second),
        cmocka_unit_test(test_loader__malformed_inputs_are_errors_not_crashes),
        cmocka_unit_test(test_loader__size_and_count_limits),
        cmocka_unit_test(test_loader__a_one_megabyte_scalar_loads),
        cmocka_unit_test(test_loader__lists_notices_and_empty_documents),
        cmocka_unit_test(test_loader__helm_source_comment),
        cmocka_unit_test(test_loader__json_positions_streams_and_escapes),
        cmocka_unit_test(test_loader__cjson_objects_from_the_webhook),
        cmocka_unit_test(test_loader__cjson_borrowed_strings_judge_like_copies),
        cmocka_unit_test(test_run__each_streams_the_report_in_order),
        cmocka_unit_test(test_index__posting_lists_inline_then_heap),
        cmocka_unit_test(test_units__quantities_as_kubernetes_parses_them),
        cmocka_unit_test(test_units__durations_and_int_or_string),
        cmocka_unit_test(test_units__duration_range_is_gos),
        cmocka_unit_test(test_units__gateway_durations_as_gep_2257),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
