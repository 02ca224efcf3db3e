/*
 * The registry: expands rules.def into a sorted table of rule descriptors.
 */
#include <pthread.h>
#include <stdint.h>

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

/* Rule -> registry index, by the descriptor's address: junit and sarif ask once per finding
 * (439,000 times on a 63 MiB JSON List), where scanning 46 pointers was 0.2-0.3% of the run.
 * An open-addressing table of twice the rules or more (so probes are short and one slot is
 * always empty), filled once by whichever thread asks first. */
enum { INDEX_BITS = 7, INDEX_SLOTS = 1 << INDEX_BITS };
_Static_assert(2 * sizeof registry / sizeof *registry <= INDEX_SLOTS,
               "more rules: raise INDEX_BITS (the table needs twice as many slots as rules)");
static const k5_rule *index_keys[INDEX_SLOTS];
static uint16_t index_vals[INDEX_SLOTS];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static size_t index_slot(const k5_rule *rule)
{
    return (size_t)(((uint64_t)(uintptr_t)rule * 0x9E3779B97F4A7C15ull) >> (64 - INDEX_BITS));
}

static void index_build(void)
{
    for (size_t i = 0; i < k5_rule_count(); i++) {
        size_t h = index_slot(registry[i]);
        while (index_keys[h])
            h = (h + 1) & (INDEX_SLOTS - 1);
        index_keys[h] = registry[i];
        index_vals[h] = (uint16_t)i;
    }
}

size_t k5_rule_index(const k5_rule *rule)
{
    if (!rule)
        return SIZE_MAX;
    pthread_once(&index_once, index_build);
    for (size_t h = index_slot(rule);; h = (h + 1) & (INDEX_SLOTS - 1)) {
        if (index_keys[h] == rule)
            return index_vals[h];
        if (!index_keys[h])
            return SIZE_MAX;
    }
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
