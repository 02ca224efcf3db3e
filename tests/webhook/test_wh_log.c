/*
 * Unit tests of wh_log's line buffer: info lines wait for a flush, warn and
 * error lines go out at once with everything before them, the size threshold
 * wakes the flusher thread, which writes batches, a stalled sink holds the
 * appenders back instead of losing lines, stopping writes what is left, and lines
 * from many threads come out whole and in each thread's order.
 */
#include "wh_test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "wh_log.h"

typedef struct logfile {
    char path[32];
    int fd;
} logfile;

static int setup(void **state)
{
    logfile *f = calloc(1, sizeof *f);
    snprintf(f->path, sizeof f->path, "/tmp/wh-log-XXXXXX");
    f->fd = mkstemp(f->path);
    if (f->fd < 0)
        return -1;
    wh_log_set_fd(f->fd);
    wh_log_set_level(WH_LOG_INFO);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    logfile *f = *state;
    wh_log_buffer_stop();
    wh_log_set_fd(2);
    wh_log_set_level(WH_LOG_ERROR);
    close(f->fd);
    unlink(f->path);
    free(f);
    return 0;
}

static size_t written(const logfile *f)
{
    struct stat st;
    assert_int_equal(fstat(f->fd, &st), 0);
    return (size_t)st.st_size;
}

static char *contents(const logfile *f)
{
    char *text = wh_test_read(f->path, NULL);
    assert_non_null(text);
    return text;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A flush interval the tests never reach, so only what they do writes. */
#define NEVER_MS 60000u

static void test_wh_log__info_lines_wait_for_a_flush(void **state)
{
    logfile *f = *state;
    assert_int_equal(wh_log_buffer_start(NEVER_MS), WH_OK);
    assert_int_equal(wh_log_buffer_start(NEVER_MS), WH_EINVAL); /* already on */
    wh_log(WH_LOG_INFO, "first");
    wh_log(WH_LOG_INFO, "second");
    assert_int_equal(written(f), 0);
    wh_log_flush();
    char *text = contents(f);
    char *a = strstr(text, "\"msg\":\"first\"}\n");
    char *b = strstr(text, "\"msg\":\"second\"}\n");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    free(text);
    wh_log_flush(); /* nothing pending: nothing written */
    size_t n = written(f);
    wh_log_flush();
    assert_int_equal(written(f), n);
}

static void test_wh_log__warn_and_error_write_at_once_in_order(void **state)
{
    logfile *f = *state;
    assert_int_equal(wh_log_buffer_start(NEVER_MS), WH_OK);
    wh_log(WH_LOG_INFO, "before");
    assert_int_equal(written(f), 0);
    wh_log(WH_LOG_WARN, "warned");
    char *text = contents(f);
    char *a = strstr(text, "\"msg\":\"before\"}\n");
    char *b = strstr(text, "\"level\":\"warn\",\"msg\":\"warned\"}\n");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    free(text);
    size_t n = written(f);
    wh_logline l;
    wh_logline_begin(&l, WH_LOG_ERROR, "failed");
    wh_logline_str(&l, "error", "boom");
    wh_logline_emit(&l);
    assert_true(written(f) > n);
}

typedef struct slow_reader {
    int fd;
    _Atomic bool go; /* start reading now */
    int wait_ms;     /* or after this long */
    char *text;
    size_t len;
} slow_reader;

/* Reads a pipe to its end, starting when told or after wait_ms: the sink is stalled meanwhile. */
static void *read_late(void *arg)
{
    slow_reader *r = arg;
    for (int i = 0; i < r->wait_ms / 2 && !atomic_load(&r->go); i++)
        sleep_ms(2);
    size_t cap = 1 << 20;
    r->text = malloc(cap);
    for (;;) {
        if (r->len + 4096 > cap)
            r->text = realloc(r->text, cap *= 2);
        ssize_t k = read(r->fd, r->text + r->len, 4096);
        if (k <= 0)
            break;
        r->len += (size_t)k;
    }
    r->text[r->len] = '\0';
    return NULL;
}

/* Points the log at a pipe read by a late reader; *wfd gets the write end. */
static void sink_start(slow_reader *r, pthread_t *t, int *wfd, int pipe_bytes, int wait_ms)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    if (pipe_bytes)
        assert_true(fcntl(p[1], F_SETPIPE_SZ, pipe_bytes) >= 0);
    r->fd = p[0];
    atomic_init(&r->go, false);
    r->wait_ms = wait_ms;
    r->text = NULL;
    r->len = 0;
    assert_int_equal(pthread_create(t, NULL, read_late, r), 0);
    wh_log_set_fd(p[1]);
    *wfd = p[1];
}

/* Writes what is pending, puts the log back on the test's file, and reads the pipe to its end. */
static void sink_stop(logfile *f, slow_reader *r, pthread_t t, int wfd)
{
    atomic_store(&r->go, true);
    wh_log_buffer_stop();
    wh_log_set_fd(f->fd);
    close(wfd);
    pthread_join(t, NULL);
    close(r->fd);
}

