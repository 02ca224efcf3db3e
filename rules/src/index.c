/*
 * The object index: all input objects by namespace and kind, by name, pod
 * templates by label, and Services/PDBs/HPAs by what they select, so that a
 * cross-object rule looks up candidates instead of scanning every object.
 */
#include <stdlib.h>

#include "k5_index.h"

static void key_ns_kind(k5__key *k, k5_str ns, int bit)
{
    k->n = 0;
    k5__key_add(k, ns.p, ns.n);
    char b = (char)('A' + bit);
    k5__key_add(k, &b, 1);
}

/* The key of a label key alone in namespace ns (Exists). */
static void key_label(k5__key *k, k5_str ns, k5_str label)
{
    k->n = 0;
    k5__key_add(k, ns.p, ns.n);
    k5__key_add(k, label.p ? label.p : "", label.n);
    k5__key_add(k, "", 0); /* never equal to a pair's key: one part more */
}

/*
 * The first matchExpressions entry of a label selector with operator op ("In" or "Exists")
 * that narrows candidates down: a string key, and for In a non-empty list of values.
 */
static const k5_node *first_expr(const k5_node *selector, const char *op)
{
    const k5_node *me = k5_map_get(selector, "matchExpressions");
    for (size_t i = 0; i < k5_node_len(me); i++) {
        const k5_node *ex = k5_seq_at(me, i);
        if (!k5_node_is(k5_map_get(ex, "operator"), op) ||
            k5_node_kind(k5_map_get(ex, "key")) != K5_NODE_STR)
            continue;
        const k5_node *vals = k5_map_get(ex, "values");
        if (op[0] == 'I' && !(k5_node_is_seq(vals) && k5_node_len(vals)))
            continue;
        return ex;
    }
    return NULL;
}

/* True when the v-th value of an In list equals an earlier one (visited once, not twice). */
static bool value_repeats(const k5_node *vals, size_t v)
{
    k5_str s = k5_node_str(k5_seq_at(vals, v));
    for (size_t i = 0; i < v; i++) {
        k5_str t = k5_node_str(k5_seq_at(vals, i));
        if (t.n == s.n && (s.n == 0 || memcmp(t.p, s.p, s.n) == 0))
            return true;
    }
    return false;
}

static const k5_object *obj_at(const k5_index *idx, uint32_t i)
{
    return k5_docset_object(idx->set, i);
}

static bool str_eq(k5_str a, k5_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Hosts longer than this are not DNS names; looking them up tries every wildcard entry. */
#define MESH_HOST_MAX 253

/*
 * The keys a ServiceEntry's host is found under: as written, as a Service, or for a wildcard
 * "*.example.com" its suffix (key "*", ".example.com", which a host meets at each of its dots)
 * and the list of every such wildcard ("*", "*": what a host too long to split tries). "*" alone,
 * and a '*' anywhere else (matching nothing but itself), go under "*", which every host tries.
 */
static size_t entry_keys(k5_str host, k5_str ns, k5__key keys[2])
{
    k5__mesh_host h;
    size_t n = 1;
    keys[0].n = 0;
    if (memchr(host.p ? host.p : "", '*', host.n)) {
        k5__key_add(&keys[0], "*", 1);
        if (host.n >= 2 && host.p[1] == '.' && !memchr(host.p + 1, '*', host.n - 1)) {
            k5__key_add(&keys[0], host.p + 1, host.n - 1);
            keys[1].n = 0;
            k5__key_add(&keys[1], "*", 1);
            k5__key_add(&keys[1], "*", 1);
            n = 2;
        }
        return n;
    }
    k5__key_add(&keys[0], host.p, host.n);
    if (k5__mesh_host_parse(host, ns, &h))
        k5__key_pair(&keys[n++], h.ns, h.name, (k5_str){"svc", 3});
    return n;
}

/* Indexes a ServiceEntry under each of its spec.hosts. */
static k5_status index_entry(k5_index *idx, const k5_object *o, uint32_t id)
{
    const k5_node *hosts = k5_node_at(o->root, "spec.hosts");
    k5_status st = K5_OK;
    for (size_t i = 0; i < k5_node_len(hosts) && st == K5_OK && k5_node_is_seq(hosts); i++) {
        k5_str host = k5_node_str(k5_seq_at(hosts, i));
        if (!host.n)
            continue;
        k5__key keys[2];
        size_t n = entry_keys(host, o->namespace_, keys);
        for (size_t j = 0; j < n && st == K5_OK; j++)
            st = k5__hmap_add(&idx->mesh_se, keys[j].buf, keys[j].n, id);
    }
    return st;
}

/*
 * Indexes a LabelSelector (a PDB's, a NetworkPolicy's podSelector) so that the objects selecting
 * a pod are found from its labels: by the first matchLabels pair, else by each value of the
 * first `In` expression (a pod has one value per key, so it meets the selector under one value
 * at most), else by the first `Exists` key, else in the namespace's scan list.
 */
static k5_status add_label_selector(k5__hmap *by_pair, k5__hmap *by_key, k5__hmap *scan,
                                    const k5_object *o, const k5_node *sel, uint32_t id)
{
    k5__key k;
    k5_status st = K5_OK;
    const k5_node *ml = k5_map_get(sel, "matchLabels");
    const k5_node *in = first_expr(sel, "In"), *ex = first_expr(sel, "Exists");
    if (k5_node_is_map(ml) && k5_node_len(ml)) {
        k5__key_entry(&k, o->namespace_, ml, 0);
        return k5__hmap_add(by_pair, k.buf, k.n, id);
    }
    if (in) {
        const k5_node *vals = k5_map_get(in, "values");
        for (size_t v = 0; v < k5_node_len(vals) && st == K5_OK; v++) {
            if (value_repeats(vals, v))
                continue;
            k5__key_pair(&k, o->namespace_, k5_node_str(k5_map_get(in, "key")),
                         k5_node_str(k5_seq_at(vals, v)));
            st = k5__hmap_add(by_pair, k.buf, k.n, id);
        }
        return st;
    }
    if (ex) {
        key_label(&k, o->namespace_, k5_node_str(k5_map_get(ex, "key")));
        return k5__hmap_add(by_key, k.buf, k.n, id);
    }
    k.n = 0;
    k5__key_add(&k, o->namespace_.p, o->namespace_.n);
    return k5__hmap_add(scan, k.buf, k.n, id);
}

/* Adds o under (ns, name) of a Service it sends traffic to, once per Service. */
static k5_status add_user(k5_index *idx, k5_str ns, k5_str name, uint32_t id)
{
    k5__key k;
    if (!name.n)
        return K5_OK;
    k5__key_pair(&k, ns, (k5_str){"svc", 3}, name);
    const k5__hentry *e = k5__hmap_get(&idx->svc_users, k.buf, k.n);
    if (e && e->nvals && e->vals[e->nvals - 1] == id)
        return K5_OK; /* this object already listed (backends in a row on one Service) */
    return k5__hmap_add(&idx->svc_users, k.buf, k.n, id);
}

/*
 * The Services an Ingress (every version: service.name, serviceName; rules and the default
 * backend) or a Gateway API route (rules[].backendRefs of kind Service, in the route's
 * namespace unless the ref names another) sends traffic to.
 */
static k5_status add_service_users(k5_index *idx, const k5_object *o, uint32_t id)
{
    k5_status st = K5_OK;
    const k5_node *spec = k5_map_get(o->root, "spec");
    if (o->kind_id == K5_KIND_INGRESS) {
        const k5_node *defaults[] = {k5_map_get(spec, "defaultBackend"), k5_map_get(spec, "backend")};
        for (size_t i = 0; i < 2 && st == K5_OK; i++) {
            const k5_node *b = defaults[i];
            const k5_node *n = k5_node_at(b, "service.name");
            st = add_user(idx, o->namespace_, k5_node_str(n ? n : k5_map_get(b, "serviceName")), id);
        }
        const k5_node *rules = k5_map_get(spec, "rules");
        for (size_t r = 0; r < k5_node_len(rules) && st == K5_OK; r++) {
            const k5_node *paths = k5_node_at(k5_seq_at(rules, r), "http.paths");
            for (size_t p = 0; p < k5_node_len(paths) && st == K5_OK; p++) {
                const k5_node *b = k5_map_get(k5_seq_at(paths, p), "backend");
                const k5_node *n = k5_node_at(b, "service.name");
                st = add_user(idx, o->namespace_,
                              k5_node_str(n ? n : k5_map_get(b, "serviceName")), id);
            }
        }
        return st;
    }
    const k5_node *rules = k5_map_get(spec, "rules");
    for (size_t r = 0; r < k5_node_len(rules) && st == K5_OK; r++) {
        const k5_node *refs = k5_map_get(k5_seq_at(rules, r), "backendRefs");
        for (size_t i = 0; i < k5_node_len(refs) && st == K5_OK; i++) {
            const k5_node *ref = k5_seq_at(refs, i);
            if (!k5__backend_ref_is_service(ref))
                continue;
            k5_str ns = k5_node_str(k5_map_get(ref, "namespace"));
            st = add_user(idx, ns.n ? ns : o->namespace_, k5_node_str(k5_map_get(ref, "name")),
                          id);
        }
    }
    return st;
}

/* A growable byte string: a Service's class signature. */
typedef struct sig {
    char *p;
    size_t n, cap;
    bool oom;
} sig;

static void sig_add(sig *s, char type, const char *p, size_t n)
{
    if (s->oom)
        return;
    if (s->n + n + 2 > s->cap) {
        size_t ncap = (s->cap ? s->cap : 256);
        while (ncap < s->n + n + 2)
            ncap *= 2;
        char *np = realloc(s->p, ncap);
        if (!np) {
            s->oom = true;
            return;
        }
        s->p = np;
        s->cap = ncap;
    }
    s->p[s->n++] = type;
    if (n)
        memcpy(s->p + s->n, p, n);
    s->n += n;
    s->p[s->n++] = '\0';
}

/* A scalar as its type and text ("8080" and 8080 differ: one is a port name). */
static void sig_node(sig *s, const k5_node *n)
{
    k5_str t = k5_node_str(n);
    char type = (char)('0' + (n ? (int)k5_node_kind(n) : 9) + (k5_node_quoted(n) ? 10 : 0));
    sig_add(s, type, t.p, t.n);
}

/* What makes Services one group: the namespace and the selector. */
static void service_sig(sig *s, const k5_object *o, const k5_node *sel)
{
    s->n = 0;
    sig_add(s, 'n', o->namespace_.p, o->namespace_.n);
    for (size_t i = 0; i < k5_node_len(sel); i++) {
        sig_node(s, k5_map_key(sel, i));
        sig_node(s, k5_map_value(sel, i));
    }
}

/*
 * The key of a fact about a group (a target of its Services, a port of what it selects): the
 * group's id, a type, the text's length and the text, and a second text (a protocol). Built
 * whole, never truncated (k5__key would cut a long name), so two facts never share a key.
 */
typedef struct gkey {
    char stack[256];
    char *p;
    size_t n;
} gkey;

static bool gkey_make(gkey *k, uint32_t gid, char type, k5_str a, k5_str b)
{
    size_t need = 9 + a.n + b.n;
    k->p = need <= sizeof k->stack ? k->stack : malloc(need);
    if (!k->p)
        return false;
    uint32_t an = (uint32_t)a.n;
    memcpy(k->p, &gid, 4);
    k->p[4] = type;
    memcpy(k->p + 5, &an, 4);
    if (a.n)
        memcpy(k->p + 9, a.p, a.n);
    if (b.n)
        memcpy(k->p + 9 + a.n, b.p, b.n);
    k->n = need;
    return true;
}

static void gkey_done(gkey *k)
{
    if (k->p != k->stack)
        free(k->p);
}

/* Present in m; out of memory for a key longer than 256 bytes reads as absent. */
static bool gkey_has(const k5__hmap *m, uint32_t gid, char type, k5_str a, k5_str b)
{
    gkey k;
    if (!gkey_make(&k, gid, type, a, b))
        return false;
    bool has = k5__hmap_get(m, k.p, k.n) != NULL;
    gkey_done(&k);
    return has;
}

/* Adds the fact once. */
static k5_status gkey_add(k5__hmap *m, uint32_t gid, char type, k5_str a, k5_str b, bool *added)
{
    gkey k;
    if (!gkey_make(&k, gid, type, a, b))
        return K5_ENOMEM;
    k5_status st = K5_OK;
    *added = false;
    if (!k5__hmap_get(m, k.p, k.n)) {
        st = k5__hmap_add(m, k.p, k.n, gid);
        *added = st == K5_OK;
    }
    gkey_done(&k);
    return st;
}

static const k5_str no_str = {NULL, 0};

/* A number as the text of an 'i' target: two spellings of one number are one target. */
static k5_str num_text(int64_t v, char *buf, size_t size)
{
    size_t w = size;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        buf[--w] = (char)('0' + u % 10);
        u /= 10;
    } while (u && w > 1);
    if (v < 0)
        buf[--w] = '-';
    return (k5_str){buf + w, size - w};
}

