// One multimodal step on CudaKernels at one rank, LLM-centric and colocated, against the float64
// reference of the whole chain (app/run/multimodal_check.hpp): encoder attention -> projector
// (Kernels' GEMM, bias, GELU on the device) -> boundary (device block copies) -> the LLM's
// flexcp plan -> back to the encoder's dQ/dK/dV and the projector's weight gradients. The same
// step on HostKernels must pass too, and the device must have run the dense layers (counted),
// so a step that quietly ran its projector on the host fails here.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "../random_multimodal.hpp"
#include "../small_multimodal_model.hpp"
#include "app/run/multimodal_check.hpp"
#include "app/run/multimodal_step.hpp"
#include "attn/cuda/cuda_backend.hpp"
#include "attn/host_backend.hpp"
#include "comm/communicator_cache.hpp"
#include "comm/self_data_path.hpp"
#include "comm/self_world.hpp"
#include "device/inventory.hpp"
#include "sched/encoder_cost.hpp"
#include "sched/encoder_plan.hpp"
#include "sched/planner.hpp"

using namespace flexcp;

namespace {
constexpr double kTolerance = 1e-4;

std::string no_device() {
  const auto inventory = device::cuda_inventory();
  if (inventory.devices.empty()) return inventory.why_none;
  device::select_device(0);
  return "";
}

// The step of tests/mpi/test_multimodal_step.cpp at one rank, checked.
void run_step(attn::Kernels& kernels, const std::string& placement) {
  const test_support::SmallMultimodalModel model;
  const auto& [policy, encoder_heads, llm_heads, hw, encoder, llm, token_width, weights] = model;
  const sched::Cluster machine{1, 1};
  std::mt19937_64 rng(5);
  const auto samples = test_support::random_multimodal_samples(
      rng, {.count = 12, .max_segments = 4, .image_one_in = 2, .max_text_tokens = 200, .min_side = 30, .max_side = 400});
  sched::MultimodalSampler sampler(samples, policy, 1500, 0);
  const auto batch = sampler.batch(0);
  ASSERT_FALSE(batch.images.empty());
  // Little LLM memory: several micro-batches, so image rows land in more than one shard.
  sched::PlannerContext pc{{machine, llm, hw}, 600, false};
  pc.cost.attention_only = true;
  const auto plan = sched::make_flexcp_planner(pc)->plan(batch.llm);
  const sched::EncoderCostContext encoder_cost{machine, encoder, token_width, hw};
  const auto layout = placement == "llm-centric" ? sched::llm_image_layout(plan, batch)
                                                 : sched::plan_encoder(batch, {encoder_cost, 0, 1, 200});
  const MultimodalStepInput input{batch, layout, plan, 0, encoder_heads, llm_heads, policy.merge, policy.class_tokens, weights, 77};

  auto data = comm::open_self_data_path(kernels.space());
  comm::CommunicatorCache boundary_cache(0, 4, data->group_factory()), llm_cache(0, 4, data->group_factory());
  comm::SelfWorld world;
  kernels.reset_counts();
  const auto step = execute_multimodal_step(input, data->transport(), boundary_cache, {&data->transport(), &llm_cache}, kernels);
  EXPECT_GE(kernels.counts().gemms, 6) << placement << ": the projector's GEMMs ran through Kernels";
  EXPECT_TRUE(step.boundary_ranks.empty()) << "one rank: nothing crosses ranks";
  EXPECT_EQ(step.boundary_cost.bytes_sent, 0.0);
  const auto check = check_multimodal_step(world, input, step, kTolerance, 0);
  for (std::size_t t = 0; t < check.errors.size(); ++t)
    EXPECT_LE(check.errors[t], kTolerance) << placement << " on " << kernels.description() << ": "
                                           << kMultimodalCheckedTensors[t];
  EXPECT_TRUE(check.ran && check.passed) << placement << " on " << kernels.description();
}
}  // namespace

TEST(MultimodalCuda, OneRankStepMatchesFloat64Reference) {
  if (const auto why = no_device(); !why.empty()) GTEST_SKIP() << "no CUDA device: " << why;
  attn::cuda::CudaKernels kernels;  // fp32 operands: the 1e-4 check
  for (const std::string placement : {"llm-centric", "colocated"}) run_step(kernels, placement);
}

// The same chain on the host kernels, so a failure above is the device's, not the test's.
TEST(MultimodalCuda, HostKernelsPassTheSameStep) {
  attn::HostKernels kernels;
  for (const std::string placement : {"llm-centric", "colocated"}) run_step(kernels, placement);
}
