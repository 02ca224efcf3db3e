#!/usr/bin/env bash
# Lints the third-party corpus (../shared/corpus): no crash, no sanitizer report, every load
# error is a real defect of the input (duplicate keys), and JSON output parses.
. "$(dirname "$0")/lib.sh"
C="${K5_SHARED_DIR:-}/corpus"
if [ ! -d "$C" ]; then
    echo "skipped: $C not present"
    exit 77
fi
run corpus-set 2 "$KUBE5XX" lint --no-config -q -f json "$C"
python3 - "$T/out" <<'PY' && ok || bad "corpus json"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
assert s["objects"] > 1500, s
assert all("duplicate" in e["message"] for e in d["errors"]), d["errors"]
assert len(d["errors"]) <= 8, d["errors"]
rules = {f["rule"] for f in d["findings"]}
print("corpus:", s, "rules fired:", len(rules))
PY
# Each source on its own, in every format, must not crash either.
for dir in "$C"/*/; do
    for fmt in text json sarif junit github; do
        timeout 60 "$KUBE5XX" lint --no-config -q -f "$fmt" "$dir" >/dev/null 2>"$T/err"
        rc=$?
        if [ "$rc" -gt 2 ]; then bad "$dir ($fmt): exit $rc"; else ok; fi
        if grep -qE 'Sanitizer|runtime error' "$T/err"; then bad "$dir ($fmt): sanitizer"; head "$T/err" >&2; fi
    done
done
finish
