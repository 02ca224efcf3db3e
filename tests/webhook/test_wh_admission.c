/*
 * Unit tests of wh_admission: AdmissionReview JSON in, JSON out, no sockets.
 */
#include "wh_test_util.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#include "wh_admission.h"
#include "wh_log.h"

/* One judged review: the answer parsed back, for assertions. */
typedef struct judged {
    unsigned flags;  /* set before judge_buf */
    wh_review rv;
    cJSON *json;     /* the whole answer (NULL for 400/500) */
    cJSON *response; /* json.response */
} judged;

static k5_config *config_from(const char *yaml)
{
    k5_config *cfg = NULL;
    k5_error err;
    memset(&err, 0, sizeof err);
    k5_status st = k5_config_parse(&cfg, "test.yaml", yaml, strlen(yaml), &err);
    if (st != K5_OK)
        fail_msg("config does not parse: %s (line %u)", err.msg, err.line);
    return cfg;
}

static unsigned g_flags; /* the next judgement's flags */

static void judge_buf(judged *j, const k5_config *cfg, const char *body, size_t len)
{
    memset(j, 0, sizeof *j);
    j->flags = g_flags;
    assert_int_equal(wh_admission_review(cfg, body, len, 0, j->flags, &j->rv), WH_OK);
    assert_non_null(j->rv.body);
    if (j->rv.http_status == 200) {
        assert_string_equal(j->rv.content_type, "application/json");
        j->json = cJSON_ParseWithLength(j->rv.body, j->rv.body_len);
        assert_non_null(j->json);
        j->response = cJSON_GetObjectItemCaseSensitive(j->json, "response");
        assert_true(cJSON_IsObject(j->response));
        /* Never a patch, whatever the decision. */
        assert_null(cJSON_GetObjectItemCaseSensitive(j->response, "patch"));
        assert_null(cJSON_GetObjectItemCaseSensitive(j->response, "patchType"));
    }
}

static void judge(judged *j, const k5_config *cfg, const char *fixture)
{
    size_t len = 0;
    char *body = wh_test_fixture(fixture, &len);
    judge_buf(j, cfg, body, len);
    free(body);
}

static void judged_free(judged *j)
{
    cJSON_Delete(j->json);
    wh_review_clear(&j->rv);
}

static bool allowed(const judged *j)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->response, "allowed"));
}

static const char *uid(const judged *j)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j->response, "uid"));
}

static const char *api_version(const judged *j)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j->json, "apiVersion"));
}

static const cJSON *warnings(const judged *j)
{
    return cJSON_GetObjectItemCaseSensitive(j->response, "warnings");
}

static const char *status_message(const judged *j)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j->response, "status");
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "message"));
}

/* True when some warning starts with `prefix`. */
static bool has_warning(const judged *j, const char *prefix)
{
    const cJSON *w;
    cJSON_ArrayForEach(w, warnings(j))
    {
        if (cJSON_IsString(w) && strncmp(w->valuestring, prefix, strlen(prefix)) == 0)
            return true;
    }
    return false;
}

/* Every warning: one line, valid UTF-8, no control characters, a rule id first, <= 256 chars. */
static void assert_warnings_clean(const judged *j)
{
    const cJSON *w;
    size_t total = 0;
    cJSON_ArrayForEach(w, warnings(j))
    {
        assert_true(cJSON_IsString(w));
        const unsigned char *s = (const unsigned char *)w->valuestring;
        size_t n = strlen(w->valuestring), chars = 0;
        for (size_t i = 0; i < n; i++) {
            assert_true(s[i] >= 0x20 && s[i] != 0x7f);
            if ((s[i] & 0xc0) != 0x80)
                chars++;
            /* No C1 controls (U+0080..U+009F are encoded as C2 80..C2 9F). */
            if (s[i] == 0xc2 && i + 1 < n)
                assert_false(s[i + 1] >= 0x80 && s[i + 1] <= 0x9f);
        }
        assert_true(chars <= WH_WARNING_MAX_CHARS);
        total += chars;
        const char *colon = strchr(w->valuestring, ':');
        assert_non_null(colon);
        size_t idlen = (size_t)(colon - w->valuestring);
        bool known = k5_rule_find(w->valuestring, idlen) != NULL ||
                     strncmp(w->valuestring, "kube5xx", idlen) == 0;
        assert_true(known);
    }
    assert_true(total < 4096);
}

