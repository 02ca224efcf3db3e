/*
 * probe-port-undefined: a probe on a port the container does not declare.
 */
#include "k5_check.h"

/* True when some container of the pod declares containerPort `num`. */
static bool pod_declares(const k5_object *obj, int64_t num)
{
    k5__ctr_iter it;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, obj, K5__CTR_ALL);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        const k5_node *ports = k5_map_get(ctr, "ports");
        for (size_t i = 0; i < k5_node_len(ports); i++) {
            int64_t p;
            if (k5_node_int(k5_map_get(k5_seq_at(ports, i), "containerPort"), &p) && p == num)
                return true;
        }
    }
    return false;
}

/* True when some container of the pod declares containerPort `num` over TCP. */
static bool pod_declares_tcp(const k5_object *obj, int64_t num)
{
    k5__ctr_iter it;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, obj, K5__CTR_ALL);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        const k5_node *ports = k5_map_get(ctr, "ports");
        for (size_t i = 0; i < k5_node_len(ports); i++) {
            const k5_node *pt = k5_seq_at(ports, i), *proto = k5_map_get(pt, "protocol");
            int64_t p;
            if (k5_node_int(k5_map_get(pt, "containerPort"), &p) && p == num &&
                (!proto || k5_node_is(proto, "TCP")))
                return true;
        }
    }
    return false;
}

static bool declares_any(const k5_node *ctr)
{
    const k5_node *ports = k5_map_get(ctr, "ports");
    for (size_t i = 0; i < k5_node_len(ports); i++)
        if (k5_map_get(k5_seq_at(ports, i), "containerPort"))
            return true;
    return false;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    bool numbers = k5_check_param(c, 0) != 0;
    static const char *const fields[] = {"startupProbe", "readinessProbe", "livenessProbe"};
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* Native sidecars may have probes too; plain init containers may not. */
    k5__ctr_iter_init(&it, obj, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        for (size_t f = 0; f < 3; f++) {
            k5__probe p;
            k5_intstr port;
            if (!k5__probe_get(ctr, fields[f], &p) || p.type == K5__HANDLER_EXEC ||
                !k5_intstr_get(p.port, &port))
                continue;
            /* A probe with its own host checks another machine's port. */
            if (k5_node_str(k5_map_get(p.handler, "host")).n)
                continue;
            int64_t num = k5__probe_port(ctr, p.port);
            const char *why;
            const k5_node *decl = port.is_int ? NULL : k5__ctr_port_for(ctr, p.port);
            k5_str proto = k5_node_str(k5_map_get(decl, "protocol"));
            if (!port.is_int && !num) {
                /* The kubelet looks a name up in this container's ports only. */
                why = "a port name the container does not declare";
            } else if (decl && proto.n && !(proto.n == 3 && memcmp(proto.p, "TCP", 3) == 0) &&
                       num != 53 && !pod_declares_tcp(obj, num)) {
                /* Port 53 is exempt: DNS servers listen on TCP too (RFC 7766). */
                /* httpGet, tcpSocket and grpc all connect over TCP. */
                why = proto.n == 3 && memcmp(proto.p, "UDP", 3) == 0
                          ? "a port name that the container declares as UDP (the probe "
                            "connects over TCP)"
                          : "a port name that the container declares with a protocol other "
                            "than TCP (the probe connects over TCP)";
            } else if (numbers && declares_any(ctr) && !pod_declares(obj, num)) {
                /*
                 * containerPort is informational: applications routinely serve health
                 * checks on ports they do not list (ingress-nginx's 10254, the
                 * OpenTelemetry collector's 13133), so numbers are judged only on request.
                 * A number works when anything in the pod's network namespace listens on it.
                 */
                why = "a port number no container of the pod declares";
            } else {
                continue;
            }
            k5_str name = k5__container_name(ctr), ps = k5_node_str(p.port);
            char ports[200];
            k5__ports_describe(ctr, ports, sizeof ports);
            k5_status st = k5_check_report(
                c, p.port, NULL,
                "%s of %s \"%.*s\" of %.*s \"%.*s\" uses port %s%.*s%s, %s (declared: %s): the "
                "probe can never succeed",
                fields[f], k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n,
                obj->kind.p, (int)obj->name.n, obj->name.p, port.is_int ? "" : "\"", (int)ps.n,
                ps.p, port.is_int ? "" : "\"", why, ports);
            if (st != K5_OK)
                return st;
        }
    }
    return K5_OK;
}

const k5_rule k5__rule_probe_port_undefined = {
    .id = "probe-port-undefined",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "port names are always judged; port numbers only with numeric-ports: 1, "
                  "when the container declares ports and no container of the pod declares "
                  "that number",
    .summary = "A probe uses a port the container does not declare",
    .explanation =
        "The kubelet resolves a named probe port among the container's own ports; a name it "
        "cannot find fails the probe every time (and a number nothing listens on is refused). "
        "httpGet, tcpSocket and grpc probes connect over TCP, so a name that resolves to a UDP "
        "port fails too (port 53 excepted: DNS servers listen on TCP as well). "
        "A failing readiness or startup probe keeps the pod out of the Service forever (503 "
        "when no pod is ready); a failing liveness probe restarts it in a loop.",
    .remediation = "Point the probe at a port the container declares, by name or number, and "
                   "make sure the application listens on it.",
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
                      "          ports: [{name: http, containerPort: 8080}]\n"
                      "          readinessProbe: {httpGet: {path: /ready, port: web}}\n",
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
    .params = {{"numeric-ports", K5_PARAM_INT, "0",
                "1 also judges probe port numbers that no container of the pod declares "
                "(off by default: containerPort is informational)"}},
    .check = check,
};
