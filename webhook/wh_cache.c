/*
 * kube5xx-webhook: the cluster cache (see wh_cache.h).
 */
/* _GNU_SOURCE (set by the build) gives pthread_rwlockattr_setkind_np: writers must not starve. */
#include "wh_cache.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh_log.h"

#define NKINDS K5__KIND_COUNT

typedef struct kind_state {
    bool cached;        /* one of K5_CLUSTER_KINDS */
    bool listed;        /* the first full list arrived */
    bool listing;       /* between replace_begin and replace_end */
    int64_t last_event_ns;
    int64_t broken_since_ns; /* 0: healthy */
    uint64_t restarts;       /* full lists after the first */
    uint64_t errors;         /* list or watch errors reported */
    uint64_t refused;        /* objects the cache would not take */
} kind_state;

struct wh_cache {
    pthread_rwlock_t lock; /* the cluster: read by reviews, written by the informer */
    pthread_mutex_t mu;    /* kind states and the logged state */
    k5_cluster *cl;
    kind_state kinds[NKINDS];
    int64_t started_ns, sync_timeout_ns, stale_after_ns;
    wh_cache_state logged; /* the last state logged */
    bool logged_any;
};

const char *wh_cache_state_str(wh_cache_state s)
{
    switch (s) {
    case WH_CACHE_SYNCING: return "syncing";
    case WH_CACHE_UNSYNCED: return "unsynced";
    case WH_CACHE_TRUSTED: return "trusted";
    case WH_CACHE_STALE: return "stale";
    }
    return "unsynced";
}

static int bit_of(k5_kind kind)
{
    if (!kind || (kind & (kind - 1)) || !(kind & K5_CLUSTER_KINDS))
        return -1; /* not exactly one cached kind */
    return k5_kind_bit(kind);
}

static const char *kind_name(int b)
{
    const k5_kind_info *ki = k5_kind_info_of(K5_KIND_AT(b));
    return ki ? ki->name : "?";
}

wh_status wh_cache_new(const wh_cache_opts *o, wh_cache **out)
{
    wh_cache *c = calloc(1, sizeof *c);
    if (!c)
        return WH_ENOMEM;
    if (k5_cluster_new(&c->cl) != K5_OK) {
        free(c);
        return WH_ENOMEM;
    }
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&c->mu, NULL);
    for (int b = 0; b < NKINDS; b++)
        c->kinds[b].cached = (K5_KIND_AT(b) & K5_CLUSTER_KINDS) != 0;
    c->started_ns = wh_now_ns();
    c->sync_timeout_ns = o && o->sync_timeout_ns ? o->sync_timeout_ns
                                                 : (int64_t)WH_CACHE_SYNC_TIMEOUT_S * 1000000000;
    c->stale_after_ns = o && o->stale_after_ns ? o->stale_after_ns
                                               : (int64_t)WH_CACHE_STALE_AFTER_S * 1000000000;
    *out = c;
    return WH_OK;
}

void wh_cache_free(wh_cache **cp)
{
    if (!cp || !*cp)
        return;
    wh_cache *c = *cp;
    k5_cluster_free(&c->cl);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->mu);
    free(c);
    *cp = NULL;
}

/* Something arrived for the kind: it is alive again. */
static void touch(wh_cache *c, int b)
{
    pthread_mutex_lock(&c->mu);
    c->kinds[b].last_event_ns = wh_now_ns();
    c->kinds[b].broken_since_ns = 0;
    pthread_mutex_unlock(&c->mu);
}

void wh_cache_replace_begin(wh_cache *c, k5_kind kind)
{
    int b = bit_of(kind);
    if (b < 0)
        return;
    pthread_rwlock_wrlock(&c->lock);
    k5_cluster_mark(c->cl, kind);
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_lock(&c->mu);
    if (c->kinds[b].listed)
        c->kinds[b].restarts++; /* a relist: after a 410, a broken watch, a restart */
    c->kinds[b].listing = true;
    pthread_mutex_unlock(&c->mu);
}

static void refused(wh_cache *c, int b, const cJSON *obj, const char *why)
{
    pthread_mutex_lock(&c->mu);
    c->kinds[b].refused++;
    pthread_mutex_unlock(&c->mu);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
    wh_logline l;
    wh_logline_begin(&l, WH_LOG_WARN, "cluster cache: object not cached (judged as absent)");
    wh_logline_str(&l, "kind", kind_name(b));
    wh_logline_str(&l, "namespace", cJSON_IsString(ns) ? ns->valuestring : "");
    wh_logline_str(&l, "name", cJSON_IsString(name) ? name->valuestring : "");
    wh_logline_str(&l, "error", why);
    wh_logline_emit(&l);
}

