/*
 * kube5xx-webhook: arguments, signals, reloads and exit codes.
 *
 *   kube5xx-webhook [serve] --tls-cert FILE --tls-key FILE [flags]
 *   kube5xx-webhook certs --service NAME --namespace NS --out DIR [--days 365] [--force]
 *
 * Exit codes: 0 success (and after a graceful shutdown), 1 failure (cannot
 * start: port, certificate, config; cannot write certificates), 2 usage
 * error, 3 certs: a file exists and --force was not given.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fe.h"
#include "wh_admission.h"
#include "wh_cache.h"
#include "wh_certs.h"
#include "wh_config.h"
#include "wh_guard.h"
#include "wh_informer.h"
#include "wh_kinds.h"
#include "wh_log.h"
#include "wh_metrics.h"
#include "wh_server.h"
#include "wh_tls.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_EXISTS = 3 };

static const char usage_text[] =
    "Usage:\n"
    "  kube5xx-webhook [serve] --tls-cert FILE --tls-key FILE [flags]\n"
    "  kube5xx-webhook certs --service NAME --namespace NS --out DIR [--san NAME|IP]...\n"
    "                        [--days 365] [--force]\n"
    "  kube5xx-webhook manifest-rules vwc|rbac [--indent N]\n"
    "  kube5xx-webhook --help | --version\n"
    "\n"
    "serve: a validating admission webhook (POST /validate over HTTPS) that denies or warns\n"
    "about configuration causing HTTP 502/503/504, using kube5xx's single-object rules.\n"
    "  --tls-cert FILE        serving certificate chain, PEM (tls.crt of a kubernetes.io/tls\n"
    "                         Secret); reloaded when the file changes\n"
    "  --tls-key FILE         its private key, PEM (tls.key); reloaded with the certificate\n"
    "  --port N               HTTPS port for /validate (default 8443; 0 picks a free port)\n"
    "  --health-port N        plain-HTTP port for /livez, /readyz, /metrics (default 8081)\n"
    "  --config FILE          kube5xx config (.kube5xx.yaml: rules, exemptions, webhook mode,\n"
    "                         ratchet); reloaded on SIGHUP and when the file changes\n"
    "  --shutdown-delay D     after SIGTERM, keep serving this long with readiness false and\n"
    "                         'Connection: close' before stopping (default 10s)\n"
    "  --drain-timeout D      then wait at most this long for requests in flight (default 5s)\n"
    "  --log-level L          debug, info, warn or error (default info); one JSON line per\n"
    "                         review at info\n"
    "  --threads N            TLS worker threads (default: one per CPU it may run on)\n"
    "  --max-connections N    TLS connections; past it the one idle or unfinished longest is\n"
    "                         closed (default: from RLIMIT_NOFILE, at most 1024)\n"
    "  --client-ca FILE       require client certificates signed by a CA in FILE (PEM): the\n"
    "                         API server's, from its AdmissionConfiguration kubeconfig;\n"
    "                         reloaded when it changes\n"
    "  --max-inflight-bytes N request bytes buffered at once (Ki, Mi, Gi; default 64Mi); a\n"
    "                         request that does not fit gets 429 with Retry-After\n"
    "  --idle-timeout D       keep-alive idle timeout, above Go's 90s (default 120s)\n"
    "  --handshake-timeout D  a new TLS connection must finish its handshake within this\n"
    "                         (default 5s); then it is closed\n"
    "  --watch-interval D     how often certificate and config files are checked (default 1s)\n"
    "  --loopback             listen on 127.0.0.1 only (local runs and tests)\n"
    "  --cluster-cache M      on, off or auto (default auto: on with --kubeconfig or inside a\n"
    "                         cluster, KUBERNETES_SERVICE_HOST set): list and watch the kinds\n"
    "                         the cross-object rules read and judge each object with them;\n"
    "                         off judges every object alone\n"
    "  --kubeconfig FILE      the API server to watch (default $KUBECONFIG, ~/.kube/config,\n"
    "                         then in-cluster)\n"
    "  --context NAME         the kubeconfig context (default its current-context)\n"
    "  --cache-sync-timeout D /readyz waits this long for the first lists; then single-object\n"
    "                         rules until they are in (default 30s)\n"
    "\n"
    "certs: a CA and a serving certificate (ECDSA P-256) for the webhook's Service.\n"
    "  --service NAME         Service name (SANs NAME, NAME.NS, NAME.NS.svc,\n"
    "                         NAME.NS.svc.cluster.local)\n"
    "  --namespace NS         Service namespace\n"
    "  --out DIR              writes DIR/ca.crt, DIR/tls.crt, DIR/tls.key; prints the base64\n"
    "                         caBundle on stdout\n"
    "  --san NAME|IP          also valid for this DNS name or IP address (repeatable, up to\n"
    "                         16; e.g. --san localhost --san 127.0.0.1 for a local run)\n"
    "  --days N               validity (default 365)\n"
    "  --force                overwrite existing files\n"
    "\n"
    "manifest-rules: the `rules:` items, from the kind table, of the webhook's\n"
    "ValidatingWebhookConfiguration (vwc: the kinds it judges) or of its ClusterRole (rbac:\n"
    "the kinds its cluster cache lists and watches), as YAML indented by N spaces (default 0).\n"
    "\n"
    "Durations are Go durations (10s, 1m30s, 500ms). Exit codes: 0 ok, 1 failure, 2 usage,\n"
    "3 certs: a file exists (use --force).\n";

static int usage_error(const char *fmt, const char *arg)
{
    fe_usage_error(stderr, "kube5xx-webhook", NULL, fmt, arg);
    return EXIT_USAGE;
}

/* Parses a non-negative integer flag value with range checks. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* A byte count, optionally with a binary suffix (Ki, Mi, Gi), at most 64Gi. */
static bool parse_bytes(const char *s, unsigned long long *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    unsigned shift = 0;
    if (strcmp(end, "Ki") == 0)
        shift = 10;
    else if (strcmp(end, "Mi") == 0)
        shift = 20;
    else if (strcmp(end, "Gi") == 0)
        shift = 30;
    else if (*end)
        return false;
    if (v > (64ull << 30) >> shift)
        return false;
    *out = v << shift;
    return true;
}

