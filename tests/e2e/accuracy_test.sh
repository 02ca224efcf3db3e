#!/usr/bin/env bash
# Issue 8, the false-positive classes that need several files linted as one set
# (the single-file fixtures under tests/fixtures cover the others):
#   failed   a file that fails to load hides the partner: absence findings say so, and are
#            warnings when the failed file mentions what they look for (class 4)
#   dups     the same Kind/namespace/name in two files: one notice naming both positions,
#            and cross-object messages cite the partner of the object's own file (class 5)
#   kustomize a raw kustomize base: the kustomization's namespace applies to the files its
#            resources list, with one notice suggesting `kubectl kustomize DIR | kube5xx lint -`
#            (class 6)
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

# --- class 5: duplicates ------------------------------------------------------------------
# From polaris-tests: each test file carries its own Deployment and HPA, all named alike.
d="$T/dups"
mkdir -p "$d"
for n in 1 5; do
cat >"$d/hpa-min-$n.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
          ports: [{containerPort: 80}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: $n
  maxReplicas: 10
YAML
done
run dups 0 "$KUBE5XX" lint --no-config --fail-on never -f json "$d"
has "dups: one notice per duplicate" "$T/err" 'hpa-min-5.yaml:1:1: notice: duplicate object: Deployment "default/web" is also defined at .*hpa-min-1.yaml:1:1'
has "dups: the HPA too" "$T/err" 'hpa-min-5.yaml:[0-9]+:1: notice: duplicate object: HorizontalPodAutoscaler "default/web" is also defined at .*hpa-min-1.yaml:[0-9]+:1'
[ "$(grep -c 'duplicate object' "$T/err")" = 2 ] && ok || bad "dups: exactly two notices"
python3 - "$T/out" <<'PY' && ok || bad "dups: each Deployment judged with its own file's HPA"
import json, sys
d = json.load(open(sys.argv[1]))
single = [f for f in d["findings"] if f["rule"] == "single-replica"]
# Only the file whose own HPA allows 1 pod gets the finding, and it cites that minimum.
assert len(single) == 1 and single[0]["file"].endswith("hpa-min-1.yaml"), single
assert "allows 1 (its minReplicas)" in single[0]["message"], single
PY

# --- class 6: a raw kustomize base --------------------------------------------------------
# From the AWS EKS workshop: base-application/ui sets its namespace in kustomization.yaml; a
# module's Ingress in namespace ui routes to the Service of that base.
d="$T/kustomize"
mkdir -p "$d/base/ui" "$d/modules"
cat >"$d/base/ui/kustomization.yaml" <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: ui
resources:
  - deployment.yaml
  - ./service.yaml
YAML
cat >"$d/base/ui/service.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: ui
spec:
  selector: {app.kubernetes.io/name: ui}
  ports:
    - {name: http, port: 80, targetPort: http}
YAML
cat >"$d/base/ui/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ui
spec:
  replicas: 2
  selector:
    matchLabels: {app.kubernetes.io/name: ui}
  template:
    metadata:
      labels: {app.kubernetes.io/name: ui}
    spec:
      containers:
        - name: ui
          image: public.ecr.aws/aws-containers/retail-store-sample-ui
          ports: [{name: http, containerPort: 8080}]
YAML
cat >"$d/base/ui/unlisted.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: unlisted
spec:
  selector: {app.kubernetes.io/name: ui}
  ports: [{port: 80}]
YAML
cat >"$d/modules/ingress.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ui
  namespace: ui
spec:
  rules:
    - http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: ui
                port: {number: 80}
---
apiVersion: v1
kind: Service
metadata:
  name: ui-nlb
  namespace: ui
spec:
  type: LoadBalancer
  selector: {app.kubernetes.io/name: ui}
  ports: [{port: 80, targetPort: 8080}]
YAML
run kustomize 0 "$KUBE5XX" lint --no-config --fail-on never -f json "$d"
hasnt "kustomize: the Ingress finds the base's Service" "$T/out" 'ingress-backend-service-missing'
has "kustomize: one notice, suggesting kubectl kustomize" "$T/err" 'kustomization.yaml:3:12: notice: namespace "ui" of this kustomization applied .*for exact results, `kubectl kustomize .*base/ui [|] kube5xx lint -`'
[ "$(grep -c 'of this kustomization' "$T/err")" = 1 ] && ok || bad "kustomize: exactly one notice"
hasnt "kustomize: no skipped-document notice for the kustomization" "$T/err" 'kustomization.yaml.*skipped'
python3 - "$T/out" <<'PY' && ok || bad "kustomize: namespaces"
import json, sys
d = json.load(open(sys.argv[1]))
ns = {(f["object"]["kind"], f["object"]["name"]): f["object"]["namespace"] for f in d["findings"]}
assert ns.get(("Deployment", "ui")) == "ui", ns
# A file the kustomization does not list keeps the default namespace.
assert ns.get(("Service", "unlisted"), "default") == "default", ns
PY
# --- Gateway API routes: a namespace nobody wrote down ------------------------------------
# From kubernetes-engine-samples: a flat directory of unrelated examples, all in "default"
# because none names a namespace. The route's Service (made by the KubeRay operator) is in no
# file; the default namespace's Services come from other examples: a warning, not an error.
d="$T/routes"
mkdir -p "$d"
cat >"$d/httproute.yaml" <<'YAML'
kind: HTTPRoute
apiVersion: gateway.networking.k8s.io/v1beta1
metadata:
  name: serve-api-endpoint
spec:
  parentRefs: [{name: external-http}]
  rules:
    - backendRefs:
        - {name: rayllm-head-svc, port: 8000}
YAML
cat >"$d/other-example.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: frontend
spec:
  selector: {app: frontend}
  ports: [{port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: my-gateway
spec:
  gatewayClassName: example
  listeners: [{name: http, protocol: HTTP, port: 80}]
YAML
run routes-other-files 0 "$KUBE5XX" lint --no-config --fail-on never -f json "$d"
python3 - "$T/out" <<'PY' && ok || bad "routes: Services of other files make a warning"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "route-backend-service-missing"]
assert len(f) == 1 and f[0]["severity"] == "warning", f
assert "come from other files" in f[0]["message"], f
# The Gateway likewise: another example's Gateway says nothing about this route's parent.
assert not [f for f in d["findings"] if f["rule"] == "route-parent-missing"], d["findings"]
PY
# A Service in the route's own file (one application, one rendered chart): an error.
{ cat "$d/httproute.yaml"; echo ---; cat "$d/other-example.yaml"; } >"$T/one-file.yaml"
run routes-own-file 0 "$KUBE5XX" lint --no-config --fail-on never -f json "$T/one-file.yaml"
python3 - "$T/out" <<'PY' && ok || bad "routes: a Service of its own file makes an error"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "route-backend-service-missing"]
assert len(f) == 1 and f[0]["severity"] == "error", f
f = [f for f in d["findings"] if f["rule"] == "route-parent-missing"]
assert len(f) == 1 and f[0]["severity"] == "warning" and "external-http" in f[0]["message"], f
PY


# --- issue 12: NetworkPolicy and IngressClass across files ---------------------------------
# kubernetes-engine-samples: a network-policies tutorial's policy selects the pods of a
# quickstart's Ingress-backed Deployment; neither names a namespace. From different files they
# meet only if applied to one namespace: a warning that says so (one file: an error, fixture).
d="$T/netpol"
mkdir -p "$d"
cat >"$d/hello-allow-from-foo.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: hello-allow-from-foo}
spec:
  podSelector: {matchLabels: {app: hello}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: foo}}}]
