#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Static checks of the module and the uapi header, each a test result:
# checkpatch.pl --strict, sparse (C=2) and kernel-doc, zero warnings each,
# a build against a kernel without CONFIG_MEMCG, and the man pages (man1 and
# man3) without a groff warning.
# Writes build/lint.summary ("passed failed skipped").
set -uo pipefail
. "$(dirname "$0")/lib.sh"

src=$("$SCRIPTS_DIR/unpack-source.sh") || exit 1
kdir="/usr/src/linux-headers-$(stock_kver)"
mkdir -p "$TOP_DIR/build"
cd "$TOP_DIR" || exit 1
files=(kmod/*.c kmod/*.h uapi/linux/mempager.h)
passed=0 failed=0

check() { # check NAME OUTPUT_FILE: passes when the output file is empty
	if [ -s "$2" ]; then
		echo "not ok - lint: $1"
		sed 's/^/    /' "$2" | head -40
		failed=$((failed + 1))
	else
		echo "ok - lint: $1"
		passed=$((passed + 1))
	fi
}

out="$TOP_DIR/build/lint"
mkdir -p "$out"
cp_strict() { # cp_strict [--ignore TYPES] FILES...
	"$src/scripts/checkpatch.pl" --strict --no-tree --quiet --terse \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES "$@" 2>&1 |
		grep -E ":[0-9]+: (ERROR|WARNING|CHECK)"
}
{
	cp_strict -f $(printf '%s\n' "${files[@]}" | grep -v _trace.h)
	# TRACE_EVENT() has a layout of its own, as in include/trace/events/.
	cp_strict --ignore OPEN_ENDED_LINE,PARENTHESIS_ALIGNMENT -f kmod/*_trace.h
} >"$out/checkpatch"
check "checkpatch --strict" "$out/checkpatch"

"$src/scripts/kernel-doc" -none -Wall "${files[@]}" >"$out/kernel-doc" 2>&1
check "kernel-doc -Wall" "$out/kernel-doc"

sp="$TOP_DIR/build/mod-sparse"
rm -rf "$sp"
mkdir -p "$sp"
cp -a Kbuild kmod uapi "$sp/"
make -C "$kdir" M="$sp" C=2 CHECK=sparse \
	modules >"$out/sparse.log" 2>&1 || echo "sparse build failed" >>"$out/sparse.log"
grep -E "warning|error|failed" "$out/sparse.log" >"$out/sparse"
check "sparse (C=2)" "$out/sparse"

# The module builds without the memory controller (compile only: modpost
# has no symbol list for this tree and only warns).
nm="$TOP_DIR/build/mod-nomemcg"
rm -rf "$nm"
mkdir -p "$nm"
cp -a Kbuild kmod uapi "$nm/"
if nk=$("$SCRIPTS_DIR/build-nomemcg.sh" 2>"$out/nomemcg.log"); then
	make -C "$nk" M="$nm" KBUILD_MODPOST_WARN=1 modules \
		>>"$out/nomemcg.log" 2>&1 || echo "build failed" >>"$out/nomemcg.log"
else
	echo "build-nomemcg.sh failed" >>"$out/nomemcg.log"
fi
grep -E "(error|warning):|Error [0-9]|failed" "$out/nomemcg.log" >"$out/nomemcg"
check "build without CONFIG_MEMCG" "$out/nomemcg"

rm -f "$out/man"
make -C "$TOP_DIR/lib" check-man >"$out/man.log" 2>&1 || cp "$out/man.log" "$out/man"
check "man pages (man --warnings)" "$out/man"

echo "$passed $failed 0" >"$TOP_DIR/build/lint.summary"
echo "lint: $passed passed, $failed failed"
[ $failed -eq 0 ]
