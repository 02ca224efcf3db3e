/*
 * kube5xx-webhook: structured logging, one JSON object per line.
 *
 * Every line carries "time" (RFC 3339, UTC, microseconds), "level" and "msg";
 * callers add fields. A line is built in a fixed buffer (WH_LOG_LINE_MAX bytes;
 * a longer line is cut and marked "truncated": true) and is always copied or
 * written whole, so lines from several threads never interleave or split.
 *
 * By default each line is written at once with one write(2). While buffering is
 * on (wh_log_buffer_start), lines are appended to a process-wide buffer instead
 * and written in batches: one write(2) per review was about 5% of the webhook's
 * CPU under load. The flusher thread writes a batch when the buffer passes
 * WH_LOG_BUFFER_FLUSH_BYTES (the thread that passes it only wakes the flusher:
 * a serving thread never waits for a slow write unless the flusher is a whole
 * buffer behind) and at least every flush interval; a batch is also written as
 * soon as a warn or error line is added (with the lines before it, in order),
 * and on wh_log_flush, wh_log_set_fd, wh_log_buffer_stop and exit(). Only a
 * crash or SIGKILL can lose lines: at most the last flush interval's worth.
 */
#ifndef KUBE5XX_WH_LOG_H
#define KUBE5XX_WH_LOG_H

#include "wh_common.h"

typedef enum wh_log_level {
    WH_LOG_DEBUG = 0,
    WH_LOG_INFO = 1,
    WH_LOG_WARN = 2,
    WH_LOG_ERROR = 3
} wh_log_level;

#define WH_LOG_LINE_MAX 4096u

/* Parses "debug", "info", "warn" (or "warning"), "error". */
WH_WUR bool wh_log_level_parse(const char *s, wh_log_level *out);
const char *wh_log_level_str(wh_log_level lvl);
void wh_log_set_level(wh_log_level lvl);
bool wh_log_enabled(wh_log_level lvl);
/* Where lines go (default 2, stderr). Lines still buffered go to the old fd first. */
void wh_log_set_fd(int fd);

/* The flusher is woken to write when pending lines pass this many bytes. */
#define WH_LOG_BUFFER_FLUSH_BYTES (64u * 1024u)
/* The default longest time an info line waits in the buffer. */
#define WH_LOG_FLUSH_INTERVAL_MS 100u

/*
 * Turns buffering on and starts the flusher thread, which writes pending lines
 * every flush_ms milliseconds (1 to 60000). Also arranges for exit() to flush.
 * Returns WH_EINVAL when buffering is already on or flush_ms is out of range,
 * WH_ENOMEM when the thread cannot start; buffering stays off on failure.
 */
WH_WUR wh_status wh_log_buffer_start(unsigned flush_ms);
/* Stops the flusher, writes every pending line and turns buffering off. Idempotent. */
void wh_log_buffer_stop(void);
/* Writes every pending line now (a no-op when nothing is pending). Thread-safe. */
void wh_log_flush(void);

typedef struct wh_logline {
    wh_buf b;
    bool on;
    bool urgent; /* warn or error: written out at once, with the lines before it */
    size_t mark; /* end of the last complete field */
    char storage[WH_LOG_LINE_MAX];
} wh_logline;

/* Starts a line; every other call is a no-op when the level is disabled. */
void wh_logline_begin(wh_logline *l, wh_log_level lvl, const char *msg);
void wh_logline_str(wh_logline *l, const char *key, const char *val);
void wh_logline_strn(wh_logline *l, const char *key, const char *val, size_t n);
void wh_logline_int(wh_logline *l, const char *key, int64_t val);
void wh_logline_bool(wh_logline *l, const char *key, bool val);
/* Adds a value that is already JSON (an array built by the caller). */
void wh_logline_raw(wh_logline *l, const char *key, const char *json);
void wh_logline_emit(wh_logline *l);

/* A line with only a formatted message. */
void wh_log(wh_log_level lvl, const char *fmt, ...) WH_PRINTF(2, 3);

#endif
