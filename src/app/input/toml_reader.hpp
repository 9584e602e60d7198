#pragma once
// Typed, checked access to one TOML table of an input file. Every error names the file, the
// full dotted key and what is allowed; finish() rejects keys nobody asked for, so a typo such as
// `run.step = 3` fails instead of being ignored.
#include <toml++/toml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace flexcp {

class TableReader {
 public:
  // `table` may be null (section absent). `prefix` is the dotted path of the table ("run").
  TableReader(const toml::table* table, std::string prefix, std::string source);

  bool has(const std::string& key) const;
  std::optional<std::int64_t> integer(const std::string& key, std::int64_t min_value);
  std::optional<double> number(const std::string& key, double exclusive_min);
  std::optional<bool> boolean(const std::string& key);
  std::optional<std::string> string(const std::string& key);
  std::optional<std::vector<std::int64_t>> integers(const std::string& key, std::int64_t min_value);
  std::optional<std::vector<std::string>> strings(const std::string& key);
  // [[size, value], ...] with integer sizes >= 1 in ascending order and values > 0.
  std::optional<std::vector<std::pair<std::int64_t, double>>> size_value_pairs(const std::string& key);

  template <class T>
  T required(std::optional<T> value, const std::string& key, const std::string& what) const {
    if (!value) fail_missing(key, what);
    return *value;
  }
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;
  // Throws ConfigError naming every key that was present but never read.
  void finish() const;

 private:
  [[noreturn]] void fail_missing(const std::string& key, const std::string& what) const;
  const toml::node* find(const std::string& key);
  std::string full(const std::string& key) const;

  const toml::table* table_;
  std::string prefix_, source_;
  std::set<std::string> asked_;
};

// Reads the top-level tables `allowed` and rejects any other top-level key.
void check_top_level(const toml::table& root, const std::vector<std::string>& allowed, const std::string& source);

}  // namespace flexcp
