#pragma once
// The whole multimodal chain of app/run/multimodal_step.hpp in one process, the textbook way in
// float64: bidirectional attention per image sequence, the projector (Linear, GELU, Linear) per
// image token, the LLM's document-masked attention over the whole batch (attn::reference_attention,
// fed the float projector outputs the executed step feeds its LLM), and back. Independent of
// every layout: the ground truth for every placement and rank count (flexcp run's check of a
// multimodal step, app/run/multimodal_check.hpp, and the MPI tests).
#include <map>
#include <utility>
#include <vector>

#include "app/run/multimodal_step.hpp"
#include "attn/reference.hpp"

namespace flexcp {

struct EncoderSequenceResult {
  std::vector<double> out, dq, dk, dv;  // [patch][H_e][d_e]
};

struct MultimodalReference {
  std::map<std::pair<int, int>, EncoderSequenceResult> encoder;  // (image, sequence)
  std::vector<double> dw1, db1, dw2, db2;                        // projector gradients
  attn::ReferenceResult llm;                                     // every LLM token
};

MultimodalReference multimodal_reference(const MultimodalStepInput& input);

}  // namespace flexcp
