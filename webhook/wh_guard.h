/*
 * kube5xx-webhook: the connection guard. No client may hold the webhook's
 * slots, memory or CPU for longer than a legitimate request needs.
 *
 * libmicrohttpd only knows an idle timeout, which every trickled byte
 * restarts. The guard keeps, for each open socket, the phase it is in and an
 * absolute deadline for that phase:
 *
 *   handshake  accepted, TLS handshake not finished   accept + handshake deadline
 *   idle       keep-alive, between requests            none (the idle timeout applies)
 *   request    first byte of a request seen            first byte + request deadline
 *   handling   the review is being evaluated/answered  none: the server's own work
 *   health     a connection on the health port         accept + health deadline
 *
 * A sweeper thread shuts down (shutdown(2), never close(2): libmicrohttpd
 * owns the descriptor and closes it itself) every socket past its deadline.
 * When more connections are open than the limit, it shuts down the ones that
 * have been idle or unfinished longest, so a new connection is served at once
 * instead of waiting in the listen backlog behind idle ones.
 *
 * In-flight request bodies share one byte budget: a request that does not fit
 * is refused (429) when its headers arrive.
 *
 * Sockets are process-wide small integers, so the table is indexed by the
 * descriptor and shared by every guard in the process. Open and close go
 * through one mutex, which the sweeper holds while it shuts sockets down: a
 * descriptor it shuts down is always the connection it judged, never a reused one.
 */
#ifndef KUBE5XX_WH_GUARD_H
#define KUBE5XX_WH_GUARD_H

#include "wh_common.h"

#define WH_GUARD_HANDSHAKE_MS 5000   /* accept to finished TLS handshake */
#define WH_GUARD_REQUEST_MS 10000    /* first byte of a request to its last */
#define WH_GUARD_HEALTH_MS 2000      /* a health-port connection, accept to close */
#define WH_GUARD_SWEEP_MS 100        /* deadline resolution */
#define WH_GUARD_RESERVED_FDS 256    /* descriptors kept for files, the health port, pipes */
#define WH_GUARD_MAX_AUTO_CONNS 1024 /* the automatic TLS connection limit, at most (memory) */
#define WH_DEFAULT_MAX_INFLIGHT_BYTES (64u * 1024u * 1024u)

typedef enum wh_conn_phase {
    WH_PHASE_FREE = 0,
    WH_PHASE_HANDSHAKE,
    WH_PHASE_IDLE,
    WH_PHASE_REQUEST,
    WH_PHASE_HANDLING,
    WH_PHASE_HEALTH,
    WH_PHASE_CANARY /* the sweeper's own probe: not counted against the limit, never evicted */
} wh_conn_phase;

typedef struct wh_guard_opts {
    unsigned conn_limit;   /* TLS connections before the oldest idle/unfinished is cut */
    unsigned health_limit; /* health-port connections, same policy */
    int64_t handshake_ns, request_ns, health_ns;
    size_t max_inflight_bytes; /* 0: unlimited */
} wh_guard_opts;

typedef struct wh_guard_stats {
    uint64_t deadline_closes; /* sockets shut down for passing a deadline */
    uint64_t evictions;       /* sockets shut down to make room for a new one */
    uint64_t budget_refusals; /* requests refused for the in-flight byte budget */
    long open_tls, open_health;
    size_t inflight_bytes;
    int64_t sweeper_tick_ns; /* monotonic time of the sweeper's last pass */
    int64_t canary_ok_ns;    /* monotonic time the last canary connection was accepted */
} wh_guard_stats;

typedef struct wh_guard wh_guard;

/*
 * Raises RLIMIT_NOFILE's soft limit to the hard limit (once per process) and
 * returns the soft limit now in force.
 */
unsigned long wh_guard_raise_nofile(void);

/* Starts the sweeper. On failure *out is untouched. */
WH_WUR wh_status wh_guard_new(const wh_guard_opts *o, wh_guard **out);
/* Stops the sweeper and frees. Accepts NULL; call after the daemons stopped. */
void wh_guard_free(wh_guard **g);

/* A connection was accepted (health: on the health port). Called on the daemon's thread. */
void wh_guard_open(wh_guard *g, int fd, bool health);
void wh_guard_close(wh_guard *g, int fd);
/* Phase changes, on the daemon's thread that owns the socket. */
void wh_guard_phase(int fd, wh_conn_phase phase);
/* Bytes arrived on fd (from the TLS read path): an idle connection starts a request. */
void wh_guard_bytes_in(int fd);

/* The in-flight body budget: reserve before buffering, release when freed. */
WH_WUR bool wh_guard_reserve(wh_guard *g, size_t n);
void wh_guard_release(wh_guard *g, size_t n);

wh_guard_stats wh_guard_get_stats(wh_guard *g);

/*
 * The canary: the readiness probe (wh_probe.h) binds its socket on loopback,
 * then tells the guard its local port before connecting. The connection the
 * TLS daemon then accepts from 127.0.0.1 at that port is the canary: not
 * counted against the limit, never evicted, no deadline (the probe has its
 * own), and its acceptance proves the accept loops tick.
 */
void wh_guard_canary_expect(wh_guard *g, uint16_t local_port);
/* True when fd is the canary connection (daemon thread, after wh_guard_open). */
bool wh_guard_is_canary(int fd);
/* Monotonic time the last canary was accepted (0: never). */
int64_t wh_guard_canary_ok_ns(wh_guard *g);

#endif
