#include "sched/hardware.hpp"

namespace flexcp::sched {

double HardwareProfile::a2a_bandwidth(int group_size, bool spans_nodes) const {
  if (!spans_nodes || a2a_inter_bandwidth.empty()) return spans_nodes ? inter_bandwidth : a2a_intra_bandwidth;
  double bw = a2a_inter_bandwidth.front().second;
  for (const auto& [size, value] : a2a_inter_bandwidth)
    if (size <= group_size) bw = value;
  return bw;
}

}  // namespace flexcp::sched
