#!/usr/bin/env bash
# Makes the certificates for manifests/overlays/self-signed with `kube5xx-webhook certs`:
# a CA and a serving certificate for the webhook's Service, the kubernetes.io/tls Secret that
# the Deployment mounts, and the patch that puts the CA into the webhook configuration's
# caBundle. Everything goes to OVERLAY/generated/, which git ignores (it holds a private key).
#
#   scripts/self-signed-certs.sh [--webhook PATH] [--overlay DIR] [--days N] [--force]
#
# Without --force, existing certificates are kept and only secret.yaml and the patch are
# written again from them, so running it twice is harmless. With --force the certificates are
# made anew; the previous CA, while still valid, stays in the caBundle next to the new one, so
# applying the webhook configuration first and the Secret second never leaves the API server
# distrusting the certificate being served.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
overlay="$root/manifests/overlays/self-signed"
webhook="${KUBE5XX_WEBHOOK:-}"
service=kube5xx-webhook
namespace=kube5xx
secret=kube5xx-webhook-tls
days=
force=0

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --webhook) webhook=$2; shift 2 ;;
        --overlay) overlay=$2; shift 2 ;;
        --days) days=$2; shift 2 ;;
        --force) force=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "self-signed-certs.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

if [ -z "$webhook" ]; then
    webhook=$(command -v kube5xx-webhook || true)
fi
if [ -z "$webhook" ]; then
    for c in "$root"/build*/webhook/kube5xx-webhook "$root"/build*/kube5xx-webhook; do
        if [ -x "$c" ]; then webhook=$c; break; fi
    done
fi
if [ -z "$webhook" ] || [ ! -x "$webhook" ]; then
    echo "self-signed-certs.sh: kube5xx-webhook not found; build it, or pass --webhook PATH" \
         "or set KUBE5XX_WEBHOOK" >&2
    exit 2
fi

out="$overlay/generated"
mkdir -p "$out"
chmod 700 "$out"

b64() { base64 -w0 < "$1"; }

if [ "$force" = 1 ] || [ ! -s "$out/tls.crt" ] || [ ! -s "$out/tls.key" ] || [ ! -s "$out/ca.crt" ]; then
    prev=""
    if [ -s "$out/ca.crt" ] && openssl x509 -in "$out/ca.crt" -noout -checkend 0 >/dev/null 2>&1; then
        prev=$(mktemp)
        cp "$out/ca.crt" "$prev"
    fi
    args=(certs --service "$service" --namespace "$namespace" --out "$out")
    [ -n "$days" ] && args+=(--days "$days")
    # Only this script's own earlier output is overwritten: the directory is ours.
    if [ -e "$out/ca.crt" ] || [ -e "$out/tls.crt" ] || [ -e "$out/tls.key" ]; then
        args+=(--force)
    fi
    printed=$("$webhook" "${args[@]}")
    # The caBundle the webhook prints must be the CA it wrote: a mismatch means one of the two
    # is not what the API server will be given.
    if [ "$(printf '%s' "$printed" | tr -d '[:space:]')" != "$(b64 "$out/ca.crt")" ]; then
        echo "self-signed-certs.sh: the caBundle printed by '$webhook certs' is not" \
             "base64 of $out/ca.crt" >&2
        [ -n "$prev" ] && rm -f "$prev"
        exit 1
    fi
    if [ -n "$prev" ]; then
        if cmp -s "$prev" "$out/ca.crt"; then
            rm -f "$out/ca.previous.crt"
        else
            mv "$prev" "$out/ca.previous.crt"
        fi
        rm -f "$prev"
    fi
else
    echo "self-signed-certs.sh: keeping the certificates in $out (--force makes new ones)" >&2
fi

# The bundle the API server trusts: the CA, plus the previous CA while it is still valid.
bundle=$(mktemp)
trap 'rm -f "$bundle"' EXIT
cat "$out/ca.crt" > "$bundle"
if [ -s "$out/ca.previous.crt" ]; then
    if openssl x509 -in "$out/ca.previous.crt" -noout -checkend 0 >/dev/null 2>&1; then
        cat "$out/ca.previous.crt" >> "$bundle"
    else
        rm -f "$out/ca.previous.crt"
    fi
fi
# Refuse to write manifests for a serving certificate that its own CA does not verify.
openssl verify -CAfile "$out/ca.crt" "$out/tls.crt" >/dev/null

cat > "$out/secret.yaml" <<YAML
# Written by scripts/self-signed-certs.sh; holds the webhook's private key. Do not commit.
apiVersion: v1
kind: Secret
metadata:
  name: $secret
  namespace: $namespace
  labels:
    app.kubernetes.io/name: kube5xx-webhook
    app.kubernetes.io/part-of: kube5xx
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$out/tls.crt")
  tls.key: $(b64 "$out/tls.key")
  ca.crt: $(b64 "$out/ca.crt")
YAML
chmod 600 "$out/secret.yaml" "$out/tls.key"

ca_bundle=$(b64 "$bundle")
cat > "$out/cabundle-patch.yaml" <<YAML
# Written by scripts/self-signed-certs.sh: the CA that signed the webhook's serving certificate.
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: kube5xx
webhooks:
  - name: enforce.kube5xx.io
    clientConfig:
      caBundle: $ca_bundle
  - name: warn.kube5xx.io
    clientConfig:
      caBundle: $ca_bundle
YAML

echo "self-signed-certs.sh: wrote $out/{secret.yaml,cabundle-patch.yaml};" \
     "serving certificate valid until $(openssl x509 -in "$out/tls.crt" -noout -enddate | cut -d= -f2)" >&2
