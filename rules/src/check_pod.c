/*
 * Pod-spec helpers shared by the container, probe, lifecycle and resource
 * rules: container roles, probe handlers, and runtime heap flags.
 */
#include <ctype.h>
#include <stdlib.h>

#include "k5_check.h"
#include "k5_arith.h"

/* ---- containers ---- */

void k5__ctr_iter_init(k5__ctr_iter *it, const k5_object *obj, unsigned roles)
{
    it->lists[0] = k5_map_get(obj->pod_spec, "initContainers");
    it->lists[1] = k5_map_get(obj->pod_spec, "containers");
    it->roles = roles;
    it->list = 0;
    it->i = 0;
}

const k5_node *k5__ctr_next(k5__ctr_iter *it, k5__ctr_role *role)
{
    while (it->list < 2) {
        const k5_node *list = it->lists[it->list];
        if (it->i >= k5_node_len(list)) {
            it->list++;
            it->i = 0;
            continue;
        }
        const k5_node *ctr = k5_seq_at(list, it->i++);
        if (!k5_node_is_map(ctr))
            continue;
        k5__ctr_role r = K5__CTR_MAIN;
        /* A native sidecar (KEP-753) keeps running next to the app and may have probes. */
        if (it->list == 0)
            r = k5_node_is(k5_map_get(ctr, "restartPolicy"), "Always") ? K5__CTR_SIDECAR
                                                                       : K5__CTR_INIT;
        if (!(it->roles & r))
            continue;
        if (role)
            *role = r;
        return ctr;
    }
    return NULL;
}

const char *k5__ctr_role_str(k5__ctr_role role)
{
    switch (role) {
    case K5__CTR_SIDECAR:
        return "sidecar container";
    case K5__CTR_INIT:
        return "init container";
    default:
        return "container";
    }
}

const k5_node *k5__ctr_resource(const k5_node *ctr, const char *which, const char *resource)
{
    const k5_node *v = k5_map_get(k5_map_get(k5_map_get(ctr, "resources"), which), resource);
    return k5_node_kind(v) == K5_NODE_NULL ? NULL : v;
}

/* spec.resources has the shape of a container's resources. */
const k5_node *k5__pod_resource(const k5_object *obj, const char *which, const char *resource)
{
    return k5__ctr_resource(obj->pod_spec, which, resource);
}

const k5_node *k5__ctr_resource_parent(const k5_node *ctr, const char *which, const char *resource,
                                       char *missing, size_t size)
{
    char path[128];
    const char *rest;
    k5__snprintf(path, sizeof path, "resources.%s.%s", which, resource);
    const k5_node *at = k5__path_at(ctr, path, &rest);
    k5__snprintf(missing, size, "%s", rest ? rest : "");
    return at;
}

int64_t k5__pod_grace_seconds(const k5_object *obj, const k5_node **node)
{
    const k5_node *n = k5_map_get(obj->pod_spec, "terminationGracePeriodSeconds");
    int64_t v;
    if (!k5_node_int(n, &v)) {
        n = NULL;
        v = 30;
    }
    if (node)
        *node = n;
    return v;
}

/* ---- probes ---- */

static int64_t probe_field(const k5_node *probe, const char *key, int64_t def,
                           const k5_node **node)
{
    const k5_node *n = k5_map_get(probe, key);
    int64_t v;
    /* The API server replaces 0 (and an absent field) with the default. */
    if (!k5_node_int(n, &v) || v <= 0) {
        *node = NULL;
        return def;
    }
    *node = n;
    return v;
}

bool k5__probe_get(const k5_node *ctr, const char *field, k5__probe *out)
{
    const k5_node *p = k5_map_get(ctr, field);
    if (!k5_node_is_map(p))
        return false;
    static const struct {
        const char *key;
        k5__handler type;
    } handlers[] = {{"httpGet", K5__HANDLER_HTTP},
                    {"tcpSocket", K5__HANDLER_TCP},
                    {"grpc", K5__HANDLER_GRPC},
                    {"exec", K5__HANDLER_EXEC}};
    k5__probe r;
    memset(&r, 0, sizeof r);
    r.node = p;
    for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++) {
        const k5_node *h = k5_map_get(p, handlers[i].key);
        if (k5_node_is_map(h)) {
            r.handler = h;
            r.type = handlers[i].type;
            r.port = k5_map_get(h, "port");
            break;
        }
    }
    r.period = probe_field(p, "periodSeconds", 10, &r.period_node);
    r.failure = probe_field(p, "failureThreshold", 3, &r.failure_node);
    r.timeout = probe_field(p, "timeoutSeconds", 1, &r.timeout_node);
    *out = r;
    return true;
}

