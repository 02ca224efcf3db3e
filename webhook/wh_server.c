/*
 * kube5xx-webhook: HTTP and TLS (see wh_server.h).
 */
#include "wh_server.h"

#include "wh_guard.h"
#include "wh_log.h"
#include "wh_probe.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct wh_server {
    struct MHD_Daemon *tls_d;
    struct MHD_Daemon *health_d;
    wh_server_opts o;
    uint16_t port, health_port;
    atomic_bool draining;
    atomic_long in_flight;
    wh_guard *guard;
    wh_probe *probe; /* the review round trip behind /readyz */
    unsigned conn_limit, health_limit;
    int64_t started_ns;
    /* The caller's main loop (signals, reloads), as wh_server_heartbeat/_working left it. */
    _Atomic int64_t main_due_ns;   /* its next call is due by then; 0: not watched */
    _Atomic int64_t main_since_ns; /* when its current wait or piece of work began */
    const char *_Atomic main_what; /* that work (a static string); NULL while it waits */
    int64_t main_stall_ns;         /* opts.main_stall_ms, or WH_MAIN_STALL_MS */
};

/* A chunked body this far past the cap is not drained to answer 413: the connection closes. */
#define WH_DISCARD_MAX_BYTES (16u * 1024u * 1024u)

/*
 * libmicrohttpd's memory pool per TLS connection (its default is 32 KiB). It
 * holds the request's headers, the read buffer and the response's headers, and
 * is zeroed whole after every request: at 32 KiB that memset was about 3% of
 * the server's CPU per review, and it evicted the whole L1 data cache each
 * time. An API server's request headers are a few hundred bytes; bodies are
 * copied out as they arrive, so a smaller read buffer only means more, smaller
 * upload calls for a large body.
 */
#define WH_CONN_POOL_BYTES ((size_t)16 * 1024)

/* Per-request state on the TLS port. */
typedef struct req {
    char *body;
    size_t len, cap;
    bool too_large;
    bool warn_only;
    bool over_budget; /* the in-flight byte budget ran out while the body grew */
    size_t discarded; /* bytes of an over-long body read and dropped */
    size_t reserved;  /* bytes held in the guard's in-flight budget */
    int64_t start_ns, deadline_ns;
} req;

static int conn_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return i ? (int)i->connect_fd : -1;
}

/* 429 with Retry-After: the in-flight body budget is spent; another replica or a retry helps. */
static enum MHD_Result send_busy(struct wh_server *s, struct MHD_Connection *c)
{
    static const char text[] =
        "too many request bytes in flight: retry shortly (see --max-inflight-bytes)\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_TOO_MANY_REQUESTS, r);
    MHD_destroy_response(r);
    wh_metrics_http_error(s->o.metrics, MHD_HTTP_TOO_MANY_REQUESTS);
    return ret;
}

/* True when the client waits for 100 Continue before sending the body. */
static bool expects_continue(struct MHD_Connection *c)
{
    const char *e = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return e && strcasecmp(e, "100-continue") == 0;
}

bool wh_parse_timeout(const char *s, int64_t *seconds)
{
    int64_t ns;
    if (!wh_duration_parse(s, &ns))
        return false;
    *seconds = ns / 1000000000 + (ns % 1000000000 != 0);
    return true;
}

static enum MHD_Result send_text(struct wh_server *s, struct MHD_Connection *c, int status,
                                 const char *text, const char *allow)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (s && atomic_load(&s->draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    if (s && status >= 400)
        wh_metrics_http_error(s->o.metrics, status);
    return ret;
}

/* A health check's 503: "<what>: <why>" as plain text (health port: no metrics, no drain). */
static enum MHD_Result send_unavailable(struct MHD_Connection *c, const char *what,
                                        const char *why)
{
    char msg[320];
    snprintf(msg, sizeof msg, "%s: %s\n", what, why);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, r);
    MHD_destroy_response(r);
    return ret;
}