bool k5__index_group_has(const k5_index *idx, const k5__svc_group *g, char type, k5_str text)
{
    return gkey_has(&idx->svc_target, g->id, type, text, no_str);
}

bool k5__index_group_has_port(const k5_index *idx, const k5__svc_group *g, int64_t port)
{
    char buf[24];
    return k5__index_group_has(idx, g, 'i', num_text(port, buf, sizeof buf));
}

/* Adds a Service's traffic targets (k5__svc_port_target) to its group's set of distinct ones. */
static k5_status add_targets(k5_index *idx, k5__svc_group *g, const k5_object *o)
{
    const k5_node *ports = k5_node_at(o->root, "spec.ports");
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        int64_t num = 0;
        k5_str text = {NULL, 0};
        char type = k5__svc_port_target(k5_seq_at(ports, i), &num, &text);
        if (!type)
            continue;
        char buf[24];
        if (type == 'i')
            text = num_text(num, buf, sizeof buf);
        bool added;
        k5_status st = gkey_add(&idx->svc_target, g->id, type, text, no_str, &added);
        if (st != K5_OK)
            return st;
        g->ntargets += added;
    }
    return K5_OK;
}

static k5_status add_service(k5_index *idx, const k5_object *o, uint32_t id, sig *s)
{
    const k5_node *sel = k5_node_at(o->root, "spec.selector");
    if (!k5_node_is_map(sel) || !k5_node_len(sel))
        return K5_OK;
    k5__key k;
    k5__key_entry(&k, o->namespace_, sel, 0);
    k5_status st = k5__hmap_add(&idx->sel_svc, k.buf, k.n, id);
    if (st != K5_OK)
        return st;
    service_sig(s, o, sel);
    if (s->oom)
        return K5_ENOMEM;
    const k5__hentry *cls = k5__hmap_get(&idx->svc_class, s->p, s->n);
    if (cls && cls->nvals) {
        k5__svc_group *g = &K5__VEC_AT(&idx->svc_groups, k5__svc_group, cls->vals[0]);
        g->members++;
        idx->svc_group_of[id] = g->id + 1;
        return add_targets(idx, g, o);
    }
    k5__svc_group ng;
    memset(&ng, 0, sizeof ng);
    ng.id = (uint32_t)idx->svc_groups.len;
    ng.first = id;
    ng.members = 1;
    if (!k5__vec_push(&idx->svc_groups, &ng))
        return K5_ENOMEM;
    idx->svc_group_of[id] = ng.id + 1;
    st = k5__hmap_add(&idx->svc_class, s->p, s->n, ng.id);
    if (st == K5_OK)
        st = k5__hmap_add(&idx->sel_svc_rep, k.buf, k.n, id);
    if (st == K5_OK)
        st = add_targets(idx, &K5__VEC_AT(&idx->svc_groups, k5__svc_group, ng.id), o);
    return st;
}

/* ---- what the selector of a group of several Services selects, summed up once ---- */

typedef struct summary {
    k5_index *idx;
    k5__svc_group *g;
    k5_status st;
} summary;

static void sel_add(summary *s, char type, k5_str a, k5_str b)
{
    bool added;
    if (s->st == K5_OK)
        s->st = gkey_add(&s->idx->svc_sel, s->g->id, type, a, b, &added);
}

static k5_str proto_of(const k5_node *port)
{
    k5_str p = k5_node_str(k5_map_get(port, "protocol"));
    return p.n ? p : (k5_str){"TCP", 3};
}

/* The numbers a container's command and args mention on their own ("8080", "--port=8080",
 * "-5"): each maximal run of digits, and "-" with it after a '-' that follows no digit. */
static void add_mentioned(summary *s, const k5_node *ctr)
{
    static const char *const lists[] = {"command", "args"};
    for (size_t l = 0; l < 2; l++) {
        const k5_node *seq = k5_map_get(ctr, lists[l]);
        for (size_t i = 0; i < k5_node_len(seq); i++) {
            k5_str t = k5_node_str(k5_seq_at(seq, i));
            for (size_t a = 0; a < t.n;) {
                if (t.p[a] < '0' || t.p[a] > '9') {
                    a++;
                    continue;
                }
                size_t b = a;
                while (b < t.n && t.p[b] >= '0' && t.p[b] <= '9')
                    b++;
                if (b - a <= 20) { /* longer runs are no int64 */
                    sel_add(s, 'I', (k5_str){t.p + a, b - a}, no_str);
                    if (a > 0 && t.p[a - 1] == '-' &&
                        (a == 1 || t.p[a - 2] < '0' || t.p[a - 2] > '9'))
                        sel_add(s, 'I', (k5_str){t.p + a - 1, b - a + 1}, no_str);
                }
                a = b;
            }
        }
    }
}

/* One selected workload: its running containers' ports, walked as the rule walks them. */
static bool summarize_workload(const k5_object *w, void *ud)
{
    summary *s = ud;
    k5__svc_group *g = s->g;
    if (g->selected < K5__SELECTION_FIRST)
        g->sel_first[g->selected] = w;
    g->selected++;
    bool any = false;
    k5__ctr_iter it;
    const k5_node *ctr;
    k5__ctr_iter_init(&it, w, K5__CTR_RUNNING);
    while ((ctr = k5__ctr_next(&it, NULL)) != NULL) {
        const k5_node *ports = k5_map_get(ctr, "ports");
        size_t n = k5_node_len(ports);
        if (n) {
            any = true;
            add_mentioned(s, ctr);
        }
        for (size_t j = 0; j < n; j++) {
            const k5_node *p = k5_seq_at(ports, j);
            int64_t num;
            char buf[24];
            if (k5_node_int(k5_map_get(p, "containerPort"), &num))
                sel_add(s, 'I', num_text(num, buf, sizeof buf), no_str);
            k5_str name = k5_node_str(k5_map_get(p, "name"));
            sel_add(s, 'n', name, no_str);
            sel_add(s, 'N', name, proto_of(p));
        }
    }
    if (!any)
        g->noports = true;
    return s->st == K5_OK;
}

