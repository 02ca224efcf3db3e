/*
 * kube5xx-webhook: the certs command (see wh_certs.h).
 */
#include "wh_certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool wh_certs_dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0 && i < n - 1);
        if (!ok)
            return false;
    }
    return true;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate for `key` signed by `ca_key` (self-signed when ca is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key, unsigned days,
                       const char *san)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f; /* a positive serial */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto fail;
    BN_free(bn);
    bn = NULL;
    if (!X509_set_version(x, 2))
        goto fail;
    /* Backdated an hour: nodes with a slightly slow clock must accept it at once. */
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400L))
        goto fail;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"kube5xx", -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0))
        goto fail;
    if (!X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name))
        goto fail;
    if (!X509_set_pubkey(x, key))
        goto fail;
    X509 *issuer = ca ? ca : x;
    if (!ca) {
        if (!add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
            !add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") ||
            !add_ext(x, issuer, NID_subject_key_identifier, "hash"))
            goto fail;
    } else {
        if (!add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") ||
            !add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") ||
            !add_ext(x, issuer, NID_ext_key_usage, "serverAuth") ||
            !add_ext(x, issuer, NID_subject_key_identifier, "hash") ||
            !add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") ||
            !add_ext(x, issuer, NID_subject_alt_name, san))
            goto fail;
    }
    if (!X509_sign(x, ca ? ca_key : key, EVP_sha256()))
        goto fail;
    return x;
fail:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

/* PEM of a certificate or a private key, malloc'd. */
static char *to_pem(X509 *x, EVP_PKEY *k, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return NULL;
    int ok = x ? PEM_write_bio_X509(b, x)
               : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *out = NULL;
    if (ok) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = n > 0 ? malloc((size_t)n + 1) : NULL;
        if (out) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
            *len = (size_t)n;
        }
    }
    BIO_free(b);
    return out;
}

/* Writes data to dir/name through a temporary file and a rename. */
static wh_status write_atomic(const char *dir, const char *name, const char *data, size_t len,
                              mode_t mode, char *err, size_t errsz)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, name, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
        return WH_EIO;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return WH_EIO;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        return WH_EIO;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return WH_EIO;
    }
    return WH_OK;
}

/* An IPv4 or IPv6 address, normalised into out (when given). */
static bool san_ip(const char *s, char *out, size_t size)
{
    unsigned char a[16];
    char text[INET6_ADDRSTRLEN];
    int af = inet_pton(AF_INET, s, a) == 1    ? AF_INET
             : inet_pton(AF_INET6, s, a) == 1 ? AF_INET6
                                               : 0;
    if (!af || !inet_ntop(af, a, text, sizeof text))
        return false;
    if (out)
        snprintf(out, size, "%s", text);
    return true;
}

/* A DNS name: letters, digits, '-' and '.', an optional leading "*.", at most 253. */
static bool san_dns(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    if (strncmp(s, "*.", 2) == 0)
        s += 2;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            return false;
    return *s && *s != '.' && *s != '-';
}

wh_status wh_certs_generate(const wh_certs_opts *o, char **ca_bundle, char *err, size_t errsz)
{
    static const char *const files[] = {"ca.crt", "tls.crt", "tls.key"};
    if (!wh_certs_dns_label(o->service) || !wh_certs_dns_label(o->namespace_)) {
        snprintf(err, errsz,
                 "--service and --namespace must be DNS labels (lower-case letters, digits and "
                 "'-', at most 63)");
        return WH_EINVAL;
    }
    if (o->nsans > WH_CERTS_MAX_SANS) {
        snprintf(err, errsz, "at most %u --san", WH_CERTS_MAX_SANS);
        return WH_EINVAL;
    }
    for (size_t i = 0; i < o->nsans; i++) {
        if (!san_ip(o->sans[i], NULL, 0) && !san_dns(o->sans[i])) {
            snprintf(err, errsz, "--san '%.100s' is neither a DNS name nor an IP address",
                     o->sans[i]);
            return WH_EINVAL;
        }
    }
    if (o->days < 1 || o->days > WH_CERTS_MAX_DAYS) {
        snprintf(err, errsz, "--days must be between 1 and %u", WH_CERTS_MAX_DAYS);
        return WH_EINVAL;
    }
    if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "%s: %s", o->out_dir, strerror(errno));
        return WH_EIO;
    }
    if (!o->force) {
        for (size_t i = 0; i < 3; i++) {
            char path[4096];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", o->out_dir, files[i]);
            if (lstat(path, &st) == 0) {
                snprintf(err, errsz, "%s exists (use --force to overwrite)", path);
                return WH_EEXIST;
            }
        }
    }

    wh_status st = WH_ENOMEM;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *leaf = NULL;
    char *pem[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    char *b64 = NULL;
    char san[1024 + WH_CERTS_MAX_SANS * 264], cn[256];
    int sl = snprintf(san, sizeof san, "DNS:%s,DNS:%s.%s,DNS:%s.%s.svc,DNS:%s.%s.svc.cluster.local",
                      o->service, o->service, o->namespace_, o->service, o->namespace_,
                      o->service, o->namespace_);
    for (size_t i = 0; i < o->nsans && sl > 0 && (size_t)sl < sizeof san; i++) {
        char ip[INET6_ADDRSTRLEN];
        bool is_ip = san_ip(o->sans[i], ip, sizeof ip);
        sl += snprintf(san + sl, sizeof san - (size_t)sl, ",%s:%s", is_ip ? "IP" : "DNS",
                       is_ip ? ip : o->sans[i]);
    }
    snprintf(cn, sizeof cn, "%s.%s.svc", o->service, o->namespace_);

    ca_key = EVP_EC_gen("P-256");
    key = EVP_EC_gen("P-256");
    if (!ca_key || !key) {
        snprintf(err, errsz, "cannot generate an ECDSA P-256 key");
        st = WH_ETLS;
        goto out;
    }
    ca = make_cert(ca_key, "kube5xx-webhook-ca", NULL, NULL, o->days, NULL);
    leaf = ca ? make_cert(key, cn, ca, ca_key, o->days, san) : NULL;
    if (!ca || !leaf) {
        snprintf(err, errsz, "cannot build the certificates");
        st = WH_ETLS;
        goto out;
    }
    pem[0] = to_pem(ca, NULL, &len[0]);
    pem[1] = to_pem(leaf, NULL, &len[1]);
    pem[2] = to_pem(NULL, key, &len[2]);
    if (!pem[0] || !pem[1] || !pem[2]) {
        snprintf(err, errsz, "cannot encode the certificates");
        goto out;
    }
    size_t blen = 4 * ((len[0] + 2) / 3) + 1;
    b64 = malloc(blen);
    if (!b64) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pem[0], (int)len[0]);
    /* The key first: a watcher that sees the new certificate then finds its key in place. */
    static const int order[3] = {2, 1, 0};
    for (size_t i = 0; i < 3; i++) {
        int k = order[i];
        st = write_atomic(o->out_dir, files[k], pem[k], len[k], k == 2 ? 0600 : 0644, err, errsz);
        if (st != WH_OK)
            goto out;
    }
    *ca_bundle = b64;
    b64 = NULL;
    st = WH_OK;
out:
    free(b64);
    for (size_t i = 0; i < 3; i++) {
        if (pem[i])
            OPENSSL_cleanse(pem[i], len[i]);
        free(pem[i]);
    }
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    return st;
}
