#pragma once
// A 64-bit digest of everything in a plan that the ranks must agree on before they create group
// communicators and exchange data: the strategy, the batch as executed, and every group of
// every micro-batch (ranks, scheme, documents, sharding, owners). Every rank plans the same
// batch independently; ranks whose digests differ would wait in different splits and stages
// forever, so flexcp run compares digests (one allreduce) and stops with an error instead.
#include <cstdint>

#include "sched/plan.hpp"

namespace flexcp::sched {

std::uint64_t plan_digest(const Plan& plan);

}  // namespace flexcp::sched