/* A Go duration, in milliseconds (rounded up). */
static bool parse_duration_ms(const char *s, int64_t *ms)
{
    int64_t ns;
    if (!wh_duration_parse(s, &ns))
        return false;
    *ms = ns / 1000000 + (ns % 1000000 != 0);
    return true;
}

/* Splits "--flag=value" or "--flag value"; returns the value or NULL. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

/* Prints the manifests' kind lists from the kind table (scripts/gen-manifests.sh uses it). */
static int cmd_manifest_rules(int argc, char **argv, int first)
{
    const char *what = NULL;
    long indent = 0;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--indent") == 0 && i + 1 < argc) {
            char *end;
            const char *v = argv[++i];
            indent = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || indent < 0 || indent > 64)
                return usage_error("--indent: not a number between 0 and 64: '%s'", v);
        } else if (!what && (strcmp(argv[i], "vwc") == 0 || strcmp(argv[i], "rbac") == 0))
            what = argv[i];
        else
            return usage_error("manifest-rules: unknown argument '%s'", argv[i]);
    }
    if (!what)
        return usage_error("%s", "manifest-rules needs vwc or rbac");
    bool ok = strcmp(what, "vwc") == 0 ? wh_kinds_write_vwc_rules(stdout, (int)indent)
                                       : wh_kinds_write_rbac_rules(stdout, (int)indent);
    if (fflush(stdout) != 0 || !ok) {
        fprintf(stderr, "kube5xx-webhook manifest-rules: cannot write to standard output\n");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int cmd_certs(int argc, char **argv, int first)
{
    wh_certs_opts o = {NULL, NULL, NULL, 365, false, NULL, 0};
    const char *sans[WH_CERTS_MAX_SANS];
    o.sans = sans;
    for (int i = first; i < argc; i++) {
        const char *v;
        unsigned long u;
        if ((v = flag_value(argc, argv, &i, "--san"))) {
            if (o.nsans == WH_CERTS_MAX_SANS)
                return usage_error("%s", "certs: too many --san (at most 16)");
            sans[o.nsans++] = v;
        } else if ((v = flag_value(argc, argv, &i, "--service")))
            o.service = v;
        else if ((v = flag_value(argc, argv, &i, "--namespace")))
            o.namespace_ = v;
        else if ((v = flag_value(argc, argv, &i, "--out")))
            o.out_dir = v;
        else if ((v = flag_value(argc, argv, &i, "--days"))) {
            if (!parse_uint(v, WH_CERTS_MAX_DAYS, &u) || u == 0)
                return usage_error("--days: not a number of days between 1 and 3650: '%s'", v);
            o.days = (unsigned)u;
        } else if (strcmp(argv[i], "--force") == 0)
            o.force = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        } else
            return usage_error("certs: unknown argument '%s'", argv[i]);
    }
    if (!o.service || !*o.service || !o.namespace_ || !*o.namespace_ || !o.out_dir || !*o.out_dir)
        return usage_error("%s", "certs needs --service, --namespace and --out");
    char err[1024] = "";
    char *bundle = NULL;
    wh_status st = wh_certs_generate(&o, &bundle, err, sizeof err);
    if (st != WH_OK) {
        fprintf(stderr, "kube5xx-webhook certs: %s\n", err[0] ? err : wh_status_str(st));
        return st == WH_EEXIST ? EXIT_EXISTS : st == WH_EINVAL ? EXIT_USAGE : EXIT_FAIL;
    }
    printf("%s\n", bundle);
    free(bundle);
    fprintf(stderr,
            "kube5xx-webhook certs: wrote %s/ca.crt, %s/tls.crt, %s/tls.key (ECDSA P-256, %u "
            "days); the caBundle is on stdout\n",
            o.out_dir, o.out_dir, o.out_dir, o.days);
    return EXIT_OK;
}

