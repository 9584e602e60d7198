#pragma once
// How much memory this process may still allocate on this machine: the least of the kernel's
// MemAvailable, the cgroup's limit less its usage (v2 memory.max, v1 memory.limit_in_bytes) and
// the address-space and data-segment limits (ulimit -v / -d). A job that asks for more is
// refused with a message before its first large allocation, instead of a bare std::bad_alloc or
// the kernel's OOM killer.
#include <string>

namespace flexcp {

struct MachineMemory {
  double available_bytes = 0.0;
  std::string limited_by;  // which of the limits above is the least, for messages
};

MachineMemory machine_memory();

}  // namespace flexcp
