#!/usr/bin/env bash
# A time-dilated cluster on this machine: each emulated node is a network namespace, each rank has
# its own link (veth) into a head namespace that routes between ranks, shaped to the emulated
# profile's inter-node rate (tc tbf, both ways) and latency (a delay line: tc netem is missing from
# some kernels) slowed by the dilation factor D = profile attention rate / this machine's measured
# kernel rate per rank. Open MPI starts its daemons in the node namespaces through a launcher agent
# (shared memory inside a node, TCP over the shaped links between nodes); every rank runs under a
# fixed CPU quota (cgroup v1) so its kernel rate does not depend on its neighbours.
#
#   emulated-cluster.sh up   [options]             bring a cluster up (measures the kernel rate)
#   emulated-cluster.sh run  [options] -- CMD...   run CMD as every rank (mpirun); brings the cluster
#                                                  up for this command alone, and down after, if not up
#   emulated-cluster.sh down [--name NAME]         remove everything `up` made
#   emulated-cluster.sh status [--name NAME]
#   emulated-cluster.sh can-run                    exit 0 if this machine can emulate a cluster, else say why
#
# Options: --name NAME (default fcp) --nodes N (2) --ranks-per-node G (2; `run` on a cluster that
#   is up takes its shape)
#   --profile FILE   hardware profile emulated (inputs/hardware/h100-dgx.toml)
#   --machine FILE   this machine's profile, for the unshaped shared memory (inputs/hardware/cpu-dev.toml)
#   --cpu-quota F    CPU cores per rank (default 0.8 x cores / ranks, at most 1)
#   --calibrate IN   flexcp input whose first batch measures the kernel rate at one rank (inputs/demo.toml)
#   --rate GFLOPS    the kernel rate per rank, instead of measuring it
#   --flexcp BIN     the flexcp executable (build/release/src/flexcp)
# When CMD is `.../flexcp run ...`, `--set cluster.emulation=FILE` is appended: flexcp then plans
# and models with the dilated profile and records the emulated network in its results file. The
# file's path is also in $FLEXCP_EMULATED_NETWORK for any command.
# Needs root, iproute2 (ip, tc with tbf, tun devices), util-linux (unshare), cgroup v1's cpu controller and
# Open MPI. Addresses: 198.18.0.0/24 (ranks' links) and 198.19.0.0/24 (Open MPI's daemons), inside
# the cluster's own namespaces only. Exit codes: 0, the command's code for `run`, 1 failure, 2 usage.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
helpers="$repo/scripts/emulated-cluster"
state_root=/run/flexcp-emulated
cgroup_root=/sys/fs/cgroup/cpu

say() { echo "emulated-cluster: $*" >&2; }
die() { say "$*"; exit 1; }
usage() { say "$*"; sed -n '10,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage "missing subcommand (up, run, down or status)"
action="$1"
shift
name=fcp nodes="" per_node="" quota="" rate=""
profile="$repo/inputs/hardware/h100-dgx.toml"
machine="$repo/inputs/hardware/cpu-dev.toml"
calibrate_input="$repo/inputs/demo.toml"
flexcp="$repo/build/release/src/flexcp"
command=()
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="${2:?}"; shift 2 ;;
    --nodes) nodes="${2:?}"; shift 2 ;;
    --ranks-per-node) per_node="${2:?}"; shift 2 ;;
    --profile) profile="$(realpath "${2:?}")"; shift 2 ;;
    --machine) machine="$(realpath "${2:?}")"; shift 2 ;;
    --cpu-quota) quota="${2:?}"; shift 2 ;;
    --calibrate) calibrate_input="$(realpath "${2:?}")"; shift 2 ;;
    --rate) rate="${2:?}"; shift 2 ;;
    --flexcp) flexcp="$(realpath "${2:?}")"; shift 2 ;;
    --) shift; command=("$@"); break ;;
    *) usage "unknown option '$1'" ;;
  esac