typedef struct app {
    wh_config *cfg;
    wh_metrics *metrics;
    wh_cache *cache; /* NULL: --cluster-cache off */
} app;

static void handle(void *ud, const wh_http_request *req, wh_http_reply *reply)
{
    app *a = ud;
    int64_t t0 = wh_now_ns();
    void *tok;
    const k5_config *cfg = wh_config_acquire(a->cfg, &tok);
    wh_review rv;
    wh_status st = wh_admission_review_cached(cfg, a->cache, req->body, req->len, req->deadline_ns,
                                              req->warn_only ? WH_REVIEW_WARN_ONLY : 0, &rv);
    wh_config_release(a->cfg, tok);
    if (!req->probe)
        wh_review_record(&rv, a->metrics, wh_now_ns() - t0);
    reply->status = rv.http_status;
    reply->body = rv.body;
    reply->len = rv.body_len;
    reply->content_type = rv.content_type;
    if (st != WH_OK && !rv.body)
        reply->status = 500; /* the server answers a bare 500 */
}

static bool ready(void *ud, char *why, size_t whysz)
{
    app *a = ud;
    /* The config is always loaded (a bad one is refused at start and reload); the cluster
     * cache is ready once its first lists are in, or once --cache-sync-timeout has passed. */
    return !a->cache || wh_cache_ready(a->cache, why, whysz);
}

static void cert_loaded(wh_tls *tls, wh_metrics *m, const char *what)
{
    wh_tls_info ti = wh_tls_current(tls);
    wh_metrics_cert_expiry(m, ti.not_after);
    wh_logline l;
    wh_logline_begin(&l, WH_LOG_INFO, what);
    wh_logline_int(&l, "generation", (int64_t)ti.generation);
    wh_logline_str(&l, "sha256", ti.fingerprint);
    wh_logline_int(&l, "notAfter", ti.not_after);
    wh_logline_emit(&l);
}

static void cert_expiry_warning(wh_tls *tls)
{
    wh_tls_info ti = wh_tls_current(tls);
    int64_t left = ti.not_after - wh_wall_s();
    if (left < 30 * 86400) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_WARN, "the serving certificate expires in less than 30 days");
        wh_logline_int(&l, "notAfter", ti.not_after);
        wh_logline_int(&l, "daysLeft", left / 86400);
        wh_logline_emit(&l);
    }
}

