#!/usr/bin/env bash
# Bad input never crashes, hangs or grows without bound: each case gets a clear error naming
# the file (and line), exit status 2, within a time bound, with no sanitizer report.
. "$(dirname "$0")/lib.sh"

expect_error() { # NAME FILE REGEX
    run "$1" 2 "$KUBE5XX" lint --no-config "$2"
    has "$1" "$T/out" "$3"
}

head -c 4096 "$KUBE5XX" >"$T/junk.yaml"
expect_error binary-junk "$T/junk.yaml" "^$T/junk.yaml(:[0-9]+:[0-9]+)?: error: "

printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: \xc3\x28\xff\n' >"$T/utf8.yaml"
expect_error invalid-utf8 "$T/utf8.yaml" "^$T/utf8.yaml:4:[0-9]+: error: .*UTF-8"

printf 'apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n' >"$T/tabs.yaml"
expect_error tabs "$T/tabs.yaml" "^$T/tabs.yaml:4:1: error: "

printf 'apiVersion: v1\nkind: Pod\nkind: Service\n' >"$T/dup.yaml"
expect_error duplicate-keys "$T/dup.yaml" "^$T/dup.yaml:3:1: error: duplicate mapping key \"kind\""

python3 -c 'print("[" * 10000)' >"$T/deep.yaml"
expect_error deep-flow "$T/deep.yaml" "K5_MAX_DEPTH"
python3 -c 'print("{\"a\":" * 10000 + "1" + "}" * 10000)' >"$T/deep.json"
expect_error deep-json "$T/deep.json" "K5_MAX_DEPTH"

{
    echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
    prev=a
    for n in b c d e f g h i; do
        echo "$n: &$n [*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev,*$prev]"
        prev=$n
    done
} >"$T/bomb.yaml"
expect_error alias-bomb "$T/bomb.yaml" "K5_MAX_ALIAS_NODES"
printf 'a: &a [1, *a]\n' >"$T/cycle.yaml"
expect_error alias-cycle "$T/cycle.yaml" "recursive alias"

truncate -s 100M "$T/huge.yaml"
expect_error huge-file "$T/huge.yaml" "K5_MAX_FILE_BYTES"
run huge-stdin 2 sh -c "head -c 100000000 /dev/zero | tr '\\0' ' ' | \"$KUBE5XX\" lint --no-config -"
has huge-stdin "$T/out" "K5_MAX_FILE_BYTES"

python3 -c 'import sys; sys.stdout.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  k: " + "x" * (1 << 20) + "\n")' >"$T/scalar.yaml"
run megabyte-scalar 0 "$KUBE5XX" lint --no-config "$T/scalar.yaml"

mkdir -p "$T/loop/sub"
ln -s .. "$T/loop/sub/up"
cp "$T/scalar.yaml" "$T/loop/sub/cm.yaml"
run symlink-loop 0 "$KUBE5XX" lint --no-config "$T/loop"
has symlink-loop-once "$T/out" '^1 file, 1 object'

printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n' >"$T/secret.yaml"
chmod 000 "$T/secret.yaml"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    chmod 755 "$T"
    run unreadable 2 setpriv --reuid=65534 --regid=65534 --clear-groups "$KUBE5XX" lint --no-config "$T/secret.yaml"
else
    run unreadable 2 "$KUBE5XX" lint --no-config "$T/secret.yaml"
fi
has unreadable "$T/out" "^$T/secret.yaml: error: cannot open: Permission denied"
run missing 2 "$KUBE5XX" lint --no-config "$T/nope.yaml"
has missing "$T/out" "^$T/nope.yaml: error: cannot open: No such file"

# Many documents: the count limit speaks before memory does.
python3 -c 'import sys; sys.stdout.write("---\na: 1\n" * 100001)' >"$T/many.yaml"
expect_error many-documents "$T/many.yaml" "K5_MAX_DOCUMENTS"

# A good file next to all of this is still linted.
run mixed 2 "$KUBE5XX" lint --no-config -f json "$T/junk.yaml" "$T/scalar.yaml"
has mixed "$T/out" '"objects":1'

finish
