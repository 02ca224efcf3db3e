#!/usr/bin/env bash
# The README's two commands in the order a newcomer runs them: ./scripts/demo.sh, then
# ./scripts/test.sh. demo.sh configures out/release without tests (BUILD_TESTING=OFF);
# test.sh must still build and run the tests there, and a ctest run that finds no test must
# fail rather than say "all tests passed". Runs both scripts for real in a copy of the source
# tree (test.sh's release stage, limited to one unit test so the run stays short).
# Also: install-deps.sh installs for the demo only what the demo needs (no hey), and keeps
# apt's chatter (the debconf notice) off stderr unless apt fails.
#
#   tests/e2e/demo_then_test_test.sh
# Exits 77 when the packages the scripts need are not all installed (they would install
# them: not from inside a test).
. "$(dirname "$0")/ship_lib.sh"
need_command dpkg-query
"$ship_root/scripts/install-deps.sh" --list --with-tests | while read -r p; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || exit 1
done || skip "some build or test packages are missing (scripts/install-deps.sh --with-tests)"

# --- install-deps.sh: what the demo installs, and a quiet apt ------------------------------
deps="$ship_root/scripts/install-deps.sh"
check "the demo's packages do not include hey" bash -c "! '$deps' --list | grep -qx hey"
check "the tests' packages include hey (the webhook's load tests)" \
    bash -c "'$deps' --list --with-tests | grep -qx hey"
fake="$ship_tmp/fake"
mkdir -p "$fake"
cat > "$fake/dpkg-query" <<'SH'
#!/bin/sh
exit 1
SH
cat > "$fake/apt-get" <<'SH'
#!/bin/sh
echo "Reading package lists..."
echo "debconf: delaying package configuration, since apt-utils is not installed" >&2
[ -n "${FAKE_APT_FAIL:-}" ] && [ "$1" = install ] && { echo "E: Unable to locate package x" >&2; exit 100; }
exit 0
SH
printf '#!/bin/sh\nexec "$@"\n' > "$fake/sudo"
chmod +x "$fake"/*
PATH="$fake:$PATH" "$deps" > "$ship_tmp/deps.out" 2> "$ship_tmp/deps.err"
check "install-deps succeeds when apt does" test $? = 0
check "apt's debconf notice does not leak to stderr" \
    bash -c "! grep -q debconf '$ship_tmp/deps.err' && ! grep -q debconf '$ship_tmp/deps.out'"
check "install-deps says what it installs" grep -q "install-deps: installing gcc" "$ship_tmp/deps.err"
FAKE_APT_FAIL=1 PATH="$fake:$PATH" "$deps" > "$ship_tmp/deps.out" 2> "$ship_tmp/deps.err"
check "install-deps fails when apt does" test $? != 0
check "and then shows apt's own error" grep -q "Unable to locate package" "$ship_tmp/deps.err"

# --- demo.sh, then test.sh, in a copy of the tree -----------------------------------------
src="$ship_tmp/src"
mkdir -p "$src"
tar -C "$ship_root" --exclude=./out --exclude='./build*' --exclude=./.git -cf - . | tar -C "$src" -xf - ||
    die "cannot copy the source tree"
cache="$src/out/release/CMakeCache.txt"
(cd "$src" && timeout 900 scripts/demo.sh) > "$ship_tmp/demo.out" 2> "$ship_tmp/demo.err"
check "demo.sh succeeds" test $? = 0 || sed 's/^/    /' "$ship_tmp/demo.err" | tail -20 >&2
check "demo.sh prints nothing on stderr" test ! -s "$ship_tmp/demo.err" ||
    sed 's/^/    /' "$ship_tmp/demo.err" | head >&2
check "demo.sh left out/release without tests (the case under test)" \
    grep -q '^BUILD_TESTING:BOOL=OFF' "$cache"

(cd "$src" && KUBE5XX_CTEST_ARGS='-R ^test_registry$' timeout 900 scripts/test.sh release) \
    > "$ship_tmp/test.out" 2>&1
check "test.sh release then succeeds" test $? = 0 || tail -20 "$ship_tmp/test.out" >&2
check "test.sh turned the tests on in the reused cache" grep -q '^BUILD_TESTING:BOOL=ON' "$cache"
check "test.sh ran the test (not 'No tests were found')" \
    grep -q '100% tests passed, 0 tests failed out of 1$' "$ship_tmp/test.out"

(cd "$src" && KUBE5XX_CTEST_ARGS='-R ^no-such-test$' timeout 900 scripts/test.sh release) \
    > "$ship_tmp/none.out" 2>&1
check "a test.sh run that finds no test fails" test $? != 0
check "and says so" grep -q "No tests were found" "$ship_tmp/none.out"

finish
