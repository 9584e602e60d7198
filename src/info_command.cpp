#include <cstdio>
#include <cstdlib>

#include "collective_guard.hpp"
#include "commands.hpp"
#include "comm/topology.hpp"
#include "report.hpp"

namespace flexcp {

int info_command() {
  MPI_Comm world = MPI_COMM_WORLD;
  int rank = 0;
  MPI_Comm_rank(world, &rank);
  all_or_none(world, [] { comm::parse_ranks_per_node(std::getenv(comm::kRanksPerNodeVariable)); });
  const auto topology = comm::discover_topology(world);
  if (rank == 0) {
    print_versions(stdout);
    print_topology(stdout, topology);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace flexcp
