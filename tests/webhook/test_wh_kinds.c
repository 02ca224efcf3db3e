/*
 * Unit tests of wh_kinds: the kinds the webhook judges and caches follow the
 * kind table, in the admission decision and in the manifests' lists alike.
 */
#include "wh_test_util.h"

#include <cjson/cJSON.h>
#include <kube5xx/k5_cluster.h>
#include <kube5xx/k5_object.h>

#include "wh_admission.h"
#include "wh_kinds.h"

/* request.kind of a kind's first served apiVersion. */
static cJSON *gvk_of(const k5_kind_info *ki)
{
    char group[128] = "", version[64];
    const char *sv = ki->served;
    size_t n = strcspn(sv, " ");
    const char *slash = memchr(sv, '/', n);
    if (slash) {
        snprintf(group, sizeof group, "%.*s", (int)(slash - sv), sv);
        snprintf(version, sizeof version, "%.*s", (int)(n - (size_t)(slash + 1 - sv)), slash + 1);
    } else
        snprintf(version, sizeof version, "%.*s", (int)n, sv);
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "group", group);
    cJSON_AddStringToObject(g, "version", version);
    cJSON_AddStringToObject(g, "kind", ki->name);
    return g;
}

static void test_wh_kinds__admitted_exactly_the_flagged_kinds(void **state)
{
    (void)state;
    size_t flagged = 0;
    for (size_t i = 0; i < k5_kind_count(); i++) {
        const k5_kind_info *ki = k5_kind_at(i);
        cJSON *g = gvk_of(ki);
        bool want = (ki->flags & K5_KF_WEBHOOK) != 0;
        if (wh_kind_admitted(g, NULL) != want)
            fail_msg("%s: admitted %d, the table says %d", ki->name, !want, want);
        flagged += want;
        cJSON_Delete(g);
    }
    assert_true(flagged >= 7);
}

static void test_wh_kinds__unknown_kinds_not_admitted_untold_ones_are(void **state)
{
    (void)state;
    cJSON *g = cJSON_Parse("{\"group\":\"\",\"version\":\"v1\",\"kind\":\"ConfigMap\"}");
    assert_false(wh_kind_admitted(g, NULL));
    cJSON_Delete(g);
    /* A CRD reusing a built-in's name is another kind. */
    g = cJSON_Parse("{\"group\":\"serving.knative.dev\",\"version\":\"v1\",\"kind\":\"Service\"}");
    assert_false(wh_kind_admitted(g, NULL));
    cJSON_Delete(g);
    /* No request.kind: the object's own type decides. */
    cJSON *o = cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}");
    assert_true(wh_kind_admitted(NULL, o));
    cJSON_Delete(o);
    o = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}");
    assert_false(wh_kind_admitted(NULL, o));
    cJSON_Delete(o);
    /* Nothing names a kind: the engine decides (it ignores what it cannot type). */
    assert_true(wh_kind_admitted(NULL, NULL));
}

/* The output of a writer, as a string the caller frees. */
static char *written(bool (*fn)(FILE *, int), int indent)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_true(fn(f, indent));
    fclose(f);
    return buf;
}

/* True when `resource` is an item of one of the text's `resources: [...]` lists. */
static bool lists(const char *text, const char *resource)
{
    for (const char *p = strstr(text, "resources: ["); p; p = strstr(p + 1, "resources: [")) {
        const char *end = strchr(p, ']');
        size_t n = strlen(resource);
        for (const char *q = p + 12; q && q < end; q = strchr(q, ',') ? strchr(q, ',') + 1 : NULL) {
            while (*q == ' ')
                q++;
            if (strncmp(q, resource, n) == 0 && (q[n] == ',' || q[n] == ']'))
                return true;
        }
    }
    return false;
}

static void test_wh_kinds__manifest_lists_follow_the_table(void **state)
{
    (void)state;
    char *vwc = written(wh_kinds_write_vwc_rules, 6);
    char *rbac = written(wh_kinds_write_rbac_rules, 2);
    for (size_t i = 0; i < k5_kind_count(); i++) {
        const k5_kind_info *ki = k5_kind_at(i);
        if (lists(vwc, ki->resource) != ((ki->flags & K5_KF_WEBHOOK) != 0))
            fail_msg("VWC rules and the table disagree on %s:\n%s", ki->resource, vwc);
        if (lists(rbac, ki->resource) != ((ki->kind & K5_CLUSTER_KINDS) != 0))
            fail_msg("RBAC rules and the cache's kinds disagree on %s:\n%s", ki->resource, rbac);
    }
    /* Built-ins under their preferred version only; CRD kinds under every served one. */
    assert_non_null(strstr(vwc, "      - apiGroups: [\"autoscaling\"]\n        apiVersions: [\"v2\"]\n"));
    assert_non_null(strstr(vwc, "apiVersions: [\"v1\", \"v1beta1\"]"));
    assert_null(strstr(rbac, "apiVersions"));
    assert_non_null(strstr(rbac, "  - apiGroups: [\"apps\"]\n    resources: ["));
    free(vwc);
    free(rbac);
}

/* A Pod without a readinessProbe would be denied if judged: a review of it is skipped. */
static void test_wh_kinds__review_of_unflagged_kind_skipped(void **state)
{
    (void)state;
    static const char pod[] =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u1\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"%s\"},"
        "\"operation\":\"CREATE\",\"namespace\":\"shop\",\"object\":{\"apiVersion\":\"%s\","
        "\"kind\":\"%s\",\"metadata\":{\"name\":\"web\"},\"spec\":{\"containers\":[{\"name\":\"web\","
        "\"image\":\"web\",\"ports\":[{\"containerPort\":8080}]}]}}}}";
    char body[1024];
    wh_review rv;
    snprintf(body, sizeof body, pod, "Pod", "v1", "Pod");
    memset(&rv, 0, sizeof rv);
    assert_int_equal(wh_admission_review(NULL, body, strlen(body), 0, 0, &rv), WH_OK);
    assert_int_equal(rv.http_status, 200);
    assert_int_equal(rv.decision, WH_DECISION_SKIPPED);
    wh_review_clear(&rv);
    /* The same body typed as a judged kind reaches the rules (the control). */
    static const char dep[] =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u2\",\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
        "\"operation\":\"CREATE\",\"namespace\":\"shop\",\"object\":{\"apiVersion\":\"apps/v1\","
        "\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":2,"
        "\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
        "{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"web\","
        "\"ports\":[{\"containerPort\":8080}]}]}}}}}}";
    memset(&rv, 0, sizeof rv);
    assert_int_equal(wh_admission_review(NULL, dep, strlen(dep), 0, 0, &rv), WH_OK);
    assert_int_equal(rv.http_status, 200);
    assert_int_equal(rv.decision, WH_DECISION_DENIED);
    wh_review_clear(&rv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_kinds__admitted_exactly_the_flagged_kinds),
        cmocka_unit_test(test_wh_kinds__unknown_kinds_not_admitted_untold_ones_are),
        cmocka_unit_test(test_wh_kinds__manifest_lists_follow_the_table),
        cmocka_unit_test(test_wh_kinds__review_of_unflagged_kind_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
