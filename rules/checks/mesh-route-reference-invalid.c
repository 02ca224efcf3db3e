/*
 * mesh-route-reference-invalid: a VirtualService route destination that Istio
 * cannot resolve (no such Service, no such subset, a subset without pods, a
 * port the Service lacks): 503 with the NR or UH response flag.
 */
#include "k5_check.h"

typedef struct first {
    const k5_object *found;
} first;

static bool take_first(const k5_object *o, void *ud)
{
    ((first *)ud)->found = o;
    return false;
}

static bool str_is(k5_str s, const char *lit)
{
    return k5__str_eq(s, (k5_str){lit, strlen(lit)});
}

/* ---- the Service ---- */

/*
 * The Service is absent from its namespace. Reports it as ingress-backend-service-missing
 * does: the input may be partial (say nothing), the Service may live elsewhere (name it).
 */
static k5_status service_missing(k5_check *c, const k5_object *vs, const k5_node *hostn,
                                 const k5__mesh_host *h)
{
    const k5_index *idx = k5_check_index(c);
    k5_str host = k5_node_str(hostn);
    /* A ServiceEntry of the input declares it: a mesh-external or VM service. */
    if (k5_index_mesh_entry(idx, host, h))
        return K5_OK;
    /* The mesh's own Services (istiod, istio-ingressgateway, istio-egressgateway) are
     * installed with Istio (istioctl, its Helm charts, a managed control plane), not with the
     * applications whose manifests are linted. */
    if (h->name.n >= 5 && memcmp(h->name.p, "istio", 5) == 0)
        return K5_OK;
    size_t services = k5_index_count(idx, h->ns, K5_KIND_SERVICE);
    /* A host in another namespace names another team's Services, often deployed from
     * elsewhere: the input holding some of them does not make it complete. */
    k5_severity cap = k5__str_eq(h->ns, vs->namespace_) ? K5_SEV_ERROR : K5_SEV_WARNING;
    /* name.ns is also how an external name is written (api.example): judge it only when
     * that namespace is one the input fills with Services. */
    if (h->form == K5__MESH_NS && !services)
        return K5_OK;
    k5__absence ab;
    k5__absence_of(c, NULL, h->name, &ab);
    bool implicit = false;
    const k5_object *other = NULL;
    if (h->form == K5__MESH_SHORT) {
        other = k5__find_elsewhere(c, vs, K5_KIND_SERVICE, (k5_str){NULL, 0}, h->name, &implicit);
    } else {
        /* The namespace is written in the host; only the other Service's may be implicit. */
        first f = {NULL};
        k5_index_find_elsewhere(idx, h->ns, K5_KIND_SERVICE, (k5_str){NULL, 0}, h->name,
                                take_first, &f);
        other = f.found;
        implicit = other && other->namespace_implicit;
    }
    if (other && implicit && !services)
        return K5_OK; /* linted without the Services of that namespace */
    char why[400] = "";
    if (other && implicit)
        k5__implicit_note(h->form == K5__MESH_SHORT ? vs : other, other, why, sizeof why);
    /* Both reports below are absences (the Service may come later in the same apply): the
     * webhook only warns about them; a port the Service lacks stays a contradiction. */
    if (other)
        return k5_check_report_absence(
            c, implicit ? K5_SEV_WARNING : ab.max, hostn, NULL,
            "VirtualService \"%.*s\" routes to host \"%.*s\", Service \"%.*s\" in namespace "
            "\"%.*s\", which exists only in namespace \"%.*s\": %s; Istio finds no such Service "
            "and answers 503 (NR)%s%s",
            (int)vs->name.n, vs->name.p, (int)host.n, host.p, (int)h->name.n, h->name.p,
            (int)h->ns.n, h->ns.p, (int)other->namespace_.n, other->namespace_.p,
            h->form == K5__MESH_SHORT ? "a short host name is read in the VirtualService's own "
                                        "namespace; write the FQDN name.namespace.svc.cluster.local"
                                      : "correct the namespace in the host",
            why, ab.note);
    if (!services)
        return K5_OK; /* no Service of that namespace in the input: it is partial */
    if (ab.max < cap)
        cap = ab.max;
    return k5_check_report_absence(c, cap, hostn, NULL,
                                  "VirtualService \"%.*s\" routes to host \"%.*s\", but namespace "
                                  "\"%.*s\" has no Service \"%.*s\" and no ServiceEntry declares "
                                  "the host: Istio has no cluster for it and answers 503 (NR)%s",
                                  (int)vs->name.n, vs->name.p, (int)host.n, host.p,
                                  (int)h->ns.n, h->ns.p, (int)h->name.n, h->name.p, ab.note);
}

/* ---- ports ---- */

