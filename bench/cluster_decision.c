/*
 * Admission decision time with a full cluster cache (issue #11's target:
 * p99 <= 300 us with 50,000 cached objects). Fills a wh_cache the way the
 * informer does (replace_begin, ADDED..., replace_end per kind) with N
 * objects spread over namespaces like a real cluster (Deployments with their
 * Service, most with a PDB, some with an HPA and an Ingress), then times
 * wh_admission_review_cached on a mix of reviews that have partners in the
 * cache: Service CREATEs (one of them broken), Deployment UPDATEs (one that
 * renames the port its Service targets), PDB and Ingress CREATEs. The same
 * reviews are timed without the cache in the same run, for the ratio.
 *
 * Then NetworkPolicies: one namespace of 256 workloads (each a Deployment, its Service and an
 * Ingress routing to it) under 0, 1, 16, 64 and 256 policies that all select every pod. A
 * review whose pods a policy selects brings every policy of the namespace that selects them,
 * and a policy under review brings the workloads it selects (up to the 256-partner cap), so
 * this is the shape whose cost grows with workloads x policies. Each policy count is timed
 * on the same review mix and reported as a ratio to the no-policy cache.
 *
 *   wh-bench-cluster [OBJECTS [REVIEWS [POLICY_REVIEWS]]]   (defaults 50000, 20000, 2000)
 */
#include <cjson/cJSON.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wh_admission.h"
#include "wh_cache.h"
#include "wh_log.h"

#define POLICY_BUDGET_NS 5000000000LL /* CPU a row of the NetworkPolicy figure may take */
#define PER_NS 100 /* objects per namespace: 40 Deployments, 40 Services, 10 PDBs, 5 HPAs, 5 Ingresses */

/* `distinct` gives every Deployment its own probe path, preStop and container port (nothing
 * shared between objects: the cache's worst case); otherwise they are one chart's. */
static char *deployment_v(int ns, int i, const char *port, int replicas, long distinct)
{
    char *s = malloc(2048);
    char path[32] = "/ready";
    int cport = 8080, sleep = 5;
    if (distinct) {
        snprintf(path, sizeof path, "/ready-%ld", distinct);
        cport = 1024 + (int)(distinct % 60000);
        sleep = 1 + (int)(distinct % 3600);
    }
    snprintf(s, 2048,
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"app-%d\","
             "\"namespace\":\"team-%d\",\"labels\":{\"app\":\"app-%d\",\"app.kubernetes.io/"
             "managed-by\":\"Helm\"},\"annotations\":{\"meta.helm.sh/release-name\":\"app-%d\"}},"
             "\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":{\"app\":\"app-%d\"}},"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"app-%d\",\"team\":\"team-%d\"}},"
             "\"spec\":{\"terminationGracePeriodSeconds\":30,\"containers\":[{\"name\":\"app\","
             "\"image\":\"registry.example.com/app-%d:1.0\",\"ports\":[{\"name\":\"%s\","
             "\"containerPort\":%d,\"protocol\":\"TCP\"}],\"readinessProbe\":{\"httpGet\":{"
             "\"path\":\"%s\",\"port\":\"%s\"}},\"lifecycle\":{\"preStop\":{\"sleep\":{"
             "\"seconds\":%d}}},\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":"
             "\"256Mi\"},\"limits\":{\"memory\":\"256Mi\"}}}]}}}}",
             i, ns, i, i, replicas, i, i, ns, i, port, cport, path, port, sleep);
    return s;
}

static char *deployment(int ns, int i, const char *port, int replicas)
{
    return deployment_v(ns, i, port, replicas, 0);
}

static char *service(int ns, int i, const char *target)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"app-%d\","
             "\"namespace\":\"team-%d\"},\"spec\":{\"type\":\"ClusterIP\",\"selector\":{\"app\":"
             "\"app-%d\"},\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"%s\","
             "\"protocol\":\"TCP\"}]}}",
             i, ns, i, target);
    return s;
}

static char *pdb(int ns, int i)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"policy/v1\",\"kind\":\"PodDisruptionBudget\",\"metadata\":{"
             "\"name\":\"app-%d\",\"namespace\":\"team-%d\"},\"spec\":{\"maxUnavailable\":1,"
             "\"selector\":{\"matchLabels\":{\"app\":\"app-%d\"}}}}",
             i, ns, i);
    return s;
}

static char *hpa(int ns, int i)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":"
             "{\"name\":\"app-%d\",\"namespace\":\"team-%d\"},\"spec\":{\"scaleTargetRef\":{"
             "\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"app-%d\"},"
             "\"minReplicas\":2,\"maxReplicas\":10}}",
             i, ns, i);
    return s;
}

