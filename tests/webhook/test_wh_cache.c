/*
 * Admission with the cluster around the object: the cache fed the way the
 * informer feeds it (replace_begin, ADDED..., replace_end, then watch
 * events), and reviews judged against it. Contradictions deny, absences
 * warn, an update that breaks a partner is denied naming it, the answer
 * follows watch events and relists, and a cache that is not trusted never
 * denies from cross-object rules.
 */
#include <cjson/cJSON.h>
#include <time.h>

#include "wh_test_util.h"

#include "wh_admission.h"
#include "wh_cache.h"

/* ---- objects ---- */

static char *deployment(const char *name, const char *app, const char *port, const char *replicas)
{
    char *s = malloc(2048);
    snprintf(s, 2048,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"shop\",\"managedFields\":[{\"manager\":\"kubectl\"}]},\"spec\":{%s"
             "\"selector\":{\"matchLabels\":{\"app\":\"%s\"}},\"template\":{\"metadata\":{"
             "\"labels\":{\"app\":\"%s\"}},\"spec\":{\"terminationGracePeriodSeconds\":30,"
             "\"containers\":[{\"name\":\"web\",\"image\":\"shop/web:1\",\"ports\":[{\"name\":"
             "\"%s\",\"containerPort\":8080}],\"readinessProbe\":{\"httpGet\":{\"path\":\"/\","
             "\"port\":8080}},\"lifecycle\":{\"preStop\":{\"sleep\":{\"seconds\":5}}},"
             "\"resources\":{\"requests\":{\"memory\":\"256Mi\",\"cpu\":\"100m\"},\"limits\":{"
             "\"memory\":\"256Mi\"}}}]}}},\"status\":{\"replicas\":2}}",
             name, replicas ? replicas : "", app, app, port);
    return s;
}

static char *service(const char *name, const char *app, const char *target)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"shop\"},\"spec\":{\"selector\":{\"app\":\"%s\"},\"ports\":[{"
             "\"name\":\"http\",\"port\":80,\"targetPort\":\"%s\"}]}}",
             name, app, target);
    return s;
}

static char *hpa(const char *name, const char *target, int min)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":"
             "{\"name\":\"%s\",\"namespace\":\"shop\"},\"spec\":{\"scaleTargetRef\":{\"apiVersion\":"
             "\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"%s\"},\"minReplicas\":%d,"
             "\"maxReplicas\":10}}",
             name, target, min);
    return s;
}

/* An AdmissionReview for obj (and old, for an UPDATE); takes both strings. */
static char *review_of(const char *kind, const char *group, const char *version, const char *op,
                       char *obj, char *old)
{
    size_t n = strlen(obj) + (old ? strlen(old) : 0) + 1024;
    char *s = malloc(n);
    snprintf(s, n,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
             "\"uid\":\"u-1\",\"kind\":{\"group\":\"%s\",\"version\":\"%s\",\"kind\":\"%s\"},"
             "\"namespace\":\"shop\",\"operation\":\"%s\",\"userInfo\":{\"username\":\"dev\"},"
             "\"object\":%s%s%s}}",
             group, version, kind, op, obj, old ? ",\"oldObject\":" : "", old ? old : "");
    free(obj);
    free(old);
    return s;
}

/* ---- feeding the cache ---- */

static void event(wh_cache *c, k5_kind kind, wh_cache_event_type t, char *json)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    wh_cache_event(c, kind, t, j);
    cJSON_Delete(j);
    free(json);
}

/* Every cached kind listed (empty but for what the caller adds next). */
static void list_all_empty(wh_cache *c)
{
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        k5_kind k = K5_KIND_AT(b);
        if (!(k & K5_CLUSTER_KINDS))
            continue;
        wh_cache_replace_begin(c, k);
        wh_cache_replace_end(c, k);
    }
}

typedef struct answer {
    wh_review rv;
    cJSON *body;
} answer;

/* Judges the review (taken) under cfg (NULL: the defaults) with the cache around. */
static void judge_under(answer *a, const k5_config *cfg, wh_cache *c, char *review)
{
    memset(a, 0, sizeof *a);
    assert_int_equal(wh_admission_review_cached(cfg, c, review, strlen(review), 0, 0, &a->rv),
                     WH_OK);
    assert_int_equal(a->rv.http_status, 200);
    a->body = cJSON_Parse(a->rv.body);
    assert_non_null(a->body);
    free(review);
}

static void judge(answer *a, wh_cache *c, char *review)
{
    judge_under(a, NULL, c, review);
}

static void answer_free(answer *a)
{
    cJSON_Delete(a->body);
    wh_review_clear(&a->rv);
}

static bool allowed(const answer *a)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(a->body, "response"), "allowed"));
}

static const char *deny_message(const answer *a)
{
    const cJSON *st = cJSON_GetObjectItem(cJSON_GetObjectItem(a->body, "response"), "status");
    const cJSON *m = cJSON_GetObjectItem(st, "message");
    return cJSON_IsString(m) ? m->valuestring : "";
}

/* True when some warning contains every one of the (NULL-terminated) strings. */
static bool warned(const answer *a, const char *s1, const char *s2)
{
    const cJSON *w = cJSON_GetObjectItem(cJSON_GetObjectItem(a->body, "response"), "warnings");
    for (const cJSON *i = w ? w->child : NULL; i; i = i->next)
        if (strstr(i->valuestring, s1) && (!s2 || strstr(i->valuestring, s2)))
            return true;
    return false;
}

static bool fired(const answer *a, const char *rule)
{
    for (size_t i = 0; i < a->rv.nfired; i++)
        if (strcmp(a->rv.fired[i].rule, rule) == 0)
            return true;
    return false;
}

