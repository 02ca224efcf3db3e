/*
 * lb-idle-timeout-exceeds-keepalive: the load balancer keeps idle connections to the pods
 * open longer than the backend server does, so it reuses connections the server is closing.
 */
#include <ctype.h>

#include "k5_arith.h"
#include "k5_check.h"

#define ALB_DEFAULT_IDLE 60 /* seconds: idle_timeout.timeout_seconds */
#define GCP_KEEPALIVE 600   /* seconds: Google's backend keepalive, fixed */

/* Words of a command line: each item of command/args split at whitespace. */
#define MAX_WORDS 128

typedef struct words {
    k5_str w[MAX_WORDS];
    size_t n;
} words;

static void split(words *ws, const k5_node *item)
{
    k5_str s = k5_node_str(item);
    for (size_t i = 0; i < s.n && ws->n < MAX_WORDS;) {
        while (i < s.n && isspace((unsigned char)s.p[i]))
            i++;
        size_t b = i;
        while (i < s.n && !isspace((unsigned char)s.p[i]) && s.p[i] != ';' && s.p[i] != '&')
            i++;
        if (i > b)
            ws->w[ws->n++] = (k5_str){s.p + b, i - b};
        while (i < s.n && (s.p[i] == ';' || s.p[i] == '&'))
            i++;
    }
}

static bool word_is(k5_str w, const char *lit)
{
    size_t n = strlen(lit);
    return w.n == n && memcmp(w.p, lit, n) == 0;
}

/* The last path component ("/usr/local/bin/gunicorn" -> "gunicorn"). */
static k5_str base(k5_str w)
{
    for (size_t i = w.n; i > 0; i--)
        if (w.p[i - 1] == '/')
            return (k5_str){w.p + i, w.n - i};
    return w;
}

/* A flag's value: `--flag V` or `--flag=V`; *i advances past it. False when word i is not it. */
static bool flag_value(const words *ws, size_t *i, const char *flag, k5_str *val)
{
    k5_str w = ws->w[*i];
    size_t fl = strlen(flag);
    if (w.n == fl && memcmp(w.p, flag, fl) == 0) {
        if (*i + 1 >= ws->n)
            return false;
        *val = ws->w[++*i];
        return true;
    }
    if (w.n > fl + 1 && memcmp(w.p, flag, fl) == 0 && w.p[fl] == '=') {
        *val = (k5_str){w.p + fl + 1, w.n - fl - 1};
        return true;
    }
    return false;
}

static bool number(k5_str s, int64_t *out)
{
    if (!s.n || s.n > 12)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (!isdigit((unsigned char)s.p[i]))
            return false;
        v = v * 10 + (s.p[i] - '0');
    }
    *out = v;
    return true;
}

/* What the backend states about its keep-alive. */
typedef struct keepalive {
    const char *server; /* "gunicorn", "uvicorn", "hypercorn", "next" */
    int64_t ms;         /* idle keep-alive timeout */
    k5_str flag;        /* as written, for the message */
    k5_str value;
} keepalive;

typedef enum server { SRV_NONE, SRV_GUNICORN, SRV_UVICORN, SRV_HYPERCORN, SRV_NEXT } server;

static server server_of(const words *ws)
{
    server s = SRV_NONE;
    for (size_t i = 0; i < ws->n; i++) {
        k5_str b = base(ws->w[i]);
        /* gunicorn runs uvicorn's workers (-k uvicorn.workers.UvicornWorker): gunicorn's
         * keep-alive applies then. */
        if (word_is(b, "gunicorn"))
            return SRV_GUNICORN;
        if (word_is(b, "uvicorn") && s == SRV_NONE)
            s = SRV_UVICORN;
        else if (word_is(b, "hypercorn") && s == SRV_NONE)
            s = SRV_HYPERCORN;
        else if (word_is(b, "next") && i + 1 < ws->n && word_is(ws->w[i + 1], "start") &&
                 s == SRV_NONE)
            s = SRV_NEXT;
    }
    return s;
}

/*
 * Reads the keep-alive the container's command line (and, for gunicorn, GUNICORN_CMD_ARGS,
 * which the command line overrides) states. False when it states none, or when the server
 * keeps no connection alive (gunicorn's default sync worker ignores --keep-alive; 0 turns
 * keep-alive off).
 */
