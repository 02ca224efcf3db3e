/*
 * The registry: ids unique, sorted and kebab-case; every rule documented,
 * with parameters whose defaults parse, and with fixtures that fire and
 * fixtures that stay quiet. (docs/rules.md is checked by e2e_docs_sync.)
 */
#include <ctype.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <kube5xx/kube5xx.h>

static void test_registry__ids_unique_sorted_kebab(void **state)
{
    (void)state;
    assert_true(k5_rule_count() >= 5);
    for (size_t i = 0; i < k5_rule_count(); i++) {
        const char *id = k5_rule_at(i)->id;
        assert_true(islower((unsigned char)id[0]));
        for (const char *p = id; *p; p++)
            assert_true(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
                        (*p == '-' && p[1] && p[1] != '-'));
        if (i)
            assert_true(strcmp(k5_rule_at(i - 1)->id, id) < 0);
        assert_ptr_equal(k5_rule_find(id, strlen(id)), k5_rule_at(i));
    }
    assert_null(k5_rule_find("no-such-rule", 12));
}

/* k5_rule_index is a hash of the descriptor's address: every rule maps back to its place,
 * and a descriptor that is not the registry's (a copy, NULL) maps to SIZE_MAX. */
static void test_registry__rule_index_inverts_rule_at(void **state)
{
    (void)state;
    for (size_t i = 0; i < k5_rule_count(); i++)
        if (k5_rule_index(k5_rule_at(i)) != i)
            fail_msg("k5_rule_index(%s) = %zu, its place is %zu", k5_rule_at(i)->id,
                     k5_rule_index(k5_rule_at(i)), i);
    for (size_t i = 0; i < k5_rule_count(); i++) {
        k5_rule copy = *k5_rule_at(i);
        assert_true(k5_rule_index(&copy) == SIZE_MAX);
    }
    assert_true(k5_rule_index(NULL) == SIZE_MAX);
}

static void test_registry__every_rule_documented(void **state)
{
    (void)state;
    for (size_t i = 0; i < k5_rule_count(); i++) {
        const k5_rule *r = k5_rule_at(i);
        assert_true(r->summary && strlen(r->summary) > 10);
        assert_true(r->explanation && strlen(r->explanation) > 80);
        assert_true(r->remediation && strlen(r->remediation) > 30);
        assert_true(r->example && strlen(r->example) > 10 && r->example[strlen(r->example) - 1] == '\n');
        assert_true(r->severity >= K5_SEV_INFO && r->severity <= K5_SEV_ERROR);
        assert_true(r->kinds != 0);
        assert_non_null(r->check);
        size_t np = k5_rule_nparams(r);
        /* The count comes from the sentinel; an obsolete hand-written count must agree. */
        if (r->nparams && r->nparams != np)
            fail_msg("%s: .nparams = %zu but %zu parameters precede the sentinel", r->id,
                     r->nparams, np);
        for (size_t p = np; p <= K5_MAX_PARAMS; p++)
            if (r->params[p].name || r->params[p].default_value || r->params[p].help)
                fail_msg("%s: parameter %zu follows an unnamed one (the sentinel)", r->id, p);
        for (size_t p = 0; p < np; p++) {
            int64_t v;
            const char *d = r->params[p].default_value;
            assert_non_null(r->params[p].name);
            assert_non_null(r->params[p].help);
            if (k5_param_parse(r->params[p].type, d, strlen(d), &v) != K5_OK)
                fail_msg("%s: default '%s' of %s does not parse", r->id, d, r->params[p].name);
        }
    }
}

static int count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static void test_registry__every_rule_has_fire_and_quiet_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < k5_rule_count(); i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/tests/fixtures/%s", K5_SOURCE_DIR, k5_rule_at(i)->id);
        if (count_prefix(dir, "fire-") < 1 || count_prefix(dir, "quiet-") < 1)
            fail_msg("%s needs fire-*.yaml and quiet-*.yaml fixtures in %s", k5_rule_at(i)->id, dir);
    }
}

/* One rule, one file: rules/checks/<id>.c holds each descriptor, and nothing else is there. */
static void test_registry__every_rule_has_its_check_file(void **state)
{
    (void)state;
    for (size_t i = 0; i < k5_rule_count(); i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/rules/checks/%s.c", K5_SOURCE_DIR, k5_rule_at(i)->id);
        FILE *f = fopen(path, "r");
        if (!f)
            fail_msg("%s: no rules/checks/%s.c", k5_rule_at(i)->id, k5_rule_at(i)->id);
        fclose(f);
    }
    DIR *d = opendir(K5_SOURCE_DIR "/rules/checks");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 2, ".c") != 0)
            continue;
        if (!k5_rule_find(e->d_name, n - 2))
            fail_msg("rules/checks/%s defines no rule listed in rules.def", e->d_name);
    }
    closedir(d);
}

