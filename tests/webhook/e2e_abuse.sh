#!/bin/bash
# Abuse: a hostile pod's flood (idle TCP, stalled and trickled handshakes, trickled headers,
# unfinished 3 MiB bodies, idle health connections) while a legitimate client sends reviews.
# See wh_abuse.py for what is asserted.
: "${WEBHOOK:?WEBHOOK must name the kube5xx-webhook binary}"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
exec python3 "$(dirname "$0")/wh_abuse.py"