static wh_cache *trusted_shop(void)
{
    wh_cache *c = NULL;
    assert_int_equal(wh_cache_new(NULL, &c), WH_OK);
    list_all_empty(c);
    wh_cache_replace_begin(c, K5_KIND_DEPLOYMENT);
    event(c, K5_KIND_DEPLOYMENT, WH_CACHE_ADDED, deployment("web", "web", "http", "\"replicas\":2,"));
    wh_cache_replace_end(c, K5_KIND_DEPLOYMENT);
    wh_cache_replace_begin(c, K5_KIND_SERVICE);
    event(c, K5_KIND_SERVICE, WH_CACHE_ADDED, service("web", "web", "http"));
    wh_cache_replace_end(c, K5_KIND_SERVICE);
    assert_int_equal(wh_cache_state_at(c, wh_now_ns()), WH_CACHE_TRUSTED);
    return c;
}

/* ---- tests ---- */

static void test_wh_cache__syncing_is_not_ready_and_judges_single_objects(void **state)
{
    (void)state;
    wh_cache *c = NULL;
    assert_int_equal(wh_cache_new(NULL, &c), WH_OK);
    char why[256] = "";
    assert_false(wh_cache_ready(c, why, sizeof why));
    assert_non_null(strstr(why, "waiting for the first list of Deployment"));
    answer a;
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("web", "web", "nope"), NULL));
    assert_true(allowed(&a)); /* nothing to compare with: single-object rules only */
    assert_string_equal(a.rv.cache_state, "syncing");
    answer_free(&a);
    list_all_empty(c);
    assert_true(wh_cache_ready(c, why, sizeof why));
    wh_cache_free(&c);
    assert_null(c);
}

static void test_wh_cache__sync_timeout_serves_single_object_rules_and_is_ready(void **state)
{
    (void)state;
    wh_cache_opts o = {1000000, 0}; /* 1 ms */
    wh_cache *c = NULL;
    assert_int_equal(wh_cache_new(&o, &c), WH_OK);
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    char why[256];
    assert_true(wh_cache_ready(c, why, sizeof why));
    assert_int_equal(wh_cache_state_at(c, wh_now_ns()), WH_CACHE_UNSYNCED);
    answer a;
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("web", "web", "nope"), NULL));
    assert_true(allowed(&a));
    assert_string_equal(a.rv.cache_state, "unsynced");
    answer_free(&a);
    char *m = wh_cache_metrics(c);
    assert_non_null(strstr(m, "kube5xx_cache_state{state=\"unsynced\"} 1"));
    free(m);
    wh_cache_free(&c);
}

static void test_wh_cache__service_whose_target_port_no_container_declares_is_denied(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    answer a;
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "web", "grpc"), NULL));
    assert_false(allowed(&a));
    assert_non_null(strstr(deny_message(&a), "service-target-port-mismatch"));
    assert_non_null(strstr(deny_message(&a), "8080/TCP \"http\""));
    assert_string_equal(a.rv.cache_state, "trusted");
    assert_int_equal(a.rv.partners, 1);
    answer_free(&a);
    /* The same Service with the right port is allowed. */
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "web", "http"), NULL));
    assert_true(allowed(&a));
    answer_free(&a);
    /* With the cache off, the contradiction is not seen (today's behaviour). */
    judge(&a, NULL, review_of("Service", "", "v1", "CREATE", service("api", "web", "grpc"), NULL));
    assert_true(allowed(&a));
    assert_null(a.rv.cache_state);
    answer_free(&a);
    wh_cache_free(&c);
}

static void test_wh_cache__absence_only_warns(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    answer a;
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "nobody", "http"), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "service-selects-nothing", "not blocking"));
    answer_free(&a);
    wh_cache_free(&c);
}

/*
 * The cached Deployment keeps its readiness probe (GET / on 8080), so an ALB Ingress whose
 * health check asks for /healthz is compared with it at admission, as the linter does: a
 * warning (lb-healthcheck-mismatch is one), never a denial.
 */
static void test_wh_cache__alb_health_check_is_compared_with_cached_probes(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    static const char ing[] =
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":"
        "\"web\",\"namespace\":\"shop\",\"annotations\":{\"alb.ingress.kubernetes.io/"
        "healthcheck-path\":\"%s\"}},\"spec\":{\"ingressClassName\":\"alb\",\"defaultBackend\":"
        "{\"service\":{\"name\":\"web\",\"port\":{\"name\":\"http\"}}}}}";
    char *obj = malloc(1024);
    snprintf(obj, 1024, ing, "/healthz");
    answer a;
    judge(&a, c, review_of("Ingress", "networking.k8s.io", "v1", "CREATE", obj, NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "lb-healthcheck-mismatch", "GET / on port 8080"));
    answer_free(&a);
    /* The health check on the probe's path: nothing to say. */
    obj = malloc(1024);
    snprintf(obj, 1024, ing, "/");
    judge(&a, c, review_of("Ingress", "networking.k8s.io", "v1", "CREATE", obj, NULL));
    assert_true(allowed(&a));
    assert_false(fired(&a, "lb-healthcheck-mismatch"));
    answer_free(&a);
    /* Without the cache the pods are not known: silent. */
    obj = malloc(1024);
    snprintf(obj, 1024, ing, "/healthz");
    judge(&a, NULL, review_of("Ingress", "networking.k8s.io", "v1", "CREATE", obj, NULL));
    assert_false(fired(&a, "lb-healthcheck-mismatch"));
    answer_free(&a);
    wh_cache_free(&c);
}

/*
 * ingress-class-missing at admission: the cluster's IngressClasses are all of them, so an
 * Ingress naming a class the cluster lacks is warned about as in the linter (an absence: the
 * class may come later in the same apply), and one naming a class the cluster has is not,
 * even past the K5_CLUSTER_MAX_CONTEXT classes handed to every review as context.
 */