/* Groups of one Service are left alone: their one judgement visits the workloads once. */
static k5_status summarize(k5_index *idx, k5__svc_group *g)
{
    if (g->members < 2)
        return K5_OK;
    const k5_object *svc = k5_docset_object(idx->set, g->first);
    summary s = {idx, g, K5_OK};
    k5_index_select(idx, svc->namespace_, k5_node_at(svc->root, "spec.selector"),
                    K5_SELECTOR_MAP, K5_KINDS_SERVING, summarize_workload, &s);
    g->summarized = s.st == K5_OK;
    return s.st;
}

bool k5__index_selection_judge(const k5_index *idx, const k5_object *svc, const k5_intstr *want,
                               k5_str proto, bool *resolved, bool *other_proto, size_t *selected,
                               const k5_object **first, size_t nfirst)
{
    if (!idx->set || !idx->svc_group_of)
        return false;
    uint32_t gi = idx->svc_group_of[svc->index];
    if (!gi)
        return false;
    const k5__svc_group *g = &K5__VEC_AT(&idx->svc_groups, k5__svc_group, gi - 1);
    if (!g->summarized)
        return false;
    *other_proto = false;
    if (want->is_int) {
        char buf[24];
        *resolved = g->noports ||
                    gkey_has(&idx->svc_sel, g->id, 'I', num_text(want->i, buf, sizeof buf), no_str);
    } else {
        *resolved = gkey_has(&idx->svc_sel, g->id, 'N', want->s, proto);
        *other_proto = !*resolved && gkey_has(&idx->svc_sel, g->id, 'n', want->s, no_str);
    }
    *selected = g->selected;
    for (size_t i = 0; i < nfirst && i < g->selected && i < K5__SELECTION_FIRST; i++)
        first[i] = g->sel_first[i];
    return true;
}

/* Maps of fewer keys get no filter of absent keys (k5__hmap_seal): they stay in the cache. */
#define K5__SEAL_MIN 256u

/*
 * The maps every kind is in (by namespace, kind and name) and the workloads' pod labels, for
 * objects [0, n): with --jobs, a second thread's share of the index, about as much work as
 * the rest (the pod label maps are two insertions per label of every workload).
 */
/* The slots add_names will write for o in the two maps that grow with the input. */
static void prefetch_names(k5_index *idx, const k5_object *o)
{
    k5__key k;
    if ((o->kind_id & K5_KINDS_WORKLOAD) && o->pod_labels) {
        for (size_t j = 0; j < k5_node_len(o->pod_labels) && j < 2; j++) {
            k5__key_entry(&k, o->namespace_, o->pod_labels, j);
            k5__hmap_prefetch(&idx->pod_labels, k.buf, k.n);
        }
    }
    key_ns_kind(&k, o->namespace_, k5_kind_bit(o->kind_id));
    k5__key_add(&k, o->name.p, o->name.n);
    k5__hmap_prefetch(&idx->by_name, k.buf, k.n);
}

/* How many objects ahead add_names asks for its slots: enough to cover a miss's latency. */
#define K5__PREFETCH_AHEAD 8u

static k5_status add_names(k5_index *idx, size_t n)
{
    k5__key k;
    /* One key per object but for repeated names: sized once instead of by doublings. The pod
     * label map gets one key per labelled workload to start with (a workload's own name
     * label, app=web, is nearly always its own pair); its doublings, each a rehash of
     * every key into fresh memory, were most of the cost of building it. */
    size_t labelled = 0;
    for (size_t i = 0; i < n; i++) {
        const k5_object *o = k5_docset_object(idx->set, i);
        labelled += (o->kind_id & K5_KINDS_WORKLOAD) && k5_node_len(o->pod_labels);
    }
    if (k5__hmap_reserve(&idx->by_name, n) != K5_OK ||
        k5__hmap_reserve(&idx->pod_labels, labelled) != K5_OK)
        return K5_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const k5_object *o = k5_docset_object(idx->set, i);
        uint32_t id = (uint32_t)i;
        if (i + K5__PREFETCH_AHEAD < n)
            prefetch_names(idx, k5_docset_object(idx->set, i + K5__PREFETCH_AHEAD));
        if ((o->kind_id & K5_KINDS_WORKLOAD) && o->pod_labels) {
            for (size_t j = 0; j < k5_node_len(o->pod_labels); j++) {
                k5__key_entry(&k, o->namespace_, o->pod_labels, j);
                if (k5__hmap_add(&idx->pod_labels, k.buf, k.n, id) != K5_OK)
                    return K5_ENOMEM;
                key_label(&k, o->namespace_, k5_node_str(k5_map_key(o->pod_labels, j)));
                if (k5__hmap_add(&idx->pod_keys, k.buf, k.n, id) != K5_OK)
                    return K5_ENOMEM;
            }
        }
        int bit = k5_kind_bit(o->kind_id);
        key_ns_kind(&k, o->namespace_, bit);
        if (k5__hmap_add(&idx->by_ns_kind, k.buf, k.n, id) != K5_OK)
            return K5_ENOMEM;
        k5__key_add(&k, o->name.p, o->name.n);
        if (k5__hmap_add(&idx->by_name, k.buf, k.n, id) != K5_OK)
            return K5_ENOMEM;
        if (o->kind_id & K5_KINDS_CLUSTER) {
            /* Cluster-scoped: found by name whatever namespace the docset gave it. */
            key_ns_kind(&k, (k5_str){"", 0}, bit);
            k5__key_add(&k, o->name.p, o->name.n);
            if (k5__hmap_add(&idx->by_cluster, k.buf, k.n, id) != K5_OK)
                return K5_ENOMEM;
        }
        key_ns_kind(&k, (k5_str){"", 0}, bit);
        if (k5__hmap_add(&idx->of_kind, k.buf, k.n, id) != K5_OK)
            return K5_ENOMEM;
    }
    /* The objects alone with their name, marked walking the slots in memory order: asked
     * per object instead (k5__memo_copy, for every workload), each was a cache miss in a
     * table of many MiB. */
    idx->name_once = calloc(n ? n : 1, 1);
    if (!idx->name_once)
        return K5_ENOMEM;
    for (size_t s = 0; s < idx->by_name.cap; s++) {
        const k5__hentry *e = &idx->by_name.slots[s];
        if (e->key && e->nvals == 1 && e->vals[0] < n)
            idx->name_once[e->vals[0]] = 1;
    }
    /* Mostly asked for what they lack (kinds a namespace does not have, missing names). */
    k5__hmap *sealed[] = {&idx->by_ns_kind, &idx->by_name, &idx->by_cluster};
    for (size_t i = 0; i < sizeof sealed / sizeof *sealed; i++)
        if (sealed[i]->len >= K5__SEAL_MIN)
            k5__hmap_seal(sealed[i]);
    return K5_OK;
}

typedef struct names_job {
    k5_index *idx;
    size_t n;
    k5_status st;
} names_job;

static void *names_main(void *arg)
{
    names_job *j = arg;
    j->st = add_names(j->idx, j->n);
    return NULL;
}

/* Below this many objects a second thread costs more than it saves. */
#define K5__INDEX_THREAD_MIN 4096u

