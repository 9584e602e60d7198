#pragma once
// The datasets of one /runs/<strategy> group of a run's results file, each growing by one row
// per measured step (docs/results-schema.md), and the attributes that summarise the strategy.
#include <hdf5.h>

#include <functional>
#include <string>
#include <vector>

#include "app/output/comparison.hpp"
#include "app/output/h5_handle.hpp"
#include "app/output/h5_series.hpp"
#include "app/run/step_metrics.hpp"

namespace flexcp {

class StrategySeries {
 public:
  // Creates the group and its empty series; `rank_scale` is /topology/rank, attached to the
  // rank axis of every [S, R] series (the group's own `step` series is the step axis' scale).
  StrategySeries(hid_t runs, const StrategyResult& result, hid_t rank_scale, int nranks);

  void append(const StepRecord& step);
  std::size_t rows() const { return rows_; }
  // Throughput ratios, mean phase ratios and the correctness check: updated when a strategy
  // ends and when the run does.
  void write_summary(const StrategyResult& result, const StrategySummary& summary);

 private:
  struct Column {
    h5::Series series;
    std::function<void(const StepRecord&, h5::Series&)> append;
  };
  void add(hid_t group, const char* name, bool per_rank, const char* units, const char* description,
           std::function<std::vector<double>(const StepRecord&)> values);
  void add_counts(hid_t group, const char* name, bool per_rank, const char* units, const char* description,
                  std::function<std::vector<long long>(const StepRecord&)> values);
  void attach(const h5::Series& series, bool per_rank);
  void add_per_step(hid_t group);
  void add_phases();
  void add_plan();

  H5Handle group_, phases_, plan_, cache_, check_;
  hid_t rank_scale_;
  hsize_t nranks_;
  std::vector<Column> columns_;
  std::vector<h5::Series> group_lists_;  // plan/group_sizes, plan/group_offsets: not per step
  std::size_t rows_ = 0;
};

}  // namespace flexcp
