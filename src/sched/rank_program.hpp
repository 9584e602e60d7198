#pragma once
// Compiling a plan for one rank: which tokens it holds, with whom it computes, and exactly which
// KV it must receive from and serve to each peer. Pure (no MPI), so the executor, the simulator
// and the tests derive the same program from the same plan.
#include <cstdint>
#include <vector>

#include "sched/plan.hpp"
#include "sched/shard.hpp"

namespace flexcp::sched {

// Every member's local buffer in one group: the member's whole documents first (in plan order),
// then its zigzag chunks of the group's split documents. Keeping the split part a contiguous
// suffix lets head-parallel (all-to-all) groups exchange exactly their split tokens.
std::vector<RankShard> group_shards(const Plan& plan, const CpGroup& group);
// Tokens of the whole-document prefix of a member's buffer.
std::int64_t whole_prefix_tokens(const Plan& plan, const CpGroup& group, int member);

// A run of KV rows an owner sends to a receiver: positions [pos_begin, pos_begin + length) of
// `doc`, found at `owner_local_begin` in the owner's buffer and at `message_begin` in the message.
struct KvPiece {
  std::int32_t doc = 0;
  std::int64_t pos_begin = 0, length = 0;
  std::int64_t owner_local_begin = 0, message_begin = 0;
};

// The KV of `owner` that some query of `receiver` attends to under the document and causal
// masks: of every owner segment, the part at or before the receiver's last query position in
// that document. Nothing more is ever sent (FlashCP / MagiAttention's sharding-aware exchange).
std::vector<KvPiece> needed_kv(const RankShard& owner, const RankShard& receiver);
std::int64_t piece_tokens(const std::vector<KvPiece>& pieces);
// The pieces as a shard in message coordinates, for build_slices().
RankShard message_shard(const std::vector<KvPiece>& pieces);

// One rank's part of one micro-batch.
struct GroupProgram {
  std::vector<int> members;  // world ranks of its group, ascending; just this rank when idle
  int position = 0;          // this rank's index in members
  CommScheme comm = CommScheme::needed_kv;
  int inner = 1;                  // hybrid: members per all-to-all block (CpGroup::inner)
  std::vector<RankShard> shards;  // every member's buffer
  std::vector<std::int64_t> member_whole_tokens;  // each member's whole-document prefix
  // needed_kv only, indexed by member position: KV this rank receives from / serves to each member.
  std::vector<std::vector<KvPiece>> receive_from, serve_to;

  const RankShard& local() const { return shards[static_cast<std::size_t>(position)]; }
  std::int64_t whole_tokens() const { return member_whole_tokens[static_cast<std::size_t>(position)]; }
  int group_size() const { return static_cast<int>(members.size()); }
};

// Fills `g`'s receive_from and serve_to from its shards (needed-KV among its members).
void add_needed_kv(GroupProgram& g);

struct RankProgram {
  std::vector<GroupProgram> micro_batches;
  std::int64_t tokens() const;
};

RankProgram compile_rank_program(const Plan& plan, int rank);

}  // namespace flexcp::sched
