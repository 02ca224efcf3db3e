/*
 * libFuzzer target: the webhook's AdmissionReview handler (wh_admission_review:
 * bytes in, JSON out, no sockets), which parses the review with cJSON and runs
 * the engine over request.object and request.oldObject. Each input is judged
 * three times under a config with exemptions and the ratchet: in enforce mode,
 * through the advisory (warn-only) entry point, and with a trusted cluster
 * cache around the object (wh_admission_review_cached: cross-object admission
 * against a Deployment, Service, Ingress, PDB and HPA in namespace "default", a Service and
 * a Deployment in namespace "other", and context objects: the Namespace, a NetworkPolicy, an
 * IngressClass). The reviewed objects also go through the cache's own trimming (k5_cluster_put:
 * projection, shared values, indexes), as if an API server had listed them, and are judged
 * there as partners of the Service above, then removed.
 * First, the webhook's one-pass JSON parser is checked against cJSON on the same bytes:
 * whatever it reads, cJSON must read into the same tree.
 *   out/fuzz/tests/fuzz/fuzz_admission -max_total_time=60 tests/fuzz/seeds/admission
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <kube5xx/kube5xx.h>

#include "wh_admission.h"
#include "wh_cache.h"
#include "wh_json_arena.h"
#include "wh_json_parse.h"
#include "wh_log.h"

static const char k_config[] =
    "webhook:\n"
    "  mode: enforce\n"
    "  ratchet: true\n"
    "  exempt:\n"
    "    namespaces: [kube-system]\n"
    "    usernames: [\"system:serviceaccount:kube-system:*\"]\n"
    "    groups: [\"system:nodes\"]\n";

static k5_config *g_cfg;
static wh_cache *g_cache;

/* The cluster around the reviewed object: partners for every cross-object rule. */
static const char *const k_cluster[] = {
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"default\",\"uid\":\"u1\"},\"spec\":{\"replicas\":2,\"selector\":{"
    "\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":"
    "\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"web:1\",\"ports\":"
    "[{\"name\":\"http\",\"containerPort\":8080}]}]}}}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\",\"namespace\":"
    "\"default\",\"uid\":\"u2\"},\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":"
    "\"http\",\"port\":80,\"targetPort\":\"http\"}]}}",
    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":\"web\","
    "\"namespace\":\"default\",\"uid\":\"u3\"},\"spec\":{\"rules\":[{\"http\":{\"paths\":[{"
    "\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"web\","
    "\"port\":{\"number\":80}}}}]}}]}}",
    "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{\"name\":"
    "\"web\",\"namespace\":\"default\",\"uid\":\"u4\"},\"spec\":{\"minAvailable\":1,"
    "\"selector\":{\"matchLabels\":{\"app\":\"web\"}}}}",
    "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{"
    "\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"u5\"},\"spec\":{\"scaleTargetRef\":{"
    "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"},\"minReplicas\":2,"
    "\"maxReplicas\":4}}",
    /* Elsewhere: what "exists only in namespace" finds for a missing backend or target. */
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"api\",\"namespace\":"
    "\"other\",\"uid\":\"u6\"},\"spec\":{\"selector\":{\"app\":\"api\"},\"ports\":[{\"port\":80,"
    "\"targetPort\":8080}]}}",
    "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"api\","
    "\"namespace\":\"other\",\"uid\":\"u7\"},\"spec\":{\"template\":{\"metadata\":{\"labels\":{"
    "\"app\":\"api\"}},\"spec\":{\"containers\":[{\"name\":\"api\",\"ports\":[{"
    "\"containerPort\":8080}]}]}}}}",
    /* Context kinds (kept whole but for bulk): the namespace, a policy, a class. */
    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"default\","
    "\"labels\":{\"team\":\"web\"}}}",
    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":"
    "\"deny\",\"namespace\":\"default\"},\"spec\":{\"podSelector\":{},\"policyTypes\":["
    "\"Ingress\"]}}",
    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"IngressClass\",\"metadata\":{\"name\":"
    "\"nginx\",\"annotations\":{\"ingressclass.kubernetes.io/is-default-class\":\"true\"}},"
    "\"spec\":{\"controller\":\"k8s.io/ingress-nginx\"}}",
    /* The ingress controller's Namespace (its labels), and a policy admitting it by label:
     * networkpolicy-blocks-ingress follows both from the pods the deny policy selects. */
    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ingress-nginx\","
    "\"labels\":{\"team\":\"edge\"}}}",
    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":"
    "\"from-edge\",\"namespace\":\"default\"},\"spec\":{\"podSelector\":{\"matchLabels\":{"
    "\"app\":\"web\"}},\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":{"
    "\"team\":\"edge\"}}}],\"ports\":[{\"port\":9090}]}]}}",
};
static const k5_kind k_cluster_kinds[] = {
    K5_KIND_DEPLOYMENT, K5_KIND_SERVICE,   K5_KIND_INGRESS,       K5_KIND_PDB,
    K5_KIND_HPA,        K5_KIND_SERVICE,   K5_KIND_DEPLOYMENT,    K5_KIND_NAMESPACE,
    K5_KIND_NETWORKPOLICY, K5_KIND_INGRESSCLASS, K5_KIND_NAMESPACE, K5_KIND_NETWORKPOLICY};