static void test_wh_cache__ingress_class_the_cluster_lacks_is_warned(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    wh_cache_replace_begin(c, K5_KIND_INGRESSCLASS);
    for (int i = 0; i < 40; i++) {
        char *ic = malloc(256);
        snprintf(ic, 256,
                 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":"
                 "{\"name\":\"class-%02d\"},\"spec\":{\"controller\":\"k8s.io/ingress-nginx\"}}",
                 i);
        event(c, K5_KIND_INGRESSCLASS, WH_CACHE_ADDED, ic);
    }
    wh_cache_replace_end(c, K5_KIND_INGRESSCLASS);
    static const char ing[] =
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":"
        "\"web\",\"namespace\":\"shop\"},\"spec\":{\"ingressClassName\":\"%s\",\"defaultBackend\":"
        "{\"service\":{\"name\":\"web\",\"port\":{\"name\":\"http\"}}}}}";
    const char *names[] = {"nginx", "class-39", "class-00"};
    for (int i = 0; i < 3; i++) {
        char *obj = malloc(1024);
        snprintf(obj, 1024, ing, names[i]);
        answer a;
        judge(&a, c, review_of("Ingress", "networking.k8s.io", "v1", "CREATE", obj, NULL));
        assert_true(allowed(&a));
        assert_int_equal(fired(&a, "ingress-class-missing"), i == 0);
        answer_free(&a);
    }
    wh_cache_free(&c);
}

static void test_wh_cache__update_that_breaks_a_service_is_denied_naming_it(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    answer a;
    judge(&a, c,
          review_of("Deployment", "apps", "v1", "UPDATE",
                    deployment("web", "web", "web", "\"replicas\":2,"),
                    deployment("web", "web", "http", "\"replicas\":2,")));
    assert_false(allowed(&a));
    const char *m = deny_message(&a);
    print_message("%s\n", m);
    assert_non_null(strstr(m, "service-target-port-mismatch"));
    assert_non_null(strstr(m, "this update breaks Service shop/web"));
    answer_free(&a);
    /* Relabelling the pods away from the Service: a warning naming it, not a denial. */
    judge(&a, c,
          review_of("Deployment", "apps", "v1", "UPDATE",
                    deployment("web", "web2", "http", "\"replicas\":2,"),
                    deployment("web", "web", "http", "\"replicas\":2,")));
    assert_true(allowed(&a));
    assert_true(warned(&a, "service-selects-nothing", "Service shop/web"));
    answer_free(&a);
    /* An update that changes nothing the Service reads says nothing about it. */
    judge(&a, c,
          review_of("Deployment", "apps", "v1", "UPDATE",
                    deployment("web", "web", "http", "\"replicas\":3,"),
                    deployment("web", "web", "http", "\"replicas\":2,")));
    assert_true(allowed(&a));
    assert_false(fired(&a, "service-target-port-mismatch"));
    assert_false(fired(&a, "service-selects-nothing"));
    answer_free(&a);
    wh_cache_free(&c);
}

static void test_wh_cache__answer_follows_watch_events_and_relists(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    answer a;
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "web", "grpc"), NULL));
    assert_false(allowed(&a));
    answer_free(&a);
    /* The watch says the Deployment now declares "grpc". */
    event(c, K5_KIND_DEPLOYMENT, WH_CACHE_MODIFIED, deployment("web", "web", "grpc", NULL));
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "web", "grpc"), NULL));
    assert_true(allowed(&a));
    answer_free(&a);
    /* A relist (after a 410) without the Deployment drops it: the Service selects nothing. */
    wh_cache_replace_begin(c, K5_KIND_DEPLOYMENT);
    event(c, K5_KIND_DEPLOYMENT, WH_CACHE_ADDED, deployment("other", "other", "x", NULL));
    wh_cache_replace_end(c, K5_KIND_DEPLOYMENT);
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "web", "grpc"), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "service-selects-nothing", NULL));
    answer_free(&a);
    /* And a DELETED event removes it from what is judged. */
    event(c, K5_KIND_DEPLOYMENT, WH_CACHE_DELETED, deployment("other", "other", "x", NULL));
    char *m = wh_cache_metrics(c);
    assert_non_null(strstr(m, "kube5xx_cache_objects{kind=\"Deployment\"} 0"));
    assert_non_null(strstr(m, "kube5xx_cache_objects{kind=\"Service\"} 1"));
    assert_non_null(strstr(m, "kube5xx_cache_watch_restarts_total{kind=\"Deployment\"} 2"));
    assert_non_null(strstr(m, "kube5xx_cache_memory_bytes "));
    assert_non_null(strstr(m, "kube5xx_cache_state{state=\"trusted\"} 1"));
    free(m);
    wh_cache_free(&c);
}

static void test_wh_cache__hpa_in_the_cluster_silences_single_replica(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    answer a;
    judge(&a, c,
          review_of("Deployment", "apps", "v1", "CREATE", deployment("api", "api", "http", NULL),
                    NULL));
    assert_true(fired(&a, "single-replica"));
    answer_free(&a);
    event(c, K5_KIND_HPA, WH_CACHE_ADDED, hpa("api", "api", 3));
    judge(&a, c,
          review_of("Deployment", "apps", "v1", "CREATE", deployment("api", "api", "http", NULL),
                    NULL));
    assert_false(fired(&a, "single-replica"));
    answer_free(&a);
    wh_cache_free(&c);
}

static void test_wh_cache__stale_cache_turns_cross_object_errors_into_warnings(void **state)
{
    (void)state;
    wh_cache_opts o = {0, 1000000}; /* stale after 1 ms of failing */
    wh_cache *c = NULL;
    assert_int_equal(wh_cache_new(&o, &c), WH_OK);
    list_all_empty(c);
    event(c, K5_KIND_DEPLOYMENT, WH_CACHE_ADDED, deployment("web", "web", "http", NULL));
    wh_cache_error(c, K5_KIND_DEPLOYMENT, "watch: connection reset");
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    answer a;
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "web", "grpc"), NULL));
    assert_true(allowed(&a));
    assert_string_equal(a.rv.cache_state, "stale");
    assert_true(warned(&a, "service-target-port-mismatch", "cluster cache is stale"));
    answer_free(&a);
    /* The watch comes back: errors deny again. */
    event(c, K5_KIND_DEPLOYMENT, WH_CACHE_MODIFIED, deployment("web", "web", "http", NULL));
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "web", "grpc"), NULL));
    assert_false(allowed(&a));
    answer_free(&a);
    char *m = wh_cache_metrics(c);
    assert_non_null(strstr(m, "kube5xx_cache_errors_total{kind=\"Deployment\"} 1"));
    free(m);
    wh_cache_free(&c);
}

