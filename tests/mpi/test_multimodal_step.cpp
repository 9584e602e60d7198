// A multimodal step executed over both CPU transports at every rank count, for the LLM-centric
// and the colocated placement, against the float64 single-process reference of the whole chain
// (app/run/multimodal_check.hpp): the encoder's O and its dQ/dK/dV (which the LLM's gradients reach
// only through the boundary and the projector), the projector's weight gradients summed over
// ranks, every LLM token's O/dQ/dK/dV; and the bytes each component sent equal the model's:
// encoder (encoder_cost.hpp), boundary (boundary_traffic.hpp), LLM (cost_model.hpp). Two steps run
// per case with one boundary cache: the boundary's group communicator is created by the first
// (one cache miss where image tokens cross ranks) and reused by the second (one hit, no miss), so
// a boundary that bypassed the cache, or recreated its communicator every step, fails here.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "app/run/multimodal_check.hpp"
#include "attn/host_backend.hpp"
#include "comm/communicator_cache.hpp"
#include "sched/boundary_traffic.hpp"
#include "sched/cost_model.hpp"
#include "sched/encoder_cost.hpp"
#include "sched/encoder_plan.hpp"
#include "sched/planner.hpp"
#include "transports.hpp"
#include "../random_multimodal.hpp"
#include "../small_multimodal_model.hpp"

using namespace flexcp;
using test_support::world_rank;
using test_support::world_size;

namespace {

constexpr double kTolerance = 1e-4;

// Seeded random interleaved samples (tests/random_multimodal.hpp).
std::vector<sched::MultimodalSample> samples(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return test_support::random_multimodal_samples(rng, {.count = 12, .max_segments = 4, .image_one_in = 2, .max_text_tokens = 200, .min_side = 30, .max_side = 400});
}

double summed(double value) {
  MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return value;
}

}  // namespace

