#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unpack Debian's linux-source-6.12 into the cache once; print its directory.
# The tree gives the debug kernel, kselftest_harness.h, checkpatch.pl and
# kernel-doc.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src=$(kernel_src_dir)
# One unpacking at a time (see build-test-kernel.sh).
mkdir -p "$MEMPAGER_CACHE"
exec 8>"$MEMPAGER_CACHE/.unpack.lock"
flock 8
if [ ! -f "$src/.unpacked" ]; then
	tarball=/usr/src/linux-source-6.12.tar.xz
	[ -f "$tarball" ] || die "$tarball missing: run scripts/install-deps.sh"
	echo "unpack-source: unpacking $tarball" >&2
	rm -rf "$src"
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	touch "$src/.unpacked"
fi
echo "$src"
