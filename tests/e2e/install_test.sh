#!/usr/bin/env bash
# How users install: `cmake --install` into a scratch DESTDIR (both binaries, a man page for
# each, bash and zsh completions, where Debian looks for them), the man pages checked against
# the binaries' own --help and rule table, the bash completion run, the zsh completion used by
# an interactive zsh (compinit, TAB on a pseudo-terminal); then `cpack -G DEB`, the
# package's files and declared runtime dependencies, and (as root, with the debootstrap'ed
# Debian 12 root that scripts/install-test-tools.sh caches and a reachable Debian mirror)
# `apt-get install ./kube5xx_*.deb` in a scratch copy of that root, where both binaries run.
#
#   tests/e2e/install_test.sh BUILD_DIR
. "$(dirname "$0")/ship_lib.sh"
build=${1:?usage: install_test.sh BUILD_DIR}
need_command cmake
[ -f "$build/cmake_install.cmake" ] || skip "$build is not a configured build directory"

root="$ship_tmp/root"
DESTDIR="$root" timeout 120 cmake --install "$build" --prefix /usr > "$ship_tmp/install.out" 2>&1
check "cmake --install succeeds" test $? = 0 || sed 's/^/    /' "$ship_tmp/install.out" >&2
bins=(usr/bin/kube5xx:1)
[ -x "$build/webhook/kube5xx-webhook" ] && bins+=(usr/sbin/kube5xx-webhook:8)
for b in "${bins[@]}"; do
    path=${b%:*} section=${b#*:} name=$(basename "${b%:*}")
    check "$name installed in /${path%/*}" test -x "$root/$path"
    page="$root/usr/share/man/man$section/$name.$section"
    check "$name($section) installed" test -s "$page"
    check "bash completion for $name installed" test -s "$root/usr/share/bash-completion/completions/$name"
    check "zsh completion for $name installed" grep -q "^#compdef $name\$" "$root/usr/share/zsh/vendor-completions/_$name"
    # The page is the binary's own --help: every long option it lists is on the page.
    if command -v man >/dev/null; then
        MANWIDTH=200 man -l "$page" 2>/dev/null | sed 's/‐/-/g' > "$ship_tmp/page.txt"
        "$root/$path" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u > "$ship_tmp/opts.txt"
        missing=$(grep -vxFf <(grep -oE -- '--[a-z][a-z0-9-]*' "$ship_tmp/page.txt" | sort -u) "$ship_tmp/opts.txt" | tr '\n' ' ')
        check "$name($section) renders and lists every option of --help${missing:+ (missing: $missing)}" \
            test -s "$ship_tmp/opts.txt" -a -z "$missing"
    fi
done
# kube5xx(1) lists every rule; the bash completion completes them after `explain`.
"$root/usr/bin/kube5xx" rules | awk 'NR > 1 {print $1}' | sort > "$ship_tmp/rules.txt"
if command -v man >/dev/null; then
    MANWIDTH=200 man -l "$root/usr/share/man/man1/kube5xx.1" 2>/dev/null | sed 's/‐/-/g' |
        grep -oE '[a-z0-9-]+' | sort -u > "$ship_tmp/p1.txt"
    missing=$(grep -vxFf "$ship_tmp/p1.txt" "$ship_tmp/rules.txt" | tr '\n' ' ')
    check "kube5xx(1) names every rule id${missing:+ (missing: $missing)}" \
        test -s "$ship_tmp/rules.txt" -a -z "$missing"
fi
got=$(bash -c 'source "$1"; COMP_WORDS=(kube5xx explain ""); COMP_CWORD=2; _kube5xx; printf "%s\n" "${COMPREPLY[@]}"' _ \
      "$root/usr/share/bash-completion/completions/kube5xx" | sort)
check "bash: 'kube5xx explain <TAB>' offers every rule id" test "$got" = "$(cat "$ship_tmp/rules.txt")"
got=$(bash -c 'source "$1"; COMP_WORDS=(kube5xx lint --fail); COMP_CWORD=2; _kube5xx; echo "${COMPREPLY[*]}"' _ \
      "$root/usr/share/bash-completion/completions/kube5xx")
check "bash: 'kube5xx lint --fail<TAB>' completes --fail-on" test "$got" = --fail-on

# zsh: the installed completions, found on fpath by compinit through their #compdef line, in
# an interactive zsh on a pseudo-terminal, TAB pressed after each line (tests/e2e/zsh_complete.zsh).
if command -v zsh >/dev/null && zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
    lines=("kube5xx " "kube5xx explain " "kube5xx explain readi" "kube5xx lint --fail"
           "kube5xx lint --format " "kube5xx rules --format " "kube5xx lint --fail-on "
           "kube5xx lint --no-c")
    [ -x "$root/usr/sbin/kube5xx-webhook" ] && lines+=("kube5xx-webhook " "kube5xx-webhook certs --sa")
    timeout 120 zsh -f "$ship_root/tests/e2e/zsh_complete.zsh" "$root/usr/share/zsh/vendor-completions" \
        "$ship_tmp/zsh.out" "${lines[@]}"
    check "zsh: an interactive zsh completes each line (compinit, TAB)" test $? = 0
    # offered LINE: what zsh offered after LINE<TAB>, sorted, one a line.
    offered() { awk -F'@@' -v l="$1" '$1 == l { print $2 }' "$ship_tmp/zsh.out" | sort -u; }
    words() { tr ' ' '\n' <<<"$1" | grep . | sort -u; }
    got=$(offered "kube5xx ")
    check "zsh: 'kube5xx <TAB>' offers the subcommands, --help and --version" \
        test -z "$(comm -23 <(words "audit explain lint rules --help --version") <(printf '%s\n' "$got"))"
    check "zsh: 'kube5xx explain <TAB>' offers every rule id, nothing else" \
        test "$(offered "kube5xx explain ")" = "$(cat "$ship_tmp/rules.txt")"
    check "zsh: 'kube5xx explain readi<TAB>' completes readiness-probe-missing" \
        test "$(offered "kube5xx explain readi")" = readiness-probe-missing
    check "zsh: 'kube5xx lint --fail<TAB>' completes --fail-on" test "$(offered "kube5xx lint --fail")" = --fail-on
    check "zsh: 'kube5xx lint --no-c<TAB>' completes --no-config" test "$(offered "kube5xx lint --no-c")" = --no-config
    check "zsh: 'kube5xx lint --format <TAB>' offers lint's formats" \
        test "$(offered "kube5xx lint --format ")" = "$(words "github json junit sarif text")"
    check "zsh: 'kube5xx rules --format <TAB>' offers text and markdown" \
        test "$(offered "kube5xx rules --format ")" = "$(words "markdown text")"
    check "zsh: 'kube5xx lint --fail-on <TAB>' offers the levels" \
        test "$(offered "kube5xx lint --fail-on ")" = "$(words "error info never warning")"
    if [ -x "$root/usr/sbin/kube5xx-webhook" ]; then
        got=$(offered "kube5xx-webhook ")
        check "zsh: 'kube5xx-webhook <TAB>' offers serve and certs" \
            bash -c 'grep -qx serve <<<"$1" && grep -qx certs <<<"$1"' _ "$got"
        check "zsh: 'kube5xx-webhook certs --sa<TAB>' completes --san" \
            test "$(offered "kube5xx-webhook certs --sa")" = --san
    fi
else
    say "no zsh with zsh/zpty (Debian zsh; scripts/install-test-tools.sh installs it): zsh completion not exercised"
fi

# --- cpack -G DEB ------------------------------------------------------------------------
command -v dpkg-deb >/dev/null || { say "no dpkg-deb: the package is not built"; finish; }
(cd "$ship_tmp" && timeout 300 cpack -G DEB --config "$build/CPackConfig.cmake" -B "$ship_tmp/pkg") \
    > "$ship_tmp/cpack.out" 2>&1
deb=$(ls "$ship_tmp"/pkg/kube5xx_*.deb 2>/dev/null | head -n 1)
check "cpack -G DEB builds kube5xx_<version>_<arch>.deb" test -n "$deb" || sed 's/^/    /' "$ship_tmp/cpack.out" >&2
[ -n "$deb" ] || finish
depends=$(dpkg-deb -f "$deb" Depends)
say "Depends: $depends"
for lib in libyaml-0-2 libcjson1 libcurl4 libc6; do
    check "the package declares its runtime dependency $lib" grep -q "\\b$lib\\b" <<<"$depends"
done
dpkg-deb -c "$deb" | awk '{print $6}' > "$ship_tmp/files.txt"
for f in ./usr/bin/kube5xx ./usr/share/man/man1/kube5xx.1 ./usr/share/bash-completion/completions/kube5xx; do
    check "the package holds $f" grep -qx "$f" "$ship_tmp/files.txt"
done

# --- apt-get install ./kube5xx_*.deb on a clean Debian 12 --------------------------------
base=${KUBE5XX_TOOLS:-/opt/kube5xx-tools}/image-cache/kube5xx-base-bookworm.tar
if [ "$(id -u)" != 0 ] || [ ! -s "$base" ] || ! command -v unshare >/dev/null; then
    say "not root, or no cached Debian 12 root ($base): apt-get install ./deb not tried"
    finish
fi
chroot="$ship_tmp/debian"
mkdir -p "$chroot" && tar -C "$chroot" -xf "$base" 2>/dev/null
cp "$deb" "$chroot/tmp/"
cp /etc/resolv.conf "$chroot/etc/resolv.conf" 2>/dev/null
# in_root CMD...: runs CMD in the scratch root, in a private mount namespace.
cat > "$ship_tmp/in_root" <<SH
#!/bin/sh
exec unshare -m -- sh -c 'mount -t proc proc "\$0/proc" && mount --rbind /dev "\$0/dev" &&
    exec chroot "\$0" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "\$@"' \
    "$chroot" "\$@"
SH
chmod +x "$ship_tmp/in_root"
in_root() { "$ship_tmp/in_root" "$@"; }
if ! timeout 300 "$ship_tmp/in_root" apt-get update -q > "$ship_tmp/apt.out" 2>&1; then
    say "no Debian mirror reachable from the scratch root: apt-get install ./deb not tried"
    sed 's/^/    /' "$ship_tmp/apt.out" | tail -3 >&2
    finish
fi
timeout 600 "$ship_tmp/in_root" apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" \
    > "$ship_tmp/apt.out" 2>&1
check "apt-get install ./$(basename "$deb") succeeds on a clean Debian 12" test $? = 0 ||
    tail -15 "$ship_tmp/apt.out" | sed 's/^/    /' >&2
check "the installed kube5xx runs there" in_root /usr/bin/kube5xx --version
[ -x "$build/webhook/kube5xx-webhook" ] &&
    check "the installed kube5xx-webhook runs there" in_root /usr/sbin/kube5xx-webhook --version
finish
