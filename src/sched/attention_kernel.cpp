#include "sched/attention_kernel.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace flexcp::sched {
namespace {

double envelope_at(const std::vector<double>& lengths, const std::vector<double>& rates, double length) {
  // The envelope's value at lengths[i] is the best rate at any measured length <= lengths[i].
  double best_below = rates.front();
  if (length <= lengths.front()) return rates.front();
  for (std::size_t i = 1; i < lengths.size(); ++i) {
    const double lo = best_below, hi = std::max(best_below, rates[i]);
    if (length <= lengths[i]) {
      const double t = std::log(length / lengths[i - 1]) / std::log(lengths[i] / lengths[i - 1]);
      return lo + t * (hi - lo);
    }
    best_below = hi;
  }
  return best_below;
}

}  // namespace

void AttentionKernelRates::validate(const std::string& where) const {
  if (empty()) return;
  for (std::size_t i = 0; i < lengths.size(); ++i)
    if (!(lengths[i] >= 1.0) || (i > 0 && !(lengths[i] > lengths[i - 1])))
      throw ConfigError(where + ".lengths: slice lengths must be >= 1 and strictly ascending");
  const std::pair<const char*, const std::vector<double>*> series[] = {{"forward_causal_tflops", &forward_causal},
                                                                        {"forward_full_tflops", &forward_full},
                                                                        {"backward_causal_tflops", &backward_causal},
                                                                        {"backward_full_tflops", &backward_full}};
  for (const auto& [name, rates] : series) {
    if (rates->size() != lengths.size())
      throw ConfigError(where + "." + name + ": " + std::to_string(rates->size()) + " rates for " +
                        std::to_string(lengths.size()) + " lengths (one per length)");
    for (const double r : *rates)
      if (!(r > 0.0) || !std::isfinite(r)) throw ConfigError(where + "." + name + ": every rate must be positive");
  }
}

double AttentionKernelRates::forward(SliceMask mask, double length) const {
  return envelope_at(lengths, mask == SliceMask::causal ? forward_causal : forward_full, length);
}

double AttentionKernelRates::backward(SliceMask mask, double length) const {
  return envelope_at(lengths, mask == SliceMask::causal ? backward_causal : backward_full, length);
}

}  // namespace flexcp::sched
