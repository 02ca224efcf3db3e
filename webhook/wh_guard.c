/*
 * kube5xx-webhook: the connection guard (see wh_guard.h).
 */
#include "wh_guard.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One open socket. Phase, times and deadline are written by the daemon thread that owns it. */
typedef struct conn {
    _Atomic(wh_guard *) owner; /* NULL: the descriptor is not one of ours */
    _Atomic int phase;
    _Atomic int64_t since_ns;    /* when the current phase began */
    _Atomic int64_t deadline_ns; /* 0: none */
    bool cut;                    /* shut down, close not seen yet (mutex held) */
} conn;

struct wh_guard {
    wh_guard_opts o;
    pthread_t sweeper;
    pthread_cond_t wake;
    bool stop;           /* mutex held */
    long open[2];        /* [0] TLS, [1] health; mutex held */
    long cut[2];         /* shut down, not closed yet; mutex held */
    long peak_open;      /* since the last trim; mutex held */
    _Atomic size_t inflight;
    _Atomic size_t released; /* bytes of large bodies released since the last trim */
    _Atomic uint64_t deadline_closes, evictions, budget_refusals;
    _Atomic int64_t tick_ns;
    _Atomic int canary_local;     /* local port of the outstanding canary, 0: none */
    _Atomic int64_t canary_ok_ns; /* when the daemon last accepted one */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static conn *g_conns;       /* indexed by descriptor */
static size_t g_cap;        /* entries in g_conns */
static _Atomic int g_max_fd = -1;
static unsigned long g_nofile;

#define MAX_TABLE (1u << 20)

static void raise_once(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            struct rlimit want = {rl.rlim_max, rl.rlim_max};
            /* Some kernels cap the soft limit below an "unlimited" hard one: try a sane value. */
            if (setrlimit(RLIMIT_NOFILE, &want) != 0 && rl.rlim_max > MAX_TABLE) {
                want.rlim_cur = MAX_TABLE;
                (void)setrlimit(RLIMIT_NOFILE, &want);
            }
            (void)getrlimit(RLIMIT_NOFILE, &rl);
        }
        g_nofile = rl.rlim_cur == RLIM_INFINITY ? MAX_TABLE : (unsigned long)rl.rlim_cur;
    } else {
        g_nofile = 1024;
    }
    g_cap = g_nofile < MAX_TABLE ? g_nofile : MAX_TABLE;
    /* calloc'd pages that are never touched are never resident: a big table costs nothing. */
    g_conns = calloc(g_cap, sizeof *g_conns);
    if (!g_conns)
        g_cap = 0;
}

unsigned long wh_guard_raise_nofile(void)
{
    pthread_once(&g_once, raise_once);
    return g_nofile;
}

static conn *slot(int fd)
{
    return fd >= 0 && (size_t)fd < g_cap ? &g_conns[fd] : NULL;
}

static int64_t phase_deadline(const wh_guard *g, int phase, int64_t now)
{
    switch (phase) {
    case WH_PHASE_HANDSHAKE:
        return now + g->o.handshake_ns;
    case WH_PHASE_REQUEST:
        return now + g->o.request_ns;
    case WH_PHASE_HEALTH:
        return now + g->o.health_ns;
    default:
        return 0;
    }
}

void wh_guard_open(wh_guard *g, int fd, bool health)
{
    conn *c = slot(fd);
    if (!g || !c)
        return;
    int64_t now = wh_now_ns();
    int phase = health ? WH_PHASE_HEALTH : WH_PHASE_HANDSHAKE;
    pthread_mutex_lock(&g_mu);
    long limit = health ? (long)g->o.health_limit : (long)g->o.conn_limit;
    int canary = atomic_load(&g->canary_local);
    if (!health && canary) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int pport = -1;
        /* The canary's socket is bound on 127.0.0.1: the port alone could be anyone's. */
        static const unsigned char mapped_lo[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0xff, 0xff, 127, 0, 0, 1};
        if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0) {
            const struct sockaddr_in *v4 = (const struct sockaddr_in *)&peer;
            const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&peer;
            if (peer.ss_family == AF_INET && v4->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
                pport = ntohs(v4->sin_port);
            else if (peer.ss_family == AF_INET6 && /* dual stack: ::ffff:127.0.0.1 */
                     memcmp(&v6->sin6_addr, mapped_lo, 16) == 0)
                pport = ntohs(v6->sin6_port);
        }
        if (pport == canary) {
            atomic_store(&g->canary_local, 0);
            atomic_store(&g->canary_ok_ns, now);
            phase = WH_PHASE_CANARY;
        }
    }
    atomic_store(&c->phase, phase);
    atomic_store(&c->since_ns, now);
    atomic_store(&c->deadline_ns, phase_deadline(g, phase, now));
    c->cut = false;
    atomic_store(&c->owner, g);
    int max = atomic_load(&g_max_fd);
    if (fd > max)
        atomic_store(&g_max_fd, fd);
    if (phase == WH_PHASE_CANARY) { /* the sweeper closes its end within a second */
        pthread_mutex_unlock(&g_mu);
        return;
    }
    g->open[health]++;
    if (g->open[0] + g->open[1] > g->peak_open)
        g->peak_open = g->open[0] + g->open[1];
    if (g->open[health] - g->cut[health] > limit)
        pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g_mu);
}