static void test_wh_admission__v1_denied_names_rule_and_fix(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "deny-create.json");
    assert_int_equal(j.rv.http_status, 200);
    assert_string_equal(api_version(&j), "admission.k8s.io/v1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j.json, "kind")),
                        "AdmissionReview");
    assert_string_equal(uid(&j), "0b9c1a5e-0001-4d2e-9f00-000000000001");
    assert_false(allowed(&j));
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j.response, "status");
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "code")), 403);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "reason")),
                        "Forbidden");
    const char *msg = status_message(&j);
    assert_non_null(strstr(msg, "readiness-probe-missing"));
    assert_non_null(strstr(msg, "Fix: "));
    assert_null(strchr(msg, '\n'));
    assert_int_equal(j.rv.decision, WH_DECISION_DENIED);
    /* The warning-level finding of the same object still reaches the user. */
    assert_true(has_warning(&j, "prestop-hook-missing: "));
    assert_warnings_clean(&j);
    judged_free(&j);
}

static void test_wh_admission__v1beta1_answered_in_v1beta1(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "deny-create-v1beta1.json");
    assert_string_equal(api_version(&j), "admission.k8s.io/v1beta1");
    assert_string_equal(uid(&j), "0b9c1a5e-0004-4d2e-9f00-000000000004");
    assert_false(allowed(&j));
    judged_free(&j);
}

static void test_wh_admission__warning_findings_allow_with_warnings(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "warn-create.json");
    assert_true(allowed(&j));
    assert_null(cJSON_GetObjectItemCaseSensitive(j.response, "status"));
    assert_true(has_warning(&j, "memory-limit-too-low: "));
    assert_true(has_warning(&j, "prestop-hook-missing: "));
    assert_warnings_clean(&j);
    assert_int_equal(j.rv.decision, WH_DECISION_WARNED);
    judged_free(&j);
}

static void test_wh_admission__clean_object_allowed_silently(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "clean-create.json");
    assert_true(allowed(&j));
    assert_null(cJSON_GetObjectItemCaseSensitive(j.response, "status"));
    assert_int_equal(j.rv.decision, WH_DECISION_ALLOWED);
    judged_free(&j);
}

static void test_wh_admission__uid_echoed_byte_for_byte(void **state)
{
    (void)state;
    const char *body = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                       "\"request\":{\"uid\":\"caf\\u00e9-\\\"quoted\\\"-\\u2603\","
                       "\"operation\":\"DELETE\"}}";
    judged j;
    judge_buf(&j, NULL, body, strlen(body));
    assert_string_equal(uid(&j), "caf\xc3\xa9-\"quoted\"-\xe2\x98\x83");
    judged_free(&j);
}

/*
 * The same review always gets the same bytes: judged twice in a row and once more from a copy
 * of the body at another address (the engine's nodes borrow the review's strings, and nothing
 * in an answer may depend on where they live), for every fixture, under the test config too.
 */
static void test_wh_admission__same_review_same_bytes(void **state)
{
    (void)state;
    static const char *const fixtures[] = {
        "clean-create.json",     "connect.json",         "delete.json",
        "deny-create-v1beta1.json", "deny-create.json",  "dry-run-deny.json",
        "exempt-namespace.json", "exempt-user.json",     "object-null.json",
        "scale-subresource.json", "suppressed-create.json", "update-introduced.json",
        "update-preexisting.json", "warn-create.json",
    };
    size_t clen = 0;
    char *yaml = wh_test_fixture("webhook-config.yaml", &clen);
    k5_config *cfg = config_from(yaml);
    free(yaml);
    for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
        for (int c = 0; c < 2; c++) {
            const k5_config *use = c ? cfg : NULL;
            size_t len = 0;
            char *body = wh_test_fixture(fixtures[f], &len);
            char *copy = malloc(len + 1);
            assert_non_null(copy);
            memcpy(copy, body, len);
            copy[len] = '\0';
            judged a, b, d;
            judge_buf(&a, use, body, len);
            judge_buf(&b, use, body, len);
            free(body); /* the third judgement reads the copy only */
            judge_buf(&d, use, copy, len);
            if (a.rv.body_len != b.rv.body_len || a.rv.body_len != d.rv.body_len ||
                memcmp(a.rv.body, b.rv.body, a.rv.body_len) != 0 ||
                memcmp(a.rv.body, d.rv.body, a.rv.body_len) != 0)
                fail_msg("%s answered differently for the same review:\n%.*s\n%.*s\n%.*s",
                         fixtures[f], (int)a.rv.body_len, a.rv.body, (int)b.rv.body_len,
                         b.rv.body, (int)d.rv.body_len, d.rv.body);
            assert_int_equal(a.rv.http_status, d.rv.http_status);
            free(copy);
            judged_free(&a);
            judged_free(&b);
            judged_free(&d);
        }
    }
    k5_config_free(&cfg);
}

