/*
 * lb-healthcheck-mismatch: the cloud load balancer health-checks something other than what
 * the pods' readiness probe checks, so targets can be unhealthy while the pods are Ready.
 */
#include <ctype.h>

#include "k5_check.h"

/* The traffic port of a target: the containerPort its Service port resolves to, or 0. */
static int64_t traffic_port(const k5__lb_target *t)
{
    int64_t n;
    if (t->ctr_port && k5_node_int(k5_map_get(t->ctr_port, "containerPort"), &n))
        return n;
    const k5_node *target = t->svc_port ? k5_map_get(t->svc_port, "targetPort") : NULL;
    if (!target && t->svc_port)
        target = k5_map_get(t->svc_port, "port");
    k5_intstr v;
    return target && k5_intstr_get(target, &v) && v.is_int ? v.i : 0;
}

/* The readiness probe of the target's container when it is an httpGet: path and port. */
typedef struct http_probe {
    bool found;      /* a readinessProbe exists */
    bool http;       /* ... and it is an httpGet */
    k5_str path;     /* "/" when unset, as the kubelet requests it */
    int64_t port;    /* resolved; 0 when it cannot be */
    const char *kind; /* "tcpSocket", "exec", "grpc" when not http */
} http_probe;

static void probe_of(const k5_node *ctr, http_probe *hp)
{
    k5__probe p;
    memset(hp, 0, sizeof *hp);
    if (!ctr || !k5__probe_get(ctr, "readinessProbe", &p) || p.type == K5__HANDLER_NONE)
        return;
    hp->found = true;
    hp->http = p.type == K5__HANDLER_HTTP;
    hp->kind = p.type == K5__HANDLER_TCP    ? "tcpSocket"
               : p.type == K5__HANDLER_GRPC ? "grpc"
               : p.type == K5__HANDLER_EXEC ? "exec"
                                            : "httpGet";
    hp->path = k5_node_str(k5_map_get(p.handler, "path"));
    if (!hp->path.n)
        hp->path = (k5_str){"/", 1};
    hp->port = k5__probe_port(ctr, p.port);
}

/*
 * True when another container of the pod than the traffic port's owner has an httpGet
 * readiness probe on `path`: the load balancer checks an endpoint the pod is probed on,
 * reached through the serving container (a TLS or auth proxy in front of the application).
 */
static bool other_container_probes(const k5_object *w, const k5_node *owner, k5_str path)
{
    k5__ctr_iter it;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, w, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        http_probe hp;
        if (ctr == owner)
            continue;
        probe_of(ctr, &hp);
        if (hp.http && k5__str_eq(hp.path, path))
            return true;
    }
    return false;
}

/* True when an ALB success-codes value ("200", "200,404", "200-499") accepts a 404. */
static bool accepts_404(k5_str codes)
{
    for (size_t i = 0; i < codes.n;) {
        size_t b = i;
        while (i < codes.n && codes.p[i] != ',')
            i++;
        int64_t lo = 0, hi = 0;
        size_t j = b;
        while (j < i && codes.p[j] == ' ')
            j++;
        for (; j < i && isdigit((unsigned char)codes.p[j]); j++)
            lo = lo * 10 + (codes.p[j] - '0') * (lo < 100000);
        hi = lo;
        if (j < i && codes.p[j] == '-') {
            hi = 0;
            for (j++; j < i && isdigit((unsigned char)codes.p[j]); j++)
                hi = hi * 10 + (codes.p[j] - '0') * (hi < 100000);
        }
        if (lo <= 404 && 404 <= hi)
            return true;
        if (i < codes.n)
            i++;
    }
    return false;
}

/*
 * What the judges below read from a target (k5__lb_each_indexed keeps it for every Service
 * of the selection): the readiness probe's path and port when it is an httpGet (any other
 * target reports nothing), and whether the traffic port differs from the probe's. A target
 * whose other container is probed on the load balancer's path reports nothing either; it is
 * left to the judge (a candidate it does not report on).
 */
