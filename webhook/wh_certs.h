/*
 * kube5xx-webhook: `kube5xx-webhook certs`, a self-signed CA and a serving
 * certificate for the webhook's Service, generated with OpenSSL.
 *
 * Writes ca.crt, tls.crt and tls.key into a directory (the layout of a
 * kubernetes.io/tls Secret plus its CA). Keys are ECDSA P-256: a full TLS
 * handshake costs about a quarter of RSA-2048's, and libmicrohttpd does no
 * session resumption, so every new apiserver connection pays it.
 */
#ifndef KUBE5XX_WH_CERTS_H
#define KUBE5XX_WH_CERTS_H

#include "wh_common.h"

#define WH_CERTS_MAX_DAYS 3650u

typedef struct wh_certs_opts {
    const char *service;   /* a DNS label: the Service's name */
    const char *namespace_; /* a DNS label */
    const char *out_dir;   /* created if missing (one level) */
    unsigned days;         /* validity of both certificates, 1..WH_CERTS_MAX_DAYS */
    bool force;            /* overwrite existing files */
    const char *const *sans; /* extra subject names: DNS names or IP addresses (--san) */
    size_t nsans;            /* at most WH_CERTS_MAX_SANS */
} wh_certs_opts;
#define WH_CERTS_MAX_SANS 16u

/*
 * Generates and writes the three files. Each file is written to a temporary
 * name and renamed into place, so a server watching the directory never reads
 * a half-written file; tls.key is mode 0600. On success *ca_bundle is the
 * malloc'd base64 of ca.crt (the webhook configuration's caBundle), which the
 * caller frees. On failure nothing is left behind except files that were
 * already complete, and err says what went wrong (WH_EEXIST names the file
 * that exists).
 */
WH_WUR wh_status wh_certs_generate(const wh_certs_opts *o, char **ca_bundle, char *err,
                                   size_t errsz);

/* True when s is a valid DNS-1123 label (what Service and namespace names are). */
bool wh_certs_dns_label(const char *s);

#endif