static void test_wh_admission__uid_bad_utf8_or_nul_is_400_never_echoed(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"uid\":\"ab\xff\xfe\",\"operation\":\"DELETE\"}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"request\":{\"uid\":\"ab\\u0000cd\",\"operation\":\"DELETE\"}}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        judged j;
        judge_buf(&j, NULL, bodies[i], strlen(bodies[i]));
        assert_int_equal(j.rv.http_status, 400);
        assert_non_null(strstr(j.rv.body, "request.uid must be valid UTF-8 without NUL"));
        assert_true(fe_utf8_valid(j.rv.body, j.rv.body_len));
        assert_null(memchr(j.rv.body, '\0', j.rv.body_len));
        judged_free(&j);
    }
}

static void test_wh_admission__delete_connect_subresource_allowed_at_once(void **state)
{
    (void)state;
    const char *files[] = {"delete.json", "connect.json", "scale-subresource.json",
                           "object-null.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        judged j;
        judge(&j, NULL, files[i]);
        assert_int_equal(j.rv.http_status, 200);
        assert_true(allowed(&j));
        assert_null(warnings(&j));
        assert_int_equal(j.rv.decision, WH_DECISION_SKIPPED);
        assert_int_equal(j.rv.nfired, 0);
        judged_free(&j);
    }
}

static void test_wh_admission__missing_optional_fields_never_crash(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"a\"}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"b\",\"operation\":\"CREATE\",\"object\":{}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"c\",\"operation\":\"UPDATE\",\"object\":{\"kind\":\"Deployment\"},"
        "\"oldObject\":42,\"userInfo\":null,\"kind\":7,\"namespace\":null}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"d\",\"operation\":\"CREATE\",\"object\":{\"apiVersion\":\"apps/v1\","
        "\"kind\":\"Deployment\",\"spec\":{\"template\":{\"spec\":{\"containers\":[null,1,"
        "{\"name\":null}]}}}}}}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        judged j;
        judge_buf(&j, NULL, bodies[i], strlen(bodies[i]));
        assert_int_equal(j.rv.http_status, 200);
        judged_free(&j);
    }
}

static void test_wh_admission__type_taken_from_request_kind(void **state)
{
    (void)state;
    /* An object without apiVersion and kind is still judged, as request.kind says. */
    const char *body =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"t\",\"operation\":\"CREATE\",\"namespace\":\"shop\","
        "\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
        "\"object\":{\"metadata\":{\"name\":\"web\"},\"spec\":{\"template\":{\"spec\":{"
        "\"containers\":[{\"name\":\"web\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":"
        "80}]}]}}}}}}";
    judged j;
    judge_buf(&j, NULL, body, strlen(body));
    assert_false(allowed(&j));
    assert_non_null(strstr(status_message(&j), "readiness-probe-missing"));
    judged_free(&j);
}

static void test_wh_admission__httproute_timeout_warned(void **state)
{
    (void)state;
    /* A Gateway API kind the kind table flags for the webhook: judged by its single-object
     * rule; the cross-object route rules need the cluster (none here: they stay silent). */
    const char *body =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"r\",\"operation\":\"CREATE\",\"namespace\":\"shop\","
        "\"kind\":{\"group\":\"gateway.networking.k8s.io\",\"version\":\"v1\","
        "\"kind\":\"HTTPRoute\"},\"object\":{\"apiVersion\":\"gateway.networking.k8s.io/v1\","
        "\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},"
        "\"spec\":{\"parentRefs\":[{\"name\":\"nowhere\"}],\"rules\":[{\"backendRefs\":[{"
        "\"name\":\"missing\",\"port\":80}],\"timeouts\":{\"request\":\"2s\"}}]}}}}";
    judged j;
    judge_buf(&j, NULL, body, strlen(body));
    assert_true(allowed(&j));
    assert_true(has_warning(&j, "route-timeout-too-short: "));
    assert_false(has_warning(&j, "route-backend-service-missing: "));
    assert_false(has_warning(&j, "route-parent-missing: "));
    assert_warnings_clean(&j);
    judged_free(&j);
}