static bool service_has_port(const k5_object *svc, int64_t port)
{
    const k5_node *ports = k5_node_at(svc->root, "spec.ports");
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        int64_t p;
        if (k5_node_int(k5_map_get(k5_seq_at(ports, i), "port"), &p) && p == port)
            return true;
    }
    return false;
}

static void ports_describe(const k5_object *svc, char *buf, size_t size)
{
    const k5_node *ports = k5_node_at(svc->root, "spec.ports");
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < k5_node_len(ports) && len < size; i++) {
        const k5_node *p = k5_seq_at(ports, i);
        k5_str num = k5_node_str(k5_map_get(p, "port"));
        k5_str name = k5_node_str(k5_map_get(p, "name"));
        int w = snprintf(buf + len, size - len, "%s%.*s%s%.*s%s", len ? ", " : "", (int)num.n,
                         num.p, name.n ? " \"" : "", (int)name.n, name.p, name.n ? "\"" : "");
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* The server ports of the Istio Gateways the VirtualService is bound to, when all are in the
 * input; false when it is bound to the mesh only or a Gateway is missing. */
typedef struct gw_ports {
    int64_t v[16];
    size_t n;
} gw_ports;

static bool gateway_ports(const k5_check *c, const k5_object *vs, gw_ports *out)
{
    const k5_node *gws = k5_node_at(vs->root, "spec.gateways");
    out->n = 0;
    if (!k5_node_is_seq(gws) || !k5_node_len(gws))
        return false;
    for (size_t i = 0; i < k5_node_len(gws); i++) {
        k5_str g = k5_node_str(k5_seq_at(gws, i));
        if (str_is(g, "mesh"))
            return false; /* sidecars route on the Service's own port */
        k5_str ns = vs->namespace_, name = g;
        const char *slash = g.n ? memchr(g.p, '/', g.n) : NULL;
        if (slash) {
            ns = (k5_str){g.p, (size_t)(slash - g.p)};
            name = (k5_str){slash + 1, g.n - (size_t)(slash - g.p) - 1};
        }
        const k5_object *gw = k5_index_find(k5_check_index(c), ns, K5_KIND_OTHER, name);
        if (!gw || !k5__mesh_is(gw, "Gateway"))
            return false;
        const k5_node *servers = k5_node_at(gw->root, "spec.servers");
        for (size_t s = 0; s < k5_node_len(servers); s++) {
            int64_t p;
            if (!k5_node_int(k5_node_at(k5_seq_at(servers, s), "port.number"), &p))
                return false;
            if (out->n < sizeof out->v / sizeof *out->v)
                out->v[out->n++] = p;
        }
    }
    return out->n > 0;
}

static k5_status judge_port(k5_check *c, const k5_object *vs, const k5_node *dest,
                            const k5_object *svc)
{
    const k5_node *portn = k5_node_at(dest, "port.number");
    char desc[300];
    int64_t port;
    if (portn) {
        if (!k5_node_int(portn, &port) || service_has_port(svc, port))
            return K5_OK;
        ports_describe(svc, desc, sizeof desc);
        return k5_check_report(c, portn, NULL,
                               "VirtualService \"%.*s\" routes to port %lld of Service \"%.*s\", "
                               "which has no such port (ports: %s): Istio has no cluster for it "
                               "and answers 503 (NR)",
                               (int)vs->name.n, vs->name.p, (long long)port, (int)svc->name.n,
                               svc->name.p, desc[0] ? desc : "none");
    }
    /* No port: Istio uses the Service's only port, else the port the request arrived on. At a
     * gateway that is the Gateway server's port, which the Service may not have. */
    if (k5_node_len(k5_node_at(svc->root, "spec.ports")) < 2)
        return K5_OK;
    gw_ports gp;
    if (!gateway_ports(c, vs, &gp))
        return K5_OK;
    for (size_t i = 0; i < gp.n; i++)
        if (service_has_port(svc, gp.v[i]))
            return K5_OK;
    ports_describe(svc, desc, sizeof desc);
    return k5_check_report_capped(
        c, K5_SEV_WARNING, dest, "port",
        "VirtualService \"%.*s\" routes its Gateway's traffic to Service \"%.*s\" without a port, "
        "and the Service has several (%s), none of them the Gateway's listener port %lld: Istio "
        "routes to the listener's port and answers 503 (NR); set destination.port.number",
        (int)vs->name.n, vs->name.p, (int)svc->name.n, svc->name.p, desc, (long long)gp.v[0]);
}

/* ---- subsets ---- */

typedef struct subset_find {
    k5_str subset;
    const k5_object *rule;     /* a DestinationRule defining it */
    const k5_node *labels;     /* its labels */
    size_t rules;              /* DestinationRules for the host */
    const k5_object *first_dr; /* the first of them */
    char defined[200];         /* subset names they define */
    size_t dlen;
} subset_find;

static bool find_subset(const k5_object *dr, void *ud)
{
    subset_find *f = ud;
    if (!f->rules++)
        f->first_dr = dr;
    const k5_node *subsets = k5_node_at(dr->root, "spec.subsets");
    for (size_t i = 0; i < k5_node_len(subsets); i++) {
        const k5_node *s = k5_seq_at(subsets, i);
        k5_str name = k5_node_str(k5_map_get(s, "name"));
        if (k5__str_eq(name, f->subset)) {
            f->rule = dr;
            f->labels = k5_map_get(s, "labels");
            return false;
        }
        if (f->dlen < sizeof f->defined) {
            int w = snprintf(f->defined + f->dlen, sizeof f->defined - f->dlen, "%s\"%.*s\"",
                             f->dlen ? ", " : "", (int)name.n, name.p);
            if (w > 0)
                f->dlen += (size_t)w;
        }
    }
    return true;
}

typedef struct pods_find {
    const k5_node *labels;
    const k5_object *match;
    size_t selected;
} pods_find;

static bool subset_pod(const k5_object *w, void *ud)
{
    pods_find *p = ud;
    p->selected++;
    if (k5_selector_matches(p->labels, K5_SELECTOR_MAP, w->pod_labels)) {
        p->match = w;
        return false;
    }
    return true;
}

static k5_status judge_subset(k5_check *c, const k5_object *vs, const k5_node *subn,
                              const k5__mesh_host *h, const k5_object *svc)
{
    const k5_index *idx = k5_check_index(c);
    subset_find f;
    memset(&f, 0, sizeof f);
    f.subset = k5_node_str(subn);
    k5_index_mesh_rules(idx, h->ns, h->name, find_subset, &f);
    if (f.dlen >= sizeof f.defined)
        f.dlen = sizeof f.defined - 1;
    if (!f.rules) {
        /* The DestinationRule may be in a file not linted: certain only of what is there. */
        if (!k5_index_count(idx, vs->namespace_, K5_KIND_DESTINATIONRULE) &&
            !k5_index_count(idx, h->ns, K5_KIND_DESTINATIONRULE))
            return K5_OK;
        return k5_check_report_absence(
            c, K5_SEV_WARNING, subn, NULL,
            "VirtualService \"%.*s\" routes to subset \"%.*s\" of Service \"%.*s\" in namespace "
            "\"%.*s\", but no DestinationRule of the input defines subsets for that host: "
            "without one Istio has no such subset and answers 503 (NR)",
            (int)vs->name.n, vs->name.p, (int)f.subset.n, f.subset.p, (int)h->name.n, h->name.p,
            (int)h->ns.n, h->ns.p);
    }
    if (!f.rule)
        return k5_check_report(c, subn, NULL,
                               "VirtualService \"%.*s\" routes to subset \"%.*s\", which "
                               "DestinationRule \"%.*s\" for Service \"%.*s\" does not define "
                               "(subsets: %s): Istio answers 503 (NR)",
                               (int)vs->name.n, vs->name.p, (int)f.subset.n, f.subset.p,
                               (int)f.first_dr->name.n, f.first_dr->name.p, (int)h->name.n,
                               h->name.p, f.dlen ? f.defined : "none");
    /* The subset's endpoints are the Service's pods that also carry its labels. */
    const k5_node *sel = svc ? k5_node_at(svc->root, "spec.selector") : NULL;
    if (!k5_node_is_map(f.labels) || !k5_node_len(f.labels) || !k5_node_is_map(sel) ||
        !k5_node_len(sel))
        return K5_OK;
    pods_find p = {f.labels, NULL, 0};
    k5_index_select(idx, svc->namespace_, sel, K5_SELECTOR_MAP, K5_KINDS_SERVING, subset_pod, &p);
    if (p.match || !p.selected)
        return K5_OK; /* pods there, or the Service's pods are not in the input at all */
    if (k5__selects_some_pod(c, svc->namespace_, f.labels, K5_SELECTOR_MAP))
        return K5_OK; /* a custom resource or a controller-added label may provide them */
    char want[300];
    k5__selector_describe(f.labels, K5_SELECTOR_MAP, want, sizeof want);
    /* The pods of that version may be deployed from elsewhere: a warning, not an error. */
    return k5_check_report_absence(
        c, K5_SEV_WARNING, subn, NULL,
        "VirtualService \"%.*s\" routes to subset \"%.*s\" (DestinationRule \"%.*s\": %s), but "
        "none of the %zu workload(s) of the input behind Service \"%.*s\" has those labels: the "
        "subset has no endpoints and Istio answers 503 (UH)",
        (int)vs->name.n, vs->name.p, (int)f.subset.n, f.subset.p, (int)f.rule->name.n,
        f.rule->name.p, want, p.selected, (int)svc->name.n, svc->name.p);
}

/* ---- one destination ---- */

static k5_status judge(k5_check *c, const k5_object *vs, const k5_node *dest)
{
    const k5_node *hostn = k5_map_get(dest, "host");
    k5__mesh_host h;
    if (!k5__mesh_host_parse(k5_node_str(hostn), vs->namespace_, &h))
        return K5_OK; /* a wildcard, an IP or an external host: not a Service reference */
    const k5_object *svc = k5_index_find(k5_check_index(c), h.ns, K5_KIND_SERVICE, h.name);
    if (!svc)
        return service_missing(c, vs, hostn, &h);
    k5_status st = judge_port(c, vs, dest, svc);
    const k5_node *subn = k5_map_get(dest, "subset");
    if (st == K5_OK && k5_node_str(subn).n)
        st = judge_subset(c, vs, subn, &h, svc);
    return st;
}

/* A route entry with weight 0 next to others gets no traffic: Istio leaves it out. */
static bool unweighted(const k5_node *route, size_t i)
{
    int64_t w;
    return k5_node_len(route) > 1 && k5_node_int(k5_map_get(k5_seq_at(route, i), "weight"), &w) &&
           w == 0;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    static const char *const kinds[] = {"spec.http", "spec.tcp", "spec.tls"};
    k5_status st = K5_OK;
    for (size_t k = 0; k < 3 && st == K5_OK; k++) {
        const k5_node *routes = k5_node_at(obj->root, kinds[k]);
        for (size_t i = 0; i < k5_node_len(routes) && st == K5_OK; i++) {
            const k5_node *route = k5_map_get(k5_seq_at(routes, i), "route");
            for (size_t j = 0; k5_node_is_seq(route) && j < k5_node_len(route) && st == K5_OK;
                 j++) {
                const k5_node *dest = k5_map_get(k5_seq_at(route, j), "destination");
                if (k5_node_is_map(dest) && !unweighted(route, j))
                    st = judge(c, obj, dest);
            }
        }
    }
    return st;
}

const k5_rule k5__rule_mesh_route_reference_invalid = {
    .id = "mesh-route-reference-invalid",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_VIRTUALSERVICE,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per destination by name (Services), by host (DestinationRules, ServiceEntries; "
            "wildcard ServiceEntries by the suffix at each dot of the host, O(labels of the "
            "host)); a subset's pods through the Service's selector index; a missing Service is "
            "searched in other namespaces through an index by name (O(objects of that name); "
            "measured: bench/scale_bench.sh)",
    .scope_note = NULL,
    .summary = "A VirtualService routes to a Service, subset or port that does not exist",
    .explanation =
        "Istio turns each VirtualService route destination into an Envoy cluster named after "
        "the host, port and subset. The host is looked up in the service registry (Kubernetes "
        "Services and ServiceEntry hosts; a short name is read in the VirtualService's own "
        "namespace, not the Service's). When the Service, the port or the DestinationRule subset "
        "does not exist, the route points at a cluster that is not there and the sidecar or "
        "gateway answers 503 with response flag NR (no route); a subset whose labels match none "
        "of the Service's pods has no endpoints and answers 503 UH (no healthy upstream). "
        "Hosts that are not cluster Services (external names, wildcards, ServiceEntry hosts) "
        "are not judged, nor is a namespace of which the input holds no Service. Reference: "
        "https://istio.io/latest/docs/reference/config/networking/virtual-service/#Destination "
        "and https://istio.io/latest/docs/ops/common-problems/network-issues/#503-errors-after-"
        "setting-destination-rule",
    .remediation = "Route to an existing Service (prefer the FQDN name.namespace.svc.cluster.local "
                   "to a short name), to a port it exposes, and to a subset that a DestinationRule "
                   "for that host defines with labels its pods carry; apply the DestinationRule "
                   "before the VirtualService that uses its subsets.",
    .example_broken = "apiVersion: networking.istio.io/v1\n"
                      "kind: VirtualService\n"
                      "metadata: {name: reviews}\n"
                      "spec:\n"
                      "  hosts: [reviews]\n"
                      "  http:\n"
                      "    - route:\n"
                      "        - destination:\n"
                      "            host: reviews.default.svc.cluster.local\n"
                      "            port: {number: 9090}\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: reviews}\n"
                      "spec:\n"
                      "  selector: {app: reviews}\n"
                      "  ports: [{name: http, port: 9080}]\n",
    .example = "apiVersion: networking.istio.io/v1\n"
               "kind: VirtualService\n"
               "metadata: {name: reviews}\n"
               "spec:\n"
               "  hosts: [reviews]\n"
               "  http:\n"
               "    - route:\n"
               "        - destination:\n"
               "            host: reviews.default.svc.cluster.local\n"
               "            port: {number: 9080}\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: reviews}\n"
               "spec:\n"
               "  selector: {app: reviews}\n"
               "  ports: [{name: http, port: 9080}]\n",
    .check = check,
};
