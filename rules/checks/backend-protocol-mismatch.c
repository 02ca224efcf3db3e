/*
 * backend-protocol-mismatch: a load balancer or ingress controller told to
 * speak one protocol to a backend port that declares another (TLS to a
 * plaintext port, plaintext to a TLS port, HTTP/1 to a gRPC port): 502.
 */
#include <ctype.h>

#include <kube5xx/k5_units.h>

#include "k5_check.h"

/* What goes over the wire to the backend port. */
typedef enum proto {
    P_UNKNOWN = 0,
    P_HTTP = 1, /* plaintext HTTP/1.1 */
    P_H2C = 2,  /* plaintext HTTP/2: gRPC, h2c */
    P_TLS = 3   /* TLS (HTTPS, gRPC over TLS, HTTP/2 over TLS) */
} proto;

static const char *proto_str(proto p)
{
    return p == P_HTTP ? "plaintext HTTP/1.1"
           : p == P_H2C ? "plaintext HTTP/2 (gRPC, h2c)"
           : p == P_TLS ? "TLS"
                        : "unknown";
}

static bool ieq(k5_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s.p[i]) != tolower((unsigned char)lit[i]))
            return false;
    return true;
}

/* A Service port's appProtocol (an IANA name or a kubernetes.io/ one). */
static proto from_app_protocol(k5_str s)
{
    if (ieq(s, "http") || ieq(s, "kubernetes.io/ws"))
        return P_HTTP;
    if (ieq(s, "h2c") || ieq(s, "kubernetes.io/h2c") || ieq(s, "grpc"))
        return P_H2C;
    if (ieq(s, "https") || ieq(s, "tls") || ieq(s, "kubernetes.io/wss") || ieq(s, "grpcs"))
        return P_TLS;
    return P_UNKNOWN;
}

/*
 * A port name's protocol prefix (`http`, `https-web`, `grpc`), the convention Istio and
 * GKE read. A name is weaker evidence than appProtocol: only its TLS-ness is used.
 */
static proto from_name(k5_str s)
{
    size_t n = 0;
    while (n < s.n && s.p[n] != '-')
        n++;
    k5_str prefix = {s.p, n};
    if (ieq(prefix, "https") || ieq(prefix, "tls"))
        return P_TLS;
    if (ieq(prefix, "http") || ieq(prefix, "http2") || ieq(prefix, "h2c") ||
        (ieq(prefix, "grpc") && n == s.n))
        return ieq(prefix, "http") ? P_HTTP : P_H2C;
    return P_UNKNOWN;
}

typedef struct port_proto {
    proto p;
    bool explicit_field; /* from appProtocol (else from the name) */
    k5_str said;         /* the appProtocol or the name */
} port_proto;

static void of_port(const k5_node *port, port_proto *out)
{
    k5_str ap = k5_node_str(k5_map_get(port, "appProtocol"));
    out->explicit_field = false;
    out->p = P_UNKNOWN;
    if (ap.n) {
        out->p = from_app_protocol(ap);
        out->explicit_field = out->p != P_UNKNOWN;
        out->said = ap;
        if (out->explicit_field)
            return;
    }
    out->said = k5_node_str(k5_map_get(port, "name"));
    out->p = from_name(out->said);
}

/* Whether what the controller sends fails on what the port declares. */
static bool contradicts(proto sent, const port_proto *port)
{
    if (sent == P_UNKNOWN || port->p == P_UNKNOWN || sent == port->p)
        return false;
    if ((sent == P_TLS) != (port->p == P_TLS))
        return true; /* a TLS handshake against plaintext, or plaintext against TLS */
    return port->explicit_field; /* HTTP/1 vs HTTP/2 cleartext: only on appProtocol's word */
}

/* ---- the Ingress side ---- */

typedef struct declared {
    proto p;
    const k5_node *at; /* the annotation value that said so */
    const char *by;    /* "nginx.ingress.kubernetes.io/backend-protocol" ... */
} declared;

