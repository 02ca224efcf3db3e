#!/bin/bash
# Overload: at --max-connections, a new connection is served at once; the connection that has
# waited longest is closed to make room (the new one does not wait in the listen backlog).
. "$(dirname "$0")/wh_e2e_lib.sh"

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
start_server "$WORK/certs" --threads 1 --max-connections 2 --shutdown-delay 0s
# Two connections that send nothing take both slots; the first one opened is the oldest.
# Everything below waits for the server's own counts instead of sleeping, so the order of
# events is certain however loaded the machine is. (Idle connections are also cut by the 5 s
# handshake deadline: the checks below tell eviction apart, and say when they cannot.)
open_tls() { test "$(metric 'kube5xx_connections_open{port="tls"}')" = "$1"; }
evicted() { test "$(metric kube5xx_connections_evicted_total)" -ge 1; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# wait_ms MS COMMAND...: polls every 20 ms until the command succeeds, for at most MS ms.
wait_ms() {
    local end=$(($(date +%s%N) / 1000000 + $1))
    shift
    while [ $(($(date +%s%N) / 1000000)) -lt "$end" ]; do
        "$@" && return 0
        sleep 0.02
    done
    return 1
}
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
t3=$(date +%s%N)
check "the server accepted the first connection" wait_for 10 open_tls 1
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
t4=$(date +%s%N)
check "the server accepted the second connection" wait_for 10 open_tls 2
# A third idle connection stays over the limit until the server makes room: the sweeper
# (its own thread, woken by the third) must evict the oldest. A request served and gone
# before the sweeper runs would leave nothing to evict, so the newcomer here stays open.
# The first connection's 5 s handshake deadline bounds the wait: past it a deadline cut would
# come first, so the count is awaited until 4.5 s after the first connection opened.
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
age3=$(ms_since "$t3")
if [ "$age3" -ge 4000 ]; then
    echo "not judged: the first connection was ${age3} ms old when the third came"
elif wait_ms $((4500 - age3)) evicted; then
    ok "the oldest was evicted for the third ($(ms_since "$t3") ms after the first opened)"
else
    fail "no connection was evicted for the third within $((4500 - age3)) ms"
fi
# A closed connection reads end-of-file at once (status 1); an open one times out (> 128).
read -r -t 2 -u 3 _; st3=$?
check "the oldest connection was closed to make room (read status $st3)" test "$st3" -eq 1
read -r -t 0.3 -u 4 _; st4=$?
age=$(ms_since "$t4")
if [ "$age" -lt 4500 ]; then
    check "the newer one is still open (read status $st4)" test "$st4" -gt 128
else
    echo "not judged: the newer connection is ${age} ms old, near its 5 s handshake deadline"
fi
# At the limit again (the second and third), a review is served at once: the new connection
# does not wait in the listen backlog for a slot.
t=$(date +%s%N)
c=$(tls_curl "$CA" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$WH_FIXTURES/clean-create.json" "$(url)")
check "a review at the limit was served (200, in $(ms_since "$t") ms)" test "$c" = 200
exec 3<&- 4<&- 5<&-
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "exit 0" test $? -eq 0
SERVER_PID=
finish
