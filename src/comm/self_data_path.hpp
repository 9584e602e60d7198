#pragma once
// The data path of a job of one rank: a SelfTransport in the given memory space and no group
// communicators (a one-rank job has no group of two). Lets a one-rank GPU run go without NCCL.
#include <memory>

#include "comm/data_path.hpp"

namespace flexcp::comm {

std::unique_ptr<DataPath> open_self_data_path(MemorySpace space);

}  // namespace flexcp::comm
