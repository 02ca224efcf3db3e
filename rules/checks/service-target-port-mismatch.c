/*
 * service-target-port-mismatch: a Service port whose targetPort resolves on
 * none of the pod templates the Service selects.
 */
#include <ctype.h>

#include "k5_check.h"

typedef struct target {
    k5_intstr want;
    k5_str proto; /* the Service port's protocol, TCP by default */
    bool resolved;
    size_t selected;
    const k5_object *first;
} target;

static bool str_eq(k5_str a, k5_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static k5_str port_proto(const k5_node *port)
{
    k5_str p = k5_node_str(k5_map_get(port, "protocol"));
    if (!p.n) {
        p.p = "TCP";
        p.n = 3;
    }
    return p;
}

/* True when a command or args element mentions the number on its own ("8080", "--port=8080"):
 * the process listens there even though the port is not declared, so that is no mismatch. */
static bool mentioned(const k5_node *ctr, int64_t num)
{
    char want[24];
    int wl = snprintf(want, sizeof want, "%lld", (long long)num);
    const char *lists[] = {"command", "args"};
    for (size_t l = 0; l < 2; l++) {
        const k5_node *seq = k5_map_get(ctr, lists[l]);
        for (size_t i = 0; i < k5_node_len(seq); i++) {
            k5_str s = k5_node_str(k5_seq_at(seq, i));
            for (size_t p = 0; wl > 0 && s.n >= (size_t)wl && p + (size_t)wl <= s.n; p++) {
                if (memcmp(s.p + p, want, (size_t)wl) != 0)
                    continue;
                bool left = p == 0 || !isdigit((unsigned char)s.p[p - 1]);
                bool right = p + (size_t)wl == s.n || !isdigit((unsigned char)s.p[p + (size_t)wl]);
                if (left && right)
                    return true;
            }
        }
    }
    return false;
}

/* Regular containers and native sidecars (init containers with restartPolicy: Always) serve. */
static bool resolves_in(const k5_node *containers, const target *t, bool sidecars_only,
                        bool *declares_any)
{
    for (size_t i = 0; i < k5_node_len(containers); i++) {
        const k5_node *ctr = k5_seq_at(containers, i);
        if (sidecars_only && !k5_node_is(k5_map_get(ctr, "restartPolicy"), "Always"))
            continue;
        const k5_node *ports = k5_map_get(ctr, "ports");
        for (size_t j = 0; j < k5_node_len(ports); j++) {
            const k5_node *p = k5_seq_at(ports, j);
            *declares_any = true;
            if (t->want.is_int) {
                int64_t num;
                if ((k5_node_int(k5_map_get(p, "containerPort"), &num) && num == t->want.i) ||
                    mentioned(ctr, t->want.i))
                    return true;
            } else if (str_eq(k5_node_str(k5_map_get(p, "name")), t->want.s) &&
                       str_eq(port_proto(p), t->proto)) {
                return true;
            }
        }
    }
    return false;
}

static bool visit(const k5_object *w, void *ud)
{
    target *t = ud;
    if (!t->first)
        t->first = w;
    t->selected++;
    bool any = false;
    bool ok = resolves_in(k5_map_get(w->pod_spec, "containers"), t, false, &any) ||
              resolves_in(k5_map_get(w->pod_spec, "initContainers"), t, true, &any);
    /* A number on a pod that declares no ports at all cannot be judged: ports are optional. */
    if (ok || (t->want.is_int && !any)) {
        t->resolved = true;
        return false;
    }
    return true;
}

static void declared(const k5_object *w, char *buf, size_t size)
{
    const k5_node *containers = k5_map_get(w->pod_spec, "containers");
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < k5_node_len(containers) && len < size; i++) {
        const k5_node *ctr = k5_seq_at(containers, i);
        if (!k5_node_len(k5_map_get(ctr, "ports")))
            continue;
        char one[200];
        k5_ports_describe(ctr, one, sizeof one);
        int n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", one);
        if (n > 0)
            len += (size_t)n;
    }
    if (!len)
        snprintf(buf, size, "no ports");
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    const k5_node *spec = k5_map_get(obj->root, "spec");
    const k5_node *sel = k5_map_get(spec, "selector");
    if (k5_node_is(k5_map_get(spec, "type"), "ExternalName") || !k5_node_len(sel))
        return K5_OK; /* no selector: endpoints are managed by hand */
    const k5_node *ports = k5_map_get(spec, "ports");
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *port = k5_seq_at(ports, i);
        const k5_node *tp = k5_map_get(port, "targetPort");
        const k5_node *at = tp ? tp : k5_map_get(port, "port");
        target t = {{false, 0, {NULL, 0}, NULL}, port_proto(port), false, 0, NULL};
        /* targetPort defaults to the port; 0 and "" mean the default too (SetDefaults_Service). */
        if (tp && k5_intstr_get(tp, &t.want) &&
            ((t.want.is_int && t.want.i == 0) || (!t.want.is_int && t.want.s.n == 0)))
            at = k5_map_get(port, "port");
        if (!k5_intstr_get(at, &t.want))
            continue;
        k5_index_select(k5_check_index(c), obj->namespace_, sel, K5_SELECTOR_MAP,
                        K5_KINDS_SERVING, visit, &t);
        if (t.resolved || !t.selected)
            continue; /* selecting nothing is service-selects-nothing's finding */
        char decl[400], what[200];
        declared(t.first, decl, sizeof decl);
        if (t.want.is_int)
            snprintf(what, sizeof what, "a port %lld", (long long)t.want.i);
        else
            snprintf(what, sizeof what, "a port named \"%.*s\" (%.*s)", (int)t.want.s.n,
                     t.want.s.p, (int)t.proto.n, t.proto.p);
        k5_str pnum = k5_node_str(k5_map_get(port, "port"));
        char shown[100];
        if (t.want.is_int)
            snprintf(shown, sizeof shown, "%lld", (long long)t.want.i);
        else
            snprintf(shown, sizeof shown, "\"%.*s\"", (int)t.want.s.n, t.want.s.p);
        k5_status st = k5_check_report(
            c, at, NULL,
            "Service \"%.*s\" port %.*s targets %s, but no container of %.*s \"%.*s\"%s declares "
            "%s (declared: %s)",
            (int)obj->name.n, obj->name.p, (int)pnum.n, pnum.p ? pnum.p : "?", shown,
            (int)t.first->kind.n, t.first->kind.p, (int)t.first->name.n, t.first->name.p,
            t.selected > 1 ? " or the other selected workloads" : "", what, decl);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_service_target_port_mismatch = {
    .id = "service-target-port-mismatch",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KIND_SERVICE,
    .scope = K5_SCOPE_CROSS,
    .scope_note = NULL,
    .summary = "A Service port's targetPort matches no port of the pods it selects",
    .explanation =
        "A named targetPort is resolved per pod: a pod whose containers declare no port of "
        "that name and protocol is left out of the Service's endpoints, so the Service has no "
        "endpoints for that port and answers 503. A numeric targetPort that no container "
        "listens on sends every connection to a closed port: connection refused, 502 from the "
        "ingress.",
    .remediation = "Point targetPort at a port the selected containers declare, preferably by "
                   "name so that the Service follows the container when its number changes.",
    .example = "# Deployment\n"
               "containers:\n"
               "  - name: web\n"
               "    ports:\n"
               "      - name: http\n"
               "        containerPort: 8080\n"
               "---\n"
               "# Service\n"
               "spec:\n"
               "  selector: {app: web}\n"
               "  ports:\n"
               "    - port: 80\n"
               "      targetPort: http\n",
    .nparams = 0,
    .check = check,
};
