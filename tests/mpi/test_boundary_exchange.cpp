// The encoder -> LLM boundary executed over both CPU transports at every rank count: for random
// interleaved batches, the LLM's flexcp plan and the encoder's own plan (colocated: every rank;
// non-colocated: the encoder on the first ranks), every LLM row receives exactly its projector
// output, every encoder row exactly its gradient, and the bytes sent equal the modelled boundary
// bytes (boundary_traffic.hpp) in both directions, sent as one all-to-all per direction on the
// boundary's cached group communicator (no point-to-point bytes on the world transport).
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <random>
#include <vector>

#include "app/run/multimodal_step.hpp"
#include "attn/boundary_exchange.hpp"
#include "attn/host_backend.hpp"
#include "comm/communicator_cache.hpp"
#include "sched/boundary_traffic.hpp"
#include "sched/encoder_plan.hpp"
#include "sched/planner.hpp"
#include "transports.hpp"
#include "../random_multimodal.hpp"

using namespace flexcp;
using test_support::world_rank;
using test_support::world_size;

namespace {

// Seeded random interleaved samples (tests/random_multimodal.hpp).
std::vector<sched::MultimodalSample> samples(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return test_support::random_multimodal_samples(rng, {.count = 20, .max_segments = 5, .image_one_in = 3, .max_text_tokens = 300, .min_side = 20, .max_side = 700});
}

sched::HardwareProfile hardware() {
  sched::HardwareProfile h;
  h.name = "test";
  h.matmul_flops = 100e12;
  h.attention_flops = 50e12;
  h.intra_bandwidth = 100e9;
  h.inter_bandwidth = 10e9;
  h.a2a_intra_bandwidth = 100e9;
  h.memory_bytes = 1e12;
  h.usable_memory_fraction = 1.0;
  return h;
}

sched::EncoderShape encoder() {
  sched::EncoderShape e;
  e.layers = 1;
  e.hidden = 64;
  e.heads = 2;
  e.head_dim = 32;
  e.activation_bytes_per_patch = 1.0;
  e.state_bytes_per_param = 0.0;
  e.images = {.patch_size = 14, .resize = sched::ResizePolicy::native, .min_pixels = 784, .max_pixels = 100352, .merge = 4};
  return e;
}

// The value of channel c of an image token, different for outputs and gradients.
float value(const sched::TokenRun& run, std::int64_t offset, std::int64_t c, float kind) {
  return kind + static_cast<float>(run.image * 1000 + run.sequence * 100) + static_cast<float>(run.begin + offset) +
         0.001f * static_cast<float>(c);
}

std::vector<float> filled(const sched::RankRows& rows, std::int64_t width, float kind) {
  std::vector<float> out(static_cast<std::size_t>(rows.rows * width));
  for (std::size_t i = 0; i < rows.runs.size(); ++i)
    for (std::int64_t t = 0; t < rows.runs[i].count; ++t)
      for (std::int64_t c = 0; c < width; ++c)
        out[static_cast<std::size_t>((rows.first_row[i] + t) * width + c)] = value(rows.runs[i], t, c, kind);
  return out;
}

}  // namespace

