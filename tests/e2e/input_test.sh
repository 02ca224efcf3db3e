#!/usr/bin/env bash
# What kube5xx reads: empty input is an error, the directory walk is safe.
. "$(dirname "$0")/lib.sh"

cat >"$T/web.yaml" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
Y
cat >"$T/bad.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, ports: [{containerPort: 8080}]}]
Y
printf 'replicaCount: 1\n' >"$T/values.yaml"
: >"$T/empty.yaml"

# ---- empty input fails (a failed render upstream must not turn CI green) ----
run empty-file 2 "$KUBE5XX" lint --no-config "$T/empty.yaml"
has empty-file-msg "$T/err" "no Kubernetes objects found in $T/empty.yaml"
run values-only 2 "$KUBE5XX" lint --no-config "$T/values.yaml" "$T/empty.yaml"
has values-only-msg "$T/err" "no Kubernetes objects found in $T/values.yaml, $T/empty.yaml"
run allow-empty 0 "$KUBE5XX" lint --no-config --allow-empty "$T/values.yaml"
mkdir -p "$T/nothing/sub"
run empty-dir 2 "$KUBE5XX" lint --no-config "$T/nothing"
has empty-dir-msg "$T/err" "no Kubernetes objects found in $T/nothing"
run one-object-is-enough 0 "$KUBE5XX" lint --no-config --fail-on never "$T/values.yaml" "$T/web.yaml"
# Every format still writes its (empty) report, so a CI upload step finds a file.
for fmt in json sarif junit; do
    run "empty-$fmt" 2 "$KUBE5XX" lint --no-config -f "$fmt" "$T/empty.yaml"
    [ -s "$T/out" ] && ok || bad "empty-$fmt: no report written"
done
# stdin: empty is an error even with --allow-empty; a failing helm before the pipe.
run stdin-empty 2 sh -c "\"$KUBE5XX\" lint --no-config --allow-empty - </dev/null"
has stdin-empty-msg "$T/out" '^<stdin>: error: stdin is empty'
run stdin-blank 2 sh -c "printf '\n  \n' | \"$KUBE5XX\" lint --no-config --allow-empty -"
run stdin-failed-render 2 bash -c "set -o pipefail; false | \"$KUBE5XX\" lint --no-config -"
run stdin-comments 2 sh -c "printf '# nothing\n---\n' | \"$KUBE5XX\" lint --no-config -"
has stdin-comments-msg "$T/err" 'no Kubernetes objects found in <stdin>'
run stdin-ok 0 sh -c "\"$KUBE5XX\" lint --no-config --fail-on never - <\"$T/web.yaml\""
# stdin is spelled "<stdin>" in every format.
for fmt in text json junit github; do
    run "stdin-name-$fmt" 1 sh -c "\"$KUBE5XX\" lint --no-config -f $fmt - <\"$T/bad.yaml\""
    has "stdin-name-$fmt" "$T/out" '<stdin>|&lt;stdin&gt;'
    hasnt "stdin-name-$fmt-dash" "$T/out" '"-"|^-:|file=-[^a-z]|name="-"'
done
run stdin-name-sarif 1 sh -c "\"$KUBE5XX\" lint --no-config -f sarif - <\"$T/bad.yaml\""
has stdin-name-sarif "$T/out" '"uri":[[:space:]]*"%3Cstdin%3E"'

finish
