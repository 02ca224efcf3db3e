#!/usr/bin/env bash
# The deployed configuration, served by the real webhook: kube5xx-webhook is started on
# loopback exactly as manifests/base/deployment.yaml starts it (its args, with the mount paths
# moved under a temporary root), with the config from the ConfigMap and the certificate from
# the self-signed overlay's Secret. Then, as the kubelet and the API server would:
#   - the probe paths of the Deployment answer 200 on the health port;
#   - over TLS, verified with the overlay's caBundle against the Service's DNS name (as the
#     API server does), the enforcing entry's path denies a Deployment with an error finding
#     and the advisory entry's path (/validate/warn) allows it with warnings;
#   - a request from the webhook's own service account, and one in kube-system, are allowed.
#
#   tests/e2e/manifests_webhook_test.sh [path/to/kube5xx-webhook]
#   (or KUBE5XX_WEBHOOK=...; KUBECTL=path/to/kubectl)
# K5_MANIFESTS_RENDERED=FILE serves that render (with its Secret and caBundle) instead of the
# self-signed overlay's: tests/e2e/helm_chart_test.sh runs this on the Helm chart's.
# Exits 77 (skipped) without kube5xx-webhook, kubectl, curl or a python3 with PyYAML.
. "$(dirname "$0")/ship_lib.sh"
need_webhook "${1:-}"
need_kubectl
need_command curl
need_py_yaml

if [ -n "${K5_MANIFESTS_RENDERED:-}" ]; then
    # Another render of the same objects (tests/e2e/helm_chart_test.sh: the Helm chart's).
    cp "$K5_MANIFESTS_RENDERED" "$ship_tmp/rendered.yaml" || die "cannot read $K5_MANIFESTS_RENDERED"
    say "serving $K5_MANIFESTS_RENDERED"
else
    m="$ship_tmp/manifests"
    copy_manifests "$m"
    timeout 60 "$ship_root/scripts/self-signed-certs.sh" --webhook "$KUBE5XX_WEBHOOK" \
        --overlay "$m/overlays/self-signed" 2>/dev/null || die "scripts/self-signed-certs.sh failed"
    timeout 60 "$KUBECTL" kustomize "$m/overlays/self-signed" > "$ship_tmp/rendered.yaml" ||
        die "kubectl kustomize overlays/self-signed failed"
fi

# Lay out the pod's mounts under $ship_tmp/pod and write the command line, one arg a line.
pod="$ship_tmp/pod"
"$py" - "$ship_tmp/rendered.yaml" "$pod" > "$ship_tmp/args" <<'PY' || die "cannot read the rendered overlay"
import base64, os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
root = sys.argv[2]
by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
dep = by[("Deployment", "kube5xx-webhook")]
spec = dep["spec"]["template"]["spec"]
c = spec["containers"][0]
vols = {v["name"]: v for v in spec["volumes"]}
for mnt in c["volumeMounts"]:
    v = vols[mnt["name"]]
    d = root + mnt["mountPath"]
    os.makedirs(d, exist_ok=True)
    if "secret" in v:
        for k, val in by[("Secret", v["secret"]["secretName"])]["data"].items():
            open(os.path.join(d, k), "wb").write(base64.b64decode(val))
    elif "configMap" in v:
        for k, val in by[("ConfigMap", v["configMap"]["name"])]["data"].items():
            open(os.path.join(d, k), "w").write(val)
vwc = by[("ValidatingWebhookConfiguration", "kube5xx")]
open(os.path.join(root, "cabundle.pem"), "wb").write(
    base64.b64decode(vwc["webhooks"][0]["clientConfig"]["caBundle"]))
for w in vwc["webhooks"]:
    print("#path", w["clientConfig"]["service"]["path"], w["failurePolicy"])
for p in ("readinessProbe", "livenessProbe"):
    print("#probe", c[p]["httpGet"]["path"])
for a in c["args"]:
    for flag in ("--tls-cert=", "--tls-key=", "--config="):
        if a.startswith(flag):
            a = flag + root + a[len(flag):]
    # Free ports picked by the kernel; the log line "listening" says which.
    if a.startswith("--port="):
        a = "--port=0"
    if a.startswith("--health-port="):
        a = "--health-port=0"
    print(a)
PY
mapfile -t args < <(grep -v '^#' "$ship_tmp/args")
enforce_path=$(awk '$1 == "#path" && $3 == "Fail" { print $2 }' "$ship_tmp/args")
warn_path=$(awk '$1 == "#path" && $3 == "Ignore" { print $2 }' "$ship_tmp/args")

# The Deployment's 10 s shutdown delay would only slow the end of this test down.
for i in "${!args[@]}"; do
    case "${args[$i]}" in --shutdown-delay=*) args[$i]=--shutdown-delay=1s ;; esac
done
"$KUBE5XX_WEBHOOK" "${args[@]}" --loopback > "$ship_tmp/wh.log" 2>&1 &
wh=$!
# Never outlive the test, even if it is killed: a watchdog ends the webhook after 120 s.
( trap 'kill "$s" 2>/dev/null; exit 0' TERM
  sleep 120 & s=$!
  wait "$s" && kill -KILL "$wh" 2>/dev/null ) > /dev/null 2>&1 &
