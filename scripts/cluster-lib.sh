# SPDX-License-Identifier: GPL-2.0
# What scripts/cluster-test.sh and scripts/cluster-demo.sh share: a network
# namespace with a bridge and two tap devices, a Redis Cluster of 3 masters
# and 3 replicas bound to the bridge, and two QEMU guests (Debian's stock
# 6.12 kernel, virtio_net) on the taps. Nothing leaves the namespace: it has
# no default route and no NAT; cluster_cleanup removes it all. Source it
# after lib.sh; call cluster_setup, then boot guests with cluster_guest.

CLUSTER_NET=10.77.0
CLUSTER_PORTS="7001 7002 7003 7004 7005 7006"
CLUSTER_STORE=$(for p in $CLUSTER_PORTS; do printf '%s.1:%s,' "$CLUSTER_NET" "$p"; done)
CLUSTER_STORE=${CLUSTER_STORE%,}
cluster_ns=
cluster_dir=

# Run a command inside the namespace.
nsx() {
	ip netns exec "$cluster_ns" "$@"
}

cluster_rcli() { # cluster_rcli PORT ARGS...
	local port=$1
	shift
	nsx redis-cli -h "$CLUSTER_NET.1" -p "$port" "$@"
}

# Stop everything cluster_setup started, whatever state it is in.
cluster_cleanup() {
	local pid f
	[ -n "$cluster_ns" ] || return 0
	# QEMU (through its vm-test.sh) and anything else left in the namespace.
	for pid in $(ip netns pids "$cluster_ns" 2>/dev/null); do
		kill "$pid" 2>/dev/null || true
	done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ -z "$(ip netns pids "$cluster_ns" 2>/dev/null)" ] && break
		sleep 1
	done
	for pid in $(ip netns pids "$cluster_ns" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null || true
	done
	for f in "$cluster_dir"/redis-*/pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
	done
	ip netns del "$cluster_ns" 2>/dev/null || true
	cluster_ns=
}

# Start (or restart: it keeps its nodes.conf) the Redis node of PORT.
cluster_node_start() {
	local d="$cluster_dir/redis-$1"
	mkdir -p "$d"
	nsx redis-server --bind "$CLUSTER_NET.1" --port "$1" \
		--cluster-enabled yes --cluster-config-file "$d/nodes.conf" \
		--cluster-node-timeout 2000 --save '' --appendonly no \
		--protected-mode no --dir "$d" --daemonize yes \
		--pidfile "$d/pid" --logfile "$d/log"
}

# cluster_setup DIR: the namespace, its bridge and taps, the Redis Cluster.
cluster_setup() {
	local port i
	cluster_dir=$1
	rm -rf "$cluster_dir"
	mkdir -p "$cluster_dir"
	cluster_ns=mpdsm-$$
	ip netns add "$cluster_ns" || die "cannot create network namespace"
	ip -n "$cluster_ns" link set lo up
	ip -n "$cluster_ns" link add br0 type bridge
	ip -n "$cluster_ns" addr add "$CLUSTER_NET.1/24" dev br0
	ip -n "$cluster_ns" link set br0 up
	for i in a b; do
		ip -n "$cluster_ns" tuntap add dev "tap$i" mode tap
		ip -n "$cluster_ns" link set "tap$i" master br0
		ip -n "$cluster_ns" link set "tap$i" up
	done
	# No default route, no NAT: nothing can leave.
	! ip -n "$cluster_ns" route show default | grep -q . ||
		die "the namespace has a default route"
	for port in $CLUSTER_PORTS; do
		cluster_node_start "$port" || die "redis-server on port $port did not start"
	done
	for port in $CLUSTER_PORTS; do
		for _ in $(seq 50); do
			cluster_rcli "$port" ping 2>/dev/null | grep -q PONG && break
			sleep 0.1
		done
	done
	# shellcheck disable=SC2046
	nsx redis-cli --cluster create $(for p in $CLUSTER_PORTS; do echo "$CLUSTER_NET.1:$p"; done) \
		--cluster-replicas 1 --cluster-yes >"$cluster_dir/create.log" 2>&1 ||
		{ cat "$cluster_dir/create.log"; die "redis-cli --cluster create failed"; }
	cluster_wait_nodes 'cluster_state:ok' cluster info
	# Every master has its replica in sync, or the first WAITs time out.
	cluster_wait_nodes '^(connected_slaves:1|master_link_status:up)' info replication
}

