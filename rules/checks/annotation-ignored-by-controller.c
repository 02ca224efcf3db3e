/*
 * annotation-ignored-by-controller: an Ingress whose annotations belong to a
 * controller other than the one that serves it, so the timeouts, health
 * checks and protocols they set never apply.
 */
#include "k5_check.h"

/* Controllers, and the annotation families they read (bit masks of the same ids). */
enum {
    C_INGRESS_NGINX = 1u, /* kubernetes/ingress-nginx: nginx.ingress.kubernetes.io/ */
    C_F5_NGINX = 2u,      /* F5 NGINX Ingress Controller: nginx.org/, nginx.com/ */
    C_ALB = 4u,           /* AWS Load Balancer Controller: alb.ingress.kubernetes.io/ */
    C_GCE = 8u            /* GKE Ingress: ingress.gcp.kubernetes.io/ */
};

static const struct family {
    unsigned id;
    const char *prefix;
    const char *reader;
} families[] = {
    {C_INGRESS_NGINX, "nginx.ingress.kubernetes.io/", "ingress-nginx"},
    {C_F5_NGINX, "nginx.org/", "the F5 NGINX Ingress Controller"},
    {C_F5_NGINX, "nginx.com/", "the F5 NGINX Ingress Controller"},
    {C_ALB, "alb.ingress.kubernetes.io/", "the AWS Load Balancer Controller"},
    {C_GCE, "ingress.gcp.kubernetes.io/", "GKE Ingress"},
};
#define NFAMILIES (sizeof families / sizeof *families)

/* IngressClass spec.controller values, as each controller documents its own. */
static const struct controller {
    const char *name;
    unsigned reads;
    const char *who;
} controllers[] = {
    {"k8s.io/ingress-nginx", C_INGRESS_NGINX, "ingress-nginx"},
    {"nginx.org/ingress-controller", C_F5_NGINX, "the F5 NGINX Ingress Controller"},
    {"ingress.k8s.aws/alb", C_ALB, "the AWS Load Balancer Controller"},
    {"istio.io/ingress-controller", 0, "Istio's ingress gateway"},
};

/* Well-known class names when no IngressClass of the input says more. "nginx" is the default
 * class of both NGINX controllers, so it may read either NGINX family. */
static const struct known {
    const char *name;
    unsigned reads;
    const char *who;
} known[] = {
    {"alb", C_ALB, "the AWS Load Balancer Controller"},
    {"gce", C_GCE, "GKE Ingress"},
    {"gce-internal", C_GCE, "GKE Ingress"},
    {"nginx", C_INGRESS_NGINX | C_F5_NGINX, "an NGINX ingress controller"},
};

typedef struct served_by {
    unsigned reads;
    const char *who;
    char how[200]; /* `ingressClassName "alb"`, `IngressClass "x" (controller ...)` */
} served_by;

static bool str_is(k5_str s, const char *lit)
{
    return k5__str_eq(s, (k5_str){lit, strlen(lit)});
}

/* Which controller serves the Ingress, when it can be known; false otherwise. */
static bool serving_controller(const k5_check *c, const k5_object *ing, served_by *out)
{
    const k5_index *idx = k5_check_index(c);
    const k5_node *cls = k5_node_at(ing->root, "spec.ingressClassName");
    const char *field = "ingressClassName";
    if (!k5_node_str(cls).n) {
        cls = k5_map_get(ing->annotations, "kubernetes.io/ingress.class");
        field = "kubernetes.io/ingress.class";
    }
    k5_str name = k5_node_str(cls);
    if (!name.n)
        return false; /* the cluster's default class: not known from the manifest */
    const k5_object *ic = k5_index_find_cluster(idx, K5_KIND_INGRESSCLASS, name);
    if (ic) {
        k5_str ctl = k5_node_str(k5_node_at(ic->root, "spec.controller"));
        for (size_t i = 0; i < sizeof controllers / sizeof *controllers; i++)
            if (str_is(ctl, controllers[i].name)) {
                out->reads = controllers[i].reads;
                out->who = controllers[i].who;
                snprintf(out->how, sizeof out->how, "IngressClass \"%.*s\", controller %s",
                         (int)ic->name.n, ic->name.p, controllers[i].name);
                return true;
            }
        return false; /* a controller this rule does not know */
    }
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (str_is(name, known[i].name)) {
            out->reads = known[i].reads;
            out->who = known[i].who;
            snprintf(out->how, sizeof out->how, "%s \"%.*s\"", field, (int)name.n, name.p);
            return true;
        }
    return false;
}

