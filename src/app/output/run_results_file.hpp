#pragma once
// The results file of `flexcp run` (docs/results-schema.md), written incrementally by rank 0:
// every measured step is appended to extendible datasets and flushed, so the I/O per step is
// the step's rows, not the whole file again.
//
// Where the file lives: it is created as `<out>.tmp.<pid>` and renamed to `<out>` when the first
// measured step has been flushed (or when the run ends, whichever comes first); from then on
// every flush replaces `<out>` atomically (h5_deferred_driver.hpp). A run killed at any point
// therefore leaves every completed step in `<out>` (status "running"), beside a stale
// `<out>.tmp.<pid>.shadow` copy to delete; a `<out>.tmp.<pid>` left behind holds no measured
// step. The rename never replaces a file that appeared meanwhile unless --force was given.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "app/output/h5_handle.hpp"
#include "app/output/results_file.hpp"
#include "app/output/strategy_series.hpp"

namespace flexcp {

class RunResultsFile {
 public:
  // Creates the temporary with what is known before the first step (status "running").
  RunResultsFile(std::filesystem::path path, const RunMetadata& meta, bool force);
  // Removes the temporary when no step was published (a failure before the first step).
  ~RunResultsFile();
  RunResultsFile(const RunResultsFile&) = delete;
  RunResultsFile& operator=(const RunResultsFile&) = delete;

  // Appends the steps of `results` not yet in the file (a group per new strategy) and flushes;
  // when a strategy begins, the summaries of those before it are brought up to date.
  void update(const std::vector<StrategyResult>& results);
  // The last update: every summary, the status ("complete" or "cut_short"), flushed and closed.
  void finish(const std::vector<StrategyResult>& results, const char* status);

 private:
  void write_summaries(const std::vector<StrategyResult>& results);
  void flush();
  void publish();
  void close();

  std::filesystem::path path_;
  std::string temporary_;
  bool force_;
  bool published_ = false;
  int nranks_;
  H5Handle file_, runs_, rank_scale_;
  std::vector<std::unique_ptr<StrategySeries>> strategies_;
};

}  // namespace flexcp
