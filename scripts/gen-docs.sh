#!/usr/bin/env bash
# Regenerates docs/rules.md and the rule table in README.md from the registry.
# usage: scripts/gen-docs.sh [path/to/kube5xx]
set -euo pipefail
cd "$(dirname "$0")/.."
k=${1:-out/release/lint/kube5xx}
"$k" rules --format markdown >docs/rules.md
table=$(grep '^|' docs/rules.md | sed 's/](#/](docs\/rules.md#/')
python3 - "$table" <<'PY'
import re, sys
readme = open("README.md").read()
new = "<!-- rules:begin -->\n" + sys.argv[1] + "\n<!-- rules:end -->"
readme = re.sub(r"<!-- rules:begin -->.*?<!-- rules:end -->", lambda m: new, readme, flags=re.S)
open("README.md", "w").write(readme)
PY
