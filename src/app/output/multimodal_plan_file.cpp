#include "app/output/multimodal_plan_file.hpp"

#include <vector>

#include "app/output/h5_helpers.hpp"

namespace flexcp {

void write_multimodal_plan_file(const std::string& path, const MultimodalStudy& study, const RunMetadata& meta,
                                const Config& c) {
  const auto& mm = *c.multimodal;
  h5::write_atomically(path, [&](hid_t root) {
    write_common_attributes(root, meta, "plan-multimodal");
    h5::int_attribute(root, "ranks_per_node", study.cluster.ranks_per_node);
    h5::string_attribute(root, "hardware", c.hardware.name);
    h5::string_attribute(root, "llm", c.model.shape.name);
    h5::string_attribute(root, "encoder", mm.encoder.name);
    h5::string_attribute(root, "dataset", mm.dataset);
    h5::int_attribute(root, "pipeline_micro_batches", mm.pipeline_micro_batches);
    h5::double_attribute(root, "image_token_share", study.image_token_share);
    h5::double_attribute(root, "encoder_flop_share", study.encoder_flop_share);
    h5::string_attribute(root, "baseline", study.series.front().name);
    h5::string_attribute(root, "headline", "throughput_ratio: sum of llm-centric's step times / sum of the placement's, "
                                           "over the batch stream (the same ratio in TFLOPS/GPU and tokens/s)");
    const double base = study.series.front().total(&sched::PlacementCost::step_s);
    auto runs = h5::create_group(root, "runs");
    for (const auto& p : study.series) {
      auto g = h5::create_group(runs.get(), p.name);
      h5::int_attribute(g.get(), "modelled", 1);
      h5::double_attribute(g.get(), "throughput_ratio", base / p.total(&sched::PlacementCost::step_s));
      h5::int_attribute(g.get(), "encoder_ranks", p.batches.front().encoder_ranks);
      h5::int_attribute(g.get(), "llm_ranks", p.batches.front().llm_ranks);
      const std::vector<hsize_t> k{static_cast<hsize_t>(p.batches.size())};
      auto d = [&](const char* name, auto get, const char* units, const char* what) {
        std::vector<double> column;
        for (std::size_t b = 0; b < p.batches.size(); ++b) column.push_back(get(p.batches[b], b));
        h5::dataset(g.get(), name, column, k, units, what);
      };
      using Cost = sched::PlacementCost;
      d("step_time_s", [](const Cost& b, std::size_t) { return b.step_s; }, "s", "modelled step time per batch");
      d("tokens", [](const Cost& b, std::size_t) { return b.llm_tokens; }, "tokens", "LLM tokens (text + image) in the batch");
      d("tokens_per_s", [](const Cost& b, std::size_t) { return b.llm_tokens / b.step_s; }, "tokens/s", "tokens / step_time_s");
      d("tflops_per_gpu", [&](const Cost& b, std::size_t) { return b.model_flops / b.step_s / study.cluster.ranks() * 1e-12; },
        "TFLOP/s", "encoder + projector + LLM training FLOPs (no recomputation) / step time / every GPU");
      d("encoder_s", [](const Cost& b, std::size_t) { return b.encoder_s; }, "s",
        "slowest rank's encoder and projector, forward and backward (llm-centric: summed over micro-batches)");
      d("boundary_s", [](const Cost& b, std::size_t) { return b.boundary_s; }, "s",
        "projector outputs to the LLM's layout and their gradients back, with boundary_create_s");
      d("boundary_create_s", [](const Cost& b, std::size_t) { return b.boundary_create_s; }, "s",
        "creating the boundary's group communicator (its rank set not cached; hardware communicator_create_ms)");
      d("llm_s", [](const Cost& b, std::size_t) { return b.llm_s; }, "s", "the LLM's flexcp plan alone");
      d("boundary_bytes", [](const Cost& b, std::size_t) { return b.boundary_bytes; }, "bytes", "boundary, both directions, all ranks");
      d("encoder_bytes", [](const Cost& b, std::size_t) { return b.encoder_bytes; }, "bytes",
        "context-parallel traffic of split image sequences, all ranks");
      d("llm_bytes", [](const Cost& b, std::size_t) { return b.llm_bytes; }, "bytes", "the LLM plan's traffic, all ranks");
      d("bytes_sent", [](const Cost& b, std::size_t) { return b.boundary_bytes + b.encoder_bytes + b.llm_bytes; }, "bytes",
        "every component's traffic, all ranks");
      d("split_sequences", [](const Cost& b, std::size_t) { return b.split_sequences; }, "1",
        "encoder sequences spread over more than one rank");
      if (p.name == "colocated") {
        h5::double_attribute(g.get(), "max_throughput_ratio", base / p.total(&sched::PlacementCost::floor_s));
        d("floor_s", [](const Cost& b, std::size_t) { return b.floor_s; }, "s",
          "the least step of any colocated layout: the encoder's work over every rank + the LLM's lower bound");
      }
      d("speedup_vs_baseline",
        [&](const Cost& b, std::size_t i) { return study.series.front().batches[i].step_s / b.step_s; }, "1",
        "per batch: llm-centric's step time / this one");
    }
    auto splits = h5::create_group(root, "splits");
    std::vector<double> ranks, totals;
    for (const auto& [e, total] : study.splits_tried) {
      ranks.push_back(e);
      totals.push_back(total);
    }
    const std::vector<hsize_t> n{static_cast<hsize_t>(ranks.size())};
    h5::dataset(splits.get(), "encoder_ranks", ranks, n, "ranks", "non-colocated encoder rank counts the planner modelled");
    h5::dataset(splits.get(), "total_step_s", totals, n, "s", "their step times summed over the stream (+inf: cannot run)");
  });
}

}  // namespace flexcp
