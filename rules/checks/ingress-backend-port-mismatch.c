/*
 * ingress-backend-port-mismatch: an Ingress backend port that is not a port
 * of the Service it names.
 */
#include <ctype.h>

#include "k5_check.h"

/* A port given as a string of digits (servicePort: "80") is read as the number. */
static bool digits(k5_str s, int64_t *out)
{
    int64_t v = 0;
    if (!s.n || s.n > 9)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        if (!isdigit((unsigned char)s.p[i]))
            return false;
        v = v * 10 + (s.p[i] - '0');
    }
    *out = v;
    return true;
}

static k5_status judge(k5_check *c, const k5_object *ing, const k5__backend *b, void *ud)
{
    (void)ud;
    k5_intstr want;
    if (!b->port || !k5_intstr_get(b->port, &want))
        return K5_OK;
    k5_str name = k5_node_str(b->service);
    const k5_object *svc = k5_index_find(k5_check_index(c), ing->namespace_, K5_KIND_SERVICE, name);
    if (!svc)
        return K5_OK; /* ingress-backend-service-missing's finding */
    const k5_node *spec = k5_map_get(svc->root, "spec");
    const k5_node *ports = k5_map_get(spec, "ports");
    /* An ExternalName Service has no ports of its own: the controller uses the backend's port. */
    if (k5_node_is(k5_map_get(spec, "type"), "ExternalName") || !k5_node_len(ports))
        return K5_OK;
    int64_t num = want.i;
    bool by_number = want.is_int || digits(want.s, &num);
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        int64_t pn;
        /* A number matches port (named or not); a name only matches a named port. */
        if (by_number ? k5_node_int(k5_map_get(p, "port"), &pn) && pn == num
                      : k5__str_eq(k5_node_str(k5_map_get(p, "name")), want.s))
            return K5_OK;
    }
    char where[300], declared[400], shown[100], hint[160] = "";
    k5__backend_describe(b, where, sizeof where);
    k5__service_ports_describe(ports, declared, sizeof declared);
    if (by_number)
        snprintf(shown, sizeof shown, "port %lld", (long long)num);
    else
        snprintf(shown, sizeof shown, "port \"%.*s\"", (int)want.s.n, want.s.p);
    /* The usual mistake: the container's port (the targetPort) instead of the Service's. */
    for (size_t i = 0; by_number && i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        int64_t tp;
        if (k5_node_int(k5_map_get(p, "targetPort"), &tp) && tp == num) {
            k5_str pn = k5_node_str(k5_map_get(p, "port"));
            snprintf(hint, sizeof hint,
                     "; %lld is the targetPort of port %.*s, and a backend names "
                     "the Service port",
                     (long long)num, (int)pn.n, pn.p ? pn.p : "?");
            break;
        }
    }
    return k5_check_report(c, b->port, NULL,
                           "Ingress \"%.*s\" routes %s to %s of Service \"%.*s\", which has no "
                           "such port (ports: %s)%s",
                           (int)ing->name.n, ing->name.p, where, shown, (int)name.n, name.p,
                           declared, hint);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    return k5__ingress_each_backend(c, obj, judge, NULL);
}

const k5_rule k5__rule_ingress_backend_port_mismatch = {
    .id = "ingress-backend-port-mismatch",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_INGRESS,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per backend: the Service is looked up by namespace and name (hash index)",
    .scope_note = NULL,
    .summary = "An Ingress backend's port is not a port of its Service",
    .explanation =
        "The ingress controller resolves the backend port against the Service's ports: a "
        "number must equal a Service port (not the targetPort), a name must equal a Service "
        "port's name. When nothing matches the controller has no upstream for that path and "
        "answers 503 (ingress-nginx logs \"service does not have any active endpoint\" or "
        "\"port not found\").",
    .remediation = "Use the Service's port number (spec.ports[].port) or its name; name the "
                   "Service port if you refer to it by name.",
    .example_broken = "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  selector: {app: web}\n"
                      "  ports: [{name: http, port: 80, targetPort: http}]\n"
                      "---\n"
                      "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata: {name: shop}\n"
                      "spec:\n"
                      "  defaultBackend:\n"
                      "    service: {name: web, port: {number: 8080}}\n",
    .example = "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  selector: {app: web}\n"
               "  ports: [{name: http, port: 80, targetPort: http}]\n"
               "---\n"
               "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata: {name: shop}\n"
               "spec:\n"
               "  defaultBackend:\n"
               "    service: {name: web, port: {number: 80}}\n",
    .check = check,
};
