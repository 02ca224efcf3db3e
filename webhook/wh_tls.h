/*
 * kube5xx-webhook: the serving certificate and key, reloadable at run time.
 *
 * The pair is read from PEM files (the layout of a mounted kubernetes.io/tls
 * Secret) and handed to GnuTLS through a certificate callback, so each new
 * handshake picks up the pair current at that moment, while connections that
 * are already established keep theirs: a rotation drops nothing.
 *
 * A pair replaced by a rotation (a "generation") stays allocated until every
 * connection that was opened while it was current has closed, because GnuTLS
 * may keep pointers to the pair it was given for the life of the session.
 * This is why the server reports connection open and close (wh_tls_conn_*).
 *
 * A new pair is accepted only if both files parse, the key matches the
 * certificate and the certificate has not expired (and, with client
 * certificates, the client CA file parses); otherwise the old generation
 * keeps serving and the caller logs the error.
 */
#ifndef KUBE5XX_WH_TLS_H
#define KUBE5XX_WH_TLS_H

#include "wh_common.h"

#define WH_TLS_MAX_PEM_BYTES (1024u * 1024u) /* one PEM file */
#define WH_TLS_MAX_CHAIN 16u                 /* certificates in tls.crt */

typedef struct wh_tls wh_tls;

typedef struct wh_tls_info {
    int64_t not_before; /* Unix seconds */
    int64_t not_after;
    uint64_t generation; /* 1 for the first pair, +1 per accepted rotation */
    char fingerprint[96]; /* SHA-256 of the leaf, hex with colons */
} wh_tls_info;

/*
 * Loads the pair. The file names are copied. On failure *out is untouched and
 * err (errsz bytes) says what is wrong.
 */
WH_WUR wh_status wh_tls_new(const char *cert_file, const char *key_file, wh_tls **out, char *err,
                            size_t errsz);

/* Accepts NULL; sets *t to NULL. Call only once the server using it has stopped. */
void wh_tls_free(wh_tls **t);

/*
 * Re-reads the files when their stat signature changed since the last look
 * (or always when `force`). *reloaded tells whether a new pair is now served.
 * A bad new pair is refused: the old one stays, the result is the error and
 * err says why. Nothing changed is WH_OK with *reloaded false.
 */
WH_WUR wh_status wh_tls_check(wh_tls *t, bool force, bool *reloaded, char *err, size_t errsz);

/* The pair being served now. */
wh_tls_info wh_tls_current(wh_tls *t);

/* Makes t the pair that the GnuTLS callback serves (one server per process). */
void wh_tls_activate(wh_tls *t);
/* The callback, of type gnutls_certificate_retrieve_function2 (for MHD_OPTION_HTTPS_CERT_CALLBACK). */
void *wh_tls_retrieve_fn(void);

/*
 * Connection bookkeeping: the token from open is given back to close.
 * `session` (a gnutls_session_t, may be NULL) is the new connection's server
 * session: its reads report bytes to wh_guard_bytes_in, the client's Finished
 * moves the connection from the handshake phase to idle, and with a client CA
 * it requires a client certificate that verifies against the CA current now
 * (not for the readiness probe's own connection, `canary`).
 */
void *wh_tls_conn_open(wh_tls *t, void *session, bool canary);
void wh_tls_conn_close(wh_tls *t, void *token);
/*
 * Requires client certificates signed by a CA in `ca_file` (PEM, one or more
 * certificates): a client without one, or with one that does not verify, is
 * refused during the handshake. The file is watched with the pair
 * (wh_tls_check): a changed CA applies to new connections, established ones
 * keep theirs; a file that does not parse is refused and the old CA stays. On
 * failure nothing changes and err names the file.
 */
WH_WUR wh_status wh_tls_set_client_ca(wh_tls *t, const char *ca_file, char *err, size_t errsz);
/* True when client certificates are required. */
bool wh_tls_client_ca_required(const wh_tls *t);

/* Generations still allocated (tests). */
size_t wh_tls_generations(wh_tls *t);

/* The cipher policy: TLS 1.3 and 1.2 only, AEAD ciphers with ECDHE only. */
#define WH_TLS_PRIORITIES                                                                         \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"        \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

#endif
