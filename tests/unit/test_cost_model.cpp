// The cost model against hand-computed cases, and the zigzag closed forms against counting.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "sched/cost_model.hpp"
#include "sched/shard.hpp"
#include "sched/zigzag_math.hpp"

using namespace flexcp;
using namespace flexcp::sched;

namespace {
// One layer, H_q = H_kv = 1, d = 1, no MLP: attention costs 4 FLOPs per pair (x 3.5 for
// training), linear layers 2 * (3 + 1) = 8 FLOPs per token (x 3), KV 2 * 1 * 1 * 2 = 4 bytes.
ModelShape unit_model() {
  ModelShape m;
  m.layers = 1;
  m.hidden = 1;
  m.q_heads = m.kv_heads = m.head_dim = 1;
  m.ffn_hidden = 0;
  m.activation_bytes_per_token = 1.0;
  m.state_bytes_per_param = 0.0;
  return m;
}
HardwareProfile unit_hardware() {
  HardwareProfile h;
  h.matmul_flops = 24.0;        // 24 linear FLOPs per second: 1 s per token
  h.attention_flops = 14.0;     // 14 attention FLOPs per second: 1 s per pair
  h.intra_bandwidth = 4.0;      // 1 token of KV per second
  h.inter_bandwidth = 1.0;
  h.intra_latency = 0.5;
  h.inter_latency = 0.0;
  h.a2a_intra_bandwidth = 1.0;
  h.memory_bytes = 1e9;
  h.usable_memory_fraction = 1.0;
  return h;
}
}  // namespace

TEST(CostModel, UnitModelIsWhatWeThinkItIs) {
  const auto m = unit_model();
  EXPECT_DOUBLE_EQ(m.linear_flops_per_token(), 8.0);
  EXPECT_DOUBLE_EQ(m.attention_flops_per_pair(), 4.0);
  EXPECT_DOUBLE_EQ(m.kv_bytes_per_token(2.0), 4.0);
}

TEST(CostModel, WholeDocumentOnOneRank) {
  const CostContext c{{1, 1}, unit_model(), unit_hardware()};
  Plan plan{"t", Batch{{4}}, {MicroBatch{{CpGroup{{0}, {{0, Sharding::whole, 0}}, CommScheme::ring}}}}, 0, 0};
  const auto cost = evaluate_plan(plan, c);
  // 4 tokens x 1 s + 10 pairs x 1 s.
  EXPECT_DOUBLE_EQ(cost.step_time_s, 14.0);
  EXPECT_DOUBLE_EQ(single_rank_work_s(4, c), 14.0);
  EXPECT_DOUBLE_EQ(cost.bytes_sent, 0.0);
  EXPECT_DOUBLE_EQ(lower_bound_step_s(Batch{{4}}, c, 100), 14.0);
}

// With a kernel table, attention time follows the slice shape: a whole document is one causal
// slice of its length, a zigzag member's work is fully visible chunks of padded / 2p rows; the
// forward at the forward rate, the backward (2.5x its FLOPs) at the backward rate.
TEST(CostModel, KernelTableChargesEachSliceShapeItsOwnRate) {
  auto hardware = unit_hardware();
  hardware.attention_kernel = AttentionKernelRates(
      "test", {2, 8},
      {.forward_causal = {2.0, 8.0}, .forward_full = {1.0, 4.0}, .backward_causal = {5.0, 10.0}, .backward_full = {2.5, 5.0}},
      "h");
  const CostContext c{{1, 2}, unit_model(), hardware};
  // Whole 8-token document: 36 pairs x 4 FLOPs = 144 forward FLOPs at 8/s, 360 backward at 10/s.
  const double whole = 144.0 / 8.0 + 360.0 / 10.0;
  Plan one{"t", Batch{{8}}, {MicroBatch{{CpGroup{{0}, {{0, Sharding::whole, 0}}, CommScheme::ring}}}}, 0, 0};
  EXPECT_DOUBLE_EQ(evaluate_plan(one, c).ranks[0].attention_s, whole);
  EXPECT_DOUBLE_EQ(single_rank_work_s(8, c), 8.0 + whole);
  // Split over 2 ranks: chunks of 2 rows, fully visible blocks; rank 0's pairs at the full rates of length 2.
  Plan split{"t", Batch{{8}}, {MicroBatch{{CpGroup{{0, 1}, {{0, Sharding::split, 0}}, CommScheme::ring}}}}, 0, 0};
  const auto cost = evaluate_plan(split, c);
  const double pairs0 = cost.ranks[0].mask_pairs;
  EXPECT_DOUBLE_EQ(cost.ranks[0].attention_s, pairs0 * 4.0 / 1.0 + 2.5 * pairs0 * 4.0 / 2.5);
  EXPECT_GT(cost.ranks[0].attention_s + cost.ranks[1].attention_s, whole)
      << "splitting into short slices costs more than the whole document's one long slice";
}

