#include "comm/launch_check.hpp"

#include <charconv>
#include <cstring>

namespace flexcp::comm {

std::optional<std::string> slurm_world_size_problem(int world_size, const char* slurm_ntasks) {
  if (slurm_ntasks == nullptr || *slurm_ntasks == '\0') return std::nullopt;
  int tasks = 0;
  const char* end = slurm_ntasks + std::strlen(slurm_ntasks);
  auto [ptr, ec] = std::from_chars(slurm_ntasks, end, tasks);
  if (ec != std::errc() || ptr != end)
    return std::string("SLURM_NTASKS='") + slurm_ntasks + "' is not an integer";
  if (tasks == world_size) return std::nullopt;
  return "MPI world size is " + std::to_string(world_size) + " but SLURM_NTASKS is " + std::to_string(tasks) +
         ": the ranks did not join one MPI job (with srun use --mpi=pmix; with mpirun inside an allocation, "
         "run as many ranks as the allocation has tasks)";
}

}  // namespace flexcp::comm
