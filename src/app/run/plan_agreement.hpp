#pragma once
// Every rank plans each batch on its own (no plan is broadcast); before any rank creates a group
// communicator or posts a message for a plan, the ranks agree that they hold the same plan:
// one allreduce of its digest (sched/plan_digest.hpp). Ranks that disagree (a nondeterministic
// planner, inputs that differ between ranks) stop together with an error instead of hanging
// in a split or a stage.
#include <cstdint>
#include <string>

#include "comm/world.hpp"
#include "sched/plan.hpp"

namespace flexcp {

// Collective. Throws AgreedError (exit 1) on every rank when the digests differ.
void require_same_plan(comm::World& world, const sched::Plan& plan, const std::string& strategy, std::int64_t step);

}  // namespace flexcp