static void test_wh_cache__ratchet_keeps_a_preexisting_partner_break_from_denying(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    /* The Service already targets a port nobody declares... */
    event(c, K5_KIND_SERVICE, WH_CACHE_MODIFIED, service("web", "web", "grpc"));
    answer a;
    /* ...so an update of it that keeps the mistake is not blocked (scale, relabel...). */
    judge(&a, c,
          review_of("Service", "", "v1", "UPDATE", service("web", "web", "grpc"),
                    service("web", "web", "grpc")));
    assert_true(allowed(&a));
    assert_true(warned(&a, "service-target-port-mismatch", "pre-existing"));
    answer_free(&a);
    /* A Deployment update unrelated to it is not blamed for it either. */
    judge(&a, c,
          review_of("Deployment", "apps", "v1", "UPDATE",
                    deployment("web", "web", "http", "\"replicas\":3,"),
                    deployment("web", "web", "http", "\"replicas\":2,")));
    assert_true(allowed(&a));
    assert_false(fired(&a, "service-target-port-mismatch"));
    answer_free(&a);
    wh_cache_free(&c);
}

static void test_wh_cache__objects_it_cannot_hold_are_refused_and_counted(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    event(c, K5_KIND_SERVICE, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"x\"}}"));
    char *m = wh_cache_metrics(c);
    assert_non_null(strstr(m, "kube5xx_cache_refused_total{kind=\"Service\"} 1"));
    free(m);
    wh_cache_free(&c);
}

/* A CREATE review of obj (taken) in namespace ns. */
static char *create_in(const char *ns, const char *kind, const char *group, const char *version,
                       char *obj)
{
    size_t n = strlen(obj) + 1024;
    char *s = malloc(n);
    snprintf(s, n,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
             "\"uid\":\"u-2\",\"kind\":{\"group\":\"%s\",\"version\":\"%s\",\"kind\":\"%s\"},"
             "\"namespace\":\"%s\",\"operation\":\"CREATE\",\"userInfo\":{\"username\":\"dev\"},"
             "\"object\":%s}}",
             group, version, kind, ns, obj);
    free(obj);
    return s;
}

static void test_wh_cache__reference_to_another_namespace_names_it_as_the_linter_does(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop(); /* Deployment and Service "web" in namespace shop */
    answer a;
    judge(&a, c,
          create_in("front", "Ingress", "networking.k8s.io", "v1",
                    strdup("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\","
                           "\"metadata\":{\"name\":\"shop\",\"namespace\":\"front\"},\"spec\":{"
                           "\"defaultBackend\":{\"service\":{\"name\":\"web\",\"port\":{"
                           "\"number\":80}}}}}")));
    /* An absence: warned, not denied, with the linter's words. */
    assert_true(allowed(&a));
    assert_true(warned(&a, "ingress-backend-service-missing",
                       "which exists only in namespace \"shop\""));
    assert_int_equal(a.rv.partners, 1);
    answer_free(&a);
    judge(&a, c, create_in("front", "HorizontalPodAutoscaler", "autoscaling", "v2",
                           strdup("{\"apiVersion\":\"autoscaling/v2\",\"kind\":"
                                  "\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"web\","
                                  "\"namespace\":\"front\"},\"spec\":{\"scaleTargetRef\":{"
                                  "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":"
                                  "\"web\"},\"minReplicas\":2,\"maxReplicas\":4}}")));
    assert_true(allowed(&a));
    assert_true(warned(&a, "hpa-target-missing", "which exists only in namespace \"shop\""));
    answer_free(&a);
    wh_cache_free(&c);
}

static char *pdb(const char *name, const char *budget)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{"
             "\"name\":\"%s\",\"namespace\":\"shop\"},\"spec\":{%s,\"selector\":{"
             "\"matchLabels\":{\"app\":\"web\"}}}}",
             name, budget);
    return s;
}

static void test_wh_cache__pdb_that_leaves_no_eviction_is_denied_a_literal_zero_warned(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop(); /* Deployment "web", replicas 2 */
    answer a;
    /* minAvailable 2 of the 2 pods it selects: contradicts the Deployment, denied. */
    judge(&a, c,
          review_of("PodDisruptionBudget", "policy", "v1", "CREATE", pdb("web", "\"minAvailable\":2"),
                    NULL));
    assert_false(allowed(&a));
    assert_non_null(strstr(deny_message(&a), "pdb-blocks-eviction"));
    assert_non_null(strstr(deny_message(&a), "Deployment \"web\" replicas 2"));
    answer_free(&a);
    /* A percentage below 100% that rounds up to every pod: the same contradiction. */
    judge(&a, c,
          review_of("PodDisruptionBudget", "policy", "v1", "CREATE",
                    pdb("web", "\"minAvailable\":\"60%\""), NULL));
    assert_false(allowed(&a));
    answer_free(&a);
    /* One pod of room: allowed, silent. */
    judge(&a, c,
          review_of("PodDisruptionBudget", "policy", "v1", "CREATE", pdb("web", "\"minAvailable\":1"),
                    NULL));
    assert_true(allowed(&a));
    assert_false(fired(&a, "pdb-blocks-eviction"));
    answer_free(&a);
    /* maxUnavailable 0 says what it means: a warning. */
    judge(&a, c,
          review_of("PodDisruptionBudget", "policy", "v1", "CREATE",
                    pdb("web", "\"maxUnavailable\":0"), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "pdb-blocks-eviction", "maxUnavailable 0"));
    answer_free(&a);
    /* The other direction: scaling the Deployment down under an existing budget. */
    event(c, K5_KIND_PDB, WH_CACHE_ADDED, pdb("web", "\"minAvailable\":1"));
    judge(&a, c,
          review_of("Deployment", "apps", "v1", "UPDATE",
                    deployment("web", "web", "http", "\"replicas\":1,"),
                    deployment("web", "web", "http", "\"replicas\":2,")));
    assert_false(allowed(&a));
    assert_non_null(strstr(deny_message(&a), "this update breaks PodDisruptionBudget shop/web"));
    answer_free(&a);
    /* Without the cluster around, the rule cannot count the pods: nothing to deny. */
    judge(&a, NULL,
          review_of("PodDisruptionBudget", "policy", "v1", "CREATE", pdb("web", "\"minAvailable\":2"),
                    NULL));
    assert_true(allowed(&a));
    answer_free(&a);
    wh_cache_free(&c);
}

