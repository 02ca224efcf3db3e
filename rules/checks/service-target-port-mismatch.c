/*
 * service-target-port-mismatch: a Service port whose targetPort resolves on
 * none of the pod templates the Service selects.
 */
#include <ctype.h>

#include "k5_check.h"

#define MAX_WORKLOADS 8

typedef struct target {
    k5_intstr want;
    k5_str proto; /* the Service port's protocol, TCP by default */
    bool resolved;
    bool other_proto; /* a name that some container declares under another protocol */
    size_t selected;
    const k5_object *w[MAX_WORKLOADS]; /* the first selected workloads, in input order */
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
static bool resolves_in(const k5_object *w, target *t, bool *declares_any)
{
    k5__ctr_iter it;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, w, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        const k5_node *ports = k5_map_get(ctr, "ports");
        for (size_t j = 0; j < k5_node_len(ports); j++) {
            const k5_node *p = k5_seq_at(ports, j);
            *declares_any = true;
            if (t->want.is_int) {
                int64_t num;
                if ((k5_node_int(k5_map_get(p, "containerPort"), &num) && num == t->want.i) ||
                    mentioned(ctr, t->want.i))
                    return true;
            } else if (str_eq(k5_node_str(k5_map_get(p, "name")), t->want.s)) {
                if (str_eq(port_proto(p), t->proto))
                    return true;
                t->other_proto = true;
            }
        }
    }
    return false;
}

static bool visit(const k5_object *w, void *ud)
{
    target *t = ud;
    if (t->selected < MAX_WORKLOADS)
        t->w[t->selected] = w;
    t->selected++;
    bool any = false;
    bool ok = resolves_in(w, t, &any);
    /* A number on a pod that declares no ports at all cannot be judged: ports are optional. */
    if (ok || (t->want.is_int && !any)) {
        t->resolved = true;
        return false;
    }
    return true;
}

/* Appends s to buf (at *len) unless it is already one of the comma-separated items. */
static void add_item(char *buf, size_t size, size_t *len, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = buf; (p = strstr(p, s)) != NULL; p += n)
        if ((p == buf || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return;
    if (*len >= size)
        return;
    int k = snprintf(buf + *len, size - *len, "%s%s", *len ? ", " : "", s);
    if (k > 0)
        *len += (size_t)k;
}

/* The declared ports of every selected workload: their union, in input order. */
static void declared(const target *t, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    size_t nw = t->selected < MAX_WORKLOADS ? t->selected : MAX_WORKLOADS;
    for (size_t w = 0; w < nw && len < size; w++) {
        k5__ctr_iter it;
        const k5_node *ctr;
        k5__ctr_iter_init(&it, t->w[w], K5__CTR_MAIN);
        while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
            const k5_node *ports = k5_map_get(ctr, "ports");
            for (size_t j = 0; j < k5_node_len(ports); j++) {
                const k5_node *p = k5_seq_at(ports, j);
                k5_str num = k5_node_str(k5_map_get(p, "containerPort"));
                k5_str proto = port_proto(p), name = k5_node_str(k5_map_get(p, "name"));
                char one[160];
                if (name.n)
                    snprintf(one, sizeof one, "%.*s/%.*s \"%.*s\"", (int)num.n,
                             num.p ? num.p : "", (int)proto.n, proto.p, (int)name.n, name.p);
                else
                    snprintf(one, sizeof one, "%.*s/%.*s", (int)num.n, num.p ? num.p : "",
                             (int)proto.n, proto.p);
                add_item(buf, size, &len, one);
            }
        }
    }
    if (!len)
        snprintf(buf, size, "no ports");
}

