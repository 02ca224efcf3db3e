/*
 * kube5xx_kube: the informer. One thread per kind runs client-go's
 * Reflector loop:
 *
 *   discover -> list (replace) -> watch from the list's resourceVersion
 *       watch ends cleanly (timeoutSeconds)   -> watch again from the last rv
 *       BOOKMARK                              -> remember its rv, nothing delivered
 *       ERROR 410 / HTTP 410 (rv too old)     -> list again (a full replace)
 *       other ERROR event                     -> back off, list again
 *       429 / 5xx / dropped connection        -> back off (jittered, >= Retry-After),
 *                                                watch again from the last rv
 *
 * Locking: inf->lock guards every kind's stats and the stop flag's condition
 * variable. Callbacks run without the lock held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "kube_internal.h"

typedef struct kind_state {
    struct k5_kube_informer *inf;
    const k5_kube_kind *kind;
    pthread_t thread;
    bool running;
    k5_kube_stats stats; /* guarded by inf->lock */
} kind_state;

struct k5_kube_informer {
    k5_kube_client *client;
    k5_kube_handlers h;
    k5_kube_informer_opts opts;
    char *ns;
    atomic_int stop; /* set once by k5_kube_informer_stop; read by every thread */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t n;
    kind_state *kinds;
};

const char *k5_kube_event_str(k5_kube_event e)
{
    switch (e) {
    case K5_KUBE_ADDED:
        return "ADDED";
    case K5_KUBE_MODIFIED:
        return "MODIFIED";
    case K5_KUBE_DELETED:
        return "DELETED";
    }
    return "?";
}

/* Sleeps up to ms, waking at once on stop. Returns false when stopping. */
static bool inf_sleep(void *ud, unsigned ms)
{
    k5_kube_informer *inf = ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&inf->lock);
    while (!inf->stop && pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) != ETIMEDOUT)
        ;
    bool go_on = !inf->stop;
    pthread_mutex_unlock(&inf->lock);
    return go_on;
}

static void report(kind_state *ks, const char *fmt, ...) K5_PRINTF(2, 3);
static void report(kind_state *ks, const char *fmt, ...)
{
    if (!ks->inf->h.on_error)
        return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ks->inf->h.on_error(ks->inf->h.ud, ks->kind, msg);
}

/* Stats updates, each under the lock. */
#define STATS(ks, stmt)                                                                           \
    do {                                                                                          \
        pthread_mutex_lock(&(ks)->inf->lock);                                                     \
        k5_kube_stats *s_ = &(ks)->stats;                                                         \
        stmt;                                                                                     \
        pthread_mutex_unlock(&(ks)->inf->lock);                                                   \
    } while (0)

/* ------------------------------------------------------------------ list */

typedef struct list_ctx {
    kind_state *ks;
    uint64_t count;
} list_ctx;

static int list_item(void *ud, const cJSON *obj)
{
    list_ctx *lc = ud;
    const k5_kube_handlers *h = &lc->ks->inf->h;
    if (lc->ks->inf->stop)
        return 1;
    if (!obj) { /* the list started over: so does the replace */
        lc->count = 0;
        if (h->on_replace_begin)
            h->on_replace_begin(h->ud, lc->ks->kind);
        return 0;
    }
    lc->count++;
    if (h->on_event)
        h->on_event(h->ud, lc->ks->kind, K5_KUBE_ADDED, obj);
    return 0;
}

/* Lists and delivers a replace. Returns K5_OK with rv set, or an error (reported). */
static k5_status do_list(kind_state *ks, char *rv, k5__kube_backoff *bo)
{
    k5_kube_informer *inf = ks->inf;
    const k5_kube_handlers *h = &inf->h;
    list_ctx lc = {ks, 0};
    k5__kube_retry retry = {3, inf->opts.backoff_initial_ms, inf->opts.backoff_max_ms,
                            inf_sleep, inf, &inf->stop};
    k5_error err = {0};
    long status = 0;
    if (h->on_replace_begin)
        h->on_replace_begin(h->ud, ks->kind);
    k5_status st = k5__kube_list_ex(inf->client, ks->kind, inf->ns, inf->opts.page_limit,
                                    list_item, &lc, rv, &status, &retry, &err);
    if (inf->stop)
        return K5_EINVAL;
    if (st != K5_OK) {
        STATS(ks, s_->list_errors++);
        report(ks, "%s", err.msg);
        inf_sleep(inf, k5__kube_backoff_next(bo, -1));
        return st;
    }
    time_t now = time(NULL);
    STATS(ks, {
        s_->lists++;
        s_->objects = lc.count;
        s_->state = K5_KUBE_SYNCED;
        s_->last_event = now;
        s_->last_ok = now;
    });
    if (h->on_replace_end)
        h->on_replace_end(h->ud, ks->kind);
    k5__kube_backoff_reset(bo);
    return K5_OK;
}

