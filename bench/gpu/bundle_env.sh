# Sourced (bash): the environment that runs the binaries of a .gpu-bundle (bench/gpu/make_bundle.sh)
# on a machine without Open MPI, HDF5 or Kokkos: libraries from the bundle first, Open MPI and
# PMIx relocated into it, Debian's default MCA parameters (its /etc/openmpi file is not
# relocatable) as environment variables, and the GPU stack (cudart, NCCL, cuDNN) from wherever
# that machine has it: its CUDA toolkit, or PyTorch's nvidia-* wheels.
#   source bench/gpu/bundle_env.sh /path/to/.gpu-bundle
bundle_root="$(cd "${1:?usage: source bench/gpu/bundle_env.sh BUNDLE}" && pwd)"
bundle_lib="$bundle_root/usr/lib/x86_64-linux-gnu"
gpu_libs=""
for dir in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$dir" ] && gpu_libs="$gpu_libs:$dir"
done
# PyTorch's wheels: nvidia/<name>/lib under some site-packages (NCCL and cuDNN live there).
for wheel_lib in $(find /opt /usr/local /usr/lib /root -maxdepth 8 -type d -path '*site-packages/nvidia/*/lib' \
                     \( -path '*nccl*' -o -path '*cudnn*' -o -path '*cuda_runtime*' \) 2>/dev/null); do
  gpu_libs="$gpu_libs:$wheel_lib"
done
export LD_LIBRARY_PATH="$bundle_lib:$bundle_lib/openmpi/lib${gpu_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$bundle_root/usr/bin:$PATH"
export OPAL_PREFIX="$bundle_root/usr"
export PMIX_INSTALL_PREFIX="$bundle_lib/pmix2" PMIX_MCA_mca_base_component_path="$bundle_lib/pmix2/lib/pmix"
export OMPI_MCA_btl_base_warn_component_unused=0 OMPI_MCA_mtl='^ofi' OMPI_MCA_btl='^uct,openib,ofi' \
       OMPI_MCA_pml='^ucx' OMPI_MCA_osc='^ucx,pt2pt'
export PMIX_MCA_pcompress_base_silence_warning=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset bundle_root bundle_lib gpu_libs wheel_lib
