/*
 * "Serving": which workloads and which of their containers receive traffic.
 * Written once here and used by every rule that judges serving (readiness,
 * preStop, grace period, replica and rollout rules). docs/rules.md carries the
 * same definition in prose, generated from k5_serving_definition below.
 *
 * A workload serves nothing when
 *   - it is a bare Pod that runs to completion (restartPolicy Never or OnFailure);
 *   - it runs on the host network and no Service of the input selects it (a
 *     node agent: its ports are the node's, nobody routes Service traffic to it);
 *   - every port through which it could get traffic is a metrics port (a port
 *     named like metrics/prometheus/prom, on the Service or on the container).
 * Otherwise its traffic ports are the targetPorts of the non-metrics ports of
 * the Services that select it, or, when none does, its declared non-metrics
 * TCP containerPorts. The containers that serve are those owning a traffic port;
 * when a Service's targetPort resolves to no declared port (containerPort is
 * informational), the containers declaring ports, else every container.
 */
#include <ctype.h>

#include "k5_index.h"

const char k5_serving_definition[] =
    "Rules about traffic (readiness-probe-missing, prestop-hook-missing, "
    "termination-grace-period-too-short, single-replica, rollout-causes-downtime) judge only "
    "*serving* workloads and containers, defined once for all of them:\n\n"
    "- A workload serves nothing when it is a bare Pod that runs to completion (`restartPolicy: "
    "Never` or `OnFailure`; no rule judges such a Pod at all), a Job or CronJob, a "
    "host-network pod that no Service of the input selects (a node agent: its ports are the "
    "node's), or when every port through which it could get traffic is a metrics port.\n"
    "- A metrics port is a Service or container port whose name contains `metric` or "
    "`prometheus`, or is `prom`.\n"
    "- Otherwise its traffic ports are the targetPorts of the non-metrics ports of the Services "
    "of the input that select its pods; when no Service selects them, its declared "
    "non-metrics TCP containerPorts.\n"
    "- The serving containers are those that declare a traffic port. When a Service's "
    "targetPort is a number that no container declares (containerPort is informational), "
    "the containers that declare ports are the candidates, else every container.\n"
    "- Helper containers that receive no traffic (a config-watcher sidecar without ports) are "
    "not serving: the pod is Ready only when every container is, so one serving container's "
    "readinessProbe already gates the pod.\n";

static bool name_is_metrics(k5_str s)
{
    static const char *const words[] = {"metric", "prometheus"};
    for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
        size_t n = strlen(words[w]);
        for (size_t i = 0; i + n <= s.n; i++) {
            size_t j = 0;
            while (j < n && tolower((unsigned char)s.p[i + j]) == words[w][j])
                j++;
            if (j == n)
                return true;
        }
    }
    return s.n == 4 && (memcmp(s.p, "prom", 4) == 0);
}

bool k5__port_is_metrics(const k5_node *port_name)
{
    return name_is_metrics(k5_node_str(port_name));
}

/* A declared TCP containerPort that is not a metrics port. */
static bool ctr_traffic_port(const k5_node *p)
{
    const k5_node *proto = k5_map_get(p, "protocol");
    return k5_map_get(p, "containerPort") && (!proto || k5_node_is(proto, "TCP")) &&
           !k5__port_is_metrics(k5_map_get(p, "name"));
}

static bool ctr_declares_traffic(const k5_node *ctr)
{
    const k5_node *ports = k5_map_get(ctr, "ports");
    for (size_t i = 0; i < k5_node_len(ports); i++)
        if (ctr_traffic_port(k5_seq_at(ports, i)))
            return true;
    return false;
}

const k5_node *k5__ctr_port_for(const k5_node *ctr, const k5_node *target)
{
    k5_intstr v;
    if (!k5_intstr_get(target, &v))
        return NULL;
    const k5_node *ports = k5_map_get(ctr, "ports");
    for (size_t i = 0; i < k5_node_len(ports); i++) {
        const k5_node *p = k5_seq_at(ports, i);
        int64_t num;
        if (v.is_int ? k5_node_int(k5_map_get(p, "containerPort"), &num) && num == v.i
                     : k5__str_eq(k5_node_str(k5_map_get(p, "name")), v.s))
            return p;
    }
    return NULL;
}