static bool keepalive_of(const k5_node *ctr, keepalive *ka)
{
    words ws = {.n = 0};
    const k5_node *env = k5_map_get(ctr, "env");
    for (size_t i = 0; i < k5_node_len(env); i++) {
        const k5_node *e = k5_seq_at(env, i);
        if (k5_node_is(k5_map_get(e, "name"), "GUNICORN_CMD_ARGS"))
            split(&ws, k5_map_get(e, "value"));
    }
    size_t env_words = ws.n;
    const char *lists[] = {"command", "args"};
    for (int l = 0; l < 2; l++) {
        const k5_node *seq = k5_map_get(ctr, lists[l]);
        for (size_t i = 0; i < k5_node_len(seq); i++)
            split(&ws, k5_seq_at(seq, i));
    }
    server srv = server_of(&ws);
    if (srv == SRV_NONE)
        return false;
    static const char *const names[] = {"", "gunicorn", "uvicorn", "hypercorn", "next"};
    const char *flag = srv == SRV_GUNICORN || srv == SRV_HYPERCORN ? "--keep-alive"
                       : srv == SRV_UVICORN                        ? "--timeout-keep-alive"
                                                                   : "--keepAliveTimeout";
    bool found = false, async_worker = false;
    int64_t threads = 1;
    for (size_t i = 0; i < ws.n; i++) {
        if (srv != SRV_GUNICORN && i < env_words)
            continue; /* GUNICORN_CMD_ARGS is gunicorn's only */
        size_t at = i;
        k5_str v;
        int64_t n;
        if (flag_value(&ws, &i, flag, &v)) {
            if (number(v, &n)) {
                ka->ms = srv == SRV_NEXT ? n : k5__mul_sat(n, 1000);
                ka->flag = ws.w[at];
                /* `--keep-alive=5` is one word: it is shown as written. */
                ka->value = at == i ? (k5_str){"", 0} : v;
                found = true;
            } else {
                found = false; /* `--keep-alive $KA`: unknown */
            }
        } else if (srv == SRV_GUNICORN &&
                   (flag_value(&ws, &i, "-k", &v) || flag_value(&ws, &i, "--worker-class", &v))) {
            async_worker = !word_is(v, "sync");
        } else if (srv == SRV_GUNICORN && ws.w[i].n > 2 && memcmp(ws.w[i].p, "-k", 2) == 0 &&
                   ws.w[i].p[2] != '-') {
            k5_str cls = {ws.w[i].p + 2, ws.w[i].n - 2};
            async_worker = !word_is(cls, "sync");
        } else if (srv == SRV_GUNICORN && flag_value(&ws, &i, "--threads", &v)) {
            if (!number(v, &threads))
                threads = 1;
        }
    }
    /* gunicorn's sync worker closes every connection after its response: nothing to reuse
     * (with --threads above 1 gunicorn runs the threaded worker, which keeps them alive). */
    if (!found || ka->ms <= 0 || (srv == SRV_GUNICORN && !async_worker && threads <= 1))
        return false;
    ka->server = names[srv];
    return true;
}

typedef struct idle_walk {
    const k5_object *ing;
    const k5_node *at;
    const char *lb;       /* "the ALB", "Google's load balancer" */
    int64_t idle;         /* seconds */
    const char *why;      /* how the idle timeout is known */
} idle_walk;

static k5_status judge_target(k5_check *c, const k5__lb_target *t, void *ud)
{
    idle_walk *iw = ud;
    keepalive ka;
    if (!t->ctr || !keepalive_of(t->ctr, &ka) || ka.ms > k5__mul_sat(iw->idle, 1000))
        return K5_OK;
    const k5_object *w = t->workload;
    k5_str cn = k5__container_name(t->ctr);
    char ka_s[48];
    if (ka.ms % 1000)
        snprintf(ka_s, sizeof ka_s, "%lld.%03llds", (long long)(ka.ms / 1000),
                 (long long)(ka.ms % 1000));
    else
        snprintf(ka_s, sizeof ka_s, "%llds", (long long)(ka.ms / 1000));
    return k5_check_report(
        c, iw->at, NULL,
        "Ingress \"%.*s\": %s keeps idle connections to the pods open for %llds (%s), but %s "
        "in container \"%.*s\" of %.*s \"%.*s\" closes them after %s (%.*s%s%.*s): the load "
        "balancer can send a request on a connection the server is closing, and that request "
        "gets 502",
        (int)iw->ing->name.n, iw->ing->name.p, iw->lb, (long long)iw->idle, iw->why, ka.server,
        (int)cn.n, cn.p, (int)w->kind.n, w->kind.p, (int)w->name.n, w->name.p, ka_s,
        (int)ka.flag.n, ka.flag.p, ka.value.n ? " " : "", (int)ka.value.n, ka.value.p);
}