TEST(CostModel, RingOfTwoExposesWhatComputeCannotHide) {
  const CostContext c{{1, 2}, unit_model(), unit_hardware()};
  // L = 4 over 2 ranks: chunks of 1 token; rank 0 holds positions {0, 3}, rank 1 {1, 2}.
  Plan plan{"t", Batch{{4}}, {MicroBatch{{CpGroup{{0, 1}, {{0, Sharding::split, 0}}, CommScheme::ring}}}}, 0, 0};
  const auto cost = evaluate_plan(plan, c);
  // Pairs: rank 0: 1 + 4 = 5, rank 1: 2 + 3 = 5. Tokens 2 each.
  EXPECT_DOUBLE_EQ(cost.ranks[0].mask_pairs, 5.0);
  EXPECT_DOUBLE_EQ(cost.ranks[1].mask_pairs, 5.0);
  // Bytes per rank: forward the other shard (2 tokens x 4 B), backward 8 B of KV + 16 B of dK/dV.
  EXPECT_DOUBLE_EQ(cost.ranks[0].bytes_sent, 8.0 + 8.0 + 16.0);
  // One stage each way. Forward: 8 B / 4 B/s + 0.5 s = 2.5 s, hidden behind 5/3.5/2 s of
  // attention; backward: 24 B / 4 + 0.5 = 6.5 s behind 2.5 x that.
  const double forward_attention = 5.0 / 3.5;
  const double exposed = std::max(0.0, 2.5 - forward_attention / 2) + std::max(0.0, 6.5 - 2.5 * forward_attention / 2);
  EXPECT_DOUBLE_EQ(cost.ranks[0].exposed_comm_s, exposed);
  EXPECT_DOUBLE_EQ(cost.step_time_s, 2.0 + 5.0 + exposed);
}

TEST(CostModel, AllToAllIsNotOverlapped) {
  auto hw = unit_hardware();
  hw.a2a_intra_bandwidth = 2.0;
  const CostContext c{{1, 2}, unit_model(), hw};
  Plan plan{"t", Batch{{4}}, {MicroBatch{{CpGroup{{0, 1}, {{0, Sharding::split, 0}}, CommScheme::all_to_all}}}}, 0, 0};
  const auto cost = evaluate_plan(plan, c);
  // Each rank holds 2 tokens; (2 H_q + 2 max(H_kv, P)) d b = (2 + 4) x 2 = 12 B per token; half goes
  // to the peer: 12 B forward, 12 B backward, at 2 B/s, plus one latency per message: four
  // all-to-alls each way (Q, K, V, O; dO, dQ, dK, dV) of P-1 messages.
  EXPECT_DOUBLE_EQ(cost.ranks[0].exposed_comm_s, 24.0 / 2.0 + 8 * 0.5);
  EXPECT_DOUBLE_EQ(cost.ranks[0].mask_pairs, 5.0);  // head-parallel: half of the 10 pairs
}

