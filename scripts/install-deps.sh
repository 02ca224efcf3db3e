#!/usr/bin/env bash
# Installs what kube5xx needs, from Debian's packages, when it is missing.
# Idempotent: with everything present it changes nothing and needs no network.
#
#   scripts/install-deps.sh [--with-tests] [--with-fuzz] [--list]
#     (none)        what ./scripts/demo.sh needs to build both binaries:
#                   gcc libc6-dev make cmake pkg-config libyaml-dev libcjson-dev libmicrohttpd-dev
#                   libssl-dev libgnutls28-dev (the webhook's certificate callback)
#                   libcurl4-openssl-dev (the Kubernetes API client: libcurl built on OpenSSL)
#     --with-tests  also what the tests need: libcmocka-dev python3 curl openssl hey (e2e load)
#     --with-fuzz   also clang libclang-rt-14-dev (libFuzzer)
#     --list        prints the packages it would make sure of, one a line, and installs nothing
# apt's chatter (debconf notices included) is kept out of the terminal unless apt fails.
set -euo pipefail
# libc6-dev by name: gcc only recommends it, and --no-install-recommends leaves recommends out.
pkgs=(gcc libc6-dev make cmake pkg-config libyaml-dev libcjson-dev libmicrohttpd-dev libssl-dev
      libgnutls28-dev libcurl4-openssl-dev ca-certificates)
list=false
for a in "$@"; do
    case "$a" in
    --with-tests) pkgs+=(libcmocka-dev python3 curl openssl hey) ;;
    --with-fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    --list) list=true ;;
    *) echo "usage: $0 [--with-tests] [--with-fuzz] [--list]" >&2; exit 2 ;;
    esac
done
if $list; then
    printf '%s\n' "${pkgs[@]}"
    exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -q &&
       "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get failed" >&2
    exit 1
fi
