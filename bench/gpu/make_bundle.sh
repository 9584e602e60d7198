#!/usr/bin/env bash
# Builds, on this project's Debian 12 machine, what the GPU check runs on a GPU machine that has
# CUDA 13, NCCL and cuDNN (as PyTorch's wheels) but no MPI, HDF5, Kokkos, toml++ or GoogleTest:
# the CUDA-enabled binaries (portable x86-64, sm_90) and every shared library they load that such
# a machine lacks, with Open MPI's runtime (orted, mpirun, plugins, help texts) in a relocatable
# prefix. Output: .gpu-bundle/ and, compressed for the trip (about 14 MB instead of 54),
# .gpu-carry/bundle.tar.xz (both git-ignored); the device tool carries .gpu-carry and
# bench/gpu/verify_on_gpu.sh unpacks it.
#   bash bench/gpu/make_bundle.sh            # ~10 min on 2 cores from scratch
#   bash bench/gpu/make_bundle.sh --check    # also run the binaries with this machine's MPI,
#                                            # HDF5, ... hidden, to prove the bundle is complete
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build/gpu-bundle
bundle=.gpu-bundle
arch=x86_64-linux-gnu

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DFLEXCP_NATIVE=OFF -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$build" -j "$(nproc)" --target flexcp flexcp_gpu_tests flexcp_backend_tests flexcp_bench_device \
  flexcp_cudnn_probe

rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/usr/bin" "$bundle/usr/lib/$arch/openmpi/lib" "$bundle/usr/share"
cp "$build/src/flexcp" "$build/tests/flexcp_gpu_tests" "$build/tests/flexcp_backend_tests" "$build/bench/flexcp_bench_device" \
  "$build/bench/flexcp_cudnn_probe" "$bundle/bin/"
# Open MPI (Debian's layout, relocated with OPAL_PREFIX=<bundle>/usr) and its external PMIx.
cp /usr/bin/orted "$bundle/usr/bin/"
cp /usr/bin/orterun "$bundle/usr/bin/mpirun"
cp -r /usr/lib/$arch/openmpi/lib/openmpi3 "$bundle/usr/lib/$arch/openmpi/lib/"
cp -r /usr/share/openmpi "$bundle/usr/share/"
cp -r /usr/lib/$arch/pmix2 "$bundle/usr/lib/$arch/"

# Every library those ELF files load, resolved here, except the C runtime and the GPU stack,
# which the GPU machine has in versions matching its driver.
keep_out='^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libstdc\+\+|libgcc_s|libcuda|libcudart|libnccl|libcudnn|libnvrtc|libcublas)'
mapfile -t elves < <(find "$bundle" -type f \( -name '*.so*' -o -perm -u+x \) -exec sh -c 'head -c 4 "$1" | grep -q ELF' _ {} \; -print)
declare -A copied=()
for elf in "${elves[@]}"; do
  while read -r name path; do
    [[ "$name" =~ $keep_out ]] && continue
    [ -n "${copied[$name]:-}" ] && continue
    copied[$name]=1
    cp -L "$path" "$bundle/usr/lib/$arch/$name"
  done < <(ldd "$elf" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
done
mkdir -p .gpu-carry
tar -C "$bundle" -cJf .gpu-carry/bundle.tar.xz .
echo "make_bundle: ${#elves[@]} ELF files, ${#copied[@]} libraries, $(du -sh "$bundle" | cut -f1) in $bundle," \
     "$(du -sh .gpu-carry/bundle.tar.xz | cut -f1) in .gpu-carry/bundle.tar.xz"

if [ "${1:-}" = "--check" ]; then
  # Hide this machine's copies of everything the bundle carries (empty files and folders bound
  # over them in a private mount namespace), then run a one-rank flexcp and the test binary.
  # Whatever still resolves to the system shows up as a load failure here, not on the GPU.
  unshare -m bash -c '
    set -euo pipefail
    bundle=$1 arch=$2
    source bench/gpu/bundle_env.sh "$bundle"  # first: mount itself may load libraries hidden below
    empty=$(mktemp -d)
    : > "$empty/file"
    for lib in "$bundle"/usr/lib/$arch/*.so*; do
      target=/usr/lib/$arch/$(basename "$lib")
      [ -e "$target" ] && mount --bind "$empty/file" "$(readlink -f "$target")"
    done
    for dir in /usr/lib/$arch/openmpi /usr/lib/$arch/pmix2 /usr/share/openmpi /etc/openmpi; do
      mount --bind "$empty" "$dir"
    done
    for exe in /usr/bin/orted /usr/bin/orterun; do mount --bind "$empty/file" "$exe"; done
    "$bundle/bin/flexcp_gpu_tests" --gtest_filter="TensorCoreKernels.RefuseShapes*" | tail -n 3
    out=$(mktemp -d)
    "$bundle/bin/flexcp" run inputs/demo.toml --set "run.strategies=[\"flexcp\"]" --set run.steps=1 \
      --out "$out/check.h5" | tail -n 4
    mpirun -np 2 "$bundle/bin/flexcp" info | tail -n 3
  ' _ "$PWD/$bundle" "$arch"
fi