/* A string made only of decimal digits, as a number; false otherwise. */
static bool digits_value(k5_str s, int64_t *out)
{
    if (!s.n || s.n > 9)
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

int64_t k5__probe_port(const k5_node *ctr, const k5_node *port)
{
    k5_intstr v;
    if (!k5_intstr_get(port, &v))
        return 0;
    if (v.is_int)
        return v.i;
    const k5_node *ports = k5_map_get(ctr, "ports");
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        k5_str name = k5_node_str(k5_map_get(p, "name"));
        int64_t num;
        if (name.n == v.s.n && name.n && memcmp(name.p, v.s.p, name.n) == 0 &&
            k5_node_int(k5_map_get(p, "containerPort"), &num))
            return num;
    }
    /* The kubelet's last resort: an int stored as a string. */
    int64_t num;
    return digits_value(v.s, &num) ? num : 0;
}

/* The text of a scalar field, or `def` when it is absent. */
static k5_str text_or(const k5_node *map, const char *key, const char *def)
{
    k5_str s = k5_node_str(k5_map_get(map, key));
    if (!s.p) {
        s.p = def;
        s.n = strlen(def);
    }
    return s;
}

static bool str_eq(k5_str a, k5_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static bool same_port(const k5_node *ctr, const k5__probe *a, const k5__probe *b)
{
    int64_t pa = k5__probe_port(ctr, a->port), pb = k5__probe_port(ctr, b->port);
    if (pa && pb)
        return pa == pb;
    /* Unresolvable on either side: only the identical spelling is the same port. */
    return !pa && !pb && str_eq(k5_node_str(a->port), k5_node_str(b->port));
}

bool k5__probe_same_handler(const k5_node *ctr, const k5__probe *a, const k5__probe *b)
{
    if (a->type != b->type || a->type == K5__HANDLER_NONE)
        return false;
    switch (a->type) {
    case K5__HANDLER_HTTP: {
        /* An empty path is requested as "/", as the kubelet builds the URL. */
        k5_str pa = text_or(a->handler, "path", "/"), pb = text_or(b->handler, "path", "/");
        if (!pa.n)
            pa.p = "/", pa.n = 1;
        if (!pb.n)
            pb.p = "/", pb.n = 1;
        return str_eq(text_or(a->handler, "scheme", "HTTP"),
                      text_or(b->handler, "scheme", "HTTP")) &&
               str_eq(text_or(a->handler, "host", ""), text_or(b->handler, "host", "")) &&
               str_eq(pa, pb) && same_port(ctr, a, b);
    }
    case K5__HANDLER_TCP:
        return str_eq(text_or(a->handler, "host", ""), text_or(b->handler, "host", "")) &&
               same_port(ctr, a, b);
    case K5__HANDLER_GRPC:
        return str_eq(text_or(a->handler, "service", ""), text_or(b->handler, "service", "")) &&
               same_port(ctr, a, b);
    case K5__HANDLER_EXEC: {
        const k5_node *ca = k5_map_get(a->handler, "command"),
                      *cb = k5_map_get(b->handler, "command");
        if (!k5_node_is_seq(ca) || !k5_node_is_seq(cb) || k5_node_len(ca) != k5_node_len(cb) ||
            !k5_node_len(ca))
            return false;
        for (size_t i = 0; i < k5_node_len(ca); i++)
            if (!str_eq(k5_node_str(k5_seq_at(ca, i)), k5_node_str(k5_seq_at(cb, i))))
                return false;
        return true;
    }
    default:
        return false;
    }
}

void k5__probe_describe(const k5_node *ctr, const k5__probe *p, char *buf, size_t size)
{
    k5_str port = k5_node_str(p->port);
    int64_t num = k5__probe_port(ctr, p->port);
    char pbuf[80];
    if (num && !(port.n && isdigit((unsigned char)port.p[0])))
        snprintf(pbuf, sizeof pbuf, "port %.*s (%lld)", (int)port.n, port.p, (long long)num);
    else
        snprintf(pbuf, sizeof pbuf, "port %.*s", (int)port.n, port.p ? port.p : "");
    switch (p->type) {
    case K5__HANDLER_HTTP: {
        k5_str path = text_or(p->handler, "path", "/");
        k5_str scheme = text_or(p->handler, "scheme", "HTTP");
        snprintf(buf, size, "httpGet %.*s %.*s %s", (int)scheme.n, scheme.p,
                 path.n ? (int)path.n : 1, path.n ? path.p : "/", pbuf);
        break;
    }
    case K5__HANDLER_TCP:
        snprintf(buf, size, "tcpSocket %s", pbuf);
        break;
    case K5__HANDLER_GRPC: {
        k5_str svc = text_or(p->handler, "service", "");
        snprintf(buf, size, "grpc %s%s%.*s", pbuf, svc.n ? " service " : "", (int)svc.n, svc.p);
        break;
    }
    case K5__HANDLER_EXEC: {
        const k5_node *cmd = k5_map_get(p->handler, "command");
        size_t len = (size_t)snprintf(buf, size, "exec [");
        for (size_t i = 0; i < k5_node_len(cmd) && len < size; i++) {
            k5_str s = k5_node_str(k5_seq_at(cmd, i));
            int n = snprintf(buf + len, size - len, "%s\"%.*s\"", i ? ", " : "", (int)s.n,
                             s.p ? s.p : "");
            if (n > 0)
                len += (size_t)n;
        }
        if (len < size)
            snprintf(buf + len, size - len, "]");
        break;
    }
    default:
        snprintf(buf, size, "no handler");
        break;
    }
}

/* ---- runtime heap bounds ---- */

/* The value of the container's last env entry with that name (Kubernetes keeps the last). */
static const k5_node *env_value(const k5_node *ctr, const char *name, const k5_node **entry)
{
    const k5_node *env = k5_map_get(ctr, "env"), *found = NULL;
    for (size_t i = 0; i < k5_node_len(env); i++) {
        const k5_node *e = k5_seq_at(env, i);
        if (k5_node_is(k5_map_get(e, "name"), name))
            found = e;
    }
    if (entry)
        *entry = found;
    return k5_map_get(found, "value");
}

typedef void (*token_fn)(k5_str tok, k5_str next, const k5_node *at, const char *source, void *ud);

/*
 * Splits a scalar into whitespace-separated words, without the quotes a shell
 * would remove, and calls fn with each word and the one after it.
 */
static void each_token(const k5_node *n, const char *source, token_fn fn, void *ud)
{
    k5_str s = k5_node_str(n);
    if (!s.p) /* an empty or null scalar has no words (and s.p + 0 would be UB on NULL) */
        return;
    k5_str prev = {NULL, 0};
    size_t i = 0;
    for (;;) {
        while (i < s.n && (isspace((unsigned char)s.p[i]) || s.p[i] == '"' || s.p[i] == '\''))
            i++;
        size_t b = i;
        while (i < s.n && !isspace((unsigned char)s.p[i]))
            i++;
        size_t e = i;
        while (e > b && (s.p[e - 1] == '"' || s.p[e - 1] == '\'' || s.p[e - 1] == ';'))
            e--;
        k5_str tok = {s.p + b, e - b};
        if (prev.p)
            fn(prev, tok, n, source, ud);
        if (b >= s.n)
            break;
        prev = tok;
    }
}

/* Scans every word of the named env var's value, if it has a literal value. */
static void scan_env(const k5_node *ctr, const char *name, token_fn fn, void *ud)
{
    const k5_node *v = env_value(ctr, name, NULL);
    if (k5_node_is_scalar(v))
        each_token(v, name, fn, ud);
}

/* Scans every word of every item of command, then args. */
static void scan_cmdline(const k5_node *ctr, token_fn fn, void *ud)
{
    static const char *const fields[] = {"command", "args"};
    for (size_t f = 0; f < 2; f++) {
        const k5_node *list = k5_map_get(ctr, fields[f]);
        for (size_t i = 0; i < k5_node_len(list); i++)
            each_token(k5_seq_at(list, i), fields[f], fn, ud);
    }
}

static bool has_prefix(k5_str s, const char *prefix, k5_str *rest)
{
    size_t n = strlen(prefix);
    if (s.n < n || memcmp(s.p, prefix, n) != 0)
        return false;
    rest->p = s.p + n;
    rest->n = s.n - n;
    return true;
}

/* Decimal digits then an optional unit multiplier; false on anything else or overflow. */
static bool size_with_unit(k5_str s, int64_t unit, int64_t *out)
{
    int64_t v = 0;
    size_t i = 0;
    for (; i < s.n && isdigit((unsigned char)s.p[i]); i++) {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (s.p[i] - '0');
    }
    if (!i || i != s.n || (unit > 1 && v > INT64_MAX / unit))
        return false;
    *out = v * unit;
    return true;
}

/* A JVM size: bytes, or k/m/g/t (either case) as powers of 1024, as -Xmx reads it. */
static bool jvm_size(k5_str s, int64_t *out)
{
    if (!s.n)
        return false;
    int64_t unit = 1;
    switch (s.p[s.n - 1]) {
    case 'k':
    case 'K':
        unit = 1LL << 10;
        break;
    case 'm':
    case 'M':
        unit = 1LL << 20;
        break;
    case 'g':
    case 'G':
        unit = 1LL << 30;
        break;
    case 't':
    case 'T':
        unit = 1LL << 40;
        break;
    default:
        break;
    }
    if (unit > 1)
        s.n--;
    return size_with_unit(s, unit, out);
}

static void flag_set(k5__heap_flag *f, bool known, k5_str text, const k5_node *at,
                     const char *source)
{
    f->set = true;
    f->known = known;
    f->prefix = "";
    f->text = text;
    f->at = at;
    f->source = source;
}

typedef struct jvm_state {
    k5__heap_flag *max_heap, *ram_pct;
} jvm_state;

static void jvm_token(k5_str tok, k5_str next, const k5_node *at, const char *source, void *ud)
{
    (void)next;
    jvm_state *st = ud;
    k5_str rest;
    if (has_prefix(tok, "-Xmx", &rest) || has_prefix(tok, "-XX:MaxHeapSize=", &rest)) {
        int64_t v = 0;
        bool ok = jvm_size(rest, &v);
        flag_set(st->max_heap, ok, tok, at, source);
        st->max_heap->bytes = v;
    } else if (has_prefix(tok, "-XX:MaxRAMPercentage=", &rest)) {
        char num[32];
        char *end = NULL;
        double v = -1;
        if (rest.n && rest.n < sizeof num) {
            memcpy(num, rest.p, rest.n);
            num[rest.n] = '\0';
            v = strtod(num, &end);
        }
        bool ok = end && *end == '\0' && end != num && v >= 0 && v <= 100;
        flag_set(st->ram_pct, ok, tok, at, source);
        st->ram_pct->percent = ok ? v : 0;
    }
}

/*
 * The variables k5__heap_jvm reads, in the order their flags apply: JAVA_TOOL_OPTIONS and
 * JDK_JAVA_OPTIONS come before the command line, _JAVA_OPTIONS after. Between them, what
 * images' entrypoints expand on the java command line, like JAVA_OPTS (Kafka, Elasticsearch,
 * OpenSearch, Tomcat, Cassandra and many others), and Cassandra's MAX_HEAP_SIZE ("512M"),
 * which cassandra-env.sh turns into -Xmx.
 */
/* The first eight are read word by word. */
enum { JVM_WORD_VARS = 8, JVM_MAX_HEAP_SIZE = 8, JVM_UNDERSCORE_OPTIONS = 9, JVM_VARS = 10 };
static const char *const jvm_vars[JVM_VARS] = {"JAVA_TOOL_OPTIONS",
                                               "JDK_JAVA_OPTIONS",
                                               "JAVA_OPTS",
                                               "JVM_OPTS",
                                               "KAFKA_HEAP_OPTS",
                                               "ES_JAVA_OPTS",
                                               "OPENSEARCH_JAVA_OPTS",
                                               "CATALINA_OPTS",
                                               "MAX_HEAP_SIZE",
                                               "_JAVA_OPTIONS"};

void k5__heap_jvm(const k5_node *ctr, k5__heap_flag *max_heap, k5__heap_flag *ram_pct)
{
    memset(max_heap, 0, sizeof *max_heap);
    memset(ram_pct, 0, sizeof *ram_pct);
    jvm_state st = {max_heap, ram_pct};
    /* One pass over env for all ten names; as in env_value, the last entry of a name wins. */
    const k5_node *found[JVM_VARS] = {NULL};
    const k5_node *env = k5_map_get(ctr, "env");
    for (size_t i = 0; i < k5_node_len(env); i++) {
        const k5_node *e = k5_seq_at(env, i), *name = k5_map_get(e, "name");
        for (size_t j = 0; j < JVM_VARS; j++)
            if (k5_node_is(name, jvm_vars[j])) {
                found[j] = e;
                break;
            }
    }
    for (size_t j = 0; j < JVM_WORD_VARS; j++) {
        const k5_node *v = k5_map_get(found[j], "value");
        if (k5_node_is_scalar(v))
            each_token(v, jvm_vars[j], jvm_token, &st);
    }
    const k5_node *mhs = k5_map_get(found[JVM_MAX_HEAP_SIZE], "value");
    k5_str mv = k5_node_str(mhs);
    if (k5_node_is_scalar(mhs) && mv.n) {
        int64_t v = 0;
        bool ok = jvm_size(mv, &v);
        flag_set(max_heap, ok, mv, mhs, "MAX_HEAP_SIZE");
        max_heap->bytes = v;
    }
    scan_cmdline(ctr, jvm_token, &st);
    const k5_node *v = k5_map_get(found[JVM_UNDERSCORE_OPTIONS], "value");
    if (k5_node_is_scalar(v))
        each_token(v, "_JAVA_OPTIONS", jvm_token, &st);
}

typedef struct node_state {
    k5__heap_flag *f;
    bool pending; /* the last word was a bare --max-old-space-size: the value comes next */
} node_state;

static void node_value(node_state *st, k5_str text, k5_str value, const k5_node *at,
                       const char *source)
{
    int64_t v = 0;
    bool ok = size_with_unit(value, 1LL << 20, &v);
    flag_set(st->f, ok, text, at, source);
    st->f->bytes = v;
}

static void node_token(k5_str tok, k5_str next, const k5_node *at, const char *source, void *ud)
{
    node_state *st = ud;
    k5_str rest;
    if (st->pending) {
        /* The value is the first word of the next command/args item. */
        st->pending = false;
        node_value(st, tok, tok, at, source);
        st->f->prefix = "--max-old-space-size ";
        return;
    }
    if (has_prefix(tok, "--max-old-space-size=", &rest) ||
        has_prefix(tok, "--max_old_space_size=", &rest)) {
        node_value(st, tok, rest, at, source);
    } else if ((has_prefix(tok, "--max-old-space-size", &rest) ||
                has_prefix(tok, "--max_old_space_size", &rest)) &&
               rest.n == 0) {
        /* V8 also takes the value as the next word. */
        if (!next.n) {
            st->pending = true;
            return;
        }
        k5_str text = {tok.p, (size_t)(next.p + next.n - tok.p)};
        node_value(st, text, next, at, source);
    }
}

void k5__heap_node(const k5_node *ctr, k5__heap_flag *old_space)
{
    memset(old_space, 0, sizeof *old_space);
    node_state st = {old_space, false};
    /* Options on the command line take precedence over NODE_OPTIONS. */
    scan_env(ctr, "NODE_OPTIONS", node_token, &st);
    st.pending = false;
    scan_cmdline(ctr, node_token, &st);
}

/* Go's runtime/debug byte count: an integer with an optional B, KiB, MiB, GiB or TiB. */
static bool go_bytes(k5_str s, int64_t *out)
{
    static const struct {
        const char *suffix;
        int shift;
    } units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"B", 0}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        size_t n = strlen(units[i].suffix);
        if (s.n > n && memcmp(s.p + s.n - n, units[i].suffix, n) == 0) {
            k5_str num = {s.p, s.n - n};
            return size_with_unit(num, 1LL << units[i].shift, out);
        }
    }
    return size_with_unit(s, 1, out);
}

