#!/bin/bash
# Overload: at --max-connections, a new connection is served at once; the connection that has
# waited longest is closed to make room (the new one does not wait in the listen backlog).
. "$(dirname "$0")/wh_e2e_lib.sh"

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
# The handshake deadline is set far out (--handshake-timeout 1m), so nothing but an eviction
# can close an idle connection while the test runs, however slow the machine: each check is
# judged, none is skipped for coming too close to a deadline.
start_server "$WORK/certs" --threads 1 --max-connections 2 --shutdown-delay 0s \
    --handshake-timeout 1m
# Two connections that send nothing take both slots; the first one opened is the oldest.
# Everything below waits for the server's own counts instead of sleeping, so the order of
# events is certain however loaded the machine is.
open_tls() { test "$(metric 'kube5xx_connections_open{port="tls"}')" = "$1"; }
evicted() { test "$(metric kube5xx_connections_evicted_total)" -ge 1; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
t3=$(date +%s%N)
check "the server accepted the first connection" wait_for 10 open_tls 1
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
check "the server accepted the second connection" wait_for 10 open_tls 2
# A third idle connection stays over the limit until the server makes room: the sweeper
# (its own thread, woken by the third) must evict the oldest. A request served and gone
# before the sweeper runs would leave nothing to evict, so the newcomer here stays open.
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
if wait_for 20 evicted; then
    ok "the oldest was evicted for the third ($(ms_since "$t3") ms after the first opened)"
else
    fail "no connection was evicted for the third within 20 s"
fi
check "no connection was cut by a deadline (the handshake deadline is 1 minute)" \
    test "$(metric kube5xx_connections_deadline_closed_total)" = 0
# A closed connection reads end-of-file at once (status 1); an open one times out (> 128).
read -r -t 2 -u 3 _; st3=$?
check "the oldest connection was closed to make room (read status $st3)" test "$st3" -eq 1
read -r -t 0.3 -u 4 _; st4=$?
check "the newer one is still open (read status $st4)" test "$st4" -gt 128
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

# The other way round: a short --handshake-timeout cuts an idle connection long before the
# default 5 s would.
start_server "$WORK/certs" --threads 1 --shutdown-delay 0s --handshake-timeout 200ms
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
t3=$(date +%s%N)
read -r -t 3 -u 3 _; st3=$?
check "--handshake-timeout 200ms: an idle connection closed (read status $st3) in $(ms_since "$t3") ms" \
    test "$st3" -eq 1
check "counted as a deadline close" test "$(metric kube5xx_connections_deadline_closed_total)" -ge 1
exec 3<&-
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "exit 0" test $? -eq 0
SERVER_PID=
finish
