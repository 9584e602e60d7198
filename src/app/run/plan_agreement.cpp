#include "app/run/plan_agreement.hpp"

#include "app/all_or_none.hpp"
#include "sched/plan_digest.hpp"

namespace flexcp {

void require_same_plan(comm::World& world, const sched::Plan& plan, const std::string& strategy, std::int64_t step) {
  if (world.same_on_every_rank(sched::plan_digest(plan))) return;
  throw AgreedError("strategy " + strategy + ", step " + std::to_string(step) +
                        ": the ranks planned the batch differently (their plan digests differ), so they would wait on "
                        "each other forever; stopped before any communicator or message. The planner must be "
                        "deterministic and every rank must hold the same input",
                    ExitCode::failure);
}

}  // namespace flexcp
