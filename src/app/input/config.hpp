#pragma once
// The resolved input of `flexcp run`: what docs/inputs.md documents, after --set overrides.
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/input/emulation_config.hpp"
#include "attn/tensor.hpp"
#include "sched/cluster.hpp"
#include "sched/hardware.hpp"
#include "app/input/toml_reader.hpp"
#include "sched/model_shape.hpp"
#include "sched/encoder_shape.hpp"
#include "sched/multimodal_batch.hpp"

namespace flexcp {

// Hard limits of the input, far above any real machine or batch, so that every size derived from
// them (ranks x tokens x heads x head_dim, sums of lengths) fits in 64 bits. What a given machine
// can hold is checked separately, against its memory (app/input/memory_estimate.hpp).
inline constexpr std::int64_t kMaxRanks = std::int64_t{1} << 17;   // simulated or real ranks (131,072)
inline constexpr std::int64_t kMaxTokens = std::int64_t{1} << 40;  // a document, or a batch

struct ModelConfig {
  attn::HeadLayout heads;  // what the executor needs
  sched::ModelShape shape;  // what the planner and cost model need (same heads)
};

struct BatchConfig {
  std::string dataset;                    // as written in the input (relative to the input file)
  std::vector<std::int64_t> lengths;      // explicit batch, when given instead of a dataset
  std::vector<std::int64_t> samples;      // the dataset's document lengths (loaded by rank 0)
  std::int64_t tokens_per_batch = 0;
  std::uint64_t seed = 1;
  bool uses_dataset() const { return !dataset.empty(); }
};

struct RunSettings {
  std::vector<std::string> strategies;
  std::int64_t steps = 1;
  std::int64_t warmup_steps = 1;
  std::string output;
  bool check = true;
  double check_tolerance = 1e-4;
  int cp_degree = 0;        // megatron-cp-*: CP degree; 0: every rank in one group
  int ulysses_degree = 0;   // ulysses: degree; 0: the largest the heads and the rank count allow
  int comm_cache_size = 32; // group communicators kept across batches
  std::string backend = "cpu";      // "cpu" (host kernels, MPI) or "cuda" (device kernels)
  std::string precision = "fp32";   // storage of Q, K, V, dO: "fp32", or "bf16" with backend "cuda"
};

// `flexcp plan`: the simulated machine and what to compare on it.
struct PlanSettings {
  std::vector<std::string> strategies;
  std::int64_t batches = 10;
  double extreme_fraction = 0.0;      // share of "extreme" batches (longest document >= half the tokens)
  std::vector<int> megatron_degrees;  // empty: every power of two dividing the rank count
  int ulysses_degree = 0;             // 0: every degree the heads and the rank count allow (tuned)
  double flexsp_time_limit_s = 10.0;  // FlexSP's MILP limit per micro-batch (the paper's 10 s)
  double optimal_time_limit_s = 60.0; // the optimal planner's MILP limit per batch
  std::string output;
};

// [multimodal] and [encoder]: a vision encoder feeding the LLM, batches of interleaved samples
// (`flexcp plan` models the placements; `flexcp run` executes them).
struct MultimodalConfig {
  std::string dataset;                              // as written (relative to the input file)
  std::vector<sched::MultimodalSample> samples;     // loaded by rank 0
  sched::EncoderShape encoder;
  int pipeline_micro_batches = 4;  // non-colocated: chunks flowing encoder -> boundary -> LLM
  int encoder_ranks = 0;           // non-colocated: 0 lets the planner choose the split
  std::vector<std::string> placements;  // flexcp run: the placements to execute; empty: every one that fits
};

struct Config {
  ModelConfig model;
  BatchConfig batch;
  RunSettings run;
  sched::Cluster cluster;             // [cluster] nodes x ranks_per_node (plan); run uses the real one
  sched::HardwareProfile hardware;    // [hardware], usually from cluster.hardware = "file"
  bool has_hardware = false;
  std::optional<EmulatedNetwork> emulation;  // from cluster.emulation: the run executes on it
  PlanSettings plan;
  std::optional<MultimodalConfig> multimodal;
  std::string resolved_toml;  // the input after overrides, as every rank agreed on it
};

// A TOML file, or ConfigError: "<what> '<path>' does not exist", or path:line:column and the
// parser's message for invalid TOML.
toml::table parse_toml_file(const std::filesystem::path& path, const std::string& what);

// Rank 0's file step before config_from_table, after the --set overrides: merges the tables
// that `model.file`, `encoder.file` and `cluster.hardware` name into [model] and [hardware], the included file
// as the base and every key written in the input (or set with --set) on top, so any included
// key can be overridden; and `cluster.emulation` by its [emulation] table and its dilated
// [hardware] profile, which wins over any other (the run is planned and modelled for the
// network it executes on). The resolved input is self-contained. Returns which keys came from
// which included file, for error messages.
KeyOrigins resolve_includes(toml::table& root, const std::filesystem::path& input_dir, const std::string& source);

// Builds and validates a Config from a parsed input. `source` names the input in errors (and
// `origins` the included file of a key that came from one); `input_dir` resolves
// batch.dataset; with `load_dataset` false the dataset is not read (ranks other than 0 receive
// its samples by broadcast). `world_size` checks that every rank gets work.
Config config_from_table(const toml::table& root, const std::string& source, const std::filesystem::path& input_dir,
                         bool load_dataset, int world_size, const KeyOrigins& origins = {});

// Applies one `--set key=value` override to `root`. The value is TOML (`run.steps=2`,
// `batch.lengths=[4,8]`); a value that is not valid TOML is taken as a string (`run.output=x.h5`).
void apply_override(toml::table& root, const std::string& assignment);

// Applies every --set in order. One that names an included file (`cluster.hardware`,
// `model.file`) first drops the input's written [hardware] or [model] table, so the new file is
// the profile (other --set keys of that table still apply on top of it).
void apply_overrides(toml::table& root, const std::vector<std::string>& assignments);

}  // namespace flexcp
