#!/usr/bin/env python3
"""Writes the input shapes of issue #10 that gen_cross.py does not: label selectors with
Exists and DoesNotExist, many small files, deep directory trees. Deterministic.

usage: gen_shapes.py exists N > stream.yaml
       gen_shapes.py doesnotexist N > stream.yaml
       gen_shapes.py lb N > stream.yaml
       gen_shapes.py lbset N > stream.yaml
       gen_shapes.py files N DIR
       gen_shapes.py deep N DIR
       gen_shapes.py copies N DIR [FILE...]
  exists        N Deployments, each labelled unitI: "on", and N PodDisruptionBudgets whose
                selector is one expression {key: unitI, operator: Exists}: each budget selects
                its own Deployment through a key no other pod carries.
  doesnotexist  N Deployments and N PodDisruptionBudgets selecting with
                {key: app, operator: In, values: [appI]} and {key: canary, operator:
                DoesNotExist}: each selects its own Deployment.
  lb            N Deployments of different names (labels tier: web), N Services of the AWS
                NLB with IP targets and N ALB Ingresses (target-type: ip) in front of N more
                Services, every Service selecting tier: web: N selectors over N workloads,
                behind load balancers (the lb-* rules); bench/scale_bench.sh figure 9.
  lbset         lb with a different setting on every Service: N Deployments (tier: web) whose
                grace periods and keep-alives fall in target order (2N-50 down to N-50 s)
                and whose readiness paths differ, N NLB Services with IP targets whose
                deregistration delays are 0..N-1 s, and N ALB Ingresses (target-type: ip) in
                front of N more Services, each with its own health-check path, idle timeout
                and deregistration delay (half accept a 404: their path is not judged). Every
                Service selects tier: web and each of the 2N carries settings no other does,
                so none shares which targets it reports on: most report one or none (only
                the last ~50 thresholds pass any target, and then the last ones).
                bench/scale_bench.sh figure 11.
  files         N files of one Deployment each, 100 to a directory, under DIR.
  deep          N files of one Deployment each, in chains of 60 nested directories with one
                file per level (N/60 chains): as deep as the linter walks (it refuses trees
                deeper than 64, LINT_MAX_DIR_DEPTH), so N grows the number of deep paths.
  copies        N files (100 to a directory, under DIR) each holding the same manifest: a
                directory of examples that each define Deployment "web", or N renders of one
                chart written to N files. Every kind, namespace and name repeats N times, each
                copy in its own file. The manifest is the FILEs concatenated when given (the
                rule fixtures, say), else one application: Deployments, Services, a PDB, an
                HPA, NetworkPolicies, an Ingress and an IngressClass, some naming their
                namespace and some not, with partners that the cross-object rules look up.
"""
import os
import sys

sys.dont_write_bytecode = True  # no bench/__pycache__ in the checkout
from gen_cross import deployment_yaml  # noqa: E402


def pdb(i, expressions):
    return f"""---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: pdb{i}, namespace: shop}}
spec:
  maxUnavailable: 1
  selector:
    matchExpressions: {expressions}
"""


def lb(i, nlb_extra="", alb_extra=""):
    # nlb_extra, alb_extra: more annotation lines (each "\n    key: value") for lbset.
    return f"""---
apiVersion: v1
kind: Service
metadata:
  name: nlb{i}
  namespace: shop
  annotations:
    service.beta.kubernetes.io/aws-load-balancer-type: external
    service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: ip{nlb_extra}
spec:
  type: LoadBalancer
  selector: {{tier: web}}
  ports: [{{port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web{i}, namespace: shop}}
spec:
  selector: {{tier: web}}
  ports: [{{port: 80, targetPort: http}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: alb{i}
  namespace: shop
  annotations:
    alb.ingress.kubernetes.io/target-type: ip{alb_extra}
spec:
  ingressClassName: alb
  defaultBackend: {{service: {{name: web{i}, port: {{number: 80}}}}}}
"""


