# Finds flexcp's dependencies (all Debian packages, see scripts/install-deps.sh) and papers over
# the known packaging problems so the rest of the build can use plain imported targets.

find_package(MPI REQUIRED COMPONENTS CXX)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(tomlplusplus REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)

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
target_link_libraries(flexcp_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(flexcp_hdf5 INTERFACE ${HDF5_C_DEFINITIONS})

# CUDA is optional: the GPU backend (issue: GPU backend) builds only where nvcc exists. Nothing
# here depends on it yet; FLEXCP_HAVE_CUDA_TOOLKIT only records what was found for `flexcp info`.
include(CheckLanguage)
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
  set(FLEXCP_HAVE_CUDA_TOOLKIT ON)
else()
  set(FLEXCP_HAVE_CUDA_TOOLKIT OFF)
endif()
message(STATUS "flexcp: CUDA toolkit ${FLEXCP_HAVE_CUDA_TOOLKIT} (${CMAKE_CUDA_COMPILER})")
