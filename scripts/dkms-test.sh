#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test dkms.conf: build mempager.ko with DKMS for Debian's stock 6.12 and
# 6.1 kernels (not the running one: -k and --kernelsourcedir), from the
# sources `make dkms-source` copies, in a temporary source and DKMS tree,
# and check the modules' vermagic. Installs Debian's dkms package when missing.
#
# The real /usr/src and /var/lib/dkms are left alone: the trees are given
# with --sourcetree and --dkmstree, and dkms's module signing key (which it
# creates in /var/lib/dkms) goes to a tmpfs mounted over /var/lib/dkms in a
# private mount namespace; where there is none, a key this run created is
# removed again.
#
# Prints one TAP-like line per kernel; writes build/dkms.summary ("passed failed
# skipped") and dkms's output to build/dkms.log.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export PATH="$PATH:/sbin:/usr/sbin"

build="$TOP_DIR/build"
log="$build/dkms.log"

report() { # report PROBLEM: a failure before any build; exits
	echo "not ok - dkms: set-up"
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
build_for() { # build_for KVER: prints what went wrong, or nothing
	local kver=$1 kdir="/usr/src/linux-headers-$1" ko vermagic

	if [ ! -d "$kdir" ]; then
		echo "no kernel headers in $kdir"
		return
	fi
	if ! dkms build -m mempager -v "$ver" -k "$kver" --kernelsourcedir "$kdir" \
		"${trees[@]}" >>"$log" 2>&1; then
		cat "$tmp/dkms/mempager/$ver/build/make.log" >>"$log" 2>/dev/null
		echo "dkms build failed"
		return
	fi
	ko=$(find "$tmp/dkms/mempager/$ver/$kver" -name 'mempager.ko*' -path '*/module/*' | head -n 1)
	if [ -z "$ko" ]; then
		echo "dkms built no mempager.ko"
		return
	fi
	vermagic=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
	echo "built ${ko#"$tmp/"}, vermagic $vermagic, signer $(modinfo -F signer "$ko")" >>"$log"
	[ "$vermagic" = "$kver" ] || echo "${ko##*/} has vermagic '$vermagic', not $kver"
}

passed=0 failed=0
for kver in "$(stock_kver)" "$(stock_kver "$STOCK_61")"; do
	problem=$(build_for "$kver")
	if [ -z "$problem" ]; then
		echo "ok - dkms: build for $kver"
		passed=$((passed + 1))
	else
		echo "not ok - dkms: build for $kver"
		echo "    $problem"
		tail -30 "$log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "$passed $failed 0" >"$build/dkms.summary"
[ "$failed" -eq 0 ]
