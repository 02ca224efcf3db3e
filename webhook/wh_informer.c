/*
 * kube5xx-webhook: the informer feeding the cluster cache (see wh_informer.h).
 */
#include "wh_informer.h"

#include <kube5xx/k5_kube.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wh_log.h"

struct wh_informer {
    wh_cache *cache;
    k5_kube_client *client;
    k5_kube_informer *inf;
    const k5_kube_kind *kinds[K5__KIND_COUNT];
    k5_kind bits[K5__KIND_COUNT]; /* the k5_kind bit of kinds[i] */
    size_t n;
};

/* The engine's kind bit for a kind of the client's table (which is expanded from the engine's). */
static k5_kind bit_of(const k5_kube_kind *k)
{
    return k->bit;
}

static void on_replace_begin(void *ud, const k5_kube_kind *k)
{
    wh_cache_replace_begin(ud, bit_of(k));
}

static void on_event(void *ud, const k5_kube_kind *k, k5_kube_event type, const struct cJSON *obj)
{
    wh_cache_event_type t = type == K5_KUBE_DELETED    ? WH_CACHE_DELETED
                            : type == K5_KUBE_MODIFIED ? WH_CACHE_MODIFIED
                                                       : WH_CACHE_ADDED;
    wh_cache_event(ud, bit_of(k), t, obj);
}

static void on_replace_end(void *ud, const k5_kube_kind *k)
{
    wh_cache_replace_end(ud, bit_of(k));
}

static void on_error(void *ud, const k5_kube_kind *k, const char *msg)
{
    wh_cache_error(ud, bit_of(k), msg);
}

wh_status wh_informer_start(wh_cache *cache, const char *kubeconfig, const char *context,
                            wh_informer **out, char *err, size_t errsz)
{
    k5_error e;
    memset(&e, 0, sizeof e);
    wh_informer *w = calloc(1, sizeof *w);
    if (!w)
        return WH_ENOMEM;
    w->cache = cache;
    for (size_t i = 0; i < k5_kube_kind_count(); i++) {
        const k5_kube_kind *k = k5_kube_kind_at(i);
        k5_kind b = bit_of(k);
        if (k->cached && (b & K5_CLUSTER_KINDS) && w->n < K5__KIND_COUNT) {
            w->kinds[w->n] = k;
            w->bits[w->n++] = b;
        }
    }
    /* A kind the cache holds but the client cannot watch would be waited for in vain. */
    for (int b = 0; b < K5__KIND_COUNT; b++) {
        bool have = false;
        for (size_t i = 0; i < w->n; i++)
            have |= w->bits[i] == K5_KIND_AT(b);
        if ((K5_KIND_AT(b) & K5_CLUSTER_KINDS) && !have)
            wh_cache_skip(cache, K5_KIND_AT(b));
    }
    k5_kube_config *cfg = NULL;
    k5_status ks = k5_kube_config_load(&cfg, kubeconfig, context, &e);
    if (ks == K5_OK)
        ks = k5_kube_client_new(&w->client, cfg, &e);
    if (ks == K5_OK) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_INFO, "cluster cache: watching the API server");
        wh_logline_str(&l, "server", cfg->server);
        wh_logline_str(&l, "context", cfg->context ? cfg->context : "");
        wh_logline_str(&l, "source", cfg->source ? cfg->source : "");
        wh_logline_int(&l, "kinds", (int64_t)w->n);
        wh_logline_emit(&l);
    }
    k5_kube_config_free(&cfg);
    if (ks == K5_OK) {
        k5_kube_handlers h = {on_replace_begin, on_event, on_replace_end, on_error, cache};
        ks = k5_kube_informer_start(&w->inf, w->client, w->kinds, w->n, &h, NULL, &e);
    }
    if (ks != K5_OK) {
        snprintf(err, errsz, "%s%s%s", k5_status_str(ks), e.msg[0] ? ": " : "", e.msg);
        k5_kube_client_free(&w->client);
        free(w);
        return ks == K5_ENOMEM ? WH_ENOMEM : WH_EINVAL;
    }
    *out = w;
    return WH_OK;
}

void wh_informer_poll(wh_informer *w)
{
    for (size_t i = 0; w && i < w->n; i++) {
        k5_kube_stats st;
        if (k5_kube_informer_stats(w->inf, i, &st) && st.state == K5_KUBE_SKIPPED)
            wh_cache_skip(w->cache, w->bits[i]);
    }
}

void wh_informer_stop(wh_informer **wp)
{
    if (!wp || !*wp)
        return;
    wh_informer *w = *wp;
    k5_kube_informer_stop(&w->inf);
    k5_kube_client_free(&w->client);
    free(w);
    *wp = NULL;
}
