#!/usr/bin/env python3
"""Writes the cross-object shapes of the benchmark, one namespace, deterministic.

usage: gen_cross.py SHAPE N > stream.yaml
  notin    N Deployments + N Services + N PodDisruptionBudgets whose selectors are
           matchExpressions only (app In [appI], tier NotIn [batch]): no matchLabels to
           index by, so a naive match tries every PDB against every Deployment.
  shared   N Services that all have the same one-pair selector (tier: web) over N
           Deployments that all carry it: every Service selects every Deployment.
  own      N Services, each with a one-pair selector (app: appI) over its own Deployment.
  ports    N Services with the same selector (tier: web) but each its own port list (port
           and targetPort 10000+I, which no container declares) over N Deployments.
  overlap  N PodDisruptionBudgets with the same selector (tier: web) over N Deployments: every
           budget overlaps every other on every pod.
  mismatch N Services with the same selector (tier: web) whose targetPort "grpc" no container
           declares, over N Deployments.
  nothing  N PodDisruptionBudgets whose selector is matchExpressions only (app In [goneI])
           and selects nothing, over N Deployments.
  notinnothing
           N PodDisruptionBudgets whose selector is only NotIn (tier NotIn [web, offI]) and
           selects nothing, over N Deployments, half of them in another namespace (other),
           which it does not select either.
  routes   N HTTPRoutes whose backendRef names a Service that is missing (goneI), next to N
           Services of the namespace.
  parents  N HTTPRoutes whose parentRef names a Gateway that is missing (goneI), next to N
           Gateways of the namespace.
  mesh     N VirtualServices routing to a host whose Service is missing (goneI), next to one
           Service of the namespace and N wildcard ServiceEntries (*.extI.example.com).
"""
import sys

w = sys.stdout.write


def deployment_yaml(i, ns="shop", labels="tier: web"):
    """One Deployment (app{i}) with everything the per-object rules ask for; gen_shapes.py
    uses it too."""
    return f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{i}, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: app{i}}}}}
  template:
    metadata: {{labels: {{app: app{i}, {labels}}}}}
    spec:
      containers:
        - name: app
          image: example/app:1
          ports: [{{name: http, containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: /, port: http}}}}
          lifecycle: {{preStop: {{exec: {{command: [sleep, "5"]}}}}}}
          resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{memory: 128Mi}}}}
"""


def deployment(i, ns="shop"):
    w(deployment_yaml(i, ns))


def service(i, selector, ports="[{port: 80, targetPort: http}]"):
    w(f"""---
apiVersion: v1
kind: Service
metadata: {{name: app{i}, namespace: shop}}
spec:
  selector: {selector}
  ports: {ports}
""")


def pdb(name, labels=None, expressions=()):
    """A PodDisruptionBudget (maxUnavailable 1) selecting by matchLabels (flow text such as
    "{tier: web}") or, without labels, by matchExpressions only: (key, operator, values)."""
    if labels:
        selector = f" {{matchLabels: {labels}}}"
    else:
        selector = "\n    matchExpressions:" + "".join(
            f"\n      - {{key: {k}, operator: {op}, values: [{v}]}}" for k, op, v in expressions)
    w(f"""---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: {name}, namespace: shop}}
spec:
  maxUnavailable: 1
  selector:{selector}
""")


def route(i, parent, backend):
    w(f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: route{i}, namespace: shop}}
spec:
  parentRefs: [{{name: {parent}}}]
  rules:
    - backendRefs: [{{name: {backend}, port: 80}}]
""")


def gateway(name):
    w(f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: {name}, namespace: shop}}
spec:
  gatewayClassName: example
  listeners:
    - {{name: http, protocol: HTTP, port: 80}}
""")


def mesh(i):
    w(f"""---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: vs{i}, namespace: shop}}
spec:
  hosts: [app{i}]
  http:
    - route:
        - destination: {{host: gone{i}}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: ext{i}, namespace: shop}}
spec:
  hosts: ["*.ext{i}.example.com"]
  ports: [{{number: 443, name: https, protocol: TLS}}]
  resolution: NONE
""")


def main(shape, N):
    # Every input stays under K5_MAX_DOCUMENTS (100,000 per file) at N = 40,000: two documents per
    # step (one more for the first).
    for i in range(N):
        if shape not in ("notinnothing", "routes", "parents", "mesh"):
            deployment(i)
        if shape == "notin":
            service(i, f"{{app: app{i}}}")
            pdb(f"app{i}", expressions=[("app", "In", f"app{i}"), ("tier", "NotIn", "batch")])
        elif shape == "shared":
            service(i, "{tier: web}")
        elif shape == "own":
            service(i, f"{{app: app{i}}}")
        elif shape == "ports":
            service(i, "{tier: web}", f"[{{port: {10000 + i}, targetPort: {10000 + i}}}]")
        elif shape == "overlap":
            pdb(f"pdb{i}", labels="{tier: web}")
        elif shape == "mismatch":
            service(i, "{tier: web}", "[{port: 80, targetPort: grpc}]")
        elif shape == "nothing":
            pdb(f"pdb{i}", expressions=[("app", "In", f"gone{i}")])
        elif shape == "notinnothing":
            deployment(i, "shop" if i % 2 == 0 else "other")
            pdb(f"pdb{i}", expressions=[("tier", "NotIn", f"web, off{i}")])
        elif shape == "routes":
            if i == 0:
                gateway("edge")
            service(i, f"{{app: app{i}}}")
            route(i, "edge", f"gone{i}")
        elif shape == "parents":
            gateway(f"gw{i}")
            route(i, f"gone{i}", f"app{i}")
        elif shape == "mesh":
            if i == 0:
                service(i, f"{{app: app{i}}}")
            mesh(i)
        else:
            sys.exit(f"unknown shape {shape}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
