#!/usr/bin/env bash
# The webhook's own deployment (manifests/):
#   - every overlay renders with `kubectl kustomize` (the self-signed one after
#     scripts/self-signed-certs.sh has run `kube5xx-webhook certs` for it);
#   - the rendered output passes `kube5xx lint` with zero findings at any severity, and so does
#     the same output linted with the config the ConfigMap mounts (the CLI and the webhook read
#     one config format, so this also proves the mounted config parses);
#   - the self-signed caBundle verifies the generated serving certificate for the Service's
#     DNS name, and the key in the Secret belongs to that certificate;
#   - the pieces agree with each other: webhook paths and ports, Service and container port
#     names, preStop sleep = --shutdown-delay < terminationGracePeriodSeconds, cert-manager's
#     Certificate writes the Secret the Deployment mounts.
#
#   tests/e2e/manifests_test.sh [path/to/kube5xx [path/to/kube5xx-webhook]]
#   (or KUBE5XX=..., KUBE5XX_WEBHOOK=...; KUBECTL=path/to/kubectl)
# Exits 77 (skipped) where kubectl cannot be had; without kube5xx-webhook it checks the rest
# and then exits 77, since the self-signed overlay could not be tested.
. "$(dirname "$0")/ship_lib.sh"
need_kube5xx "${1:-}"
need_kubectl
KUBE5XX_WEBHOOK=$(find_binary kube5xx-webhook "${2:-}" "${KUBE5XX_WEBHOOK:-}")

find_py_yaml

m="$ship_tmp/manifests"
copy_manifests "$m"

overlays=(cert-manager control-plane-only)
if [ -n "$KUBE5XX_WEBHOOK" ]; then
    if timeout 60 "$ship_root/scripts/self-signed-certs.sh" --webhook "$KUBE5XX_WEBHOOK" \
            --overlay "$m/overlays/self-signed" 2> "$ship_tmp/certs.err"; then
        overlays+=(self-signed)
        check "self-signed-certs.sh is idempotent (a second run keeps the certificates)" \
            bash -c 'a=$(sha256sum "$1"); "$2" --webhook "$3" --overlay "$4" 2>/dev/null &&
                     [ "$a" = "$(sha256sum "$1")" ]' _ "$m/overlays/self-signed/generated/tls.crt" \
            "$ship_root/scripts/self-signed-certs.sh" "$KUBE5XX_WEBHOOK" "$m/overlays/self-signed"
    else
        sed 's/^/    /' "$ship_tmp/certs.err" >&2
        check "scripts/self-signed-certs.sh runs" false
    fi
fi

render() { kustomize_build "$m/$1" "$2"; }

for o in "${overlays[@]}"; do
    out="$ship_tmp/$o.yaml"
    check "overlays/$o renders" render "overlays/$o" "$out" || continue
    lint_json --no-config --fail-on info "$out"
    check "overlays/$o: kube5xx lint exits 0 with --fail-on info" test "$lint_rc" = 0
    check "overlays/$o: zero findings" json "r['findings'] == []"
    check "overlays/$o: the workload objects were all read" json "r['summary']['objects'] >= 8"
    [ "$lint_rc" = 0 ] || show_lint

    if [ -n "$py" ]; then
        "$py" - "$out" "$ship_tmp/$o-config.yaml" <<'PY' || { check "overlays/$o: extract the ConfigMap's config" false; continue; }
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kube5xx-config":
        open(sys.argv[2], "w").write(d["data"]["config.yaml"])
        break
else:
    sys.exit(1)
PY
        lint_json --config "$ship_tmp/$o-config.yaml" --fail-on info "$out"
        check "overlays/$o: the ConfigMap's config parses, and under it nothing is found" \
            test "$lint_rc" = 0
        [ "$lint_rc" = 0 ] || show_lint
    fi
done

# --- how the pieces fit -------------------------------------------------------------------
if [ -z "$py" ]; then
    say "no python3 with PyYAML: the consistency checks are not run"
else
    [ -z "$KUBE5XX_WEBHOOK" ] || "$KUBE5XX_WEBHOOK" manifest-rules vwc > "$ship_tmp/vwc-rules.yaml"
    for o in "${overlays[@]}"; do
        [ -s "$ship_tmp/$o.yaml" ] || continue
        if "$py" - "$ship_tmp/$o.yaml" "$o" "$ship_tmp" <<'PY'; then
import base64, os, re, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
overlay, tmp = sys.argv[2], sys.argv[3]
def one(kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]
problems = []
def expect(cond, what):
    if not cond:
        problems.append(what)

