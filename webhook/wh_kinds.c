/*
 * kube5xx-webhook: the admitted and cached kinds, from the kind table (see wh_kinds.h).
 */
#include "wh_kinds.h"

#include <cjson/cJSON.h>
#include <kube5xx/k5_cluster.h>
#include <kube5xx/k5_object.h>
#include <string.h>

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Appends src to buf (cap bytes, used so far *n), cut as snprintf would cut it. */
static void append(char *buf, size_t cap, size_t *n, const char *src)
{
    size_t k = strlen(src);
    if (k > cap - 1 - *n)
        k = cap - 1 - *n;
    memcpy(buf + *n, src, k);
    *n += k;
}

bool wh_kind_admitted(const cJSON *gvk, const cJSON *obj)
{
    /* Asked once per review: the apiVersion is put together with memcpy, not snprintf. */
    char av[256];
    size_t n = 0;
    const char *kind = jstr(gvk, "kind");
    if (kind) {
        const char *g = jstr(gvk, "group"), *v = jstr(gvk, "version");
        if (g && *g) {
            append(av, sizeof av, &n, g);
            append(av, sizeof av, &n, "/");
        }
        append(av, sizeof av, &n, v ? v : "");
    } else {
        kind = jstr(obj, "kind");
        const char *a = jstr(obj, "apiVersion");
        append(av, sizeof av, &n, a ? a : "");
    }
    if (!kind)
        return true;
    k5_str ks = {kind, strlen(kind)}, as = {av, n};
    const k5_kind_info *ki = k5_kind_info_of(k5_kind_from(as, ks));
    return ki && (ki->flags & K5_KF_WEBHOOK);
}

/* The group of an apiVersion ("" for the core group), copied into buf. */
static const char *group_of(const char *api_version, char *buf, size_t size)
{
    const char *slash = strchr(api_version, '/');
    size_t n = slash ? (size_t)(slash - api_version) : 0;
    if (n >= size)
        n = size - 1;
    memcpy(buf, api_version, n);
    buf[n] = '\0';
    return buf;
}

/* The first space-separated word of list, copied into buf. */
static const char *first_word(const char *list, char *buf, size_t size)
{
    size_t n = strcspn(list, " ");
    if (n >= size)
        n = size - 1;
    memcpy(buf, list, n);
    buf[n] = '\0';
    return buf;
}

/* The versions a kind is registered under, for a YAML flow list: "v1", "v1beta1". */
static void versions_of(const k5_kind_info *ki, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    k5_str g, v;
    for (size_t i = 0; k5_kind_served_at(ki, i, &g, &v); i++) {
        int w = snprintf(buf + used, size - used, "%s\"%.*s\"", i ? ", " : "", (int)v.n, v.p);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
        /* Built-in kinds: the preferred version only; the API server converts. */
        if (ki->flags & K5_KF_BUILTIN)
            break;
    }
}

typedef struct {
    bool webhook; /* VWC rules (versions matter) or RBAC rules (versions do not) */
    int indent;
} style;

static bool selected(const k5_kind_info *ki, bool webhook)
{
    return webhook ? (ki->flags & K5_KF_WEBHOOK) != 0 : (ki->kind & K5_CLUSTER_KINDS) != 0;
}

/* The grouping key of a kind: its group, and for the VWC its versions too. */
static void key_of(const k5_kind_info *ki, bool webhook, char *buf, size_t size)
{
    char g[128], v[128];
    group_of(first_word(ki->served, v, sizeof v), g, sizeof g);
    if (webhook) {
        versions_of(ki, v, sizeof v);
        snprintf(buf, size, "%s|%s", g, v);
    } else
        snprintf(buf, size, "%s", g);
}

/* One rule per group (and version list), kinds in table order, groups by first appearance. */
static bool write_rules(FILE *out, style s)
{
    size_t n = k5_kind_count();
    bool done[K5__KIND_COUNT] = {false};
    int ok = 0;
    for (size_t i = 0; i < n && i < K5__KIND_COUNT; i++) {
        const k5_kind_info *ki = k5_kind_at(i);
        if (done[i] || !selected(ki, s.webhook))
            continue;
        char key[256], g[128], v[128], vs[128];
        key_of(ki, s.webhook, key, sizeof key);
        group_of(first_word(ki->served, v, sizeof v), g, sizeof g);
        versions_of(ki, vs, sizeof vs);
        ok |= fprintf(out, "%*s- apiGroups: [\"%s\"]\n", s.indent, "", g) < 0;
        if (s.webhook)
            ok |= fprintf(out, "%*s  apiVersions: [%s]\n", s.indent, "", vs) < 0;
        if (s.webhook)
            ok |= fprintf(out, "%*s  operations: [\"CREATE\", \"UPDATE\"]\n", s.indent, "") < 0;
        ok |= fprintf(out, "%*s  resources: [", s.indent, "") < 0;
        const char *sep = "";
        for (size_t j = i; j < n && j < K5__KIND_COUNT; j++) {
            const k5_kind_info *kj = k5_kind_at(j);
            char kk[256];
            if (done[j] || !selected(kj, s.webhook))
                continue;
            key_of(kj, s.webhook, kk, sizeof kk);
            if (strcmp(kk, key) != 0)
                continue;
            ok |= fprintf(out, "%s%s", sep, kj->resource) < 0;
            sep = ", ";
            done[j] = true;
        }
        ok |= fprintf(out, "]\n") < 0;
        if (s.webhook)
            ok |= fprintf(out, "%*s  scope: Namespaced\n", s.indent, "") < 0;
        else
            ok |= fprintf(out, "%*s  verbs: [get, list, watch]\n", s.indent, "") < 0;
    }
    return !ok;
}

bool wh_kinds_write_vwc_rules(FILE *out, int indent)
{
    return write_rules(out, (style){true, indent});
}

bool wh_kinds_write_rbac_rules(FILE *out, int indent)
{
    return write_rules(out, (style){false, indent});
}
