#include "sched/milp.hpp"

#include <Cbc_C_Interface.h>

#include <chrono>
#include <string>

#include "common/error.hpp"

namespace flexcp::sched {
namespace {
struct CbcDeleter {
  void operator()(Cbc_Model* model) const { Cbc_deleteModel(model); }
};
using CbcModel = std::unique_ptr<Cbc_Model, CbcDeleter>;
}  // namespace

const char* to_string(MilpStatus status) {
  switch (status) {
    case MilpStatus::optimal: return "optimal";
    case MilpStatus::feasible: return "feasible (limit reached)";
    case MilpStatus::infeasible: return "infeasible";
    case MilpStatus::no_solution: return "no solution (limit reached)";
  }
  return "?";
}

int Milp::add_variable(double lower, double upper, double objective, bool integer) {
  lower_.push_back(lower);
  upper_.push_back(upper);
  objective_.push_back(objective);
  integer_.push_back(integer ? 1 : 0);
  return static_cast<int>(lower_.size()) - 1;
}

void Milp::add_row(const Terms& terms, char sense, double rhs) {
  for (const auto& [variable, coefficient] : terms)
    FLEXCP_CHECK(variable >= 0 && variable < variables(), "MILP row names variable " + std::to_string(variable));
  rows_.push_back({terms, sense, rhs});
}

MilpResult Milp::solve(const MilpLimits& limits) const {
  const auto started = std::chrono::steady_clock::now();
  // Column-major matrix, built once: CBC's incremental row/column calls copy the model each time.
  const int columns = variables();
  std::vector<std::vector<std::pair<int, double>>> by_column(static_cast<std::size_t>(columns));
  std::vector<double> row_lower, row_upper;
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    for (const auto& [variable, coefficient] : rows_[r].terms)
      by_column[static_cast<std::size_t>(variable)].emplace_back(static_cast<int>(r), coefficient);
    const double rhs = rows_[r].rhs, infinity = 1e30;
    row_lower.push_back(rows_[r].sense == 'L' ? -infinity : rhs);
    row_upper.push_back(rows_[r].sense == 'G' ? infinity : rhs);
  }
  std::vector<CoinBigIndex> start{0};
  std::vector<int> index;
  std::vector<double> value;
  for (const auto& column : by_column) {
    for (const auto& [row, coefficient] : column) {
      index.push_back(row);
      value.push_back(coefficient);
    }
    start.push_back(static_cast<CoinBigIndex>(index.size()));
  }

  CbcModel model(Cbc_newModel());
  FLEXCP_CHECK(model != nullptr, "CBC could not create a model");
  Cbc_loadProblem(model.get(), columns, static_cast<int>(rows_.size()), start.data(), index.data(), value.data(),
                  lower_.data(), upper_.data(), objective_.data(), row_lower.data(), row_upper.data());
  for (int c = 0; c < columns; ++c)
    if (integer_[static_cast<std::size_t>(c)]) Cbc_setInteger(model.get(), c);
  Cbc_setObjSense(model.get(), 1.0);
  Cbc_setLogLevel(model.get(), 0);
  // Wall-clock time, not CPU time: a planner's limit is about the step it must not delay.
  Cbc_setParameter(model.get(), "timeMode", "elapsed");
  // CBC 2.10's integer preprocessing (CglPreProcess) crashed in postProcess on a FlexSP model
  // stopped by the time limit (segfault in flexcp plan, c-headers at 256 GPUs); a known class of
  // CBC bugs (coin-or/Cbc issues 167, 463). Presolve stays on.
  Cbc_setParameter(model.get(), "preprocess", "off");
  if (limits.seconds > 0.0) Cbc_setMaximumSeconds(model.get(), limits.seconds);
  if (limits.nodes >= 0) Cbc_setMaximumNodes(model.get(), limits.nodes);
  if (!start_.empty()) {
    FLEXCP_CHECK(static_cast<int>(start_.size()) == columns, "MILP start has the wrong number of values");
    std::vector<int> all(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) all[static_cast<std::size_t>(c)] = c;
    Cbc_setMIPStartI(model.get(), columns, all.data(), start_.data());
  }
  Cbc_solve(model.get());

  MilpResult result;
  const double* best = Cbc_bestSolution(model.get());
  if (Cbc_isProvenInfeasible(model.get()) && best == nullptr) {
    result.status = MilpStatus::infeasible;
  } else if (best != nullptr) {
    result.status = Cbc_isProvenOptimal(model.get()) ? MilpStatus::optimal : MilpStatus::feasible;
    result.values.assign(best, best + columns);
    result.objective = Cbc_getObjValue(model.get());
  } else {
    result.status = MilpStatus::no_solution;
  }
  result.bound = Cbc_getBestPossibleObjValue(model.get());
  result.solve_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace flexcp::sched
