#!/bin/bash
# kube5xx-webhook end to end over real TLS: reviews, every HTTP error path, metrics,
# config reload, flags. Certificates come from the certs command; curl verifies them.
. "$(dirname "$0")/wh_e2e_lib.sh"

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
check "certs refuses to overwrite (exit 3)" \
    bash -c '! "$0" certs --service s --namespace n --out "$1" 2>/dev/null; [ $? -ne 3 ]' \
    "$WEBHOOK" "$WORK/certs"
"$WEBHOOK" certs --service s --namespace n --out "$WORK/certs" >/dev/null 2>&1
check "certs exit code 3 on existing files" test $? -eq 3
check "certs prints the caBundle" bash -c \
    'base64 -d "$0" | openssl x509 -noout 2>/dev/null' "$WORK/certs.bundle.b64"
check "--version" bash -c '"$0" --version | grep -q "^kube5xx-webhook [0-9]"' "$WEBHOOK"
check "--help lists every flag" bash -c 'h=$("$0" --help); for f in --tls-cert --tls-key \
    --port --health-port --config --shutdown-delay --log-level --service --namespace --out \
    --days --force; do grep -q -- "$f" <<<"$h" || exit 1; done' "$WEBHOOK"
"$WEBHOOK" serve --tls-cert x >/dev/null 2>&1
check "usage error exit 2" test $? -eq 2
"$WEBHOOK" serve --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/ca.crt" --port 0 \
    --health-port 0 --loopback >/dev/null 2>&1
check "unusable key: exit 1" test $? -eq 1

cp "$WH_FIXTURES/webhook-config.yaml" "$WORK/config.yaml"
start_server "$WORK/certs" --config "$WORK/config.yaml" --shutdown-delay 0s

# Reviews.
out=$(review "$CA" deny-create.json)
check "denied: allowed false, 403, rule named" bash -c 'grep -q "\"allowed\":false" <<<"$0" &&
    grep -q "\"code\":403" <<<"$0" && grep -q "readiness-probe-missing" <<<"$0" &&
    grep -q "\"uid\":\"0b9c1a5e-0001-4d2e-9f00-000000000001\"" <<<"$0"' "$out"
out=$(review "$CA" warn-create.json)
check "warned: allowed true with warnings" bash -c 'grep -q "\"allowed\":true" <<<"$0" &&
    grep -q "\"warnings\":\[\"memory-limit-too-low: " <<<"$0"' "$out"
out=$(tls_curl "$CA" -H 'Content-Type: application/json' --data-binary "@$WH_FIXTURES/deny-create.json" \
    "$(url /validate/warn?timeout=10s)")
check "POST /validate/warn: the denial becomes a warning" bash -c 'grep -q "\"allowed\":true" <<<"$0" &&
    grep -q "readiness-probe-missing: (would deny)" <<<"$0"' "$out"
out=$(review "$CA" deny-create-v1beta1.json)
check "v1beta1 answered in v1beta1" grep -q '"apiVersion":"admission.k8s.io/v1beta1"' <<<"$out"
out=$(review "$CA" delete.json)
check "DELETE allowed" grep -q '"allowed":true' <<<"$out"
out=$(review "$CA" exempt-namespace.json)
check "exempt namespace allowed" grep -q '"allowed":true' <<<"$out"
out=$(review "$CA" update-preexisting.json)
check "UPDATE ratchet: pre-existing violation warned" bash -c 'grep -q "\"allowed\":true" <<<"$0" &&
    grep -q "readiness-probe-missing: (pre-existing" <<<"$0"' "$out"
hdrs=$(tls_curl "$CA" -D - -o /dev/null -H 'Content-Type: application/json' \
    --data-binary "@$WH_FIXTURES/deny-create.json" "$(url)")
check "200 application/json, no Retry-After" bash -c 'grep -qi "^content-type: application/json" <<<"$0" &&
    ! grep -qi "^retry-after" <<<"$0" && grep -q "^HTTP/1.1 200" <<<"$0"' "$hdrs"

