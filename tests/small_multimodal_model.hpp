#pragma once
// The small multimodal model the executed-step tests share (tests/mpi/test_multimodal_step.cpp
// on CPU transports, tests/gpu/test_multimodal_cuda.cpp on the device): a 2-head encoder and a
// 4/2-head LLM of head_dim 8, native-resolution images of 14-pixel patches merged 4 to a token,
// a scaled-down projector (merge x encoder width -> 2x hidden -> the LLM token's Q/K/V), and a
// hardware profile fast enough that only memory shapes the plans.
#include <cstdint>

#include "attn/head_layout.hpp"
#include "attn/projector.hpp"
#include "sched/cost_model.hpp"
#include "sched/encoder_cost.hpp"
#include "sched/multimodal_batch.hpp"

namespace flexcp::test_support {

struct SmallMultimodalModel {
  sched::ImagePolicy policy{.patch_size = 14, .resize = sched::ResizePolicy::native, .min_pixels = 784,
                            .max_pixels = 25088, .merge = 4, .class_tokens = 1};
  attn::HeadLayout encoder_heads{2, 2, 8}, llm_heads{4, 2, 8};
  sched::HardwareProfile hw;
  sched::EncoderShape encoder;
  sched::ModelShape llm;
  std::int64_t token_width = 0;
  attn::ProjectorWeights weights;

  SmallMultimodalModel() {
    hw.memory_bytes = 1e12;
    hw.matmul_flops = hw.attention_flops = 1e12;
    hw.intra_bandwidth = hw.a2a_intra_bandwidth = 100e9;
    hw.inter_bandwidth = 10e9;
    hw.element_bytes = 4.0;  // the executors' fp32
    encoder.heads = encoder_heads.q_heads;
    encoder.head_dim = encoder_heads.head_dim;
    encoder.hidden = encoder.heads * encoder.head_dim;
    encoder.images = policy;
    llm.layers = 1;
    llm.q_heads = llm_heads.q_heads;
    llm.kv_heads = llm_heads.kv_heads;
    llm.head_dim = llm_heads.head_dim;
    llm.activation_bytes_per_token = 1.0;
    llm.state_bytes_per_param = 0.0;
    token_width = (llm_heads.q_heads + 2 * llm_heads.kv_heads) * llm_heads.head_dim;
    weights = attn::projector_weights(policy.merge * encoder.hidden, 2 * encoder.hidden, token_width, 11);
  }
};

}  // namespace flexcp::test_support
