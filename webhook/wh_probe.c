/*
 * kube5xx-webhook: the readiness probe (see wh_probe.h).
 */
#include "wh_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A Service: every rule kind-matches it, none needs the cluster; a few hundred bytes. */
static const char k_review[] =
    "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
    "\"uid\":\"" WH_PROBE_UID "\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Service\"},"
    "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"services\"},"
    "\"name\":\"kube5xx-readyz\",\"namespace\":\"kube5xx-readyz\",\"operation\":\"CREATE\","
    "\"userInfo\":{\"username\":\"kube5xx-readyz\"},\"dryRun\":true,\"object\":{\"apiVersion\":"
    "\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"kube5xx-readyz\",\"namespace\":"
    "\"kube5xx-readyz\"},\"spec\":{\"selector\":{\"app\":\"kube5xx-readyz\"},\"ports\":[{"
    "\"name\":\"https\",\"port\":443,\"targetPort\":8443}]}}}}";

/* An answer larger than this is not the probe's (the review's answer is ~300 bytes). */
#define PROBE_MAX_ANSWER 16384

struct wh_probe {
    wh_guard *guard;
    uint16_t port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool stop;                /* mu held */
    char err[160];            /* mu held */
    _Atomic int64_t ok_ns;
};

static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - wh_now_ns();
    return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* Waits until fd is ready for `events` or the deadline passes. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int ms = remaining_ms(deadline);
        if (ms == 0)
            return false;
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, ms);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

/* Waits for the direction GnuTLS is blocked on. */
static bool wait_tls(gnutls_session_t s, int fd, int64_t deadline)
{
    return wait_fd(fd, gnutls_record_get_direction(s) ? POLLOUT : POLLIN, deadline);
}

/* The answer is a 200 in JSON holding the probe's uid and a decision. */
static bool answer_ok(const char *a, size_t n, char *err, size_t errsz)
{
    if (n < 12 || memcmp(a, "HTTP/1.1 200", 12) != 0) {
        const char *eol = memchr(a, '\r', n);
        snprintf(err, errsz, "the review was answered with \"%.*s\"",
                 (int)(eol ? (size_t)(eol - a) : n < 40 ? n : 40), a);
        return false;
    }
    const char *body = memmem(a, n, "\r\n\r\n", 4);
    if (!body || !memmem(body, n - (size_t)(body - a), "\"uid\":\"" WH_PROBE_UID "\"",
                         sizeof "\"uid\":\"" WH_PROBE_UID "\"" - 1) ||
        !memmem(body, n - (size_t)(body - a), "\"allowed\":", 10)) {
        snprintf(err, errsz, "the review's answer is not an AdmissionReview for the probe");
        return false;
    }
    return true;
}

/* Sends the whole buffer over TLS before the deadline. */
static bool tls_send_all(gnutls_session_t s, int fd, const char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = gnutls_record_send(s, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
            if (!wait_tls(s, fd, deadline))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

/* Reads the answer until the server closes (the request said Connection: close). */
static bool tls_read_answer(gnutls_session_t s, int fd, char *buf, size_t cap, size_t *len,
                            int64_t deadline)
{
    *len = 0;
    for (;;) {
        if (*len + 1 >= cap)
            return false;
        ssize_t r = gnutls_record_recv(s, buf + *len, cap - 1 - *len);
        if (r > 0) {
            *len += (size_t)r;
        } else if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
            buf[*len] = '\0';
            return *len > 0;
        } else if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
            if (!wait_tls(s, fd, deadline))
                return false;
        } else {
            buf[*len] = '\0';
            return *len > 0; /* a reset after the whole answer still counts */
        }
    }
}