static void test_wh_admission__dry_run_judged_like_real(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "dry-run-deny.json");
    assert_false(allowed(&j));
    assert_true(j.rv.dry_run);
    judged_free(&j);
}

static void test_wh_admission__ratchet_warns_on_preexisting_violation(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "update-preexisting.json");
    assert_true(allowed(&j));
    assert_true(has_warning(&j, "readiness-probe-missing: (pre-existing"));
    assert_warnings_clean(&j);
    bool ratcheted = false;
    for (size_t i = 0; i < j.rv.nfired; i++)
        ratcheted |= j.rv.fired[i].action == WH_ACTION_RATCHET;
    assert_true(ratcheted);
    judged_free(&j);
}

static void test_wh_admission__ratchet_denies_introduced_violation(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "update-introduced.json");
    assert_false(allowed(&j));
    assert_non_null(strstr(status_message(&j), "readiness-probe-missing"));
    judged_free(&j);
}

static void test_wh_admission__ratchet_off_denies_preexisting_violation(void **state)
{
    (void)state;
    k5_config *cfg = config_from("webhook:\n  ratchet: false\n");
    judged j;
    judge(&j, cfg, "update-preexisting.json");
    assert_false(allowed(&j));
    judged_free(&j);
    k5_config_free(&cfg);
}

