/*
 * kube5xx-webhook: which kinds the webhook admits and caches, from the kind
 * table (rules/include/kube5xx/k5_kinds.def), and the manifest YAML derived
 * from it.
 *
 * The table is the one truth: K5_KF_WEBHOOK kinds are registered in the
 * ValidatingWebhookConfiguration and judged; every other kind a review may
 * carry is allowed unjudged. K5_CLUSTER_KINDS are listed and watched by the
 * cluster cache, so the ClusterRole grants exactly those.
 * scripts/gen-manifests.sh writes both lists into manifests/ between
 * "# kube5xx:generated:<what>:begin/end" markers; e2e_manifests_sync fails
 * when they drift.
 */
#ifndef KUBE5XX_WH_KINDS_H
#define KUBE5XX_WH_KINDS_H

#include <stdbool.h>
#include <stdio.h>

struct cJSON;

/*
 * True when a review of this object is judged: its kind (request.kind's
 * group, version and kind, else the object's apiVersion and kind) is a
 * K5_KF_WEBHOOK kind of the table, or cannot be told (neither names a kind:
 * the engine then decides). Borrows both arguments; either may be NULL.
 */
bool wh_kind_admitted(const struct cJSON *gvk, const struct cJSON *obj);

/*
 * Writes the `rules:` items of a ValidatingWebhookConfiguration for every
 * K5_KF_WEBHOOK kind (CREATE and UPDATE, Namespaced) to out, each line
 * prefixed by `indent` spaces. Built-in kinds are registered under their
 * preferred version (matchPolicy Equivalent converts the others); CRD kinds
 * under every served version, because which conversions exist depends on the
 * CRDs installed. Returns false when writing failed.
 */
bool wh_kinds_write_vwc_rules(FILE *out, int indent);

/* The same for the ClusterRole's `rules:` (get, list, watch on K5_CLUSTER_KINDS). */
bool wh_kinds_write_rbac_rules(FILE *out, int indent);

#endif
