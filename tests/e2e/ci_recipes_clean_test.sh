#!/usr/bin/env bash
# The CI recipes' set-up in a clean machine, for real: each run is a fresh Debian 12 root
# (the debootstrap'ed one scripts/install-test-tools.sh caches), where the recipe's own lines
# run as written, with real apt-get against the Debian mirror, real git and a real build.
# Only the placeholders are replaced, the way the README says: <kube5xx-git-url> by a bare
# clone of this repository, <commit-sha-or-tag> by its HEAD commit.
#   - GitLab (docs/ci/gitlab-ci.yml, job kube5xx; GitLab runs before_script and script in one
#     bash -eo pipefail, in the image debian:bookworm-slim which this root stands in for):
#     cache miss (no .kube5xx-bin/: kube5xx is built from the sha), then cache hit (a fresh
#     root with only the cached binary: its runtime libraries must be installed by the recipe,
#     nothing built). Both times the job lints deploy/ and rendered/, exits 1 on the sample's
#     error and writes the JUnit report.
#   - GitHub (docs/ci/github-actions.yml, every step `shell: bash`, i.e. bash -eo pipefail;
#     sudo is a pass-through, as root on a runner): cache hit, in a fresh root with only the
#     binary the miss above built and what GitHub's Ubuntu image has that Debian's minimal
#     root lacks (libcurl, ca-certificates): the steps a hit runs must make kube5xx run. (Its
#     cache-miss build is GitLab's under sudo: ci_recipes_test.sh runs it on a simulated runner.)
#
#   tests/e2e/ci_recipes_clean_test.sh
# Exits 77 where it cannot run: not root, no unshare, no cached Debian root, no reachable
# Debian mirror, no python3 with PyYAML, not a git checkout; KUBE5XX_CLEAN_ROOT_TEST=0 skips
# it. Takes a few minutes the first time (packages are cached for the next runs).
. "$(dirname "$0")/ship_lib.sh"
[ "${KUBE5XX_CLEAN_ROOT_TEST:-1}" = 0 ] && skip "KUBE5XX_CLEAN_ROOT_TEST=0"
need_py_yaml
sha=$(git -C "$ship_root" rev-parse --verify -q HEAD) || skip "not a git checkout"
# Every scratch root bind-mounts the same apt caches under $ship_tools (scratch_root), and
# apt-get locks them: two runs at once (several checkouts on one machine) fail each other's
# apt-get ("Could not get lock /var/lib/apt/lists/lock"). Runs take turns instead.
if exec 9>>"$ship_tools/.ci-recipes-clean.lock"; then
    flock -w 1200 9 || skip "another run held $ship_tools/.ci-recipes-clean.lock for 20 minutes"
fi
# The first root (GitLab's cache miss, below) is also where we learn whether a Debian mirror
# is reachable, rather than a root unpacked and removed for that alone. The lists its
# apt-get update downloads are kept: they land in the lists every root shares
# ($ship_tools/apt-lists, scratch_root), or in this root where those are not to be had, and the
# recipe's own apt-get update then only refreshes them.
first="$ship_tmp/gl-miss"
scratch_root "$first" || skip "$scratch_why"
in_root "$first" apt-get update -q > "$ship_tmp/apt.out" 2>&1 ||
    { tail -3 "$ship_tmp/apt.out" >&2; skip "no Debian mirror reachable from the scratch root"; }

# The recipes' lines, as written, into shell scripts.
"$py" - "$ship_root/docs/ci/github-actions.yml" "$ship_root/docs/ci/gitlab-ci.yml" "$ship_tmp" <<'PY' ||
import shlex, sys, yaml
gh = yaml.safe_load(open(sys.argv[1]))
gl = yaml.safe_load(open(sys.argv[2]))
out = sys.argv[3]
job = gl["kube5xx"]
with open(f"{out}/gitlab-job.sh", "w") as f:
    # What GitLab runs for the job: before_script then script, in one shell.
    f.write("\n".join(job["before_script"]) + "\necho K5_BEFORE_SCRIPT_OK\n" + "\n".join(job["script"]) + "\n")
with open(f"{out}/gitlab-vars", "w") as f:
    f.write("\n".join(f"{k}={v}" for k, v in job.get("variables", {}).items()) + "\n")
with open(f"{out}/gitlab-cache", "w") as f:
    f.write(job["cache"]["paths"][0].rstrip("/") + "\n")