void k5__heap_go(const k5_node *ctr, int64_t limit, k5__heap_flag *memlimit)
{
    memset(memlimit, 0, sizeof *memlimit);
    const k5_node *entry = NULL;
    const k5_node *v = env_value(ctr, "GOMEMLIMIT", &entry);
    if (!entry)
        return;
    if (k5_node_is_scalar(v) && k5_node_kind(v) != K5_NODE_NULL) {
        k5_str s = k5_node_str(v);
        if (s.n == 3 && memcmp(s.p, "off", 3) == 0)
            return;
        int64_t b = 0;
        bool ok = go_bytes(s, &b);
        flag_set(memlimit, ok, s, v, NULL);
        memlimit->prefix = "GOMEMLIMIT=";
        memlimit->bytes = b;
        return;
    }
    /*
     * valueFrom.resourceFieldRef: limits.memory of this container, divided by
     * the divisor and rounded up, as the kubelet computes it; Go reads the
     * plain number as bytes.
     */
    const k5_node *ref = k5_node_at(entry, "valueFrom.resourceFieldRef");
    if (!ref || !limit || !k5_node_is(k5_map_get(ref, "resource"), "limits.memory"))
        return;
    const k5_node *cname = k5_map_get(ref, "containerName");
    k5_str own = k5__container_name(ctr);
    if (cname && !str_eq(k5_node_str(cname), own))
        return;
    int64_t divisor = 1;
    const k5_node *d = k5_map_get(ref, "divisor");
    if (d && (!k5_quantity_node(d, &divisor, NULL) || divisor <= 0))
        return;
    static const char text[] = "resourceFieldRef limits.memory";
    k5_str t = {text, sizeof text - 1};
    flag_set(memlimit, true, t, k5_map_get(ref, "resource"), NULL);
    memlimit->prefix = "GOMEMLIMIT from ";
    memlimit->bytes = limit / divisor + (limit % divisor != 0);
}

