/*
 * kube5xx_kube: HTTPS requests to the API server through libcurl (OpenSSL),
 * discovery and paginated lists.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "kube_internal.h"

#define USER_AGENT "kube5xx/" "0.1.0"
#define CONNECT_TIMEOUT_S 10L
#define ERROR_BODY_CAP (64u * 1024u) /* a non-2xx body is a Status: small */
#define CLIENT_IDLE_HANDLES 8        /* idle connections a client keeps for its next calls */

struct k5_kube_client {
    k5_kube_config *cfg;
    /* TLS sessions and DNS shared by every request of the client, so a new connection
     * resumes the TLS session instead of a full handshake. Not connections: libcurl does not
     * support sharing those between concurrent threads (CURLSHOPT_SHARE), and the informer
     * runs one thread per kind; a thread's own easy handle keeps its connection alive. */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    /* Idle easy handles, each with its open connection: a request takes one, and gives it
     * back when done, so calls in a row (discovery, then a list) reuse a connection while no
     * two threads ever use one handle at once. Guarded by `lock`. */
    CURL *idle[CLIENT_IDLE_HANDLES];
    size_t nidle;
    pthread_mutex_t lock; /* guards the token cache below */
    char *file_token;     /* the token file's contents, trimmed */
    struct stat token_st; /* what it was read from: re-read when any of these changes */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h, (void)access;
    k5_kube_client *c = ud;
    pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    k5_kube_client *c = ud;
    pthread_mutex_unlock(&c->share_locks[data]);
}

k5_status k5_kube_client_new(k5_kube_client **out, const k5_kube_config *cfg, k5_error *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return k5__kube_err(err, K5_EINVAL, "libcurl failed to initialise: %s",
                            curl_easy_strerror(curl_init_rc));
    if (!cfg || !cfg->server)
        return k5__kube_err(err, K5_EINVAL, "no API server in the configuration");
    if (cfg->tls_server_name)
        return k5__kube_err(err, K5_EINVAL, "%s: tls-server-name is not supported",
                            cfg->source ? cfg->source : "kubeconfig");
    k5_kube_client *c = calloc(1, sizeof *c);
    if (!c)
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    c->cfg = k5_kube_config_dup(cfg);
    if (!c->cfg) {
        free(c);
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&c->lock, NULL);
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_locks[i], NULL);
    c->share = curl_share_init();
    if (!c->share || curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock) ||
        curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
        curl_share_setopt(c->share, CURLSHOPT_USERDATA, c) ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) ||
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)) {
        k5_kube_client_free(&c);
        return k5__kube_err(err, K5_ENOMEM, "libcurl: cannot set up a shared TLS session cache");
    }
    *out = c;
    return K5_OK;
}

void k5_kube_client_free(k5_kube_client **c)
{
    if (!c || !*c)
        return;
    k5_kube_config_free(&(*c)->cfg);
    free((*c)->file_token);
    for (size_t i = 0; i < (*c)->nidle; i++) {
        curl_easy_setopt((*c)->idle[i], CURLOPT_SHARE, NULL);
        curl_easy_cleanup((*c)->idle[i]);
    }
    if ((*c)->share)
        curl_share_cleanup((*c)->share);
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&(*c)->share_locks[i]);
    pthread_mutex_destroy(&(*c)->lock);
    free(*c);
    *c = NULL;
}

const k5_kube_config *k5_kube_client_config(const k5_kube_client *c)
{
    return c->cfg;
}

/*
 * The bearer token for the next request, as an "Authorization: Bearer ..."
 * header in a malloc'd string, or NULL with *st set (K5_OK: no token).
 * A token file is stat'ed on every request and re-read when it changed:
 * kubelet rotates projected service-account tokens by replacing the file.
 */