ghjob = next(iter(gh["jobs"].values()))
with open(f"{out}/github-vars", "w") as f:
    f.write("\n".join(f"{k}={v}" for k, v in ghjob.get("env", {}).items()) + "\n")
with open(f"{out}/github-cache", "w") as f:
    f.write(next(s for s in ghjob["steps"] if s.get("uses", "").startswith("actions/cache"))["with"]["path"] + "\n")
# The set-up steps: every run step before the first one that runs kube5xx lint. A cache hit
# skips those conditioned on the cache missing.
for hit in (False, True):
    with open(f"{out}/github-setup-{'hit' if hit else 'miss'}.sh", "w") as f:
        for s in ghjob["steps"]:
            run = s.get("run", "")
            if "kube5xx lint" in run:
                break
            if not run or (hit and "cache-hit != 'true'" in s.get("if", "")):
                continue
            f.write(f"echo {shlex.quote('== step: ' + s.get('name', ''))}\n( set -eo pipefail\n{run}\n)\n")
        f.write("echo K5_SETUP_OK\n")
PY
    die "cannot read docs/ci/"
grep -qx 'KUBE5XX_REPO=<kube5xx-git-url>' "$ship_tmp/gitlab-vars" && grep -qx 'KUBE5XX_REF=<commit-sha-or-tag>' "$ship_tmp/gitlab-vars" ||
    die "docs/ci/gitlab-ci.yml: the placeholders are not the README's"
grep -qx 'KUBE5XX_REPO=<kube5xx-git-url>' "$ship_tmp/github-vars" && grep -qx 'KUBE5XX_REF=<commit-sha-or-tag>' "$ship_tmp/github-vars" ||
    die "docs/ci/github-actions.yml: the placeholders are not the README's"

# The sample repository the jobs lint: a Service whose targetPort no container declares.
sample="$ship_tmp/sample"
mkdir -p "$sample/deploy" "$sample/rendered"
printf '%s\n' 'apiVersion: apps/v1' 'kind: Deployment' 'metadata: {name: web}' 'spec:' '  replicas: 3' \
    '  selector: {matchLabels: {app: web}}' '  template:' '    metadata: {labels: {app: web}}' '    spec:' \
    '      containers:' '        - name: web' '          image: example/web:1' \
    '          ports: [{name: web, containerPort: 8080}]' \
    '          readinessProbe: {httpGet: {path: /ready, port: web}}' > "$sample/deploy/web.yaml"
printf '%s\n' 'apiVersion: v1' 'kind: Service' 'metadata: {name: web}' 'spec:' '  selector: {app: web}' \
    '  ports: [{port: 80, targetPort: http}]' > "$sample/deploy/service.yaml"

# new_root NAME: a fresh root in $ship_tmp/NAME (the first one, unpacked above, as it is), its
# path in r, with this repository as a bare clone at /src/kube5xx.git.
new_root() {
    r="$ship_tmp/$1"
    if [ "$r" = "$first" ]; then
        first=
    else
        scratch_root "$r" || die "$scratch_why"
    fi
    mkdir -p "$r/src" && git clone -q --bare "$ship_root" "$r/src/kube5xx.git" || die "git clone --bare failed"
}
# dpkg_has ROOT PACKAGE: the package is installed in the root.
dpkg_has() { in_root "$1" dpkg-query -W -f='${Status}' "$2" 2>/dev/null | grep -q "install ok installed"; }
lacks() { ! dpkg_has "$@"; }
fails() { ! "$@" >/dev/null 2>&1; }
show() { sed 's/^/    /' "$1" | tail -"${2:-25}" >&2; }

