/*
 * kube5xx-webhook: structured logging.
 */
#include "wh_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = WH_LOG_INFO;
static atomic_int g_fd = 2;

/*
 * The line buffer. Two halves: appenders fill bufs[cur] under `lock`; a flush
 * takes `write_lock`, swaps the halves under `lock` and writes the full one
 * outside it, so appenders never wait for the write(2) unless both halves are
 * full. Holding `write_lock` across the swap and the write keeps batches in
 * order and keeps the half being written from becoming current again mid-write.
 *
 * The write(2) belongs to the flusher thread, not to the thread that passes the
 * threshold: that thread is serving reviews, and a write to a file or a pipe
 * can take a millisecond or more (ext4's journal, a slow log reader), during
 * which every review queued behind it waits. At 1,000 reviews/s the threshold
 * is passed a dozen times a second, so those waits showed in the p99. The
 * appender only wakes the flusher; it writes itself only when its line no
 * longer fits, i.e. when the flusher has fallen a whole half behind (the sink
 * is stalled), which bounds the memory instead of dropping lines. A half holds
 * two thresholds plus one whole line. The threshold (64 KiB) is above what
 * 1,000 reviews/s log in one flush interval, so at such rates the flusher
 * writes on its timer, between bursts, and is never woken by a serving thread
 * in the middle of one (perf sched: woken that way at 32 KiB, it preempted the
 * worker on a shared CPU about 3 times a second despite its lower priority).
 */
#define LOG_BUF_CAP (2 * WH_LOG_BUFFER_FLUSH_BYTES + WH_LOG_LINE_MAX)

static struct {
    pthread_mutex_t lock;       /* guards bufs[cur], len, on, kicked */
    pthread_mutex_t write_lock; /* one flush at a time */
    pthread_mutex_t flusher_lock; /* guards stop, running, kick; with wake */
    pthread_cond_t wake;        /* on CLOCK_MONOTONIC; set up by wh_log_buffer_start */
    bool on;
    bool stop;
    bool running;
    bool kick;   /* flusher_lock: write now, a half passed the threshold */
    bool kicked; /* lock: the flusher was woken for the current half */
    bool atexit_set;
    int cur;
    size_t len;
    unsigned flush_ms;
    pthread_t flusher;
    char bufs[2][LOG_BUF_CAP];
} g_out = {.lock = PTHREAD_MUTEX_INITIALIZER,
           .write_lock = PTHREAD_MUTEX_INITIALIZER,
           .flusher_lock = PTHREAD_MUTEX_INITIALIZER};

