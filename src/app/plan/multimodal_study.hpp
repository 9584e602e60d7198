#pragma once
// `flexcp plan` with [multimodal]: a stream of interleaved batches modelled under the three
// placements (sched/multimodal_placements.hpp). The non-colocated rank split is the planner's
// choice for the whole run (the encoder's weights live on its ranks, so it cannot change per
// batch): the split with the least total step time over the stream, among the whole-node splits
// around the one the work ratio suggests, unless multimodal.encoder_ranks fixes it.
#include <cstdio>
#include <string>
#include <vector>

#include "app/input/config.hpp"
#include "sched/multimodal_placements.hpp"

namespace flexcp {

struct PlacementSeries {
  std::string name;
  std::vector<sched::PlacementCost> batches;
  double total(double sched::PlacementCost::*field) const;
};

struct MultimodalStudy {
  sched::Cluster cluster;
  std::vector<PlacementSeries> series;  // llm-centric (the baseline), colocated, non-colocated
  std::vector<std::pair<int, double>> splits_tried;  // encoder ranks -> total step time (+inf: cannot run)
  double image_token_share = 0.0;       // image tokens / LLM tokens over the stream
  double encoder_flop_share = 0.0;      // encoder + projector FLOPs / all FLOPs
  long long images = 0, encoder_sequences = 0;
};

MultimodalStudy run_multimodal_study(const Config& config);
void print_multimodal_study(std::FILE* out, const MultimodalStudy& study, const Config& config);

}  // namespace flexcp
