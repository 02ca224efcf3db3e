/*
 * heap-exceeds-memory-limit: a runtime heap bound that leaves the container no
 * room under its memory limit.
 */
#include "k5_check.h"
#include "k5_arith.h"

static k5_status report(k5_check *c, const k5_object *obj, const k5_node *ctr,
                        k5__ctr_role role, const k5__heap_flag *f, const char *what,
                        const char *limit_text, const char *judged)
{
    k5_str name = k5__container_name(ctr);
    char from[48] = "";
    if (f->source)
        snprintf(from, sizeof from, " (from %s)", f->source);
    return k5_check_report(
        c, f->at, NULL,
        "%s \"%.*s\" of %.*s \"%.*s\": %s%s%.*s%s %s the memory limit %s: heap plus runtime "
        "overhead crosses the limit and the container is OOMKilled under load",
        k5__ctr_role_str(role), (int)name.n, name.p, (int)obj->kind.n, obj->kind.p,
        (int)obj->name.n, obj->name.p, what, f->prefix, (int)f->text.n, f->text.p, from, judged,
        limit_text);
}

/* The limit's texts for a finding: written only then (most containers have none; two
 * formats per container were a large share of the check's cost). */
static void limit_texts(const k5_node *lnode, bool pod_level, double max, char *lim, size_t nl,
                        char *bound, size_t nb)
{
    k5_str ls = k5_node_str(lnode);
    snprintf(lim, nl, "%.*s%s", (int)ls.n, ls.p, pod_level ? " (pod-level)" : "");
    k5_bytes_fmt(k5__i64_from_double(max), bound, nb);
}

static k5_status check(k5_check *c, const k5_object *obj)
{
    int64_t pct = k5_check_param(c, 0);
    const k5_node *pod_limit = k5__pod_resource(obj, "limits", "memory");
    k5__ctr_iter it;
    k5__ctr_role role;
    const k5_node *ctr;
    /* Init containers too: one OOMKilled in a loop keeps the pod from ever starting. */
    k5__ctr_iter_init(&it, obj, K5__CTR_ALL);
    while ((ctr = k5__ctr_next(&it, &role)) != NULL) {
        const k5_node *lnode = k5__ctr_resource(ctr, "limits", "memory");
        bool pod_level = false;
        if (!lnode && pod_limit) {
            /* Without its own limit the container is bounded by the pod-level limit. */
            lnode = pod_limit;
            pod_level = true;
        }
        int64_t limit;
        if (!k5_quantity_node(lnode, &limit, NULL) || limit <= 0)
            continue;
        char lim[64], bound[32], judged[96], heap[32];
        double max = (double)limit * (double)pct / 100.0;
        k5_status st = K5_OK;

        k5__heap_flag xmx, ram;
        k5__heap_jvm(ctr, &xmx, &ram);
        /* An explicit MaxHeapSize wins over MaxRAMPercentage, wherever either appears. */
        if (xmx.set && xmx.known && (double)xmx.bytes > max) {
            limit_texts(lnode, pod_level, max, lim, sizeof lim, bound, sizeof bound);
            k5_bytes_fmt(xmx.bytes, heap, sizeof heap);
            snprintf(judged, sizeof judged, "sets a %s heap, above %lld%% (%s) of", heap,
                     (long long)pct, bound);
            st = report(c, obj, ctr, role, &xmx, "the JVM flag ", lim, judged);
        } else if (!xmx.set && ram.set && ram.known && ram.percent > (double)pct) {
            limit_texts(lnode, pod_level, max, lim, sizeof lim, bound, sizeof bound);
            snprintf(judged, sizeof judged, "gives the heap %.4g%%, above %lld%% of", ram.percent,
                     (long long)pct);
            st = report(c, obj, ctr, role, &ram, "the JVM flag ", lim, judged);
        }
        if (st != K5_OK)
            return st;

        k5__heap_flag old;
        k5__heap_node(ctr, &old);
        if (old.set && old.known && (double)old.bytes > max) {
            limit_texts(lnode, pod_level, max, lim, sizeof lim, bound, sizeof bound);
            k5_bytes_fmt(old.bytes, heap, sizeof heap);
            snprintf(judged, sizeof judged, "sets a %s old space, above %lld%% (%s) of", heap,
                     (long long)pct, bound);
            st = report(c, obj, ctr, role, &old, "the Node flag ", lim, judged);
        }
        if (st != K5_OK)
            return st;

        /* GOMEMLIMIT is a soft target the GC works towards: only at or above the limit is wrong. */
        k5__heap_flag go;
        k5__heap_go(ctr, pod_level ? 0 : limit, &go);
        if (go.set && go.known && go.bytes >= limit) {
            limit_texts(lnode, pod_level, max, lim, sizeof lim, bound, sizeof bound);
            k5_bytes_fmt(go.bytes, heap, sizeof heap);
            snprintf(judged, sizeof judged, "(%s) is at or above", heap);
            st = report(c, obj, ctr, role, &go, "", lim, judged);
        }
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

const k5_rule k5__rule_heap_exceeds_memory_limit = {
    .id = "heap-exceeds-memory-limit",
    .severity = K5_SEV_ERROR,
    .kinds = K5_KINDS_SERVING,
    .scope = K5_SCOPE_SINGLE,
    .scope_note = "reads JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS, JAVA_OPTS, JVM_OPTS, "
                  "KAFKA_HEAP_OPTS, ES_JAVA_OPTS, OPENSEARCH_JAVA_OPTS, CATALINA_OPTS, "
                  "Cassandra's MAX_HEAP_SIZE, _JAVA_OPTIONS, NODE_OPTIONS and GOMEMLIMIT "
                  "(literal values) and command/args",
    .summary = "A runtime heap bound leaves no room under the container's memory limit",
    .explanation =
        "The kernel counts everything the process uses against the memory limit: heap, "
        "thread stacks, metaspace, JIT code, native buffers. A JVM -Xmx or MaxRAMPercentage or "
        "a Node --max-old-space-size close to the limit lets the heap grow until the total "
        "crosses it, and the container is OOMKilled under load instead of collecting garbage: "
        "502 for its in-flight requests, 503 while it restarts. GOMEMLIMIT at the limit has "
        "the same effect for Go.",
    .remediation = "Keep hard heap bounds at or below 75-85% of the memory limit (for the "
                   "JVM prefer -XX:MaxRAMPercentage=75 over a fixed -Xmx), and GOMEMLIMIT at "
                   "about 90% of it.",
    .example_broken = "apiVersion: apps/v1\n"
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
                      "          ports: [{name: http, containerPort: 8080}]\n"
                      "          env: [{name: JAVA_TOOL_OPTIONS, value: -Xmx512m}]\n"
                      "          resources:\n"
                      "            limits: {memory: 512Mi}\n",
    .example = "apiVersion: apps/v1\n"
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
               "          ports: [{name: http, containerPort: 8080}]\n"
               "          env: [{name: JAVA_TOOL_OPTIONS, value: -Xmx384m}]\n"
               "          resources:\n"
               "            limits: {memory: 512Mi}\n",
    .params = {{"max-heap", K5_PARAM_PERCENT, "85%",
                "largest hard heap bound, as a percentage of the memory limit"}},
    .check = check,
};