/* True when the Content-Type is application/json, parameters (charset) allowed. */
static bool is_json(const char *ct)
{
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    static const char want[] = "application/json";
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    ct += sizeof want - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

static enum MHD_Result on_review(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **req_cls)
{
    (void)version;
    struct wh_server *s = cls;
    req *r = *req_cls;
    if (!r) {
        int fd = conn_fd(c);
        wh_guard_bytes_in(fd); /* headers arrived: idle -> request, if the TLS path missed it */
        bool warn_only = strcmp(url, "/validate/warn") == 0;
        if (strcmp(url, "/validate") != 0 && !warn_only)
            return send_text(s, c, MHD_HTTP_NOT_FOUND,
                             "not found: the webhook serves POST /validate and /validate/warn\n",
                             NULL);
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return send_text(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use POST\n",
                             "POST");
        if (!is_json(
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
            return send_text(s, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                             "unsupported media type: send Content-Type: application/json\n",
                             NULL);
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        size_t want = 64 * 1024;
        bool too_large = false;
        if (cl) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            /*
             * Over the cap: a client waiting for 100 Continue, or one announcing
             * more than we would ever read, gets 413 now. Otherwise the body is
             * probably on its way already; answering before reading it makes
             * the kernel reset the connection over the unread bytes and the
             * client never sees the 413, so it is read, dropped, then answered.
             */
            if (*end != '\0' || v > WH_DISCARD_MAX_BYTES ||
                (v > WH_MAX_BODY_BYTES && expects_continue(c)))
                return send_text(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
                                 "request body too large: the limit is 3 MiB\n", NULL);
            too_large = v > WH_MAX_BODY_BYTES;
            want = (size_t)v + 1;
        }
        /* The budget is taken when the headers arrive, so a flood is refused before its upload. */
        if (!too_large && !wh_guard_reserve(s->guard, want))
            return send_busy(s, c);
        r = calloc(1, sizeof *r);
        if (r && !too_large)
            r->body = malloc(want);
        if (!r || (!too_large && !r->body)) {
            if (r)
                free(r);
            if (!too_large)
                wh_guard_release(s->guard, want);
            return send_text(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
        }
        r->too_large = too_large;
        r->reserved = too_large ? 0 : want;
        r->cap = too_large ? 0 : want;
        r->warn_only = warn_only;
        r->start_ns = wh_now_ns();
        int64_t timeout_s = WH_DEFAULT_TIMEOUT_S;
        const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeout");
        int64_t parsed;
        if (q && wh_parse_timeout(q, &parsed) && parsed > 0)
            timeout_s = parsed < WH_MAX_TIMEOUT_S ? parsed : WH_MAX_TIMEOUT_S;
        /*
         * Work against half the apiserver's timeout: the rest covers the
         * network, the queueing before we saw the request and the response.
         */
        r->deadline_ns = r->start_ns + timeout_s * 500000000LL;
        *req_cls = r;
        atomic_fetch_add(&s->in_flight, 1);
        wh_metrics_in_flight(s->o.metrics, 1);
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large || r->over_budget) {
            /*
             * libmicrohttpd cannot answer in the middle of a body, so the rest
             * is read and dropped (never kept) and 413 follows at its end; a
             * body that goes on far past the cap just gets its connection closed.
             */
            r->discarded += n;
            return r->discarded > WH_DISCARD_MAX_BYTES ? MHD_NO : MHD_YES;
        }
        if (r->len + n > WH_MAX_BODY_BYTES) {
            r->too_large = true;
            r->discarded = r->len + n;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            wh_guard_release(s->guard, r->reserved);
            r->reserved = 0;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap * 2;
            while (cap < r->len + n + 1)
                cap *= 2;
            if (cap > WH_MAX_BODY_BYTES + 1)
                cap = WH_MAX_BODY_BYTES + 1;
            if (!wh_guard_reserve(s->guard, cap - r->cap)) {
                /* A body without Content-Length outgrew the budget: drop it, 429 at its end. */
                r->over_budget = true;
                r->discarded = r->len + n;
                free(r->body);
                r->body = NULL;
                r->len = r->cap = 0;
                wh_guard_release(s->guard, r->reserved);
                r->reserved = 0;
                return MHD_YES;
            }
            r->reserved += cap - r->cap;
            char *nb = realloc(r->body, cap);
            if (!nb)
                return send_text(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
            r->body = nb;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }
    if (r->too_large)
        return send_text(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
                         "request body too large: the limit is 3 MiB\n", NULL);
    if (r->over_budget)
        return send_busy(s, c);
    r->body[r->len] = '\0';
    wh_guard_phase(conn_fd(c), WH_PHASE_HANDLING);
    if (wh_json_values_exceed(r->body, r->len, WH_MAX_JSON_VALUES))
        return send_text(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
                         "request body too complex: more than 200000 JSON values\n", NULL);

    wh_http_request hr = {.body = r->body,
                          .len = r->len,
                          .start_ns = r->start_ns,
                          .deadline_ns = r->deadline_ns,
                          .warn_only = r->warn_only,
                          .probe = wh_guard_is_canary(conn_fd(c))};
    wh_http_reply reply = {500, NULL, 0, NULL};
    s->o.handler(s->o.handler_ud, &hr, &reply);
    if (!reply.body)
        return send_text(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", NULL);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(reply.len, reply.body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(reply.body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            reply.content_type ? reply.content_type : "application/json");
    if (atomic_load(&s->draining))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)reply.status, resp);
    MHD_destroy_response(resp);
    if (reply.status >= 400)
        wh_metrics_http_error(s->o.metrics, reply.status);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct wh_server *s = cls;
    /* Back to keep-alive: no deadline until the next request's first byte. */
    wh_guard_phase(conn_fd(c), WH_PHASE_IDLE);
    req *r = *req_cls;
    if (!r)
        return;
    free(r->body);
    wh_guard_release(s->guard, r->reserved);
    free(r);
    *req_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
    wh_metrics_in_flight(s->o.metrics, -1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct wh_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        int fd = conn_fd(c);
        wh_guard_open(s->guard, fd, false);
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        *socket_context =
            wh_tls_conn_open(s->o.tls, i ? i->tls_session : NULL, wh_guard_is_canary(fd));
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        wh_guard_close(s->guard, conn_fd(c));
        wh_tls_conn_close(s->o.tls, *socket_context);
        *socket_context = NULL;
    }
}

static void on_health_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                                 enum MHD_ConnectionNotificationCode toe)
{
    (void)socket_context;
    struct wh_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        wh_guard_open(s->guard, conn_fd(c), true);
    else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        wh_guard_close(s->guard, conn_fd(c));
}

/* /readyz: a probe answered within this long (probes run every second). */
#define WH_READY_WITHIN_NS 5000000000LL

/* The TLS server answers a review now: the probe's last round trip is recent. */
static bool reviews_answered(struct wh_server *s, int64_t within_ns, char *why, size_t whysz)
{
    int64_t ok = s->probe ? wh_probe_ok_ns(s->probe) : 0;
    if (ok != 0 && wh_now_ns() - ok <= within_ns)
        return true;
    char err[160] = "";
    if (s->probe)
        wh_probe_last_error(s->probe, err, sizeof err);
    snprintf(why, whysz, "no review answered on the TLS port for %lld s%s%s",
             (long long)(within_ns / 1000000000), err[0] ? ": " : "", err);
    return false;
}

/*
 * The caller's main loop is late: past the wait it announced plus the stall bound, or in one
 * piece of work (a reload) for longer than the bound. Fills why when it is.
 */
static bool main_loop_late(struct wh_server *s, int64_t now, char *why, size_t whysz)
{
    int64_t due = atomic_load(&s->main_due_ns);
    if (due == 0 || now <= due)
        return false;
    const char *what = atomic_load(&s->main_what);
    long long secs = (long long)((now - atomic_load(&s->main_since_ns)) / 1000000000);
    long long bound = (long long)(s->main_stall_ns / 1000000000);
    if (what)
        snprintf(why, whysz,
                 "the main loop (signals, reloads) is stuck: in %s for %lld s (bound %lld s)",
                 what, secs, bound);
    else
        snprintf(why, whysz,
                 "the main loop (signals, reloads) is stuck: it has not come round for %lld s",
                 secs);
    return true;
}

/*
 * The process works: the sweeper ticks, the main loop (signals, reloads) keeps its promises,
 * and the TLS accept loops took a canary lately.
 */
static bool alive(struct wh_server *s, char *why, size_t whysz)
{
    wh_guard_stats st = wh_guard_get_stats(s->guard);
    if (wh_now_ns() - st.sweeper_tick_ns > 3000000000LL) {
        snprintf(why, whysz, "the connection sweeper is stuck");
        return false;
    }
    int64_t ok = wh_guard_canary_ok_ns(s->guard);
    if (ok < s->started_ns)
        ok = s->started_ns; /* the first canary may not be in yet */
    if (main_loop_late(s, wh_now_ns(), why, whysz))
        return false;
    if (wh_now_ns() - ok > 15000000000LL) {
        snprintf(why, whysz, "the TLS server accepted no connection for 15 s");
        return false;
    }
    return true;
}

/* The guard's counters, after the registry's series (frees *text on failure). */
static wh_status append_guard_metrics(struct wh_server *s, char **text, size_t *len)
{
    wh_guard_stats st = wh_guard_get_stats(s->guard);
    char extra[1536];
    int n = snprintf(
        extra, sizeof extra,
        "# HELP kube5xx_connections_open Open connections, by port.\n"
        "# TYPE kube5xx_connections_open gauge\n"
        "kube5xx_connections_open{port=\"tls\"} %ld\n"
        "kube5xx_connections_open{port=\"health\"} %ld\n"
        "# HELP kube5xx_connection_limit TLS connections before the longest-waiting one is "
        "closed.\n"
        "# TYPE kube5xx_connection_limit gauge\n"
        "kube5xx_connection_limit %u\n"
        "# HELP kube5xx_connections_evicted_total Connections closed to make room for a new one.\n"
        "# TYPE kube5xx_connections_evicted_total counter\n"
        "kube5xx_connections_evicted_total %llu\n"
        "# HELP kube5xx_connections_deadline_closed_total Connections closed for passing the "
        "handshake, request or health deadline.\n"
        "# TYPE kube5xx_connections_deadline_closed_total counter\n"
        "kube5xx_connections_deadline_closed_total %llu\n"
        "# HELP kube5xx_inflight_body_bytes Request body bytes reserved now.\n"
        "# TYPE kube5xx_inflight_body_bytes gauge\n"
        "kube5xx_inflight_body_bytes %zu\n"
        "# HELP kube5xx_inflight_refusals_total Requests refused with 429: the body budget was "
        "spent.\n"
        "# TYPE kube5xx_inflight_refusals_total counter\n"
        "kube5xx_inflight_refusals_total %llu\n",
        st.open_tls, st.open_health, s->conn_limit, (unsigned long long)st.evictions,
        (unsigned long long)st.deadline_closes, st.inflight_bytes,
        (unsigned long long)st.budget_refusals);
    if (n < 0 || (size_t)n >= sizeof extra) {
        free(*text);
        return WH_ELIMIT;
    }
    char *t = realloc(*text, *len + (size_t)n + 1);
    if (!t) {
        free(*text);
        return WH_ENOMEM;
    }
    memcpy(t + *len, extra, (size_t)n + 1);
    *text = t;
    *len += (size_t)n;
    return WH_OK;
}

static enum MHD_Result on_health(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_size;
    struct wh_server *s = cls;
    /* The first call only sees headers; answer on the second so bodies are drained. */
    if (*req_cls == NULL) {
        *req_cls = (void *)1;
        return MHD_YES;
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_text(NULL, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: use GET\n",
                         "GET, HEAD");
    if (strcmp(url, "/livez") == 0) {
        char why[256] = "";
        if (alive(s, why, sizeof why))
            return send_text(NULL, c, MHD_HTTP_OK, "ok\n", NULL);
        return send_unavailable(c, "not alive", why);
    }
    if (strcmp(url, "/readyz") == 0) {
        char why[256] = "";
        bool ready = true;
        wh_tls_info ti = wh_tls_current(s->o.tls);
        int64_t now = wh_wall_s();
        if (atomic_load(&s->draining)) {
            ready = false;
            snprintf(why, sizeof why, "shutting down");
        } else if (now < ti.not_before || now >= ti.not_after) {
            ready = false;
            snprintf(why, sizeof why, "the serving certificate is not valid now");
        } else if (!reviews_answered(s, WH_READY_WITHIN_NS, why, sizeof why)) {
            ready = false;
        } else if (s->o.ready && !s->o.ready(s->o.ready_ud, why, sizeof why)) {
            ready = false;
        }
        if (ready)
            return send_text(NULL, c, MHD_HTTP_OK, "ok\n", NULL);
        return send_unavailable(c, "not ready", why);
    }
    if (strcmp(url, "/metrics") == 0) {
        char *text;
        size_t len;
        if (!s->o.metrics || wh_metrics_render(s->o.metrics, &text, &len) != WH_OK ||
            append_guard_metrics(s, &text, &len) != WH_OK)
            return send_text(NULL, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n",
                             NULL);
        struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!r) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8");
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    return send_text(NULL, c, MHD_HTTP_NOT_FOUND, "not found: /livez, /readyz, /metrics\n", NULL);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (!wh_log_enabled(WH_LOG_DEBUG))
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    wh_logline l;
    wh_logline_begin(&l, WH_LOG_DEBUG, "libmicrohttpd");
    wh_logline_str(&l, "detail", msg);
    wh_logline_emit(&l);
}

static uint16_t bound_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

/*
 * The CPUs this process may run on (its affinity mask, as nproc(1) counts
 * them), not the machine's: a worker per CPU the process cannot use only adds
 * context switches between workers that share one CPU (a pod pinned by the
 * kubelet's static CPU manager, taskset).
 */
static unsigned cpu_count(void)
{
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
    if (n < 1)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static struct MHD_Daemon *start_tls(struct wh_server *s, bool dual_stack)
{
    const wh_server_opts *o = &s->o;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(o->port);
    sin.sin_addr.s_addr = htonl(o->loopback_only ? INADDR_LOOPBACK : INADDR_ANY);
    unsigned flags = MHD_USE_TLS | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (dual_stack)
        flags |= MHD_USE_DUAL_STACK;
    unsigned threads = o->threads ? o->threads : cpu_count();
    struct MHD_OptionItem opts[16];
    size_t n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0, wh_tls_retrieve_fn()};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)WH_TLS_PRIORITIES};
    if (threads > 1)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
    /*
     * libmicrohttpd's own limit is above the guard's: the guard closes the
     * connection waiting longest when its limit is passed, so libmicrohttpd
     * keeps accepting (and a new client is served at once) instead of leaving
     * new connections in the backlog behind idle ones.
     */
    unsigned hard = s->conn_limit + s->conn_limit / 4 + 64;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, hard, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                        o->idle_timeout_s ? o->idle_timeout_s : 120, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL};
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, WH_CONN_POOL_BYTES, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
    if (!dual_stack)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &sin};
    /* Client certificates: each session gets the current CA's credentials (wh_tls_conn_open). */
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return MHD_start_daemon(flags, o->port, NULL, NULL, on_review, s, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
}

