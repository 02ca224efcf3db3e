/*
 * Configuration: per-rule severity and parameters, exemptions, and the
 * webhook's settings. Parsed with the engine's own YAML loader so that every
 * error names the file, line and column.
 */
#include <ctype.h>
#include <stdlib.h>

#include "k5_internal.h"

struct k5_config {
    k5__arena arena;
    k5_severity *sev;                 /* per rule, registry order */
    int64_t (*params)[K5_MAX_PARAMS]; /* per rule */
    /* NAMES parameters, per rule: the descriptor's default or a string in the arena. */
    const char *(*names)[K5_MAX_PARAMS];
    k5__vec exempt_ns;                /* const char * */
    k5__vec exempt_obj;               /* const char * "Kind/namespace/name" patterns */
    k5__vec wh_ns, wh_users, wh_groups;
    k5_webhook_config wh;
};

/* A Kubernetes name as a DNS-1123 subdomain is written (a namespace is the label subset). */
static bool valid_name(const char *s, size_t n)
{
    if (!n || n > K5_MAX_NAME_LEN || !isalnum((unsigned char)s[0]) ||
        !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
              s[i] == '.'))
            return false;
    return true;
}

/*
 * Splits "a, b,c" at commas, trimming blanks; every piece must be a name. Stores up to
 * K5_MAX_PARAM_NAMES pieces in items (when not NULL) and returns their number, or 0 when the
 * text is not a list of 1 to K5_MAX_PARAM_NAMES names.
 */
static size_t split_names(const char *s, size_t n, k5_str *items)
{
    size_t count = 0, i = 0;
    for (;;) {
        size_t start = i;
        while (i < n && s[i] != ',')
            i++;
        size_t a = start, b = i;
        while (a < b && (s[a] == ' ' || s[a] == '\t'))
            a++;
        while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
            b--;
        if (!valid_name(s + a, b - a) || count == K5_MAX_PARAM_NAMES)
            return 0;
        if (items)
            items[count] = (k5_str){s + a, b - a};
        count++;
        if (i == n)
            return count;
        i++; /* the comma */
    }
}

/* The names joined by ", " in the arena; NULL when out of memory. */
static const char *join_names(k5__arena *arena, const k5_str *items, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += items[i].n + 2;
    char *out = k5__arena_alloc(arena, len + 1);
    if (!out)
        return NULL;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            memcpy(out + at, ", ", 2);
            at += 2;
        }
        memcpy(out + at, items[i].p, items[i].n);
        at += items[i].n;
    }
    out[at] = '\0';
    return out;
}

bool k5_names_next(const char **cursor, k5_str *name)
{
    const char *p = *cursor;
    if (!p)
        return false;
    while (*p == ',' || *p == ' ' || *p == '\t')
        p++;
    if (!*p) {
        *cursor = p;
        return false;
    }
    const char *start = p;
    while (*p && *p != ',' && *p != ' ' && *p != '\t')
        p++;
    *name = (k5_str){start, (size_t)(p - start)};
    *cursor = p;
    return true;
}

bool k5_names_has(const char *names, const char *s, size_t n)
{
    k5_str it;
    for (const char *cur = names; k5_names_next(&cur, &it);)
        if (it.n == n && memcmp(it.p, s, n) == 0)
            return true;
    return false;
}

