#!/bin/bash
# The emulated cluster end to end (ctest label netem): brings up 2 nodes x 2 ranks with a small
# test profile, then checks that the ranks run in their node's namespace (distinct per node, not
# this one), with their hostname and CPU cgroup; that a link really is shaped (a small message
# takes the one-way delay, a large one crosses at about the shaped rate, not the GB/s of an
# unshaped veth); that flexcp run executes every strategy on it, passes the correctness check and
# records the emulated network and the per-phase comparison; that `down` leaves nothing behind;
# and that a failing command and a SIGTERM tear a one-shot cluster down too.
# Needs root, network namespaces, tc tbf, tun devices, cgroup v1 cpu and Open MPI; exits 77
# (ctest: skipped, never passed) without them.
#   tests/netem/emulated_cluster_test.sh FLEXCP_BINARY
set -euo pipefail
flexcp="$(realpath "${1:?usage: emulated_cluster_test.sh FLEXCP_BINARY}")"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cluster="$repo/scripts/emulated-cluster.sh"
probe="$repo/tests/netem/link_probe.py"
if ! reason="$(bash "$cluster" can-run)"; then echo "SKIP: $reason"; exit 77; fi

name="ct$(($$ % 100000))"
tmp="$(mktemp -d /tmp/flexcp-netem.XXXXXX)"
cleanup() {
  local rc=$?
  bash "$cluster" down --name "$name" > /dev/null 2>&1 || true
  bash "$cluster" down --name "${name}x" > /dev/null 2>&1 || true
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*"; exit 1; }

# Nothing of cluster $1 is left: namespaces, cgroups, state, processes (the delay line), and
# none of its links or addresses ever appeared in this namespace.
assert_gone() {
  ! ip -o link show | awk '{print $2}' | grep -Eq '^(n[0-9]+(r[0-9]+|m)|delay|mgmt)[:@]' || fail "cluster links in this namespace"
  ! ip -o addr show | grep -Eq ' 198\.1[89]\.' || fail "cluster addresses in this namespace"
  ! ip netns list | grep -q "^fcp-$1-" || fail "namespaces of cluster $1 left: $(ip netns list | grep "^fcp-$1-")"
  [ ! -e "/sys/fs/cgroup/cpu/flexcp-$1" ] || fail "cgroup /sys/fs/cgroup/cpu/flexcp-$1 left"
  [ ! -e "/run/flexcp-emulated/$1" ] || fail "state /run/flexcp-emulated/$1 left"
  ! pgrep -f "flexcp-emulated/$1/delay-line" > /dev/null || fail "delay line of cluster $1 still running"
}

# A test profile: with --rate 10 (GFLOP/s per rank) the dilation is 1,000 / 10 = 100, so links run
# at 0.1 GB/s / 100 = 1 MB/s (byte scale 1: the profile has 4-byte elements) with 0.5 ms x 100 = 50 ms.
cat > "$tmp/profile.toml" << 'EOF'
[hardware]
name = "netem-test"
matmul_tflops = 1
attention_tflops = 1
intra_node_gbps = 5
inter_node_gbps = 0.1
inter_node_latency_us = 500
a2a_intra_node_gbps = 3
memory_gib = 4
element_bytes = 4
EOF
rate_expected=1000000 delay_expected=0.050
start=$SECONDS
bash "$cluster" up --name "$name" --nodes 2 --ranks-per-node 2 --profile "$tmp/profile.toml" --rate 10 --cpu-quota 0.4 \
  2> "$tmp/up.log" || { cat "$tmp/up.log"; fail "up failed"; }
grep -q "dilation x100 " "$tmp/up.log" || fail "up does not state the dilation x100: $(cat "$tmp/up.log")"

# 1. Ranks in their nodes' namespaces, hostnames and cgroups.
bash "$cluster" run --name "$name" --nodes 2 --ranks-per-node 2 -- /bin/sh -c \
  'echo "rank $OMPI_COMM_WORLD_RANK $(readlink /proc/self/ns/net) $(hostname) $(grep ":cpu:" /proc/self/cgroup)"' \
  > "$tmp/ranks.txt" 2> "$tmp/run.log" || { cat "$tmp/run.log"; fail "run of a shell command failed"; }
sort "$tmp/ranks.txt" > "$tmp/ranks.sorted"
[ "$(grep -c '^rank ' "$tmp/ranks.sorted")" -eq 4 ] || fail "expected 4 ranks: $(cat "$tmp/ranks.txt")"
ns_of() { awk -v r="$1" '$2 == r {print $3}' "$tmp/ranks.sorted"; }
own_ns="$(readlink /proc/self/ns/net)"
[ "$(ns_of 0)" = "$(ns_of 1)" ] && [ "$(ns_of 2)" = "$(ns_of 3)" ] || fail "ranks of one node in different namespaces"
[ "$(ns_of 0)" != "$(ns_of 2)" ] || fail "both nodes in one namespace: $(cat "$tmp/ranks.sorted")"
[ "$(ns_of 0)" != "$own_ns" ] && [ "$(ns_of 2)" != "$own_ns" ] || fail "ranks run in this test's own namespace"
for r in 0 1 2 3; do
  grep -q "^rank $r .* n$((r / 2)) [0-9]*:cpu:/flexcp-$name/rank$r$" "$tmp/ranks.sorted" ||
    fail "rank $r: wrong host or cgroup: $(grep "^rank $r " "$tmp/ranks.sorted")"
done

# 2. The link is shaped: rank 0's address (node 0) to rank 2's (node 1).
ip netns exec "fcp-$name-n1" timeout 60 /usr/bin/python3 "$probe" recv 198.18.0.3 5201 &
receiver=$!
sleep 0.5
measured="$(ip netns exec "fcp-$name-n0" timeout 60 /usr/bin/python3 "$probe" send 198.18.0.1 198.18.0.3 5201 2000000)"
wait "$receiver"
eval "$measured"
echo "link: $measured (shaped: $rate_expected B/s, one-way $delay_expected s)"
awk -v m="$rate_bytes_per_s" -v e="$rate_expected" 'BEGIN { exit !(m < 1.5 * e && m > 0.3 * e) }' ||
  fail "rate $rate_bytes_per_s B/s is not about the shaped $rate_expected B/s"
awk -v m="$latency_s" -v e="$delay_expected" 'BEGIN { exit !(m > 0.9 * e && m < 3 * e) }' ||
  fail "one-way latency $latency_s s is not about the shaped $delay_expected s"

# 3. flexcp run: every strategy, checked, with the emulated network in the results file.
cat > "$tmp/input.toml" << EOF
[model]
q_heads = 4
kv_heads = 2
head_dim = 8
[batch]
lengths = [300, 7, 41, 900, 2, 133, 64, 517]
[cluster]
hardware = "$repo/inputs/hardware/cpu-dev.toml"
[run]
strategies = ["megatron-cp-ring", "megatron-cp-allgather", "ulysses", "flexsp", "flexcp"]
steps = 1
warmup_steps = 1
EOF
bash "$cluster" run --name "$name" --nodes 2 --ranks-per-node 2 -- "$flexcp" run "$tmp/input.toml" --out "$tmp/run.h5" \
  > "$tmp/flexcp.log" 2>&1 || { tail -40 "$tmp/flexcp.log"; fail "flexcp run on the emulated cluster failed"; }
grep -q "^# Emulated cluster: netem-test dilated x100 " "$tmp/flexcp.log" || fail "the header does not state the dilation"
grep -q "^# On an emulated cluster: netem-test dilated x100 " "$tmp/flexcp.log" || fail "the phase table does not state the dilation"
[ "$(grep -c 'PASS$' "$tmp/flexcp.log")" -eq 5 ] || fail "not every strategy passed the correctness check"
/usr/bin/python3 - "$tmp/run.h5" "$name" << 'EOF' || fail "results file check failed"
import sys, h5py
path, name = sys.argv[1:]
with h5py.File(path) as f:
    e = f["emulation"].attrs
    assert abs(e["dilation"] - 100) < 1e-9 and e["nodes"] == 2 and e["ranks_per_node"] == 2, dict(e)
    assert e["namespaces"] == f"fcp-{name}-head fcp-{name}-n0 fcp-{name}-n1", e["namespaces"]
    assert abs(e["link_gbps"] - 0.001) < 1e-12 and abs(e["link_delay_ms"] - 50) < 1e-9, dict(e)
    assert "dilated x100" in f.attrs["config_toml"], "the run was not planned on the dilated profile"
    assert f.attrs["nnodes"] == 2
    for name in ("megatron-cp-ring", "megatron-cp-allgather", "ulysses", "flexsp", "flexcp"):
        p = f["runs"][name]["phases"]
        for phase in ("compute", "exposed_comm", "step"):
            measured, modelled = p[f"measured_{phase}_s"][()], p[f"modelled_{phase}_s"][()]
            assert len(measured) == 1 and (measured >= 0).all() and (modelled >= 0).all(), (name, phase)
        assert p["measured_step_s"][0] > 0 and p["modelled_step_s"][0] > 0, name
EOF

# 4. down removes everything.
bash "$cluster" down --name "$name" 2> /dev/null
assert_gone "$name"

# 5. A one-shot cluster goes away when its command fails, and when the script is stopped.
rc=0
bash "$cluster" run --name "${name}x" --nodes 2 --ranks-per-node 1 --profile "$tmp/profile.toml" --rate 10 -- /bin/false \
  2> "$tmp/false.log" || rc=$?
[ "$rc" -ne 0 ] || fail "a failing command reported success"
assert_gone "${name}x"
bash "$cluster" run --name "${name}x" --nodes 2 --ranks-per-node 1 --profile "$tmp/profile.toml" --rate 10 -- /bin/sleep 60 \
  2> "$tmp/term.log" &
script=$!
for _ in $(seq 100); do grep -q "running on cluster" "$tmp/term.log" && break; sleep 0.1; done
grep -q "running on cluster" "$tmp/term.log" || fail "one-shot cluster did not come up: $(cat "$tmp/term.log")"
sleep 1  # mpirun has started its daemons and ranks in the namespaces
kill -TERM "$script"
rc=0
wait "$script" || rc=$?
[ "$rc" -eq 143 ] || fail "stopped by SIGTERM: exit code $rc, expected 143"
assert_gone "${name}x"
echo "PASS: emulated cluster end to end in $((SECONDS - start)) s"
