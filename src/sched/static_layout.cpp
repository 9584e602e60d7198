#include "sched/static_layout.hpp"

#include <algorithm>

namespace flexcp::sched {
namespace {
std::string megatron_comm_type(CommScheme comm) {
  switch (comm) {
    case CommScheme::ring: return "p2p";
    case CommScheme::all_gather: return "allgather";
    case CommScheme::all_to_all: return "a2a";
    case CommScheme::hierarchical: return "a2a+p2p";
    case CommScheme::needed_kv:
    case CommScheme::hybrid: break;
  }
  return "?";
}

std::vector<int> divisors(int n) {
  std::vector<int> out;
  for (int d = 1; d <= n; ++d)
    if (n % d == 0) out.push_back(d);
  return out;
}

}  // namespace

std::string ulysses_heads_problem(const ModelShape& m, int u) {
  if (m.q_heads % u != 0) return "Ulysses splits heads, so its degree must divide H_q = " + std::to_string(m.q_heads);
  if (u % m.kv_heads != 0 && m.kv_heads % u != 0)
    return "its degree must divide H_kv = " + std::to_string(m.kv_heads) + " or be a multiple of it (KV heads replicated)";
  return "";
}

namespace {
// TransformerEngine's all-to-all reshapes every head dimension into (size, heads / size).
std::string transformer_engine_heads_problem(const ModelShape& m, int size) {
  if (m.q_heads % size != 0 || m.kv_heads % size != 0)
    return "TransformerEngine's all-to-all splits query and KV heads " + std::to_string(size) +
           " ways, so it must divide H_q = " + std::to_string(m.q_heads) + " and H_kv = " + std::to_string(m.kv_heads);
  return "";
}
}  // namespace

std::string StaticLayout::name() const {
  switch (family) {
    case StaticFamily::ulysses: return "ulysses-u" + std::to_string(degree);
    case StaticFamily::usp: return "usp-u" + std::to_string(inner) + "-r" + std::to_string(degree / std::max(inner, 1));
    case StaticFamily::megatron: break;
  }
  // flexcp's strategy names (megatron-cp-ring, -allgather, -a2a, -a2a+p2p) and the degree.
  const std::string type = comm == CommScheme::ring ? "ring" : megatron_comm_type(comm);
  return "megatron-cp-" + type + "-c" + std::to_string(degree);
}

std::string StaticLayout::description(int ranks) const {
  const std::string dp = ", DP " + std::to_string(ranks / std::max(degree, 1)) + ", sequences token-balanced over DP";
  switch (family) {
    case StaticFamily::ulysses:
      return "DeepSpeed-Ulysses, degree " + std::to_string(degree) + dp + ", all-to-all head transpose";
    case StaticFamily::usp:
      return "USP (long-context-attention): Ulysses " + std::to_string(inner) + " inside x ring " +
             std::to_string(degree / inner) + " across" + dp + ", zigzag, padded to 2c";
    case StaticFamily::megatron: break;
  }
  std::string how = "cp_comm_type " + (comm == CommScheme::all_gather ? std::string("all_gather") : megatron_comm_type(comm));
  if (comm == CommScheme::hierarchical)
    how += ", hierarchical_context_parallel_sizes [" + std::to_string(inner) + ", " + std::to_string(degree / inner) + "]";
  return "Megatron-LM CP, degree " + std::to_string(degree) + ", " + how + dp + ", zigzag, THD padded to 2c";
}

int StaticLayout::pad_multiple() const { return family == StaticFamily::ulysses ? 1 : 2 * degree; }

std::string layout_problem(const PlannerContext& context, const StaticLayout& layout) {
  const int ranks = context.cost.cluster.ranks();
  const auto& m = context.cost.model;
  const std::string name = layout.name() + ": ";
  if (layout.degree < 1 || ranks % layout.degree != 0)
    return name + "degree " + std::to_string(layout.degree) + " must divide the " + std::to_string(ranks) + " ranks";
  std::string heads;
  switch (layout.comm) {
    case CommScheme::all_to_all:
      heads = layout.family == StaticFamily::ulysses ? ulysses_heads_problem(m, layout.degree)
                                                     : transformer_engine_heads_problem(m, layout.degree);
      break;
    case CommScheme::hierarchical:
      if (layout.inner < 1 || layout.degree % layout.inner != 0)
        return name + "the all-to-all size " + std::to_string(layout.inner) + " must divide the degree";
      heads = layout.family == StaticFamily::usp ? ulysses_heads_problem(m, layout.inner)
                                                 : transformer_engine_heads_problem(m, layout.inner);
      break;
    default: break;
  }
  return heads.empty() ? "" : name + heads;
}

std::vector<StaticLayout> candidate_layouts(const PlannerContext& context, StaticFamily family,
                                            const std::vector<int>& megatron_degrees) {
  const int ranks = context.cost.cluster.ranks(), per_node = context.cost.cluster.ranks_per_node;
  std::vector<StaticLayout> out;
  auto add = [&](StaticLayout layout) {
    if (layout_problem(context, layout).empty()) out.push_back(layout);
  };
  switch (family) {
    case StaticFamily::megatron: {
      // The largest all-to-all block within a node that the heads allow: the node when they do.
      int block = 1;
      for (int a = 2; a <= per_node; ++a)
        if (per_node % a == 0 && transformer_engine_heads_problem(context.cost.model, a).empty()) block = a;
      std::vector<int> degrees = megatron_degrees;
      if (degrees.empty())
        for (int c = 1; c <= ranks; c *= 2)
          if (ranks % c == 0) degrees.push_back(c);
      for (int c : degrees) {
        if (c < 1 || ranks % c != 0) continue;
        add({family, CommScheme::ring, c, 1});
        if (c == 1) continue;  // one rank: no communication, the same under every comm type
        add({family, CommScheme::all_gather, c, 1});
        add({family, CommScheme::all_to_all, c, 1});
        if (c > per_node && block > 1 && c % block == 0) add({family, CommScheme::hierarchical, c, block});
      }
      break;
    }
    case StaticFamily::ulysses:
      for (int u : divisors(ranks))
        if (u >= 2) add({family, CommScheme::all_to_all, u, 1});
      break;
    case StaticFamily::usp:
      for (int u : divisors(ranks)) {
        if (u < 2 || u > per_node || !ulysses_heads_problem(context.cost.model, u).empty()) continue;
        for (int r : divisors(ranks / u))
          if (r >= 2) add({family, CommScheme::hierarchical, u * r, u});
      }
      break;
  }
  return out;
}

}  // namespace flexcp::sched
