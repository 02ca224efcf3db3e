/*
 * kube5xx engine: the rule registry.
 *
 * One rule is one const k5_rule in rules/checks/<id>.c, listed once in
 * rules/rules.def. The registry drives `kube5xx rules`, `kube5xx explain`,
 * docs/rules.md, config validation and the run loop.
 */
#ifndef KUBE5XX_K5_RULE_H
#define KUBE5XX_K5_RULE_H

#include "k5_object.h"

typedef enum k5_severity {
    K5_SEV_OFF = 0,
    K5_SEV_INFO = 1,
    K5_SEV_WARNING = 2,
    K5_SEV_ERROR = 3
} k5_severity;

/* "off", "info", "warning", "error". */
const char *k5_severity_str(k5_severity s);
/* Parses one of the names above; false when it is none of them. */
bool k5_severity_parse(const char *s, size_t n, k5_severity *out);

/*
 * Scope. SINGLE rules judge one object alone and run in the webhook; CROSS
 * rules need the other objects of the input and run only in the linter.
 */
typedef enum k5_scope { K5_SCOPE_SINGLE = 1, K5_SCOPE_CROSS = 2 } k5_scope;

/*
 * Parameter types. Every numeric parameter value is held as an int64:
 * MEMORY in bytes, CPU in millicores, SECONDS in seconds, INT and PERCENT as is.
 * Config values are written the Kubernetes way: "64Mi", "100m", "10s", 2, "85%".
 * NAMES is a non-empty list of Kubernetes names (DNS-1123: lowercase letters, digits, '-'
 * and '.'), written in the config as a YAML list or as one string "a, b"; the default is
 * written "a, b". Its value is the names joined by ", " (k5_config_param_names, walked with
 * k5_names_next); its int64 is the number of names.
 */
typedef enum k5_param_type {
    K5_PARAM_INT = 0,
    K5_PARAM_MEMORY = 1,
    K5_PARAM_CPU = 2,
    K5_PARAM_SECONDS = 3,
    K5_PARAM_PERCENT = 4,
    K5_PARAM_NAMES = 5
} k5_param_type;

#define K5_MAX_PARAMS 4
/* Names in one NAMES parameter, and the length of one name (a DNS-1123 subdomain). */
#define K5_MAX_PARAM_NAMES 64
#define K5_MAX_NAME_LEN    253

typedef struct k5_param {
    const char *name;          /* kebab-case or lowerCamel, as written in the config */
    k5_param_type type;
    const char *default_value; /* as a user would write it: "64Mi" */
    const char *help;          /* one line */
} k5_param;

struct k5_check;

typedef struct k5_rule {
    const char *id;             /* kebab-case, stable forever */
    k5_severity severity;       /* default severity */
    k5_kind kinds;              /* k5_kind bits the rule applies to */
    k5_scope scope;
    const char *scope_note;     /* e.g. "also cross-object: a pod template selected by a Service" or NULL */
    /* SINGLE rules with a cross-object part (scope_note "also cross-object") that reads only
     * what the cluster cache keeps (k5_cluster.h): also run on the partners of a review
     * (K5_RUN_PARTNERS_CROSS_ONLY), so that a change breaking a partner is judged. */
    bool on_partners;
    const char *cost;           /* rules that look at other objects: time per object, and the
                                 * input shapes where it is worse than linear; else NULL */
    const char *summary;        /* one line */
    const char *explanation;    /* which 5xx and how, in two or three sentences */
    const char *remediation;    /* what to change */
    /* Whole objects (YAML documents with apiVersion and kind) on which the rule fires, and
     * the same objects fixed, on which it is silent: `explain` and docs/rules.md show both,
     * and test_rule_examples lints them, so the documentation cannot drift from the check. */
    const char *example_broken;
    const char *example;
    /* Ends at the first entry without a name: the count comes from that sentinel, so the
     * table cannot disagree with a hand-written count (k5_rule_nparams). One spare slot
     * keeps the sentinel even when all K5_MAX_PARAMS are used. */
    k5_param params[K5_MAX_PARAMS + 1];
    size_t nparams; /* obsolete, ignored; descriptors leave it out (a test checks any value set) */
    /* Reports findings through k5_check_report; returns K5_OK unless the engine failed. */
    k5_status (*check)(struct k5_check *c, const k5_object *obj);
} k5_rule;

size_t k5_rule_count(void);
/* Number of parameters of the rule: its params up to the first without a name. */
size_t k5_rule_nparams(const k5_rule *rule);
/* Rules in rules.def order (sorted by id). */
const k5_rule *k5_rule_at(size_t i);
/* NULL when no rule has that id. */
const k5_rule *k5_rule_find(const char *id, size_t n);
/* Index of the rule in the registry (for per-rule arrays), in constant time; SIZE_MAX for NULL
 * or a descriptor that is not in the registry (a copy of one included). */
size_t k5_rule_index(const k5_rule *rule);
const char *k5_scope_str(k5_scope s);
/* Kind names joined with ", " into buf ("Deployment, StatefulSet"). */
void k5_kinds_str(k5_kind kinds, char *buf, size_t size);

/*
 * What "serving" means for the rules that judge traffic (Markdown, for
 * docs/rules.md and `kube5xx explain`).
 */
extern const char k5_serving_definition[];

#endif
