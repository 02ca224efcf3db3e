/*
 * The descriptor checks itself: each rule's documented broken example (.example_broken)
 * fires the rule and its fixed example (.example) does not, both linted the way `kube5xx
 * lint` lints a file, as whole objects (every YAML document an object with apiVersion and
 * kind), with the rule's default settings. `kube5xx explain` and docs/rules.md print exactly
 * these strings, so the documentation cannot drift from the check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kube5xx/kube5xx.h>

/* YAML documents in text: one more than its "---" separator lines. */
static size_t documents(const char *text)
{
    size_t n = 1;
    for (const char *p = text; (p = strstr(p, "---\n")); p += 4)
        if (p == text || p[-1] == '\n')
            n++;
    return n;
}

/*
 * Lints text as one file and returns how many findings of rule `id` it gets; fails the
 * test when the text does not load or a document is not an object.
 */
static size_t findings_of(const char *id, const char *which, const char *text)
{
    k5_docset *set = NULL;
    k5_report *rep = NULL;
    k5_error err;
    memset(&err, 0, sizeof err);
    if (!text || !*text || text[strlen(text) - 1] != '\n')
        fail_msg("%s: .%s is missing or does not end in a newline", id, which);
    assert_int_equal(k5_docset_new(&set, "default"), K5_OK);
    size_t len = strlen(text);
    char *buf = malloc(len);
    assert_non_null(buf);
    memcpy(buf, text, len);
    char name[160];
    snprintf(name, sizeof name, "%s.%s.yaml", id, which);
    if (k5_docset_load(set, name, buf, len, K5_FORMAT_YAML, &err) != K5_OK)
        fail_msg("%s: .%s does not load: %s (line %u)", id, which, err.msg, err.line);
    if (k5_docset_object_count(set) != documents(text))
        fail_msg("%s: .%s holds %zu documents but %zu objects: write whole objects "
                 "(apiVersion, kind, metadata)",
                 id, which, documents(text), k5_docset_object_count(set));
    assert_int_equal(k5_run(set, NULL, 0, &rep, &err), K5_OK);
    size_t n = 0;
    for (size_t i = 0; i < k5_report_count(rep); i++)
        n += strcmp(k5_report_at(rep, i)->rule->id, id) == 0;
    k5_report_free(&rep);
    k5_docset_free(&set);
    return n;
}

static void test_rule_examples__broken_fires_fixed_is_clean(void **state)
{
    (void)state;
    size_t bad = 0;
    for (size_t i = 0; i < k5_rule_count(); i++) {
        const k5_rule *r = k5_rule_at(i);
        if (findings_of(r->id, "example_broken", r->example_broken) == 0) {
            fprintf(stderr, "%s: its documented broken example (.example_broken) does not fire\n",
                    r->id);
            bad++;
        }
        size_t n = findings_of(r->id, "example", r->example);
        if (n) {
            fprintf(stderr, "%s: its documented fixed example (.example) fires %zu time%s\n", r->id,
                    n, n == 1 ? "" : "s");
            bad++;
        }
    }
    if (bad)
        fail_msg("%zu documented examples disagree with their rules (see above)", bad);
}

/* The harness can fail: a broken example that is not an object, and a silent one. */
static void test_rule_examples__harness_sees_objects_and_findings(void **state)
{
    (void)state;
    assert_int_equal(documents("a: 1\n---\nb: 2\n"), 2);
    const char *pdb_v1 = "apiVersion: v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\n"
                         "spec: {maxUnavailable: 1}\n";
    assert_true(findings_of("api-version-not-served", "t", pdb_v1) >= 1);
    assert_int_equal(findings_of("single-replica", "t", pdb_v1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_examples__harness_sees_objects_and_findings),
        cmocka_unit_test(test_rule_examples__broken_fires_fixed_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
