/*
 * memory-limit-too-low: a memory limit below a sane floor.
 */
#include "k5_check.h"

static k5_status check_list(k5_check *c, const k5_object *obj, const k5_node *containers)
{
    int64_t min = k5_check_param(c, 0);
    for (size_t i = 0; i < k5_node_len(containers); i++) {
        const k5_node *ctr = k5_seq_at(containers, i);
        const k5_node *lim = k5_node_at(ctr, "resources.limits.memory");
        int64_t bytes;
        if (!lim || !k5_quantity_node(lim, &bytes, NULL) || bytes >= min)
            continue;
        k5_str name = k5__container_name(ctr), text = k5_node_str(lim);
        char floor[32];
        k5_bytes_fmt(min, floor, sizeof floor);
        k5_status st = k5_check_report(
            c, lim, NULL,
            "container \"%.*s\" of %.*s \"%.*s\" has a memory limit of %.*s, below %s: it is "
            "OOMKilled at the first real load",
            (int)name.n, name.p, (int)obj->kind.n, obj->kind.p, (int)obj->name.n, obj->name.p,
            (int)text.n, text.p, floor);
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    k5_status st = check_list(c, obj, k5_map_get(obj->pod_spec, "initContainers"));
    if (st == K5_OK)
        st = check_list(c, obj, k5_map_get(obj->pod_spec, "containers"));
    return st;
}

const k5_rule k5__rule_memory_limit_too_low = {
    .id = "memory-limit-too-low",
    .severity = K5_SEV_WARNING,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = NULL,
    .summary = "A container's memory limit is below a sane floor",
    .explanation =
        "A limit this small leaves no headroom for the runtime, buffers and a burst of "
        "concurrent requests. The kernel OOM-kills the container the first time real traffic "
        "arrives; its in-flight requests fail with 502, and while it restarts (with growing "
        "back-off) the Service has fewer or no endpoints: 503.",
    .remediation = "Measure the container's working set under load (kubectl top, or the "
                   "container_memory_working_set_bytes metric) and set the limit with headroom "
                   "above the peak; keep the request close to the typical usage.",
    .example = "resources:\n"
               "  requests:\n"
               "    memory: 256Mi\n"
               "  limits:\n"
               "    memory: 512Mi\n",
    .params = {{"min", K5_PARAM_MEMORY, "64Mi", "smallest acceptable memory limit"}},
    .nparams = 1,
    .check = check,
};
