/*
 * route-timeout-too-short: an HTTPRoute rule's timeouts so short that slow but
 * healthy requests are cut off with 504, or a backendRequest timeout longer
 * than the request timeout that contains it.
 */
#include "k5_check.h"

/* The family's threshold lives with the Ingress rule: one config line sets both. */
extern const k5_rule k5__rule_ingress_timeout_too_short;
#define READ_TIMEOUT_PARAM 0 /* ingress-timeout-too-short's read-timeout */

#define NS_PER_S INT64_C(1000000000)

/* A timeout as written; false when unset or not a GEP-2257 duration (the CRDs reject it). */
static bool timeout_of(const k5_node *timeouts, const char *field, const k5_node **node,
                       int64_t *ns)
{
    *node = k5_map_get(timeouts, field);
    if (!k5_node_is_scalar(*node))
        return false;
    k5_str s = k5_node_str(*node);
    return k5_gateway_duration_parse(s.p, s.n, ns);
}

static k5_status judge_rule(k5_check *c, const k5_object *obj, size_t r, const k5_node *timeouts,
                            int64_t min_s)
{
    const k5_node *req, *be;
    int64_t req_ns = 0, be_ns = 0;
    bool has_req = timeout_of(timeouts, "request", &req, &req_ns);
    bool has_be = timeout_of(timeouts, "backendRequest", &be, &be_ns);
    k5_status st = K5_OK;
    /* "0s" disables the timeout (GEP-1742): never too short. */
    if (has_req && req_ns > 0 && req_ns < min_s * NS_PER_S) {
        k5_str t = k5_node_str(req);
        st = k5_check_report(c, req, NULL,
                             "HTTPRoute \"%.*s\" rules[%zu]: timeouts.request is %.*s, below "
                             "%llds: the gateway answers 504 to every request the backend takes "
                             "longer than that to finish, although it would have answered",
                             (int)obj->name.n, obj->name.p, r, (int)t.n, t.p, (long long)min_s);
    }
    if (st == K5_OK && has_be && be_ns > 0 && be_ns < min_s * NS_PER_S &&
        !(has_req && req_ns > 0 && req_ns < be_ns)) {
        k5_str t = k5_node_str(be);
        st = k5_check_report(c, be, NULL,
                             "HTTPRoute \"%.*s\" rules[%zu]: timeouts.backendRequest is %.*s, "
                             "below %llds: each attempt at a backend that takes longer is cut "
                             "off and answered with 504",
                             (int)obj->name.n, obj->name.p, r, (int)t.n, t.p, (long long)min_s);
    }
    /* A request timeout of 0s is no bound, so no backendRequest exceeds it. */
    if (st == K5_OK && has_req && has_be && req_ns > 0 && be_ns > req_ns) {
        k5_str rt = k5_node_str(req), bt = k5_node_str(be);
        st = k5_check_report(c, be, NULL,
                             "HTTPRoute \"%.*s\" rules[%zu]: timeouts.backendRequest (%.*s) is "
                             "longer than timeouts.request (%.*s): recent Gateway API CRDs reject "
                             "the route, and where it is accepted the request is cut off with "
                             "504 at %.*s, so the backendRequest timeout never applies",
                             (int)obj->name.n, obj->name.p, r, (int)bt.n, bt.p, (int)rt.n, rt.p,
                             (int)rt.n, rt.p);
    }
    return st;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t min_s = k5_check_param_of(c, &k5__rule_ingress_timeout_too_short, READ_TIMEOUT_PARAM);
    const k5_node *rules = k5_node_at(obj->root, "spec.rules");
    k5_status st = K5_OK;
    for (size_t r = 0; r < k5_node_len(rules) && st == K5_OK; r++) {
        const k5_node *timeouts = k5_map_get(k5_seq_at(rules, r), "timeouts");
        if (k5_node_is_map(timeouts))
            st = judge_rule(c, obj, r, timeouts, min_s);
    }
    return st;
}

const k5_rule k5__rule_route_timeout_too_short = {
    .id = "route-timeout-too-short",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_HTTPROUTE,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = NULL,
    .summary = "An HTTPRoute timeout is so short that slow requests become 504s, or "
               "backendRequest exceeds request",
    .explanation =
        "A Gateway API gateway gives up when an HTTPRoute rule's timeouts.request (the whole "
        "request, retries included) or timeouts.backendRequest (one attempt at a backend) "
        "expires, and answers the client 504 Gateway Timeout although the backend is healthy "
        "and would have answered. A timeout below ingress-timeout-too-short's read-timeout "
        "(default 10s; the same config line sets both) turns slow queries, cold caches and GC "
        "pauses into errors. A backendRequest longer than request never applies: the request "
        "timeout fires first (504), and recent Gateway API CRDs reject such a route. "
        "\"0s\" disables a timeout and is never too short. Reference: "
        "https://gateway-api.sigs.k8s.io/api-types/httproute/#timeouts-optional and GEP-1742 "
        "(https://gateway-api.sigs.k8s.io/geps/gep-1742/).",
    .remediation = "Raise the timeouts above the slowest legitimate response time, keep "
                   "backendRequest at most request, or remove them to use the gateway's "
                   "default. The threshold is ingress-timeout-too-short's read-timeout "
                   "(`rules: {ingress-timeout-too-short: {read-timeout: 5s}}`).",
    .example_broken = "apiVersion: gateway.networking.k8s.io/v1\n"
                      "kind: HTTPRoute\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  parentRefs: [{name: edge}]\n"
                      "  rules:\n"
                      "    - backendRefs: [{name: web, port: 80}]\n"
                      "      timeouts: {request: 1s}\n",
    .example = "apiVersion: gateway.networking.k8s.io/v1\n"
               "kind: HTTPRoute\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  parentRefs: [{name: edge}]\n"
               "  rules:\n"
               "    - backendRefs: [{name: web, port: 80}]\n"
               "      timeouts: {request: 30s}\n",
    .check = check,
};
