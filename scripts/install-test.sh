#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test `make install`: install into a temporary DESTDIR for Debian's stock
# 6.12 kernel and check every file it should put there, that modprobe would
# find the module (depmod and modprobe on the DESTDIR) and that a program
# builds against the library with pkg-config. Prints one TAP-like line per
# check; writes build/install.summary ("passed failed skipped") and the
# make output to build/install.log. Needs no root.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export PATH="$PATH:/sbin:/usr/sbin"

build="$TOP_DIR/build"
mkdir -p "$build"
log="$build/install.log"
passed=0 failed=0

result() { # result NAME PROBLEMS: passes when PROBLEMS is empty
	if [ -z "$2" ]; then
		echo "ok - install: $1"
		passed=$((passed + 1))
	else
		echo "not ok - install: $1"
		printf '%s\n' "$2" | sed 's/^/    /' | head -40
		failed=$((failed + 1))
	fi
}

finish() {
	echo "$passed $failed 0" >"$build/install.summary"
	echo "install: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

# missing FILE...: the FILEs (under the DESTDIR) that are not there
missing() {
	local f
	for f in "$@"; do
		[ -e "$dest$f" ] || echo "missing $f"
	done
}

kver=$(stock_kver)
kdir="/usr/src/linux-headers-$kver"
dest=$(mktemp -d "${TMPDIR:-/tmp}/mempager-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT

if make -C "$TOP_DIR" install DESTDIR="$dest" KVER="$kver" KDIR="$kdir" >"$log" 2>&1; then
	result "make install DESTDIR KVER=$kver" ""
else
	result "make install DESTDIR KVER=$kver" "$(tail -30 "$log")"
	finish
fi

# The module, for the right kernel, where modprobe looks.
ko="/lib/modules/$kver/extra/mempager.ko"
problems=$(missing "$ko")
if [ -z "$problems" ]; then
	vermagic=$(modinfo -F vermagic "$dest$ko" | cut -d' ' -f1)
	[ "$vermagic" = "$kver" ] || problems="vermagic $vermagic, not $kver"
fi
result "module in $ko" "$problems"

# depmod on the DESTDIR, resolving symbols against the kernel's
# Module.symvers, then modprobe's answer on where mempager is.
problems=$(depmod -b "$dest" -e -E "$kdir/Module.symvers" "$kver" 2>&1 |
	grep -v "could not open modules\.")
deps=$(modprobe -d "$dest" -S "$kver" --show-depends mempager 2>&1)
grep -q "^insmod $dest$ko" <<<"$deps" || problems+="modprobe --show-depends: $deps"
result "depmod and modprobe find mempager" "$problems"

result "headers" "$(missing /usr/include/linux/mempager.h /usr/include/libmempager.h)"

problems=$(missing /usr/lib/libmempager.a /usr/lib/libmempager.so \
	/usr/lib/libmempager.so.0 /usr/lib/pkgconfig/mempager.pc)
[ -z "$problems" ] && ! [ -f "$(readlink -f "$dest/usr/lib/libmempager.so")" ] &&
	problems="libmempager.so is a dangling link"
result "library, static and shared, and mempager.pc" "$problems"

pages=()
for p in "$TOP_DIR"/Documentation/man/man3/*.3; do
	pages+=("/usr/share/man/man3/${p##*/}")
done
result "${#pages[@]} man pages" "$(missing "${pages[@]}")"

# The tools' section 1 pages, mempagerctl's whatever the glob finds.
pages=(/usr/share/man/man1/mempagerctl.1)
for p in "$TOP_DIR"/Documentation/man/man1/*.1; do
	[ "${p##*/}" = mempagerctl.1 ] || pages+=("/usr/share/man/man1/${p##*/}")
done
result "${#pages[@]} man1 pages" "$(missing "${pages[@]}")"

tools=(mempagerctl mempager-filepager mempager-cksum)
[ -f "$TOP_DIR/tools/mempager-defpager.c" ] && tools+=(mempager-defpager)
problems=
for t in "${tools[@]}"; do
	[ -x "$dest/usr/bin/$t" ] || problems+="missing /usr/bin/$t"$'\n'
done
result "tools: ${tools[*]}" "$problems"

rule=/lib/udev/rules.d/60-mempager.rules
problems=$(missing "$rule")
[ -z "$problems" ] && ! grep -q '^KERNEL=="mempager", MODE="0666"$' "$dest$rule" &&
	problems="no KERNEL==\"mempager\" rule in $rule"
result "udev rule $rule" "$problems"

snippets=$(find "$dest" -path '*/modules-load.d/*' 2>/dev/null)
result "no modules-load.d snippet by default" "$snippets"

# pkg-config inside the DESTDIR, and a program built and run with it.
export PKG_CONFIG_PATH="$dest/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
if flags=$(pkg-config --cflags --libs mempager 2>&1); then
	problems=
	for want in "-I$dest/usr/include" "-L$dest/usr/lib" "-lmempager"; do
		grep -qF -- "$want" <<<"$flags" || problems+="no $want in: $flags"$'\n'
	done
else
	problems=$flags
fi
result "pkg-config --cflags --libs mempager" "$problems"

cat >"$dest/pkgtest.c" <<'EOF'
#include <stdio.h>
#include <linux/mempager.h>
#include <libmempager.h>

int main(void)
{
	printf("%s\n", mach_error_string(0));
	return 0;
}
EOF
# shellcheck disable=SC2046 # pkg-config's output is a list of words
problems=$(cc -Wall -Werror -o "$dest/pkgtest" "$dest/pkgtest.c" \
	$(pkg-config --cflags --libs mempager) 2>&1 &&
	LD_LIBRARY_PATH="$dest/usr/lib" "$dest/pkgtest" >/dev/null 2>&1 ||
	echo "build or run failed")
result "a program builds with pkg-config and runs" "$problems"

finish
