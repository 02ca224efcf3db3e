/*
 * kube5xx_kube internals shared by its source files. Nothing outside kube/
 * includes this header, except the module's unit tests.
 */
#ifndef KUBE5XX_KUBE_INTERNAL_H
#define KUBE5XX_KUBE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <kube5xx/k5_kube.h>

struct cJSON;

/* Sets err->msg from a format (err may be NULL); file/line are cleared. Returns st. */
k5_status k5__kube_err(k5_error *err, k5_status st, const char *fmt, ...) K5_PRINTF(3, 4);

/*
 * Reads a whole file of at most `cap` bytes into a malloc'd, NUL-terminated
 * buffer. `what` names the file's role in messages ("kubeconfig", "token").
 * On failure *out is untouched and err names the file.
 */
K5_WUR k5_status k5__kube_read_file(const char *path, size_t cap, const char *cap_name,
                                    const char *what, char **out, size_t *len, k5_error *err);

/*
 * Decodes standard base64 (padding optional, whitespace ignored) into a
 * malloc'd NUL-terminated buffer. Returns false on bad input or no memory.
 */
bool k5__kube_base64(const char *s, size_t n, char **out, size_t *outlen);

/*
 * Parses YAML (one document) into a cJSON tree whose scalars are all strings,
 * with the caps K5_KUBE_MAX_YAML_DEPTH and K5_KUBE_MAX_YAML_NODES. Aliases are
 * refused. On failure returns NULL and err names `name` and the line.
 */
struct cJSON *k5__kube_yaml_parse(const char *name, const char *buf, size_t len, k5_status *st,
                                  k5_error *err);

/*
 * Readies an object for the consumer: sets apiVersion and kind when missing
 * (list items come without them), removes metadata.managedFields and status.
 */
void k5__kube_trim(struct cJSON *obj, const k5_kube_kind *kind);

/* "apps/v1" or "v1" into buf. */
void k5__kube_group_version(const k5_kube_kind *kind, char *buf, size_t size);
/* Every apiVersion of a kind (it and its fallbacks), ", "-separated, into buf. */
void k5__kube_versions(const k5_kube_kind *kind, char *buf, size_t size);


/* ------------------------------------------------------------- requests */

#include <stdatomic.h>


/*
 * One caller's connection state: a curl handle reused across its requests (so
 * list pages share a connection) and the response of the last request. Not
 * shared between threads.
 */
typedef struct k5__kube_req {
    void *curl;              /* CURL *, taken from (and given back to) the client's idle ones */
    k5_kube_client *client;  /* the client of the first request; the handle returns to it */
    char *body;              /* response body (non-streaming, or an error status) */
    size_t len, cap, limit;
    long status;             /* HTTP status of the last response; 0 when none */
    long retry_after;        /* Retry-After in seconds, -1 when absent */
    /* Streaming (watch): called per complete line of a 200 response; non-zero aborts. */
    int (*on_line)(void *ud, char *line, size_t n);
    void *line_ud;
    size_t line_limit;
    bool overflow;           /* a cap was hit; the transfer was aborted */
    bool line_abort;         /* on_line asked to stop */
    bool transient;          /* the last failure is worth retrying (connection, timeout) */
    /* Called once the response's headers are in, with its status (may be NULL). */
    void (*on_headers)(void *ud, long status);
    const atomic_int *stop; /* set by another thread to abort the transfer */
} k5__kube_req;

void k5__kube_req_init(k5__kube_req *r);
void k5__kube_req_free(k5__kube_req *r);

/*
 * GET server+path (path already escaped, with its query). Returns K5_OK when a
 * response arrived, whatever its status (r->status); an error when none did
 * (connection, TLS, timeout, cap, stop). `timeout_s` 0 means no overall limit.
 */
K5_WUR k5_status k5__kube_get(k5_kube_client *c, k5__kube_req *r, const char *path,
                              long timeout_s, k5_error *err);

/*
 * The streaming half of the write callback (a watch's 200 response): appends
 * the chunk and hands every complete line to r->on_line. False when the
 * transfer must end: a line longer than r->line_limit (r->overflow), the
 * consumer asked to stop (r->line_abort), or no memory. A last line without
 * its newline stays in the buffer, as when the connection ends mid-line.
 */
bool k5__kube_stream_feed(k5__kube_req *r, const char *p, size_t n);

/* The message of a Status body ("deployments.apps is forbidden: ..."), or a generic one. */
void k5__kube_status_msg(const k5__kube_req *r, char *buf, size_t size);

/* "/apis/apps/v1[/namespaces/NS]/deployments" (ns escaped) into buf; false if it does not fit. */
bool k5__kube_resource_path(const k5_kube_kind *kind, const char *ns, char *buf, size_t size);

/* Exponential backoff with jitter, honouring Retry-After. Delays are capped at
 * K5__KUBE_BACKOFF_CAP_MS whatever the caller asks, so the jitter's arithmetic
 * (step + a random part up to step) stays far from unsigned's range. */
#define K5__KUBE_BACKOFF_CAP_MS 3600000u
/* The longest watch_timeout_s taken (a day); the jitter doubles it at most. */
#define K5__KUBE_WATCH_TIMEOUT_CAP_S 86400u
typedef struct k5__kube_backoff {
    unsigned initial_ms, max_ms, cur_ms;
    unsigned seed;
} k5__kube_backoff;

void k5__kube_backoff_init(k5__kube_backoff *b, unsigned initial_ms, unsigned max_ms);
/* The next delay in ms; `retry_after_s` -1 when the server gave none. */
unsigned k5__kube_backoff_next(k5__kube_backoff *b, long retry_after_s);
void k5__kube_backoff_reset(k5__kube_backoff *b);
/* True for what is worth retrying: a transient transport failure, 429, 5xx. */
bool k5__kube_retryable(const k5__kube_req *r, k5_status st);

/* How a list retries a page that failed with a retryable error. */
typedef struct k5__kube_retry {
    unsigned max_retries;
    unsigned backoff_initial_ms, backoff_max_ms;
    /* Sleeps ms; false when the caller is stopping. NULL: nanosleep. */
    bool (*sleep)(void *ud, unsigned ms);
    void *sleep_ud;
    const atomic_int *stop;
} k5__kube_retry;

/* k5_kube_list with explicit retries (NULL: none). */
K5_WUR k5_status k5__kube_list_ex(k5_kube_client *c, const k5_kube_kind *kind, const char *ns,
                                  unsigned limit, k5_kube_item_fn fn, void *ud, char *rv,
                                  long *http_status, const k5__kube_retry *retry, k5_error *err);

/*
 * Reads one list page (a <Kind>List's JSON, `len` bytes): hands its items on
 * (trimmed and typed), copies its resourceVersion into rv (may be NULL) and
 * returns its continue token in *cont (malloc'd, NULL on the last page).
 */
K5_WUR k5_status k5__kube_list_page(const char *body, size_t len, const k5_kube_kind *kind,
                                    k5_kube_item_fn fn, void *ud, char *rv, char **cont,
                                    k5_error *err);

/*
 * Feeds a watch stream's bytes through the informer's event handling, as if
 * they came from the server for `kind`, delivering to `h`. For the fuzz
 * target and tests: no thread, no network. `chunk` 0 splits the buffer into
 * lines directly (a last line needs no newline); otherwise the bytes go
 * through k5__kube_stream_feed `chunk` bytes at a time, as libcurl hands a
 * response over. Returns the number of lines read.
 */
size_t k5__kube_watch_feed(const k5_kube_kind *kind, const k5_kube_handlers *h, const char *buf,
                           size_t n, size_t chunk);

#endif