static proto nginx_protocol(k5_str v)
{
    if (ieq(v, "HTTP"))
        return P_HTTP;
    if (ieq(v, "GRPC"))
        return P_H2C;
    if (ieq(v, "HTTPS") || ieq(v, "GRPCS"))
        return P_TLS;
    return P_UNKNOWN; /* AUTO_HTTP, FCGI */
}

/* ALB: backend-protocol HTTP|HTTPS, backend-protocol-version HTTP1|HTTP2|GRPC. */
static proto alb_protocol(const k5_node *annotations, const k5_node **at)
{
    const k5_node *p = k5_map_get(annotations, "alb.ingress.kubernetes.io/backend-protocol");
    const k5_node *v = k5_map_get(annotations, "alb.ingress.kubernetes.io/backend-protocol-version");
    *at = p;
    if (!p)
        return P_UNKNOWN;
    k5_str ps = k5_node_str(p), vs = k5_node_str(v);
    if (ieq(ps, "HTTPS"))
        return P_TLS;
    if (!ieq(ps, "HTTP"))
        return P_UNKNOWN;
    return (ieq(vs, "HTTP2") || ieq(vs, "GRPC")) ? P_H2C : P_HTTP;
}

/* True when the comma-separated list names the Service (F5 NGINX nginx.org/ssl-services). */
static bool list_names(const k5_node *list, k5_str name)
{
    k5_str s = k5_node_str(list);
    for (size_t i = 0; i < s.n;) {
        while (i < s.n && (s.p[i] == ',' || s.p[i] == ' '))
            i++;
        size_t b = i;
        while (i < s.n && s.p[i] != ',' && s.p[i] != ' ')
            i++;
        if (i > b && k5__str_eq((k5_str){s.p + b, i - b}, name))
            return true;
    }
    return false;
}

/* What the controllers were told to speak to this backend's Service. */
static void declared_for(const k5_object *ing, const k5_object *svc, declared *d)
{
    const k5_node *ann = ing->annotations;
    static const char nginx[] = "nginx.ingress.kubernetes.io/backend-protocol";
    d->p = P_UNKNOWN;
    d->by = "";
    d->at = k5_map_get(ann, nginx);
    if (d->at) {
        d->p = nginx_protocol(k5_node_str(d->at));
        d->by = nginx;
        return;
    }
    /* The AWS Load Balancer Controller reads its annotations on the Service first. */
    const k5_node *at;
    proto p = alb_protocol(svc->annotations, &at);
    if (at) {
        d->p = p;
        d->at = at;
        d->by = "alb.ingress.kubernetes.io/backend-protocol (on the Service)";
        return;
    }
    p = alb_protocol(ann, &at);
    if (at) {
        d->p = p;
        d->at = at;
        d->by = "alb.ingress.kubernetes.io/backend-protocol";
        return;
    }
    const k5_node *ssl = k5_map_get(ann, "nginx.org/ssl-services");
    const k5_node *grpc = k5_map_get(ann, "nginx.org/grpc-services");
    if (ssl && list_names(ssl, svc->name)) {
        d->p = P_TLS;
        d->at = ssl;
        d->by = "nginx.org/ssl-services";
    } else if (grpc && list_names(grpc, svc->name)) {
        d->p = P_H2C;
        d->at = grpc;
        d->by = "nginx.org/grpc-services";
    }
}

/* The Service port the backend designates, or NULL. */
static const k5_node *backend_port(const k5_object *svc, const k5_node *port)
{
    k5_intstr want;
    if (!port || !k5_intstr_get(port, &want))
        return NULL;
    const k5_node *ports = k5_node_at(svc->root, "spec.ports");
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        int64_t pn;
        if (want.is_int ? k5_node_int(k5_map_get(p, "port"), &pn) && pn == want.i
                        : k5__str_eq(k5_node_str(k5_map_get(p, "name")), want.s))
            return p;
    }
    return NULL;
}

static const char *consequence(proto sent)
{
    return sent == P_TLS ? "the TLS handshake meets a plaintext server (\"wrong version number\") "
                           "and the client gets 502"
                         : "the backend cannot parse what it receives and the client gets 502";
}

