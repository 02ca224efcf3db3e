#!/usr/bin/env bash
# Regenerates the kind lists of the webhook's manifests from the kind table
# (rules/include/kube5xx/k5_kinds.def), through `kube5xx-webhook manifest-rules`:
# every file under manifests/ with a pair of marker lines
#     # kube5xx:generated:vwc:begin   ...   # kube5xx:generated:vwc:end
#     # kube5xx:generated:rbac:begin  ...   # kube5xx:generated:rbac:end
# gets the lines between them replaced, indented like the begin marker.
# usage: scripts/gen-manifests.sh [--check] [path/to/kube5xx-webhook]
#   --check  change nothing; print a diff and exit 1 when a file is stale
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
wh=${1:-out/release/webhook/kube5xx-webhook}
python3 - "$wh" "$check" <<'PY'
import difflib, os, re, subprocess, sys
wh, check = sys.argv[1], sys.argv[2] == "1"
marker = re.compile(r"^( *)# kube5xx:generated:(vwc|rbac):(begin|end)\b")
stale = found = 0
for root, dirs, files in os.walk("manifests"):
    dirs.sort()
    for name in sorted(files):
        path = os.path.join(root, name)
        try:
            old = open(path, encoding="utf-8").read().splitlines(keepends=True)
        except (UnicodeDecodeError, OSError):
            continue
        new, i = [], 0
        while i < len(old):
            m = marker.match(old[i])
            new.append(old[i])
            i += 1
            if not m or m.group(3) != "begin":
                continue
            indent, what = m.group(1), m.group(2)
            j = i
            while j < len(old) and not (marker.match(old[j]) and marker.match(old[j]).group(3) == "end"):
                j += 1
            if j == len(old) or marker.match(old[j]).group(2) != what:
                sys.exit(f"{path}:{i}: kube5xx:generated:{what}:begin without its end marker")
            out = subprocess.run([wh, "manifest-rules", what, "--indent", str(len(indent))],
                                 check=True, capture_output=True, text=True).stdout
            new.extend(out.splitlines(keepends=True))
            found += 1
            i = j
        if new != old:
            stale += 1
            if check:
                sys.stdout.writelines(difflib.unified_diff(old, new, path, path + " (from the kind table)"))
            else:
                open(path, "w", encoding="utf-8").writelines(new)
                print(f"regenerated {path}")
if check and stale:
    sys.exit(f"{stale} manifest(s) disagree with the kind table: run scripts/gen-manifests.sh")
if check:
    print(f"{found} generated block(s) under manifests/ match the kind table")
PY