/* ------------------------------------------------------------------ watch */

typedef struct watch_ctx {
    kind_state *ks;
    char *rv;          /* K5_KUBE_MAX_RV_BYTES: advanced by events and bookmarks */
    bool gone;         /* 410: the rv is too old, list again */
    bool failed;       /* an ERROR event or an unreadable line */
    uint64_t lines;
    char msg[400];
} watch_ctx;

static void watch_headers(void *ud, long status)
{
    watch_ctx *wc = ud;
    if (status == 200) {
        time_t now = time(NULL);
        STATS(wc->ks, {
            s_->watching = true;
            s_->last_ok = now;
        });
    }
}

static void set_rv(watch_ctx *wc, const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "resourceVersion");
    if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < K5_KUBE_MAX_RV_BYTES)
        snprintf(wc->rv, K5_KUBE_MAX_RV_BYTES, "%s", v->valuestring);
}

static int watch_line(void *ud, char *line, size_t n)
{
    watch_ctx *wc = ud;
    kind_state *ks = wc->ks;
    const k5_kube_handlers *h = &ks->inf->h;
    wc->lines++;
    cJSON *ev = cJSON_ParseWithLength(line, n);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ev, "type"));
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
    if (!type || !cJSON_IsObject(obj)) {
        snprintf(wc->msg, sizeof wc->msg, "watch of %s: an event that is not JSON "
                 "{type, object}", ks->kind->resource);
        wc->failed = true;
        cJSON_Delete(ev);
        return 1;
    }
    int stop = 0;
    k5_kube_event t = 0;
    if (strcmp(type, "ADDED") == 0)
        t = K5_KUBE_ADDED;
    else if (strcmp(type, "MODIFIED") == 0)
        t = K5_KUBE_MODIFIED;
    else if (strcmp(type, "DELETED") == 0)
        t = K5_KUBE_DELETED;
    if (t) {
        k5__kube_trim(obj, ks->kind);
        set_rv(wc, obj);
        /* Stats first: a consumer that reads them on (or after) the event sees it counted. */
        time_t now = time(NULL);
        STATS(ks, {
            if (t == K5_KUBE_ADDED)
                s_->objects++;
            else if (t == K5_KUBE_DELETED && s_->objects > 0)
                s_->objects--;
            s_->last_event = now;
            s_->last_ok = now;
        });
        if (h->on_event)
            h->on_event(h->ud, ks->kind, t, obj);
    } else if (strcmp(type, "BOOKMARK") == 0) {
        /* Nothing changed up to this rv: resuming from it skips replaying history. */
        set_rv(wc, obj);
        time_t now = time(NULL);
        STATS(ks, s_->last_ok = now);
    } else if (strcmp(type, "ERROR") == 0) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, "message"));
        if (cJSON_IsNumber(code) && code->valuedouble == 410)
            wc->gone = true;
        else
            wc->failed = true;
        /* The code is the server's number: %g prints any double (1e300, inf) in bounded
         * width, where a cast to int is undefined behaviour outside int's range. */
        snprintf(wc->msg, sizeof wc->msg, "watch of %s: %s (code %g)", ks->kind->resource,
                 m ? m : "error", cJSON_IsNumber(code) ? code->valuedouble : 0.0);
        stop = 1; /* the server ends the stream after an ERROR */
    }
    cJSON_Delete(ev);
    return stop;
}

static unsigned watch_timeout(kind_state *ks, unsigned *seed)
{
    /* As client-go: the configured timeout times a random factor in [1, 2), so that watches
     * started together do not all end together. */
    unsigned base = ks->inf->opts.watch_timeout_s ? ks->inf->opts.watch_timeout_s : 300u;
    if (base > K5__KUBE_WATCH_TIMEOUT_CAP_S)
        base = K5__KUBE_WATCH_TIMEOUT_CAP_S; /* past UINT_MAX / 2 the sum below wrapped */
    return base + (unsigned)(rand_r(seed) % base);
}