void wh_guard_close(wh_guard *g, int fd)
{
    conn *c = slot(fd);
    if (!g || !c)
        return;
    pthread_mutex_lock(&g_mu);
    if (atomic_load(&c->owner) == g) {
        int phase = atomic_load(&c->phase);
        int health = phase == WH_PHASE_HEALTH;
        if (phase != WH_PHASE_CANARY) {
            g->open[health]--;
            if (c->cut)
                g->cut[health]--;
        }
        c->cut = false;
        atomic_store(&c->phase, WH_PHASE_FREE);
        atomic_store(&c->deadline_ns, 0);
        atomic_store(&c->owner, NULL);
    }
    pthread_mutex_unlock(&g_mu);
}

void wh_guard_phase(int fd, wh_conn_phase phase)
{
    conn *c = slot(fd);
    if (!c)
        return;
    wh_guard *g = atomic_load(&c->owner);
    int old_phase = atomic_load(&c->phase);
    if (!g || old_phase == WH_PHASE_HEALTH || old_phase == WH_PHASE_CANARY)
        return;
    int64_t now = wh_now_ns();
    int64_t dl = phase_deadline(g, (int)phase, now);
    if (phase == WH_PHASE_HANDLING) {
        /* Answering may take a little while; it keeps the request's deadline or gets one. */
        int64_t old = atomic_load(&c->deadline_ns);
        dl = old > now + g->o.request_ns ? old : now + g->o.request_ns;
    }
    /* Deadline first: the sweeper reads the phase, then the deadline. */
    atomic_store(&c->deadline_ns, 0);
    atomic_store(&c->phase, (int)phase);
    atomic_store(&c->since_ns, now);
    atomic_store(&c->deadline_ns, dl);
}

void wh_guard_bytes_in(int fd)
{
    conn *c = slot(fd);
    if (c && atomic_load(&c->phase) == WH_PHASE_IDLE)
        wh_guard_phase(fd, WH_PHASE_REQUEST);
}

bool wh_guard_reserve(wh_guard *g, size_t n)
{
    if (!g->o.max_inflight_bytes) {
        atomic_fetch_add(&g->inflight, n);
        return true;
    }
    size_t cur = atomic_load(&g->inflight);
    do {
        if (n > g->o.max_inflight_bytes || cur > g->o.max_inflight_bytes - n) {
            atomic_fetch_add(&g->budget_refusals, 1);
            return false;
        }
    } while (!atomic_compare_exchange_weak(&g->inflight, &cur, cur + n));
    return true;
}

/*
 * Only a large body counts towards a trim. Ordinary reviews (a few KiB) reuse
 * the same few heap chunks, so trimming after them gave back pages the next
 * reviews faulted in again, and malloc_trim walks every arena under its lock
 * while the serving threads wait: at 1,000 reviews/s it ran every 8 s.
 */
#define TRIM_BODY_MIN_BYTES (64u * 1024u)

void wh_guard_release(wh_guard *g, size_t n)
{
    atomic_fetch_sub(&g->inflight, n);
    if (n >= TRIM_BODY_MIN_BYTES)
        atomic_fetch_add(&g->released, n);
}

typedef struct cand {
    int64_t since;
    int fd;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->since < y->since ? -1 : x->since > y->since;
}

/* Shuts fd down once (mutex held); counts it first, so the count is never behind. */
static void cut(wh_guard *g, conn *c, int fd, int health, _Atomic uint64_t *counter)
{
    atomic_fetch_add(counter, 1);
    c->cut = true;
    g->cut[health]++;
    shutdown(fd, SHUT_RDWR);
}

/* Cuts the connections of one kind that waited longest, down to the limit (mutex held). */
static void evict(wh_guard *g, int health, int max_fd)
{
    long limit = health ? (long)g->o.health_limit : (long)g->o.conn_limit;
    long excess = g->open[health] - g->cut[health] - limit;
    if (excess <= 0)
        return;
    cand *cs = malloc(((size_t)max_fd + 1) * sizeof *cs);
    if (!cs)
        return;
    size_t n = 0;
    for (int fd = 0; fd <= max_fd; fd++) {
        conn *c = &g_conns[fd];
        if (atomic_load(&c->owner) != g || c->cut)
            continue;
        int p = atomic_load(&c->phase);
        bool eligible = health ? p == WH_PHASE_HEALTH
                               : (p == WH_PHASE_HANDSHAKE || p == WH_PHASE_IDLE ||
                                  p == WH_PHASE_REQUEST);
        if (eligible)
            cs[n++] = (cand){atomic_load(&c->since_ns), fd};
    }
    qsort(cs, n, sizeof *cs, cand_cmp);
    for (size_t i = 0; i < n && excess > 0; i++, excess--) {
        cut(g, &g_conns[cs[i].fd], cs[i].fd, health, &g->evictions);
    }
    free(cs);
}

