#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Prepares (once, cached) a 6.12 kernel tree for building modules against
# the debug kernel's configuration with CONFIG_MEMCG off: no kernel image,
# only modules_prepare. scripts/lint.sh builds the module against it, so
# that code needing the memory controller stays behind its stubs.
# Prints the tree's directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

key=$( (source_version; cat "$SCRIPTS_DIR/debug-kernel.config") | sha256sum | cut -c1-12)
out="$MEMPAGER_CACHE/kernel-nomemcg-$key"
if [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi

src=$("$SCRIPTS_DIR/unpack-source.sh")

rm -rf "$out"
mkdir -p "$out"
grep -v '^CONFIG_MEMCG=' "$SCRIPTS_DIR/debug-kernel.config" >"$out/frag.config"
echo '# CONFIG_MEMCG is not set' >>"$out/frag.config"
{
	make -C "$src" O="$out" tinyconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$out/frag.config"
	make -C "$src" O="$out" olddefconfig
} >"$out/config.log" 2>&1 || { tail -20 "$out/config.log" >&2; die "kernel config failed"; }
grep -q '^CONFIG_MEMCG=' "$out/.config" && die "CONFIG_MEMCG still on in $out/.config"
grep -qx 'CONFIG_MODULES=y' "$out/.config" || die "CONFIG_MODULES off in $out/.config"

make -C "$src" O="$out" -j"$(nproc)" modules_prepare >"$out/build.log" 2>&1 ||
	{ tail -30 "$out/build.log" >&2; die "modules_prepare failed"; }
touch "$out/.done"
echo "$out"
