#!/bin/bash
# Certificate rotation under load: the serving files are replaced (as cert-manager
# renews a Secret) while keep-alive and new-connection load runs. Zero requests may
# fail, the new certificate must be served, and a bad pair must be refused.
. "$(dirname "$0")/wh_e2e_lib.sh"
command -v hey >/dev/null || { echo "SKIP: hey is not installed"; exit 77; }

gen_certs "$WORK/a" && gen_certs "$WORK/b" || { fail "certs"; finish; }
mkdir -p "$WORK/serving"
cp "$WORK/a/tls.crt" "$WORK/a/tls.key" "$WORK/serving/"
# Clients trust both CAs, as they would during a CA rollover.
cat "$WORK/a/ca.crt" "$WORK/b/ca.crt" >"$WORK/both-ca.crt"
start_server "$WORK/serving" --watch-interval 100ms --shutdown-delay 0s
check "serves the first certificate" test "$(served_fingerprint)" = "$(file_fingerprint "$WORK/a/tls.crt")"

BODY=$WH_FIXTURES/deny-create.json
# Keep-alive load: connections opened before the rotation keep serving across it.
hey_load 3s 4 "$BODY" >"$WORK/hey.txt" 2>&1 &
# (the summary is kept in $WORK/hey.txt)
HEY=$!
# New-connection load, verified against the CAs: every handshake after the swap
# must present a complete, valid pair. It runs until three requests have started after the
# swap was complete (bounded at 40 s), not for a fixed time: under load a few seconds held
# too few handshakes to judge.
(
    end=$((SECONDS + 40))
    n=0 bad=0 after=0
    while [ $SECONDS -lt $end ] && [ "$after" -lt 3 ]; do
        swapped=0
        [ -e "$WORK/swapped" ] && swapped=1
        c=$(tls_curl "$WORK/both-ca.crt" -o /dev/null -w '%{http_code}' \
            -H 'Content-Type: application/json' --data-binary "@$BODY" "$(url)" 2>/dev/null)
        n=$((n + 1))
        [ "$c" = 200 ] || bad=$((bad + 1))
        after=$((after + swapped))
    done
    echo "$n $bad $after" >"$WORK/curl.txt"
) &
CURL=$!

sleep 1
# Replace the files in place the way a writer that is not atomic would: the
# certificate first, then the key. The mismatched window is held open until the watcher
# has seen it and refused it, so it is always exercised, however slow the machine.
cp "$WORK/b/tls.crt" "$WORK/serving/tls.crt"
check "the mismatched window was refused, not served" wait_for 10 \
    grep -q '"msg":"new certificate refused; the old one keeps serving"' "$WORK/server.log"
cp "$WORK/b/tls.key" "$WORK/serving/tls.key"
touch "$WORK/swapped"
wait "$HEY" "$CURL"

check "keep-alive load: $(grep -o '\[200\][[:space:]]*[0-9]*' "$WORK/hey.txt" | awk '{print $2}') requests, all 200" \
    hey_clean "$WORK/hey.txt"
read -r n bad after <"$WORK/curl.txt"
check "new-connection load: $n requests ($after after the swap), $bad failed" \
    test "$bad" -eq 0 -a "$after" -ge 3
new_fp=$(file_fingerprint "$WORK/b/tls.crt")
serves_new() { [ "$(served_fingerprint)" = "$new_fp" ]; }
check "serves the new certificate" wait_for 5 serves_new
check "metrics: rotation counted" test "$(metric 'kube5xx_tls_cert_reloads_total{result="success"}')" -ge 1

# A bad pair: garbage certificate. Refused; the good pair keeps serving.
echo "not a certificate" >"$WORK/serving/tls.crt.new" && mv "$WORK/serving/tls.crt.new" "$WORK/serving/tls.crt"
sleep 0.5
check "garbage refused, old pair still served" test "$(served_fingerprint)" = "$(file_fingerprint "$WORK/b/tls.crt")"
check "still answering" test "$(tls_curl "$WORK/both-ca.crt" -o /dev/null -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "@$BODY" "$(url)")" = 200
check "/readyz still 200" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/readyz")" = 200

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "exit 0" test $? -eq 0
SERVER_PID=
finish
