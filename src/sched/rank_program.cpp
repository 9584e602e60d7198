#include "sched/rank_program.hpp"

#include <algorithm>
#include <unordered_map>

#include "common/error.hpp"
#include "sched/zigzag_math.hpp"

namespace flexcp::sched {
namespace {
void append(RankShard& shard, std::int32_t doc, std::int64_t begin, std::int64_t length) {
  if (length <= 0) return;
  const auto& s = shard.segments;
  const std::int64_t local = s.empty() ? 0 : s.back().local_begin + s.back().length;
  shard.segments.push_back({doc, begin, length, local});
}
}  // namespace

std::vector<RankShard> group_shards(const Plan& plan, const CpGroup& group) {
  const int p = static_cast<int>(group.ranks.size());
  std::vector<RankShard> shards(static_cast<std::size_t>(p));
  for (const auto& d : group.docs)
    if (d.sharding == Sharding::whole)
      append(shards[static_cast<std::size_t>(d.owner)], d.doc, 0, plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)]);
  for (const auto& d : group.docs) {
    if (d.sharding != Sharding::split) continue;
    const auto length = plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)];
    for (int r = 0; r < p; ++r) {
      auto& shard = shards[static_cast<std::size_t>(r)];
      for (const std::int64_t c : {std::int64_t{r}, std::int64_t{2 * p - 1 - r}})
        append(shard, d.doc, zigzag::chunk_begin(length, p, c), zigzag::chunk_size(length, p, c));
    }
  }
  return shards;
}

std::int64_t whole_prefix_tokens(const Plan& plan, const CpGroup& group, int member) {
  std::int64_t tokens = 0;
  for (const auto& d : group.docs)
    if (d.sharding == Sharding::whole && d.owner == member) tokens += plan.batch.doc_lengths[static_cast<std::size_t>(d.doc)];
  return tokens;
}

std::vector<KvPiece> needed_kv(const RankShard& owner, const RankShard& receiver) {
  std::unordered_map<std::int32_t, std::int64_t> last_query;  // doc -> receiver's last position
  for (const auto& s : receiver.segments) {
    auto [it, inserted] = last_query.try_emplace(s.doc, s.pos_begin + s.length - 1);
    if (!inserted) it->second = std::max(it->second, s.pos_begin + s.length - 1);
  }
  std::vector<KvPiece> pieces;
  std::int64_t message = 0;
  for (const auto& s : owner.segments) {
    auto it = last_query.find(s.doc);
    if (it == last_query.end()) continue;
    const std::int64_t length = std::min(s.length, it->second + 1 - s.pos_begin);
    if (length <= 0) continue;
    pieces.push_back({s.doc, s.pos_begin, length, s.local_begin, message});
    message += length;
  }
  return pieces;
}

std::int64_t piece_tokens(const std::vector<KvPiece>& pieces) {
  std::int64_t total = 0;
  for (const auto& p : pieces) total += p.length;
  return total;
}

RankShard message_shard(const std::vector<KvPiece>& pieces) {
  RankShard shard;
  for (const auto& p : pieces) shard.segments.push_back({p.doc, p.pos_begin, p.length, p.message_begin});
  return shard;
}

void add_needed_kv(GroupProgram& g) {
  const auto p = g.members.size();
  g.receive_from.assign(p, {});
  g.serve_to.assign(p, {});
  for (std::size_t peer = 0; peer < p; ++peer) {
    if (peer == static_cast<std::size_t>(g.position)) continue;
    g.receive_from[peer] = needed_kv(g.shards[peer], g.local());
    g.serve_to[peer] = needed_kv(g.local(), g.shards[peer]);
  }
}

std::int64_t RankProgram::tokens() const {
  std::int64_t total = 0;
  for (const auto& mb : micro_batches) total += mb.local().tokens();
  return total;
}

RankProgram compile_rank_program(const Plan& plan, int rank) {
  RankProgram program;
  for (const auto& mb : plan.micro_batches) {
    GroupProgram g;
    const CpGroup* mine = nullptr;
    for (const auto& group : mb.groups)
      if (std::binary_search(group.ranks.begin(), group.ranks.end(), rank)) {
        FLEXCP_CHECK(mine == nullptr, "rank " + std::to_string(rank) + " is in two groups of one micro-batch");
        mine = &group;
      }
    if (mine == nullptr) {  // idle in this micro-batch
      g.members = {rank};
      g.shards.resize(1);
      g.member_whole_tokens.assign(1, 0);
      program.micro_batches.push_back(std::move(g));
      continue;
    }
    g.members.assign(mine->ranks.begin(), mine->ranks.end());
    g.position = static_cast<int>(std::lower_bound(g.members.begin(), g.members.end(), rank) - g.members.begin());
    g.comm = mine->comm;
    g.inner = mine->comm == CommScheme::hybrid ? mine->inner : 1;
    g.shards = group_shards(plan, *mine);
    for (int m = 0; m < g.group_size(); ++m) g.member_whole_tokens.push_back(whole_prefix_tokens(plan, *mine, m));
    if (g.comm == CommScheme::needed_kv) add_needed_kv(g);
    program.micro_batches.push_back(std::move(g));
  }
  return program;
}

}  // namespace flexcp::sched
