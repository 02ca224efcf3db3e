# Shared by the webhook's end-to-end scripts (sourced, not run).
# Env: WEBHOOK (the binary), WH_FIXTURES (tests/webhook/fixtures).
set -u
: "${WEBHOOK:?WEBHOOK must name the kube5xx-webhook binary}"
: "${WH_FIXTURES:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/fixtures}"
for tool in curl openssl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done

WORK=$(mktemp -d /tmp/wh-e2e.XXXXXX)
SERVER_PID=
HOST=kube5xx-webhook.kube5xx.svc
FAILS=0

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    if [ "$FAILS" -ne 0 ] && [ -f "$WORK/server.log" ]; then
        echo "--- server log (last 30 lines)"
        tail -n 30 "$WORK/server.log"
    fi
    [ "$FAILS" -ne 0 ] && [ -f "$WORK/hey.txt" ] && sed -n "/Status code/,\$p" "$WORK/hey.txt"
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

# gen_certs DIR [extra flags]: the certs command, caBundle saved to DIR/bundle.b64.
gen_certs() {
    local dir=$1
    shift
    "$WEBHOOK" certs --service kube5xx-webhook --namespace kube5xx --out "$dir" "$@" \
        >"$dir.bundle.b64" 2>/dev/null
}

# start_server CERTDIR [flags]: starts on free loopback ports; sets PORT, HPORT, SERVER_PID.
start_server() {
    local dir=$1
    shift
    : >"$WORK/server.log"
    "$WEBHOOK" serve --tls-cert "$dir/tls.crt" --tls-key "$dir/tls.key" --port 0 \
        --health-port 0 --loopback "$@" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        if grep -q '"msg":"listening"' "$WORK/server.log"; then
            PORT=$(grep -o '"port":[0-9]*' "$WORK/server.log" | head -1 | cut -d: -f2)
            HPORT=$(grep -o '"healthPort":[0-9]*' "$WORK/server.log" | head -1 | cut -d: -f2)
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    FAILS=$((FAILS + 1))
    echo "FAIL: the server did not start"
    exit 1
}

url() { echo "https://$HOST:$PORT${1:-/validate?timeout=10s}"; }

# hey_load DURATION WORKERS BODYFILE: keep-alive load with hey (Go's HTTP client, like the
# apiserver's). -host gives it an SNI without the port; hey sends "host:port" otherwise,
# which GnuTLS rejects as an invalid server name.
hey_load() {
    hey -z "$1" -c "$2" -host "$HOST" -m POST -T application/json -D "$3" \
        "https://127.0.0.1:$PORT/validate?timeout=10s"
}

# hey_clean FILE: hey's summary shows only 200s and no errors.
hey_clean() {
    local codes
    codes=$(sed -n '/^Status code distribution:/,/^$/p' "$1" | grep -Eo '\[[0-9]{3}\]' | sort -u)
    [ "$codes" = "[200]" ] && ! grep -q "Error distribution" "$1"
}

# tls_curl CAFILE [curl args]: curl over real TLS, verifying the certificate against CAFILE.
tls_curl() {
    local ca=$1
    shift
    curl -sS --max-time 10 --cacert "$ca" --resolve "$HOST:$PORT:127.0.0.1" "$@"
}

# review CAFILE FIXTURE: posts a review; prints the body.
review() {
    tls_curl "$1" -H 'Content-Type: application/json' --data-binary "@$WH_FIXTURES/$2" "$(url)"
}

# metric NAME_WITH_LABELS: the value of one series on /metrics (0 when absent).
metric() {
    local v
    v=$(curl -sS --max-time 5 "http://127.0.0.1:$HPORT/metrics" |
        awk -v n="$1" '$1 == n { print $2; exit }')
    echo "${v:-0}"
}

# served_fingerprint: SHA-256 fingerprint of the certificate the server presents now.
served_fingerprint() {
    openssl s_client -connect "127.0.0.1:$PORT" -servername "$HOST" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}

file_fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# wait_for SECONDS COMMAND...: polls every 50 ms until the command succeeds.
wait_for() {
    local limit=$1
    shift
    local end=$((SECONDS + limit + 1))
    while [ $SECONDS -lt $end ]; do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

finish() {
    if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS check(s) failed"
        exit 1
    fi
    echo "all checks passed"
    exit 0
}
