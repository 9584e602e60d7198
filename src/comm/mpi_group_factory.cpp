#include "comm/mpi_group_factory.hpp"

#include "comm/mpi_check.hpp"
#include "comm/mpi_group_collectives.hpp"

namespace flexcp::comm {

MpiGroupFactory::MpiGroupFactory(MPI_Comm world) : world_(world) { FLEXCP_MPI_CHECK(MPI_Comm_rank(world_, &rank_)); }

std::unique_ptr<GroupCollectives> MpiGroupFactory::split(int color) {
  MPI_Comm made = MPI_COMM_NULL;
  FLEXCP_MPI_CHECK(MPI_Comm_split(world_, color < 0 ? MPI_UNDEFINED : color, rank_, &made));
  if (made == MPI_COMM_NULL) return nullptr;
  return std::make_unique<MpiGroupCollectives>(made);
}

}  // namespace flexcp::comm
