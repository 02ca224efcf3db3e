#!/bin/bash
# /livez notices a stuck main loop (the thread that takes signals and reloads files): a reload
# blocked in the kernel fails liveness once it has run for WH_MAIN_STALL_MS (10 s), not before,
# while reviews and readiness go on; once it returns, /livez is 200 again and SIGTERM works.
# The block is real: a test-only LD_PRELOAD shim (blocking_open.c) drops O_NONBLOCK from the
# open of the config path, so a FIFO there blocks the reload as it did before the webhook
# refused FIFOs (the same as a read from a hung network mount).
. "$(dirname "$0")/wh_e2e_lib.sh"
: "${WH_BLOCKING_OPEN:?WH_BLOCKING_OPEN must name the blocking_open shim}"

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
cp "$WH_FIXTURES/webhook-config.yaml" "$WORK/config.yaml"
# GCC's ASan wants its runtime first in the library list; the shim comes before it here.
asan=${ASAN_OPTIONS:-}
[ "${WH_SANITIZED:-0}" = 1 ] && asan="${asan:+$asan:}verify_asan_link_order=0"
ASAN_OPTIONS=$asan LD_PRELOAD=$WH_BLOCKING_OPEN K5_TEST_BLOCKING_OPEN=$WORK/config.yaml \
    start_server "$WORK/certs" --config "$WORK/config.yaml" --watch-interval 1m \
    --shutdown-delay 0s
check "the shim is loaded in the server" grep -q blocking_open "/proc/$SERVER_PID/maps"

livez() { curl -sS --max-time 5 -o "$WORK/livez.body" -w '%{http_code}' \
    "http://127.0.0.1:$HPORT/livez"; }
readyz() { curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/readyz"; }
livez_is() { test "$(livez)" = "$1"; }
readyz_is() { test "$(readyz)" = "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
check "/livez 200 before" test "$(livez)" = 200
check "/readyz 200 before" wait_for 5 readyz_is 200

# The files are checked once a minute here, so the reload comes from SIGHUP: its bound is
# 10 s from the start of the reload, not from the end of the minute's wait.
mkfifo "$WORK/config.fifo" && mv "$WORK/config.fifo" "$WORK/config.yaml"
kill -HUP "$SERVER_PID"
t0=$(now_ms)
sleep 3
check "SIGHUP taken" wait_for 5 grep -q '"msg":"SIGHUP: reloading' "$WORK/server.log"
check "3 s into the blocked reload, /livez is still 200 (the bound is 10 s)" test "$(livez)" = 200
out=$(review "$CA" deny-create.json)
check "reviews are answered while the main loop is blocked" grep -q '"allowed":false' <<<"$out"
check "/readyz stays 200: reviews are answered" test "$(readyz)" = 200
check "/livez fails within 20 s" wait_for 20 livez_is 503
elapsed=$(($(now_ms) - t0))
check "not before the 10 s bound (${elapsed} ms after SIGHUP)" test "$elapsed" -ge 9500
check "/livez says the main loop is stuck in the reload" grep -q \
    'the main loop (signals, reloads) is stuck: in a reload of the config and certificate (SIGHUP) for' \
    "$WORK/livez.body"

# A writer releases the open; the FIFO is then refused as not a regular file, the loop comes
# round, and /livez is 200 again.
exec 3>"$WORK/config.yaml"
exec 3>&-
check "the FIFO refused once the open returned" wait_for 5 grep -q 'not a regular file' \
    "$WORK/server.log"
check "/livez 200 again" wait_for 5 livez_is 200
kill -TERM "$SERVER_PID"
check "SIGTERM: exit within 10 s" wait_for 10 bash -c '! kill -0 "$0" 2>/dev/null' "$SERVER_PID"
wait "$SERVER_PID"
check "SIGTERM: exit 0" test $? -eq 0
SERVER_PID=
finish
