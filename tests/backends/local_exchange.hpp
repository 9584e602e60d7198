#pragma once
// P ranks as threads of one process on one CUDA device, so the generic executors run over
// CudaKernels at P > 1 without NCCL (which refuses two ranks on one device). LocalTransport
// follows transport.hpp: messages match per ordered pair in posting order, sizes must agree, a
// stage completes as a whole. LocalGroup gives each group collective with the same results as
// the MPI and NCCL ones. Both synchronise the poster's compute stream first (its data is ready,
// its buffers free) and copy device to device once both sides arrived. For tests only: every
// copy runs under one lock and synchronises the device.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "comm/group_collectives.hpp"
#include "comm/transport.hpp"
#include "device/stream.hpp"

namespace flexcp::test_support {

// What the threads of one transport world share.
class LocalExchange {
 public:
  struct Message {
    View data;
    bool done = false;
  };
  // Posts rank `from`'s operations (sends and receives) in order.
  std::vector<std::shared_ptr<Message>> post(int rank, const comm::Stage& stage);
  void wait_all(const std::vector<std::shared_ptr<Message>>& messages);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::pair<int, int>, std::deque<std::shared_ptr<Message>>> sends_, receives_;  // (from, to)
};

class LocalTransport final : public comm::Transport {
 public:
  LocalTransport(LocalExchange& exchange, int rank, int size, const device::Stream& compute)
      : exchange_(exchange), rank_(rank), size_(size), compute_(compute) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  MemorySpace space() const override { return MemorySpace::device; }

 protected:
  std::int64_t issue(const comm::Stage& stage) override;
  void complete(std::int64_t stage) override;

 private:
  LocalExchange& exchange_;
  int rank_, size_;
  const device::Stream& compute_;
  std::vector<std::vector<std::shared_ptr<LocalExchange::Message>>> stages_;
};

// What the members of one local group share: the last member to start a collective moves the
// data of all of them.
class LocalGroupHub {
 public:
  explicit LocalGroupHub(int members) : members_(members), calls_(static_cast<std::size_t>(members)) {}
  enum class Kind { allgather, reduce_scatter, alltoall };
  struct Call {
    Kind kind = Kind::allgather;
    View send, recv;
    std::vector<std::int64_t> send_counts, recv_counts;
  };
  void run(int position, Call call);  // blocks until every member's call of this round is done

 private:
  void move_data();
  int members_, arrived_ = 0;
  std::uint64_t round_ = 0;
  std::vector<Call> calls_;
  std::mutex mutex_;
  std::condition_variable changed_;
};

class LocalGroup final : public comm::GroupCollectives {
 public:
  LocalGroup(LocalGroupHub& hub, int size, int position, const device::Stream& compute)
      : hub_(hub), size_(size), position_(position), compute_(compute) {}
  int size() const override { return size_; }
  int position() const override { return position_; }
  MemorySpace space() const override { return MemorySpace::device; }
  void wait(Ticket& ticket) override { ticket.slot = -1; }  // each collective completes when it starts

 protected:
  Ticket do_allgatherv(const View& send, const View& recv, const std::vector<std::int64_t>& counts) override;
  Ticket do_reduce_scatterv(const View& send, const View& recv, const std::vector<std::int64_t>& counts) override;
  Ticket do_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts, const View& recv,
                      const std::vector<std::int64_t>& recv_counts) override;

 private:
  Ticket start(LocalGroupHub::Call call);
  LocalGroupHub& hub_;
  int size_, position_;
  const device::Stream& compute_;
};

}  // namespace flexcp::test_support