static struct MHD_Daemon *start_health(struct wh_server *s, bool dual_stack)
{
    const wh_server_opts *o = &s->o;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(o->health_port);
    sin.sin_addr.s_addr = htonl(o->loopback_only ? INADDR_LOOPBACK : INADDR_ANY);
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (dual_stack)
        flags |= MHD_USE_DUAL_STACK;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_CONNECTION_LIMIT, s->health_limit + 32, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 5, NULL},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_health_connection, s},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
        {dual_stack ? MHD_OPTION_END : MHD_OPTION_SOCK_ADDR, 0, &sin},
        {MHD_OPTION_END, 0, NULL}};
    return MHD_start_daemon(flags, o->health_port, NULL, NULL, on_health, s, MHD_OPTION_ARRAY,
                            opts, MHD_OPTION_END);
}

/*
 * Descriptors: RLIMIT_NOFILE is raised to its hard limit; WH_GUARD_RESERVED_FDS
 * stay for files and pipes, the health port gets its own, and the TLS port
 * (its limit plus the headroom libmicrohttpd gets above it) the rest. So a TLS
 * flood can never take the descriptors the health port needs.
 */
static wh_status size_limits(struct wh_server *s, char *err, size_t errsz)
{
    unsigned long nofile = wh_guard_raise_nofile();
    s->health_limit = s->o.health_limit ? s->o.health_limit : 128;
    long avail = (long)nofile - WH_GUARD_RESERVED_FDS - (long)s->health_limit - 32 - 64;
    /* hard = limit * 5/4 + 64 must fit in what is left. */
    long most = avail > 0 ? avail * 4 / 5 : 0;
    if (most < 4) {
        snprintf(err, errsz,
                 "RLIMIT_NOFILE is %lu: too few file descriptors to serve (raise the hard limit)",
                 nofile);
        return WH_EINVAL;
    }
    unsigned threads = s->o.threads ? s->o.threads : cpu_count();
    unsigned long want = s->o.conn_limit ? s->o.conn_limit : WH_GUARD_MAX_AUTO_CONNS;
    if (want > (unsigned long)most) {
        if (s->o.conn_limit) {
            wh_logline l;
            wh_logline_begin(&l, WH_LOG_WARN,
                             "--max-connections lowered to what RLIMIT_NOFILE allows");
            wh_logline_int(&l, "requested", (int64_t)s->o.conn_limit);
            wh_logline_int(&l, "limit", most);
            wh_logline_int(&l, "nofile", (int64_t)nofile);
            wh_logline_emit(&l);
        }
        want = (unsigned long)most;
    }
    if (want < threads)
        want = threads;
    s->conn_limit = (unsigned)want;
    return WH_OK;
}

