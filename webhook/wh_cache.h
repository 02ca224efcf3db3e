/*
 * kube5xx-webhook: the cluster cache the reviews read, fed by an informer
 * (list + watch per kind), and how far it can be trusted.
 *
 * The informer calls, per kind (a k5_kind bit of K5_CLUSTER_KINDS):
 *   wh_cache_replace_begin, then wh_cache_event(ADDED) for every listed
 *   object, then wh_cache_replace_end: a full list; what was not re-listed is
 *   dropped. Then wh_cache_event(ADDED|MODIFIED|DELETED) from the watch, and
 *   wh_cache_error when a list or watch fails (it retries on its own).
 * Every call may come from any thread; writers take the write lock for one
 * object at a time, so reviews wait at most for one put.
 *
 * Trust (client-go's HasSynced, and Gatekeeper's "do not enforce on a
 * partial cache"):
 *   SYNCING  not every kind has finished its first list, and the sync
 *            timeout has not passed: /readyz is false, reviews use the
 *            single-object rules only;
 *   UNSYNCED the timeout passed first: /readyz is true, reviews still use
 *            the single-object rules only (logged once, in the metrics);
 *   TRUSTED  every kind listed, no watch broken for long: cross-object
 *            findings count as the rules say;
 *   STALE    some kind's list or watch has been failing for longer than the
 *            stale limit: cross-object errors are answered as warnings.
 */
#ifndef KUBE5XX_WH_CACHE_H
#define KUBE5XX_WH_CACHE_H

#include <kube5xx/kube5xx.h>

#include "wh_common.h"

struct cJSON;

#define WH_CACHE_SYNC_TIMEOUT_S 30   /* --cache-sync-timeout default */
#define WH_CACHE_STALE_AFTER_S 300   /* a watch broken this long: cross-object errors warn */
#define WH_CACHE_ERROR_MAX_CHARS 200 /* of the last error kept per kind, for the log */

typedef enum wh_cache_state {
    WH_CACHE_SYNCING = 0,
    WH_CACHE_UNSYNCED = 1,
    WH_CACHE_TRUSTED = 2,
    WH_CACHE_STALE = 3
} wh_cache_state;

const char *wh_cache_state_str(wh_cache_state s);

typedef enum wh_cache_event_type {
    WH_CACHE_ADDED = 0,
    WH_CACHE_MODIFIED = 1,
    WH_CACHE_DELETED = 2
} wh_cache_event_type;

typedef struct wh_cache_opts {
    int64_t sync_timeout_ns; /* 0: WH_CACHE_SYNC_TIMEOUT_S */
    int64_t stale_after_ns;  /* 0: WH_CACHE_STALE_AFTER_S */
} wh_cache_opts;

typedef struct wh_cache wh_cache;

/* An empty cache whose sync timeout starts now. NULL opts: the defaults. */
WH_WUR wh_status wh_cache_new(const wh_cache_opts *o, wh_cache **out);
/* Accepts NULL; sets *c to NULL. No informer may call it any more. */
void wh_cache_free(wh_cache **c);

/* The informer's side. `kind` is one k5_kind bit; other kinds are ignored. */
void wh_cache_replace_begin(wh_cache *c, k5_kind kind);
void wh_cache_event(wh_cache *c, k5_kind kind, wh_cache_event_type type,
                    const struct cJSON *obj);
void wh_cache_replace_end(wh_cache *c, k5_kind kind);
void wh_cache_error(wh_cache *c, k5_kind kind, const char *msg);
/* The server does not serve the kind (discovery): it is not waited for, and stays empty. */
void wh_cache_skip(wh_cache *c, k5_kind kind);

/* The state at monotonic time now_ns (wh_now_ns()); logs each change of state once. */
wh_cache_state wh_cache_state_at(wh_cache *c, int64_t now_ns);

/* The /readyz condition: false while SYNCING, with the kinds still listing in `why`. */
bool wh_cache_ready(void *cache, char *why, size_t whysz);

/*
 * A review's access: the cluster under the read lock. Every k5_partners and
 * docset holding partners must be freed before wh_cache_read_end.
 */
const k5_cluster *wh_cache_read_begin(wh_cache *c);
void wh_cache_read_end(wh_cache *c);

/*
 * The cache's metric families in the text exposition format (malloc'd, NUL
 * terminated; NULL when out of memory): objects per kind, watch restarts,
 * list/watch errors, seconds since the last event per kind, memory bytes,
 * state.
 */
char *wh_cache_metrics(void *cache);

#endif
