#!/usr/bin/env bash
# Fuzzes the input parsers (TOML input files, document-length files) with libFuzzer under ASan
# and UBSan: builds the `fuzz` preset (clang) and runs each fuzzer for FLEXCP_FUZZ_SECONDS
# (default 30) from the seeds in tests/fuzz/corpus. A finding fails the run and leaves the input
# as crash-*/timeout-* in build/fuzz/tests/fuzz (reproduce: build/fuzz/tests/fuzz/flexcp_fuzz_config FILE).
#   bash scripts/fuzz.sh
#   FLEXCP_FUZZ_SECONDS=600 bash scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang++ >/dev/null; then
  echo "clang++ missing: run scripts/install-deps.sh first" >&2
  exit 2
fi
cmake --preset fuzz -DFLEXCP_FUZZ_SECONDS="${FLEXCP_FUZZ_SECONDS:-30}" >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
ctest --preset fuzz  # each fuzzer runs in build/fuzz/tests/fuzz: crash and timeout files land there