static void check_files(wh_tls *tls, wh_config *cfg, wh_metrics *m, bool force)
{
    char err[1024] = "";
    bool reloaded = false;
    wh_status st = wh_tls_check(tls, force, &reloaded, err, sizeof err);
    if (st != WH_OK) {
        wh_metrics_cert_reload(m, false);
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_ERROR,
                         wh_tls_client_ca_required(tls)
                             ? "new certificate or client CA refused; the old ones keep serving"
                             : "new certificate refused; the old one keeps serving");
        wh_logline_str(&l, "error", err);
        wh_logline_emit(&l);
    } else if (reloaded) {
        wh_metrics_cert_reload(m, true);
        cert_loaded(tls, m,
                    wh_tls_client_ca_required(tls) ? "certificate and client CA reloaded"
                                                   : "certificate reloaded");
        cert_expiry_warning(tls);
    }
    err[0] = '\0';
    st = wh_config_check(cfg, force, &reloaded, err, sizeof err);
    if (st != WH_OK) {
        wh_metrics_config_reload(m, false);
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_ERROR, "new config refused; the old one stays");
        wh_logline_str(&l, "error", err);
        wh_logline_emit(&l);
    } else if (reloaded) {
        wh_metrics_config_reload(m, true);
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_INFO, "config reloaded");
        wh_logline_str(&l, "file", wh_config_path(cfg));
        wh_logline_emit(&l);
    }
}

/* Everything `serve` reads from its flags, with the defaults. */
typedef struct serve_opts {
    const char *cert, *key, *config, *client_ca;
    unsigned long port, health, threads, conns;
    unsigned long long inflight;
    int64_t delay_ms, drain_ms, idle_ms, watch_ms, handshake_ms;
    bool loopback;
    wh_log_level lvl;
    const char *cluster_cache, *kubeconfig, *context;
    int64_t sync_ms;
} serve_opts;

typedef enum flag_kind {
    FLAG_STR,    /* a string; min 1: must not be empty */
    FLAG_UINT,   /* unsigned long in [min, max] */
    FLAG_BYTES,  /* a byte count with Ki, Mi, Gi, in [min, max] */
    FLAG_MS,     /* a Go duration, in milliseconds (rounded up), in [min, max] */
    FLAG_LEVEL,  /* a log level */
    FLAG_CHOICE, /* one of the space-separated words in choices */
    FLAG_SWITCH  /* no value: sets a bool */
} flag_kind;

/* One serve flag: how its value is read, where it goes, and what the error says it must be. */
typedef struct serve_flag {
    const char *name;
    flag_kind kind;
    size_t off; /* in serve_opts */
    unsigned long long min, max;
    const char *choices;
    const char *want; /* "--port: not a port number: 'x'" */
} serve_flag;

/* One line per flag below; clang-format would spread this initializer over four. */
/* clang-format off */
#define SF(name, kind, field, min, max, choices, want)                                           \
    {name, kind, offsetof(serve_opts, field), min, max, choices, want}
/* clang-format on */
static const serve_flag serve_flags[] = {
    SF("--tls-cert", FLAG_STR, cert, 1, 0, NULL, "a file"),
    SF("--tls-key", FLAG_STR, key, 1, 0, NULL, "a file"),
    SF("--config", FLAG_STR, config, 0, 0, NULL, "a file"),
    SF("--client-ca", FLAG_STR, client_ca, 0, 0, NULL, "a file"),
    SF("--port", FLAG_UINT, port, 0, 65535, NULL, "a port number"),
    SF("--health-port", FLAG_UINT, health, 0, 65535, NULL, "a port number"),
    SF("--threads", FLAG_UINT, threads, 1, 256, NULL, "a number between 1 and 256"),
    SF("--max-connections", FLAG_UINT, conns, 1, 100000, NULL, "a number between 1 and 100000"),
    SF("--max-inflight-bytes", FLAG_BYTES, inflight, 4ull << 20, 64ull << 30, NULL,
       "a size of at least 4Mi (bytes, or with Ki, Mi, Gi)"),
    SF("--shutdown-delay", FLAG_MS, delay_ms, 0, 3600000, NULL, "a duration up to 1h"),
    SF("--drain-timeout", FLAG_MS, drain_ms, 0, 3600000, NULL, "a duration up to 1h"),
    SF("--idle-timeout", FLAG_MS, idle_ms, 1000, 3600000, NULL, "a duration between 1s and 1h"),
    SF("--watch-interval", FLAG_MS, watch_ms, 10, 3600000, NULL, "a duration between 10ms and 1h"),
    SF("--handshake-timeout", FLAG_MS, handshake_ms, 100, 600000, NULL,
       "a duration between 100ms and 10m"),
    SF("--log-level", FLAG_LEVEL, lvl, 0, 0, NULL, "one of debug, info, warn, error"),
    SF("--loopback", FLAG_SWITCH, loopback, 0, 0, NULL, ""),
    SF("--cluster-cache", FLAG_CHOICE, cluster_cache, 0, 0, "on off auto", "one of on, off, auto"),
    SF("--kubeconfig", FLAG_STR, kubeconfig, 1, 0, NULL, "a file"),
    SF("--context", FLAG_STR, context, 1, 0, NULL, "a name"),
    SF("--cache-sync-timeout", FLAG_MS, sync_ms, 1, 3600000, NULL,
       "a duration between 1ms and 1h"),
};
#undef SF

