/*
 * readiness-probe-missing: a serving container without a readinessProbe.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    k5__serving sv;
    k5__serving_of(c, obj, &sv);
    if (!sv.serving)
        return K5_OK;
    k5__ctr_iter it;
    const k5_node *ctr;
    /* The pod is Ready only when every container is: one serving container's probe already
     * keeps the pod out of the endpoints until the application answers. */
    k5__ctr_iter_init(&it, obj, K5__CTR_MAIN);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        if (k5_map_get(ctr, "readinessProbe") && k5__serving_has(&sv, obj, ctr))
            return K5_OK;
    }
    char svcs[200], via[240] = "";
    size_t nsvc = k5__services_describe(c, obj, svcs, sizeof svcs);
    if (nsvc)
        snprintf(via, sizeof via, "; selected by Service%s %s", nsvc > 1 ? "s" : "", svcs);
    k5__ctr_iter_init(&it, obj, K5__CTR_MAIN);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        if (!k5__serving_has(&sv, obj, ctr))
            continue;
        k5_str name = k5__container_name(ctr);
        char ports[160];
        k5__ports_describe(ctr, ports, sizeof ports);
        k5_status st = k5_check_report(
            c, ctr, "readinessProbe",
            "container \"%.*s\" of %.*s \"%.*s\" serves traffic (ports: %s%s) but has no "
            "readinessProbe: it receives requests before it is ready and after it breaks",
            (int)name.n, name.p, (int)obj->kind.n, obj->kind.p, (int)obj->name.n, obj->name.p,
            ports, via);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_readiness_probe_missing = {
    .id = "readiness-probe-missing",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .cost = K5__COST_SERVING,
    .scope_note = K5__SCOPE_SERVING_CONTAINERS,
    .summary = "No serving container of a pod has a readinessProbe",
    .explanation =
        "Without a readiness probe a pod is added to the Service's endpoints as soon as its "
        "containers start, before the application listens, and it stays there when the "
        "application hangs. Every rollout, restart and scale-up sends requests to pods that "
        "cannot answer them: the ingress or client sees 502 (connection refused) and 503.",
    .remediation = "Add a readinessProbe that checks that the application can serve a request "
                   "(an HTTP endpoint that answers only once dependencies are initialised), on "
                   "a port the container declares.",
    .example_broken = "apiVersion: apps/v1\n"
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
                      "          ports: [{name: http, containerPort: 8080}]\n",
    .example = "apiVersion: apps/v1\n"
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
