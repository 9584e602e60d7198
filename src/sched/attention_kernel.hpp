#pragma once
// What an attention kernel achieves by slice shape: TFLOP/s of the forward and the backward for
// slices of L queries x L keys, causal or fully visible, measured on the device (bench/ and
// tools/kernel_profile.py write the table into a hardware profile). Short slices lose most of any
// kernel's rate (tiles of 64-128 rows are mostly padding), which a single flat rate cannot say.
// Pure data and arithmetic: used by the cost model for every strategy alike.
#include <string>
#include <vector>

namespace flexcp::sched {

enum class SliceMask { causal, full };

struct AttentionKernelRates {
  std::string source;           // where the figures come from (machine, date, command)
  std::vector<double> lengths;  // slice lengths L, ascending
  // FLOP/s at each length (forward 4 d H_q, backward 10 d H_q per visible pair).
  std::vector<double> forward_causal, forward_full, backward_causal, backward_full;

  bool empty() const { return lengths.empty(); }
  // Throws ConfigError naming `where` unless lengths ascend and every series has one positive
  // rate per length.
  void validate(const std::string& where) const;
  // The rate at length L: log-linear between measured lengths, the end values beyond them, and
  // never less than at a shorter length (the envelope: splitting a slice can only make it slower,
  // which keeps the model's lower bound a bound).
  double forward(SliceMask mask, double length) const;
  double backward(SliceMask mask, double length) const;
};

}  // namespace flexcp::sched
