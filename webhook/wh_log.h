/*
 * kube5xx-webhook: structured logging, one JSON object per line.
 *
 * Every line carries "time" (RFC 3339, UTC, microseconds), "level" and "msg";
 * callers add fields. A line is built in a fixed buffer (WH_LOG_LINE_MAX bytes;
 * a longer line is cut and marked "truncated": true) and written with a single
 * write(2), so lines from several threads never interleave.
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
/* Where lines go (default 2, stderr). */
void wh_log_set_fd(int fd);

typedef struct wh_logline {
    wh_buf b;
    bool on;
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
