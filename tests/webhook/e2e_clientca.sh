#!/bin/bash
# --client-ca: the handshake fails for a client without a certificate and for one whose
# certificate another CA signed; the API server's certificate is served.
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

start_server "$WORK/certs" --client-ca "$WORK/apiserver/ca.crt" --shutdown-delay 0s
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
# connection ends (libmicrohttpd closes it without an alert) instead.
out=$(printf 'GET /livez HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect \
    "127.0.0.1:$PORT" -servername "$HOST" -quiet 2>&1)
check "openssl without a certificate: no HTTP answer" eval '! grep -q "^HTTP/" <<<"$out"'
check "openssl without a certificate: the connection ends in the handshake" \
    grep -qiE "unexpected eof|alert|handshake failure|certificate required" <<<"$out"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check "exit 0" test $? -eq 0
SERVER_PID=
finish
