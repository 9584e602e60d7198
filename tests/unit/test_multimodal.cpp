// Multimodal batches, the encoder's layout, the boundary between encoder and LLM, and the three
// placements: properties over random interleaved samples.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "common/error.hpp"
#include "../random_multimodal.hpp"
#include "planner_fixtures.hpp"
#include "sched/boundary_traffic.hpp"
#include "sched/encoder_plan.hpp"
#include "sched/multimodal_placements.hpp"
#include "sched/planner.hpp"
#include "sched/token_layout.hpp"

using namespace flexcp;
using namespace flexcp::sched;

namespace {

ImagePolicy vit_l_336() { return {.patch_size = 14, .resize = ResizePolicy::fixed, .image_size = 336, .merge = 1, .class_tokens = 1}; }
ImagePolicy internvl_tiles() {
  return {.patch_size = 14, .resize = ResizePolicy::tiles, .image_size = 448, .max_tiles = 12, .merge = 4, .class_tokens = 1};
}
ImagePolicy native_small() {  // small native images, so test batches stay small
  return {.patch_size = 14, .resize = ResizePolicy::native, .min_pixels = 784, .max_pixels = 200704, .merge = 4};
}

EncoderShape small_encoder(ImagePolicy images) {
  EncoderShape e;
  e.name = "test-vit";
  e.layers = 2;
  e.hidden = 256;
  e.heads = 4;
  e.head_dim = 64;
  e.mlp_hidden = 1024;
  e.projector_hidden = 512;
  e.activation_bytes_per_patch = 1e4;
  e.state_bytes_per_param = 0.0;
  e.images = images;
  return e;
}

std::vector<MultimodalSample> random_samples(std::mt19937_64& rng, int count) {
  return test_support::random_multimodal_samples(
      rng, {.count = count, .max_segments = 6, .image_one_in = 3, .max_text_tokens = 400, .min_side = 20, .max_side = 1400});
}

HardwareProfile hardware() { return fixtures::test_hardware(1e12); }

}  // namespace

TEST(ImageTokens, FixedResizeGivesTheEncodersGrid) {
  for (ImageSize size : {ImageSize{100, 50}, ImageSize{336, 336}, ImageSize{4000, 3000}}) {
    const auto e = encode_image(size, vit_l_336());
    EXPECT_EQ(e.sequence_patches, (std::vector<std::int64_t>{577}));  // 24 x 24 + the class token
    EXPECT_EQ(e.llm_tokens(), 576);
  }
}

TEST(ImageTokens, TilesFollowTheAspectRatioAndAddAThumbnail) {
  EXPECT_EQ(encode_image({448, 448}, internvl_tiles()).sequence_patches.size(), 1u);
  const auto wide = encode_image({896, 448}, internvl_tiles());  // 2 x 1 grid + thumbnail
  EXPECT_EQ(wide.sequence_patches, (std::vector<std::int64_t>{1025, 1025, 1025}));
  EXPECT_EQ(wide.llm_tokens(), 3 * 256);
  const auto big = encode_image({4000, 3000}, internvl_tiles());  // 4:3 -> 4 x 3 = 12 tiles
  EXPECT_EQ(big.sequence_patches.size(), 13u);
}

TEST(ImageTokens, NativeRoundsToTheMergedPatchAndCapsPixels) {
  ImagePolicy p = native_small();
  p.max_pixels = 12845056;
  const auto e = encode_image({1000, 1000}, p);  // 1008 x 1008: 72 x 72 patches
  EXPECT_EQ(e.sequence_patches, (std::vector<std::int64_t>{5184}));
  EXPECT_EQ(e.llm_tokens(), 1296);
  const auto capped = encode_image({20000, 20000}, p);
  EXPECT_LE(capped.patches() * 14 * 14, 12845056);
}

TEST(ImageTokens, BadPoliciesAndImagesAreNamed) {
  ImagePolicy zero = vit_l_336();
  zero.patch_size = 0;
  try {
    encode_image({10, 10}, zero);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(e.message().find("patch_size"), std::string::npos) << e.message();
  }
  EXPECT_THROW(encode_image({0, 0}, vit_l_336()), ConfigError);
  ImagePolicy merge = internvl_tiles();
  merge.merge = 3;
  EXPECT_NE(image_policy_problem(merge), "");
}

