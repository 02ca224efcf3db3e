#!/bin/bash
# Graceful shutdown under load: SIGTERM turns readiness off at once, the server keeps
# answering (with Connection: close) through --shutdown-delay, then stops accepting,
# finishes the review still in flight, and exits 0. Zero requests may fail.
. "$(dirname "$0")/wh_e2e_lib.sh"
command -v hey >/dev/null || { echo "SKIP: hey is not installed"; exit 77; }

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
start_server "$WORK/certs" --shutdown-delay 2s --drain-timeout 5s
BODY=$WH_FIXTURES/deny-create.json

# A review padded to ~2 MiB, uploaded slowly so that it is still in flight when the
# delay ends and the server stops accepting.
{
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"slow-1",'
    printf '"operation":"CREATE","namespace":"shop","object":{"apiVersion":"v1","kind":"ConfigMap",'
    printf '"metadata":{"name":"big"},"data":{"pad":"'
    head -c 2000000 /dev/zero | tr '\0' 'x'
    printf '"}}}}'
} >"$WORK/slow.json"

# Load until the endpoint would be removed (readiness false + ~1 s for the apiserver to notice).
hey_load 2s 4 "$BODY" >"$WORK/hey.txt" 2>&1 &
HEY=$!
(
    n=0 bad=0
    while [ ! -f "$WORK/stop-load" ]; do
        c=$(tls_curl "$CA" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "@$BODY" "$(url)" 2>/dev/null)
        n=$((n + 1))
        [ "$c" = 200 ] || bad=$((bad + 1))
    done
    echo "$n $bad" >"$WORK/curl.txt"
) &
CURL=$!

sleep 0.8
T0=$SECONDS
kill -TERM "$SERVER_PID"
check "readiness false at once" wait_for 1 bash -c \
    '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$0/readyz")" = 503 ]' "$HPORT"
check "liveness still true" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/livez")" = 200
hdrs=$(tls_curl "$CA" -D - -o /dev/null -H 'Content-Type: application/json' --data-binary "@$BODY" "$(url)")
check "draining: answered with Connection: close" bash -c \
    'grep -q "^HTTP/1.1 200" <<<"$0" && grep -qi "^connection: close" <<<"$0"' "$hdrs"
# The slow upload starts inside the delay and ends after it (2 MB at 1 MB/s).
tls_curl "$CA" -o "$WORK/slow.out" -w '%{http_code}' --limit-rate 1M \
    -H 'Content-Type: application/json' --data-binary "@$WORK/slow.json" "$(url)" >"$WORK/slow.code" 2>&1 &
SLOW=$!
sleep 0.6
touch "$WORK/stop-load"
wait "$HEY" "$CURL"
wait "$SLOW"
wait "$SERVER_PID"
RC=$?
ELAPSED=$((SECONDS - T0))
SERVER_PID=

check "keep-alive load: $(grep -o '\[200\][[:space:]]*[0-9]*' "$WORK/hey.txt" | awk '{print $2}') requests, all 200" \
    hey_clean "$WORK/hey.txt"
read -r n bad <"$WORK/curl.txt"
check "new-connection load: $n requests, $bad failed" test "$bad" -eq 0 -a "$n" -gt 3
check "the review in flight at stop was answered" bash -c \
    'grep -q "^200$" "$0" && grep -q "\"uid\":\"slow-1\"" "$1"' "$WORK/slow.code" "$WORK/slow.out"
check "exit 0" test "$RC" -eq 0
check "exited within delay + drain (${ELAPSED}s)" test "$ELAPSED" -le 7
check "stopped cleanly" grep -q '"msg":"stopped"' "$WORK/server.log"
check "after exit: nothing listens" bash -c \
    '! curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$0/livez"' "$HPORT"
finish
