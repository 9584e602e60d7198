#!/usr/bin/env bash
# Quick start, step 1: install dependencies, build (release preset), run the demo job.
# The demo is a real MPI run of inputs/demo.toml: every strategy on the same batches, the
# comparison table, results/demo.h5. Where the machine allows it (root, network namespaces, tc),
# it runs on an emulated cluster of 2 nodes (scripts/emulated-cluster.sh: network slowed by the
# same factor as this CPU is slower than an H100, so communication costs what it would there);
# elsewhere it says so and runs the ranks on shared memory, where communication is nearly free.
#   sudo bash scripts/demo.sh            # on a fresh Debian 12 machine, as root
#   NP=8 bash scripts/demo.sh            # more ranks (2 emulated nodes of NP / 2)
#   EMULATED=0 bash scripts/demo.sh      # shared memory even where a cluster can be emulated
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
mkdir -p results
np="${NP:-4}"
demo=(build/release/src/flexcp run inputs/demo.toml --out results/demo.h5 --force)

why_not=""
if [ "${EMULATED:-1}" = 0 ]; then
  why_not="EMULATED=0 was given"
elif [ $((np % 2)) -ne 0 ]; then
  why_not="NP=$np is odd (2 emulated nodes need an even rank count)"
elif ! why_not="$(bash scripts/emulated-cluster.sh can-run)"; then
  :
else
  why_not=""
fi

if [ -z "$why_not" ]; then
  echo "+ on an emulated cluster of 2 nodes x $((np / 2)) ranks (H100 profile, time-dilated; about 10 minutes):"
  echo "+ scripts/emulated-cluster.sh run --name demo --nodes 2 --ranks-per-node $((np / 2)) --calibrate inputs/demo.toml -- ${demo[*]}"
  bash scripts/emulated-cluster.sh run --name demo --nodes 2 --ranks-per-node $((np / 2)) --calibrate inputs/demo.toml -- "${demo[@]}"
  exit
fi

echo "demo: NOT on an emulated cluster ($why_not): the ranks share memory, so communication is"
echo "demo: nearly free and the measured speedups say little about a cluster (see docs/emulated-cluster.md)."
launcher=(mpirun -np "$np" --oversubscribe)
[ "$(id -u)" -eq 0 ] && launcher+=(--allow-run-as-root)
echo "+ ${launcher[*]} ${demo[*]}"
"${launcher[@]}" "${demo[@]}"