static bool has_prefix(k5_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n > n && memcmp(s.p, prefix, n) == 0;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    if (!k5_node_len(obj->annotations))
        return K5_OK;
    served_by sb;
    if (!serving_controller(c, obj, &sb))
        return K5_OK;
    k5_status st = K5_OK;
    for (size_t f = 0; f < NFAMILIES && st == K5_OK; f++) {
        if (families[f].id & sb.reads)
            continue;
        const k5_node *first = NULL;
        char keys[300] = "";
        size_t len = 0, count = 0;
        for (size_t i = 0; i < k5_node_len(obj->annotations); i++) {
            k5_str key = k5_node_str(k5_map_key(obj->annotations, i));
            if (!has_prefix(key, families[f].prefix))
                continue;
            if (!count++)
                first = k5_map_value(obj->annotations, i);
            size_t pl = strlen(families[f].prefix);
            if (count <= 4 && len < sizeof keys) {
                int w = snprintf(keys + len, sizeof keys - len, "%s%.*s", len ? ", " : "",
                                 (int)(key.n - pl), key.p + pl);
                if (w > 0)
                    len += (size_t)w;
            }
        }
        if (!count)
            continue;
        st = k5_check_report(c, first, NULL,
                             "Ingress \"%.*s\" is served by %s (%s), which ignores %s* "
                             "annotations, read only by %s: %s%s never appl%s, and the "
                             "timeouts, health checks or protocols they set stay at the "
                             "controller's defaults",
                             (int)obj->name.n, obj->name.p, sb.who, sb.how, families[f].prefix,
                             families[f].reader, keys, count > 4 ? ", ..." : "",
                             count == 1 ? "ies" : "y");
    }
    return st;
}

const k5_rule k5__rule_annotation_ignored_by_controller = {
    .id = "annotation-ignored-by-controller",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_INGRESS,
    .scope = K5_SCOPE_CROSS,
    .cost = "O(1) per Ingress: its IngressClass by name (cluster-scoped)",
    .scope_note = NULL,
    .summary = "An Ingress carries annotations that the controller serving it does not read",
    .explanation =
        "Each ingress controller reads its own annotation prefix and ignores the others: "
        "ingress-nginx reads nginx.ingress.kubernetes.io/*, the F5 NGINX Ingress Controller "
        "nginx.org/* and nginx.com/*, the AWS Load Balancer Controller alb.ingress.kubernetes.io/*, "
        "GKE Ingress ingress.gcp.kubernetes.io/*. An Ingress moved to another class, or copied "
        "from a guide for the other NGINX, keeps annotations nobody reads: the proxy timeouts "
        "stay at their defaults (504 on slow requests), the health-check path stays `/` "
        "(targets unhealthy, 502/503), the backend protocol stays HTTP (502 against TLS pods). "
        "The controller comes from the IngressClass of the input named by ingressClassName or "
        "the kubernetes.io/ingress.class annotation, else from a well-known class name: alb, "
        "gce, gce-internal, and nginx (the default of both NGINX controllers, so only the "
        "ALB and GKE families are judged under it); an Ingress naming no class (the cluster's "
        "default) is not judged. References: "
        "https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations/, "
        "https://docs.nginx.com/nginx-ingress-controller/configuration/ingress-resources/"
        "advanced-configuration-with-annotations/, "
        "https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/"
        "annotations/, https://kubernetes.io/docs/concepts/services-networking/ingress/"
        "#ingress-class",
    .remediation = "Translate the annotations into the serving controller's own (for example "
                   "nginx.ingress.kubernetes.io/proxy-read-timeout into nginx.org/proxy-read-"
                   "timeout, or into alb.ingress.kubernetes.io/load-balancer-attributes), or "
                   "route the Ingress to the class that reads them.",
    .example_broken = "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata:\n"
                      "  name: web\n"
                      "  annotations:\n"
                      "    nginx.ingress.kubernetes.io/proxy-read-timeout: \"120\"\n"
                      "spec:\n"
                      "  ingressClassName: alb\n"
                      "  defaultBackend:\n"
                      "    service: {name: web, port: {number: 80}}\n",
    .example = "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata:\n"
               "  name: web\n"
               "  annotations:  # the ALB's own idle timeout\n"
               "    alb.ingress.kubernetes.io/load-balancer-attributes: "
               "idle_timeout.timeout_seconds=120\n"
               "spec:\n"
               "  ingressClassName: alb\n"
               "  defaultBackend:\n"
               "    service: {name: web, port: {number: 80}}\n",
    .check = check,
};