/* What judge_target reads from a target: the keep-alive its server states, if any. */
static void feat_of(const k5__lb_target *t, const void *ud, k5__lb_feat *out)
{
    (void)ud;
    keepalive ka;
    out->never = !t->ctr || !keepalive_of(t->ctr, &ka);
    out->v = out->never ? 0 : ka.ms;
}

typedef struct ing_walk {
    idle_walk base;
    bool classless;
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
    idle_walk w = iw->base;
    if (!w.lb) {
        /* Without a class: GKE's only when the Service is set up for GKE. */
        if (!(iw->classless && (k5_map_get(svc->annotations, "cloud.google.com/neg") ||
                                k5_map_get(svc->annotations, "cloud.google.com/backend-config") ||
                                k5_map_get(svc->annotations,
                                           "beta.cloud.google.com/backend-config"))))
            return K5_OK;
        w.lb = "Google's load balancer";
        w.idle = GCP_KEEPALIVE;
        w.why = "its fixed backend keepalive";
    }
    if (!w.at)
        w.at = b->service;
    /* judge_target reports when the keep-alive is at most the idle timeout: v < it + 1 (a
     * keep-alive is below 10^15 ms, so a saturated timeout takes every one). */
    int64_t idle_ms = k5__mul_sat(w.idle, 1000);
    k5__lb_query q = {.feat = feat_of, .lt = idle_ms < INT64_MAX ? idle_ms + 1 : INT64_MAX};
    return k5__lb_each_indexed(c, svc, port, judge_target, &w, &q);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    ing_walk iw = {.nseen = 0};
    iw.base.ing = obj;
    k5__lb lb = k5__ingress_lb(c, obj);
    if (lb == K5__LB_ALB) {
        const k5_node *attrs =
            k5_map_get(obj->annotations, "alb.ingress.kubernetes.io/load-balancer-attributes");
        k5_str v;
        int64_t secs;
        iw.base.lb = "the ALB";
        iw.base.idle = ALB_DEFAULT_IDLE;
        iw.base.why = "AWS's default idle_timeout.timeout_seconds";
        if (attrs && k5__lb_attr(k5_node_str(attrs), "idle_timeout.timeout_seconds", &v)) {
            if (!k5__lb_seconds(v, &secs))
                return K5_OK;
            iw.base.idle = secs;
            iw.base.why = "idle_timeout.timeout_seconds";
            iw.base.at = attrs;
        }
    } else if (lb == K5__LB_GCE) {
        iw.base.lb = "Google's load balancer";
        iw.base.idle = GCP_KEEPALIVE;
        iw.base.why = "its fixed backend keepalive";
    } else {
        iw.classless = !k5_map_get(obj->annotations, "kubernetes.io/ingress.class") &&
                       !k5_node_at(obj->root, "spec.ingressClassName");
        if (!iw.classless)
            return K5_OK;
    }
    return k5__ingress_each_backend(c, obj, judge_backend, &iw);
}

