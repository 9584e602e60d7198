#include "sched/plan_digest.hpp"

#include "sched/batch_sampler.hpp"

namespace flexcp::sched {
namespace {
struct Digest {
  std::uint64_t value = 0x6a09e667f3bcc908ULL;
  void add(std::uint64_t x) { value = splitmix64(value ^ x); }
};
}  // namespace

std::uint64_t plan_digest(const Plan& plan) {
  Digest d;
  for (char c : plan.strategy) d.add(static_cast<unsigned char>(c));
  d.add(plan.batch.doc_lengths.size());
  for (auto length : plan.batch.doc_lengths) d.add(static_cast<std::uint64_t>(length));
  d.add(plan.micro_batches.size());
  for (const auto& mb : plan.micro_batches) {
    d.add(mb.groups.size());
    for (const auto& g : mb.groups) {
      d.add(static_cast<std::uint64_t>(g.comm));
      d.add(g.ranks.size());
      for (auto r : g.ranks) d.add(static_cast<std::uint64_t>(r));
      d.add(g.docs.size());
      for (const auto& doc : g.docs) {
        d.add(static_cast<std::uint64_t>(doc.doc));
        d.add(static_cast<std::uint64_t>(doc.sharding));
        d.add(static_cast<std::uint64_t>(doc.owner));
      }
    }
  }
  return d.value;
}

}  // namespace flexcp::sched
