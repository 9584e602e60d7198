#include "app/run/run_checkpoint.hpp"

#include <cstdio>

#include "app/all_or_none.hpp"
#include "app/run/stop_signal.hpp"

namespace flexcp {

RunCheckpoint::RunCheckpoint(comm::World& world, RunMetadata& meta, bool force, std::function<void(bool)> write)
    : world_(world), meta_(meta), force_(force), write_(std::move(write)) {}

void RunCheckpoint::save(const char* status) {
  all_or_none(world_, [&] {
    if (world_.rank() != 0) return;
    meta_.status = status;
    write_(force_);
  });
  force_ = true;
}

bool RunCheckpoint::after_step() {
  save("running");
  return world_.max_over_ranks(stop_requested() ? 1.0 : 0.0) > 0.0;
}

void RunCheckpoint::finish(bool stopped) {
  save(stopped ? "cut_short" : "complete");
  if (world_.rank() == 0 && stopped) {
    std::printf("# Cut short by signal %d at a step boundary: the results file holds every completed step "
                "(status = cut_short).\n", stop_signal());
    std::fflush(stdout);
  }
}

}  // namespace flexcp
