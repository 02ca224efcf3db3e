/*
 * The cluster cache (see k5_cluster.h): trimmed objects in one compact block
 * each, and posting lists kept up to date by every put and remove.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "k5_check.h"
#include "k5_internal.h"

/* ---- one cached object ---- */

/* What the indexes and the partner search read of an object (a subject or a cached one). */
typedef struct ref {
    const k5_node *root;
    const k5_node *pod_labels; /* workloads: the pod template's labels (a map) or NULL */
    k5_str kind, ns, name;
    k5_kind kind_id; /* one bit */
} ref;

/*
 * One cached object: an 8-byte header, then its nodes (the root first) and the strings no
 * common word covers. Kind, namespace, name and pod labels are read from the nodes when
 * needed (e_ref) rather than kept twice: 72 bytes a Deployment less than a copy of the ref.
 * Some value subtrees are shared between objects (`shape` below); their nodes live outside
 * the block.
 */
typedef struct entry {
    uint32_t bytes;   /* this struct and its nodes and strings, not the shapes */
    uint8_t kind_bit; /* the k5_kind's bit */
    bool stale;
    k5_node blk[]; /* nodes, then strings */
} entry;

static const k5_node *e_root(const entry *e)
{
    return e->blk;
}

static k5_kind e_kind(const entry *e)
{
    return K5_KIND_AT(e->kind_bit);
}

static k5_str e_meta(const entry *e, const char *key)
{
    return k5_node_str(k5_map_get(k5_map_get(e_root(e), "metadata"), key));
}

static k5_str e_ns(const entry *e)
{
    /* A cluster-scoped object is keyed under no namespace (identify), whatever it says. */
    if (k5_kind_info_of(e_kind(e))->flags & K5_KF_CLUSTER_SCOPED)
        return (k5_str){"", 0};
    return e_meta(e, "namespace");
}

static k5_str e_name(const entry *e)
{
    return e_meta(e, "name");
}

static const k5_node *e_pod_labels(const entry *e)
{
    const k5_node *l = k5_node_at(e_root(e), "spec.template.metadata.labels");
    return k5_node_is_map(l) ? l : NULL;
}

static void fill_ref(ref *o, const k5_node *root, k5_kind kind)
{
    memset(o, 0, sizeof *o);
    o->root = root;
    o->kind = k5_node_str(k5_map_get(root, "kind"));
    o->kind_id = kind;
    const k5_node *meta = k5_map_get(root, "metadata");
    o->name = k5_node_str(k5_map_get(meta, "name"));
    /* A cluster-scoped object is keyed under no namespace (identify), whatever it says. */
    o->ns = (k5_kind_info_of(kind)->flags & K5_KF_CLUSTER_SCOPED)
                ? (k5_str){"", 0}
                : k5_node_str(k5_map_get(meta, "namespace"));
    if (kind & K5_KINDS_WORKLOAD) {
        o->pod_labels = k5_node_at(root, "spec.template.metadata.labels");
        if (!k5_node_is_map(o->pod_labels))
            o->pod_labels = NULL;
    }
}

static ref e_ref(const entry *e)
{
    ref r;
    fill_ref(&r, e_root(e), e_kind(e));
    return r;
}

/*
 * A shared value subtree ("shape"): the items of a container's `ports`, `lifecycle` or
 * `readinessProbe`, and of a Service's `ports`, are the same in most objects of a chart (the
 * same probe, the same preStop sleep, the same port list), so each distinct one is stored
 * once, with a reference count, and every entry's value node points at its items. A shape is
 * found from its items (container_of) when an entry is freed.
 */
typedef struct shape {
    struct shape *next; /* hash chain */
    uint64_t hash;
    uint32_t refs;
    uint32_t bytes;  /* this struct, its nodes and strings */
    k5_node items[]; /* the value's items, then the nodes below them, then strings */
} shape;

typedef struct shape_set {
    shape **slots;
    size_t cap, len;
} shape_set;

/* ---- string -> list of entries, with removal ---- */

/*
 * Most keys (a name, an app label) have one entry: its posting list is the bucket's own
 * `one` slot, and only a second entry allocates an array. A separate one-pointer array cost
 * a 32-byte heap chunk per unique key, two per Deployment; the slot fits in the padding the
 * bucket's heap chunk already had (bench/cluster_bench.sh measures the heap).
 */
typedef struct bucket {
    struct bucket *next;
    uint64_t hash;
    entry **v; /* &one while cap == 1, else a heap array */
    entry *one;
    uint32_t n, cap;
    uint32_t klen;
    char key[]; /* klen bytes */
} bucket;

typedef struct pmap {
    bucket **slots;
    size_t cap, len;
} pmap;

struct k5_cluster {
    pmap names;    /* kind, ns, name        -> the object */
    pmap ns_kind;  /* kind, ns              -> objects (counts and witnesses) */
    pmap pod_lab;  /* ns, key, value        -> workloads whose pod template has that label */
    pmap svc_sel;  /* ns, key, value        -> Services whose selector's first pair it is */
    pmap pdb_sel;  /* ns, key, value        -> PDBs whose matchLabels' first pair it is */
    pmap pdb_scan; /* ns                    -> PDBs without matchLabels */
    pmap hpa_tgt;  /* ns, Kind, name        -> HPAs scaling that workload */
    pmap ing_svc;  /* ns, Service name      -> Ingresses with a backend on that Service */
    shape_set shapes;
    size_t counts[K5__KIND_COUNT];
    size_t bytes; /* objects + shapes + buckets + posting arrays */
};

static bucket *pmap_find(const pmap *m, const char *key, size_t klen, uint64_t h)
{
    if (!m->cap)
        return NULL;
    for (bucket *b = m->slots[h & (m->cap - 1)]; b; b = b->next)
        if (b->hash == h && b->klen == klen && memcmp(b->key, key, klen) == 0)
            return b;
    return NULL;
}

static const bucket *pmap_get(const pmap *m, const char *key, size_t klen)
{
    return pmap_find(m, key, klen, k5__hash(key, klen, 0));
}

static bool pmap_grow(pmap *m, size_t *bytes)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    bucket **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < m->cap; i++)
        for (bucket *b = m->slots[i], *next; b; b = next) {
            next = b->next;
            b->next = slots[b->hash & (cap - 1)];
            slots[b->hash & (cap - 1)] = b;
        }
    free(m->slots);
    *bytes += (cap - m->cap) * sizeof *slots;
    m->slots = slots;
    m->cap = cap;
    return true;
}

