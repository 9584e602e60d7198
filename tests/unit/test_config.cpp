#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "comm/launch_check.hpp"
#include "comm/topology.hpp"
#include "common/error.hpp"
#include "app/input/config.hpp"
#include "app/input/lengths_file.hpp"

using namespace flexcp;

namespace {
const char* kValid = R"(
[model]
q_heads = 8
kv_heads = 2
head_dim = 64
[batch]
lengths = [3, 5, 9]
[run]
steps = 2
output = "x.h5"
)";

Config parse(const std::string& text, int ranks = 1) {
  return config_from_table(toml::parse(text), "test.toml", ".", true, ranks);
}

// Expects a ConfigError (exit code 2) whose message contains every fragment.
void expect_config_error(const std::string& text, std::initializer_list<const char*> fragments, int ranks = 1) {
  try {
    parse(text, ranks);
    FAIL() << "accepted:\n" << text;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.exit_code(), ExitCode::usage);
    for (const char* f : fragments) EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what() << " lacks " << f;
  }
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}
}  // namespace

TEST(Config, ValidInputAndDefaults) {
  const auto c = parse(kValid);
  EXPECT_EQ(c.model.heads.q_heads, 8);
  EXPECT_EQ(c.model.heads.queries_per_kv(), 4);
  EXPECT_EQ(c.model.shape.hidden, 512);
  EXPECT_EQ(c.batch.tokens_per_batch, 17);
  EXPECT_EQ(c.run.steps, 2);
  EXPECT_EQ(c.run.warmup_steps, 1);
  EXPECT_EQ(c.run.strategies, std::vector<std::string>{"megatron-cp-ring"});
  EXPECT_TRUE(c.run.check);
  EXPECT_NE(c.resolved_toml.find("lengths"), std::string::npos);
}

TEST(Config, UnknownKeyNamesTheKeyAndTheAllowedOnes) {
  expect_config_error(replaced(kValid, "steps = 2", "step = 2"), {"run.step", "steps", "warmup_steps"});
  expect_config_error(std::string(kValid) + "[extra]\nx = 1\n", {"unknown section 'extra'"});
}

TEST(Config, WrongTypesAndValues) {
  expect_config_error(replaced(kValid, "steps = 2", "steps = \"two\""), {"run.steps", "integer", "\"two\""});
  expect_config_error(replaced(kValid, "steps = 2", "steps = 0"), {"run.steps", ">= 1"});
  expect_config_error(replaced(kValid, "lengths = [3, 5, 9]", "lengths = [3, 0, 9]"), {"batch.lengths", "element 1"});
  expect_config_error(replaced(kValid, "lengths = [3, 5, 9]", "lengths = [3, -4]"), {"batch.lengths", "element 1"});
  expect_config_error(replaced(kValid, "kv_heads = 2", "kv_heads = 3"), {"model.kv_heads", "multiple"});
  expect_config_error(replaced(kValid, "head_dim = 64\n", ""), {"model.head_dim", "missing"});
  expect_config_error(replaced(kValid, "[run]", "[run]\nstrategies = [\"ring-of-fire\"]"),
                      {"run.strategies", "ring-of-fire", "megatron-cp-ring"});
}

TEST(Config, PlanSectionKeys) {
  const auto c = parse(std::string(kValid) + "[plan]\nbatches = 4\nextreme_fraction = 0.25\nmegatron_degrees = [2, 4]\n");
  EXPECT_EQ(c.plan.batches, 4);
  EXPECT_DOUBLE_EQ(c.plan.extreme_fraction, 0.25);
  EXPECT_EQ(c.plan.megatron_degrees, (std::vector<int>{2, 4}));
  EXPECT_DOUBLE_EQ(parse(std::string(kValid) + "[plan]\nextreme = true\n").plan.extreme_fraction, 1.0);
  expect_config_error(std::string(kValid) + "[plan]\nextreme_fraction = 1.5\n", {"plan.extreme_fraction", "[0, 1]"});
  expect_config_error(std::string(kValid) + "[plan]\nstrategies = [\"magic\"]\n", {"plan.strategies", "magic", "flexcp"});
  expect_config_error(std::string(kValid) + "[cluster]\nnodes = 0\n", {"cluster.nodes", ">= 1"});
}

TEST(Config, BatchSourceMustBeExactlyOne) {
  expect_config_error(replaced(kValid, "lengths = [3, 5, 9]", "seed = 3"), {"batch.dataset", "exactly one"});
  expect_config_error(replaced(kValid, "lengths = [3, 5, 9]", "lengths = [3]\ndataset = \"a.txt\""), {"exactly one"});
  expect_config_error(replaced(kValid, "lengths = [3, 5, 9]", "lengths = [3]\ntokens_per_batch = 4"),
                      {"batch.tokens_per_batch", "not allowed"});
}

