# Shared by the shipping end-to-end tests (helm, kustomize, manifests, pre-commit, image).
# Sourced, not run. Exit codes follow ctest's SKIP_RETURN_CODE convention: 0 passed,
# 1 failed, 77 skipped (a tool that cannot be had here).
#
# Binaries: the first and second arguments, else KUBE5XX and KUBE5XX_WEBHOOK, else the
# build directories of the repository, else PATH.
# kubectl and helm: KUBECTL and HELM, else $KUBE5XX_TOOLS/bin (scripts/install-test-tools.sh
# puts them there; default /opt/kube5xx-tools), else PATH.

set -uo pipefail

ship_name=$(basename "$0" .sh)
ship_root=$(cd "$(dirname "$0")/../.." && pwd)
ship_tools=${KUBE5XX_TOOLS:-/opt/kube5xx-tools}
ship_failures=0
ship_checks=0

say()  { printf '%s: %s\n' "$ship_name" "$*" >&2; }
skip() { say "SKIP: $*"; exit 77; }
die()  { say "FAIL: $*"; exit 1; }
# check DESCRIPTION COMMAND...: runs the command, counts a failure without stopping; returns
# the command's success, so `check ... || show_details` shows details of a failure.
check() {
    local what=$1; shift
    ship_checks=$((ship_checks + 1))
    if "$@"; then say "ok: $what"; return 0; fi
    say "FAIL: $what"
    ship_failures=$((ship_failures + 1))
    return 1
}
finish() {
    local passed=$((ship_checks - ship_failures))
    echo "$ship_name: $passed passed, $ship_failures failed"
    [ "$ship_failures" -eq 0 ]
    exit $?
}

ship_tmp=$(mktemp -d "${TMPDIR:-/tmp}/kube5xx-$ship_name.XXXXXX")
trap 'rm -rf --one-file-system "$ship_tmp"' EXIT

# find_binary NAME ARG ENV: an executable path, or empty.
find_binary() {
    local name=$1 arg=$2 env=$3 c
    for c in "$arg" "$env"; do
        if [ -n "$c" ]; then
            [ -x "$c" ] || die "$name: '$c' is not an executable"
            (cd "$(dirname "$c")" && printf '%s/%s\n' "$(pwd)" "$(basename "$c")")
            return
        fi
    done
    for c in "$ship_root"/build*/lint/"$name" "$ship_root"/build*/webhook/"$name" \
             "$ship_root"/build*/"$name"; do
        [ -x "$c" ] && { printf '%s\n' "$c"; return; }
    done
    command -v "$name" || true
}
need_kube5xx() {
    KUBE5XX=$(find_binary kube5xx "${1:-}" "${KUBE5XX:-}")
    [ -n "$KUBE5XX" ] || skip "kube5xx not built (pass its path, or set KUBE5XX)"
}
need_webhook() {
    KUBE5XX_WEBHOOK=$(find_binary kube5xx-webhook "${1:-}" "${KUBE5XX_WEBHOOK:-}")
    [ -n "$KUBE5XX_WEBHOOK" ] || skip "kube5xx-webhook not built (pass its path, or set KUBE5XX_WEBHOOK)"
}
# find_tool VAR NAME: sets VAR, unless it is set already, to $ship_tools/bin/NAME, else to
# NAME on PATH; empty where neither is there.
find_tool() {
    local var=$1 name=$2 path
    path=${!var:-}
    [ -z "$path" ] && [ -x "$ship_tools/bin/$name" ] && path=$ship_tools/bin/$name
    [ -z "$path" ] && path=$(command -v "$name" || true)
    printf -v "$var" '%s' "$path"
}
need_tool() { # need_tool VAR NAME: sets VAR to the tool's path or skips.
    local var=$1 name=$2
    find_tool "$var" "$name"
    [ -n "${!var}" ] && [ -x "${!var}" ] ||
        skip "$name not available (scripts/install-test-tools.sh installs it)"
}
need_command() { # need_command NAME [HINT]: skips unless NAME is on PATH.
    command -v "$1" >/dev/null || skip "$1 not installed${2:+ ($2)}"
}
# The tests run Python dozens of times each (e2e_helm_chart 64), so they run the interpreter
# itself, found once, not `python3` by name: on PATH that may be a pyenv shim, a bash script
# that costs 50-100 ms per call before Python starts.
# find_python: sets ship_python to a python3 interpreter's real path (Debian's /usr/bin/python3
# where it is, else the one `python3` on PATH runs), or empty.
find_python() {
    [ -n "${ship_python:-}" ] && return
    if [ -x /usr/bin/python3 ]; then
        ship_python=/usr/bin/python3
    else
        ship_python=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || ship_python=
    fi
}
# find_py_yaml: sets py to the real path of a python3 that can read YAML (Debian's, which
# python3-yaml comes with, else the one `python3` on PATH runs, e.g. pyenv's), or empty.
find_py_yaml() {
    local p
    py=
    for p in /usr/bin/python3 python3; do
        command -v "$p" >/dev/null || continue
        py=$("$p" -c 'import sys, yaml; print(sys.executable)' 2>/dev/null) && [ -x "$py" ] && return
        py=
    done
}
need_py_yaml() { find_py_yaml; [ -n "$py" ] || skip "no python3 with PyYAML (Debian python3-yaml)"; }
need_kubectl() {
    need_tool KUBECTL kubectl
    timeout 60 "$KUBECTL" kustomize --help >/dev/null 2>&1 || skip "$KUBECTL has no working 'kustomize'"
}
need_helm() {
    need_tool HELM helm
    timeout 60 "$HELM" version >/dev/null 2>&1 || skip "$HELM does not run"
}
# kustomize_build DIR OUT: `kubectl kustomize DIR` into OUT; on failure shows its stderr and
# returns 1.
kustomize_build() {
    timeout 60 "$KUBECTL" kustomize "$1" > "$2" 2> "$ship_tmp/kustomize.err" ||
        { sed 's/^/    /' "$ship_tmp/kustomize.err" >&2; return 1; }
}
# helm_home: keeps helm's cache, config and data under $ship_tmp, away from the user's.
helm_home() {
    export HELM_CACHE_HOME="$ship_tmp/helm/cache" HELM_CONFIG_HOME="$ship_tmp/helm/config" \
           HELM_DATA_HOME="$ship_tmp/helm/data"
}
# kube5xx_on_path: puts the kube5xx under test first on PATH, for recipes that call it by name.
kube5xx_on_path() {
    mkdir -p "$ship_tmp/bin"
    ln -s "$KUBE5XX" "$ship_tmp/bin/kube5xx"
    export PATH="$ship_tmp/bin:$PATH"
}
# copy_manifests DIR: a copy of manifests/ without generated certificates, so the ones a test
# generates never land in the working tree.
copy_manifests() {
    cp -r "$ship_root/manifests" "$1"
    rm -rf "$1/overlays/self-signed/generated"
}

