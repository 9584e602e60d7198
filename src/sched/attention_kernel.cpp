#include "sched/attention_kernel.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace flexcp::sched {

AttentionKernelRates::AttentionKernelRates(std::string source, const std::vector<double>& lengths, const Series& rates,
                                           const std::string& where)
    : source_(std::move(source)) {
  if (lengths.empty()) throw ConfigError(where + ".lengths: at least one slice length");
  for (std::size_t i = 0; i < lengths.size(); ++i)
    if (!(lengths[i] >= 1.0) || (i > 0 && !(lengths[i] > lengths[i - 1])))
      throw ConfigError(where + ".lengths: slice lengths must be >= 1 and strictly ascending");
  const std::pair<const char*, const std::vector<double>*> series[] = {{"forward_causal_tflops", &rates.forward_causal},
                                                                        {"forward_full_tflops", &rates.forward_full},
                                                                        {"backward_causal_tflops", &rates.backward_causal},
                                                                        {"backward_full_tflops", &rates.backward_full}};
  for (std::size_t s = 0; s < 4; ++s) {
    const auto& [name, values] = series[s];
    if (values->size() != lengths.size())
      throw ConfigError(where + "." + name + ": " + std::to_string(values->size()) + " rates for " +
                        std::to_string(lengths.size()) + " lengths (one per length)");
    double best = 0.0;
    for (const double r : *values) {
      if (!(r > 0.0) || !std::isfinite(r)) throw ConfigError(where + "." + name + ": every rate must be positive");
      best = std::max(best, r);  // the envelope: the best rate at this length or any shorter one
      envelopes_[s].push_back(best);
    }
  }
  for (const double l : lengths) log_lengths_.push_back(std::log(l));
}

double AttentionKernelRates::at(int series, double length) const {
  const auto& rates = envelopes_[static_cast<std::size_t>(series)];
  const double x = std::log(std::max(length, 1.0));
  if (x <= log_lengths_.front()) return rates.front();
  for (std::size_t i = 1; i < log_lengths_.size(); ++i)
    if (x <= log_lengths_[i]) {
      const double t = (x - log_lengths_[i - 1]) / (log_lengths_[i] - log_lengths_[i - 1]);
      return rates[i - 1] + t * (rates[i] - rates[i - 1]);
    }
  return rates.back();
}

}  // namespace flexcp::sched
