#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Installs the Debian 12 packages that arenatrace's build, tests, demo and benchmark need.
# Idempotent: packages already installed are left alone, and apt is not touched when nothing
# is missing. Everything comes from Debian's own archive.
set -eu

PKGS="make gcc g++ clang llvm pkg-config libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev
libjson-c-dev libcmocka-dev libiberty-dev libjemalloc-dev libjemalloc2 libmimalloc-dev libc6-dbg strace
python3 python3-pytest procps bpftrace cargo rustc librust-bumpalo-dev librust-jemalloc-sys-dev
systemtap-sdt-dev libmicrohttpd-dev prometheus systemd"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages:$missing; run 'sudo $0' or 'sudo make deps'" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