static bool is_choice(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *c = choices; n && *c;) {
        const char *end = strchr(c, ' ');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == n && strncmp(c, v, n) == 0)
            return true;
        c += len + (end != NULL);
    }
    return false;
}

/* Reads one flag's value into o; false when it is not what the flag wants. */
static bool flag_set(const serve_flag *f, const char *v, serve_opts *o)
{
    char *dst = (char *)o + f->off;
    unsigned long ul;
    unsigned long long ull;
    int64_t ms;
    switch (f->kind) {
    case FLAG_STR:
        if (f->min && !*v)
            return false;
        memcpy(dst, &v, sizeof v);
        return true;
    case FLAG_UINT:
        if (!parse_uint(v, (unsigned long)f->max, &ul) || ul < f->min)
            return false;
        memcpy(dst, &ul, sizeof ul);
        return true;
    case FLAG_BYTES:
        if (!parse_bytes(v, &ull) || ull < f->min || ull > f->max)
            return false;
        memcpy(dst, &ull, sizeof ull);
        return true;
    case FLAG_MS:
        if (!parse_duration_ms(v, &ms) || ms < (int64_t)f->min || ms > (int64_t)f->max)
            return false;
        memcpy(dst, &ms, sizeof ms);
        return true;
    case FLAG_LEVEL:
        return wh_log_level_parse(v, (wh_log_level *)(void *)dst);
    case FLAG_CHOICE:
        if (!is_choice(f->choices, v))
            return false;
        memcpy(dst, &v, sizeof v);
        return true;
    case FLAG_SWITCH:
        *(bool *)(void *)dst = true;
        return true;
    }
    return false;
}

/* Reads argv[first..] through the table; returns -1 when all went well, else an exit code. */
static int parse_serve_flags(int argc, char **argv, int first, serve_opts *o)
{
    for (int i = first; i < argc; i++) {
        const serve_flag *f = NULL;
        const char *v = NULL;
        for (size_t k = 0; k < sizeof serve_flags / sizeof serve_flags[0] && !f; k++) {
            const serve_flag *c = &serve_flags[k];
            if (c->kind == FLAG_SWITCH ? strcmp(argv[i], c->name) == 0
                                       : (v = flag_value(argc, argv, &i, c->name)) != NULL)
                f = c;
        }
        if (!f)
            return usage_error("unknown argument '%s'", argv[i]);
        if (!flag_set(f, v ? v : "", o)) {
            fprintf(stderr, "kube5xx-webhook: %s: not %s: '%s'\nTry 'kube5xx-webhook --help'.\n",
                    f->name, f->want, v ? v : "");
            return EXIT_USAGE;
        }
    }
    return -1;
}