# Every HTTP error path.
code() { tls_curl "$CA" -o /dev/null -w '%{http_code}' "$@"; }
check "GET /validate: 405" test "$(code "$(url)")" = 405
check "405 says Allow: POST" bash -c 'grep -qi "^allow: POST" <<<"$0"' \
    "$(tls_curl "$CA" -D - -o /dev/null "$(url)")"
check "text/plain: 415" test "$(code -H 'Content-Type: text/plain' -d '{}' "$(url)")" = 415
check "no content type: 415" test "$(code -H 'Content-Type:' -d '{}' "$(url)")" = 415
check "charset parameter accepted" test \
    "$(code -H 'Content-Type: application/json; charset=utf-8' \
        --data-binary "@$WH_FIXTURES/clean-create.json" "$(url)")" = 200
head -c $((3 * 1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$WORK/big.json"
check "body over 3 MiB: 413" test \
    "$(code -H 'Content-Type: application/json' --data-binary "@$WORK/big.json" "$(url)")" = 413
check "chunked body over 3 MiB: 413" test "$(code -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data-binary "@$WORK/big.json" "$(url)")" = 413
# Without Expect: 100-continue the body is already on its way: the server reads and drops it
# and answers 413 the client can read (not a reset over unread bytes).
check "body over 3 MiB, no Expect: a readable 413" test "$(code -H 'Content-Type: application/json' \
    -H 'Expect:' --data-binary "@$WORK/big.json" "$(url)")" = 413
python3 -c 'import sys; sys.stdout.write("{\"a\":[" + "0," * 250000 + "0]}")' >"$WORK/wide.json"
check "more than 200,000 JSON values: 413 before parsing" test "$(code \
    -H 'Content-Type: application/json' --data-binary "@$WORK/wide.json" "$(url)")" = 413
check "413 says why" grep -q "more than 200000 JSON values" \
    <(tls_curl "$CA" -H 'Content-Type: application/json' --data-binary "@$WORK/wide.json" "$(url)")
check "unparseable JSON: 400" test "$(code -H 'Content-Type: application/json' -d '{"a":' "$(url)")" = 400
check "400 says what is wrong" grep -q "invalid JSON" \
    <<<"$(tls_curl "$CA" -H 'Content-Type: application/json' -d '{"a":' "$(url)")"
check "not an AdmissionReview: 400" test \
    "$(code -H 'Content-Type: application/json' -d '{"kind":"Pod"}' "$(url)")" = 400
check "other path on the TLS port: 404" test "$(code "$(url /metrics)")" = 404
check "TLS 1.1 refused" bash -c '! curl -sS --max-time 5 --cacert "$0" --resolve "$1:$2:127.0.0.1" \
    --tlsv1.1 --tls-max 1.1 -o /dev/null "https://$1:$2/validate" 2>/dev/null' "$CA" "$HOST" "$PORT"
check "TLS 1.2 accepted" test "$(code --tlsv1.2 --tls-max 1.2 -H 'Content-Type: application/json' \
    --data-binary "@$WH_FIXTURES/clean-create.json" "$(url)")" = 200
check "plain HTTP on the TLS port refused" bash -c \
    '! curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$0/validate" 2>/dev/null' "$PORT"

# Health port and metrics.
check "/livez 200" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/livez")" = 200
check "/readyz 200" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/readyz")" = 200
# /readyz's probe sends a Service review a second; it is neither logged nor counted.
check "the readiness probe's reviews are not logged" bash -c '! grep -q "kube5xx-readyz" "$0"' \
    "$WORK/server.log"
check "the readiness probe's reviews are not counted" bash -c \
    '! curl -sS --max-time 5 "http://127.0.0.1:$0/metrics" | grep -q "^kube5xx_admission_requests_total{kind=\"Service\""' \
    "$HPORT"
check "metrics: denied reviews counted" test \
    "$(metric 'kube5xx_admission_requests_total{kind="Deployment",operation="CREATE",decision="denied"}')" -ge 1
check "metrics: warned reviews counted" test \
    "$(metric 'kube5xx_admission_requests_total{kind="Deployment",operation="CREATE",decision="warned"}')" -ge 1
check "metrics: findings by rule" test \
    "$(metric 'kube5xx_rule_findings_total{rule="readiness-probe-missing",severity="error",action="deny"}')" -ge 1
for c in 400 404 405 413 415; do
    check "metrics: http error $c counted" test "$(metric "kube5xx_http_errors_total{code=\"$c\"}")" -ge 1
done
check "metrics: cert expiry exported" test "$(metric kube5xx_tls_cert_expiry_timestamp_seconds)" -gt "$(date +%s)"
check "metrics: histogram" test "$(metric kube5xx_admission_duration_seconds_count)" -ge 5
# Review lines are buffered (written at least every 100 ms): poll for them.
check "one JSON log line per review" wait_for 2 bash -c \
    '[ "$(grep -c "\"msg\":\"review\",\"uid\":\"0b9c1a5e-0001" "$0")" -ge 2 ]' "$WORK/server.log"

# Config reload: mode warn through a file change, a bad file refused, SIGHUP.
printf 'webhook:\n  mode: warn\n' >"$WORK/config.new" && mv "$WORK/config.new" "$WORK/config.yaml"
check "config change picked up" wait_for 5 bash -c \
    'grep -q "\"msg\":\"config reloaded\"" "$0"' "$WORK/server.log"
out=$(review "$CA" deny-create.json)
check "mode warn: the denial becomes a warning" bash -c 'grep -q "\"allowed\":true" <<<"$0" &&
    grep -q "readiness-probe-missing: (would deny)" <<<"$0"' "$out"
printf 'webhook:\n  mode: loud\n' >"$WORK/config.new" && mv "$WORK/config.new" "$WORK/config.yaml"
check "bad config refused" wait_for 5 bash -c \
    'grep -q "\"msg\":\"new config refused; the old one stays\"" "$0"' "$WORK/server.log"
check "metrics: failed reload counted" test "$(metric 'kube5xx_config_reloads_total{result="failure"}')" -ge 1
out=$(review "$CA" deny-create.json)
check "old config still in force" grep -q '"allowed":true' <<<"$out"
printf 'webhook:\n  mode: enforce\n' >"$WORK/config.yaml.new" && mv "$WORK/config.yaml.new" "$WORK/config.yaml"
kill -HUP "$SERVER_PID"
check "SIGHUP reload" wait_for 5 bash -c '[ $(grep -c "\"msg\":\"config reloaded\"" "$0") -ge 2 ]' \
    "$WORK/server.log"
out=$(review "$CA" deny-create.json)
check "enforce again" grep -q '"allowed":false' <<<"$out"

# A FIFO put at the config path (nobody ever writes to it): opening it for reading would block
# the thread that handles signals and reloads until a writer came. It must be refused as not
# a regular file, on a change and on SIGHUP, with reviews, health and the old config unharmed.
refusals=$(grep -c '"msg":"new config refused; the old one stays"' "$WORK/server.log")
mkfifo "$WORK/config.fifo" && mv "$WORK/config.fifo" "$WORK/config.yaml"
check "a FIFO at the config path is refused" wait_for 5 bash -c \
    '[ "$(grep -c "\"msg\":\"new config refused; the old one stays\"" "$0")" -gt "$1" ]' \
    "$WORK/server.log" "$refusals"
check "the refusal says why" grep -q 'not a regular file' "$WORK/server.log"
kill -HUP "$SERVER_PID"
reloads=$(grep -c '"msg":"config reloaded"' "$WORK/server.log")
out=$(review "$CA" deny-create.json)
check "with the FIFO there and after SIGHUP, reviews are answered under the old config" \
    grep -q '"allowed":false' <<<"$out"
check "with the FIFO there, /livez answers" \
    test "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/livez")" = 200
printf 'webhook:\n  mode: warn\n' >"$WORK/config.new" && mv "$WORK/config.new" "$WORK/config.yaml"
check "a regular file after the FIFO is loaded (the reload thread was never stuck)" \
    wait_for 5 bash -c '[ "$(grep -c "\"msg\":\"config reloaded\"" "$0")" -gt "$1" ]' \
    "$WORK/server.log" "$reloads"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "SIGTERM: exit 0" test $? -eq 0
SERVER_PID=
finish
