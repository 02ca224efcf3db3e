#!/usr/bin/env bash
# The webhook's Helm chart (manifests/helm/kube5xx), with the real helm:
#   - `helm lint --strict` with the default values and with each option below;
#   - `helm template` with each option: the render passes `kube5xx lint` with zero findings at
#     any severity, also under the config its ConfigMap mounts (so that config parses), and
#     the option did what values.yaml says;
#   - values the schema refuses (a mode that does not exist, a mistyped key, an existing
#     Secret without a name) fail the render with a message;
#   - the default render is the kustomize base in substance: every object both hold is equal
#     field by field (tests/e2e/chart_substance.py says what is normalised), and the objects
#     only one side holds are the documented ones (the Namespace, which Helm creates; the
#     self-signed Secret, which the base leaves to its overlays); likewise the cert-manager
#     option against overlays/cert-manager and webhookFrom against overlays/control-plane-only;
#   - the self-signed certificate verifies for the Service's DNS name against the caBundle,
#     and the real kube5xx-webhook serves the render: manifests_webhook_test.sh runs on it;
#   - the chart's appVersion is the binaries' version.
#
#   tests/e2e/helm_chart_test.sh [path/to/kube5xx [path/to/kube5xx-webhook]]
#   (or KUBE5XX=..., KUBE5XX_WEBHOOK=...; HELM=..., KUBECTL=...)
# Exits 77 (skipped) where helm, kubectl or a python3 with PyYAML cannot be had
# (scripts/install-test-tools.sh installs them, so CI never skips).
. "$(dirname "$0")/ship_lib.sh"
need_kube5xx "${1:-}"
need_helm
need_kubectl
need_py_yaml
KUBE5XX_WEBHOOK=$(find_binary kube5xx-webhook "${2:-}" "${KUBE5XX_WEBHOOK:-}")
helm_home

chart="$ship_root/manifests/helm/kube5xx"
sub="$ship_root/tests/e2e/chart_substance.py"
ns=kube5xx

# render NAME ARGS...: `helm template` into $ship_tmp/NAME.yaml; its stderr on failure.
render() {
    local name=$1; shift
    timeout 60 "$HELM" template kube5xx "$chart" --namespace "$ns" "$@" \
        > "$ship_tmp/$name.yaml" 2> "$ship_tmp/$name.err" ||
        { sed 's/^/    /' "$ship_tmp/$name.err" >&2; return 1; }
}
helm_lint() { timeout 60 "$HELM" lint --strict "$chart" --namespace "$ns" "$@" > "$ship_tmp/lint.out" 2>&1 ||
                  { sed 's/^/    /' "$ship_tmp/lint.out" >&2; return 1; }; }
