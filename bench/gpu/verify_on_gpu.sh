#!/usr/bin/env bash
# The GPU check, in one script, for a machine with one H100 or H200, CUDA 13 and PyTorch but no
# MPI, HDF5 or Kokkos and no network. Prepared on the project's machine with
#   bash bench/gpu/make_bundle.sh --check      # binaries + libraries -> .gpu-carry/bundle.tar.xz
# and run from the repository root on the GPU machine (the device tool carries .gpu-carry):
#   bash bench/gpu/verify_on_gpu.sh [--quick] [OUTDIR]   # OUTDIR: default $OUT, else results/gpu-check
#   --quick: steps 1-3 only (correctness, about a minute), e.g. after a change away from the kernels
# Steps (each bounded by a timeout; a failing step is reported and the next one still runs):
#   1. the machine: GPU, driver, CUDA, OS, PyTorch;
#   2. the gpu-labelled tests: kernels (flexcp's and cuDNN's, CudnnKernels.*; the known-failing
#      cuDNN cases are DISABLED_ and run with --gtest_also_run_disabled_tests) against the float64
#      reference, and the generic executors on CudaKernels at group sizes 1-4 as threads, with
#      each engine (they must pass, not skip);
#   3. `flexcp run` with backend cuda at one rank, fp32 and bf16, and a multimodal input (fp32),
#      checked against float64;
#   4. the kernel benchmark (packed documents and slice shapes) and PyTorch SDPA (flash, cuDNN)
#      on the same documents; tools/kernel_profile.py turns them into tables and the
#      [hardware.attention_kernel] profile table;
#   5. the smallest kernel test under compute-sanitizer memcheck and racecheck, and an ncu
#      profile of the forward, where they work.
# Worst case (every step at its limit) ~9.5 minutes; expected ~4.
# Files under OUTDIR (at most 8 come back): verify.log (everything), gpu-tests.txt, run.txt,
# device.json, sdpa.txt, summary.md, attention_kernel.toml, ncu.txt.
set -uo pipefail
cd "$(dirname "$0")/../.."
quick=false
if [ "${1:-}" = "--quick" ]; then quick=true; shift; fi
out="${1:-${OUT:-results/gpu-check}}"
mkdir -p "$out"
exec > >(tee "$out/verify.log") 2>&1
started=$SECONDS
declare -a report=()
step() {  # step NAME TIMEOUT_S LOG COMMAND...: run (output also appended to LOG), time, record
  local name=$1 limit=$2 log=$3
  shift 3
  echo "== $name (limit ${limit}s, at $((SECONDS - started))s)"
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  report+=("$(printf '%-30s rc=%-3s %4ss' "$name" "$rc" "$((SECONDS - t0))")")
}

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
nvcc --version | tail -n 1
ldd --version | head -n 1
grep PRETTY_NAME /etc/os-release
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)

bundle=/tmp/flexcp-bundle
rm -rf "$bundle" && mkdir -p "$bundle"
if ! tar -C "$bundle" -xJf .gpu-carry/bundle.tar.xz; then
  echo "FAIL: no bundle: run bench/gpu/make_bundle.sh here first and carry .gpu-carry"
  exit 1
fi
source bench/gpu/bundle_env.sh "$bundle"
bin=$bundle/bin
step "flexcp info" 30 /dev/null "$bin/flexcp" info

: > "$out/gpu-tests.txt"
step "gpu tests" 120 "$out/gpu-tests.txt" "$bin/flexcp_gpu_tests"
step "executors on CudaKernels" 120 "$out/gpu-tests.txt" "$bin/flexcp_backend_tests"
if grep -q "SKIPPED" "$out/gpu-tests.txt"; then echo "FAIL: GPU tests skipped on a GPU machine"; fi
echo "tensor-core instructions in the kernels (HMMA count): $(cuobjdump --dump-sass "$bin/flexcp_bench_device" 2>/dev/null | grep -c HMMA)"

