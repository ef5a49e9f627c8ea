# SPDX-License-Identifier: GPL-2.0
# Shared settings for mempager's scripts. Source it; do not run it.

# Where kernels, sources and images are cached between runs (outside the tree).
MEMPAGER_CACHE=${MEMPAGER_CACHE:-$HOME/.cache/mempager}
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$SCRIPTS_DIR/.." && pwd)

# Debian's headers meta packages of the two LTS kernels the module targets.
STOCK_612=linux-headers-6.12-amd64
STOCK_61=linux-headers-amd64

# A Debian kernel's ABI name, e.g. 6.12.117+deb12-amd64, from a headers meta
# package (default: 6.12).
stock_kver() {
	local pkg
	pkg=$(dpkg-query -W -f='${Depends}' "${1:-$STOCK_612}" |
		grep -o 'linux-headers-[^ ,]*')
	echo "${pkg#linux-headers-}"
}

# A module of a Debian stock kernel (default 6.12), from the image unpacked
# by stock-kernel.sh.
stock_module() {
	local kver
	kver=$(stock_kver "${2:-$STOCK_612}")
	find "$MEMPAGER_CACHE/stock-$kver/lib/modules/$kver" -name "$1.ko*" | head -n 1
}

# The modules of a Debian stock kernel (default 6.12) that NAMES (a list of
# module names) need, from the image unpacked by stock-kernel.sh: each
# module after the modules it depends on (modinfo -F depends), one path a
# line, in the order to load them. Modules built into the kernel are left
# out. Debian's 6.1 has virtio, virtio_ring and virtio_pci as modules,
# 6.12 only virtio_blk.
stock_modules() {
	local kver dir m
	kver=$(stock_kver "${2:-$STOCK_612}")
	dir="$MEMPAGER_CACHE/stock-$kver/lib/modules/$kver"
	[ -d "$dir" ] || die "no modules in $dir (run scripts/stock-kernel.sh)"
	_stock_seen=" "
	for m in $1; do
		_stock_modules_visit "$dir" "$m" || return
	done
}

_stock_modules_visit() { # DIR NAME: print NAME's dependencies, then NAME
	local path dep
	case "$_stock_seen" in *" $2 "*) return 0 ;; esac
	_stock_seen="$_stock_seen$2 "
	# A file name may spell _ as -.
	path=$(find "$1" \( -name "$2.ko*" -o -name "${2//_/-}.ko*" \) | head -n 1)
	[ -n "$path" ] || return 0	# built in
	for dep in $(modinfo -F depends "$path" | tr , ' '); do
		_stock_modules_visit "$1" "$dep" || return
	done
	echo "$path"
}

# The linux-source-6.12 version (the upstream version of the debug kernel).
source_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12
}

# Where linux-source-6.12 is unpacked.
kernel_src_dir() {
	echo "$MEMPAGER_CACHE/src-$(source_version)"
}

# The directory of the debug kernel build, keyed by source version and config.
debug_kernel_dir() {
	local key
	key=$( (source_version; cat "$SCRIPTS_DIR/debug-kernel.config") | sha256sum | cut -c1-12)
	echo "$MEMPAGER_CACHE/kernel-debug-$key"
}

die() {
	echo "error: $*" >&2
	exit 1
}
