# Finds flexcp's dependencies (all Debian packages, see scripts/install-deps.sh) and papers over
# the known packaging problems so the rest of the build can use plain imported targets.

find_package(MPI REQUIRED COMPONENTS CXX)
find_package(HDF5 REQUIRED COMPONENTS C HL)  # HL: dimension scales (H5DS) on results files
find_package(tomlplusplus REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)

# COIN-OR CBC (coinor-libcbc-dev) solves FlexSP's MILP. Debian ships a pkg-config file, no CMake config.
find_package(PkgConfig REQUIRED)
pkg_check_modules(FLEXCP_CBC IMPORTED_TARGET cbc)
if(NOT FLEXCP_CBC_FOUND)
  message(FATAL_ERROR "flexcp: COIN-OR CBC not found (pkg-config cbc): install coinor-libcbc-dev, "
                      "or run scripts/install-deps.sh")
endif()

# Debian's Trilinos Kokkos config lists /usr/lib/include, which does not exist, as an include
# directory of Kokkos::kokkos and CMake refuses to use the target. Point it at the real headers.
find_package(Kokkos REQUIRED)
foreach(kokkos_target Kokkos::kokkos Kokkos::kokkoscore)
  if(TARGET ${kokkos_target})
    get_target_property(kokkos_aliased ${kokkos_target} ALIASED_TARGET)
    if(NOT kokkos_aliased)
      set(kokkos_aliased ${kokkos_target})
    endif()
    set_target_properties(${kokkos_aliased} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "")
  endif()
endforeach()
find_path(FLEXCP_KOKKOS_INCLUDE_DIR Kokkos_Core.hpp
  HINTS ${Kokkos_INCLUDE_DIRS} /usr/include/trilinos REQUIRED)
add_library(flexcp_kokkos INTERFACE)
target_include_directories(flexcp_kokkos SYSTEM INTERFACE ${FLEXCP_KOKKOS_INCLUDE_DIR})
target_link_libraries(flexcp_kokkos INTERFACE Kokkos::kokkos)

add_library(flexcp_hdf5 INTERFACE)
target_include_directories(flexcp_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(flexcp_hdf5 INTERFACE ${HDF5_HL_LIBRARIES} ${HDF5_C_LIBRARIES})
target_compile_definitions(flexcp_hdf5 INTERFACE ${HDF5_C_DEFINITIONS})

# CUDA is optional: the GPU backend builds where nvcc exists (every machine of this project has
# /usr/local/cuda, so CI compiles it even though nothing can run there). FLEXCP_CUDA=OFF skips it.
include(CheckLanguage)
check_language(CUDA)
option(FLEXCP_CUDA "Build the CUDA kernels and NCCL pieces when nvcc is found" ON)
if(CMAKE_CUDA_COMPILER AND FLEXCP_CUDA)
  # H100/H200 by default: CMake's own default (75) is not what runs here, and `native` fails
  # without a GPU. Override with -DCMAKE_CUDA_ARCHITECTURES=...
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)  # otherwise cudart is linked twice
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  # NCCL and cuDNN ship no CMake config files. Without them the GPU backend is skipped (with a
  # message), not the whole build.
  find_path(FLEXCP_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(FLEXCP_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  find_path(FLEXCP_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(FLEXCP_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(FLEXCP_NCCL_INCLUDE_DIR AND FLEXCP_NCCL_LIBRARY AND FLEXCP_CUDNN_INCLUDE_DIR AND FLEXCP_CUDNN_LIBRARY)
    add_library(flexcp_nccl INTERFACE)
    target_include_directories(flexcp_nccl SYSTEM INTERFACE ${FLEXCP_NCCL_INCLUDE_DIR} ${FLEXCP_CUDNN_INCLUDE_DIR})
    target_link_libraries(flexcp_nccl INTERFACE ${FLEXCP_NCCL_LIBRARY} ${FLEXCP_CUDNN_LIBRARY} CUDA::cudart)
    set(FLEXCP_HAVE_CUDA_TOOLKIT ON)
  else()
    message(WARNING "flexcp: nvcc found but NCCL or cuDNN not (nccl.h/libnccl, cudnn.h/libcudnn under "
                    "${CUDAToolkit_INCLUDE_DIRS}): building without the GPU backend")
    set(FLEXCP_HAVE_CUDA_TOOLKIT OFF)
  endif()
else()
  set(FLEXCP_HAVE_CUDA_TOOLKIT OFF)
endif()
message(STATUS "flexcp: CUDA backend ${FLEXCP_HAVE_CUDA_TOOLKIT} (${CMAKE_CUDA_COMPILER}, sm_${CMAKE_CUDA_ARCHITECTURES})")
