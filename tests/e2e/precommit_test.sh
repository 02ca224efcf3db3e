#!/usr/bin/env bash
# The pre-commit hooks of .pre-commit-hooks.yaml, run by the real pre-commit framework in a
# throwaway repository: a bad manifest fails the commit check with kube5xx's message, the fixed
# one passes; the same for the kube5xx-dirs hook with a Service and its Deployment in two files.
#
#   tests/e2e/precommit_test.sh [path/to/kube5xx]       (or KUBE5XX=...)
# Exits 77 (skipped) where pre-commit or git is not installed.
. "$(dirname "$0")/ship_lib.sh"
need_kube5xx "${1:-}"
need_command pre-commit "Debian package pre-commit"
need_command git

# The hook repository: a git repository holding this working tree's .pre-commit-hooks.yaml,
# so uncommitted edits to it are what is tested. pre-commit clones it at a commit.
new_repo() { # new_repo DIR: a throwaway git repository that can commit, whatever ~/.gitconfig says.
    mkdir -p "$1"
    git -C "$1" init -q
    git -C "$1" config user.name test
    git -C "$1" config user.email test@example.invalid
    git -C "$1" config commit.gpgsign false
}
hooks="$ship_tmp/hooks"
new_repo "$hooks"
cp "$ship_root/.pre-commit-hooks.yaml" "$hooks/"
git -C "$hooks" add .pre-commit-hooks.yaml
git -C "$hooks" commit -q -m hooks
rev=$(git -C "$hooks" rev-parse HEAD)

# `language: system` runs the kube5xx on PATH.
kube5xx_on_path
export PRE_COMMIT_HOME="$ship_tmp/pre-commit-home"
export PRE_COMMIT_COLOR=never
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

repo="$ship_tmp/repo"
new_repo "$repo"
mkdir -p "$repo/deploy"
cd "$repo" || die "cd $repo"

write_deployment() { # write_deployment PORT_NAME
    cat > deploy/app.yaml <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
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
            - name: $1
              containerPort: 8080
          readinessProbe:
            httpGet: {path: /healthz, port: 8080}
          lifecycle:
            preStop:
              exec: {command: [sleep, "5"]}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 128Mi}
YAML
}
cat > deploy/service.yaml <<'YAML'
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
# A file that is not a manifest: the hooks must not choke on it.
printf 'replicaCount: 1\nimage: {tag: latest}\n' > values.yaml

config() { # config HOOK_ID [ARGS_YAML]
    {
        printf 'repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: %s\n' \
            "file://$hooks" "$rev" "$1"
        [ -n "${2:-}" ] && printf '        args: %s\n' "$2"
    } > .pre-commit-config.yaml
}
run() { # run ARGS...: pre-commit's exit status in $rc, its output in $ship_tmp/pc.out
    timeout 120 pre-commit run "$@" > "$ship_tmp/pc.out" 2>&1
    rc=$?
}
failed_with() {
    [ "$rc" = 1 ] && grep -q "$1" "$ship_tmp/pc.out" && return 0
    say "pre-commit exit $rc, expected 1 and '$1' in:"; sed 's/^/    /' "$ship_tmp/pc.out" >&2
    return 1
}
passed() {
    [ "$rc" = 0 ] && return 0
    say "pre-commit exit $rc, expected 0:"; sed 's/^/    /' "$ship_tmp/pc.out" >&2
    return 1
}

# --- kube5xx: the staged files ---------------------------------------------------------
write_deployment web                       # the Service targets "http"; the container calls it "web"
config kube5xx
git add -A
run --all-files
check "kube5xx hook fails on a targetPort no container declares" \
    failed_with service-target-port-mismatch
check "its message names the file" grep -q "deploy/service.yaml" "$ship_tmp/pc.out"

# Only what is staged is linted: a commit that touches nothing YAML runs nothing.
git commit -q --no-verify -m "bad manifests"
echo notes > README.txt
git add README.txt
run
check "kube5xx hook does not run when no YAML is staged" passed

write_deployment http
git add -A
run --all-files
check "kube5xx hook passes once the port names agree" passed
run
check "kube5xx hook passes on the staged fix" passed

# A commit that stages only a values file (YAML, no Kubernetes object) passes: the hook
# passes --allow-empty, which the command line alone does not.
git commit -q --no-verify -m "fixed manifests"
printf 'replicaCount: 2\nimage: {tag: latest}\n' > values.yaml
git add values.yaml
run
check "kube5xx hook passes on a commit of values files only" passed

# --- kube5xx-dirs: the directory as one set, whatever is staged -------------------------
write_deployment web
config kube5xx-dirs "[deploy/]"
git add -A
run --all-files
check "kube5xx-dirs hook fails on the mismatch across two files" \
    failed_with service-target-port-mismatch
write_deployment http
git add -A
run --all-files
check "kube5xx-dirs hook passes once fixed" passed

# --- The README's snippet, as written, with its placeholders replaced --------------------
# The README tells the user to replace <kube5xx-git-url> and <commit-sha-or-tag>; here they
# become the hook repository and its commit sha, and nothing else of the snippet changes.
snippet=$(awk '/^Add kube5xx to your `.pre-commit-config.yaml`/ {f = 1; next}
               f && /^```yaml/ {c = 1; next}
               c && /^```/ {exit}
               c {print}' "$ship_root/README.md")
check "the README has a .pre-commit-config.yaml snippet with both placeholders" \
    bash -c 'grep -q "<kube5xx-git-url>" <<<"$1" && grep -q "<commit-sha-or-tag>" <<<"$1"' _ "$snippet"
snippet=${snippet//<kube5xx-git-url>/file://$hooks}
printf '%s\n' "${snippet//<commit-sha-or-tag>/$rev}" > .pre-commit-config.yaml
mkdir -p k8s
sed 's/^  name: web$/  name: web-k8s/' deploy/service.yaml > k8s/service.yaml
write_deployment web
git add -A
run --all-files
check "the README snippet, as written: fails on the mismatch" \
    failed_with service-target-port-mismatch
write_deployment http
git add -A
run --all-files
check "the README snippet, as written: passes once fixed" passed

finish