static char *ingress(int ns, int i)
{
    char *s = malloc(1024);
    snprintf(s, 1024,
             "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":"
             "\"app-%d\",\"namespace\":\"team-%d\"},\"spec\":{\"rules\":[{\"host\":\"app-%d."
             "example.com\",\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Prefix\","
             "\"backend\":{\"service\":{\"name\":\"app-%d\",\"port\":{\"number\":80}}}}]}}]}}",
             i, ns, i, i);
    return s;
}

/* A policy isolating the pods `pods` selects (a JSON selector) for ingress on 8080, from `from`
 * (a JSON list of peers). */
static char *netpol(int ns, const char *name, const char *pods, const char *from)
{
    char *s = malloc(1024);
    snprintf(
        s, 1024,
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"
        "\"name\":\"%s\",\"namespace\":\"team-%d\"},\"spec\":{\"podSelector\":%s,"
        "\"policyTypes\":[\"Ingress\"],\"ingress\":[{\"from\":%s,\"ports\":[{\"port\":8080}]}]}}",
        name, ns, pods, from);
    return s;
}

static char *namespace_object(const char *name)
{
    char *s = malloc(512);
    snprintf(s, 512,
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\","
             "\"labels\":{\"kubernetes.io/metadata.name\":\"%s\"}}}",
             name, name);
    return s;
}

static void feed(wh_cache *c, k5_kind kind, char *json)
{
    cJSON *j = cJSON_Parse(json);
    wh_cache_event(c, kind, WH_CACHE_ADDED, j);
    cJSON_Delete(j);
    free(json);
}

static char *review(const char *kind, const char *group, const char *version, const char *op,
                    int ns, char *obj, char *old)
{
    size_t n = strlen(obj) + (old ? strlen(old) : 0) + 1024;
    char *s = malloc(n);
    snprintf(s, n,
             "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
             "\"uid\":\"b-1\",\"kind\":{\"group\":\"%s\",\"version\":\"%s\",\"kind\":\"%s\"},"
             "\"namespace\":\"team-%d\",\"operation\":\"%s\",\"userInfo\":{\"username\":\"ci\"},"
             "\"object\":%s%s%s}}",
             group, version, kind, ns, op, obj, old ? ",\"oldObject\":" : "", old ? old : "");
    free(obj);
    free(old);
    return s;
}

/* This thread's CPU time: a review's own cost, without the time the scheduler gave others (on a
 * shared machine a nice-19 benchmark is preempted for milliseconds at a time). */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i];
}

/* Judges `reviews` reviews, the mix in turn, against `c` (NULL: without a cache), and sorts the
 * wall and thread CPU time of each into wall[] and cpu[]; with a CPU budget (ns, 0: none) it
 * stops early once 20 reviews are done and the budget is spent. Adds the denials to *denied
 * (may be NULL) and keeps, per mix entry, the partners it was judged with. Returns how many
 * reviews it timed, 0 when one failed. */
static long time_reviews(wh_cache *c, char *const *mix, const size_t *mixlen, int nmix,
                         long reviews, int64_t budget_ns, int64_t *wall, int64_t *cpu,
                         size_t *denied, size_t *partners)
{
    int64_t spent = 0;
    long r = 0;
    for (; r < reviews && !(budget_ns && r >= 20 && spent > budget_ns); r++) {
        int m = (int)(r % nmix);
        wh_review rv;
        int64_t a = wh_now_ns(), ca = cpu_ns();
        wh_status st = wh_admission_review_cached(NULL, c, mix[m], mixlen[m], 0, 0, &rv);
        cpu[r] = cpu_ns() - ca;
        wall[r] = wh_now_ns() - a;
        spent += cpu[r];
        bool ok = st == WH_OK && rv.http_status == 200;
        if (ok && denied && rv.decision == WH_DECISION_DENIED)
            (*denied)++;
        if (partners)
            partners[m] = rv.partners;
        wh_review_clear(&rv);
        if (!ok)
            return 0;
    }
    qsort(wall, (size_t)r, sizeof *wall, cmp_i64);
    qsort(cpu, (size_t)r, sizeof *cpu, cmp_i64);
    return r;
}

/* The namespace of the NetworkPolicy figure: `workloads` Deployments, each with its Service and
 * an Ingress routing to it, under `policies` policies that all select every pod (team: team-0).
 * Each admits one app's pods; the last admits the ingress-nginx namespace, so the rule reads
 * the union of all of them before it knows the controller is admitted. Every kind the cache
 * watches is listed (an unlisted one keeps the cache syncing). */
