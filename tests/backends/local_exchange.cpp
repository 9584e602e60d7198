#include "local_exchange.hpp"

#include <cuda_runtime_api.h>

#include "attn/cuda/device_copies.hpp"
#include "device/check.hpp"

namespace flexcp::test_support {
namespace {
void copy(const View& dst, const View& src) {
  FLEXCP_CHECK(dst.count == src.count && dst.element == src.element,
               "a message of " + std::to_string(src.count) + " elements into a receive of " + std::to_string(dst.count));
  if (dst.count == 0) return;
  FLEXCP_CUDA_CHECK(cudaMemcpy(dst.data, src.data, dst.bytes(), cudaMemcpyDeviceToDevice));
  FLEXCP_CUDA_CHECK(cudaDeviceSynchronize());  // device-to-device cudaMemcpy does not wait by itself
}
}  // namespace

std::vector<std::shared_ptr<LocalExchange::Message>> LocalExchange::post(int rank, const comm::Stage& stage) {
  std::vector<std::shared_ptr<Message>> posted;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& op : stage.operations()) {
    auto message = std::make_shared<Message>(Message{op.data, false});
    const auto pair = op.send ? std::pair{rank, op.peer} : std::pair{op.peer, rank};
    auto& waiting = op.send ? receives_[pair] : sends_[pair];
    if (waiting.empty()) {
      (op.send ? sends_[pair] : receives_[pair]).push_back(message);
    } else {
      auto other = waiting.front();
      waiting.pop_front();
      if (op.send) copy(other->data, message->data);
      else copy(message->data, other->data);
      other->done = message->done = true;
    }
    posted.push_back(message);
  }
  changed_.notify_all();
  return posted;
}

void LocalExchange::wait_all(const std::vector<std::shared_ptr<Message>>& messages) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] {
    for (const auto& m : messages)
      if (!m->done) return false;
    return true;
  });
}

std::int64_t LocalTransport::issue(const comm::Stage& stage) {
  compute_.synchronize();
  stages_.push_back(exchange_.post(rank_, stage));
  return static_cast<std::int64_t>(stages_.size()) - 1;
}

void LocalTransport::complete(std::int64_t stage) {
  for (std::int64_t s = 0; s <= stage; ++s) exchange_.wait_all(stages_[static_cast<std::size_t>(s)]);
}

void LocalGroupHub::run(int position, Call call) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto round = round_;
  calls_[static_cast<std::size_t>(position)] = std::move(call);
  if (++arrived_ == members_) {
    move_data();
    arrived_ = 0;
    ++round_;
    changed_.notify_all();
    return;
  }
  changed_.wait(lock, [&] { return round_ != round; });
}

void LocalGroupHub::move_data() {
  const auto p = static_cast<std::size_t>(members_);
  const auto kind = calls_[0].kind;
  for (std::size_t i = 0; i < p; ++i) {
    const auto& to = calls_[i];
    FLEXCP_CHECK(to.kind == kind, "members started different collectives");
    const auto recv_offsets = comm::offsets_of(to.recv_counts);
    for (std::size_t j = 0; j < p; ++j) {
      const auto& from = calls_[j];
      const auto send_offsets = comm::offsets_of(from.send_counts);
      switch (kind) {
        case Kind::allgather:  // member j's block lands at block j of every member
          copy(to.recv.slice(recv_offsets[j], to.recv_counts[j]), from.send.slice(0, from.send_counts[j]));
          break;
        case Kind::alltoall:  // member j's block i lands at block j of member i
          copy(to.recv.slice(recv_offsets[j], to.recv_counts[j]), from.send.slice(send_offsets[i], from.send_counts[i]));
          break;
        case Kind::reduce_scatter: {  // the sum of every member's block i lands at member i
          const auto block = from.send.slice(send_offsets[i], from.send_counts[i]);
          if (j == 0) {
            copy(to.recv.slice(0, to.recv_counts[0]), block);
          } else {
            attn::cuda::accumulate(to.recv.floats(), block.floats(), block.count, nullptr);
            FLEXCP_CUDA_CHECK(cudaDeviceSynchronize());
          }
          break;
        }
      }
    }
  }
}

comm::GroupCollectives::Ticket LocalGroup::start(LocalGroupHub::Call call) {
  compute_.synchronize();
  hub_.run(position_, std::move(call));
  return {0};
}

comm::GroupCollectives::Ticket LocalGroup::do_allgatherv(const View& send, const View& recv,
                                                         const std::vector<std::int64_t>& counts) {
  return start({LocalGroupHub::Kind::allgather, send, recv, counts, counts});
}

comm::GroupCollectives::Ticket LocalGroup::do_reduce_scatterv(const View& send, const View& recv,
                                                              const std::vector<std::int64_t>& counts) {
  // Receive counts: this member's block only, at offset 0 (recv_counts[0] is what copy() reads).
  return start({LocalGroupHub::Kind::reduce_scatter, send, recv, counts,
                std::vector<std::int64_t>(counts.size(), counts[static_cast<std::size_t>(position_)])});
}

comm::GroupCollectives::Ticket LocalGroup::do_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts,
                                                        const View& recv, const std::vector<std::int64_t>& recv_counts) {
  return start({LocalGroupHub::Kind::alltoall, send, recv, send_counts, recv_counts});
}

}  // namespace flexcp::test_support
