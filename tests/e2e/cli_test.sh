#!/usr/bin/env bash
# The kube5xx command line end to end: inputs, formats, exit codes, config, suppression.
. "$(dirname "$0")/lib.sh"
F="$K5_SOURCE_DIR/tests/fixtures"

cat >"$T/bad.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          ports:
            - containerPort: 8080
Y
cat >"$T/warn.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          ports: [{containerPort: 8080}]
          readinessProbe: {httpGet: {path: /, port: 8080}}
Y

run version 0 "$KUBE5XX" --version
has version "$T/out" '^kube5xx [0-9]+\.[0-9]+\.[0-9]+$'
run help 0 "$KUBE5XX" --help
has help "$T/out" 'Exit status: 0 clean, 1 findings'
run no-args 2 "$KUBE5XX"
run unknown-cmd 2 "$KUBE5XX" frobnicate
run unknown-format 2 "$KUBE5XX" lint -f yaml "$T/bad.yaml"
run no-paths 2 "$KUBE5XX" lint
run bad-fail-on 2 "$KUBE5XX" lint --fail-on loud "$T/bad.yaml"

# Exit codes and --fail-on.
run findings 1 "$KUBE5XX" lint --no-config "$T/bad.yaml"
has text-shape "$T/out" "^$T/bad.yaml:11:11: error: container \"web\" of Deployment \"web\" .* \[readiness-probe-missing\] \(Deployment default/web\)$"
has summary "$T/out" '^1 file, 1 object: [0-9]+ errors?, [0-9]+ warnings?, 0 infos, 0 suppressed$'
hasnt no-colour-on-pipe "$T/out" $'\x1b'
# Colour on a terminal only, and never with NO_COLOR (script(1) gives the binary a tty).
if command -v script >/dev/null; then
    script -qec "\"$KUBE5XX\" lint --no-config \"$T/bad.yaml\"" /dev/null >"$T/tty" 2>&1
    has colour-on-tty "$T/tty" $'\x1b\\['
    NO_COLOR=1 script -qec "\"$KUBE5XX\" lint --no-config \"$T/bad.yaml\"" /dev/null >"$T/tty" 2>&1
    hasnt no-colour-with-NO_COLOR "$T/tty" $'\x1b\\['
fi
run warnings-pass 0 "$KUBE5XX" lint --no-config "$T/warn.yaml"
run warnings-fail 1 "$KUBE5XX" lint --no-config --fail-on warning "$T/warn.yaml"
run never 0 "$KUBE5XX" lint --no-config --fail-on never "$T/bad.yaml"

# stdin, namespace default, and one set across inputs.
run stdin 1 sh -c "\"$KUBE5XX\" lint --no-config -n shop -f json - < \"$T/bad.yaml\""
has stdin-file "$T/out" '"file":"<stdin>"'
has stdin-ns "$T/out" '"namespace":"shop"'

# Directories: recursive, hidden directories skipped, other extensions ignored.
mkdir -p "$T/tree/a/b" "$T/tree/.hidden"
cp "$T/bad.yaml" "$T/tree/a/b/deep.yml"
cp "$T/bad.yaml" "$T/tree/.hidden/skip.yaml"
cp "$T/bad.yaml" "$T/tree/a/notes.txt"
printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":"http"}]}}\n' >"$T/tree/svc.json"
run dirs 1 "$KUBE5XX" lint --no-config -f json "$T/tree"
has dirs-count "$T/out" '"files":2,"objects":2'
has dirs-cross "$T/out" '"rule":"service-target-port-mismatch".*"file":"[^"]*svc.json","line":1,"column":[0-9]+'
hasnt dirs-hidden "$T/out" 'skip.yaml'

# A file that fails to parse is reported with file:line:col; the others are still linted.
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n' >"$T/dup.yaml"
run parse-error 2 "$KUBE5XX" lint --no-config "$T/dup.yaml" "$T/bad.yaml"
has parse-error-pos "$T/out" "^$T/dup.yaml:5:3: error: duplicate mapping key \"name\""
has parse-error-goes-on "$T/out" 'readiness-probe-missing'

# Every format renders; JSON and SARIF parse.
for fmt in json sarif junit github; do
    run "format-$fmt" 1 "$KUBE5XX" lint --no-config -f "$fmt" -o "$T/report.$fmt" "$T/bad.yaml"
    [ -s "$T/report.$fmt" ] && ok || bad "format-$fmt: empty report"