static void test_wh_cache__kinds_from_the_table_arrive_as_context(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    /* Kinds the table flags K5_KF_CACHE beyond the seven the partner search follows. */
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *np = malloc(4096);
    snprintf(np, 4096,
             "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":"
             "{\"name\":\"deny\",\"namespace\":\"shop\",\"annotations\":{\"kubectl.kubernetes.io/"
             "last-applied-configuration\":\"%s\"}},\"spec\":{\"podSelector\":{},"
             "\"policyTypes\":[\"Ingress\"]}}",
             big);
    event(c, K5_KIND_NETWORKPOLICY, WH_CACHE_ADDED, np);
    /* Cluster-scoped: no namespace. */
    event(c, K5_KIND_INGRESSCLASS, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":"
                 "{\"name\":\"nginx\"},\"spec\":{\"controller\":\"k8s.io/ingress-nginx\"}}"));
    event(c, K5_KIND_NAMESPACE, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"shop\","
                 "\"labels\":{\"team\":\"shop\"}}}"));
    event(c, K5_KIND_NAMESPACE, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"other\"}}"));
    char *m = wh_cache_metrics(c);
    assert_non_null(strstr(m, "kube5xx_cache_objects{kind=\"NetworkPolicy\"} 1"));
    assert_non_null(strstr(m, "kube5xx_cache_objects{kind=\"IngressClass\"} 1"));
    assert_non_null(strstr(m, "kube5xx_cache_objects{kind=\"Namespace\"} 2"));
    assert_non_null(strstr(m, "kube5xx_cache_refused_total{kind=\"NetworkPolicy\"} 0"));
    free(m);
    /* The 2 KB applied copy was dropped: the policy costs far less than it. */
    const k5_cluster *cl = wh_cache_read_begin(c);
    size_t bytes = k5_cluster_bytes(cl);
    wh_cache_read_end(c);
    event(c, K5_KIND_NETWORKPOLICY, WH_CACHE_DELETED,
          strdup("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":"
                 "{\"name\":\"deny\",\"namespace\":\"shop\"}}"));
    cl = wh_cache_read_begin(c);
    assert_true(bytes - k5_cluster_bytes(cl) < 1024);
    wh_cache_read_end(c);
    event(c, K5_KIND_NETWORKPOLICY, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":"
                 "{\"name\":\"deny\",\"namespace\":\"shop\"},\"spec\":{\"podSelector\":{}}}"));
    /* A Service review: its Deployment, plus the context: the policy of its namespace, its
     * Namespace (not the other one) and the cluster's IngressClass. */
    answer a;
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("api", "web", "http"), NULL));
    assert_true(allowed(&a));
    assert_int_equal(a.rv.partners, 4);
    answer_free(&a);
    /* An HTTPRoute review finds the Service its backendRef names (and the context). */
    judge(&a, c,
          review_of("HTTPRoute", "gateway.networking.k8s.io", "v1", "CREATE",
                    strdup("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
                           "\"HTTPRoute\",\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},"
                           "\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],\"rules\":[{"
                           "\"backendRefs\":[{\"name\":\"web\",\"port\":80}]}]}}"),
                    NULL));
    assert_int_equal(a.rv.partners, 5); /* and the Deployment the Service selects */
    answer_free(&a);
    wh_cache_free(&c);
}

static char *virtualservice(const char *host, int port)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"VirtualService\",\"metadata\":"
             "{\"name\":\"web\",\"namespace\":\"shop\"},\"spec\":{\"hosts\":[\"web\"],\"http\":[{"
             "\"route\":[{\"destination\":{\"host\":\"%s\",\"port\":{\"number\":%d}}}]}]}}",
             host, port);
    return s;
}

static void test_wh_cache__route_and_mesh_absences_warn_their_contradictions_deny(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop(); /* Service "web" in shop, port 80 */
    answer a;
    /* A route or a VirtualService applied before its Service: an absence, a warning. */
    judge(&a, c,
          review_of("HTTPRoute", "gateway.networking.k8s.io", "v1", "CREATE",
                    strdup("{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":"
                           "\"HTTPRoute\",\"metadata\":{\"name\":\"r\",\"namespace\":\"shop\"},"
                           "\"spec\":{\"rules\":[{\"backendRefs\":[{\"name\":\"later\","
                           "\"port\":80}]}]}}"),
                    NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "route-backend-service-missing", "not blocking"));
    answer_free(&a);
    judge(&a, c,
          review_of("VirtualService", "networking.istio.io", "v1", "CREATE",
                    virtualservice("later", 80), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "mesh-route-reference-invalid", "not blocking"));
    answer_free(&a);
    /* A port the cached Service does not have: a contradiction, denied. */
    judge(&a, c,
          review_of("VirtualService", "networking.istio.io", "v1", "CREATE",
                    virtualservice("web", 9999), NULL));
    assert_false(allowed(&a));
    assert_non_null(strstr(deny_message(&a), "mesh-route-reference-invalid"));
    answer_free(&a);
    judge(&a, c,
          review_of("VirtualService", "networking.istio.io", "v1", "CREATE",
                    virtualservice("web", 80), NULL));
    assert_true(allowed(&a));
    assert_false(fired(&a, "mesh-route-reference-invalid"));
    answer_free(&a);
    wh_cache_free(&c);
}

/* One object of the Gateway API (gateway.networking.k8s.io/v1), namespace and spec as JSON. */
static char *gateway_api(const char *kind, const char *name, const char *ns, const char *spec)
{
    char *s = malloc(2048);
    snprintf(s, 2048,
             "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"%s\",\"metadata\":{"
             "\"name\":\"%s\",\"namespace\":\"%s\"},\"spec\":%s}",
             kind, name, ns, spec);
    return s;
}

