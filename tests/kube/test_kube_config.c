/*
 * Unit tests of the kubeconfig parser and the in-cluster config (kube5xx_kube).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <kube5xx/kube5xx.h>

#include <kube5xx/k5_kube.h>

#include "kube_internal.h"

/* "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" in base64. */
#define CERT_B64                                                                                  \
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static const char two_contexts[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: dev-cluster\n"
    "  cluster:\n"
    "    server: https://dev.example:6443/\n"
    "    certificate-authority-data: " CERT_B64 "\n"
    "- name: prod-cluster\n"
    "  cluster:\n"
    "    server: https://prod.example\n"
    "    certificate-authority: ca/prod.crt\n"
    "    insecure-skip-tls-verify: false\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: dev-cluster, user: dev-user, namespace: shop}\n"
    "- name: prod\n"
    "  context:\n"
    "    cluster: prod-cluster\n"
    "    user: prod-user\n"
    "users:\n"
    "- name: dev-user\n"
    "  user:\n"
    "    token: dev-token\n"
    "- name: prod-user\n"
    "  user:\n"
    "    client-certificate: certs/me.crt\n"
    "    client-key: /abs/me.key\n";

static k5_kube_config *parse_ok(const char *text, const char *context)
{
    k5_kube_config *c = NULL;
    k5_error err = {0};
    k5_status st = k5_kube_config_parse(&c, "test.kubeconfig", "/home/u/.kube", text,
                                        strlen(text), context, &err);
    if (st != K5_OK)
        fail_msg("parse failed: %s", err.msg);
    assert_non_null(c);
    return c;
}

static k5_status parse_err(const char *text, const char *context, k5_error *err)
{
    k5_kube_config *c = NULL;
    k5_status st = k5_kube_config_parse(&c, "test.kubeconfig", NULL, text, strlen(text), context,
                                        err);
    assert_null(c);
    return st;
}

static void test_kube_config__current_context_and_data_fields(void **state)
{
    (void)state;
    k5_kube_config *c = parse_ok(two_contexts, NULL);
    assert_string_equal(c->server, "https://dev.example:6443"); /* trailing slash dropped */
    assert_string_equal(c->ca_pem, CERT_PEM);
    assert_null(c->ca_file);
    assert_string_equal(c->token, "dev-token");
    assert_string_equal(c->ns, "shop");
    assert_string_equal(c->context, "dev");
    assert_false(c->insecure);
    k5_kube_config_free(&c);
    assert_null(c);
    k5_kube_config_free(&c); /* NULL is fine */
}

static void test_kube_config__named_context_resolves_relative_paths(void **state)
{
    (void)state;
    k5_kube_config *c = parse_ok(two_contexts, "prod");
    assert_string_equal(c->server, "https://prod.example");
    assert_string_equal(c->ca_file, "/home/u/.kube/ca/prod.crt");
    assert_string_equal(c->cert_file, "/home/u/.kube/certs/me.crt");
    assert_string_equal(c->key_file, "/abs/me.key");
    assert_null(c->token);
    assert_null(c->ns);
    k5_kube_config *d = k5_kube_config_dup(c);
    assert_non_null(d);
    assert_string_equal(d->cert_file, c->cert_file);
    k5_kube_config_free(&d);
    k5_kube_config_free(&c);
}

static void test_kube_config__client_data_and_insecure(void **state)
{
    (void)state;
    const char *text = "current-context: x\n"
                       "clusters: [{name: c, cluster: {server: 'https://h', "
                       "insecure-skip-tls-verify: true}}]\n"
                       "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                       "users:\n"
                       "- name: u\n"
                       "  user:\n"
                       "    client-certificate-data: " CERT_B64 "\n"
                       "    client-key-data: " CERT_B64 "\n"
                       "    tokenFile: tok\n";
    k5_kube_config *c = parse_ok(text, NULL);
    assert_true(c->insecure);
    assert_string_equal(c->cert_pem, CERT_PEM);
    assert_string_equal(c->key_pem, CERT_PEM);
    assert_string_equal(c->token_file, "/home/u/.kube/tok");
    k5_kube_config_free(&c);
}

static void test_kube_config__token_wins_over_token_file(void **state)
{
    (void)state;
    const char *text = "current-context: x\n"
                       "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                       "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                       "users: [{name: u, user: {token: t, tokenFile: /f}}]\n";
    k5_kube_config *c = parse_ok(text, NULL);
    assert_string_equal(c->token, "t");
    assert_null(c->token_file);
    k5_kube_config_free(&c);
}

static void test_kube_config__exec_plugin_is_a_named_error(void **state)
{
    (void)state;
    const char *text = "current-context: eks\n"
                       "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                       "contexts: [{name: eks, context: {cluster: c, user: aws}}]\n"
                       "users:\n"
                       "- name: aws\n"
                       "  user:\n"
                       "    exec:\n"
                       "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                       "      command: aws\n"
                       "      args: [eks, get-token]\n";
    k5_error err = {0};
    assert_int_equal(parse_err(text, NULL, &err), K5_EINVAL);
    assert_non_null(strstr(err.msg, "exec credential plugin \"aws\""));
    assert_non_null(strstr(err.msg, "user \"aws\""));
    assert_non_null(strstr(err.msg, "test.kubeconfig"));

    const char *gcp = "current-context: g\n"
                      "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                      "contexts: [{name: g, context: {cluster: c, user: g}}]\n"
                      "users: [{name: g, user: {auth-provider: {name: gcp}}}]\n";
    assert_int_equal(parse_err(gcp, NULL, &err), K5_EINVAL);
    assert_non_null(strstr(err.msg, "auth-provider plugin \"gcp\""));
}

static void test_kube_config__missing_names_are_errors(void **state)
{
    (void)state;
    k5_error err = {0};
    assert_int_equal(parse_err(two_contexts, "staging", &err), K5_ENOTFOUND);
    assert_non_null(strstr(err.msg, "context \"staging\" not found"));

    const char *nouser = "current-context: x\n"
                         "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                         "contexts: [{name: x, context: {cluster: c, user: ghost}}]\n";
    assert_int_equal(parse_err(nouser, NULL, &err), K5_ENOTFOUND);
    assert_non_null(strstr(err.msg, "user \"ghost\""));

    const char *nocurrent = "clusters: []\n";
    assert_int_equal(parse_err(nocurrent, NULL, &err), K5_EINVAL);
    assert_non_null(strstr(err.msg, "--context"));

    const char *noserver = "current-context: x\n"
                           "clusters: [{name: c, cluster: {}}]\n"
                           "contexts: [{name: x, context: {cluster: c}}]\n";
    assert_int_equal(parse_err(noserver, NULL, &err), K5_EINVAL);
    assert_non_null(strstr(err.msg, "has no server"));

    const char *halfcert = "current-context: x\n"
                           "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
                           "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                           "users: [{name: u, user: {client-certificate: /c}}]\n";
    assert_int_equal(parse_err(halfcert, NULL, &err), K5_EINVAL);
    assert_non_null(strstr(err.msg, "no client key"));
}

static void test_kube_config__bad_base64_and_yaml(void **state)
{
    (void)state;
    k5_error err = {0};
    const char *bad = "current-context: x\n"
                      "clusters: [{name: c, cluster: {server: 'https://h', "
                      "certificate-authority-data: 'not*base64'}}]\n"
                      "contexts: [{name: x, context: {cluster: c}}]\n";
    assert_int_equal(parse_err(bad, NULL, &err), K5_EINVAL);
    assert_non_null(strstr(err.msg, "certificate-authority-data"));
    assert_non_null(strstr(err.msg, "not valid base64"));

    const char *yaml = "clusters:\n  - name: [unclosed\n";
    assert_int_equal(parse_err(yaml, NULL, &err), K5_EPARSE);
    assert_non_null(strstr(err.msg, "test.kubeconfig:"));

    const char *alias = "a: &x {b: 1}\nc: *x\n";
    assert_int_equal(parse_err(alias, NULL, &err), K5_EPARSE);
    assert_non_null(strstr(err.msg, "aliases"));

    const char *two = "a: 1\n---\nb: 2\n";
    assert_int_equal(parse_err(two, NULL, &err), K5_EPARSE);
}

static void test_kube_config__caps(void **state)
{
    (void)state;
    k5_error err = {0};
    /* Nesting deeper than K5_KUBE_MAX_YAML_DEPTH. */
    size_t depth = K5_KUBE_MAX_YAML_DEPTH + 10;
    char *deep = malloc(depth * 2 + 1);
    assert_non_null(deep);
    for (size_t i = 0; i < depth; i++) {
        deep[i] = '[';
        deep[depth + i] = ']';
    }
    deep[depth * 2] = '\0';
    assert_int_equal(parse_err(deep, NULL, &err), K5_ELIMIT);
    assert_non_null(strstr(err.msg, "K5_KUBE_MAX_YAML_DEPTH"));
    free(deep);

    /* More nodes than K5_KUBE_MAX_YAML_NODES. */
    size_t n = K5_KUBE_MAX_YAML_NODES + 10;
    char *many = malloc(n * 3 + 8);
    assert_non_null(many);
    size_t o = 0;
    many[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        many[o++] = '1';
        many[o++] = ',';
    }
    many[o - 1] = ']';
    many[o] = '\0';
    assert_int_equal(parse_err(many, NULL, &err), K5_ELIMIT);
    assert_non_null(strstr(err.msg, "K5_KUBE_MAX_YAML_NODES"));
    free(many);

    /* A file larger than K5_KUBE_MAX_KUBECONFIG_BYTES. */
    size_t big = (size_t)K5_KUBE_MAX_KUBECONFIG_BYTES + 1;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, '#', big);
    huge[big] = '\0';
    assert_int_equal(parse_err(huge, NULL, &err), K5_ELIMIT);
    assert_non_null(strstr(err.msg, "K5_KUBE_MAX_KUBECONFIG_BYTES"));
    free(huge);

    /* A token longer than K5_KUBE_MAX_TOKEN_BYTES. */
    size_t tl = K5_KUBE_MAX_TOKEN_BYTES + 1;
    char *tok = malloc(tl + 256);
    assert_non_null(tok);
    o = (size_t)snprintf(tok, 256, "current-context: x\nclusters: [{name: c, cluster: {server: "
                         "'https://h'}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
                         "users: [{name: u, user: {token: ");
    memset(tok + o, 'a', tl);
    snprintf(tok + o + tl, 8, "}}]\n");
    assert_int_equal(parse_err(tok, NULL, &err), K5_ELIMIT);
    assert_non_null(strstr(err.msg, "K5_KUBE_MAX_TOKEN_BYTES"));
    free(tok);
}