/* A Deployment whose containers have the given names and a 16Mi memory limit. */
static char *review_with_containers(const char *const *names, size_t n)
{
    cJSON *root = cJSON_Parse("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":"
                              "\"AdmissionReview\",\"request\":{\"uid\":\"w\",\"operation\":"
                              "\"CREATE\",\"namespace\":\"shop\",\"object\":{\"apiVersion\":"
                              "\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":"
                              "\"web\"},\"spec\":{\"template\":{\"spec\":{\"containers\":[]}}}}}}");
    cJSON *ctrs = cJSON_GetObjectItem(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(
                cJSON_GetObjectItem(
                    cJSON_GetObjectItem(cJSON_GetObjectItem(root, "request"), "object"), "spec"),
                "template"),
            "spec"),
        "containers");
    for (size_t i = 0; i < n; i++) {
        cJSON *c = cJSON_Parse("{\"image\":\"nginx\",\"resources\":{\"limits\":{\"memory\":"
                               "\"16Mi\"}}}");
        cJSON_AddStringToObject(c, "name", names[i]);
        cJSON_AddItemToArray(ctrs, c);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static void test_wh_admission__warnings_cleaned_and_truncated(void **state)
{
    (void)state;
    char name[600];
    /* Control characters, a line break, invalid UTF-8 and far too many characters. */
    snprintf(name, sizeof name, "bad\x07name\nnext\tline\xc2\x85\xff");
    size_t n = strlen(name);
    memset(name + n, 'x', 400);
    name[n + 400] = '\0';
    const char *names[] = {name};
    char *body = review_with_containers(names, 1);
    judged j;
    judge_buf(&j, NULL, body, strlen(body));
    assert_true(allowed(&j));
    assert_true(has_warning(&j, "memory-limit-too-low: "));
    assert_warnings_clean(&j);
    const cJSON *w = cJSON_GetArrayItem(warnings(&j), 0);
    size_t len = strlen(w->valuestring);
    assert_string_equal(w->valuestring + len - 3, "...");
    free(body);
    judged_free(&j);
}

static void test_wh_admission__warnings_deduplicated(void **state)
{
    (void)state;
    /* Two containers with the same name: the same message, once. */
    const char *names[] = {"same-name-that-is-long-enough-to-push-the-path-out-of-the-line",
                           "same-name-that-is-long-enough-to-push-the-path-out-of-the-line"};
    char *body = review_with_containers(names, 2);
    judged j;
    judge_buf(&j, NULL, body, strlen(body));
    assert_int_equal(cJSON_GetArraySize(warnings(&j)), 1);
    free(body);
    judged_free(&j);
}

static void test_wh_admission__warnings_total_capped(void **state)
{
    (void)state;
    enum { N = 80 };
    char bufs[N][64];
    const char *names[N];
    for (size_t i = 0; i < N; i++) {
        snprintf(bufs[i], sizeof bufs[i], "container-%03zu-with-a-fairly-long-name", i);
        names[i] = bufs[i];
    }
    char *body = review_with_containers(names, N);
    judged j;
    judge_buf(&j, NULL, body, strlen(body));
    assert_warnings_clean(&j);
    int n = cJSON_GetArraySize(warnings(&j));
    assert_true(n > 5 && n < N);
    const cJSON *last = cJSON_GetArrayItem(warnings(&j), n - 1);
    assert_non_null(strstr(last->valuestring, "more warnings not shown"));
    free(body);
    judged_free(&j);
}

/*
 * Five kinds of denial on one Deployment whose long container names make every explanation
 * long: the message stays under its cap, names every denied rule id before explaining any,
 * and says how many explanations it left out.
 */
static void test_wh_admission__deny_names_every_rule_before_explaining(void **state)
{
    (void)state;
    enum { N = 6 };
    cJSON *root = cJSON_Parse(
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
        "{\"uid\":\"d\",\"operation\":\"CREATE\",\"namespace\":\"shop\",\"kind\":{\"group\":"
        "\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},\"object\":{\"apiVersion\":"
        "\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},\"spec\":{"
        "\"replicas\":1,\"strategy\":{\"type\":\"Recreate\"},\"template\":{\"spec\":"
        "{\"containers\":[]}}}}}}");
    assert_non_null(root);
    cJSON *ctrs = cJSON_GetObjectItem(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(
                cJSON_GetObjectItem(
                    cJSON_GetObjectItem(cJSON_GetObjectItem(root, "request"), "object"), "spec"),
                "template"),
            "spec"),
        "containers");
    for (size_t i = 0; i < N; i++) {
        /* No readiness probe; a liveness probe on an undeclared port; limit below request;
         * a heap bound larger than the limit. */
        cJSON *c = cJSON_Parse(
            "{\"image\":\"eclipse-temurin:21\",\"ports\":[{\"containerPort\":8080}],"
            "\"livenessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":9999}},"
            "\"env\":[{\"name\":\"JAVA_TOOL_OPTIONS\",\"value\":\"-Xmx900m\"}],"
            "\"resources\":{\"requests\":{\"memory\":\"1Gi\"},\"limits\":{\"memory\":"
            "\"512Mi\"}}}");
        assert_non_null(c);
        char name[96];
        snprintf(name, sizeof name, "container-%zu-with-a-name-long-enough-to-fill-a-message", i);
        cJSON_AddStringToObject(c, "name", name);
        cJSON_AddItemToArray(ctrs, c);
    }
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    judged j;
    judge_buf(&j, NULL, body, strlen(body));
    assert_false(allowed(&j));
    const char *msg = status_message(&j);
    assert_non_null(msg);
    assert_true(fe_utf8_chars(msg, strlen(msg)) <= WH_DENY_MESSAGE_MAX_CHARS);
    /* The explanations start at "(1) "; every denied rule id comes before it. */
    const char *first = strstr(msg, "(1) ");
    assert_non_null(first);
    size_t ndeny = 0, kinds = 0;
    for (size_t i = 0; i < j.rv.nfired; i++) {
        if (j.rv.fired[i].action != WH_ACTION_DENY)
            continue;
        ndeny++;
        const char *at = strstr(msg, j.rv.fired[i].rule);
        if (!at || at > first)
            fail_msg("denied rule %s is not named before the explanations: %s",
                     j.rv.fired[i].rule, msg);
        bool again = false;
        for (size_t k = 0; k < i; k++)
            again |= j.rv.fired[k].action == WH_ACTION_DENY &&
                     strcmp(j.rv.fired[k].rule, j.rv.fired[i].rule) == 0;
        kinds += !again;
    }
    /* The subject: more denials than explanations fit, of several rules. */
    assert_true(kinds >= 4);
    assert_true(ndeny > 8);
    char want[64];
    snprintf(want, sizeof want, "(%zu problems: ", ndeny);
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, "more not explained here (kube5xx lint explains every finding)"));
    /* The second explanation is of another rule than the first (first findings go first). */
    const char *second = strstr(first, "; (2) ");
    assert_non_null(second);
    const char *id1 = first + 4, *id2 = second + 6;
    assert_false(strncmp(id1, id2, (size_t)(strchr(id1, ':') - id1) + 1) == 0);
    /* What is explained is whole, never cut. */
    assert_null(strstr(msg, "..."));
    free(body);
    judged_free(&j);
}

