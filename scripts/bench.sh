#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make bench: see scripts/bench.py. Needs root (BPF).
set -eu
OUTPUT=${1:?usage: bench.sh OUTPUT_DIR}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: arenatrace loads BPF programs: run 'sudo make bench'" >&2
	exit 1
fi
exec /usr/bin/python3 "$(dirname "$0")/bench.py" "$OUTPUT"
