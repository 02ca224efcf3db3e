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

# ---- the walk ----
# A symlink out of the tree (to a directory holding a manifest) is not followed by default.
mkdir -p "$T/outside" "$T/tree/app"
cp "$T/bad.yaml" "$T/outside/elsewhere.yaml"
cp "$T/web.yaml" "$T/tree/app/web.yaml"
ln -s "$T/outside" "$T/tree/link-out"
run no-follow 0 "$KUBE5XX" lint --no-config -f json "$T/tree"
hasnt no-follow-out "$T/out" 'elsewhere.yaml'
has no-follow-in "$T/out" '"objects":1'
run follow 1 "$KUBE5XX" lint --no-config -f json --follow "$T/tree"
has follow-out "$T/out" 'link-out/elsewhere.yaml'
# A path given on the command line is followed even when it is a symlink.
run arg-symlink 1 "$KUBE5XX" lint --no-config "$T/tree/link-out"
# A loop: not followed by default; with --follow an error naming the link, after the rest.
ln -s .. "$T/tree/app/loop"
run loop-default 0 "$KUBE5XX" lint --no-config "$T/tree"
run loop-follow 2 "$KUBE5XX" lint --no-config --follow "$T/tree"
has loop-follow-msg "$T/out" "$T/tree/app/loop: error: symbolic link loop"
has loop-follow-linted "$T/out" '2 objects'
rm "$T/tree/app/loop"
# Two links to one directory with --follow: linted once, not twice.
ln -s "$T/outside" "$T/tree/link-again"
run follow-once 1 "$KUBE5XX" lint --no-config --follow -f json "$T/tree"
has follow-once "$T/out" '"objects":2'
rm "$T/tree/link-again"

# Unreadable directory and file: errors naming them (exit 2), the rest still linted. Root
# reads through permission bits, so as root the command runs without CAP_DAC_OVERRIDE and
# CAP_DAC_READ_SEARCH (setpriv), which makes root obey the owner's bits like anyone else.
mkdir -p "$T/tree/locked" "$T/tree/noexec"
cp "$T/bad.yaml" "$T/tree/locked/x.yaml"
cp "$T/bad.yaml" "$T/tree/noexec/y.yaml"
cp "$T/bad.yaml" "$T/tree/secret.yaml"
chmod 000 "$T/tree/locked" "$T/tree/secret.yaml"
chmod 600 "$T/tree/noexec" # listable, not searchable: its entries cannot be opened
as_user=()
if [ "$(id -u)" = 0 ]; then
    if command -v setpriv >/dev/null; then
        as_user=(setpriv --bounding-set -dac_override,-dac_read_search --)
    else
        echo "SKIP unreadable-*: running as root without setpriv(1), permission bits cannot bind" >&2
        as_user=(skip)
    fi
fi
if [ "${as_user[0]:-}" != skip ]; then
    run unreadable 2 "${as_user[@]}" "$KUBE5XX" lint --no-config "$T/tree"
    has unreadable-dir "$T/out" "^$T/tree/locked: error: cannot read directory: Permission denied"
    has unreadable-file "$T/out" "^$T/tree/secret.yaml: error: cannot open: Permission denied"
    has unsearchable-entry "$T/out" "^$T/tree/noexec/y.yaml: error: cannot read: Permission denied"
    has unreadable-rest-linted "$T/out" '1 object'
fi
chmod 755 "$T/tree/locked" "$T/tree/noexec"
rm -rf "$T/tree/locked" "$T/tree/noexec" "$T/tree/secret.yaml"

# A path longer than PATH_MAX (4096) inside a tree: an error naming it, not a silent skip.
python3 - "$T/deep" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY) if os.path.isdir(sys.argv[1]) else (os.mkdir(sys.argv[1]), os.open(sys.argv[1], os.O_RDONLY))[1]
for i in range(18):
    name = chr(ord('a') + i) * 250
    os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = nfd