TEST(CostModel, RecomputeFollowsTheCheckpointingSetting) {
  auto m = unit_model();
  const Batch batch{{4}};
  Plan whole{"t", batch, {MicroBatch{{CpGroup{{0}, {{0, Sharding::whole, 0}}, CommScheme::ring}}}}, 0, 0};
  // Full: the forward runs twice, linear 4 / 3 of a training step's work, attention 4.5 / 3.5.
  m.checkpointing = Checkpointing::full;
  const CostContext full{{1, 1}, m, unit_hardware()};
  EXPECT_DOUBLE_EQ(evaluate_plan(whole, full).step_time_s, 4.0 * 4.0 / 3.0 + 10.0 * 4.5 / 3.5);
  EXPECT_DOUBLE_EQ(single_rank_work_s(4, full), 4.0 * 4.0 / 3.0 + 10.0 * 4.5 / 3.5);
  // Model FLOPs do not count recomputation (what TFLOPS/GPU reports, like MFU).
  EXPECT_DOUBLE_EQ(evaluate_plan(whole, full).model_flops, 4 * 8.0 * 3.0 + 10 * 4.0 * 3.5);
  // Selective: attention alone is recomputed, and its ring sends the forward KV again.
  m.checkpointing = Checkpointing::selective;
  const CostContext selective{{1, 2}, m, unit_hardware()};
  Plan ring{"t", batch, {MicroBatch{{CpGroup{{0, 1}, {{0, Sharding::split, 0}}, CommScheme::ring}}}}, 0, 0};
  const auto cost = evaluate_plan(ring, selective);
  EXPECT_DOUBLE_EQ(cost.ranks[0].linear_s, 2.0);
  EXPECT_DOUBLE_EQ(cost.ranks[0].attention_s, 5.0 * 4.5 / 3.5);
  EXPECT_DOUBLE_EQ(cost.ranks[0].bytes_sent, 2 * 8.0 + 8.0 + 16.0);
}

TEST(CostModel, ThdPaddingCostsTokensAndBytesButNoAttention) {
  const CostContext c{{1, 2}, unit_model(), unit_hardware()};
  // L = 5 padded to 8 over 2 ranks: chunks of 2; rank 0 holds positions {0, 1} and {6, 7} (padding),
  // rank 1 holds {2, 3} and {4, 5} (5 is padding).
  CpGroup padded{{0, 1}, {{0, Sharding::split, 0}}, CommScheme::ring};
  padded.pad_multiple = 4;
  Plan plan{"t", Batch{{5}}, {MicroBatch{{padded}}}, 0, 0};
  const auto cost = evaluate_plan(plan, c);
  EXPECT_EQ(cost.ranks[0].tokens, 4);
  EXPECT_EQ(cost.ranks[1].tokens, 4);
  EXPECT_DOUBLE_EQ(cost.ranks[0].mask_pairs, 1.0 + 2.0);
  EXPECT_DOUBLE_EQ(cost.ranks[1].mask_pairs, 3.0 + 4.0 + 5.0);
  EXPECT_DOUBLE_EQ(cost.ranks[0].bytes_sent, 4 * 4.0 + 4 * 4.0 + 8 * 4.0);  // padded shards travel
  EXPECT_EQ(tokens_per_rank(plan, 0, 2), (std::vector<std::int64_t>{4, 4}));
  // Unpadded, the same document: 3 and 2 tokens, all 15 pairs.
  padded.pad_multiple = 1;
  const auto plain = evaluate_plan(Plan{"t", Batch{{5}}, {MicroBatch{{padded}}}, 0, 0}, c);
  EXPECT_EQ(plain.ranks[0].tokens, 3);
  EXPECT_DOUBLE_EQ(plain.ranks[0].mask_pairs + plain.ranks[1].mask_pairs, 15.0);
}

namespace {
// Two nodes of two ranks, two query and KV heads (KV 2 x 2 x 1 x 2 = 8 B per token), all-to-all
// at 2 B/s inside a node; one document of L = 8 over the 4 ranks (chunks of 1: rank r holds
// positions r and 7 - r) in blocks {0, 1} and {2, 3} under `scheme`.
CostContext two_nodes_of_two() {
  auto m = unit_model();
  m.q_heads = m.kv_heads = 2;
  auto hw = unit_hardware();
  hw.a2a_intra_bandwidth = 2.0;
  return {{2, 2}, m, hw};
}
CpGroup blocks_of_two(CommScheme scheme) {
  CpGroup group{{0, 1, 2, 3}, {{0, Sharding::split, 0}}, scheme};
  group.inner = 2;
  return group;
}
}  // namespace

