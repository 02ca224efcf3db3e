/*
 * kube5xx-webhook: the serving certificate and key (see wh_tls.h).
 */
#include "wh_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <sys/socket.h>

#include "wh_guard.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct gen {
    struct gen *next; /* older generations */
    gnutls_pcert_st pcert[WH_TLS_MAX_CHAIN];
    unsigned npcert;
    gnutls_privkey_t key;
    wh_tls_info info;
    size_t open; /* connections opened while this generation was current */
    /* With client certificates: credentials trusting the client CA of this generation. */
    gnutls_certificate_credentials_t client_cred;
} gen;


struct wh_tls {
    char *cert_file, *key_file;
    _Atomic(gen *) cur;
    pthread_mutex_t mu; /* guards the generation list and the open counts */
    gen *gens;          /* newest first; gens == cur */
    wh_file_sig seen[3]; /* cert, key, client CA */
    uint64_t next_gen;
    char *client_ca_file; /* NULL: no client certificates asked for */
};

static _Atomic(wh_tls *) g_active;

static void gen_free(gen *g)
{
    if (!g)
        return;
    for (unsigned i = 0; i < g->npcert; i++)
        gnutls_pcert_deinit(&g->pcert[i]);
    if (g->key)
        gnutls_privkey_deinit(g->key);
    if (g->client_cred)
        gnutls_certificate_free_credentials(g->client_cred);
    free(g);
}

/* Reads a whole PEM file of at most WH_TLS_MAX_PEM_BYTES. */
static wh_status read_file(const char *path, gnutls_datum_t *d, char *err, size_t errsz)
{
    char *buf = NULL;
    size_t len = 0;
    wh_status st = wh_read_file(path, WH_TLS_MAX_PEM_BYTES, &buf, &len, err, errsz);
    if (st == WH_OK) {
        d->data = (unsigned char *)buf;
        d->size = (unsigned)len;
    }
    return st;
}

static void hex_fingerprint(const unsigned char *md, size_t n, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 <= size; i++) {
        if (i)
            out[k++] = ':';
        out[k++] = hex[md[i] >> 4];
        out[k++] = hex[md[i] & 15];
    }
    out[k < size ? k : size - 1] = '\0';
}

/* Loads and validates a pair into a new generation. */
static wh_status load_gen(const char *cert_file, const char *key_file, gen **out, char *err,
                          size_t errsz)
{
    gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
    gnutls_pubkey_t pub = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t a = {NULL, 0}, b = {NULL, 0};
    wh_status st;
    gen *g = calloc(1, sizeof *g);
    if (!g)
        return WH_ENOMEM;
    if ((st = read_file(cert_file, &cd, err, errsz)) != WH_OK)
        goto out;
    if ((st = read_file(key_file, &kd, err, errsz)) != WH_OK)
        goto out;
    st = WH_ETLS;
    unsigned n = WH_TLS_MAX_CHAIN;
    int rc = gnutls_pcert_list_import_x509_raw(g->pcert, &n, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0) {
        snprintf(err, errsz, "%s: no usable PEM certificate (%s)", cert_file,
                 rc < 0 ? gnutls_strerror(rc) : "empty");
        goto out;
    }
    g->npcert = n;
    if ((rc = gnutls_privkey_init(&g->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(g->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(err, errsz, "%s: no usable PEM private key (%s)", key_file, gnutls_strerror(rc));
        goto out;
    }
    /* The key must belong to the leaf: compare the public keys. */
    if ((rc = gnutls_pubkey_init(&pub)) < 0 ||
        (rc = gnutls_pubkey_import_privkey(pub, g->key, 0, 0)) < 0 ||
        (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a)) < 0 ||
        (rc = gnutls_pubkey_export2(g->pcert[0].pubkey, GNUTLS_X509_FMT_DER, &b)) < 0) {
        snprintf(err, errsz, "%s: cannot compare the key with the certificate (%s)", key_file,
                 gnutls_strerror(rc));
        goto out;
    }
    if (a.size != b.size || memcmp(a.data, b.data, a.size) != 0) {
        snprintf(err, errsz, "%s does not match the certificate in %s", key_file, cert_file);
        goto out;
    }
    if ((rc = gnutls_x509_crt_init(&crt)) < 0 ||
        (rc = gnutls_x509_crt_import(crt, &g->pcert[0].cert, GNUTLS_X509_FMT_DER)) < 0) {
        snprintf(err, errsz, "%s: %s", cert_file, gnutls_strerror(rc));
        goto out;
    }
    g->info.not_before = (int64_t)gnutls_x509_crt_get_activation_time(crt);
    g->info.not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    if (g->info.not_after <= wh_wall_s()) {
        snprintf(err, errsz, "%s: the certificate expired (notAfter %lld)", cert_file,
                 (long long)g->info.not_after);
        goto out;
    }
    unsigned char md[32];
    size_t mdlen = sizeof md;
    if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, md, &mdlen) == 0)
        hex_fingerprint(md, mdlen, g->info.fingerprint, sizeof g->info.fingerprint);
    st = WH_OK;
    *out = g;
    g = NULL;
out:
    gnutls_free(a.data);
    gnutls_free(b.data);
    if (pub)
        gnutls_pubkey_deinit(pub);
    if (crt)
        gnutls_x509_crt_deinit(crt);
    if (kd.data) {
        /* The key buffer held a secret: clear it before freeing. */
        memset(kd.data, 0, kd.size);
    }
    free(kd.data);
    free(cd.data);
    gen_free(g);
    return st;
}

