#pragma once
// Guards against a mis-launched job. Under Slurm, `srun` without working PMI starts N
// independent singletons (each with world size 1) that would all run the whole job; a
// mismatch between MPI's world size and SLURM_NTASKS is refused before anything runs.
#include <optional>
#include <string>

namespace flexcp::comm {

// The problem to report, or nothing. `slurm_ntasks` is the SLURM_NTASKS value (nullptr: not
// under Slurm).
std::optional<std::string> slurm_world_size_problem(int world_size, const char* slurm_ntasks);

}  // namespace flexcp::comm
