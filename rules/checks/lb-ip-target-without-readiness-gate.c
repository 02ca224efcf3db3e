/*
 * lb-ip-target-without-readiness-gate: an AWS load balancer sends traffic straight to pod IPs
 * but the pods do not wait for their target to be healthy before counting as Ready.
 */
#include "k5_check.h"

#define INJECT_LABEL "elbv2.k8s.aws/pod-readiness-gate-inject"

typedef struct gate_walk {
    const k5_object *self; /* the Ingress or Service being checked */
    const k5_node *at;     /* where to report */
    const char *via;       /* "Ingress \"x\" (ALB, target-type: ip) through Service \"y\"" */
    const k5_object *ns;   /* the Namespace object */
} gate_walk;

static k5_status judge_target(k5_check *c, const k5__lb_target *t, void *ud)
{
    gate_walk *g = ud;
    const k5_object *w = t->workload;
    if (k5_node_len(k5_map_get(w->pod_spec, "readinessGates")))
        return K5_OK; /* gated already (by hand, or injected into the template) */
    k5__scale sc;
    bool counted = w->kind_id & (K5_KIND_DEPLOYMENT | K5_KIND_STATEFULSET | K5_KIND_REPLICASET |
                                 K5_KIND_REPLICATIONCONTROLLER);
    if (counted)
        k5__workload_scale(c, w, &sc);
    bool few = counted && sc.known && sc.count <= 2;
    char replicas[64] = "";
    if (counted && sc.known)
        snprintf(replicas, sizeof replicas, " with %lld replica%s%s", (long long)sc.count,
                 sc.count == 1 ? "" : "s", sc.hpa ? " (its HPA's minReplicas)" : "");
    return k5_check_report_capped(
        c, few ? K5_SEV_ERROR : K5_SEV_WARNING, g->at, NULL,
        "%s sends traffic straight to the pod IPs of %.*s \"%.*s\"%s, but its pods have no "
        "readinessGates and Namespace \"%.*s\" lacks the label " INJECT_LABEL ": enabled: a "
        "rollout can replace every old pod before the load balancer has registered a new one "
        "as healthy, leaving only initial and draining targets: 502/503",
        g->via, (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p, replicas,
        (int)g->ns->name.n, g->ns->name.p);
}

/*
 * The Namespace the Service's pods run in, when the input holds it and says for sure: NULL
 * when the Service names no namespace (it lands wherever it is applied), when the Namespace
 * is not in the input (its labels cannot be known), or when it carries the label.
 */
static const k5_object *ungated_namespace(k5_check *c, const k5_object *svc)
{
    if (svc->namespace_implicit)
        return NULL;
    const k5_object *ns =
        k5_index_find_cluster(k5_check_index(c), K5_KIND_NAMESPACE, svc->namespace_);
    if (!ns || k5_node_is(k5_map_get(ns->labels, INJECT_LABEL), "enabled"))
        return NULL;
    return ns;
}

typedef struct ing_walk {
    const k5_object *seen[32]; /* Services judged already (an Ingress often names one twice) */
    size_t nseen;
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
    if (!b->service)
        return K5_OK;
    const k5_object *svc = k5_index_find(k5_check_index(c), ing->namespace_, K5_KIND_SERVICE,
                                         k5_node_str(b->service));
    if (!svc || seen_before(ud, svc))
        return K5_OK;
    bool on_svc;
    const k5_node *tt = k5__alb_annotation(ing, svc, "alb.ingress.kubernetes.io/target-type",
                                           &on_svc);
    if (!k5_node_is(tt, "ip"))
        return K5_OK; /* instance targets (the default): the node is the target, not the pod */
    const k5_object *ns = ungated_namespace(c, svc);
    if (!ns)
        return K5_OK;
    char via[300];
    snprintf(via, sizeof via, "Ingress \"%.*s\" (ALB, target-type: ip%s) through Service \"%.*s\"",
             (int)ing->name.n, ing->name.p, on_svc ? " on the Service" : "", (int)svc->name.n,
             svc->name.p);
    gate_walk g = {ing, on_svc ? b->service : tt, via, ns};
    /* judge_target reports on every target without readinessGates: nothing else decides. */
    k5__lb_key none = {.n = 0};
    return k5__lb_each_target(c, svc, k5__service_port_for(svc, b->port), judge_target, &g,
                              &none);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    if (obj->kind_id == K5_KIND_INGRESS) {
        if (k5__ingress_lb(c, obj) != K5__LB_ALB)
            return K5_OK;
        ing_walk iw = {.nseen = 0};
        return k5__ingress_each_backend(c, obj, judge_backend, &iw);
    }
    const k5_node *at;
    if (!k5__nlb_ip_service(obj, &at))
        return K5_OK;
    const k5_object *ns = ungated_namespace(c, obj);
    if (!ns)
        return K5_OK;
    char via[200];
    snprintf(via, sizeof via, "Service \"%.*s\" (NLB, IP targets)", (int)obj->name.n,
             obj->name.p);
    gate_walk g = {obj, at, via, ns};
    k5__lb_key none = {.n = 0};
    return k5__lb_each_target(c, obj, NULL, judge_target, &g, &none);
}

const k5_rule k5__rule_lb_ip_target_without_readiness_gate = {
    .id = "lb-ip-target-without-readiness-gate",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_INGRESS | K5_KIND_SERVICE,
    .scope = K5_SCOPE_CROSS,
    .scope_note = "an error when the workload runs 2 replicas or fewer (spec.replicas, or its "
                  "HPA's minReplicas), a warning otherwise; silent when the Namespace is not "
                  "in the input or the Service names no namespace (its labels cannot be "
                  "known), and for instance targets (the default), where the node is the target",
    .cost = "O(backends + pods selected) per Ingress or Service: Services by name and pod "
            "templates by label (hash index), the Namespace by name"
            "; the workloads a selector reaches are found once per run for all the Services of "
            "one namespace, selector and file (and every Ingress naming them), a workload "
            "selected many times under one Kind/name is judged once (a hash table, not "
            "pairs), and which targets the rule reports on is worked out once per (those "
            "workloads, targetPort, the rule's own settings: "
            "none) and replayed for each "
            "Service or Ingress: n Services with one selector over n workloads of different "
            "names cost n, not n^2 (bench/scale_bench.sh figure 9), as do n copies of a "
            "stream (figure 8)",
    .summary = "An ALB or NLB targets pod IPs, but pods do not wait for target registration",
    .explanation =
        "With target-type ip (alb.ingress.kubernetes.io/target-type: ip on the Ingress or "
        "its Service, or service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip) "
        "the AWS Load Balancer Controller registers each pod's IP in the target group. "
        "Registering and passing the first health checks takes tens of seconds, while a pod "
        "is Ready as soon as its readiness probe passes: a rolling update can replace every "
        "old pod before any new target is healthy, and the target group is left with targets "
        "in initial and draining states only. The load balancer answers 502/503 until "
        "registration catches up (AWS's own measurements show outages of about two "
        "minutes). The controller fixes this with a pod readiness gate it injects into pods "
        "of namespaces labelled elbv2.k8s.aws/pod-readiness-gate-inject: enabled "
        "(https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/deploy/"
        "pod_readiness_gate/).",
    .remediation = "Label the namespace so the controller injects its readiness gate "
                   "(pods created afterwards get it), or use instance targets.",
    .example_broken = "apiVersion: v1\n"
                      "kind: Namespace\n"
                      "metadata:\n"
                      "  name: shop\n"
                      "  labels:\n"
                      "    team: web\n"
                      "---\n"
                      "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata:\n"
                      "  name: shop\n"
                      "  namespace: shop\n"
                      "  annotations:\n"
                      "    alb.ingress.kubernetes.io/target-type: ip\n"
                      "spec:\n"
                      "  ingressClassName: alb\n"
                      "  rules:\n"
                      "    - http:\n"
                      "        paths:\n"
                      "          - path: /\n"
                      "            pathType: Prefix\n"
                      "            backend: {service: {name: web, port: {number: 80}}}\n"
                      "          - path: /static\n"
                      "            pathType: Prefix\n"
                      "            backend: {service: {name: web, port: {name: http}}}\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata:\n"
                      "  name: web\n"
                      "  namespace: shop\n"
                      "spec:\n"
                      "  selector: {app: web}\n"
                      "  ports: [{name: http, port: 80, targetPort: 8080}]\n"
                      "---\n"
                      "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata:\n"
                      "  name: web\n"
                      "  namespace: shop\n"
                      "spec:\n"
                      "  replicas: 2\n"
                      "  selector: {matchLabels: {app: web}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: web}}\n"
                      "    spec:\n"
                      "      containers:\n"
                      "        - name: web\n"
                      "          image: web\n"
                      "          ports: [{containerPort: 8080}]\n",
    .example = "apiVersion: v1\n"
               "kind: Namespace\n"
               "metadata:\n"
               "  name: shop\n"
               "  labels:\n"
               "    team: web\n"
               "    elbv2.k8s.aws/pod-readiness-gate-inject: enabled\n"
               "---\n"
               "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata:\n"
               "  name: shop\n"
               "  namespace: shop\n"
               "  annotations:\n"
               "    alb.ingress.kubernetes.io/target-type: ip\n"
               "spec:\n"
               "  ingressClassName: alb\n"
               "  rules:\n"
               "    - http:\n"
               "        paths:\n"
               "          - path: /\n"
               "            pathType: Prefix\n"
               "            backend: {service: {name: web, port: {number: 80}}}\n"
               "          - path: /static\n"
               "            pathType: Prefix\n"
               "            backend: {service: {name: web, port: {name: http}}}\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: Service\n"
               "metadata:\n"
               "  name: web\n"
               "  namespace: shop\n"
               "spec:\n"
               "  selector: {app: web}\n"
               "  ports: [{name: http, port: 80, targetPort: 8080}]\n"
               "---\n"
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata:\n"
               "  name: web\n"
               "  namespace: shop\n"
               "spec:\n"
               "  replicas: 2\n"
               "  selector: {matchLabels: {app: web}}\n"
               "  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: web\n"
               "          image: web\n"
               "          ports: [{containerPort: 8080}]\n",
    .check = check,
};
