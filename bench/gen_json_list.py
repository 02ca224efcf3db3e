#!/usr/bin/env python3
"""Writes a minified one-line JSON `List` of Deployments, the shape of `kubectl get -o json`
piped through `jq -c` or of generated JSON: every node of the input is on line 1.

usage: gen_json_list.py BYTES > list.json   (stops adding items before BYTES; deterministic)
"""
import json
import sys

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 20


def deployment(i):
    app = f"app{i}"
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": "rel"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": app, "namespace": f"team-{i % 40}", "labels": labels},
        "spec": {
            "replicas": 1 + i % 3,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{
                    "name": app, "image": f"registry.example.com/{app}:1.{i % 10}",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }]},
            },
        },
    }


head, tail = '{"apiVersion":"v1","kind":"List","items":[', "]}"
out = [head]
size = len(head) + len(tail)
i = 0
while True:
    item = json.dumps(deployment(i), separators=(",", ":"))
    if size + len(item) + 1 > limit:
        break
    out.append(("," if i else "") + item)
    size += len(item) + (1 if i else 0)
    i += 1
out.append(tail)
sys.stdout.write("".join(out))
