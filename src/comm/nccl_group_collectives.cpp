#include "comm/nccl_group_collectives.hpp"

#include <algorithm>

#include "comm/nccl_check.hpp"
#include "device/check.hpp"

namespace flexcp::comm {

NcclGroupCollectives::NcclGroupCollectives(std::unique_ptr<NcclCommunicator> comm, const device::Stream& compute)
    : comm_(std::move(comm)), compute_(compute) {}

void NcclGroupCollectives::begin() {
  ready_.record(compute_.get());
  ready_.make_wait(comm_->stream());
}

GroupCollectives::Ticket NcclGroupCollectives::finish(const char* what) {
  comm_->settle(what);
  auto done = std::make_unique<device::Event>(false);
  done->record(comm_->stream());
  pending_.push_back(std::move(done));
  whats_.emplace_back(what);
  return {static_cast<int>(pending_.size()) - 1};
}

GroupCollectives::Ticket NcclGroupCollectives::do_allgatherv(const View& send, const View& recv,
                                                             const std::vector<std::int64_t>& counts) {
  const int p = size(), me = position();
  const auto offsets = offsets_of(counts);
  const auto mine = static_cast<std::size_t>(counts[static_cast<std::size_t>(me)]);
  float* out = recv.floats();
  begin();
  FLEXCP_CUDA_CHECK(cudaMemcpyAsync(out + offsets[static_cast<std::size_t>(me)], send.floats(), mine * sizeof(float),
                                    cudaMemcpyDeviceToDevice, comm_->stream()));
  FLEXCP_NCCL_CHECK(ncclGroupStart());
  for (int j = 0; j < p; ++j) {
    if (j == me) continue;
    const auto i = static_cast<std::size_t>(j);
    FLEXCP_NCCL_CHECK(ncclSend(send.floats(), mine, ncclFloat32, j, comm_->get(), comm_->stream()));
    FLEXCP_NCCL_CHECK(ncclRecv(out + offsets[i], static_cast<std::size_t>(counts[i]), ncclFloat32, j, comm_->get(),
                               comm_->stream()));
  }
  FLEXCP_NCCL_CHECK(ncclGroupEnd());
  stats_.bytes_sent += (total_of(counts) - static_cast<double>(counts[static_cast<std::size_t>((me + 1) % p)])) * sizeof(float);
  return finish("all-gather");
}

GroupCollectives::Ticket NcclGroupCollectives::do_reduce_scatterv(const View& send, const View& recv,
                                                                  const std::vector<std::int64_t>& counts) {
  const int p = size(), me = position();
  const auto offsets = offsets_of(counts);
  const auto block = static_cast<std::size_t>(*std::max_element(counts.begin(), counts.end()));
  const std::size_t bytes = block * sizeof(float);
  if (padded_send_.bytes() < bytes * static_cast<std::size_t>(p))
    padded_send_ = device::DeviceBuffer("flexcp::nccl::reduce_scatter_send", bytes * static_cast<std::size_t>(p));
  if (padded_recv_.bytes() < bytes) padded_recv_ = device::DeviceBuffer("flexcp::nccl::reduce_scatter_recv", bytes);
  auto* staged = static_cast<float*>(padded_send_.data());
  begin();
  for (int j = 0; j < p; ++j) {
    const auto i = static_cast<std::size_t>(j);
    FLEXCP_CUDA_CHECK(cudaMemcpyAsync(staged + i * block, send.floats() + offsets[i],
                                      static_cast<std::size_t>(counts[i]) * sizeof(float), cudaMemcpyDeviceToDevice,
                                      comm_->stream()));
  }
  FLEXCP_NCCL_CHECK(ncclReduceScatter(staged, static_cast<float*>(padded_recv_.data()), block, ncclFloat32, ncclSum,
                                      comm_->get(), comm_->stream()));
  comm_->settle("reduce-scatter");  // queued before the copy out behind it
  FLEXCP_CUDA_CHECK(cudaMemcpyAsync(recv.floats(), padded_recv_.data(),
                                    static_cast<std::size_t>(counts[static_cast<std::size_t>(me)]) * sizeof(float),
                                    cudaMemcpyDeviceToDevice, comm_->stream()));
  stats_.bytes_sent += (total_of(counts) - static_cast<double>(counts[static_cast<std::size_t>(me)])) * sizeof(float);
  return finish("reduce-scatter");
}

GroupCollectives::Ticket NcclGroupCollectives::do_alltoallv(const View& send, const std::vector<std::int64_t>& send_counts,
                                                            const View& recv, const std::vector<std::int64_t>& recv_counts) {
  const int p = size(), me = position();
  const auto send_offsets = offsets_of(send_counts), recv_offsets = offsets_of(recv_counts);
  const auto self = static_cast<std::size_t>(me);
  const float* in = send.floats();
  float* out = recv.floats();
  begin();
  FLEXCP_CUDA_CHECK(cudaMemcpyAsync(out + recv_offsets[self], in + send_offsets[self],
                                    static_cast<std::size_t>(send_counts[self]) * sizeof(float), cudaMemcpyDeviceToDevice,
                                    comm_->stream()));
  // Only the peers with something to exchange: a peer's count for this rank mirrors this
  // rank's for it, so both sides skip the same pairs, and a sparse exchange on a large group
  // (the boundary's, every rank of the placement) sets up no connection it does not use.
  FLEXCP_NCCL_CHECK(ncclGroupStart());
  for (int j = 0; j < p; ++j) {
    if (j == me) continue;
    const auto i = static_cast<std::size_t>(j);
    if (send_counts[i] > 0)
      FLEXCP_NCCL_CHECK(ncclSend(in + send_offsets[i], static_cast<std::size_t>(send_counts[i]), ncclFloat32, j,
                                 comm_->get(), comm_->stream()));
    if (recv_counts[i] > 0)
      FLEXCP_NCCL_CHECK(ncclRecv(out + recv_offsets[i], static_cast<std::size_t>(recv_counts[i]), ncclFloat32, j,
                                 comm_->get(), comm_->stream()));
  }
  FLEXCP_NCCL_CHECK(ncclGroupEnd());
  stats_.bytes_sent += (total_of(send_counts) - static_cast<double>(send_counts[self])) * sizeof(float);
  return finish("all-to-all");
}

void NcclGroupCollectives::wait(Ticket& ticket) {
  FLEXCP_CHECK(ticket.slot >= 0 && ticket.slot < static_cast<int>(pending_.size()) &&
                   pending_[static_cast<std::size_t>(ticket.slot)] != nullptr,
               "wait on an unknown ticket");
  const auto i = static_cast<std::size_t>(ticket.slot);
  stats_.wait_seconds += comm_->wait(*pending_[i], whats_[i]);
  pending_[i]->make_wait(compute_.get());
  pending_[i].reset();
  ticket.slot = -1;
  if (std::all_of(pending_.begin(), pending_.end(), [](const auto& e) { return e == nullptr; })) {
    pending_.clear();
    whats_.clear();
  }
}

}  // namespace flexcp::comm
