#!/usr/bin/env bash
# The tree stays formatted as .clang-format says (STYLE.md: "a check that the tree is
# formatted"): every tracked C file is formatted, except those listed in
# scripts/format-legacy.txt (written before .clang-format), and a listed file that is
# formatted now must leave the list, so it only shrinks. Skips (77) without clang-format 14,
# the version .clang-format is written for (another version formats some lines differently).
set -uo pipefail
: "${K5_SOURCE_DIR:?}"
cd "$K5_SOURCE_DIR" || exit 1
if ! command -v clang-format >/dev/null; then
    echo "SKIP: clang-format is not installed (scripts/install-test-tools.sh installs it)"
    exit 77
fi
version=$(clang-format --version | sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p')
if [ "$version" != 14 ]; then
    echo "SKIP: clang-format ${version:-of unknown version}; .clang-format is written for 14"
    exit 77
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files '*.c' '*.h')
else
    files=$(find . -path ./out -prune -o -name '*.[ch]' -print | sed 's|^\./||' | sort)
fi
declare -A listed_file=() in_tree=()
while read -r f; do
    case "$f" in '' | '#'*) ;; *) listed_file[$f]=1 ;; esac
done <scripts/format-legacy.txt
# One clang-format run over every file; the files it would change are those it warns about.
declare -A unformatted=()
report=$(clang-format --dry-run $files 2>&1)
while read -r f; do
    [ -n "$f" ] && unformatted[$f]=1
done < <(sed -n 's/^\([^: ]*\):[0-9]*:[0-9]*: \(warning\|error\): .*/\1/p' <<<"$report" | sort -u)
fail=0 formatted=0 listed=0
for f in $files; do
    in_tree[$f]=1
    if [ -n "${listed_file[$f]:-}" ]; then
        listed=$((listed + 1))
        if [ -z "${unformatted[$f]:-}" ]; then
            echo "FAIL: $f is formatted now: delete its line from scripts/format-legacy.txt"
            fail=1
        fi
    elif [ -z "${unformatted[$f]:-}" ]; then
        formatted=$((formatted + 1))
    else
        grep -F -- "$f:" <<<"$report" | head -5
        echo "FAIL: $f is not formatted (clang-format -i $f, or git clang-format for your lines)"
        fail=1
    fi
done
for f in "${!listed_file[@]}"; do
    if [ -z "${in_tree[$f]:-}" ]; then
        echo "FAIL: scripts/format-legacy.txt lists $f, which is not in the tree"
        fail=1
    fi
done
[ $fail = 0 ] && echo "ok: $formatted C files formatted; $listed listed in scripts/format-legacy.txt"
exit $fail
