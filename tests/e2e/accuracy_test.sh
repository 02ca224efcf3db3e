#!/usr/bin/env bash
# Issue 8, the false-positive classes that need several files linted as one set
# (the single-file fixtures under tests/fixtures cover the others):
#   failed   a file that fails to load hides the partner: absence findings say so, and are
#            warnings when the failed file mentions what they look for (class 4)
. "$(dirname "$0")/lib.sh"

# --- class 4: a failed file --------------------------------------------------------------
# From kubernetes-examples _archived/openshift-origin: etcd-controller.yaml has a duplicate
# "selector" key, so its ReplicationController is missing; etcd-service.yaml selects it.
d="$T/failed"
mkdir -p "$d"
cat >"$d/etcd-controller.yaml" <<'YAML'
kind: ReplicationController
apiVersion: v1
metadata:
  name: etcd
spec:
  replicas: 3
  selector:
    name: etcd
  template:
    metadata:
      labels:
        name: etcd
  selector:
    name: etcd
YAML
cat >"$d/etcd-service.yaml" <<'YAML'
kind: Service
apiVersion: v1
metadata:
  name: etcd
spec:
  ports:
    - name: client
      port: 2379
  selector:
    name: etcd
YAML
# A Service whose pods are nowhere, failed file or not: still an error, saying so.
cat >"$d/web.yaml" <<'YAML'
kind: Service
apiVersion: v1
metadata:
  name: web
spec:
  ports:
    - port: 80
  selector:
    app: storefront
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: example/api
YAML
run failed-file 2 "$KUBE5XX" lint --no-config -f json "$d"
has "failed file: reported" "$T/err" 'etcd-controller.yaml:[0-9]+:[0-9]+: error: duplicate mapping key'
python3 - "$T/out" <<'PY' && ok || bad "failed file: absence findings"
import json, sys
d = json.load(open(sys.argv[1]))
f = {f["object"]["name"]: f for f in d["findings"] if f["rule"] == "service-selects-nothing"}
assert f["etcd"]["severity"] == "warning", f["etcd"]
assert "failed to load" in f["etcd"]["message"], f["etcd"]
assert f["web"]["severity"] == "error", f["web"]
assert "failed to load; none of them mentions" in f["web"]["message"], f["web"]
PY
# Without the broken file, the Service's finding is a plain error again.
rm "$d/etcd-controller.yaml"
run failed-file-gone 1 "$KUBE5XX" lint --no-config -f json "$d"
python3 - "$T/out" <<'PY' && ok || bad "no failed file: plain error"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "service-selects-nothing" and f["object"]["name"] == "etcd"]
assert f and f[0]["severity"] == "error" and "failed" not in f[0]["message"], f
PY
finish
