#!/usr/bin/env bash
# --jobs: the report is byte-identical to a one-thread run (--jobs 1) in every format, on
# the fixtures, the corpus and large streams that --jobs splits at their column-0 `---`
# lines, including streams whose parts cannot be judged alone (a quoted scalar or a flow
# collection running across a `---`, a document after `...`, a directive, errors in a late
# part, the per-file document and alias limits reached only by the parts together).
. "$(dirname "$0")/lib.sh"
FIX="${K5_SOURCE_DIR:?}/tests/fixtures"
C="${K5_SHARED_DIR:-}/corpus"

# same NAME FORMATS ARGS...: stdout, stderr and exit status of -j1 equal those of -j2 and -j3.
same() {
    local name=$1 fmts=$2
    shift 2
    for fmt in $fmts; do
        timeout 120 "$KUBE5XX" lint --no-config --fail-on warning -j 1 -f "$fmt" "$@" >"$T/o1" 2>"$T/e1"
        local rc1=$?
        for j in ${JOBS:-2 3}; do
            timeout 120 "$KUBE5XX" lint --no-config --fail-on warning -j "$j" -f "$fmt" "$@" >"$T/o$j" 2>"$T/e$j"
            local rcj=$?
            if [ "$rc1" = "$rcj" ] && cmp -s "$T/o1" "$T/o$j" && cmp -s "$T/e1" "$T/e$j"; then
                ok
            else
                bad "$name ($fmt, -j $j): exit $rcj vs $rc1, or the report differs"
                diff "$T/o1" "$T/o$j" | head -5 >&2
                diff "$T/e1" "$T/e$j" | head -5 >&2
            fi
        done
        if grep -qE 'Sanitizer|runtime error' "$T"/e*; then bad "$name: sanitizer"; fi
    done
}

ALL="text json sarif junit github"
# Under ASan+UBSan (K5_SANITIZED=1, set by CMake) a lint costs about 7x, and the fixtures,
# linted together, are the dearest input here (networkpolicy-blocks-ingress over all of them):
# at load 11 their 15 runs took 170 s, the corpus's 10 runs 13 s, every stream's 57 s, and the
# several-files comparison lints them again 6 times. The release run proves every
# format at -j2 and -j3; the sanitized run, which is there for memory errors on the threaded
# paths, lints the fixtures and the corpus at -j1 and -j2 in json and sarif (every format
# streams through k5_run_each's sink, on whichever --jobs thread finished a batch; these two
# write the most per finding), and with the streams in sarif, and keeps every other
# comparison below.
FIXFMT=$ALL SEVFMT="text sarif" FIXJOBS=${JOBS:-2 3}
if [ "${K5_SANITIZED:-0}" = 1 ]; then
    FIXFMT="json sarif" SEVFMT=sarif FIXJOBS=2
fi
JOBS=$FIXJOBS same fixtures "$FIXFMT" "$FIX"
if [ -d "$C" ]; then
    JOBS=2 same corpus "$FIXFMT" "$C"
else
    echo "corpus not present: only the fixtures and the generated streams"
fi

# Large streams, split into parts of about 1 MiB when more than one thread loads.
python3 - "$T" <<'PY'
import sys
T = sys.argv[1]

def deploy(i, extra=""):
    return f"""---
# Source: chart/templates/d{i}.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web{i}
  namespace: shop   # café
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web{i}}}}}
  template:
    metadata: {{labels: {{app: web{i}}}}}
    spec:
      containers:
        - name: app
          image: example/app:1
          ports: [{{containerPort: 8080}}]
          args:
            - |
              a block scalar with a line that looks like a marker but is indented:
              ---
              ...
{extra}"""

def stream(name, special, n=4300):
    with open(f"{T}/{name}.yaml", "w") as f:
        for i in range(n):
            f.write(deploy(i))
            if i in special:
                f.write(special[i])
    return name