/* ---- Services, replicas, container names and ports ---- */

static bool found_one(const k5_object *o, void *ud)
{
    (void)o;
    *(bool *)ud = true;
    return false;
}

bool k5__workload_has_service(const k5_check *c, const k5_object *obj)
{
    bool found = false;
    const k5_index *idx = k5_check_index(c);
    if (idx)
        k5_index_services_for(idx, obj, found_one, &found);
    return found;
}

int64_t k5__workload_replicas(const k5_object *obj)
{
    int64_t r;
    if (k5_node_int(k5_node_at(obj->root, "spec.replicas"), &r))
        return r;
    return 1;
}

k5_str k5__container_name(const k5_node *container)
{
    k5_str s = k5_node_str(k5_map_get(container, "name"));
    if (!s.p)
        s.p = "";
    return s;
}

void k5__ports_describe(const k5_node *container, char *buf, size_t size)
{
    const k5_node *ports = k5_map_get(container, "ports");
    size_t len = 0;
    if (size)
        buf[0] = '\0';
    for (size_t i = 0; i < k5_node_len(ports) && len < size; i++) {
        const k5_node *p = k5_seq_at(ports, i);
        k5_str num = k5_node_str(k5_map_get(p, "containerPort"));
        k5_str proto = k5_node_str(k5_map_get(p, "protocol"));
        k5_str name = k5_node_str(k5_map_get(p, "name"));
        int n = k5__snprintf(buf + len, size - len, "%s%.*s/%.*s", len ? ", " : "", (int)num.n,
                             num.p ? num.p : "", proto.n ? (int)proto.n : 3,
                             proto.n ? proto.p : "TCP");
        if (n > 0)
            len += (size_t)n;
        if (name.n && len < size) {
            n = k5__snprintf(buf + len, size - len, " \"%.*s\"", (int)name.n, name.p);
            if (n > 0)
                len += (size_t)n;
        }
    }
    if (!len && size)
        k5__snprintf(buf, size, "none");
}

