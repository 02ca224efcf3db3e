#!/usr/bin/env bash
# `kubectl kustomize` on overlays that patch a base, piped to `kube5xx lint -`:
#   base              no service-target-port-mismatch (the rule under test)
#   overlays/renamed  renames the container port (a JSON 6902 patch) and leaves the
#                     Service's targetPort behind: service-target-port-mismatch, reported on
#                     the overlay's object (namespace and name prefix applied), right line
#   overlays/fixed    the same rename plus a JSON 6902 patch of the Service: no mismatch again
#
#   tests/e2e/kustomize_test.sh [path/to/kube5xx]      (or KUBE5XX=...; KUBECTL=path/to/kubectl)
# Exits 77 (skipped) where kubectl cannot be had (scripts/install-test-tools.sh installs it).
. "$(dirname "$0")/ship_lib.sh"
need_kube5xx "${1:-}"
need_kubectl

k="$ship_tmp/k"
mkdir -p "$k/base" "$k/overlays/renamed" "$k/overlays/fixed"
cat > "$k/base/kustomization.yaml" <<'YAML'
resources: [deployment.yaml, service.yaml, pdb.yaml]
YAML
cat > "$k/base/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
        - name: web
          image: example/web:1.0
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet: {path: /ready, port: http}
            periodSeconds: 5
          livenessProbe:
            httpGet: {path: /live, port: http}
            periodSeconds: 10
            failureThreshold: 6
          lifecycle:
            preStop:
              exec: {command: [sleep, "5"]}
          resources:
            requests: {cpu: 100m, memory: 256Mi}
            limits: {memory: 256Mi}
YAML
cat > "$k/base/service.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - name: http
      port: 80
      targetPort: http
YAML
cat > "$k/base/pdb.yaml" <<'YAML'
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: web}
YAML
rename_patch='
  - target: {kind: Deployment, name: web}
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/ports/0/name
        value: web-http
      - op: replace
        path: /spec/template/spec/containers/0/readinessProbe/httpGet/port
        value: web-http
      - op: replace
        path: /spec/template/spec/containers/0/livenessProbe/httpGet/port
        value: web-http'
cat > "$k/overlays/renamed/kustomization.yaml" <<YAML
resources: [../../base]
namespace: shop
namePrefix: prod-
patches:$rename_patch
YAML
cat > "$k/overlays/fixed/kustomization.yaml" <<YAML
resources: [../../base]
namespace: shop
namePrefix: prod-
patches:$rename_patch
  - target: {kind: Service, name: web}
    patch: |-
      - op: replace
        path: /spec/ports/0/targetPort
        value: web-http
YAML

build() { kustomize_build "$k/$1" "$ship_tmp/$2.yaml" || die "kubectl kustomize $1 failed"; }

build base base
lint_json --no-config - < "$ship_tmp/base.yaml"
check "the base lints (exit 0 or 1, not an input error)" test "$lint_rc" -le 1
check "the base's objects were all read" json "r['summary']['objects'] == 3"
check "the base has no service-target-port-mismatch" json "not any(
    f['rule'] == 'service-target-port-mismatch' for f in r['findings'])"
[ "$ship_failures" = 0 ] || show_lint

build overlays/renamed renamed
check "the patch renamed the port in the rendered Deployment" grep -q "name: web-http" "$ship_tmp/renamed.yaml"
lint_json --no-config - < "$ship_tmp/renamed.yaml"
check "the renamed overlay fails (exit 1)" test "$lint_rc" = 1
check "service-target-port-mismatch on Service shop/prod-web" json "any(
    f['rule'] == 'service-target-port-mismatch' and f['object']['kind'] == 'Service'
    and f['object']['namespace'] == 'shop' and f['object']['name'] == 'prod-web'
    for f in r['findings'])"
# The finding's line is the line of the rendered stream that holds the stale targetPort.
line=$(json "[f['line'] for f in r['findings'] if f['rule'] == 'service-target-port-mismatch'][0]")
check "the finding points at 'targetPort: http' in the rendered stream (line $line)" \
    grep -q "targetPort: http\$" <(sed -n "${line:-0}p" "$ship_tmp/renamed.yaml")
check "the message names the port the container now declares" json "any(
    'web-http' in f['message'] for f in r['findings']
    if f['rule'] == 'service-target-port-mismatch')"
[ "$ship_failures" = 0 ] || show_lint

build overlays/fixed fixed
lint_json --no-config - < "$ship_tmp/fixed.yaml"
check "the fixed overlay lints (exit 0 or 1, not an input error)" test "$lint_rc" -le 1
check "the fixed overlay has no service-target-port-mismatch" json "not any(
    f['rule'] == 'service-target-port-mismatch' for f in r['findings'])"
[ "$ship_failures" = 0 ] || show_lint

finish
