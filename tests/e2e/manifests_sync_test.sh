#!/usr/bin/env bash
# The kind lists of the webhook's manifests (the ValidatingWebhookConfiguration's rules, the
# ClusterRole's rules) are generated from the kind table; they must match what the binary
# prints, and the base manifests and the Helm chart must keep their generated blocks.
# Regenerate with: scripts/gen-manifests.sh path/to/kube5xx-webhook
set -euo pipefail
: "${K5_SOURCE_DIR:?}"
wh=${1:?usage: manifests_sync_test.sh path/to/kube5xx-webhook}
cd "$K5_SOURCE_DIR"
rc=0
for f in manifests/base/validatingwebhookconfiguration.yaml:vwc manifests/base/rbac.yaml:rbac \
         manifests/helm/kube5xx/templates/_helpers.tpl:vwc manifests/helm/kube5xx/templates/rbac.yaml:rbac; do
    file=${f%:*} what=${f#*:}
    if ! grep -q "# kube5xx:generated:$what:begin" "$file"; then
        echo "$file: lost its generated '$what' block (# kube5xx:generated:$what:begin/end)" >&2
        rc=1
    fi
done
scripts/gen-manifests.sh --check "$wh" || rc=1
exit $rc
