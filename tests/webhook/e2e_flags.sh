#!/bin/bash
# serve's flags come from one table: every flag is in --help and in docs/webhook.md, a bad
# value is a usage error (exit 2) naming the flag, what it must be and the value.
. "$(dirname "$0")/wh_e2e_lib.sh"
DOCS="$(dirname "$0")/../../docs/webhook.md"

# bad_value FLAG VALUE WANT: exit 2 and "FLAG: not WANT: 'VALUE'" on stderr.
bad_value() {
    local out rc
    out=$("$WEBHOOK" serve --tls-cert x --tls-key y "$1=$2" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" = 2 ] && grep -qF -- "$1: not $3: '$2'" <<<"$out"
}

check "--port refuses a word" bad_value --port x "a port number"
check "--port refuses 65536" bad_value --port 65536 "a port number"
check "--threads refuses 0" bad_value --threads 0 "a number between 1 and 256"
check "--max-inflight-bytes refuses 1Ki" bad_value --max-inflight-bytes 1Ki "a size of at least 4Mi (bytes, or with Ki, Mi, Gi)"
check "--handshake-timeout refuses 10ms" bad_value --handshake-timeout 10ms "a duration between 100ms and 10m"
check "--idle-timeout refuses 10ms" bad_value --idle-timeout 10ms "a duration between 1s and 1h"
check "--shutdown-delay refuses a negative duration" bad_value --shutdown-delay -1s "a duration up to 1h"
check "--log-level refuses loud" bad_value --log-level loud "one of debug, info, warn, error"
check "--cluster-cache refuses maybe" bad_value --cluster-cache maybe "one of on, off, auto"
check "--kubeconfig refuses an empty name" bad_value --kubeconfig "" "a file"
check "--cache-sync-timeout refuses 0s" bad_value --cache-sync-timeout 0s "a duration between 1ms and 1h"
check "an unknown flag is a usage error" bash -c '"$1" serve --bogus 2>&1 | grep -q "unknown argument" ; [ "${PIPESTATUS[0]}" = 2 ]' _ "$WEBHOOK"

# Every flag of the table is documented in --help and in docs/webhook.md's table.
help=$("$WEBHOOK" --help)
flags=$(grep -o 'SF("--[a-z-]*"' "$(dirname "$0")/../../webhook/wh_main.c" | cut -d'"' -f2)
check "the flag table is not empty" test -n "$flags"
for f in $flags; do
    check "$f is in --help" grep -qF -- "  $f " <<<"$help"
    check "$f is in docs/webhook.md" grep -qF -- "| \`$f" "$DOCS"
done
# Inside a pod without a service-account token (a CI runner), auto judges objects alone
# instead of refusing to start; --cluster-cache=on (asked for) refuses.
gen_certs "$WORK/certs"
KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=1 start_server "$WORK/certs" --shutdown-delay=0s
check "auto without an in-cluster config starts, judging objects alone" \
    grep -q 'cluster cache off: cannot load the in-cluster API configuration' "$WORK/server.log"
ready_soon() { # the health port answers as soon as it listens; allow a loaded machine 5 s
    local i
    for i in $(seq 1 50); do
        curl -sf "http://127.0.0.1:$HPORT/readyz" -o /dev/null && return 0
        sleep 0.1
    done
    return 1
}
check "and is ready at once (no cache to wait for)" ready_soon
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=1 timeout 10 "$WEBHOOK" serve \
    --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" --port 0 --health-port 0 \
    --loopback --cluster-cache=on >"$WORK/on.log" 2>&1
on_rc=$?
check "--cluster-cache=on without an API configuration refuses to start (exit 1, got $on_rc)" \
    test "$on_rc" = 1
[ "$FAILS" = 0 ]
