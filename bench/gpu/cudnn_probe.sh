#!/usr/bin/env bash
# Runs the cuDNN backend-API SDPA probe (bench/gpu/cudnn_sdpa_probe.cpp) on a GPU machine, from
# the repository root, after the bundle's environment is set up:
#   source bench/gpu/bundle_env.sh /tmp/flexcp-bundle
#   bash bench/gpu/cudnn_probe.sh [probe arguments, e.g. --int64-offsets, --only slices, --no-timing]
# The binary: $CUDNN_PROBE if set, else the bundle's (BUNDLE, default /tmp/flexcp-bundle), else a
# local build. cuDNN's own error log goes to stderr (merged into the output), so a refused
# descriptor or plan comes with cuDNN's reason. Output also to $OUT/cudnn_probe.txt when OUT is set.
# Exit status: the probe's (0 all passed, 1 a case failed, 2 setup failed, 3 no device, 124 timeout).
set -uo pipefail
cd "$(dirname "$0")/../.."
bundle=${BUNDLE:-/tmp/flexcp-bundle}
probe=${CUDNN_PROBE:-}
if [ -z "$probe" ]; then
  for candidate in "$bundle/bin/flexcp_cudnn_probe" build/gpu-bundle/bench/flexcp_cudnn_probe \
                   build/release/bench/flexcp_cudnn_probe build/probe/bench/flexcp_cudnn_probe; do
    if [ -x "$candidate" ]; then probe=$candidate; break; fi
  done
fi
if [ -z "$probe" ]; then
  echo "cudnn_probe.sh: no flexcp_cudnn_probe binary (bundle $bundle/bin, build/*/bench); build it or set CUDNN_PROBE"
  exit 2
fi
log=/dev/null
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && log="$OUT/cudnn_probe.txt"; fi

# cuDNN's runtime-compiled engines (fused attention among them) dlopen NVRTC. bundle_env.sh adds
# the wheels' NCCL, cuDNN and cudart folders only; NVRTC's (cuda_nvrtc, or cu13 in CUDA 13 wheels)
# go last, so they fill a gap without shadowing anything.
for nvrtc_dir in $(find /opt /usr/local /usr/lib /root -maxdepth 8 -type d \( -path '*site-packages/nvidia/cuda_nvrtc/lib' \
                     -o -path '*site-packages/nvidia/cu13/lib' \) 2>/dev/null); do
  export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$nvrtc_dir"
done

# LOGERR: every failing backend call explains itself; LOGWARN would add warnings, LOGINFO floods.
export CUDNN_LOGERR_DBG=1 CUDNN_LOGDEST_DBG=stderr
{
  echo "== cudnn probe: $probe $*"
  echo "== libraries it resolves:"
  ldd "$probe" | grep -E "cudnn|cudart|not found" || true
  echo "== LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  timeout --kill-after=10 120 "$probe" "$@" 2>&1
  rc=$?
  echo "== cudnn probe exit status $rc"
  exit $rc
} 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"