static k5_status judge_backend(k5_check *c, const k5_object *ing, const k5__backend *b, void *ud)
{
    (void)ud;
    const k5_object *svc = k5_index_find(k5_check_index(c), ing->namespace_, K5_KIND_SERVICE,
                                         k5_node_str(b->service));
    if (!svc)
        return K5_OK;
    declared d;
    declared_for(ing, svc, &d);
    const k5_node *port = backend_port(svc, b->port);
    if (d.p == P_UNKNOWN || !port)
        return K5_OK;
    port_proto pp;
    of_port(port, &pp);
    if (!contradicts(d.p, &pp))
        return K5_OK;
    char where[300];
    k5__backend_describe(b, where, sizeof where);
    k5_str v = k5_node_str(d.at);
    k5_str pn = k5_node_str(k5_map_get(port, "port"));
    return k5_check_report(c, b->port, NULL,
                           "Ingress \"%.*s\" routes %s to Service \"%.*s\" with %s \"%.*s\" "
                           "(%s), but that Service's port %.*s %s \"%.*s\" (%s): %s",
                           (int)ing->name.n, ing->name.p, where, (int)svc->name.n, svc->name.p,
                           d.by, (int)v.n, v.p, proto_str(d.p), (int)pn.n, pn.p,
                           pp.explicit_field ? "declares appProtocol" : "is named", (int)pp.said.n,
                           pp.said.p, proto_str(pp.p), consequence(d.p));
}

/* ---- the Service side: GKE's cloud.google.com/app-protocols ---- */

/* GKE: HTTP is HTTP/1.1 in the clear; HTTPS and HTTP2 are over TLS. */
static proto gke_protocol(k5_str v)
{
    if (ieq(v, "HTTP"))
        return P_HTTP;
    if (ieq(v, "HTTPS") || ieq(v, "HTTP2"))
        return P_TLS;
    return P_UNKNOWN;
}

/*
 * Reads the annotation's JSON object {"port-name": "HTTPS", ...} without allocating: calls
 * back for each string pair. False when it is not such an object.
 */
static bool next_string(k5_str s, size_t *i, k5_str *out)
{
    while (*i < s.n && isspace((unsigned char)s.p[*i]))
        (*i)++;
    if (*i >= s.n || s.p[*i] != '"')
        return false;
    size_t b = ++*i;
    while (*i < s.n && s.p[*i] != '"' && s.p[*i] != '\\')
        (*i)++;
    if (*i >= s.n || s.p[*i] != '"')
        return false;
    *out = (k5_str){s.p + b, *i - b};
    (*i)++;
    return true;
}

static bool expect(k5_str s, size_t *i, char ch)
{
    while (*i < s.n && isspace((unsigned char)s.p[*i]))
        (*i)++;
    if (*i >= s.n || s.p[*i] != ch)
        return false;
    (*i)++;
    return true;
}

static const k5_node *port_named(const k5_object *svc, k5_str name)
{
    const k5_node *ports = k5_node_at(svc->root, "spec.ports");
    for (size_t i = 0; i < k5_node_len(ports); i++)
        if (k5__str_eq(k5_node_str(k5_map_get(k5_seq_at(ports, i), "name")), name))
            return k5_seq_at(ports, i);
    return NULL;
}

