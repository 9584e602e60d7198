#!/usr/bin/env bash
# The GPU check of the GPU issue, in one script, for a machine with one H100 or H200 (CUDA 13,
# PyTorch, no MPI, no network). From the repository root:
#   bash bench/gpu/verify_on_gpu.sh [OUTDIR]
# 1. Debian packages flexcp builds against (MPI, HDF5, Kokkos, toml++, CLI11, GoogleTest, Google
#    Benchmark) come as .deb files carried in .gpu-debs/ (made on a Debian 12 machine with
#    bench/gpu/fetch_debs.sh) and are unpacked into .gpu-prefix/ (dpkg -x, not into /).
# 2. Configures and builds the CUDA targets for sm_90: the kernel tests, flexcp, the device bench.
# 3. Runs the kernel tests against the float64 reference (ctest label gpu: they must PASS here,
#    not skip), `flexcp run` with backend cuda at one rank (fp32, then bf16), the device kernel
#    benchmark, and PyTorch's SDPA on the same documents.
# Everything it prints is also written under OUTDIR (default $OUT, else results/gpu-check).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-${OUT:-results/gpu-check}}"
mkdir -p "$out"
exec > >(tee "$out/verify.log") 2>&1

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
nvcc --version | tail -n 2

prefix="$PWD/.gpu-prefix"
if [ -d .gpu-debs ]; then
  mkdir -p "$prefix"
  for deb in .gpu-debs/*.deb; do dpkg -x "$deb" "$prefix"; done
fi
arch_lib="$prefix/usr/lib/x86_64-linux-gnu"
export PATH="$prefix/usr/bin:$PATH"
export LD_LIBRARY_PATH="$arch_lib:$arch_lib/openmpi/lib:${LD_LIBRARY_PATH:-}"
export OPAL_PREFIX="$prefix/usr/lib/x86_64-linux-gnu/openmpi"  # relocated Open MPI finds its plugins
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cmake -S . -B build/gpu -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCMAKE_PREFIX_PATH="$prefix/usr;$arch_lib/cmake" -DMPI_HOME="$arch_lib/openmpi" \
  -DHDF5_ROOT="$prefix/usr" -DFLEXCP_BUILD_TESTS=ON -DFLEXCP_BUILD_BENCH=ON
cmake --build build/gpu -j "$(nproc)" --target flexcp flexcp_gpu_tests flexcp_bench_device

echo "== kernel tests against the float64 reference (label gpu)"
(cd build/gpu && ctest -L gpu --output-on-failure) | tee "$out/gpu-tests.txt"
if grep -q "Skipped" "$out/gpu-tests.txt"; then echo "FAIL: GPU tests skipped on a GPU machine"; exit 1; fi

echo "== flexcp run, backend cuda, one rank"
for precision in fp32 bf16; do
  tolerance=1e-4
  [ "$precision" = bf16 ] && tolerance=3e-2
  build/gpu/src/flexcp run inputs/demo.toml --set run.backend=cuda --set "run.precision=$precision" \
    --set run.check_tolerance=$tolerance --set 'run.strategies=["flexcp"]' --out "$out/run-$precision.h5" --force \
    | tee "$out/run-$precision.txt"
done

echo "== device kernels vs PyTorch SDPA (H_q 32, H_kv 8, d 128, bf16)"
build/gpu/bench/flexcp_bench_device --benchmark_counters_tabular=true --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true | tee "$out/device-bench.txt"
python3 bench/gpu/sdpa_bench.py | tee "$out/sdpa-bench.txt"
echo "== done: compare device-bench.txt (TFLOPS column, medians) with sdpa-bench.txt"
