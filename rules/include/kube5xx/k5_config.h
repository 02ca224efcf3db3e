/*
 * kube5xx engine: configuration (.kube5xx.yaml), shared by both front-ends.
 *
 *   rules:
 *     prestop-hook-missing: off                 # off | info | warning | error
 *     memory-limit-too-low: {severity: error, min: 128Mi}
 *   exempt:
 *     namespaces: [kube-system]
 *     objects: ["Deployment/legacy/(star)"]  (Kind/namespace/name; a star is a wildcard)
 *   webhook:
 *     mode: enforce                             # enforce | warn | audit
 *     ratchet: true
 *     exempt:
 *       namespaces: [kube-system]
 *       usernames: ["system:serviceaccount:kube5xx:kube5xx-webhook"]
 *       groups: ["system:nodes"]
 *
 * Unknown keys, rule ids, parameter names and bad values are errors that name
 * the file and line: a typo must never silently disable a check.
 */
#ifndef KUBE5XX_K5_CONFIG_H
#define KUBE5XX_K5_CONFIG_H

#include "k5_rule.h"

typedef struct k5_config k5_config;

typedef enum k5_wh_mode { K5_WH_ENFORCE = 0, K5_WH_WARN = 1, K5_WH_AUDIT = 2 } k5_wh_mode;

/* A list of NUL-terminated strings owned by the config. */
typedef struct k5_strlist {
    const char *const *items;
    size_t n;
} k5_strlist;

typedef struct k5_webhook_config {
    k5_wh_mode mode;
    bool ratchet;
    k5_strlist exempt_namespaces;
    k5_strlist exempt_usernames;
    k5_strlist exempt_groups;
} k5_webhook_config;

/* A config with every default. The caller frees it with k5_config_free. */
K5_WUR k5_status k5_config_new(k5_config **out);

/*
 * Parses a config file's contents (`buf`, `len` bytes, borrowed). `name` is
 * used in error messages. On failure *out is untouched and err names the
 * file, line and column of the offending key or value.
 */
K5_WUR k5_status k5_config_parse(k5_config **out, const char *name, const char *buf, size_t len,
                                 k5_error *err);

/* Accepts NULL; sets *cfg to NULL. */
void k5_config_free(k5_config **cfg);

/* Effective severity of a rule (K5_SEV_OFF when turned off). */
k5_severity k5_config_severity(const k5_config *cfg, const k5_rule *rule);
/* Effective value of the rule's i-th parameter (see k5_param_type for units). */
int64_t k5_config_param(const k5_config *cfg, const k5_rule *rule, size_t i);
/*
 * Effective value of the rule's i-th parameter of type K5_PARAM_NAMES: the names joined by
 * ", " ("ingress-nginx, kube-system"). The string belongs to the config (or, for a default,
 * to the rule's descriptor) and lives as long as it. NULL when the parameter is not NAMES.
 */
const char *k5_config_param_names(const k5_config *cfg, const k5_rule *rule, size_t i);
/*
 * Walks a NAMES value: stores the next name in *name, advances *cursor and returns true;
 * false at the end. Start with *cursor = the value.
 */
bool k5_names_next(const char **cursor, k5_str *name);
/* True when the NAMES value (NULL: none) holds the name s (n bytes). */
bool k5_names_has(const char *names, const char *s, size_t n);
/* True when the object is exempt by namespace or Kind/namespace/name pattern. */
bool k5_config_exempt(const k5_config *cfg, const struct k5_object *obj);
const k5_webhook_config *k5_config_webhook(const k5_config *cfg);

/*
 * Glob with '*' only, as exemption lists are written: '*' matches any run of
 * characters except `stop` ('\0': any run at all). `pat` is NUL-terminated,
 * `s` has `n` bytes. Linear in practice: one backtrack point, as a shell's
 * fnmatch keeps.
 */
bool k5_glob_match(const char *pat, const char *s, size_t n, char stop);

/*
 * Parses a parameter value written as in the config ("64Mi", "100m", "10s", "85%", 2; for
 * NAMES "a, b", and *out is the number of names).
 */
K5_WUR k5_status k5_param_parse(k5_param_type type, const char *s, size_t n, int64_t *out);

#endif