/* A trusted cache: every cached kind listed, the objects above added. */
static wh_cache *cluster(void)
{
    if (g_cache)
        return g_cache;
    if (wh_cache_new(NULL, &g_cache) != WH_OK)
        abort();
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        k5_kind k = K5_KIND_AT(b);
        if (!(k & K5_CLUSTER_KINDS))
            continue;
        wh_cache_replace_begin(g_cache, k);
        for (size_t i = 0; i < sizeof k_cluster / sizeof *k_cluster; i++) {
            if (k_cluster_kinds[i] != k)
                continue;
            cJSON *j = cJSON_Parse(k_cluster[i]);
            if (!j)
                abort(); /* the harness's own objects must parse */
            wh_cache_event(g_cache, k, WH_CACHE_ADDED, j);
            cJSON_Delete(j);
        }
        wh_cache_replace_end(g_cache, k);
    }
    if (wh_cache_state_at(g_cache, wh_now_ns()) != WH_CACHE_TRUSTED)
        abort();
    return g_cache;
}

/*
 * request.object and request.oldObject put into a cluster holding the objects above, the
 * Service "web" judged with its partners from it, then every object removed: the cluster must
 * end empty (ASan checks that the shared values were freed with their last object).
 */
static void cache_roundtrip(const char *body, size_t len)
{
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, NULL, 0);
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(root, "request");
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(root);
        return;
    }
    enum { NFIXED = sizeof k_cluster / sizeof *k_cluster };
    cJSON *fixed[NFIXED];
    k5_cluster *cl = NULL;
    k5_error err;
    memset(&err, 0, sizeof err);
    if (k5_cluster_new(&cl) != K5_OK)
        abort();
    for (size_t i = 0; i < NFIXED; i++)
        if (!(fixed[i] = cJSON_Parse(k_cluster[i])) || k5_cluster_put(cl, fixed[i], &err) != K5_OK)
            abort();
    const cJSON *objs[2] = {cJSON_GetObjectItemCaseSensitive(req, "object"),
                            cJSON_GetObjectItemCaseSensitive(req, "oldObject")};
    k5_status st = K5_OK;
    for (size_t i = 0; i < 2; i++)
        if (objs[i])
            st = k5_cluster_put(cl, objs[i], &err); /* refused or not: both are fine */
    k5_docset *set = NULL;
    k5_partners *p = NULL;
    k5_report *rep = NULL;
    if (k5_docset_new(&set, "default") == K5_OK &&
        k5_docset_add_cjson(set, "request", fixed[1], &err) == K5_OK) {
        const k5_object *subject = k5_docset_object(set, 0);
        if (k5_cluster_partners(cl, NULL, &subject, 1, &p) == K5_OK &&
            k5_docset_add_partners(set, p) == K5_OK)
            st = k5_run(set, NULL, K5_RUN_PARTNERS_CROSS_ONLY, &rep, &err);
    }
    (void)st;
    k5_report_free(&rep);
    k5_docset_free(&set);
    k5_partners_free(&p);
    for (size_t i = 0; i < 2; i++)
        if (objs[i])
            (void)k5_cluster_remove(cl, objs[i]);
    for (size_t i = 0; i < NFIXED; i++) {
        (void)k5_cluster_remove(cl, fixed[i]);
        cJSON_Delete(fixed[i]);
    }
    if (k5_cluster_count(cl, K5_CLUSTER_KINDS) != 0)
        abort(); /* a put and a remove of the same object must find the same entry */
    k5_cluster_free(&cl);
    cJSON_Delete(root);
}

static const k5_config *config(void)
{
    if (!g_cfg) {
        k5_error err;
        memset(&err, 0, sizeof err);
        if (k5_config_parse(&g_cfg, "fuzz-config.yaml", k_config, sizeof k_config - 1, &err) !=
            K5_OK)
            abort(); /* the harness's own config must parse */
        /* The log line is built (and escaped) for every review, then thrown away. */
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            abort();
        wh_log_set_fd(fd);
        wh_log_set_level(WH_LOG_DEBUG);
    }
    return g_cfg;
}

static void judge(const k5_config *cfg, wh_cache *cache, const char *body, size_t len,
                  unsigned flags)
{
    wh_review rv;
    if (wh_admission_review_cached(cfg, cache, body, len, 0, flags, &rv) == WH_OK) {
        /* Every answer is a complete HTTP answer with a body. */
        if (!rv.body || rv.body_len == 0 || !rv.content_type)
            abort();
        if (rv.http_status != 200 && rv.http_status != 400 && rv.http_status != 500)
            abort();
        if (rv.body_len != strlen(rv.body))
            abort();
        /* A JSON answer must parse: the apiserver drops anything else. */
        if (strcmp(rv.content_type, "application/json") == 0) {
            cJSON *j = cJSON_ParseWithLength(rv.body, rv.body_len);
            if (!j)
                abort();
            cJSON_Delete(j);
        }
        wh_review_record(&rv, NULL, 0);
    }
    wh_review_clear(&rv);
}

/* The one-pass parser reads nothing cJSON reads differently (or refuses). */
static void same_as_cjson(const char *body, size_t len)
{
    if (!wh_json_arena_begin())
        abort();
    const char *fend = NULL, *cend = NULL;
    cJSON *f = wh_json_parse_fast(body, len, &fend);
    cJSON *c = cJSON_ParseWithLengthOpts(body, len, &cend, false);
    if (f && (!c || !wh_json_same_tree(f, c) || fend != cend))
        abort();
    wh_json_arena_end();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const k5_config *cfg = config();
    /* An exact-size copy, so ASan sees any read past the request body. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    same_as_cjson(body, size);
    judge(cfg, NULL, body, size, 0);
    judge(cfg, NULL, body, size, WH_REVIEW_WARN_ONLY);
    judge(cfg, cluster(), body, size, 0);
    cache_roundtrip(body, size);
    free(body);
    return 0;
}
