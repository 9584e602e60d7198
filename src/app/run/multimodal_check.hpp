#pragma once
// The correctness check of one executed multimodal step (app/run/multimodal_step.hpp) against
// the float64 reference of the whole chain (multimodal_reference.hpp): the encoder's O and its
// dQ/dK/dV (which the LLM's gradients reach only through the boundary and the projector), the
// projector's weight gradients summed over ranks, and every LLM token's O/dQ/dK/dV, each as one
// relative Frobenius error over every rank. Every rank computes the reference itself (it is a
// pure function of the input) and compares the rows it holds, so no activations are gathered:
// only the sums of squares and the projector's gradients go to rank 0. Used by `flexcp run`
// and the MPI tests.
#include <array>
#include <cstdint>
#include <string>

#include "app/run/multimodal_step.hpp"
#include "comm/world.hpp"

namespace flexcp {

inline constexpr std::array<const char*, 12> kMultimodalCheckedTensors{
    "encoder O", "encoder dQ", "encoder dK", "encoder dV", "projector dW1", "projector db1",
    "projector dW2", "projector db2", "LLM O", "LLM dQ", "LLM dK", "LLM dV"};

struct MultimodalCheck {
  bool ran = false, passed = false;
  std::int64_t step = -1;
  double tolerance = 0.0;
  std::array<double, 12> errors{};  // in the order of kMultimodalCheckedTensors
  double worst() const;             // NaN counts as +inf
  std::string worst_tensor() const;
};

// Collective over `world` (every rank with its own step of the same input).
MultimodalCheck check_multimodal_step(comm::World& world, const MultimodalStepInput& input, const MultimodalStep& step,
                                      double tolerance, std::int64_t step_index);

}  // namespace flexcp