k5_status k5_param_parse(k5_param_type type, const char *s, size_t n, int64_t *out)
{
    int64_t v = 0, milli = 0;
    switch (type) {
    case K5_PARAM_INT: {
        k5_node tmp = {{s}, 0, k5__bits(K5_NODE_INT, false, n)};
        if (k5__resolve_plain(s, n) != K5_NODE_INT || !k5_node_int(&tmp, &v))
            return K5_EINVAL;
        break;
    }
    case K5_PARAM_MEMORY:
        if (!k5_quantity_parse(s, n, &v, NULL) || v < 0)
            return K5_EINVAL;
        break;
    case K5_PARAM_CPU:
        if (!k5_quantity_parse(s, n, NULL, &milli) || milli < 0)
            return K5_EINVAL;
        v = milli;
        break;
    case K5_PARAM_SECONDS: {
        int64_t ns;
        k5_node tmp = {{s}, 0, k5__bits(K5_NODE_INT, false, n)};
        if (k5__resolve_plain(s, n) == K5_NODE_INT && k5_node_int(&tmp, &v))
            break;
        if (!k5_duration_parse(s, n, &ns) || ns < 0)
            return K5_EINVAL;
        v = ns / 1000000000;
        break;
    }
    case K5_PARAM_PERCENT: {
        size_t m = n && s[n - 1] == '%' ? n - 1 : n;
        k5_node tmp = {{s}, 0, k5__bits(K5_NODE_INT, false, m)};
        if (!m || k5__resolve_plain(s, m) != K5_NODE_INT || !k5_node_int(&tmp, &v) || v < 0)
            return K5_EINVAL;
        break;
    }
    case K5_PARAM_NAMES:
        v = (int64_t)split_names(s, n, NULL);
        if (!v)
            return K5_EINVAL;
        break;
    default:
        return K5_EINVAL;
    }
    *out = v;
    return K5_OK;
}

static k5_status config_alloc(k5_config **out)
{
    k5_config *c = calloc(1, sizeof *c);
    if (!c)
        return K5_ENOMEM;
    size_t n = k5_rule_count();
    c->sev = k5__arena_alloc(&c->arena, (n ? n : 1) * sizeof *c->sev);
    c->params = k5__arena_alloc(&c->arena, (n ? n : 1) * sizeof *c->params);
    c->names = k5__arena_alloc(&c->arena, (n ? n : 1) * sizeof *c->names);
    if (!c->sev || !c->params || !c->names) {
        k5_config_free(&c);
        return K5_ENOMEM;
    }
    c->exempt_ns.elem = c->exempt_obj.elem = c->wh_ns.elem = c->wh_users.elem =
        c->wh_groups.elem = sizeof(const char *);
    c->wh.mode = K5_WH_ENFORCE;
    c->wh.ratchet = true;
    for (size_t i = 0; i < n; i++) {
        const k5_rule *r = k5_rule_at(i);
        c->sev[i] = r->severity;
        for (size_t p = 0; p < k5_rule_nparams(r); p++) {
            const char *d = r->params[p].default_value;
            int64_t v = 0;
            /* A default that does not parse is a registry bug; the registry test catches it. */
            if (k5_param_parse(r->params[p].type, d, strlen(d), &v) != K5_OK)
                v = 0;
            c->params[i][p] = v;
            c->names[i][p] = r->params[p].type == K5_PARAM_NAMES ? d : NULL;
        }
    }
    *out = c;
    return K5_OK;
}

k5_status k5_config_new(k5_config **out)
{
    return config_alloc(out);
}

void k5_config_free(k5_config **cfg)
{
    if (!cfg || !*cfg)
        return;
    k5_config *c = *cfg;
    k5__vec_free(&c->exempt_ns);
    k5__vec_free(&c->exempt_obj);
    k5__vec_free(&c->wh_ns);
    k5__vec_free(&c->wh_users);
    k5__vec_free(&c->wh_groups);
    k5__arena_free(&c->arena);
    free(c);
    *cfg = NULL;
}

typedef struct parse_ctx {
    k5_config *c;
    const k5_docset *set;
    const char *name;
    k5_error *err;
} parse_ctx;

static k5_status fail(parse_ctx *p, const k5_node *at, const char *fmt, ...) K5_PRINTF(3, 4);
static k5_status fail(parse_ctx *p, const k5_node *at, const char *fmt, ...)
{
    k5_position pos = k5_docset_position(p->set, 0, at);
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    k5__err(p->err, p->name, pos.line, pos.column, "%s", msg);
    return K5_EINVAL;
}

