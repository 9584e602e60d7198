#include "comm/nccl_group_collectives.hpp"

#include <algorithm>

#include "device/check.hpp"
#include "comm/nccl_check.hpp"

namespace flexcp::comm {
namespace {
std::vector<std::int64_t> offsets_of(const std::vector<std::int64_t>& counts) {
  std::vector<std::int64_t> offsets(counts.size(), 0);
  for (std::size_t i = 1; i < counts.size(); ++i) offsets[i] = offsets[i - 1] + counts[i - 1];
  return offsets;
}
double total(const std::vector<std::int64_t>& counts) {
  double s = 0.0;
  for (auto c : counts) s += static_cast<double>(c);
  return s;
}
}  // namespace

NcclGroupCollectives::NcclGroupCollectives(std::unique_ptr<NcclCommunicator> comm) : comm_(std::move(comm)) {}

GroupCollectives::Ticket NcclGroupCollectives::finish_enqueue(const char* what) {
  events_.push_back(comm_->record());
  whats_.emplace_back(what);
  return {static_cast<int>(events_.size()) - 1};
}

GroupCollectives::Ticket NcclGroupCollectives::start_allgatherv(const float* send, float* recv,
                                                                const std::vector<std::int64_t>& counts) {
  const int p = size(), me = position();
  FLEXCP_CHECK(static_cast<int>(counts.size()) == p, "one count per group member");
  const auto offsets = offsets_of(counts);
  const auto mine = static_cast<std::size_t>(counts[static_cast<std::size_t>(me)]);
  FLEXCP_CUDA_CHECK(cudaMemcpyAsync(recv + offsets[static_cast<std::size_t>(me)], send, mine * sizeof(float),
                                    cudaMemcpyDeviceToDevice, comm_->stream()));
  FLEXCP_NCCL_CHECK(ncclGroupStart());
  for (int j = 0; j < p; ++j) {
    if (j == me) continue;
    const auto i = static_cast<std::size_t>(j);
    FLEXCP_NCCL_CHECK(ncclSend(send, mine, ncclFloat, j, comm_->get(), comm_->stream()));
    FLEXCP_NCCL_CHECK(ncclRecv(recv + offsets[i], static_cast<std::size_t>(counts[i]), ncclFloat, j, comm_->get(), comm_->stream()));
  }
  FLEXCP_NCCL_CHECK(ncclGroupEnd());
  stats_.bytes_sent += (total(counts) - static_cast<double>(counts[static_cast<std::size_t>((me + 1) % p)])) * sizeof(float);
  return finish_enqueue("all-gather");
}

GroupCollectives::Ticket NcclGroupCollectives::start_reduce_scatterv(const float* send, float* recv,
                                                                     const std::vector<std::int64_t>& counts) {
  const int p = size(), me = position();
  FLEXCP_CHECK(static_cast<int>(counts.size()) == p, "one count per group member");
  const auto offsets = offsets_of(counts);
  const auto block = static_cast<std::size_t>(*std::max_element(counts.begin(), counts.end()));
  const std::size_t bytes = block * sizeof(float);
  if (padded_send_.bytes() < bytes * static_cast<std::size_t>(p))
    padded_send_ = device::DeviceBuffer("flexcp::nccl::reduce_scatter_send", bytes * static_cast<std::size_t>(p));
  if (padded_recv_.bytes() < bytes) padded_recv_ = device::DeviceBuffer("flexcp::nccl::reduce_scatter_recv", bytes);
  auto* staged = static_cast<float*>(padded_send_.data());
  FLEXCP_CUDA_CHECK(cudaMemsetAsync(staged, 0, bytes * static_cast<std::size_t>(p), comm_->stream()));
  for (int j = 0; j < p; ++j) {
    const auto i = static_cast<std::size_t>(j);
    FLEXCP_CUDA_CHECK(cudaMemcpyAsync(staged + i * block, send + offsets[i], static_cast<std::size_t>(counts[i]) * sizeof(float),
                                      cudaMemcpyDeviceToDevice, comm_->stream()));
  }
  FLEXCP_NCCL_CHECK(ncclReduceScatter(staged, static_cast<float*>(padded_recv_.data()), block, ncclFloat, ncclSum,
                                      comm_->get(), comm_->stream()));
  FLEXCP_CUDA_CHECK(cudaMemcpyAsync(recv, padded_recv_.data(),
                                    static_cast<std::size_t>(counts[static_cast<std::size_t>(me)]) * sizeof(float),
                                    cudaMemcpyDeviceToDevice, comm_->stream()));
  stats_.bytes_sent += (total(counts) - static_cast<double>(counts[static_cast<std::size_t>(me)])) * sizeof(float);
  return finish_enqueue("reduce-scatter");
}

GroupCollectives::Ticket NcclGroupCollectives::start_alltoallv(const float* send, const std::vector<std::int64_t>& send_counts,
                                                               float* recv, const std::vector<std::int64_t>& recv_counts) {
  const int p = size(), me = position();
  FLEXCP_CHECK(static_cast<int>(send_counts.size()) == p && static_cast<int>(recv_counts.size()) == p,
               "one count per group member");
  const auto send_offsets = offsets_of(send_counts), recv_offsets = offsets_of(recv_counts);
  const auto self = static_cast<std::size_t>(me);
  FLEXCP_CUDA_CHECK(cudaMemcpyAsync(recv + recv_offsets[self], send + send_offsets[self],
                                    static_cast<std::size_t>(send_counts[self]) * sizeof(float), cudaMemcpyDeviceToDevice,
                                    comm_->stream()));
  FLEXCP_NCCL_CHECK(ncclGroupStart());
  for (int j = 0; j < p; ++j) {
    if (j == me) continue;
    const auto i = static_cast<std::size_t>(j);
    FLEXCP_NCCL_CHECK(ncclSend(send + send_offsets[i], static_cast<std::size_t>(send_counts[i]), ncclFloat, j, comm_->get(),
                               comm_->stream()));
    FLEXCP_NCCL_CHECK(ncclRecv(recv + recv_offsets[i], static_cast<std::size_t>(recv_counts[i]), ncclFloat, j, comm_->get(),
                               comm_->stream()));
  }
  FLEXCP_NCCL_CHECK(ncclGroupEnd());
  stats_.bytes_sent += (total(send_counts) - static_cast<double>(send_counts[self])) * sizeof(float);
  return finish_enqueue("all-to-all");
}

void NcclGroupCollectives::wait(Ticket& ticket) {
  FLEXCP_CHECK(ticket.slot >= 0 && ticket.slot < static_cast<int>(events_.size()) &&
                   events_[static_cast<std::size_t>(ticket.slot)] != nullptr,
               "wait on an unknown ticket");
  const auto i = static_cast<std::size_t>(ticket.slot);
  stats_.wait_seconds += comm_->wait(events_[i], whats_[i]);
  events_[i] = nullptr;
  ticket.slot = -1;
  if (std::all_of(events_.begin(), events_.end(), [](cudaEvent_t e) { return e == nullptr; })) {
    events_.clear();
    whats_.clear();
  }
}

}  // namespace flexcp::comm