char k5__svc_port_target(const k5_node *sp, int64_t *num, k5_str *text)
{
    const k5_node *target = k5_map_get(sp, "targetPort");
    k5_intstr tv;
    int64_t tnum;
    if (!target || (k5_node_int(target, &tnum) && tnum == 0))
        target = k5_map_get(sp, "port"); /* the API server defaults targetPort to port */
    bool valid = k5_intstr_get(target, &tv);
    if (k5__port_is_metrics(k5_map_get(sp, "name")) || (valid && !tv.is_int && name_is_metrics(tv.s)))
        return 0;
    if (!valid)
        return 'x'; /* resolves to no container port */
    if (tv.is_int) {
        *num = tv.i;
        return 'i';
    }
    *text = tv.s;
    return 's';
}

typedef struct svc_walk {
    const k5_object *obj;
    const k5_node *containers;
    k5__serving *out;
    const k5_index *idx;
    bool unresolved; /* a non-metrics targetPort that no container declares */
} svc_walk;

/* The number and the name by which a container port can be a Service's target. */
static bool port_keys(const k5_node *p, int64_t *num, k5_str *name)
{
    *name = k5_node_str(k5_map_get(p, "name"));
    return k5_node_int(k5_map_get(p, "containerPort"), num);
}

/* True when port j of `ports` is not the first of them (in [from, j)) with this key. */
static bool repeats(const k5_node *ports, size_t from, size_t j, bool by_num, int64_t num,
                    k5_str name)
{
    for (size_t i = from; i < j; i++) {
        int64_t n2;
        k5_str s2;
        bool has = port_keys(k5_seq_at(ports, i), &n2, &s2);
        if (by_num ? has && n2 == num : k5__str_eq(s2, name))
            return true;
    }
    return false;
}

/*
 * One group of Services (k5__index_service_groups_for): what its distinct targets say about
 * this workload, found from the workload's side. A target resolves in a container at the
 * container's first port with that number (a numeric target) or name (a named one); the
 * target carries traffic there unless that port is a metrics port. So each declared port is
 * looked up in the group's target set, by number and by name, counting it only where it is
 * the first of its container with that key (for traffic) and the first of the pod (for the
 * count of resolved targets): a target of the group that none resolves makes the workload
 * serve through that Service, as the API server routes to the port whatever is declared.
 */
static bool visit_service(const k5__svc_group *g, void *ud)
{
    svc_walk *w = ud;
    w->out->services += g->members;
    const k5_object *first = k5_docset_object(w->idx->set, g->first);
    if (!w->out->first_service || first->index < w->out->first_service->index)
        w->out->first_service = first;
    if (!g->ntargets)
        return true;
    size_t resolved = 0;
    bool traffic = false;
    size_t nc = k5_node_len(w->containers);
    for (size_t c = 0; c < nc; c++) {
        const k5_node *ports = k5_map_get(k5_seq_at(w->containers, c), "ports");
        for (size_t j = 0; j < k5_node_len(ports); j++) {
            const k5_node *p = k5_seq_at(ports, j);
            int64_t num;
            k5_str name;
            bool has_num = port_keys(p, &num, &name);
            for (int by_num = 0; by_num < 2; by_num++) {
                if (by_num ? !has_num || !k5__index_group_has_port(w->idx, g, num)
                           : !k5__index_group_has(w->idx, g, 's', name))
                    continue;
                if (repeats(ports, 0, j, by_num, num, name))
                    continue; /* not this container's port for the target */
                /* The first container with it: one more target resolved. */
                bool earlier = false;
                for (size_t c2 = 0; c2 < c && !earlier; c2++) {
                    const k5_node *p2 = k5_map_get(k5_seq_at(w->containers, c2), "ports");
                    earlier = repeats(p2, 0, k5_node_len(p2), by_num, num, name);
                }
                if (!earlier)
                    resolved++;
                if (k5__port_is_metrics(k5_map_get(p, "name")))
                    continue;
                traffic = true;
                if (c < 64)
                    w->out->mask |= (uint64_t)1 << c;
            }
        }
    }
    bool unresolved = resolved < g->ntargets;
    if (traffic || unresolved) {
        w->out->serving = true;
        w->out->by_service = true;
    }
    if (unresolved)
        w->unresolved = true;
    return true;
}

static void serving_of(const k5_check *c, const k5_object *obj, k5__serving *out);

void k5__serving_of(const k5_check *c, const k5_object *obj, k5__serving *out)
{
    if (k5__check_serving_get(c, obj, out))
        return;
    serving_of(c, obj, out);
    k5__check_serving_put(c, obj, out);
}