static void feat_of(const k5__lb_target *t, const void *ud, k5__lb_feat *out)
{
    (void)ud;
    http_probe hp;
    probe_of(t->ctr, &hp);
    int64_t traffic = traffic_port(t);
    out->never = !hp.http;
    out->v = INT64_MAX;
    out->has_s = true;
    out->s = hp.path;
    out->n = hp.port;
    out->flag = traffic && hp.port && traffic != hp.port;
}

/* ---- the ALB ---- */

typedef struct alb_hc {
    const k5_object *ing;
    const k5_node *at;
    k5_str path;
    bool path_default;
    bool path_judged; /* false when success-codes accept a 404 */
    int64_t port;     /* 0: the traffic port */
    bool port_judged; /* false: a numeric port of an instance target (a node port) */
} alb_hc;

static k5_status judge_alb_target(k5_check *c, const k5__lb_target *t, void *ud)
{
    alb_hc *h = ud;
    http_probe hp;
    probe_of(t->ctr, &hp);
    if (!hp.http) /* nothing comparable: a tcp/exec/grpc probe says nothing about a path */
        return K5_OK;
    int64_t traffic = traffic_port(t);
    int64_t lb_port = h->port ? h->port : traffic;
    bool path_differs = h->path_judged && !k5__str_eq(h->path, hp.path);
    bool port_differs = h->port_judged && lb_port && hp.port && lb_port != hp.port;
    if ((!path_differs && !port_differs) || other_container_probes(t->workload, t->ctr, h->path))
        return K5_OK;
    const k5_object *w = t->workload;
    k5_str cn = k5__container_name(t->ctr);
    char lb_port_s[48];
    if (lb_port)
        snprintf(lb_port_s, sizeof lb_port_s, "port %lld%s", (long long)lb_port,
                 h->port ? "" : " (the traffic port)");
    else
        snprintf(lb_port_s, sizeof lb_port_s, "the traffic port");
    return k5_check_report(
        c, h->at, NULL,
        "Ingress \"%.*s\" (ALB) health-checks Service \"%.*s\" with GET %.*s%s on %s, but the "
        "readiness probe of container \"%.*s\" of %.*s \"%.*s\" is GET %.*s on port %lld: "
        "targets can be unhealthy while the pods are Ready, and an ALB with no healthy target "
        "answers 503 (502 while they flap)",
        (int)h->ing->name.n, h->ing->name.p, (int)t->svc->name.n, t->svc->name.p,
        (int)h->path.n, h->path.p, h->path_default ? " (the default)" : "", lb_port_s,
        (int)cn.n, cn.p, (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p,
        (int)hp.path.n, hp.path.p, (long long)hp.port);
}

static k5_status judge_alb(k5_check *c, const k5_object *ing, const k5__backend *b,
                           const k5_object *svc, const k5_node *svc_port)
{
    bool on_svc;
    /* gRPC targets are checked with gRPC health checks (default path /AWS.ALB/healthcheck). */
    if (k5_node_is(k5__alb_annotation(ing, svc, "alb.ingress.kubernetes.io/backend-protocol-version",
                                      NULL),
                   "GRPC"))
        return K5_OK;
    alb_hc h = {.ing = ing};
    const k5_node *path =
        k5__alb_annotation(ing, svc, "alb.ingress.kubernetes.io/healthcheck-path", &on_svc);
    h.path = k5_node_str(path);
    h.path_default = !path;
    if (!path)
        h.path = (k5_str){"/", 1};
    else if (!h.path.n)
        return K5_OK; /* a path that is not a string: not judged */
    h.at = path && !on_svc ? path : b->service;
    const k5_node *codes =
        k5__alb_annotation(ing, svc, "alb.ingress.kubernetes.io/success-codes", NULL);
    h.path_judged = !(codes && accepts_404(k5_node_str(codes)));
    const k5_node *port =
        k5__alb_annotation(ing, svc, "alb.ingress.kubernetes.io/healthcheck-port", NULL);
    k5_str ps = k5_node_str(port);
    bool ip = k5_node_is(k5__alb_annotation(ing, svc, "alb.ingress.kubernetes.io/target-type",
                                            NULL),
                         "ip");
    h.port_judged = true;
    if (port && !(ps.n == 12 && memcmp(ps.p, "traffic-port", 12) == 0)) {
        int64_t n;
        /* A number is the pod's port for ip targets, a node port for instance targets. */
        if (!ip || !k5__lb_seconds(ps, &n) || ps.p[ps.n - 1] == 's')
            h.port_judged = false;
        else
            h.port = n;
    }
    /* judge_alb_target reports when the probe's path differs (if judged), or its port differs
     * from the health check's port (if judged): a fixed one, else the traffic port. */
    k5__lb_query q = {.feat = feat_of, .lt = INT64_MIN, .s_on = h.path_judged, .s = h.path};
    if (h.port_judged && h.port) {
        q.n_on = true;
        q.n = h.port;
    } else if (h.port_judged) {
        q.flag_on = true;
    }
    return k5__lb_each_indexed(c, svc, svc_port, judge_alb_target, &h, &q);
}

/* ---- GKE ---- */

typedef struct gke_hc {
    const k5_object *self;    /* the Ingress (inference) or the Service (BackendConfig) */
    const k5_node *at;
    const k5_object *bc;      /* the BackendConfig, or NULL: the Ingress infers */
    k5_str path;              /* BackendConfig requestPath ({NULL,0}: not set) */
    int64_t port;             /* BackendConfig port (0: not set) */
    bool bc_absent;           /* the Service names a BackendConfig the input lacks */
} gke_hc;

static k5_status judge_gke_target(k5_check *c, const k5__lb_target *t, void *ud)
{
    gke_hc *g = ud;
    http_probe hp;
    probe_of(t->ctr, &hp);
    if (!hp.found)
        return K5_OK; /* readiness-probe-missing's finding */
    const k5_object *w = t->workload;
    k5_str cn = k5__container_name(t->ctr);
    int64_t serving = traffic_port(t);
    if (!g->bc) {
        /* GKE builds the health check from the readiness probe only when it is an httpGet on
         * the serving port; otherwise it checks GET / on the serving port. */
        if (hp.http && (!serving || !hp.port || hp.port == serving))
            return K5_OK;
        if (hp.http && k5__str_eq(hp.path, (k5_str){"/", 1}))
            return K5_OK; /* the fallback checks the same path */
        char probe[160];
        if (hp.http)
            snprintf(probe, sizeof probe, "GET %.*s on port %lld, not the serving port %lld",
                     (int)hp.path.n, hp.path.p, (long long)hp.port, (long long)serving);
        else
            snprintf(probe, sizeof probe, "a %s probe", hp.kind);
        /* When the Service names a BackendConfig that is missing, the finding stands on an
         * absence: at admission it may come later in the same apply, so it only warns. */
        return (g->bc_absent ? k5_check_report_absence : k5_check_report_capped)(
            c, K5_SEV_ERROR, g->at, NULL,
            "Ingress \"%.*s\" (GKE) routes to Service \"%.*s\", whose pods' readiness probe "
            "(container \"%.*s\" of %.*s \"%.*s\") is %s, so GKE cannot derive the load "
            "balancer's health check from it and checks GET / on the serving port instead: "
            "if / does not answer 200 every backend is unhealthy and the load balancer "
            "answers 502",
            (int)g->self->name.n, g->self->name.p, (int)t->svc->name.n, t->svc->name.p,
            (int)cn.n, cn.p, (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p, probe);
    }
    if (!hp.http)
        return K5_OK;
    bool path_differs = g->path.n && !k5__str_eq(g->path, hp.path);
    bool port_differs = g->port && hp.port && g->port != hp.port;
    if ((!path_differs && !port_differs) ||
        (g->path.n && other_container_probes(t->workload, t->ctr, g->path)))
        return K5_OK;
    char lb[160];
    snprintf(lb, sizeof lb, "%.*s on port %lld", (int)(g->path.n ? g->path.n : 1),
             g->path.n ? g->path.p : "/", (long long)(g->port ? g->port : serving));
    return k5_check_report(
        c, g->at, NULL,
        "Service \"%.*s\": BackendConfig \"%.*s\" health-checks %s, but the readiness probe "
        "of container \"%.*s\" of %.*s \"%.*s\" is GET %.*s on port %lld: backends can be "
        "unhealthy while the pods are Ready, and with none healthy the load balancer answers "
        "502",
        (int)t->svc->name.n, t->svc->name.p, (int)g->bc->name.n, g->bc->name.p, lb, (int)cn.n,
        cn.p, (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p, (int)hp.path.n, hp.path.p,
        (long long)hp.port);
}

/* What judge_gke_target decides from besides the target (not self, at, bc's name). */
static k5__lb_key gke_key(const gke_hc *g)
{
    k5__lb_key k = {.n = 0};
    k5__lb_key_int(&k, g->bc != NULL);
    k5__lb_key_str(&k, g->path);
    k5__lb_key_int(&k, g->port);
    k5__lb_key_int(&k, g->bc_absent);
    return k;
}

/* The BackendConfig attached to the Service port, when it sets a health check. */
static const k5_object *hc_config(const k5_check *c, const k5_object *svc, const k5_node *port,
                                  const k5_node **ann, const k5_node **hc)
{
    k5_str name;
    const k5_object *bc = k5__backendconfig_for(c, svc, port, ann, &name);
    *hc = bc ? k5_node_at(bc->root, "spec.healthCheck") : NULL;
    return k5_node_is_map(*hc) ? bc : NULL;
}

/* A Service: each port's BackendConfig health check against the pods' readiness probes. */
static k5_status judge_service(k5_check *c, const k5_object *svc)
{
    const k5_node *ports = k5_node_at(svc->root, "spec.ports");
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *port = k5_seq_at(ports, i), *ann = NULL, *hc = NULL;
        const k5_object *bc = hc_config(c, svc, port, &ann, &hc);
        if (!bc)
            continue;
        /* Only HTTP-family checks have a path; a TCP or gRPC check is not compared. */
        k5_str type = k5_node_str(k5_map_get(hc, "type"));
        if (type.n && !(k5_node_is(k5_map_get(hc, "type"), "HTTP") ||
                        k5_node_is(k5_map_get(hc, "type"), "HTTPS") ||
                        k5_node_is(k5_map_get(hc, "type"), "HTTP2")))
            continue;
        gke_hc g = {svc, ann, bc, k5_node_str(k5_map_get(hc, "requestPath")), 0, false};
        int64_t n;
        if (k5_node_int(k5_map_get(hc, "port"), &n))
            g.port = n;
        if (!g.path.n && !g.port)
            continue;
        /* With a BackendConfig judge_gke_target reports when the probe's path differs from
         * requestPath (if set) or its port from the BackendConfig's (if set). */
        k5__lb_query q = {.feat = feat_of, .lt = INT64_MIN, .s_on = g.path.n != 0, .s = g.path,
                          .n_on = g.port != 0, .n = g.port};
        k5_status st = k5__lb_each_indexed(c, svc, port, judge_gke_target, &g, &q);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

/* ---- Ingress backends ---- */

typedef struct ing_walk {
    k5__lb lb;
    bool classless; /* no class at all: GKE's when its Services carry GKE annotations */
    struct {
        const k5_object *svc;
        const k5_node *port;
    } seen[32];
    size_t nseen;
} ing_walk;

static bool seen_before(ing_walk *iw, const k5_object *svc, const k5_node *port)
{
    for (size_t i = 0; i < iw->nseen; i++)
        if (iw->seen[i].svc == svc && iw->seen[i].port == port)
            return true;
    if (iw->nseen < sizeof iw->seen / sizeof *iw->seen) {
        iw->seen[iw->nseen].svc = svc;
        iw->seen[iw->nseen++].port = port;
    }
    return false;
}

static k5_status judge_backend(k5_check *c, const k5_object *ing, const k5__backend *b, void *ud)
{
    ing_walk *iw = ud;
    if (!b->service)
        return K5_OK;
    const k5_object *svc = k5_index_find(k5_check_index(c), ing->namespace_, K5_KIND_SERVICE,
                                         k5_node_str(b->service));
    const k5_node *port = svc ? k5__service_port_for(svc, b->port) : NULL;
    if (!svc || !port || seen_before(iw, svc, port))
        return K5_OK;
    if (iw->lb == K5__LB_ALB)
        return judge_alb(c, ing, b, svc, port);
    if (iw->lb == K5__LB_NONE &&
        !(iw->classless &&
          (k5_map_get(svc->annotations, "cloud.google.com/neg") ||
           k5_map_get(svc->annotations, "cloud.google.com/backend-config") ||
           k5_map_get(svc->annotations, "beta.cloud.google.com/backend-config"))))
        return K5_OK;
    const k5_node *ann = NULL, *hc;
    if (hc_config(c, svc, port, &ann, &hc))
        return K5_OK; /* the Service's finding, against its BackendConfig */
    k5_str bc_name = {NULL, 0};
    bool absent = !k5__backendconfig_for(c, svc, port, &ann, &bc_name) && bc_name.n;
    gke_hc g = {ing, b->service, NULL, {NULL, 0}, 0, absent};
    k5__lb_key k = gke_key(&g);
    return k5__lb_each_target(c, svc, port, judge_gke_target, &g, &k);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    if (obj->kind_id == K5_KIND_SERVICE)
        return judge_service(c, obj);
    ing_walk iw = {.lb = k5__ingress_lb(c, obj), .nseen = 0};
    /* Without any class GKE's controller takes the Ingress on GKE (another controller's
     * default class elsewhere): judged as GKE's only for Services set up for GKE. */
    iw.classless = !k5_map_get(obj->annotations, "kubernetes.io/ingress.class") &&
                   !k5_node_at(obj->root, "spec.ingressClassName");
    if (iw.lb == K5__LB_NONE && !iw.classless)
        return K5_OK;
    return k5__ingress_each_backend(c, obj, judge_backend, &iw);
}

const k5_rule k5__rule_lb_healthcheck_mismatch = {
    .id = "lb-healthcheck-mismatch",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_INGRESS | K5_KIND_SERVICE,
    .scope = K5_SCOPE_CROSS,
    .scope_note = "compares httpGet readiness probes only (a tcpSocket, exec or grpc probe has "
                  "no path to compare, except on GKE, where it means the load balancer falls "
                  "back to GET /); an ALB path is not judged when success-codes accept a 404, "
                  "nor a numeric healthcheck-port of instance targets (a node port); at "
                  "admission the cluster cache keeps each readiness probe's type, path, port "
                  "and scheme, so the webhook compares them too (as a warning)",
    .cost = "O(backends + pods selected) per Ingress or Service: Services, BackendConfigs by "
            "name and pod templates by label (hash index)"
            "; the workloads a selector reaches are found once per run for all the Services of "
            "one namespace, selector and file (and every Ingress naming them), a workload "
            "selected many times under one Kind/name is judged once (a hash table, not "
            "pairs); what the rule reads from each of those workloads (its readiness probe's "
            "type, path and port, and the traffic port) is kept once per run per (those "
            "workloads, targetPort) in a segment tree over them in order, and each Ingress "
            "or Service visits only the workloads whose probe differs from its health check's "
            "path or port, each found in O(log n): n Services with one selector over n "
            "workloads of different names cost n log n, with one health check or n different "
            "ones (bench/scale_bench.sh figures 9 and 11), as do n copies of a stream (figure "
            "8). Left: a workload whose other container is probed on the health check's path "
            "reports nothing but is still visited, once per health check of that path until "
            "the object's cap; GKE's inferred check (no BackendConfig) is worked out once per "
            "(those workloads, targetPort) by a dry run of the rule and replayed",
    .summary = "A cloud load balancer's health check does not match the pods' readiness probe",
    .explanation =
        "A load balancer sends traffic only to targets that pass its own health check, which "
        "is configured apart from the pods' readiness probe. The AWS Load Balancer Controller "
        "checks GET / on the traffic port unless alb.ingress.kubernetes.io/healthcheck-path "
        "and healthcheck-port (on the Ingress or its Service) say otherwise "
        "(https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/"
        "ingress/annotations/#health-check); a GKE BackendConfig's healthCheck sets its own "
        "requestPath and port, and without one GKE derives the check from the readiness probe "
        "only when it is an httpGet on the serving port, else it checks GET / "
        "(https://cloud.google.com/kubernetes-engine/docs/concepts/ingress#health_checks). "
        "When the two disagree (an API that answers 404 on /, a health endpoint on another "
        "port) the targets are unhealthy while the pods are Ready: the load balancer has no "
        "healthy backend and answers 503 (ALB) or 502 (Google), or flaps.",
    .remediation = "Point the load balancer's health check at the readiness endpoint: "
                   "alb.ingress.kubernetes.io/healthcheck-path (and -port) on the Ingress or "
                   "Service, or a BackendConfig healthCheck with the probe's requestPath and "
                   "port; on GKE, an httpGet readiness probe on the serving port is used as is.",
    .example_broken = "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata:\n"
                      "  name: api\n"
                      "spec:\n"
                      "  ingressClassName: alb\n"
                      "  rules:\n"
                      "    - http:\n"
                      "        paths:\n"
                      "          - path: /\n"
                      "            pathType: Prefix\n"
                      "            backend:\n"
                      "              service:\n"
                      "                name: api\n"
                      "                port: {name: http}\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: api}\n"
                      "spec:\n"
                      "  selector: {app: api}\n"
                      "  ports: [{name: http, port: 80, targetPort: web}]\n"
                      "---\n"
                      "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: api}\n"
                      "spec:\n"
                      "  selector: {matchLabels: {app: api}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: api}}\n"
                      "    spec:\n"
                      "      containers:\n"
                      "        - name: api\n"
                      "          image: api\n"
                      "          ports: [{name: web, containerPort: 8080}]\n"
                      "          readinessProbe:\n"
                      "            httpGet: {path: /healthz, port: web}\n",
    .example = "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata:\n"
               "  name: api\n"
               "  annotations: {alb.ingress.kubernetes.io/healthcheck-path: /healthz}\n"
               "spec:\n"
               "  ingressClassName: alb\n"
               "  rules:\n"
               "    - http:\n"
               "        paths:\n"
               "          - path: /\n"
               "            pathType: Prefix\n"
               "            backend:\n"
               "              service:\n"
               "                name: api\n"
               "                port: {name: http}\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: api}\n"
               "spec:\n"
               "  selector: {app: api}\n"
               "  ports: [{name: http, port: 80, targetPort: web}]\n"
               "---\n"
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: api}\n"
               "spec:\n"
               "  selector: {matchLabels: {app: api}}\n"
               "  template:\n"
               "    metadata: {labels: {app: api}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: api\n"
               "          image: api\n"
               "          ports: [{name: web, containerPort: 8080}]\n"
               "          readinessProbe:\n"
               "            httpGet: {path: /healthz, port: web}\n",
    .check = check,
};