static void test_registry__every_fixture_dir_names_a_rule(void **state)
{
    (void)state;
    DIR *d = opendir(K5_SOURCE_DIR "/tests/fixtures");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR)
            continue;
        if (!k5_rule_find(e->d_name, strlen(e->d_name)) && strcmp(e->d_name, "cli") != 0)
            fail_msg("tests/fixtures/%s names no rule", e->d_name);
    }
    closedir(d);
}

static void test_registry__config_overrides_severity_and_params(void **state)
{
    (void)state;
    const char *text = "rules:\n  prestop-hook-missing: off\n"
                       "  memory-limit-too-low: {severity: error, min: 128Mi}\n";
    k5_config *cfg = NULL;
    k5_error err = {0};
    assert_int_equal(k5_config_parse(&cfg, "c.yaml", text, strlen(text), &err), K5_OK);
    const k5_rule *pre = k5_rule_find("prestop-hook-missing", 20);
    const k5_rule *mem = k5_rule_find("memory-limit-too-low", 20);
    assert_int_equal(k5_config_severity(cfg, pre), K5_SEV_OFF);
    assert_int_equal(k5_config_severity(cfg, mem), K5_SEV_ERROR);
    assert_int_equal(k5_config_param(cfg, mem, 0), 128 * 1024 * 1024);
    k5_config_free(&cfg);
    assert_null(cfg);
}

/* A NAMES parameter: a list or one "a, b" string, held as "a, b"; the default otherwise. */
static void test_registry__config_names_parameter(void **state)
{
    (void)state;
    const k5_rule *np = k5_rule_find("networkpolicy-blocks-ingress", 28);
    assert_non_null(np);
    assert_int_equal(np->params[0].type, K5_PARAM_NAMES);
    /* The default: ingress-nginx first, then the common controllers' namespaces. */
    const char *d = k5_config_param_names(NULL, np, 0);
    assert_non_null(d);
    assert_true(strncmp(d, "ingress-nginx, ", 15) == 0);
    assert_true(k5_names_has(d, "traefik", 7));
    assert_false(k5_names_has(d, "traefi", 6));
    assert_false(k5_names_has(d, "edge", 4));
    /* Not a NAMES parameter, or past the last: NULL. */
    assert_null(k5_config_param_names(NULL, k5_rule_find("memory-limit-too-low", 20), 0));
    assert_null(k5_config_param_names(NULL, np, 1));

    const char *text = "rules:\n  networkpolicy-blocks-ingress:\n"
                       "    controller-namespaces: [edge, \"ingress.internal\"]\n";
    k5_config *cfg = NULL;
    k5_error err = {0};
    assert_int_equal(k5_config_parse(&cfg, "c.yaml", text, strlen(text), &err), K5_OK);
    assert_string_equal(k5_config_param_names(cfg, np, 0), "edge, ingress.internal");
    assert_int_equal(k5_config_param(cfg, np, 0), 2);
    assert_false(k5_names_has(k5_config_param_names(cfg, np, 0), "ingress-nginx", 13));
    const char *cur = k5_config_param_names(cfg, np, 0);
    k5_str n1, n2, n3;
    assert_true(k5_names_next(&cur, &n1) && k5_names_next(&cur, &n2));
    assert_false(k5_names_next(&cur, &n3));
    assert_true(n1.n == 4 && memcmp(n1.p, "edge", 4) == 0);
    assert_true(n2.n == 16 && memcmp(n2.p, "ingress.internal", 16) == 0);
    k5_config_free(&cfg);
    /* Without the setting, the config holds the default. */
    assert_int_equal(k5_config_new(&cfg), K5_OK);
    assert_string_equal(k5_config_param_names(cfg, np, 0), d);
    k5_config_free(&cfg);

    text = "rules:\n  networkpolicy-blocks-ingress: {controller-namespaces: \" edge ,gw \"}\n";
    assert_int_equal(k5_config_parse(&cfg, "c.yaml", text, strlen(text), &err), K5_OK);
    assert_string_equal(k5_config_param_names(cfg, np, 0), "edge, gw");
    k5_config_free(&cfg);

    int64_t v = 0;
    assert_int_equal(k5_param_parse(K5_PARAM_NAMES, "a, b-c", 6, &v), K5_OK);
    assert_int_equal(v, 2);
    assert_int_not_equal(k5_param_parse(K5_PARAM_NAMES, "a,,b", 4, &v), K5_OK);
    assert_int_not_equal(k5_param_parse(K5_PARAM_NAMES, "", 0, &v), K5_OK);
    assert_int_not_equal(k5_param_parse(K5_PARAM_NAMES, "Edge", 4, &v), K5_OK);
    assert_int_not_equal(k5_param_parse(K5_PARAM_NAMES, "-edge", 5, &v), K5_OK);
    assert_int_not_equal(k5_param_parse(K5_PARAM_NAMES, "a b", 3, &v), K5_OK);
    char many[65 * 3];
    size_t len = 0;
    for (int i = 0; i < 65; i++)
        len += (size_t)snprintf(many + len, sizeof many - len, "%s%c", i ? "," : "", 'a');
    assert_int_not_equal(k5_param_parse(K5_PARAM_NAMES, many, len, &v), K5_OK);
    assert_int_equal(k5_param_parse(K5_PARAM_NAMES, many + 2, len - 2, &v), K5_OK);
    assert_int_equal(v, 64);
}

