/*
 * kube5xx: the Kubernetes API client (static library kube5xx_kube).
 *
 * Three layers, each usable alone:
 *   1. k5_kube_config: where the API server is and how to authenticate, from a
 *      kubeconfig file (--kubeconfig / $KUBECONFIG / ~/.kube/config, --context)
 *      or from the pod's service account (in-cluster).
 *   2. k5_kube_client: HTTPS requests through libcurl (built on OpenSSL):
 *      discovery, paginated lists (limit/continue).
 *   3. k5_kube_informer: one thread per kind that lists, then watches from the
 *      list's resourceVersion with bookmarks, relists after 410 Gone, rewatches
 *      when the server ends a watch, and backs off with jitter (honouring
 *      Retry-After) on 429, 5xx and dropped connections, as client-go's
 *      Reflector does.
 *
 * Objects handed on are cJSON trees with apiVersion and kind set (list items
 * come without them) and with metadata.managedFields and status removed: no
 * rule reads them and they are often most of an object's bytes.
 *
 * Errors follow the engine's convention: a k5_status, and the detail in a
 * caller-provided k5_error. Nothing here prints or exits.
 */
#ifndef KUBE5XX_K5_KUBE_H
#define KUBE5XX_K5_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <kube5xx/k5_status.h>

struct cJSON;

/* Named limits of everything the client reads. Exceeding one is K5_ELIMIT naming it. */
#define K5_KUBE_MAX_KUBECONFIG_BYTES (4u * 1024u * 1024u) /* one kubeconfig file */
#define K5_KUBE_MAX_KUBECONFIG_FILES 16u                  /* files in $KUBECONFIG */
#define K5_KUBE_MAX_YAML_DEPTH 64u                        /* nesting in a kubeconfig */
#define K5_KUBE_MAX_YAML_NODES 200000u                    /* nodes in one kubeconfig */
#define K5_KUBE_MAX_PEM_BYTES (1024u * 1024u)             /* a CA bundle, certificate or key */
#define K5_KUBE_MAX_TOKEN_BYTES (64u * 1024u)             /* a bearer token (file) */
#define K5_KUBE_MAX_RESPONSE_BYTES (128u * 1024u * 1024u) /* one list page or discovery document */
#define K5_KUBE_MAX_EVENT_BYTES (16u * 1024u * 1024u)     /* one watch event (JSON line) */
#define K5_KUBE_MAX_LIST_PAGES 100000u                    /* pages of one paginated list */
#define K5_KUBE_MAX_CONTINUE_BYTES 8192u                  /* a continue token */
#define K5_KUBE_MAX_RV_BYTES 128u                         /* a resourceVersion */

/* The service account's files inside a pod. */
#define K5_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* ---------------------------------------------------------------- config */

typedef struct k5_kube_config {
    char *server;       /* "https://10.0.0.1:443", no trailing slash */
    char *ca_file;      /* CA bundle path, or NULL */
    char *ca_pem;       /* CA bundle PEM bytes (certificate-authority-data), or NULL */
    char *cert_file;    /* client certificate path, or NULL */
    char *cert_pem;     /* client certificate PEM (client-certificate-data), or NULL */
    char *key_file;     /* client key path, or NULL */
    char *key_pem;      /* client key PEM (client-key-data), or NULL */
    char *token;        /* static bearer token, or NULL */
    char *token_file;   /* bearer token file, re-read when it changes, or NULL */
    bool insecure;      /* insecure-skip-tls-verify */
    char *tls_server_name; /* tls-server-name, or NULL */
    char *ns;           /* the context's namespace (or the pod's, in-cluster), or NULL */
    char *context;      /* the context used, or "in-cluster" */
    char *source;       /* the file it came from, for messages */
} k5_kube_config;

/*
 * Loads the configuration the way kubectl does:
 *   - `kubeconfig` when not NULL (one file);
 *   - else $KUBECONFIG (a ':'-separated list; for every name the first file
 *     that defines it wins, as client-go merges them);
 *   - else ~/.kube/config when it exists;
 *   - else the in-cluster config when KUBERNETES_SERVICE_HOST is set.
 * `context` selects a context (NULL: current-context). Relative file paths in
 * a kubeconfig are relative to that file's directory. Exec and auth-provider
 * credential plugins are not supported: a user that needs one is an error
 * naming the plugin. On success the caller owns *out (k5_kube_config_free);
 * on failure *out is untouched and err names the file (and line for YAML
 * errors).
 */
K5_WUR k5_status k5_kube_config_load(k5_kube_config **out, const char *kubeconfig,
                                     const char *context, k5_error *err);

/*
 * Parses one kubeconfig from memory (`len` bytes, borrowed). `name` is used in
 * messages and `dir` (may be NULL) resolves relative paths. Same ownership as
 * k5_kube_config_load.
 */
