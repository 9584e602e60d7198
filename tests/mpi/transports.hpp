#pragma once
// The transports every distributed test runs over: MPI's (production) and the in-order
// conformance transport (NCCL's semantics: no tags, one stage at a time, rendezvous, exact sizes).
#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "comm/in_order_transport.hpp"
#include "comm/mpi_transport.hpp"
#include "comm/mpi_world.hpp"

namespace flexcp::test_support {

inline const std::vector<std::string>& transport_kinds() {
  static const std::vector<std::string> kinds{"mpi", "in-order"};
  return kinds;
}

inline std::unique_ptr<comm::Transport> make_transport(const std::string& kind, MPI_Comm comm = MPI_COMM_WORLD) {
  if (kind == "in-order") return std::make_unique<comm::InOrderTransport>(comm);
  return std::make_unique<comm::MpiTransport>(comm);
}

// The job as the application sees it (for the correctness harness and the plan agreement).
inline comm::MpiWorld& world() {
  static comm::MpiWorld instance(MPI_COMM_WORLD);
  return instance;
}

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
inline int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

}  // namespace flexcp::test_support