static void expect_config_error(const char *text, unsigned line, const char *needle)
{
    k5_config *cfg = NULL;
    k5_error err = {0};
    assert_int_not_equal(k5_config_parse(&cfg, "c.yaml", text, strlen(text), &err), K5_OK);
    assert_null(cfg);
    /* The error names the caller's file name, not storage the parser has freed. */
    assert_non_null(err.file);
    assert_string_equal(err.file, "c.yaml");
    if (err.line != line || !strstr(err.msg, needle))
        fail_msg("want line %u with '%s', got %u:%u %s", line, needle, err.line, err.column, err.msg);
}

static void test_registry__config_typos_are_errors_with_lines(void **state)
{
    (void)state;
    expect_config_error("rules:\n  prestop-hook-mising: off\n", 2, "unknown rule id");
    expect_config_error("rules:\n  memory-limit-too-low: {minimum: 1Gi}\n", 2, "no setting");
    expect_config_error("rules:\n  memory-limit-too-low: {min: lots}\n", 2, "invalid value");
    expect_config_error("rules:\n  memory-limit-too-low: loud\n", 2, "severity must be");
    expect_config_error("rulez: {}\n", 1, "unknown key");
    expect_config_error("exempt:\n  objects: [\"legacy\"]\n", 2, "Kind/namespace/name");
    expect_config_error("exempt:\n  names: []\n", 2, "unknown key");
    expect_config_error("webhook:\n  mode: block\n", 2, "enforce, warn or audit");
    expect_config_error("rules:\n  a: 1\n  a: 2\n", 3, "duplicate");
    expect_config_error("rules:\n  networkpolicy-blocks-ingress:\n    controller-namespaces:\n"
                        "      - edge\n      - Edge_Gateway\n",
                        5, "not a Kubernetes name");
    expect_config_error("rules:\n  networkpolicy-blocks-ingress: {controller-namespaces: []}\n", 2,
                        "at least one");
    expect_config_error("rules:\n  networkpolicy-blocks-ingress: {controller-namespaces: }\n", 2,
                        "at least one");
    expect_config_error(
        "rules:\n  networkpolicy-blocks-ingress: {controller-namespaces: \"a,,b\"}\n", 2,
        "invalid value");
    expect_config_error(
        "rules:\n  networkpolicy-blocks-ingress: {controller-namespaces: {a: b}}\n", 2,
        "list of names");
}

static void test_registry__exemptions(void **state)
{
    (void)state;
    const char *text = "exempt:\n  namespaces: [kube-system]\n  objects: [\"Deployment/legacy/*\"]\n";
    k5_config *cfg = NULL;
    k5_error err = {0};
    assert_int_equal(k5_config_parse(&cfg, "c.yaml", text, strlen(text), &err), K5_OK);
    k5_object o;
    memset(&o, 0, sizeof o);
    o.kind = (k5_str){"Deployment", 10};
    o.namespace_ = (k5_str){"legacy", 6};
    o.name = (k5_str){"old-api", 7};
    assert_true(k5_config_exempt(cfg, &o));
    o.kind = (k5_str){"StatefulSet", 11};
    assert_false(k5_config_exempt(cfg, &o));
    o.namespace_ = (k5_str){"kube-system", 11};
    assert_true(k5_config_exempt(cfg, &o));
    k5_config_free(&cfg);
}

static k5_str lit(const char *s)
{
    k5_str v = {s, strlen(s)};
    return v;
}