def lbset(i):
    # Odd Ingresses accept a 404 as healthy: their path is not judged (no finding, each still
    # a health-check setting of its own); even ones differ from every pod's path but pod i's.
    codes = "\n    alb.ingress.kubernetes.io/success-codes: 200-404" if i % 2 else ""
    delay = f"deregistration_delay.timeout_seconds={i}"
    return lb(
        i,
        f"\n    service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: {delay}",
        f"\n    alb.ingress.kubernetes.io/healthcheck-path: /hc{i}{codes}"
        f"\n    alb.ingress.kubernetes.io/load-balancer-attributes: idle_timeout.timeout_seconds={i + 1}"
        f"\n    alb.ingress.kubernetes.io/target-group-attributes: {delay}",
    )


def lbset_deployment(j, n):
    # In target order the grace periods and keep-alives fall, from about 2N to about N: only
    # the last ~50 Services' thresholds (0..N-1, and 1..N) pass any, and then the last targets'.
    # One pod (j = N/3) has a preStop of 3s, below the rule's 10s: a finding whatever the
    # delay. Target j probes /hc{j}, Ingress j's health-check path.
    sleep = 3 if j == n // 3 else 15
    low = max(1, 2 * n - j - 50)
    return f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{j}, namespace: shop}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app{j}}}}}
  template:
    metadata: {{labels: {{app: app{j}, tier: web}}}}
    spec:
      terminationGracePeriodSeconds: {low}
      containers:
        - name: app
          image: example/app:1
          command: [uvicorn, "app:main", --timeout-keep-alive, "{low}"]
          ports: [{{name: http, containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: /hc{j}, port: http}}}}
          lifecycle: {{preStop: {{exec: {{command: [sleep, "{sleep}"]}}}}}}
          resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{memory: 128Mi}}}}
"""


def stream(shape, n):
    w = sys.stdout.write
    for i in range(n):
        if shape == "lbset":
            w(lbset_deployment(i, n))
            w(lbset(i))
            continue
        if shape == "lb":
            w(deployment_yaml(i, labels="tier: web"))
            w(lb(i))
            continue
        if shape == "exists":
            w(deployment_yaml(i, labels=f'unit{i}: "on"'))
            w(pdb(i, f"[{{key: unit{i}, operator: Exists}}]"))
        else:
            w(deployment_yaml(i, labels="tier: web"))
            w(pdb(i, f"[{{key: app, operator: In, values: [app{i}]}}, "
                     "{key: canary, operator: DoesNotExist}]"))


def tree(shape, n, root):
    depth = 60
    for i in range(n):
        if shape == "files":
            d = os.path.join(root, f"d{i // 100:04d}")
        else:
            # Chain i // 60, level i % 60: c0007/d/d/d/...
            d = os.path.join(root, f"c{i // depth:04d}", *(["d"] * (i % depth)))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"app{i}.yaml"), "w") as f:
            f.write(deployment_yaml(i, labels="tier: web"))


APP = """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers:
      - name: web
        image: example/web:1.0
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: http}}
        resources: {requests: {memory: 128Mi, cpu: 100m}, limits: {memory: 256Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  minAvailable: 100%
  selector: {matchLabels: {app: web}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-deny, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: front}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: ngnix
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  replicas: 2
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers:
      - name: worker
        image: example/worker:1.0
        ports: [{containerPort: 9090}]
---
apiVersion: v1
kind: Service
metadata: {name: worker}
spec:
  selector: {app: worker}
  ports: [{port: 90, targetPort: 9091}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: worker}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: worker}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: worker-also}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: worker}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: worker}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
  maxReplicas: 4
---
apiVersion: v1
kind: Service
metadata: {name: lost}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
"""


def copies(n, root, files):
    body = "".join(open(f).read() + "\n---\n" for f in files) if files else APP
    for i in range(n):
        d = os.path.join(root, f"d{i // 100:04d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"copy{i}.yaml"), "w") as f:
            f.write(body)


shape, n = sys.argv[1], int(sys.argv[2])
if shape in ("exists", "doesnotexist", "lb", "lbset"):
    stream(shape, n)
elif shape == "copies":
    copies(n, sys.argv[3], sys.argv[4:])
elif shape in ("files", "deep"):
    tree(shape, n, sys.argv[3])
else:
    sys.exit(f"unknown shape {shape}")
