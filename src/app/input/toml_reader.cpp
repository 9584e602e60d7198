#include "app/input/toml_reader.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "common/error.hpp"

namespace flexcp {
namespace {
// A bound or value as a user would write it: 1e+300, not 309 digits; 0.5, not 0.500000.
std::string shown(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

std::string describe(const toml::node& node) {
  std::ostringstream out;
  switch (node.type()) {
    case toml::node_type::string: out << '"' << node.value<std::string>().value_or("") << "\" (a string)"; break;
    case toml::node_type::integer: out << node.value<std::int64_t>().value_or(0) << " (an integer)"; break;
    case toml::node_type::floating_point: out << shown(node.value<double>().value_or(0.0)) << " (a float)"; break;
    case toml::node_type::boolean: out << (node.value<bool>().value_or(false) ? "true" : "false") << " (a boolean)"; break;
    case toml::node_type::array: out << "an array"; break;
    case toml::node_type::table: out << "a table"; break;
    default: out << "a date/time"; break;
  }
  return out.str();
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}
}  // namespace

TableReader::TableReader(const toml::table* table, std::string prefix, std::string source, const KeyOrigins* origins)
    : table_(table), prefix_(std::move(prefix)), source_(std::move(source)), origins_(origins) {}

std::string TableReader::full(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

const std::string& TableReader::source_of(const std::string& key) const {
  if (origins_ != nullptr)
    if (auto it = origins_->find(full(key)); it != origins_->end()) return it->second;
  return source_;
}

bool TableReader::has(const std::string& key) const { return table_ != nullptr && table_->contains(key); }

const toml::node* TableReader::find(const std::string& key) {
  asked_.insert(key);
  return table_ == nullptr ? nullptr : table_->get(key);
}

void TableReader::fail(const std::string& key, const std::string& problem) const {
  throw ConfigError(source_of(key) + ": key '" + full(key) + "': " + problem);
}

void TableReader::fail_missing(const std::string& key, const std::string& what) const {
  // A key missing from a table that an included file supplied (cluster.hardware, model.file) is
  // that file's omission: name it, not the input that included it.
  std::string source = source_of(key);
  if (origins_ != nullptr)
    if (auto it = origins_->find(prefix_); it != origins_->end()) source = it->second;
  throw ConfigError(source + ": key '" + full(key) + "': missing; required: " + what);
}

std::optional<std::int64_t> TableReader::integer(const std::string& key, std::int64_t min_value, std::int64_t max_value) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  auto value = node->value_exact<std::int64_t>();
  const std::string allowed = max_value == std::numeric_limits<std::int64_t>::max()
                                  ? "an integer >= " + std::to_string(min_value)
                                  : "an integer >= " + std::to_string(min_value) + " and <= " + std::to_string(max_value);
  if (!value) fail(key, "expected " + allowed + ", got " + describe(*node));
  if (*value < min_value || *value > max_value)
    fail(key, "value " + std::to_string(*value) + " is not allowed: must be " + allowed);
  return value;
}

std::optional<double> TableReader::number(const std::string& key, double exclusive_min, double max_value) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_number()) fail(key, "expected a number, got " + describe(*node));
  const double value = node->value<double>().value_or(0.0);
  const std::string allowed = "a finite number > " + shown(exclusive_min) +
                              (std::isinf(max_value) ? std::string() : " and <= " + shown(max_value));
  if (!(value > exclusive_min) || !(value <= max_value) || !std::isfinite(value))
    fail(key, "value " + shown(value) + " is not allowed: must be " + allowed);
  return value;
}

std::optional<double> TableReader::non_negative(const std::string& key, double max_value) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_number()) fail(key, "expected a number >= 0, got " + describe(*node));
  const double value = node->value<double>().value_or(0.0);
  const std::string allowed = std::isinf(max_value) ? "a finite number >= 0" : "a number in [0, " + shown(max_value) + "]";
  if (!(value >= 0.0) || !(value <= max_value) || !std::isfinite(value))
    fail(key, "value " + shown(value) + " is not allowed: must be " + allowed);
  return value;
}