wh_status wh_tls_new(const char *cert_file, const char *key_file, wh_tls **out, char *err,
                     size_t errsz)
{
    wh_tls *t = calloc(1, sizeof *t);
    if (!t)
        return WH_ENOMEM;
    t->cert_file = strdup(cert_file);
    t->key_file = strdup(key_file);
    if (!t->cert_file || !t->key_file) {
        free(t->cert_file);
        free(t->key_file);
        free(t);
        return WH_ENOMEM;
    }
    t->seen[0] = wh_file_sig_of(cert_file);
    t->seen[1] = wh_file_sig_of(key_file);
    gen *g = NULL;
    wh_status st = load_gen(cert_file, key_file, &g, err, errsz);
    if (st != WH_OK) {
        free(t->cert_file);
        free(t->key_file);
        free(t);
        return st;
    }
    g->info.generation = t->next_gen = 1;
    pthread_mutex_init(&t->mu, NULL);
    t->gens = g;
    atomic_store(&t->cur, g);
    *out = t;
    return WH_OK;
}

void wh_tls_free(wh_tls **pt)
{
    if (!pt || !*pt)
        return;
    wh_tls *t = *pt;
    wh_tls *expect = t;
    atomic_compare_exchange_strong(&g_active, &expect, NULL);
    while (t->gens) {
        gen *g = t->gens;
        t->gens = g->next;
        gen_free(g);
    }
    pthread_mutex_destroy(&t->mu);
    free(t->client_ca_file);
    free(t->cert_file);
    free(t->key_file);
    free(t);
    *pt = NULL;
}

/* Frees retired generations that no open connection can still be using (lock held). */
static void reap(wh_tls *t)
{
    /*
     * A connection opened while generation G was current handshakes with G or
     * a newer one, never an older one. So an old generation is free once no
     * connection opened during it or before it is still open.
     */
    gen *cur = t->gens;
    if (!cur)
        return;
    /* Walk to the oldest, summing open counts from the oldest forwards. */
    size_t n = 0;
    for (gen *g = cur->next; g; g = g->next)
        n++;
    if (n == 0)
        return;
    gen **stack = malloc(n * sizeof *stack);
    if (!stack)
        return;
    size_t i = 0;
    for (gen *g = cur->next; g; g = g->next)
        stack[i++] = g;
    /* stack[n-1] is the oldest. Free from the oldest while every older one is idle too. */
    size_t keep = n;
    for (size_t k = n; k > 0; k--) {
        if (stack[k - 1]->open != 0)
            break;
        keep = k - 1;
    }
    if (keep < n) {
        if (keep == 0)
            cur->next = NULL;
        else
            stack[keep - 1]->next = NULL;
        for (size_t k = keep; k < n; k++)
            gen_free(stack[k]);
    }
    free(stack);
}

static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey);

/*
 * Credentials that serve the current pair (through the same callback as the
 * daemon's) and trust the CAs in ca_file, for verifying client certificates.
 */
static wh_status client_cred_load(const char *ca_file, gnutls_certificate_credentials_t *out,
                                  char *err, size_t errsz)
{
    char *buf = NULL;
    size_t len = 0;
    wh_status st = wh_read_file(ca_file, WH_TLS_MAX_PEM_BYTES, &buf, &len, err, errsz);
    if (st != WH_OK)
        return st;
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_datum_t d = {(unsigned char *)buf, (unsigned)len};
    int rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc >= 0)
        rc = gnutls_certificate_set_x509_trust_mem(cred, &d, GNUTLS_X509_FMT_PEM);
    free(buf);
    if (rc <= 0) {
        snprintf(err, errsz, "%s: no usable PEM CA certificate (%s)", ca_file,
                 rc < 0 ? gnutls_strerror(rc) : "empty");
        if (cred)
            gnutls_certificate_free_credentials(cred);
        return WH_ETLS;
    }
    gnutls_certificate_set_retrieve_function2(cred, retrieve);
    *out = cred;
    return WH_OK;
}

