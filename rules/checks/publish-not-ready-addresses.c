/*
 * publish-not-ready-addresses: a Service that clients reach through a ClusterIP or an edge
 * (Ingress, route) publishes pods that are not ready.
 */
#include "k5_check.h"

typedef struct {
    const k5_check *c;
    const k5_object *found;
} first;

static bool first_user(const k5_object *o, void *ud)
{
    ((first *)ud)->found = o;
    return false;
}

static bool first_serving(const k5_object *w, void *ud)
{
    first *f = ud;
    if (!k5__workload_serving(f->c, w))
        return true;
    f->found = w;
    return false;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *pnra = k5_map_get(spec, "publishNotReadyAddresses");
    bool on = false;
    if (!k5_node_bool(pnra, &on) || !on)
        return K5_OK;
    /* Headless Services publish not-ready pods on purpose (StatefulSet peers finding each
     * other before they are ready: etcd, ZooKeeper, Elasticsearch discovery); an
     * ExternalName Service has no endpoints at all. */
    if (k5_node_is(k5_map_get(spec, "clusterIP"), "None") ||
        k5_node_is(k5_map_get(spec, "type"), "ExternalName"))
        return K5_OK;
    const k5_index *idx = k5_check_index(c);
    first edge = {c, NULL}, pods = {c, NULL};
    k5_index_service_users(idx, obj->namespace_, obj->name, first_user, &edge);
    if (!edge.found)
        k5_index_select(idx, obj->namespace_, k5_map_get(spec, "selector"), K5_SELECTOR_MAP,
                        K5_KINDS_SERVING, first_serving, &pods);
    if (!edge.found && !pods.found)
        return K5_OK;
    char why[300];
    if (edge.found)
        snprintf(why, sizeof why, "%.*s \"%.*s\" sends traffic to it", (int)edge.found->kind.n,
                 edge.found->kind.p, (int)edge.found->name.n, edge.found->name.p);
    else
        snprintf(why, sizeof why, "it selects the serving pods of %.*s \"%.*s\"",
                 (int)pods.found->kind.n, pods.found->kind.p, (int)pods.found->name.n,
                 pods.found->name.p);
    return k5_check_report(c, pnra, NULL,
                           "Service \"%.*s\" sets publishNotReadyAddresses: true and %s: pods "
                           "that are starting, failing their readinessProbe or shutting down "
                           "stay in its endpoints, so requests reach them and fail with 502/503; "
                           "remove the field, or use a separate headless Service for peer "
                           "discovery",
                           (int)obj->name.n, obj->name.p, why);
}

const k5_rule k5__rule_publish_not_ready_addresses = {
    .id = "publish-not-ready-addresses",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_SERVICE,
    .scope = K5_SCOPE_CROSS,
    .scope_note = NULL,
    .cost = "O(1) per Service: its Ingress and route users come from an index built once; "
            "else the workloads its selector matches (label index)",
    .summary = "A Service that receives traffic publishes pods that are not ready",
    .explanation =
        "With spec.publishNotReadyAddresses: true, the EndpointSlice controller lists every pod "
        "the selector matches as ready, whatever its readiness: pods that are still starting, "
        "failing their readinessProbe, or terminating after SIGTERM. kube-proxy and ingress "
        "controllers then send requests to them, which are refused or cut (502 from the proxy, "
        "503 when the application answers it is not ready). The field exists for headless "
        "Services used for peer discovery (StatefulSets that must find each other before they "
        "are ready), which are not reported; it is reported on a ClusterIP, NodePort or "
        "LoadBalancer Service that an Ingress or route of the input uses or that selects "
        "serving pods. Reference: "
        "https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/"
        "#ServiceSpec",
    .remediation = "Remove publishNotReadyAddresses from the Service clients use. If peers must "
                   "find each other before they are ready, give them a second, headless Service "
                   "(clusterIP: None) with publishNotReadyAddresses: true.",
    .example_broken = "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  publishNotReadyAddresses: true\n"
                      "  selector: {app: web}\n"
                      "  ports: [{name: http, port: 80, targetPort: http}]\n"
                      "---\n"
                      "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  replicas: 2\n"
                      "  selector: {matchLabels: {app: web}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: web}}\n"
                      "    spec:\n"
                      "      containers:\n"
                      "        - name: web\n"
                      "          image: web:1.0\n"
                      "          ports: [{name: http, containerPort: 8080}]\n"
                      "          readinessProbe: {httpGet: {path: /ready, port: http}}\n",
    .example = "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  selector: {app: web}\n"
               "  ports: [{name: http, port: 80, targetPort: http}]\n"
               "---\n"
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  replicas: 2\n"
               "  selector: {matchLabels: {app: web}}\n"
               "  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: web\n"
               "          image: web:1.0\n"
               "          ports: [{name: http, containerPort: 8080}]\n"
               "          readinessProbe: {httpGet: {path: /ready, port: http}}\n",
    .check = check,
};