k5_status k5__index_build(k5_index **out, const k5_docset *set, unsigned jobs)
{
    k5_index *idx = calloc(1, sizeof *idx);
    if (!idx)
        return K5_ENOMEM;
    idx->set = set;
    if (pthread_mutex_init(&idx->any_lock, NULL) != 0) {
        free(idx);
        return K5_ENOMEM;
    }
    k5__hmap *maps[] = {&idx->sel_svc,     &idx->sel_pdb,    &idx->sel_pdb_key, &idx->pdb_scan,
                        &idx->hpa_target,  &idx->mesh_dr,    &idx->mesh_se,     &idx->sel_np,
                        &idx->sel_np_key,  &idx->np_scan,    &idx->svc_users,   &idx->svc_class,
                        &idx->sel_svc_rep, &idx->svc_target, &idx->svc_sel,     &idx->name_any,
                        &idx->key_any,     &idx->label_any,  &idx->neg};
    for (size_t i = 0; i < sizeof maps / sizeof *maps; i++)
        maps[i]->arena = &idx->arena;
    /* The maps add_names builds have an arena of their own: they may be built on another
     * thread. */
    k5__hmap *names[] = {&idx->by_ns_kind, &idx->by_name,    &idx->by_cluster,
                         &idx->of_kind,    &idx->pod_labels, &idx->pod_keys};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        names[i]->arena = &idx->arena_names;
    k5_status st = K5_OK;
    k5__key k;
    size_t n = k5_docset_object_count(set);
    names_job nj = {idx, n, K5_OK};
    pthread_t names_thread;
    bool threaded = jobs > 1 && n >= K5__INDEX_THREAD_MIN &&
                    pthread_create(&names_thread, NULL, names_main, &nj) == 0;
    if (!threaded)
        st = add_names(idx, n);
    sig s = {NULL, 0, 0, false};
    idx->svc_groups.elem = sizeof(k5__svc_group);
    idx->svc_group_of = calloc(n ? n : 1, sizeof *idx->svc_group_of);
    if (!idx->svc_group_of)
        st = K5_ENOMEM;
    idx->files_ordered = true;
    for (size_t i = 0; i < n && st == K5_OK; i++) {
        const k5_object *o = k5_docset_object(set, i);
        uint32_t id = (uint32_t)i;
        if (i && o->file < k5_docset_object(set, i - 1)->file)
            idx->files_ordered = false;
        if (o->kind_id & K5_KINDS_WORKLOAD) {
            /* Its pod labels: add_names. */
        } else if (o->kind_id == K5_KIND_SERVICE) {
            st = add_service(idx, o, id, &s);
        } else if (o->kind_id == K5_KIND_PDB) {
            st = add_label_selector(&idx->sel_pdb, &idx->sel_pdb_key, &idx->pdb_scan, o,
                                    k5_node_at(o->root, "spec.selector"), id);
        } else if (o->kind_id == K5_KIND_NETWORKPOLICY) {
            const k5_node *sel = k5_node_at(o->root, "spec.podSelector");
            if (k5_node_is_map(sel))
                st = add_label_selector(&idx->sel_np, &idx->sel_np_key, &idx->np_scan, o, sel, id);
        } else if (o->kind_id & (K5_KIND_INGRESS | K5_KIND_HTTPROUTE | K5_KIND_GRPCROUTE)) {
            st = add_service_users(idx, o, id);
        } else if (o->kind_id == K5_KIND_DESTINATIONRULE) {
            k5__mesh_host h;
            if (k5__mesh_host_parse(k5_node_str(k5_node_at(o->root, "spec.host")), o->namespace_,
                                    &h)) {
                k5__key_pair(&k, h.ns, h.name, (k5_str){NULL, 0});
                st = k5__hmap_add(&idx->mesh_dr, k.buf, k.n, id);
            }
        } else if (o->kind_id == K5_KIND_OTHER && k5__mesh_is(o, "ServiceEntry")) {
            st = index_entry(idx, o, id);
        } else if (o->kind_id == K5_KIND_HPA) {
            const k5_node *ref = k5_node_at(o->root, "spec.scaleTargetRef");
            k5_str tk = k5_node_str(k5_map_get(ref, "kind"));
            k5_str tn = k5_node_str(k5_map_get(ref, "name"));
            if (tk.n && tn.n) {
                k5__key_pair(&k, o->namespace_, tk, tn);
                st = k5__hmap_add(&idx->hpa_target, k.buf, k.n, id);
            }
        }
    }
    free(s.p);
    if (threaded) {
        pthread_join(names_thread, NULL);
        if (st == K5_OK)
            st = nj.st;
    }
    /* The maps that are mostly asked for keys they lack (a workload's labels that no selector
     * starts with, kinds a namespace does not have) get their filter of absent keys; small
     * ones stay in the cache anyway. */
    k5__hmap *sealed[] = {&idx->sel_svc,    &idx->sel_svc_rep, &idx->sel_pdb,    &idx->sel_pdb_key,
                          &idx->pdb_scan,   &idx->sel_np,      &idx->sel_np_key, &idx->np_scan,
                          &idx->hpa_target, &idx->mesh_dr,     &idx->mesh_se,    &idx->svc_users,
                          &idx->svc_target, &idx->svc_sel};
    for (size_t i = 0; i < sizeof sealed / sizeof *sealed && st == K5_OK; i++)
        if (sealed[i]->len >= K5__SEAL_MIN)
            k5__hmap_seal(sealed[i]);
    /* Summaries search the index (by_ns_kind among others): all of it is built now. */
    for (size_t g = 0; g < idx->svc_groups.len && st == K5_OK; g++)
        st = summarize(idx, &K5__VEC_AT(&idx->svc_groups, k5__svc_group, g));
    if (st != K5_OK) {
        k5__index_free(&idx);
        return st;
    }
    *out = idx;
    return K5_OK;
}

void k5__index_free(k5_index **idx)
{
    if (!idx || !*idx)
        return;
    k5_index *x = *idx;
    k5__hmap_free(&x->by_ns_kind);
    k5__hmap_free(&x->by_name);
    k5__hmap_free(&x->pod_labels);
    k5__hmap_free(&x->pod_keys);
    k5__hmap_free(&x->sel_svc);
    k5__hmap_free(&x->sel_pdb);
    k5__hmap_free(&x->sel_pdb_key);
    k5__hmap_free(&x->pdb_scan);
    k5__hmap_free(&x->hpa_target);
    k5__hmap_free(&x->mesh_dr);
    k5__hmap_free(&x->mesh_se);
    k5__hmap_free(&x->by_cluster);
    k5__hmap_free(&x->sel_np);
    k5__hmap_free(&x->sel_np_key);
    k5__hmap_free(&x->np_scan);
    k5__hmap_free(&x->svc_users);
    k5__hmap_free(&x->of_kind);
    k5__hmap_free(&x->svc_class);
    k5__hmap_free(&x->name_any);
    k5__hmap_free(&x->label_any);
    k5__hmap_free(&x->key_any);
    k5__hmap_free(&x->neg);
    free(x->wl_all);
    k5__memo_free(atomic_load(&x->memo));
    k5__lb_cache_free(atomic_load(&x->lb));
    k5__hmap_free(&x->sel_svc_rep);
    k5__hmap_free(&x->svc_target);
    k5__hmap_free(&x->svc_sel);
    k5__vec_free(&x->svc_groups);
    free(x->svc_group_of);
    free(x->name_once);
    k5__arena_free(&x->arena);
    k5__arena_free(&x->arena_names);
    pthread_mutex_destroy(&x->any_lock);
    free(x);
    *idx = NULL;
}

size_t k5_index_count(const k5_index *idx, k5_str ns, k5_kind kinds)
{
    size_t total = 0;
    k5__key k;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, ns, b);
        const k5__hentry *e = k5__hmap_get(&idx->by_ns_kind, k.buf, k.n);
        if (e)
            total += e->nvals;
    }
    return total;
}

bool k5_index_has_in_file(const k5_index *idx, k5_str ns, k5_kind kinds, size_t file)
{
    k5__key k;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, ns, b);
        const k5__hentry *e = k5__hmap_get(&idx->by_ns_kind, k.buf, k.n);
        if (!e)
            continue;
        if (!idx->files_ordered) {
            for (uint32_t i = 0; i < e->nvals; i++)
                if (obj_at(idx, e->vals[i])->file == file)
                    return true;
            continue;
        }
        /* Objects in input order, file by file: the first at or past the file. */
        uint32_t lo = 0, hi = e->nvals;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (obj_at(idx, e->vals[mid])->file < file)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < e->nvals && obj_at(idx, e->vals[lo])->file == file)
            return true;
    }
    return false;
}

void k5_index_each(const k5_index *idx, k5_str ns, k5_kind kinds, k5_visit_fn fn, void *ud)
{
    k5__key k;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, ns, b);
        const k5__hentry *e = k5__hmap_get(&idx->by_ns_kind, k.buf, k.n);
        for (uint32_t i = 0; e && i < e->nvals; i++)
            if (!fn(obj_at(idx, e->vals[i]), ud))
                return;
    }
}

const k5_object *k5_index_find(const k5_index *idx, k5_str ns, k5_kind kinds, k5_str name)
{
    k5__key k;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, ns, b);
        k5__key_add(&k, name.p, name.n);
        const k5__hentry *e = k5__hmap_get(&idx->by_name, k.buf, k.n);
        for (uint32_t i = 0; e && i < e->nvals; i++) {
            const k5_object *o = obj_at(idx, e->vals[i]);
            if (str_eq(o->name, name) && str_eq(o->namespace_, ns))
                return o;
        }
    }
    return NULL;
}

void k5_index_each_named(const k5_index *idx, k5_str ns, k5_kind kinds, k5_str name,
                         k5_visit_fn fn, void *ud)
{
    k5__key k;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, ns, b);
        k5__key_add(&k, name.p, name.n);
        const k5__hentry *e = k5__hmap_get(&idx->by_name, k.buf, k.n);
        for (uint32_t i = 0; e && i < e->nvals; i++) {
            const k5_object *o = obj_at(idx, e->vals[i]);
            if (str_eq(o->name, name) && str_eq(o->namespace_, ns) && !fn(o, ud))
                return;
        }
    }
}

bool k5__index_name_once(const k5_index *idx, const k5_object *o)
{
    /* One kind bit: the one key k5_index_each_named looks up for o. */
    return idx->name_once && o->index < k5_docset_object_count(idx->set) && o->kind_id &&
           !(o->kind_id & (o->kind_id - 1)) && idx->name_once[o->index];
}

const k5_object *k5_index_find_cluster(const k5_index *idx, k5_kind kinds, k5_str name)
{
    k5__key k;
    kinds &= K5_KINDS_CLUSTER;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, (k5_str){"", 0}, b);
        k5__key_add(&k, name.p, name.n);
        const k5__hentry *e = k5__hmap_get(&idx->by_cluster, k.buf, k.n);
        for (uint32_t i = 0; e && i < e->nvals; i++) {
            const k5_object *o = obj_at(idx, e->vals[i]);
            if (str_eq(o->name, name) && (o->kind_id & K5_KIND_AT(b)))
                return o;
        }
    }
    return NULL;
}

static bool value_in(const k5_node *values, k5_str v)
{
    for (size_t i = 0; i < k5_node_len(values); i++)
        if (str_eq(k5_node_str(k5_seq_at(values, i)), v))
            return true;
    return false;
}

static const k5_node *label_value(const k5_node *labels, k5_str key)
{
    for (size_t i = 0; i < k5_node_len(labels); i++)
        if (str_eq(k5_node_str(k5_map_key(labels, i)), key))
            return k5_map_value(labels, i);
    return NULL;
}

