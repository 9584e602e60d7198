#!/bin/bash
# The site profiles (jobscripts/env/*.sh) without a Slurm: each sets the srun MPI type and CPU
# binding run.sbatch launches with, to values srun accepts; the Slingshot profiles carry the
# libfabric CXI settings the sites document; and run.sbatch refuses (exit 2, before srun) a
# profile that does not say how to launch, or one that does not exist.
#   tests/slurm/profiles_test.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
fail() { echo "FAIL: $*"; exit 1; }

for profile in "$repo"/jobscripts/env/*.sh; do
  name="$(basename "$profile" .sh)"
  # A fresh shell per profile: nothing leaks from one into the next.
  read -r mpi bind < <(env -i HOME="$HOME" PATH="$PATH" bash -c \
    'set -eu; source "$1"; echo "${FLEXCP_SRUN_MPI:-unset} ${FLEXCP_SRUN_CPU_BIND:-unset}"' _ "$profile")
  case "$mpi" in pmix|pmix_v*|pmi2|cray_shasta|none) ;; *) fail "$name: FLEXCP_SRUN_MPI='$mpi'" ;; esac
  case "$bind" in none|cores|threads|sockets|ldoms|rank|map_cpu:*|mask_cpu:*|verbose,*) ;; *) fail "$name: FLEXCP_SRUN_CPU_BIND='$bind'" ;; esac
  echo "# $name: srun --mpi=$mpi --cpu-bind=$bind"
done

# Cray MPICH is launched through Cray's PMI, Open MPI through PMIx.
[ "$(bash -c 'source "$1"; echo "$FLEXCP_SRUN_MPI"' _ "$repo/jobscripts/env/slingshot-cray-mpich.sh")" = cray_shasta ] \
  || fail "slingshot-cray-mpich does not launch with cray_shasta"
for name in slingshot slingshot-cray-mpich; do
  values="$(env -i PATH="$PATH" bash -c 'source "$1"; env' _ "$repo/jobscripts/env/$name.sh")"
  for setting in FI_PROVIDER=cxi FI_CXI_RX_MATCH_MODE=hybrid FI_CXI_DEFAULT_CQ_SIZE=131072 FI_CXI_DEFAULT_TX_SIZE= \
                 FI_CXI_RDZV_PROTO=alt_read FI_CXI_RDZV_THRESHOLD= FI_CXI_DISABLE_HOST_REGISTER=1 FI_MR_CACHE_MONITOR=; do
    grep -q "^$setting" <<< "$values" || fail "$name: no $setting"
  done
done
# The Open MPI component choice is not left behind for Cray MPICH (it would mislead provenance).
env -i PATH="$PATH" bash -c 'source "$1"; env' _ "$repo/jobscripts/env/slingshot-cray-mpich.sh" | grep -q '^OMPI_MCA_' \
  && fail "slingshot-cray-mpich exports OMPI_MCA_*"

# run.sbatch refuses a profile that does not say how to launch, and a missing one, before srun.
tmp="$(mktemp -d /tmp/flexcp-profiles.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/jobscripts/env"
echo 'export NCCL_DEBUG=WARN' > "$tmp/jobscripts/env/incomplete.sh"
expect_refusal() {  # $1: profile; $2: fragment of the message
  local rc=0 err
  err="$(cd "$tmp" && FLEXCP_ENV="$1" SLURM_SUBMIT_DIR="$tmp" PATH="/nonexistent:$PATH" \
         bash "$repo/jobscripts/run.sbatch" input.toml 2>&1 > /dev/null)" || rc=$?
  [ "$rc" -eq 2 ] || fail "profile $1: run.sbatch exit $rc, expected 2 ($err)"
  grep -q -- "$2" <<< "$err" || fail "profile $1: message lacks '$2': $err"
}
expect_refusal incomplete "does not set FLEXCP_SRUN_MPI"
expect_refusal missing "no site profile"
echo "# profiles: every one says how srun launches; Slingshot carries the FI_CXI settings"
