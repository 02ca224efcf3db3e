/*
 * kube5xx engine: Kubernetes value semantics (quantities, durations,
 * int-or-string), usable by rules and front-ends alike.
 */
#ifndef KUBE5XX_K5_UNITS_H
#define KUBE5XX_K5_UNITS_H

#include "k5_doc.h"

/*
 * Parses a resource quantity exactly as Kubernetes does: an optional sign, a
 * decimal number, then a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix
 * (n u m k M G T P E) or a decimal exponent (e3, E-2). "512Mi", "1G", "0.5",
 * "500m", "1e3", "1Ki".
 * *value receives the value rounded up to a whole unit (as Quantity.Value()),
 * *milli the value in thousandths rounded up (as Quantity.MilliValue());
 * either may be NULL. Both saturate at INT64_MAX / INT64_MIN.
 * Returns false (outputs untouched) when the text is not a quantity.
 */
bool k5_quantity_parse(const char *s, size_t n, int64_t *value, int64_t *milli);
/* The same for a node's text (an unquoted YAML number is a valid quantity). */
bool k5_quantity_node(const k5_node *node, int64_t *value, int64_t *milli);
/* Formats a byte count the way a person writes it ("64Mi", "1.5Gi", "1000"). */
void k5_bytes_fmt(int64_t bytes, char *buf, size_t size);

/*
 * Parses a Go duration ("10s", "1m30s", "250ms", "1.5h", "0"); *ns receives
 * nanoseconds. Takes and refuses exactly what Go's time.ParseDuration does:
 * returns false (*ns untouched) on bad syntax, and on a value out of int64
 * nanoseconds' range (above 2562047h47m16.854775807s, about 292 years, or below
 * -2562047h47m16.854775808s), which is refused, never saturated. Callers say so:
 * a setting is an error naming the value; a manifest field is not judged.
 */
bool k5_duration_parse(const char *s, size_t n, int64_t *ns);

/*
 * Parses a Gateway API duration (GEP-2257: `^([0-9]{1,5}(h|m|s|ms)){1,4}$`, as
 * "10s", "500ms", "1h30m", "0s"); *ns receives nanoseconds. Stricter than Go's
 * format on purpose: what the Gateway API CRDs reject ("1.5s", "-1s", "10")
 * returns false, and a rule then judges nothing.
 */
bool k5_gateway_duration_parse(const char *s, size_t n, int64_t *ns);

/* An int-or-string field (targetPort, maxUnavailable, probe ports). */
typedef struct k5_intstr {
    bool is_int;
    int64_t i;
    k5_str s;
    const k5_node *node;
} k5_intstr;

/* Reads an int-or-string node; false when absent or neither an integer nor a string. */
bool k5_intstr_get(const k5_node *n, k5_intstr *out);

/*
 * Resolves an int-or-string that may be a percentage against `total`, as the
 * Deployment controller does: round_up for maxSurge, round down for
 * maxUnavailable. Returns false when it is a string that is not "N%".
 */
bool k5_intstr_scaled(const k5_intstr *v, int64_t total, bool round_up, int64_t *out);

#endif