done

python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f=[x for x in d["findings"] if x["rule"]=="readiness-probe-missing"]; assert d["version"]==1 and d["summary"]["errors"]>=1 and f[0]["line"]==11 and f[0]["column"]==11 and f[0]["path"]=="spec.template.spec.containers[0].readinessProbe", d' "$T/report.json" && ok || bad "json parses"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=[x for x in d["runs"][0]["results"] if x["ruleId"]=="readiness-probe-missing"]; assert d["version"]=="2.1.0" and r[0]["locations"][0]["physicalLocation"]["region"]["startLine"]==11' "$T/report.sarif" && ok || bad "sarif parses"
python3 -c 'import xml.etree.ElementTree as E,sys; E.parse(sys.argv[1])' "$T/report.junit" && ok || bad "junit parses"
has github "$T/report.github" '^::error file=.*bad.yaml,line=11,col=11,title=readiness-probe-missing::'

# Streamed output stays valid in every format: findings arrive in batches of objects from
# several threads (k5_run_each), the JSON summary and SARIF's occurrence numbers come from
# counters, and JUnit's testsuite counts are written before testcases spooled meanwhile.
# 1,200 Deployments (some suppressed, one repeated in a second file: same fingerprints)
# and a load error; the counts of each format must agree with each other.
python3 - "$T/many.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1200):
        ann = "  annotations: {kube5xx/ignore: readiness-probe-missing}\n" if i % 5 == 0 else ""
        f.write(f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web{i}\n{ann}"
                f"spec:\n  replicas: 2\n  selector: {{matchLabels: {{app: web{i}}}}}\n"
                f"  template:\n    metadata: {{labels: {{app: web{i}}}}}\n    spec:\n"
                f"      containers:\n      - name: web\n        image: nginx:1.27\n"
                f"        ports: [{{containerPort: 8080}}]\n")
PY
head -n 15 "$T/many.yaml" >"$T/again.yaml"
for fmt in json sarif junit github; do
    run "stream-$fmt" 2 "$KUBE5XX" lint --no-config -j 2 --show-suppressed -f "$fmt" -o "$T/stream.$fmt" "$T/many.yaml" "$T/again.yaml" "$T/dup.yaml"
done
python3 - "$T" <<'PY' && ok || bad "streamed formats are valid and agree"
import json, sys, xml.etree.ElementTree as E
T = sys.argv[1]
d = json.load(open(f"{T}/stream.json"))
s = d["summary"]
assert s["objects"] == 1201 and len(d["errors"]) == 1, s
assert len(d["findings"]) == s["errors"] + s["warnings"] + s["infos"] + s["suppressed"], s
assert s["suppressed"] >= 240, s
sarif = json.load(open(f"{T}/stream.sarif"))
res = sarif["runs"][0]["results"]
assert len(res) == len(d["findings"]), (len(res), len(d["findings"]))
fps = [r["partialFingerprints"]["kube5xx/v1"] for r in res]
assert len(set(fps)) == len(fps) and any(p.endswith(":2") for p in fps), "fingerprints"
suite = E.parse(f"{T}/stream.junit").getroot().find("testsuite")
cases = suite.findall("testcase")
assert int(suite.get("tests")) == len(cases), (suite.get("tests"), len(cases))
assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
assert int(suite.get("errors")) == 1 == sum(c.find("error") is not None for c in cases)
assert len({c.get("classname") for c in cases if c.get("name") != "load"}) == 1200
gh = [l for l in open(f"{T}/stream.github") if l.startswith("::")]
assert len(gh) == s["errors"] + s["warnings"] + s["infos"] + 1, len(gh)
PY
# JUnit's counts come before its testcases. Written to a regular file (-o above, or stdout
# redirected to one), its head goes first without them and is written again with them at
# the end; to a pipe, or a file in append mode, the testcases are spooled to $TMPDIR, or kept
# in memory where no temporary file can be made. The same bytes every way.
junit_args=(lint --no-config -j 2 --show-suppressed -f junit "$T/many.yaml" "$T/again.yaml" "$T/dup.yaml")
run "stream-junit-stdout-file" 2 "$KUBE5XX" "${junit_args[@]}"
cmp -s "$T/stream.junit" "$T/out" && ok || bad "junit to stdout redirected to a file differs from -o"
run "stream-junit-pipe" 2 bash -c 'set -o pipefail; "$@" | cat' _ "$KUBE5XX" "${junit_args[@]}"
cmp -s "$T/stream.junit" "$T/out" && ok || bad "junit to a pipe (spooled to \$TMPDIR) differs"
run "stream-junit-no-tmpdir" 2 env TMPDIR="$T/no-such-dir" bash -c 'set -o pipefail; "$@" | cat' _ "$KUBE5XX" "${junit_args[@]}"
cmp -s "$T/stream.junit" "$T/out" && ok || bad "junit to a pipe without a temporary directory differs"
printf 'before\n' >"$T/append.junit"
run "stream-junit-append" 2 bash -c 'exec "$@" >>"$0"' "$T/append.junit" "$KUBE5XX" "${junit_args[@]}"
{ printf 'before\n'; cat "$T/stream.junit"; } | cmp -s - "$T/append.junit" && ok || bad "junit appended to a file differs"
# The counts' field is padded with spaces before the '>' (the start tags' own white space).
head -n 3 "$T/stream.junit" | grep -qE '^  <testsuite name="kube5xx" tests="[0-9]+" failures="[0-9]+" errors="1" skipped="[0-9]+" *>$' && ok || bad "junit head: $(head -n 3 "$T/stream.junit")"
# To a pipe the testcases are spooled as compact records (the message as its difference
# from the rule's last one) and rendered at close: names, namespaces, Helm sources and
# suppression reasons with quotes, markup, tabs, newlines, C0 controls, DEL, non-ASCII and
# invalid UTF-8, in two files, every verdict (failures, passes, skips), give
# the bytes written straight to a file.
python3 - "$T/names" <<'PY'
import json, os, sys
os.makedirs(sys.argv[1], exist_ok=True)
names = ['q"uote', "ap'os", 'lt<gt>amp&', 'tab\there', 'nl\nline', 'cr\rx', 'ctl\x01\x1f\x7f',
         'e\u00e9', 'emoji\U0001F600', 'ls\u2028', 'plain', 'plain-longer-name']
