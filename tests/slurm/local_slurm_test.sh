#!/bin/bash
# The job scripts, for real: starts a private Slurm on this machine (munged, slurmctld, and two
# slurmd as two emulated nodes), submits jobscripts/run.sbatch once and a two-point weak-scaling
# sweep (jobscripts/sweep.sh, report job chained with afterany), waits with a bounded timeout,
# checks every results file and the report, and stops every daemon it started, by PID, whatever
# happens (trap). Needs root and Debian's slurm-wlm and munge; exits 77 (ctest: skipped) without.
#   tests/slurm/local_slurm_test.sh FLEXCP_BINARY
set -euo pipefail
flexcp="$(realpath "${1:?usage: local_slurm_test.sh FLEXCP_BINARY}")"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
for tool in slurmctld slurmd munged sbatch squeue scancel; do
  command -v "$tool" > /dev/null || { echo "SKIP: $tool not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: starting slurmd needs root"; exit 77; }

tmp="$(mktemp -d /tmp/flexcp-slurm.XXXXXX)"
pids=()
cleanup() {
  local rc=$?
  if [ -n "${SLURM_CONF:-}" ]; then scancel --quiet --user=root 2> /dev/null || true; fi
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    echo "--- failed (exit $rc); logs:"
    tail -n 30 "$tmp"/*.log "$tmp"/results/*.out 2> /dev/null || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# munge: a private daemon, key and socket (the system's may not run, or may belong to another user).
mkdir -p "$tmp/munge" && chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none && chmod 400 "$tmp/munge/munge.key"
munged --foreground --force --socket="$tmp/munge/munge.sock" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge/seed" &
pids+=($!)

host="$(hostname)"
base_port=$((20000 + RANDOM % 20000))  # ports of this instance only: parallel runs do not collide
write_conf() {  # $1: directory; $2: this node's PMIx temp dir
  mkdir -p "$1"
  cat > "$1/slurm.conf" <<CONF
ClusterName=flexcptest
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${base_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool/%n
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd-%n.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd-%n.log
NodeName=n[1-2] NodeHostname=${host} NodeAddr=127.0.0.1 Port=[$((base_port + 1))-$((base_port + 2))] CPUs=8 State=UNKNOWN
PartitionName=test Nodes=n[1-2] Default=YES MaxTime=INFINITE State=UP
CONF
  echo "PMIxCliTmpDirBase=$2" > "$1/mpi.conf"
  mkdir -p "$2"
}
mkdir -p "$tmp/state" "$tmp/spool/n1" "$tmp/spool/n2" "$tmp/results"
write_conf "$tmp/conf-n1" "$tmp/pmix-n1"
write_conf "$tmp/conf-n2" "$tmp/pmix-n2"
export SLURM_CONF="$tmp/conf-n1/slurm.conf"

for _ in $(seq 50); do [ -S "$tmp/munge/munge.sock" ] && break; sleep 0.1; done
slurmctld -D -f "$SLURM_CONF" > "$tmp/slurmctld.stdout.log" 2>&1 &
pids+=($!)
for n in n1 n2; do
  slurmd -D -f "$tmp/conf-$n/slurm.conf" -N "$n" > "$tmp/slurmd-$n.stdout.log" 2>&1 &
  pids+=($!)
done

deadline=$((SECONDS + 60))
until [ "$(sinfo -h -o '%T' 2> /dev/null | grep -c idle)" -ge 1 ] && [ "$(sinfo -h -N -o '%T' | grep -c idle)" -eq 2 ]; do
  [ $SECONDS -lt $deadline ] || { echo "FAIL: nodes not idle after 60 s"; sinfo -N || true; exit 1; }
  sleep 0.5
done
echo "# local Slurm up: $(sinfo -h -N -o '%N %T' | tr '\n' ' ')"

cat > "$tmp/input.toml" <<TOML
[model]
name = "slurm-test"
q_heads = 4
kv_heads = 2
head_dim = 8
[batch]
dataset = "$repo/inputs/datasets/c-headers.txt"
tokens_per_batch = 256
[cluster]
hardware = "$repo/inputs/hardware/cpu-dev.toml"
[run]
strategies = ["megatron-cp-ring", "flexcp"]
steps = 2
warmup_steps = 1
TOML

cd "$repo"
export FLEXCP_BIN="$flexcp" FLEXCP_RESULTS="$tmp/results"
single=$(sbatch --parsable --nodes=2 --ntasks-per-node=2 --time=5 --output="$tmp/results/flexcp-%j.out" \
         jobscripts/run.sbatch "$tmp/input.toml")
sweep_dir=$(jobscripts/sweep.sh --nodes "1 2" --tasks-per-node 2 --mode weak --tokens-per-rank 64 --time 00:05:00 \
            "$tmp/input.toml" | tail -n 1)
mapfile -t sweep_jobs < "$sweep_dir/jobs.txt"
report_job=$(cat "$sweep_dir/report_job.txt")
echo "# submitted: run $single, sweep ${sweep_jobs[*]}, report $report_job"

deadline=$((SECONDS + 300))
while [ -n "$(squeue -h -o %i)" ]; do
  [ $SECONDS -lt $deadline ] || { echo "FAIL: jobs still queued or running after 300 s"; squeue; exit 1; }
  sleep 1
done

/usr/bin/python3 - "$tmp/results" "$single" "$sweep_dir" "${sweep_jobs[@]}" <<'PY'
import os, sys
import h5py
results, single, sweep_dir, *points = sys.argv[1:]
def check(cond, msg):
    if not cond:
        sys.exit(f"FAIL: {msg}")
def run_file(job, ranks, nodes):
    path = os.path.join(results, job, "results.h5")
    check(os.path.exists(path), f"job {job}: no {path}; job output:\n" + open(os.path.join(results, f"flexcp-{job}.out")).read())
    with h5py.File(path, "r") as f:
        check(f.attrs["status"] == "complete", f"{path}: status {f.attrs['status']}")
        check(f.attrs["nranks"] == ranks and f.attrs["nnodes"] == nodes, f"{path}: {f.attrs['nranks']} ranks on {f.attrs['nnodes']} nodes")
        for name in ("megatron-cp-ring", "flexcp"):
            g = f["runs"][name]
            check(g["step_time_s"].shape == (2,) and g["check"].attrs["passed"] == 1, f"{path}: {name}")
        # Provenance from inside the job: Slurm's job id and cluster, the local profile's Open MPI
        # settings, a host per rank.
        p = f["provenance"]
        check(p.attrs["slurm_job_id"] == job and p.attrs["slurm_cluster_name"] == "flexcptest",
              f"{path}: slurm_job_id {p.attrs['slurm_job_id']!r}, cluster {p.attrs['slurm_cluster_name']!r}")
        check(p["environment"].attrs.get("OMPI_MCA_btl") == "self,tcp", f"{path}: profile's OMPI_MCA_btl not recorded")
        check(p["hosts"].shape == (ranks,), f"{path}: hosts {p['hosts'].shape}")
    for extra in ("resolved.toml", "input.toml"):
        check(os.path.exists(os.path.join(results, job, extra)), f"job {job}: no {extra}")
    out = open(os.path.join(results, f"flexcp-{job}.out")).read()
    check("flexcp-summary strategy=flexcp" in out, f"job {job}: no summary line in its output")
    check("# srun --mpi=pmix --cpu-bind=none" in out, f"job {job}: not launched as the local profile says")
run_file(single, 4, 2)                 # 2 Slurm nodes = 2 nodes to MPI (one per slurmd)
run_file(points[0], 2, 1)
run_file(points[1], 4, 2)
report = os.path.join(sweep_dir, "report")
for name in ("summary.md", "summary.csv", "scaling.md", "scaling.csv", "throughput.png", "throughput_ratio.png"):
    check(os.path.exists(os.path.join(report, name)), f"report lacks {name}")
scaling = open(os.path.join(report, "scaling.csv")).read()
check(scaling.count("flexcp") == 2, f"scaling.csv should hold flexcp at 2 and 4 ranks:\n{scaling}")
print("# slurm test: every results file complete, every check passed, report written")
PY
