#!/bin/bash
# Overload: at --max-connections, a new connection is served at once; the connection that has
# waited longest is closed to make room (the new one does not wait in the listen backlog).
. "$(dirname "$0")/wh_e2e_lib.sh"

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
start_server "$WORK/certs" --threads 1 --max-connections 2 --shutdown-delay 0s
# Two connections that send nothing take both slots; the first one opened is the oldest.
# (Both would be cut by the 5 s handshake deadline: the checks below tell eviction apart.)
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.3
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
t4=$(date +%s%N)
sleep 0.3
c=$(tls_curl "$CA" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$WH_FIXTURES/clean-create.json" "$(url)")
ms=$((($(date +%s%N) - t4) / 1000000))
check "the third connection was served (200, ${ms} ms after the second opened)" test "$c" = 200
check "a connection was evicted for it, not left to a deadline" \
    test "$(metric 'kube5xx_connections_evicted_total')" -ge 1
# A closed connection reads end-of-file at once (status 1); an open one times out (> 128).
read -r -t 2 -u 3 _; st3=$?
check "the oldest connection was closed to make room (read status $st3)" test "$st3" -eq 1
read -r -t 0.3 -u 4 _; st4=$?
age=$((($(date +%s%N) - t4) / 1000000))
if [ "$age" -lt 4500 ]; then
    check "the newer one is still open (read status $st4)" test "$st4" -gt 128
else
    echo "not judged: the newer connection is ${age} ms old, near its 5 s handshake deadline"
fi
exec 3<&- 4<&-
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "exit 0" test $? -eq 0
SERVER_PID=
finish
