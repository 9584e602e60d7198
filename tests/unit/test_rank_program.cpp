// Compiling plans for one rank: buffers place every token once, the needed-KV pieces are exactly
// what the masks require (checked by brute force and against the cost model's closed forms),
// sending and receiving sides agree, and whole-document members exchange nothing.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "../random_batch.hpp"
#include "sched/rank_program.hpp"
#include "sched/zigzag_math.hpp"

using namespace flexcp;
using namespace flexcp::sched;

namespace {
// A group of P ranks, documents alternately split and whole (owner d % P).
Plan mixed_plan(const Batch& batch, int p) {
  Plan plan;
  plan.batch = batch;
  CpGroup g;
  for (int r = 0; r < p; ++r) g.ranks.push_back(r);
  g.comm = CommScheme::needed_kv;
  for (std::int32_t d = 0; d < static_cast<std::int32_t>(batch.doc_lengths.size()); ++d)
    g.docs.push_back({d, d % 2 == 0 ? Sharding::split : Sharding::whole, d % p});
  plan.micro_batches.push_back({{g}});
  return plan;
}

// Brute force: (doc, position) keys of `owner` that some query of `receiver` attends to.
std::set<std::pair<std::int32_t, std::int64_t>> needed_by_counting(const RankShard& owner, const RankShard& receiver) {
  std::set<std::pair<std::int32_t, std::int64_t>> keys;
  for (const auto& o : owner.segments)
    for (std::int64_t k = o.pos_begin; k < o.pos_begin + o.length; ++k)
      for (const auto& q : receiver.segments)
        if (q.doc == o.doc && q.pos_begin + q.length - 1 >= k) keys.insert({o.doc, k});
  return keys;
}
}  // namespace

TEST(RankProgram, NeededKvIsExactlyWhatTheMasksRequire) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const int p = 1 + trial % 7;
    const auto batch = test_support::random_batch(rng, 6, 90);
    const auto plan = mixed_plan(batch, p);
    std::vector<RankProgram> programs;
    for (int r = 0; r < p; ++r) programs.push_back(compile_rank_program(plan, r));
    std::vector<double> needed(static_cast<std::size_t>(p), 0.0), served(static_cast<std::size_t>(p), 0.0);
    for (std::size_t d = 0; d < batch.doc_lengths.size(); d += 2)
      zigzag::add_kv_exchange(batch.doc_lengths[d], p, needed, served);
    for (int r = 0; r < p; ++r) {
      const auto& g = programs[static_cast<std::size_t>(r)].micro_batches.at(0);
      double received = 0.0, sent = 0.0;
      for (int m = 0; m < p; ++m) {
        if (m == r) continue;
        const auto& in = g.receive_from[static_cast<std::size_t>(m)];
        std::set<std::pair<std::int32_t, std::int64_t>> got;
        for (const auto& piece : in)
          for (std::int64_t k = piece.pos_begin; k < piece.pos_begin + piece.length; ++k) got.insert({piece.doc, k});
        EXPECT_EQ(got, needed_by_counting(g.shards[static_cast<std::size_t>(m)], g.local())) << "trial " << trial;
        // What m sends to r is what r expects from m, piece for piece.
        const auto& out = programs[static_cast<std::size_t>(m)].micro_batches[0].serve_to[static_cast<std::size_t>(r)];
        ASSERT_EQ(out.size(), in.size());
        for (std::size_t i = 0; i < in.size(); ++i) {
          EXPECT_EQ(out[i].doc, in[i].doc);
          EXPECT_EQ(out[i].pos_begin, in[i].pos_begin);
          EXPECT_EQ(out[i].length, in[i].length);
          EXPECT_EQ(out[i].message_begin, in[i].message_begin);
        }
        received += static_cast<double>(piece_tokens(in));
        sent += static_cast<double>(piece_tokens(g.serve_to[static_cast<std::size_t>(m)]));
      }
      // The same numbers the cost model charges (whole documents exchange nothing).
      EXPECT_EQ(received, needed[static_cast<std::size_t>(r)]) << "trial " << trial << " rank " << r;
      EXPECT_EQ(sent, served[static_cast<std::size_t>(r)]) << "trial " << trial << " rank " << r;
    }
  }
}

TEST(RankProgram, BuffersHoldEveryTokenOnceWholeDocumentsFirst) {
  const Batch batch{{7, 30, 1, 12, 3}};
  const auto plan = mixed_plan(batch, 3);
  const auto shards = group_shards(plan, plan.micro_batches[0].groups[0]);
  std::vector<std::int64_t> seen(static_cast<std::size_t>(batch.total_tokens()), 0);
  const auto offsets = batch.doc_offsets();
  for (int m = 0; m < 3; ++m) {
    const auto whole = whole_prefix_tokens(plan, plan.micro_batches[0].groups[0], m);
    std::int64_t next = 0;
    for (const auto& s : shards[static_cast<std::size_t>(m)].segments) {
      EXPECT_EQ(s.local_begin, next);
      next += s.length;
      // Whole documents (odd indices here) sit in the prefix, split chunks after it.
      EXPECT_EQ(s.local_begin < whole, s.doc % 2 == 1) << "member " << m << " doc " << s.doc;
      for (std::int64_t i = 0; i < s.length; ++i) ++seen[static_cast<std::size_t>(offsets[s.doc] + s.pos_begin + i)];
    }
  }
  for (auto count : seen) EXPECT_EQ(count, 1);
}

TEST(RankProgram, MembersWithOnlyWholeDocumentsExchangeNothing) {
  Plan plan;
  plan.batch = Batch{{50, 40, 30}};
  CpGroup g{{0, 1, 2}, {{0, Sharding::split, 0}, {1, Sharding::whole, 2}, {2, Sharding::whole, 2}}, CommScheme::needed_kv};
  plan.micro_batches.push_back({{g}});
  const auto program = compile_rank_program(plan, 2);
  const auto& mine = program.micro_batches[0];
  // Rank 2 also holds chunks of the split document 0, so make a group where it does not.
  Plan only_whole = plan;
  only_whole.micro_batches[0].groups[0].docs = {{0, Sharding::whole, 0}, {1, Sharding::whole, 2}, {2, Sharding::whole, 1}};
  for (int r = 0; r < 3; ++r) {
    const auto compiled = compile_rank_program(only_whole, r);
    const auto& p = compiled.micro_batches[0];
    for (int m = 0; m < 3; ++m) {
      EXPECT_TRUE(p.receive_from[static_cast<std::size_t>(m)].empty());
      EXPECT_TRUE(p.serve_to[static_cast<std::size_t>(m)].empty());
    }
  }
  EXPECT_EQ(mine.whole_tokens(), 70);
  EXPECT_EQ(mine.local().tokens(), 70 + zigzag::tokens(50, 3, 2));
}

TEST(RankProgram, IdleRankGetsAnEmptyGroupOfItself) {
  Plan plan;
  plan.batch = Batch{{10}};
  plan.micro_batches.push_back({{CpGroup{{0, 1}, {{0, Sharding::split, 0}}, CommScheme::needed_kv}}});
  const auto program = compile_rank_program(plan, 3);
  ASSERT_EQ(program.micro_batches.size(), 1u);
  EXPECT_EQ(program.micro_batches[0].members, std::vector<int>{3});
  EXPECT_EQ(program.tokens(), 0);
}