TEST(BoundaryExchange, EveryTokenArrivesAndBytesMatchTheModel) {
  const int p = world_size(), me = world_rank();
  constexpr std::int64_t width = 5;
  for (const std::string kind : {"the MPI group communicator"})  // the boundary uses no world transport
    for (std::uint64_t trial = 0; trial < 4; ++trial) {
      const int encoder_ranks = (trial % 2 == 0 || p == 1) ? p : 1 + static_cast<int>(trial) % (p - 1);
      const bool colocated = encoder_ranks == p;
      const int llm_first = colocated ? 0 : encoder_ranks;
      const sched::Cluster machine{1, p};
      const sched::Cluster llm_cluster{1, p - llm_first};
      sched::MultimodalSampler sampler(samples(trial), encoder().images, 3000 + 700 * static_cast<std::int64_t>(trial), trial);
      const auto batch = sampler.batch(trial);
      sched::ModelShape llm;
      llm.hidden = width;
      llm.q_heads = 2;
      llm.kv_heads = 1;
      llm.head_dim = 8;
      llm.activation_bytes_per_token = 1.0;
      llm.state_bytes_per_param = 0.0;
      sched::PlannerContext pc{{llm_cluster, llm, hardware()}, 1200, false};
      const auto plan = sched::make_flexcp_planner(pc)->plan(batch.llm);
      const auto llm_layout = sched::llm_image_layout(plan, batch, llm_first);
      // Memory for a little more than the largest sequence (512 patches) over all encoder ranks:
      // large images are split over several ranks, and every image fits.
      const sched::EncoderPlanContext ec{{machine, encoder(), width, hardware()}, 0, encoder_ranks, 512 / encoder_ranks + 60};
      const auto encoder_layout = sched::plan_encoder(batch, ec);
      const auto program = sched::boundary_program(encoder_layout, llm_layout, me);
      const auto traffic = sched::boundary_traffic(encoder_layout, llm_layout, machine);

      attn::HostKernels kernels;
      comm::CommunicatorCache cache(MPI_COMM_WORLD, 2);
      // Trials 0 and 1: the boundary's own group (every rank, as flexcp runs it); 2 and 3: only
      // the ranks that exchange, so that ranks outside the group (no communicator) are exercised.
      const auto placement = sched::boundary_ranks(encoder_layout, llm_layout, p);
      const auto group = boundary_group((trial / 2) % 2 == 0 ? placement : traffic.ranks, me, cache);
      EXPECT_EQ(placement.size(), traffic.ranks.empty() ? 0u : static_cast<std::size_t>(p)) << kind << " trial " << trial;
      EXPECT_TRUE(std::includes(placement.begin(), placement.end(), traffic.ranks.begin(), traffic.ranks.end()))
          << kind << " trial " << trial;
      const bool member = std::binary_search(group.ranks.begin(), group.ranks.end(), me);
      EXPECT_EQ(group.collectives != nullptr, member) << kind << " trial " << trial;
      auto out = filled(program.encoder_rows, width, 0.0f);
      std::vector<float> in(static_cast<std::size_t>(program.llm_rows.rows * width), -1.0f);
      attn::boundary_forward(program, group, {out.data(), static_cast<std::int64_t>(out.size())},
                             {in.data(), static_cast<std::int64_t>(in.size())}, width, kernels);
      EXPECT_EQ(in, filled(program.llm_rows, width, 0.0f)) << kind << " trial " << trial;
      auto grad = filled(program.llm_rows, width, 0.5f);
      std::vector<float> back(out.size(), -1.0f);
      attn::boundary_backward(program, group, {grad.data(), static_cast<std::int64_t>(grad.size())},
                              {back.data(), static_cast<std::int64_t>(back.size())}, width, kernels);
      EXPECT_EQ(back, filled(program.encoder_rows, width, 0.5f)) << kind << " trial " << trial;

      double sent = group.collectives != nullptr ? group.collectives->stats().bytes_sent : 0.0, total = 0.0;
      MPI_Allreduce(&sent, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      const double modelled = 2.0 * static_cast<double>(traffic.moved_tokens) * width * sizeof(float);
      EXPECT_EQ(total, modelled) << kind << " trial " << trial << " (" << (colocated ? "colocated" : "non-colocated") << ")";
      const auto r = static_cast<std::size_t>(me);  // forward: its sends; backward: as many as it received
      EXPECT_EQ(sent, static_cast<double>(traffic.sent_tokens[r] + traffic.received_tokens[r]) * width * sizeof(float))
          << kind << " trial " << trial;
      EXPECT_EQ(program.sent_tokens(), traffic.sent_tokens[static_cast<std::size_t>(me)]);
      if (p > 1 && trial == 0) {
        EXPECT_GT(traffic.moved_tokens, 0) << "a test that moves nothing proves nothing";
      }
    }
}
