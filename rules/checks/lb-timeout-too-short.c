/*
 * lb-timeout-too-short: a cloud load balancer's backend timeout so short that slow but
 * healthy requests become 502/504. Same family and thresholds as ingress-timeout-too-short
 * (which already judges an Ingress's ALB idle timeout).
 */
#include "k5_arith.h"
#include "k5_check.h"

/* The family's owner and its parameters (ingress-timeout-too-short's table). */
extern const k5_rule k5__rule_ingress_timeout_too_short;
#define READ_TIMEOUT_PARAM 0     /* read-timeout */
#define ALB_IDLE_TIMEOUT_PARAM 2 /* alb-idle-timeout */

/* GKE's backend service timeout when a BackendConfig sets none. */
#define GKE_DEFAULT_TIMEOUT_SEC 30

static k5_status judge_backendconfig(k5_check *c, const k5_object *obj)
{
    int64_t min = k5_check_param_of(c, &k5__rule_ingress_timeout_too_short, READ_TIMEOUT_PARAM);
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *t = k5_map_get(spec, "timeoutSec");
    int64_t secs;
    if (!t || k5_node_kind(t) == K5_NODE_NULL) {
        if (!spec || GKE_DEFAULT_TIMEOUT_SEC >= min)
            return K5_OK;
        return k5__report_at_path(c, obj->root, "spec.timeoutSec",
                                  "BackendConfig \"%.*s\" sets no timeoutSec: GKE's default "
                                  "backend service timeout of %ds is below %llds, and requests "
                                  "slower than it get 502 (backend_timeout)",
                                  (int)obj->name.n, obj->name.p, GKE_DEFAULT_TIMEOUT_SEC,
                                  (long long)min);
    }
    if (!k5_node_int(t, &secs) || secs >= min)
        return K5_OK;
    return k5_check_report(c, t, NULL,
                           "BackendConfig \"%.*s\": timeoutSec is %llds, below %llds: the "
                           "load balancer gives up on requests slower than that and answers "
                           "502 (backend_timeout)",
                           (int)obj->name.n, obj->name.p, (long long)secs, (long long)min);
}

/* The in-tree AWS cloud provider's Classic ELB idle timeout on a LoadBalancer Service. */
static k5_status judge_service(k5_check *c, const k5_object *obj)
{
    static const char ann[] = "service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout";
    if (!k5_node_is(k5_node_at(obj->root, "spec.type"), "LoadBalancer"))
        return K5_OK;
    /* An NLB (in-tree `nlb`, or the AWS Load Balancer Controller's) or another class of load
     * balancer has no such setting: the annotation is ignored. */
    if (k5_map_get(obj->annotations, "service.beta.kubernetes.io/aws-load-balancer-type") ||
        k5_node_at(obj->root, "spec.loadBalancerClass"))
        return K5_OK;
    const k5_node *v = k5_map_get(obj->annotations, ann);
    int64_t secs;
    int64_t min = k5_check_param_of(c, &k5__rule_ingress_timeout_too_short, ALB_IDLE_TIMEOUT_PARAM);
    if (!v || !k5__lb_seconds(k5_node_str(v), &secs) || secs >= min)
        return K5_OK;
    return k5_check_report(c, v, NULL,
                           "Service \"%.*s\": the ELB idle timeout (%s) is %llds, below %llds: "
                           "the load balancer closes connections idle that long, and requests "
                           "slower than it get 504",
                           (int)obj->name.n, obj->name.p, ann, (long long)secs, (long long)min);
}

/* An Istio VirtualService's http[].timeout: the sidecar or gateway answers 504 after it. */
static k5_status judge_virtualservice(k5_check *c, const k5_object *obj)
{
    int64_t min = k5_check_param_of(c, &k5__rule_ingress_timeout_too_short, READ_TIMEOUT_PARAM);
    const k5_node *http = k5_node_at(obj->root, "spec.http");
    for (size_t i = 0; i < k5_node_len(http); i++) {
        const k5_node *t = k5_map_get(k5_seq_at(http, i), "timeout");
        k5_str s = k5_node_str(t);
        int64_t ns;
        /* "0s" disables the timeout (Istio's default: none); a non-duration is not judged. */
        if (!s.n || !k5_duration_parse(s.p, s.n, &ns) || ns <= 0 ||
            ns >= k5__mul_sat(min, 1000000000))
            continue;
        k5_status st = k5_check_report(c, t, NULL,
                                       "VirtualService \"%.*s\": the route timeout of http[%zu] "
                                       "is %.*s, below %llds: the proxy gives up on slower "
                                       "requests and answers 504",
                                       (int)obj->name.n, obj->name.p, i, (int)s.n, s.p,
                                       (long long)min);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    if (obj->kind_id == K5_KIND_BACKENDCONFIG)
        return judge_backendconfig(c, obj);
    if (obj->kind_id == K5_KIND_VIRTUALSERVICE)
        return judge_virtualservice(c, obj);
    return judge_service(c, obj);
}

const k5_rule k5__rule_lb_timeout_too_short = {
    .id = "lb-timeout-too-short",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_BACKENDCONFIG | K5_KIND_SERVICE | K5_KIND_VIRTUALSERVICE,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "thresholds are ingress-timeout-too-short's parameters (read-timeout for a "
                  "BackendConfig's timeoutSec and a VirtualService's route timeout, "
                  "alb-idle-timeout for an ELB idle timeout), so "
                  "one setting covers the family; an Ingress's ALB idle timeout "
                  "(load-balancer-attributes) is judged by ingress-timeout-too-short",
    .summary = "A cloud load balancer's backend timeout is so short that slow requests fail",
    .explanation =
        "A GKE BackendConfig's timeoutSec is how long the Google load balancer waits for the "
        "backend's response (default 30s); when it expires the load balancer answers 502 "
        "with statusDetails backend_timeout, although the pod would have answered "
        "(https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration#timeout). "
        "A Classic ELB's idle timeout (service.beta.kubernetes.io/"
        "aws-load-balancer-connection-idle-timeout, default 60s) closes a connection on which "
        "nothing was sent for that long, so a response slower than it becomes a 504 "
        "(https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/"
        "config-idle-timeout.html). An Istio VirtualService route's timeout (none by "
        "default) makes the sidecar or gateway answer 504 when the upstream is slower "
        "(https://istio.io/latest/docs/tasks/traffic-management/request-timeouts/). A few "
        "seconds turns every slow query or GC pause into a user-visible error.",
    .remediation = "Raise the timeout above the slowest legitimate response time (GKE's "
                   "default 30s, the ELB's 60s), and fix slow endpoints rather than hiding "
                   "them behind 5xx. To change the threshold, set ingress-timeout-too-short's "
                   "read-timeout or alb-idle-timeout: one setting for the whole family.",
    .example_broken = "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata:\n"
                      "  name: web\n"
                      "  annotations:\n"
                      "    service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout: \"4\"\n"
                      "spec:\n"
                      "  type: LoadBalancer\n"
                      "  selector: {app: web}\n"
                      "  ports: [{port: 80, targetPort: 8080}]\n",
    .example = "apiVersion: v1\n"
               "kind: Service\n"
               "metadata:\n"
               "  name: web\n"
               "  annotations:\n"
               "    service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout: \"60\"\n"
               "spec:\n"
               "  type: LoadBalancer\n"
               "  selector: {app: web}\n"
               "  ports: [{port: 80, targetPort: 8080}]\n",
    .check = check,
};
