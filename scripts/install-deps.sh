#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Installs the Debian 12 packages of the named sets (all sets without arguments):
#   build   what `make all` compiles and links with (xxd: the report page compiled in)
#   unit    `make check` beyond build: the unit-test framework, python3 for the layer check,
#           and promtool (prometheus) that checks the exposition format
#   test    `make test` beyond build and unit: the workloads' allocators and compilers, and
#           the end-to-end suite's oracles and tools (strace, libc6-dbg, prometheus, systemd,
#           golang-go: go tool pprof reads --pprof's profiles; debuginfod, the server that
#           serves a split debug file to the symbolisation's tests; chromium and firefox-esr
#           load arenatrace report's page headless)
#   demo    `make demo` beyond build: the demo workload's jemalloc
#   bench   `make bench` beyond build: the benchmark's workloads, python3, bpftrace (floors)
#   format  `make format` and `make format-check`
# Idempotent: one dpkg query; apt is not touched when nothing is missing. Everything comes
# from Debian's own archive.
set -eu

ALL_SETS="build unit test demo bench format"

set_pkgs()
{
	case "$1" in
	build) echo "make gcc libc6-dev clang pkg-config bpftool libbpf-dev libelf-dev libdw-dev
		zlib1g-dev libjson-c-dev libiberty-dev libmicrohttpd-dev libprotobuf-c-dev libdebuginfod-dev
		protobuf-c-compiler xxd" ;;
	unit) echo "libcmocka-dev python3 prometheus" ;;
	test) echo "g++ libjemalloc-dev libmimalloc-dev systemtap-sdt-dev cargo rustc
		librust-bumpalo-dev librust-jemalloc-sys-dev librust-libc-dev libc6-dbg strace
		python3 python3-pytest python3.11-dbg prometheus systemd redis-server redis-tools golang-go
		debuginfod chromium firefox-esr" ;;
	demo) echo "libjemalloc-dev libmimalloc-dev" ;;
	bench) echo "libjemalloc-dev libmimalloc-dev python3 bpftrace redis-server redis-tools" ;;
	format) echo "clang-format" ;;
	*) return 1 ;;
	esac
}

# shellcheck disable=SC2086
[ $# -gt 0 ] || set -- $ALL_SETS
want=""
for s in "$@"; do
	if ! pkgs=$(set_pkgs "$s"); then
		echo "install-deps: unknown set '$s' (sets: $ALL_SETS)" >&2
		exit 2
	fi
	for p in $pkgs; do
		case " $want " in
		*" $p "*) ;;
		*) want="$want $p" ;;
		esac
	done
done

# Packages dpkg has never heard of are not listed (and make it exit 1): they are missing too.
# shellcheck disable=SC2086
installed=" $(dpkg-query -W -f='${db:Status-Status} ${Package}\n' $want 2>/dev/null |
	sed -n 's/^installed //p' | tr '\n' ' ')"
missing=""
for p in $want; do
	case "$installed" in
	*" $p "*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages:$missing; run 'sudo sh $0 $*' or 'sudo make deps'" >&2
	exit 1
fi
echo "install-deps ($*): installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