# Wait, at most 10 s a node, until each node's answer to ARGS matches PATTERN.
cluster_wait_nodes() { # cluster_wait_nodes PATTERN ARGS...
	local pat=$1 port
	shift
	for port in $CLUSTER_PORTS; do
		for _ in $(seq 100); do
			cluster_rcli "$port" "$@" 2>/dev/null | grep -Eq "$pat" && break
			sleep 0.1
		done
	done
}

# The port of the master serving slot SLOT (from CLUSTER NODES).
cluster_master_port() {
	cluster_rcli 7001 cluster nodes | awk -v s="$1" '
		$3 ~ /master/ && $3 !~ /fail/ {
			for (i = 9; i <= NF; i++) {
				n = split($i, r, "-")
				if (n == 1) r[2] = r[1]
				if (r[1] + 0 <= s && s <= r[2] + 0) {
					sub(/@.*/, "", $2); sub(/.*:/, "", $2); print $2; exit
				}
			}
		}'
}

# The kernel, the module and the initramfs modules for the guests.
cluster_prepare() {
	local kver m dep
	cluster_kernel=$("$SCRIPTS_DIR/stock-kernel.sh") || die "stock kernel download failed"
	kver=$(stock_kver)
	cluster_mod=$("$SCRIPTS_DIR/build-module.sh" cluster "/usr/src/linux-headers-$kver") ||
		die "module build failed"
	# virtio_net and what it depends on (modinfo -F depends), dependencies first.
	cluster_modules=
	m=$(stock_module virtio_net)
	local want="$m"
	while [ -n "$want" ]; do
		set -- $want
		m=$1
		shift
		want="$*"
		case " $cluster_modules " in *" $m "*) continue ;; esac
		cluster_modules="$m $cluster_modules"
		for dep in $(/sbin/modinfo -F depends "$m" | tr ',' ' '); do
			want="$want $(stock_module "$dep")"
		done
	done
	# The guest loads /modules/*.ko in name order; check it suits.
	[ "$(for m in $cluster_modules; do basename "$m"; done | sort | tr '\n' ' ')" = \
	  "$(for m in $cluster_modules; do basename "$m"; done | tr '\n' ' ')" ] ||
		die "virtio_net's dependencies do not load in name order: $cluster_modules"
}

# cluster_guest ROLE TESTDIR: boot guest ROLE (a or b) in the namespace on
# tap ROLE, running the executables of TESTDIR with TEST_ARGS
# "ROLE IP STORE $CLUSTER_COUNTS" (see cluster-guest.sh). Runs vm-test.sh (lane cluster-ROLE) in the foreground.
cluster_guest() {
	local role=$1 testdir=$2 ip
	ip="$CLUSTER_NET.$([ "$role" = a ] && echo 11 || echo 12)"
	TEST_ARGS="$role $ip $CLUSTER_STORE ${CLUSTER_COUNTS:-}" EXTRA_MODULES="$cluster_modules" \
		VM_MEM=${CLUSTER_VM_MEM:-320M} VM_DISK=64M KCMD_EXTRA=no_timer_check \
		QEMU_EXTRA="-nic tap,ifname=tap$role,script=no,downscript=no,model=virtio-net-pci,mac=52:54:00:77:00:1$role" \
		nsx "$SCRIPTS_DIR/vm-test.sh" "cluster-$role" "$cluster_kernel" "$cluster_mod" "$testdir"
}

# cluster_guests TESTDIR RESULTS_DIR: both guests at once, each one's output
# in RESULTS_DIR/guest-<role>.results; sets rca and rcb to their statuses.
cluster_guests() {
	local pa pb
	rca=0 rcb=0
	cluster_guest a "$1" >"$2/guest-a.results" 2>&1 &
	pa=$!
	cluster_guest b "$1" >"$2/guest-b.results" 2>&1 &
	pb=$!
	wait $pa || rca=$?
	wait $pb || rcb=$?
}
