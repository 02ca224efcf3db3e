/*
 * kube5xx-webhook: the shared, reloadable configuration (see wh_config.h).
 */
#include "wh_config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct holder {
    k5_config *cfg;
    size_t refs; /* requests using it, plus one while it is current */
} holder;


struct wh_config {
    char *path;
    pthread_mutex_t mu;
    holder *cur;
    wh_file_sig seen;
};

static void holder_free(holder *h)
{
    if (!h)
        return;
    k5_config_free(&h->cfg);
    free(h);
}

static wh_status load(const char *path, holder **out, char *err, size_t errsz)
{
    holder *h = calloc(1, sizeof *h);
    if (!h)
        return WH_ENOMEM;
    h->refs = 1;
    if (!path) {
        if (k5_config_new(&h->cfg) != K5_OK) {
            free(h);
            return WH_ENOMEM;
        }
        *out = h;
        return WH_OK;
    }
    char *buf = NULL;
    size_t len = 0;
    wh_status st = wh_read_file(path, K5_MAX_CONFIG_BYTES, &buf, &len, err, errsz);
    if (st != WH_OK) {
        free(h);
        return st;
    }
    k5_error e;
    memset(&e, 0, sizeof e);
    k5_status ks = k5_config_parse(&h->cfg, path, buf, len, &e);
    if (ks != K5_OK) {
        /*
         * e.file is not used: on failure k5_config_parse frees the docset it
         * points into (reported to the engine's owner); path is the same name.
         */
        if (e.line)
            snprintf(err, errsz, "%s:%u:%u: %s", path, e.line, e.column, e.msg);
        else
            snprintf(err, errsz, "%s: %s", path, e.msg[0] ? e.msg : k5_status_str(ks));
        st = ks == K5_ENOMEM ? WH_ENOMEM : WH_EPARSE;
        goto out;
    }
    *out = h;
    h = NULL;
out:
    free(buf);
    holder_free(h);
    return st;
}

wh_status wh_config_new(const char *path, wh_config **out, char *err, size_t errsz)
{
    wh_config *c = calloc(1, sizeof *c);
    if (!c)
        return WH_ENOMEM;
    if (path) {
        c->path = strdup(path);
        if (!c->path) {
            free(c);
            return WH_ENOMEM;
        }
        c->seen = wh_file_sig_of(path);
    }
    wh_status st = load(path, &c->cur, err, errsz);
    if (st != WH_OK) {
        free(c->path);
        free(c);
        return st;
    }
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return WH_OK;
}

void wh_config_free(wh_config **pc)
{
    if (!pc || !*pc)
        return;
    wh_config *c = *pc;
    holder_free(c->cur);
    pthread_mutex_destroy(&c->mu);
    free(c->path);
    free(c);
    *pc = NULL;
}

const k5_config *wh_config_acquire(wh_config *c, void **token)
{
    pthread_mutex_lock(&c->mu);
    holder *h = c->cur;
    h->refs++;
    pthread_mutex_unlock(&c->mu);
    *token = h;
    return h->cfg;
}

void wh_config_release(wh_config *c, void *token)
{
    holder *h = token;
    if (!h)
        return;
    pthread_mutex_lock(&c->mu);
    bool last = --h->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        holder_free(h);
}

wh_status wh_config_check(wh_config *c, bool force, bool *reloaded, char *err, size_t errsz)
{
    *reloaded = false;
    if (!c->path)
        return WH_OK;
    wh_file_sig now = wh_file_sig_of(c->path);
    if (!force && wh_file_sig_eq(&now, &c->seen))
        return WH_OK;
    holder *h = NULL;
    wh_status st = load(c->path, &h, err, errsz);
    wh_file_sig after = wh_file_sig_of(c->path);
    if (wh_file_sig_eq(&now, &after))
        c->seen = now; /* else a writer is mid-way: look again next time */
    if (st != WH_OK)
        return st;
    pthread_mutex_lock(&c->mu);
    holder *old = c->cur;
    c->cur = h;
    bool last = --old->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        holder_free(old);
    *reloaded = true;
    return WH_OK;
}

const char *wh_config_path(const wh_config *c)
{
    return c->path;
}
