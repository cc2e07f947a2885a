#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The root-only suites: end-to-end runs of arenatrace against the workloads. Nothing here
# skips: without root (BPF) the run fails and says why.
set -eu
OUTPUT=${1:?usage: run-e2e.sh OUTPUT_DIR [PYTEST_ARGS...]}
shift
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "run-e2e: the end-to-end tests load BPF programs: run 'sudo make test' ('make check' runs the unit tests alone)" >&2
	exit 1
fi
# Debian's pytest, whatever python3 comes first on PATH.
if [ $# -eq 0 ]; then
	set -- tests/e2e
fi
AT_OUTPUT="$OUTPUT" exec /usr/bin/python3 -m pytest -q -p no:cacheprovider "$@"