bool wh_probe_once(wh_guard *g, uint16_t port, int timeout_ms, char *err, size_t errsz)
{
    int64_t deadline = wh_now_ns() + (int64_t)timeout_ms * 1000000;
    bool ok = false;
    gnutls_session_t s = NULL;
    gnutls_certificate_credentials_t cred = NULL;
    char *answer = NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errsz, "cannot open a socket: %s", strerror(errno));
        return false;
    }
    /*
     * No Nagle, as Go's HTTP client (the API server's) sets it: otherwise the
     * request waited behind the handshake's last flight for the server's
     * delayed ACK, 40 ms on every probe.
     */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Bound first, so the guard knows the canary's port before the server can accept it. */
    struct sockaddr_in me;
    socklen_t mlen = sizeof me;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&me, &mlen) != 0) {
        snprintf(err, errsz, "cannot bind a loopback socket: %s", strerror(errno));
        goto out;
    }
    if (g)
        wh_guard_canary_expect(g, ntohs(me.sin_port));
    sin.sin_port = htons(port);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 && errno != EINPROGRESS) {
        snprintf(err, errsz, "cannot connect to the TLS port: %s", strerror(errno));
        goto out;
    }
    int soerr = 0;
    socklen_t elen = sizeof soerr;
    if (!wait_fd(fd, POLLOUT, deadline) ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) != 0 || soerr != 0) {
        snprintf(err, errsz, "the TLS port did not accept a connection within %d ms%s%s",
                 timeout_ms, soerr ? ": " : "", soerr ? strerror(soerr) : "");
        goto out;
    }
    /* Our own server on loopback: its certificate is not what is checked, the answer is. */
    if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
        gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0 ||
        gnutls_set_default_priority(s) < 0 ||
        gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
        snprintf(err, errsz, "cannot set up a TLS client session");
        goto out;
    }
    gnutls_transport_set_int(s, fd);
    int rc;
    while ((rc = gnutls_handshake(s)) < 0) {
        if (gnutls_error_is_fatal(rc) || !wait_tls(s, fd, deadline)) {
            snprintf(err, errsz, "no TLS handshake within %d ms (%s)", timeout_ms,
                     gnutls_error_is_fatal(rc) ? gnutls_strerror(rc) : "timed out");
            goto out;
        }
    }
    /* Headers and body in one record and one segment. */
    char req[1024 + sizeof k_review];
    int n = snprintf(req, sizeof req,
                     "POST /validate?timeout=%ds HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\nUser-Agent: kube5xx-readyz\r\n\r\n%s",
                     (timeout_ms + 999) / 1000 * 2, sizeof k_review - 1, k_review);
    if (n <= 0 || (size_t)n >= sizeof req || !tls_send_all(s, fd, req, (size_t)n, deadline)) {
        snprintf(err, errsz, "could not send the review within %d ms", timeout_ms);
        goto out;
    }
    answer = malloc(PROBE_MAX_ANSWER);
    size_t alen = 0;
    if (!answer) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    if (!tls_read_answer(s, fd, answer, PROBE_MAX_ANSWER, &alen, deadline)) {
        snprintf(err, errsz, "no answer to the review within %d ms", timeout_ms);
        goto out;
    }
    ok = answer_ok(answer, alen, err, errsz);
out:
    free(answer);
    if (s)
        gnutls_deinit(s);
    if (cred)
        gnutls_certificate_free_credentials(cred);
    close(fd);
    if (ok && errsz)
        err[0] = '\0';
    return ok;
}

static void *probe_main(void *arg)
{
    wh_probe *p = arg;
    /* Its client side of a TLS handshake a second must not preempt a busy worker. */
    wh_thread_background();
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        char err[sizeof p->err];
        bool ok = wh_probe_once(p->guard, p->port, WH_PROBE_TIMEOUT_MS, err, sizeof err);
        if (ok)
            atomic_store(&p->ok_ns, wh_now_ns());
        pthread_mutex_lock(&p->mu);
        memcpy(p->err, ok ? "" : err, ok ? 1 : sizeof p->err);
        if (p->stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += WH_PROBE_INTERVAL_MS / 1000;
        ts.tv_nsec += (WH_PROBE_INTERVAL_MS % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->mu, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

wh_status wh_probe_start(wh_guard *g, uint16_t port, wh_probe **out)
{
    wh_probe *p = calloc(1, sizeof *p);
    if (!p)
        return WH_ENOMEM;
    p->guard = g;
    p->port = port;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, probe_main, p) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return WH_ENOMEM;
    }
    *out = p;
    return WH_OK;
}

void wh_probe_stop(wh_probe **pp)
{
    if (!pp || !*pp)
        return;
    wh_probe *p = *pp;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p);
    *pp = NULL;
}

int64_t wh_probe_ok_ns(wh_probe *p)
{
    return atomic_load(&p->ok_ns);
}

void wh_probe_last_error(wh_probe *p, char *buf, size_t size)
{
    if (!size)
        return;
    pthread_mutex_lock(&p->mu);
    snprintf(buf, size, "%s", p->err);
    pthread_mutex_unlock(&p->mu);
}