TEST(MultimodalStep, WholeChainMatchesFloat64ReferenceAndModelledBytes) {
  const int p = world_size(), me = world_rank();
  const test_support::SmallMultimodalModel model;
  const auto& [policy, encoder_heads, llm_heads, hw, encoder, llm, token_width, weights] = model;
  const sched::Cluster machine{1, p};
  sched::MultimodalSampler sampler(samples(5), policy, 1500, 0);
  const auto batch = sampler.batch(0);
  ASSERT_FALSE(batch.images.empty());
  // The placements: LLM-centric and colocated on every rank; non-colocated with the encoder on
  // the first third of the ranks and the LLM on the rest, over a transport of their own.
  struct Placement {
    std::string name;
    int llm_first = 0;
    sched::PlannerContext llm_context;
    sched::Plan plan;
    sched::ImageTokenLayout encoder_layout;
  };
  const sched::EncoderCostContext encoder_cost{machine, encoder, token_width, hw};
  std::vector<Placement> placements;
  for (const std::string name : {"llm-centric", "colocated", "non-colocated"}) {
    if (name == "non-colocated" && p == 1) continue;
    const int llm_first = name == "non-colocated" ? std::max(1, p / 3) : 0;
    const int llm_ranks = p - llm_first;
    // Little LLM memory per rank: at higher rank counts long documents are split zigzag.
    sched::PlannerContext pc{{sched::Cluster{1, llm_ranks}, llm, hw}, 1500 / llm_ranks + 40, false};
    pc.cost.attention_only = true;
    auto plan = sched::make_flexcp_planner(pc)->plan(batch.llm);
    auto layout = name == "llm-centric" ? sched::llm_image_layout(plan, batch)
                                        : sched::plan_encoder(batch, {encoder_cost, 0, name == "colocated" ? p : llm_first,
                                                                      130 / (name == "colocated" ? p : llm_first) + 20});
    placements.push_back({name, llm_first, pc, std::move(plan), std::move(layout)});
  }
  for (const auto& kind : test_support::transport_kinds())
    for (const auto& [placement, llm_first, pc, plan, encoder_layout] : placements) {
      const std::string what = placement + " over " + kind;
      const MultimodalStepInput input{batch, encoder_layout, plan, llm_first, encoder_heads, llm_heads, policy.merge,
                                      policy.class_tokens, weights, 77};
      const bool in_llm = me >= llm_first;
      MPI_Comm llm_comm = MPI_COMM_NULL;  // the LLM's ranks
      MPI_Comm_split(MPI_COMM_WORLD, in_llm ? 0 : MPI_UNDEFINED, me, &llm_comm);
      auto transport = test_support::make_transport(kind);
      std::unique_ptr<comm::Transport> llm_transport;
      std::unique_ptr<comm::CommunicatorCache> cache;
      if (in_llm) {
        llm_transport = test_support::make_transport(kind, llm_comm);
        cache = std::make_unique<comm::CommunicatorCache>(llm_comm, 4);
      }
      attn::HostKernels kernels;
      comm::CommunicatorCache boundary_cache(MPI_COMM_WORLD, 4);
      const auto first = execute_multimodal_step(input, *transport, boundary_cache, {llm_transport.get(), cache.get()}, kernels);
      const auto created = boundary_cache.take_stats();
      const auto step = execute_multimodal_step(input, *transport, boundary_cache, {llm_transport.get(), cache.get()}, kernels);
      const auto reused = boundary_cache.take_stats();
      const auto boundary_set =
          sched::boundary_ranks(encoder_layout, sched::llm_image_layout(plan, batch, llm_first), p);
      EXPECT_EQ(step.boundary_ranks, boundary_set) << what;
      EXPECT_EQ(first.boundary_ranks, boundary_set) << what;
      const std::int64_t crosses = boundary_set.empty() ? 0 : 1;
      EXPECT_EQ(created.misses, crosses) << what << ": the first step creates the boundary's communicator";
      EXPECT_EQ(created.hits, 0) << what;
      EXPECT_EQ(reused.misses, 0) << what << ": the second step must reuse the cached boundary communicator";
      EXPECT_EQ(reused.hits, crosses) << what;
      EXPECT_EQ(first.boundary_cost.bytes_sent, step.boundary_cost.bytes_sent) << what;

      // The whole chain against the float64 reference, tensor by tensor (app/run/multimodal_check.hpp).
      const auto check = check_multimodal_step(test_support::world(), input, step, kTolerance, 0);
      for (std::size_t t = 0; t < check.errors.size(); ++t)
        EXPECT_LE(check.errors[t], kTolerance) << what << ": " << kMultimodalCheckedTensors[t];
      EXPECT_TRUE(check.passed) << what;

      // Bytes per component, exactly the model's.
      const auto encoder_modelled = sched::encoder_costs(encoder_layout, batch, encoder_cost);
      EXPECT_EQ(step.encoder_cost.bytes_sent, encoder_modelled[static_cast<std::size_t>(me)].bytes_sent) << what;
      const auto traffic = sched::boundary_traffic(encoder_layout, sched::llm_image_layout(plan, batch, llm_first), machine);
      EXPECT_EQ(summed(step.boundary_cost.bytes_sent), 2.0 * static_cast<double>(traffic.moved_tokens) * static_cast<double>(token_width) * 4.0)
          << what;
      if (in_llm) {
        EXPECT_EQ(step.llm_cost.bytes_sent,
                  sched::evaluate_plan(plan, pc.cost).ranks[static_cast<std::size_t>(me - llm_first)].bytes_sent)
            << what;
      }
      cache.reset();
      llm_transport.reset();
      if (llm_comm != MPI_COMM_NULL) MPI_Comm_free(&llm_comm);
      if (p > 1 && placement != "llm-centric") {
        EXPECT_GT(traffic.moved_tokens, 0) << "a boundary that moves nothing proves nothing";
        EXPECT_GE(boundary_set.size(), 2u) << what;
      }
      EXPECT_EQ(boundary_set.size(), traffic.ranks.empty() ? 0u : static_cast<std::size_t>(p)) << what;
      EXPECT_TRUE(std::includes(boundary_set.begin(), boundary_set.end(), traffic.ranks.begin(), traffic.ranks.end())) << what;
    }
}
