#include "sched/scheme_choice.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sched/hybrid_layout.hpp"
#include "sched/static_layout.hpp"

namespace flexcp::sched {

std::vector<CommScheme> executable_schemes(const CpGroup& group, const Cluster& cluster, const ModelShape& model,
                                           const SchemeSet& allowed, int* hybrid_inner_out) {
  std::vector<CommScheme> out{CommScheme::needed_kv};
  const int p = static_cast<int>(group.ranks.size());
  if (p < 2) return out;
  const bool all_split = std::all_of(group.docs.begin(), group.docs.end(),
                                     [](const DocAssignment& d) { return d.sharding == Sharding::split; });
  if (allowed.all_gather && all_split) out.push_back(CommScheme::all_gather);
  if (allowed.all_to_all && ulysses_heads_problem(model, p).empty()) out.push_back(CommScheme::all_to_all);
  if (allowed.hybrid)
    if (const int inner = hybrid_inner(group.ranks, cluster, model); inner > 0) {
      out.push_back(CommScheme::hybrid);
      if (hybrid_inner_out != nullptr) *hybrid_inner_out = inner;
    }
  return out;
}

void choose_schemes(Plan& plan, std::size_t mb, const CostContext& c, const SchemeSet& allowed, double others_s,
                    const std::function<bool(const RankSet&)>& exists, std::vector<double>* times_out) {
  auto& groups = plan.micro_batches[mb].groups;
  if (times_out != nullptr) times_out->assign(groups.size(), std::numeric_limits<double>::quiet_NaN());
  struct Best {
    CommScheme scheme = CommScheme::needed_kv;
    double time = std::numeric_limits<double>::infinity();
  };
  // Per group: the fastest scheme that needs no new communicator, and the fastest of all.
  std::vector<Best> free(groups.size()), any(groups.size());
  std::vector<bool> decided(groups.size(), true);
  bool creates = false;
  double free_step = others_s, any_step = others_s;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto& group = groups[g];
    if (group.ranks.size() < 2) continue;
    int inner = 1;
    const auto schemes = executable_schemes(group, c.cluster, c.model, allowed, &inner);
    group.inner = inner;  // used by the hybrid alone
    if (schemes.size() == 1) {
      group.comm = schemes.front();
      continue;
    }
    decided[g] = false;
    for (auto scheme : schemes) {
      group.comm = scheme;
      const double t = group_time_s(plan, group, c);
      const auto sets = communicator_sets(group);
      const bool needs_new = std::any_of(sets.begin(), sets.end(), [&](const RankSet& s) { return !exists(s); });
      if (t < any[g].time) any[g] = {scheme, t};
      if (!needs_new && t < free[g].time) free[g] = {scheme, t};
    }
    group.comm = any[g].scheme;
    const auto sets = communicator_sets(group);
    creates = creates || std::any_of(sets.begin(), sets.end(), [&](const RankSet& s) { return !exists(s); });
    free_step = std::max(free_step, free[g].time);
    any_step = std::max(any_step, any[g].time);
  }
  // One creation round makes every missing communicator of the micro-batch at once.
  const double create_s = creates ? c.hardware.communicator_create_s : 0.0;
  const bool create = any_step + create_s < free_step || create_s <= 0.0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (decided[g]) continue;
    // When creating costs time, a group off the critical path keeps a scheme that needs no
    // new communicator.
    const bool fastest = create && (create_s <= 0.0 || free[g].time > any_step);
    groups[g].comm = fastest ? any[g].scheme : free[g].scheme;
    const double t = fastest ? any[g].time : free[g].time;
    if (times_out != nullptr && std::isfinite(t)) (*times_out)[g] = t;
  }
}

}  // namespace flexcp::sched
