#include "app/run/multimodal_check.hpp"

#include <cmath>
#include <limits>

#include "app/run/multimodal_reference.hpp"

namespace flexcp {

namespace {

constexpr std::size_t kTensors = kMultimodalCheckedTensors.size();

// Per tensor: the sum of squared differences and of squared reference values.
struct Sums {
  std::vector<double> values = std::vector<double>(2 * kTensors, 0.0);
  void add(std::size_t tensor, double got, double want) {
    values[2 * tensor] += (got - want) * (got - want);
    values[2 * tensor + 1] += want * want;
  }
};

double relative(double diff, double ref) { return ref > 0.0 ? std::sqrt(diff / ref) : std::sqrt(diff); }

void add_encoder(Sums& sums, const MultimodalStepInput& in, const MultimodalStep& step, const MultimodalReference& ref) {
  const std::int64_t width = std::int64_t{in.encoder_heads.q_heads} * in.encoder_heads.head_dim;
  const std::vector<float>* got[4] = {&step.encoder_out, &step.encoder_dq, &step.encoder_dk, &step.encoder_dv};
  for (const auto& seq : step.encoder.sequences) {
    const auto& want = ref.encoder.at({seq.image, seq.sequence});
    const std::vector<double>* refs[4] = {&want.out, &want.dq, &want.dk, &want.dv};
    for (const auto& piece : seq.pieces)
      for (std::int64_t e = 0; piece.local_row >= 0 && e < piece.count * width; ++e)
        for (std::size_t t = 0; t < 4; ++t)
          sums.add(t, (*got[t])[static_cast<std::size_t>(piece.local_row * width + e)],
                   (*refs[t])[static_cast<std::size_t>(piece.begin * width + e)]);
  }
}

void add_llm(Sums& sums, const MultimodalStepInput& in, const MultimodalStep& step, const MultimodalReference& ref) {
  const auto& lh = in.llm_heads;
  const auto offsets = in.batch.llm.doc_offsets();
  const std::int64_t q = std::int64_t{lh.q_heads} * lh.head_dim, kv = std::int64_t{lh.kv_heads} * lh.head_dim;
  const std::int64_t widths[4] = {q, q, kv, kv};
  const auto& r = step.llm.results;
  const std::vector<float>* got[4] = {&r.out, &r.dq, &r.dk, &r.dv};
  const std::vector<double>* want[4] = {&ref.llm.out, &ref.llm.dq, &ref.llm.dk, &ref.llm.dv};
  for (const auto& seg : step.llm.step_shard.segments)
    for (std::int64_t i = 0; i < seg.length; ++i) {
      const auto global = offsets[static_cast<std::size_t>(seg.doc)] + seg.pos_begin + i;
      for (std::size_t t = 0; t < 4; ++t)
        for (std::int64_t c = 0; c < widths[t]; ++c)
          sums.add(8 + t, (*got[t])[static_cast<std::size_t>((seg.local_begin + i) * widths[t] + c)],
                   (*want[t])[static_cast<std::size_t>(global * widths[t] + c)]);
    }
}

}  // namespace

double MultimodalCheck::worst() const {
  double w = 0.0;
  for (double e : errors) w = std::isnan(e) ? std::numeric_limits<double>::infinity() : std::max(w, e);
  return w;
}

std::string MultimodalCheck::worst_tensor() const {
  std::size_t at = 0;
  for (std::size_t t = 0; t < errors.size(); ++t)
    if (std::isnan(errors[t]) || errors[t] > errors[at]) at = t;
  return kMultimodalCheckedTensors[at];
}

MultimodalCheck check_multimodal_step(comm::World& world, const MultimodalStepInput& in, const MultimodalStep& step,
                                      double tolerance, std::int64_t step_index) {
  const auto ref = multimodal_reference(in);
  Sums sums;
  add_encoder(sums, in, step, ref);
  add_llm(sums, in, step, ref);
  // The projector's gradient is split over the ranks (each holds its tokens' part): summed on rank 0.
  const auto& g = step.projector_grad;
  std::vector<double> mine(g.w1.begin(), g.w1.end());
  for (const auto* part : {&g.b1, &g.w2, &g.b2}) mine.insert(mine.end(), part->begin(), part->end());
  const auto all_sums = world.gather_to_root(sums.values);
  const auto all_grads = world.gather_to_root(mine);
  std::vector<double> errors(kTensors, 0.0);
  if (world.rank() == 0) {
    Sums total;
    for (std::size_t i = 0; i < all_sums.size(); ++i) total.values[i % total.values.size()] += all_sums[i];
    const std::vector<double>* want[4] = {&ref.dw1, &ref.db1, &ref.dw2, &ref.db2};
    for (std::size_t at = 0, t = 0; t < 4; at += want[t]->size(), ++t)
      for (std::size_t i = 0; i < want[t]->size(); ++i) {
        double sum = 0.0;
        for (std::size_t r = 0; r < all_grads.size(); r += mine.size()) sum += all_grads[r + at + i];
        total.add(4 + t, sum, (*want[t])[i]);
      }
    for (std::size_t t = 0; t < kTensors; ++t) errors[t] = relative(total.values[2 * t], total.values[2 * t + 1]);
  }
  world.broadcast(errors);
  MultimodalCheck check;
  check.ran = true;
  check.step = step_index;
  check.tolerance = tolerance;
  std::copy(errors.begin(), errors.end(), check.errors.begin());
  check.passed = check.worst() <= tolerance;
  return check;
}

}  // namespace flexcp