wh_status wh_tls_check(wh_tls *t, bool force, bool *reloaded, char *err, size_t errsz)
{
    *reloaded = false;
    wh_file_sig c = wh_file_sig_of(t->cert_file), k = wh_file_sig_of(t->key_file);
    wh_file_sig a = t->client_ca_file ? wh_file_sig_of(t->client_ca_file) : t->seen[2];
    if (!force && wh_file_sig_eq(&c, &t->seen[0]) && wh_file_sig_eq(&k, &t->seen[1]) &&
        wh_file_sig_eq(&a, &t->seen[2]))
        return WH_OK;
    gen *g = NULL;
    wh_status st = load_gen(t->cert_file, t->key_file, &g, err, errsz);
    if (st == WH_OK && t->client_ca_file) {
        st = client_cred_load(t->client_ca_file, &g->client_cred, err, errsz);
        if (st != WH_OK) {
            gen_free(g);
            g = NULL;
        }
    }
    /*
     * Remember what was looked at, unless the files moved while being read
     * (a writer is mid-way): then the next look tries again.
     */
    wh_file_sig c2 = wh_file_sig_of(t->cert_file), k2 = wh_file_sig_of(t->key_file);
    wh_file_sig a2 = t->client_ca_file ? wh_file_sig_of(t->client_ca_file) : t->seen[2];
    if (wh_file_sig_eq(&c, &c2) && wh_file_sig_eq(&k, &k2) && wh_file_sig_eq(&a, &a2)) {
        t->seen[0] = c;
        t->seen[1] = k;
        t->seen[2] = a;
    }
    if (st != WH_OK)
        return st;
    pthread_mutex_lock(&t->mu);
    g->info.generation = ++t->next_gen;
    g->next = t->gens;
    t->gens = g;
    atomic_store(&t->cur, g);
    reap(t);
    pthread_mutex_unlock(&t->mu);
    *reloaded = true;
    return WH_OK;
}

wh_tls_info wh_tls_current(wh_tls *t)
{
    return atomic_load(&t->cur)->info;
}

void wh_tls_activate(wh_tls *t)
{
    atomic_store(&g_active, t);
}

static void watch_session(gnutls_session_t s);

void *wh_tls_conn_open(wh_tls *t, void *session, bool canary)
{
    pthread_mutex_lock(&t->mu);
    gen *g = t->gens;
    g->open++;
    pthread_mutex_unlock(&t->mu);
    gnutls_session_t s = session;
    if (s && g->client_cred && !canary) {
        /*
         * libmicrohttpd only asks for a certificate (GNUTLS_CERT_REQUEST) and
         * leaves checking it to the application; here the handshake itself
         * fails without a certificate that verifies against the client CA of
         * the generation current now. The session's credentials are this
         * generation's, which stays allocated while the connection is open.
         */
        gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, g->client_cred);
        gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_cert(s, NULL, 0);
    }
    if (s)
        watch_session(s);
    return g;
}

void wh_tls_conn_close(wh_tls *t, void *token)
{
    if (!token)
        return;
    pthread_mutex_lock(&t->mu);
    gen *g = token;
    g->open--;
    reap(t);
    pthread_mutex_unlock(&t->mu);
}

size_t wh_tls_generations(wh_tls *t)
{
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    for (gen *g = t->gens; g; g = g->next)
        n++;
    pthread_mutex_unlock(&t->mu);
    return n;
}

static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    wh_tls *t = atomic_load(&g_active);
    if (!t)
        return -1;
    gen *g = atomic_load(&t->cur);
    *pcert = g->pcert;
    *pcert_length = g->npcert;
    *pkey = g->key;
    return 0;
}

void *wh_tls_retrieve_fn(void)
{
    gnutls_certificate_retrieve_function2 *fn = retrieve;
    return (void *)fn;
}

/* The socket read under GnuTLS (its default is a plain recv too), noting that bytes arrived. */
static ssize_t pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
    int fd = (int)(intptr_t)p;
    ssize_t r = recv(fd, buf, n, 0);
    if (r > 0)
        wh_guard_bytes_in(fd);
    return r;
}

static int on_finished(gnutls_session_t session, unsigned int htype, unsigned when,
                       unsigned int incoming, const gnutls_datum_t *msg)
{
    (void)htype;
    (void)when;
    (void)msg;
    if (incoming)
        wh_guard_phase(gnutls_transport_get_int(session), WH_PHASE_IDLE);
    return 0;
}

wh_status wh_tls_set_client_ca(wh_tls *t, const char *ca_file, char *err, size_t errsz)
{
    gnutls_certificate_credentials_t cred = NULL;
    char *name = strdup(ca_file);
    if (!name)
        return WH_ENOMEM;
    wh_file_sig sig = wh_file_sig_of(ca_file);
    wh_status st = client_cred_load(ca_file, &cred, err, errsz);
    if (st != WH_OK) {
        free(name);
        return st;
    }
    pthread_mutex_lock(&t->mu);
    gen *g = t->gens;
    if (g->client_cred)
        gnutls_certificate_free_credentials(g->client_cred);
    g->client_cred = cred;
    free(t->client_ca_file);
    t->client_ca_file = name;
    t->seen[2] = sig;
    pthread_mutex_unlock(&t->mu);
    return WH_OK;
}

bool wh_tls_client_ca_required(const wh_tls *t)
{
    return t->client_ca_file != NULL;
}

/* The guard's hooks on a new server session (see wh_tls_conn_open). */
static void watch_session(gnutls_session_t s)
{
    gnutls_transport_set_pull_function(s, pull);
    gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_POST,
                                       on_finished);
}
