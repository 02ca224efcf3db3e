/*
 * The kind table (kube5xx/k5_kinds.def) and everything derived from it:
 * apiVersion matching, impossible apiVersions, kind names.
 */
#include "k5_internal.h"

static const k5_kind_info table[] = {
#define K5_KIND(ident, name, resource, served, older, flags)                                      \
    {K5_KIND_##ident, name, resource, served, older, flags},
#include <kube5xx/k5_kinds.def>
#undef K5_KIND
};

/* K5_CLUSTER_KINDS: the kinds flagged K5_KF_CACHE. */
const k5_kind k5__cluster_kinds = 0
#define K5_KIND(ident, name, resource, served, older, flags)                                      \
    | (((flags) & K5_KF_CACHE) ? K5_KIND_##ident : 0)
#include <kube5xx/k5_kinds.def>
#undef K5_KIND
    ;

int k5_kind_bit(k5_kind kinds)
{
    if (!kinds)
        return -1;
    int b = 0;
    while (!(kinds & K5_KIND_AT(b)))
        b++;
    return b;
}

size_t k5_kind_count(void)
{
    return sizeof table / sizeof *table;
}

const k5_kind_info *k5_kind_at(size_t i)
{
    return i < k5_kind_count() ? &table[i] : NULL;
}

const k5_kind_info *k5_kind_info_of(k5_kind kind)
{
    for (size_t i = 0; i < k5_kind_count(); i++)
        if (table[i].kind == kind)
            return &table[i];
    return NULL;
}

bool k5_kind_served_at(const k5_kind_info *ki, size_t i, k5_str *group, k5_str *version)
{
    for (const char *p = ki->served;;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (!n)
            return false;
        if (i-- == 0) {
            const char *slash = memchr(p, '/', n);
            size_t g = slash ? (size_t)(slash - p) : 0;
            *group = (k5_str){p, g};
            *version = slash ? (k5_str){slash + 1, n - g - 1} : (k5_str){p, n};
            return true;
        }
        p += n;
    }
}

static bool str_is(k5_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* The group of an apiVersion: what precedes the '/'; the core group ("v1") has none. */
static k5_str group_of(k5_str api_version)
{
    k5_str g = {"", 0};
    for (size_t i = 0; i < api_version.n; i++)
        if (api_version.p[i] == '/') {
            g.p = api_version.p;
            g.n = i;
            break;
        }
    return g;
}

/* Calls back for each space-separated apiVersion of list; stops when fn returns true. */
static bool any_version(const char *list, bool (*fn)(k5_str v, k5_str arg), k5_str arg)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        k5_str v = {p, (size_t)(e - p)};
        if (v.n && fn(v, arg))
            return true;
        p = e;
    }
    return false;
}

static bool same_group(k5_str v, k5_str group)
{
    k5_str g = group_of(v);
    return g.n == group.n && memcmp(g.p, group.p, g.n) == 0;
}

static bool same_version(k5_str v, k5_str api_version)
{
    return v.n == api_version.n && memcmp(v.p, api_version.p, v.n) == 0;
}

static const k5_kind_info *by_name(k5_str kind)
{
    for (size_t i = 0; i < k5_kind_count(); i++)
        if (str_is(kind, table[i].name))
            return &table[i];
    return NULL;
}

k5_kind k5_kind_from(k5_str api_version, k5_str kind)
{
    k5_str group = group_of(api_version);
    for (size_t i = 0; i < k5_kind_count(); i++) {
        const k5_kind_info *k = &table[i];
        if (str_is(kind, k->name) &&
            (any_version(k->served, same_group, group) || any_version(k->older, same_group, group)))
            return k->kind;
    }
    return K5_KIND_OTHER;
}

/* Kubernetes' own API groups: the core group, dotless groups, and *.k8s.io. */
static bool kubernetes_group(k5_str g)
{
    static const char suffix[] = ".k8s.io";
    const size_t sl = sizeof suffix - 1;
    if (!memchr(g.p, '.', g.n))
        return true;
    return g.n > sl && memcmp(g.p + g.n - sl, suffix, sl) == 0;
}

bool k5_kind_api_version_impossible(k5_str api_version, k5_str kind, const char **expected)
{
    const k5_kind_info *k = by_name(kind);
    if (!k || !(k->flags & K5_KF_BUILTIN) || !api_version.p || !kubernetes_group(group_of(api_version)))
        return false;
    if (any_version(k->served, same_version, api_version) ||
        any_version(k->older, same_version, api_version))
        return false;
    if (expected)
        *expected = k->served;
    return true;
}

void k5_kinds_str(k5_kind kinds, char *buf, size_t size)
{
    size_t len = 0;
    if (size)
        buf[0] = '\0';
    if (kinds == K5_KINDS_ALL) {
        snprintf(buf, size, "every kind");
        return;
    }
    for (size_t b = 0; b < K5__KIND_COUNT; b++) {
        if (!(kinds & K5_KIND_AT(b)) || len >= size)
            continue;
        const k5_kind_info *k = k5_kind_info_of(K5_KIND_AT(b));
        int n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", k ? k->name : "other");
        if (n > 0)
            len += (size_t)n;
    }
}