# --- GitLab: the kube5xx job, cache miss then cache hit -------------------------------------
gl_cache=$(cat "$ship_tmp/gitlab-cache")
gitlab_job() { # gitlab_job ROOT LOG: runs the job in /builds/project of ROOT
    mkdir -p "$1/builds/project"
    cp -r "$sample/deploy" "$sample/rendered" "$1/builds/project/"
    cp "$ship_tmp/gitlab-job.sh" "$1/builds/job.sh"
    in_root_env=(KUBE5XX_REPO=file:///src/kube5xx.git "KUBE5XX_REF=$sha" CI=true)
    in_root "$1" bash -c 'cd /builds/project && exec bash -eo pipefail /builds/job.sh' > "$2" 2>&1
    job_rc=$?
    in_root_env=()
}
new_root gl-miss
gitlab_job "$r" "$ship_tmp/gl-miss.log"
check "GitLab, cache miss: before_script installs, fetches the sha, builds (clean Debian 12)" \
    grep -q K5_BEFORE_SCRIPT_OK "$ship_tmp/gl-miss.log" || show "$ship_tmp/gl-miss.log"
check "GitLab, cache miss: the binary is where the cache keeps it ($gl_cache/kube5xx)" \
    test -x "$r/builds/project/$gl_cache/kube5xx"
check "GitLab, cache miss: the job fails on the sample's error (exit 1), not earlier" test "$job_rc" = 1
check "GitLab, cache miss: the JUnit report names the error" \
    grep -q service-target-port-mismatch "$r/builds/project/kube5xx-junit.xml"
for p in libmicrohttpd-dev libgnutls28-dev libssl-dev; do
    check "GitLab: no webhook dev package ($p)" lacks "$r" "$p"
done
cp -r "$r/builds/project/$gl_cache" "$ship_tmp/gl-cached"
rm -rf --one-file-system "$r"

new_root gl-hit
mkdir -p "$r/builds/project" && cp -r "$ship_tmp/gl-cached" "$r/builds/project/$gl_cache"
gitlab_job "$r" "$ship_tmp/gl-hit.log"
check "GitLab, cache hit: before_script succeeds on a clean root with only the cached binary" \
    grep -q K5_BEFORE_SCRIPT_OK "$ship_tmp/gl-hit.log" || show "$ship_tmp/gl-hit.log"
check "GitLab, cache hit: the restored kube5xx runs and the job fails on the error (exit 1)" \
    test "$job_rc" = 1 -a -s "$r/builds/project/kube5xx-junit.xml" || show "$ship_tmp/gl-hit.log"
check "GitLab, cache hit: nothing is built (no compiler installed)" lacks "$r" gcc
rm -rf --one-file-system "$r"

# --- GitHub: the set-up steps, cache miss then cache hit ---------------------------------------
gh_cache=$(cat "$ship_tmp/github-cache")      # ~/.local/bin/kube5xx
github_setup() { # github_setup ROOT hit|miss LOG
    mkdir -p "$1/work/repo" "$1/runner/temp" "$1/usr/local/bin"
    printf '#!/bin/sh\nexec "$@"\n' > "$1/usr/local/bin/sudo" && chmod 755 "$1/usr/local/bin/sudo"
    cp "$ship_tmp/github-setup-$2.sh" "$1/work/setup.sh"
    in_root_env=(KUBE5XX_REPO=file:///src/kube5xx.git "KUBE5XX_REF=$sha" RUNNER_TEMP=/runner/temp
                 GITHUB_PATH=/runner/github_path GITHUB_ACTIONS=true)
    in_root "$1" bash -c 'cd /work/repo && exec bash --noprofile --norc -eo pipefail /work/setup.sh' > "$3" 2>&1
    job_rc=$?
    in_root_env=()
}
# The binary a cache miss built, as the cache would restore it (GitHub's build step is the
# GitLab one under sudo; ci_recipes_test.sh runs it on a simulated runner).
[ -x "$ship_tmp/gl-cached/kube5xx" ] && cp "$ship_tmp/gl-cached/kube5xx" "$ship_tmp/gh-cached"
if [ -x "$ship_tmp/gh-cached" ]; then
    new_root gh-hit
    # What GitHub's ubuntu-24.04 image has and Debian's minimal root does not.
    in_root "$r" sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends libcurl4 ca-certificates' \
        > "$ship_tmp/gh-hit-pre.log" 2>&1 || { show "$ship_tmp/gh-hit-pre.log"; die "cannot prepare the runner stand-in"; }
    install -D -m 0755 "$ship_tmp/gh-cached" "$r/root/${gh_cache#\~/}"
    check "GitHub, cache hit: before the recipe's steps, the restored binary does not run (its libraries are missing)" \
        fails in_root "$r" "/root/${gh_cache#\~/}" --version
    github_setup "$r" hit "$ship_tmp/gh-hit.log"
    check "GitHub, cache hit: the set-up steps succeed" test "$job_rc" = 0 || show "$ship_tmp/gh-hit.log"
    check "GitHub, cache hit: after them the restored kube5xx runs" in_root "$r" "/root/${gh_cache#\~/}" --version
    check "GitHub, cache hit: nothing is built (no compiler installed)" lacks "$r" gcc
    rm -rf --one-file-system "$r"
fi
finish
