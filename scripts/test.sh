#!/usr/bin/env bash
# Quick start, step 2: build and run the whole test suite (unit, MPI at np 1-8, CLI).
#   bash scripts/test.sh           # release preset
#   bash scripts/test.sh asan      # AddressSanitizer + UBSan preset
#   bash scripts/test.sh debug -L mpi   # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
if ! command -v mpirun >/dev/null || ! dpkg-query -W libhdf5-dev >/dev/null 2>&1 ||
   ! dpkg-query -W coinor-libcbc-dev >/dev/null 2>&1; then
  echo "dependencies missing: run scripts/install-deps.sh (or scripts/demo.sh) first" >&2
  exit 2
fi
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)" "$@"