/* ---- preStop sleeps (prestop-exceeds-grace-period, lb-drain-exceeds-grace) ---- */

/* The last path component of a command ("/bin/sh" -> "sh"). */
static k5_str base_name(k5_str s)
{
    for (size_t i = s.n; i > 0; i--)
        if (s.p[i - 1] == '/') {
            s.p += i;
            s.n -= i;
            break;
        }
    return s;
}

static bool str_is(k5_str s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/*
 * A coreutils sleep operand ("10", "0.5", "2m", "1h") in milliseconds; *used
 * receives the number of bytes read. False when the text is not one.
 */
static bool sleep_operand(const char *s, size_t n, int64_t *ms, size_t *used)
{
    size_t i = 0;
    int64_t whole = 0, frac = 0, scale = 1000;
    for (; i < n && isdigit((unsigned char)s[i]); i++) {
        if (whole > 100000000)
            return false;
        whole = whole * 10 + (s[i] - '0');
    }
    size_t digits = i;
    if (i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]); i++, digits++)
            if (scale > 1) {
                scale /= 10;
                frac += (s[i] - '0') * scale;
            }
    }
    if (!digits)
        return false;
    int64_t mul = 1;
    if (i < n && strchr("smhd", s[i])) {
        mul = s[i] == 'm' ? 60 : s[i] == 'h' ? 3600 : s[i] == 'd' ? 86400 : 1;
        i++;
    }
    *ms = (whole * 1000 + frac) * mul;
    *used = i;
    return true;
}

