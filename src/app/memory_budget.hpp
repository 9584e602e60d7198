#pragma once
// What a command will allocate, estimated from its input before the first large allocation,
// share by share with the input key that drives each share, and the check against what the
// machine can give (app/input/machine_memory.hpp). Refused (ConfigError, exit 2) with the
// largest share and its key named, instead of a bare std::bad_alloc, the OOM killer, or a job
// that grows silently for minutes.
#include <string>
#include <vector>

#include "app/input/machine_memory.hpp"

namespace flexcp {

struct MemoryShare {
  std::string what;  // "executor buffers of 4 ranks"
  std::string key;   // "batch.tokens_per_batch = 1000000000000"
  double bytes = 0.0;
};

struct MemoryBudget {
  std::string where;  // "this node (4 ranks of flexcp run)", "flexcp plan"
  std::vector<MemoryShare> shares;
  std::string remedy = "lower it";  // what the user can change, after the largest share's key
  double total() const;
};

// "12.3 GiB", "512 MiB", "1.0 TiB"
std::string human_bytes(double bytes);

// Throws ConfigError when `need` exceeds what `have` offers.
void require_memory(const MemoryBudget& need, const MachineMemory& have);

}  // namespace flexcp
