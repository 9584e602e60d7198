#include "config.hpp"

#include <algorithm>
#include <sstream>

#include "common/error.hpp"
#include "lengths_file.hpp"
#include "toml_reader.hpp"

namespace flexcp {

const std::vector<std::string>& known_strategies() {
  static const std::vector<std::string> names{"megatron-cp-ring"};
  return names;
}

namespace {
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

ModelConfig read_model(const toml::table& root, const std::string& source) {
  TableReader in(root["model"].as_table(), "model", source);
  ModelConfig m;
  m.name = in.string("name").value_or("unnamed");
  m.layers = in.integer("layers", 1).value_or(1);
  m.heads.q_heads = static_cast<int>(in.required(in.integer("q_heads", 1), "q_heads", "query heads, an integer >= 1"));
  m.heads.kv_heads =
      static_cast<int>(in.required(in.integer("kv_heads", 1), "kv_heads", "key/value heads, an integer >= 1 dividing q_heads"));
  m.heads.head_dim = static_cast<int>(in.required(in.integer("head_dim", 1), "head_dim", "head dimension, an integer >= 1"));
  m.hidden_size = in.integer("hidden_size", 1).value_or(std::int64_t{m.heads.q_heads} * m.heads.head_dim);
  if (m.heads.q_heads % m.heads.kv_heads != 0)
    in.fail("kv_heads", "value " + std::to_string(m.heads.kv_heads) + " is not allowed: q_heads (" +
                            std::to_string(m.heads.q_heads) + ") must be a multiple of kv_heads (grouped-query attention)");
  in.finish();
  return m;
}

BatchConfig read_batch(const toml::table& root, const std::string& source, const std::filesystem::path& input_dir,
                       bool load_dataset) {
  TableReader in(root["batch"].as_table(), "batch", source);
  BatchConfig b;
  b.dataset = in.string("dataset").value_or("");
  b.lengths = in.integers("lengths", 1).value_or(std::vector<std::int64_t>{});
  auto tokens = in.integer("tokens_per_batch", 1);
  b.seed = static_cast<std::uint64_t>(in.integer("seed", 0).value_or(1));
  if (b.uses_dataset() == in.has("lengths"))
    in.fail("dataset", "give exactly one of batch.dataset (a document-length file, sampled each step) or "
                       "batch.lengths (one fixed batch)");
  if (b.uses_dataset()) {
    b.tokens_per_batch = in.required(tokens, "tokens_per_batch", "tokens per batch, an integer >= 1, with batch.dataset");
    if (load_dataset) b.samples = read_lengths_file(input_dir / b.dataset);
  } else {
    if (b.lengths.empty()) in.fail("lengths", "must hold at least one document length");
    if (tokens) in.fail("tokens_per_batch", "not allowed with batch.lengths: the batch is exactly the listed documents");
    for (auto l : b.lengths) b.tokens_per_batch += l;
  }
  in.finish();
  return b;
}

RunSettings read_run(const toml::table& root, const std::string& source) {
  TableReader in(root["run"].as_table(), "run", source);
  RunSettings r;
  r.strategies = in.strings("strategies").value_or(std::vector<std::string>{"megatron-cp-ring"});
  if (r.strategies.empty()) in.fail("strategies", "must name at least one of: " + joined(known_strategies()));
  for (const auto& name : r.strategies) {
    const auto& known = known_strategies();
    if (std::find(known.begin(), known.end(), name) == known.end())
      in.fail("strategies", "unknown strategy \"" + name + "\"; allowed: " + joined(known));
    if (std::count(r.strategies.begin(), r.strategies.end(), name) > 1)
      in.fail("strategies", "strategy \"" + name + "\" is listed twice");
  }
  r.steps = in.integer("steps", 1).value_or(3);
  r.warmup_steps = in.integer("warmup_steps", 0).value_or(1);
  r.output = in.string("output").value_or("");
  r.check = in.boolean("check").value_or(true);
  r.check_tolerance = in.number("check_tolerance", 0.0).value_or(1e-4);
  in.finish();
  return r;
}
}  // namespace

Config config_from_table(const toml::table& root, const std::string& source, const std::filesystem::path& input_dir,
                         bool load_dataset, int world_size) {
  check_top_level(root, {"model", "batch", "run"}, source);
  if (!root.contains("model")) throw ConfigError(source + ": missing section [model]");
  if (!root.contains("batch")) throw ConfigError(source + ": missing section [batch]");
  Config c;
  c.model = read_model(root, source);
  c.batch = read_batch(root, source, input_dir, load_dataset);
  c.run = read_run(root, source);
  if (c.batch.tokens_per_batch < world_size)
    throw ConfigError(source + ": the batch holds " + std::to_string(c.batch.tokens_per_batch) + " tokens but the job has " +
                      std::to_string(world_size) + " ranks: every rank needs at least one token (raise "
                      "batch.tokens_per_batch or run fewer ranks)");
  std::ostringstream text;
  text << root;
  c.resolved_toml = text.str();
  return c;
}

void apply_override(toml::table& root, const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0)
    throw ConfigError("--set '" + assignment + "': expected key=value, for example --set run.steps=2");
  const std::string key = assignment.substr(0, equals), value = assignment.substr(equals + 1);
  toml::table parsed;
  try {
    parsed = toml::parse(key + " = " + value);
  } catch (const toml::parse_error&) {
    std::ostringstream quoted;  // not TOML: take the value as a string, quoted by toml++
    quoted << toml::value<std::string>(value);
    try {
      parsed = toml::parse(key + " = " + quoted.str());
    } catch (const toml::parse_error& e) {
      throw ConfigError("--set '" + assignment + "': '" + key + "' is not a valid key (" + std::string(e.description()) + ")");
    }
  }
  // Walk the one dotted path of `parsed` and graft its leaf onto `root`.
  toml::table* target = &root;
  const toml::table* source = &parsed;
  while (true) {
    auto it = source->begin();
    const auto& [name, node] = *it;
    if (const auto* inner = node.as_table(); inner != nullptr && !inner->empty()) {
      auto* existing = (*target)[name].as_table();
      if (existing == nullptr) {
        target->insert_or_assign(name, toml::table{});
        existing = (*target)[name].as_table();
      }
      target = existing;
      source = inner;
      continue;
    }
    target->insert_or_assign(name, node);
    return;
  }
}

}  // namespace flexcp