static void test_kinds__table_is_consistent(void **state)
{
    (void)state;
    assert_int_equal(k5_kind_count() + 1, K5__KIND_COUNT);
    unsigned seen = 0;
    for (size_t i = 0; i < k5_kind_count(); i++) {
        const k5_kind_info *k = k5_kind_at(i);
        assert_true(k->kind == K5_KIND_AT(i));
        assert_ptr_equal(k5_kind_info_of(k->kind), k);
        assert_true(k->served[0] != '\0');
        seen |= k->kind;
        /* Every served and older apiVersion maps back to the kind. */
        const char *lists[] = {k->served, k->older};
        for (size_t l = 0; l < 2; l++) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", lists[l]);
            for (char *p = buf, *e; *p; p = e) {
                while (*p == ' ')
                    p++;
                for (e = p; *e && *e != ' '; e++)
                    ;
                if (e == p)
                    break;
                k5_str v = {p, (size_t)(e - p)};
                assert_int_equal(k5_kind_from(v, lit(k->name)), k->kind);
                assert_false(k5_kind_api_version_impossible(v, lit(k->name), NULL));
            }
        }
    }
    assert_null(k5_kind_at(k5_kind_count()));
    assert_int_equal(seen & K5_KIND_OTHER, 0);
    char names[256];
    k5_kinds_str(K5_KIND_DEPLOYMENT | K5_KIND_PDB | K5_KIND_OTHER, names, sizeof names);
    assert_string_equal(names, "Deployment, PodDisruptionBudget, other");
}

static void test_kinds__impossible_api_versions(void **state)
{
    (void)state;
    const char *exp = NULL;
    /* The polaris fixture: a PDB under the core group. */
    assert_true(k5_kind_api_version_impossible(lit("v1"), lit("PodDisruptionBudget"), &exp));
    assert_string_equal(exp, "policy/v1");
    assert_int_equal(k5_kind_from(lit("v1"), lit("PodDisruptionBudget")), K5_KIND_OTHER);
    assert_true(k5_kind_api_version_impossible(lit("apps/v1"), lit("Service"), NULL));
    assert_true(k5_kind_api_version_impossible(lit("apps/v2"), lit("Deployment"), NULL));
    assert_true(k5_kind_api_version_impossible(lit("networking.k8s.io/v1"), lit("Pod"), NULL));
    /* Served and removed versions are possible. */
    assert_false(k5_kind_api_version_impossible(lit("policy/v1beta1"), lit("PodDisruptionBudget"), NULL));
    assert_false(k5_kind_api_version_impossible(lit("extensions/v1beta1"), lit("Deployment"), NULL));
    assert_false(k5_kind_api_version_impossible(lit("autoscaling/v1"), lit("HorizontalPodAutoscaler"), NULL));
    /* CRD groups (Knative's Service, Istio's Gateway) and unknown kinds stay silent. */
    assert_false(k5_kind_api_version_impossible(lit("serving.knative.dev/v1"), lit("Service"), NULL));
    assert_false(k5_kind_api_version_impossible(lit("networking.istio.io/v1beta1"), lit("Gateway"), NULL));
    assert_false(k5_kind_api_version_impossible(lit("networking.x-k8s.io/v1alpha1"), lit("HTTPRoute"), NULL));
    assert_false(k5_kind_api_version_impossible(lit("gateway.networking.k8s.io/v9"), lit("HTTPRoute"), NULL));
    assert_false(k5_kind_api_version_impossible(lit("v1"), lit("Widget"), NULL));
    assert_int_equal(k5_kind_from(lit("networking.istio.io/v1beta1"), lit("Gateway")), K5_KIND_OTHER);
    assert_int_equal(k5_kind_from(lit("gateway.networking.k8s.io/v1"), lit("Gateway")), K5_KIND_GATEWAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry__ids_unique_sorted_kebab),
        cmocka_unit_test(test_registry__rule_index_inverts_rule_at),
        cmocka_unit_test(test_registry__every_rule_documented),
        cmocka_unit_test(test_registry__every_rule_has_fire_and_quiet_fixtures),
        cmocka_unit_test(test_registry__every_rule_has_its_check_file),
        cmocka_unit_test(test_registry__every_fixture_dir_names_a_rule),
        cmocka_unit_test(test_registry__config_overrides_severity_and_params),
        cmocka_unit_test(test_registry__config_names_parameter),
        cmocka_unit_test(test_registry__config_typos_are_errors_with_lines),
        cmocka_unit_test(test_registry__exemptions),
        cmocka_unit_test(test_kinds__table_is_consistent),
        cmocka_unit_test(test_kinds__impossible_api_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
