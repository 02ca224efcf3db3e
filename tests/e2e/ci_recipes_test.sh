#!/usr/bin/env bash
# The CI recipes in docs/ci/, run for real where they can be: the kube5xx (and helm) steps of
# docs/ci/github-actions.yml and the script lines of docs/ci/gitlab-ci.yml are executed, as
# written, in a sample repository (deploy/ with a Service and a Deployment that disagree, and
# charts/app from `helm create`), and what they produce is checked the way GitHub and GitLab
# read it:
#   - --format github: every line a workflow command; errors annotate the file and line;
#   - SARIF: valid against the SARIF 2.1.0 JSON schema (the copy the npm package
#     @microsoft/sarif-multitool-linux ships, or SARIF_SCHEMA), by a minimal validator below;
#     by Microsoft's own `sarif-multitool validate` where it is installed; and field by field
#     in every case for what code scanning needs (rules, results, relative URIs, regions,
#     fingerprints); and the upload step reads the file the lint step wrote;
#   - JUnit: the XML GitLab's parser reads (testsuites > testsuite > testcase > failure),
#     at the path the job's artifacts:reports:junit names.
# The lint steps run the kube5xx under test. The steps that install kube5xx (apt, git clone,
# cmake) run on a simulated runner, below, except under sanitizers.
#
#   tests/e2e/ci_recipes_test.sh [path/to/kube5xx]     (or KUBE5XX=...; HELM=...)
# Exits 77 without a python3 that has PyYAML. Without helm, the Helm steps are not run.
. "$(dirname "$0")/ship_lib.sh"
need_kube5xx "${1:-}"
need_py_yaml
find_tool HELM helm
validator=${SARIF_MULTITOOL:-}
[ -z "$validator" ] && [ -x "$ship_tools/bin/sarif-multitool" ] && validator=$ship_tools/bin/sarif-multitool

# The SARIF 2.1.0 schema: SARIF_SCHEMA, else the copy the sarif-multitool package ships.
schema=${SARIF_SCHEMA:-}
if [ -z "$schema" ] && [ -n "$validator" ]; then
    schema="$(dirname "$(readlink -f "$validator")")/sarif-2.1.0.json"
fi
[ -n "$schema" ] && [ ! -s "$schema" ] && schema=

repo="$ship_tmp/repo"
mkdir -p "$repo/deploy"
kube5xx_on_path
[ -n "$HELM" ] && ln -s "$HELM" "$ship_tmp/bin/helm"
helm_home
cat > "$repo/deploy/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: example/web:1
          ports:
            - {name: web, containerPort: 8080}
          readinessProbe:
            httpGet: {path: /ready, port: web}
YAML
cat > "$repo/deploy/service.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: http
YAML
if [ -n "$HELM" ]; then
    mkdir -p "$repo/charts"
    (cd "$repo/charts" && timeout 60 "$HELM" create app >/dev/null) || die "helm create failed"
else
    say "helm not available: the Helm steps are not run"
fi

# steps FILE: the commands to run, one JSON list per line: [name, command, extra].
"$py" - "$ship_root/docs/ci/github-actions.yml" "$ship_root/docs/ci/gitlab-ci.yml" \
    > "$ship_tmp/plan.json" <<'PY' || die "cannot read docs/ci/"
import json, sys, yaml
gh = yaml.safe_load(open(sys.argv[1]))
gl = yaml.safe_load(open(sys.argv[2]))
plan = {"github": [], "gitlab": []}
job = next(iter(gh["jobs"].values()))
plan["github_permissions"] = job.get("permissions", {})
plan["github_shell"] = job.get("defaults", {}).get("run", {}).get("shell", "")
plan["github_env"] = job.get("env", {})
plan["github_setup"] = []
for s in job["steps"]:
    run = s.get("run", "")
    if run.startswith("kube5xx ") or "| kube5xx " in run:
        break
    if run:
        plan["github_setup"].append({"name": s.get("name", run), "run": run, "if": s.get("if", "")})
