#pragma once
// Typed, checked access to one TOML table of an input file. Every error names the file, the
// full dotted key and what is allowed; finish() rejects keys nobody asked for, so a typo such as
// `run.step = 3` fails instead of being ignored.
#include <toml++/toml.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace flexcp {

// Which file each key of an included table came from ("model.layers" -> ".../llama3-8b.toml"),
// so that an error in an included file names that file, not the input that included it.
using KeyOrigins = std::map<std::string, std::string>;

class TableReader {
 public:
  // `table` may be null (section absent). `prefix` is the dotted path of the table ("run").
  // Errors name `source`, or the key's file in `origins` when it came from an included file.
  TableReader(const toml::table* table, std::string prefix, std::string source, const KeyOrigins* origins = nullptr);

  bool has(const std::string& key) const;
  // Integers in [min_value, max_value]; an int field passes its own range (INT_MAX, or a
  // documented limit) so nothing is truncated by a cast.
  std::optional<std::int64_t> integer(const std::string& key, std::int64_t min_value,
                                      std::int64_t max_value = std::numeric_limits<std::int64_t>::max());
  // Finite numbers in (exclusive_min, max_value].
  std::optional<double> number(const std::string& key, double exclusive_min,
                               double max_value = std::numeric_limits<double>::infinity());
  // Finite numbers in [0, max_value] (latencies, delays, overheads).
  std::optional<double> non_negative(const std::string& key, double max_value = std::numeric_limits<double>::infinity());
  std::optional<bool> boolean(const std::string& key);
  std::optional<std::string> string(const std::string& key);
  std::optional<std::vector<std::int64_t>> integers(const std::string& key, std::int64_t min_value,
                                                    std::int64_t max_value = std::numeric_limits<std::int64_t>::max());
  std::optional<std::vector<std::string>> strings(const std::string& key);
  // [[size, value], ...] with integer sizes >= 1 in ascending order and values > 0.
  std::optional<std::vector<std::pair<std::int64_t, double>>> size_value_pairs(const std::string& key);
  std::optional<std::vector<double>> numbers(const std::string& key, double exclusive_min);
  // A nested table ([hardware.attention_kernel]), or null when absent; a reader for it is
  // TableReader(table, prefix() + "." + key, origin(key), origins).
  const toml::table* subtable(const std::string& key);
  const std::string& prefix() const { return prefix_; }
  const std::string& origin(const std::string& key) const { return source_of(key); }

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
  const std::string& source_of(const std::string& key) const;

  const toml::table* table_;
  std::string prefix_, source_;
  const KeyOrigins* origins_;
  std::set<std::string> asked_;
};

// Reads the top-level tables `allowed` and rejects any other top-level key.
void check_top_level(const toml::table& root, const std::vector<std::string>& allowed, const std::string& source);

}  // namespace flexcp