static char *route_review(const char *spec)
{
    return review_of("HTTPRoute", "gateway.networking.k8s.io", "v1", "CREATE",
                     gateway_api("HTTPRoute", "r", "shop", spec), NULL);
}

/*
 * The route rules against the cache read what the linter reads: the ReferenceGrants of the
 * namespace a backendRef reaches into, the Service of a requestMirror, and the Gateways of
 * another namespace that parentRefs name.
 */
static void test_wh_cache__routes_judged_with_grants_and_gateways_of_other_namespaces(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop(); /* Service "web" in shop, port 80 */
    /* Service "api" in namespace backend (port 80), a ReferenceGrant there admitting
     * HTTPRoutes from shop, and Gateway "edge" in infra with one listener, "http". */
    event(c, K5_KIND_SERVICE, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"api\","
                 "\"namespace\":\"backend\"},\"spec\":{\"selector\":{\"app\":\"api\"},"
                 "\"ports\":[{\"port\":80}]}}"));
    for (int i = 0; i < 40; i++) { /* more than the context of one namespace */
        char name[32];
        snprintf(name, sizeof name, "g%02d", i);
        event(c, K5_KIND_REFERENCEGRANT, WH_CACHE_ADDED,
              gateway_api("ReferenceGrant", name, "backend",
                          "{\"from\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":"
                          "\"GRPCRoute\",\"namespace\":\"other\"}],\"to\":[{\"group\":\"\","
                          "\"kind\":\"Service\"}]}"));
    }
    event(c, K5_KIND_REFERENCEGRANT, WH_CACHE_ADDED,
          gateway_api("ReferenceGrant", "shop-routes", "backend",
                      "{\"from\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"HTTPRoute\","
                      "\"namespace\":\"shop\"}],\"to\":[{\"group\":\"\",\"kind\":\"Service\","
                      "\"name\":\"api\"}]}"));
    event(c, K5_KIND_GATEWAY, WH_CACHE_ADDED,
          gateway_api("Gateway", "edge", "infra",
                      "{\"gatewayClassName\":\"x\",\"listeners\":[{\"name\":\"http\","
                      "\"protocol\":\"HTTP\",\"port\":80,\"allowedRoutes\":{\"namespaces\":{"
                      "\"from\":\"All\"}}}]}"));
    answer a;
    /* Granted, attached, mirrored to a Service that exists: nothing to say. */
    judge(&a, c,
          route_review("{\"parentRefs\":[{\"name\":\"edge\",\"namespace\":\"infra\","
                       "\"sectionName\":\"http\"}],\"rules\":[{\"backendRefs\":[{\"name\":"
                       "\"api\",\"namespace\":\"backend\",\"port\":80}],\"filters\":[{\"type\":"
                       "\"RequestMirror\",\"requestMirror\":{\"backendRef\":{\"name\":\"web\","
                       "\"port\":80}}}]}]}"));
    assert_true(allowed(&a));
    assert_false(fired(&a, "route-backend-invalid"));
    assert_false(fired(&a, "route-parent-missing"));
    assert_false(fired(&a, "route-backend-service-missing"));
    answer_free(&a);
    /* A listener edge does not have: warned. A mirror to a port web lacks: warned. */
    judge(&a, c,
          route_review("{\"parentRefs\":[{\"name\":\"edge\",\"namespace\":\"infra\","
                       "\"sectionName\":\"https\"}],\"rules\":[{\"backendRefs\":[{\"name\":"
                       "\"web\",\"port\":80}],\"filters\":[{\"type\":\"RequestMirror\","
                       "\"requestMirror\":{\"backendRef\":{\"name\":\"web\",\"port\":81}}}]}]}"));
    assert_true(allowed(&a));
    assert_true(warned(&a, "route-parent-missing", "listener \"https\""));
    assert_true(warned(&a, "route-backend-invalid", "drops the mirror"));
    answer_free(&a);
    /* A port api does not have, across namespaces: a contradiction, denied. */
    judge(&a, c,
          route_review("{\"rules\":[{\"backendRefs\":[{\"name\":\"api\",\"namespace\":"
                       "\"backend\",\"port\":8080}]}]}"));
    assert_false(allowed(&a));
    assert_non_null(strstr(deny_message(&a), "route-backend-invalid"));
    answer_free(&a);
    wh_cache_free(&c);
}

/* ---- NetworkPolicies (networkpolicy-blocks-ingress) ---- */

static char *netpol(const char *name, const char *spec)
{
    char *s = malloc(2048);
    snprintf(s, 2048,
             "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"
             "\"name\":\"%s\",\"namespace\":\"shop\"},\"spec\":%s}",
             name, spec);
    return s;
}

static char *ingress_to(const char *name, const char *svc)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{"
             "\"name\":\"%s\",\"namespace\":\"shop\"},\"spec\":{\"defaultBackend\":{\"service\":{"
             "\"name\":\"%s\",\"port\":{\"number\":80}}}}}",
             name, svc);
    return s;
}

#define NP_DENY "{\"podSelector\":{},\"policyTypes\":[\"Ingress\"]}"
/* Admits the ingress-nginx namespace by name, on the pods' port. */
#define NP_ALLOW                                                                                  \
    "{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"ingress\":[{\"from\":[{"              \
    "\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":\"ingress-nginx\"}}}" \
    "],\"ports\":[{\"port\":8080}]}]}"

static char *np_review(const char *name, const char *spec)
{
    return review_of("NetworkPolicy", "networking.k8s.io", "v1", "CREATE", netpol(name, spec),
                     NULL);
}

/*
 * A NetworkPolicy under review is judged with the pods it selects, their Services and the
 * Ingresses routing to those, every policy selecting those pods and the ingress controller's
 * Namespace. What it reports is the absence of a policy admitting the controller (policies
 * add up; the allowing one may come later in the same apply), so it only warns.
 */
