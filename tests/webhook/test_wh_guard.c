/*
 * The connection guard: absolute deadlines, eviction of the longest-waiting connection past
 * the limit, and the in-flight byte budget. Sockets are socketpairs: a connection the guard
 * cuts reads end-of-file on the other side.
 */
#include "wh_test_util.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wh_guard.h"

/* True when the peer of `fd` was shut down within `ms`. */
static bool cut_within(int peer, int ms)
{
    struct pollfd p = {peer, POLLIN, 0};
    if (poll(&p, 1, ms) != 1)
        return false;
    char b;
    return recv(peer, &b, 1, MSG_DONTWAIT) == 0;
}

static wh_guard *new_guard(unsigned limit)
{
    wh_guard_opts o = {limit, 4, 150000000LL, 300000000LL, 150000000LL, 1000};
    wh_guard *g = NULL;
    assert_int_equal(wh_guard_new(&o, &g), WH_OK);
    return g;
}

static void test_wh_guard__handshake_deadline_is_absolute(void **state)
{
    (void)state;
    wh_guard *g = new_guard(16);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    wh_guard_open(g, sv[0], false);
    /* Bytes during the handshake do not extend its deadline (150 ms). */
    for (int i = 0; i < 3; i++) {
        wh_guard_bytes_in(sv[0]);
        usleep(30000);
    }
    assert_true(cut_within(sv[1], 1000));
    assert_true(wh_guard_get_stats(g).deadline_closes >= 1);
    wh_guard_close(g, sv[0]);
    close(sv[0]);
    close(sv[1]);
    wh_guard_free(&g);
    assert_null(g);
}

static void test_wh_guard__idle_has_no_deadline_request_has_one(void **state)
{
    (void)state;
    wh_guard *g = new_guard(16);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    wh_guard_open(g, sv[0], false);
    wh_guard_phase(sv[0], WH_PHASE_IDLE);
    assert_false(cut_within(sv[1], 400)); /* idle: past every deadline, still open */
    wh_guard_bytes_in(sv[0]);             /* a request starts: 300 ms from now */
    int64_t t0 = wh_now_ns();
    for (int i = 0; i < 5; i++) { /* trickling does not extend it */
        wh_guard_bytes_in(sv[0]);
        usleep(20000);
    }
    assert_true(cut_within(sv[1], 1000));
    assert_true(wh_now_ns() - t0 >= 250000000LL);
    wh_guard_close(g, sv[0]);
    close(sv[0]);
    close(sv[1]);
    wh_guard_free(&g);
}

/* Returns once the monotonic clock has moved past `t`: what is stamped next is strictly later. */
static void after(int64_t t)
{
    while (wh_now_ns() <= t)
        ;
}

/*
 * Deterministic under any load: the order is made explicit (each phase starts strictly after
 * the previous one on the guard's own clock, no sleeps), and no deadline can fire during the
 * test (an hour each), so the only cut is the eviction. Its absence elsewhere is checked after
 * a complete sweeper pass that followed the cut, not after a guessed delay.
 */
static void test_wh_guard__past_the_limit_the_oldest_idle_is_cut(void **state)
{
    (void)state;
    const int64_t hour = 3600LL * 1000000000LL;
    wh_guard_opts o = {2, 4, hour, hour, hour, 1000};
    wh_guard *g = NULL;
    assert_int_equal(wh_guard_new(&o, &g), WH_OK);
    int a[2], b[2], c[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
    wh_guard_open(g, a[0], false);
    wh_guard_phase(a[0], WH_PHASE_IDLE);
    after(wh_now_ns());
    wh_guard_open(g, b[0], false);
    wh_guard_phase(b[0], WH_PHASE_IDLE);
    after(wh_now_ns());
    wh_guard_open(g, c[0], false); /* the third: a, idle longest, goes */
    assert_true(cut_within(a[1], 30000));
    /* The pass that cut a, and every cut it made, ends before the sweeper stamps its tick. */
    int64_t seen = wh_now_ns();
    while (wh_guard_get_stats(g).sweeper_tick_ns < seen)
        usleep(1000);
    assert_false(cut_within(b[1], 0));
    assert_false(cut_within(c[1], 0));
    assert_int_equal(wh_guard_get_stats(g).evictions, 1);
    assert_int_equal(wh_guard_get_stats(g).deadline_closes, 0);
    int *all[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        wh_guard_close(g, all[i][0]);
        close(all[i][0]);
        close(all[i][1]);
    }
    assert_int_equal(wh_guard_get_stats(g).open_tls, 0);
    wh_guard_free(&g);
}

static void test_wh_guard__budget(void **state)
{
    (void)state;
    wh_guard *g = new_guard(2); /* budget 1000 bytes */
    assert_true(wh_guard_reserve(g, 600));
    assert_false(wh_guard_reserve(g, 401));
    assert_true(wh_guard_reserve(g, 400));
    assert_false(wh_guard_reserve(g, 1));
    assert_false(wh_guard_reserve(g, SIZE_MAX));
    wh_guard_release(g, 1000);
    assert_true(wh_guard_reserve(g, 1000));
    wh_guard_release(g, 1000);
    wh_guard_stats st = wh_guard_get_stats(g);
    assert_int_equal(st.inflight_bytes, 0);
    assert_int_equal(st.budget_refusals, 3);
    wh_guard_free(&g);
}

static void test_wh_guard__nofile_is_raised_to_the_hard_limit(void **state)
{
    (void)state;
    struct rlimit rl;
    unsigned long n = wh_guard_raise_nofile();
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(rl.rlim_cur, rl.rlim_max == RLIM_INFINITY ? rl.rlim_cur : rl.rlim_max);
    assert_true(n >= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wh_guard__handshake_deadline_is_absolute),
        cmocka_unit_test(test_wh_guard__idle_has_no_deadline_request_has_one),
        cmocka_unit_test(test_wh_guard__past_the_limit_the_oldest_idle_is_cut),
        cmocka_unit_test(test_wh_guard__budget),
        cmocka_unit_test(test_wh_guard__nofile_is_raised_to_the_hard_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