static k5_status str_list(parse_ctx *p, const k5_node *n, const char *what, k5__vec *out)
{
    if (k5_node_kind(n) == K5_NODE_NULL)
        return K5_OK;
    if (!k5_node_is_seq(n))
        return fail(p, n, "%s must be a list of strings", what);
    for (size_t i = 0; i < k5_node_len(n); i++) {
        const k5_node *it = k5_seq_at(n, i);
        if (k5_node_kind(it) != K5_NODE_STR)
            return fail(p, it, "%s must be a list of strings", what);
        k5_str s = k5_node_str(it);
        const char *copy = k5__arena_strndup(&p->c->arena, s.p, s.n);
        if (!copy || !k5__vec_push(out, &copy))
            return K5_ENOMEM;
    }
    return K5_OK;
}

/* A NAMES setting: a YAML list of names, or one string "a, b". */
static k5_status names_entry(parse_ctx *p, const k5_rule *r, size_t pi, const k5_node *v)
{
    size_t ri = k5_rule_index(r);
    k5_str items[K5_MAX_PARAM_NAMES];
    size_t n = 0;
    if (k5_node_is_seq(v)) {
        if (k5_node_len(v) > K5_MAX_PARAM_NAMES)
            return fail(p, v, "rule %s: %s lists more than %d names", r->id, r->params[pi].name,
                        K5_MAX_PARAM_NAMES);
        for (size_t i = 0; i < k5_node_len(v); i++) {
            const k5_node *it = k5_seq_at(v, i);
            k5_str s = k5_node_str(it);
            if (!k5_node_is_scalar(it) || !valid_name(s.p, s.n))
                return fail(p, it,
                            "rule %s: \"%.*s\" in %s is not a Kubernetes name (lowercase "
                            "letters, digits, '-' and '.')",
                            r->id, (int)s.n, s.p, r->params[pi].name);
            items[n++] = s;
        }
    } else if (!k5_node_is_scalar(v)) {
        return fail(p, v, "rule %s: %s must be a list of names or one string \"a, b\"", r->id,
                    r->params[pi].name);
    } else if (k5_node_kind(v) != K5_NODE_NULL) {
        k5_str s = k5_node_str(v);
        n = split_names(s.p, s.n, items);
        if (!n)
            return fail(p, v, "rule %s: invalid value \"%.*s\" for %s (%s)", r->id, (int)s.n, s.p,
                        r->params[pi].name, r->params[pi].help);
    }
    /* An empty list would make every restrictive policy an error: turning a rule off is
     * `severity: off`, not an empty setting. */
    if (!n)
        return fail(p, v, "rule %s: %s must name at least one (a list, or \"a, b\")", r->id,
                    r->params[pi].name);
    const char *joined = join_names(&p->c->arena, items, n);
    if (!joined)
        return K5_ENOMEM;
    p->c->names[ri][pi] = joined;
    p->c->params[ri][pi] = (int64_t)n;
    return K5_OK;
}