/* Watches once. Returns true when a relist is needed. */
static bool do_watch(kind_state *ks, k5__kube_req *r, char *rv, k5__kube_backoff *bo,
                     unsigned *seed)
{
    k5_kube_informer *inf = ks->inf;
    char base[512], path[1024];
    if (!k5__kube_resource_path(ks->kind, inf->ns, base, sizeof base)) {
        report(ks, "namespace name too long");
        inf_sleep(inf, k5__kube_backoff_next(bo, -1));
        return false;
    }
    char *erv = curl_easy_escape(NULL, rv, 0);
    if (!erv) {
        inf_sleep(inf, k5__kube_backoff_next(bo, -1));
        return false;
    }
    unsigned to = watch_timeout(ks, seed);
    snprintf(path, sizeof path, "%s?watch=true&resourceVersion=%s&allowWatchBookmarks=true"
             "&timeoutSeconds=%u", base, erv, to);
    curl_free(erv);
    watch_ctx wc = {ks, rv, false, false, 0, ""};
    r->on_line = watch_line;
    r->on_headers = watch_headers;
    r->line_ud = &wc;
    k5_error err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* The server ends the watch after `to` seconds; the client gives it a minute more
     * before it calls the connection dead. */
    k5_status st = k5__kube_get(inf->client, r, path, (long)to + 60, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->on_line = NULL;
    r->on_headers = NULL;
    STATS(ks, s_->watching = false);
    if (inf->stop)
        return false;
    if (wc.gone || r->status == 410) {
        STATS(ks, s_->relists_410++);
        report(ks, "%s; listing again", wc.msg[0] ? wc.msg : "watch: 410 Gone");
        return true;
    }
    if (wc.failed) {
        STATS(ks, s_->watch_errors++);
        report(ks, "%s; listing again", wc.msg);
        inf_sleep(inf, k5__kube_backoff_next(bo, -1));
        return true;
    }
    if (st != K5_OK) {
        STATS(ks, s_->watch_errors++);
        report(ks, "watch of %s: %s", ks->kind->resource, err.msg);
        inf_sleep(inf, k5__kube_backoff_next(bo, -1));
        return false;
    }
    if (r->status != 200) {
        char msg[400];
        k5__kube_status_msg(r, msg, sizeof msg);
        STATS(ks, s_->watch_errors++);
        report(ks, "watch of %s: %s", ks->kind->resource, msg);
        inf_sleep(inf, k5__kube_backoff_next(bo, r->retry_after));
        /* A 4xx other than 429 will not heal by watching again: list, which reports it. */
        return r->status != 429 && r->status < 500;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (wc.lines == 0 && secs < 1.0) {
        /* A watch that ends at once without a word: do not spin on it. */
        inf_sleep(inf, k5__kube_backoff_next(bo, -1));
    } else {
        k5__kube_backoff_reset(bo);
    }
    return false;
}

static void *kind_thread(void *arg)
{
    kind_state *ks = arg;
    k5_kube_informer *inf = ks->inf;
    k5__kube_backoff bo;
    k5__kube_backoff_init(&bo, inf->opts.backoff_initial_ms, inf->opts.backoff_max_ms);
    unsigned seed = bo.seed;
    for (;;) { /* discovery, until it answers */
        if (inf->stop)
            goto out;
        const k5_kube_kind *served = NULL;
        k5_error err = {0};
        if (k5_kube_resolve(inf->client, ks->kind, &served, &err) == K5_OK) {
            if (served) {
                ks->kind = served; /* the apiVersion the server serves; only this thread reads it */
                break;
            }
            char gv[256];
            k5__kube_versions(ks->kind, gv, sizeof gv);
            report(ks, "the server does not serve %s (%s %s): skipped", ks->kind->kind, gv,
                   ks->kind->resource);
            /* A kind the server does not serve has no objects: an empty replace says so, and a
             * consumer waiting for every kind's first list is not kept waiting. */
            STATS(ks, s_->state = K5_KUBE_SKIPPED);
            if (inf->h.on_replace_begin)
                inf->h.on_replace_begin(inf->h.ud, ks->kind);
            if (inf->h.on_replace_end)
                inf->h.on_replace_end(inf->h.ud, ks->kind);
            return NULL;
        }
        if (inf->stop)
            goto out;
        STATS(ks, s_->list_errors++);
        report(ks, "%s", err.msg);
        inf_sleep(inf, k5__kube_backoff_next(&bo, -1));
    }
    k5__kube_backoff_reset(&bo);
    char rv[K5_KUBE_MAX_RV_BYTES] = "";
    bool need_list = true;
    uint64_t watches = 0;
    k5__kube_req r;
    k5__kube_req_init(&r);
    r.stop = &inf->stop;
    while (!inf->stop) {
        if (need_list) {
            rv[0] = '\0';
            if (do_list(ks, rv, &bo) != K5_OK)
                continue;
            need_list = false;
        }
        if (watches++ > 0)
            STATS(ks, s_->watch_restarts++);
        need_list = do_watch(ks, &r, rv, &bo, &seed);
    }
    k5__kube_req_free(&r);
out:
    STATS(ks, s_->state = K5_KUBE_STOPPED);
    return NULL;
}

size_t k5__kube_watch_feed(const k5_kube_kind *kind, const k5_kube_handlers *h, const char *buf,
                           size_t n, size_t chunk)
{
    k5_kube_informer inf;
    memset(&inf, 0, sizeof inf);
    if (h)
        inf.h = *h;
    pthread_mutex_init(&inf.lock, NULL);
    pthread_cond_init(&inf.cond, NULL);
    kind_state ks;
    memset(&ks, 0, sizeof ks);
    ks.inf = &inf;
    ks.kind = kind;
    char rv[K5_KUBE_MAX_RV_BYTES] = "";
    watch_ctx wc = {&ks, rv, false, false, 0, ""};
    if (chunk) {
        /* As libcurl hands a response over: through the client's line splitter, in pieces. */
        k5__kube_req r;
        k5__kube_req_init(&r);
        r.on_line = watch_line;
        r.line_ud = &wc;
        for (size_t i = 0; i < n; i += chunk)
            if (!k5__kube_stream_feed(&r, buf + i, n - i < chunk ? n - i : chunk))
                break;
        k5__kube_req_free(&r);
    } else {
        char *line = malloc(n + 1);
        for (size_t i = 0; line && i < n;) {
            const char *nl = memchr(buf + i, '\n', n - i);
            size_t len = nl ? (size_t)(nl - (buf + i)) : n - i;
            memcpy(line, buf + i, len);
            line[len] = '\0';
            i += len + 1;
            if (len > 0 && watch_line(&wc, line, len) != 0)
                break;
        }
        free(line);
    }
    pthread_cond_destroy(&inf.cond);
    pthread_mutex_destroy(&inf.lock);
    return (size_t)wc.lines;
}

k5_status k5_kube_informer_start(k5_kube_informer **out, k5_kube_client *c,
                                 const k5_kube_kind *const *kinds, size_t nkinds,
                                 const k5_kube_handlers *h, const k5_kube_informer_opts *opts,
                                 k5_error *err)
{
    if (!c || (nkinds && !kinds))
        return k5__kube_err(err, K5_EINVAL, "informer: no client or no kinds");
    k5_kube_informer *inf = calloc(1, sizeof *inf);
    if (!inf)
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    inf->client = c;
    if (h)
        inf->h = *h;
    if (opts)
        inf->opts = *opts;
    inf->opts.ns = NULL;
    inf->kinds = calloc(nkinds ? nkinds : 1, sizeof *inf->kinds);
    if ((opts && opts->ns && opts->ns[0] && !(inf->ns = strdup(opts->ns))) || !inf->kinds) {
        free(inf->kinds);
        free(inf);
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&inf->lock, NULL);
    pthread_cond_init(&inf->cond, NULL);
    inf->n = nkinds;
    for (size_t i = 0; i < nkinds; i++) {
        inf->kinds[i].inf = inf;
        inf->kinds[i].kind = kinds[i];
    }
    for (size_t i = 0; i < nkinds; i++) {
        int e = pthread_create(&inf->kinds[i].thread, NULL, kind_thread, &inf->kinds[i]);
        if (e != 0) {
            k5_kube_informer_stop(&inf);
            return k5__kube_err(err, K5_ENOMEM, "informer: cannot start a thread: %s",
                                strerror(e));
        }
        inf->kinds[i].running = true;
    }
    *out = inf;
    return K5_OK;
}

bool k5_kube_informer_stats(const k5_kube_informer *inf, size_t i, k5_kube_stats *out)
{
    if (!inf || i >= inf->n)
        return false;
    k5_kube_informer *m = (k5_kube_informer *)inf; /* the lock is not part of the value */
    pthread_mutex_lock(&m->lock);
    *out = inf->kinds[i].stats;
    pthread_mutex_unlock(&m->lock);
    return true;
}

void k5_kube_informer_stop(k5_kube_informer **infp)
{
    if (!infp || !*infp)
        return;
    k5_kube_informer *inf = *infp;
    pthread_mutex_lock(&inf->lock);
    inf->stop = 1;
    pthread_cond_broadcast(&inf->cond);
    pthread_mutex_unlock(&inf->lock);
    for (size_t i = 0; i < inf->n; i++)
        if (inf->kinds[i].running)
            pthread_join(inf->kinds[i].thread, NULL);
    pthread_cond_destroy(&inf->cond);
    pthread_mutex_destroy(&inf->lock);
    free(inf->kinds);
    free(inf->ns);
    free(inf);
    *infp = NULL;
}
