#pragma once
// The results file as a run's checkpoint: rank 0 saves it after every step (plain runs append
// the step to their RunResultsFile, multimodal runs rewrite their small file atomically), so a
// run stopped by the time limit, or killed, keeps every completed step, and after each step the
// ranks agree whether a signal asked them to stop. Plain and multimodal runs write different
// files through the same checkpoint.
#include <functional>

#include "app/output/results_file.hpp"
#include "comm/world.hpp"

namespace flexcp {

class RunCheckpoint {
 public:
  // `write(force)`: rank 0 writes the whole file with meta.status set; `force` as --force for the
  // first write, true after it (the file is then the run's own).
  RunCheckpoint(comm::World& world, RunMetadata& meta, bool force, std::function<void(bool force)> write);

  // Collective: rank 0 writes the file with this status; a failure fails every rank.
  void save(const char* status);
  // Collective, after a step: saves "running"; true when the ranks agreed to stop.
  bool after_step();
  // Collective: the last save, "cut_short" or "complete". Stopped, rank 0 says so on stdout
  // after the save: a signalled mpirun kills the ranks about 2 s later and may stop forwarding
  // their output first, so printing before it could leave the file saying "running".
  void finish(bool stopped);

 private:
  comm::World& world_;
  RunMetadata& meta_;
  bool force_;
  std::function<void(bool)> write_;
};

}  // namespace flexcp