static void test_wh_log__size_threshold_wakes_the_flusher(void **state)
{
    /*
     * The sink holds one page and is not read until the end: whoever writes
     * the batch blocks. Past the threshold that must be the flusher, never the
     * thread adding lines (a serving thread, in the webhook).
     */
    logfile *f = *state;
    slow_reader r;
    pthread_t t;
    int wfd;
    sink_start(&r, &t, &wfd, 4096, 3000);
    assert_int_equal(wh_log_buffer_start(NEVER_MS), WH_OK);
    char pad[200];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    size_t lines = 0, bytes = 0;
    int64_t t0 = wh_now_ns();
    while (bytes < 2 * WH_LOG_BUFFER_FLUSH_BYTES) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_INFO, "review");
        wh_logline_int(&l, "n", (int64_t)lines);
        wh_logline_str(&l, "pad", pad);
        wh_logline_emit(&l);
        lines++;
        bytes += l.b.len;
    }
    /* The reader starts after 3 s unless told: an appender that wrote would have waited for it. */
    assert_true(wh_now_ns() - t0 < 1500000000LL);
    sink_stop(f, &r, t, wfd);
    /* Everything arrived, in whole lines and in order. */
    assert_int_equal(r.text[r.len - 1], '\n');
    size_t n = 0;
    for (char *line = r.text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        assert_int_equal((size_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "n")), n);
        cJSON_Delete(j);
        n++;
    }
    assert_int_equal(n, lines);
    free(r.text);
}

static void test_wh_log__a_stalled_sink_loses_no_line(void **state)
{
    logfile *f = *state;
    slow_reader r;
    pthread_t t;
    int wfd;
    sink_start(&r, &t, &wfd, 0, 300);
    assert_int_equal(wh_log_buffer_start(NEVER_MS), WH_OK);
    /* Far more than the pipe and both halves hold while the reader sleeps: the appender
     * must wait for it, not drop lines. */
    enum { LINES = 4000 };
    char pad[300];
    memset(pad, 'q', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < LINES; i++) {
        wh_logline l;
        wh_logline_begin(&l, WH_LOG_INFO, "review");
        wh_logline_int(&l, "seq", i);
        wh_logline_str(&l, "pad", pad);
        wh_logline_emit(&l);
    }
    sink_stop(f, &r, t, wfd);
    int next = 0;
    for (char *line = r.text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "seq")), next);
        cJSON_Delete(j);
        next++;
    }
    assert_int_equal(next, LINES);
    free(r.text);
}

static void test_wh_log__flusher_writes_within_the_interval(void **state)
{
    logfile *f = *state;
    assert_int_equal(wh_log_buffer_start(20), WH_OK);
    sleep_ms(30); /* let the flusher reach its wait */
    wh_log(WH_LOG_INFO, "idle server");
    int64_t t0 = wh_now_ns();
    while (written(f) == 0 && wh_now_ns() - t0 < 2000000000)
        sleep_ms(2);
    assert_true(written(f) > 0);
    /* One interval, with room for a loaded test machine. */
    assert_true(wh_now_ns() - t0 < 1000000000);
    char *text = contents(f);
    assert_non_null(strstr(text, "\"msg\":\"idle server\"}\n"));
    free(text);
}

static void test_wh_log__stop_and_set_fd_write_what_is_pending(void **state)
{
    logfile *f = *state;
    assert_int_equal(wh_log_buffer_start(NEVER_MS), WH_OK);
    wh_log(WH_LOG_INFO, "at stop");
    assert_int_equal(written(f), 0);
    wh_log_buffer_stop();
    wh_log_buffer_stop(); /* idempotent */
    char *text = contents(f);
    assert_non_null(strstr(text, "\"msg\":\"at stop\"}\n"));
    free(text);
    /* Unbuffered again: a line is written at once. */
    size_t n = written(f);
    wh_log(WH_LOG_INFO, "direct");
    assert_true(written(f) > n);
    /* Switching fds writes the pending lines to the old one. */
    assert_int_equal(wh_log_buffer_start(NEVER_MS), WH_OK);
    wh_log(WH_LOG_INFO, "before the switch");
    n = written(f);
    wh_log_set_fd(2);
    assert_true(written(f) > n);
    wh_log_set_fd(f->fd);
}

#define THREADS 4
#define PER_THREAD 3000

static void *emit_lines(void *arg)
{
    intptr_t id = (intptr_t)arg;
    char pad[400];
    for (int i = 0; i < PER_THREAD; i++) {
        /* Varying lengths, so lines straddle batch boundaries at every offset. */
        size_t len = (size_t)(i * 7 + id * 13) % (sizeof pad - 1);
        memset(pad, (int)('a' + id), len);
        pad[len] = '\0';
        wh_logline l;
        wh_logline_begin(&l, i % 500 == 499 ? WH_LOG_WARN : WH_LOG_INFO, "review");
        wh_logline_int(&l, "thread", id);
        wh_logline_int(&l, "seq", i);
        wh_logline_str(&l, "pad", pad);
        wh_logline_emit(&l);
    }
    return NULL;
}

static void test_wh_log__threads_never_interleave_or_reorder(void **state)
{
    logfile *f = *state;
    assert_int_equal(wh_log_buffer_start(5), WH_OK);
    pthread_t t[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, emit_lines, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    wh_log_buffer_stop();
    char *text = contents(f);
    int next[THREADS] = {0};
    int lines = 0;
    for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        int id = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "thread"));
        int seq = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "seq"));
        assert_true(id >= 0 && id < THREADS);
        assert_int_equal(seq, next[id]);
        next[id]++;
        const char *pad = cJSON_GetStringValue(cJSON_GetObjectItem(j, "pad"));
        assert_non_null(pad);
        assert_int_equal(strlen(pad), (size_t)(seq * 7 + id * 13) % 399);
        cJSON_Delete(j);
        lines++;
    }
    assert_int_equal(lines, THREADS * PER_THREAD);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wh_log__info_lines_wait_for_a_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wh_log__warn_and_error_write_at_once_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wh_log__size_threshold_wakes_the_flusher, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wh_log__a_stalled_sink_loses_no_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wh_log__flusher_writes_within_the_interval, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wh_log__stop_and_set_fd_write_what_is_pending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wh_log__threads_never_interleave_or_reorder, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
