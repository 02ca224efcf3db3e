/*
 * Unit tests of wh_server's plain-HTTP side (health, readiness, metrics,
 * draining) and of the ?timeout= parser. The TLS side is exercised end to
 * end with curl (tests/webhook/e2e_*.sh).
 */
#include "wh_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdatomic.h>

#include "wh_certs.h"
#include "wh_probe.h"
#include "wh_server.h"

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    return wh_test_mkdtemp(g_dir, sizeof g_dir, "srv");
}

static int teardown(void **state)
{
    (void)state;
    return wh_test_rmtree(g_dir);
}

/* One HTTP/1.0 exchange on loopback; returns the status code and fills body. */
static int http(uint16_t port, const char *method, const char *path, char *body, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    static char buf[65536];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fd);
    int status = 0;
    assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &status), 1);
    const char *b = strstr(buf, "\r\n\r\n");
    snprintf(body, size, "%s", b ? b + 4 : "");
    return status;
}

/* The handler's behaviour, set by the tests (ud points at one). */
typedef struct handler_state {
    _Atomic int broken;       /* 1: every review gets 500 */
    _Atomic int probes;       /* reviews marked as the readiness probe's */
    _Atomic int probe_bodies; /* of those, bodies naming the probe's uid */
} handler_state;

static void handler(void *ud, const wh_http_request *req, wh_http_reply *reply)
{
    static handler_state unused;
    handler_state *hs = ud ? ud : &unused;
    if (req->probe) {
        atomic_fetch_add(&hs->probes, 1);
        if (strstr(req->body, "\"uid\":\"" WH_PROBE_UID "\""))
            atomic_fetch_add(&hs->probe_bodies, 1);
    }
    if (atomic_load(&hs->broken)) {
        reply->status = 500;
        reply->body = strdup("{}");
        reply->len = 2;
        return;
    }
    static const char ok[] =
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
        "\"response\":{\"uid\":\"" WH_PROBE_UID "\",\"allowed\":true}}";
    reply->status = 200;
    reply->body = strdup(ok);
    reply->len = sizeof ok - 1;
}

/* Polls /readyz for up to ms milliseconds until it answers `want`; returns the last status. */
static int readyz_until(uint16_t hp, int want, int ms, char *body, size_t size)
{
    int got = 0;
    for (int waited = 0; waited <= ms; waited += 20) {
        got = http(hp, "GET", "/readyz", body, size);
        if (got == want)
            break;
        usleep(20000);
    }
    return got;
}

/* Generates a certificate pair into dir and loads it; the caller frees it. */
static wh_tls *new_tls(const char *dir)
{
    char err[512] = "";
    char *bundle = NULL;
    wh_certs_opts co = {"hook", "ns", dir, 2, false, NULL, 0};
    assert_int_equal(wh_certs_generate(&co, &bundle, err, sizeof err), WH_OK);
    free(bundle);
    char c[160], k[160];
    snprintf(c, sizeof c, "%s/tls.crt", dir);
    snprintf(k, sizeof k, "%s/tls.key", dir);
    wh_tls *tls = NULL;
    assert_int_equal(wh_tls_new(c, k, &tls, err, sizeof err), WH_OK);
    return tls;
}