static char *auth_header(k5_kube_client *c, k5_status *st, k5_error *err)
{
    *st = K5_OK;
    const char *tok = c->cfg->token;
    char *hdr = NULL;
    pthread_mutex_lock(&c->lock);
    if (!tok && c->cfg->token_file) {
        struct stat s;
        if (stat(c->cfg->token_file, &s) != 0) {
            if (!c->file_token)
                *st = k5__kube_err(err, K5_ENOTFOUND, "%s: cannot read the token file: %s",
                                   c->cfg->token_file, strerror(errno));
        } else if (!c->file_token || s.st_ino != c->token_st.st_ino ||
                   s.st_dev != c->token_st.st_dev || s.st_size != c->token_st.st_size ||
                   s.st_mtim.tv_sec != c->token_st.st_mtim.tv_sec ||
                   s.st_mtim.tv_nsec != c->token_st.st_mtim.tv_nsec) {
            char *buf = NULL;
            size_t len = 0;
            k5_status rs = k5__kube_read_file(c->cfg->token_file, K5_KUBE_MAX_TOKEN_BYTES,
                                              "K5_KUBE_MAX_TOKEN_BYTES", "token file", &buf, &len,
                                              err);
            if (rs == K5_OK) {
                while (len > 0 && isspace((unsigned char)buf[len - 1]))
                    buf[--len] = '\0';
                free(c->file_token);
                c->file_token = buf;
                c->token_st = s;
            } else if (!c->file_token) {
                *st = rs; /* with an old token, keep using it: the rotation may be mid-way */
            }
        }
        tok = c->file_token;
    }
    if (*st == K5_OK && tok && tok[0]) {
        size_t n = strlen(tok) + 32;
        hdr = malloc(n);
        if (hdr)
            snprintf(hdr, n, "Authorization: Bearer %s", tok);
        else
            *st = k5__kube_err(err, K5_ENOMEM, "out of memory");
    }
    pthread_mutex_unlock(&c->lock);
    return hdr;
}

void k5__kube_req_init(k5__kube_req *r)
{
    memset(r, 0, sizeof *r);
    r->retry_after = -1;
    r->limit = K5_KUBE_MAX_RESPONSE_BYTES;
    r->line_limit = K5_KUBE_MAX_EVENT_BYTES;
}

void k5__kube_req_free(k5__kube_req *r)
{
    k5_kube_client *c = r->client;
    if (r->curl && c) {
        pthread_mutex_lock(&c->lock);
        if (c->nidle < CLIENT_IDLE_HANDLES) {
            c->idle[c->nidle++] = r->curl;
            r->curl = NULL;
        }
        pthread_mutex_unlock(&c->lock);
    }
    if (r->curl) {
        curl_easy_setopt(r->curl, CURLOPT_SHARE, NULL);
        curl_easy_cleanup(r->curl);
    }
    free(r->body);
    r->curl = NULL;
    r->body = NULL;
    r->len = r->cap = 0;
}

static bool buf_append(k5__kube_req *r, const char *p, size_t n, size_t limit)
{
    if (r->len + n > limit) {
        r->overflow = true;
        return false;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return false;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
    return true;
}

bool k5__kube_stream_feed(k5__kube_req *r, const char *p, size_t n)
{
    /* Line by line through the write: only the new bytes are searched for a newline (a 16 MiB
     * event arriving in 16 KiB writes was searched again from its start on each: ~8 GiB of
     * memchr), the buffer holds at most the one pending line, and a write that completes a line
     * and starts the next is judged line by line (appended whole first, it was refused when
     * the pending line plus the write passed the cap, though no line did). */
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) + 1 : n;
        if (r->len + take - (nl ? 1u : 0u) > r->line_limit) {
            r->overflow = true; /* the line, without its newline, is longer than the cap */
            return false;
        }
        if (!buf_append(r, p, take, r->line_limit + 1))
            return false;
        p += take;
        n -= take;
        if (nl) {
            size_t len = r->len - 1;
            r->body[len] = '\0'; /* the newline */
            r->len = 0;
            if (len > 0 && r->on_line(r->line_ud, r->body, len) != 0) {
                r->line_abort = true;
                return false;
            }
        }
    }
    return true;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    k5__kube_req *r = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (!r->on_line || status != 200)
        return buf_append(r, p, n, r->on_line || status >= 300 ? ERROR_BODY_CAP : r->limit) ? n
                                                                                          : 0;
    return k5__kube_stream_feed(r, p, n) ? n : 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    k5__kube_req *r = ud;
    size_t n = size * nmemb;
    if (n <= 2 && r->on_headers) { /* the blank line that ends a header block */
        long status = 0;
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200)
            r->on_headers(r->line_ud, status);
    }
    if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char tmp[32];
        size_t m = n - 12 < sizeof tmp - 1 ? n - 12 : sizeof tmp - 1;
        memcpy(tmp, p + 12, m);
        tmp[m] = '\0';
        char *end = NULL;
        long v = strtol(tmp, &end, 10);
        /* Seconds only; an HTTP-date is rare from the API server and falls back to backoff. */
        if (end != tmp && v >= 0)
            r->retry_after = v > 3600 ? 3600 : v;
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const k5__kube_req *r = ud;
    return r->stop && *r->stop ? 1 : 0;
}

