/*
 * kube5xx-webhook: what every webhook module shares: the status enum, the
 * clock, and text helpers for JSON and for the single-line, printable strings
 * that warnings and log lines must be.
 */
#ifndef KUBE5XX_WH_COMMON_H
#define KUBE5XX_WH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define WH_WUR __attribute__((warn_unused_result))
#define WH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WH_WUR
#define WH_PRINTF(f, a)
#endif

#include <kube5xx/kube5xx.h>

/* Reading files, UTF-8 and JSON escaping: shared with the CLI (frontend/fe.h). */
#include "fe.h"

/* One version for both front-ends: the engine's. */
#define WH_VERSION KUBE5XX_VERSION

/* Values are only ever appended, never renumbered. */
typedef enum wh_status {
    WH_OK = 0,
    WH_ENOMEM = 1,    /* an allocation failed */
    WH_EINVAL = 2,    /* a bad argument, flag or request */
    WH_EIO = 3,       /* a file could not be read or written */
    WH_ETLS = 4,      /* a certificate or key is unusable */
    WH_EPARSE = 5,    /* the input is not what it must be (JSON, PEM, config) */
    WH_EENGINE = 6,   /* the rule engine failed */
    WH_ETIMEOUT = 7,  /* the internal deadline passed */
    WH_EEXIST = 8,    /* a file exists and --force was not given */
    WH_ELIMIT = 9,    /* a named cap was exceeded */
    WH_ESERVER = 10   /* the HTTP server could not start */
} wh_status;

/* A static, lower-case description of a status. */
const char *wh_status_str(wh_status st);

/* Monotonic clock in nanoseconds (for durations and deadlines). */
int64_t wh_now_ns(void);
/*
 * Parses a non-negative Go duration ("10s", "1m30s", "250ms", "1.5h", "0")
 * into nanoseconds. Returns false on bad syntax, a sign, or more than ~31 years.
 */
WH_WUR bool wh_duration_parse(const char *s, int64_t *ns);

/* Wall clock in seconds since the epoch. */
int64_t wh_wall_s(void);

/*
 * Lowers the calling thread's CPU priority (nice +10; Linux keeps nice per
 * thread). For housekeeping threads (the log flusher, the readiness probe)
 * that share a CPU with the serving threads: woken in the middle of a burst of
 * reviews, they no longer preempt the worker, and run when it waits instead.
 * They still get their share of a busy CPU. Best effort: a failure is ignored.
 */
void wh_thread_background(void);

/* A bounded string builder: appends never overflow; `trunc` records a loss. */
typedef struct wh_buf {
    char *p;
    size_t len;
    size_t cap; /* bytes of p, including room for the terminating NUL */
    bool trunc;
} wh_buf;

void wh_buf_init(wh_buf *b, char *storage, size_t cap);
void wh_buf_putn(wh_buf *b, const char *s, size_t n);
void wh_buf_puts(wh_buf *b, const char *s);
void wh_buf_printf(wh_buf *b, const char *fmt, ...) WH_PRINTF(2, 3);
/* Appends s as the inside of a JSON string (quotes not included). */
void wh_buf_json_str(wh_buf *b, const char *s, size_t n);

/*
 * Copies at most `max_chars` characters of s (n bytes) into b as one clean
 * line: invalid UTF-8 becomes U+FFFD, control characters (C0, DEL, C1) become
 * a space, runs of spaces collapse to one, and the ends are trimmed. When the
 * text is longer it is cut on a character boundary and ends with "...".
 * Returns the number of characters written.
 */
size_t wh_clean_line(wh_buf *b, const char *s, size_t n, size_t max_chars);

/*
 * True when the raw JSON text (len bytes) holds a string member named `key`
 * whose value begins with `prefix` and then has a NUL character (a raw 0 byte
 * or the escape \u0000): the decoded C string `prefix` was cut short there.
 * A parser hands back NUL-terminated strings, so only the raw text can tell.
 * Escapes other than \u0000 before the NUL count as matching (a conservative yes).
 */
bool wh_json_member_has_nul(const char *json, size_t len, const char *key, const char *prefix);

/*
 * True when the JSON text s (n bytes) holds more than `max` values, counted
 * as members/elements and containers outside strings (one linear pass, no
 * parse). Parsed trees cost ~150 bytes per value: the count bounds that memory
 * before a parser allocates it.
 */
bool wh_json_values_exceed(const char *s, size_t n, size_t max);

/*
 * What identifies a version of a file on disk (device, inode, size, mtime, ctime). The config
 * and the TLS files are watched by comparing it: a ConfigMap or Secret update through a
 * symlink swap changes the inode even when size and mtime do not.
 */
typedef struct wh_file_sig {
    uint64_t dev, ino;
    int64_t size;
    int64_t mtime_ns, ctime_ns;
    bool ok; /* false when the file could not be stat'ed */
} wh_file_sig;

/* The signature of the file path names now (ok false when stat fails). */
wh_file_sig wh_file_sig_of(const char *path);
bool wh_file_sig_eq(const wh_file_sig *a, const wh_file_sig *b);

/*
 * fe_read_file for the webhook's files (regular files only; a FIFO is never opened blocking):
 * a whole file of at most `max` bytes into a malloc'd buffer (*out, freed by the caller with
 * free; one spare byte after the data, set to NUL). On failure *out is untouched and err says
 * why, naming the file: WH_EIO (cannot open or read, not a regular file), WH_ELIMIT (larger
 * than max), WH_ENOMEM.
 */
wh_status wh_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
                       size_t errsz);

#endif
