#!/usr/bin/env bash
# The lb-* rules share a selector's targets among the Services of one namespace, selector
# and file (rules/src/lb.c): the file too, because a workload defined in two files is judged
# as the Service's own file defines it. Two files each define Deployment "web" (one lives
# 600s after termination starts, one 30s) and an NLB Service with the same selector: only
# b.yaml's Service drains longer (300s, AWS's default) than its own file's pods live. Linted
# in both orders and with --jobs 1 and 2.
. "$(dirname "$0")/lib.sh"

unit() { # unit SERVICE GRACE
    cat <<YAML
apiVersion: v1
kind: Service
metadata:
  name: $1
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: $2
      containers:
        - name: web
          image: web
          lifecycle: {preStop: {exec: {command: [sleep, "15"]}}}
YAML
}
mkdir "$T/d"
unit a 600 >"$T/d/a.yaml"
unit b 30 >"$T/d/b.yaml"

for order in "a b" "b a"; do
    for jobs in 1 2; do
        set -- $order
        run "lint $order -j$jobs" 1 "$KUBE5XX" lint --no-config -j "$jobs" -f json \
            "$T/d/$1.yaml" "$T/d/$2.yaml"
        if python3 - "$T/out" <<'PY'; then ok; else bad "files $order, -j$jobs: wrong lb-drain-exceeds-grace findings"; fi
import json, sys
got = sorted((f["file"].rsplit("/", 1)[-1], f["line"], f["message"][:40])
             for f in json.load(open(sys.argv[1]))["findings"]
             if f["rule"] == "lb-drain-exceeds-grace")
want = [("b.yaml", 6, 'Service "b" (NLB, IP targets) drains a t')]
if got != want:
    print("got", got, "want", want, file=sys.stderr)
    sys.exit(1)
PY
    done
done
finish
