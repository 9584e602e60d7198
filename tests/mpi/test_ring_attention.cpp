// Ring CP attention over every rank of the job, forward and backward, against the float64
// single-process reference (per document), over MPI's transport and the in-order conformance
// transport. Run by ctest at every rank count from 1 to 8.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <random>

#include "../random_batch.hpp"
#include "attn/host_backend.hpp"
#include "attn/ring_attention.hpp"
#include "attn/local_tensors.hpp"
#include "app/run/correctness_check.hpp"
#include "sched/shard.hpp"
#include "transports.hpp"

using namespace flexcp;
using test_support::world_size;

namespace {
constexpr double kTolerance = 1e-4;

struct RingRun {
  CheckResult check;      // on every rank
  double bytes_sent = 0;  // this rank
  std::vector<sched::RankShard> shards;
};

RingRun run_ring(const std::string& transport_kind, const sched::Batch& batch, const attn::HeadLayout& layout,
                 std::uint64_t seed) {
  auto transport = test_support::make_transport(transport_kind);
  attn::HostKernels kernels;
  const int p = transport->size();
  std::vector<int> members(static_cast<std::size_t>(p));
  for (int r = 0; r < p; ++r) members[static_cast<std::size_t>(r)] = r;
  RingRun result;
  result.shards = sched::zigzag_shards(batch, p);
  attn::RingAttention ring(*transport, kernels, members, result.shards, layout);
  const auto& shard = ring.local_shard();
  auto t = attn::make_local_tensors(kernels, shard, batch.doc_offsets(), layout, seed);
  kernels.fill(t.dkv.view(), std::nanf(""));  // poisoned: every element must be written
  ring.forward(t.q.view(), t.kv.view(), t.out.view(), t.lse.view());
  ring.backward(t.q.view(), t.kv.view(), t.out.view(), t.lse.view(), t.dout.view(), t.dq.view(), t.dkv.view());
  result.bytes_sent = transport->stats().bytes_sent;
  attn::HostResults results;
  attn::append_results(kernels, t, results);
  result.check = check_against_reference(test_support::world(), batch, layout, seed, shard, results, kTolerance, 0);
  return result;
}
}  // namespace

TEST(RingAttention, MatchesFloat64ReferenceOnRandomBatches) {
  const attn::HeadLayout layouts[] = {{4, 2, 16}, {6, 3, 8}, {2, 1, 32}};
  for (const auto& kind : test_support::transport_kinds()) {
    std::mt19937_64 rng(777);  // same seed on every rank: the same batches everywhere
    for (int trial = 0; trial < 6; ++trial) {
      auto batch = test_support::random_batch(rng, 3 + trial, 160);
      batch.doc_lengths.push_back(1);  // a length-1 document, and one shorter than the group
      batch.doc_lengths.push_back(std::max(1, world_size() - 1));
      const auto r = run_ring(kind, batch, layouts[trial % 3], 500 + trial);
      EXPECT_TRUE(r.check.passed) << kind << " trial " << trial << ": worst " << r.check.worst_tensor << " of document "
                                  << r.check.worst_document << " " << r.check.worst();
    }
  }
}

TEST(RingAttention, SingleTokenBatchOnOneRankOthersIdle) {
  if (world_size() > 1) GTEST_SKIP() << "a 1-token batch leaves ranks without tokens; covered at np 1";
  const auto r = run_ring("mpi", sched::Batch{{1}}, {2, 1, 4}, 9);
  EXPECT_TRUE(r.check.passed) << r.check.worst();
}

// Bytes on the wire: forward sends every shard P-1 times, backward the KV P-1 times more and
// the dK/dV partials P times (the last hop returns them to the owner). Exactly, per rank.
TEST(RingAttention, BytesSentMatchTheRingSchedule) {
  const sched::Batch batch{{40, 3, 100, 1, 17}};
  const attn::HeadLayout layout{4, 2, 8};
  for (const auto& kind : test_support::transport_kinds()) {
    const auto r = run_ring(kind, batch, layout, 3);
    const int p = world_size(), rank = test_support::world_rank();
    double expected = 0;
    for (int s = 0; s < p; ++s) {
      const int owner = ((rank - s) % p + p) % p;
      const double shard_bytes = 4.0 * static_cast<double>(attn::kv_floats(r.shards[owner].tokens(), layout));
      if (s + 1 < p) expected += 2 * shard_bytes;  // KV forward and backward
      if (p > 1) expected += shard_bytes;          // dK/dV partial
    }
    EXPECT_DOUBLE_EQ(r.bytes_sent, expected) << kind;
  }
}
