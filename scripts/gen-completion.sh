#!/usr/bin/env bash
# Writes a bash or zsh completion for one of the two binaries from the binary itself: the
# long options are those its --help lists, the rule ids those `kube5xx rules` lists. The
# build runs this (CMake), so completions follow the binaries.
#
#   scripts/gen-completion.sh bash|zsh BINARY [FILE]      (stdout without FILE)
set -euo pipefail
shell=$1 bin=$2
[ -n "${3:-}" ] && exec > "$3"
name=$(basename "$bin")
fn=_$(echo "$name" | tr - _)
opts=$("$bin" --help | grep -oE '(^|[[:space:][])--[a-z][a-z0-9-]*' | tr -d ' [' | sort -u | tr '\n' ' ')
if [ "$name" = kube5xx ]; then
    cmds="lint audit rules explain"
    rules=$("$bin" rules | awk 'NR > 1 {print $1}' | tr '\n' ' ')
    # The report formats of lint and audit, and those of `rules`, as --help lists them.
    fmts=$("$bin" --help | sed -n 's/.*--format FORMAT *//p' | grep -oE '[a-z]+' | grep -vx default | tr '\n' ' ')
    rule_fmts=$("$bin" --help | sed -n 's/.*rules \[--format \([a-z|]*\)\].*/\1/p' | tr '|' ' ')
else
    cmds="serve certs"
    rules= fmts= rule_fmts=
fi
case $shell in
bash)
    cat <<SH
# bash completion for $name (generated from its --help by scripts/gen-completion.sh)
$fn() {
    local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
    if [ "\$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=(\$(compgen -W "$cmds $opts" -- "\$cur"))
        return
    fi
    case \${COMP_WORDS[1]} in
    explain) COMPREPLY=(\$(compgen -W "$rules" -- "\$cur")); return ;;
    esac
    case \$prev in
    -f | --format)
        if [ "\${COMP_WORDS[1]}" = rules ]; then
            COMPREPLY=(\$(compgen -W "$rule_fmts" -- "\$cur"))
        else
            COMPREPLY=(\$(compgen -W "$fmts" -- "\$cur"))
        fi
        return ;;
    --fail-on) COMPREPLY=(\$(compgen -W "error warning info never" -- "\$cur")); return ;;
    esac
    if [[ \$cur == -* ]]; then
        COMPREPLY=(\$(compgen -W "$opts" -- "\$cur"))
    else
        COMPREPLY=(\$(compgen -f -- "\$cur"))
    fi
}
complete -o filenames -F $fn $name
SH
    ;;
zsh)
    cat <<SH
#compdef $name
# zsh completion for $name (generated from its --help by scripts/gen-completion.sh)
$fn() {
    if (( CURRENT == 2 )); then
        compadd -- $cmds $opts
        return
    fi
    case \$words[2] in
    explain) compadd -- $rules; return ;;
    esac
    case \$words[CURRENT-1] in
    -f|--format)
        if [[ \$words[2] == rules ]]; then compadd -- $rule_fmts; else compadd -- $fmts; fi
        return ;;
    --fail-on) compadd -- error warning info never; return ;;
    esac
    if [[ \$PREFIX == -* ]]; then
        compadd -- $opts
    else
        _files
    fi
}
$fn "\$@"
SH
    ;;
*) echo "usage: $0 bash|zsh BINARY" >&2; exit 2 ;;
esac
