/*
 * kube5xx-webhook: AdmissionReview in, AdmissionReview out. No sockets and no
 * globals: the unit tests drive it with bytes, and any number of threads may
 * call it at once.
 *
 * What it implements (the apiserver's contract, and this webhook's policy):
 *  - admission.k8s.io/v1 and v1beta1; the answer has the version and the uid
 *    of the question;
 *  - CREATE and UPDATE are judged; DELETE, CONNECT, subresources (status,
 *    scale...) and requests without an object are allowed at once;
 *  - single-object rules only (cross-object rules need the cluster's other
 *    objects and are skipped, not half-run), unless a cluster cache is given
 *    (wh_admission_review_cached);
 *  - error findings deny (403 Forbidden, one message naming each rule and the
 *    fix), warning findings become warnings; info findings are only logged
 *    and counted; suppressed findings are counted;
 *  - on UPDATE with the ratchet on, an error the old object already had (same
 *    rule id and field path) is downgraded to a warning, so existing
 *    imperfect objects can still be scaled or have their image bumped;
 *  - mode warn turns denials into warnings; mode audit allows everything;
 *  - exempt namespaces, usernames and groups are allowed at once (a '*' in a
 *    pattern matches any run of characters);
 *  - dryRun requests are judged like any other (the webhook has no side effects);
 *  - an engine failure or a passed deadline is HTTP 500, never allowed: false,
 *    so the webhook configuration's failurePolicy decides.
 */
#ifndef KUBE5XX_WH_ADMISSION_H
#define KUBE5XX_WH_ADMISSION_H

#include <kube5xx/kube5xx.h>

#include "wh_common.h"
#include "wh_metrics.h"

/* Warnings: the apiserver drops whatever passes 4096 characters in total, silently. */
#define WH_WARNING_SOFT_CHARS 120u  /* the field path is left out past this */
#define WH_WARNING_MAX_CHARS 256u   /* a warning is cut (ending in "...") past this */
#define WH_WARNINGS_TOTAL_BYTES 3000u /* all warnings together, with room for the last line */
#define WH_DENY_MESSAGE_MAX_CHARS 1500u
#define WH_MAX_FIRED 128u /* findings kept for the log line */

typedef enum wh_decision {
    WH_DECISION_ALLOWED = 0, /* judged, nothing to say */
    WH_DECISION_WARNED = 1,  /* allowed with warnings */
    WH_DECISION_DENIED = 2,
    WH_DECISION_SKIPPED = 3, /* not judged: DELETE, CONNECT, subresource, no object, a kind
                              * the kind table does not flag K5_KF_WEBHOOK */
    WH_DECISION_EXEMPT = 4,  /* not judged: exempt namespace, user or group */
    WH_DECISION_AUDITED = 5, /* mode audit: would have denied or warned, allowed */
    WH_DECISION_INVALID = 6, /* HTTP 400: no review could be formed */
    WH_DECISION_ERROR = 7    /* HTTP 500: engine failure or deadline */
} wh_decision;

const char *wh_decision_str(wh_decision d);

/* What happened to one finding (the metric's action label). */
typedef enum wh_action {
    WH_ACTION_DENY = 0,
    WH_ACTION_WARN = 1,
    WH_ACTION_RATCHET = 2,   /* an error the old object had: warned, not denied */
    WH_ACTION_AUDIT = 3,     /* mode audit: logged and counted only */
    WH_ACTION_INFO = 4,      /* info severity: logged and counted only */
    WH_ACTION_SUPPRESSED = 5 /* kube5xx/ignore annotation */
} wh_action;

const char *wh_action_str(wh_action a);

typedef struct wh_fired {
    const char *rule; /* static (the registry) */
    k5_severity severity;
    wh_action action;
} wh_fired;

/* The outcome of one request: the HTTP answer plus what the log and metrics need. */
typedef struct wh_review {
    int http_status;          /* 200, 400 or 500 */
    char *body;               /* malloc'd; the server takes it */
    size_t body_len;
    const char *content_type; /* static */
    wh_decision decision;
    bool dry_run;
    char uid[128], kind[64], operation[16], namespace_[128], name[256], user[256];
    size_t nfired;
    wh_fired fired[WH_MAX_FIRED];
    size_t suppressed;
    char detail[512]; /* why a 400 or 500 */
    const char *cache_state; /* static; NULL when judged without the cluster cache */
    size_t partners;         /* cached objects judged with it */
} wh_review;

/* Flags for wh_admission_review. */
#define WH_REVIEW_WARN_ONLY 1u /* POST /validate/warn: mode enforce is answered as mode warn */

/*
 * Judges one AdmissionReview (`body`, `len` bytes, borrowed) under `cfg`
 * (NULL: defaults). `deadline_ns` is a wh_now_ns() time after which the work
 * is abandoned with HTTP 500 (0: none). `flags` is 0 or WH_REVIEW_WARN_ONLY. Always fills *out (the caller frees
 * out->body); returns WH_OK unless memory ran out building the answer, in
 * which case out->body may be NULL and the caller answers 500 itself.
 */
WH_WUR wh_status wh_admission_review(const k5_config *cfg, const char *body, size_t len,
                                     int64_t deadline_ns, unsigned flags, wh_review *out);

struct wh_cache;

/*
 * The same with the cluster around the object, from `cache` (NULL: exactly
 * wh_admission_review). While the cache is trusted or stale the object is
 * judged with its partners (see wh_cache.h for the states):
 *  - contradictions deny as any error does (a Service targetPort no selected
 *    container declares, an Ingress backend port its Service lacks);
 *  - absences only warn (selects nothing, backend Service missing,
 *    pdb-missing, hpa-target-missing): the partner may come later in the
 *    same apply;
 *  - both directions: a partner finding that the cluster did not have
 *    before this change (an UPDATE that renames the port a Service targets,
 *    a new PDB that overlaps another) is this change's finding, and its
 *    message names the partner;
 *  - while the cache is stale, cross-object errors only warn.
 * While it is syncing or unsynced, only the single-object rules run.
 */
WH_WUR wh_status wh_admission_review_cached(const k5_config *cfg, struct wh_cache *cache,
                                            const char *body, size_t len, int64_t deadline_ns,
                                            unsigned flags, wh_review *out);

/* Frees out->body and clears the review. */
void wh_review_clear(wh_review *rv);

/* Emits the review's JSON log line and updates the metrics (m may be NULL). */
void wh_review_record(const wh_review *rv, wh_metrics *m, int64_t duration_ns);

#endif