// Property: every batch holds exactly the budget; images are whole, inside their document, in order.
TEST(MultimodalSampler, FillsTheBudgetWithWholeImages) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const auto samples = random_samples(rng, 30);
    const auto policy = trial % 3 == 0 ? vit_l_336() : trial % 3 == 1 ? internvl_tiles() : native_small();
    const std::int64_t budget = 2000 + 997 * trial;
    MultimodalSampler sampler(samples, policy, budget, static_cast<std::uint64_t>(trial));
    for (std::uint64_t i = 0; i < 5; ++i) {
      const auto b = sampler.batch(i);
      EXPECT_EQ(b.llm.total_tokens(), budget);
      std::int64_t last_end = 0;
      std::int32_t last_doc = -1;
      for (const auto& image : b.images) {
        if (image.doc != last_doc) last_end = 0;
        EXPECT_GE(image.llm_begin, last_end);
        last_end = image.llm_begin + image.encoded.llm_tokens();
        last_doc = image.doc;
        EXPECT_LE(last_end, b.llm.doc_lengths[static_cast<std::size_t>(image.doc)]);
      }
      EXPECT_EQ(b.llm.doc_lengths, sampler.batch(i).llm.doc_lengths);
    }
  }
}

// Property: the LLM's layout of a flexcp plan places every image token exactly once, and the
// encoder's layout does too, on its own ranks; the boundary moves exactly the tokens whose two
// ranks differ, each counted once sent and once received.
TEST(MultimodalLayouts, TileEveryImageAndTheBoundaryConservesTokens) {
  std::mt19937_64 rng(11);
  const Cluster cluster{2, 3};
  for (int trial = 0; trial < 12; ++trial) {
    const auto encoder = small_encoder(trial % 2 ? internvl_tiles() : native_small());
    MultimodalSampler sampler(random_samples(rng, 25), encoder.images, 6000 + 500 * trial, 5);
    const auto batch = sampler.batch(static_cast<std::uint64_t>(trial));
    PlannerContext pc{{cluster, fixtures::small_model(), hardware()}, 0, false};
    pc.capacity_tokens = 4000;
    const auto plan = make_flexcp_planner(pc)->plan(batch.llm);
    const auto llm = llm_image_layout(plan, batch);
    EXPECT_EQ(layout_problems(llm, batch), std::vector<std::string>{});
    EncoderPlanContext ec{{cluster, encoder, 512, hardware()}, 0, cluster.ranks(), 1500};
    const auto enc = plan_encoder(batch, ec);
    EXPECT_EQ(layout_problems(enc, batch), std::vector<std::string>{});
    const auto t = boundary_traffic(enc, llm, cluster);
    EXPECT_EQ(t.moved_tokens + t.local_tokens, batch.image_llm_tokens());
    EXPECT_EQ(std::accumulate(t.sent_tokens.begin(), t.sent_tokens.end(), std::int64_t{0}), t.moved_tokens);
    EXPECT_EQ(std::accumulate(t.received_tokens.begin(), t.received_tokens.end(), std::int64_t{0}), t.moved_tokens);
    EXPECT_EQ(boundary_traffic(llm, llm, cluster).moved_tokens, 0);
    // The ranks that exchange in this batch; the boundary's group, every rank of the placement
    // whenever anything crosses ranks, from the layouts alone.
    std::vector<int> exchanging;
    for (int r = 0; r < cluster.ranks(); ++r)
      if (t.sent_tokens[static_cast<std::size_t>(r)] + t.received_tokens[static_cast<std::size_t>(r)] > 0) exchanging.push_back(r);
    EXPECT_EQ(t.ranks, exchanging);
    std::vector<int> every(static_cast<std::size_t>(cluster.ranks()));
    std::iota(every.begin(), every.end(), 0);
    EXPECT_EQ(boundary_ranks(enc, llm, cluster.ranks()), t.moved_tokens > 0 ? every : std::vector<int>{});
    if (t.moved_tokens > 0) {
      EXPECT_GE(exchanging.size(), 2u);
    }
    EXPECT_TRUE(boundary_ranks(llm, llm, cluster.ranks()).empty());
  }
}

