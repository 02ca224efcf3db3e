#!/usr/bin/env python3
"""Writes a `helm template`-style stream of realistic objects for the benchmarks.

usage: gen_stream.py N [FIRST] > stream.yaml   (N objects, default 10000; applications are
numbered from FIRST, default 0, so that several files hold distinct objects)
Per application: a Deployment, a Service, an Ingress, a PodDisruptionBudget and a
HorizontalPodAutoscaler, in the shapes real charts render (labels, probes, resources,
env, volumes, annotations), each after a "# Source:" comment. Deterministic.
"""
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
FIRST = int(sys.argv[2]) if len(sys.argv) > 2 else 0
out = sys.stdout.write


def labels(app, ind):
    pad = " " * ind
    return (f"{pad}app.kubernetes.io/name: {app}\n{pad}app.kubernetes.io/instance: rel\n"
            f"{pad}app.kubernetes.io/version: \"1.16.0\"\n{pad}app.kubernetes.io/managed-by: Helm\n"
            f"{pad}helm.sh/chart: {app}-0.1.0\n")


def head(i, app, template, api_version, kind):
    """The document separator, helm's "# Source:" comment and the metadata every chart object
    of this stream shares, up to and including its labels."""
    return f"""---
# Source: {app}/templates/{template}.yaml
apiVersion: {api_version}
kind: {kind}
metadata:
  name: {app}
  namespace: team-{i % 40}
  labels:
{labels(app, 4)}"""


def deployment(i, app):
    out(head(i, app, "deployment", "apps/v1", "Deployment") + f"""spec:
  replicas: {2 + i % 3}
  revisionHistoryLimit: 10
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 25%
      maxSurge: 25%
  selector:
    matchLabels:
      app.kubernetes.io/name: {app}
      app.kubernetes.io/instance: rel
  template:
    metadata:
      annotations:
        checksum/config: 3f2a9c0d1b8e7f6a5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b
      labels:
{labels(app, 8)}    spec:
      serviceAccountName: {app}
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        fsGroup: 2000
      containers:
        - name: {app}
          image: "registry.example.com/{app}:1.16.{i % 10}"
          imagePullPolicy: IfNotPresent
          args: ["--port=8080", "--log-level=info"]
          env:
            - name: JAVA_TOOL_OPTIONS
              value: "-XX:MaxRAMPercentage=70 -Dfile.encoding=UTF-8"
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
            - name: metrics
              containerPort: 9090
              protocol: TCP
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            failureThreshold: 3
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            failureThreshold: 6
            timeoutSeconds: 3
          lifecycle:
            preStop:
              exec:
                command: ["/bin/sh", "-c", "sleep 10"]
          resources:
            requests:
              cpu: 250m
              memory: 512Mi
            limits:
              memory: {1 if i % 7 else 0}Gi
          volumeMounts:
            - name: config
              mountPath: /etc/{app}
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: {app}-config
""")


def service(i, app):
    out(head(i, app, "service", "v1", "Service") + f"""spec:
  type: ClusterIP
  ports:
    - port: 80
      targetPort: {"http" if i % 11 else "web"}
      protocol: TCP
      name: http
  selector:
    app.kubernetes.io/name: {app}
    app.kubernetes.io/instance: rel
""")


def ingress(i, app):
    out(head(i, app, "ingress", "networking.k8s.io/v1", "Ingress") + f"""  annotations:
    nginx.ingress.kubernetes.io/proxy-read-timeout: "{60 if i % 13 else 5}"
    nginx.ingress.kubernetes.io/proxy-body-size: 8m
spec:
  ingressClassName: nginx
  tls:
    - hosts:
        - "{app}.example.com"
      secretName: {app}-tls
  rules:
    - host: "{app}.example.com"
      http:
        paths:
          - path: /
            pathType: ImplementationSpecific
            backend:
              service:
                name: {app}
                port:
                  number: 80
""")


def pdb(i, app):
    out(head(i, app, "pdb", "policy/v1", "PodDisruptionBudget") + f"""spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: {app}
      app.kubernetes.io/instance: rel
""")


def hpa(i, app):
    out(head(i, app, "hpa", "autoscaling/v2", "HorizontalPodAutoscaler") + f"""spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {app}
  minReplicas: {2 if i % 5 else 1}
  maxReplicas: 10
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 80
""")


kinds = [deployment, service, ingress, pdb, hpa]
for n in range(N):
    i = FIRST + n // len(kinds)
    kinds[n % len(kinds)](i, f"app{i}")
