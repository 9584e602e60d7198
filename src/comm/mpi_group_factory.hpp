#pragma once
// Group communicators from MPI_Comm_split of the world communicator.
#include <mpi.h>

#include "comm/group_factory.hpp"

namespace flexcp::comm {

class MpiGroupFactory final : public GroupFactory {
 public:
  explicit MpiGroupFactory(MPI_Comm world);
  std::unique_ptr<GroupCollectives> split(int color) override;

 private:
  MPI_Comm world_;
  int rank_ = 0;
};

}  // namespace flexcp::comm