// Property: no colocated step is below the colocated floor, which counts the encoder's work
// (an encoder-free batch's floor is the LLM's bound alone, below it here) and is what the study
// reports as the most colocation can gain over llm-centric.
TEST(Placements, ColocatedFloorIsBelowEveryColocatedStep) {
  std::mt19937_64 rng(29);
  for (int trial = 0; trial < 8; ++trial) {
    const Cluster cluster = trial % 2 ? Cluster{2, 4} : Cluster{1, 3};
    MultimodalContext c{cluster, fixtures::small_model(), small_encoder(trial % 3 ? internvl_tiles() : native_small()), hardware(), 4};
    MultimodalSampler sampler(random_samples(rng, 40), c.encoder.images, 12000 + 3000 * trial, 3);
    const auto batch = sampler.batch(static_cast<std::uint64_t>(trial));
    ASSERT_FALSE(batch.images.empty());
    const auto colocated = model_colocated(batch, c);
    EXPECT_GT(colocated.floor_s, 0.0);
    EXPECT_EQ(colocated.floor_s, colocated_floor_s(batch, c));
    EXPECT_LE(colocated.floor_s, colocated.step_s) << "trial " << trial;
    auto no_images = batch;
    no_images.images.clear();
    EXPECT_LT(colocated_floor_s(no_images, c), colocated.floor_s) << "trial " << trial << ": the encoder's work is counted";
  }
}

// A small encoder on few ranks feeding many LLM ranks: which LLM ranks receive image tokens
// changes from batch to batch, yet the boundary's group is the same in every batch, so a run
// creates its communicator once (it paid a creation round in every batch when the group was
// the batch's exchanging ranks: 150 ms per step for ViT-L non-colocated at 256-4,096 GPUs).
TEST(Placements, BoundaryGroupIsStableWhileTheExchangingRanksChange) {
  std::mt19937_64 rng(23);
  auto hw = hardware();
  hw.communicator_create_s = 0.25;
  MultimodalContext c{{4, 4}, fixtures::small_model(), small_encoder(vit_l_336()), hw, 4};
  const auto samples = test_support::random_multimodal_samples(
      rng, {.count = 60, .max_segments = 4, .image_one_in = 8, .max_text_tokens = 1500, .min_side = 20, .max_side = 1400});
  MultimodalSampler sampler(samples, c.encoder.images, 20000, 5);
  const int encoder_ranks = encoder_rank_choices(c.cluster).front();
  CommunicatorAccounting cache({}, 4);
  double created = 0.0;
  std::set<int> exchanging;  // how many ranks exchange, per batch
  for (std::uint64_t b = 0; b < 8; ++b) {
    const auto batch = sampler.batch(b);
    auto cost = model_non_colocated(batch, c, encoder_ranks);
    ASSERT_EQ(cost.boundary_ranks.size(), static_cast<std::size_t>(c.cluster.ranks()));
    charge_boundary_communicator(cost, cache, hw);
    created += cost.boundary_communicators_created;
    exchanging.insert(cost.boundary_exchanging_ranks);
  }
  EXPECT_GE(exchanging.size(), 2u) << "the exchanging ranks must change between batches, or this proves nothing";
  EXPECT_EQ(created, 1.0);
}

