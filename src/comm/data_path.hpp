#pragma once
// The channels one rank's executors move data through, for one memory space: point-to-point
// stages over the whole job (one Transport, no per-group communicator needed) and a factory of
// group communicators for each communicator cache (collectives of all-gather and Ulysses
// groups). Opened once per run: open_mpi_data_path (host memory) or open_nccl_data_path
// (device memory).
#include <memory>
#include <string>

#include "comm/group_factory.hpp"
#include "comm/transport.hpp"

namespace flexcp::comm {

class DataPath {
 public:
  virtual ~DataPath() = default;
  virtual Transport& transport() = 0;
  // A new factory for one CommunicatorCache (it may hold references into this data path).
  virtual std::unique_ptr<GroupFactory> group_factory() = 0;
  virtual std::string description() const = 0;
};

}  // namespace flexcp::comm
