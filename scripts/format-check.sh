#!/usr/bin/env bash
# Checks that the C lines changed since BASE (default: main) are formatted as .clang-format
# says, the way a gradually formatted tree is kept: code nobody touches is not reformatted
# (STYLE.md; .clang-format explains why the tree as a whole is not run through it).
# Prints what clang-format would change and exits 1; exits 0 when the changed lines are
# formatted. `git clang-format BASE` applies the same changes.
# usage: scripts/format-check.sh [BASE]
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-main}
command -v git-clang-format >/dev/null || { echo "format-check: git-clang-format is not installed (Debian clang-format)" >&2; exit 2; }
out=$(git clang-format --diff "$base" -- '*.c' '*.h' 2>&1) || true
case "$out" in
"" | "no modified files to format" | *"did not modify any files"*) exit 0 ;;
esac
printf '%s\n' "$out"
echo "format-check: the lines above, changed since $base, are not formatted (git clang-format $base)" >&2
exit 1