/* Since and what first, the due time last: a /livez that reads a new due time reads them. */
static void main_loop_set(wh_server *s, const char *what, int64_t wait_ns)
{
    if (atomic_load(&s->draining))
        return; /* the shutdown delay is not watched (wh_server_drain) */
    int64_t now = wh_now_ns();
    atomic_store(&s->main_since_ns, now);
    atomic_store(&s->main_what, what);
    atomic_store(&s->main_due_ns, now + wait_ns + s->main_stall_ns);
}

void wh_server_heartbeat(wh_server *s, int64_t wait_ns)
{
    main_loop_set(s, NULL, wait_ns > 0 ? wait_ns : 0);
}

void wh_server_working(wh_server *s, const char *what)
{
    main_loop_set(s, what ? what : "its work", 0);
}

unsigned wh_server_conn_limit(const wh_server *s)
{
    return s->conn_limit;
}

wh_status wh_server_start(const wh_server_opts *o, wh_server **out, char *err, size_t errsz)
{
    if (!o->tls || !o->handler) {
        snprintf(err, errsz, "a certificate and a handler are required");
        return WH_EINVAL;
    }
    struct wh_server *s = calloc(1, sizeof *s);
    if (!s)
        return WH_ENOMEM;
    s->o = *o;
    s->main_stall_ns = (int64_t)(o->main_stall_ms ? o->main_stall_ms : WH_MAIN_STALL_MS) * 1000000;
    atomic_init(&s->main_due_ns, 0);
    atomic_init(&s->main_since_ns, 0);
    atomic_init(&s->main_what, NULL);
    atomic_init(&s->draining, false);
    atomic_init(&s->in_flight, 0);
    if (size_limits(s, err, errsz) != WH_OK) {
        free(s);
        return WH_EINVAL;
    }
    wh_guard_opts go = {
        s->conn_limit,
        s->health_limit,
        (int64_t)(o->handshake_ms ? o->handshake_ms : WH_GUARD_HANDSHAKE_MS) * 1000000,
        (int64_t)WH_GUARD_REQUEST_MS * 1000000,
        (int64_t)WH_GUARD_HEALTH_MS * 1000000,
        o->max_inflight_bytes ? o->max_inflight_bytes : WH_DEFAULT_MAX_INFLIGHT_BYTES};
    if (wh_guard_new(&go, &s->guard) != WH_OK) {
        snprintf(err, errsz, "cannot start the connection sweeper");
        free(s);
        return WH_ENOMEM;
    }
    wh_tls_activate(o->tls);
    /* Both address families where the host has IPv6, IPv4 alone where it has not. */
    bool dual = !o->loopback_only;
    s->tls_d = start_tls(s, dual);
    if (!s->tls_d && dual) {
        dual = false;
        s->tls_d = start_tls(s, false);
    }
    if (!s->tls_d) {
        snprintf(err, errsz, "cannot listen on TLS port %u (in use, or not permitted)",
                 (unsigned)o->port);
        wh_guard_free(&s->guard);
        free(s);
        return WH_ESERVER;
    }
    s->health_d = start_health(s, dual);
    if (!s->health_d) {
        snprintf(err, errsz, "cannot listen on health port %u (in use, or not permitted)",
                 (unsigned)o->health_port);
        MHD_stop_daemon(s->tls_d);
        wh_guard_free(&s->guard);
        free(s);
        return WH_ESERVER;
    }
    s->port = bound_port(s->tls_d);
    s->health_port = bound_port(s->health_d);
    s->started_ns = wh_now_ns();
    if (wh_probe_start(s->guard, s->port, &s->probe) != WH_OK) {
        snprintf(err, errsz, "cannot start the readiness probe");
        MHD_stop_daemon(s->health_d);
        MHD_stop_daemon(s->tls_d);
        wh_guard_free(&s->guard);
        free(s);
        return WH_ENOMEM;
    }
    *out = s;
    return WH_OK;
}

