#include <cstdio>
#include <cstdlib>

#include "app/all_or_none.hpp"
#include "app/commands.hpp"
#include "comm/topology.hpp"
#include "app/output/report.hpp"

namespace flexcp {

int info_command(comm::World& world) {
  all_or_none(world, [] { comm::parse_ranks_per_node(std::getenv(comm::kRanksPerNodeVariable)); });
  const auto topology = world.topology();
  if (world.rank() == 0) {
    print_versions(stdout);
    print_topology(stdout, topology);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace flexcp
