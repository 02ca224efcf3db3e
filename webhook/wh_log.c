/*
 * kube5xx-webhook: structured logging.
 */
#include "wh_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = WH_LOG_INFO;
static atomic_int g_fd = 2;

bool wh_log_level_parse(const char *s, wh_log_level *out)
{
    static const struct {
        const char *name;
        wh_log_level lvl;
    } names[] = {{"debug", WH_LOG_DEBUG},
                 {"info", WH_LOG_INFO},
                 {"warn", WH_LOG_WARN},
                 {"warning", WH_LOG_WARN},
                 {"error", WH_LOG_ERROR}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].lvl;
            return true;
        }
    }
    return false;
}

const char *wh_log_level_str(wh_log_level lvl)
{
    switch (lvl) {
    case WH_LOG_DEBUG: return "debug";
    case WH_LOG_INFO: return "info";
    case WH_LOG_WARN: return "warn";
    case WH_LOG_ERROR: return "error";
    }
    return "info";
}

void wh_log_set_level(wh_log_level lvl)
{
    atomic_store(&g_level, (int)lvl);
}

bool wh_log_enabled(wh_log_level lvl)
{
    return (int)lvl >= atomic_load(&g_level);
}

void wh_log_set_fd(int fd)
{
    atomic_store(&g_fd, fd);
}

/* Room kept at the end of the buffer for ,"truncated":true}\n. */
#define LOG_TAIL 24u

/* Writes v in decimal; returns the length. */
static size_t put_uint(char *out, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Writes v as exactly `width` digits. */
static void put_digits(char *out, unsigned long v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
}

/*
 * The "YYYY-MM-DDTHH:MM:SS" part of the timestamp, formatted once per second
 * per thread: gmtime_r and printf were a tenth of the cost of a review's line.
 */
static _Thread_local struct {
    time_t sec;
    char text[80]; /* room for any int fields, to keep -Wformat-truncation quiet */
} t_stamp = {-1, ""};

void wh_logline_begin(wh_logline *l, wh_log_level lvl, const char *msg)
{
    l->on = wh_log_enabled(lvl);
    if (!l->on)
        return;
    wh_buf_init(&l->b, l->storage, sizeof l->storage - LOG_TAIL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != t_stamp.sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(t_stamp.text, sizeof t_stamp.text, "%04d-%02d-%02dT%02d:%02d:%02d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        t_stamp.sec = ts.tv_sec;
    }
    char us[8];
    us[0] = '.';
    put_digits(us + 1, (unsigned long)(ts.tv_nsec / 1000), 6);
    us[7] = '\0';
    wh_buf_puts(&l->b, "{\"time\":\"");
    wh_buf_puts(&l->b, t_stamp.text);
    wh_buf_puts(&l->b, us);
    wh_buf_puts(&l->b, "Z\",\"level\":\"");
    wh_buf_puts(&l->b, wh_log_level_str(lvl));
    wh_buf_puts(&l->b, "\",\"msg\":\"");
    wh_buf_json_str(&l->b, msg, strlen(msg));
    wh_buf_puts(&l->b, "\"");
    l->mark = l->b.len;
}

static void key(wh_logline *l, const char *k)
{
    if (!l->b.trunc)
        l->mark = l->b.len;
    wh_buf_puts(&l->b, ",\"");
    wh_buf_puts(&l->b, k);
    wh_buf_puts(&l->b, "\":");
}

void wh_logline_strn(wh_logline *l, const char *k, const char *val, size_t n)
{
    if (!l->on)
        return;
    key(l, k);
    if (!val) {
        wh_buf_puts(&l->b, "null");
        return;
    }
    wh_buf_puts(&l->b, "\"");
    wh_buf_json_str(&l->b, val, n);
    wh_buf_puts(&l->b, "\"");
}

void wh_logline_str(wh_logline *l, const char *k, const char *val)
{
    wh_logline_strn(l, k, val, val ? strlen(val) : 0);
}

void wh_logline_int(wh_logline *l, const char *k, int64_t val)
{
    if (!l->on)
        return;
    key(l, k);
    char num[24];
    size_t n = 0;
    if (val < 0)
        num[n++] = '-';
    n += put_uint(num + n, val < 0 ? 0ull - (unsigned long long)val : (unsigned long long)val);
    wh_buf_putn(&l->b, num, n);
}

void wh_logline_bool(wh_logline *l, const char *k, bool val)
{
    if (!l->on)
        return;
    key(l, k);
    wh_buf_puts(&l->b, val ? "true" : "false");
}

void wh_logline_raw(wh_logline *l, const char *k, const char *json)
{
    if (!l->on)
        return;
    key(l, k);
    wh_buf_puts(&l->b, json);
}

void wh_logline_emit(wh_logline *l)
{
    if (!l->on)
        return;
    /* The cut may have landed inside a value: drop that field so the line stays JSON. */
    if (l->b.trunc)
        l->b.len = l->mark;
    /* Write the tail into the reserved room. */
    l->b.cap = sizeof l->storage;
    if (l->b.trunc)
        wh_buf_puts(&l->b, ",\"truncated\":true");
    wh_buf_puts(&l->b, "}\n");
    int fd = atomic_load(&g_fd);
    size_t off = 0;
    while (off < l->b.len) {
        ssize_t w = write(fd, l->storage + off, l->b.len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    l->on = false;
}

void wh_log(wh_log_level lvl, const char *fmt, ...)
{
    if (!wh_log_enabled(lvl))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wh_logline l;
    wh_logline_begin(&l, lvl, msg);
    wh_logline_emit(&l);
}
