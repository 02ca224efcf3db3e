/*
 * The registry: expands rules.def into a sorted table of rule descriptors.
 */
#include "k5_internal.h"

#define K5_RULE(ident) extern const k5_rule k5__rule_##ident;
#include "rules.def"
#undef K5_RULE

static const k5_rule *const registry[] = {
#define K5_RULE(ident) &k5__rule_##ident,
#include "rules.def"
#undef K5_RULE
};

size_t k5_rule_count(void)
{
    return sizeof registry / sizeof *registry;
}

size_t k5_rule_nparams(const k5_rule *rule)
{
    size_t n = 0;
    while (n < K5_MAX_PARAMS && rule->params[n].name)
        n++;
    return n;
}

const k5_rule *k5_rule_at(size_t i)
{
    return i < k5_rule_count() ? registry[i] : NULL;
}

const k5_rule *k5_rule_find(const char *id, size_t n)
{
    for (size_t i = 0; i < k5_rule_count(); i++)
        if (strlen(registry[i]->id) == n && memcmp(registry[i]->id, id, n) == 0)
            return registry[i];
    return NULL;
}

size_t k5_rule_index(const k5_rule *rule)
{
    for (size_t i = 0; i < k5_rule_count(); i++)
        if (registry[i] == rule)
            return i;
    return SIZE_MAX;
}

const char *k5_severity_str(k5_severity s)
{
    switch (s) {
    case K5_SEV_OFF:
        return "off";
    case K5_SEV_INFO:
        return "info";
    case K5_SEV_WARNING:
        return "warning";
    case K5_SEV_ERROR:
        return "error";
    }
    return "?";
}

bool k5_severity_parse(const char *s, size_t n, k5_severity *out)
{
    for (int v = K5_SEV_OFF; v <= K5_SEV_ERROR; v++) {
        const char *name = k5_severity_str((k5_severity)v);
        if (strlen(name) == n && memcmp(name, s, n) == 0) {
            *out = (k5_severity)v;
            return true;
        }
    }
    return false;
}

const char *k5_scope_str(k5_scope s)
{
    return s == K5_SCOPE_CROSS ? "cross" : "single";
}