TEST(CostModel, HierarchicalAllToAllInsideNodesRingAcross) {
  const auto c = two_nodes_of_two();
  // All-to-all inside {0, 1} and {2, 3} (one node each), a ring of two blocks across the nodes.
  auto group = blocks_of_two(CommScheme::hierarchical);
  const auto cost = evaluate_plan(Plan{"t", Batch{{8}}, {MicroBatch{{group}}}, 0, 0}, c);
  // Attention: block 0 computes ring position 0's chunks (positions 0, 1, 6, 7: 18 pairs), block 1
  // position 1's (2..5: 18 pairs), each member for one of the two heads.
  for (int r = 0; r < 4; ++r) EXPECT_DOUBLE_EQ(cost.ranks[static_cast<std::size_t>(r)].mask_pairs, 9.0) << r;
  // All-to-all (1 query head, 1 KV head per member, d b = 2 B): forward 2 tokens x 3 heads out and
  // 2 peer tokens x 1 head of O back = 16 B; backward 2 x 1 out and 2 x 3 back = 16 B. Ring of the
  // blocks' 4 tokens with this member's KV head (4 B per token): forward 16 B, backward 16 + 32 B.
  for (int r = 0; r < 4; ++r) EXPECT_DOUBLE_EQ(cost.ranks[static_cast<std::size_t>(r)].bytes_sent, 16 + 16 + 16 + 48) << r;
  // The all-to-all at the intra-node all-to-all rate (2 B/s) with 4 messages of 0.5 s each way; the
  // ring's one inter-node stage (1 B/s, no latency) hides behind half the attention (2 query heads:
  // 2 s per pair).
  const double forward_attention = 2 * 9.0 / 3.5;
  const double exposed = 2 * (16.0 / 2.0 + 4 * 0.5) + std::max(0.0, 16.0 - forward_attention / 2) +
                         std::max(0.0, 48.0 - 2.5 * forward_attention / 2);
  EXPECT_DOUBLE_EQ(cost.ranks[0].exposed_comm_s, exposed);
  // A flat ring of 4 over the same ranks sends more, and every stage crosses the nodes.
  group.comm = CommScheme::ring;
  const auto flat = evaluate_plan(Plan{"t", Batch{{8}}, {MicroBatch{{group}}}, 0, 0}, c);
  EXPECT_DOUBLE_EQ(flat.ranks[0].bytes_sent, 6 * 8.0 + 6 * 8.0 + 8 * 8.0);
}

TEST(CostModel, HybridAllToAllInsideNodesNeededKvAcross) {
  const auto c = two_nodes_of_two();
  // The layout of the a2a+p2p case above: blocks {0, 1} and {2, 3} (one node each) holding
  // positions {0, 1, 6, 7} and {2..5}; needed-KV between the blocks.
  auto group = blocks_of_two(CommScheme::hybrid);
  const auto cost = evaluate_plan(Plan{"t", Batch{{8}}, {MicroBatch{{group}}}, 0, 0}, c);
  for (int r = 0; r < 4; ++r) EXPECT_DOUBLE_EQ(cost.ranks[static_cast<std::size_t>(r)].mask_pairs, 9.0) << r;
  // All-to-all as above: 16 B forward, 16 B backward. Needed-KV of this member's KV head (4 B per
  // token): block 0 serves block 1 positions 0, 1 (its queries end at 5) and needs all 4 of block
  // 1's tokens; block 1 serves those 4 and needs 2. Forward: served; backward: served + the dK/dV
  // of what was received.
  const double block0 = 2 * 4.0, block1 = 4 * 4.0;
  for (int r = 0; r < 2; ++r) EXPECT_DOUBLE_EQ(cost.ranks[static_cast<std::size_t>(r)].bytes_sent, 32 + block0 + block0 + block1) << r;
  for (int r = 2; r < 4; ++r) EXPECT_DOUBLE_EQ(cost.ranks[static_cast<std::size_t>(r)].bytes_sent, 32 + block1 + block1 + block0) << r;
  // The all-to-all at the intra-node rate (2 B/s, 4 messages of 0.5 s each way); the one needed-KV
  // stage at the inter-node rate (1 B/s) behind half the attention, as for the ring above.
  const double forward_attention = 2 * 9.0 / 3.5;
  const double exposed = 2 * (16.0 / 2.0 + 4 * 0.5) + std::max(0.0, block0 - forward_attention / 2) +
                         std::max(0.0, block0 + block1 - 2.5 * forward_attention / 2);
  EXPECT_DOUBLE_EQ(cost.ranks[0].exposed_comm_s, exposed);
  // Less across the nodes than a2a+p2p's ring (16 + 48 B per member), none of it redundant.
  group.comm = CommScheme::hierarchical;
  const auto ring = evaluate_plan(Plan{"t", Batch{{8}}, {MicroBatch{{group}}}, 0, 0}, c);
  EXPECT_LT(cost.bytes_sent, ring.bytes_sent);
}