void wh_cache_event(wh_cache *c, k5_kind kind, wh_cache_event_type type, const cJSON *obj)
{
    int b = bit_of(kind);
    if (b < 0 || !cJSON_IsObject(obj))
        return;
    k5_error e;
    memset(&e, 0, sizeof e);
    k5_status st;
    pthread_rwlock_wrlock(&c->lock);
    if (type == WH_CACHE_DELETED) {
        st = k5_cluster_remove(c->cl, obj);
        if (st == K5_ENOTFOUND)
            st = K5_OK; /* a delete of something never cached (refused, or before the list) */
    } else {
        st = k5_cluster_put(c->cl, obj, &e);
        if (st != K5_OK)
            (void)k5_cluster_remove(c->cl, obj); /* absent beats stale */
    }
    pthread_rwlock_unlock(&c->lock);
    touch(c, b);
    if (st != K5_OK)
        refused(c, b, obj, e.msg[0] ? e.msg : k5_status_str(st));
}

void wh_cache_replace_end(wh_cache *c, k5_kind kind)
{
    int b = bit_of(kind);
    if (b < 0)
        return;
    pthread_rwlock_wrlock(&c->lock);
    size_t gone = k5_cluster_sweep(c->cl, kind);
    size_t n = k5_cluster_count(c->cl, kind);
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_lock(&c->mu);
    bool first = !c->kinds[b].listed;
    c->kinds[b].listed = true;
    c->kinds[b].listing = false;
    pthread_mutex_unlock(&c->mu);
    touch(c, b);
    wh_logline l;
    wh_logline_begin(&l, first ? WH_LOG_INFO : WH_LOG_DEBUG, "cluster cache: list complete");
    wh_logline_str(&l, "kind", kind_name(b));
    wh_logline_int(&l, "objects", (int64_t)n);
    wh_logline_int(&l, "dropped", (int64_t)gone);
    wh_logline_emit(&l);
}

void wh_cache_error(wh_cache *c, k5_kind kind, const char *msg)
{
    int b = bit_of(kind);
    if (b < 0)
        return;
    pthread_mutex_lock(&c->mu);
    c->kinds[b].errors++;
    if (!c->kinds[b].broken_since_ns)
        c->kinds[b].broken_since_ns = wh_now_ns();
    pthread_mutex_unlock(&c->mu);
    wh_logline l;
    wh_logline_begin(&l, WH_LOG_WARN, "cluster cache: list or watch failed (retrying)");
    wh_logline_str(&l, "kind", kind_name(b));
    char m[WH_CACHE_ERROR_MAX_CHARS + 1];
    snprintf(m, sizeof m, "%s", msg ? msg : "");
    wh_logline_str(&l, "error", m);
    wh_logline_emit(&l);
}

void wh_cache_skip(wh_cache *c, k5_kind kind)
{
    int b = bit_of(kind);
    if (b < 0)
        return;
    pthread_mutex_lock(&c->mu);
    bool was = c->kinds[b].cached;
    c->kinds[b].cached = false;
    pthread_mutex_unlock(&c->mu);
    if (was) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_WARN,
                         "cluster cache: the API server does not serve this kind; not cached");
        wh_logline_str(&l, "kind", kind_name(b));
        wh_logline_emit(&l);
    }
}

/* Under c->mu. */
static wh_cache_state compute(const wh_cache *c, int64_t now, char *why, size_t whysz)
{
    wh_buf b;
    char dummy[1];
    wh_buf_init(&b, why ? why : dummy, why ? whysz : sizeof dummy);
    bool all = true;
    for (int k = 0; k < NKINDS; k++)
        if (c->kinds[k].cached && !c->kinds[k].listed) {
            wh_buf_printf(&b, "%s%s", all ? "cluster cache: waiting for the first list of " : ", ",
                          kind_name(k));
            all = false;
        }
    if (!all)
        return now - c->started_ns < c->sync_timeout_ns ? WH_CACHE_SYNCING : WH_CACHE_UNSYNCED;
    for (int k = 0; k < NKINDS; k++)
        if (c->kinds[k].cached && c->kinds[k].broken_since_ns &&
            now - c->kinds[k].broken_since_ns > c->stale_after_ns)
            return WH_CACHE_STALE;
    return WH_CACHE_TRUSTED;
}