void wh_server_ports(const wh_server *s, uint16_t *port, uint16_t *health_port)
{
    if (port)
        *port = s->port;
    if (health_port)
        *health_port = s->health_port;
}

void wh_server_drain(wh_server *s)
{
    atomic_store(&s->main_due_ns, 0); /* the main loop now waits for the shutdown delay */
    atomic_store(&s->draining, true);
}

bool wh_server_draining(const wh_server *s)
{
    return atomic_load(&((wh_server *)s)->draining);
}

long wh_server_in_flight(const wh_server *s)
{
    return atomic_load(&((wh_server *)s)->in_flight);
}

void wh_server_stop(wh_server **ps, unsigned wait_ms)
{
    if (!ps || !*ps)
        return;
    wh_server *s = *ps;
    atomic_store(&s->draining, true);
    wh_probe_stop(&s->probe); /* at most one probe's timeout; usually between probes */
    MHD_socket ls = MHD_quiesce_daemon(s->tls_d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    int64_t until = wh_now_ns() + (int64_t)wait_ms * 1000000;
    while (atomic_load(&s->in_flight) > 0 && wh_now_ns() < until) {
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->tls_d);
    MHD_stop_daemon(s->health_d);
    wh_guard_free(&s->guard);
    free(s);
    *ps = NULL;
}
