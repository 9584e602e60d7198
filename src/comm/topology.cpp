#include "comm/topology.hpp"

#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "comm/mpi_check.hpp"

namespace flexcp::comm {

int parse_ranks_per_node(const char* value) {
  if (value == nullptr || *value == '\0') return 0;
  int parsed = 0;
  const char* end = value + std::strlen(value);
  auto [ptr, ec] = std::from_chars(value, end, parsed);
  if (ec != std::errc() || ptr != end || parsed < 1)
    throw ConfigError(std::string("environment variable ") + kRanksPerNodeVariable + "='" + value +
                      "' is not allowed: give a positive integer (ranks per emulated node), or unset it");
  return parsed;
}

Topology discover_topology(MPI_Comm world) {
  Topology t;
  FLEXCP_MPI_CHECK(MPI_Comm_rank(world, &t.world_rank));
  FLEXCP_MPI_CHECK(MPI_Comm_size(world, &t.world_size));
  t.emulated_ranks_per_node = parse_ranks_per_node(std::getenv(kRanksPerNodeVariable));

  MPI_Comm node_comm = MPI_COMM_NULL;
  if (t.emulated_ranks_per_node > 0) {
    FLEXCP_MPI_CHECK(MPI_Comm_split(world, t.world_rank / t.emulated_ranks_per_node, t.world_rank, &node_comm));
  } else {
    FLEXCP_MPI_CHECK(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, t.world_rank, MPI_INFO_NULL, &node_comm));
  }
  FLEXCP_MPI_CHECK(MPI_Comm_rank(node_comm, &t.local_rank));
  FLEXCP_MPI_CHECK(MPI_Comm_size(node_comm, &t.local_size));

  // Node index: the rank of the node's leader among all leaders (leaders ordered by world rank).
  MPI_Comm leaders = MPI_COMM_NULL;
  FLEXCP_MPI_CHECK(MPI_Comm_split(world, t.local_rank == 0 ? 0 : MPI_UNDEFINED, t.world_rank, &leaders));
  if (leaders != MPI_COMM_NULL) {
    FLEXCP_MPI_CHECK(MPI_Comm_rank(leaders, &t.node));
    FLEXCP_MPI_CHECK(MPI_Comm_size(leaders, &t.nodes));
    MPI_Comm_free(&leaders);
  }
  FLEXCP_MPI_CHECK(MPI_Bcast(&t.node, 1, MPI_INT, 0, node_comm));
  MPI_Comm_free(&node_comm);
  FLEXCP_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &t.nodes, 1, MPI_INT, MPI_MAX, world));

  const auto n = static_cast<std::size_t>(t.world_size);
  t.node_of_rank.resize(n);
  t.local_rank_of_rank.resize(n);
  FLEXCP_MPI_CHECK(MPI_Allgather(&t.node, 1, MPI_INT, t.node_of_rank.data(), 1, MPI_INT, world));
  FLEXCP_MPI_CHECK(MPI_Allgather(&t.local_rank, 1, MPI_INT, t.local_rank_of_rank.data(), 1, MPI_INT, world));

  constexpr std::size_t kHostChars = 64;
  std::array<char, kHostChars> host{};
  gethostname(host.data(), kHostChars - 1);
  std::vector<char> hosts(n * kHostChars);
  FLEXCP_MPI_CHECK(MPI_Allgather(host.data(), kHostChars, MPI_CHAR, hosts.data(), kHostChars, MPI_CHAR, world));
  for (std::size_t r = 0; r < n; ++r) t.host_of_rank.emplace_back(hosts.data() + r * kHostChars);
  return t;
}

}  // namespace flexcp::comm