/* One denial: its id, then its explanation, and no "more" note. */
static void test_wh_admission__deny_single_problem_explained_whole(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "deny-create.json");
    const char *msg = status_message(&j);
    assert_non_null(
        strstr(msg, "(1 problem: readiness-probe-missing): (1) readiness-probe-missing: "));
    assert_null(strstr(msg, "more not explained"));
    judged_free(&j);
}

static void test_wh_admission__exempt_namespace_user_and_group(void **state)
{
    (void)state;
    size_t len = 0;
    char *yaml = wh_test_fixture("webhook-config.yaml", &len);
    k5_config *cfg = config_from(yaml);
    free(yaml);
    judged j;
    judge(&j, cfg, "exempt-namespace.json");
    assert_true(allowed(&j));
    assert_int_equal(j.rv.decision, WH_DECISION_EXEMPT);
    judged_free(&j);
    judge(&j, cfg, "exempt-user.json");
    assert_true(allowed(&j));
    assert_int_equal(j.rv.decision, WH_DECISION_EXEMPT);
    judged_free(&j);
    /* system:nodes is exempt: the same denied review, sent by a node. */
    size_t blen = 0;
    char *body = wh_test_fixture("deny-create.json", &blen);
    cJSON *root = cJSON_Parse(body);
    cJSON *groups = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "request"), "userInfo"), "groups");
    cJSON_AddItemToArray(groups, cJSON_CreateString("system:nodes"));
    char *s = cJSON_PrintUnformatted(root);
    judge_buf(&j, cfg, s, strlen(s));
    assert_int_equal(j.rv.decision, WH_DECISION_EXEMPT);
    judged_free(&j);
    /* And the exemptions do not leak to others. */
    judge(&j, cfg, "deny-create.json");
    assert_false(allowed(&j));
    judged_free(&j);
    free(s);
    cJSON_Delete(root);
    free(body);
    k5_config_free(&cfg);
}

static void test_wh_admission__mode_warn_turns_denials_into_warnings(void **state)
{
    (void)state;
    k5_config *cfg = config_from("webhook:\n  mode: warn\n");
    judged j;
    judge(&j, cfg, "deny-create.json");
    assert_true(allowed(&j));
    assert_true(has_warning(&j, "readiness-probe-missing: "));
    assert_int_equal(j.rv.decision, WH_DECISION_WARNED);
    judged_free(&j);
    k5_config_free(&cfg);
}

static void test_wh_admission__warn_entry_point_never_denies(void **state)
{
    (void)state;
    judged j;
    g_flags = WH_REVIEW_WARN_ONLY;
    judge(&j, NULL, "deny-create.json");
    g_flags = 0;
    assert_true(allowed(&j));
    assert_true(has_warning(&j, "readiness-probe-missing: (would deny) "));
    judged_free(&j);
    /* Audit stays audit on the advisory entry point. */
    k5_config *cfg = config_from("webhook:\n  mode: audit\n");
    g_flags = WH_REVIEW_WARN_ONLY;
    judge(&j, cfg, "deny-create.json");
    g_flags = 0;
    assert_int_equal(j.rv.decision, WH_DECISION_AUDITED);
    judged_free(&j);
    k5_config_free(&cfg);
}