static bool pairs_match(const k5_node *sel, const k5_node *labels)
{
    for (size_t i = 0; i < k5_node_len(sel); i++) {
        const k5_node *v = label_value(labels, k5_node_str(k5_map_key(sel, i)));
        if (!v || !str_eq(k5_node_str(v), k5_node_str(k5_map_value(sel, i))))
            return false;
    }
    return true;
}

bool k5_selector_matches(const k5_node *selector, k5_selector_type type, const k5_node *labels)
{
    if (!k5_node_is_map(selector))
        return false;
    if (type == K5_SELECTOR_MAP)
        return k5_node_len(selector) > 0 && pairs_match(selector, labels);
    const k5_node *ml = k5_map_get(selector, "matchLabels");
    if (ml && !pairs_match(ml, labels))
        return false;
    const k5_node *me = k5_map_get(selector, "matchExpressions");
    for (size_t i = 0; i < k5_node_len(me); i++) {
        const k5_node *ex = k5_seq_at(me, i);
        const k5_node *v = label_value(labels, k5_node_str(k5_map_get(ex, "key")));
        const k5_node *op = k5_map_get(ex, "operator");
        const k5_node *vals = k5_map_get(ex, "values");
        bool ok;
        if (k5_node_is(op, "In"))
            ok = v && value_in(vals, k5_node_str(v));
        else if (k5_node_is(op, "NotIn"))
            ok = !v || !value_in(vals, k5_node_str(v));
        else if (k5_node_is(op, "Exists"))
            ok = v != NULL;
        else if (k5_node_is(op, "DoesNotExist"))
            ok = v == NULL;
        else
            ok = false; /* an unknown operator is invalid: it selects nothing */
        if (!ok)
            return false;
    }
    return true;
}

/*
 * Selectors of NotIn and DoesNotExist alone (no matchLabels, In or Exists to index by). A scan
 * of every candidate made N such selectors over N workloads cost N^2. Instead, each list that
 * such a search walks (a namespace's objects of one kind, every workload, a namespace's PDBs or
 * NetworkPolicies kept for scanning) gets, per label, the positions its first negative
 * expression certainly excludes:
 *  - selector side (the list holds workloads): under "key=value" and "key" the positions of the
 *    workloads whose first label of that key has that value, or has that key; under 'S' those
 *    without a pod template. A `k NotIn [v...]` excludes the lists of k=v for each v, a
 *    `k DoesNotExist` the list of k, and both the 'S' list;
 *  - workload side (the list holds selectors): under "key=value" the positions of the
 *    selectors whose first negative expression is `key NotIn [... value ...]`, under "key"
 *    those whose first is `key DoesNotExist`, under 'S' those that select nothing whatever the
 *    labels (an unknown operator, policy/v1beta1's empty PDB selector, another namespace).
 * The excluded lists of one search are disjoint (a workload has one first value per key; a
 * selector has one first expression), so the free positions up to r are (r + 1) minus the sum
 * of each list's rank of r, and the first free position is a binary search: O(lists x log^2 n)
 * per candidate instead of a walk. Candidates are still judged by k5_selector_matches; the
 * lists only skip positions that could never match.
 */
#define NEG_MAX_LABELS 64 /* a workload with more labels disables the lists (exactness) */
/* Lists this short are scanned: building the exclusion lists costs more than they save (a
 * review's few partners, a namespace's one default-deny NetworkPolicy). */
#define NEG_MIN_SCAN 8

/* The key of a list: group (tag and namespace/kind), type ('V', 'K', 'S'), key, value. */
static bool neg_key(k5__key *k, const k5__key *group, char type, k5_str a, k5_str b)
{
    *k = *group;
    k5__key_add(k, &type, 1);
    if (type != 'S')
        k5__key_add(k, a.p ? a.p : "", a.n);
    if (type == 'V')
        k5__key_add(k, b.p ? b.p : "", b.n);
    return k->n < sizeof k->buf; /* a full buffer may have cut the key: not exact */
}

static void neg_group(k5__key *g, char tag, k5_str ns, int bit)
{
    g->n = 0;
    k5__key_add(g, &tag, 1);
    if (tag != 'G')
        k5__key_add(g, ns.p ? ns.p : "", ns.n);
    if (tag == 'N') {
        char b = (char)('A' + bit);
        k5__key_add(g, &b, 1);
    }
}