static wh_cache *policy_cache(int workloads, int policies)
{
    wh_cache *c = NULL;
    if (wh_cache_new(NULL, &c) != WH_OK)
        return NULL;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        k5_kind kind = K5_KIND_AT(b);
        if (!(kind & K5_CLUSTER_KINDS))
            continue;
        wh_cache_replace_begin(c, kind);
        for (int i = 0; i < workloads; i++) {
            if (kind == K5_KIND_DEPLOYMENT)
                feed(c, kind, deployment(0, i, "http", 3));
            else if (kind == K5_KIND_SERVICE)
                feed(c, kind, service(0, i, "http"));
            else if (kind == K5_KIND_INGRESS)
                feed(c, kind, ingress(0, i));
        }
        for (int k = 0; kind == K5_KIND_NETWORKPOLICY && k < policies; k++) {
            char name[32], from[256];
            snprintf(name, sizeof name, "np-%d", k);
            if (k == policies - 1)
                snprintf(from, sizeof from,
                         "[{\"namespaceSelector\":{\"matchLabels\":{"
                         "\"kubernetes.io/metadata.name\":\"ingress-nginx\"}}}]");
            else
                snprintf(from, sizeof from,
                         "[{\"podSelector\":{\"matchLabels\":{\"app\":\"app-%d\"}}}]", k);
            feed(c, kind, netpol(0, name, "{\"matchLabels\":{\"team\":\"team-0\"}}", from));
        }
        if (kind == K5_KIND_NAMESPACE) {
            feed(c, kind, namespace_object("team-0"));
            feed(c, kind, namespace_object("ingress-nginx"));
        }
        wh_cache_replace_end(c, kind);
    }
    return c;
}

/* The NetworkPolicy figure: each review kind alone, against caches of 0 to 256 policies. */
static int policy_figure(long reviews)
{
    enum { W = 256, KINDS = 4, COUNTS = 5 };
    static const int counts[COUNTS] = {0, 1, 16, 64, 256};
    static const char *const what[KINDS] = {"Deployment UPDATE", "Service CREATE",
                                            "Ingress CREATE", "NetworkPolicy CREATE"};
    char *mix[KINDS];
    size_t mixlen[KINDS];
    mix[0] = review("Deployment", "apps", "v1", "UPDATE", 0, deployment(0, 9, "http", 4),
                    deployment(0, 9, "http", 3));
    mix[1] = review("Service", "", "v1", "CREATE", 0, service(0, 7, "http"), NULL);
    mix[2] = review("Ingress", "networking.k8s.io", "v1", "CREATE", 0, ingress(0, 2), NULL);
    mix[3] = review("NetworkPolicy", "networking.k8s.io", "v1", "CREATE", 0,
                    netpol(0, "np-new", "{}",
                           "[{\"namespaceSelector\":{\"matchLabels\":{"
                           "\"kubernetes.io/metadata.name\":\"ingress-nginx\"}}}]"),
                    NULL);
    for (int i = 0; i < KINDS; i++)
        mixlen[i] = strlen(mix[i]);
    int64_t *wall = malloc((size_t)reviews * sizeof *wall);
    int64_t *cpu = malloc((size_t)reviews * sizeof *cpu);
    int64_t none[KINDS][2] = {{0}}; /* CPU p50 and p99 without policies */
    int rc = 0;
    printf("NetworkPolicies: one namespace of %d workloads (Deployment, Service, Ingress each) "
           "under N policies that all select every pod; each review kind alone, up to %ld "
           "reviews or %.0f s of CPU a row; thread CPU time, and its ratio to no policies\n",
           W, reviews, (double)POLICY_BUDGET_NS / 1e9);
    printf("policies  review                  reviews    p50 us     p99 us  p50 /none p99 /none "
           " partners\n");
    for (int ci = 0; ci < COUNTS && rc == 0; ci++) {
        wh_cache *c = policy_cache(W, counts[ci]);
        if (!c) {
            rc = 1;
            break;
        }
        for (int k = 0; k < KINDS; k++) {
            size_t partners = 0;
            long n = time_reviews(c, &mix[k], &mixlen[k], 1, reviews, POLICY_BUDGET_NS, wall, cpu,
                                  NULL, &partners);
            if (!n) {
                rc = 1;
                break;
            }
            int64_t p50 = pct(cpu, (size_t)n, 0.50), p99 = pct(cpu, (size_t)n, 0.99);
            if (counts[ci] == 0)
                none[k][0] = p50, none[k][1] = p99;
            printf("%-9d %-22s %8ld %10.1f %10.1f %9.1f %9.1f %9zu\n", counts[ci], what[k], n,
                   (double)p50 / 1e3, (double)p99 / 1e3, (double)p50 / (double)none[k][0],
                   (double)p99 / (double)none[k][1], partners);
            /* The shape must be in play: a Deployment under N policies is judged with them. */
            if (k == 0 && partners < (size_t)counts[ci])
                rc = 1;
        }
        wh_cache_free(&c);
    }
    for (int i = 0; i < KINDS; i++)
        free(mix[i]);
    free(wall);
    free(cpu);
    if (rc)
        fprintf(stderr, "wh-bench-cluster: the NetworkPolicy figure failed (a review failed, or "
                        "a Deployment was judged without its policies)\n");
    return rc;
}

