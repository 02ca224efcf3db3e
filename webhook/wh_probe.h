/*
 * kube5xx-webhook: the readiness probe. Once a second a thread of its own
 * sends a real AdmissionReview to the webhook's TLS port on loopback, as a
 * client would: TCP connect, TLS handshake, POST /validate, and checks that
 * a 200 answer in JSON comes back with the probe's uid and a decision. So
 * /readyz means "a review sent now is answered" (accept loop, TLS, HTTP,
 * config, rule engine), not only "the port accepts connections".
 *
 * Bounded and cheap: one probe at a time, each cut at WH_PROBE_TIMEOUT_MS;
 * it costs the server one handshake and one small review a second. The
 * probe's socket is bound before it connects, and the guard is told its
 * local port, so the server recognises the connection (loopback, that port)
 * as the canary: not counted against the connection limit, never evicted,
 * no client certificate asked, and its review neither logged nor counted.
 */
#ifndef KUBE5XX_WH_PROBE_H
#define KUBE5XX_WH_PROBE_H

#include "wh_common.h"
#include "wh_guard.h"

#define WH_PROBE_INTERVAL_MS 1000
#define WH_PROBE_TIMEOUT_MS 2000 /* connect to the end of the answer */
/* The probe's review: its uid, so its answer can be told from any other. */
#define WH_PROBE_UID "kube5xx-readyz-probe"

typedef struct wh_probe wh_probe;

/* Starts the probe thread against 127.0.0.1:port. On failure *out is untouched. */
WH_WUR wh_status wh_probe_start(wh_guard *g, uint16_t port, wh_probe **out);
/* Stops the thread (at most one probe's timeout) and frees. Accepts NULL. */
void wh_probe_stop(wh_probe **p);

/* Monotonic time of the last successful round trip (0: none yet). */
int64_t wh_probe_ok_ns(wh_probe *p);
/* Why the last probe failed ("" when it succeeded or none ran yet). */
void wh_probe_last_error(wh_probe *p, char *buf, size_t size);

/*
 * One round trip now, in the caller's thread (the tests use it). Returns true
 * when a valid answer came back within timeout_ms; otherwise fills err.
 */
bool wh_probe_once(wh_guard *g, uint16_t port, int timeout_ms, char *err, size_t errsz);

#endif