/* The position of id in a posting list (ids ascending). */
static uint32_t pos_of(const k5__hentry *e, uint32_t id)
{
    uint32_t lo = 0, hi = e ? e->nvals : 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (e->vals[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static k5_status neg_add(k5_index *idx, const k5__key *group, char type, k5_str a, k5_str b,
                         uint32_t pos)
{
    k5__key k;
    if (!neg_key(&k, group, type, a, b)) {
        idx->neg_ok = false;
        return K5_OK;
    }
    return k5__hmap_add(&idx->neg, k.buf, k.n, pos);
}

/* A workload's labels, each key at its first occurrence (as label_value reads them). */
static k5_status neg_add_workload(k5_index *idx, const k5_object *o, const k5__key *group,
                                  uint32_t pos)
{
    static const k5_str none = {"", 0};
    if (!o->pod_spec)
        return neg_add(idx, group, 'S', none, none, pos);
    size_t n = k5_node_len(o->pod_labels);
    if (n > NEG_MAX_LABELS) {
        idx->neg_ok = false;
        return K5_OK;
    }
    k5_status st = K5_OK;
    for (size_t j = 0; j < n && st == K5_OK; j++) {
        k5_str key = k5_node_str(k5_map_key(o->pod_labels, j));
        if (label_value(o->pod_labels, key) != k5_map_value(o->pod_labels, j))
            continue;
        st = neg_add(idx, group, 'V', key, k5_node_str(k5_map_value(o->pod_labels, j)), pos);
        if (st == K5_OK)
            st = neg_add(idx, group, 'K', key, none, pos);
    }
    return st;
}

/* The first NotIn or DoesNotExist expression of a label selector with a string key, or NULL. */
static const k5_node *first_negative(const k5_node *selector)
{
    const k5_node *me = k5_map_get(selector, "matchExpressions");
    for (size_t i = 0; i < k5_node_len(me); i++) {
        const k5_node *ex = k5_seq_at(me, i);
        const k5_node *op = k5_map_get(ex, "operator");
        if ((k5_node_is(op, "NotIn") || k5_node_is(op, "DoesNotExist")) &&
            k5_node_kind(k5_map_get(ex, "key")) == K5_NODE_STR)
            return ex;
    }
    return NULL;
}

/* True when some expression has an operator k5_selector_matches does not know. */
static bool has_unknown_operator(const k5_node *selector)
{
    const k5_node *me = k5_map_get(selector, "matchExpressions");
    for (size_t i = 0; i < k5_node_len(me); i++) {
        const k5_node *op = k5_map_get(k5_seq_at(me, i), "operator");
        if (!k5_node_is(op, "In") && !k5_node_is(op, "NotIn") && !k5_node_is(op, "Exists") &&
            !k5_node_is(op, "DoesNotExist"))
            return true;
    }
    return false;
}

/* Whether each_label_selecting skips o whatever the workload (see there). */
static bool scan_skips(const k5_object *o, k5_str ns, const char *sel_path)
{
    if (!str_eq(o->namespace_, ns))
        return true;
    const k5_node *sel = k5_node_at(o->root, sel_path);
    bool v1beta1 = o->api_version.n == 14 && !memcmp(o->api_version.p, "policy/v1beta1", 14);
    if (o->kind_id == K5_KIND_PDB && k5_node_is_map(sel) && k5_node_len(sel) == 0 && v1beta1)
        return true;
    return !k5_node_is_map(sel) || has_unknown_operator(sel);
}

/* A selector kept for scanning, at position pos of its namespace's scan list. */
static k5_status neg_add_selector(k5_index *idx, const k5_object *o, char tag, const char *path,
                                  uint32_t pos)
{
    static const k5_str none = {"", 0};
    k5__key g;
    neg_group(&g, tag, o->namespace_, 0);
    if (scan_skips(o, o->namespace_, path))
        return neg_add(idx, &g, 'S', none, none, pos);
    const k5_node *ex = first_negative(k5_node_at(o->root, path));
    if (!ex)
        return K5_OK; /* matches by what it has: a candidate for every workload */
    k5_str key = k5_node_str(k5_map_get(ex, "key"));
    if (k5_node_is(k5_map_get(ex, "operator"), "DoesNotExist"))
        return neg_add(idx, &g, 'K', key, none, pos);
    const k5_node *vals = k5_map_get(ex, "values");
    k5_status st = K5_OK;
    for (size_t v = 0; v < k5_node_len(vals) && st == K5_OK; v++)
        if (!value_repeats(vals, v))
            st = neg_add(idx, &g, 'V', key, k5_node_str(k5_seq_at(vals, v)), pos);
    return st;
}

static void fill_neg(k5_index *idx)
{
    idx->neg_ok = true;
    size_t n = k5_docset_object_count(idx->set);
    idx->wl_all = malloc((n ? n : 1) * sizeof *idx->wl_all);
    if (!idx->wl_all) {
        idx->neg_ok = false;
        return;
    }
    k5_status st = K5_OK;
    k5__key k, g;
    for (size_t i = 0; i < n && st == K5_OK; i++) {
        const k5_object *o = obj_at(idx, (uint32_t)i);
        uint32_t id = (uint32_t)i;
        if (o->kind_id & K5_KINDS_WORKLOAD) {
            int bit = k5_kind_bit(o->kind_id);
            key_ns_kind(&k, o->namespace_, bit);
            neg_group(&g, 'N', o->namespace_, bit);
            st = neg_add_workload(idx, o, &g, pos_of(k5__hmap_get(&idx->by_ns_kind, k.buf, k.n), id));
            neg_group(&g, 'G', o->namespace_, 0);
            if (st == K5_OK)
                st = neg_add_workload(idx, o, &g, (uint32_t)idx->nwl_all);
            idx->wl_all[idx->nwl_all++] = id;
            continue;
        }
        const k5__hmap *scan = o->kind_id == K5_KIND_PDB             ? &idx->pdb_scan
                               : o->kind_id == K5_KIND_NETWORKPOLICY ? &idx->np_scan
                                                                     : NULL;
        if (!scan)
            continue;
        k.n = 0;
        k5__key_add(&k, o->namespace_.p, o->namespace_.n);
        const k5__hentry *e = k5__hmap_get(scan, k.buf, k.n);
        uint32_t pos = pos_of(e, id);
        if (!e || pos >= e->nvals || e->vals[pos] != id)
            continue; /* indexed by what it has, not scanned */
        if (scan == &idx->pdb_scan)
            st = neg_add_selector(idx, o, 'P', "spec.selector", pos);
        else
            st = neg_add_selector(idx, o, 'Q', "spec.podSelector", pos);
    }
    if (st != K5_OK)
        idx->neg_ok = false; /* out of memory: searches scan, as before */
}

static bool build_neg(const k5_index *cidx)
{
    k5_index *idx = (k5_index *)cidx;
    if (!atomic_load_explicit(&idx->neg_built, memory_order_acquire)) {
        pthread_mutex_lock(&idx->any_lock);
        if (!atomic_load_explicit(&idx->neg_built, memory_order_relaxed)) {
            fill_neg(idx);
            atomic_store_explicit(&idx->neg_built, true, memory_order_release);
        }
        pthread_mutex_unlock(&idx->any_lock);
    }
    return idx->neg_ok;
}

/* Up to this many excluded lists in one search; more (a NotIn of many values) scans. */
#define NEG_MAX_LISTS 256

typedef struct neg_search {
    const k5__hentry *l[NEG_MAX_LISTS];
    size_t n;
    bool ok; /* false: too many lists: the caller scans */
} neg_search;

static void neg_list(const k5_index *idx, neg_search *s, const k5__key *group, char type,
                     k5_str a, k5_str b)
{
    k5__key k;
    if (!neg_key(&k, group, type, a, b))
        return; /* never indexed under a cut key (neg_ok would be false): nothing to skip */
    const k5__hentry *e = k5__hmap_get(&idx->neg, k.buf, k.n);
    if (!e || !e->nvals)
        return;
    if (s->n == NEG_MAX_LISTS) {
        s->ok = false;
        return;
    }
    s->l[s->n++] = e;
}

/* The number of values <= r in a list (ascending). */
static uint32_t rank_le(const k5__hentry *e, uint32_t r)
{
    uint32_t lo = 0, hi = e->nvals;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (e->vals[mid] <= r)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Excluded positions in [start, r]. */
static uint64_t neg_excluded(const neg_search *s, uint32_t start, uint32_t r)
{
    uint64_t x = 0;
    for (size_t i = 0; i < s->n; i++)
        x += rank_le(s->l[i], r) - (start ? rank_le(s->l[i], start - 1) : 0);
    return x;
}

/* The first position in [start, n) that no list excludes; false when there is none. */
static bool neg_next(const neg_search *s, uint32_t start, uint32_t n, uint32_t *out)
{
    if (start >= n || (uint64_t)(n - start) <= neg_excluded(s, start, n - 1))
        return false;
    uint32_t lo = start, hi = n - 1; /* hi has a free position at or before it */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)(mid - start + 1) > neg_excluded(s, start, mid))
            hi = mid;
        else
            lo = mid + 1;
    }
    *out = lo;
    return true;
}

/* The excluded lists of a selector-side search in a group: the selector's first negative
 * expression. False when the selector has none or the lists cannot serve (the caller scans). */
static bool neg_for_selector(const k5_index *idx, const k5_node *selector, const k5__key *group,
                             neg_search *s)
{
    static const k5_str none = {"", 0};
    const k5_node *ex = first_negative(selector);
    if (!ex || !build_neg(idx))
        return false;
    s->n = 0;
    s->ok = true;
    neg_list(idx, s, group, 'S', none, none);
    k5_str key = k5_node_str(k5_map_get(ex, "key"));
    if (k5_node_is(k5_map_get(ex, "operator"), "DoesNotExist")) {
        neg_list(idx, s, group, 'K', key, none);
    } else {
        const k5_node *vals = k5_map_get(ex, "values");
        for (size_t v = 0; v < k5_node_len(vals) && s->ok; v++)
            if (!value_repeats(vals, v))
                neg_list(idx, s, group, 'V', key, k5_node_str(k5_seq_at(vals, v)));
    }
    return s->ok;
}

/* The excluded lists of a workload-side search (the selectors to scan in its namespace). */
static bool neg_for_workload(const k5_index *idx, const k5_object *w, char tag, neg_search *s)
{
    static const k5_str none = {"", 0};
    size_t n = k5_node_len(w->pod_labels);
    if (n > NEG_MAX_LABELS || !build_neg(idx))
        return false;
    k5__key g;
    neg_group(&g, tag, w->namespace_, 0);
    s->n = 0;
    s->ok = true;
    neg_list(idx, s, &g, 'S', none, none);
    for (size_t j = 0; j < n && s->ok; j++) {
        k5_str key = k5_node_str(k5_map_key(w->pod_labels, j));
        if (label_value(w->pod_labels, key) != k5_map_value(w->pod_labels, j))
            continue;
        neg_list(idx, s, &g, 'V', key, k5_node_str(k5_map_value(w->pod_labels, j)));
        neg_list(idx, s, &g, 'K', key, none);
    }
    return s->ok;
}

void k5_index_select(const k5_index *idx, k5_str ns, const k5_node *selector,
                     k5_selector_type type, k5_kind kinds, k5_visit_fn fn, void *ud)
{
    kinds &= K5_KINDS_WORKLOAD;
    if (!k5_node_is_map(selector))
        return;
    const k5_node *pairs = type == K5_SELECTOR_MAP ? selector : k5_map_get(selector, "matchLabels");
    if (k5_node_is_map(pairs) && k5_node_len(pairs)) {
        k5__key k;
        k5__key_entry(&k, ns, pairs, 0);
        const k5__hentry *e = k5__hmap_get(&idx->pod_labels, k.buf, k.n);
        for (uint32_t i = 0; e && i < e->nvals; i++) {
            const k5_object *o = obj_at(idx, e->vals[i]);
            if ((o->kind_id & kinds) && str_eq(o->namespace_, ns) &&
                k5_selector_matches(selector, type, o->pod_labels) && !fn(o, ud))
                return;
        }
        return;
    }
    if (type == K5_SELECTOR_MAP)
        return; /* an empty Service selector selects nothing */
    k5__key k;
    /* No matchLabels: narrow by the first In (its values' pods) or Exists (its key's pods),
     * so a selector of expressions costs its matches, not a scan of the namespace. */
    const k5_node *in = first_expr(selector, "In"), *ex = in ? NULL : first_expr(selector, "Exists");
    if (in || ex) {
        const k5_node *vals = in ? k5_map_get(in, "values") : NULL;
        size_t nv = in ? k5_node_len(vals) : 1;
        for (size_t v = 0; v < nv; v++) {
            const k5__hentry *e;
            if (in) {
                if (value_repeats(vals, v))
                    continue;
                k5__key_pair(&k, ns, k5_node_str(k5_map_get(in, "key")), k5_node_str(k5_seq_at(vals, v)));
                e = k5__hmap_get(&idx->pod_labels, k.buf, k.n);
            } else {
                key_label(&k, ns, k5_node_str(k5_map_get(ex, "key")));
                e = k5__hmap_get(&idx->pod_keys, k.buf, k.n);
            }
            for (uint32_t i = 0; e && i < e->nvals; i++) {
                const k5_object *o = obj_at(idx, e->vals[i]);
                if ((o->kind_id & kinds) && o->pod_spec && str_eq(o->namespace_, ns) &&
                    k5_selector_matches(selector, type, o->pod_labels) && !fn(o, ud))
                    return;
            }
        }
        return;
    }
    neg_search *ns_search = NULL;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, ns, b);
        const k5__hentry *e = k5__hmap_get(&idx->by_ns_kind, k.buf, k.n);
        if (!e)
            continue;
        k5__key g;
        neg_group(&g, 'N', ns, b);
        if (e->nvals > NEG_MIN_SCAN && !ns_search)
            ns_search = malloc(sizeof *ns_search);
        if (e->nvals > NEG_MIN_SCAN && ns_search &&
            neg_for_selector(idx, selector, &g, ns_search)) {
            /* NotIn/DoesNotExist only: skip what the first expression excludes. */
            uint32_t i = 0;
            while (neg_next(ns_search, i, e->nvals, &i)) {
                const k5_object *o = obj_at(idx, e->vals[i]);
                if (o->pod_spec && k5_selector_matches(selector, type, o->pod_labels) &&
                    !fn(o, ud))
                    goto out;
                i++;
            }
            continue;
        }
        for (uint32_t i = 0; i < e->nvals; i++) {
            const k5_object *o = obj_at(idx, e->vals[i]);
            if (o->pod_spec && k5_selector_matches(selector, type, o->pod_labels) && !fn(o, ud))
                goto out;
        }
    }
