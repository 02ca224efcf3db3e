/*
 * ingress-backend-service-missing: an Ingress backend naming a Service that
 * is not in the Ingress's namespace.
 */
#include "k5_check.h"

#define MAX_LISTED 5

typedef struct names {
    char buf[300];
    size_t len, count;
} names;

static bool add_name(const k5_object *s, void *ud)
{
    names *n = ud;
    if (n->count++ < MAX_LISTED && n->len < sizeof n->buf) {
        int w = snprintf(n->buf + n->len, sizeof n->buf - n->len, "%s%.*s", n->len ? ", " : "",
                         (int)s->name.n, s->name.p);
        if (w > 0)
            n->len += (size_t)w;
    }
    return n->count <= MAX_LISTED; /* one more than listed says "...": stop there */
}

static k5_status judge(k5_check *c, const k5_object *ing, const k5__backend *b, void *ud)
{
    (void)ud;
    const k5_index *idx = k5_check_index(c);
    k5_str name = k5_node_str(b->service);
    if (k5_index_find(idx, ing->namespace_, K5_KIND_SERVICE, name))
        return K5_OK;
    k5__absence ab;
    k5__absence_of(c, NULL, name, &ab);
    char where[300];
    k5__backend_describe(b, where, sizeof where);
    /* The Service may live in another namespace: certain only when both name theirs. */
    bool implicit = false;
    k5_str any = {NULL, 0};
    const k5_object *other = k5__find_elsewhere(c, ing, K5_KIND_SERVICE, any, name, &implicit);
    size_t services = k5_index_count(idx, ing->namespace_, K5_KIND_SERVICE);
    if (other && implicit && !services)
        return K5_OK; /* linted without its Services, and its namespace is not certain */
    char why[400] = "";
    if (other && implicit)
        k5__implicit_note(ing, other, why, sizeof why);
    if (other)
        return k5_check_report_capped(
            c, implicit ? K5_SEV_WARNING : ab.max, b->service, NULL,
            "Ingress \"%.*s\" in namespace \"%.*s\" routes %s to Service \"%.*s\", which "
            "exists only in namespace \"%.*s\": an Ingress reaches Services of its own "
            "namespace only%s%s",
            (int)ing->name.n, ing->name.p, (int)ing->namespace_.n, ing->namespace_.p, where,
            (int)name.n, name.p, (int)other->namespace_.n, other->namespace_.p, why, ab.note);
    /* An Ingress linted without any Service of its namespace is not an error. */
    if (!services)
        return K5_OK;
    names n = {"", 0, 0};
    k5_index_each(idx, ing->namespace_, K5_KIND_SERVICE, add_name, &n);
    if (n.len >= sizeof n.buf)
        n.len = sizeof n.buf - 1;
    return k5_check_report_capped(c, ab.max, b->service, NULL,
                                  "Ingress \"%.*s\" routes %s to Service \"%.*s\", which is not "
                                  "in namespace \"%.*s\" (Services there: %s%s)%s",
                                  (int)ing->name.n, ing->name.p, where, (int)name.n, name.p,
                                  (int)ing->namespace_.n, ing->namespace_.p, n.buf,
                                  n.count > MAX_LISTED ? ", ..." : "", ab.note);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    return k5__ingress_each_backend(c, obj, judge, NULL);
}

const k5_rule k5__rule_ingress_backend_service_missing = {
    .id = "ingress-backend-service-missing",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_INGRESS,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per backend by name; when the Service is missing, the first Services of the "
            "namespace are listed (at most 6 visited) and other namespaces searched through an "
            "index by name (O(objects of that name))",
    .scope_note = NULL,
    .summary = "An Ingress backend names a Service that does not exist in its namespace",
    .explanation =
        "An Ingress can only route to Services of its own namespace. When the backend's "
        "Service is absent (a typo, a renamed Service, a Service in another namespace) the "
        "controller has no upstream for that path: ingress-nginx answers 503 Service "
        "Temporarily Unavailable, cloud load balancers 502 or 503.",
    .remediation = "Name a Service that exists in the Ingress's namespace (service.name in "
                   "networking.k8s.io/v1, serviceName in the older v1beta1 APIs); to reach "
                   "another namespace, add an ExternalName Service next to the Ingress.",
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
                      "    service: {name: web-svc, port: {number: 80}}\n",
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