# expect NAME PYTHON-EXPRESSION: evaluated over the render NAME, with o["Kind/name"] the
# objects (namespaced or not), cfg the ConfigMap's parsed config.yaml, vwc the webhook entries.
expect() {
    "$py" - "$ship_tmp/$1.yaml" "$2" <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
o = {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}
cm = [d for d in docs if d["kind"] == "ConfigMap"]
cfg = yaml.safe_load(cm[0]["data"]["config.yaml"]) if cm else {}
vwc = next((d["webhooks"] for d in docs if d["kind"] == "ValidatingWebhookConfiguration"), [])
dep = next((d for d in docs if d["kind"] == "Deployment"), {})
pod = dep.get("spec", {}).get("template", {}).get("spec", {})
args = pod.get("containers", [{}])[0].get("args", [])
kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
ok = eval(sys.argv[2])
if not ok:
    print("  kinds:", kinds, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# A CA and a serving certificate made outside the chart, for certificates.source=existing-secret.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
    -keyout "$ship_tmp/ca.key" -out "$ship_tmp/ca.crt" >/dev/null 2>&1 || die "openssl cannot make a CA"

# name|description|helm args|what must hold (a Python expression, see expect)
options=(
"default|the default values||o['Deployment/kube5xx-webhook'] and 'replicas' not in dep['spec'] and o['HorizontalPodAutoscaler/kube5xx-webhook']['spec']['minReplicas'] == 3 and '--threads=2' in args and pod['containers'][0]['resources']['limits']['memory'] == '384Mi' and o['Secret/kube5xx-webhook-tls']['type'] == 'kubernetes.io/tls' and all(w['clientConfig'].get('caBundle') for w in vwc) and [w['failurePolicy'] for w in vwc] == ['Fail', 'Ignore'] and cfg['webhook']['mode'] == 'enforce'"
"warn|mode=warn: nothing is denied, so the enforcing entry fails open|--set mode=warn|cfg['webhook']['mode'] == 'warn' and [w['failurePolicy'] for w in vwc] == ['Ignore', 'Ignore']"
"audit|mode=audit|--set mode=audit|cfg['webhook']['mode'] == 'audit' and [w['failurePolicy'] for w in vwc] == ['Ignore', 'Ignore']"
"cert-manager|certificates from cert-manager|--set certificates.source=cert-manager|o['Certificate/kube5xx-webhook-tls']['spec']['secretName'] == 'kube5xx-webhook-tls' and 'Secret/kube5xx-webhook-tls' not in o and not any(w['clientConfig'].get('caBundle') for w in o['ValidatingWebhookConfiguration/kube5xx']['webhooks']) and o['ValidatingWebhookConfiguration/kube5xx']['metadata']['annotations']['cert-manager.io/inject-ca-from'] == 'kube5xx/kube5xx-webhook-tls'"
"cert-manager-issuer|cert-manager with the user's own issuer|--set certificates.source=cert-manager --set certificates.certManager.issuerRef.kind=ClusterIssuer --set certificates.certManager.issuerRef.name=corp-ca|o['Certificate/kube5xx-webhook-tls']['spec']['issuerRef'] == {'kind': 'ClusterIssuer', 'name': 'corp-ca'} and not [k for k in kinds if k.startswith('Issuer/')] and 'Certificate/kube5xx-ca' not in o"
"existing-secret|an existing Secret and its CA|--set certificates.source=existing-secret --set certificates.existingSecret.name=my-tls --set-file certificates.existingSecret.caBundle=$ship_tmp/ca.crt|pod['volumes'][0]['secret']['secretName'] == 'my-tls' and not [k for k in kinds if k.startswith('Secret/')] and all('-----BEGIN CERTIFICATE-----' in __import__('base64').b64decode(w['clientConfig']['caBundle']).decode() for w in vwc)"
"no-vwc|first install step: no webhook configuration|--set webhookConfiguration.create=false|not vwc and o['Deployment/kube5xx-webhook'] and o['Secret/kube5xx-webhook-tls']"
"fixed-replicas|no autoscaler: a fixed replica count|--set autoscaling.enabled=false --set replicas=4|dep['spec']['replicas'] == 4 and not [k for k in kinds if k.startswith('HorizontalPodAutoscaler/')]"
"scale|more replicas, a higher ceiling|--set replicas=5 --set autoscaling.maxReplicas=12|o['HorizontalPodAutoscaler/kube5xx-webhook']['spec']['minReplicas'] == 5 and o['HorizontalPodAutoscaler/kube5xx-webhook']['spec']['maxReplicas'] == 12 and o['ResourceQuota/kube5xx-critical-pods']['spec']['hard']['pods'] == '15'"
"webhook-from|the TLS port narrowed to the control plane|--set networkPolicy.webhookFrom[0].ipBlock.cidr=10.0.0.0/24|o['NetworkPolicy/kube5xx-webhook']['spec']['ingress'][0]['from'] == [{'ipBlock': {'cidr': '10.0.0.0/24'}}] and 'from' not in o['NetworkPolicy/kube5xx-webhook']['spec']['ingress'][1]"
"no-netpol|no NetworkPolicy|--set networkPolicy.enabled=false|not [k for k in kinds if k.startswith('NetworkPolicy/')]"
"exemptions|extra exemptions and rule settings|--set exemptions.namespaces={kube-system,kube-node-lease,legacy} --set exemptions.usernames={ci-bot} --set exemptions.groups={system:nodes,system:masters} --set exemptions.objects={Deployment/shop/batch-*} --set rules.prestop-hook-missing=off --set rules.memory-limit-too-low.min=128Mi|cfg['webhook']['exempt']['namespaces'] == ['kube-system', 'kube-node-lease', 'legacy', 'kube5xx'] and cfg['webhook']['exempt']['usernames'] == ['system:serviceaccount:kube5xx:kube5xx-webhook', 'ci-bot'] and cfg['webhook']['exempt']['groups'] == ['system:nodes', 'system:masters'] and cfg['exempt']['objects'] == ['Deployment/shop/batch-*'] and cfg['rules'] == {'prestop-hook-missing': 'off', 'memory-limit-too-low': {'min': '128Mi'}} and all('legacy' in w['namespaceSelector']['matchExpressions'][0]['values'] for w in vwc) and all([m['name'] for m in w['matchConditions']] == ['not-kube5xx-service-account', 'not-exempt-usernames', 'not-nodes', 'not-masters'] and \"'ci-bot'\" in w['matchConditions'][1]['expression'] and \"'system:masters'\" in w['matchConditions'][3]['expression'] for w in vwc)"
"list-setting|a list-valued rule setting, through toYaml into a config the engine accepts|--set rules.networkpolicy-blocks-ingress.controller-namespaces={edge,ingress-nginx} --set rules.networkpolicy-blocks-ingress.severity=warning|cfg['rules'] == {'networkpolicy-blocks-ingress': {'controller-namespaces': ['edge', 'ingress-nginx'], 'severity': 'warning'}}"
"image|image and pull settings|--set image.repository=registry.example.com/kube5xx --set image.tag=0.1.0-rc1 --set image.pullPolicy=Always --set imagePullSecrets[0].name=regcred|pod['containers'][0]['image'] == 'registry.example.com/kube5xx:0.1.0-rc1' and pod['containers'][0]['imagePullPolicy'] == 'Always' and pod['imagePullSecrets'] == [{'name': 'regcred'}]"
"resources|resources for a bigger cluster cache|--set resources.limits.memory=768Mi --set resources.requests.memory=256Mi --set resources.requests.cpu=200m|pod['containers'][0]['resources'] == {'limits': {'memory': '768Mi'}, 'requests': {'cpu': '200m', 'memory': '256Mi'}}"
"names|another name prefix and namespace|--namespace webhooks --set fullnameOverride=k5|o['Deployment/k5-webhook']['metadata']['namespace'] == 'webhooks' and o['ValidatingWebhookConfiguration/k5'] and all(w['clientConfig']['service'] == {'namespace': 'webhooks', 'name': 'k5-webhook', 'path': w['clientConfig']['service']['path'], 'port': 443} for w in vwc) and cfg['webhook']['exempt']['usernames'] == ['system:serviceaccount:webhooks:k5-webhook'] and 'webhooks' in vwc[0]['namespaceSelector']['matchExpressions'][0]['values'] and pod['volumes'][1]['configMap']['name'] == 'k5-config' and o['ClusterRoleBinding/k5-webhook-cache']['subjects'][0] == {'kind': 'ServiceAccount', 'name': 'k5-webhook', 'namespace': 'webhooks'}"
"no-cache|no cluster cache, no RBAC|--set clusterCache=off --set rbac.create=false|'--cluster-cache=off' in args and not [k for k in kinds if k.startswith('ClusterRole')]"
)
for opt in "${options[@]}"; do
    IFS='|' read -r name what argline want <<<"$opt"
    read -r -a hargs <<<"$argline"
    check "helm lint --strict: $what" helm_lint "${hargs[@]}"
    check "helm template: $what" render "$name" "${hargs[@]}" || continue
    lint_json --no-config --fail-on info "$ship_tmp/$name.yaml"
    check "$name: kube5xx lint finds nothing (--fail-on info)" json "r['findings'] == [] and r['errors'] == []" ||
        show_lint
    if "$py" "$sub" config "$ship_tmp/$name.yaml" "$ship_tmp/$name-config.yaml"; then
        lint_json --config "$ship_tmp/$name-config.yaml" --fail-on info "$ship_tmp/$name.yaml"
        check "$name: the ConfigMap's config parses, and under it nothing is found" test "$lint_rc" = 0 ||
            show_lint
    fi
    check "$name: $what, as values.yaml says" expect "$name" "$want"
done

# The list-valued setting is not only rendered but read: under the render's config, a policy
# admitting namespace "edge" admits the controller; without it, the rule warns.
npfix="$ship_root/tests/fixtures/networkpolicy-blocks-ingress/fire-unconfigured-controller-namespace.yaml"
nprule="[f for f in r['findings'] if f['rule'] == 'networkpolicy-blocks-ingress']"
if [ -f "$ship_tmp/list-setting-config.yaml" ]; then
    lint_json --no-config "$npfix"
    check "list-setting: without the config, networkpolicy-blocks-ingress warns on $npfix" json "len($nprule) == 1" ||
        show_lint
    lint_json --config "$ship_tmp/list-setting-config.yaml" "$npfix"
    check "list-setting: under the chart's config, controller-namespaces [edge, ingress-nginx] is read" \
        json "$nprule == [] and r['errors'] == []" || show_lint
else
    check "list-setting: the render has a config" false
fi

# --- values the chart refuses --------------------------------------------------------------
refused() { # refused DESCRIPTION PATTERN ARGS...: the render fails, its message matching PATTERN
    local what=$1 pat=$2; shift 2
    if render refused "$@" 2>/dev/null; then
        check "refused: $what" false
    else
        check "refused: $what (the message names it)" grep -q -- "$pat" "$ship_tmp/refused.err"
    fi
}
refused "a mode that does not exist" "mode" --set mode=deny
refused "a mistyped key" "modee" --set modee=warn
refused "a certificate source that does not exist" "source" --set certificates.source=vault
refused "an existing Secret without its name" "existingSecret.name" --set certificates.source=existing-secret
refused "an existing Secret without its CA" "existingSecret.caBundle" \
    --set certificates.source=existing-secret --set certificates.existingSecret.name=my-tls
refused "a group name that would break the CEL expression" "groups" --set "exemptions.groups={a'b}"

# --- the same substance as the kustomize renders ---------------------------------------------
m="$ship_tmp/manifests"
copy_manifests "$m"
if check "kubectl kustomize manifests/base renders" kustomize_build "$m/base" "$ship_tmp/k-base.yaml"; then
    check "default render = manifests/base in substance (only the Namespace and the Secret differ)" \
        "$py" "$sub" same "$ship_tmp/default.yaml" "$ship_tmp/k-base.yaml" \
        --only-kustomize Namespace/kube5xx --only-helm Secret/kube5xx/kube5xx-webhook-tls
fi
if check "kubectl kustomize overlays/cert-manager renders" \
        kustomize_build "$m/overlays/cert-manager" "$ship_tmp/k-cm.yaml"; then
    check "certificates.source=cert-manager = overlays/cert-manager in substance" \
        "$py" "$sub" same "$ship_tmp/cert-manager.yaml" "$ship_tmp/k-cm.yaml" --only-kustomize Namespace/kube5xx
fi
if check "kubectl kustomize overlays/control-plane-only renders" \
        kustomize_build "$m/overlays/control-plane-only" "$ship_tmp/k-cp.yaml"; then
    render cp --set certificates.source=cert-manager --set 'networkPolicy.webhookFrom[0].ipBlock.cidr=10.0.0.0/24'
    check "cert-manager + networkPolicy.webhookFrom = overlays/control-plane-only in substance" \
        "$py" "$sub" same "$ship_tmp/cp.yaml" "$ship_tmp/k-cp.yaml" --only-kustomize Namespace/kube5xx
fi

# --- the self-signed certificate, and the real webhook serving the render -----------------------
"$py" - "$ship_tmp/default.yaml" "$ship_tmp" <<'PY' || check "extract the self-signed certificate" false
import base64, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
sec = next(d for d in docs if d["kind"] == "Secret")
vwc = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")
for k in ("tls.crt", "tls.key", "ca.crt"):
    open(f"{sys.argv[2]}/secret-{k}", "wb").write(base64.b64decode(sec["data"][k]))
bundles = {w["clientConfig"]["caBundle"] for w in vwc["webhooks"]}
assert len(bundles) == 1
open(f"{sys.argv[2]}/bundle.pem", "wb").write(base64.b64decode(bundles.pop()))
PY
verify() { openssl verify -CAfile "$ship_tmp/bundle.pem" -verify_hostname "$1" "$ship_tmp/secret-tls.crt" >/dev/null; }
for h in kube5xx-webhook.kube5xx.svc kube5xx-webhook.kube5xx.svc.cluster.local; do
    check "self-signed: the caBundle verifies the serving certificate for $h" verify "$h"
done
check "self-signed: the Secret's key belongs to its certificate" test \
    "$(openssl x509 -in "$ship_tmp/secret-tls.crt" -noout -pubkey 2>&1)" = \
    "$(openssl pkey -in "$ship_tmp/secret-tls.key" -pubout 2>&1)"
check "self-signed: the serving key is ECDSA P-256" bash -c \
    "openssl x509 -in '$ship_tmp/secret-tls.crt' -noout -text | grep -q 'prime256v1\|P-256'"
render again
check "self-signed: a second render makes a new CA (helm template cannot look the old one up)" \
    bash -c "! cmp -s <(grep tls.crt '$ship_tmp/default.yaml') <(grep tls.crt '$ship_tmp/again.yaml')"

if [ -n "$KUBE5XX_WEBHOOK" ]; then
    K5_MANIFESTS_RENDERED="$ship_tmp/default.yaml" timeout 200 \
        bash "$ship_root/tests/e2e/manifests_webhook_test.sh" "$KUBE5XX_WEBHOOK" > "$ship_tmp/wh.out" 2>&1
    rc=$?
    check "the real kube5xx-webhook serves the chart's render (manifests_webhook_test.sh on it)" test "$rc" = 0 ||
        sed 's/^/    /' "$ship_tmp/wh.out" >&2
else
    say "kube5xx-webhook not built: the render was not served"
fi

# --- one version ------------------------------------------------------------------------------
app=$(sed -n 's/^appVersion: "\(.*\)"$/\1/p' "$chart/Chart.yaml")
check "Chart.yaml's appVersion ($app) is kube5xx --version's" \
    bash -c "'$KUBE5XX' --version | grep -qw -- '$app'"

finish
