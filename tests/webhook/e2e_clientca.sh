#!/bin/bash
# --client-ca: the handshake fails for a client without a certificate and for one whose
# certificate another CA signed; the API server's certificate is served; /readyz's own
# probe gets in; the CA file is reloaded when it changes (a bundle of old and new CAs
# while a loop of requests runs: none fails; then the new CA alone: the old client is
# refused on new connections, its established keep-alive connection keeps working;
# a garbage file is refused and the CA in use stays).
. "$(dirname "$0")/wh_e2e_lib.sh"

gen_certs "$WORK/certs" || { fail "certs"; finish; }
CA=$WORK/certs/ca.crt
mk_ca() { # mk_ca NAME: a CA and a client certificate it signed (CN NAME-client)
    local d=$WORK/$1
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$1-ca" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=$1-client" -keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null &&
        printf 'extendedKeyUsage=clientAuth\n' >"$d/ext" &&
        openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
            -CAcreateserial -days 2 -extfile "$d/ext" -out "$d/client.crt" 2>/dev/null
}
mk_ca apiserver || { fail "client CA"; finish; }
mk_ca stranger || { fail "second CA"; finish; }

# A file that is not a CA is refused at start (exit 1), naming the file.
"$WEBHOOK" serve --tls-cert "$WORK/certs/tls.crt" --tls-key "$WORK/certs/tls.key" --port 0 \
    --health-port 0 --loopback --client-ca "$WORK/certs/tls.key" >"$WORK/bad.log" 2>&1
rc=$?
check "a bad client CA file: exit 1 (got $rc)" test "$rc" -eq 1
check "the error names the file" grep -q "cannot load the client CA.*tls.key" "$WORK/bad.log"

CA_NOW=$WORK/client-ca.crt
cp "$WORK/apiserver/ca.crt" "$CA_NOW"
start_server "$WORK/certs" --client-ca "$CA_NOW" --shutdown-delay 0s --watch-interval 200ms
ready() { test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/readyz")" = 200; }
check "/readyz 200: the probe's review gets in without a client certificate" wait_for 5 ready
post() { # post [curl args]: prints the HTTP code (000 when the handshake failed)
    tls_curl "$CA" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$WH_FIXTURES/clean-create.json" "$@" "$(url)" 2>/dev/null
}
c=$(post)
check "no client certificate: refused in the handshake (HTTP code $c)" test "$c" = 000
c=$(post --cert "$WORK/stranger/client.crt" --key "$WORK/stranger/client.key")
check "a certificate from another CA: refused in the handshake (HTTP code $c)" test "$c" = 000
c=$(post --cert "$WORK/apiserver/client.crt" --key "$WORK/apiserver/client.key")
check "the API server's certificate: served (HTTP code $c)" test "$c" = 200
# The refusal is the handshake's: openssl's request never gets an HTTP answer, the
# connection ends (libmicrohttpd closes it without an alert, or resets it) instead.
out=$(printf 'GET /livez HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect \
    "127.0.0.1:$PORT" -servername "$HOST" -quiet 2>&1)
check "openssl without a certificate: no HTTP answer" eval '! grep -q "^HTTP/" <<<"$out"'
check "openssl without a certificate: the connection ends in the handshake" \
    grep -qiE "unexpected eof|alert|handshake failure|certificate required|reset by peer|errno=104" <<<"$out"

# Reload. swap FILE: replaces the CA file the way a Secret/ConfigMap update does (rename).
swap() { cp "$1" "$CA_NOW.tmp" && mv "$CA_NOW.tmp" "$CA_NOW"; }
reloads() { metric 'kube5xx_tls_cert_reloads_total{result="success"}'; }
api=(--cert "$WORK/apiserver/client.crt" --key "$WORK/apiserver/client.key")
str=(--cert "$WORK/stranger/client.crt" --key "$WORK/stranger/client.key")
# Old and new CA in one bundle while the API server keeps sending: no request fails.
cat "$WORK/apiserver/ca.crt" "$WORK/stranger/ca.crt" >"$WORK/both.crt"
r0=$(reloads)
: >"$WORK/loop.txt"
for _ in $(seq 40); do post "${api[@]}" >>"$WORK/loop.txt"; echo >>"$WORK/loop.txt"; done &
LOOP=$!
sleep 0.3
swap "$WORK/both.crt"
wait "$LOOP"
check "reload to old+new CAs: 40 of 40 requests served during it" \
    test "$(grep -c '^200$' "$WORK/loop.txt")" -eq 40
reloaded() { test "$(reloads)" -gt "$1"; }
check "the bundle was reloaded" wait_for 5 reloaded "$r0"
c=$(post "${str[@]}")
check "after the reload, the new CA's client: served (HTTP code $c)" test "$c" = 200
# A keep-alive connection opened under the old CA, used again after the old CA is gone.
python3 - "$PORT" "$CA" "$WORK/apiserver" "$WH_FIXTURES/clean-create.json" "$WORK/ka.flag" \
    >"$WORK/ka.txt" 2>&1 <<'PY' &
import http.client, os, ssl, sys, time
port, ca, client, fixture, flag = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(client + "/client.crt", client + "/client.key")
ctx.check_hostname = False
body = open(fixture, "rb").read()
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=10)
hdr = {"Content-Type": "application/json"}
c.request("POST", "/validate", body, hdr); r = c.getresponse(); r.read(); print(r.status)
open(flag, "w").close()
for _ in range(100):  # until the shell swapped the CA
    if not os.path.exists(flag):
        break
    time.sleep(0.05)
c.request("POST", "/validate", body, hdr); r = c.getresponse(); r.read(); print(r.status)
PY
KA=$!
wait_for 10 test -e "$WORK/ka.flag"
r0=$(reloads)
swap "$WORK/stranger/ca.crt"
wait_for 5 reloaded "$r0"
check "the new CA alone was reloaded" reloaded "$r0"
rm -f "$WORK/ka.flag"
wait "$KA"
check "a keep-alive connection from before the reload keeps working (statuses: $(tr '\n' ' ' <"$WORK/ka.txt"))" \
    test "$(cat "$WORK/ka.txt" | tr '\n' ' ')" = "200 200 "
c=$(post "${api[@]}")
check "after the reload, the old CA's client on a new connection: refused (HTTP code $c)" test "$c" = 000
c=$(post "${str[@]}")
check "after the reload, the new CA's client: served (HTTP code $c)" test "$c" = 200
# Garbage: refused with a log line, the CA in use stays.
printf 'not a certificate\n' >"$WORK/garbage.crt"
swap "$WORK/garbage.crt"
refused() { grep -q '"msg":"new certificate or client CA refused; the old ones keep serving"' "$WORK/server.log"; }
check "a garbage CA file: refused, logged" wait_for 5 refused
c=$(post "${str[@]}")
check "after the refusal, the CA in use still serves its client (HTTP code $c)" test "$c" = 200
check "/readyz still 200" ready

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "exit 0" test $? -eq 0
SERVER_PID=
finish
