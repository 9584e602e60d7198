#pragma once
// A mixed-integer linear program (minimise c^T x subject to rows of <=, >= or = constraints and
// bounds on x, some x integer), solved by COIN-OR CBC under a time and a node limit. Pure C++:
// the planners build models with it; nothing else in flexcp sees CBC.
#include <memory>
#include <utility>
#include <vector>

namespace flexcp::sched {

enum class MilpStatus {
  optimal,      // proven optimal
  feasible,     // a limit stopped the search with a solution in hand (not proven optimal)
  infeasible,   // proven infeasible
  no_solution,  // a limit stopped the search before any solution was found
};
const char* to_string(MilpStatus status);

struct MilpLimits {
  double seconds = 0.0;  // wall-clock limit of the search; 0: none
  int nodes = -1;        // branch-and-bound nodes; -1: none. Deterministic, unlike a time limit
};

struct MilpResult {
  MilpStatus status = MilpStatus::no_solution;
  std::vector<double> values;  // one per variable, when a solution exists
  double objective = 0.0;      // of `values`
  double bound = 0.0;          // best proven lower bound on the optimum
  double solve_s = 0.0;        // wall time of the solve
  bool has_solution() const { return status == MilpStatus::optimal || status == MilpStatus::feasible; }
};

class Milp {
 public:
  using Terms = std::vector<std::pair<int, double>>;  // (variable, coefficient)

  // Returns the new variable's index.
  int add_variable(double lower, double upper, double objective, bool integer);
  void add_less_equal(const Terms& terms, double rhs) { add_row(terms, 'L', rhs); }
  void add_greater_equal(const Terms& terms, double rhs) { add_row(terms, 'G', rhs); }
  void add_equal(const Terms& terms, double rhs) { add_row(terms, 'E', rhs); }
  // A feasible solution the search starts from (a heuristic's answer): CBC keeps it as its
  // first incumbent, so a limit can only improve on it.
  void set_start(std::vector<double> values) { start_ = std::move(values); }
  int variables() const { return static_cast<int>(lower_.size()); }

  // Throws flexcp::Error if CBC cannot be run.
  MilpResult solve(const MilpLimits& limits) const;

 private:
  void add_row(const Terms& terms, char sense, double rhs);

  std::vector<double> lower_, upper_, objective_;
  std::vector<char> integer_;
  struct Row {
    Terms terms;
    char sense;
    double rhs;
  };
  std::vector<Row> rows_;
  std::vector<double> start_;
};

}  // namespace flexcp::sched