wh_cache_state wh_cache_state_at(wh_cache *c, int64_t now_ns)
{
    pthread_mutex_lock(&c->mu);
    char why[512] = "";
    wh_cache_state s = compute(c, now_ns, why, sizeof why);
    bool changed = !c->logged_any || c->logged != s;
    c->logged = s;
    c->logged_any = true;
    pthread_mutex_unlock(&c->mu);
    if (changed) {
        static const char *const what[] = {
            "cluster cache: syncing; single-object rules only until it is",
            "cluster cache: not synced within --cache-sync-timeout; single-object rules only",
            "cluster cache: synced; cross-object rules on",
            /* parenthesised: one string split in two (clang's -Wstring-concatenation) */
            ("cluster cache: a list or watch has failed for too long; cross-object errors are "
             "answered as warnings")};
        wh_logline l;
        wh_logline_begin(&l, s == WH_CACHE_TRUSTED || s == WH_CACHE_SYNCING ? WH_LOG_INFO
                                                                            : WH_LOG_WARN,
                         what[s]);
        wh_logline_str(&l, "state", wh_cache_state_str(s));
        if (why[0])
            wh_logline_str(&l, "detail", why);
        wh_logline_emit(&l);
    }
    return s;
}

bool wh_cache_ready(void *cache, char *why, size_t whysz)
{
    wh_cache *c = cache;
    pthread_mutex_lock(&c->mu);
    wh_cache_state s = compute(c, wh_now_ns(), why, whysz);
    pthread_mutex_unlock(&c->mu);
    return s != WH_CACHE_SYNCING;
}

const k5_cluster *wh_cache_read_begin(wh_cache *c)
{
    pthread_rwlock_rdlock(&c->lock);
    return c->cl;
}

void wh_cache_read_end(wh_cache *c)
{
    pthread_rwlock_unlock(&c->lock);
}

char *wh_cache_metrics(void *cache)
{
    wh_cache *c = cache;
    size_t cap = 32768; /* 5 families x each cached kind, ~80 bytes a line: room for more */
    char *text = malloc(cap);
    if (!text)
        return NULL;
    wh_buf b;
    wh_buf_init(&b, text, cap);
    size_t counts[NKINDS] = {0};
    pthread_rwlock_rdlock(&c->lock);
    for (int k = 0; k < NKINDS; k++)
        if (c->kinds[k].cached)
            counts[k] = k5_cluster_count(c->cl, K5_KIND_AT(k));
    size_t bytes = k5_cluster_bytes(c->cl);
    pthread_rwlock_unlock(&c->lock);
    int64_t now = wh_now_ns();
    pthread_mutex_lock(&c->mu);
    kind_state ks[NKINDS];
    memcpy(ks, c->kinds, sizeof ks);
    wh_cache_state s = compute(c, now, NULL, 0);
    pthread_mutex_unlock(&c->mu);

    /* The per-kind families: one table, one loop. */
    static const struct {
        const char *name, *type, *help;
    } families[] = {
        {"kube5xx_cache_objects", "gauge", "Objects in the cluster cache, by kind."},
        {"kube5xx_cache_watch_restarts_total", "counter",
         "Full relists after the first (410 Gone, a broken watch), by kind."},
        {"kube5xx_cache_errors_total", "counter", "List and watch errors, by kind."},
        {"kube5xx_cache_refused_total", "counter",
         "Objects the cache would not hold (over K5_CLUSTER_MAX_OBJECT_BYTES, no name), by kind."},
        {"kube5xx_cache_last_event_age_seconds", "gauge",
         "Seconds since the last list or watch event, by kind (-1: none yet)."},
    };
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
        wh_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
                      families[f].name, families[f].type);
        for (int k = 0; k < NKINDS; k++) {
            if (!ks[k].cached)
                continue;
            wh_buf_printf(&b, "%s{kind=\"%s\"} ", families[f].name, kind_name(k));
            if (f == 0)
                wh_buf_printf(&b, "%zu\n", counts[k]);
            else if (f == 4)
                wh_buf_printf(&b, "%.3f\n",
                              ks[k].last_event_ns ? (double)(now - ks[k].last_event_ns) / 1e9
                                                  : -1.0);
            else
                wh_buf_printf(&b, "%llu\n",
                              (unsigned long long)(f == 1   ? ks[k].restarts
                                                   : f == 2 ? ks[k].errors
                                                            : ks[k].refused));
        }
    }
    wh_buf_printf(&b,
                  "# HELP kube5xx_cache_memory_bytes Bytes held by the cluster cache (objects and "
                  "indexes).\n# TYPE kube5xx_cache_memory_bytes gauge\n"
                  "kube5xx_cache_memory_bytes %zu\n",
                  bytes);
    wh_buf_puts(&b, "# HELP kube5xx_cache_state 1 for the cache's current state: syncing, "
                    "unsynced (single-object rules only), trusted, stale (cross-object errors "
                    "warn).\n# TYPE kube5xx_cache_state gauge\n");
    for (int i = 0; i <= WH_CACHE_STALE; i++)
        wh_buf_printf(&b, "kube5xx_cache_state{state=\"%s\"} %d\n",
                      wh_cache_state_str((wh_cache_state)i), s == (wh_cache_state)i);
    if (b.trunc) {
        free(text);
        return NULL;
    }
    return text;
}