watchdog=$!
stop_webhook() { # SIGTERM, as the kubelet sends it; SIGKILL if it is still there after 10 s
    kill -TERM "$wh" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$wh" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$wh" 2>/dev/null
    wait "$wh" 2>/dev/null
}
trap 'stop_webhook; kill "$watchdog" 2>/dev/null; rm -rf --one-file-system "$ship_tmp"' EXIT
port= health=
for _ in $(seq 1 100); do
    line=$(grep -m1 '"listening"' "$ship_tmp/wh.log" 2>/dev/null || true)
    if [ -n "$line" ]; then
        port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' <<<"$line")
        health=$(sed -n 's/.*"healthPort":\([0-9]*\).*/\1/p' <<<"$line")
        break
    fi
    kill -0 "$wh" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ] || [ -z "$health" ]; then
    sed 's/^/    /' "$ship_tmp/wh.log" >&2
    die "kube5xx-webhook did not start with the Deployment's args"
fi
say "webhook listening on 127.0.0.1:$port (TLS), health on $health"

status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1"; }
for p in $(awk '$1 == "#probe" { print $2 }' "$ship_tmp/args"); do
    # /readyz may need a moment after "listening" (certificate and config checked).
    code=
    for _ in $(seq 1 30); do
        code=$(status "http://127.0.0.1:$health$p")
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    check "probe path $p answers 200 on the health port" test "$code" = 200
done
check "/metrics answers 200 on the health port" test "$(status "http://127.0.0.1:$health/metrics")" = 200

# review NAMESPACE USERNAME: an AdmissionReview v1 for a Deployment whose serving container
# has no readinessProbe (readiness-probe-missing, severity error).
review() {
    cat <<JSON
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
 "uid":"0f2c3a4e-1b5d-4c6e-8f70-9a1b2c3d4e5f",
 "kind":{"group":"apps","version":"v1","kind":"Deployment"},
 "resource":{"group":"apps","version":"v1","resource":"deployments"},
 "requestKind":{"group":"apps","version":"v1","kind":"Deployment"},
 "requestResource":{"group":"apps","version":"v1","resource":"deployments"},
 "name":"web","namespace":"$1","operation":"CREATE",
 "userInfo":{"username":"$2","groups":["system:authenticated"]},
 "object":{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"$1"},
  "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
   "template":{"metadata":{"labels":{"app":"web"}},
    "spec":{"containers":[{"name":"web","image":"example/web:1",
     "ports":[{"name":"http","containerPort":8080}],
     "resources":{"requests":{"memory":"128Mi","cpu":"100m"},"limits":{"memory":"128Mi"}}}]}}}},
 "oldObject":null,"dryRun":false,"options":{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"}}}
JSON
}
# post PATH NAMESPACE USER: the response body in $ship_tmp/resp.json, HTTP status in $code.
# --resolve and the CA bundle make curl check the certificate for the Service's DNS name.
post() {
    review "$2" "$3" > "$ship_tmp/review.json"
    code=$(curl -s --max-time 5 -o "$ship_tmp/resp.json" -w '%{http_code}' \
        --cacert "$pod/cabundle.pem" \
        --resolve "kube5xx-webhook.kube5xx.svc:$port:127.0.0.1" \
        -H 'Content-Type: application/json' --data-binary @"$ship_tmp/review.json" \
        "https://kube5xx-webhook.kube5xx.svc:$port$1?timeout=3s")
}
resp() { "$py" 2>/dev/null -c 'import json, sys; r = json.load(open(sys.argv[1]))["response"]; sys.exit(0 if eval(sys.argv[2]) else 1)' \
         "$ship_tmp/resp.json" "$1"; }
show() { say "HTTP $code:"; sed 's/^/    /' "$ship_tmp/resp.json" >&2; echo >&2; }

post "$enforce_path" shop alice
check "enforcing entry ($enforce_path): HTTP 200 over verified TLS" test "$code" = 200
check "enforcing entry: the Deployment is denied, naming readiness-probe-missing" \
    resp "r['allowed'] is False and 'readiness-probe-missing' in r['status']['message']"
[ "$ship_failures" = 0 ] || show

f=$ship_failures
post "$warn_path" shop alice
check "advisory entry ($warn_path): HTTP 200 over verified TLS" test "$code" = 200
check "advisory entry: the same Deployment is allowed, with a readiness-probe-missing warning" \
    resp "r['allowed'] is True and any(w.startswith('readiness-probe-missing') for w in r.get('warnings', []))"
[ "$ship_failures" = "$f" ] || show

f=$ship_failures
post "$enforce_path" shop system:serviceaccount:kube5xx:kube5xx-webhook
check "the webhook's own service account is allowed (config exemption)" resp "r['allowed'] is True"
post "$enforce_path" kube-system alice
check "kube-system is allowed (config exemption)" resp "r['allowed'] is True"
[ "$ship_failures" = "$f" ] || show

kill -TERM "$wh"
for _ in $(seq 1 100); do kill -0 "$wh" 2>/dev/null || break; sleep 0.1; done
wait "$wh"
check "on SIGTERM the webhook stops by itself, with status 0" test $? = 0

finish