def yq(t):  # a YAML double-quoted scalar: JSON's, with DEL and U+2028 escaped (YAML's rules)
    return json.dumps(t, ensure_ascii=False).replace('\x7f', '\\x7f').replace('\u2028', '\\u2028')
docs = []
for i, n in enumerate(names * 20):
    src = f'# Source: chart "{i % 7}"/templates/<d&{i % 5}>\u00e9.yaml\n' if i % 3 == 0 else ''
    ann = ''
    if i % 4 == 1:
        why = yq(f'why <&> "x" \t {i} \u00e9')
        ann = ('  annotations:\n    kube5xx/ignore: readiness-probe-missing,prestop-hook-missing\n'
               f'    kube5xx/ignore-reason: {why}\n')
    elif i % 4 == 2:
        ann = '  annotations:\n    kube5xx/ignore: readiness-probe-missing\n'
    name = yq(n + str(i))
    docs.append(f'---\n{src}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n'
                f'  namespace: {yq(f"ns-{i % 4}<&>")}\n{ann}spec:\n  replicas: {1 + i % 2}\n'
                f'  selector: {{matchLabels: {{app: a{i}}}}}\n  template:\n'
                f'    metadata: {{labels: {{app: a{i}}}}}\n    spec:\n      containers:\n'
                f'      - name: {yq("c" + n)}\n        image: nginx:1.27\n'
                f'        ports: [{{containerPort: {8080 + i % 3}}}]\n')
