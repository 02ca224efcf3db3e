/*
 * Unit tests of wh_certs (the certs command) and wh_tls (loading, refusing
 * bad pairs, rotation, keeping replaced pairs alive for open connections).
 */
#include "wh_test_util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include "wh_certs.h"
#include "wh_tls.h"

static char g_dir[64];

static int setup(void **state)
{
    (void)state;
    return wh_test_mkdtemp(g_dir, sizeof g_dir, "tls");
}

static int teardown(void **state)
{
    (void)state;
    return wh_test_rmtree(g_dir);
}

static void path(char *out, size_t size, const char *sub, const char *file)
{
    snprintf(out, size, "%s/%s/%s", g_dir, sub, file);
}

static void gen(const char *sub, bool force, wh_status want)
{
    char dir[256], err[512] = "";
    snprintf(dir, sizeof dir, "%s/%s", g_dir, sub);
    wh_certs_opts o = {"hook", "ns1", dir, 30, force, NULL, 0};
    char *bundle = NULL;
    wh_status st = wh_certs_generate(&o, &bundle, err, sizeof err);
    if (st != want)
        fail_msg("certs: %s (%s)", wh_status_str(st), err);
    if (st == WH_OK) {
        assert_non_null(bundle);
        assert_true(strlen(bundle) > 100);
        assert_null(strchr(bundle, '\n'));
    }
    free(bundle);
}

/* Loads the pair gen() wrote into sub; c and k receive its paths. */
static wh_tls *load_pair(const char *sub, char c[static 256], char k[static 256])
{
    char err[512];
    path(c, 256, sub, "tls.crt");
    path(k, 256, sub, "tls.key");
    wh_tls *t = NULL;
    assert_int_equal(wh_tls_new(c, k, &t, err, sizeof err), WH_OK);
    return t;
}

static void test_wh_certs__writes_secret_layout_and_refuses_overwrite(void **state)
{
    (void)state;
    gen("a", false, WH_OK);
    char p[256];
    struct stat st;
    path(p, sizeof p, "a", "tls.key");
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    path(p, sizeof p, "a", "ca.crt");
    assert_int_equal(stat(p, &st), 0);
    gen("a", false, WH_EEXIST);
    gen("a", true, WH_OK);
    char dir[256], err[256];
    snprintf(dir, sizeof dir, "%s/b", g_dir);
    wh_certs_opts bad = {"Not_A_Label", "ns1", dir, 30, false, NULL, 0};
    char *bundle = NULL;
    assert_int_equal(wh_certs_generate(&bad, &bundle, err, sizeof err), WH_EINVAL);
    wh_certs_opts days = {"hook", "ns1", dir, 0, false, NULL, 0};
    assert_int_equal(wh_certs_generate(&days, &bundle, err, sizeof err), WH_EINVAL);
    assert_null(bundle);
}

static void test_wh_certs__extra_sans_for_local_use(void **state)
{
    (void)state;
    char dir[256], err[512] = "", p[256];
    snprintf(dir, sizeof dir, "%s/san", g_dir);
    const char *sans[] = {"localhost", "127.0.0.1", "::1", "*.example.test"};
    wh_certs_opts o = {"hook", "ns1", dir, 30, false, sans, 4};
    char *bundle = NULL;
    assert_int_equal(wh_certs_generate(&o, &bundle, err, sizeof err), WH_OK);
    free(bundle);
    bundle = NULL;
    path(p, sizeof p, "san", "tls.crt");
    FILE *f = fopen(p, "r");
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "a.example.test", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "hook.ns1.svc", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.0.0.1", 0), 0);
    X509_free(x);
    /* Neither a name nor an address: refused, nothing written. */
    const char *bad[] = {"bad name,DNS:evil"};
    wh_certs_opts b = {"hook", "ns1", dir, 30, true, bad, 1};
    assert_int_equal(wh_certs_generate(&b, &bundle, err, sizeof err), WH_EINVAL);
    assert_null(bundle);
}

static void test_wh_certs__leaf_has_service_sans_and_p256(void **state)
{
    (void)state;
    gen("c", false, WH_OK);
    char p[256];
    path(p, sizeof p, "c", "tls.crt");
    FILE *f = fopen(p, "r");
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    const char *want[] = {"hook", "hook.ns1", "hook.ns1.svc", "hook.ns1.svc.cluster.local"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(X509_check_host(x, want[i], 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "other.ns1.svc", 0, 0, NULL), 0);
    EVP_PKEY *k = X509_get0_pubkey(x);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_bits(k), 256);
    X509_free(x);
}

static void test_wh_tls__loads_pair_and_reports_expiry(void **state)
{
    (void)state;
    gen("d", false, WH_OK);
    char c[256], k[256];
    wh_tls *t = load_pair("d", c, k);
    wh_tls_info i = wh_tls_current(t);
    assert_int_equal(i.generation, 1);
    int64_t now = wh_wall_s();
    assert_true(i.not_before <= now && i.not_after > now + 29 * 86400);
    assert_true(strlen(i.fingerprint) == 95);
    wh_tls_free(&t);
    assert_null(t);
}

