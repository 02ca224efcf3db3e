#!/usr/bin/env bash
# Repeated names: every rule fixture concatenated into one stream, and the same stream four
# times over in one file (every object's kind, namespace and name repeated, as many renders
# of one chart or a directory of examples linted at once are). Each copy of the stream must
# get exactly the findings the stream gets alone: same rule, severity, message, column and
# path, its lines shifted by the copy's offset. The copies see each other (the cross-object
# rules prefer an object's own file, then the first definition), so this holds only while a
# Service that selects the same workload many times judges it once (the lb-* rules) and
# the engine's per-copy shortcuts (k5__memo_copy) change nothing.
# pdb-blocks-eviction is the one rule left out: it adds up the replicas of every workload a
# budget selects, copies included, so a copy's verdict may change by design.
. "$(dirname "$0")/lib.sh"
FIX="${K5_SOURCE_DIR:?}/tests/fixtures"

find "$FIX" -name '*.yaml' | LC_ALL=C sort | while read -r f; do cat "$f"; echo '---'; done >"$T/one.yaml"
for _ in 1 2 3 4; do cat "$T/one.yaml"; done >"$T/four.yaml"
lines=$(wc -l <"$T/one.yaml")

run one 1 "$KUBE5XX" lint --no-config -f json "$T/one.yaml"
cp "$T/out" "$T/one.json"
run four 1 "$KUBE5XX" lint --no-config -f json "$T/four.yaml"
cp "$T/out" "$T/four.json"

if python3 - "$T/one.json" "$T/four.json" "$lines" <<'PY'; then ok; else bad "the copies' findings differ from the stream's own"; fi
import collections, json, re, sys
one = json.load(open(sys.argv[1]))["findings"]
four = json.load(open(sys.argv[2]))["findings"]
lines = int(sys.argv[3])
skip = {"pdb-blocks-eviction"}

def same_message(rule):
    return rule.startswith("lb-") or rule.startswith("hpa-") and rule != "hpa-target-missing" or \
        rule == "networkpolicy-blocks-ingress"

def key(f, shift):
    msg = re.sub(r"[0-9]+", "#", f["message"]) if same_message(f["rule"]) else ""
    return (f["rule"], f["severity"], msg, f["line"] - shift, f["column"], f["path"])

want = collections.Counter(key(f, 0) for f in one if f["rule"] not in skip)
# The rules that judge a Service's workloads and the policy rule must be in the comparison.
rules = {f["rule"] for f in one}
for r in ("lb-drain-exceeds-grace", "lb-healthcheck-mismatch", "lb-ip-target-without-readiness-gate",
          "networkpolicy-blocks-ingress", "hpa-replicas-conflict"):
    if r not in rules:
        sys.exit(f"{r} has no finding on the fixtures: the comparison would not cover it")
failed = False
for copy in range(4):
    got = collections.Counter(key(f, copy * lines) for f in four
                              if f["rule"] not in skip and copy * lines < f["line"] <= (copy + 1) * lines)
    if got != want:
        failed = True
        extra, missing = got - want, want - got
        print(f"copy {copy + 1}: {sum(extra.values())} findings more, {sum(missing.values())} fewer",
              file=sys.stderr)
        for k in list(extra)[:3]:
            print("  more:", k[0], k[3], k[2][:160], file=sys.stderr)
        for k in list(missing)[:3]:
            print("  fewer:", k[0], k[3], k[2][:160], file=sys.stderr)
sys.exit(1 if failed else 0)
PY

# Copies across files: the same Deployment and Ingress in four files, whose own files differ.
# A workload's HPA is the one of its own file, else the best of all (k5__workload_best_hpa);
# an Ingress's missing class is judged only when an IngressClass comes in its own file. The
# copies share one search (k5__memo_copy), and each must still pick its own file's answer.
mkdir -p "$T/x"
dep='apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: far-away-class
  defaultBackend: {service: {name: web, port: {number: 80}}}
---'
hpa() { printf 'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: %s, namespace: shop}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: %s\n  maxReplicas: 9\n---\n' "$1" "$2"; }
cls='apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---'
{ echo "$dep"; hpa hpa-a 3; echo "$cls"; } >"$T/x/a.yaml"
cp "$T/x/a.yaml" "$T/x/b.yaml"
{ echo "$dep"; hpa hpa-c 5; } >"$T/x/c.yaml"
echo "$dep" >"$T/x/d.yaml"
run across 0 "$KUBE5XX" lint --no-config "$T/x"
for want in 'a.yaml:.*least 3 replicas (minReplicas of HorizontalPodAutoscaler "hpa-a")' \
            'b.yaml:.*least 3 replicas (minReplicas of HorizontalPodAutoscaler "hpa-a")' \
            'c.yaml:.*least 5 replicas (minReplicas of HorizontalPodAutoscaler "hpa-c")' \
            'd.yaml:.*least 5 replicas (minReplicas of HorizontalPodAutoscaler "hpa-c")' \
            'a.yaml:.*far-away-class.*ingress-class-missing' 'b.yaml:.*far-away-class.*ingress-class-missing'; do
    if grep -q "$want" "$T/out"; then ok; else bad "copies across files: no line matching: $want"; fi
done
for not in 'c.yaml:.*ingress-class-missing' 'd.yaml:.*ingress-class-missing'; do
    if grep -q "$not" "$T/out"; then bad "copies across files: a line matching: $not"; else ok; fi
done
finish