open(f"{sys.argv[1]}/names.yaml", "w", encoding="utf-8").write("".join(docs))
item = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "@N@", "namespace": "j&"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "b"}},
                 "template": {"metadata": {"labels": {"app": "b"}},
                              "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}]}}}}
items = json.dumps({"apiVersion": "v1", "kind": "List", "items": [item] * 3}).encode()
items = items.replace(b'@N@', b'\xff\xfe\xc3(z', 1).replace(b'@N@', b'x\\ufffe\\uffffy', 1).replace(b'@N@', b'del\x7fq\\"<', 1)
open(f"{sys.argv[1]}/names.json", "wb").write(items)
PY
names_args=(lint --no-config -j 2 --show-suppressed -f junit "$T/names")
run "junit-names-file" 1 "$KUBE5XX" "${names_args[@]}" -o "$T/names.junit"
python3 -c 'import xml.etree.ElementTree as E,sys; r=E.parse(sys.argv[1]).getroot(); assert all(any(True for _ in r.iter(t)) for t in ("skipped", "failure", "system-out")), "a verdict is missing"' "$T/names.junit" && ok || bad "junit of special names parses and has every verdict"
run "junit-names-pipe" 1 bash -c 'set -o pipefail; "$@" | cat' _ "$KUBE5XX" "${names_args[@]}"
cmp -s "$T/names.junit" "$T/out" && ok || bad "junit of special names to a pipe (compact spool) differs from the file"
run "junit-names-pipe-j1" 1 bash -c 'set -o pipefail; "$@" -j 1 | cat' _ "$KUBE5XX" "${names_args[@]}"
cmp -s "$T/names.junit" "$T/out" && ok || bad "junit of special names to a pipe at -j 1 differs from the file"
run "junit-names-no-tmpdir" 1 env TMPDIR="$T/no-such-dir" bash -c 'set -o pipefail; "$@" | cat' _ "$KUBE5XX" "${names_args[@]}"
cmp -s "$T/names.junit" "$T/out" && ok || bad "junit of special names to a pipe, spooled in memory, differs from the file"
# A spool that cannot be written (here: over the file size limit, as a full $TMPDIR would be)
# is an error naming it, and nothing goes to the pipe: never a truncated report that looks
# whole. At close (the records fit the spool's 1 MiB buffer) and during the run (they do not).
run "junit-spool-full-at-close" 2 bash -c 'trap "" XFSZ; ulimit -f 16; set -o pipefail; "$@" | cat' _ "$KUBE5XX" "${junit_args[@]}"
has "junit-spool-full-at-close" "$T/err" "^kube5xx: cannot write the report: JUnit's temporary file in .*: File too large$"
[ ! -s "$T/out" ] && ok || bad "junit-spool-full-at-close: wrote $(wc -c <"$T/out") bytes"
python3 "$K5_SOURCE_DIR/bench/gen_json_list.py" $((4 << 20)) >"$T/list4.json"
run "junit-spool-full-in-run" 2 bash -c 'trap "" XFSZ; ulimit -f 512; set -o pipefail; "$@" | cat' _ "$KUBE5XX" lint --no-config -j 2 -f junit "$T/list4.json"
has "junit-spool-full-in-run" "$T/err" "^kube5xx: cannot write the report: JUnit's temporary file in .*: File too large$"
[ ! -s "$T/out" ] && ok || bad "junit-spool-full-in-run: wrote $(wc -c <"$T/out") bytes"
rm -f "$T/list4.json"

# Config: discovered in the nearest parent, typos are errors with file:line.
mkdir -p "$T/proj/sub"
cp "$T/bad.yaml" "$T/proj/sub/app.yaml"
printf 'rules:\n  readiness-probe-missing: warning\n  prestop-hook-missing: off\n' >"$T/proj/.kube5xx.yaml"
pushd "$T/proj/sub" >/dev/null
# The subject is the config, not the absence of every other rule: --fail-on never.
run config-found 0 "$KUBE5XX" lint --fail-on never app.yaml
popd >/dev/null
has config-applied "$T/out" 'warning: .*\[readiness-probe-missing\]'
hasnt config-applied-severity "$T/out" 'error: .*\[readiness-probe-missing\]'
hasnt config-applied-off "$T/out" 'prestop-hook-missing'
printf 'rules:\n  readiness-probe-mising: off\n' >"$T/typo.yaml"
run config-typo 2 "$KUBE5XX" lint -c "$T/typo.yaml" "$T/bad.yaml"
has config-typo-pos "$T/err" "typo.yaml:2:3: error: unknown rule id \"readiness-probe-mising\""
printf 'exempt:\n  objects: ["Deployment/default/*"]\n' >"$T/exempt.yaml"
run config-exempt 0 "$KUBE5XX" lint -c "$T/exempt.yaml" "$T/bad.yaml"

# Suppression by annotation, counted, shown on request with the reason.
sed 's/^  name: web$/  name: web\n  annotations:\n    kube5xx\/ignore: readiness-probe-missing\n    kube5xx\/ignore-reason: "batch only"/' "$T/bad.yaml" >"$T/sup.yaml"
run suppressed 0 "$KUBE5XX" lint --no-config --fail-on never "$T/sup.yaml"
has suppressed-count "$T/out" '1 suppressed'
hasnt suppressed-hidden "$T/out" '\[readiness-probe-missing\]'
run show-suppressed 0 "$KUBE5XX" lint --no-config --fail-on never --show-suppressed "$T/sup.yaml"
has show-suppressed-reason "$T/out" 'suppressed.*batch only'

# Helm template source is named.
printf -- '---\n# Source: shop/templates/deployment.yaml\n' | cat - "$T/bad.yaml" >"$T/helm.yaml"
run helm-source 1 "$KUBE5XX" lint --no-config -f json "$T/helm.yaml"
has helm-source-json "$T/out" '"source":"shop/templates/deployment.yaml"'

# Non-Kubernetes documents: a notice, not an error.
printf 'replicaCount: 1\nimage: {repository: nginx}\n' >"$T/values.yaml"
run values 0 "$KUBE5XX" lint --no-config --allow-empty "$T/values.yaml"
has values-notice "$T/err" 'values.yaml:1:1: notice: skipped a document without apiVersion and kind'
run values-quiet 0 "$KUBE5XX" lint --no-config --allow-empty -q "$T/values.yaml"
hasnt values-quiet "$T/err" notice

# rules and explain.
run rules 0 "$KUBE5XX" rules
has rules "$T/out" '^service-target-port-mismatch +error +cross'
run explain 0 "$KUBE5XX" explain service-target-port-mismatch
has explain-why "$T/out" 'Why it causes 5xx'
has explain-scope "$T/out" 'cross-object'
run explain-unknown 2 "$KUBE5XX" explain nope

# A mistyped flag or rule id gets a suggestion; a word far from all gets none.
run typo-flag 2 "$KUBE5XX" lint --fail-onn error "$T"
has typo-flag-hint "$T/err" "unknown option '--fail-onn'; did you mean '--fail-on'\?"
run typo-rule 2 "$KUBE5XX" explain readines-probe-missing
has typo-rule-hint "$T/err" "did you mean 'readiness-probe-missing'\?"
run far-flag 2 "$KUBE5XX" lint --zzz "$T"
hasnt far-flag-no-hint "$T/err" "did you mean"
run missing-value 2 "$KUBE5XX" lint --format
has missing-value-msg "$T/err" "option '--format' needs a value"

# An unrendered Helm chart: one line saying to render it first, not a YAML error per template.
mkdir -p "$T/chart/templates"
printf 'apiVersion: v2\nname: shop\nversion: 0.1.0\n' > "$T/chart/Chart.yaml"
for t in a b c; do
    printf 'apiVersion: v1\nkind: Service\nmetadata:\n  {{- include "x" . | nindent 4 }}\n{{- if .Values.y }}\n' \
        > "$T/chart/templates/$t.yaml"
done
run helm-chart 2 "$KUBE5XX" lint "$T/chart"
cat "$T/out" "$T/err" > "$T/all"
has helm-chart-hint "$T/all" "render it first: helm template .*chart \| kube5xx lint -"
if [ "$(grep -c 'error' "$T/all")" -le 2 ]; then ok; else bad "helm-chart: more than one error line"; cat "$T/all" >&2; fi
# The same chart met below a directory being walked, beside plain manifests (manifests/ in
# this repository): passed over with a notice, and the manifests are linted.
mkdir -p "$T/repo"
cp -r "$T/chart" "$T/repo/chart"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n' > "$T/repo/cm.yaml"
run chart-in-dir 0 "$KUBE5XX" lint --no-config "$T/repo"
has chart-in-dir-notice "$T/err" "repo/chart: notice: skipped a Helm chart .*helm template .*repo/chart \| kube5xx lint -"
has chart-in-dir-linted "$T/out" "1 file, 1 object"
run chart-in-dir-quiet 0 "$KUBE5XX" lint --no-config -q "$T/repo"
hasnt chart-in-dir-quiet-silent "$T/err" "notice"

# The rules table lines up: the severity column starts at the same place on every row,
# the longest id (termination-grace-period-too-short) included.
run rules-table 0 "$KUBE5XX" rules
awk '{ match($0, /^[^ ]+ +/); print RLENGTH }' "$T/out" | sort -u > "$T/cols"
if [ "$(wc -l < "$T/cols")" = 1 ]; then ok; else bad "rules table: the severity column moves"; fi

finish
