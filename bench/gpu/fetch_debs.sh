#!/usr/bin/env bash
# On a Debian 12 machine (this project's), download the .deb files bench/gpu/verify_on_gpu.sh
# unpacks on the GPU machine, which has CUDA and PyTorch but no MPI and no network: the
# packages flexcp builds against and every dependency of them that a plain Ubuntu/Debian
# CUDA image lacks. Into .gpu-debs/ (ignored by git; carried to the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
wanted=(openmpi-bin libopenmpi-dev libhdf5-dev libtrilinos-kokkos-dev libtomlplusplus-dev libcli11-dev
        libgtest-dev libbenchmark-dev)
mkdir -p .gpu-debs
cd .gpu-debs
# Every package these depend on (no recommends), minus the base system every image has.
mapfile -t deps < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances "${wanted[@]}" | grep -E '^[a-z0-9]' | sort -u)
skip='^(libc6|libc6-dev|libgcc-s1|libstdc\+\+6|gcc-.*|g\+\+.*|cpp.*|perl.*|python3.*|debconf.*|dpkg|tar|zlib1g|libzstd1|liblzma5|libbz2-1.0|libcrypt1|libselinux1|libpcre2.*|coreutils|bash|sensible-utils|libgnutls30|libssl3|libsystemd0|libudev1|init-system-helpers|adduser|passwd|login|util-linux|mount|lsb-base|sysvinit-utils)$'
for p in "${deps[@]}"; do
  [[ "$p" =~ $skip ]] && continue
  apt-get download "$p" > /dev/null 2>&1 || echo "fetch_debs: no candidate for $p (virtual or already in the base image)"
done
du -sh .