plan["gitlab_env"] = gl["kube5xx"].get("variables", {})
plan["gitlab_before"] = "\n".join(gl["kube5xx"].get("before_script", []))
for s in job["steps"]:
    run = s.get("run", "")
    if run.startswith("kube5xx ") or "| kube5xx " in run:
        plan["github"].append({"name": s.get("name", run), "run": run})
    if s.get("uses", "").startswith("github/codeql-action/upload-sarif"):
        plan["upload_sarif"] = s["with"]["sarif_file"]
for name in ("render-helm", "kube5xx"):
    j = gl[name]
    plan["gitlab"].append({"name": name, "script": j["script"],
                           "junit": j.get("artifacts", {}).get("reports", {}).get("junit")})
json.dump(plan, sys.stdout)
PY
plan() { "$py" -c 'import json, sys; p = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$ship_tmp/plan.json" "$1"; }

# run_step NAME COMMAND: runs it as the CI would (bash -e -o pipefail) in the sample repo.
run_step() {
    (cd "$repo" && timeout 60 bash -e -o pipefail -c "$2") > "$ship_tmp/step.out" 2> "$ship_tmp/step.err"
    step_rc=$?
    say "step '$1': exit $step_rc"
}
show_step() { cat "$ship_tmp/step.out" "$ship_tmp/step.err" | sed 's/^/    /' | head -40 >&2; }

# --- GitHub Actions ---------------------------------------------------------------------
check "the workflow may upload to code scanning (security-events: write)" \
    test "$(plan "p['github_permissions'].get('security-events')")" = write
n=$(plan "len(p['github'])")
check "the workflow has kube5xx steps" test "$n" -ge 3
for i in $(seq 0 $((n - 1))); do
    name=$(plan "p['github'][$i]['name']")
    cmd=$(plan "p['github'][$i]['run']")
    case "$cmd" in helm*) [ -n "$HELM" ] || continue ;; esac
    run_step "$name" "$cmd"
    case "$cmd" in
    *"--format github"*)
        check "$name: every output line is a workflow command" \
            "$py" - "$ship_tmp/step.out" <<'PY' || show_step
import re, sys
lines = open(sys.argv[1]).read().splitlines()
cmd = re.compile(r"^::(error|warning|notice)( file=[^,:]+,line=[1-9][0-9]*,col=[1-9][0-9]*)?,?"
                 r"( ?title=[a-z0-9-]+)?::\S.*$")
bad = [l for l in lines if not cmd.match(l)]
for l in bad:
    print("  not a workflow command:", l, file=sys.stderr)
sys.exit(1 if bad or not lines else 0)
PY
        case "$cmd" in
        *" -") check "$name: the rendered chart's findings name the template" \
                   grep -q "app/templates/deployment.yaml" "$ship_tmp/step.out" || show_step ;;
        *)
            check "$name: fails the job on the error (exit 1)" test "$step_rc" = 1
            line=$(sed -n 's/^::error file=deploy\/service.yaml,line=\([0-9]*\),col=[0-9]*,title=service-target-port-mismatch::.*/\1/p' \
                   "$ship_tmp/step.out" | head -n 1)
            check "$name: the mismatch annotates deploy/service.yaml at its targetPort line" \
                grep -q targetPort <(sed -n "${line:-0}p" "$repo/deploy/service.yaml") || show_step ;;
        esac ;;
    *"--format sarif"*)
        check "$name: exits 0 (--fail-on never), so the upload always runs" test "$step_rc" = 0
        sarif="$repo/$(plan "p['upload_sarif']")"
        check "$name: writes the file the upload step reads" test -s "$sarif" || continue
        check "$name: the SARIF has what code scanning needs" "$py" - "$sarif" "$repo" <<'PY'