done
[[ "$name" =~ ^[a-z0-9]{1,8}$ ]] || usage "--name '$name': 1-8 lower-case letters or digits"
state="$state_root/$name"
# A cluster that is up has its shape; options that say otherwise are an error.
shape_of_state() { awk -F' = ' -v key="$1" '$1 == key {print $2}' "$state/network.toml"; }
if [ -f "$state/network.toml" ] && [ "$action" = run ]; then
  [ "${nodes:-$(shape_of_state nodes)}" = "$(shape_of_state nodes)" ] &&
    [ "${per_node:-$(shape_of_state ranks_per_node)}" = "$(shape_of_state ranks_per_node)" ] ||
    usage "cluster '$name' is up with $(shape_of_state nodes) node(s) x $(shape_of_state ranks_per_node) rank(s), not $nodes x $per_node"
  nodes="$(shape_of_state nodes)" per_node="$(shape_of_state ranks_per_node)"
fi
nodes="${nodes:-2}" per_node="${per_node:-2}"
[[ "$nodes" =~ ^[0-9]+$ ]] && [ "$nodes" -ge 1 ] && [ "$nodes" -le 16 ] || usage "--nodes '$nodes': 1 to 16"
[[ "$per_node" =~ ^[0-9]+$ ]] && [ "$per_node" -ge 1 ] && [ "$per_node" -le 8 ] || usage "--ranks-per-node '$per_node': 1 to 8"
ranks=$((nodes * per_node))
head_ns="fcp-$name-head"
cgroup="$cgroup_root/flexcp-$name"
export FLEXCP_EMU_NAME="$name"
export FLEXCP_EMULATED_NETWORK="$state/network.toml"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# Runs a command in the head namespace. nsenter, not `ip netns exec`: the latter remounts /sys,
# which hides the cgroup tree from the ranks Open MPI starts from there.
in_head() { nsenter --net="/run/netns/$head_ns" "$@"; }

is_up() { [ -f "$state/network.toml" ]; }

# The machine can host an emulated cluster: prints the reason and returns 1 when it cannot.
check_machine() {
  [ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, tc, cgroups)"; return 1; }
  local tool
  for tool in ip tc unshare mpirun /usr/bin/python3; do
    command -v "$tool" > /dev/null || { echo "$tool is missing (bash scripts/install-deps.sh installs it)"; return 1; }
  done
  [ -w "$cgroup_root" ] || { echo "cgroup v1 cpu controller not writable at $cgroup_root"; return 1; }
  local probe="fcp-probe$$"
  ip netns add "$probe" 2> /dev/null || { echo "cannot create network namespaces here"; return 1; }
  local ok=0
  { ip -n "$probe" link add p0 type veth peer name p1 && tc -n "$probe" qdisc add dev p0 root tbf rate 1mbit burst 9000 limit 90000 &&
    ip -n "$probe" tuntap add dev t0 mode tun; } > /dev/null 2>&1 || ok=1
  ip netns delete "$probe"
  [ "$ok" -eq 0 ] || { echo "veth links, tc tbf or tun devices are not available in this kernel"; return 1; }
}