# lint_json FILE...: runs kube5xx lint --format json; the JSON goes to $ship_tmp/out.json,
# the exit status to $lint_rc. Bounded, so a hang is a failure rather than a stuck test.
lint_json() {
    timeout 60 "$KUBE5XX" lint --format json "$@" > "$ship_tmp/out.json" 2> "$ship_tmp/out.err"
    lint_rc=$?
}

# json QUERY: evaluates a Python expression over the last lint's JSON as `r`.
# python3 is on every machine this project builds on; jq is not.
json() {
    find_python
    "${ship_python:-python3}" - "$ship_tmp/out.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"r": r})
if isinstance(v, bool):
    sys.exit(0 if v else 1)
print(v if isinstance(v, str) else json.dumps(v))
PY
}
show_lint() { say "kube5xx exit $lint_rc; stderr:"; sed 's/^/    /' "$ship_tmp/out.err" >&2
              say "json:"; sed 's/^/    /' "$ship_tmp/out.json" | head -c 6000 >&2; echo >&2; }

# scratch_root DIR: a fresh Debian 12 root in DIR, unpacked from the debootstrap'ed tarball
# scripts/install-test-tools.sh caches ($ship_tools/image-cache), with the host's resolv.conf.
# Then `in_root DIR CMD...` runs CMD there as root in a private mount namespace (/proc, /dev,
# and $ship_tools/apt-archives and apt-lists as apt's package cache and lists, so a second run
# downloads only what changed) with
# a clean environment plus any NAME=VALUE given in $in_root_env, for at most $in_root_timeout
# seconds (900). Returns 1 with the reason in
# $scratch_why where it cannot: not root, no unshare, no cached root.
scratch_root() {
    local base="$ship_tools/image-cache/kube5xx-base-bookworm.tar"
    scratch_why=
    if [ "$(id -u)" != 0 ]; then scratch_why="not root"; return 1; fi
    command -v unshare >/dev/null || { scratch_why="no unshare"; return 1; }
    [ -s "$base" ] || { scratch_why="no cached Debian 12 root ($base)"; return 1; }
    mkdir -p "$1" && tar -C "$1" -xf "$base" 2>/dev/null || { scratch_why="cannot unpack $base"; return 1; }
    cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null
    mkdir -p "$1/var/cache/apt/archives" "$1/var/lib/apt/lists" "$ship_tools/apt-archives/partial" \
             "$ship_tools/apt-lists/partial" 2>/dev/null
}
in_root_env=()
in_root() {
    local dir=$1; shift
    timeout "${in_root_timeout:-900}" unshare -m -- sh -c 'r=$1 t=$2; shift 2
        mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" &&
        { [ ! -d "$t/apt-archives" ] || mount --bind "$t/apt-archives" "$r/var/cache/apt/archives"; } &&
        { [ ! -d "$t/apt-lists" ] || mount --bind "$t/apt-lists" "$r/var/lib/apt/lists"; } &&
        exec chroot "$r" "$@"' sh "$dir" "$ship_tools" \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        DEBIAN_FRONTEND=noninteractive "${in_root_env[@]}" "$@"
}
