#pragma once
// The CPU data path: MPI point-to-point on the world communicator and MPI_Comm_split groups.
// `in_order` picks the conformance transport (comm/in_order_transport.hpp) instead of the
// production one: NCCL's semantics, enforced, on the CPU.
#include <memory>

#include "comm/data_path.hpp"
#include "comm/mpi_world.hpp"

namespace flexcp::comm {

std::unique_ptr<DataPath> open_mpi_data_path(MpiWorld& world, bool in_order = false);

}  // namespace flexcp::comm
