#!/usr/bin/env python3
"""Compares the Helm chart's render with the kustomize render of manifests/ (used by
tests/e2e/helm_chart_test.sh).

    chart_substance.py same HELM.yaml KUSTOMIZE.yaml [--only-helm K/N]... [--only-kustomize K/N]...
        Every object both renders hold must be equal in substance: the whole object, after
        the normalisation below, compared field by field. Objects only one side holds must
        be exactly the ones named (the documented differences).
    chart_substance.py config HELM.yaml OUT
        Writes the ConfigMap's config.yaml to OUT.

Normalisation, and nothing else: labels Helm adds by convention (instance, version,
managed-by, helm.sh/chart) are dropped, and so are the chart's two common labels (name,
part-of) on objects the kustomize side leaves unlabelled (its cert-manager overlay); the webhook entries' caBundle is dropped (the base
has none: its overlays add it); the ConfigMap's config.yaml is compared as parsed YAML (the
chart writes its lists in flow style).
"""
import json
import sys

import yaml

HELM_LABELS = {"app.kubernetes.io/instance", "app.kubernetes.io/version",
               "app.kubernetes.io/managed-by", "helm.sh/chart"}
COMMON_LABELS = {"app.kubernetes.io/name", "app.kubernetes.io/part-of"}


def load(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]


def key(d):
    m = d["metadata"]
    return f"{d['kind']}/{m.get('namespace', '')}/{m['name']}" if m.get("namespace") else f"{d['kind']}/{m['name']}"


def normalise(d):
    d = json.loads(json.dumps(d))
    for meta in (d.get("metadata"), d.get("spec", {}).get("template", {}).get("metadata")):
        if meta and "labels" in meta:
            meta["labels"] = {k: v for k, v in meta["labels"].items() if k not in HELM_LABELS}
    for w in d.get("webhooks", []):
        w.get("clientConfig", {}).pop("caBundle", None)
    if d["kind"] == "ConfigMap":
        d["data"] = {k: yaml.safe_load(v) for k, v in d.get("data", {}).items()}
    return d


def diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: only in kustomize: {json.dumps(b[k])[:100]}")
            elif k not in b:
                out.append(f"{path}.{k}: only in helm: {json.dumps(a[k])[:100]}")
            else:
                diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: helm {json.dumps(a)[:100]} != kustomize {json.dumps(b)[:100]}")


def same(args):
    helm_path, kust_path, rest = args[0], args[1], args[2:]
    only = {"--only-helm": set(), "--only-kustomize": set()}
    while rest:
        only[rest[0]].add(rest[1])
        rest = rest[2:]
    h = {key(d): d for d in load(helm_path)}
    k = {key(d): d for d in load(kust_path)}
    problems = []
    if set(h) - set(k) != only["--only-helm"]:
        problems.append(f"objects only in the chart: {sorted(set(h) - set(k))}, "
                        f"expected {sorted(only['--only-helm'])}")
    if set(k) - set(h) != only["--only-kustomize"]:
        problems.append(f"objects only in kustomize: {sorted(set(k) - set(h))}, "
                        f"expected {sorted(only['--only-kustomize'])}")
    for name in sorted(set(h) & set(k)):
        out = []
        a, b = normalise(h[name]), normalise(k[name])
        if "labels" not in b["metadata"] and set(a["metadata"].get("labels", {})) <= COMMON_LABELS:
            a["metadata"].pop("labels", None)
        diff(a, b, name, out)
        problems += out
    for p in problems:
        print("  differs:", p, file=sys.stderr)
    print(f"compared {len(set(h) & set(k))} objects", file=sys.stderr)
    return 1 if problems or not set(h) & set(k) else 0


def config(args):
    for d in load(args[0]):
        if d["kind"] == "ConfigMap" and "config.yaml" in d.get("data", {}):
            open(args[1], "w").write(d["data"]["config.yaml"])
            return 0
    return 1


if __name__ == "__main__":
    sys.exit({"same": same, "config": config}[sys.argv[1]](sys.argv[2:]))