static int cmd_serve(int argc, char **argv, int first)
{
    serve_opts o = {.port = 8443,
                    .health = 8081,
                    .delay_ms = 10000,
                    .drain_ms = 5000,
                    .idle_ms = 120000,
                    .watch_ms = 1000,
                    .handshake_ms = WH_GUARD_HANDSHAKE_MS,
                    .lvl = WH_LOG_INFO,
                    .cluster_cache = "auto",
                    .sync_ms = (int64_t)WH_CACHE_SYNC_TIMEOUT_S * 1000};
    int prc = parse_serve_flags(argc, argv, first, &o);
    if (prc >= 0)
        return prc;
    const char *cert = o.cert, *key = o.key, *config = o.config, *client_ca = o.client_ca;
    unsigned long port = o.port, health = o.health, threads = o.threads, conns = o.conns;
    unsigned long long inflight = o.inflight;
    int64_t delay_ms = o.delay_ms, drain_ms = o.drain_ms, idle_ms = o.idle_ms,
            watch_ms = o.watch_ms, handshake_ms = o.handshake_ms;
    bool loopback = o.loopback;
    wh_log_level lvl = o.lvl;
    const char *kubeconfig = o.kubeconfig, *context = o.context, *cluster_cache = o.cluster_cache;
    int64_t sync_ms = o.sync_ms;
    if (!cert || !*cert || !key || !*key)
        return usage_error("%s", "serve needs --tls-cert and --tls-key");
    wh_log_set_level(lvl);

    /* Signals are taken synchronously by this thread; every other thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /*
     * A fixed mmap threshold: glibc otherwise raises it to the size of the
     * largest block freed (up to 32 MiB), after which 3 MiB request bodies come
     * from the heap and stay resident after a flood. Few arenas, for the same reason.
     */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 4);

    int rc = EXIT_FAIL;
    char err[1024] = "";
    wh_metrics *metrics = NULL;
    wh_config *cfg = NULL;
    wh_tls *tls = NULL;
    wh_server *srv = NULL;
    wh_cache *cache = NULL;
    wh_informer *informer = NULL;
    if (wh_metrics_new(&metrics) != WH_OK) {
        wh_log(WH_LOG_ERROR, "out of memory");
        goto out;
    }
    if (wh_config_new(config, &cfg, err, sizeof err) != WH_OK) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_ERROR, "cannot load the config");
        wh_logline_str(&l, "error", err);
        wh_logline_emit(&l);
        goto out;
    }
    if (wh_tls_new(cert, key, &tls, err, sizeof err) != WH_OK) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_ERROR, "cannot load the serving certificate");
        wh_logline_str(&l, "error", err);
        wh_logline_emit(&l);
        goto out;
    }
    if (client_ca && wh_tls_set_client_ca(tls, client_ca, err, sizeof err) != WH_OK) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_ERROR, "cannot load the client CA");
        wh_logline_str(&l, "error", err);
        wh_logline_emit(&l);
        goto out;
    }
    cert_loaded(tls, metrics, "certificate loaded");
    cert_expiry_warning(tls);
    bool want_cache = strcmp(cluster_cache, "on") == 0 ||
                      (strcmp(cluster_cache, "auto") == 0 &&
                       (kubeconfig || context || getenv("KUBERNETES_SERVICE_HOST")));
    if (want_cache) {
        wh_cache_opts co = {sync_ms * 1000000, 0};
        if (wh_cache_new(&co, &cache) != WH_OK) {
            wh_log(WH_LOG_ERROR, "out of memory");
            goto out;
        }
        wh_metrics_set_source(metrics, wh_cache_metrics, cache);
        /* Asked for (on, --kubeconfig, --context): a failure stops the start. Only inferred
         * from KUBERNETES_SERVICE_HOST (a CI runner in a pod, a token not mounted): judged
         * alone, said loudly. */
        bool asked = strcmp(cluster_cache, "on") == 0 || kubeconfig || context;
        if (wh_informer_start(cache, kubeconfig, context, &informer, err, sizeof err) != WH_OK) {
            wh_logline l;
            wh_logline_begin(&l, asked ? WH_LOG_ERROR : WH_LOG_WARN,
                             asked ? "cannot watch the cluster (--cluster-cache=off judges "
                                     "objects alone)"
                                   : "cluster cache off: cannot load the in-cluster API "
                                     "configuration; single-object rules only");
            wh_logline_str(&l, "error", err);
            wh_logline_emit(&l);
            if (asked)
                goto out;
            wh_metrics_set_source(metrics, NULL, NULL);
            wh_cache_free(&cache);
        }
    } else {
        wh_log(WH_LOG_INFO, "cluster cache off: single-object rules only");
    }
    app a = {cfg, metrics, cache};
    wh_server_opts so = {.port = (uint16_t)port,
                         .health_port = (uint16_t)health,
                         .loopback_only = loopback,
                         .threads = (unsigned)threads,
                         .conn_limit = (unsigned)conns,
                         .idle_timeout_s = (unsigned)(idle_ms / 1000),
                         .tls = tls,
                         .metrics = metrics,
                         .handler = handle,
                         .handler_ud = &a,
                         .ready = ready,
                         .ready_ud = &a,
                         .max_inflight_bytes = (size_t)inflight,
                         .handshake_ms = (unsigned)handshake_ms};
    if (wh_server_start(&so, &srv, err, sizeof err) != WH_OK) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_ERROR, "cannot start the server");
        wh_logline_str(&l, "error", err);
        wh_logline_emit(&l);
        goto out;
    }
    uint16_t p, hp;
    wh_server_ports(srv, &p, &hp);
    {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_INFO, "listening");
        wh_logline_int(&l, "port", p);
        wh_logline_int(&l, "healthPort", hp);
        wh_logline_int(&l, "maxConnections", wh_server_conn_limit(srv));
        wh_logline_str(&l, "version", WH_VERSION);
        wh_logline_str(&l, "config", config ? config : "(defaults)");
        wh_logline_emit(&l);
    }
    /* From here on, info lines (one per review) are written in batches: at least every
     * 100 ms, at once for warn and error lines, and all of them before exit (see wh_log.h). */
    if (wh_log_buffer_start(WH_LOG_FLUSH_INTERVAL_MS) != WH_OK)
        wh_log(WH_LOG_WARN, "cannot start the log flusher; writing one line at a time");

    int64_t next_expiry_log = wh_wall_s() + 86400;
    for (;;) {
        /* /livez fails when this loop does not come round within the interval, or stays in
         * one piece of work, past WH_MAIN_STALL_MS: it alone takes SIGTERM, and a reload
         * blocked in the kernel (a FIFO, a hung mount) would otherwise go unnoticed. */
        wh_server_heartbeat(srv, watch_ms * 1000000);
        struct timespec ts = {(time_t)(watch_ms / 1000), (long)(watch_ms % 1000) * 1000000L};
        siginfo_t si;
        int sig = sigtimedwait(&sigs, &si, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP) {
            wh_log(WH_LOG_INFO, "SIGHUP: reloading the config and the certificate");
            wh_server_working(srv, "a reload of the config and certificate (SIGHUP)");
            check_files(tls, cfg, metrics, true);
            continue;
        }
        wh_server_working(srv, "the check of the config and certificate files");
        check_files(tls, cfg, metrics, false);
        if (cache) {
            wh_server_working(srv, "the cluster cache's poll");
            wh_informer_poll(informer);
            (void)wh_cache_state_at(cache, wh_now_ns()); /* logs a change of state once */
        }
        if (wh_wall_s() >= next_expiry_log) {
            cert_expiry_warning(tls);
            next_expiry_log = wh_wall_s() + 86400;
        }
    }

    wh_server_drain(srv);
    {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_INFO, "shutting down: not ready, closing connections");
        wh_logline_int(&l, "delayMillis", delay_ms);
        wh_logline_emit(&l);
    }
    /* Keep serving through the delay; a second SIGTERM or SIGINT cuts it short. */
    int64_t until = wh_now_ns() + delay_ms * 1000000;
    for (;;) {
        int64_t left = until - wh_now_ns();
        if (left <= 0)
            break;
        struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
        siginfo_t si;
        int sig = sigtimedwait(&sigs, &si, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
    }
    long in_flight = wh_server_in_flight(srv);
    wh_server_stop(&srv, (unsigned)drain_ms);
    {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_INFO, "stopped");
        wh_logline_int(&l, "inFlightAtStop", in_flight);
        wh_logline_emit(&l);
    }
    rc = EXIT_OK;
out:
    wh_server_stop(&srv, 0);
    wh_informer_stop(&informer); /* before the cache it feeds */
    wh_cache_free(&cache);
    wh_tls_free(&tls);
    wh_config_free(&cfg);
    wh_metrics_free(&metrics);
    wh_log_buffer_stop(); /* writes the lines still buffered */
    return rc;
}

int main(int argc, char **argv)
{
    int first = 1;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("kube5xx-webhook %s\n", WH_VERSION);
        return EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "certs") == 0)
        return cmd_certs(argc, argv, 2);
    if (argc > 1 && strcmp(argv[1], "manifest-rules") == 0)
        return cmd_manifest_rules(argc, argv, 2);
    if (argc > 1 && strcmp(argv[1], "serve") == 0)
        first = 2;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
    }
    return cmd_serve(argc, argv, first);
}
