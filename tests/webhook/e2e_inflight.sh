#!/bin/bash
# The in-flight body budget over real TLS (issue #9): a request whose Content-Length does not
# fit in what --max-inflight-bytes has left gets 429 with Retry-After at once, before its
# body is sent, while the request holding the budget is still uploading; once that request is
# gone the budget is back. (test_wh_guard tests the arithmetic; this tests the HTTP answer.)
. "$(dirname "$0")/wh_e2e_lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

gen_certs "$WORK/certs" || { fail "certs"; finish; }
start_server "$WORK/certs" --max-inflight-bytes 4Mi --shutdown-delay 0s

out=$(python3 - "$WORK/certs/ca.crt" "$PORT" "$HOST" <<'PY'
import socket, ssl, sys, time
ca, port, host = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
big = 3 * 1024 * 1024  # under the 3 MiB body cap; two of them do not fit in 4 MiB

def open_request(length, body=b""):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 5), server_hostname=host)
    s.sendall((f"POST /validate?timeout=10s HTTP/1.1\r\nHost: {host}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()
              + body)
    return s

def read_head(s, limit=5.0):
    s.settimeout(limit)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n\r\n")[0].decode("latin-1")

holder = open_request(big, b"{" + b" " * 65536)  # uploading, slowly: holds 3 MiB
time.sleep(0.5)
t0 = time.monotonic()
second = open_request(big)  # headers only: the body would not fit
head = read_head(second)
took = time.monotonic() - t0
print("second:", head.splitlines()[0] if head else "(nothing)")
print("retry-after:", any(l.lower().startswith("retry-after:") for l in head.splitlines()))
print("took: %.2f" % took)
second.close()
holder.close()
time.sleep(0.5)
# The budget is back: a whole request of the same size is read (and refused as JSON: 400).
third = open_request(20, b'{"kind":"nothing"}  ')
head = read_head(third)
print("after:", head.splitlines()[0] if head else "(nothing)")
third.close()
PY
)
echo "$out"
check "a body that does not fit gets 429" grep -q '^second: HTTP/1.1 429' <<<"$out"
check "the 429 says Retry-After" grep -q '^retry-after: True' <<<"$out"
check "the 429 comes at once, before the body (< 2 s)" \
    awk '/^took:/ { exit !($2 < 2.0) }' <<<"$out"
check "the budget is back once the holder is gone" grep -q '^after: HTTP/1.1 [24]00' <<<"$out"
check "the 429 is counted" test "$(metric 'kube5xx_http_errors_total{code="429"}')" != 0
finish
