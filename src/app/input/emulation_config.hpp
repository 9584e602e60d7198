#pragma once
// The emulated network a run executes on (scripts/emulated-cluster.sh writes it; the input names
// it with `cluster.emulation`): the time-dilated cluster's shape, links, CPU quota and dilation
// factor. flexcp run plans and models with the file's dilated [hardware] profile, states the
// dilation in its output and records this table in the results file (/emulation).
#include <toml++/toml.h>

#include <optional>
#include <string>
#include <vector>

namespace flexcp {

struct EmulatedNetwork {
  std::string profile;       // the hardware profile emulated (e.g. h100-dgx)
  std::string profile_file;
  double dilation = 1.0;     // profile attention rate / this machine's measured kernel rate per rank
  int nodes = 1, ranks_per_node = 1;
  std::vector<std::string> namespaces;  // network namespaces of the cluster (head first)
  double link_gbps = 0.0;      // shaped rate of every rank's link, each way, GB/s
  double link_delay_ms = 0.0;  // one-way delay added on every rank's link
  std::string links;           // how the links are made, in words
  double byte_scale = 1.0;     // executor element bytes / profile element bytes (applied to link rates)
  double cpu_quota = 1.0;      // CPU cores per rank (cgroup quota)
  double rank_gflops = 0.0;    // measured kernel rate per rank under that quota
  std::string calibration;     // the command that measured it
};

// Reads an [emulation] table; throws ConfigError naming the key.
EmulatedNetwork read_emulation(const toml::table& table, const std::string& source);

// Why this job cannot be the emulated cluster (another node count or rank count), or nothing.
std::optional<std::string> emulation_shape_problem(const EmulatedNetwork& network, int nodes, int ranks);

}  // namespace flexcp
