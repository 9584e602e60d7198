#!/usr/bin/env bash
# Quick start, step 1: install dependencies, build (release preset), run the demo job.
# The demo is a real MPI run: 4 ranks (oversubscribed on small machines) execute the input
# inputs/demo.toml, print the comparison table and write results/demo.h5.
#   sudo bash scripts/demo.sh            # on a fresh Debian 12 machine, as root
#   NP=8 bash scripts/demo.sh            # more ranks
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
mkdir -p results
np="${NP:-4}"
launcher=(mpirun -np "$np" --oversubscribe)
[ "$(id -u)" -eq 0 ] && launcher+=(--allow-run-as-root)
echo "+ ${launcher[*]} build/release/src/flexcp run inputs/demo.toml --out results/demo.h5 --force"
"${launcher[@]}" build/release/src/flexcp run inputs/demo.toml --out results/demo.h5 --force
