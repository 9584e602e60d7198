#include "app/output/provenance.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <Kokkos_Core.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "app/output/h5_helpers.hpp"
#include "comm/mpi_runtime.hpp"
#ifdef FLEXCP_HAVE_CUDA
#include "device/inventory.hpp"
#endif

namespace flexcp {

std::vector<std::pair<std::string, std::string>> launcher_environment(char* const* entries) {
  std::map<std::string, std::string> recorded;  // sorted, and emplace keeps the first of a repeated name
  for (char* const* entry = entries; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;  // not NAME=VALUE: nothing getenv could return
    const auto name = text.substr(0, equals);
    const bool wanted = std::any_of(std::begin(kRecordedEnvironmentPrefixes), std::end(kRecordedEnvironmentPrefixes),
                                    [&](const char* prefix) { return name.starts_with(prefix); });
    if (wanted) recorded.emplace(std::string(name), std::string(text.substr(equals + 1)));
  }
  return {recorded.begin(), recorded.end()};
}

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

std::string kokkos_version() {
  return std::to_string(KOKKOS_VERSION / 10000) + "." + std::to_string(KOKKOS_VERSION / 100 % 100) + "." +
         std::to_string(KOKKOS_VERSION % 100) + " (" + Kokkos::DefaultHostExecutionSpace::name() + ")";
}

std::string local_host_name() {
  std::array<char, 256> host{};  // HOST_NAME_MAX is 64 on Linux; 255 is POSIX's bound
  if (gethostname(host.data(), host.size() - 1) != 0) return "unknown (gethostname: " + std::string(std::strerror(errno)) + ")";
  return host.data();
}

Provenance collect_provenance(std::vector<std::string> hosts) {
  Provenance p;
  p.mpi_library_version = comm::MpiRuntime::library_version_text();
  p.hdf5_version = hdf5_version();
  p.kokkos_version = kokkos_version();
#ifdef FLEXCP_HAVE_CUDA
  // What `flexcp info` prints; a CUDA build records them even when the run used the host backend.
  const auto cuda = device::cuda_inventory();
  p.built_with_cuda = true;
  p.cuda_runtime_version = cuda.runtime_version;
  p.cuda_driver_version = cuda.driver_version;
  p.nccl_version = cuda.nccl_version;
  p.cudnn_version = cuda.cudnn_version;
#endif
  p.hosts = std::move(hosts);
  const char* job = std::getenv("SLURM_JOB_ID");
  const char* cluster = std::getenv("SLURM_CLUSTER_NAME");
  p.slurm_job_id = job != nullptr ? job : "";
  p.slurm_cluster_name = cluster != nullptr ? cluster : "";
  p.environment = launcher_environment(::environ);
  return p;
}

void write_provenance(hid_t root, const Provenance& p) {
  auto group = h5::create_group(root, "provenance");
  const hid_t g = group.get();
  h5::string_attribute(g, "mpi_library_version", p.mpi_library_version);
  h5::string_attribute(g, "hdf5_version", p.hdf5_version);
  h5::string_attribute(g, "kokkos_version", p.kokkos_version);
  if (p.built_with_cuda) {
    h5::string_attribute(g, "cuda_runtime_version", p.cuda_runtime_version);
    h5::string_attribute(g, "cuda_driver_version", p.cuda_driver_version);
    h5::string_attribute(g, "nccl_version", p.nccl_version);
    h5::string_attribute(g, "cudnn_version", p.cudnn_version);
  }
  h5::string_attribute(g, "slurm_job_id", p.slurm_job_id);
  h5::string_attribute(g, "slurm_cluster_name", p.slurm_cluster_name);
  h5::string_dataset(g, "hosts", p.hosts, "host name of each MPI process, in rank order");
  auto environment = h5::create_group(g, "environment");
  for (const auto& [name, value] : p.environment) h5::string_attribute(environment.get(), name.c_str(), value);
}

}  // namespace flexcp