static bool pmap_add(pmap *m, const char *key, size_t klen, entry *e, size_t *bytes)
{
    uint64_t h = k5__hash(key, klen, 0);
    bucket *b = pmap_find(m, key, klen, h);
    if (!b) {
        if ((m->len + 1) * 4 > m->cap * 3 && !pmap_grow(m, bytes))
            return false;
        b = calloc(1, sizeof *b + klen);
        if (!b)
            return false;
        b->hash = h;
        b->klen = (uint32_t)klen;
        b->v = &b->one;
        b->cap = 1;
        memcpy(b->key, key, klen);
        b->next = m->slots[h & (m->cap - 1)];
        m->slots[h & (m->cap - 1)] = b;
        m->len++;
        *bytes += sizeof *b + klen;
    }
    if (b->n == b->cap) {
        uint32_t cap = b->cap * 2;
        bool inline_ = b->v == &b->one;
        entry **v = realloc(inline_ ? NULL : b->v, cap * sizeof *v);
        if (!v)
            return false; /* an empty new bucket stays: harmless, found empty */
        if (inline_)
            v[0] = b->one;
        *bytes += (cap - (inline_ ? 0 : b->cap)) * sizeof *v;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = e;
    return true;
}

static void pmap_del(pmap *m, const char *key, size_t klen, const entry *e, size_t *bytes)
{
    uint64_t h = k5__hash(key, klen, 0);
    if (!m->cap)
        return;
    bucket **pp = &m->slots[h & (m->cap - 1)];
    for (bucket *b = *pp; b; pp = &b->next, b = b->next) {
        if (b->hash != h || b->klen != klen || memcmp(b->key, key, klen) != 0)
            continue;
        for (uint32_t i = 0; i < b->n; i++)
            if (b->v[i] == e) {
                b->v[i] = b->v[--b->n];
                break;
            }
        if (b->n == 0) {
            *pp = b->next;
            bool inline_ = b->v == &b->one;
            *bytes -= sizeof *b + b->klen + (inline_ ? 0 : b->cap * sizeof *b->v);
            if (!inline_)
                free(b->v);
            free(b);
            m->len--;
        }
        return;
    }
}

static void pmap_free(pmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        for (bucket *b = m->slots[i], *next; b; b = next) {
            next = b->next;
            if (b->v != &b->one)
                free(b->v);
            free(b);
        }
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- keys: NUL-separated parts, as the run-time index spells them ---- */

static void key_str(k5__key *k, k5_str s)
{
    k5__key_add(k, s.p ? s.p : "", s.n);
}

/* The kind's bit; "other" for none (never for a cached object). */
static int kind_bit(k5_kind kind)
{
    int b = k5_kind_bit(kind);
    return b < 0 ? K5__KIND_BIT_OTHER : b;
}

static void key_kind_ns(k5__key *k, k5_kind kind, k5_str ns)
{
    k->n = 0;
    char c = (char)('A' + kind_bit(kind));
    k5__key_add(k, &c, 1);
    key_str(k, ns);
}

static bool str_eq(k5_str a, k5_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* ---- what each kind keeps: the projection ---- */

/* Copies obj[name] into out when present. */
static bool keep(cJSON *out, const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    if (!v)
        return true;
    cJSON *d = cJSON_Duplicate(v, true);
    return d && cJSON_AddItemToObject(out, name, d);
}

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
}

/* The annotations rules read: kube5xx/... and the load-balancer controllers' settings that the
 * lb-* rules and backend-protocol-mismatch judge on an Ingress's Services. */
static bool annotation_kept(const char *name)
{
    static const char *const prefixes[] = {"kube5xx/",
                                           "alb.ingress.kubernetes.io/",
                                           "service.beta.kubernetes.io/aws-load-balancer-",
                                           "cloud.google.com/backend-config",
                                           "beta.cloud.google.com/backend-config",
                                           "cloud.google.com/app-protocols",
                                           "kubernetes.io/ingress.class",
                                           NULL};
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(name, *p, strlen(*p)) == 0)
            return true;
    return false;
}

/* Only the annotations rules read: the rest (last-applied-configuration first) is bulk. */
static bool keep_annotations(cJSON *out, const cJSON *meta)
{
    const cJSON *ann = get(meta, "annotations");
    cJSON *kept = NULL;
    for (const cJSON *a = cJSON_IsObject(ann) ? ann->child : NULL; a; a = a->next) {
        if (!a->string || !annotation_kept(a->string))
            continue;
        if (!kept && !(kept = cJSON_AddObjectToObject(out, "annotations")))
            return false;
        cJSON *d = cJSON_Duplicate(a, true);
        if (!d || !cJSON_AddItemToObject(kept, a->string, d)) {
            cJSON_Delete(d);
            return false;
        }
    }
    return true;
}

/* A command or args element the port check reads: only ones that mention a number. */
static bool has_digit(const char *s)
{
    for (; s && *s; s++)
        if (*s >= '0' && *s <= '9')
            return true;
    return false;
}

/* True when a command line runs an HTTP server whose keep-alive flags a rule reads: then every
 * word counts (lb-idle-timeout-exceeds-keepalive reads `-k gthread`, not only numbers). */
static bool names_http_server(const cJSON *seq)
{
    static const char *const servers[] = {"gunicorn", "uvicorn", "hypercorn", "next", NULL};
    for (const cJSON *a = cJSON_IsArray(seq) ? seq->child : NULL; a; a = a->next)
        for (const char *const *w = servers; cJSON_IsString(a) && *w; w++)
            if (strstr(a->valuestring, *w))
                return true;
    return false;
}

static bool project_args(cJSON *out, const cJSON *ctr, const char *name)
{
    const cJSON *seq = get(ctr, name);
    cJSON *kept = NULL;
    bool all = names_http_server(get(ctr, "command")) || names_http_server(get(ctr, "args"));
    for (const cJSON *a = cJSON_IsArray(seq) ? seq->child : NULL; a; a = a->next) {
        if (!cJSON_IsString(a) || !(all || has_digit(a->valuestring)))
            continue;
        if (!kept && !(kept = cJSON_AddArrayToObject(out, name)))
            return false;
        cJSON *d = cJSON_CreateString(a->valuestring);
        if (!d || !cJSON_AddItemToArray(kept, d)) {
            cJSON_Delete(d);
            return false;
        }
    }
    return true;
}

/*
 * What lb-healthcheck-mismatch reads of a readiness probe (k5__probe_get): the handler the
 * kubelet uses (the first of httpGet, tcpSocket, grpc, exec that is a map), its port, and for
 * httpGet the path and a scheme other than the default HTTP. Timings, headers and an exec's
 * command are dropped; an exec probe keeps only its type.
 */
static bool project_probe(cJSON *c, const cJSON *ctr)
{
    static const char *const handlers[] = {"httpGet", "tcpSocket", "grpc", "exec", NULL};
    const cJSON *probe = get(ctr, "readinessProbe");
    if (!cJSON_IsObject(probe))
        return true;
    cJSON *out = cJSON_AddObjectToObject(c, "readinessProbe");
    if (!out)
        return false;
    for (const char *const *h = handlers; *h; h++) {
        const cJSON *hv = get(probe, *h);
        if (!cJSON_IsObject(hv))
            continue;
        cJSON *ho = cJSON_AddObjectToObject(out, *h);
        if (!ho)
            return false;
        if (h == handlers + 3)
            return true;
        const cJSON *scheme = get(hv, "scheme");
        return keep(ho, hv, "port") && (h != handlers || keep(ho, hv, "path")) &&
               (h != handlers || !scheme ||
                (cJSON_IsString(scheme) && strcmp(scheme->valuestring, "HTTP") == 0) ||
                keep(ho, hv, "scheme"));
    }
    return true;
}

/*
 * A preStop as the drain time the rules read (k5__prestop_sleep): a known whole number of
 * seconds, however it was written (`sleep: {seconds: N}`, `exec: [sleep, N]`, `sh -c "sleep
 * N; ..."`), is kept as `sleep: {seconds: N}`; any other known duration as written; an
 * unknown one as an empty preStop (there is one, its duration cannot be read).
 */
static bool project_prestop(cJSON *c, const cJSON *ctr)
{
    const cJSON *prestop = get(get(ctr, "lifecycle"), "preStop");
    if (!prestop)
        return true;
    cJSON *lc = cJSON_AddObjectToObject(c, "lifecycle");
    if (!lc)
        return false;
    k5__arena tmp = {0};
    k5_error err = {0};
    k5_status st = K5_OK;
    const k5_node *n = k5__node_from_cjson(&tmp, prestop, 0, &err, &st);
    int64_t ms = 0;
    const k5_node *at = NULL;
    bool known = n && k5__prestop_sleep(n, &ms, &at);
    k5__arena_free(&tmp);
    if (!n && st == K5_ENOMEM)
        return false;
    cJSON *ps = NULL, *sl = NULL;
    /* Whole seconds a JSON number holds exactly (an API server sends doubles past 2^53). */
    int64_t exact = INT64_C(1) << 53;
    if (known && ms % 1000 == 0 && ms / 1000 <= exact && ms / 1000 >= -exact)
        return (ps = cJSON_AddObjectToObject(lc, "preStop")) &&
               (sl = cJSON_AddObjectToObject(ps, "sleep")) &&
               cJSON_AddNumberToObject(sl, "seconds", (double)(ms / 1000));
    if (known)
        return keep(lc, get(ctr, "lifecycle"), "preStop");
    return cJSON_AddObjectToObject(lc, "preStop") != NULL;
}

/*
 * A list of ports (a container's or a Service's), each cut to the fields named: the rules read
 * nothing else. With tcp_implicit, a protocol of "TCP" (the API's default) is left out.
 */
static bool project_ports(cJSON *into, const cJSON *ports, const char *const *fields,
                          bool tcp_implicit)
{
    if (!cJSON_IsArray(ports))
        return true;
    cJSON *pl = cJSON_AddArrayToObject(into, "ports");
    if (!pl)
        return false;
    for (const cJSON *p = ports->child; p; p = p->next) {
        cJSON *q = cJSON_CreateObject();
        if (!q || !cJSON_AddItemToArray(pl, q)) {
            cJSON_Delete(q);
            return false;
        }
        for (const char *const *f = fields; *f; f++) {
            const cJSON *v = get(p, *f);
            if (tcp_implicit && strcmp(*f, "protocol") == 0 && cJSON_IsString(v) &&
                strcmp(v->valuestring, "TCP") == 0)
                continue;
            if (!keep(q, p, *f))
                return false;
        }
    }
    return true;
}
/* A container: its name, ports (TCP, the default, left implicit) and port-like arguments. */
static bool project_container(cJSON *list, const cJSON *ctr, bool init)
{
    if (init && !cJSON_IsString(get(ctr, "restartPolicy")))
        return true; /* an init container that is not a native sidecar never serves */
    if (init && strcmp(get(ctr, "restartPolicy")->valuestring, "Always") != 0)
        return true;
    cJSON *c = cJSON_CreateObject();
    if (!c || !cJSON_AddItemToArray(list, c)) {
        cJSON_Delete(c);
        return false;
    }
    if (!keep(c, ctr, "name") || (init && !keep(c, ctr, "restartPolicy")))
        return false;
    static const char *const port_fields[] = {"name", "containerPort", "protocol", NULL};
    if (!project_ports(c, get(ctr, "ports"), port_fields, true))
        return false;
    /* What the lb-* rules read: the readiness probe (health checks), the preStop (drain) and a
     * server's keep-alive set through its environment. */
    if (!project_probe(c, ctr) || !project_prestop(c, ctr))
        return false;
    const cJSON *env = get(ctr, "env");
    cJSON *el = NULL;
    for (const cJSON *e = cJSON_IsArray(env) ? env->child : NULL; e; e = e->next) {
        const cJSON *n = get(e, "name");
        if (!cJSON_IsString(n) || strcmp(n->valuestring, "GUNICORN_CMD_ARGS") != 0)
            continue;
        cJSON *d = NULL;
        if ((!el && !(el = cJSON_AddArrayToObject(c, "env"))) || !(d = cJSON_Duplicate(e, true)) ||
            !cJSON_AddItemToArray(el, d)) {
            cJSON_Delete(d);
            return false;
        }
    }
    return project_args(c, ctr, "command") && project_args(c, ctr, "args");
}

static bool project_workload(cJSON *out, const cJSON *spec)
{
    cJSON *s = cJSON_AddObjectToObject(out, "spec");
    if (!s || !keep(s, spec, "replicas"))
        return false;
    const cJSON *tmpl = get(spec, "template");
    if (!cJSON_IsObject(tmpl))
        return true;
    cJSON *t = cJSON_AddObjectToObject(s, "template");
    cJSON *tm = t ? cJSON_AddObjectToObject(t, "metadata") : NULL;
    if (!tm || !keep(tm, get(tmpl, "metadata"), "labels") ||
        !keep_annotations(tm, get(tmpl, "metadata")))
        return false;
    const cJSON *ps = get(tmpl, "spec");
    cJSON *p = cJSON_AddObjectToObject(t, "spec");
    const cJSON *grace = get(ps, "terminationGracePeriodSeconds");
    /* The default 30 goes without saying: rules read an absent one as 30. */
    if (!p ||
        (!(cJSON_IsNumber(grace) && grace->valuedouble == 30) &&
         !keep(p, ps, "terminationGracePeriodSeconds")) ||
        !keep(p, ps, "readinessGates"))
        return false;
    /* Host-network pods: NetworkPolicies do not apply to them (networkpolicy-blocks-ingress). */
    if (cJSON_IsTrue(get(ps, "hostNetwork")) && !keep(p, ps, "hostNetwork"))
        return false;
    const char *lists[] = {"containers", "initContainers"};
    for (int l = 0; l < 2; l++) {
        const cJSON *ctrs = get(ps, lists[l]);
        if (!cJSON_IsArray(ctrs))
            continue;
        cJSON *cl = cJSON_AddArrayToObject(p, lists[l]);
        if (!cl)
            return false;
        for (const cJSON *c = ctrs->child; c; c = c->next)
            if (!project_container(cl, c, l == 1))
                return false;
    }
    return true;
}

static bool project_service(cJSON *out, const cJSON *spec)
{
    cJSON *s = cJSON_AddObjectToObject(out, "spec");
    if (!s || !keep(s, spec, "type") || !keep(s, spec, "selector"))
        return false;
    static const char *const port_fields[] = {"name",     "port",        "targetPort",
                                              "protocol", "appProtocol", NULL};
    return project_ports(s, get(spec, "ports"), port_fields, false);
}

static bool project_fields(cJSON *out, const cJSON *spec, const char *const *names)
{
    cJSON *s = cJSON_AddObjectToObject(out, "spec");
    if (!s)
        return false;
    for (; *names; names++)
        if (!keep(s, spec, *names))
            return false;
    return true;
}

/* Annotations a kind without a projection of its own keeps: small ones, not the applied copy. */
#define GENERIC_MAX_ANNOTATION_BYTES 256u

static bool keep_small_annotations(cJSON *out, const cJSON *meta)
{
    const cJSON *ann = get(meta, "annotations");
    cJSON *kept = NULL;
    for (const cJSON *a = cJSON_IsObject(ann) ? ann->child : NULL; a; a = a->next) {
        if (!a->string || !cJSON_IsString(a) ||
            strlen(a->valuestring) > GENERIC_MAX_ANNOTATION_BYTES ||
            strcmp(a->string, "kubectl.kubernetes.io/last-applied-configuration") == 0)
            continue;
        if (!kept && !(kept = cJSON_AddObjectToObject(out, "annotations")))
            return false;
        cJSON *d = cJSON_CreateString(a->valuestring);
        if (!d || !cJSON_AddItemToObject(kept, a->string, d)) {
            cJSON_Delete(d);
            return false;
        }
    }
    return true;
}

/* The trimmed copy of an object of a cached kind, as a new cJSON tree (NULL: out of memory). */
static cJSON *project(const cJSON *obj, k5_kind kind)
{
    static const char *const ingress[] = {"defaultBackend", "backend", "rules", NULL};
    static const char *const pdb[] = {"minAvailable", "maxUnavailable", "selector",
                                      "unhealthyPodEvictionPolicy", NULL};
    static const char *const hpa[] = {"scaleTargetRef", "minReplicas", "maxReplicas", NULL};
    cJSON *out = cJSON_CreateObject();
    if (!out)
        return NULL;
    const cJSON *meta = get(obj, "metadata"), *spec = get(obj, "spec");
    cJSON *m = NULL;
    bool generic = !(kind & K5_CLUSTER_KINDS_LINKED);
    bool ok = keep(out, obj, "apiVersion") && keep(out, obj, "kind") &&
              (m = cJSON_AddObjectToObject(out, "metadata")) && keep(m, meta, "name") &&
              keep(m, meta, "namespace") &&
              (generic ? keep(m, meta, "labels") && keep_small_annotations(m, meta)
                       : keep_annotations(m, meta));
    if (ok && generic) {
        /* A kind the cache has no projection for (NetworkPolicy, IngressClass, Namespace,
         * Gateway API kinds...): these are small, and their rules read their spec. */
        ok = keep(out, obj, "spec");
    } else if (ok) {
        if (kind & K5_KINDS_WORKLOAD)
            ok = project_workload(out, spec);
        else if (kind == K5_KIND_SERVICE)
            ok = project_service(out, spec);
        else if (kind == K5_KIND_INGRESS)
            ok = project_fields(out, spec, ingress);
        else if (kind == K5_KIND_PDB)
            ok = project_fields(out, spec, pdb);
        else if (kind == K5_KIND_HPA)
            ok = project_fields(out, spec, hpa);
    }
    if (!ok) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

/* ---- compaction: one exact-size block per object, common words not stored at all ---- */

static const char *const common_words[] = {"apiVersion",
                                           "kind",
                                           "metadata",
                                           "name",
                                           "namespace",
                                           "annotations",
                                           "labels",
                                           "spec",
                                           "replicas",
                                           "template",
                                           "containers",
                                           "initContainers",
                                           "ports",
                                           "containerPort",
                                           "protocol",
                                           "command",
                                           "args",
                                           "restartPolicy",
                                           "Always",
                                           "selector",
                                           "matchLabels",
                                           "matchExpressions",
                                           "key",
                                           "operator",
                                           "values",
                                           "In",
                                           "NotIn",
                                           "Exists",
                                           "DoesNotExist",
                                           "type",
                                           "port",
                                           "targetPort",
                                           "TCP",
                                           "UDP",
                                           "SCTP",
                                           "http",
                                           "https",
                                           "ClusterIP",
                                           "NodePort",
                                           "LoadBalancer",
                                           "ExternalName",
                                           "defaultBackend",
                                           "backend",
                                           "rules",
                                           "host",
                                           "paths",
                                           "path",
                                           "pathType",
                                           "Prefix",
                                           "Exact",
                                           "ImplementationSpecific",
                                           "service",
                                           "number",
                                           "serviceName",
                                           "servicePort",
                                           "minAvailable",
                                           "maxUnavailable",
                                           "unhealthyPodEvictionPolicy",
                                           "scaleTargetRef",
                                           "minReplicas",
                                           "maxReplicas",
                                           "apps/v1",
                                           "v1",
                                           "networking.k8s.io/v1",
                                           "policy/v1",
                                           "autoscaling/v2",
                                           "autoscaling/v1",
                                           "Deployment",
                                           "StatefulSet",
                                           "DaemonSet",
                                           "Service",
                                           "Ingress",
                                           "PodDisruptionBudget",
                                           "HorizontalPodAutoscaler",
                                           "app",
                                           "app.kubernetes.io/name",
                                           "app.kubernetes.io/instance",
                                           "app.kubernetes.io/component",
                                           "true",
                                           "false",
                                           "null",
                                           "/",
                                           "web",
                                           "metrics",
                                           "grpc",
                                           "terminationGracePeriodSeconds",
                                           "readinessGates",
                                           "conditionType",
                                           "lifecycle",
                                           "preStop",
                                           "sleep",
                                           "seconds",
                                           "exec",
                                           "alb.ingress.kubernetes.io/target-type",
                                           "ip",
                                           NULL};

static const char *common(const char *s, size_t n)
{
    for (const char *const *w = common_words; *w; w++)
        if (strlen(*w) == n && memcmp(*w, s, n) == 0)
            return *w;
    return NULL;
}

/* True when the value of `key` is stored as a shape (shared with equal ones). */
static bool shared_value(const k5_node *key, const k5_node *val)
{
    static const char *const keys[] = {"ports", "lifecycle", "readinessProbe", NULL};
    if (!(k5_node_is_map(val) || k5_node_is_seq(val)) || !k5_node_len(val))
        return false;
    k5_str k = k5_node_str(key);
    for (const char *const *w = keys; *w; w++)
        if (k.n == strlen(*w) && memcmp(k.p, *w, k.n) == 0)
            return true;
    return false;
}

/* Nodes below n and bytes of its strings; with `share`, shared values' items are not counted. */
static void measure(const k5_node *n, bool share, size_t *nodes, size_t *chars)
{
    if (k5_node_is_map(n)) {
        *nodes += 2 * k5_node_len(n);
        for (size_t i = 0; i < k5_node_len(n); i++) {
            measure(k5_map_key(n, i), share, nodes, chars);
            if (!share || !shared_value(k5_map_key(n, i), k5_map_value(n, i)))
                measure(k5_map_value(n, i), share, nodes, chars);
        }
    } else if (k5_node_is_seq(n)) {
        *nodes += k5_node_len(n);
        for (size_t i = 0; i < k5_node_len(n); i++)
            measure(k5_seq_at(n, i), share, nodes, chars);
    } else {
        k5_str s = k5_node_str(n);
        if (s.p && !common(s.p, s.n))
            *chars += s.n + 1;
    }
}

static size_t items_of(const k5_node *n)
{
    return k5_node_is_map(n) ? 2 * k5_node_len(n) : k5_node_is_seq(n) ? k5_node_len(n) : 0;
}

/* A hash of a subtree's shape and text (positions left out: cached nodes have none). */
static uint64_t tree_hash(const k5_node *n, uint64_t h)
{
    uint32_t bits = n->bits;
    h = k5__hash(&bits, sizeof bits, h);
    size_t cnt = items_of(n);
    if (cnt || k5_node_is_map(n) || k5_node_is_seq(n)) {
        for (size_t i = 0; i < cnt; i++)
            h = tree_hash(&n->u.items[i], h);
        return h;
    }
    k5_str s = k5_node_str(n);
    return s.p ? k5__hash(s.p, s.n, h) : k5__hash("", 0, ~h);
}

static bool tree_eq(const k5_node *a, const k5_node *b)
{
    if (a->bits != b->bits)
        return false;
    size_t cnt = items_of(a);
    if (cnt || k5_node_is_map(a) || k5_node_is_seq(a)) {
        for (size_t i = 0; i < cnt; i++)
            if (!tree_eq(&a->u.items[i], &b->u.items[i]))
                return false;
        return true;
    }
    k5_str x = k5_node_str(a), y = k5_node_str(b);
    return (x.p == NULL) == (y.p == NULL) && str_eq(x, y);
}

typedef struct emitter {
    k5_cluster *cl; /* shapes are taken from it; NULL inside a shape */
    k5_node *nodes; /* next free node */
    char *chars;    /* next free byte */
    bool oom;       /* a shape could not be made (its value was left empty) */
} emitter;

static const k5_node *shape_get(k5_cluster *cl, const k5_node *val);

static void emit(emitter *em, const k5_node *src, k5_node *dst);

/* The items of a map or sequence, at the emitter's next free nodes. */
static k5_node *emit_items(emitter *em, const k5_node *src)
{
    size_t n = items_of(src);
    k5_node *items = n ? em->nodes : NULL;
    em->nodes += n;
    for (size_t i = 0; i < n; i++) {
        const k5_node *val = &src->u.items[i];
        /* A map's shared value: the node here, its items in a shape. */
        if (em->cl && k5_node_is_map(src) && (i & 1) && shared_value(&src->u.items[i - 1], val)) {
            const k5_node *sh = shape_get(em->cl, val);
            items[i].pos = 0;
            items[i].bits = sh ? val->bits : k5__bits(k5_node_kind(val), false, 0);
            items[i].u.items = sh;
            em->oom |= !sh;
            continue;
        }
        emit(em, val, &items[i]);
    }
    return items;
}

static void emit(emitter *em, const k5_node *src, k5_node *dst)
{
    dst->pos = 0;
    dst->bits = src->bits;
    if (k5_node_is_map(src) || k5_node_is_seq(src)) {
        dst->u.items = emit_items(em, src);
        return;
    }
    k5_str s = k5_node_str(src);
    const char *c = s.p ? common(s.p, s.n) : NULL;
    if (!c && s.p) {
        memcpy(em->chars, s.p, s.n);
        em->chars[s.n] = '\0';
        c = em->chars;
        em->chars += s.n + 1;
    }
    dst->u.str = c;
}

/* ---- shapes: shared value subtrees, reference-counted ---- */

static shape *shape_of(const k5_node *items)
{
    return (shape *)(void *)((char *)(uintptr_t)items - offsetof(shape, items));
}

static bool shapes_grow(k5_cluster *cl)
{
    shape_set *m = &cl->shapes;
    size_t cap = m->cap ? m->cap * 2 : 64;
    shape **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < m->cap; i++)
        for (shape *s = m->slots[i], *next; s; s = next) {
            next = s->next;
            s->next = slots[s->hash & (cap - 1)];
            slots[s->hash & (cap - 1)] = s;
        }
    free(m->slots);
    cl->bytes += (cap - m->cap) * sizeof *slots;
    m->slots = slots;
    m->cap = cap;
    return true;
}

/* The shared items equal to val's (one more reference), or new ones; NULL: out of memory. */
static const k5_node *shape_get(k5_cluster *cl, const k5_node *val)
{
    shape_set *m = &cl->shapes;
    uint64_t h = tree_hash(val, 0);
    for (shape *s = m->cap ? m->slots[h & (m->cap - 1)] : NULL; s; s = s->next) {
        k5_node v = *val;
        v.u.items = s->items;
        if (s->hash == h && s->refs < UINT32_MAX && tree_eq(&v, val)) {
            s->refs++;
            return s->items;
        }
    }
    if ((m->len + 1) * 4 > m->cap * 3 && !shapes_grow(cl))
        return NULL;
    size_t nodes = 0, chars = 0;
    measure(val, false, &nodes, &chars);
    size_t bytes = sizeof(shape) + nodes * sizeof(k5_node) + chars;
    shape *s = malloc(bytes);
    if (!s)
        return NULL;
    s->hash = h;
    s->refs = 1;
    s->bytes = (uint32_t)bytes;
    emitter em = {NULL, s->items, (char *)(s->items + nodes), false};
    emit_items(&em, val);
    s->next = m->slots[h & (m->cap - 1)];
    m->slots[h & (m->cap - 1)] = s;
    m->len++;
    cl->bytes += bytes;
    return s->items;
}

static void shape_put(k5_cluster *cl, const k5_node *items)
{
    shape *s = shape_of(items);
    if (--s->refs)
        return;
    shape_set *m = &cl->shapes;
    for (shape **pp = &m->slots[s->hash & (m->cap - 1)]; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    m->len--;
    cl->bytes -= s->bytes;
    free(s);
}

/* Drops the entry's references to shapes: every items pointer that leaves its block. */
static void release_shapes(k5_cluster *cl, const entry *e, const k5_node *n)
{
    size_t cnt = items_of(n);
    if (!cnt || !n->u.items)
        return;
    uintptr_t lo = (uintptr_t)e, hi = lo + e->bytes, p = (uintptr_t)n->u.items;
    if (p < lo || p >= hi) {
        shape_put(cl, n->u.items);
        return;
    }
    for (size_t i = 0; i < cnt; i++)
        release_shapes(cl, e, &n->u.items[i]);
}

/* ---- indexing one entry (the same keys on add and on delete) ---- */

typedef enum { IDX_ADD, IDX_DEL } idx_op;

static bool idx(k5_cluster *cl, pmap *m, const k5__key *k, entry *e, idx_op op)
{
    if (op == IDX_DEL) {
        pmap_del(m, k->buf, k->n, e, &cl->bytes);
        return true;
    }
    return pmap_add(m, k->buf, k->n, e, &cl->bytes);
}

static const k5_node *ing_backend_service(const k5_node *b)
{
    const k5_node *s = k5_node_at(b, "service.name");
    return s ? s : k5_map_get(b, "serviceName");
}

/* Calls fn for each Service name an Ingress's backends name. */
static bool each_backend_service(const ref *o, bool (*fn)(k5_str, void *), void *ud)
{
    const k5_node *spec = k5_map_get(o->root, "spec");
    const k5_node *defs[2] = {k5_map_get(spec, "defaultBackend"), k5_map_get(spec, "backend")};
    for (int i = 0; i < 2; i++) {
        k5_str s = k5_node_str(ing_backend_service(defs[i]));
        if (s.n && !fn(s, ud))
            return false;
    }
    const k5_node *rules = k5_map_get(spec, "rules");
    for (size_t i = 0; i < k5_node_len(rules); i++) {
        const k5_node *paths = k5_node_at(k5_seq_at(rules, i), "http.paths");
        for (size_t j = 0; j < k5_node_len(paths); j++) {
            k5_str s =
                k5_node_str(ing_backend_service(k5_map_get(k5_seq_at(paths, j), "backend")));
            if (s.n && !fn(s, ud))
                return false;
        }
    }
    return true;
}

typedef struct ing_ctx {
    k5_cluster *cl;
    entry *e;
    k5_str ns;
    idx_op op;
    bool ok;
    k5_str seen[32];
    size_t nseen;
} ing_ctx;

static bool ing_index_one(k5_str name, void *ud)
{
    ing_ctx *x = ud;
    /* A Service named by several paths is indexed once. */
    for (size_t i = 0; i < x->nseen; i++)
        if (str_eq(x->seen[i], name))
            return true;
    if (x->nseen < sizeof x->seen / sizeof x->seen[0])
        x->seen[x->nseen++] = name;
    else
        return true; /* past 32 distinct Services: the rest are found by a scan, never */
    k5__key k;
    k5__key_pair(&k, x->ns, name, (k5_str){"", 0});
    if (!idx(x->cl, &x->cl->ing_svc, &k, x->e, x->op)) {
        x->ok = false;
        return false;
    }
    return true;
}

static bool index_entry(k5_cluster *cl, entry *e, idx_op op)
{
    ref r = e_ref(e);
    const ref *o = &r;
    k5__key k;
    key_kind_ns(&k, o->kind_id, o->ns);
    if (!idx(cl, &cl->ns_kind, &k, e, op))
        return false;
    key_str(&k, o->name);
    if (!idx(cl, &cl->names, &k, e, op))
        return false;
    if (o->kind_id & K5_KINDS_WORKLOAD) {
        for (size_t j = 0; j < k5_node_len(o->pod_labels); j++) {
            k5__key_entry(&k, o->ns, o->pod_labels, j);
            if (!idx(cl, &cl->pod_lab, &k, e, op))
                return false;
        }
    } else if (o->kind_id & (K5_KIND_SERVICE | K5_KIND_PDB)) {
        /* Under its selector's first pair; a PDB without matchLabels goes to the per-namespace
         * scan list, a Service without a selector nowhere (it selects nothing). */
        bool svc = o->kind_id == K5_KIND_SERVICE;
        const k5_node *pairs =
            k5_node_at(o->root, svc ? "spec.selector" : "spec.selector.matchLabels");
        pmap *m = svc ? &cl->svc_sel : &cl->pdb_sel;
        if (k5_node_is_map(pairs) && k5_node_len(pairs)) {
            k5__key_entry(&k, o->ns, pairs, 0);
        } else if (!svc) {
            k.n = 0;
            key_str(&k, o->ns);
            m = &cl->pdb_scan;
        } else {
            m = NULL;
        }
        if (m && !idx(cl, m, &k, e, op))
            return false;
    } else if (o->kind_id == K5_KIND_HPA) {
        const k5_node *ref = k5_node_at(o->root, "spec.scaleTargetRef");
        k5_str tk = k5_node_str(k5_map_get(ref, "kind")),
               tn = k5_node_str(k5_map_get(ref, "name"));
        if (tk.n && tn.n) {
            k5__key_pair(&k, o->ns, tk, tn);
            if (!idx(cl, &cl->hpa_tgt, &k, e, op))
                return false;
        }
    } else if (o->kind_id == K5_KIND_INGRESS) {
        ing_ctx x = {cl, e, o->ns, op, true, {{NULL, 0}}, 0};
        each_backend_service(o, ing_index_one, &x);
        if (!x.ok)
            return false;
    }
    return true;
}

/* ---- the cluster ---- */

k5_status k5_cluster_new(k5_cluster **out)
{
    k5_cluster *cl = calloc(1, sizeof *cl);
    if (!cl)
        return K5_ENOMEM;
    cl->bytes = sizeof *cl;
    *out = cl;
    return K5_OK;
}

/* Frees an entry and drops its references to shapes. */
static void entry_free(k5_cluster *cl, entry *e)
{
    release_shapes(cl, e, e_root(e));
    free(e);
}

void k5_cluster_free(k5_cluster **clp)
{
    if (!clp || !*clp)
        return;
    k5_cluster *cl = *clp;
    pmap *n = &cl->names;
    for (size_t i = 0; i < n->cap; i++)
        for (bucket *b = n->slots[i]; b; b = b->next)
            for (uint32_t j = 0; j < b->n; j++)
                free(b->v[j]); /* the shapes go below, all at once */
    for (size_t i = 0; i < cl->shapes.cap; i++)
        for (shape *s = cl->shapes.slots[i], *next; s; s = next) {
            next = s->next;
            free(s);
        }
    free(cl->shapes.slots);
    pmap *maps[] = {&cl->names,   &cl->ns_kind,  &cl->pod_lab, &cl->svc_sel,
                    &cl->pdb_sel, &cl->pdb_scan, &cl->hpa_tgt, &cl->ing_svc};
    for (size_t i = 0; i < sizeof maps / sizeof *maps; i++)
        pmap_free(maps[i]);
    free(cl);
    *clp = NULL;
}

/* A subject's ref: its kind, namespace (the docset's default when it names none) and labels. */
static ref subject_ref(const k5_object *o)
{
    ref r = {o->root, o->pod_labels, o->kind, o->namespace_, o->name, o->kind_id};
    return r;
}

static entry *find_entry(const k5_cluster *cl, k5_kind kind, k5_str ns, k5_str name)
{
    k5__key k;
    key_kind_ns(&k, kind, ns);
    key_str(&k, name);
    const bucket *b = pmap_get(&cl->names, k.buf, k.n);
    for (uint32_t i = 0; b && i < b->n; i++)
        if (e_kind(b->v[i]) == kind && str_eq(e_name(b->v[i]), name) && str_eq(e_ns(b->v[i]), ns))
            return b->v[i];
    return NULL;
}

static void unlink_entry(k5_cluster *cl, entry *e)
{
    index_entry(cl, e, IDX_DEL);
    cl->counts[e->kind_bit]--;
    cl->bytes -= e->bytes;
    entry_free(cl, e);
}

/* Kind, namespace and name of an object as the API server sends it. */
static bool identify(const cJSON *obj, k5_kind *kind, k5_str *ns, k5_str *name)
{
    const cJSON *av = get(obj, "apiVersion"), *k = get(obj, "kind");
    const cJSON *meta = get(obj, "metadata");
    const cJSON *n = get(meta, "name"), *s = get(meta, "namespace");
    if (!cJSON_IsString(av) || !cJSON_IsString(k) || !cJSON_IsString(n) || !*n->valuestring)
        return false;
    *kind = k5_kind_from((k5_str){av->valuestring, strlen(av->valuestring)},
                         (k5_str){k->valuestring, strlen(k->valuestring)});
    if (!(*kind & K5_CLUSTER_KINDS))
        return false;
    *name = (k5_str){n->valuestring, strlen(n->valuestring)};
    /* Cluster-scoped kinds (Namespace, IngressClass) are keyed under the empty namespace. */
    if (k5_kind_info_of(*kind)->flags & K5_KF_CLUSTER_SCOPED) {
        *ns = (k5_str){"", 0};
        return true;
    }
    if (!cJSON_IsString(s) || !*s->valuestring)
        return false;
    *ns = (k5_str){s->valuestring, strlen(s->valuestring)};
    return true;
}

k5_status k5_cluster_put(k5_cluster *cl, const cJSON *obj, k5_error *err)
{
    k5_kind kind;
    k5_str ns, name;
    if (!identify(obj, &kind, &ns, &name)) {
        k5__err(err, NULL, 0, 0,
                "not a cached object: needs apiVersion, kind (one the rules read), "
                "metadata.name and metadata.namespace");
        return K5_EINVAL;
    }
    cJSON *p = project(obj, kind);
    if (!p)
        return K5_ENOMEM;
    k5__arena tmp = {0};
    k5_status st = K5_OK;
    const k5_node *full = k5__node_from_cjson(&tmp, p, 0, err, &st);
    cJSON_Delete(p);
    if (!full) {
        k5__arena_free(&tmp);
        return st;
    }
    /* The limit counts the shared values too: a new one is allocated for this object. */
    size_t nodes = 1, chars = 0;
    measure(full, false, &nodes, &chars);
    size_t size = nodes * sizeof(k5_node) + chars;
    if (size > K5_CLUSTER_MAX_OBJECT_BYTES) {
        k5__arena_free(&tmp);
        k5__err(err, NULL, 0, 0,
                "%.*s %.*s/%.*s is %zu bytes after trimming (limit K5_CLUSTER_MAX_OBJECT_BYTES, "
                "%u)",
                (int)(strlen(get(obj, "kind")->valuestring)), get(obj, "kind")->valuestring,
                (int)ns.n, ns.p, (int)name.n, name.p, size, K5_CLUSTER_MAX_OBJECT_BYTES);
        return K5_ELIMIT;
    }
    nodes = 1;
    chars = 0;
    measure(full, true, &nodes, &chars);
    size = nodes * sizeof(k5_node) + chars;
    entry *e = malloc(sizeof *e + size);
    if (!e) {
        k5__arena_free(&tmp);
        return K5_ENOMEM;
    }
    memset(e, 0, sizeof *e);
    e->bytes = (uint32_t)(size + sizeof *e);
    e->kind_bit = (uint8_t)kind_bit(kind);
    emitter em = {cl, e->blk + 1, (char *)(e->blk + nodes), false};
    emit(&em, full, e->blk);
    k5__arena_free(&tmp);
    if (em.oom) {
        entry_free(cl, e);
        return K5_ENOMEM; /* the old copy stays */
    }
    entry *old = find_entry(cl, kind, ns, name);
    if (old)
        unlink_entry(cl, old);
    if (!index_entry(cl, e, IDX_ADD)) {
        index_entry(cl, e, IDX_DEL); /* whatever got in */
        entry_free(cl, e);
        return K5_ENOMEM; /* the old copy is gone: better absent than stale */
    }
    cl->counts[kind_bit(kind)]++;
    cl->bytes += e->bytes;
    return K5_OK;
}

k5_status k5_cluster_remove(k5_cluster *cl, const cJSON *obj)
{
    k5_kind kind;
    k5_str ns, name;
    if (!identify(obj, &kind, &ns, &name))
        return K5_ENOTFOUND;
    entry *e = find_entry(cl, kind, ns, name);
    if (!e)
        return K5_ENOTFOUND;
    unlink_entry(cl, e);
    return K5_OK;
}

/* Calls fn for every cached object of the kinds; fn may not change the cluster. */
static void each_of_kinds(const k5_cluster *cl, k5_kind kinds, void (*fn)(entry *, void *),
                          void *ud)
{
    const pmap *n = &cl->names;
    for (size_t i = 0; i < n->cap; i++)
        for (bucket *b = n->slots[i]; b; b = b->next)
            for (uint32_t j = 0; j < b->n; j++)
                if (e_kind(b->v[j]) & kinds)
                    fn(b->v[j], ud);
}

static void mark_one(entry *e, void *ud)
{
    (void)ud;
    e->stale = true;
}

void k5_cluster_mark(k5_cluster *cl, k5_kind kinds)
{
    each_of_kinds(cl, kinds, mark_one, NULL);
}

typedef struct stale_list {
    entry **v;
    size_t n, cap;
    bool oom;
} stale_list;

static void collect_stale(entry *e, void *ud)
{
    stale_list *l = ud;
    if (!e->stale || l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        entry **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = e;
}

size_t k5_cluster_sweep(k5_cluster *cl, k5_kind kinds)
{
    /* Collected first: removing while walking the name table would skip entries. */
    stale_list l = {NULL, 0, 0, false};
    each_of_kinds(cl, kinds, collect_stale, &l);
    for (size_t i = 0; i < l.n; i++)
        unlink_entry(cl, l.v[i]);
    free(l.v);
    return l.n; /* out of memory: fewer removed now, the rest at the next relist */
}

size_t k5_cluster_count(const k5_cluster *cl, k5_kind kinds)
{
    size_t n = 0;
    for (int b = 0; b < K5__KIND_COUNT; b++)
        if (kinds & K5_KIND_AT(b))
            n += cl->counts[b];
    return n;
}

size_t k5_cluster_bytes(const k5_cluster *cl)
{
    return cl->bytes;
}

/* ---- partners ---- */

struct k5_partners {
    const entry **v;
    size_t n, cap;
    bool truncated, oom;
    const ref *subjects; /* while collecting */
    size_t nsubjects;
};

static bool is_subject(const k5_partners *p, const entry *e)
{
    for (size_t i = 0; i < p->nsubjects; i++) {
        const ref *s = &p->subjects[i];
        if (s->kind_id == e_kind(e) && str_eq(s->name, e_name(e)) && str_eq(s->ns, e_ns(e)))
            return true;
    }
    return false;
}

/* Adds e once; false when it was already there, is a subject, or the list is full. */
static bool add(k5_partners *p, const entry *e)
{
    if (!e || p->oom || is_subject(p, e))
        return false;
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i] == e)
            return false;
    if (p->n >= K5_CLUSTER_MAX_PARTNERS) {
        p->truncated = true;
        return false;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        const entry **v = realloc(p->v, cap * sizeof *v);
        if (!v) {
            p->oom = true;
            return false;
        }
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = e;
    return true;
}

/* Workloads of ns whose pod labels match the selector, through the rarest of its pairs. */
static void add_selected(const k5_cluster *cl, k5_partners *p, k5_str ns, const k5_node *sel,
                         k5_selector_type type)
{
    if (!k5_node_is_map(sel))
        return;
    const k5_node *pairs = type == K5_SELECTOR_MAP ? sel : k5_map_get(sel, "matchLabels");
    if (k5_node_is_map(pairs) && k5_node_len(pairs)) {
        const bucket *best = NULL;
        k5__key k;
        for (size_t i = 0; i < k5_node_len(pairs); i++) {
            k5__key_entry(&k, ns, pairs, i);
            const bucket *b = pmap_get(&cl->pod_lab, k.buf, k.n);
            if (!b)
                return; /* a pair no pod template has: selects nothing */
            if (!best || b->n < best->n)
                best = b;
        }
        for (uint32_t i = 0; i < best->n; i++) {
            const entry *e = best->v[i];
            if (str_eq(e_ns(e), ns) && k5_selector_matches(sel, type, e_pod_labels(e)))
                add(p, e);
        }
        return;
    }
    if (type == K5_SELECTOR_MAP)
        return; /* an empty Service selector selects nothing */
    k5__key k;
    for (int bit = 0; bit < K5__KIND_COUNT; bit++) {
        if (!(K5_KIND_AT(bit) & K5_KINDS_WORKLOAD & K5_CLUSTER_KINDS))
            continue;
        key_kind_ns(&k, K5_KIND_AT(bit), ns);
        const bucket *b = pmap_get(&cl->ns_kind, k.buf, k.n);
        for (uint32_t i = 0; b && i < b->n; i++)
            if (k5_selector_matches(sel, type, e_pod_labels(b->v[i])))
                add(p, b->v[i]);
    }
}

/* One workload of ns, so that "selects nothing" rules know the namespace has workloads. */
static void add_witness(const k5_cluster *cl, k5_partners *p, k5_str ns, k5_kind kinds,
                        size_t want)
{
    k5__key k;
    for (int bit = 0; bit < K5__KIND_COUNT && want; bit++) {
        if (!(K5_KIND_AT(bit) & kinds))
            continue;
        key_kind_ns(&k, K5_KIND_AT(bit), ns);
        const bucket *b = pmap_get(&cl->ns_kind, k.buf, k.n);
        for (uint32_t i = 0; b && i < b->n && want; i++)
            if (add(p, b->v[i]))
                want--;
    }
}

/* The objects of posting list `key` in m whose selector (of `type`) selects `labels` in ns. */
static void add_selecting(k5_partners *p, const pmap *m, const k5__key *k, k5_str ns,
                          k5_selector_type type, const k5_node *labels)
{
    const bucket *b = pmap_get(m, k->buf, k->n);
    for (uint32_t i = 0; b && i < b->n; i++)
        if (str_eq(e_ns(b->v[i]), ns) &&
            k5_selector_matches(k5_node_at(e_root(b->v[i]), "spec.selector"), type, labels))
            add(p, b->v[i]);
}

/* Services, PDBs and HPAs that select or target the workload. */
static void add_referrers(const k5_cluster *cl, k5_partners *p, const ref *w, k5_kind kinds)
{
    k5__key k;
    const k5_node *labels = w->pod_labels;
    for (size_t j = 0; j < k5_node_len(labels); j++) {
        k5__key_entry(&k, w->ns, labels, j);
        if (kinds & K5_KIND_SERVICE)
            add_selecting(p, &cl->svc_sel, &k, w->ns, K5_SELECTOR_MAP, labels);
        if (kinds & K5_KIND_PDB)
            add_selecting(p, &cl->pdb_sel, &k, w->ns, K5_SELECTOR_LABEL, labels);
    }
    if (kinds & K5_KIND_PDB) {
        /* PDBs without matchLabels are few: each is tried (the index treats an empty v1
         * selector as every pod and a v1beta1 one as none; the rules decide that). */
        k.n = 0;
        key_str(&k, w->ns);
        add_selecting(p, &cl->pdb_scan, &k, w->ns, K5_SELECTOR_LABEL, labels);
    }
    if (kinds & K5_KIND_HPA) {
        k5__key_pair(&k, w->ns, w->kind, w->name);
        const bucket *b = pmap_get(&cl->hpa_tgt, k.buf, k.n);
        for (uint32_t i = 0; b && i < b->n; i++)
            add(p, b->v[i]);
    }
}

/* Byte order, a prefix first: "a" < "ab" < "b". */
static bool str_less(k5_str a, k5_str b)
{
    int c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
    return c < 0 || (c == 0 && a.n < b.n);
}

/*
 * An object of `kind` named `name` in a namespace other than `ns`: what the linter names
 * in "exists only in namespace X". Found through the (kind, namespace) table, one lookup
 * per namespace that has the kind, so it costs nothing in memory and runs only when a
 * reference is missing from its own namespace. Of several, the smallest namespace name is
 * taken, not the first in the table's order (which moves with its growth and history), so
 * every replica and every relist name the same one.
 */
static void add_elsewhere(const k5_cluster *cl, k5_partners *p, k5_kind kind, k5_str ns,
                          k5_str name)
{
    const pmap *m = &cl->ns_kind;
    char c = (char)('A' + kind_bit(kind));
    const entry *best = NULL;
    k5_str best_ns = {NULL, 0};
    for (size_t i = 0; i < m->cap; i++)
        for (const bucket *b = m->slots[i]; b; b = b->next) {
            /* The key is the kind's letter, a NUL, then the namespace (key_kind_ns). */
            if (b->klen < 2 || b->key[0] != c)
                continue;
            k5_str other = {b->key + 2, b->klen - 2};
            if (str_eq(other, ns) || (best && !str_less(other, best_ns)))
                continue;
            const entry *e = find_entry(cl, kind, other, name);
            if (e && !is_subject(p, e)) {
                best = e;
                best_ns = other;
            }
        }
    (void)add(p, best); /* one is enough to name the namespace; add ignores NULL and repeats */
}

typedef struct svc_ctx {
    const k5_cluster *cl;
    k5_partners *p;
    k5_str ns;
    bool missing;
} svc_ctx;

static bool add_backend(k5_str name, void *ud)
{
    svc_ctx *x = ud;
    const entry *e = find_entry(x->cl, K5_KIND_SERVICE, x->ns, name);
    /* With the pods behind it: the load-balancer rules judge an Ingress by the pods its
     * Services select (target registration, health checks, keep-alive). */
    if (e) {
        add(x->p, e);
        add_selected(x->cl, x->p, x->ns, k5_node_at(e_root(e), "spec.selector"), K5_SELECTOR_MAP);
    } else {
        x->missing = true;
        add_elsewhere(x->cl, x->p, K5_KIND_SERVICE, x->ns, name);
    }
    return true;
}

/* An Ingress's backend Services and the workloads they select (and, when a Service is
 * missing, a few others of its namespace). */
static void add_backends(const k5_cluster *cl, k5_partners *p, const ref *ing)
{
    svc_ctx x = {cl, p, ing->ns, false};
    each_backend_service(ing, add_backend, &x);
    if (x.missing)
        add_witness(cl, p, ing->ns, K5_KIND_SERVICE, 8);
}

/*
 * A Gateway API route's backendRefs that name Services (kind unset or Service, group unset
 * or core), in the route's namespace or the one they name; as for an Ingress, a missing one
 * brings the same name from another namespace and a few Services of its namespace.
 */
static void add_route_backends(const k5_cluster *cl, k5_partners *p, const ref *route)
{
    const k5_node *rules = k5_node_at(route->root, "spec.rules");
    bool missing = false;
    for (size_t i = 0; i < k5_node_len(rules); i++) {
        const k5_node *refs = k5_map_get(k5_seq_at(rules, i), "backendRefs");
        for (size_t j = 0; j < k5_node_len(refs); j++) {
            const k5_node *r = k5_seq_at(refs, j);
            k5_str kind = k5_node_str(k5_map_get(r, "kind")),
                   group = k5_node_str(k5_map_get(r, "group")),
                   name = k5_node_str(k5_map_get(r, "name")),
                   ns = k5_node_str(k5_map_get(r, "namespace"));
            if (!name.n || (kind.n && !str_eq(kind, (k5_str){"Service", 7})) || group.n)
                continue;
            if (!ns.n)
                ns = route->ns;
            const entry *e = find_entry(cl, K5_KIND_SERVICE, ns, name);
            if (e) {
                /* With its pods, as for an Ingress (NetworkPolicies selecting them). */
                if (add(p, e))
                    add_selected(cl, p, ns, k5_node_at(e_root(e), "spec.selector"),
                                 K5_SELECTOR_MAP);
            } else {
                missing = true;
                add_elsewhere(cl, p, K5_KIND_SERVICE, ns, name);
            }
        }
    }
    if (missing)
        add_witness(cl, p, route->ns, K5_KIND_SERVICE, 8);
}

/* True when a backendRef or parentRef names `kind` of `group` (each unset meaning the default). */
static bool ref_is(const k5_node *r, const char *group, const char *dgroup, const char *kind,
                   const char *dkind)
{
    const k5_node *g = k5_map_get(r, "group"), *k = k5_map_get(r, "kind");
    k5_str gs = g ? k5_node_str(g) : (k5_str){dgroup, strlen(dgroup)};
    k5_str ks = k ? k5_node_str(k) : (k5_str){dkind, strlen(dkind)};
    return str_eq(gs, (k5_str){group, strlen(group)}) && str_eq(ks, (k5_str){kind, strlen(kind)});
}

/* The namespace a route's reference points into: its own, else the route's. */
static k5_str ref_ns(const k5_node *r, const ref *route)
{
    k5_str ns = k5_node_str(k5_map_get(r, "namespace"));
    return ns.n ? ns : route->ns;
}

/*
 * One requestMirror's backendRef of a route, or a backendRef reaching another namespace: the
 * mirror's Service, and every ReferenceGrant of a namespace the route reaches into (all of
 * them: one left out would turn an allowed reference into a finding).
 */
static void add_route_ref(const k5_cluster *cl, k5_partners *p, const ref *route, const k5_node *r,
                          bool mirror)
{
    if (!ref_is(r, "", "", "Service", "Service"))
        return;
    k5_str ns = ref_ns(r, route), name = k5_node_str(k5_map_get(r, "name"));
    if (mirror && name.n)
        add(p, find_entry(cl, K5_KIND_SERVICE, ns, name));
    if (!str_eq(ns, route->ns))
        add_witness(cl, p, ns, K5_KIND_REFERENCEGRANT, K5_CLUSTER_MAX_PARTNERS);
}

static void add_route_mirrors(const k5_cluster *cl, k5_partners *p, const ref *route,
                              const k5_node *filters)
{
    for (size_t f = 0; f < k5_node_len(filters); f++) {
        const k5_node *m = k5_node_at(k5_seq_at(filters, f), "requestMirror.backendRef");
        if (k5_node_is_map(m))
            add_route_ref(cl, p, route, m, true);
    }
}

/*
 * What the route rules read besides the backend Services (add_route_backends): the Services
 * of requestMirror backendRefs, the ReferenceGrants of the other namespaces the route reaches,
 * and the Gateways its parentRefs name (a few of that namespace when one is missing, so that
 * route-parent-missing knows the namespace has Gateways).
 */
static void add_route_context(const k5_cluster *cl, k5_partners *p, const ref *route)
{
    const k5_node *rules = k5_node_at(route->root, "spec.rules");
    for (size_t i = 0; i < k5_node_len(rules); i++) {
        const k5_node *rule = k5_seq_at(rules, i);
        const k5_node *refs = k5_map_get(rule, "backendRefs");
        for (size_t j = 0; j < k5_node_len(refs); j++) {
            const k5_node *r = k5_seq_at(refs, j);
            add_route_ref(cl, p, route, r, false);
            add_route_mirrors(cl, p, route, k5_map_get(r, "filters"));
        }
        add_route_mirrors(cl, p, route, k5_map_get(rule, "filters"));
    }
    const k5_node *parents = k5_node_at(route->root, "spec.parentRefs");
    for (size_t i = 0; i < k5_node_len(parents); i++) {
        const k5_node *r = k5_seq_at(parents, i);
        k5_str name = k5_node_str(k5_map_get(r, "name"));
        if (!name.n || !ref_is(r, "gateway.networking.k8s.io", "gateway.networking.k8s.io",
                               "Gateway", "Gateway"))
            continue;
        k5_str ns = ref_ns(r, route);
        const entry *gw = find_entry(cl, K5_KIND_GATEWAY, ns, name);
        if (gw)
            add(p, gw);
        else
            add_witness(cl, p, ns, K5_KIND_GATEWAY, 8);
    }
}

/*
 * An Istio VirtualService's route destinations: the Service each host names (in the namespace
 * the host names, else the VirtualService's), the workloads it selects (a subset needs pods)
 * and the DestinationRules of that namespace (its subsets); a missing Service brings the same
 * name from another namespace and a few Services of the host's namespace, as for an Ingress.
 */
static void add_mesh_destinations(const k5_cluster *cl, k5_partners *p, const ref *vs)
{
    static const char *const lists[] = {"spec.http", "spec.tcp", "spec.tls"};
    for (size_t k = 0; k < 3; k++) {
        const k5_node *routes = k5_node_at(vs->root, lists[k]);
        for (size_t i = 0; i < k5_node_len(routes); i++) {
            const k5_node *route = k5_map_get(k5_seq_at(routes, i), "route");
            for (size_t j = 0; k5_node_is_seq(route) && j < k5_node_len(route); j++) {
                const k5_node *dest = k5_map_get(k5_seq_at(route, j), "destination");
                k5__mesh_host h;
                if (!k5__mesh_host_parse(k5_node_str(k5_map_get(dest, "host")), vs->ns, &h))
                    continue;
                const entry *svc = find_entry(cl, K5_KIND_SERVICE, h.ns, h.name);
                if (svc && add(p, svc))
                    add_selected(cl, p, h.ns, k5_node_at(e_root(svc), "spec.selector"),
                                 K5_SELECTOR_MAP);
                if (!svc) {
                    add_elsewhere(cl, p, K5_KIND_SERVICE, h.ns, h.name);
                    add_witness(cl, p, h.ns, K5_KIND_SERVICE, 8);
                }
                if (!str_eq(h.ns, vs->ns)) /* those of vs->ns come as context */
                    add_witness(cl, p, h.ns, K5_KIND_DESTINATIONRULE, K5_CLUSTER_MAX_CONTEXT);
            }
        }
    }
}

/* The Ingresses routing to a Service, each with its other backends. */
static void add_service_ingresses(const k5_cluster *cl, k5_partners *p, const ref *svc)
{
    k5__key k;
    k5__key_pair(&k, svc->ns, svc->name, (k5_str){"", 0});
    const bucket *b = pmap_get(&cl->ing_svc, k.buf, k.n);
    for (uint32_t i = 0; b && i < b->n; i++)
        if (add(p, b->v[i])) {
            ref ing = e_ref(b->v[i]);
            add_backends(cl, p, &ing);
        }
}

static void add_around(const k5_cluster *cl, k5_partners *p, const ref *s)
{
    size_t first = p->n;
    if (s->kind_id & K5_KINDS_WORKLOAD) {
        add_referrers(cl, p, s, K5_KIND_SERVICE | K5_KIND_PDB | K5_KIND_HPA);
        /* The referrers are judged too (an update may break them): each with all it selects,
         * and a Service with the Ingresses routing to it (they judge the pods behind it). */
        for (size_t i = first, n = p->n; i < n; i++) {
            const entry *r = p->v[i];
            if (e_kind(r) == K5_KIND_SERVICE) {
                add_selected(cl, p, e_ns(r), k5_node_at(e_root(r), "spec.selector"),
                             K5_SELECTOR_MAP);
                ref svc = e_ref(r);
                add_service_ingresses(cl, p, &svc);
            } else if (e_kind(r) == K5_KIND_PDB)
                add_selected(cl, p, e_ns(r), k5_node_at(e_root(r), "spec.selector"),
                             K5_SELECTOR_LABEL);
        }
    } else if (s->kind_id == K5_KIND_SERVICE) {
        const k5_node *sel = k5_node_at(s->root, "spec.selector");
        add_selected(cl, p, s->ns, sel, K5_SELECTOR_MAP);
        if (p->n == first && k5_node_is_map(sel) && k5_node_len(sel))
            add_witness(cl, p, s->ns, K5_KINDS_WORKLOAD, 1);
        add_service_ingresses(cl, p, s);
    } else if (s->kind_id == K5_KIND_NETWORKPOLICY) {
        /* The pods it selects, and the ways traffic reaches them (add_policy_context). */
        add_selected(cl, p, s->ns, k5_node_at(s->root, "spec.podSelector"), K5_SELECTOR_LABEL);
        for (size_t i = first, n = p->n; i < n; i++) {
            size_t from = p->n;
            ref w = e_ref(p->v[i]);
            add_referrers(cl, p, &w, K5_KIND_SERVICE);
            for (size_t j = from, m = p->n; j < m; j++) {
                ref svc = e_ref(p->v[j]);
                add_service_ingresses(cl, p, &svc);
            }
        }
    } else if (s->kind_id == K5_KIND_INGRESS) {
        /* Its IngressClass comes by name (add_named): the context holds at most
         * K5_CLUSTER_MAX_CONTEXT of them, and ingress-class-missing must not miss this one. */
        add_backends(cl, p, s);
    } else if (s->kind_id & (K5_KIND_HTTPROUTE | K5_KIND_GRPCROUTE)) {
        add_route_backends(cl, p, s);
        add_route_context(cl, p, s);
    } else if (s->kind_id == K5_KIND_VIRTUALSERVICE) {
        add_mesh_destinations(cl, p, s);
    } else if (s->kind_id == K5_KIND_PDB) {
        add_selected(cl, p, s->ns, k5_node_at(s->root, "spec.selector"), K5_SELECTOR_LABEL);
        size_t n = p->n;
        if (n == first)
            add_witness(cl, p, s->ns, K5_KINDS_WORKLOAD, 1);
        /* The other budgets of those pods (overlaps), and their HPAs. */
        for (size_t i = first; i < n; i++) {
            ref w = e_ref(p->v[i]);
            add_referrers(cl, p, &w, K5_KIND_PDB | K5_KIND_HPA);
        }
    } else if (s->kind_id == K5_KIND_HPA) {
        const k5_node *tgt = k5_node_at(s->root, "spec.scaleTargetRef");
        k5_str tk = k5_node_str(k5_map_get(tgt, "kind")),
               tn = k5_node_str(k5_map_get(tgt, "name"));
        k5_kind kinds[] = {K5_KIND_DEPLOYMENT, K5_KIND_STATEFULSET};
        const char *names[] = {"Deployment", "StatefulSet"};
        for (int i = 0; i < 2; i++)
            if (str_eq(tk, (k5_str){names[i], strlen(names[i])})) {
                const entry *w = find_entry(cl, kinds[i], s->ns, tn);
                if (w && add(p, w)) {
                    ref wr = e_ref(w);
                    add_referrers(cl, p, &wr, K5_KIND_PDB | K5_KIND_HPA);
                } else if (!w) {
                    add_elsewhere(cl, p, kinds[i], s->ns, tn);
                }
            }
    }
}

/*
 * Every NetworkPolicy of a workload's namespace whose podSelector selects its pods: all of
 * them, because policies add up and one left out could hide the rule that admits the ingress
 * controller. Policies are few per namespace: the namespace's are scanned. True when one
 * selects the pods (added now, before, or the subject itself).
 */
static bool add_policies_for(const k5_cluster *cl, k5_partners *p, const ref *w)
{
    bool any = false;
    k5__key k;
    key_kind_ns(&k, K5_KIND_NETWORKPOLICY, w->ns);
    const bucket *b = pmap_get(&cl->ns_kind, k.buf, k.n);
    for (uint32_t i = 0; b && i < b->n; i++) {
        const entry *e = b->v[i];
        if (str_eq(e_ns(e), w->ns) &&
            k5_selector_matches(k5_node_at(e_root(e), "spec.podSelector"), K5_SELECTOR_LABEL,
                                w->pod_labels)) {
            add(p, e);
            any = true;
        }
    }
    return any;
}

/* The Namespace objects of the namespaces a route's Gateways live in (its data plane's). */
static void add_gateway_namespaces(const k5_cluster *cl, k5_partners *p, const ref *route)
{
    const k5_node *parents = k5_node_at(route->root, "spec.parentRefs");
    for (size_t i = 0; i < k5_node_len(parents); i++)
        add(p, find_entry(cl, K5_KIND_NAMESPACE, (k5_str){"", 0},
                          ref_ns(k5_seq_at(parents, i), route)));
}

/*
 * networkpolicy-blocks-ingress at admission. A NetworkPolicy is judged with the workloads it
 * selects and the ways traffic reaches them (add_around); a workload, a Service, an Ingress or
 * a route with the policies selecting the pods in the set. When some policy is in play, every
 * policy selecting those pods comes too, and the Namespace objects whose labels the policies'
 * namespaceSelectors are matched against: the ingress controller namespaces under the review's
 * config (k5__controller_namespace_in: a configured controller-namespaces, else the default
 * list), the Gateways' namespaces and the policies' own. A Namespace the
 * cache does not hold stays unknown, which the rule reads as admitting.
 */
static void add_policy_context(const k5_cluster *cl, const k5_config *cfg, k5_partners *p,
                               const ref *subjects, size_t nsubjects)
{
    bool any = false;
    for (size_t i = 0; i < nsubjects; i++) {
        const ref *s = &subjects[i];
        if (s->kind_id == K5_KIND_NETWORKPOLICY)
            any = true;
        else if (s->kind_id & K5_KINDS_WORKLOAD)
            any |= add_policies_for(cl, p, s);
    }
    for (size_t i = 0; i < p->n; i++)
        if (e_kind(p->v[i]) & K5_KINDS_WORKLOAD) {
            ref w = e_ref(p->v[i]);
            any |= add_policies_for(cl, p, &w);
        }
    if (!any)
        return;
    k5_str ns;
    for (size_t i = 0; k5__controller_namespace_in(cfg, i, &ns); i++)
        add(p, find_entry(cl, K5_KIND_NAMESPACE, (k5_str){"", 0}, ns));
    for (size_t i = 0; i < nsubjects; i++) {
        if (subjects[i].kind_id & (K5_KIND_HTTPROUTE | K5_KIND_GRPCROUTE))
            add_gateway_namespaces(cl, p, &subjects[i]);
    }
    for (size_t i = 0; i < p->n; i++) {
        ref o = e_ref(p->v[i]);
        if (o.kind_id & (K5_KIND_HTTPROUTE | K5_KIND_GRPCROUTE))
            add_gateway_namespaces(cl, p, &o);
        else if (o.kind_id == K5_KIND_NETWORKPOLICY)
            add(p, find_entry(cl, K5_KIND_NAMESPACE, (k5_str){"", 0}, o.ns));
    }
}

/*
 * The cluster-scoped objects an Ingress or Service is judged with, looked up by name (the
 * context's 32 per kind may leave them out): an Ingress's IngressClass, named by
 * ingressClassName or the kubernetes.io/ingress.class annotation (the load-balancer rules,
 * annotation-ignored-by-controller, ingress-class-missing), and the Namespace of an Ingress or
 * Service (its elbv2.k8s.aws/pod-readiness-gate-inject label). NULL lookups add nothing.
 */
static void add_named(const k5_cluster *cl, k5_partners *p, const ref *o)
{
    static const k5_str none = {"", 0};
    if (!(o->kind_id & (K5_KIND_INGRESS | K5_KIND_SERVICE)))
        return;
    add(p, find_entry(cl, K5_KIND_NAMESPACE, none, o->ns));
    if (o->kind_id != K5_KIND_INGRESS)
        return;
    k5_str cls = k5_node_str(k5_node_at(o->root, "spec.ingressClassName"));
    if (cls.n)
        add(p, find_entry(cl, K5_KIND_INGRESSCLASS, none, cls));
    /* Not k5_node_at: the annotation's key holds dots. */
    cls = k5_node_str(
        k5_map_get(k5_node_at(o->root, "metadata.annotations"), "kubernetes.io/ingress.class"));
    if (cls.n)
        add(p, find_entry(cl, K5_KIND_INGRESSCLASS, none, cls));
}

/*
 * The cached kinds the partner search does not follow by reference (NetworkPolicies,
 * IngressClasses, Gateway API kinds...), as context for the rules that read them: those of
 * the subject's namespace, its Namespace object, and the cluster-scoped ones.
 */
static void add_context(const k5_cluster *cl, k5_partners *p, const ref *s)
{
    for (int bit = 0; bit < K5__KIND_COUNT; bit++) {
        k5_kind kind = K5_KIND_AT(bit);
        if (!(kind & K5_CLUSTER_KINDS) || (kind & K5_CLUSTER_KINDS_LINKED))
            continue;
        if (kind == K5_KIND_NAMESPACE) {
            add(p, find_entry(cl, kind, (k5_str){"", 0}, s->ns));
            continue;
        }
        bool scoped = (k5_kind_info_of(kind)->flags & K5_KF_CLUSTER_SCOPED) != 0;
        add_witness(cl, p, scoped ? (k5_str){"", 0} : s->ns, kind, K5_CLUSTER_MAX_CONTEXT);
    }
}

k5_status k5_cluster_partners(const k5_cluster *cl, const k5_config *cfg,
                              const k5_object *const *subjects, size_t nsubjects,
                              k5_partners **out)
{
    k5_partners *p = calloc(1, sizeof *p);
    if (!p)
        return K5_ENOMEM;
    ref refs[8];
    if (nsubjects > sizeof refs / sizeof refs[0])
        nsubjects = sizeof refs / sizeof refs[0];
    for (size_t i = 0; i < nsubjects; i++)
        refs[i] = subject_ref(subjects[i]);
    p->subjects = refs;
    p->nsubjects = nsubjects;
    for (size_t i = 0; i < nsubjects; i++)
        add_around(cl, p, &refs[i]);
    if (nsubjects)
        add_context(cl, p, &refs[0]);
    /* After the context: the routes of the namespace are in, with their Gateways. */
    add_policy_context(cl, cfg, p, refs, nsubjects);
    for (size_t i = 0; i < nsubjects; i++)
        add_named(cl, p, &refs[i]);
    for (size_t i = 0; i < p->n; i++) { /* p->n grows with the lookups, which add no Ingress */
        ref o = e_ref(p->v[i]);
        add_named(cl, p, &o);
    }
    p->subjects = NULL;
    p->nsubjects = 0;
    if (p->oom) {
        k5_partners_free(&p);
        return K5_ENOMEM;
    }
    *out = p;
    return K5_OK;
}

size_t k5_partners_count(const k5_partners *p)
{
    return p ? p->n : 0;
}

bool k5_partners_truncated(const k5_partners *p)
{
    return p && p->truncated;
}

void k5_partners_free(k5_partners **p)
{
    if (!p || !*p)
        return;
    free((*p)->v);
    free(*p);
    *p = NULL;
}

k5_status k5_docset_add_partners(k5_docset *set, const k5_partners *p)
{
    if (!p || !p->n)
        return K5_OK;
    const k5_node **roots = malloc(p->n * sizeof *roots);
    if (!roots)
        return K5_ENOMEM;
    for (size_t i = 0; i < p->n; i++)
        roots[i] = e_root(p->v[i]);
    k5_status st = k5__docset_add_borrowed(set, "cluster", roots, p->n);
    free(roots);
    return st;
}