static void serving_of(const k5_check *c, const k5_object *obj, k5__serving *out)
{
    memset(out, 0, sizeof *out);
    if (!(obj->kind_id & K5_KINDS_SERVING) || !obj->pod_spec)
        return;
    /* A bare Pod that runs to completion (a `helm test` hook, a one-off task) is batch work
     * like a Job, even when a Service's selector happens to match it; Pods default to Always. */
    if (obj->kind_id == K5_KIND_POD) {
        const k5_node *rp = k5_map_get(obj->pod_spec, "restartPolicy");
        if (k5_node_is(rp, "Never") || k5_node_is(rp, "OnFailure"))
            return;
    }
    const k5_node *containers = k5_map_get(obj->pod_spec, "containers");
    const k5_index *idx = c && !k5_check_alone(c) ? k5_check_index(c) : NULL;
    svc_walk w = {obj, containers, out, idx, false};
    if (idx && idx->set)
        k5__index_service_groups_for(idx, obj, visit_service, &w);
    if (out->services) {
        /* Traffic through a Service whose port resolves to no declared port: the containers
         * declaring ports are the candidates, else all of them. */
        if (out->serving && !out->mask && w.unresolved) {
            for (size_t i = 0; i < k5_node_len(containers) && i < 64; i++)
                if (ctr_declares_traffic(k5_seq_at(containers, i)))
                    out->mask |= (uint64_t)1 << i;
            if (!out->mask)
                out->mask = k5_node_len(containers) >= 64 ? ~(uint64_t)0
                                                          : ((uint64_t)1 << k5_node_len(containers)) - 1;
        }
        /* Declared non-metrics ports next to metrics-only Services still serve (a port the
         * input reaches some other way: a headless Service elsewhere, a hostPort). */
    }
    if (!out->serving) {
        bool host_network = false;
        k5_node_bool(k5_map_get(obj->pod_spec, "hostNetwork"), &host_network);
        /* A host-network node agent that no Service selects: its ports are the node's. */
        if (host_network && !out->services)
            return;
        for (size_t i = 0; i < k5_node_len(containers) && i < 64; i++)
            if (ctr_declares_traffic(k5_seq_at(containers, i)))
                out->mask |= (uint64_t)1 << i;
        out->serving = out->mask != 0;
    }
}

bool k5__serving_has(const k5__serving *s, const k5_object *obj, const k5_node *container)
{
    if (!s->serving)
        return false;
    const k5_node *containers = k5_map_get(obj->pod_spec, "containers");
    for (size_t i = 0; i < k5_node_len(containers); i++)
        if (k5_seq_at(containers, i) == container)
            return i < 64 ? (s->mask >> i) & 1u : ctr_declares_traffic(container);
    return false;
}

bool k5__container_serving(const k5_check *c, const k5_object *obj, const k5_node *container)
{
    k5__serving s;
    k5__serving_of(c, obj, &s);
    return k5__serving_has(&s, obj, container);
}

bool k5__workload_serving(const k5_check *c, const k5_object *obj)
{
    k5__serving s;
    k5__serving_of(c, obj, &s);
    return s.serving;
}

typedef struct svc_names {
    char *buf;
    size_t size, len, n;
} svc_names;

static bool visit_name(const k5_object *svc, void *ud)
{
    svc_names *s = ud;
    if (s->len >= s->size)
        return false;
    if (s->n == 3) {
        int k = snprintf(s->buf + s->len, s->size - s->len, " and more");
        if (k > 0)
            s->len += (size_t)k;
        return false;
    }
    int k = snprintf(s->buf + s->len, s->size - s->len, "%s\"%.*s\"", s->n ? ", " : "",
                     (int)svc->name.n, svc->name.p);
    if (k > 0)
        s->len += (size_t)k;
    s->n++;
    return true;
}

size_t k5__services_describe(const k5_check *c, const k5_object *obj, char *buf, size_t size)
{
    svc_names s = {buf, size, 0, 0};
    if (size)
        buf[0] = '\0';
    const k5_index *idx = c && !k5_check_alone(c) ? k5_check_index(c) : NULL;
    if (idx && size)
        k5_index_services_for(idx, obj, visit_name, &s);
    if (s.len >= size && size)
        buf[size - 1] = '\0';
    return s.n;
}