K5_WUR k5_status k5_kube_config_parse(k5_kube_config **out, const char *name, const char *dir,
                                      const char *buf, size_t len, const char *context,
                                      k5_error *err);

/*
 * The in-cluster config: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
 * the CA sa_dir/ca.crt, the token file sa_dir/token (re-read when it changes:
 * projected tokens rotate hourly) and the namespace in sa_dir/namespace.
 * `sa_dir` NULL means K5_KUBE_SA_DIR. Same ownership as k5_kube_config_load.
 */
K5_WUR k5_status k5_kube_config_in_cluster(k5_kube_config **out, const char *sa_dir,
                                           k5_error *err);

/* Deep copy; NULL when out of memory. The caller frees it. */
k5_kube_config *k5_kube_config_dup(const k5_kube_config *cfg);

/* Accepts NULL; sets *cfg to NULL. */
void k5_kube_config_free(k5_kube_config **cfg);

/* ---------------------------------------------------------------- kinds */

/*
 * A kind the rules read from a cluster, and where the API serves it. The
 * table is expanded from the engine's kind table (kube5xx/k5_kinds.def): every
 * kind flagged K5_KF_CACHE or K5_KF_AUDIT there, once per served apiVersion.
 * Adding a kind is one line in k5_kinds.def.
 */
typedef struct k5_kube_kind {
    const char *kind;     /* "Deployment" */
    const char *group;    /* "apps"; "" for the core group */
    const char *version;  /* "v1" */
    const char *resource; /* "deployments" */
    bool namespaced;
    uint64_t bit;         /* the engine's k5_kind bit (K5_KIND_DEPLOYMENT) */
    bool cached;          /* K5_KF_CACHE: the webhook's cache watches it (else audit only) */
    /* The next apiVersion to try when the server does not serve this one
     * (gateway.networking.k8s.io/v1, then v1beta1), or NULL. */
    const struct k5_kube_kind *fallback;
} k5_kube_kind;

/* Kinds in the table (their preferred apiVersion; the others through ->fallback). */
size_t k5_kube_kind_count(void);
/* The i-th kind of the table (NULL when out of range). */
const k5_kube_kind *k5_kube_kind_at(size_t i);
/* By kind name ("Deployment"), case-sensitive; NULL when not in the table. */
const k5_kube_kind *k5_kube_kind_find(const char *kind);

/* ---------------------------------------------------------------- client */

typedef struct k5_kube_client k5_kube_client;

/*
 * Creates a client for `cfg` (copied; the caller keeps cfg). The client is
 * immutable except for its token cache, which a mutex guards: one client may
 * be shared by threads, and each call opens its own connection. The caller
 * frees it with k5_kube_client_free. On failure *out is untouched.
 */
K5_WUR k5_status k5_kube_client_new(k5_kube_client **out, const k5_kube_config *cfg,
                                    k5_error *err);

/* Accepts NULL; sets *c to NULL. */
void k5_kube_client_free(k5_kube_client **c);

/* The configuration the client uses (owned by the client). */
const k5_kube_config *k5_kube_client_config(const k5_kube_client *c);

/*
 * Discovery: asks the server for the group/version of `kind`. *served is set
 * to true when the server lists kind->resource there, false when the
 * group/version or the resource is not served (a 404 counts as not served).
 * Any other failure is an error.
 */
K5_WUR k5_status k5_kube_discover(k5_kube_client *c, const k5_kube_kind *kind, bool *served,
                                  k5_error *err);

/*
 * Discovery over a kind's apiVersions, preferred first (kind, then its
 * fallbacks): *served receives the first one the server serves, or NULL when
 * it serves none. Any failure but "not served" is an error.
 */
K5_WUR k5_status k5_kube_resolve(k5_kube_client *c, const k5_kube_kind *kind,
                                 const k5_kube_kind **served, k5_error *err);

/*
 * Called for every object of a list, in order. `obj` is borrowed for the call
 * (apiVersion and kind set, managedFields and status removed). `obj` NULL
 * means the list started over (its continue token expired): forget every
 * object this list handed on so far. Return 0 to go on, non-zero to stop the
 * list (k5_kube_list then returns K5_EINVAL with "stopped by the caller").
 */
typedef int (*k5_kube_item_fn)(void *ud, const struct cJSON *obj);

