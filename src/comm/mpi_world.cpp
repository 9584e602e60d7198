#include "comm/mpi_world.hpp"

#include "comm/collectives.hpp"
#include "comm/mpi_check.hpp"

namespace flexcp::comm {

MpiWorld::MpiWorld(MPI_Comm comm) : comm_(comm) {
  FLEXCP_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  FLEXCP_MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

MpiWorld::~MpiWorld() {
  if (owns_comm_) MPI_Comm_free(&comm_);  // no check: a destructor must not throw
}

std::unique_ptr<MpiWorld> MpiWorld::split(bool member) {
  MPI_Comm part = MPI_COMM_NULL;
  FLEXCP_MPI_CHECK(MPI_Comm_split(comm_, member ? 0 : MPI_UNDEFINED, rank_, &part));
  if (part == MPI_COMM_NULL) return nullptr;
  auto world = std::make_unique<MpiWorld>(part);
  world->owns_comm_ = true;
  return world;
}

void MpiWorld::barrier() { FLEXCP_MPI_CHECK(MPI_Barrier(comm_)); }

std::optional<std::string> MpiWorld::agree_on_failure(const std::optional<std::string>& local_error) {
  return comm::agree_on_failure(comm_, local_error);
}

int MpiWorld::max_over_ranks(int value) {
  FLEXCP_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MAX, comm_));
  return value;
}

double MpiWorld::max_over_ranks(double value) { return allreduce_max(comm_, value); }

bool MpiWorld::same_on_every_rank(std::uint64_t value) {
  // The maximum of the value and of its complement give max and ~min in one allreduce.
  std::uint64_t both[2] = {value, ~value};
  FLEXCP_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, both, 2, MPI_UINT64_T, MPI_MAX, comm_));
  return both[0] == ~both[1];
}

void MpiWorld::broadcast(std::string& text, int root) { comm::broadcast(comm_, text, root); }
void MpiWorld::broadcast(std::vector<std::int64_t>& values, int root) { comm::broadcast(comm_, values, root); }
void MpiWorld::broadcast(std::vector<double>& values, int root) { comm::broadcast(comm_, values, root); }

std::vector<double> MpiWorld::gather_to_root(const std::vector<double>& mine, int root) {
  return comm::gather_to_root(comm_, mine, root);
}

std::vector<float> MpiWorld::gather_rows_to_root(const float* local, const std::vector<std::int64_t>& rows,
                                                 std::int64_t row_width, std::int64_t total_rows, int root) {
  return comm::gather_rows_to_root(comm_, local, rows, row_width, total_rows, root);
}

Topology MpiWorld::topology() { return discover_topology(comm_); }

}  // namespace flexcp::comm