static void test_wh_admission__mode_audit_allows_and_counts(void **state)
{
    (void)state;
    k5_config *cfg = config_from("webhook:\n  mode: audit\n");
    judged j;
    judge(&j, cfg, "deny-create.json");
    assert_true(allowed(&j));
    assert_null(warnings(&j));
    assert_int_equal(j.rv.decision, WH_DECISION_AUDITED);
    assert_true(j.rv.nfired > 0);
    for (size_t i = 0; i < j.rv.nfired; i++)
        assert_int_equal(j.rv.fired[i].action, WH_ACTION_AUDIT);
    judged_free(&j);
    k5_config_free(&cfg);
}

static void test_wh_admission__rule_severity_from_config(void **state)
{
    (void)state;
    k5_config *cfg = config_from("rules:\n  readiness-probe-missing: warning\n");
    judged j;
    judge(&j, cfg, "deny-create.json");
    /* The subject is readiness-probe-missing's severity: it warns and is no reason to deny
     * (other error rules may still deny this object). */
    assert_true(has_warning(&j, "readiness-probe-missing: "));
    assert_true(allowed(&j) || !strstr(status_message(&j), "readiness-probe-missing"));
    judged_free(&j);
    k5_config_free(&cfg);
}

static void test_wh_admission__suppressed_findings_counted_not_shown(void **state)
{
    (void)state;
    judged j;
    judge(&j, NULL, "suppressed-create.json");
    assert_true(allowed(&j));
    assert_false(has_warning(&j, "readiness-probe-missing"));
    assert_int_equal(j.rv.suppressed, 1);
    judged_free(&j);
}

static void test_wh_admission__bad_requests_are_400(void **state)
{
    (void)state;
    const char *bodies[] = {
        "{not json",
        "",
        "[]",
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
        ("{\"apiVersion\":\"admission.k8s.io/v2\",\"kind\":\"AdmissionReview\",\"request\":{"
         "\"uid\":\"x\"}}"),
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        judged j;
        judge_buf(&j, NULL, bodies[i], strlen(bodies[i]));
        assert_int_equal(j.rv.http_status, 400);
        assert_int_equal(j.rv.decision, WH_DECISION_INVALID);
        assert_true(strlen(j.rv.detail) > 10);
        judged_free(&j);
    }
}

static void test_wh_admission__deadline_passed_is_500_not_denial(void **state)
{
    (void)state;
    size_t len = 0;
    char *body = wh_test_fixture("deny-create.json", &len);
    wh_review rv;
    assert_int_equal(wh_admission_review(NULL, body, len, 1, 0, &rv), WH_OK);
    assert_int_equal(rv.http_status, 500);
    assert_int_equal(rv.decision, WH_DECISION_ERROR);
    assert_null(strstr(rv.body, "allowed"));
    wh_review_clear(&rv);
    free(body);
}

static void test_wh_admission__record_logs_one_json_line(void **state)
{
    (void)state;
    char path[] = "/tmp/wh-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    wh_log_set_fd(fd);
    wh_log_set_level(WH_LOG_INFO);
    wh_metrics *m = NULL;
    assert_int_equal(wh_metrics_new(&m), WH_OK);
    judged j;
    judge(&j, NULL, "deny-create.json");
    wh_review_record(&j.rv, m, 123000);
    judged_free(&j);
    wh_log_set_fd(2);
    wh_log_set_level(WH_LOG_ERROR);
    close(fd);
    size_t len = 0;
    char *log = wh_test_read(path, &len);
    unlink(path);
    assert_non_null(log);
    assert_true(len > 0);
    assert_ptr_equal(strchr(log, '\n'), log + len - 1); /* exactly one line */
    cJSON *line = cJSON_Parse(log);
    assert_non_null(line);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(line, "decision")), "denied");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(line, "kind")), "Deployment");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(line, "user")), "alice");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(line, "operation")), "CREATE");
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(line, "durationMicros")), 123);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(line, "rules")) >= 2);
    assert_non_null(cJSON_GetObjectItem(line, "time"));
    assert_non_null(cJSON_GetObjectItem(line, "uid"));
    cJSON_Delete(line);
    free(log);
    char *text;
    assert_int_equal(wh_metrics_render(m, &text, &len), WH_OK);
    assert_non_null(strstr(text, "kube5xx_admission_requests_total{kind=\"Deployment\","
                                 "operation=\"CREATE\",decision=\"denied\"} 1"));
    assert_non_null(strstr(text, "kube5xx_rule_findings_total{rule=\"readiness-probe-missing\","
                                 "severity=\"error\",action=\"deny\"} 1"));
    free(text);
    wh_metrics_free(&m);
}