dep = one("Deployment", "kube5xx-webhook")
svc = one("Service", "kube5xx-webhook")
vwc = one("ValidatingWebhookConfiguration", "kube5xx")
pod = dep["spec"]["template"]["spec"]
c = pod["containers"][0]
args = dict(a[2:].split("=", 1) for a in c["args"] if a.startswith("--") and "=" in a)
ports = {p["name"]: p["containerPort"] for p in c["ports"]}

# Ports: the Service's 443 reaches the container's --port through a named targetPort.
https = [p for p in svc["spec"]["ports"] if p["port"] == 443]
expect(len(https) == 1, "Service has one port 443")
if https:
    expect(ports.get(https[0]["targetPort"]) == int(args["port"]),
           f"Service 443 targets {https[0]['targetPort']!r} = containerPort {args['port']}")
expect(ports.get("metrics") == int(args["health-port"]), "the metrics port is --health-port")
for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
    h = c[probe]["httpGet"]
    expect(h["path"] == path and h["port"] in ports, f"{probe} GETs {path} on a declared port")

# Shutdown: preStop sleep == --shutdown-delay, and both with the drain of reviews in flight
# (--drain-timeout, default 5 s) fit in the grace period.
sleep = c["lifecycle"]["preStop"]["exec"]["command"]
expect(sleep[0].endswith("sleep"), "preStop is a sleep")
delay = int(re.fullmatch(r"(\d+)s", args["shutdown-delay"]).group(1))
grace = pod["terminationGracePeriodSeconds"]
expect(int(sleep[1]) == delay, f"preStop sleep {sleep[1]} == --shutdown-delay {delay}s")
drain = int(re.fullmatch(r"(\d+)s", args.get("drain-timeout", "5s")).group(1))
expect(int(sleep[1]) + delay + drain < grace, f"sleep + delay + drain {drain}s < grace {grace}")

# Volumes: the Secret and the config are where the args say.
mounts = {v["name"]: v["mountPath"] for v in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
expect(args["tls-cert"] == mounts["tls"] + "/tls.crt", "--tls-cert is in the tls mount")
expect(args["config"] == mounts["config"] + "/config.yaml", "--config is in the config mount")
secret_name = vols["tls"]["secret"]["secretName"]

# The webhook configuration: enforce on /validate (Fail), advisory on /validate/warn (Ignore).
hooks = {w["name"]: w for w in vwc["webhooks"]}
expect(len(hooks) == 2, "two webhook entries")
want = {"/validate": "Fail", "/validate/warn": "Ignore"}
for w in vwc["webhooks"]:
    s = w["clientConfig"]["service"]
    expect((s["name"], s["namespace"], s["port"]) == (svc["metadata"]["name"], svc["metadata"]["namespace"], 443),
           f"{w['name']} calls the Service on 443")
    expect(want.get(s["path"]) == w["failurePolicy"], f"{w['name']}: path {s['path']} with {w['failurePolicy']}")
    expect(w["matchPolicy"] == "Equivalent" and w["sideEffects"] == "None" and w["timeoutSeconds"] == 3
           and w["admissionReviewVersions"] == ["v1", "v1beta1"], f"{w['name']}: protocol settings")
    excl = [e for e in w["namespaceSelector"]["matchExpressions"]
            if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "NotIn"]
    expect(excl and {"kube-system", "kube-node-lease", "kube5xx"} <= set(excl[0]["values"]),
           f"{w['name']}: excludes kube-system, kube-node-lease and kube5xx")
    exprs = " ".join(m["expression"] for m in w.get("matchConditions", []))
    expect("system:serviceaccount:kube5xx:kube5xx-webhook" in exprs and "system:nodes" in exprs,
           f"{w['name']}: matchConditions skip the webhook's account and the nodes")
    expect(all(sorted(r["operations"]) == ["CREATE", "UPDATE"] for r in w["rules"]),
           f"{w['name']}: CREATE and UPDATE only")
    kinds = {(g, res) for r in w["rules"] for g in r["apiGroups"] for res in r["resources"]}
    issue5 = {("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"),
              ("", "services"), ("networking.k8s.io", "ingresses"),
              ("policy", "poddisruptionbudgets"), ("autoscaling", "horizontalpodautoscalers")}
    expect(issue5 <= kinds and not any("/" in res for _, res in kinds),
           f"{w['name']}: the resources of issue 5, no subresources")
    # The kinds the kind table flags K5_KF_WEBHOOK, exactly (the webhook judges no others).
    table = os.path.join(tmp, "vwc-rules.yaml")
    if os.path.exists(table):
        want_kinds = {(g, res) for r in yaml.safe_load(open(table))
                      for g in r["apiGroups"] for res in r["resources"]}
        expect(kinds == want_kinds, f"{w['name']}: the kind table's kinds {sorted(want_kinds - kinds)} "
                                    f"missing, {sorted(kinds - want_kinds)} not in the table")
expect(set(w["clientConfig"]["service"]["path"] for w in vwc["webhooks"]) == set(want), "both paths present")
last = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
        if d["metadata"].get("labels", {}).get("kube5xx.io/apply-last") == "true"]