/* `Deployment "a"`, `Deployment "a" or StatefulSet "b"`, ... (the first three). */
static void workloads(const target *t, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    size_t nw = t->selected < 3 ? t->selected : 3;
    for (size_t w = 0; w < nw && len < size; w++) {
        int k = snprintf(buf + len, size - len, "%s%.*s \"%.*s\"", w ? " or " : "",
                         (int)t->w[w]->kind.n, t->w[w]->kind.p, (int)t->w[w]->name.n,
                         t->w[w]->name.p);
        if (k > 0)
            len += (size_t)k;
    }
    if (t->selected > 3 && len < size)
        snprintf(buf + len, size - len, " or %zu more", t->selected - 3);
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
        target t;
        memset(&t, 0, sizeof t);
        t.proto = port_proto(port);
        const char *dflt = tp ? "" : " (targetPort unset: it defaults to port)";
        /* targetPort defaults to the port; 0 and "" mean the default too (SetDefaults_Service). */
        if (tp && k5_intstr_get(tp, &t.want) &&
            ((t.want.is_int && t.want.i == 0) || (!t.want.is_int && t.want.s.n == 0))) {
            at = k5_map_get(port, "port");
            dflt = t.want.is_int ? " (targetPort 0: it defaults to port)"
                                 : " (targetPort \"\": it defaults to port)";
        }
        if (!k5_intstr_get(at, &t.want))
            continue;
        const k5_index *idx = k5_check_index(c);
        /* Services sharing this one's selector: what it selects was summed up once. */
        if (!k5__index_selection_judge(idx, obj, &t.want, t.proto, &t.resolved, &t.other_proto,
                                       &t.selected, t.w, MAX_WORKLOADS))
            k5_index_select(idx, obj->namespace_, sel, K5_SELECTOR_MAP, K5_KINDS_SERVING, visit,
                            &t);
        if (t.resolved || !t.selected)
            continue; /* selecting nothing is service-selects-nothing's finding */
        char decl[400], whom[300];
        declared(&t, decl, sizeof decl);
        workloads(&t, whom, sizeof whom);
        k5_str pnum = k5_node_str(k5_map_get(port, "port"));
        k5_status st;
        if (t.want.is_int) {
            /* containerPort is informational: the process may listen on a port it does not
             * declare (a collector's config, an image's default). Not certain: a warning. */
            st = k5_check_report_capped(
                c, K5_SEV_WARNING, at, NULL,
                "Service \"%.*s\" port %.*s targets %lld%s, which no container of %s declares "
                "(declared: %s): declare it if the application listens there, else "
                "connections are refused",
                (int)obj->name.n, obj->name.p, (int)pnum.n, pnum.p ? pnum.p : "?",
                (long long)t.want.i, dflt, whom, decl);
        } else {
            st = k5_check_report(
                c, at, NULL,
                "Service \"%.*s\" port %.*s targets \"%.*s\", but no container of %s declares a "
                "port named \"%.*s\" (%.*s)%s (declared: %s): the Service has no endpoints for "
                "this port",
                (int)obj->name.n, obj->name.p, (int)pnum.n, pnum.p ? pnum.p : "?",
                (int)t.want.s.n, t.want.s.p, whom, (int)t.want.s.n, t.want.s.p,
                (int)t.proto.n, t.proto.p,
                t.other_proto ? "; the port of that name has another protocol" : "", decl);
        }
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
    .cost = "O(candidates until one declares the port) per Service port, candidates from the index "
            "under the selector's first pair; Services sharing a namespace and selector share one "
            "summary of what it selects (declared port numbers and names, built once with the "
            "index), so N Services whose port no candidate declares, over N workloads, cost N "
            "(measured: bench/scale_bench.sh)",
    .scope_note = NULL,
    .summary = "A Service port's targetPort matches no port of the pods it selects",
    .explanation =
        "A named targetPort is resolved per pod: a pod whose containers declare no port of "
        "that name and protocol is left out of the Service's endpoints, so the Service has no "
        "endpoints for that port and answers 503 (a name that resolves to a UDP port never "
        "serves a TCP Service port): an error. A numeric targetPort that no container "
        "listens on sends every connection to a closed port: connection refused, 502 from the "
        "ingress. Since containerPort is informational and a process may listen on a port it "
        "does not declare, a number no container declares is reported as a warning, and not "
        "at all when the selected containers declare no ports.",
    .remediation = "Point targetPort at a port the selected containers declare, preferably by "
                   "name so that the Service follows the container when its number changes.",
    .example_broken = "apiVersion: v1\n"
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
                      "          ports: [{name: web, containerPort: 8080}]\n",
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
               "          ports: [{name: http, containerPort: 8080}]\n",
    .check = check,
};
