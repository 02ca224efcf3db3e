#!/usr/bin/env bash
# Real helm, real chart: `helm create demo`, then `helm template demo ./demo | kube5xx lint -`.
#   - the scaffold's Deployment is reported with demo/templates/deployment.yaml as the source
#     of every finding (the `# Source:` comment helm writes before each document);
#   - with --set values that fix what the chart's values can fix, and kube5xx/ignore
#     annotations (also set through values) for what they cannot, none of the rules that
#     fired on the scaffold's Deployment fires any more (other rules may come and go).
#
#   tests/e2e/helm_test.sh [path/to/kube5xx]       (or KUBE5XX=...; HELM=path/to/helm)
# Exits 77 (skipped) where helm cannot be had (scripts/install-test-tools.sh installs it).
. "$(dirname "$0")/ship_lib.sh"
need_kube5xx "${1:-}"
need_helm

cd "$ship_tmp" || die "cd $ship_tmp"
helm_home
timeout 60 "$HELM" create demo >/dev/null || die "helm create demo failed"
src=demo/templates/deployment.yaml

# Rules the scaffold's Deployment breaks, by the catalog (issue 3): no preStop hook; liveness
# and readiness both GET / on "http" with the same default window; no memory request or
# limit; one replica. Only rules this kube5xx registers are required, so the test holds while
# the catalog is being filled in, and tightens by itself as rules land.
expected=(prestop-hook-missing liveness-same-as-readiness memory-request-missing
          memory-limit-missing single-replica)
registered=$(timeout 10 "$KUBE5XX" rules | awk 'NR > 1 { print $1 }')
[ -n "$registered" ] || die "kube5xx rules listed no rule"

render() { timeout 60 "$HELM" template demo ./demo "$@" > "$ship_tmp/rendered.yaml"; }
lint_rendered() { lint_json --no-config "$@" - < "$ship_tmp/rendered.yaml"; }

# --- the scaffold as created ---------------------------------------------------------
render || die "helm template failed"
grep -q "^# Source: $src\$" rendered.yaml || die "helm did not write '# Source: $src'"
lint_rendered --fail-on warning
[ "$lint_rc" = 1 ] || { show_lint; die "expected exit 1 on the scaffold (--fail-on warning), got $lint_rc"; }
n=0
for rule in "${expected[@]}"; do
    grep -qx -- "$rule" <<<"$registered" || { say "not registered yet, not checked: $rule"; continue; }
    n=$((n + 1))
    check "$rule reported on Deployment demo from $src" json "any(
        f['rule'] == '$rule' and f.get('source') == '$src' and f['file'] == '<stdin>'
        and f['line'] > 0 and f['object']['kind'] == 'Deployment'
        and f['object']['name'] == 'demo' for f in r['findings'])"
done
[ "$n" -gt 0 ] || die "none of the expected rules is registered"
# What the fixed chart must no longer report: every rule that fired on the Deployment.
scaffold_rules=$(json "sorted({f['rule'] for f in r['findings'] if f['object']['kind'] == 'Deployment'})")
check "every Deployment finding names $src" json "all(
    f.get('source') == '$src' for f in r['findings'] if f['object']['kind'] == 'Deployment')"
check "no finding without a source (helm wrote one for every document)" json "all(
    f.get('source') for f in r['findings'])"
# helm create's test hook Pod carries the selector labels, so the chart's own Service selects
# it, but it runs once (restartPolicy: Never): batch work that is gone once it ends, so no rule
# judges it (issue 8: one-shot Pods, for every rule, memory rules included).
check "the test hook Pod is not judged" json "not any(
    f['object']['kind'] == 'Pod' for f in r['findings'])"
check "the test hook Pod was read (the Deployment's findings still come)" json "any(
    f['object']['kind'] == 'Deployment' for f in r['findings'])"

# The template is named in the other formats too (issue 2: "in every format").
for fmt in text github sarif junit; do
    timeout 60 "$KUBE5XX" lint --no-config --format "$fmt" - < rendered.yaml > "out.$fmt" 2>/dev/null
    check "--format $fmt names $src" grep -q "$src" "out.$fmt"
done

# --- fixed through values ------------------------------------------------------------
# What the values can fix: three replicas, requests and a memory limit, a liveness window
# (3 x 20 s) longer than readiness's (3 x 10 s). What they cannot: the scaffold has no value
# for lifecycle hooks or a PodDisruptionBudget template, so those two rules are silenced, with
# a reason, through podAnnotations, which is what a chart user without a fork would do.
# --skip-tests leaves out the test hook Pod above, which no value can fix either.
render --skip-tests \
    --set replicaCount=3 \
    --set resources.requests.cpu=100m,resources.requests.memory=128Mi \
    --set resources.limits.memory=256Mi \
    --set livenessProbe.periodSeconds=20 \
    --set-string 'podAnnotations.kube5xx/ignore=prestop-hook-missing\,pdb-missing' \
    --set-string 'podAnnotations.kube5xx/ignore-reason=no value for lifecycle or a PDB in this chart' ||
    die "helm template with --set failed"
lint_rendered --fail-on never
check "the fixed chart lints (exit 0 with --fail-on never)" test "$lint_rc" = 0
check "none of the scaffold's rules fires on the fixed Deployment ($scaffold_rules)" json "not any(
    f['rule'] in $scaffold_rules and f['object']['kind'] == 'Deployment' for f in r['findings'])"
check "the fixed chart's objects were all read" json "r['summary']['objects'] >= 3"
check "the silenced preStop finding is counted as suppressed" json "r['summary']['suppressed'] >= 1"
[ "$ship_failures" = 0 ] || show_lint

finish
