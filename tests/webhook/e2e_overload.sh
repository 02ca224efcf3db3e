#!/bin/bash
# Overload: at --max-connections, a new connection is served at once; the connection that has
# waited longest is closed to make room (the new one does not wait in the listen backlog).
. "$(dirname "$0")/wh_e2e_lib.sh"

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
start_server "$WORK/certs" --threads 1 --max-connections 2 --shutdown-delay 0s
# Two connections that send nothing take both slots; the first one opened is the oldest.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.3
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.3
start=$(date +%s%N)
c=$(tls_curl "$CA" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$WH_FIXTURES/clean-create.json" "$(url)")
ms=$((($(date +%s%N) - start) / 1000000))
# At once: well before the 5 s handshake deadline would free a slot (3 s: a loaded CI machine).
check "the third connection was served at once (200 after ${ms} ms)" test "$c" = 200 -a "$ms" -lt 3000
# A closed connection reads end-of-file at once (status 1); an open one times out (> 128).
read -r -t 2 -u 3 _; st3=$?
read -r -t 0.5 -u 4 _; st4=$?
check "the oldest connection was closed to make room (read status $st3)" test "$st3" -eq 1
check "the newer one is still open (read status $st4)" test "$st4" -gt 128
check "evictions are counted" test "$(metric 'kube5xx_connections_evicted_total')" -ge 1
exec 3<&- 4<&-
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "exit 0" test $? -eq 0
SERVER_PID=
finish