ok_specials = {
    10: "...\n# Source: after/an/explicit/end.yaml\n",
    1700: "--- |\n  a root block scalar\n  ---\n",
    2500: "---\n# Source: x.yaml\nlist: &a [1, 2, 3]\nother: *a\nkind: ''\n",
    3300: "...\n",
    3900: "--- \t\n# an empty document, then a comment\n",
}
names = [stream("split-ok", ok_specials)]
# Every document ended by `...` and its Helm source comment before the next `---`: where a part
# starts, the document's source span must still begin at the end of the `...` before it.
with open(f"{T}/ends.yaml", "w") as f:
    for i in range(4300):
        f.write(deploy(i).replace("# Source: chart/templates/", "# ") + f"...\n# Source: s{i + 1}.yaml\n")
names.append("ends")
names.append(stream("quoted", {3300: '---\nkey: "a quoted scalar\n---\nthat runs across a marker"\n'}))
names.append(stream("flow", {3300: "---\nkey: [1,\n---\n2]\n"}))
names.append(stream("duplicate", {3900: "---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nmetadata: {name: b}\n"}))
names.append(stream("bare-after-end", {2800: "...\nbare: document\n"}))
names.append(stream("directive", {2800: "...\n%YAML 1.1\n---\na: 1\n"}))
names.append(stream("tab", {4100: "---\nkey:\n\t- tab\n"}))
big = "---\nbase: &b [" + ", ".join(["x"] * 1000) + "]\nrefs: [" + ", ".join(["*b"] * 120) + "]\n"
names.append(stream("aliases", {i: big for i in range(0, 4200, 420)}))
with open(f"{T}/documents.yaml", "w") as f:
    for i in range(3000):
        f.write(deploy(i))
    f.write("--- {}\n" * 100100)
names.append("documents")
open(f"{T}/names", "w").write("\n".join(names) + "\n")
# The rules on several threads: 600 Services whose workloads and HPA targets live in another
# namespace (1,800 objects, 8 slices of 256), so that the threads' slices all search other
# namespaces (the indexes across namespaces are built by the first search, under a lock).
with open(f"{T}/elsewhere.yaml", "w") as f:
    for i in range(600):
        f.write(f"""---
apiVersion: v1
kind: Service
metadata: {{name: svc{i}, namespace: front}}
spec:
  selector: {{app: web{i}}}
  ports: [{{port: 80, targetPort: http}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web{i}, namespace: back{i % 7}}}
spec:
  selector: {{matchLabels: {{app: web{i}}}}}
  template:
    metadata: {{labels: {{app: web{i}}}}}
    spec:
      containers: [{{name: app, image: "example/app:1", ports: [{{containerPort: 8080}}]}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web{i}, namespace: front}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web{i}}}
  minReplicas: 2
  maxReplicas: 4
""")
PY
# Below the split size: one parse, the rules on several threads.
same elsewhere json "$T/elsewhere.yaml"
while read -r n; do
    sz=$(stat -c %s "$T/$n.yaml")
    [ "$sz" -gt 2150000 ] || bad "$n.yaml is $sz bytes: too small to be split"
    case $n in split-ok) same "$n" "text json" "$T/$n.yaml" ;; ends) same "$n" json "$T/$n.yaml" ;; *) JOBS=2 same "$n" json "$T/$n.yaml" ;; esac
done <"$T/names"
# The splitting streams and fixtures together, as several files loading in parallel.
JOBS=$FIXJOBS same "several files" "$SEVFMT" "$T/split-ok.yaml" "$FIX" "$T/quoted.yaml"
# The streams the parts cannot judge still say exactly what a one-thread run says.
"$KUBE5XX" lint --no-config -q -j 2 "$T/quoted.yaml" >"$T/err" 2>&1
has quoted-error "$T/err" 'quoted.yaml:[0-9]+:[0-9]+: error: .*document indicator'
"$KUBE5XX" lint --no-config -q -j 2 "$T/aliases.yaml" >"$T/err" 2>&1
has alias-limit "$T/err" 'K5_MAX_ALIAS_NODES'
"$KUBE5XX" lint --no-config -q -j 2 "$T/documents.yaml" >"$T/err" 2>&1
has document-limit "$T/err" 'K5_MAX_DOCUMENTS'
run bad-jobs 2 "$KUBE5XX" lint --no-config -j 0 "$FIX"
has bad-jobs-msg "$T/err" '--jobs must be a number'
finish
