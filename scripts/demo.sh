#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make demo: arenatrace on the bundled two-allocator workload, in text and then as JSON.
set -eu
OUTPUT=${1:?usage: demo.sh OUTPUT_DIR}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: arenatrace loads BPF programs: run 'sudo make demo'" >&2
	exit 1
fi
echo "== arenatrace -d 4.2 -- demo (jemalloc and glibc's allocator in one process)"
# -d: the summary comes while the demo still lives, so that retained = resident - live can
# be shown (it is unknown once a process has exited).
"$OUTPUT/arenatrace" -C sample_ms=200 -d 4.2 -- "$OUTPUT/workloads/demo"
sleep 1.5
echo
echo "== the same run as JSON: $OUTPUT/demo.json (schema: docs/json.md)"
"$OUTPUT/arenatrace" -C sample_ms=200 -d 4.2 -j --pretty -o "$OUTPUT/demo.json" -- \
	"$OUTPUT/workloads/demo" 2>/dev/null
sleep 1.5
echo
echo "== one workload, three allocators: arenatrace diff (the same churn through malloc, as is,"
echo "   then with jemalloc and with mimalloc preloaded; each run's JSON in $OUTPUT/diff-*.json)"
for a in glibc jemalloc mimalloc; do
	case $a in
	glibc) pre= ;;
	*) pre=/usr/lib/x86_64-linux-gnu/lib$a.so.2 ;;
	esac
	# The report is taken while the workload still holds what it kept (it holds 5 s, the
	# trace ends after 3.5): a live process's books are read afresh for the report, where an
	# exited one keeps its last periodic read (paced at 1% of a core, possibly mid-growth).
	"$OUTPUT/arenatrace" -C sample_ms=200 -d 3.5 -j -o "$OUTPUT/diff-$a.json" -- \
		env ${pre:+LD_PRELOAD=$pre} "$OUTPUT/workloads/diff_demo" 8 5 2>/dev/null
	while pgrep -x diff_demo >/dev/null; do sleep 0.2; done
done
"$OUTPUT/arenatrace" diff "$OUTPUT/diff-glibc.json" "$OUTPUT/diff-jemalloc.json" \
	"$OUTPUT/diff-mimalloc.json"
echo
echo "== as HTML pages (arenatrace report; self-contained, open them in a browser):"
"$OUTPUT/arenatrace" report "$OUTPUT/demo.json" -o "$OUTPUT/demo.html"
echo "   $OUTPUT/demo.html: the first demo, its allocators over time"
"$OUTPUT/arenatrace" report "$OUTPUT/diff-glibc.json" "$OUTPUT/diff-jemalloc.json" \
	"$OUTPUT/diff-mimalloc.json" -o "$OUTPUT/diff.html"
echo "   $OUTPUT/diff.html: the three runs side by side"
