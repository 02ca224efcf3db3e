#!/usr/bin/env bash
# Writes a man page (roff) for one of the two binaries from the binary itself: its --help is
# the page's body and, for kube5xx, `kube5xx rules` is its RULES section. The build runs this
# (CMake), so the page and --help come from one source and cannot drift.
#
#   scripts/gen-man.sh BINARY SECTION [PAGE]      (stdout without PAGE)
set -euo pipefail
bin=$1 section=$2
[ -n "${3:-}" ] && exec > "$3"
name=$(basename "$bin")
version=$("$bin" --version | awk '{print $2; exit}')
# roff escaping: backslashes, and a leading dot or quote would start a request.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/-/\\-/g'; }
case $name in
kube5xx) what="find Kubernetes configuration that causes HTTP 502, 503 and 504" ;;
kube5xx-webhook) what="validating admission webhook that stops configuration causing HTTP 5xx" ;;
*) what=$name ;;
esac
echo ".TH $(echo "$name" | tr a-z A-Z) $section \"\" \"$name $version\" \"kube5xx\""
echo ".SH NAME"
echo "$name \\- $what"
echo ".SH DESCRIPTION"
echo "The text below is the output of"
echo ".B $name \\-\\-help"
echo "for this version."
echo ".PP"
echo ".nf"
"$bin" --help | esc
echo ".fi"
if [ "$name" = kube5xx ]; then
    echo ".SH RULES"
    echo "The rules of this version, as"
    echo ".B kube5xx rules"
    echo "prints them;"
    echo ".B kube5xx explain"
    echo ".I RULE\\-ID"
    echo "explains one."
    echo ".PP"
    echo ".nf"
    "$bin" rules | esc
    echo ".fi"
fi
echo ".SH SEE ALSO"
if [ "$name" = kube5xx ]; then
    echo ".BR kube5xx\\-webhook (8)"
else
    echo ".BR kube5xx (1)"
fi