/* The real AdmissionReviews in ../shared/admission-fixtures (skipped when absent). */
static void test_wh_admission__real_fixtures_answered(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/admission-fixtures", WH_SHARED_DIR);
    if (!wh_test_dir_exists(dir))
        skip();
    static const struct {
        const char *file, *api;
    } cases[] = {
        {"admission.k8s.io.v1.AdmissionReview.json", "admission.k8s.io/v1"},
        {"admission.k8s.io.v1beta1.AdmissionReview.json", "admission.k8s.io/v1beta1"},
        {"v1.33.0_admission.k8s.io.v1.AdmissionReview.json", "admission.k8s.io/v1"},
        {"v1.33.0_admission.k8s.io.v1beta1.AdmissionReview.json", "admission.k8s.io/v1beta1"},
        {"kubewarden-policy-server_pod_with_privileged_containers.json", "admission.k8s.io/v1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
        size_t len = 0;
        char *body = wh_test_read(path, &len);
        assert_non_null(body);
        judged j;
        judge_buf(&j, NULL, body, len);
        assert_int_equal(j.rv.http_status, 200);
        assert_string_equal(api_version(&j), cases[i].api);
        cJSON *in = cJSON_Parse(body);
        const char *want = cJSON_GetStringValue(
            cJSON_GetObjectItem(cJSON_GetObjectItem(in, "request"), "uid"));
        assert_string_equal(uid(&j), want);
        cJSON_Delete(in);
        assert_warnings_clean(&j);
        judged_free(&j);
        free(body);
    }
}

int main(void)
{
    wh_log_set_level(WH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_admission__v1_denied_names_rule_and_fix),
        cmocka_unit_test(test_wh_admission__v1beta1_answered_in_v1beta1),
        cmocka_unit_test(test_wh_admission__warning_findings_allow_with_warnings),
        cmocka_unit_test(test_wh_admission__clean_object_allowed_silently),
        cmocka_unit_test(test_wh_admission__uid_echoed_byte_for_byte),
        cmocka_unit_test(test_wh_admission__same_review_same_bytes),
        cmocka_unit_test(test_wh_admission__uid_bad_utf8_or_nul_is_400_never_echoed),
        cmocka_unit_test(test_wh_admission__delete_connect_subresource_allowed_at_once),
        cmocka_unit_test(test_wh_admission__missing_optional_fields_never_crash),
        cmocka_unit_test(test_wh_admission__type_taken_from_request_kind),
        cmocka_unit_test(test_wh_admission__httproute_timeout_warned),
        cmocka_unit_test(test_wh_admission__dry_run_judged_like_real),
        cmocka_unit_test(test_wh_admission__ratchet_warns_on_preexisting_violation),
        cmocka_unit_test(test_wh_admission__ratchet_denies_introduced_violation),
        cmocka_unit_test(test_wh_admission__ratchet_off_denies_preexisting_violation),
        cmocka_unit_test(test_wh_admission__warnings_cleaned_and_truncated),
        cmocka_unit_test(test_wh_admission__warnings_deduplicated),
        cmocka_unit_test(test_wh_admission__warnings_total_capped),
        cmocka_unit_test(test_wh_admission__deny_names_every_rule_before_explaining),
        cmocka_unit_test(test_wh_admission__deny_single_problem_explained_whole),
        cmocka_unit_test(test_wh_admission__exempt_namespace_user_and_group),
        cmocka_unit_test(test_wh_admission__mode_warn_turns_denials_into_warnings),
        cmocka_unit_test(test_wh_admission__warn_entry_point_never_denies),
        cmocka_unit_test(test_wh_admission__mode_audit_allows_and_counts),
        cmocka_unit_test(test_wh_admission__rule_severity_from_config),
        cmocka_unit_test(test_wh_admission__suppressed_findings_counted_not_shown),
        cmocka_unit_test(test_wh_admission__bad_requests_are_400),
        cmocka_unit_test(test_wh_admission__deadline_passed_is_500_not_denial),
        cmocka_unit_test(test_wh_admission__record_logs_one_json_line),
        cmocka_unit_test(test_wh_admission__real_fixtures_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
