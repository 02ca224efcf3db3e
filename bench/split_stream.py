#!/usr/bin/env python3
"""Splits a generated YAML stream into files of at most MAX documents each, so a benchmark
shape larger than the linter's per-file document limit (K5_MAX_DOCUMENTS) is measured as
several files instead of being refused.

usage: gen_x.py ... | split_stream.py DIR PREFIX MAX
Writes DIR/PREFIX-0000.yaml, DIR/PREFIX-0001.yaml, ...: the stream cut before a column-0
`---` line (every document of the generators starts with one), MAX documents to a file. One
file when the stream fits. Prints the number of files written.
"""
import os
import sys

out_dir, prefix, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
if most < 1:
    sys.exit("split_stream.py: MAX must be at least 1")
files, docs, f = 0, 0, None


def start():
    global files, f
    if f:
        f.close()
    f = open(os.path.join(out_dir, f"{prefix}-{files:04d}.yaml"), "w")
    files += 1


start()
for line in sys.stdin:
    if line.rstrip("\r\n") == "---" or line.startswith("--- "):
        if docs == most:
            start()
            docs = 0
        docs += 1
    f.write(line)
f.close()
print(files)