static void test_wh_tls__refuses_mismatched_and_garbage(void **state)
{
    (void)state;
    gen("e", false, WH_OK);
    gen("f", false, WH_OK);
    char c[256], k[256], err[512];
    path(c, sizeof c, "e", "tls.crt");
    path(k, sizeof k, "f", "tls.key");
    wh_tls *t = NULL;
    assert_int_equal(wh_tls_new(c, k, &t, err, sizeof err), WH_ETLS);
    assert_non_null(strstr(err, "does not match"));
    assert_null(t);
    path(k, sizeof k, "e", "ca.crt"); /* a certificate where the key should be */
    assert_int_equal(wh_tls_new(c, k, &t, err, sizeof err), WH_ETLS);
    path(k, sizeof k, "e", "missing.key");
    assert_int_equal(wh_tls_new(c, k, &t, err, sizeof err), WH_EIO);
    assert_null(t);
}

/* Writes an expired self-signed pair (the certs command cannot make one). */
static void write_expired(const char *c, const char *k)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -10 * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), -86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"old", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    FILE *f = fopen(c, "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(k, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void replace(const char *from, const char *to)
{
    size_t n;
    char *b = wh_test_read(from, &n);
    assert_non_null(b);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.new", to);
    FILE *f = fopen(tmp, "w");
    fwrite(b, 1, n, f);
    fclose(f);
    assert_int_equal(rename(tmp, to), 0);
    free(b);
}

static void test_wh_tls__rotation_keeps_old_pair_on_bad_input(void **state)
{
    (void)state;
    gen("g", false, WH_OK);
    gen("h", false, WH_OK);
    char c[256], k[256], c2[256], k2[256], err[512];
    wh_tls *t = load_pair("g", c, k);
    char fp1[96];
    snprintf(fp1, sizeof fp1, "%s", wh_tls_current(t).fingerprint);
    bool reloaded = true;
    assert_int_equal(wh_tls_check(t, false, &reloaded, err, sizeof err), WH_OK);
    assert_false(reloaded);

    /* Only the certificate changes: key mismatch, refused, the old pair stays. */
    path(c2, sizeof c2, "h", "tls.crt");
    path(k2, sizeof k2, "h", "tls.key");
    replace(c2, c);
    assert_int_equal(wh_tls_check(t, false, &reloaded, err, sizeof err), WH_ETLS);
    assert_false(reloaded);
    assert_string_equal(wh_tls_current(t).fingerprint, fp1);
    /* Looked at once: no retry (and no log line) until the files change again. */
    assert_int_equal(wh_tls_check(t, false, &reloaded, err, sizeof err), WH_OK);
    /* The key follows: accepted. */
    replace(k2, k);
    assert_int_equal(wh_tls_check(t, false, &reloaded, err, sizeof err), WH_OK);
    assert_true(reloaded);
    assert_int_equal(wh_tls_current(t).generation, 2);
    assert_string_not_equal(wh_tls_current(t).fingerprint, fp1);

    /* An expired pair is refused. */
    write_expired(c, k);
    assert_int_equal(wh_tls_check(t, false, &reloaded, err, sizeof err), WH_ETLS);
    assert_non_null(strstr(err, "expired"));
    assert_int_equal(wh_tls_current(t).generation, 2);
    /* Garbage is refused. */
    FILE *f = fopen(c, "w");
    fputs("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    assert_int_equal(wh_tls_check(t, true, &reloaded, err, sizeof err), WH_ETLS);
    assert_int_equal(wh_tls_current(t).generation, 2);
    wh_tls_free(&t);
}

static void test_wh_tls__replaced_pair_freed_after_its_connections_close(void **state)
{
    (void)state;
    gen("i", false, WH_OK);
    char c[256], k[256], err[512];
    wh_tls *t = load_pair("i", c, k);
    void *conn1 = wh_tls_conn_open(t, NULL, false); /* opened under generation 1 */
    bool reloaded;
    gen("i", true, WH_OK);
    assert_int_equal(wh_tls_check(t, true, &reloaded, err, sizeof err), WH_OK);
    assert_true(reloaded);
    void *conn2 = wh_tls_conn_open(t, NULL, false); /* under generation 2 */
    gen("i", true, WH_OK);
    assert_int_equal(wh_tls_check(t, true, &reloaded, err, sizeof err), WH_OK);
    /* Generation 1 has an open connection, so 1 and 2 stay. */
    assert_int_equal(wh_tls_generations(t), 3);
    wh_tls_conn_close(t, conn2);
    /* 2 is idle but a connection from 1 (which may handshake with 2) is open. */
    assert_int_equal(wh_tls_generations(t), 3);
    wh_tls_conn_close(t, conn1);
    assert_int_equal(wh_tls_generations(t), 1);
    assert_int_equal(wh_tls_current(t).generation, 3);
    wh_tls_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_certs__writes_secret_layout_and_refuses_overwrite),
        cmocka_unit_test(test_wh_certs__leaf_has_service_sans_and_p256),
        cmocka_unit_test(test_wh_certs__extra_sans_for_local_use),
        cmocka_unit_test(test_wh_tls__loads_pair_and_reports_expiry),
        cmocka_unit_test(test_wh_tls__refuses_mismatched_and_garbage),
        cmocka_unit_test(test_wh_tls__rotation_keeps_old_pair_on_bad_input),
        cmocka_unit_test(test_wh_tls__replaced_pair_freed_after_its_connections_close),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
