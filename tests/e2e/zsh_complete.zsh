# Completes command lines in a real interactive zsh, as a user pressing TAB would, and records
# what the completion offered. Used by tests/e2e/install_test.sh.
#
#   zsh -f tests/e2e/zsh_complete.zsh FPATH_DIR OUT LINE...
#
# An interactive `zsh -f -i` runs on a pseudo-terminal (zsh/zpty) with FPATH_DIR first on
# fpath and compinit loaded, so a completion file is found and bound by its #compdef line, as
# on a user's machine. For each LINE it types LINE and TAB, then clears the line. compadd is
# wrapped to append every candidate it is given that matches what was typed (compadd -O) to
# OUT as "LINE@@candidate", before adding it as usual. Exits 3 without zsh/zpty, 4 when the
# shell stops answering.
zmodload zsh/zpty || exit 3
dir=$1 out=$2
shift 2
: >$out
buf=
# wait_prompt: reads the terminal until the next prompt (10 s at most).
wait_prompt() {
    local chunk i
    for i in {1..200}; do
        while zpty -r -t k5 chunk; do buf+=$chunk; done
        if [[ $buf == *K5READY\>\ * ]]; then
            buf=${buf#*K5READY> }
            return 0
        fi
        sleep 0.05
    done
    print -ru2 -- "zsh_complete: no prompt; the terminal showed: ${(V)buf[-400,-1]}"
    return 1
}
zpty k5 "zsh -f -i"
# The prompt is spelled in two parts so the echoed command line never looks like a prompt.
# No listing and no menu: TAB only completes, so the terminal stays simple.
zpty -w k5 "PS1='K5''READY> '; unset zle_bracketed_paste; unsetopt auto_list list_ambiguous auto_menu; setopt no_beep; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -d ${(q)out}.zcompdump"
wait_prompt || exit 4
zpty -w k5 "compadd() { local -a _k5m; builtin compadd -O _k5m \"\$@\"; print -rl -- \"\${(@)_k5m/#/\$_k5line@@}\" >> ${(q)out}; builtin compadd \"\$@\"; }"
wait_prompt || exit 4
for line in "$@"; do
    zpty -w k5 "_k5line=${(q)line}"
    wait_prompt || exit 4
    zpty -w -n k5 "$line"$'\t'
    sleep 0.3
    zpty -w -n k5 $'\C-u'
    sleep 0.1
    zpty -w -n k5 $'\r'
    wait_prompt || exit 4
done
zpty -d k5
exit 0