expect(last == ["ValidatingWebhookConfiguration/kube5xx"], f"only the webhook configuration is applied last: {last}")
sa = one("ServiceAccount")
expect(f"system:serviceaccount:{sa['metadata']['namespace']}:{sa['metadata']['name']}" in exprs,
       "the exempted account is the Deployment's")

if overlay == "cert-manager":
    cert = one("Certificate", "kube5xx-webhook-tls")
    ann = vwc["metadata"].get("annotations", {}).get("cert-manager.io/inject-ca-from")
    expect(ann == f"{cert['metadata']['namespace']}/{cert['metadata']['name']}", "inject-ca-from names the Certificate")
    expect(cert["spec"]["secretName"] == secret_name, "the Certificate writes the mounted Secret")
    expect("kube5xx-webhook.kube5xx.svc" in cert["spec"]["dnsNames"], "the Certificate covers the Service's DNS name")
    issuer = one("Issuer", cert["spec"]["issuerRef"]["name"])
    expect("ca" in issuer["spec"], "the serving certificate is signed by a CA issuer (stable caBundle)")
if overlay == "control-plane-only":
    np = one("NetworkPolicy", "kube5xx-webhook")
    tls_rules = [r for r in np["spec"]["ingress"] if any(p.get("port") == 8443 for p in r.get("ports", []))]
    expect(len(tls_rules) == 1, "one ingress rule for the TLS port")
    expect(all(f.get("ipBlock", {}).get("cidr") for r in tls_rules for f in r.get("from", [])) and
           all(r.get("from") for r in tls_rules), "the TLS port admits only an ipBlock (the control plane)")
if overlay == "self-signed":
    sec = one("Secret", secret_name)
    expect(sec["type"] == "kubernetes.io/tls", "the Secret is kubernetes.io/tls")
    bundles = {w["clientConfig"].get("caBundle") for w in vwc["webhooks"]}
    expect(len(bundles) == 1 and None not in bundles, "both entries carry the same caBundle")
    open(f"{tmp}/bundle.pem", "wb").write(base64.b64decode(bundles.pop()))
    for k in ("tls.crt", "tls.key", "ca.crt"):
        open(f"{tmp}/secret-{k}", "wb").write(base64.b64decode(sec["data"][k]))

for p in problems:
    print(f"  inconsistent: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
            check "overlays/$o: the pieces agree (ports, paths, shutdown, volumes, certificates)" true
        else
            check "overlays/$o: the pieces agree (ports, paths, shutdown, volumes, certificates)" false
        fi
    done

    verify_quietly() { openssl verify -CAfile "$1" -verify_hostname "$2" "$3" >/dev/null; }
    if [ -s "$ship_tmp/bundle.pem" ]; then
        check "the caBundle verifies the serving certificate for kube5xx-webhook.kube5xx.svc" \
            verify_quietly "$ship_tmp/bundle.pem" kube5xx-webhook.kube5xx.svc "$ship_tmp/secret-tls.crt"
        check "the Secret's ca.crt is in the caBundle" \
            grep -qF "$(sed -n 2p "$ship_tmp/secret-ca.crt")" "$ship_tmp/bundle.pem"
        check "the Secret's key belongs to its certificate" test \
            "$(openssl x509 -in "$ship_tmp/secret-tls.crt" -noout -pubkey)" = \
            "$(openssl pkey -in "$ship_tmp/secret-tls.key" -pubout)"
        check "the serving key is ECDSA P-256" bash -c \
            "openssl x509 -in '$ship_tmp/secret-tls.crt' -noout -text | grep -q 'prime256v1\|P-256'"
    fi
fi

# The base alone is not deployable (no Secret, no caBundle), but it must still render and
# lint clean: it is what both overlays share.
check "base renders" render base "$ship_tmp/base.yaml"
lint_json --no-config --fail-on info "$ship_tmp/base.yaml"
check "base: zero findings" json "r['findings'] == []"

if [ -z "$KUBE5XX_WEBHOOK" ]; then
    say "kube5xx-webhook not built: the self-signed overlay was not tested"
    echo "$ship_name: $((ship_checks - ship_failures)) passed, $ship_failures failed"
    [ "$ship_failures" = 0 ] || exit 1
    exit 77
fi
finish