static void test_kube_config__base64_decoder(void **state)
{
    (void)state;
    char *out = NULL;
    size_t n = 0;
    assert_true(k5__kube_base64("aGVsbG8=", 8, &out, &n));
    assert_int_equal(n, 5);
    assert_string_equal(out, "hello");
    free(out);
    assert_true(k5__kube_base64("aGVs\nbG8", 8, &out, &n)); /* padding optional, newlines ok */
    assert_string_equal(out, "hello");
    free(out);
    assert_false(k5__kube_base64("aGVsbG8=x", 9, &out, &n)); /* data after padding */
    assert_false(k5__kube_base64("a", 1, &out, &n));         /* a lone 6-bit group */
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_kube_config__in_cluster(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/k5-kube-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    write_file("token", "tok\n");
    write_file("ca.crt", CERT_PEM);
    write_file("namespace", "shop\n");
    setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    k5_kube_config *c = NULL;
    k5_error err = {0};
    assert_int_equal(k5_kube_config_in_cluster(&c, tmpdir, &err), K5_OK);
    assert_string_equal(c->server, "https://10.0.0.1:443");
    assert_non_null(strstr(c->token_file, "/token"));
    assert_null(c->token); /* read per request, so that rotation is seen */
    assert_string_equal(c->ns, "shop");
    assert_string_equal(c->context, "in-cluster");
    k5_kube_config_free(&c);

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(k5_kube_config_in_cluster(&c, tmpdir, &err), K5_OK);
    assert_string_equal(c->server, "https://[fd00::1]:443");
    k5_kube_config_free(&c);

    setenv("KUBERNETES_SERVICE_PORT", "http", 1);
    assert_int_equal(k5_kube_config_in_cluster(&c, tmpdir, &err), K5_EINVAL);
    assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_PORT"));
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);

    char path[256];
    snprintf(path, sizeof path, "%s/token", tmpdir);
    unlink(path);
    assert_int_equal(k5_kube_config_in_cluster(&c, tmpdir, &err), K5_ENOTFOUND);
    assert_non_null(strstr(err.msg, "service account token"));
    assert_null(c);
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(k5_kube_config_in_cluster(&c, tmpdir, &err), K5_EINVAL);
    assert_non_null(strstr(err.msg, "not in a cluster"));

    snprintf(path, sizeof path, "%s/ca.crt", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/namespace", tmpdir);
    unlink(path);
    rmdir(tmpdir);
}

static void test_kube_config__load_from_kubeconfig_env_merges(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/k5-kube-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    /* The first file sets current-context and defines the user; the second the cluster and
     * context. The first definition of a name wins. */
    write_file("a", "current-context: x\n"
                    "users: [{name: u, user: {token: from-a}}]\n"
                    "clusters: [{name: c, cluster: {server: 'https://first'}}]\n");
    write_file("b", "current-context: y\n"
                    "users: [{name: u, user: {token: from-b}}]\n"
                    "clusters: [{name: c, cluster: {server: 'https://second'}}]\n"
                    "contexts: [{name: x, context: {cluster: c, user: u}}]\n");
    char env[256];
    snprintf(env, sizeof env, "%s/a:%s/missing:%s/b", tmpdir, tmpdir, tmpdir);
    setenv("KUBECONFIG", env, 1);
    k5_kube_config *c = NULL;
    k5_error err = {0};
    assert_int_equal(k5_kube_config_load(&c, NULL, NULL, &err), K5_OK);
    assert_string_equal(c->server, "https://first");
    assert_string_equal(c->token, "from-a");
    assert_string_equal(c->context, "x");
    k5_kube_config_free(&c);

    /* --kubeconfig wins over $KUBECONFIG; a missing file is an error naming it. */
    char path[256];
    snprintf(path, sizeof path, "%s/nope", tmpdir);
    assert_int_equal(k5_kube_config_load(&c, path, NULL, &err), K5_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nope"));
    unsetenv("KUBECONFIG");
    const char *names[] = {"a", "b"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

static void test_kube_kinds__table(void **state)
{
    (void)state;
    assert_true(k5_kube_kind_count() >= 7);
    const k5_kube_kind *d = k5_kube_kind_find("Deployment");
    assert_non_null(d);
    assert_string_equal(d->group, "apps");
    assert_string_equal(d->resource, "deployments");
    const k5_kube_kind *s = k5_kube_kind_find("Service");
    assert_non_null(s);
    assert_string_equal(s->group, "");
    char path[256];
    assert_true(k5__kube_resource_path(s, "a b", path, sizeof path));
    assert_string_equal(path, "/api/v1/namespaces/a%20b/services");
    assert_true(k5__kube_resource_path(d, NULL, path, sizeof path));
    assert_string_equal(path, "/apis/apps/v1/deployments");
    assert_null(k5_kube_kind_at(k5_kube_kind_count()));
    /* Expanded from k5_kinds.def: every K5_KF_CACHE and K5_KF_AUDIT kind, no other. */
    assert_true(d->bit == K5_KIND_DEPLOYMENT);
    assert_true(d->cached);
    assert_null(d->fallback);
    const k5_kube_kind *pod = k5_kube_kind_find("Pod");
    assert_non_null(pod);
    assert_false(pod->cached); /* audit only */
    assert_null(k5_kube_kind_find("Job"));
    assert_null(k5_kube_kind_find("CronJob"));
    /* Cluster-scoped kinds are listed without a namespace. */
    const k5_kube_kind *ns = k5_kube_kind_find("Namespace");
    assert_non_null(ns);
    assert_false(ns->namespaced);
    assert_true(k5__kube_resource_path(ns, "shop", path, sizeof path));
    assert_string_equal(path, "/api/v1/namespaces");
    /* Several served versions: preferred first, the others as fallbacks in order. */
    const k5_kube_kind *gw = k5_kube_kind_find("Gateway");
    assert_non_null(gw);
    assert_string_equal(gw->group, "gateway.networking.k8s.io");
    assert_string_equal(gw->version, "v1");
    assert_non_null(gw->fallback);
    assert_string_equal(gw->fallback->version, "v1beta1");
    assert_string_equal(gw->fallback->kind, "Gateway");
    assert_null(gw->fallback->fallback);
    const k5_kube_kind *hpa = k5_kube_kind_find("HorizontalPodAutoscaler");
    assert_string_equal(hpa->version, "v2");
    assert_string_equal(hpa->fallback->version, "v1");
    for (size_t i = 0; i < k5_kube_kind_count(); i++) {
        const k5_kind_info *ki = k5_kind_info_of(k5_kube_kind_at(i)->bit);
        assert_non_null(ki);
        assert_true(ki->flags & (K5_KF_CACHE | K5_KF_AUDIT));
    }
}

static void test_kube_backoff__jitter_cap_and_retry_after(void **state)
{
    (void)state;
    k5__kube_backoff b;
    k5__kube_backoff_init(&b, 100, 1000);
    unsigned prev_step = 0;
    for (int i = 0; i < 20; i++) {
        unsigned step = b.cur_ms;
        unsigned d = k5__kube_backoff_next(&b, -1);
        assert_true(d >= step || d == 1000);
        assert_true(d <= 1000);
        assert_true(step >= prev_step);
        prev_step = step;
    }
    assert_int_equal(b.cur_ms, 1000);
    /* Retry-After is a floor, even above the cap. */
    unsigned d = k5__kube_backoff_next(&b, 3);
    assert_true(d >= 3000 && d < 3250);
    k5__kube_backoff_reset(&b);
    assert_int_equal(b.cur_ms, 100);
}

/* A caller's cap near UINT_MAX: step + 1 wrapped to 0 (a modulo by zero, SIGFPE) and
 * step + jitter wrapped to a short delay. Delays are capped at an hour instead. */
static void test_kube_backoff__huge_settings_are_capped(void **state)
{
    (void)state;
    k5__kube_backoff b;
    k5__kube_backoff_init(&b, UINT_MAX, UINT_MAX);
    for (int i = 0; i < 8; i++) {
        unsigned d = k5__kube_backoff_next(&b, -1);
        assert_int_equal(d, K5__KUBE_BACKOFF_CAP_MS);
    }
    assert_int_equal(b.max_ms, K5__KUBE_BACKOFF_CAP_MS);
    k5__kube_backoff_init(&b, 1000, UINT_MAX);
    for (int i = 0; i < 40; i++) {
        unsigned step = b.cur_ms;
        unsigned d = k5__kube_backoff_next(&b, -1);
        assert_true(d >= step && d <= K5__KUBE_BACKOFF_CAP_MS);
    }
    assert_int_equal(b.cur_ms, K5__KUBE_BACKOFF_CAP_MS);
    /* The longest Retry-After taken (600 s) is below the cap: the delay stays the cap. */
    assert_int_equal(k5__kube_backoff_next(&b, LONG_MAX), K5__KUBE_BACKOFF_CAP_MS);
}

typedef struct got_lines {
    char text[256]; /* the lines joined with '|' */
    size_t n;
} got_lines;

static int collect_line(void *ud, char *line, size_t n)
{
    got_lines *g = ud;
    size_t used = strlen(g->text);
    snprintf(g->text + used, sizeof g->text - used, "%s%.*s", g->n ? "|" : "", (int)n, line);
    g->n++;
    return strcmp(line, "stop") == 0;
}

/* The watch's line splitter gets a response in writes of any size (libcurl's are up to 16 KiB):
 * every split of the same bytes gives the same lines, and it resumes its newline search where
 * the last write ended instead of rescanning the pending line from its start. */
static void test_kube_stream__lines_across_writes(void **state)
{
    (void)state;
    static const char in[] = "a\nbb\n\nccc\n\ndddd\npartial";
    size_t len = sizeof in - 1;
    for (size_t chunk = 1; chunk <= len; chunk++) {
        k5__kube_req r;
        k5__kube_req_init(&r);
        got_lines g = {"", 0};
        r.on_line = collect_line;
        r.line_ud = &g;
        for (size_t i = 0; i < len; i += chunk)
            assert_true(k5__kube_stream_feed(&r, in + i, len - i < chunk ? len - i : chunk));
        assert_string_equal(g.text, "a|bb|ccc|dddd");
        assert_int_equal(r.len, strlen("partial")); /* no newline yet: kept, not delivered */
        assert_memory_equal(r.body, "partial", r.len);
        k5__kube_req_free(&r);
    }
    /* A line past line_limit ends the transfer, whichever write crosses it. */
    for (size_t chunk = 1; chunk <= 12; chunk++) {
        k5__kube_req r;
        k5__kube_req_init(&r);
        got_lines g = {"", 0};
        r.on_line = collect_line;
        r.line_ud = &g;
        r.line_limit = 8;
        static const char big[] = "ok\n0123456789abcdef\n";
        bool go = true;
        for (size_t i = 0; go && i < sizeof big - 1; i += chunk)
            go = k5__kube_stream_feed(&r, big + i, sizeof big - 1 - i < chunk ? sizeof big - 1 - i
                                                                               : chunk);
        assert_false(go);
        assert_true(r.overflow);
        assert_string_equal(g.text, "ok");
        k5__kube_req_free(&r);
    }
    /* The consumer's stop ends it too, with nothing after the stop delivered. */
    k5__kube_req r;
    k5__kube_req_init(&r);
    got_lines g = {"", 0};
    r.on_line = collect_line;
    r.line_ud = &g;
    assert_false(k5__kube_stream_feed(&r, "x\nstop\ny\n", 9));
    assert_true(r.line_abort);
    assert_string_equal(g.text, "x|stop");
    k5__kube_req_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kube_config__current_context_and_data_fields),
        cmocka_unit_test(test_kube_config__named_context_resolves_relative_paths),
        cmocka_unit_test(test_kube_config__client_data_and_insecure),
        cmocka_unit_test(test_kube_config__token_wins_over_token_file),
        cmocka_unit_test(test_kube_config__exec_plugin_is_a_named_error),
        cmocka_unit_test(test_kube_config__missing_names_are_errors),
        cmocka_unit_test(test_kube_config__bad_base64_and_yaml),
        cmocka_unit_test(test_kube_config__caps),
        cmocka_unit_test(test_kube_config__base64_decoder),
        cmocka_unit_test(test_kube_config__in_cluster),
        cmocka_unit_test(test_kube_config__load_from_kubeconfig_env_merges),
        cmocka_unit_test(test_kube_kinds__table),
        cmocka_unit_test(test_kube_backoff__jitter_cap_and_retry_after),
        cmocka_unit_test(test_kube_backoff__huge_settings_are_capped),
        cmocka_unit_test(test_kube_stream__lines_across_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
