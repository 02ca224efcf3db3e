/*
 * kube5xx-webhook: the HTTP side. Nothing here knows what an AdmissionReview
 * is: the TLS port routes POST /validate to a handler, the plain port serves
 * /livez, /readyz and /metrics.
 *
 * The TLS daemon runs a pool of threads (one poll loop each, sized to the
 * CPUs). Not epoll: libmicrohttpd 0.9.75 keeps a connection whose TLS
 * handshake returned GNUTLS_E_AGAIN on its epoll ready list (the "read ready"
 * flag is only cleared by a record read, never by the handshake), so a client
 * that sends half a ClientHello makes the loop spin a core until it leaves.
 * poll(2) waits on readiness, at a cost linear in the open connections that the
 * connection guard keeps bounded.
 *
 * Every connection is watched by the guard (wh_guard.h): absolute deadlines
 * for the handshake and for each request, and past the connection limit the
 * connection idle or unfinished longest is closed, so a new one is served at once.
 */
#ifndef KUBE5XX_WH_SERVER_H
#define KUBE5XX_WH_SERVER_H

#include "wh_common.h"
#include "wh_metrics.h"
#include "wh_tls.h"

#define WH_MAX_BODY_BYTES    (3u * 1024u * 1024u) /* the apiserver's own request limit */
/*
 * JSON values in one request body. Parsing and judging cost ~150 bytes per
 * value: a 3 MiB body of `[0,0,0,...]` (1.5 million values) took RSS to 226 MiB
 * for one review. 200,000 values (~30 MiB) is many times a real object's count.
 */
#define WH_MAX_JSON_VALUES   200000u
#define WH_DEFAULT_TIMEOUT_S 10 /* the apiserver's default timeoutSeconds */
#define WH_MAX_TIMEOUT_S     30 /* the most the apiserver allows */

/* One review request, as the handler sees it. Everything is borrowed. */
typedef struct wh_http_request {
    const char *body;
    size_t len;
    int64_t start_ns;    /* monotonic, when the request headers arrived */
    int64_t deadline_ns; /* monotonic; answer before it or not at all */
    bool warn_only;      /* POST /validate/warn: the advisory entry point */
    bool probe;          /* the readiness probe's review (wh_probe.h): not logged or counted */
} wh_http_request;

/* What the handler answers: status and a malloc'd body the server frees. */
typedef struct wh_http_reply {
    int status;
    char *body;
    size_t len;
    const char *content_type; /* static; NULL means application/json */
} wh_http_reply;

typedef void (*wh_handler_fn)(void *ud, const wh_http_request *req, wh_http_reply *reply);

/* Extra readiness condition (config loaded...). Returns true when ready; may fill why. */
typedef bool (*wh_ready_fn)(void *ud, char *why, size_t whysz);

typedef struct wh_server_opts {
    uint16_t port;           /* 0: any free port (see wh_server_ports) */
    uint16_t health_port;    /* 0: any free port */
    bool loopback_only;      /* bind 127.0.0.1 instead of every address */
    unsigned threads;        /* TLS worker threads; 0: one per CPU */
    unsigned conn_limit;     /* 0: sized from RLIMIT_NOFILE (raised to its hard limit) */
    unsigned idle_timeout_s; /* keep-alive idle timeout; 0: 120 (longer than Go's 90 s) */
    wh_tls *tls;             /* borrowed; must outlive the server */
    wh_metrics *metrics;     /* borrowed; may be NULL */
    wh_handler_fn handler;
    void *handler_ud;
    wh_ready_fn ready; /* may be NULL */
    void *ready_ud;
    size_t max_inflight_bytes; /* request bodies buffered at once; 0: 64 MiB */
    unsigned health_limit;     /* health-port connections; 0: 128 */
    unsigned handshake_ms;     /* accept to finished TLS handshake; 0: WH_GUARD_HANDSHAKE_MS */
    unsigned main_stall_ms;    /* the main loop's stall bound; 0: WH_MAIN_STALL_MS */
} wh_server_opts;

/*
 * How late the caller's main loop (signals, reloads) may be before /livez fails: past the
 * wait it announced (wh_server_heartbeat), or in one piece of work such as a reload
 * (wh_server_working). A reload reads a few capped files and parses one config: milliseconds,
 * so 10 s is far beyond a busy machine's delay and only a thread blocked in the kernel (a
 * FIFO, a hung network mount) or a deadlock passes it. With the manifests' liveness probe
 * (every 10 s, 3 failures in a row) such a stall restarts the pod 30-40 s after it passed.
 */
#define WH_MAIN_STALL_MS 10000

typedef struct wh_server wh_server;

/* Starts both daemons. On failure *out is untouched and err says why. */
WH_WUR wh_status wh_server_start(const wh_server_opts *o, wh_server **out, char *err,
                                 size_t errsz);

/* The ports actually bound. */
void wh_server_ports(const wh_server *s, uint16_t *port, uint16_t *health_port);

/*
 * First step of a graceful shutdown: /readyz fails from now on and every
 * response carries `Connection: close`, so clients move their pooled
 * connections elsewhere while the server still answers.
 */
void wh_server_drain(wh_server *s);
bool wh_server_draining(const wh_server *s);

/*
 * Stops accepting connections, waits up to `wait_ms` for the requests in
 * flight to finish, then stops both daemons and frees the server. Accepts
 * NULL; sets *s to NULL.
 */
void wh_server_stop(wh_server **s, unsigned wait_ms);

/* Requests being handled right now on the TLS port. */
long wh_server_in_flight(const wh_server *s);

/*
 * The caller's main loop (signals, reloads) is about to wait for at most `wait_ns`
 * (a signal, the next file check): it promises to call wh_server_heartbeat or
 * wh_server_working again within that, and /livez fails when it has not within the
 * stall bound (opts.main_stall_ms) past it. Until the first call, and from
 * wh_server_drain on, only the server's own loops are checked.
 */
void wh_server_heartbeat(wh_server *s, int64_t wait_ns);

/*
 * The main loop starts a piece of work, `what` (a static string that /livez's answer
 * names, such as "the config and certificate checks"): /livez fails when it has not
 * called wh_server_heartbeat or wh_server_working again within the stall bound.
 */
void wh_server_working(wh_server *s, const char *what);

/* The TLS connection limit in force (after sizing from RLIMIT_NOFILE). */
unsigned wh_server_conn_limit(const wh_server *s);

/*
 * Parses the apiserver's ?timeout= value, a Go duration ("10s", "1m", "500ms"),
 * rounded up to whole seconds. Returns false on bad syntax.
 */
bool wh_parse_timeout(const char *s, int64_t *seconds);

#endif