static void write_all(int fd, const char *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

/*
 * Writes every pending line. With turn_off, buffering goes off in the same step;
 * with new_fd >= 0, later lines go there (the pending ones still go to the old
 * fd). Unbuffered writers wait for write_lock too, so the order of lines holds.
 */
static void flush_ex(bool turn_off, int new_fd)
{
    pthread_mutex_lock(&g_out.write_lock);
    pthread_mutex_lock(&g_out.lock);
    int b = g_out.cur;
    size_t n = g_out.len;
    if (n) {
        g_out.cur ^= 1;
        g_out.len = 0;
        g_out.kicked = false;
    }
    if (turn_off)
        g_out.on = false;
    pthread_mutex_unlock(&g_out.lock);
    if (n)
        write_all(atomic_load(&g_fd), g_out.bufs[b], n);
    if (new_fd >= 0)
        atomic_store(&g_fd, new_fd);
    pthread_mutex_unlock(&g_out.write_lock);
}

void wh_log_flush(void)
{
    flush_ex(false, -1);
}

/* Wakes the flusher to write now; a no-op while it is not running or stopping. */
static void kick_flusher(void)
{
    pthread_mutex_lock(&g_out.flusher_lock);
    if (g_out.running && !g_out.stop) {
        g_out.kick = true;
        pthread_cond_signal(&g_out.wake);
    }
    pthread_mutex_unlock(&g_out.flusher_lock);
}

/* Buffers one whole line, or writes it at once when buffering is off. */
static void put_line(const char *line, size_t n, bool urgent)
{
    for (;;) {
        pthread_mutex_lock(&g_out.lock);
        if (!g_out.on) {
            pthread_mutex_unlock(&g_out.lock);
            /* Unbuffered: one write(2) per line, after any batch being written. */
            pthread_mutex_lock(&g_out.write_lock);
            write_all(atomic_load(&g_fd), line, n);
            pthread_mutex_unlock(&g_out.write_lock);
            return;
        }
        if (g_out.len + n <= LOG_BUF_CAP) {
            memcpy(g_out.bufs[g_out.cur] + g_out.len, line, n);
            g_out.len += n;
            bool kick = g_out.len >= WH_LOG_BUFFER_FLUSH_BYTES && !g_out.kicked;
            if (kick)
                g_out.kicked = true;
            pthread_mutex_unlock(&g_out.lock);
            if (urgent)
                wh_log_flush(); /* warn and error lines are rare: written before returning */
            else if (kick)
                kick_flusher();
            return;
        }
        /* The flusher is a whole half behind (a stalled sink): write, then retry. */
        pthread_mutex_unlock(&g_out.lock);
        wh_log_flush();
    }
}

static void *flusher_main(void *arg)
{
    (void)arg;
    wh_thread_background();
    pthread_mutex_lock(&g_out.flusher_lock);
    while (!g_out.stop) {
        if (!g_out.kick) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            long ns = ts.tv_nsec + (long)(g_out.flush_ms % 1000) * 1000000L;
            ts.tv_sec += (time_t)(g_out.flush_ms / 1000) + ns / 1000000000L;
            ts.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&g_out.wake, &g_out.flusher_lock, &ts);
        }
        g_out.kick = false;
        pthread_mutex_unlock(&g_out.flusher_lock);
        wh_log_flush();
        pthread_mutex_lock(&g_out.flusher_lock);
    }
    pthread_mutex_unlock(&g_out.flusher_lock);
    return NULL;
}

static void flush_at_exit(void)
{
    wh_log_flush();
}

wh_status wh_log_buffer_start(unsigned flush_ms)
{
    if (flush_ms < 1 || flush_ms > 60000)
        return WH_EINVAL;
    pthread_mutex_lock(&g_out.flusher_lock);
    if (g_out.running) {
        pthread_mutex_unlock(&g_out.flusher_lock);
        return WH_EINVAL;
    }
    g_out.flush_ms = flush_ms;
    g_out.stop = false;
    g_out.kick = false;
    /* A monotonic wait: a wall-clock step must not hold lines back. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&g_out.wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        pthread_mutex_unlock(&g_out.flusher_lock);
        return WH_ENOMEM;
    }
    if (pthread_create(&g_out.flusher, NULL, flusher_main, NULL) != 0) {
        pthread_cond_destroy(&g_out.wake);
        pthread_mutex_unlock(&g_out.flusher_lock);
        return WH_ENOMEM;
    }
    g_out.running = true;
    if (!g_out.atexit_set)
        g_out.atexit_set = atexit(flush_at_exit) == 0;
    pthread_mutex_unlock(&g_out.flusher_lock);
    pthread_mutex_lock(&g_out.lock);
    g_out.on = true;
    pthread_mutex_unlock(&g_out.lock);
    return WH_OK;
}

void wh_log_buffer_stop(void)
{
    pthread_mutex_lock(&g_out.flusher_lock);
    if (!g_out.running) {
        pthread_mutex_unlock(&g_out.flusher_lock);
        return;
    }
    g_out.stop = true;
    pthread_cond_signal(&g_out.wake);
    pthread_mutex_unlock(&g_out.flusher_lock);
    pthread_join(g_out.flusher, NULL);
    flush_ex(true, -1);
    pthread_mutex_lock(&g_out.flusher_lock);
    pthread_cond_destroy(&g_out.wake);
    g_out.running = false;
    pthread_mutex_unlock(&g_out.flusher_lock);
}

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
    flush_ex(false, fd);
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
    l->urgent = lvl >= WH_LOG_WARN;
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
    put_line(l->storage, l->b.len, l->urgent);
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