const k5_rule k5__rule_lb_idle_timeout_exceeds_keepalive = {
    .id = "lb-idle-timeout-exceeds-keepalive",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KIND_INGRESS,
    .scope = K5_SCOPE_CROSS,
    .scope_note = "judges only a keep-alive the container states on its command line "
                  "(gunicorn --keep-alive, also through GUNICORN_CMD_ARGS, with a non-sync "
                  "worker; uvicorn --timeout-keep-alive; hypercorn --keep-alive; next start "
                  "--keepAliveTimeout): a server's built-in default (Node's 5s, gunicorn's "
                  "2s) or a value in a config file is not in the manifest, so it stays silent",
    .cost = "O(backends + pods selected) per Ingress: Services by name and pod templates by "
            "label (hash index)"
            "; the workloads a selector reaches are found once per run for all the Services of "
            "one namespace, selector and file (and every Ingress naming them), a workload "
            "selected many times under one Kind/name is judged once (a hash table, not "
            "pairs); the keep-alive each of those workloads states is kept once per run per "
            "(those workloads, targetPort) in a segment tree over them in order, and each "
            "Ingress visits only the workloads whose keep-alive is at most its idle timeout, "
            "each found in O(log n): n Services with one selector over n workloads of "
            "different names cost n log n, with one idle timeout or n different ones "
            "(bench/scale_bench.sh figures 9 and 11), as do n copies of a stream (figure 8)",
    .summary = "A load balancer reuses idle connections longer than the backend keeps them",
    .explanation =
        "An ALB or Google's load balancer keeps its connections to the pods open between "
        "requests and reuses them: for up to the ALB's idle timeout "
        "(idle_timeout.timeout_seconds, default 60s) or Google's backend keepalive (fixed at "
        "600s). When the server's own keep-alive timeout is shorter, the server closes a "
        "connection the load balancer is about to reuse; the request sent on it fails and the "
        "load balancer answers 502. AWS recommends an application idle timeout larger than "
        "the load balancer's "
        "(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
        "edit-load-balancer-attributes.html#connection-idle-timeout), Google a backend "
        "keepalive above 600s "
        "(https://cloud.google.com/load-balancing/docs/https#http-keepalive-timeout).",
    .remediation = "Make the server's keep-alive longer than the load balancer's idle timeout "
                   "(gunicorn --keep-alive 65 with an ALB at 60s, 620 behind Google's load "
                   "balancer), or lower the ALB's idle_timeout.timeout_seconds below it.",
    .example_broken = "apiVersion: networking.k8s.io/v1\n"
                      "kind: Ingress\n"
                      "metadata:\n"
                      "  name: web\n"
                      "  annotations:\n"
                      "    kubernetes.io/ingress.class: gce\n"
                      "spec:\n"
                      "  defaultBackend:\n"
                      "    service:\n"
                      "      name: web\n"
                      "      port: {number: 80}\n"
                      "---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  type: NodePort\n"
                      "  selector: {app: web}\n"
                      "  ports: [{port: 80, targetPort: 3000}]\n"
                      "---\n"
                      "apiVersion: apps/v1\n"
                      "kind: Deployment\n"
                      "metadata: {name: web}\n"
                      "spec:\n"
                      "  selector: {matchLabels: {app: web}}\n"
                      "  template:\n"
                      "    metadata: {labels: {app: web}}\n"
                      "    spec:\n"
                      "      containers:\n"
                      "        - name: web\n"
                      "          image: web\n"
                      "          command: [\"npx\", \"next\", \"start\", \"-p\", \"3000\", \"--keepAliveTimeout\", \"65000\"]\n",
    .example = "apiVersion: networking.k8s.io/v1\n"
               "kind: Ingress\n"
               "metadata:\n"
               "  name: web\n"
               "  annotations:\n"
               "    kubernetes.io/ingress.class: gce\n"
               "spec:\n"
               "  defaultBackend:\n"
               "    service:\n"
               "      name: web\n"
               "      port: {number: 80}\n"
               "---\n"
               "apiVersion: v1\n"
               "kind: Service\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  type: NodePort\n"
               "  selector: {app: web}\n"
               "  ports: [{port: 80, targetPort: 3000}]\n"
               "---\n"
               "apiVersion: apps/v1\n"
               "kind: Deployment\n"
               "metadata: {name: web}\n"
               "spec:\n"
               "  selector: {matchLabels: {app: web}}\n"
               "  template:\n"
               "    metadata: {labels: {app: web}}\n"
               "    spec:\n"
               "      containers:\n"
               "        - name: web\n"
               "          image: web\n"
               "          command: [\"npx\", \"next\", \"start\", \"-p\", \"3000\", \"--keepAliveTimeout\", \"620000\"]\n",
    .check = check,
};