with os.fdopen(os.open("x.yaml", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
    f.write("apiVersion: v1\nkind: Service\nmetadata: {name: deep}\n")
PY
cp "$T/web.yaml" "$T/deep/web.yaml"
run path-max 2 "$KUBE5XX" lint --no-config "$T/deep"
has path-max-msg "$T/out" 'error: path is longer than PATH_MAX'
has path-max-rest "$T/out" '1 object'

# Directories nested deeper than LINT_MAX_DIR_DEPTH (64): an error naming the first directory
# past the limit, not a silent skip; the files above it are still linted. 64 levels are walked.
nest() { # nest ROOT LEVELS: a chain of LEVELS directories under ROOT, web.yaml at both ends
    local d=$1 i
    mkdir -p "$d"
    cp "$T/web.yaml" "$d/web.yaml"
    for ((i = 0; i < $2; i++)); do d=$d/d; done
    mkdir -p "$d"
    cp "$T/web.yaml" "$d/web.yaml"
}
nest "$T/nest64" 64
run depth-64 0 "$KUBE5XX" lint --no-config --fail-on never "$T/nest64"
has depth-64-both "$T/out" '^2 files, 2 objects'
nest "$T/nest65" 65
run depth-65 2 "$KUBE5XX" lint --no-config --fail-on never "$T/nest65"
has depth-65-msg "$T/out" "^$T/nest65(/d){65}: error: directories nested deeper than 64"
has depth-65-rest "$T/out" '^1 file, 1 object'

# ---- SARIF paths are relative to the repository root, from any directory ----
mkdir -p "$T/repo/deploy" "$T/repo/tools"
git -C "$T/repo" init -q 2>/dev/null || mkdir -p "$T/repo/.git"
cp "$T/bad.yaml" "$T/repo/deploy/app.yaml"
cp "$T/bad.yaml" "$T/outside/bad.yaml"
run sarif-subdir 1 sh -c "cd \"$T/repo/tools\" && \"$KUBE5XX\" lint --no-config -f sarif ../deploy \"$T/repo/deploy/app.yaml\" \"$T/outside/bad.yaml\""
python3 - "$T/out" "$T/repo" "$T/outside/bad.yaml" <<'PY' && ok || bad "sarif-subdir: paths not relative to the repository root"
import json, sys, urllib.parse
log = json.load(open(sys.argv[1]))
run = log["runs"][0]
root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
assert root == "file://" + urllib.parse.quote(sys.argv[2]) + "/", root
uris = {(l["physicalLocation"]["artifactLocation"]["uri"],
         l["physicalLocation"]["artifactLocation"].get("uriBaseId"))
        for r in run["results"] for l in r["locations"]}
outside = "file://" + urllib.parse.quote(sys.argv[3])
assert uris == {("deploy/app.yaml", "%SRCROOT%"), (outside, None)}, uris
PY

# ---- streamed formats stay valid documents, with every finding ----
python3 "$K5_SOURCE_DIR/bench/gen_stream.py" 300 >"$T/many.yaml"
run many-json 1 "$KUBE5XX" lint --no-config --fail-on info -f json "$T/many.yaml"
cp "$T/out" "$T/many.json"
run many-sarif 1 "$KUBE5XX" lint --no-config --fail-on info -f sarif "$T/many.yaml"
cp "$T/out" "$T/many.sarif"
run many-junit 1 "$KUBE5XX" lint --no-config --fail-on info -f junit "$T/many.yaml"
python3 - "$T/many.json" "$T/many.sarif" "$T/out" <<'PY' && ok || bad "streamed json/sarif/junit are not valid or disagree"
import json, sys, xml.etree.ElementTree as ET
j = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
n = len(j["findings"])
assert n > 50, n
assert len(s["runs"][0]["results"]) == n, (len(s["runs"][0]["results"]), n)
assert [f["rule"] for f in j["findings"]] == [r["ruleId"] for r in s["runs"][0]["results"]]
ET.parse(sys.argv[3])
PY

finish