static k5_status rule_entry(parse_ctx *p, const k5_node *key, const k5_node *val)
{
    k5_str id = k5_node_str(key);
    const k5_rule *r = k5_rule_find(id.p, id.n);
    if (!r)
        return fail(p, key, "unknown rule id \"%.*s\" (see `kube5xx rules`)", (int)id.n, id.p);
    size_t ri = k5_rule_index(r);
    if (k5_node_is_scalar(val)) {
        k5_str s = k5_node_str(val);
        k5_severity sev;
        /* YAML 1.1 reads an unquoted `off` as a boolean false; accept it as "off". */
        bool b;
        if (k5_node_bool(val, &b) && !b)
            sev = K5_SEV_OFF;
        else if (!k5_severity_parse(s.p, s.n, &sev))
            return fail(p, val, "rule %s: severity must be off, info, warning or error, not \"%.*s\"",
                        r->id, (int)s.n, s.p);
        p->c->sev[ri] = sev;
        return K5_OK;
    }
    if (!k5_node_is_map(val))
        return fail(p, val, "rule %s: expected a severity or a map of settings", r->id);
    for (size_t i = 0; i < k5_node_len(val); i++) {
        const k5_node *k = k5_map_key(val, i), *v = k5_map_value(val, i);
        k5_str ks = k5_node_str(k), vs = k5_node_str(v);
        if (k5_node_text_is(k, "severity")) {
            k5_severity sev;
            bool b;
            if (k5_node_bool(v, &b) && !b)
                sev = K5_SEV_OFF;
            else if (!k5_node_is_scalar(v) || !k5_severity_parse(vs.p, vs.n, &sev))
                return fail(p, v, "rule %s: severity must be off, info, warning or error", r->id);
            p->c->sev[ri] = sev;
            continue;
        }
        size_t pi = 0;
        while (pi < k5_rule_nparams(r) && !(strlen(r->params[pi].name) == ks.n &&
                                    memcmp(r->params[pi].name, ks.p, ks.n) == 0))
            pi++;
        if (pi == k5_rule_nparams(r)) {
            char names[200] = "severity";
            size_t len = strlen(names);
            for (size_t j = 0; j < k5_rule_nparams(r) && len < sizeof names; j++) {
                int w = snprintf(names + len, sizeof names - len, ", %s", r->params[j].name);
                if (w > 0)
                    len += (size_t)w;
            }
            return fail(p, k, "rule %s has no setting \"%.*s\" (known: %s)", r->id, (int)ks.n,
                        ks.p, names);
        }
        if (r->params[pi].type == K5_PARAM_NAMES) {
            k5_status st = names_entry(p, r, pi, v);
            if (st != K5_OK)
                return st;
            continue;
        }
        int64_t pv;
        if (!k5_node_is_scalar(v) || k5_param_parse(r->params[pi].type, vs.p, vs.n, &pv) != K5_OK)
            return fail(p, v, "rule %s: invalid value \"%.*s\" for %s (%s)", r->id, (int)vs.n,
                        vs.p, r->params[pi].name, r->params[pi].help);
        p->c->params[ri][pi] = pv;
    }
    return K5_OK;
}

static bool valid_pattern(k5_str s)
{
    size_t slashes = 0;
    for (size_t i = 0; i < s.n; i++)
        slashes += s.p[i] == '/';
    return slashes == 2;
}

