/*
 * mesh-retry-timeout-inconsistent: an Istio route whose retries do not fit in
 * its timeout, so the route times out (504) before the retries it promises run.
 */
#include <kube5xx/k5_units.h>

#include "k5_arith.h"
#include "k5_check.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

/* A duration as a person writes it: "8s", "1500ms", or "250us" below a millisecond. */
static void duration_describe(int64_t ns, char *buf, size_t size)
{
    if (ns == INT64_MAX) /* a saturated product: int64 nanoseconds end after 2562047h */
        snprintf(buf, size, "over 2562047h");
    else if (ns % NS_PER_S == 0)
        snprintf(buf, size, "%llds", (long long)(ns / NS_PER_S));
    else if (ns % NS_PER_MS == 0)
        snprintf(buf, size, "%lldms", (long long)(ns / NS_PER_MS));
    else
        snprintf(buf, size, "%lldus", (long long)(ns / 1000));
}

/* An Istio duration ("2s", "500ms", "1h"); false when absent or not one. */
static bool duration_of(const k5_node *n, int64_t *ns)
{
    k5_str s = k5_node_str(n);
    return s.n && k5_duration_parse(s.p, s.n, ns) && *ns >= 0;
}

static k5_status judge(k5_check *c, const k5_object *vs, const k5_node *route)
{
    const k5_node *retries = k5_map_get(route, "retries");
    const k5_node *attn = k5_map_get(retries, "attempts");
    const k5_node *ptn = k5_map_get(retries, "perTryTimeout");
    int64_t attempts, per_try, timeout = 0;
    /* No retries block: Istio's default policy (2 retries, no per-try timeout) has nothing to
     * compare. attempts absent or 0 disables retries altogether. */
    if (!k5_node_is_map(retries) || !k5_node_int(attn, &attempts) || attempts <= 0)
        return K5_OK;
    if (!duration_of(ptn, &per_try) || per_try == 0)
        return K5_OK; /* each try may use the whole route timeout */
    const k5_node *tn = k5_map_get(route, "timeout");
    bool has_timeout = duration_of(tn, &timeout) && timeout > 0; /* "0s" disables it */
    int64_t tries = k5__add_sat(attempts, 1);
    int64_t total = k5__mul_sat(per_try, tries);
    char pt[32], tot[32], to[32];
    duration_describe(per_try, pt, sizeof pt);
    duration_describe(total, tot, sizeof tot);
    if (!has_timeout)
        /* Istio's route timeout is disabled by default: nothing cuts the retries, but nothing
         * bounds them either. A caller's own timeout decides: information only. */
        return k5_check_report_capped(
            c, K5_SEV_INFO, ptn, NULL,
            "VirtualService \"%.*s\": retries.perTryTimeout %s with %lld attempts and no route "
            "timeout (Istio's default is none): a request may take %lld tries x %s = %s plus "
            "backoff, and a caller that gives up sooner answers 504 itself; set the route "
            "timeout to bound the retries",
            (int)vs->name.n, vs->name.p, pt, (long long)attempts, (long long)tries, pt, tot);
    if (total <= timeout)
        return K5_OK;
    duration_describe(timeout, to, sizeof to);
    if (per_try >= timeout)
        return k5_check_report(c, ptn, NULL,
                               "VirtualService \"%.*s\": retries.perTryTimeout %s is not shorter "
                               "than the route timeout %s: a slow try is never retried, the "
                               "route times out first and answers 504 (UT); make perTryTimeout "
                               "at most timeout / %lld",
                               (int)vs->name.n, vs->name.p, pt, to, (long long)tries);
    int64_t fit = timeout / per_try; /* per_try > 0 */
    return k5_check_report(c, ptn, NULL,
                           "VirtualService \"%.*s\": %lld attempts of perTryTimeout %s need up to "
                           "%lld tries x %s = %s, but the route timeout is %s: only %lld tr%s fit, "
                           "the remaining retries are cut and the request ends in 504 (UT)",
                           (int)vs->name.n, vs->name.p, (long long)attempts, pt, (long long)tries,
                           pt, tot, to, (long long)fit, fit == 1 ? "y" : "ies");
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *http = k5_node_at(obj->root, "spec.http");
    k5_status st = K5_OK;
    for (size_t i = 0; k5_node_is_seq(http) && i < k5_node_len(http) && st == K5_OK; i++)
        st = judge(c, obj, k5_seq_at(http, i));
    return st;
}

const k5_rule k5__rule_mesh_retry_timeout_inconsistent = {
    .id = "mesh-retry-timeout-inconsistent",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_VIRTUALSERVICE,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = NULL,
    .summary = "An Istio route's retries do not fit in its timeout",
    .explanation =
        "Envoy bounds the whole request, retries included, by the route `timeout`, and each try "
        "by `retries.perTryTimeout`; `attempts` counts retries after the first try. When "
        "perTryTimeout x (attempts + 1) exceeds the route timeout, the retries the route promises "
        "never all run: the route timeout fires first and the sidecar or gateway answers 504 "
        "(response flag UT). A perTryTimeout as long as the timeout means a slow try is never "
        "retried at all. Without a route timeout (Istio's default: none; its default retry policy "
        "is 2 attempts) nothing cuts the retries, but the caller's own timeout may: reported as "
        "information. `attempts: 0` disables retries and is not judged. Reference: "
        "https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRetry and "
        "https://istio.io/latest/docs/concepts/traffic-management/#timeouts",
    .remediation = "Make timeout >= perTryTimeout x (attempts + 1), or lower attempts or "
                   "perTryTimeout to fit the timeout the callers can wait.",
    .example_broken = "apiVersion: networking.istio.io/v1\n"
                      "kind: VirtualService\n"
                      "metadata: {name: ratings}\n"
                      "spec:\n"
                      "  hosts: [ratings]\n"
                      "  http:\n"
                      "    - route:\n"
                      "        - destination: {host: ratings}\n"
                      "      timeout: 5s\n"
                      "      retries: {attempts: 3, perTryTimeout: 2s, retryOn: 5xx}\n",
    .example = "apiVersion: networking.istio.io/v1\n"
               "kind: VirtualService\n"
               "metadata: {name: ratings}\n"
               "spec:\n"
               "  hosts: [ratings]\n"
               "  http:\n"
               "    - route:\n"
               "        - destination: {host: ratings}\n"
               "      timeout: 10s\n"
               "      retries: {attempts: 3, perTryTimeout: 2s, retryOn: 5xx}\n",
    .check = check,
};
