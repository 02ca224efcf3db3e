#!/usr/bin/env bash
# scripts/new-rule.sh, end to end, in a copy of the source tree: scaffold a rule, write its
# check and adjust its quiet fixture as a rule author would, build, and then its fixtures
# pass, the registry's and the descriptor's self-checks pass (its documented broken example
# fires, its fixed example is clean), scripts/gen-docs.sh brings the
# docs in sync, and nothing outside the rule's file, its rules.def line, its fixtures and the
# generated docs changed (docs/extending.md's promise: adding a rule touches three places).
# Also: the script refuses a bad id, a bad severity, an existing id and a retired id.
#
#   tests/e2e/new_rule_test.sh
# Builds kube5xx_rules, kube5xx and three unit tests in the copy (about a minute on 2 cores).
. "$(dirname "$0")/ship_lib.sh"
need_command cmake
need_command python3

src="$ship_tmp/src"
mkdir -p "$src"
tar -C "$ship_root" --exclude=./out --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf - ||
    die "cannot copy the source tree"
# The copy has no ../shared beside it: nothing here needs the corpus.
snapshot() { (cd "$src" && find . -path ./build -prune -o -type f -print0 | sort -z | xargs -0 sha1sum); }
snapshot > "$ship_tmp/before"

id=widget-port-forgotten
ident=${id//-/_}
nr() { (cd "$src" && scripts/new-rule.sh "$@"); }
# run_shown OUT COMMAND...: runs it with output to OUT; on failure shows OUT's problem lines.
run_shown() {
    local out=$1; shift
    "$@" > "$out" 2>&1 && return 0
    grep -vE "^\[ *(RUN|OK|PASSED|=+) " "$out" | head -20 | sed 's/^/    /' >&2
    return 1
}

# --- refusals ------------------------------------------------------------------------------
check "a non-kebab-case id is refused" bash -c "! (cd '$src' && scripts/new-rule.sh Widget_Port warning) 2>/dev/null"
check "a bad severity is refused" bash -c "! (cd '$src' && scripts/new-rule.sh widget-port fatal) 2>/dev/null"
check "an existing id is refused" bash -c "! (cd '$src' && scripts/new-rule.sh single-replica warning) 2>/dev/null"
check "the refusals changed nothing" bash -c "diff -q <(cd '$src' && find . -path ./build -prune -o -type f -print0 | sort -z | xargs -0 sha1sum) '$ship_tmp/before' >/dev/null"

# --- scaffold -------------------------------------------------------------------------------
check "new-rule.sh $id warning succeeds" run_shown "$ship_tmp/nr.out" nr "$id" warning
snapshot > "$ship_tmp/scaffolded"
changed() { # the paths that differ between two snapshots, sorted
    diff <(sed 's/^[0-9a-f]*  //' "$1") <(sed 's/^[0-9a-f]*  //' "$2") | sed -n 's/^[<>] //p' | sort -u
    join -j 2 <(sort -k2 "$1") <(sort -k2 "$2") | awk '$2 != $3 {print $1}'
}
want=$(printf '%s\n' ./rules/checks/$id.c ./rules/rules.def ./tests/fixtures/$id/fire-basic.yaml \
    ./tests/fixtures/$id/quiet-basic.yaml | sort)
got=$(changed "$ship_tmp/before" "$ship_tmp/scaffolded" | sort -u)
check "the scaffold wrote exactly the check, the rules.def line and two fixtures" test "$want" = "$got" ||
    { echo "    want: $want"; echo "    got:  $got"; } >&2
check "rules.def keeps its K5_RULE lines sorted, the new one among them" \
    bash -c "grep '^K5_RULE(' '$src/rules/rules.def' | sort -c && grep -qx 'K5_RULE($ident)' '$src/rules/rules.def'"
check "a second run for the same id is refused" bash -c "! (cd '$src' && scripts/new-rule.sh $id warning) 2>/dev/null"
cp "$src/rules/rules.def" "$ship_tmp/rules.def"
sed -i "s/^K5_RULE($ident)\$/\/\/ K5_RULE($ident) retired/" "$src/rules/rules.def"
check "a retired id is refused" bash -c "! (cd '$src' && scripts/new-rule.sh $id error) 2>/dev/null"
cp "$ship_tmp/rules.def" "$src/rules/rules.def"

# --- the author's part: the check and a quiet fixture that differs --------------------------
python3 - "$src/rules/checks/$id.c" "$src/tests/fixtures/$id/quiet-basic.yaml" <<'PY' ||
import re, sys
c, q = sys.argv[1], sys.argv[2]
s = open(c).read()
body = re.search(r"    /\* TODO: judge obj.*?return K5_OK;\n", s, re.S)
assert body, "the scaffolded check body was not found"
s = s[:body.start()] + (
    "    if (k5_node_at(obj->root, \"spec.replicas\"))\n"
    "        return K5_OK;\n"
    "    return k5__report_at_path(c, obj->root, \"metadata.name\",\n"
    "                              \"Deployment \\\"%.*s\\\" sets no replicas\", (int)obj->name.n,\n"
    "                              obj->name.p);\n") + s[body.end():]
s = s.replace("(void)c;\n    (void)obj;\n", "")
open(c, "w").write(s)
s = s.replace('"TODO one line"', '"A Deployment sets no replica count"')
s = s.replace('"TODO: which 5xx (502, 503 or 504), how it happens, in two or three sentences."',
              '"Without spec.replicas a Deployment runs one pod, and every restart of that pod '
              'is an outage: clients get 503 until the replacement is ready. Reference: '
              'https://kubernetes.io/docs/concepts/workloads/controllers/deployment/"')
s = s.replace('"TODO: what to change."', '"Set spec.replicas to 2 or more, or let an HPA own it."')
open(c, "w").write(s)
y = open(q).read().replace("spec:\n", "spec:\n  replicas: 2\n", 1)
open(q, "w").write(y)
f = q.replace("quiet-basic", "fire-basic")
t = open(f).read().replace("TODO part of the message", "sets no replicas")
open(f, "w").write(t)
PY
    die "could not write the check"

# --- build and test in the copy -------------------------------------------------------------
b="$src/build"
if cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=Release -DBUILD_WEBHOOK=OFF > "$ship_tmp/cmake.out" 2>&1 &&
   nice cmake --build "$b" -j2 --target kube5xx test_rule_fixtures test_registry test_rule_examples \
       > "$ship_tmp/build.out" 2>&1; then
    check "the copy with the new rule builds (-Werror)" true
else
    tail -30 "$ship_tmp/cmake.out" "$ship_tmp/build.out" | sed 's/^/    /' >&2
    check "the copy with the new rule builds (-Werror)" false
    finish
fi
k="$b/lint/kube5xx"
check "kube5xx rules lists $id" bash -c "'$k' rules | grep -q '^$id '"
check "kube5xx explain $id works" bash -c "'$k' explain $id >/dev/null"
check "its fixtures pass (test_rule_fixtures, every rule)" \
    run_shown "$ship_tmp/fx.out" bash -c "cd '$b' && ./tests/test_rule_fixtures"
check "test_rule_fixtures ran its fixtures" grep -q "$id/fire-basic.yaml" "$ship_tmp/fx.out"
check "the registry's self-checks pass (test_registry)" \
    run_shown "$ship_tmp/reg.out" bash -c "cd '$b' && ./tests/test_registry"
check "its documented examples fire and stay clean (test_rule_examples)" \
    run_shown "$ship_tmp/ex.out" bash -c "cd '$b' && ./tests/test_rule_examples"
check "before gen-docs.sh the docs are stale (e2e_docs_sync fails)" \
    bash -c "! KUBE5XX='$k' K5_SOURCE_DIR='$src' bash '$src/tests/e2e/docs_sync_test.sh' >/dev/null 2>&1"
check "scripts/gen-docs.sh runs" bash -c "cd '$src' && scripts/gen-docs.sh '$k'"
check "after it, the docs match (e2e_docs_sync)" \
    bash -c "KUBE5XX='$k' K5_SOURCE_DIR='$src' bash '$src/tests/e2e/docs_sync_test.sh' >/dev/null"
snapshot > "$ship_tmp/after"
want=$(printf '%s\n' ./README.md ./docs/rules.md ./rules/checks/$id.c ./rules/rules.def \
    ./tests/fixtures/$id/fire-basic.yaml ./tests/fixtures/$id/quiet-basic.yaml | sort)
got=$(changed "$ship_tmp/before" "$ship_tmp/after" | sort -u)
check "nothing else changed: the rule, rules.def, its fixtures and the generated docs" \
    test "$want" = "$got" || { echo "    want: $want"; echo "    got:  $got"; } >&2
finish