static k5_status setup_tls(CURL *h, const k5_kube_config *cfg)
{
    struct curl_blob blob;
    CURLcode rc = CURLE_OK;
    if (cfg->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (cfg->ca_pem) {
        blob.data = cfg->ca_pem;
        blob.len = strlen(cfg->ca_pem);
        blob.flags = CURL_BLOB_COPY;
        rc = curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    } else if (cfg->ca_file) {
        rc = curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
    }
    if (rc == CURLE_OK && cfg->cert_pem) {
        blob.data = cfg->cert_pem;
        blob.len = strlen(cfg->cert_pem);
        blob.flags = CURL_BLOB_COPY;
        rc = curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    } else if (rc == CURLE_OK && cfg->cert_file) {
        rc = curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert_file);
    }
    if (rc == CURLE_OK && cfg->key_pem) {
        blob.data = cfg->key_pem;
        blob.len = strlen(cfg->key_pem);
        blob.flags = CURL_BLOB_COPY;
        rc = curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    } else if (rc == CURLE_OK && cfg->key_file) {
        rc = curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key_file);
    }
    return rc == CURLE_OK ? K5_OK : K5_EINVAL;
}

/* Failures that may heal by themselves. A certificate that does not verify, a bad URL or a
 * key that does not load will not: retrying them only delays the error. */
static bool transient_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        return true;
    default:
        return false;
    }
}