static k5_status judge_service(k5_check *c, const k5_object *svc)
{
    static const char ann[] = "cloud.google.com/app-protocols";
    const k5_node *v = k5_map_get(svc->annotations, ann);
    k5_str s = k5_node_str(v);
    size_t i = 0;
    if (!s.n || !expect(s, &i, '{'))
        return K5_OK;
    k5_status st = K5_OK;
    k5_str key, val;
    while (st == K5_OK && next_string(s, &i, &key) && expect(s, &i, ':') &&
           next_string(s, &i, &val)) {
        proto sent = gke_protocol(val);
        const k5_node *port = port_named(svc, key);
        port_proto pp;
        if (port) {
            of_port(port, &pp);
            /* GKE's HTTP2 is HTTP/2 over TLS: an h2c or gRPC port in the clear fails. */
            if (contradicts(sent, &pp))
                st = k5_check_report(
                    c, v, NULL,
                    "Service \"%.*s\": %s sets port \"%.*s\" to %.*s (%s), but the port %s "
                    "\"%.*s\" (%s): the Google Cloud load balancer's %s",
                    (int)svc->name.n, svc->name.p, ann, (int)key.n, key.p, (int)val.n, val.p,
                    proto_str(sent), pp.explicit_field ? "declares appProtocol" : "is named",
                    (int)pp.said.n, pp.said.p, proto_str(pp.p),
                    sent == P_TLS ? "TLS handshake meets a plaintext server: 502"
                                  : "plaintext requests reach a TLS server: 502");
        }
        if (!expect(s, &i, ','))
            break;
    }
    return st;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    if (obj->kind_id == K5_KIND_SERVICE)
        return judge_service(c, obj);
    return k5__ingress_each_backend(c, obj, judge_backend, NULL);
}

const k5_rule k5__rule_backend_protocol_mismatch = {
    .id = "backend-protocol-mismatch",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_INGRESS | K5_KIND_SERVICE,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per Ingress backend (the Service by name); a Service reads only itself",
    .scope_note = NULL,
    .summary = "An ingress controller or load balancer speaks a protocol the backend port does "
               "not",
    .explanation =
        "The protocol a proxy uses towards the pods is configured apart from what the pods "
        "speak: ingress-nginx's nginx.ingress.kubernetes.io/backend-protocol (HTTP, HTTPS, GRPC, "
        "GRPCS), the AWS Load Balancer Controller's alb.ingress.kubernetes.io/backend-protocol "
        "and -protocol-version (on the Service or the Ingress), F5 NGINX's nginx.org/ssl-services "
        "and grpc-services, GKE's cloud.google.com/app-protocols (HTTP; HTTPS and HTTP2 are "
        "both TLS). When the Service port says otherwise, through appProtocol or a name prefix "
        "(http, https, grpc, h2c, tls), every request fails: a TLS handshake against a plaintext "
        "server ends in \"wrong version number\" and a 502, plaintext against a TLS port is "
        "rejected, HTTP/1.1 against a gRPC server is a protocol error: 502. A name is weaker "
        "evidence than appProtocol, so it is used only for TLS versus plaintext. References: "
        "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/"
        "#backend-protocol, "
        "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/"
        "annotations/#backend-protocol, "
        "https://docs.nginx.com/nginx-ingress-controller/configuration/ingress-resources/"
        "advanced-configuration-with-annotations/, "
        "https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-http2 (HTTP2 to the pods "
        "is HTTP/2 over TLS)",
    .remediation = "Make both sides say the same: set the annotation to what the pods serve on "
                   "that port, and declare it on the Service port with appProtocol (http, https, "
                   "kubernetes.io/h2c) and a matching name.",
    .example_broken = "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata:\n"
                      "  name: web\n"
                      "  annotations:\n"
                      "    nginx.ingress.kubernetes.io/backend-protocol: HTTPS\n"
                      "spec:\n"
                      "  defaultBackend:\n"
                      "    service: {name: web, port: {number: 80}}\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  selector: {app: web}\n"
                      "  ports:\n"
                      "    - {name: http, port: 80, targetPort: 8080}\n",
    .example = "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata:\n"
                      "  name: web\n"
                      "  annotations:\n"
                      "    nginx.ingress.kubernetes.io/backend-protocol: HTTPS\n"
                      "spec:\n"
                      "  defaultBackend:\n"
                      "    service: {name: web, port: {number: 443}}\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  selector: {app: web}\n"
                      "  ports:  # the pods terminate TLS on 8443\n"
                      "    - {name: https, port: 443, targetPort: 8443, appProtocol: https}\n",
    .check = check,
};