import json, os, sys
log = json.load(open(sys.argv[1]))
root = sys.argv[2]
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)
need(log.get("version") == "2.1.0", "version 2.1.0")
need("sarif-2.1.0" in log.get("$schema", ""), "$schema names SARIF 2.1.0")
need(isinstance(log.get("runs"), list) and len(log["runs"]) == 1, "one run")
run = log["runs"][0]
drv = run["tool"]["driver"]
need(drv.get("name") == "kube5xx" and drv.get("version"), "tool.driver name and version")
rules = drv.get("rules", [])
ids = [r["id"] for r in rules]
need(len(ids) == len(set(ids)) and ids, "unique rule ids")
for r in rules:
    need(r.get("shortDescription", {}).get("text") and (r.get("help", {}).get("text") or r.get("fullDescription", {}).get("text")),
         f"rule {r['id']}: description and help")
res = run.get("results", [])
need(any(x["ruleId"] == "service-target-port-mismatch" for x in res), "the mismatch is a result")
for x in res:
    need(x["ruleId"] in ids, f"{x['ruleId']} is a declared rule")
    if "ruleIndex" in x:
        need(0 <= x["ruleIndex"] < len(ids) and ids[x["ruleIndex"]] == x["ruleId"], "ruleIndex matches ruleId")
    need(x.get("level") in ("error", "warning", "note", "none"), "level")
    need(x.get("message", {}).get("text"), "message text")
    need(x.get("partialFingerprints"), "partialFingerprints (alerts track across commits)")
    loc = x["locations"][0]["physicalLocation"]
    uri = loc["artifactLocation"]["uri"]
    need(not uri.startswith("/") and os.path.exists(os.path.join(root, uri)), f"uri {uri} is relative and exists")
    need(loc["region"]["startLine"] >= 1 and loc["region"].get("startColumn", 1) >= 1, "region")