/*
 * How long a shell script sleeps at least: it must begin with `sleep N`,
 * followed by its end or by ;, &&, || or a newline (so the sleep runs to the
 * end before anything else). Anything else has unknown duration.
 */
static bool script_sleep(k5_str s, int64_t *ms)
{
    if (!s.p) /* the script is not a scalar (k5_node_str gives {NULL, 0}): no sleep to read */
        return false;
    size_t i = 0;
    while (i < s.n && isspace((unsigned char)s.p[i]))
        i++;
    if (s.n - i >= 5 && memcmp(s.p + i, "exec ", 5) == 0)
        i += 5;
    size_t b = i;
    while (i < s.n && !isspace((unsigned char)s.p[i]))
        i++;
    k5_str cmd = {s.p + b, i - b};
    if (!str_is(base_name(cmd), "sleep"))
        return false;
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
        i++;
    size_t used;
    if (!sleep_operand(s.p + i, s.n - i, ms, &used))
        return false;
    i += used;
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
        i++;
    if (i == s.n || s.p[i] == ';' || s.p[i] == '\n')
        return true;
    return s.n - i >= 2 && (memcmp(s.p + i, "&&", 2) == 0 || memcmp(s.p + i, "||", 2) == 0);
}

bool k5__prestop_sleep(const k5_node *prestop, int64_t *ms, const k5_node **at)
{
    int64_t secs;
    const k5_node *n = k5_node_at(prestop, "sleep.seconds");
    if (k5_node_int(n, &secs)) {
        *ms = k5__mul_sat(secs, 1000);
        *at = n;
        return true;
    }
    const k5_node *cmd = k5_node_at(prestop, "exec.command");
    k5_str argv0 = base_name(k5_node_str(k5_seq_at(cmd, 0)));
    size_t argc = k5_node_len(cmd);
    if (str_is(argv0, "sleep") && argc >= 2) {
        /* coreutils sleep adds up all its operands. */
        int64_t total = 0;
        for (size_t i = 1; i < argc; i++) {
            k5_str a = k5_node_str(k5_seq_at(cmd, i));
            int64_t v;
            size_t used;
            if (!a.p || !sleep_operand(a.p, a.n, &v, &used) || used != a.n)
                return false;
            total = k5__add_sat(total, v);
        }
        *ms = total;
        *at = k5_seq_at(cmd, 1);
        return true;
    }
    static const char *const shells[] = {"sh", "bash", "ash", "dash", "zsh"};
    bool shell = false;
    for (size_t i = 0; i < sizeof shells / sizeof *shells; i++)
        shell = shell || str_is(argv0, shells[i]);
    if (!shell || argc < 3)
        return false;
    /* `sh -c SCRIPT`, also with combined flags such as -ec or -xc. */
    k5_str flag = k5_node_str(k5_seq_at(cmd, 1));
    if (flag.n < 2 || flag.p[0] != '-' || flag.p[flag.n - 1] != 'c')
        return false;
    if (!script_sleep(k5_node_str(k5_seq_at(cmd, 2)), ms))
        return false;
    *at = k5_seq_at(cmd, 2);
    return true;
}
