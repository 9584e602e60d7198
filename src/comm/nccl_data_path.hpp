#pragma once
// The GPU data path: NCCL point-to-point on a world communicator bootstrapped over MPI, and
// ncclCommSplit groups sharing its resources; every operation ordered after `compute` (the
// kernels' stream). Collective over the world. Built only with the CUDA toolkit.
#include <memory>

#include "comm/data_path.hpp"
#include "comm/mpi_world.hpp"
#include "device/stream.hpp"

namespace flexcp::comm {

// `timeout_s`: how long any NCCL initialisation, split or wait may take before the
// communicator is aborted with a message. `compute` must outlive the data path.
std::unique_ptr<DataPath> open_nccl_data_path(MpiWorld& world, const device::Stream& compute, double timeout_s);

}  // namespace flexcp::comm
