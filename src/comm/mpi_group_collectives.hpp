#pragma once
// GroupCollectives over an MPI communicator of one CP group, owned here (freed on destruction,
// which is collective over the group: the communicator cache frees in the same order everywhere).
#include <mpi.h>

#include <vector>

#include "comm/group_collectives.hpp"

namespace flexcp::comm {

class MpiGroupCollectives final : public GroupCollectives {
 public:
  explicit MpiGroupCollectives(MPI_Comm owned);
  ~MpiGroupCollectives() override;
  MpiGroupCollectives(const MpiGroupCollectives&) = delete;
  MpiGroupCollectives& operator=(const MpiGroupCollectives&) = delete;

  int size() const override { return size_; }
  int position() const override { return position_; }
  MemorySpace space() const override { return MemorySpace::host; }
  void wait(Ticket& ticket) override;

 protected:
  Ticket do_allgatherv(const View& send, const View& recv, const std::vector<std::int64_t>& counts) override;
  Ticket do_reduce_scatterv(const View& send, const View& recv, const std::vector<std::int64_t>& counts) override;
  Ticket do_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts, const View& recv,
                      const std::vector<std::int64_t>& recv_counts) override;

 private:
  struct Pending {
    MPI_Request request = MPI_REQUEST_NULL;
    std::vector<int> counts, displs, counts2, displs2;  // must outlive the request
  };
  Ticket take_slot();
  MPI_Comm comm_;
  int size_ = 1, position_ = 0;
  std::vector<Pending> pending_;
  std::vector<int> free_slots_;
};

}  // namespace flexcp::comm