YAML
cat >"$d/helloweb.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: helloweb}
spec:
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers: [{name: hello, image: hello:1, ports: [{containerPort: 8443}]}]
---
apiVersion: v1
kind: Service
metadata: {name: helloweb-backend}
spec:
  selector: {app: hello}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: helloweb}
spec:
  defaultBackend: {service: {name: helloweb-backend, port: {number: 443}}}
YAML
run netpol-other-files 0 "$KUBE5XX" lint --no-config --fail-on never -f json "$d"
python3 - "$T/out" <<'PY' && ok || bad "netpol: a policy and pods of different files make a warning"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "networkpolicy-blocks-ingress"]
assert len(f) == 1 and f[0]["severity"] == "warning", f
assert "different files" in f[0]["message"], f
PY
# The same two with the namespace written on both sides: they meet for sure, an error.
sed -i 's/^metadata: {name: \([a-z-]*\)}$/metadata: {name: \1, namespace: hello}/' "$d"/*.yaml
run netpol-written-namespace 0 "$KUBE5XX" lint --no-config --fail-on never -f json "$d"
python3 - "$T/out" <<'PY' && ok || bad "netpol: written namespaces make an error"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "networkpolicy-blocks-ingress"]
assert len(f) == 1 and f[0]["severity"] == "error", f
PY

# eks-workshop-v2: one module ships IngressClass "eks-auto-alb", other modules' Ingresses name
# "alb" (installed by the load balancer controller's chart): nothing to say. A near miss of
# the input's class from another file ("eks-auto-abl") is a typo: a warning.
d="$T/classes"
mkdir -p "$d"
cat >"$d/ingressclass.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: eks-auto-alb}
spec: {controller: eks.amazonaws.com/alb}
YAML
cat >"$d/ingress.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ui, namespace: ui}
spec:
  ingressClassName: alb
  defaultBackend: {service: {name: ui, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: catalog, namespace: catalog}
spec:
  ingressClassName: eks-auto-abl
  defaultBackend: {service: {name: catalog, port: {number: 80}}}
YAML
run classes-other-files 0 "$KUBE5XX" lint --no-config --fail-on never -f json "$d"
python3 - "$T/out" <<'PY' && ok || bad "ingress-class-missing: only the near miss from another file"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["rule"] == "ingress-class-missing"]
assert len(f) == 1 and "eks-auto-abl" in f[0]["message"], f
PY

finish
