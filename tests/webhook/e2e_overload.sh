#!/bin/bash
# Overload: at --max-connections, new connections wait in the listen backlog and are served
# when a slot frees; they are not refused.
. "$(dirname "$0")/wh_e2e_lib.sh"

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
start_server "$WORK/certs" --threads 1 --max-connections 2 --shutdown-delay 0s
# Two idle TLS connections take both slots and hold them for 1.5 s.
for _ in 1 2; do
    (sleep 2 | timeout 1.5 openssl s_client -connect "127.0.0.1:$PORT" -quiet) >/dev/null 2>&1 &
done
sleep 0.4
start=$(date +%s%N)
c=$(tls_curl "$CA" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$WH_FIXTURES/clean-create.json" "$(url)")
ms=$((($(date +%s%N) - start) / 1000000))
check "the third connection was queued, then served (200 after ${ms} ms)" test "$c" = 200 -a "$ms" -ge 500
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "exit 0" test $? -eq 0
SERVER_PID=
finish
