#!/usr/bin/env bash
# Scaffolds a new rule: rules/checks/ID.c (descriptor with broken and fixed examples, and
# check), its line in rules/rules.def (sorted), and two fixtures,
# tests/fixtures/ID/fire-basic.yaml and quiet-basic.yaml.
#
#   scripts/new-rule.sh ID SEVERITY        e.g. scripts/new-rule.sh route-parent-missing warning
#
# The fire fixture fails until the check reports at its marker: write the check, adjust the
# fixtures to the case the rule is about, then run scripts/gen-docs.sh. See docs/extending.md.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "new-rule.sh: $*" >&2; exit 2; }
[ $# = 2 ] || die "usage: scripts/new-rule.sh ID SEVERITY (error, warning or info)"
id=$1 sev=$2
[[ $id =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)+$ ]] || die "'$id' is not a kebab-case <subject>-<problem> id"
case $sev in error) SEV=ERROR ;; warning) SEV=WARNING ;; info) SEV=INFO ;;
    *) die "severity '$sev' is not error, warning or info" ;; esac
ident=${id//-/_}
[ ! -e "rules/checks/$id.c" ] || die "rules/checks/$id.c exists"
grep -q "^K5_RULE($ident)\$" rules/rules.def && die "$id is already in rules/rules.def"
grep -q "^// *K5_RULE($ident)" rules/rules.def && die "$id is a retired id: ids are never reused"
[ ! -e "tests/fixtures/$id" ] || die "tests/fixtures/$id exists"

cat > "rules/checks/$id.c" <<C
/*
 * $id: TODO one line on what the rule catches.
 */
#include "k5_check.h"

static k5_status check(k5_check *c, const k5_object *obj)
{
    /* TODO: judge obj; report on its offending node (k5__report_at_path names a missing field)
     * with a message naming the concrete values. Return non-OK only when the engine failed. */
    (void)c;
    (void)obj;
    return K5_OK;
}

const k5_rule k5__rule_$ident = {
    .id = "$id",
    .severity = K5_SEV_$SEV,
    .kinds = K5_KIND_DEPLOYMENT, /* TODO: the kinds it applies to (k5_kinds.def) */
    .scope = K5_SCOPE_SINGLE,    /* K5_SCOPE_CROSS when it reads other objects of the input */
    .scope_note = NULL,
    .summary = "TODO one line",
    .explanation = "TODO: which 5xx (502, 503 or 504), how it happens, in two or three sentences.",
    .remediation = "TODO: what to change.",
    /* TODO: whole objects (apiVersion, kind, metadata) on which the rule fires, and the same
     * objects fixed; explain and docs/rules.md show both, test_rule_examples lints both. */
    .example_broken = "apiVersion: apps/v1\\n"
                      "kind: Deployment\\n"
                      "metadata: {name: web}\\n"
                      "spec:\\n"
                      "  template:\\n"
                      "    spec:\\n"
                      "      containers: [{name: web, image: nginx}]\\n",
    .example = "apiVersion: apps/v1\\n"
               "kind: Deployment\\n"
               "metadata: {name: web}\\n"
               "spec:\\n"
               "  replicas: 2  # TODO: the fix\\n"
               "  template:\\n"
               "    spec:\\n"
               "      containers: [{name: web, image: nginx}]\\n",
    /* Settings, if any: .params = {{"min", K5_PARAM_INT, "2", "help"}} (a rule without
     * settings leaves .params out: clang's -Wmissing-field-initializers refuses {{NULL}}). */
    .check = check,
};
C

# The K5_RULE lines stay sorted; comments and retired ids keep their place.
python3 - "$ident" <<'PY'
import sys
ident = sys.argv[1]
lines = open("rules/rules.def").read().split("\n")
new = "K5_RULE(%s)" % ident
idx = [i for i, l in enumerate(lines) if l.startswith("K5_RULE(")]
at = next((i for i in idx if lines[i] > new), idx[-1] + 1 if idx else len(lines))
lines.insert(at, new)
open("rules/rules.def", "w").write("\n".join(lines))
PY

mkdir -p "tests/fixtures/$id"
cat > "tests/fixtures/$id/fire-basic.yaml" <<Y
# TODO: the smallest manifest the rule must fire on. Each finding is marked on or under its
# line by an expect marker, [[@LINE-1]]:COLUMN under it or [[@LINE]]:COLUMN at its end.
# message: TODO part of the message
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  # expect: [[@LINE-1]]:9
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
Y
cat > "tests/fixtures/$id/quiet-basic.yaml" <<Y
# TODO: the same manifest, fixed: the rule stays silent.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
Y
echo "created rules/checks/$id.c, tests/fixtures/$id/{fire,quiet}-basic.yaml; added K5_RULE($ident) to rules/rules.def"
echo "next: write the check, the fixtures and the examples, build, run test_rule_fixtures,"
echo "      test_rule_examples and test_registry, then scripts/gen-docs.sh"
