#!/usr/bin/env bash
# kube5xx-webhook in one command: builds it, generates certificates with its certs command,
# starts it on loopback, and sends two AdmissionReviews over TLS (curl verifies the
# certificate against the generated CA): one denied, one allowed with warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B out/webhook-demo -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build out/webhook-demo -j"$(nproc)" --target kube5xx-webhook >/dev/null
WH=out/webhook-demo/webhook/kube5xx-webhook
FIX=tests/webhook/fixtures
WORK=$(mktemp -d /tmp/kube5xx-webhook-demo.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== kube5xx-webhook certs --service kube5xx-webhook --namespace kube5xx --out $WORK/certs"
"$WH" certs --service kube5xx-webhook --namespace kube5xx --out "$WORK/certs" >"$WORK/caBundle"
echo "   caBundle (for the ValidatingWebhookConfiguration): $(cut -c1-40 "$WORK/caBundle")..."

"$WH" serve --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" \
    --port 0 --health-port 0 --loopback --shutdown-delay 1s 2>"$WORK/log" &
PID=$!
for _ in $(seq 100); do grep -q '"msg":"listening"' "$WORK/log" && break; sleep 0.05; done
PORT=$(grep -o '"port":[0-9]*' "$WORK/log" | head -1 | cut -d: -f2)
HPORT=$(grep -o '"healthPort":[0-9]*' "$WORK/log" | head -1 | cut -d: -f2)
echo "== serving https://kube5xx-webhook.kube5xx.svc:$PORT/validate (health on :$HPORT)"

review() {
    curl -sS --cacert "$WORK/certs/ca.crt" \
        --resolve "kube5xx-webhook.kube5xx.svc:$PORT:127.0.0.1" \
        -H 'Content-Type: application/json' --data-binary "@$FIX/$1" \
        "https://kube5xx-webhook.kube5xx.svc:$PORT/validate?timeout=10s" | python3 -m json.tool
}
echo
echo "== 1. CREATE Deployment shop/web, no readinessProbe  ($FIX/deny-create.json)"
review deny-create.json
echo
echo "== 2. CREATE Deployment shop/web, probe set, memory limit 32Mi  ($FIX/warn-create.json)"
review warn-create.json
echo
echo "== the log lines of the two reviews (stderr, one JSON object each)"
# Review lines are written in batches, at least every 100 ms: wait for both (at most 2 s).
for _ in $(seq 40); do [ "$(grep -c '"msg":"review"' "$WORK/log")" -ge 2 ] && break; sleep 0.05; done
grep '"msg":"review"' "$WORK/log"
echo
echo "== metrics (http://127.0.0.1:$HPORT/metrics, excerpt)"
curl -s "http://127.0.0.1:$HPORT/metrics" | grep -E '^kube5xx_(admission_requests|rule_findings)_total'
kill -TERM "$PID"
wait "$PID" && echo && echo "== SIGTERM: drained for 1s, exit status 0"
PID=