# Removes every namespace, link, bridge, qdisc and cgroup of cluster $name (links, bridges and
# qdiscs live only inside its namespaces and go with them) and ends the processes left in them.
teardown() {
  local ns pid pids=()
  for ns in $(ip netns list 2> /dev/null | awk '{print $1}' | grep "^fcp-$name-" || true); do
    pids+=($(ip netns pids "$ns" 2> /dev/null || true))
  done
  if [ -d "$cgroup" ]; then pids+=($(cat "$cgroup"/*/cgroup.procs 2> /dev/null || true)); fi
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2> /dev/null || true
  done
  for ns in $(ip netns list 2> /dev/null | awk '{print $1}' | grep "^fcp-$name-" || true); do ip netns delete "$ns"; done
  if [ -d "$cgroup" ]; then
    for dir in "$cgroup"/*/; do [ -d "$dir" ] && rmdir "$dir"; done
    rmdir "$cgroup"
  fi
  rm -rf "$state"
}

# Per-namespace TCP settings for long, slow links: buffers and windows that hold the whole
# bandwidth-delay product from the first byte, no slow start after idle (a real fabric has none),
# so a message costs latency + size / rate as the cost model says.
tune_tcp() {
  local ns="$1"
  ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_rmem="4096 33554432 268435456" net.ipv4.tcp_wmem="4096 33554432 268435456" \
    net.ipv4.tcp_slow_start_after_idle=0 net.ipv4.tcp_no_metrics_save=1 net.ipv4.tcp_limit_output_bytes=268435456 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.arp_ignore=1 \
    net.ipv4.conf.all.arp_announce=2
}

# Namespaces and one veth per rank into the head namespace, which routes between ranks through
# the delay line (a tun device); the daemons' management network is a plain bridge. No shaping yet
# (the kernel rate is measured first).
make_network() {
  ip netns add "$head_ns"
  ip -n "$head_ns" link set lo up
  ip netns exec "$head_ns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  ip -n "$head_ns" link add mgmt type bridge
  ip -n "$head_ns" addr add 198.19.0.254/24 dev mgmt
  ip -n "$head_ns" link set mgmt up
  ip -n "$head_ns" tuntap add dev delay mode tun
  ip -n "$head_ns" link set delay mtu 9000 up
  # Packets from a rank go into the delay line; what it writes back goes to the destination rank.
  ip -n "$head_ns" route add 198.18.0.0/24 dev delay
  ip -n "$head_ns" rule add iif delay lookup 10 priority 10
  local n k ns address port
  for ((n = 0; n < nodes; n++)); do
    ns="fcp-$name-n$n"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    tune_tcp "$ns"
    # Open MPI's daemons talk over an unshaped management network, as on a real cluster.
    ip -n "$head_ns" link add "n${n}m" type veth peer name mgmt netns "$ns"
    ip -n "$head_ns" link set "n${n}m" master mgmt up
    ip -n "$ns" addr add "198.19.0.$((n + 1))/24" dev mgmt
    ip -n "$ns" link set mgmt up
    for ((k = 0; k < per_node; k++)); do
      address="198.18.0.$((n * per_node + k + 1))"
      port="n${n}r${k}"
      ip -n "$head_ns" link add "$port" type veth peer name "eth$k" netns "$ns"
      ip -n "$head_ns" link set "$port" mtu 9000 up
      ip netns exec "$head_ns" sysctl -q -w "net.ipv4.conf.$port.proxy_arp=1" "net.ipv4.conf.$port.rp_filter=0"
      ip -n "$head_ns" route add "$address/32" dev "$port" table 10
      ip -n "$ns" link set "eth$k" mtu 9000 up
      ip -n "$ns" addr add "$address/24" dev "eth$k" noprefixroute
      # Traffic from this rank's address leaves through its own link (policy routing).
      ip -n "$ns" rule add from "$address" lookup $((100 + k)) priority $((100 + k))
    done
  done
}

# Every rank link is rate-limited both ways (tbf: out of the rank's node, and from the head
# namespace into it), so a rank sends and receives at most the link rate; the delay line adds the
# one-way latency once per packet. Queues are long enough never to drop (a fabric with credit flow
# control does not drop either). TCP's own dynamics must not add to what the profile says a
# message costs (latency + size / rate): the congestion window of every rank's route is fixed at
# 1.5x the bandwidth-delay product (full rate from the first byte, no slow start, a bounded
# queue), and the minimum retransmission timeout sits above the longest queueing delay (no
# spurious retransmissions).
shape_links() {
  local n k burst limit window rto_ms
  burst=$((link_bits_per_s / 8 / 500 > 18000 ? link_bits_per_s / 8 / 500 : 18000))  # 2 ms of traffic, >= 2 frames
  limit=$((link_bits_per_s / 8 * 30 + burst))                                         # 30 s of traffic
  window=$((link_bits_per_s / 8 * 3 * link_delay_us / 1000000 / 8900 + 20))           # segments: 1.5 x rate x 2 x delay
  rto_ms=$((link_delay_us * 6 / 1000 + 1000))
  for ((n = 0; n < nodes; n++)); do
    for ((k = 0; k < per_node; k++)); do
      ip -n "fcp-$name-n$n" route add 198.18.0.0/24 dev "eth$k" src "198.18.0.$((n * per_node + k + 1))" table $((100 + k)) \
        cwnd lock "$window" initcwnd "$window" initrwnd "$window" rto_min "${rto_ms}ms"
      tc -n "fcp-$name-n$n" qdisc add dev "eth$k" root tbf rate "${link_bits_per_s}bit" burst "$burst" limit "$limit"
      tc -n "$head_ns" qdisc add dev "n${n}r${k}" root tbf rate "${link_bits_per_s}bit" burst "$burst" limit "$limit"
    done
  done
  touch "$state/delay-line.alive"
  ip netns exec "$head_ns" setsid /usr/bin/python3 "$helpers/delay-line.py" delay "$link_delay_us" "$state/delay-line.alive" \
    > "$state/delay-line.log" 2>&1 < /dev/null &
}

make_cgroups() {
  mkdir "$cgroup"
  local r dir period=20000
  for r in $(seq 0 $((ranks - 1))); do mkdir "$cgroup/rank$r"; done
  mkdir "$cgroup/calibration"
  for dir in "$cgroup"/*/; do
    echo "$period" > "$dir/cpu.cfs_period_us"
    echo "$(awk -v q="$quota" -v p="$period" 'BEGIN { printf "%d", q * p }')" > "$dir/cpu.cfs_quota_us"
  done
}

# The kernel rate of one rank under its quota: flexcp at one rank on the first batch of the input,
# attention FLOPs over kernel wall time (forward and backward, as the cost model counts them).
calibrate() {
  [ -x "$flexcp" ] || die "flexcp executable '$flexcp' not found: build first (cmake --build --preset release) or pass --flexcp"
  local out="$state/calibration.h5" log="$state/calibration.log"
  calibration_command="$flexcp run $calibrate_input --set 'run.strategies=[\"megatron-cp-ring\"]' --set run.steps=1 --set run.warmup_steps=0 --set run.check=false"
  in_head /bin/sh -c "echo \$\$ > $cgroup/calibration/cgroup.procs && exec mpirun -np 1 $calibration_command --out $out" \
    > "$log" 2>&1 || { cat "$log" >&2; die "calibration run failed (log above)"; }
  rate="$(/usr/bin/python3 -c "
import h5py, sys
with h5py.File('$out') as f:
    g = f['runs/megatron-cp-ring']
    print(f\"{g['rank_attn_flops'][()].sum() / g['compute_s'][()].sum() / 1e9:.4f}\")")"
}

# Whatever ends this script (failure, a signal), a cluster it was bringing up, or brought up for
# one command, is removed.
remove_on_exit=0
launcher=""
on_exit() {
  local rc=$?
  if [ -n "$launcher" ]; then kill -TERM "$launcher" 2> /dev/null || true; wait "$launcher" 2> /dev/null || true; fi
  if [ "$remove_on_exit" -eq 1 ]; then
    [ "$rc" -eq 0 ] || say "exit code $rc: removing cluster '$name'"
    teardown
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cmd_up() {
  if is_up; then die "cluster '$name' is already up (emulated-cluster.sh down --name $name first)"; fi
  local reason
  reason="$(check_machine)" || die "cannot emulate a cluster on this machine: $reason"
  if [ -z "$quota" ]; then quota="$(/usr/bin/python3 -c "print(round(min(1.0, 0.8 * $(nproc) / $ranks), 3))")"; fi
  remove_on_exit=1
  mkdir -p "$state"
  make_cgroups
  make_network
  calibration_command="--rate $rate (given)"
  if [ -z "$rate" ]; then calibrate; fi
  eval "$(/usr/bin/python3 "$helpers/network.py" "$profile" "$machine" "$rate" "$quota" "$nodes" "$per_node" "$name" \
    "$state/network.toml" "$calibration_command")"
  shape_links
  # The delay line is one Python process: it forwards about 8 MB/s in all on this project's
  # 2-core VM (measured without shaping), so the links together must stay well below that.
  if [ $((link_bits_per_s / 8 * ranks)) -gt 4000000 ]; then
    say "warning: $ranks links of $((link_bits_per_s / 8)) B/s exceed what the delay line forwards reliably (~4 MB/s in all):" \
      "transfers may be slower than the profile says"
  fi
  say "cluster '$name' up: $nodes node(s) x $per_node rank(s), CPU quota $quota core per rank," \
    "kernel rate $rate GFLOP/s per rank; dilation x$(printf %.0f "$dilation") of $(basename "$profile");" \
    "rank links $(/usr/bin/python3 -c "print(f'{$link_bits_per_s / 8e6:.3f}')") MB/s each way, one-way delay" \
    "$(/usr/bin/python3 -c "print(f'{$link_delay_us / 1e3:.1f}')") ms; network file $state/network.toml"
}

cmd_run() {
  [ ${#command[@]} -gt 0 ] || usage "run needs a command after --"
  is_up || cmd_up  # for this command alone: removed on exit (remove_on_exit stays 1)
  local dilation
  dilation="$(printf %.0f "$(shape_of_state dilation)")"
  if [[ "${command[0]}" == *flexcp && "${command[1]:-}" == run ]]; then
    command+=(--set "cluster.emulation=$state/network.toml")
  fi
  local hosts="" n
  for ((n = 0; n < nodes; n++)); do hosts+="${hosts:+,}n$n:$per_node"; done
  say "running on cluster '$name' (dilation x$dilation): ${command[*]}"
  # Eager messages up to 16 MiB: a send is written to the kernel's socket at once and crosses the
  # shaped link while the rank computes (the kernel is the progress engine, as a NIC would be).
  in_head mpirun -np "$ranks" --host "$hosts" --mca plm_rsh_agent "$helpers/rsh-agent" \
    --mca plm_rsh_no_tree_spawn 1 --mca oob_tcp_if_include 198.19.0.0/24 --mca btl self,vader,tcp --mca rtc ^hwloc \
    --mca btl_tcp_eager_limit 16777216 --mca btl_tcp_rndv_eager_limit 16777216 --mca btl_tcp_max_send_size 16777216 \
    -x FLEXCP_EMU_NAME -x FLEXCP_EMULATED_NETWORK "$helpers/rank" "${command[@]}" &
  launcher=$!
  local rc=0
  wait "$launcher" || rc=$?
  launcher=""
  say "done on cluster '$name' (dilation x$dilation), exit code $rc"
  return "$rc"
}

cmd_status() {
  if ! is_up; then echo "cluster '$name': down"; return 0; fi
  echo "cluster '$name': up; namespaces: $(ip netns list | awk '{print $1}' | grep "^fcp-$name-" | tr '\n' ' ')"
  cat "$state/network.toml"
}

case "$action" in
  up) cmd_up; remove_on_exit=0 ;;
  run) cmd_run ;;
  down) teardown; say "cluster '$name' down: namespaces, links, qdiscs and cgroups removed" ;;
  status) cmd_status ;;
  can-run) reason="$(check_machine)" || { echo "$reason"; exit 1; } ;;
  *) usage "unknown subcommand '$action'" ;;
esac