for p in problems:
    print("  SARIF:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
        if [ -n "$schema" ]; then
            check "$name: the SARIF validates against the SARIF 2.1.0 JSON schema" \
                "$py" - "$schema" "$sarif" <<'PY'
# A minimal JSON Schema validator, for the keywords sarif-2.1.0.json uses: type, enum,
# pattern, format (uri, uri-reference, date-time), minimum, maximum, minItems, uniqueItems,
# items, properties, required, additionalProperties, anyOf, oneOf and local $ref.
import json, re, sys
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
defs = schema.get("definitions", schema.get("$defs", {}))
kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
def is_type(x, t):
    if t == "integer":
        return isinstance(x, int) and not isinstance(x, bool)
    if t == "number":
        return isinstance(x, (int, float)) and not isinstance(x, bool)
    return isinstance(x, kinds[t])
def check(s, x, path, errs):
    if "$ref" in s:
        ref = s["$ref"]
        if not ref.startswith("#/definitions/") and not ref.startswith("#/$defs/"):
            errs.append(f"{path}: unsupported $ref {ref}")
            return
        check(defs[ref.rsplit("/", 1)[1]], x, path, errs)
    t = s.get("type")
    if t is not None and not any(is_type(x, tt) for tt in (t if isinstance(t, list) else [t])):
        errs.append(f"{path}: {json.dumps(x)[:60]} is not of type {t}")
        return
    if "enum" in s and x not in s["enum"]:
        errs.append(f"{path}: {json.dumps(x)[:60]} is not one of {s['enum']}")
    if isinstance(x, str):
        if "pattern" in s and not re.search(s["pattern"], x):
            errs.append(f"{path}: {x!r} does not match {s['pattern']}")
        f = s.get("format")
        if f in ("uri", "uri-reference") and (re.search(r"\s", x) or (f == "uri" and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", x))):
            errs.append(f"{path}: {x!r} is not a {f}")
        if f == "date-time" and not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", x):
            errs.append(f"{path}: {x!r} is not a date-time")
    if is_type(x, "number"):
        if "minimum" in s and x < s["minimum"]:
            errs.append(f"{path}: {x} < minimum {s['minimum']}")
        if "maximum" in s and x > s["maximum"]:
            errs.append(f"{path}: {x} > maximum {s['maximum']}")
    if isinstance(x, list):
        if len(x) < s.get("minItems", 0):
            errs.append(f"{path}: fewer than {s['minItems']} items")
        if s.get("uniqueItems") and len({json.dumps(i, sort_keys=True) for i in x}) != len(x):
            errs.append(f"{path}: items are not unique")
        if isinstance(s.get("items"), dict):
            for i, item in enumerate(x):
                check(s["items"], item, f"{path}[{i}]", errs)
    if isinstance(x, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in x:
                errs.append(f"{path}: required property {k!r} missing")
        for k, val in x.items():
            if k in props:
                check(props[k], val, f"{path}.{k}", errs)
            elif s.get("additionalProperties") is False:
                errs.append(f"{path}: property {k!r} is not allowed")
            elif isinstance(s.get("additionalProperties"), dict):
                check(s["additionalProperties"], val, f"{path}.{k}", errs)
    for key, want in (("anyOf", lambda n: n >= 1), ("oneOf", lambda n: n == 1)):
        if key in s:
            n = sum(1 for alt in s[key] if not (lambda e: (check(alt, x, path, e), e)[1])([]))
            if not want(n):
                errs.append(f"{path}: {n} of the {key} alternatives match")
errs = []
check(schema, doc, "$", errs)
for e in errs[:50]:
    print("  schema:", e, file=sys.stderr)
sys.exit(1 if errs else 0)
PY
        else
            say "no SARIF 2.1.0 schema file: not validated against the schema"
        fi
        # Microsoft's validator as a second opinion; it checks required properties and the
        # SARIF spec's own rules, but (5.7.0) not types, enums or minimums, hence the above.
        if [ -n "$validator" ]; then
            v="$ship_tmp/validation.sarif"
            timeout 60 "$validator" validate "$sarif" --output "$v" \
                --json-schema "$(dirname "$(readlink -f "$validator")")/sarif-2.1.0.json" \
                > "$ship_tmp/validator.out" 2>&1
            check "$name: sarif-multitool validate finds no error" "$py" - "$v" <<'PY' || sed 's/^/    /' "$ship_tmp/validator.out" >&2
import json, sys
res = json.load(open(sys.argv[1]))["runs"][0].get("results", [])
for x in res:
    print("  validator:", x.get("level", "warning"), x["ruleId"], x["message"].get("arguments", x["message"].get("text")), file=sys.stderr)
sys.exit(1 if any(x.get("level", "warning") == "error" for x in res) else 0)
PY
        else
            say "sarif-multitool not installed: the SARIF was checked field by field only"
        fi ;;
    esac
done

# A failed render fails the job: GitHub runs `shell: bash` steps as bash -eo pipefail, which
# is what run_step does; without it the pipe's status would be kube5xx's alone.
check "every GitHub step runs with pipefail (defaults.run.shell: bash)" \
    test "$(plan "p['github_shell']")" = bash
mkdir -p "$ship_tmp/badhelm"
# It fails after writing part of a render, a clean object: without pipefail kube5xx would
# lint that, pass, and the step would be green.
printf '#!/bin/sh\nprintf "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: partial}\\n"\necho "Error: template: app/templates/service.yaml:9: bad" >&2\nexit 1\n' \
    > "$ship_tmp/badhelm/helm"
chmod +x "$ship_tmp/badhelm/helm"
for i in $(seq 0 $((n - 1))); do
    cmd=$(plan "p['github'][$i]['run']")
    case "$cmd" in helm*) ;; *) continue ;; esac
    PATH="$ship_tmp/badhelm:$PATH" run_step "failing helm" "$cmd"
    check "a failing 'helm template' fails the step ($(plan "p['github'][$i]['name']"))" \
        test "$step_rc" != 0 || show_step
done

# --- The setup steps, as written, on a simulated runner -----------------------------------
# The placeholders are replaced the way the README tells users to: the repository URL (here
# a local clone of this one) and a commit sha. apt-get and sudo are stand-ins that record
# what would be installed; git, cmake and the compiler are real. First a fresh runner (cache
# miss: kube5xx is built from the sha), then a cache hit (the binary restored, the build
# skipped), which must still install kube5xx's runtime libraries.
check "the GitHub recipe's placeholders are the ones the README names" \
    test "$(plan "p['github_env'].get('KUBE5XX_REPO')")|$(plan "p['github_env'].get('KUBE5XX_REF')")" \
        = "<kube5xx-git-url>|<commit-sha-or-tag>"
check "the GitLab recipe's placeholders are the ones the README names" \
    test "$(plan "p['gitlab_env'].get('KUBE5XX_REPO')")|$(plan "p['gitlab_env'].get('KUBE5XX_REF')")" \
        = "<kube5xx-git-url>|<commit-sha-or-tag>"
check "the README names both placeholders" \
    bash -c "grep -q '<kube5xx-git-url>' '$ship_root/README.md' && grep -q '<commit-sha-or-tag>' '$ship_root/README.md'"
# Skipped under sanitizers (K5_SANITIZED=1, the ASan+UBSan ctest run): this part builds
# kube5xx from a clone with the recipe's own flags (Release, -j$(nproc)) and runs only that
# build, so no sanitizer sees any of it; the release run of this test (scripts/test.sh's first
# stage) covers it. Without the build the test need not run alone (tests/CMakeLists.txt).
if [ "${K5_SANITIZED:-0}" = 1 ]; then
    say "sanitizer build: the recipes' set-up and build steps are not run (they build and run" \
        "their own release kube5xx, which no sanitizer instruments; the release run covers them)"
elif sha=$(git -C "$ship_root" rev-parse --verify -q HEAD) && command -v cmake >/dev/null; then
    runner="$ship_tmp/runner"
    mkdir -p "$runner/fake" "$runner/home"
    printf '#!/bin/sh\nexec "$@"\n' > "$runner/fake/sudo"
    printf '#!/bin/sh\necho "$*" >> "%s"\n' "$runner/apt.log" > "$runner/fake/apt-get"
    chmod +x "$runner/fake/sudo" "$runner/fake/apt-get"
    # gh_setup HIT: runs the setup steps, skipping those a cache hit skips when HIT is true.
    gh_setup() {
        : > "$runner/apt.log"
        setup_rc=0
        local k m
        m=$(plan "len(p['github_setup'])")
        for k in $(seq 0 $((m - 1))); do
            if [ "$1" = true ] && plan "p['github_setup'][$k]['if']" | grep -q "cache-hit != 'true'"; then
                continue
            fi
            mkdir -p "$runner/temp"
            (cd "$repo" && env HOME="$runner/home" RUNNER_TEMP="$runner/temp" \
                GITHUB_PATH="$runner/github_path" KUBE5XX_REPO="file://$ship_root" \
                KUBE5XX_REF="$sha" PATH="$runner/fake:$PATH" \
                timeout 600 bash --noprofile --norc -eo pipefail -c "$(plan "p['github_setup'][$k]['run']")") \
                > "$runner/step.out" 2>&1 || { setup_rc=$?; say "setup step $k failed:"; tail -20 "$runner/step.out" >&2; }
        done
    }
    gh_setup false
    check "GitHub, cache miss: the setup steps build kube5xx from the commit sha" test "$setup_rc" = 0
    check "GitHub, cache miss: the built kube5xx runs" \
        bash -c "'$runner/home/.local/bin/kube5xx' --version >/dev/null"
    check "GitHub: no webhook dev packages (the webhook is not built)" \
        bash -c "! grep -Eq 'libmicrohttpd-dev|libgnutls28-dev|libssl-dev' '$runner/apt.log'"
    gh_setup true
    check "GitHub, cache hit: the setup steps succeed" test "$setup_rc" = 0
    check "GitHub, cache hit: kube5xx's runtime libraries are still installed" \
        bash -c "grep -q 'libyaml-0-2' '$runner/apt.log' && grep -q 'libcjson1' '$runner/apt.log'"
    check "GitHub, cache hit: nothing is built" bash -c "! grep -q 'libyaml-dev' '$runner/apt.log'"
    # GitLab, cache hit (the binary restored to .kube5xx-bin/): the before_script as written.
    gl="$runner/gitlab"
    mkdir -p "$gl/.kube5xx-bin"
    cp "$runner/home/.local/bin/kube5xx" "$gl/.kube5xx-bin/"
    : > "$runner/apt.log"
    (cd "$gl" && env KUBE5XX_REPO="file://$ship_root" KUBE5XX_REF="$sha" PATH="$runner/fake:$PATH" \
        timeout 600 bash -e -o pipefail -c "$(plan "p['gitlab_before']")
kube5xx --version") > "$runner/step.out" 2>&1
    check "GitLab, cache hit: before_script succeeds and kube5xx runs" test $? = 0 ||
        tail -20 "$runner/step.out" >&2
    check "GitLab, cache hit: kube5xx's runtime libraries are still installed" \
        bash -c "grep -q 'libyaml-0-2' '$runner/apt.log' && grep -q 'libcjson1' '$runner/apt.log'"
else
    say "not a git checkout (or no cmake): the recipes' build steps are not run"
fi

# --- GitLab CI --------------------------------------------------------------------------
if [ -n "$HELM" ]; then
    for l in $(seq 0 $(($(plan "len(p['gitlab'][0]['script'])") - 1))); do
        run_step "render-helm" "$(plan "p['gitlab'][0]['script'][$l]")"
        check "render-helm script line $((l + 1)) succeeds" test "$step_rc" = 0 || show_step
    done
else
    mkdir -p "$repo/rendered"      # the kube5xx job lints rendered/ too
fi
junit="$repo/$(plan "p['gitlab'][1]['junit']")"
for l in $(seq 0 $(($(plan "len(p['gitlab'][1]['script'])") - 1))); do
    run_step "kube5xx" "$(plan "p['gitlab'][1]['script'][$l]")"
done
check "the kube5xx job fails on the error (exit 1)" test "$step_rc" = 1
check "the kube5xx job writes the report artifacts:reports:junit names" test -s "$junit"
check "the report is JUnit XML as GitLab reads it" "$py" - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
problems = []
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
if root.tag not in ("testsuites", "testsuite"):
    problems.append(f"root element {root.tag}")
cases = [c for s in suites for c in s.iter("testcase")]
if not cases:
    problems.append("no testcase")
for c in cases:
    if not c.get("name") or not c.get("classname"):
        problems.append(f"testcase without name/classname: {c.attrib}")
fails = [f for c in cases for f in c.findall("failure")]
if not any("service-target-port-mismatch" in (f.get("message", "") + (f.text or "") + f.get("type", "")) for f in fails):
    problems.append("no failure for service-target-port-mismatch")
for s in suites:
    n = len(list(s.iter("testcase")))
    if s.get("tests") is not None and int(s.get("tests")) != n:
        problems.append(f"suite {s.get('name')}: tests={s.get('tests')} but {n} testcases")
    f = sum(1 for c in s.iter("testcase") if c.find("failure") is not None)
    if s.get("failures") is not None and int(s.get("failures")) != f:
        problems.append(f"suite {s.get('name')}: failures={s.get('failures')} but {f} failed testcases")
for p in problems:
    print("  JUnit:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
if [ -n "$HELM" ]; then
    check "the report covers the rendered chart" grep -q "app/templates/deployment.yaml\|rendered/app.yaml" "$junit"
fi

finish
