#pragma once
// Rank 0's stdout, in the style of nccl-tests: '#' header lines (versions, topology, resolved
// input), one table per strategy, a correctness footer, and one greppable summary line per
// strategy ("flexcp-summary key=value ...").
#include <cstdio>
#include <string>
#include <vector>

#include "comm/topology.hpp"
#include "app/input/config.hpp"
#include "app/run/step_metrics.hpp"

namespace flexcp {

void print_versions(std::FILE* out);
void print_topology(std::FILE* out, const comm::Topology& topology);
// `backend`: what the executors run on (kernels over data path).
void print_header(std::FILE* out, const Config& config, const comm::Topology& topology, const std::string& backend);
void print_strategy_table(std::FILE* out, const StrategyResult& result);
void print_footer(std::FILE* out, const std::vector<StrategyResult>& results, const comm::Topology& topology,
                  const std::string& output_path);

}  // namespace flexcp
