#!/usr/bin/env bash
# Benchmark: issue #10's headline figure. OBJECTS generated objects (default 100,000) in 4
# files, linted with --format json and --format sarif (every finding written), at --jobs 1
# and at --jobs N (default: the CPUs online), against a parse-only pass (libyaml's event loop
# and nothing else, one thread) over the same files.
# Targets: lint time <= 1.5x parse-only; goal: --jobs 2 wall < 1.0x the one-thread parse-only;
# lint peak RSS <= 4x the input bytes.
#
# The commands run in turn, ROUNDS times (default 5): parse-only, then each lint; each ratio
# is taken against the parse-only run of the same round, and the median of the rounds is
# printed, so a machine whose load drifts moves both sides of a ratio alike. Wall and CPU
# (user + system) are both printed: on a busy machine the wall clock of a two-thread run
# measures the neighbours as much as the linter.
#
# usage: bench/lint_bench.sh [path/to/kube5xx] [objects]
# Needs python3, a C compiler and libyaml's headers (scripts/install-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kube5xx=$(realpath "${1:-$here/../out/release/lint/kube5xx}")
objects=${2:-${OBJECTS:-100000}}
rounds=${ROUNDS:-5}
jobs=${JOBS:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/parse_only" "$here/parse_only.c" $(pkg-config --cflags --libs yaml-0.1)
per=$((objects / 4))
# One document per object: a file over the linter's per-file limit would be refused (exit 2).
max_docs=$(sed -n 's/^#define K5_MAX_DOCUMENTS \([0-9]*\)u.*/\1/p' "$here/../rules/include/kube5xx/k5_status.h")
if [ -n "$max_docs" ] && [ "$per" -gt "$max_docs" ]; then
    echo "lint_bench.sh: $per objects per file is over K5_MAX_DOCUMENTS ($max_docs): use at most $((max_docs * 4)) objects (bench/scale_bench.sh splits larger shapes)" >&2
    exit 2
fi
for i in 1 2 3 4; do python3 "$here/gen_stream.py" "$per" "$(((i - 1) * per))" >"$work/part$i.yaml"; done
files=("$work"/part{1,2,3,4}.yaml)
bytes=$(cat "${files[@]}" | wc -c)
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); kube5xx: $kube5xx"
echo "input: $((per * 4)) objects in 4 files, $bytes bytes; $rounds rounds"
"$kube5xx" lint --no-config -q --fail-on never -f json "${files[@]}" |
    python3 -c 'import json, sys; s = json.load(sys.stdin)["summary"]; print("findings:", s["errors"] + s["warnings"] + s["infos"])'

python3 - "$rounds" "$bytes" "$jobs" "$work/parse_only" "$kube5xx" "${files[@]}" <<'PY'
import os, statistics, subprocess, sys, tempfile, time
rounds, nbytes, jobs, parse_only, kube5xx, files = (int(sys.argv[1]), int(sys.argv[2]),
                                                   int(sys.argv[3]), sys.argv[4], sys.argv[5],
                                                   sys.argv[6:])
def lint(j, fmt):
    return [kube5xx, "lint", "--no-config", "-q", "--fail-on", "never", "-j", str(j), "-f", fmt,
            "-o", "/dev/null"] + files
cmds = [("parse-only (1 thread)", [parse_only] + files)]
for j in sorted({1, jobs}):
    for fmt in ("json", "sarif"):
        cmds.append((f"lint -j{j} {fmt}", lint(j, fmt)))

def run(cmd):
    t = time.monotonic()
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").splitlines()[-3:]
            sys.exit(f"lint_bench.sh: {' '.join(cmd)}\n  exited {code}" + "".join(f"\n  {l}" for l in tail))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024

res = {name: [] for name, _ in cmds}
for _ in range(rounds):
    for name, cmd in cmds:
        res[name].append(run(cmd))
base = res[cmds[0][0]]
print(f"{'':24} {'wall s':>7} {'CPU s':>7} {'wall/parse':>10} {'CPU/parse':>9} {'RSS/input':>9}")
for name, _ in cmds:
    r = res[name]
    wall = statistics.median(x[0] for x in r)
    cpu = statistics.median(x[1] for x in r)
    rw = statistics.median(x[0] / b[0] for x, b in zip(r, base))
    rc = statistics.median(x[1] / b[1] for x, b in zip(r, base))
    rss = max(x[2] for x in r) / nbytes
    print(f"{name:24} {wall:7.2f} {cpu:7.2f} {rw:10.2f} {rc:9.2f} {rss:9.2f}")
print("ratios: medians of the rounds' ratios; targets: time <= 1.5, goal wall -j2 < 1.0, RSS <= 4")
PY
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
