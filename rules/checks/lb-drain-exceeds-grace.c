/*
 * lb-drain-exceeds-grace: an AWS load balancer drains pod targets for longer than the pods
 * live after termination starts, or the pods stop before deregistration reaches the load
 * balancer.
 */
#include "k5_arith.h"
#include "k5_check.h"

#define DEREG_KEY "deregistration_delay.timeout_seconds"
#define AWS_DEFAULT_DEREG 300 /* seconds, the target group default */

typedef struct drain_walk {
    const k5_node *at;     /* where to report */
    const char *via;       /* "Ingress \"x\" (ALB) through Service \"y\"" */
    int64_t dereg;         /* the deregistration delay, seconds */
    bool dereg_default;    /* not set: AWS's default */
    int64_t min_sleep_ms;  /* the rule's parameter */
} drain_walk;

static k5_status judge_target(k5_check *c, const k5__lb_target *t, void *ud)
{
    drain_walk *d = ud;
    const k5_object *w = t->workload;
    const k5_node *gnode;
    int64_t grace = k5__pod_grace_seconds(w, &gnode);
    if (d->dereg > grace) {
        k5_status st = k5_check_report(
            c, d->at, NULL,
            "%s drains a terminating pod's target for %llds (%s" DEREG_KEY "), longer than the "
            "%llds terminationGracePeriodSeconds%s of %.*s \"%.*s\": the pod is killed while "
            "the target is still draining, and the requests and connections the load balancer "
            "still has on it fail with 502",
            d->via, (long long)d->dereg, d->dereg_default ? "AWS's default " : "",
            (long long)grace, gnode ? "" : " (default)", (int)w->kind.n, w->kind.p,
            (int)w->name.n, w->name.p);
        if (st != K5_OK)
            return st;
    }
    if (!t->ctr)
        return K5_OK;
    int64_t ms;
    const k5_node *sleep_at;
    /* No preStop at all is prestop-hook-missing's finding; an unknown duration is not judged. */
    if (!k5__prestop_sleep(k5_node_at(t->ctr, "lifecycle.preStop"), &ms, &sleep_at) ||
        ms < 0 || ms >= d->min_sleep_ms)
        return K5_OK;
    k5_str name = k5__container_name(t->ctr);
    return k5_check_report(
        c, d->at, NULL,
        "%s: the preStop of container \"%.*s\" of %.*s \"%.*s\" sleeps %lld.%03llds, below "
        "%llds: the pod stops accepting connections before the load balancer has acted on "
        "the deregistration, and requests it still routes there fail with 502",
        d->via, (int)name.n, name.p, (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p,
        (long long)(ms / 1000), (long long)(ms % 1000),
        (long long)(d->min_sleep_ms / 1000));
}

/*
 * What judge_target reads from a target (k5__lb_each_indexed keeps it for every Service of
 * the selection): it reports when the delay exceeds the grace period (grace < delay), or,
 * whatever the delay, when the preStop sleeps less than min-prestop-sleep (v below any delay).
 */
static void feat_of(const k5__lb_target *t, const void *ud, k5__lb_feat *out)
{
    const drain_walk *d = ud;
    const k5_node *gnode;
    int64_t ms;
    const k5_node *sleep_at;
    out->v = k5__pod_grace_seconds(t->workload, &gnode);
    if (t->ctr && k5__prestop_sleep(k5_node_at(t->ctr, "lifecycle.preStop"), &ms, &sleep_at) &&
        ms >= 0 && ms < d->min_sleep_ms)
        out->v = INT64_MIN;
}

/* The query of d's Service: targets whose feat_of is below the delay (never negative). */
static k5__lb_query query_of(const drain_walk *d)
{
    k5__lb_query q = {.feat = feat_of, .lt = d->dereg};
    k5__lb_key_int(&q.fkey, d->min_sleep_ms);
    return q;
}

/* The deregistration delay from a target-group-attributes annotation (may be NULL). */
static void dereg_of(const k5_node *attrs, drain_walk *d)
{
    k5_str v;
    int64_t secs;
    d->dereg = AWS_DEFAULT_DEREG;
    d->dereg_default = true;
    if (attrs && k5__lb_attr(k5_node_str(attrs), DEREG_KEY, &v) && k5__lb_seconds(v, &secs)) {
        d->dereg = secs;
        d->dereg_default = false;
    }
}

typedef struct ing_walk {
    const k5_object *seen[32];
    size_t nseen;
    int64_t min_sleep_ms;
} ing_walk;

static bool seen_before(ing_walk *iw, const k5_object *svc)
{
    for (size_t i = 0; i < iw->nseen; i++)
        if (iw->seen[i] == svc)
            return true;
    if (iw->nseen < sizeof iw->seen / sizeof *iw->seen)
        iw->seen[iw->nseen++] = svc;
    return false;
}

static k5_status judge_backend(k5_check *c, const k5_object *ing, const k5__backend *b, void *ud)
{
    ing_walk *iw = ud;
    if (!b->service)
        return K5_OK;
    const k5_object *svc = k5_index_find(k5_check_index(c), ing->namespace_, K5_KIND_SERVICE,
                                         k5_node_str(b->service));
    if (!svc || seen_before(iw, svc))
        return K5_OK;
    bool tt_on_svc, attrs_on_svc;
    const k5_node *tt = k5__alb_annotation(ing, svc, "alb.ingress.kubernetes.io/target-type",
                                           &tt_on_svc);
    /* Instance targets are nodes: a terminating pod deregisters nothing, kube-proxy stops
     * routing to it. */
    if (!k5_node_is(tt, "ip"))
        return K5_OK;
    const k5_node *attrs = k5__alb_annotation(
        ing, svc, "alb.ingress.kubernetes.io/target-group-attributes", &attrs_on_svc);
    drain_walk d = {.min_sleep_ms = iw->min_sleep_ms};
    dereg_of(attrs, &d);
    /* Report where the value is written on the Ingress, else at the backend's Service. */
    d.at = attrs && !attrs_on_svc ? attrs : !attrs && !tt_on_svc ? tt : b->service;
    char via[300];
    snprintf(via, sizeof via, "Ingress \"%.*s\" (ALB, target-type: ip) through Service \"%.*s\"",
             (int)ing->name.n, ing->name.p, (int)svc->name.n, svc->name.p);
    d.via = via;
    k5__lb_query q = query_of(&d);
    return k5__lb_each_indexed(c, svc, k5__service_port_for(svc, b->port), judge_target, &d, &q);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t min_ms = k5__mul_sat(k5_check_param(c, 0), 1000);
    if (obj->kind_id == K5_KIND_INGRESS) {
        if (k5__ingress_lb(c, obj) != K5__LB_ALB)
            return K5_OK;
        ing_walk iw = {.nseen = 0, .min_sleep_ms = min_ms};
        return k5__ingress_each_backend(c, obj, judge_backend, &iw);
    }
    const k5_node *tt;
    if (!k5__nlb_ip_service(obj, &tt))
        return K5_OK;
    const k5_node *attrs = k5_map_get(
        obj->annotations, "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes");
    drain_walk d = {.min_sleep_ms = min_ms};
    dereg_of(attrs, &d);
    d.at = attrs && !d.dereg_default ? attrs : tt;
    char via[200];
    snprintf(via, sizeof via, "Service \"%.*s\" (NLB, IP targets)", (int)obj->name.n,
             obj->name.p);
    d.via = via;
    k5__lb_query q = query_of(&d);
    return k5__lb_each_indexed(c, obj, NULL, judge_target, &d, &q);
}

const k5_rule k5__rule_lb_drain_exceeds_grace = {
    .id = "lb-drain-exceeds-grace",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_INGRESS | K5_KIND_SERVICE,
    .scope = K5_SCOPE_CROSS,
    .scope_note = "IP targets only (alb.ingress.kubernetes.io/target-type: ip, NLB IP "
                  "targets): with instance targets the node is the target and a terminating "
                  "pod deregisters nothing; a preStop whose duration cannot be read (any exec "
                  "other than a sleep) is not judged, and a missing one is "
                  "prestop-hook-missing's finding",
    .cost = "O(backends + pods selected) per Ingress or Service: Services by name and pod "
            "templates by label (hash index)"
            "; the workloads a selector reaches are found once per run for all the Services of "
            "one namespace, selector and file (and every Ingress naming them), a workload "
            "selected many times under one Kind/name is judged once (a hash table, not "
            "pairs); what the rule reads from each of those workloads (its grace period, and "
            "whether its preStop sleeps below min-prestop-sleep) is kept once per run per "
            "(those workloads, targetPort, min-prestop-sleep) in a segment tree over them in "
            "order, and each Service or Ingress visits only the workloads its deregistration "
            "delay reports on, each found in O(log n): n Services with one selector over n "
            "workloads of different names cost n log n, with one delay or n different ones "
            "(bench/scale_bench.sh figures 9 and 11), as do n copies of a stream (figure 8)"
            "; a walk stops once the object holds its K5_MAX_FINDINGS_PER_OBJECT (100) "
            "findings: n Services over n workloads that each report are n^2 findings by "
            "the rule's semantics, capped at 100 per object",
    .summary = "An AWS load balancer drains pod targets longer than the pods live, or pods "
               "stop before deregistration takes effect",
    .explanation =
        "With IP targets the AWS Load Balancer Controller deregisters a pod's IP when the pod "
        "starts terminating. The target then drains for deregistration_delay.timeout_seconds "
        "(target-group-attributes annotation; AWS's default 300s), during which the load "
        "balancer finishes the requests in flight on it; AWS documents that if the target "
        "closes the connection before the delay elapses, the client gets a 5xx "
        "(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
        "edit-target-group-attributes.html#deregistration-delay). A pod is killed after "
        "terminationGracePeriodSeconds (default 30s), so a longer delay means it dies while "
        "still draining: 502. And deregistration takes a few seconds to reach the load "
        "balancer: a pod whose preStop sleeps only briefly stops listening while new "
        "requests are still routed to it: 502.",
    .remediation = "Make the deregistration delay shorter than the grace period (and longer "
                   "than your slowest request), e.g. "
                   "alb.ingress.kubernetes.io/target-group-attributes: "
                   "deregistration_delay.timeout_seconds=30 with "
                   "terminationGracePeriodSeconds: 45, and give the pod a preStop sleep of at "
                   "least 10s so the load balancer stops routing to it before it stops "
                   "listening.",
    .example_broken = "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata:\n"
                      "  name: shop\n"
                      "  annotations:\n"
                      "    alb.ingress.kubernetes.io/target-type: ip\n"
                      "    alb.ingress.kubernetes.io/target-group-attributes: stickiness.enabled=true, deregistration_delay.timeout_seconds=20\n"
                      "spec:\n"
                      "  ingressClassName: alb\n"
                      "  defaultBackend: {service: {name: web, port: {number: 80}}}\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  selector: {app: web}\n"
                      "  ports: [{port: 80, targetPort: http}]\n"
                      "---\n"
                      "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  replicas: 3\n"
                      "  selector: {matchLabels: {app: web}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: web}}\n"
                      "    spec:\n"
                      "      terminationGracePeriodSeconds: 60\n"
                      "      containers:\n"
                      "        - name: sidecar\n"
                      "          image: envoy\n"
                      "          ports: [{containerPort: 9901, name: admin}]\n"
                      "        - name: web\n"
                      "          image: web\n"
                      "          ports: [{containerPort: 8080, name: http}]\n"
                      "          lifecycle:\n"
                      "            preStop:\n"
                      "              exec:\n"
                      "                command: [\"sh\", \"-c\", \"sleep 2.5\"]\n",
    .example = "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata:\n"
               "  name: shop\n"
               "  annotations:\n"
               "    alb.ingress.kubernetes.io/target-type: ip\n"
               "    alb.ingress.kubernetes.io/target-group-attributes: stickiness.enabled=true, deregistration_delay.timeout_seconds=20\n"
               "spec:\n"
               "  ingressClassName: alb\n"
               "  defaultBackend: {service: {name: web, port: {number: 80}}}\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  selector: {app: web}\n"
               "  ports: [{port: 80, targetPort: http}]\n"
               "---\n"
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  replicas: 3\n"
               "  selector: {matchLabels: {app: web}}\n"
               "  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec:\n"
               "      terminationGracePeriodSeconds: 60\n"
               "      containers:\n"
               "        - name: sidecar\n"
               "          image: envoy\n"
               "          ports: [{containerPort: 9901, name: admin}]\n"
               "        - name: web\n"
               "          image: web\n"
               "          ports: [{containerPort: 8080, name: http}]\n"
               "          lifecycle:\n"
               "            preStop:\n"
               "              exec:\n"
               "                command: [\"sh\", \"-c\", \"sleep 15\"]\n",
    .params = {{"min-prestop-sleep", K5_PARAM_SECONDS, "10s",
                "shortest preStop sleep of a pod behind IP targets"}},
    .check = check,
};