TEST(Config, MissingDatasetFileIsNamed) {
  expect_config_error(replaced(kValid, "lengths = [3, 5, 9]", "dataset = \"no/such/file.txt\"\ntokens_per_batch = 64"),
                      {"no/such/file.txt"});
}

TEST(Config, MoreRanksThanTokens) { expect_config_error(kValid, {"17 tokens", "20 ranks"}, 20); }

TEST(Config, OverridesAreTomlOrStrings) {
  auto root = toml::parse(kValid);
  apply_override(root, "run.steps=5");
  apply_override(root, "run.output=results/out.h5");
  apply_override(root, "batch.lengths=[4, 4]");
  apply_override(root, "run.check=false");
  const auto c = config_from_table(root, "t", ".", true, 1);
  EXPECT_EQ(c.run.steps, 5);
  EXPECT_EQ(c.run.output, "results/out.h5");
  EXPECT_EQ(c.batch.lengths, (std::vector<std::int64_t>{4, 4}));
  EXPECT_FALSE(c.run.check);
  EXPECT_THROW(apply_override(root, "no-equals-sign"), ConfigError);
  apply_override(root, "run.stpes=2");  // grafted, then rejected as an unknown key
  EXPECT_THROW(config_from_table(root, "t", ".", true, 1), ConfigError);
}

namespace {
// An input that includes a model file and a hardware profile, in a fresh directory.
struct IncludingInput {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("flexcp_includes_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  IncludingInput() {
    std::filesystem::create_directories(dir);
    write("m.toml", "[model]\nq_heads = 8\nkv_heads = 2\nhead_dim = 64\nlayers = 2\n");
    write("m2.toml", "[model]\nq_heads = 16\nkv_heads = 4\nhead_dim = 32\n");
    write("h.toml", "[hardware]\nname = 'h'\nmatmul_tflops = 1\nattention_tflops = 1\nintra_node_gbps = 100\n"
                    "inter_node_gbps = 10\na2a_intra_node_gbps = 50\nmemory_gib = 80\n");
    write("in.toml", "[model]\nfile = 'm.toml'\nlayers = 4\n[batch]\nlengths = [8, 8]\n[cluster]\nhardware = 'h.toml'\n");
  }
  ~IncludingInput() { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }
  // What `flexcp plan` does: parse, --set overrides, then includes.
  Config load(const std::vector<std::string>& overrides) const {
    auto root = parse_toml_file(dir / "in.toml", "input file");
    for (const auto& o : overrides) apply_override(root, o);
    const auto origins = resolve_includes(root, dir, (dir / "in.toml").string());
    return config_from_table(root, (dir / "in.toml").string(), dir, true, 1, origins);
  }
};
}  // namespace

TEST(Config, IncludedFilesAreTheBaseAndEveryKeyCanBeOverridden) {
  const IncludingInput input;
  const auto plain = input.load({});
  EXPECT_EQ(plain.model.shape.layers, 4);  // the input's key wins over the model file's
  EXPECT_EQ(plain.model.heads.q_heads, 8);
  EXPECT_DOUBLE_EQ(plain.hardware.intra_bandwidth, 100e9);
  // Any key of an included file, and the included file itself, through --set.
  const auto set = input.load({"hardware.intra_node_gbps=7", "model.file=m2.toml", "cluster.hardware=h.toml"});
  EXPECT_DOUBLE_EQ(set.hardware.intra_bandwidth, 7e9);
  EXPECT_DOUBLE_EQ(set.hardware.inter_bandwidth, 10e9);  // the rest still from the profile
  EXPECT_EQ(set.model.heads.q_heads, 16);
  EXPECT_EQ(set.model.shape.layers, 4);
  EXPECT_EQ(set.resolved_toml.find("file"), std::string::npos) << "the resolved input is self-contained";
}

TEST(Config, ErrorsInAnIncludedFileNameThatFile) {
  const IncludingInput input;
  auto expect_error = [&](const std::vector<std::string>& overrides, const std::string& file, const std::string& key) {
    try {
      input.load(overrides);
      FAIL() << "accepted";
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find((input.dir / file).string() + ": "), std::string::npos) << what;
      EXPECT_NE(what.find(key), std::string::npos) << what;
    }
  };
  input.write("m.toml", "[model]\nq_heads = 8\nkv_heads = 2\nhead_dim = 64\nlayerz = 2\n");
  expect_error({}, "m.toml", "model.layerz");
  input.write("h.toml", "[hardware]\nname = 'h'\nmatmul_tflops = 'fast'\n");
  expect_error({"model.file=m2.toml"}, "h.toml", "hardware.matmul_tflops");
  // A value the input (or --set) gives is the input's: the error names the input.
  expect_error({"model.file=m2.toml", "hardware.matmul_tflops=-1"}, "in.toml", "hardware.matmul_tflops");
}