static void test_wh_cache__networkpolicy_that_blocks_the_ingress_controller_warns(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop(); /* Deployment web (port "http" 8080), Service web -> "http" */
    event(c, K5_KIND_INGRESS, WH_CACHE_ADDED, ingress_to("shop", "web"));
    answer a;
    judge(&a, c, np_review("deny", NP_DENY));
    assert_true(allowed(&a));
    assert_true(warned(&a, "networkpolicy-blocks-ingress", "not blocking"));
    assert_true(warned(&a, "Ingress \"shop\" reaches through Service \"web\"", NULL));
    answer_free(&a);
    /* Policies add up: with one admitting ingress-nginx cached, the deny blocks nothing, however
     * many other policies the namespace holds (more than its context of 32). */
    for (int i = 0; i < 40; i++) {
        char name[32];
        snprintf(name, sizeof name, "other-%02d", i);
        event(c, K5_KIND_NETWORKPOLICY, WH_CACHE_ADDED,
              netpol(name, "{\"podSelector\":{\"matchLabels\":{\"app\":\"other\"}}}"));
    }
    event(c, K5_KIND_NETWORKPOLICY, WH_CACHE_ADDED, netpol("allow", NP_ALLOW));
    judge(&a, c, np_review("deny", NP_DENY));
    assert_true(allowed(&a));
    assert_false(fired(&a, "networkpolicy-blocks-ingress"));
    answer_free(&a);
    /* The controller's Namespace comes from the cache: a policy that names it but also asks
     * for a label it does not carry admits nothing (said as a warning: the cluster's controller
     * could run elsewhere). Without the Namespace object its labels are unknown: silence. */
    static const char requires_label[] =
        "{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"ingress\":[{\"from\":[{"
        "\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":"
        "\"ingress-nginx\",\"team\":\"payments\"}}}]}]}";
    event(c, K5_KIND_NETWORKPOLICY, WH_CACHE_DELETED, netpol("allow", "{}"));
    judge(&a, c, np_review("allow", requires_label));
    assert_false(fired(&a, "networkpolicy-blocks-ingress"));
    answer_free(&a);
    event(c, K5_KIND_NAMESPACE, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                 "\"ingress-nginx\",\"labels\":{\"kubernetes.io/metadata.name\":\"ingress-nginx\","
                 "\"team\":\"edge\"}}}"));
    judge(&a, c, np_review("allow", requires_label));
    assert_true(allowed(&a));
    assert_true(warned(&a, "networkpolicy-blocks-ingress", "admit only other namespaces"));
    answer_free(&a);
    wh_cache_free(&c);
}

/*
 * A configured controller-namespaces reaches the partner search: the Namespace objects of the
 * configured controller namespaces come from the cache, so their labels are judged at admission
 * as the linter judges them. Without that the configured namespace's labels were unknown and
 * the rule stayed quiet.
 */
static void test_wh_cache__configured_controller_namespaces_are_fetched(void **state)
{
    (void)state;
    static const char yaml[] =
        "rules:\n  networkpolicy-blocks-ingress:\n    controller-namespaces: [edge]\n";
    k5_config *cfg = NULL;
    k5_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(k5_config_parse(&cfg, "test.yaml", yaml, strlen(yaml), &err), K5_OK);
    wh_cache *c = trusted_shop();
    event(c, K5_KIND_INGRESS, WH_CACHE_ADDED, ingress_to("shop", "web"));
    event(c, K5_KIND_NAMESPACE, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                 "\"edge\",\"labels\":{\"kubernetes.io/metadata.name\":\"edge\","
                 "\"team\":\"edge\"}}}"));
    /* Names the controller's namespace but also asks for a label it does not carry. */
    static const char requires_label[] =
        "{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"ingress\":[{\"from\":[{"
        "\"namespaceSelector\":{\"matchLabels\":{\"kubernetes.io/metadata.name\":"
        "\"edge\",\"team\":\"payments\"}}}]}]}";
    answer a;
    judge_under(&a, cfg, c, np_review("allow", requires_label));
    assert_true(allowed(&a));
    assert_true(warned(&a, "networkpolicy-blocks-ingress", "admit only other namespaces"));
    answer_free(&a);
    /* The label it asks for, on the configured namespace: admitted, silence. */
    event(c, K5_KIND_NAMESPACE, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                 "\"edge\",\"labels\":{\"kubernetes.io/metadata.name\":\"edge\","
                 "\"team\":\"payments\"}}}"));
    judge_under(&a, cfg, c, np_review("allow", requires_label));
    assert_true(allowed(&a));
    assert_false(fired(&a, "networkpolicy-blocks-ingress"));
    answer_free(&a);
    wh_cache_free(&c);
    k5_config_free(&cfg);
}

/*
 * The other direction: a workload, Service or Ingress reviewed while a blocking policy is
 * cached gets the policy as a partner, and the warning names it.
 */
static void test_wh_cache__traffic_into_pods_a_cached_policy_isolates_warns(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    event(c, K5_KIND_NETWORKPOLICY, WH_CACHE_ADDED, netpol("deny", NP_DENY));
    answer a;
    /* A Service that a cached Ingress already names. */
    event(c, K5_KIND_INGRESS, WH_CACHE_ADDED, ingress_to("later", "web2"));
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("web2", "web", "http"), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "this new Service breaks NetworkPolicy shop/deny", "Ingress \"later\""));
    answer_free(&a);
    event(c, K5_KIND_INGRESS, WH_CACHE_DELETED, ingress_to("later", "web2"));
    /* The Ingress itself. */
    judge(&a, c, review_of("Ingress", "networking.k8s.io", "v1", "CREATE",
                           ingress_to("shop", "web"), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "networkpolicy-blocks-ingress", "NetworkPolicy shop/deny"));
    answer_free(&a);
    /* A new Deployment whose pods a cached Ingress reaches through a cached Service. */
    event(c, K5_KIND_INGRESS, WH_CACHE_ADDED, ingress_to("api", "api"));
    event(c, K5_KIND_SERVICE, WH_CACHE_ADDED, service("api", "api", "http"));
    judge(&a, c, review_of("Deployment", "apps", "v1", "CREATE",
                           deployment("api", "api", "http", "\"replicas\":2,"), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "this new Deployment breaks NetworkPolicy shop/deny", "\"api\""));
    answer_free(&a);
    /* Once a policy admits the controller, none of them is warned. */
    event(c, K5_KIND_NETWORKPOLICY, WH_CACHE_ADDED,
          netpol("allow",
                 "{\"podSelector\":{},\"ingress\":[{\"from\":[{\"namespaceSelector\":{"
                 "\"matchLabels\":{\"kubernetes.io/metadata.name\":\"ingress-nginx\"}}}]}]}"));
    judge(&a, c, review_of("Deployment", "apps", "v1", "CREATE",
                           deployment("api", "api", "http", "\"replicas\":2,"), NULL));
    assert_false(fired(&a, "networkpolicy-blocks-ingress"));
    answer_free(&a);
    wh_cache_free(&c);
}