/*
 * Lists every object of `kind` in namespace `ns` (NULL or "": all namespaces),
 * `limit` per page (0: 500), following continue tokens. When a continue token
 * has expired (410) the list starts over, once. `rv` (may be NULL) receives
 * the list's resourceVersion, NUL-terminated, for a watch to start from; it
 * must hold K5_KUBE_MAX_RV_BYTES. A page that fails with 429, 5xx or no
 * response at all is retried up to 5 times with jittered exponential backoff
 * (0.5 s doubling, at most 10 s), never sooner than the server's Retry-After.
 * Other HTTP failures carry the status and the
 * server's message in err; `*http_status` (may be NULL) receives the last
 * HTTP status (0 when no response arrived).
 */
K5_WUR k5_status k5_kube_list(k5_kube_client *c, const k5_kube_kind *kind, const char *ns,
                              unsigned limit, k5_kube_item_fn fn, void *ud, char *rv,
                              long *http_status, k5_error *err);

/* ---------------------------------------------------------------- informer */

typedef enum k5_kube_event {
    K5_KUBE_ADDED = 1,
    K5_KUBE_MODIFIED = 2,
    K5_KUBE_DELETED = 3
} k5_kube_event;

/* "ADDED", "MODIFIED", "DELETED". */
const char *k5_kube_event_str(k5_kube_event e);

/*
 * The consumer's callbacks. Each kind has its own thread, so callbacks for
 * different kinds may run at the same time; callbacks for one kind never
 * overlap and arrive in order. Objects are borrowed for the call. A full list
 * is delivered as on_replace_begin, on_event(ADDED) per object, on_replace_end:
 * the consumer drops what was not re-listed (client-go's Reflector Replace).
 * on_error reports a failure that the informer retries by itself, and kinds
 * the server does not serve: such a kind then gets an empty replace
 * (on_replace_begin, on_replace_end: it has no objects) and its thread ends.
 * Any callback may be NULL.
 */
typedef struct k5_kube_handlers {
    void (*on_replace_begin)(void *ud, const k5_kube_kind *kind);
    void (*on_event)(void *ud, const k5_kube_kind *kind, k5_kube_event type,
                     const struct cJSON *obj);
    void (*on_replace_end)(void *ud, const k5_kube_kind *kind);
    void (*on_error)(void *ud, const k5_kube_kind *kind, const char *msg);
    void *ud;
} k5_kube_handlers;

/* Tuning; zero fields take the defaults in brackets. */
typedef struct k5_kube_informer_opts {
    const char *ns;              /* namespace to watch; NULL or "": all */
    unsigned page_limit;         /* list page size [500] */
    unsigned watch_timeout_s;    /* timeoutSeconds of one watch [300, jittered up to 2x; at most 1 day] */
    unsigned backoff_initial_ms; /* first retry delay [800; at most 1 h] */
    unsigned backoff_max_ms;     /* retry delay cap [30000; at most 1 h] */
} k5_kube_informer_opts;

typedef enum k5_kube_state {
    K5_KUBE_STARTING = 0, /* discovery or the first list in progress */
    K5_KUBE_SYNCED = 1,   /* a full list was delivered; watching */
    K5_KUBE_SKIPPED = 2,  /* the server does not serve the kind */
    K5_KUBE_STOPPED = 3
} k5_kube_state;

typedef struct k5_kube_stats {
    k5_kube_state state;
    bool watching;           /* a watch stream is open right now */
    uint64_t objects;        /* objects known (after the last list and the events since) */
    uint64_t lists;          /* full lists delivered */
    uint64_t watch_restarts; /* watches started after the first one */
    uint64_t list_errors;
    uint64_t watch_errors;
    uint64_t relists_410;    /* relists because the resourceVersion was too old */
    time_t last_event;       /* wall-clock time of the last delivered event or list; 0 never */
    time_t last_ok;          /* last time the list or watch was known healthy; 0 never */
} k5_kube_stats;

typedef struct k5_kube_informer k5_kube_informer;

/*
 * Starts one thread per kind (`kinds`, `nkinds` entries, pointers into the
 * table, borrowed for the informer's life). The client is borrowed and must
 * outlive the informer; `h` and `opts` (may be NULL) are copied. On failure
 * no thread runs and *out is untouched.
 */
K5_WUR k5_status k5_kube_informer_start(k5_kube_informer **out, k5_kube_client *c,
                                        const k5_kube_kind *const *kinds, size_t nkinds,
                                        const k5_kube_handlers *h,
                                        const k5_kube_informer_opts *opts, k5_error *err);

/*
 * Copies the stats of the i-th kind (as given to start); false when out of
 * range. Safe from any thread, callbacks included.
 */
bool k5_kube_informer_stats(const k5_kube_informer *inf, size_t i, k5_kube_stats *out);

/*
 * Stops every thread (a transfer in flight is aborted within about a second),
 * joins them and frees the informer. No callback runs after it returns.
 * Accepts NULL; sets *inf to NULL. Must not be called from a callback.
 */
void k5_kube_informer_stop(k5_kube_informer **inf);

#endif