k5_status k5__kube_get(k5_kube_client *c, k5__kube_req *r, const char *path, long timeout_s,
                       k5_error *err)
{
    r->len = 0;
    r->status = 0;
    r->retry_after = -1;
    r->overflow = r->line_abort = r->transient = false;
    if (r->body)
        r->body[0] = '\0';
    if (r->client && r->client != c)
        return k5__kube_err(err, K5_EINVAL, "internal: a request moved between clients");
    r->client = c;
    if (!r->curl) {
        pthread_mutex_lock(&c->lock);
        if (c->nidle > 0)
            r->curl = c->idle[--c->nidle];
        pthread_mutex_unlock(&c->lock);
    }
    if (!r->curl && !(r->curl = curl_easy_init()))
        return k5__kube_err(err, K5_ENOMEM, "out of memory (curl handle)");
    CURL *h = r->curl;
    curl_easy_reset(h);
    k5_status st = K5_OK;
    char *auth = auth_header(c, &st, err);
    if (st != K5_OK)
        return st;
    size_t ul = strlen(c->cfg->server) + strlen(path) + 1;
    char *url = malloc(ul);
    struct curl_slist *hdrs = NULL, *t;
    if (!url) {
        free(auth);
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    }
    snprintf(url, ul, "%s%s", c->cfg->server, path);
    hdrs = curl_slist_append(NULL, "Accept: application/json");
    if (hdrs && auth && (t = curl_slist_append(hdrs, auth)))
        hdrs = t;
    else if (auth)
        hdrs = NULL; /* fall through to the out-of-memory error below */
    char ebuf[CURL_ERROR_SIZE] = "";
    if (!hdrs) {
        st = k5__kube_err(err, K5_ENOMEM, "out of memory");
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    if (setup_tls(h, c->cfg) != K5_OK) {
        st = k5__kube_err(err, K5_EINVAL, "%s: libcurl refused the TLS settings",
                          c->cfg->source ? c->cfg->source : "kubeconfig");
        goto out;
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    r->transient = transient_error(rc);
    if (rc == CURLE_OK)
        goto out;
    if (r->overflow)
        st = k5__kube_err(err, K5_ELIMIT,
                          "GET %s: the response is larger than %s allows", path,
                          r->on_line ? "K5_KUBE_MAX_EVENT_BYTES (one watch event)"
                                     : "K5_KUBE_MAX_RESPONSE_BYTES");
    else if (r->line_abort)
        st = K5_OK; /* the consumer ended the stream: not a transport error */
    else if (r->stop && *r->stop)
        st = k5__kube_err(err, K5_EINVAL, "GET %s: stopped", path);
    else
        st = k5__kube_err(err, rc == CURLE_OUT_OF_MEMORY ? K5_ENOMEM : K5_EINVAL,
                          "GET %s%s: %s", c->cfg->server, path, ebuf[0] ? ebuf : curl_easy_strerror(rc));
out:
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    free(url);
    if (auth) {
        /* The token is a credential: do not leave it in freed memory. */
        volatile char *v = auth;
        while (*v)
            *v++ = 0;
        free(auth);
    }
    return st;
}

void k5__kube_status_msg(const k5__kube_req *r, char *buf, size_t size)
{
    cJSON *j = r->body && r->len ? cJSON_ParseWithLength(r->body, r->len) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (cJSON_IsString(m) && m->valuestring[0])
        snprintf(buf, size, "HTTP %ld: %s", r->status, m->valuestring);
    else
        snprintf(buf, size, "HTTP %ld", r->status);
    cJSON_Delete(j);
}

bool k5__kube_resource_path(const k5_kube_kind *kind, const char *ns, char *buf, size_t size)
{
    char gv[160];
    int n;
    if (kind->group[0])
        snprintf(gv, sizeof gv, "/apis/%s/%s", kind->group, kind->version);
    else
        snprintf(gv, sizeof gv, "/api/%s", kind->version);
    if (ns && ns[0] && kind->namespaced) {
        char *e = curl_easy_escape(NULL, ns, 0);
        if (!e)
            return false;
        n = snprintf(buf, size, "%s/namespaces/%s/%s", gv, e, kind->resource);
        curl_free(e);
    } else {
        n = snprintf(buf, size, "%s/%s", gv, kind->resource);
    }
    return n >= 0 && (size_t)n < size;
}

k5_status k5_kube_discover(k5_kube_client *c, const k5_kube_kind *kind, bool *served,
                           k5_error *err)
{
    char path[256];
    if (kind->group[0])
        snprintf(path, sizeof path, "/apis/%s/%s", kind->group, kind->version);
    else
        snprintf(path, sizeof path, "/api/%s", kind->version);
    k5__kube_req r;
    k5__kube_req_init(&r);
    r.limit = 16u * 1024u * 1024u;
    k5_status st = k5__kube_get(c, &r, path, 60, err);
    if (st == K5_OK && r.status == 404) {
        *served = false;
    } else if (st == K5_OK && r.status != 200) {
        char msg[400];
        k5__kube_status_msg(&r, msg, sizeof msg);
        st = k5__kube_err(err, K5_EINVAL, "discovery of %s: %s", path, msg);
    } else if (st == K5_OK) {
        cJSON *j = cJSON_ParseWithLength(r.body ? r.body : "", r.len);
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "resources"), *it;
        if (!cJSON_IsArray(res)) {
            st = k5__kube_err(err, K5_EPARSE, "discovery of %s: not an APIResourceList", path);
        } else {
            *served = false;
            cJSON_ArrayForEach(it, res)
            {
                const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
                if (cJSON_IsString(name) && strcmp(name->valuestring, kind->resource) == 0)
                    *served = true;
            }
        }
        cJSON_Delete(j);
    }
    k5__kube_req_free(&r);
    return st;
}

k5_status k5_kube_resolve(k5_kube_client *c, const k5_kube_kind *kind,
                          const k5_kube_kind **served, k5_error *err)
{
    for (const k5_kube_kind *k = kind; k; k = k->fallback) {
        bool yes = false;
        k5_status st = k5_kube_discover(c, k, &yes, err);
        if (st != K5_OK)
            return st;
        if (yes) {
            *served = k;
            return K5_OK;
        }
    }
    *served = NULL;
    return K5_OK;
}

k5_status k5__kube_list_page(const char *body, size_t len, const k5_kube_kind *kind,
                            k5_kube_item_fn fn, void *ud, char *rv, char **cont, k5_error *err)
{
    cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
    if (!j)
        return k5__kube_err(err, K5_EPARSE, "list of %s: the response is not JSON",
                            kind->resource);
    k5_status st = K5_OK;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items"), *it;
    const char *c = NULL, *v = NULL;
    const cJSON *cj = cJSON_GetObjectItemCaseSensitive(meta, "continue");
    const cJSON *vj = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    if (cJSON_IsString(cj) && cj->valuestring[0])
        c = cj->valuestring;
    if (cJSON_IsString(vj))
        v = vj->valuestring;
    if (!cJSON_IsArray(items) && !cJSON_IsNull(items) && items)
        st = k5__kube_err(err, K5_EPARSE, "list of %s: items is not an array", kind->resource);
    else if (c && strlen(c) > K5_KUBE_MAX_CONTINUE_BYTES)
        st = k5__kube_err(err, K5_ELIMIT, "list of %s: continue token longer than %u bytes "
                          "(limit K5_KUBE_MAX_CONTINUE_BYTES)", kind->resource,
                          K5_KUBE_MAX_CONTINUE_BYTES);
    else if (v && strlen(v) >= K5_KUBE_MAX_RV_BYTES)
        st = k5__kube_err(err, K5_ELIMIT, "list of %s: resourceVersion longer than %u bytes "
                          "(limit K5_KUBE_MAX_RV_BYTES)", kind->resource, K5_KUBE_MAX_RV_BYTES);
    if (st == K5_OK && rv && v)
        snprintf(rv, K5_KUBE_MAX_RV_BYTES, "%s", v);
    if (st == K5_OK) {
        cJSON_ArrayForEach(it, items)
        {
            if (!cJSON_IsObject(it))
                continue;
            k5__kube_trim(it, kind);
            if (fn && fn(ud, it) != 0) {
                st = k5__kube_err(err, K5_EINVAL, "list of %s: stopped by the caller",
                                  kind->resource);
                break;
            }
        }
    }
    if (st == K5_OK && c && !(*cont = strdup(c)))
        st = k5__kube_err(err, K5_ENOMEM, "out of memory");
    cJSON_Delete(j);
    return st;
}

static bool plain_sleep(void *ud, unsigned ms)
{
    (void)ud;
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return true;
}

void k5__kube_backoff_init(k5__kube_backoff *b, unsigned initial_ms, unsigned max_ms)
{
    /* Capped: with max_ms near UINT_MAX, step + 1 below wrapped to 0 (a modulo by zero) and
     * step + jitter wrapped to a short delay. */
    b->initial_ms = initial_ms ? initial_ms : 800u;
    b->max_ms = max_ms ? max_ms : 30000u;
    if (b->initial_ms > K5__KUBE_BACKOFF_CAP_MS)
        b->initial_ms = K5__KUBE_BACKOFF_CAP_MS;
    if (b->max_ms > K5__KUBE_BACKOFF_CAP_MS)
        b->max_ms = K5__KUBE_BACKOFF_CAP_MS;
    if (b->max_ms < b->initial_ms)
        b->max_ms = b->initial_ms;
    b->cur_ms = b->initial_ms;
    b->seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)b;
}

