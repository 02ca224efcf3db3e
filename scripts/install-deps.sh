#!/usr/bin/env bash
# Installs what kube5xx needs to build and test, from Debian's packages, when it is missing.
# Idempotent: with everything present it changes nothing and needs no network.
#   build:  gcc cmake pkg-config libyaml-dev libcjson-dev libmicrohttpd-dev libssl-dev
#           libcurl4-openssl-dev (the Kubernetes API client, kube/: libcurl built on OpenSSL)
#   tests:  libcmocka-dev python3 curl openssl clang libclang-rt-14-dev (libFuzzer)
set -euo pipefail
pkgs=(gcc make cmake pkg-config libyaml-dev libcjson-dev libmicrohttpd-dev libssl-dev
      libcmocka-dev python3 curl openssl ca-certificates libcurl4-openssl-dev)
pkgs+=(libgnutls28-dev hey) # kube5xx-webhook: GnuTLS headers (its certificate callback); hey (e2e load)
if [ "${1:-}" = --with-fuzz ]; then
    pkgs+=(clang libclang-rt-14-dev)
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
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