static void sweep(wh_guard *g, int64_t now)
{
    int max_fd = atomic_load(&g_max_fd);
    if ((size_t)(max_fd + 1) > g_cap)
        max_fd = (int)g_cap - 1;
    for (int fd = 0; fd <= max_fd; fd++) {
        conn *c = &g_conns[fd];
        if (atomic_load(&c->owner) != g || c->cut)
            continue;
        int64_t dl = atomic_load(&c->deadline_ns);
        if (dl != 0 && now >= dl) {
            cut(g, c, fd, atomic_load(&c->phase) == WH_PHASE_HEALTH, &g->deadline_closes);
        }
    }
    evict(g, 0, max_fd);
    evict(g, 1, max_fd);
}

/*
 * After a flood (many connections closed, or many large bodies freed), hand the
 * freed heap back to the kernel, once things are quiet again: glibc keeps
 * freed memory in its arenas otherwise, and RSS would stay at the peak.
 */
static void maybe_trim(wh_guard *g)
{
    long open = g->open[0] + g->open[1];
    bool conns_dropped = g->peak_open - open >= 256;
    bool bytes_freed = atomic_load(&g->released) >= 16u * 1024u * 1024u;
    if (!conns_dropped && !bytes_freed)
        return;
    if (atomic_load(&g->inflight) > 1024u * 1024u)
        return;
    g->peak_open = open;
    atomic_store(&g->released, 0);
    pthread_mutex_unlock(&g_mu);
    malloc_trim(0);
    pthread_mutex_lock(&g_mu);
}

void wh_guard_canary_expect(wh_guard *g, uint16_t local_port)
{
    atomic_store(&g->canary_local, local_port);
}

bool wh_guard_is_canary(int fd)
{
    conn *c = slot(fd);
    return c && atomic_load(&c->owner) && atomic_load(&c->phase) == WH_PHASE_CANARY;
}

int64_t wh_guard_canary_ok_ns(wh_guard *g)
{
    return atomic_load(&g->canary_ok_ns);
}

static void *sweeper_main(void *arg)
{
    wh_guard *g = arg;
    int64_t next_trim = 0;
    pthread_mutex_lock(&g_mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += WH_GUARD_SWEEP_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->wake, &g_mu, &ts);
        if (g->stop)
            break;
        int64_t now = wh_now_ns();
        sweep(g, now);
        if (now >= next_trim) {
            maybe_trim(g);
            next_trim = now + 1000000000LL;
        }
        atomic_store(&g->tick_ns, wh_now_ns());
    }
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

wh_status wh_guard_new(const wh_guard_opts *o, wh_guard **out)
{
    wh_guard_raise_nofile();
    if (!g_conns)
        return WH_ENOMEM;
    wh_guard *g = calloc(1, sizeof *g);
    if (!g)
        return WH_ENOMEM;
    g->o = *o;
    atomic_init(&g->tick_ns, wh_now_ns());
    if (pthread_cond_init(&g->wake, NULL) != 0) {
        free(g);
        return WH_ENOMEM;
    }
    if (pthread_create(&g->sweeper, NULL, sweeper_main, g) != 0) {
        pthread_cond_destroy(&g->wake);
        free(g);
        return WH_ENOMEM;
    }
    *out = g;
    return WH_OK;
}

void wh_guard_free(wh_guard **pg)
{
    if (!pg || !*pg)
        return;
    wh_guard *g = *pg;
    pthread_mutex_lock(&g_mu);
    g->stop = true;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g_mu);
    pthread_join(g->sweeper, NULL);
    /* Forget any socket still attributed to this guard (a daemon that did not report a close). */
    pthread_mutex_lock(&g_mu);
    int max_fd = atomic_load(&g_max_fd);
    for (int fd = 0; fd <= max_fd && (size_t)fd < g_cap; fd++)
        if (atomic_load(&g_conns[fd].owner) == g)
            atomic_store(&g_conns[fd].owner, NULL);
    pthread_mutex_unlock(&g_mu);
    pthread_cond_destroy(&g->wake);
    free(g);
    *pg = NULL;
}

wh_guard_stats wh_guard_get_stats(wh_guard *g)
{
    wh_guard_stats s;
    memset(&s, 0, sizeof s);
    s.deadline_closes = atomic_load(&g->deadline_closes);
    s.evictions = atomic_load(&g->evictions);
    s.budget_refusals = atomic_load(&g->budget_refusals);
    s.inflight_bytes = atomic_load(&g->inflight);
    s.sweeper_tick_ns = atomic_load(&g->tick_ns);
    s.canary_ok_ns = atomic_load(&g->canary_ok_ns);
    pthread_mutex_lock(&g_mu);
    s.open_tls = g->open[0];
    s.open_health = g->open[1];
    pthread_mutex_unlock(&g_mu);
    return s;
}