static void test_wh_server__health_ready_metrics_and_drain(void **state)
{
    (void)state;
    char err[512] = "";
    wh_tls *tls = new_tls(g_dir);
    wh_metrics *m = NULL;
    assert_int_equal(wh_metrics_new(&m), WH_OK);
    wh_server_opts o;
    memset(&o, 0, sizeof o);
    o.loopback_only = true;
    o.threads = 2;
    o.tls = tls;
    o.metrics = m;
    o.handler = handler;
    handler_state hs = {0, 0, 0};
    o.handler_ud = &hs;
    wh_server *s = NULL;
    if (wh_server_start(&o, &s, err, sizeof err) != WH_OK)
        fail_msg("%s", err);
    uint16_t port = 0, hp = 0;
    wh_server_ports(s, &port, &hp);
    assert_true(port > 0 && hp > 0 && port != hp);

    char body[65536];
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    /* Ready once the probe's first review came back answered: within 2 s. */
    assert_int_equal(readyz_until(hp, 200, 2000, body, sizeof body), 200);
    /* The probe's review went through the handler, marked as the probe's. */
    assert_true(atomic_load(&hs.probes) >= 1);
    assert_int_equal(atomic_load(&hs.probes), atomic_load(&hs.probe_bodies));
    assert_int_equal(http(hp, "GET", "/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, "kube5xx_connections_open{port=\"health\"}"));
    assert_non_null(strstr(body, "kube5xx_tls_cert_expiry_timestamp_seconds"));
    assert_int_equal(http(hp, "POST", "/livez", body, sizeof body), 405);
    assert_int_equal(http(hp, "GET", "/validate", body, sizeof body), 404);
    assert_false(wh_server_draining(s));
    wh_server_drain(s);
    assert_true(wh_server_draining(s));
    assert_int_equal(http(hp, "GET", "/readyz", body, sizeof body), 503);
    assert_non_null(strstr(body, "shutting down"));
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    assert_int_equal(wh_server_in_flight(s), 0);
    wh_server_stop(&s, 100);
    assert_null(s);
    wh_tls_free(&tls);
    wh_metrics_free(&m);
}

/*
 * /readyz is a review round trip, not a connect: while every review fails,
 * the TLS port still accepts connections (/livez stays 200) but /readyz says
 * 503 naming the failure; once reviews are answered again it is 200.
 */
static void test_wh_server__readyz_needs_an_answered_review(void **state)
{
    (void)state;
    char err[512] = "";
    char dir[128];
    snprintf(dir, sizeof dir, "%s/r", g_dir);
    wh_tls *tls = new_tls(dir);
    wh_server_opts o;
    memset(&o, 0, sizeof o);
    o.loopback_only = true;
    o.threads = 1;
    o.tls = tls;
    o.handler = handler;
    handler_state hs = {1, 0, 0};
    o.handler_ud = &hs;
    wh_server *s = NULL;
    if (wh_server_start(&o, &s, err, sizeof err) != WH_OK)
        fail_msg("%s", err);
    uint16_t port = 0, hp = 0;
    wh_server_ports(s, &port, &hp);
    char body[65536];
    /* Probes run (and fail) every second; readiness never comes. */
    usleep(2500000);
    assert_true(atomic_load(&hs.probes) >= 2);
    assert_int_equal(http(hp, "GET", "/readyz", body, sizeof body), 503);
    assert_non_null(strstr(body, "no review answered on the TLS port"));
    assert_non_null(strstr(body, "HTTP/1.1 500"));
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    /* Fixed: the next probe (within a second) makes it ready. */
    atomic_store(&hs.broken, 0);
    assert_int_equal(readyz_until(hp, 200, 3000, body, sizeof body), 200);
    /* A probe on its own, as the thread runs it: a valid answer within the timeout. */
    assert_true(wh_probe_once(NULL, port, WH_PROBE_TIMEOUT_MS, err, sizeof err));
    wh_server_stop(&s, 100);
    wh_tls_free(&tls);
}

/*
 * /livez watches the caller's main loop (signals, reloads): late past the wait it
 * announced plus the stall bound, or in one piece of work for longer than the bound, it
 * fails naming which; a long announced wait is not a failure; draining stops the watch.
 */
static void test_wh_server__livez_notices_a_stuck_main_loop(void **state)
{
    (void)state;
    char err[512] = "";
    char dir[128];
    snprintf(dir, sizeof dir, "%s/m", g_dir);
    wh_tls *tls = new_tls(dir);
    wh_server_opts o;
    memset(&o, 0, sizeof o);
    o.loopback_only = true;
    o.threads = 1;
    o.tls = tls;
    o.handler = handler;
    o.main_stall_ms = 1500;
    wh_server *s = NULL;
    if (wh_server_start(&o, &s, err, sizeof err) != WH_OK)
        fail_msg("%s", err);
    uint16_t hp = 0;
    wh_server_ports(s, NULL, &hp);
    char body[65536];
    /* Not watched before the first call. */
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    /* A loop that announced no wait and never came round. */
    wh_server_heartbeat(s, 0);
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    usleep(2000000);
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 503);
    assert_non_null(strstr(body, "the main loop (signals, reloads) is stuck"));
    assert_non_null(strstr(body, "has not come round for"));
    /* A long wait announced (--watch-interval 1m) is kept, not taken for a stall. */
    wh_server_heartbeat(s, 60 * 1000000000LL);
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    usleep(2000000);
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    /* Work that does not end within the bound, whatever wait was announced before it. */
    wh_server_working(s, "a test reload");
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    usleep(2000000);
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 503);
    assert_non_null(strstr(body, "stuck: in a test reload for "));
    assert_non_null(strstr(body, "(bound 1 s)"));
    /* The loop comes round: alive again. */
    wh_server_heartbeat(s, 0);
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    /* Draining: the shutdown delay is not watched, and later calls do not watch it again. */
    wh_server_working(s, "a test reload");
    wh_server_drain(s);
    wh_server_working(s, "a test reload");
    usleep(2000000);
    assert_int_equal(http(hp, "GET", "/livez", body, sizeof body), 200);
    wh_server_stop(&s, 100);
    wh_tls_free(&tls);
}

static void test_wh_server__port_in_use_is_an_error(void **state)
{
    (void)state;
    char err[512] = "";
    char dir[128];
    snprintf(dir, sizeof dir, "%s/b", g_dir);
    wh_tls *tls = new_tls(dir);
    wh_server_opts o;
    memset(&o, 0, sizeof o);
    o.loopback_only = true;
    o.threads = 1;
    o.tls = tls;
    o.handler = handler;
    wh_server *a = NULL, *b = NULL;
    assert_int_equal(wh_server_start(&o, &a, err, sizeof err), WH_OK);
    wh_server_ports(a, &o.port, NULL);
    assert_int_equal(wh_server_start(&o, &b, err, sizeof err), WH_ESERVER);
    assert_null(b);
    assert_non_null(strstr(err, "cannot listen"));
    wh_server_stop(&a, 0);
    wh_tls_free(&tls);
}

static void test_wh_server__timeout_parameter_rounds_up(void **state)
{
    (void)state;
    int64_t s;
    assert_true(wh_parse_timeout("10s", &s));
    assert_int_equal(s, 10);
    assert_true(wh_parse_timeout("1500ms", &s));
    assert_int_equal(s, 2);
    assert_true(wh_parse_timeout("1m", &s));
    assert_int_equal(s, 60);
    assert_true(wh_parse_timeout("1ns", &s));
    assert_int_equal(s, 1);
    assert_false(wh_parse_timeout("ten", &s));
    assert_false(wh_parse_timeout(NULL, &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_server__health_ready_metrics_and_drain),
        cmocka_unit_test(test_wh_server__readyz_needs_an_answered_review),
        cmocka_unit_test(test_wh_server__livez_notices_a_stuck_main_loop),
        cmocka_unit_test(test_wh_server__port_in_use_is_an_error),
        cmocka_unit_test(test_wh_server__timeout_parameter_rounds_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
