#!/usr/bin/env bash
# docs/rules.md and README.md's rule table are generated from the registry; both must match
# what the binary prints. Regenerate with: scripts/gen-docs.sh path/to/kube5xx
set -euo pipefail
: "${KUBE5XX:?}" "${K5_SOURCE_DIR:?}"
rc=0
if ! diff -u "$K5_SOURCE_DIR/docs/rules.md" <("$KUBE5XX" rules --format markdown); then
    echo "docs/rules.md is stale: run scripts/gen-docs.sh" >&2
    rc=1
fi
want=$("$KUBE5XX" rules --format markdown | grep '^|' | sed 's/](#/](docs\/rules.md#/')
got=$(sed -n '/<!-- rules:begin -->/,/<!-- rules:end -->/p' "$K5_SOURCE_DIR/README.md" | grep '^|' || true)
if [ "$want" != "$got" ]; then
    diff -u <(echo "$got") <(echo "$want") >&2 || true
    echo "README.md's rule table is stale: run scripts/gen-docs.sh" >&2
    rc=1
fi
[ $rc = 0 ] && echo "docs/rules.md and the README table match the registry ($("$KUBE5XX" rules | tail -n +2 | wc -l) rules)"
exit $rc