std::optional<bool> TableReader::boolean(const std::string& key) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  auto value = node->value_exact<bool>();
  if (!value) fail(key, "expected true or false, got " + describe(*node));
  return value;
}

std::optional<std::string> TableReader::string(const std::string& key) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  auto value = node->value_exact<std::string>();
  if (!value) fail(key, "expected a string, got " + describe(*node));
  return value;
}

std::optional<std::vector<std::int64_t>> TableReader::integers(const std::string& key, std::int64_t min_value,
                                                              std::int64_t max_value) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) fail(key, "expected an array of integers, got " + describe(*node));
  const std::string allowed = max_value == std::numeric_limits<std::int64_t>::max()
                                  ? "an integer >= " + std::to_string(min_value)
                                  : "an integer >= " + std::to_string(min_value) + " and <= " + std::to_string(max_value);
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto value = (*array)[i].value_exact<std::int64_t>();
    if (!value || *value < min_value || *value > max_value)
      fail(key, "element " + std::to_string(i) + " is " + describe((*array)[i]) + ": every element must be " + allowed);
    out.push_back(*value);
  }
  return out;
}

std::optional<std::vector<std::string>> TableReader::strings(const std::string& key) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) fail(key, "expected an array of strings, got " + describe(*node));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto value = (*array)[i].value_exact<std::string>();
    if (!value) fail(key, "element " + std::to_string(i) + " is " + describe((*array)[i]) + ": expected a string");
    out.push_back(*value);
  }
  return out;
}

std::optional<std::vector<std::pair<std::int64_t, double>>> TableReader::size_value_pairs(const std::string& key) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) fail(key, "expected an array of [size, value] pairs, got " + describe(*node));
  std::vector<std::pair<std::int64_t, double>> out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const auto* pair = (*array)[i].as_array();
    auto size = pair && pair->size() == 2 ? (*pair)[0].value_exact<std::int64_t>() : std::nullopt;
    auto value = pair && pair->size() == 2 && (*pair)[1].is_number() ? (*pair)[1].value<double>() : std::nullopt;
    if (!size || !value || *size < 1 || !(*value > 0.0) || !std::isfinite(*value) || (!out.empty() && *size <= out.back().first))
      fail(key, "element " + std::to_string(i) + " must be [size, value] with an integer size >= 1 (ascending) and a value > 0");
    out.emplace_back(*size, *value);
  }
  return out;
}

std::optional<std::vector<double>> TableReader::numbers(const std::string& key, double exclusive_min) {
  const auto* node = find(key);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) fail(key, "expected an array of numbers, got " + describe(*node));
  std::vector<double> out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const auto value = (*array)[i].is_number() ? (*array)[i].value<double>() : std::nullopt;
    if (!value || !(*value > exclusive_min) || !std::isfinite(*value))
      fail(key, "element " + std::to_string(i) + " is " + describe((*array)[i]) + ": every element must be a finite number > " +
                    shown(exclusive_min));
    out.push_back(*value);
  }
  return out;
}

const toml::table* TableReader::subtable(const std::string& key) {
  const auto* node = find(key);
  if (node == nullptr) return nullptr;
  if (!node->is_table()) fail(key, "expected a table ([" + full(key) + "]), got " + describe(*node));
  return node->as_table();
}

void TableReader::finish() const {
  if (table_ == nullptr) return;
  for (const auto& [key, node] : *table_) {
    const std::string name(key.str());
    if (!asked_.count(name))
      throw ConfigError(source_of(name) + ": unknown key '" + full(name) + "'; allowed keys in [" + prefix_ + "]: " + join(asked_));
  }
}

void check_top_level(const toml::table& root, const std::vector<std::string>& allowed, const std::string& source) {
  const std::set<std::string> names(allowed.begin(), allowed.end());
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (!names.count(name)) throw ConfigError(source + ": unknown section '" + name + "'; allowed: " + join(names));
    if (!node.is_table()) throw ConfigError(source + ": '" + name + "' must be a table ([" + name + "])");
  }
}

}  // namespace flexcp
