#pragma once
// Where a results file came from beyond flexcp's own version: the libraries the job ran with,
// its hosts, the Slurm job, and the environment variables that tune MPI, NCCL and the fabric.
// A number measured at a site is only comparable, or reproducible, with these; they go to
// /provenance in run and plan files (docs/results-schema.md).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace flexcp {

struct Provenance {
  std::string mpi_library_version;  // MPI_Get_library_version, every line (MPICH adds its configure options)
  std::string hdf5_version;
  std::string kokkos_version;
  bool built_with_cuda = false;     // the CUDA fields below are set only then
  std::string cuda_runtime_version, cuda_driver_version, nccl_version, cudnn_version;
  std::vector<std::string> hosts;   // host name of each MPI process, in rank order
  std::string slurm_job_id, slurm_cluster_name;  // "" outside Slurm
  std::vector<std::pair<std::string, std::string>> environment;  // see launcher_environment
};

// Prefixes of the variables recorded: Open MPI (OMPI_MCA_* settings), UCX, NCCL, and the Cray
// MPICH / libfabric (Slingshot CXI) ones the job scripts' site profiles set.
inline constexpr const char* kRecordedEnvironmentPrefixes[] = {"NCCL_", "UCX_", "OMPI_", "FI_", "MPICH_"};

// The NAME=VALUE `entries` (null-terminated, like `environ` of <unistd.h>) whose name
// starts with one of kRecordedEnvironmentPrefixes, sorted by name; a name that appears twice
// keeps its first value (the one getenv returns).
std::vector<std::pair<std::string, std::string>> launcher_environment(char* const* entries);

std::string hdf5_version();
std::string kokkos_version();
// This process's host name (gethostname), for files written by one process.
std::string local_host_name();

// Versions and this process's environment, with the given host names.
Provenance collect_provenance(std::vector<std::string> hosts);

// Writes the /provenance group under `root` (an HDF5 hid_t).
void write_provenance(std::int64_t root, const Provenance& provenance);

}  // namespace flexcp