static k5_status parse_exempt(parse_ctx *p, const k5_node *n, bool webhook)
{
    if (k5_node_kind(n) == K5_NODE_NULL)
        return K5_OK;
    if (!k5_node_is_map(n))
        return fail(p, n, "exempt must be a map");
    for (size_t i = 0; i < k5_node_len(n); i++) {
        const k5_node *k = k5_map_key(n, i), *v = k5_map_value(n, i);
        k5_status st;
        if (k5_node_text_is(k, "namespaces"))
            st = str_list(p, v, "exempt.namespaces", webhook ? &p->c->wh_ns : &p->c->exempt_ns);
        else if (!webhook && k5_node_text_is(k, "objects")) {
            st = str_list(p, v, "exempt.objects", &p->c->exempt_obj);
            for (size_t j = 0; st == K5_OK && j < k5_node_len(v); j++)
                if (!valid_pattern(k5_node_str(k5_seq_at(v, j))))
                    st = fail(p, k5_seq_at(v, j),
                              "exempt.objects entries are Kind/namespace/name patterns "
                              "(\"Deployment/legacy/*\")");
        } else if (webhook && k5_node_text_is(k, "usernames"))
            st = str_list(p, v, "webhook.exempt.usernames", &p->c->wh_users);
        else if (webhook && k5_node_text_is(k, "groups"))
            st = str_list(p, v, "webhook.exempt.groups", &p->c->wh_groups);
        else {
            k5_str ks = k5_node_str(k);
            st = fail(p, k, "unknown key \"%.*s\" in %s (known: %s)", (int)ks.n, ks.p,
                      webhook ? "webhook.exempt" : "exempt",
                      webhook ? "namespaces, usernames, groups" : "namespaces, objects");
        }
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

static k5_status parse_webhook(parse_ctx *p, const k5_node *n)
{
    if (k5_node_kind(n) == K5_NODE_NULL)
        return K5_OK;
    if (!k5_node_is_map(n))
        return fail(p, n, "webhook must be a map");
    for (size_t i = 0; i < k5_node_len(n); i++) {
        const k5_node *k = k5_map_key(n, i), *v = k5_map_value(n, i);
        k5_status st = K5_OK;
        if (k5_node_text_is(k, "mode")) {
            if (k5_node_is(v, "enforce"))
                p->c->wh.mode = K5_WH_ENFORCE;
            else if (k5_node_is(v, "warn"))
                p->c->wh.mode = K5_WH_WARN;
            else if (k5_node_is(v, "audit"))
                p->c->wh.mode = K5_WH_AUDIT;
            else
                st = fail(p, v, "webhook.mode must be enforce, warn or audit");
        } else if (k5_node_text_is(k, "ratchet")) {
            if (!k5_node_bool(v, &p->c->wh.ratchet))
                st = fail(p, v, "webhook.ratchet must be true or false");
        } else if (k5_node_text_is(k, "exempt")) {
            st = parse_exempt(p, v, true);
        } else {
            k5_str ks = k5_node_str(k);
            st = fail(p, k, "unknown key \"%.*s\" in webhook (known: mode, ratchet, exempt)",
                      (int)ks.n, ks.p);
        }
        if (st != K5_OK)
            return st;
    }
    return K5_OK;
}

static void finish_lists(k5_config *c)
{
    c->wh.exempt_namespaces.items = c->wh_ns.data;
    c->wh.exempt_namespaces.n = c->wh_ns.len;
    c->wh.exempt_usernames.items = c->wh_users.data;
    c->wh.exempt_usernames.n = c->wh_users.len;
    c->wh.exempt_groups.items = c->wh_groups.data;
    c->wh.exempt_groups.n = c->wh_groups.len;
}

k5_status k5_config_parse(k5_config **out, const char *name, const char *buf, size_t len,
                          k5_error *err)
{
    if (len > K5_MAX_CONFIG_BYTES) {
        k5__err(err, name, 0, 0, "config file is larger than %u bytes (limit K5_MAX_CONFIG_BYTES)",
                K5_MAX_CONFIG_BYTES);
        return K5_ELIMIT;
    }
    k5_config *c = NULL;
    k5_docset *set = NULL;
    k5_status st = config_alloc(&c);
    if (st != K5_OK)
        return st;
    st = k5_docset_new(&set, NULL);
    if (st != K5_OK)
        goto out;
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        st = K5_ENOMEM;
        goto out;
    }
    if (len)
        memcpy(copy, buf, len);
    st = k5_docset_load(set, name, copy, len, K5_FORMAT_YAML, err);
    if (st != K5_OK)
        goto out;
    parse_ctx p = {c, set, name, err};
    const k5_node *root = k5__docset_first_root(set);
    if (k5_node_kind(root) == K5_NODE_NULL)
        goto done;
    if (!k5_node_is_map(root)) {
        st = fail(&p, root, "the config must be a map with keys rules, exempt, webhook");
        goto out;
    }
    for (size_t i = 0; i < k5_node_len(root) && st == K5_OK; i++) {
        const k5_node *k = k5_map_key(root, i), *v = k5_map_value(root, i);
        if (k5_node_text_is(k, "rules")) {
            if (k5_node_kind(v) == K5_NODE_NULL)
                continue;
            if (!k5_node_is_map(v)) {
                st = fail(&p, v, "rules must be a map of rule id to settings");
                break;
            }
            for (size_t j = 0; j < k5_node_len(v) && st == K5_OK; j++)
                st = rule_entry(&p, k5_map_key(v, j), k5_map_value(v, j));
        } else if (k5_node_text_is(k, "exempt")) {
            st = parse_exempt(&p, v, false);
        } else if (k5_node_text_is(k, "webhook")) {
            st = parse_webhook(&p, v);
        } else {
            k5_str ks = k5_node_str(k);
            st = fail(&p, k, "unknown key \"%.*s\" (known: rules, exempt, webhook)", (int)ks.n,
                      ks.p);
        }
    }
    if (st != K5_OK)
        goto out;
done:
    finish_lists(c);
    *out = c;
    c = NULL;
out:
    /* The docset that loaded the file is freed here: errors must name the caller's string. */
    if (st != K5_OK && err)
        err->file = name;
    k5_config_free(&c);
    k5_docset_free(&set);
    return st;
}

k5_severity k5_config_severity(const k5_config *cfg, const k5_rule *rule)
{
    size_t i = k5_rule_index(rule);
    if (!cfg || i == SIZE_MAX)
        return rule->severity;
    return cfg->sev[i];
}

int64_t k5_config_param(const k5_config *cfg, const k5_rule *rule, size_t p)
{
    size_t i = k5_rule_index(rule);
    if (p >= k5_rule_nparams(rule))
        return 0;
    if (!cfg || i == SIZE_MAX) {
        int64_t v = 0;
        const char *d = rule->params[p].default_value;
        if (k5_param_parse(rule->params[p].type, d, strlen(d), &v) != K5_OK)
            v = 0;
        return v;
    }
    return cfg->params[i][p];
}

k5_severity k5__config_severity_at(const k5_config *cfg, size_t rule_index)
{
    return cfg->sev[rule_index];
}

int64_t k5__config_param_at(const k5_config *cfg, size_t rule_index, size_t p)
{
    return p < K5_MAX_PARAMS ? cfg->params[rule_index][p] : 0;
}

const char *k5__config_names_at(const k5_config *cfg, size_t rule_index, size_t p)
{
    return p < K5_MAX_PARAMS ? cfg->names[rule_index][p] : NULL;
}

const char *k5_config_param_names(const k5_config *cfg, const k5_rule *rule, size_t p)
{
    size_t i = k5_rule_index(rule);
    if (p >= k5_rule_nparams(rule) || rule->params[p].type != K5_PARAM_NAMES)
        return NULL;
    if (!cfg || i == SIZE_MAX)
        return rule->params[p].default_value;
    return cfg->names[i][p];
}

bool k5_glob_match(const char *pat, const char *s, size_t n, char stop)
{
    /* The classic two-pointer match: on a mismatch, let the last '*' swallow one more byte. */
    const char *star = NULL;
    size_t i = 0, star_i = 0;
    while (i < n) {
        if (*pat == '*') {
            star = ++pat;
            star_i = i;
        } else if (*pat && *pat == s[i]) {
            pat++;
            i++;
        } else if (star && (!stop || s[star_i] != stop)) {
            pat = star;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

bool k5_config_exempt(const k5_config *cfg, const k5_object *obj)
{
    if (!cfg)
        return false;
    for (size_t i = 0; i < cfg->exempt_ns.len; i++) {
        const char *ns = K5__VEC_AT(&cfg->exempt_ns, const char *, i);
        if (strlen(ns) == obj->namespace_.n && !memcmp(ns, obj->namespace_.p, obj->namespace_.n))
            return true;
    }
    if (!cfg->exempt_obj.len)
        return false;
    char id[768];
    int n = snprintf(id, sizeof id, "%.*s/%.*s/%.*s", (int)obj->kind.n, obj->kind.p,
                     (int)obj->namespace_.n, obj->namespace_.p, (int)obj->name.n, obj->name.p);
    if (n < 0 || (size_t)n >= sizeof id)
        return false;
    for (size_t i = 0; i < cfg->exempt_obj.len; i++)
        if (k5_glob_match(K5__VEC_AT(&cfg->exempt_obj, const char *, i), id, (size_t)n, '/'))
            return true;
    return false;
}

const k5_webhook_config *k5_config_webhook(const k5_config *cfg)
{
    static const k5_webhook_config defaults = {K5_WH_ENFORCE, true, {NULL, 0}, {NULL, 0}, {NULL, 0}};
    return cfg ? &cfg->wh : &defaults;
}