unsigned k5__kube_backoff_next(k5__kube_backoff *b, long retry_after_s)
{
    /* Full jitter on top of the step (client-go's wait.Jitter with factor 1): concurrent
     * clients that failed together do not come back together. */
    unsigned step = b->cur_ms;
    unsigned delay = step + (unsigned)(rand_r(&b->seed) % (step + 1u));
    if (delay > b->max_ms)
        delay = b->max_ms;
    b->cur_ms = step >= b->max_ms / 2 ? b->max_ms : step * 2;
    /* Retry-After is the server's floor: never come back earlier than it asks. */
    if (retry_after_s >= 0) {
        unsigned ra = (unsigned)(retry_after_s > 600 ? 600 : retry_after_s) * 1000u;
        if (delay < ra)
            delay = ra + (unsigned)(rand_r(&b->seed) % 250u);
    }
    return delay;
}

void k5__kube_backoff_reset(k5__kube_backoff *b)
{
    b->cur_ms = b->initial_ms;
}

bool k5__kube_retryable(const k5__kube_req *r, k5_status st)
{
    if (st != K5_OK)
        return r->transient;
    return r->status == 429 || r->status >= 500;
}

k5_status k5__kube_list_ex(k5_kube_client *c, const k5_kube_kind *kind, const char *ns,
                           unsigned limit, k5_kube_item_fn fn, void *ud, char *rv,
                           long *http_status, const k5__kube_retry *retry, k5_error *err)
{
    char base[512];
    if (!k5__kube_resource_path(kind, ns, base, sizeof base))
        return k5__kube_err(err, K5_ELIMIT, "namespace name too long");
    k5__kube_req r;
    k5__kube_req_init(&r);
    if (retry && retry->stop)
        r.stop = retry->stop;
    char *cont = NULL;
    k5_status st = K5_OK;
    bool restarted = false;
    unsigned tries = 0;
    k5__kube_backoff bo;
    k5__kube_backoff_init(&bo, retry ? retry->backoff_initial_ms : 0,
                          retry ? retry->backoff_max_ms : 0);
    const size_t psize = sizeof base + 64 + 3 * K5_KUBE_MAX_CONTINUE_BYTES + 16;
    char *path = malloc(psize);
    if (!path)
        return k5__kube_err(err, K5_ENOMEM, "out of memory");
    for (unsigned page = 0;;) {
        if (page >= K5_KUBE_MAX_LIST_PAGES) {
            st = k5__kube_err(err, K5_ELIMIT, "list of %s: more than %u pages (limit "
                              "K5_KUBE_MAX_LIST_PAGES)", kind->resource, K5_KUBE_MAX_LIST_PAGES);
            break;
        }
        int n = snprintf(path, psize, "%s?limit=%u", base, limit ? limit : 500u);
        if (cont) {
            char *e = curl_easy_escape(NULL, cont, 0);
            if (!e) {
                st = k5__kube_err(err, K5_ENOMEM, "out of memory");
                break;
            }
            snprintf(path + n, psize - (size_t)n, "&continue=%s", e);
            curl_free(e);
        }
        st = k5__kube_get(c, &r, path, 120, err);
        if (http_status)
            *http_status = r.status;
        if (retry && retry->stop && *retry->stop)
            break;
        if (k5__kube_retryable(&r, st) && retry && tries < retry->max_retries) {
            /* Retry the same page: its continue token stays valid until compaction. */
            tries++;
            unsigned ms = k5__kube_backoff_next(&bo, st == K5_OK ? r.retry_after : -1);
            if (!(retry->sleep ? retry->sleep(retry->sleep_ud, ms) : plain_sleep(NULL, ms)))
                break;
            continue;
        }
        if (st != K5_OK)
            break;
        if (r.status == 410 && cont && !restarted) {
            /* The continue token expired (etcd compacted its snapshot): start over, once,
             * and tell the caller to forget what this list handed on so far. */
            restarted = true;
            free(cont);
            cont = NULL;
            if (fn && fn(ud, NULL) != 0) {
                st = k5__kube_err(err, K5_EINVAL, "list of %s: stopped by the caller",
                                  kind->resource);
                break;
            }
            page = 0;
            continue;
        }
        if (r.status != 200) {
            char msg[400];
            k5__kube_status_msg(&r, msg, sizeof msg);
            st = k5__kube_err(err, K5_EINVAL, "list of %s: %s", kind->resource, msg);
            break;
        }
        tries = 0;
        k5__kube_backoff_reset(&bo);
        free(cont);
        cont = NULL;
        st = k5__kube_list_page(r.body, r.len, kind, fn, ud, rv, &cont, err);
        if (st != K5_OK || !cont)
            break;
        page++;
    }
    free(cont);
    free(path);
    k5__kube_req_free(&r);
    return st;
}

k5_status k5_kube_list(k5_kube_client *c, const k5_kube_kind *kind, const char *ns,
                       unsigned limit, k5_kube_item_fn fn, void *ud, char *rv, long *http_status,
                       k5_error *err)
{
    k5__kube_retry retry = {0};
    retry.max_retries = 5;
    retry.backoff_initial_ms = 500;
    retry.backoff_max_ms = 10000;
    return k5__kube_list_ex(c, kind, ns, limit, fn, ud, rv, http_status, &retry, err);
}
