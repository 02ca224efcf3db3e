/*
 * kube5xx-webhook: Prometheus metrics, rendered in the text exposition format.
 *
 * All functions are thread-safe. Label values come from requests (kind,
 * operation) so every labelled family is capped at WH_METRICS_MAX_SERIES
 * series; past the cap, observations are counted under the value "_other"
 * so a hostile client cannot grow memory without bound.
 */
#ifndef KUBE5XX_WH_METRICS_H
#define KUBE5XX_WH_METRICS_H

#include "wh_common.h"

#define WH_METRICS_MAX_SERIES 512u
#define WH_METRICS_LABEL_MAX 96u /* bytes of one label value; longer values are cut */

typedef struct wh_metrics wh_metrics;

/* Creates an empty registry; the caller frees it with wh_metrics_free. */
WH_WUR wh_status wh_metrics_new(wh_metrics **out);
/* Accepts NULL; sets *m to NULL. */
void wh_metrics_free(wh_metrics **m);

/* kube5xx_admission_requests_total{kind,operation,decision} and the duration histogram. */
void wh_metrics_review(wh_metrics *m, const char *kind, const char *operation,
                       const char *decision, int64_t duration_ns);
/* kube5xx_rule_findings_total{rule,severity,action}. */
void wh_metrics_finding(wh_metrics *m, const char *rule, const char *severity, const char *action);
/* kube5xx_requests_in_flight. */
void wh_metrics_in_flight(wh_metrics *m, int delta);
/* kube5xx_http_errors_total{code}. */
void wh_metrics_http_error(wh_metrics *m, int code);
/* kube5xx_tls_cert_expiry_timestamp_seconds. */
void wh_metrics_cert_expiry(wh_metrics *m, int64_t not_after);
/* kube5xx_config_reloads_total{result}: result is "success" or "failure". */
void wh_metrics_config_reload(wh_metrics *m, bool ok);
/* kube5xx_tls_cert_reloads_total{result}. */
void wh_metrics_cert_reload(wh_metrics *m, bool ok);

/*
 * Families rendered by someone else after this registry's own (the cluster
 * cache's): fn returns them as malloc'd text, or NULL when out of memory. Set
 * before the server starts; fn must be thread-safe.
 */
typedef char *(*wh_metrics_source_fn)(void *ud);
void wh_metrics_set_source(wh_metrics *m, wh_metrics_source_fn fn, void *ud);

/* Number of observations in the duration histogram at or below `le_ns` (tests, bench). */
uint64_t wh_metrics_duration_le(const wh_metrics *m, int64_t le_ns);

/*
 * Renders every family. On success *out is a malloc'd NUL-terminated string
 * of *len bytes that the caller frees; on failure the outputs are untouched.
 */
WH_WUR wh_status wh_metrics_render(wh_metrics *m, char **out, size_t *len);

#endif