// The boundary's communicator is charged like the LLM's groups: a creation round when its rank
// set is not cached, nothing when it is, again after the LRU evicted it; llm-centric has no
// boundary and is never charged.
TEST(Placements, BoundaryCommunicatorIsChargedWhenItsSetIsNotCached) {
  std::mt19937_64 rng(17);
  auto hw = hardware();
  hw.communicator_create_s = 0.25;
  MultimodalContext c{{2, 4}, fixtures::small_model(), small_encoder(internvl_tiles()), hw, 4};
  MultimodalSampler sampler(random_samples(rng, 40), c.encoder.images, 30000, 2);
  const auto batch = sampler.batch(0);
  const auto bare = model_colocated(batch, c);
  ASSERT_GE(bare.boundary_ranks.size(), 2u);
  CommunicatorAccounting cache({}, 1);
  auto first = bare;
  charge_boundary_communicator(first, cache, hw);
  EXPECT_EQ(first.boundary_create_s, 0.25);
  EXPECT_EQ(first.boundary_communicators_created, 1.0);
  EXPECT_DOUBLE_EQ(first.boundary_s, bare.boundary_s + 0.25);
  EXPECT_DOUBLE_EQ(first.step_s, bare.step_s + 0.25);
  auto again = bare;
  charge_boundary_communicator(again, cache, hw);  // the same set, cached
  EXPECT_EQ(again.boundary_create_s, 0.0);
  EXPECT_EQ(again.step_s, bare.step_s);
  // Another set evicts it (capacity 1): the next use creates it again.
  auto other = bare;
  other.boundary_ranks = {0, 7};
  charge_boundary_communicator(other, cache, hw);
  EXPECT_EQ(other.boundary_create_s, 0.25);
  auto back = bare;
  charge_boundary_communicator(back, cache, hw);
  EXPECT_EQ(back.boundary_create_s, 0.25);
  // Non-colocated: the group exists before the pipeline starts, so the whole creation is added.
  const auto split = model_non_colocated(batch, c, encoder_rank_choices(c.cluster).front());
  ASSERT_GE(split.boundary_ranks.size(), 2u);
  auto charged = split;
  CommunicatorAccounting fresh({}, 4);
  charge_boundary_communicator(charged, fresh, hw);
  EXPECT_DOUBLE_EQ(charged.step_s, split.step_s + 0.25);
  auto centric = model_llm_centric(batch, c);
  EXPECT_TRUE(centric.boundary_ranks.empty());
  charge_boundary_communicator(centric, fresh, hw);
  EXPECT_EQ(centric.boundary_create_s, 0.0);
}

// Property: splitting a sequence over ranks conserves its compute (a flat attention rate: the
// members' q x n pairs add up to n x n), and the balanced plan's busiest rank is within one
// item of the fair share (longest-processing-time), well below the LLM-centric layout's peak.
TEST(EncoderPlan, ConservesWorkAndBalancesIt) {
  std::mt19937_64 rng(5);
  const Cluster cluster{1, 6};
  const auto encoder = small_encoder(native_small());
  const EncoderCostContext cc{cluster, encoder, 512, hardware()};
  for (int trial = 0; trial < 10; ++trial) {
    MultimodalSampler sampler(random_samples(rng, 25), encoder.images, 20000, static_cast<std::uint64_t>(trial));
    const auto batch = sampler.batch(0);
    double single = 0.0, largest = 0.0;
    for (const auto& image : batch.images)
      for (std::size_t s = 0; s < image.encoded.sequence_patches.size(); ++s) {
        const double w = sequence_work_s(image.encoded.sequence_patches[s], image.encoded.sequence_llm_tokens[s], cc);
        single += w;
        largest = std::max(largest, w);
      }
    const auto layout = plan_encoder(batch, {cc, 0, cluster.ranks(), 1 << 20});
    double peak = 0.0;
    for (const auto& r : encoder_costs(layout, batch, cc)) peak = std::max(peak, r.compute_s);
    EXPECT_LE(peak, single / cluster.ranks() + largest + 1e-12);
    // Little memory per rank: large sequences are split by memory, and their work is conserved.
    const auto split = plan_encoder(batch, {cc, 0, cluster.ranks(), 300});
    int split_sequences = 0;
    for (const auto& image : split)
      for (const auto& pieces : image) split_sequences += pieces.size() > 1 ? 1 : 0;
    EXPECT_GT(split_sequences, 0);
    double sum = 0.0;
    for (const auto& r : encoder_costs(split, batch, cc)) sum += r.compute_s;
    EXPECT_NEAR(sum, single, 1e-9 * single);
  }
}