TEST(LengthsFile, ParsesCommentsAndRejectsJunkWithTheLine) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto good = dir / "flexcp_lengths_good.txt";
  std::ofstream(good) << "# source: test\n12\n\n  7  # trailing comment\n1\n";
  EXPECT_EQ(read_lengths_file(good), (std::vector<std::int64_t>{12, 7, 1}));
  const auto bad = dir / "flexcp_lengths_bad.txt";
  for (const char* junk : {"abc", "0", "-3", "4.5", "12x"}) {
    std::ofstream(bad) << "5\n" << junk << "\n";
    try {
      read_lengths_file(bad);
      FAIL() << junk;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(junk), std::string::npos) << e.what();
    }
  }
  std::ofstream(bad) << "# nothing\n";
  EXPECT_THROW(read_lengths_file(bad), ConfigError);
  EXPECT_THROW(read_lengths_file(dir / "flexcp_no_such_file.txt"), ConfigError);
}

TEST(LaunchCheck, SlurmTaskCountMustMatchWorldSize) {
  EXPECT_FALSE(comm::slurm_world_size_problem(4, nullptr));
  EXPECT_FALSE(comm::slurm_world_size_problem(4, "4"));
  const auto singleton = comm::slurm_world_size_problem(1, "4");
  ASSERT_TRUE(singleton);
  EXPECT_NE(singleton->find("SLURM_NTASKS is 4"), std::string::npos);
  EXPECT_TRUE(comm::slurm_world_size_problem(4, "four"));
}

TEST(LaunchCheck, RanksPerNodeVariable) {
  EXPECT_EQ(comm::parse_ranks_per_node(nullptr), 0);
  EXPECT_EQ(comm::parse_ranks_per_node(""), 0);
  EXPECT_EQ(comm::parse_ranks_per_node("3"), 3);
  for (const char* bad : {"0", "-2", "x", "3x"}) EXPECT_THROW(comm::parse_ranks_per_node(bad), ConfigError) << bad;
}

// [hardware.attention_kernel]: `use` picks flexcp's measured series or the reference ones; a
// malformed table is refused naming the profile file and the key.
TEST(Config, AttentionKernelTablePicksItsSeriesAndRefusesMalformedOnes) {
  const IncludingInput input;
  const std::string profile =
      "[hardware]\nname = 'h'\nmatmul_tflops = 1\nattention_tflops = 1\nintra_node_gbps = 100\n"
      "inter_node_gbps = 10\na2a_intra_node_gbps = 50\nmemory_gib = 80\n"
      "[hardware.attention_kernel]\nsource = 'test'\nlengths = [16, 1024]\n"
      "forward_causal_tflops = [1, 2]\nforward_full_tflops = [3, 4]\nbackward_causal_tflops = [5, 6]\n"
      "backward_full_tflops = [7, 8]\nreference_forward_causal_tflops = [10, 20]\nreference_forward_full_tflops = [30, 40]\n"
      "reference_backward_causal_tflops = [50, 60]\nreference_backward_full_tflops = [70, 80]\n";
  input.write("h.toml", profile);
  const auto measured = input.load({});
  ASSERT_FALSE(measured.hardware.attention_kernel.empty());
  EXPECT_DOUBLE_EQ(measured.hardware.attention_kernel.forward(sched::SliceMask::causal, 1024), 2e12);
  input.write("h.toml", profile + "use = 'reference'\n");
  EXPECT_DOUBLE_EQ(input.load({}).hardware.attention_kernel.backward(sched::SliceMask::full, 16), 70e12);

  auto expect_error = [&](const std::string& text, const std::string& key) {
    input.write("h.toml", text);
    try {
      input.load({});
      FAIL() << "accepted a table with a bad " << key;
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find((input.dir / "h.toml").string()), std::string::npos) << what;
      EXPECT_NE(what.find(key), std::string::npos) << what;
    }
  };
  expect_error(profile + "use = 'fastest'\n", "use");
  expect_error(profile + "speed = 3\n", "speed");
  std::string short_series = profile;
  short_series.replace(short_series.find("forward_full_tflops = [3, 4]"), 28, "forward_full_tflops = [3]   ");
  expect_error(short_series, "forward_full_tflops");
}
