#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make run: the main job. Installs what is needed, builds the debug kernel
# (cached), the module, libmempager and the tools, boots the test VM with
# mempager loaded and runs the demo in tools/demo/ (the example pagers
# serving an application), printing what it shows.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$SCRIPTS_DIR/install-deps.sh"
build="$TOP_DIR/build"
mkdir -p "$build"
make -C "$TOP_DIR/tools" >"$build/tools.log" 2>&1 ||
	{ cat "$build/tools.log"; die "tools build failed"; }
kdir=$("$SCRIPTS_DIR/build-test-kernel.sh")
mod=$("$SCRIPTS_DIR/build-module.sh" demo "$kdir")
demo="$build/demo"
rm -rf "$demo"
cp -a "$TOP_DIR/tools/demo" "$demo"
cp "$build"/tools/* "$demo/"
empty="$build/no-tests"
mkdir -p "$empty"
status=0
# The demo's steps have their own time-outs; this bounds the whole VM.
DEMO_DIR=$demo VM_TIMEOUT=${VM_TIMEOUT:-900} \
	"$SCRIPTS_DIR/vm-test.sh" demo "$kdir/arch/x86/boot/bzImage" "$mod" "$empty" \
	>"$build/demo.results" || status=$?
echo "---- the test VM's demo (debug kernel, mempager.ko loaded) ----"
sed -n '/^@@MP demo-begin/,/^@@MP demo-end/{/^@@MP /d;p}' "$build/demo.log" | tr -d '\r'
echo "----"
grep -v "^ok " "$build/demo.results" || true
exit $status
