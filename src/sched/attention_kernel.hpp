#pragma once
// What an attention kernel achieves by slice shape: FLOP/s of the forward and the backward for
// slices of L queries x L keys, causal or fully visible, measured on the device (bench/ and
// tools/kernel_profile.py write the table into a hardware profile). Short slices lose most of any
// kernel's rate (tiles of 64-128 rows are mostly padding), which a single flat rate cannot say.
// Pure data and arithmetic: used by the cost model for every strategy alike, on the planner's
// hot path, so everything but one log and a short scan is done once, at construction.
#include <array>
#include <string>
#include <vector>

namespace flexcp::sched {

enum class SliceMask { causal, full };

class AttentionKernelRates {
 public:
  // FLOP/s at each length (forward 4 d H_q, backward 10 d H_q per visible pair).
  struct Series {
    std::vector<double> forward_causal, forward_full, backward_causal, backward_full;
  };

  AttentionKernelRates() = default;  // no table: the flat rate of the profile applies
  // Throws ConfigError naming `where` unless `lengths` ascend (>= 1) and every series has one
  // positive rate per length. `source` says where the figures come from.
  AttentionKernelRates(std::string source, const std::vector<double>& lengths, const Series& rates, const std::string& where);

  bool empty() const { return log_lengths_.empty(); }
  const std::string& source() const { return source_; }
  // The rate at length L: linear in log L between measured lengths, the end values beyond them,
  // and never less than at a shorter length (the envelope: splitting a slice can only make it
  // slower, which keeps the model's lower bound a bound).
  double forward(SliceMask mask, double length) const { return at(mask == SliceMask::causal ? 0 : 1, length); }
  double backward(SliceMask mask, double length) const { return at(mask == SliceMask::causal ? 2 : 3, length); }

 private:
  double at(int series, double length) const;

  std::string source_;
  std::vector<double> log_lengths_;
  std::array<std::vector<double>, 4> envelopes_;  // forward causal, forward full, backward causal, backward full
};

}  // namespace flexcp::sched