TEST(CostModel, MicroBatchesAddUp) {
  auto hw = unit_hardware();
  hw.microbatch_overhead_s = 1.0;
  const CostContext c{{1, 1}, unit_model(), hw};
  CpGroup a{{0}, {{0, Sharding::whole, 0}}, CommScheme::ring}, b{{0}, {{1, Sharding::whole, 0}}, CommScheme::ring};
  Plan plan{"t", Batch{{1, 2}}, {MicroBatch{{a}}, MicroBatch{{b}}}, 0, 0};
  EXPECT_DOUBLE_EQ(evaluate_plan(plan, c).step_time_s, (1 + 1 + 1) + (2 + 3 + 1));
}

TEST(CostModel, CapacityFromMemoryAndStates) {
  auto m = unit_model();
  m.activation_bytes_per_token = 1000.0;
  m.state_bytes_per_param = 0.0;
  auto hw = unit_hardware();
  hw.memory_bytes = 1e6;
  hw.usable_memory_fraction = 0.5;
  EXPECT_EQ(capacity_tokens(m, hw, 4), 500);
  m.state_bytes_per_param = 1e9;  // states alone overflow
  EXPECT_THROW(capacity_tokens(m, hw, 4), ConfigError);
}

// The closed forms agree with sched::zigzag_shards and with brute-force counting.
TEST(ZigzagMath, ClosedFormsMatchCounting) {
  for (std::int64_t length : {1, 2, 3, 7, 16, 33, 100, 1001})
    for (int p : {1, 2, 3, 5, 6, 8, 13}) {
      const auto shards = zigzag_shards(Batch{{length}}, p);
      std::int64_t tokens = 0;
      double area = 0;
      std::vector<double> needed(static_cast<std::size_t>(p), 0.0), served(needed.size(), 0.0);
      zigzag::add_kv_exchange(length, p, needed, served);
      std::vector<double> served_counted(needed.size(), 0.0);
      for (int r = 0; r < p; ++r) {
        EXPECT_EQ(zigzag::tokens(length, p, r), shards[r].tokens());
        double counted = 0;
        for (const auto& s : shards[r].segments)
          for (std::int64_t i = 0; i < s.length; ++i) counted += static_cast<double>(s.pos_begin + i + 1);
        EXPECT_DOUBLE_EQ(zigzag::area(length, p, r), counted);
        // Needed KV by counting: other ranks' positions before this rank's last query.
        std::int64_t last = -1;
        for (const auto& s : shards[r].segments) last = std::max(last, s.pos_begin + s.length - 1);
        std::int64_t others = 0;
        for (int o = 0; o < p; ++o) {
          if (o == r) continue;
          for (const auto& s : shards[o].segments)
            for (std::int64_t i = 0; i < s.length; ++i)
              if (s.pos_begin + i < last) {
                others += 1;
                served_counted[static_cast<std::size_t>(o)] += 1;
              }
        }
        EXPECT_EQ(zigzag::needed_kv_tokens(length, p, r), others) << length << " " << p << " " << r;
        EXPECT_DOUBLE_EQ(needed[static_cast<std::size_t>(r)], static_cast<double>(others));
        tokens += zigzag::tokens(length, p, r);
        area += zigzag::area(length, p, r);
      }
      EXPECT_EQ(served, served_counted) << length << " " << p;
      EXPECT_EQ(tokens, length);
      EXPECT_DOUBLE_EQ(area, 0.5 * static_cast<double>(length) * static_cast<double>(length + 1));
    }
}
