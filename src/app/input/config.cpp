#include "app/input/config.hpp"

#include <algorithm>
#include <limits>
#include <sstream>

#include "app/strategies.hpp"
#include "common/error.hpp"
#include "app/input/interleaved_file.hpp"
#include "app/input/lengths_file.hpp"
#include "app/input/regular_file.hpp"
#include "app/input/hardware_config.hpp"
#include "app/input/toml_reader.hpp"

namespace flexcp {

namespace {
constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();

// `activation_checkpointing` of a model or an encoder table: what its activation bytes assume.
sched::Checkpointing read_checkpointing(TableReader& in) {
  const auto checkpointing = in.string("activation_checkpointing").value_or("none");
  if (checkpointing == "full") return sched::Checkpointing::full;
  if (checkpointing == "selective") return sched::Checkpointing::selective;
  if (checkpointing != "none")
    in.fail("activation_checkpointing", "value \"" + checkpointing + "\" is not allowed: \"none\", \"selective\" or \"full\"");
  return sched::Checkpointing::none;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

ModelConfig read_model(const toml::table& root, const std::string& source, const KeyOrigins& origins) {
  TableReader in(root["model"].as_table(), "model", source, &origins);
  ModelConfig m;
  auto& shape = m.shape;
  shape.name = in.string("name").value_or("unnamed");
  shape.layers = static_cast<int>(in.integer("layers", 1, kIntMax).value_or(1));
  m.heads.q_heads = static_cast<int>(in.required(in.integer("q_heads", 1, kIntMax), "q_heads", "query heads, an integer >= 1"));
  m.heads.kv_heads =
      static_cast<int>(in.required(in.integer("kv_heads", 1, kIntMax), "kv_heads", "key/value heads, an integer >= 1 dividing q_heads"));
  m.heads.head_dim = static_cast<int>(in.required(in.integer("head_dim", 1, kIntMax), "head_dim", "head dimension, an integer >= 1"));
  if (m.heads.q_heads % m.heads.kv_heads != 0)
    in.fail("kv_heads", "value " + std::to_string(m.heads.kv_heads) + " is not allowed: q_heads (" +
                            std::to_string(m.heads.q_heads) + ") must be a multiple of kv_heads (grouped-query attention)");
  shape.q_heads = m.heads.q_heads;
  shape.kv_heads = m.heads.kv_heads;
  shape.head_dim = m.heads.head_dim;
  shape.hidden = in.integer("hidden_size", 1).value_or(std::int64_t{m.heads.q_heads} * m.heads.head_dim);
  shape.ffn_hidden = in.integer("ffn_hidden", 1).value_or(4 * shape.hidden);
  shape.vocab = in.integer("vocab_size", 0).value_or(0);
  shape.activation_bytes_per_token = in.number("activation_bytes_per_token", 0.0).value_or(0.0);
  shape.state_bytes_per_param = in.number("state_bytes_per_param", 0.0).value_or(16.0);
  shape.checkpointing = read_checkpointing(in);
  in.finish();
  return m;
}

sched::Cluster read_cluster(const toml::table& root, const std::string& source) {
  TableReader in(root["cluster"].as_table(), "cluster", source);
  sched::Cluster c;
  c.nodes = static_cast<int>(in.integer("nodes", 1, kMaxRanks).value_or(1));
  c.ranks_per_node = static_cast<int>(in.integer("ranks_per_node", 1, kMaxRanks).value_or(8));
  if (std::int64_t{c.nodes} * c.ranks_per_node > kMaxRanks)
    in.fail("nodes", std::to_string(c.nodes) + " nodes x " + std::to_string(c.ranks_per_node) + " ranks per node = " +
                         std::to_string(std::int64_t{c.nodes} * c.ranks_per_node) + " ranks is not allowed: at most " +
                         std::to_string(kMaxRanks) + " ranks (" + std::to_string(kMaxRanks / 1024) +
                         "Ki) can be planned");
  if (in.has("hardware")) in.string("hardware");  // already resolved into [hardware] by rank 0
  if (in.has("emulation")) in.string("emulation");  // already resolved into [emulation] and [hardware]
  in.finish();
  return c;
}

PlanSettings read_plan(const toml::table& root, const std::string& source) {
  TableReader in(root["plan"].as_table(), "plan", source);
  PlanSettings p;
  const auto plannable = plannable_strategies();
  // The MILP reference is asked for by name (or --planner optimal): it solves small instances only.
  auto defaults = plannable;
  std::erase(defaults, std::string("optimal"));
  p.strategies = in.strings("strategies").value_or(defaults);
  for (const auto& name : p.strategies)
    if (std::find(plannable.begin(), plannable.end(), name) == plannable.end())
      in.fail("strategies", "unknown strategy \"" + name + "\"; allowed: " + joined(plannable));
  p.batches = in.integer("batches", 1).value_or(10);
  const bool extreme = in.boolean("extreme").value_or(false);
  p.extreme_fraction = extreme ? 1.0 : in.non_negative("extreme_fraction", 1.0).value_or(0.0);
  if (p.extreme_fraction > 1.0) in.fail("extreme_fraction", "must be in [0, 1]");
  for (auto d : in.integers("megatron_degrees", 1, kIntMax).value_or(std::vector<std::int64_t>{}))
    p.megatron_degrees.push_back(static_cast<int>(d));
  p.ulysses_degree = static_cast<int>(in.integer("ulysses_degree", 1, kIntMax).value_or(0));
  p.flexsp_time_limit_s = in.number("flexsp_time_limit_s", 0.0).value_or(10.0);
  p.optimal_time_limit_s = in.number("optimal_time_limit_s", 0.0).value_or(60.0);
  p.output = in.string("output").value_or("");
  in.finish();
  return p;
}

BatchConfig read_batch(const toml::table& root, const std::string& source, const std::filesystem::path& input_dir,
                       bool load_dataset, bool multimodal) {
  TableReader in(root["batch"].as_table(), "batch", source);
  BatchConfig b;
  b.dataset = in.string("dataset").value_or("");
  b.lengths = in.integers("lengths", 1, kMaxTokens).value_or(std::vector<std::int64_t>{});
  auto tokens = in.integer("tokens_per_batch", 1, kMaxTokens);
  b.seed = static_cast<std::uint64_t>(in.integer("seed", 0).value_or(1));
  if (multimodal) {  // the samples come from multimodal.dataset; only the budget and seed are read here
    if (b.uses_dataset() || in.has("lengths"))
      in.fail(b.uses_dataset() ? "dataset" : "lengths", "not allowed with [multimodal]: its dataset gives the samples");
    b.tokens_per_batch = in.required(tokens, "tokens_per_batch", "LLM tokens per batch, an integer >= 1, with [multimodal]");
    in.finish();
    return b;
  }
  if (b.uses_dataset() == in.has("lengths"))
    in.fail("dataset", "give exactly one of batch.dataset (a document-length file, sampled each step) or "
                       "batch.lengths (one fixed batch)");
  if (b.uses_dataset()) {
    b.tokens_per_batch = in.required(tokens, "tokens_per_batch", "tokens per batch, an integer >= 1, with batch.dataset");
    if (load_dataset) b.samples = read_lengths_file(input_dir / b.dataset);
  } else {
    if (b.lengths.empty()) in.fail("lengths", "must hold at least one document length");
    if (tokens) in.fail("tokens_per_batch", "not allowed with batch.lengths: the batch is exactly the listed documents");
    for (auto l : b.lengths) {
      b.tokens_per_batch += l;  // each <= 2^40: no overflow before the check
      if (b.tokens_per_batch > kMaxTokens)
        in.fail("lengths", "the documents add up to more than " + std::to_string(kMaxTokens) + " tokens (2^40), the "
                           "largest batch allowed");
    }
  }
  in.finish();
  return b;
}

sched::EncoderShape read_encoder(const toml::table& root, const std::string& source, const KeyOrigins& origins) {
  if (root["encoder"].as_table() == nullptr)
    throw ConfigError(source + ": [multimodal] needs an [encoder] table (usually encoder.file = \"models/NAME.toml\")");
  TableReader in(root["encoder"].as_table(), "encoder", source, &origins);
  sched::EncoderShape e;
  auto need = [&](const char* key, const char* what) { return in.required(in.integer(key, 1), key, what); };
  e.name = in.string("name").value_or("encoder");
  e.layers = static_cast<int>(need("layers", "encoder layers, an integer >= 1"));
  e.hidden = need("hidden_size", "encoder width, an integer >= 1");
  e.heads = static_cast<int>(need("heads", "attention heads, an integer >= 1"));
  e.head_dim = static_cast<int>(need("head_dim", "head dimension, an integer >= 1"));
  e.mlp_hidden = in.integer("mlp_hidden", 1).value_or(4 * e.hidden);
  e.mlp_matrices = static_cast<int>(in.integer("mlp_matrices", 2).value_or(2));
  if (e.mlp_matrices > 3) in.fail("mlp_matrices", "must be 2 (GELU MLP) or 3 (SwiGLU)");
  e.projector_hidden = in.integer("projector_hidden", 0).value_or(0);
  e.activation_bytes_per_patch = in.required(in.number("activation_bytes_per_patch", 0.0), "activation_bytes_per_patch",
                                             "activation bytes per patch, all layers, a number > 0");
  e.state_bytes_per_param = in.number("state_bytes_per_param", 0.0).value_or(16.0);
  e.checkpointing = read_checkpointing(in);
  auto& p = e.images;
  // patch_size is read with a floor of 0 so that 0 gets the policy's own message, not a range error.
  p.patch_size = static_cast<int>(in.required(in.integer("patch_size", 0), "patch_size", "patch side in pixels, an integer >= 1"));
  const auto resize = in.string("resize").value_or("fixed");
  if (resize == "fixed") p.resize = sched::ResizePolicy::fixed;
  else if (resize == "tiles") p.resize = sched::ResizePolicy::tiles;
  else if (resize == "native") p.resize = sched::ResizePolicy::native;
  else in.fail("resize", "value \"" + resize + "\" is not allowed: \"fixed\", \"tiles\" or \"native\"");
  p.image_size = static_cast<int>(in.integer("image_size", 1).value_or(p.resize == sched::ResizePolicy::tiles ? 448 : 336));
  p.max_tiles = static_cast<int>(in.integer("max_tiles", 1).value_or(12));
  p.min_pixels = in.integer("min_pixels", 1).value_or(p.min_pixels);
  p.max_pixels = in.integer("max_pixels", 1).value_or(p.max_pixels);
  p.merge = static_cast<int>(in.integer("merge", 1).value_or(1));
  p.class_tokens = static_cast<int>(in.integer("class_tokens", 0).value_or(0));
  if (const auto problem = sched::image_policy_problem(p); !problem.empty())
    in.fail(p.patch_size < 1 ? "patch_size" : "image_size", problem);
  in.finish();
  return e;
}

MultimodalConfig read_multimodal(const toml::table& root, const std::string& source, const std::filesystem::path& input_dir,
                                 bool load_dataset, const KeyOrigins& origins) {
  TableReader in(root["multimodal"].as_table(), "multimodal", source);
  MultimodalConfig m;
  m.dataset = in.required(in.string("dataset"), "dataset", "an interleaved dataset file (inputs/datasets/*.mm.txt)");
  m.pipeline_micro_batches = static_cast<int>(in.integer("pipeline_micro_batches", 1).value_or(4));
  m.encoder_ranks = static_cast<int>(in.integer("encoder_ranks", 0).value_or(0));
  m.placements = in.strings("placements").value_or(std::vector<std::string>{});
  for (const auto& name : m.placements) {
    if (name != "llm-centric" && name != "colocated" && name != "non-colocated")
      in.fail("placements", "unknown placement \"" + name + "\"; allowed: llm-centric, colocated, non-colocated");
    if (std::count(m.placements.begin(), m.placements.end(), name) > 1)
      in.fail("placements", "placement \"" + name + "\" is listed twice");
  }
  if (in.has("placements") && m.placements.empty()) in.fail("placements", "must name at least one placement");
  in.finish();
  m.encoder = read_encoder(root, source, origins);
  if (load_dataset) m.samples = read_interleaved_file(input_dir / m.dataset);
  return m;
}

RunSettings read_run(const toml::table& root, const std::string& source) {
  TableReader in(root["run"].as_table(), "run", source);
  RunSettings r;
  const auto known = runnable_strategies();
  r.strategies = in.strings("strategies").value_or(std::vector<std::string>{"megatron-cp-ring"});
  if (r.strategies.empty()) in.fail("strategies", "must name at least one of: " + joined(known));
  for (const auto& name : r.strategies) {
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
  r.cp_degree = static_cast<int>(in.integer("cp_degree", 1, kIntMax).value_or(0));
  r.ulysses_degree = static_cast<int>(in.integer("ulysses_degree", 1, kIntMax).value_or(0));
  r.comm_cache_size = static_cast<int>(in.integer("comm_cache_size", 1, kIntMax).value_or(32));
  r.backend = in.string("backend").value_or("cpu");
  if (r.backend != "cpu" && r.backend != "cuda")
    in.fail("backend", "value \"" + r.backend + "\" is not allowed: \"cpu\" or \"cuda\"");
  r.precision = in.string("precision").value_or("fp32");
  if (r.precision != "fp32" && r.precision != "bf16")
    in.fail("precision", "value \"" + r.precision + "\" is not allowed: \"fp32\" or \"bf16\"");
  if (r.precision == "bf16" && r.backend != "cuda")
    in.fail("precision", "\"bf16\" needs backend = \"cuda\" (the host kernels compute in fp32)");
  in.finish();
  return r;
}
}  // namespace

Config config_from_table(const toml::table& root, const std::string& source, const std::filesystem::path& input_dir,
                         bool load_dataset, int world_size, const KeyOrigins& origins) {
  check_top_level(root, {"model", "batch", "run", "cluster", "hardware", "emulation", "plan", "multimodal", "encoder"}, source);
  if (!root.contains("model")) throw ConfigError(source + ": missing section [model]");
  if (!root.contains("batch")) throw ConfigError(source + ": missing section [batch]");
  Config c;
  c.model = read_model(root, source, origins);
  const bool multimodal = root.contains("multimodal");
  if (!multimodal && root.contains("encoder"))
    throw ConfigError(source + ": an [encoder] table needs a [multimodal] table (its interleaved dataset)");
  c.batch = read_batch(root, source, input_dir, load_dataset, multimodal);
  if (multimodal) c.multimodal = read_multimodal(root, source, input_dir, load_dataset, origins);
  c.run = read_run(root, source);
  c.cluster = read_cluster(root, source);
  c.has_hardware = root.contains("hardware");
  if (c.has_hardware) c.hardware = read_hardware(*root["hardware"].as_table(), source, origins);
  if (const auto* emulation = root["emulation"].as_table()) c.emulation = read_emulation(*emulation, source);
  c.plan = read_plan(root, source);
  if (c.batch.tokens_per_batch < world_size)
    throw ConfigError(source + ": the batch holds " + std::to_string(c.batch.tokens_per_batch) + " tokens but the job has " +
                      std::to_string(world_size) + " ranks: every rank needs at least one token (raise "
                      "batch.tokens_per_batch or run fewer ranks)");
  std::ostringstream text;
  text << root;
  c.resolved_toml = text.str();
  return c;
}

toml::table parse_toml_file(const std::filesystem::path& path, const std::string& what) {
  require_regular_file(path, what);
  try {
    return toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    if (!std::filesystem::exists(path)) throw ConfigError(what + " '" + path.string() + "' does not exist");
    const auto& where = e.source().begin;
    throw ConfigError(path.string() + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) +
                      ": invalid TOML: " + std::string(e.description()));
  }
}

namespace {
// Merges the table `section` of the TOML file `path` into `root[section]`: the file's keys are
// the base, the keys already in `root[section]` (written in the input, or set with --set) win.
// Records the file as the origin of every key it contributed.
void merge_included_table(toml::table& root, const std::string& section, const std::filesystem::path& path,
                          const std::string& what, KeyOrigins& origins) {
  auto file = parse_toml_file(path, what);
  auto* base = file[section].as_table();
  if (base == nullptr) throw ConfigError(path.string() + ": needs a [" + section + "] table");
  for (const auto& [key, node] : file)
    if (key.str() != section)
      throw ConfigError(path.string() + ": unknown section '" + std::string(key.str()) + "'; this file (" + what +
                        ") may hold only [" + section + "]");
  toml::table merged = *base;
  for (const auto& [key, node] : merged) origins[section + "." + std::string(key.str())] = path.string();
  origins[section] = path.string();  // a key missing from the table is the included file's fault
  if (const auto* written = root[section].as_table())
    for (const auto& [key, node] : *written) {
      merged.insert_or_assign(key, node);
      origins.erase(section + "." + std::string(key.str()));
    }
  root.insert_or_assign(section, std::move(merged));
}

std::filesystem::path included_path(const toml::table& root, const std::string& section, const std::string& key,
                                    const std::string& what, const std::filesystem::path& input_dir,
                                    const std::string& source) {
  const auto* file = root[section][key].as_string();
  if (file == nullptr)
    throw ConfigError(source + ": key '" + section + "." + key + "': expected a string (path of " + what + ")");
  return input_dir / file->get();
}
}  // namespace

KeyOrigins resolve_includes(toml::table& root, const std::filesystem::path& input_dir, const std::string& source) {
  KeyOrigins origins;
  if (auto* model = root["model"].as_table(); model != nullptr && model->contains("file")) {
    const auto path = included_path(root, "model", "file", "a model shape file", input_dir, source);
    model->erase("file");
    merge_included_table(root, "model", path, source + ": key 'model.file': file", origins);
  }
  if (auto* encoder = root["encoder"].as_table(); encoder != nullptr && encoder->contains("file")) {
    const auto path = included_path(root, "encoder", "file", "an encoder shape file", input_dir, source);
    encoder->erase("file");
    merge_included_table(root, "encoder", path, source + ": key 'encoder.file': file", origins);
  }
  if (auto* cluster = root["cluster"].as_table(); cluster != nullptr && cluster->contains("hardware")) {
    const auto path = included_path(root, "cluster", "hardware", "a hardware profile", input_dir, source);
    merge_included_table(root, "hardware", path, source + ": key 'cluster.hardware': file", origins);
  }
  if (auto* cluster = root["cluster"].as_table(); cluster != nullptr && cluster->contains("emulation")) {
    // The emulated network's dilated profile replaces any other: the run is planned and modelled
    // for the network it executes on.
    const auto path = included_path(root, "cluster", "emulation", "the network file of scripts/emulated-cluster.sh",
                                    input_dir, source);
    auto network = parse_toml_file(path, source + ": key 'cluster.emulation': file");
    auto* hardware = network["hardware"].as_table();
    auto* emulation = network["emulation"].as_table();
    if (hardware == nullptr || emulation == nullptr)
      throw ConfigError(path.string() + ": an emulated network file needs [hardware] and [emulation] tables "
                        "(scripts/emulated-cluster.sh up writes one)");
    for (const auto& [key, node] : *hardware) origins["hardware." + std::string(key.str())] = path.string();
    origins["hardware"] = path.string();
    root.insert_or_assign("hardware", *hardware);
    root.insert_or_assign("emulation", *emulation);
  }
  return origins;
}

void apply_overrides(toml::table& root, const std::vector<std::string>& assignments) {
  // A --set that names another included file replaces what the input wrote for that table: a
  // resolved input (a results file's config_toml, --resolved-input) spells out every key of its
  // profile, and those written keys would otherwise win over the new file, silently keeping the
  // old profile.
  for (const auto& assignment : assignments) {
    const auto key = assignment.substr(0, assignment.find('='));
    if (key == "cluster.hardware") root.erase("hardware");
    if (key == "model.file") root.erase("model");
  }
  for (const auto& assignment : assignments) apply_override(root, assignment);
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
      if (existing == nullptr && target->contains(name)) {
        // `run = 5` in the input (or an earlier --set run=5) is not a table to set a key in;
        // grafting would silently replace the scalar by a table of defaults.
        std::ostringstream shown;
        target->get(name)->visit([&](const auto& scalar) { shown << scalar; });
        throw ConfigError("--set '" + assignment + "': '" + std::string(name.str()) + "' is " + shown.str() +
                          ", not a table: cannot set '" + key + "' in it (write [" + std::string(name.str()) +
                          "] as a table)");
      }
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