int main(int argc, char **argv)
{
    long objects = argc > 1 ? strtol(argv[1], NULL, 10) : 50000;
    long reviews = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    long policy_reviews = argc > 3 ? strtol(argv[3], NULL, 10) : 2000;
    if (objects < PER_NS || reviews < 100 || policy_reviews < 100) {
        fprintf(stderr,
                "usage: wh-bench-cluster [OBJECTS>=100 [REVIEWS>=100 [POLICY_REVIEWS>=100]]]\n");
        return 2;
    }
    wh_log_set_level(WH_LOG_ERROR);
    int nns = (int)(objects / PER_NS);

    /* Memory per generated Deployment (issue #11: <= 1 KiB on average): a cache of
     * Deployments only, measured twice, by the cache's own account (kube5xx_cache_memory_bytes)
     * and by the heap bytes glibc reports in use, malloc's chunk headers included. */
    long ndeploy = objects / 2;
    size_t dbytes[2];
    double heap_each[2];
    for (int distinct = 0; distinct < 2; distinct++) {
        wh_cache *d = NULL;
        if (wh_cache_new(NULL, &d) != WH_OK)
            return 1;
        struct mallinfo2 h0 = mallinfo2();
        wh_cache_replace_begin(d, K5_KIND_DEPLOYMENT);
        for (long i = 0; i < ndeploy; i++)
            feed(d, K5_KIND_DEPLOYMENT,
                 deployment_v((int)(i / 40), (int)(i % 40), "http", 3, distinct ? i + 1 : 0));
        wh_cache_replace_end(d, K5_KIND_DEPLOYMENT);
        struct mallinfo2 h1 = mallinfo2();
        const k5_cluster *dcl = wh_cache_read_begin(d);
        dbytes[distinct] = k5_cluster_bytes(dcl);
        wh_cache_read_end(d);
        heap_each[distinct] =
            ((double)(h1.uordblks + h1.hblkhd) - (double)(h0.uordblks + h0.hblkhd)) /
            (double)ndeploy;
        wh_cache_free(&d);
    }

    wh_cache *c = NULL;
    if (wh_cache_new(NULL, &c) != WH_OK)
        return 1;
    int64_t t0 = wh_now_ns();
    /* Every kind the cache watches (the kind table's K5_KF_CACHE), listed, most of them empty:
     * an unlisted kind would keep the cache syncing and every review single-object. */
    k5_kind kinds[K5__KIND_COUNT];
    size_t nkinds = 0;
    for (int b = 0; b < K5__KIND_COUNT; b++)
        if (K5_KIND_AT(b) & K5_CLUSTER_KINDS)
            kinds[nkinds++] = K5_KIND_AT(b);
    for (size_t k = 0; k < nkinds; k++) {
        wh_cache_replace_begin(c, kinds[k]);
        for (int ns = 0; ns < nns; ns++)
            for (int i = 0; i < 40; i++) {
                if (kinds[k] == K5_KIND_DEPLOYMENT)
                    feed(c, kinds[k], deployment(ns, i, "http", 3));
                else if (kinds[k] == K5_KIND_SERVICE)
                    feed(c, kinds[k], service(ns, i, "http"));
                else if (kinds[k] == K5_KIND_PDB && i < 10)
                    feed(c, kinds[k], pdb(ns, i));
                else if (kinds[k] == K5_KIND_HPA && i < 5)
                    feed(c, kinds[k], hpa(ns, i));
                else if (kinds[k] == K5_KIND_INGRESS && i < 5)
                    feed(c, kinds[k], ingress(ns, i));
            }
        wh_cache_replace_end(c, kinds[k]);
    }
    int64_t fill_ns = wh_now_ns() - t0;
    char *metrics = wh_cache_metrics(c);
    size_t cached = 0, bytes = 0;
    for (const char *p = metrics; p && (p = strstr(p, "kube5xx_cache_objects{")); p++) {
        const char *v = strchr(p, '}');
        cached += (size_t)strtoul(v + 2, NULL, 10);
    }
    const char *mb = metrics ? strstr(metrics, "\nkube5xx_cache_memory_bytes ") : NULL;
    if (mb)
        bytes = (size_t)strtoul(mb + strlen("\nkube5xx_cache_memory_bytes "), NULL, 10);
    free(metrics);

    /* The review mix: one of each, in namespaces spread over the cluster. */
    enum { MIX = 6 };
    char *mix[MIX];
    size_t mixlen[MIX];
    int ns = nns / 2;
    mix[0] = review("Service", "", "v1", "CREATE", ns, service(ns, 7, "http"), NULL);
    mix[1] = review("Service", "", "v1", "CREATE", ns, service(ns, 8, "grpc"), NULL); /* denied */
    mix[2] = review("Deployment", "apps", "v1", "UPDATE", ns, deployment(ns, 9, "http", 4),
                    deployment(ns, 9, "http", 3));
    mix[3] = review("Deployment", "apps", "v1", "UPDATE", ns, deployment(ns, 3, "web", 3),
                    deployment(ns, 3, "http", 3)); /* breaks its Service: denied */
    mix[4] = review("PodDisruptionBudget", "policy", "v1", "CREATE", ns, pdb(ns, 4), NULL);
    mix[5] = review("Ingress", "networking.k8s.io", "v1", "CREATE", ns, ingress(ns, 2), NULL);
    for (int i = 0; i < MIX; i++)
        mixlen[i] = strlen(mix[i]);

    int64_t *with = malloc((size_t)reviews * sizeof *with);
    int64_t *without = malloc((size_t)reviews * sizeof *without);
    int64_t *cpu[2] = {malloc((size_t)reviews * sizeof(int64_t)),
                       malloc((size_t)reviews * sizeof(int64_t))};
    size_t denied = 0;
    for (int pass = 0; pass < 2; pass++)
        if (!time_reviews(pass == 0 ? c : NULL, mix, mixlen, MIX, reviews, 0,
                          pass == 0 ? with : without, cpu[pass], pass == 0 ? &denied : NULL, NULL))
            return 1;
    printf("cached objects            %zu (%.0f bytes each, %.1f MiB, filled in %.2f s)\n", cached,
           cached ? (double)bytes / (double)cached : 0.0, (double)bytes / 1048576.0,
           (double)fill_ns / 1e9);
    printf("Deployments only          %ld: %.0f bytes each by the cache's account, %.0f bytes "
           "each of heap in use\n",
           ndeploy, (double)dbytes[0] / (double)ndeploy, heap_each[0]);
    printf("  nothing shared          %ld: %.0f bytes each by the cache's account, %.0f bytes "
           "each of heap in use (every probe, preStop and port its own)\n",
           ndeploy, (double)dbytes[1] / (double)ndeploy, heap_each[1]);
    printf("reviews                   %ld (mix of %d; %zu denied with the cache)\n", reviews, MIX,
           denied);
    printf("decision with the cache   p50 %.1f us  p99 %.1f us  max %.1f us\n",
           (double)pct(with, (size_t)reviews, 0.50) / 1e3,
           (double)pct(with, (size_t)reviews, 0.99) / 1e3,
           (double)with[reviews - 1] / 1e3);
    printf("decision without it       p50 %.1f us  p99 %.1f us  max %.1f us\n",
           (double)pct(without, (size_t)reviews, 0.50) / 1e3,
           (double)pct(without, (size_t)reviews, 0.99) / 1e3,
           (double)without[reviews - 1] / 1e3);
    for (int pass = 0; pass < 2; pass++)
        printf("CPU %s p50 %.1f us  p99 %.1f us\n",
               pass == 0 ? "with the cache       " : "without it           ",
               (double)pct(cpu[pass], (size_t)reviews, 0.50) / 1e3,
               (double)pct(cpu[pass], (size_t)reviews, 0.99) / 1e3);
    printf("p99 ratio (cache/none)    %.2f\n",
           (double)pct(with, (size_t)reviews, 0.99) /
               (double)pct(without, (size_t)reviews, 0.99));
    for (int i = 0; i < MIX; i++)
        free(mix[i]);
    free(with);
    free(without);
    free(cpu[0]);
    free(cpu[1]);
    wh_cache_free(&c);
    if (!denied)
        return 1; /* the broken reviews must have been seen as broken */
    return policy_figure(policy_reviews);
}