out:
    free(ns_search);
}

/*
 * The indexes across namespaces, built on the first search of another namespace: most runs
 * never need them (a partner is missing only in broken input). The rules of one run may run on
 * several threads (k5_run_jobs), so the first search builds them under the index's lock and
 * the others wait for it. Out of memory leaves them partial: a search then misses, and the
 * finding names no other namespace.
 */
static void fill_any(k5_index *idx);

static void build_any(const k5_index *cidx)
{
    k5_index *idx = (k5_index *)cidx;
    if (atomic_load_explicit(&idx->any_built, memory_order_acquire))
        return;
    pthread_mutex_lock(&idx->any_lock);
    if (!atomic_load_explicit(&idx->any_built, memory_order_relaxed)) {
        fill_any(idx);
        atomic_store_explicit(&idx->any_built, true, memory_order_release);
    }
    pthread_mutex_unlock(&idx->any_lock);
}

static void fill_any(k5_index *idx)
{
    k5__key k;
    size_t n = k5_docset_object_count(idx->set);
    for (size_t i = 0; i < n; i++) {
        const k5_object *o = k5_docset_object(idx->set, i);
        if (k5__hmap_add(&idx->name_any, o->name.p, o->name.n, (uint32_t)i) != K5_OK)
            return;
        if (!(o->kind_id & K5_KINDS_WORKLOAD) || !o->pod_labels)
            continue;
        for (size_t j = 0; j < k5_node_len(o->pod_labels); j++) {
            k5__key_entry(&k, (k5_str){"", 0}, o->pod_labels, j);
            if (k5__hmap_add(&idx->label_any, k.buf, k.n, (uint32_t)i) != K5_OK)
                return;
            key_label(&k, (k5_str){"", 0}, k5_node_str(k5_map_key(o->pod_labels, j)));
            if (k5__hmap_add(&idx->key_any, k.buf, k.n, (uint32_t)i) != K5_OK)
                return;
        }
    }
}

static int cmp_id(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * The workloads of every namespace with a label value of `in` (an In expression) or the label
 * key of `ex` (an Exists one), in input order and each once (a value may repeat). False when
 * out of memory.
 */
static bool candidates_any(const k5_index *idx, const k5_node *in, const k5_node *ex,
                           uint32_t **out, size_t *n)
{
    k5__key k;
    const k5_str none = {"", 0};
    const k5_node *vals = in ? k5_map_get(in, "values") : NULL;
    size_t nk = in ? k5_node_len(vals) : 1, total = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t v = 0; v < nk; v++) {
            if (in)
                k5__key_pair(&k, none, k5_node_str(k5_map_get(in, "key")),
                             k5_node_str(k5_seq_at(vals, v)));
            else
                key_label(&k, none, k5_node_str(k5_map_get(ex, "key")));
            const k5__hentry *e = k5__hmap_get(in ? &idx->label_any : &idx->key_any, k.buf, k.n);
            if (!e)
                continue;
            if (pass)
                memcpy(*out + *n, e->vals, e->nvals * sizeof *e->vals);
            *n += pass ? e->nvals : 0;
            total += e->nvals;
        }
        if (!pass) {
            *out = malloc((total ? total : 1) * sizeof **out);
            if (!*out)
                return false;
            *n = 0;
        }
    }
    qsort(*out, *n, sizeof **out, cmp_id);
    size_t m = 0;
    for (size_t i = 0; i < *n; i++)
        if (!m || (*out)[m - 1] != (*out)[i])
            (*out)[m++] = (*out)[i];
    *n = m;
    return true;
}

void k5_index_select_elsewhere(const k5_index *idx, k5_str ns, const k5_node *selector,
                               k5_selector_type type, k5_kind kinds, k5_visit_fn fn, void *ud)
{
    kinds &= K5_KINDS_WORKLOAD;
    if (!idx->set || !k5_node_is_map(selector))
        return;
    build_any(idx);
    /* Candidates from the label index across namespaces when the selector has a pair, or
     * for expressions under its first In's values or Exists key; a selector of only NotIn and
     * DoesNotExist is tried on every workload (O(objects)). */
    const k5_node *pairs = type == K5_SELECTOR_MAP ? selector : k5_map_get(selector, "matchLabels");
    if (k5_node_is_map(pairs) && k5_node_len(pairs)) {
        k5__key k;
        k5__key_entry(&k, (k5_str){"", 0}, pairs, 0);
        const k5__hentry *e = k5__hmap_get(&idx->label_any, k.buf, k.n);
        for (uint32_t i = 0; e && i < e->nvals; i++) {
            const k5_object *o = obj_at(idx, e->vals[i]);
            if ((o->kind_id & kinds) && o->pod_spec && !str_eq(o->namespace_, ns) &&
                k5_selector_matches(selector, type, o->pod_labels) && !fn(o, ud))
                return;
        }
        return;
    }
    if (type == K5_SELECTOR_MAP)
        return; /* an empty Service selector selects nothing */
    /* Expressions only: the workloads carrying a value of the first `In`, else the first
     * `Exists` key, are every workload the selector can select; visited in input order, as
     * the walk over every workload would meet them. */
    const k5_node *in = first_expr(selector, "In"), *ex = in ? NULL : first_expr(selector, "Exists");
    if (in || ex) {
        uint32_t *ids = NULL;
        size_t nids = 0;
        if (candidates_any(idx, in, ex, &ids, &nids)) {
            for (size_t i = 0; i < nids; i++) {
                const k5_object *o = obj_at(idx, ids[i]);
                if ((o->kind_id & kinds) && o->pod_spec && !str_eq(o->namespace_, ns) &&
                    k5_selector_matches(selector, type, o->pod_labels) && !fn(o, ud))
                    break;
            }
            free(ids);
            return;
        }
        /* Out of memory: every workload, as below. */
    }
    /* NotIn/DoesNotExist only: every workload, skipping what the first expression excludes. */
    neg_search *s = k5_docset_object_count(idx->set) > NEG_MIN_SCAN ? malloc(sizeof *s) : NULL;
    k5__key g;
    neg_group(&g, 'G', ns, 0);
    if (s && neg_for_selector(idx, selector, &g, s)) {
        uint32_t i = 0;
        while (neg_next(s, i, (uint32_t)idx->nwl_all, &i)) {
            const k5_object *o = obj_at(idx, idx->wl_all[i]);
            if ((o->kind_id & kinds) && o->pod_spec && !str_eq(o->namespace_, ns) &&
                k5_selector_matches(selector, type, o->pod_labels) && !fn(o, ud))
                break;
            i++;
        }
        free(s);
        return;
    }
    free(s);
    size_t n = k5_docset_object_count(idx->set);
    for (size_t i = 0; i < n; i++) {
        const k5_object *o = k5_docset_object(idx->set, i);
        if ((o->kind_id & kinds) && o->pod_spec && !str_eq(o->namespace_, ns) &&
            k5_selector_matches(selector, type, o->pod_labels) && !fn(o, ud))
            return;
    }
}

void k5_index_find_elsewhere(const k5_index *idx, k5_str ns, k5_kind kinds, k5_str kind,
                             k5_str name, k5_visit_fn fn, void *ud)
{
    if (!idx->set)
        return;
    build_any(idx);
    const k5__hentry *e = k5__hmap_get(&idx->name_any, name.p ? name.p : "", name.n);
    for (uint32_t i = 0; e && i < e->nvals; i++) {
        const k5_object *o = obj_at(idx, e->vals[i]);
        if ((o->kind_id & kinds) && str_eq(o->name, name) && !str_eq(o->namespace_, ns) &&
            (!kind.n || str_eq(o->kind, kind)) && !fn(o, ud))
            return;
    }
}

/* Visits the selectors indexed under one of w's label pairs (or keys); false when fn stopped. */
static bool each_selecting(const k5_index *idx, const k5__hmap *by, const k5_object *w,
                           k5_selector_type type, const char *sel_path, bool by_key,
                           k5_visit_fn fn, void *ud)
{
    k5__key k;
    for (size_t j = 0; j < k5_node_len(w->pod_labels); j++) {
        if (by_key)
            key_label(&k, w->namespace_, k5_node_str(k5_map_key(w->pod_labels, j)));
        else
            k5__key_entry(&k, w->namespace_, w->pod_labels, j);
        const k5__hentry *e = k5__hmap_get(by, k.buf, k.n);
        for (uint32_t i = 0; e && i < e->nvals; i++) {
            const k5_object *o = obj_at(idx, e->vals[i]);
            if (str_eq(o->namespace_, w->namespace_) &&
                k5_selector_matches(k5_node_at(o->root, sel_path), type, w->pod_labels) &&
                !fn(o, ud))
                return false;
        }
    }
    return true;
}

void k5_index_services_for(const k5_index *idx, const k5_object *w, k5_visit_fn fn, void *ud)
{
    if (!w->pod_spec)
        return;
    each_selecting(idx, &idx->sel_svc, w, K5_SELECTOR_MAP, "spec.selector", false, fn, ud);
}

typedef struct group_visit {
    const k5_index *idx;
    k5__group_fn fn;
    void *ud;
} group_visit;