/*
 * An Ingress's IngressClass is looked up by the name it gives, not found among the first 32
 * of the cluster's: annotation-ignored-by-controller knows which controller serves it.
 */
static void test_wh_cache__ingress_class_is_found_by_name_among_many(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    char json[512];
    for (int i = 0; i < 40; i++) {
        snprintf(json, sizeof json,
                 "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":"
                 "{\"name\":\"nginx-%02d\"},\"spec\":{\"controller\":\"k8s.io/ingress-nginx\"}}",
                 i);
        event(c, K5_KIND_INGRESSCLASS, WH_CACHE_ADDED, strdup(json));
    }
    event(c, K5_KIND_INGRESSCLASS, WH_CACHE_ADDED,
          strdup("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":"
                 "{\"name\":\"internal\"},\"spec\":{\"controller\":\"ingress.k8s.aws/alb\"}}"));
    static const char ing[] =
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":"
        "\"shop\",\"namespace\":\"shop\",\"annotations\":{\"nginx.ingress.kubernetes.io/"
        "proxy-read-timeout\":\"120\"}},\"spec\":{\"ingressClassName\":\"internal\","
        "\"defaultBackend\":{\"service\":{\"name\":\"web\",\"port\":{\"number\":80}}}}}";
    answer a;
    judge(&a, c, review_of("Ingress", "networking.k8s.io", "v1", "CREATE", strdup(ing), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "annotation-ignored-by-controller", "IngressClass \"internal\""));
    assert_false(fired(&a, "ingress-class-missing"));
    answer_free(&a);
    wh_cache_free(&c);
}

/*
 * A review whose partners pass K5_CLUSTER_MAX_PARTNERS is judged without the rest, and one of
 * them may be what resolves a finding: its cross-object errors only warn. Here the one
 * Deployment that declares the port the Service targets is the 261st it selects.
 */
static void test_wh_cache__partners_cut_at_the_limit_never_deny(void **state)
{
    (void)state;
    wh_cache *c = trusted_shop();
    for (int i = 0; i < 260; i++) {
        char name[32];
        snprintf(name, sizeof name, "d%03d", i);
        event(c, K5_KIND_DEPLOYMENT, WH_CACHE_ADDED,
              deployment(name, "many", "web", "\"replicas\":2,"));
    }
    event(c, K5_KIND_DEPLOYMENT, WH_CACHE_ADDED,
          deployment("z-http", "many", "http", "\"replicas\":2,"));
    answer a;
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("many", "many", "http"), NULL));
    assert_true(allowed(&a));
    assert_true(warned(&a, "service-target-port-mismatch", "more partners than"));
    answer_free(&a);
    /* Under the limit the same contradiction denies. */
    judge(&a, c, review_of("Service", "", "v1", "CREATE", service("one", "web", "grpc"), NULL));
    assert_false(allowed(&a));
    answer_free(&a);
    wh_cache_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_cache__syncing_is_not_ready_and_judges_single_objects),
        cmocka_unit_test(test_wh_cache__sync_timeout_serves_single_object_rules_and_is_ready),
        cmocka_unit_test(test_wh_cache__service_whose_target_port_no_container_declares_is_denied),
        cmocka_unit_test(test_wh_cache__absence_only_warns),
        cmocka_unit_test(test_wh_cache__ingress_class_the_cluster_lacks_is_warned),
        cmocka_unit_test(test_wh_cache__alb_health_check_is_compared_with_cached_probes),
        cmocka_unit_test(test_wh_cache__update_that_breaks_a_service_is_denied_naming_it),
        cmocka_unit_test(test_wh_cache__answer_follows_watch_events_and_relists),
        cmocka_unit_test(test_wh_cache__hpa_in_the_cluster_silences_single_replica),
        cmocka_unit_test(test_wh_cache__stale_cache_turns_cross_object_errors_into_warnings),
        cmocka_unit_test(test_wh_cache__ratchet_keeps_a_preexisting_partner_break_from_denying),
        cmocka_unit_test(test_wh_cache__objects_it_cannot_hold_are_refused_and_counted),
        cmocka_unit_test(test_wh_cache__reference_to_another_namespace_names_it_as_the_linter_does),
        cmocka_unit_test(test_wh_cache__pdb_that_leaves_no_eviction_is_denied_a_literal_zero_warned),
        cmocka_unit_test(test_wh_cache__kinds_from_the_table_arrive_as_context),
        cmocka_unit_test(test_wh_cache__route_and_mesh_absences_warn_their_contradictions_deny),
        cmocka_unit_test(test_wh_cache__routes_judged_with_grants_and_gateways_of_other_namespaces),
        cmocka_unit_test(test_wh_cache__networkpolicy_that_blocks_the_ingress_controller_warns),
        cmocka_unit_test(test_wh_cache__configured_controller_namespaces_are_fetched),
        cmocka_unit_test(test_wh_cache__traffic_into_pods_a_cached_policy_isolates_warns),
        cmocka_unit_test(test_wh_cache__ingress_class_is_found_by_name_among_many),
        cmocka_unit_test(test_wh_cache__partners_cut_at_the_limit_never_deny),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