TEST(EncoderPlan, SplitsWhatOneRankCannotHoldAndNamesWhatNoGroupCan) {
  const auto encoder = small_encoder(native_small());
  MultimodalSample sample{{{10, {}}, {0, {440, 440}}}};  // 31 x 31 patches -> 961 + 0 class tokens
  MultimodalSampler sampler({sample}, encoder.images, 300, 1);
  const auto batch = sampler.batch(0);
  ASSERT_EQ(batch.images.size(), 1u);
  const Cluster cluster{1, 4};
  const EncoderCostContext cc{cluster, encoder, 512, hardware()};
  const auto layout = plan_encoder(batch, {cc, 0, 4, 300});  // 961 patches need 4 ranks of 300
  EXPECT_EQ(layout[0][0].size(), 4u);
  try {
    plan_encoder(batch, {cc, 0, 4, 200});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(e.message().find("larger than any group can hold"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("sample 1"), std::string::npos) << e.message();
  }
}

// The placements model the same work: model FLOPs agree; the boundary is free only LLM-centric;
// non-colocated overlaps its components, so it is never slower than running them back to back.
TEST(Placements, AgreeOnWorkAndOrderTheirCosts) {
  std::mt19937_64 rng(17);
  MultimodalContext c{{2, 4}, fixtures::small_model(), small_encoder(internvl_tiles()), hardware(), 4};
  MultimodalSampler sampler(random_samples(rng, 40), c.encoder.images, 30000, 2);
  const auto batch = sampler.batch(0);
  const auto centric = model_llm_centric(batch, c);
  const auto colocated = model_colocated(batch, c);
  EXPECT_NEAR(centric.model_flops, colocated.model_flops, 1e-9 * centric.model_flops);
  EXPECT_EQ(centric.boundary_bytes, 0.0);
  EXPECT_GT(colocated.boundary_bytes, 0.0);
  EXPECT_NEAR(colocated.step_s, colocated.encoder_s + colocated.boundary_s + colocated.llm_s, 1e-12);
  for (int e : encoder_rank_choices(c.cluster)) {
    const auto split = model_non_colocated(batch, c, e);
    EXPECT_NEAR(split.model_flops, centric.model_flops, 1e-9 * centric.model_flops);
    EXPECT_LE(split.step_s, split.encoder_s + split.boundary_s + split.llm_s + 1e-12);
    EXPECT_GE(split.step_s, std::max({split.encoder_s, split.boundary_s, split.llm_s}) - 1e-12);
  }
}

// On shared ranks the encoder's activations stay from its forward to its backward, across the
// LLM's step: the LLM's plan must leave room for them. Heavy encoder activations therefore cost
// the LLM micro-batches in the two placements that share ranks, and none in non-colocated.
TEST(Placements, SharedRanksHoldEncoderAndLlmActivationsTogether) {
  std::mt19937_64 rng(23);
  MultimodalContext light{{2, 4}, fixtures::small_model(), small_encoder(internvl_tiles()), fixtures::test_hardware(8e8), 4};
  light.encoder.activation_bytes_per_patch = 1.0;
  MultimodalSampler sampler(random_samples(rng, 60), light.encoder.images, 30000, 2);
  const auto batch = sampler.batch(0);
  MultimodalContext heavy = light;
  heavy.encoder.activation_bytes_per_patch = 2e4;

  const auto light_centric = model_llm_centric(batch, light), heavy_centric = model_llm_centric(batch, heavy);
  const auto light_colocated = model_colocated(batch, light), heavy_colocated = model_colocated(batch, heavy);
  EXPECT_GT(heavy_centric.llm_micro_batches, light_centric.llm_micro_batches);
  EXPECT_GT(heavy_colocated.llm_micro_batches, light_colocated.llm_micro_batches);
  EXPECT_EQ(model_non_colocated(batch, heavy, 4).llm_micro_batches, model_non_colocated(batch, light, 4).llm_micro_batches);

  // An image sequence beyond what all ranks hold is named as such in every placement, before
  // the LLM's plan (which would otherwise fail on its memory and blame the LLM).
  MultimodalContext full = light;
  full.encoder.activation_bytes_per_patch = 7e8;  // one patch per rank
  for (auto model : {model_llm_centric, model_colocated}) {
    try {
      model(batch, full);
      ADD_FAILURE() << "a placement accepted image sequences larger than the machine holds";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("larger than any group can hold"), std::string::npos) << e.what();
    }
  }
}