static bool visit_group(const k5_object *svc, void *ud)
{
    group_visit *gv = ud;
    uint32_t g = gv->idx->svc_group_of[svc->index];
    /* sel_svc_rep holds each group's first Service only. */
    return !g || gv->fn(&K5__VEC_AT(&gv->idx->svc_groups, k5__svc_group, g - 1), gv->ud);
}

void k5__index_service_groups_for(const k5_index *idx, const k5_object *w, k5__group_fn fn,
                                  void *ud)
{
    if (!w->pod_spec)
        return;
    group_visit cv = {idx, fn, ud};
    each_selecting(idx, &idx->sel_svc_rep, w, K5_SELECTOR_MAP, "spec.selector", false,
                   visit_group, &cv);
}

/* The objects whose LabelSelector at sel_path (indexed by add_label_selector) selects w. */
static void each_label_selecting(const k5_index *idx, const k5__hmap *by_pair,
                                 const k5__hmap *by_key, const k5__hmap *scan, const char *sel_path,
                                 const k5_object *w, k5_visit_fn fn, void *ud)
{
    if (!w->pod_spec)
        return;
    if (!each_selecting(idx, by_pair, w, K5_SELECTOR_LABEL, sel_path, false, fn, ud) ||
        !each_selecting(idx, by_key, w, K5_SELECTOR_LABEL, sel_path, true, fn, ud))
        return;
    k5__key k;
    k.n = 0;
    k5__key_add(&k, w->namespace_.p, w->namespace_.n);
    const k5__hentry *e = k5__hmap_get(scan, k.buf, k.n);
    if (!e)
        return;
    neg_search *s = e->nvals > NEG_MIN_SCAN ? malloc(sizeof *s) : NULL;
    if (s && neg_for_workload(idx, w, scan == &idx->pdb_scan ? 'P' : 'Q', s)) {
        /* Skip the selectors whose first NotIn/DoesNotExist excludes these labels. */
        uint32_t i = 0;
        while (neg_next(s, i, e->nvals, &i)) {
            const k5_object *o = obj_at(idx, e->vals[i]);
            if (!scan_skips(o, w->namespace_, sel_path) &&
                k5_selector_matches(k5_node_at(o->root, sel_path), K5_SELECTOR_LABEL,
                                    w->pod_labels) &&
                !fn(o, ud))
                break;
            i++;
        }
        free(s);
        return;
    }
    free(s);
    for (uint32_t i = 0; i < e->nvals; i++) {
        const k5_object *o = obj_at(idx, e->vals[i]);
        if (!str_eq(o->namespace_, w->namespace_))
            continue;
        const k5_node *sel = k5_node_at(o->root, sel_path);
        /* policy/v1beta1 treated an empty selector as "nothing"; policy/v1 as "every pod". */
        bool v1beta1 = o->api_version.n == 14 && !memcmp(o->api_version.p, "policy/v1beta1", 14);
        if (o->kind_id == K5_KIND_PDB && k5_node_is_map(sel) && k5_node_len(sel) == 0 && v1beta1)
            continue;
        if (k5_selector_matches(sel, K5_SELECTOR_LABEL, w->pod_labels) && !fn(o, ud))
            return;
    }
}

void k5_index_pdbs_for(const k5_index *idx, const k5_object *w, k5_visit_fn fn, void *ud)
{
    each_label_selecting(idx, &idx->sel_pdb, &idx->sel_pdb_key, &idx->pdb_scan, "spec.selector",
                         w, fn, ud);
}

void k5_index_netpols_for(const k5_index *idx, const k5_object *w, k5_visit_fn fn, void *ud)
{
    each_label_selecting(idx, &idx->sel_np, &idx->sel_np_key, &idx->np_scan, "spec.podSelector",
                         w, fn, ud);
}

void k5_index_service_users(const k5_index *idx, k5_str ns, k5_str name, k5_visit_fn fn,
                            void *ud)
{
    k5__key k;
    k5__key_pair(&k, ns, (k5_str){"svc", 3}, name);
    const k5__hentry *e = k5__hmap_get(&idx->svc_users, k.buf, k.n);
    for (uint32_t i = 0; e && i < e->nvals; i++)
        if (!fn(obj_at(idx, e->vals[i]), ud))
            return;
}

size_t k5_index_count_all(const k5_index *idx, k5_kind kinds)
{
    size_t total = 0;
    k5__key k;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, (k5_str){"", 0}, b);
        const k5__hentry *e = k5__hmap_get(&idx->of_kind, k.buf, k.n);
        total += e ? e->nvals : 0;
    }
    return total;
}

void k5_index_each_all(const k5_index *idx, k5_kind kinds, k5_visit_fn fn, void *ud)
{
    k5__key k;
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)))
            continue;
        key_ns_kind(&k, (k5_str){"", 0}, b);
        const k5__hentry *e = k5__hmap_get(&idx->of_kind, k.buf, k.n);
        for (uint32_t i = 0; e && i < e->nvals; i++)
            if (!fn(obj_at(idx, e->vals[i]), ud))
                return;
    }
}

void k5_index_hpas_for(const k5_index *idx, const k5_object *w, k5_visit_fn fn, void *ud)
{
    k5__key k;
    k5__key_pair(&k, w->namespace_, w->kind, w->name);
    const k5__hentry *e = k5__hmap_get(&idx->hpa_target, k.buf, k.n);
    for (uint32_t i = 0; e && i < e->nvals; i++) {
        const k5_object *o = obj_at(idx, e->vals[i]);
        if (str_eq(o->namespace_, w->namespace_) && !fn(o, ud))
            return;
    }
}

void k5_index_mesh_rules(const k5_index *idx, k5_str ns, k5_str name, k5_visit_fn fn, void *ud)
{
    k5__key k;
    k5__key_pair(&k, ns, name, (k5_str){NULL, 0});
    const k5__hentry *e = k5__hmap_get(&idx->mesh_dr, k.buf, k.n);
    for (uint32_t i = 0; e && i < e->nvals; i++) {
        const k5_object *o = obj_at(idx, e->vals[i]);
        k5__mesh_host h;
        /* Keys may be truncated: the DestinationRule's own host decides. */
        if (k5__mesh_host_parse(k5_node_str(k5_node_at(o->root, "spec.host")), o->namespace_,
                                &h) &&
            str_eq(h.ns, ns) && str_eq(h.name, name) && !fn(o, ud))
            return;
    }
}

/* True when pattern (a ServiceEntry host, "*.example.com" or "*") covers host. */
static bool wildcard_covers(k5_str pattern, k5_str host)
{
    if (pattern.n == 1 && pattern.p[0] == '*')
        return true;
    if (pattern.n < 2 || pattern.p[0] != '*' || pattern.p[1] != '.')
        return false;
    size_t sn = pattern.n - 1; /* ".example.com" */
    return host.n > sn && memcmp(host.p + host.n - sn, pattern.p + 1, sn) == 0;
}

/* True when the ServiceEntry declares the host, as written, as the same Service, or wildcard. */
static bool entry_declares(const k5_object *se, k5_str host, const k5__mesh_host *svc)
{
    const k5_node *hosts = k5_node_at(se->root, "spec.hosts");
    for (size_t i = 0; k5_node_is_seq(hosts) && i < k5_node_len(hosts); i++) {
        k5_str h = k5_node_str(k5_seq_at(hosts, i));
        k5__mesh_host m;
        if (str_eq(h, host) || wildcard_covers(h, host))
            return true;
        if (svc && k5__mesh_host_parse(h, se->namespace_, &m) && str_eq(m.ns, svc->ns) &&
            str_eq(m.name, svc->name))
            return true;
    }
    return false;
}

/* The first ServiceEntry under key k that declares the host, or NULL. */
static const k5_object *entry_under(const k5_index *idx, const k5__key *k, k5_str host,
                                    const k5__mesh_host *svc)
{
    const k5__hentry *e = k5__hmap_get(&idx->mesh_se, k->buf, k->n);
    for (uint32_t i = 0; e && i < e->nvals; i++) {
        const k5_object *o = obj_at(idx, e->vals[i]);
        if (entry_declares(o, host, svc))
            return o;
    }
    return NULL;
}

const k5_object *k5_index_mesh_entry(const k5_index *idx, k5_str host, const k5__mesh_host *svc)
{
    const char *hp = host.p ? host.p : "";
    k5__key k;
    const k5_object *o;
    k.n = 0;
    k5__key_add(&k, hp, host.n);
    if ((o = entry_under(idx, &k, host, svc)))
        return o;
    k.n = 0;
    k5__key_add(&k, "*", 1);
    if ((o = entry_under(idx, &k, host, svc)))
        return o;
    if (svc) {
        k5__key_pair(&k, svc->ns, svc->name, (k5_str){"svc", 3});
        if ((o = entry_under(idx, &k, host, svc)))
            return o;
    }
    /* Wildcards "*.suffix": a host is covered by the suffix that starts at one of its dots
     * (past its first character: "*.a" does not cover ".a"). A host too long to be a DNS name
     * tries every such wildcard instead, so its cost stays bounded by the key length. */
    if (host.n > MESH_HOST_MAX) {
        k.n = 0;
        k5__key_add(&k, "*", 1);
        k5__key_add(&k, "*", 1);
        return entry_under(idx, &k, host, svc);
    }
    for (size_t p = 1; p < host.n; p++) {
        if (hp[p] != '.')
            continue;
        k.n = 0;
        k5__key_add(&k, "*", 1);
        k5__key_add(&k, hp + p, host.n - p);
        if ((o = entry_under(idx, &k, host, svc)))
            return o;
    }
    return NULL;
}
