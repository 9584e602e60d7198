#!/usr/bin/env bash
# Installs flexcp's build, test and post-processing dependencies from Debian 12 packages.
# Idempotent: when every package is already installed it only checks (a second or two) and
# never touches the network. Needs root (or sudo) for apt-get.
set -euo pipefail

packages=(
  build-essential cmake git pkg-config
  openmpi-bin libopenmpi-dev          # MPI (CPU data movement, bootstrap)
  libhdf5-dev hdf5-tools              # results files (serial HDF5, rank 0 writes)
  libtrilinos-kokkos-dev              # host attention kernels (Kokkos Serial backend)
  libtomlplusplus-dev libcli11-dev    # input files and command line
  coinor-libcbc-dev                   # FlexSP's MILP (COIN-OR CBC), solved per batch under a time limit
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  python3-h5py python3-numpy python3-matplotlib   # results read back; flexcp-report tables and plots
  slurm-wlm munge                     # job scripts, tested on a local Slurm (ctest label slurm)
  iproute2 util-linux                 # emulated cluster: ip, tc (namespaces, links, shaping), nsenter, unshare
  lmod help2man                       # install test: the generated module file (ctest label install); the man page
  clang                               # libFuzzer targets for the input parsers (scripts/fuzz.sh)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
