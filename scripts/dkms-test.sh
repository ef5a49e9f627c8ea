#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test dkms.conf: build mempager.ko with DKMS for Debian's stock 6.12
# kernel (not the running one: -k and --kernelsourcedir), from the sources
# `make dkms-source` copies, in a temporary source and DKMS tree, and check
# the module's vermagic. Installs Debian's dkms package when missing.
#
# The real /usr/src and /var/lib/dkms are left alone: the trees are given
# with --sourcetree and --dkmstree, and dkms's module signing key (which it
# creates in /var/lib/dkms) goes to a tmpfs mounted over /var/lib/dkms in a
# private mount namespace; where there is none, a key this run created is
# removed again.
#
# Prints one TAP-like line; writes build/dkms.summary ("passed failed
# skipped") and dkms's output to build/dkms.log.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export PATH="$PATH:/sbin:/usr/sbin"

build="$TOP_DIR/build"
log="$build/dkms.log"
kver=$(stock_kver)
kdir="/usr/src/linux-headers-$kver"
name="dkms: build for $kver"

report() { # report PROBLEM: ok when PROBLEM is empty; exits
	if [ -z "$1" ]; then
		echo "ok - $name"
		echo "1 0 0" >"$build/dkms.summary"
		exit 0
	fi
	echo "not ok - $name"
	echo "    $1"
	tail -30 "$log" | sed 's/^/    /'
	echo "0 1 0" >"$build/dkms.summary"
	exit 1
}

if [ -z "${MEMPAGER_DKMS_NS:-}" ]; then
	mkdir -p "$build"
	: >"$log"
	if ! command -v dkms >/dev/null; then
		SUDO=
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		echo "dkms-test: installing dkms" >>"$log"
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 \
			install -y -qq --no-install-recommends dkms >>"$log" 2>&1 ||
			report "installing the dkms package failed"
	fi
	# Again in a private mount namespace, where /var/lib/dkms is a tmpfs.
	if [ "$(id -u)" -eq 0 ] && [ -d /var/lib/dkms ] && unshare --mount true 2>/dev/null; then
		MEMPAGER_DKMS_NS=1 exec unshare --mount "$0" "$@"
	fi
fi

keys=()
if [ -n "${MEMPAGER_DKMS_NS:-}" ]; then
	mount -t tmpfs mempager-dkms-test /var/lib/dkms ||
		report "cannot mount a tmpfs on /var/lib/dkms"
else
	for k in /var/lib/dkms/mok.key /var/lib/dkms/mok.pub; do
		[ -e "$k" ] || keys+=("$k")
	done
fi

[ -d "$kdir" ] || report "no kernel headers in $kdir"
ver=$(sed -n 's/^PACKAGE_VERSION="*\([^"]*\)"*$/\1/p' "$TOP_DIR/dkms.conf")
[ -n "$ver" ] || report "no PACKAGE_VERSION in dkms.conf"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mempager-dkms.XXXXXX")
# shellcheck disable=SC2064 # expand the list of keys now
trap "rm -rf '$tmp' ${keys[*]}" EXIT
mkdir -p "$tmp/src" "$tmp/dkms" "$tmp/modules"
trees=(--sourcetree "$tmp/src" --dkmstree "$tmp/dkms" --installtree "$tmp/modules")

make -s -C "$TOP_DIR" dkms-source DKMS_SOURCE_TREE="$tmp/src" >>"$log" 2>&1 ||
	report "make dkms-source failed"
dkms add -m mempager -v "$ver" "${trees[@]}" >>"$log" 2>&1 ||
	report "dkms add failed"
if ! dkms build -m mempager -v "$ver" -k "$kver" --kernelsourcedir "$kdir" \
	"${trees[@]}" >>"$log" 2>&1; then
	cat "$tmp/dkms/mempager/$ver/build/make.log" >>"$log" 2>/dev/null
	report "dkms build failed"
fi

ko=$(find "$tmp/dkms/mempager/$ver/$kver" -name 'mempager.ko*' -path '*/module/*' | head -n 1)
[ -n "$ko" ] || report "dkms built no mempager.ko"
vermagic=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
echo "built ${ko#"$tmp/"}, vermagic $vermagic, signer $(modinfo -F signer "$ko")" >>"$log"
[ "$vermagic" = "$kver" ] || report "${ko##*/} has vermagic '$vermagic', not $kver"
report ""