: > "$out/run.txt"
# fp32 at the demo's head_dim 32 runs the SIMT kernels; bf16 at head_dim 128 the tensor-core ones
# (CudaKernels' bf16 default; cuDNN's engine is selected only explicitly, see cuda_backend.cpp).
# 3,072 tokens per batch: the float64 reference of the check runs on one host core (with the
# demo's 6,144 a d-128 run took 38-49 s on one GPU machine and over 70 s on another).
for case in "fp32 32 1e-4" "bf16 128 3e-2"; do
  read -r precision head_dim tolerance <<< "$case"
  step "flexcp run cuda $precision d$head_dim" 120 "$out/run.txt" "$bin/flexcp" run inputs/demo.toml \
    --set run.backend=cuda --set "run.precision=$precision" --set "model.head_dim=$head_dim" \
    --set batch.tokens_per_batch=3072 --set run.check_tolerance=$tolerance --set 'run.strategies=["flexcp"]' \
    --out "/tmp/run-$precision.h5" --force
done
# A multimodal step on the device at one rank (llm-centric and colocated; non-colocated needs
# two ranks): encoder attention, the projector's GEMMs, the boundary's block copies and the LLM,
# each placement checked against the float64 reference of the whole chain (exit 1 otherwise).
step "flexcp run cuda multimodal" 120 "$out/run.txt" "$bin/flexcp" run inputs/multimodal-demo.toml \
  --set run.backend=cuda --set batch.tokens_per_batch=2048 --set run.steps=1 \
  --out /tmp/run-multimodal.h5 --force

if ! $quick; then
step "device benchmark" 150 /dev/null "$bin/flexcp_bench_device" --benchmark_out="$out/device.json" \
  --benchmark_out_format=json --benchmark_counters_tabular=true
: > "$out/sdpa.txt"
step "sdpa benchmark" 100 "$out/sdpa.txt" env PYTHONUNBUFFERED=1 python3 bench/gpu/sdpa_bench.py
for backend in cudnn flash; do  # one process each: a fault in one backend leaves the other measured
  step "sdpa shapes $backend" 100 "$out/sdpa.txt" env PYTHONUNBUFFERED=1 python3 bench/gpu/sdpa_bench.py --shapes \
    --backends $backend
done
: > "$out/summary.md"
step "kernel profile" 20 "$out/summary.md" python3 tools/kernel_profile.py "$out/device.json" --sdpa "$out/sdpa.txt" \
  --toml "$out/attention_kernel.toml" --machine "$gpu_name" --date "$(date -u +%F)"

small="TensorCoreKernels.RowsWithoutVisibleKeysAndOffsetSlices"
if command -v compute-sanitizer > /dev/null; then
  step "memcheck (small case)" 60 /dev/null compute-sanitizer --tool memcheck --error-exitcode 9 \
    "$bin/flexcp_gpu_tests" --gtest_filter="$small"
  step "racecheck (small case)" 60 /dev/null compute-sanitizer --tool racecheck --error-exitcode 9 \
    "$bin/flexcp_gpu_tests" --gtest_filter="$small"
fi

# Where the forward's time goes (one packed case, both row layouts): tensor pipe, shared memory,
# issue slots. ncu reads counters on Firecracker machines only; --clock-control none leaves the
# card's clocks as they are.
if command -v ncu > /dev/null && [ -z "${SKIP_NCU:-}" ]; then  # SKIP_NCU=1: leave it out (short leases)
  : > "$out/ncu.txt"
  for rows in 16 32; do
    step "ncu forward w$rows" 60 "$out/ncu.txt" ncu --clock-control none -k regex:forward_kernel -c 1 \
      --section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy \
      "$bin/flexcp_bench_device" --benchmark_filter="packed_forward/tokens:32768/tc_f128w${rows}_b"
  done
fi

fi  # not quick

echo
echo "== correctness (worst per-document errors per kernel variant)"
grep "^\[ errors" "$out/gpu-tests.txt" | sed 's/^\[ errors   \] //' | sort -u | head -n 40
grep -E "^\[  (PASSED|FAILED) " "$out/gpu-tests.txt" | head -n 20
grep -E "check=|PASS|FAIL" "$out/run.txt" | grep -E "flexcp-summary|step" | head -n 6
echo
[ -s "$out/summary.md" ] && head -n 16 "$out/summary.md"
echo
echo "== steps"
printf '%s\n' "${report[@]}"
echo "== done in $((SECONDS - started))s"
