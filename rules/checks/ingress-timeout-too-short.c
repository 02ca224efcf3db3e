/*
 * ingress-timeout-too-short: proxy timeouts so short that slow but healthy
 * requests are cut off with 504.
 */
#include <ctype.h>

#include "k5_check.h"

/* ingress-nginx reads these annotations as whole seconds. */
static bool seconds(k5_str s, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0;
    if (!s.n)
        return false;
    for (; i < s.n && isdigit((unsigned char)s.p[i]); i++) {
        if (v > 100000000)
            return false;
        v = v * 10 + (s.p[i] - '0');
    }
    if (i == 0)
        return false;
    if (i < s.n && !(i + 1 == s.n && s.p[i] == 's'))
        return false;
    *out = v;
    return true;
}

static k5_status judge(k5_check *c, const k5_object *obj, const char *annotation, int64_t min)
{
    const k5_node *v = k5_map_get(obj->annotations, annotation);
    int64_t secs;
    if (!v || !seconds(k5_node_str(v), &secs) || secs >= min)
        return K5_OK;
    return k5_check_report(c, v, NULL,
                           "Ingress \"%.*s\": %s is %llds, below %llds: slow but healthy "
                           "requests are cut off with 504",
                           (int)obj->name.n, obj->name.p, annotation, (long long)secs,
                           (long long)min);
}

/* alb.ingress.kubernetes.io/load-balancer-attributes: "a=b,idle_timeout.timeout_seconds=5" */
static k5_status judge_alb(k5_check *c, const k5_object *obj, int64_t min)
{
    static const char ann[] = "alb.ingress.kubernetes.io/load-balancer-attributes";
    static const char key[] = "idle_timeout.timeout_seconds=";
    const k5_node *v = k5_map_get(obj->annotations, ann);
    k5_str s = k5_node_str(v);
    for (size_t i = 0; i < s.n;) {
        while (i < s.n && (s.p[i] == ' ' || s.p[i] == ','))
            i++;
        size_t b = i;
        while (i < s.n && s.p[i] != ',')
            i++;
        size_t kl = sizeof key - 1;
        if (i - b > kl && memcmp(s.p + b, key, kl) == 0) {
            k5_str num = {s.p + b + kl, i - b - kl};
            while (num.n && num.p[num.n - 1] == ' ')
                num.n--;
            int64_t secs;
            if (seconds(num, &secs) && secs < min)
                return k5_check_report(c, v, NULL,
                                       "Ingress \"%.*s\": the ALB idle timeout "
                                       "(idle_timeout.timeout_seconds) is %llds, below %llds: "
                                       "idle or slow requests are cut off with 504",
                                       (int)obj->name.n, obj->name.p, (long long)secs,
                                       (long long)min);
        }
    }
    return K5_OK;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t rw = k5_check_param(c, 0), conn = k5_check_param(c, 1), alb = k5_check_param(c, 2);
    k5_status st = judge(c, obj, "nginx.ingress.kubernetes.io/proxy-read-timeout", rw);
    if (st == K5_OK)
        st = judge(c, obj, "nginx.ingress.kubernetes.io/proxy-send-timeout", rw);
    if (st == K5_OK)
        st = judge(c, obj, "nginx.ingress.kubernetes.io/proxy-connect-timeout", conn);
    if (st == K5_OK)
        st = judge_alb(c, obj, alb);
    return st;
}

const k5_rule k5__rule_ingress_timeout_too_short = {
    .id = "ingress-timeout-too-short",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_INGRESS,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = NULL,
    .summary = "An Ingress proxy timeout is so short that slow requests become 504s",
    .explanation =
        "The ingress controller gives up on the upstream when a read, send or connect timeout "
        "expires and answers the client 504 Gateway Timeout, although the pod is healthy and "
        "would have answered. A timeout of a few seconds turns every slow query, cold cache or "
        "GC pause into a user-visible error.",
    .remediation = "Raise the timeouts above the slowest legitimate response time (60s is "
                   "ingress-nginx's default for read and send, 5s for connect, 60s for an ALB's "
                   "idle timeout); fix slow endpoints rather than hiding them behind 504s.",
    .example_broken = "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata:\n"
                      "  name: shop\n"
                      "  annotations: {nginx.ingress.kubernetes.io/proxy-read-timeout: \"2\"}\n"
                      "spec:\n"
                      "  defaultBackend:\n"
                      "    service: {name: web, port: {number: 80}}\n",
    .example = "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata:\n"
               "  name: shop\n"
               "  annotations: {nginx.ingress.kubernetes.io/proxy-read-timeout: \"60\"}\n"
               "spec:\n"
               "  defaultBackend:\n"
               "    service: {name: web, port: {number: 80}}\n",
    .params = {{"read-timeout", K5_PARAM_SECONDS, "10s",
                "smallest proxy-read-timeout and proxy-send-timeout"},
               {"connect-timeout", K5_PARAM_SECONDS, "2s", "smallest proxy-connect-timeout"},
               {"alb-idle-timeout", K5_PARAM_SECONDS, "10s", "smallest ALB idle timeout"}},
    .check = check,
};
